/* Tests for smtpd/auth: SASL PLAIN and LOGIN decoding (RFC 4616
 * examples, every rejection, the exact length limits, "*") and the
 * failure throttle (the limit, windows, eviction, reset). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "base64.h"
#include "util.h"

#define IN(s)	(s), (sizeof(s) - 1)

/* base64 of len raw bytes, in a buffer that lives until the next call. */
static const char *
b64(const void *raw, size_t len)
{
	static char out[AUTH_RESPONSE_MAX * 2];

	cr_assert_lt(base64_encoded_len(len), sizeof(out));
	base64_encode(raw, len, out);
	return out;
}

static void
fill(char *p, char c, size_t n)
{
	memset(p, c, n);
}

/* creds must be all zero bytes: wiped. */
static void
expect_wiped(const struct auth_creds *creds, size_t i)
{
	const unsigned char *p = (const unsigned char *)creds;

	for (size_t j = 0; j < sizeof(*creds); j++)
		cr_assert_eq(p[j], 0, "case %zu: byte %zu not wiped", i, j);
}

static const struct {
	const char	*raw;
	size_t		 len;
	enum auth_status want;
	const char	*login;
	const char	*password;
} plain_cases[] = {
	/* RFC 4616 section 4. */
	{ IN("\0tim\0tanstaaftanstaaf"), AUTH_OK, "tim", "tanstaaftanstaaf" },
	/* The other RFC example asks to act as someone else: refused. */
	{ IN("Ursel\0Kurt\0xipj3plmq"), AUTH_REJECTED, NULL, NULL },
	{ IN("tim\0tim\0pw"), AUTH_OK, "tim", "pw" },
	{ IN("Tim\0tim\0pw"), AUTH_REJECTED, NULL, NULL },
	{ IN("tim \0tim\0pw"), AUTH_REJECTED, NULL, NULL },
	{ IN("ti\0tim\0pw"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0user@example.org\0s3cr\xc3\xa9t"), AUTH_OK,
	    "user@example.org", "s3cr\xc3\xa9t" },
	{ IN("\0j\xc3\xb6rg\0pw"), AUTH_OK, "j\xc3\xb6rg", "pw" },
	/* Any byte but NUL in a password, spaces at the ends included. */
	{ IN("\0tim\0 \x01\x7f\xff\r\n "), AUTH_OK, "tim",
	    " \x01\x7f\xff\r\n " },
	/* Missing NULs. */
	{ IN(""), AUTH_REJECTED, NULL, NULL },
	{ IN("timpw"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0timpw"), AUTH_REJECTED, NULL, NULL },
	{ IN("tim\0pw"), AUTH_REJECTED, NULL, NULL },
	/* Too many NULs. */
	{ IN("\0tim\0pw\0"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0tim\0p\0w"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0\0tim\0pw"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0\0\0"), AUTH_REJECTED, NULL, NULL },
	/* Empty parts. */
	{ IN("\0tim\0"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0\0pw"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0\0"), AUTH_REJECTED, NULL, NULL },
	/* Control characters in the login. */
	{ IN("\0ti\rm\0pw"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0tim\n\0pw"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0\x7ftim\0pw"), AUTH_REJECTED, NULL, NULL },
	{ IN("\0\ttim\0pw"), AUTH_REJECTED, NULL, NULL },
};

Test(auth_plain, table)
{
	for (size_t i = 0; i < ARRAY_SIZE(plain_cases); i++) {
		const char *text = b64(plain_cases[i].raw, plain_cases[i].len);
		struct auth_creds creds;
		const char *error = NULL;
		enum auth_status st;

		memset(&creds, 'X', sizeof(creds));
		st = auth_plain_decode(text, strlen(text), &creds, &error);
		cr_expect_eq(st, plain_cases[i].want, "case %zu: %d %s", i,
		    st, error != NULL ? error : "");
		if (st != AUTH_OK) {
			cr_expect_not_null(error, "case %zu", i);
			expect_wiped(&creds, i);
			continue;
		}
		if (plain_cases[i].want != AUTH_OK)
			continue;	/* already reported */
		cr_expect_str_eq(creds.login, plain_cases[i].login, "case %zu",
		    i);
		cr_expect_eq(creds.login_len, strlen(plain_cases[i].login));
		cr_expect_str_eq(creds.password, plain_cases[i].password,
		    "case %zu", i);
		cr_expect_eq(creds.password_len,
		    strlen(plain_cases[i].password));
		auth_creds_clear(&creds);
		expect_wiped(&creds, i);
	}
}

/* The RFC's own encoding, not ours. */
Test(auth_plain, rfc4616_text)
{
	struct auth_creds creds;
	const char *error = NULL;

	cr_assert_eq(auth_plain_decode(IN("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"),
	    &creds, &error), AUTH_OK, "%s", error);
	cr_expect_str_eq(creds.login, "tim");
	cr_expect_str_eq(creds.password, "tanstaaftanstaaf");
	auth_creds_clear(&creds);
}

/* Every prefix of a message: only those with a non-empty password
 * after the second NUL decode. */
Test(auth_plain, prefixes)
{
	static const char msg[] = "\0tim\0pw";

	for (size_t n = 0; n <= sizeof(msg) - 1; n++) {
		const char *text = b64(msg, n);
		struct auth_creds creds;
		const char *error = NULL;
		enum auth_status st;

		st = auth_plain_decode(text, strlen(text), &creds, &error);
		cr_expect_eq(st, n >= 6 ? AUTH_OK : AUTH_REJECTED, "n=%zu", n);
		if (st == AUTH_OK)
			cr_expect_eq(creds.password_len, n - 5);
	}
}

Test(auth_plain, bad_base64)
{
	const struct {
		const char	*text;
		size_t		 len;
	} bad[] = {
		{ IN("AHRpbQB0YW5zdGFhZnRhbnN0YWF") },	/* length */
		{ IN("AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n") },
		{ IN(" AHRpbQB0YW5zdGFhZnRhbnN0YWF") },
		{ IN("AHRpbQB0YW5zdGFhZnRhbnN0YW=m") },
		{ IN("AHRpbQB0YW5zdGFhZnRh bnN0YWFm") },
		{ IN("AHRpbQB0YW5zdGFh\0nRhbnN0YWFm") },
		{ IN("=") },
		{ IN("*") },	/* only a cancel on a continuation line */
		{ IN("AHRp-QB0") },	/* base64url */
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct auth_creds creds;
		const char *error = NULL;

		cr_expect_eq(auth_plain_decode(bad[i].text, bad[i].len, &creds,
		    &error), AUTH_BAD_BASE64, "case %zu", i);
		cr_expect_not_null(error);
		expect_wiped(&creds, i);
	}
}

/* The longest acceptable PLAIN message is 767 bytes (1024 base64
 * characters); a byte more anywhere is refused. */
Test(auth_plain, limits)
{
	static char raw[1024];
	struct auth_creds creds;
	const char *error = NULL;
	const char *text;

	/* authzid = login (255), NUL, login (255), NUL, password (255) */
	fill(raw, 'a', 255);
	raw[255] = '\0';
	fill(raw + 256, 'a', 255);
	raw[511] = '\0';
	fill(raw + 512, 'p', 255);
	text = b64(raw, 767);
	cr_assert_eq(strlen(text), 1024);
	cr_assert_eq(auth_plain_decode(text, 1024, &creds, &error), AUTH_OK,
	    "%s", error);
	cr_expect_eq(creds.login_len, 255);
	cr_expect_eq(creds.password_len, 255);
	cr_expect_eq(strlen(creds.login), 255);
	cr_expect_eq(strlen(creds.password), 255);

	/* Login of 256. */
	raw[0] = '\0';
	fill(raw + 1, 'a', 256);
	raw[257] = '\0';
	fill(raw + 258, 'p', 10);
	text = b64(raw, 268);
	cr_expect_eq(auth_plain_decode(text, strlen(text), &creds, &error),
	    AUTH_REJECTED);
	/* Password of 256. */
	fill(raw + 1, 'a', 10);
	raw[11] = '\0';
	fill(raw + 12, 'p', 256);
	text = b64(raw, 268);
	cr_expect_eq(auth_plain_decode(text, strlen(text), &creds, &error),
	    AUTH_REJECTED);
	/* Password of 255 and 256 with an empty authzid. */
	text = b64(raw, 267);
	cr_expect_eq(auth_plain_decode(text, strlen(text), &creds, &error),
	    AUTH_OK, "%s", error);
	/* 768 bytes: one past the longest possible message. */
	memset(raw, 'a', sizeof(raw));
	raw[255] = raw[511] = '\0';
	text = b64(raw, 768);
	cr_expect_eq(auth_plain_decode(text, strlen(text), &creds, &error),
	    AUTH_REJECTED);
}

/* Long text is refused by its length alone, before decoding. */
Test(auth_plain, overlong_text)
{
	static char text[AUTH_RESPONSE_MAX + 2];
	struct auth_creds creds;
	const char *error = NULL;

	memset(text, 'A', sizeof(text));
	cr_expect_eq(auth_plain_decode(text, 1025, &creds, &error),
	    AUTH_REJECTED);
	cr_expect_eq(auth_plain_decode(text, 1028, &creds, &error),
	    AUTH_REJECTED);
	cr_expect_eq(auth_plain_decode(text, AUTH_RESPONSE_MAX, &creds,
	    &error), AUTH_REJECTED);
	cr_expect_eq(auth_plain_decode(text, AUTH_RESPONSE_MAX + 1, &creds,
	    &error), AUTH_TOO_LONG);
	cr_expect_eq(auth_plain_decode(text, AUTH_RESPONSE_MAX + 2, &creds,
	    &error), AUTH_TOO_LONG);
	cr_expect_eq(auth_login_decode_user(text, AUTH_RESPONSE_MAX + 1,
	    &creds, &error), AUTH_TOO_LONG);
	cr_expect_eq(auth_login_decode_password(text, AUTH_RESPONSE_MAX + 1,
	    &creds, &error), AUTH_TOO_LONG);
	cr_expect_eq(auth_login_decode_user(text, AUTH_RESPONSE_MAX, &creds,
	    &error), AUTH_REJECTED);
}

Test(auth, cancel)
{
	cr_expect(auth_response_is_cancel(IN("*")));
	cr_expect_not(auth_response_is_cancel(IN("")));
	cr_expect_not(auth_response_is_cancel(IN("**")));
	cr_expect_not(auth_response_is_cancel(IN(" *")));
	cr_expect_not(auth_response_is_cancel(IN("*\r")));
	cr_expect_not(auth_response_is_cancel(IN("*\0")));
	cr_expect_not(auth_response_is_cancel(IN("=")));
	/* Only the length counts, not a NUL terminator. */
	cr_expect_not(auth_response_is_cancel("*", 0));
}

Test(auth_login, prompts)
{
	char out[16];
	size_t n;
	const char *error = NULL;

	cr_assert_eq(base64_decode(IN(AUTH_LOGIN_PROMPT_USER), out,
	    sizeof(out), &n, &error), 0);
	cr_expect(n == 9 && memcmp(out, "Username:", 9) == 0);
	cr_assert_eq(base64_decode(IN(AUTH_LOGIN_PROMPT_PASS), out,
	    sizeof(out), &n, &error), 0);
	cr_expect(n == 9 && memcmp(out, "Password:", 9) == 0);
}

Test(auth_login, exchange)
{
	struct auth_creds creds;
	const char *error = NULL;

	memset(&creds, 'X', sizeof(creds));
	cr_assert_eq(auth_login_decode_user(IN("dGlt"), &creds, &error),
	    AUTH_OK, "%s", error);
	cr_expect_str_eq(creds.login, "tim");
	cr_expect_eq(creds.login_len, 3);
	cr_expect_eq(creds.password_len, 0);
	cr_expect_str_eq(creds.password, "");
	cr_assert_eq(auth_login_decode_password(IN("dGFuc3RhYWY="), &creds,
	    &error), AUTH_OK, "%s", error);
	cr_expect_str_eq(creds.login, "tim");
	cr_expect_str_eq(creds.password, "tanstaaf");
	cr_expect_eq(creds.password_len, 8);
	/* A bad password response wipes everything. */
	cr_expect_eq(auth_login_decode_password(IN("AA=="), &creds, &error),
	    AUTH_REJECTED);
	expect_wiped(&creds, 0);
}

static const struct {
	const char	*raw;
	size_t		 len;
	enum auth_status user;	/* as a login */
	enum auth_status pass;	/* as a password */
} login_cases[] = {
	{ IN("tim"), AUTH_OK, AUTH_OK },
	{ IN(""), AUTH_REJECTED, AUTH_REJECTED },
	{ IN("\0"), AUTH_REJECTED, AUTH_REJECTED },
	{ IN("ti\0m"), AUTH_REJECTED, AUTH_REJECTED },
	{ IN("tim\0"), AUTH_REJECTED, AUTH_REJECTED },
	{ IN("ti\rm"), AUTH_REJECTED, AUTH_OK },
	{ IN("\x7f"), AUTH_REJECTED, AUTH_OK },
	{ IN(" "), AUTH_OK, AUTH_OK },
	{ IN("\xff\xfe"), AUTH_OK, AUTH_OK },
};

Test(auth_login, table)
{
	for (size_t i = 0; i < ARRAY_SIZE(login_cases); i++) {
		const char *text = b64(login_cases[i].raw, login_cases[i].len);
		struct auth_creds creds;
		const char *error = NULL;

		cr_expect_eq(auth_login_decode_user(text, strlen(text), &creds,
		    &error), login_cases[i].user, "case %zu", i);
		if (login_cases[i].user == AUTH_OK)
			cr_expect(creds.login_len == login_cases[i].len &&
			    memcmp(creds.login, login_cases[i].raw,
			    login_cases[i].len) == 0, "case %zu", i);
		else
			expect_wiped(&creds, i);
		cr_assert_eq(auth_login_decode_user(IN("dGlt"), &creds,
		    &error), AUTH_OK);
		cr_expect_eq(auth_login_decode_password(text, strlen(text),
		    &creds, &error), login_cases[i].pass, "case %zu", i);
		if (login_cases[i].pass == AUTH_OK)
			cr_expect(creds.password_len == login_cases[i].len &&
			    memcmp(creds.password, login_cases[i].raw,
			    login_cases[i].len) == 0, "case %zu", i);
		else
			expect_wiped(&creds, i);
	}
}

Test(auth_login, limits_and_base64)
{
	char raw[300];
	struct auth_creds creds;
	const char *error = NULL;
	const char *text;

	memset(raw, 'u', sizeof(raw));
	text = b64(raw, 255);
	cr_expect_eq(auth_login_decode_user(text, strlen(text), &creds,
	    &error), AUTH_OK);
	cr_expect_eq(strlen(creds.login), 255);
	cr_expect_eq(auth_login_decode_password(text, strlen(text), &creds,
	    &error), AUTH_OK);
	cr_expect_eq(strlen(creds.password), 255);
	text = b64(raw, 256);
	cr_expect_eq(auth_login_decode_user(text, strlen(text), &creds,
	    &error), AUTH_REJECTED);
	cr_expect_eq(auth_login_decode_password(text, strlen(text), &creds,
	    &error), AUTH_REJECTED);
	cr_expect_eq(auth_login_decode_user(IN("dGl"), &creds, &error),
	    AUTH_BAD_BASE64);
	cr_expect_eq(auth_login_decode_user(IN("*"), &creds, &error),
	    AUTH_BAD_BASE64);
	cr_expect_eq(auth_login_decode_password(IN("dGl*"), &creds, &error),
	    AUTH_BAD_BASE64);
	expect_wiped(&creds, 0);
}

/*
 * The throttle.
 */

#define W	600

Test(auth_throttle, limit)
{
	struct auth_throttle *t = auth_throttle_new(16, 64, 3, W);

	cr_expect_not(auth_throttle_blocked(t, "192.0.2.1", 100));
	cr_expect_not(auth_throttle_fail(t, "192.0.2.1", 100));
	cr_expect_not(auth_throttle_blocked(t, "192.0.2.1", 100));
	cr_expect_not(auth_throttle_fail(t, "192.0.2.1", 101));
	cr_expect_not(auth_throttle_blocked(t, "192.0.2.1", 101));
	/* The third failure is allowed and reaches the limit: the fourth
	 * attempt is refused. */
	cr_expect(auth_throttle_fail(t, "192.0.2.1", 102));
	cr_expect(auth_throttle_blocked(t, "192.0.2.1", 102));
	cr_expect_not(auth_throttle_blocked(t, "192.0.2.2", 102));
	cr_expect_eq(auth_throttle_count(t), 1);
	auth_throttle_destroy(&t);
	cr_expect_null(t);
	auth_throttle_destroy(&t);
	auth_throttle_destroy(NULL);
}

Test(auth_throttle, one_failure_max)
{
	struct auth_throttle *t = auth_throttle_new(1, 8, 1, W);

	cr_expect(auth_throttle_fail(t, "a", 0));
	cr_expect(auth_throttle_blocked(t, "a", W - 1));
	cr_expect_not(auth_throttle_blocked(t, "a", W));
	auth_throttle_destroy(&t);
	/* Zeroes count as one. */
	t = auth_throttle_new(0, 0, 0, 0);
	cr_expect(auth_throttle_fail(t, "a", 10));
	cr_expect(auth_throttle_blocked(t, "a", 10));
	cr_expect_not(auth_throttle_blocked(t, "a", 11));
	auth_throttle_destroy(&t);
}

/* Under the limit, the window opened by the first failure ends W later
 * and the count starts over. */
Test(auth_throttle, window_expiry)
{
	struct auth_throttle *t = auth_throttle_new(16, 64, 3, W);

	auth_throttle_fail(t, "k", 1000);
	auth_throttle_fail(t, "k", 1000 + W - 2);
	cr_expect(auth_throttle_fail(t, "k", 1000 + W - 1));
	auth_throttle_destroy(&t);

	t = auth_throttle_new(16, 64, 3, W);
	auth_throttle_fail(t, "k", 1000);
	auth_throttle_fail(t, "k", 1000 + W - 1);
	/* New window at 1000 + W: this is its first failure. */
	cr_expect_not(auth_throttle_fail(t, "k", 1000 + W));
	cr_expect_not(auth_throttle_fail(t, "k", 1000 + W + 1));
	cr_expect(auth_throttle_fail(t, "k", 1000 + W + 2));
	auth_throttle_destroy(&t);
}

/* Once blocked, a key waits a full window after the failure that hit
 * the limit, and each failure while blocked pushes that back. */
Test(auth_throttle, block_duration)
{
	struct auth_throttle *t = auth_throttle_new(16, 64, 3, W);

	auth_throttle_fail(t, "k", 0);
	auth_throttle_fail(t, "k", 500);
	cr_expect(auth_throttle_fail(t, "k", 599));
	cr_expect(auth_throttle_blocked(t, "k", 599 + W - 1));
	cr_expect_not(auth_throttle_blocked(t, "k", 599 + W));

	cr_expect(auth_throttle_fail(t, "k", 1000));
	cr_expect(auth_throttle_blocked(t, "k", 1000 + W - 1));
	cr_expect_not(auth_throttle_blocked(t, "k", 1000 + W));
	/* Afterwards a fresh start. */
	cr_expect_not(auth_throttle_fail(t, "k", 1000 + W));
	cr_expect_not(auth_throttle_blocked(t, "k", 1000 + W));
	auth_throttle_destroy(&t);
}

Test(auth_throttle, clock_going_back)
{
	struct auth_throttle *t = auth_throttle_new(16, 64, 2, W);

	auth_throttle_fail(t, "k", 5000);
	cr_expect(auth_throttle_fail(t, "k", 100));
	cr_expect(auth_throttle_blocked(t, "k", 100));
	auth_throttle_destroy(&t);
}

Test(auth_throttle, success_resets)
{
	struct auth_throttle *t = auth_throttle_new(16, 64, 3, W);

	auth_throttle_fail(t, "alice@example.org", 0);
	auth_throttle_fail(t, "alice@example.org", 1);
	auth_throttle_fail(t, "bob@example.org", 1);
	auth_throttle_success(t, "alice@example.org");
	cr_expect_eq(auth_throttle_count(t), 1);
	cr_expect_not(auth_throttle_fail(t, "alice@example.org", 2));
	cr_expect_not(auth_throttle_fail(t, "alice@example.org", 3));
	cr_expect(auth_throttle_fail(t, "alice@example.org", 4));
	/* Even a blocked key, and only that key. */
	auth_throttle_success(t, "alice@example.org");
	cr_expect_not(auth_throttle_blocked(t, "alice@example.org", 5));
	auth_throttle_success(t, "nobody");
	cr_expect_eq(auth_throttle_count(t), 1);
	auth_throttle_fail(t, "bob@example.org", 5);
	cr_expect(auth_throttle_fail(t, "bob@example.org", 6));
	auth_throttle_destroy(&t);
}

/* Case does not split an account's counter; overlong keys share the
 * counter of their first key_max bytes. */
Test(auth_throttle, keys)
{
	struct auth_throttle *t = auth_throttle_new(16, 8, 2, W);

	auth_throttle_fail(t, "Alice@X", 0);
	cr_expect(auth_throttle_fail(t, "aLICE@x", 1));
	cr_expect(auth_throttle_blocked(t, "alice@x", 1));
	cr_expect_not(auth_throttle_blocked(t, "alice@y", 1));

	auth_throttle_fail(t, "12345678A", 0);
	cr_expect(auth_throttle_fail(t, "12345678B", 1));
	cr_expect(auth_throttle_blocked(t, "12345678", 1));
	cr_expect_not(auth_throttle_blocked(t, "1234567", 1));
	cr_expect_eq(auth_throttle_count(t), 2);
	auth_throttle_destroy(&t);
}

/* Full: the oldest of the lightest goes. */
Test(auth_throttle, eviction_oldest)
{
	struct auth_throttle *t = auth_throttle_new(4, 16, 3, W);
	char key[16];

	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		auth_throttle_fail(t, key, 10 + i);
		auth_throttle_fail(t, key, 10 + i);
	}
	cr_expect_eq(auth_throttle_count(t), 4);
	auth_throttle_fail(t, "new", 20);
	cr_expect_eq(auth_throttle_count(t), 4);
	/* k0 was evicted: it starts from one failure again. */
	cr_expect_not(auth_throttle_fail(t, "k0", 21));
	/* ... which evicted "new", the lightest; k1..k3 kept their two. */
	cr_expect(auth_throttle_fail(t, "k2", 22));
	cr_expect(auth_throttle_fail(t, "k3", 22));
	cr_expect(auth_throttle_fail(t, "k1", 22));
	cr_expect_eq(auth_throttle_count(t), 4);
	auth_throttle_destroy(&t);
}

/* Cycling through many keys does not flush a hot or a blocked key. */
Test(auth_throttle, hot_entries_survive_cycling)
{
	struct auth_throttle *t = auth_throttle_new(8, 32, 3, W);
	char key[32];

	auth_throttle_fail(t, "hot", 0);
	auth_throttle_fail(t, "hot", 1);
	for (int i = 0; i < 3; i++)
		auth_throttle_fail(t, "blocked", 2);
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "198.51.100.%d", i);
		auth_throttle_fail(t, key, 3 + i / 1000);
	}
	cr_expect_eq(auth_throttle_count(t), 8);
	cr_expect(auth_throttle_blocked(t, "blocked", 200));
	cr_expect_not(auth_throttle_blocked(t, "hot", 200));
	cr_expect(auth_throttle_fail(t, "hot", 200));
	auth_throttle_destroy(&t);
}

/* Expired entries go first, however many failures they once had. */
Test(auth_throttle, expired_go_first)
{
	struct auth_throttle *t = auth_throttle_new(2, 16, 3, W);

	for (int i = 0; i < 3; i++)
		auth_throttle_fail(t, "old", 0);
	auth_throttle_fail(t, "fresh", 2 * W);
	auth_throttle_fail(t, "newcomer", 2 * W + 1);
	/* "fresh" kept its one failure: the second does not block, the
	 * third does. */
	cr_expect_not(auth_throttle_fail(t, "fresh", 2 * W + 2));
	cr_expect(auth_throttle_fail(t, "fresh", 2 * W + 3));
	cr_expect_not(auth_throttle_blocked(t, "old", 2 * W + 3));
	cr_expect_eq(auth_throttle_count(t), 2);
	auth_throttle_destroy(&t);
}

/* With many more keys than slots, the table never grows. */
Test(auth_throttle, bounded)
{
	struct auth_throttle *t = auth_throttle_new(AUTH_THROTTLE_CAPACITY,
	    64, 5, W);
	char key[32];

	for (int i = 0; i < 3 * AUTH_THROTTLE_CAPACITY; i++) {
		snprintf(key, sizeof(key), "2001:db8::%x", i);
		auth_throttle_fail(t, key, i);
		cr_assert_leq(auth_throttle_count(t), AUTH_THROTTLE_CAPACITY);
	}
	cr_expect_eq(auth_throttle_count(t), AUTH_THROTTLE_CAPACITY);
	auth_throttle_destroy(&t);
}
