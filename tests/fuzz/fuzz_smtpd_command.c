/*
 * libFuzzer target for src/smtpd/parse.c. The first byte picks the
 * SMTP_PARSE_* options (low 4 bits) and whether the transaction has
 * SMTPUTF8 (0x10); the rest is one command line without CRLF. The line is
 * split, and every argument parser runs on the split arguments and on the
 * whole line as well. Beyond "no crash", it checks what the session and
 * the queue rely on: errors are well-formed replies and clear the output;
 * results stay within their arrays and their syntax; what the options
 * forbid never appears; and decoded values encode and parse back to
 * themselves.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "parse.h"
#include "util.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static bool
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static void
check_failure(int rv, const struct smtp_error *e, const void *obj,
    size_t size)
{
	CHECK(rv == -1 && e != NULL);
	CHECK(e->code >= 500 && e->code <= 555);
	CHECK(e->status != NULL && e->status[0] == '5' && e->text != NULL);
	CHECK(e->text[0] != '\0' && strpbrk(e->text, "\r\n") == NULL);
	CHECK(obj == NULL || all_zero(obj, size));
}

/* NUL-ended within max, printable ASCII (SP included). */
static void
check_printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	CHECK(n <= max);
	for (size_t i = 0; i < n; i++)
		CHECK(s[i] >= 0x20 && s[i] <= 0x7e);
}

/* NUL-ended within max, well-formed UTF-8 without C0 or C1 controls. */
static void
check_utf8(const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max + 1), i = 0;

	CHECK(n <= max);
	while (i < n) {
		size_t k = u[i] < 0x80 ? 1 : u[i] < 0xe0 ? 2 :
		    u[i] < 0xf0 ? 3 : 4;

		CHECK(u[i] >= 0x20 && u[i] != 0x7f);
		CHECK(u[i] < 0x80 || (u[i] >= 0xc2 && u[i] <= 0xf4));
		CHECK(i + k <= n);
		for (size_t j = 1; j < k; j++)
			CHECK((u[i + j] & 0xc0) == 0x80);
		CHECK(!(u[i] == 0xc2 && u[i + 1] < 0xa0));
		i += k;
	}
}

static void
check_split(const char *s, size_t len, const struct smtp_line *l)
{
	CHECK(l->verb == s && l->verb_len >= 1 &&
	    l->verb_len <= SMTP_VERB_MAX);
	for (size_t i = 0; i < l->verb_len; i++)
		CHECK((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'));
	CHECK(l->args >= s + l->verb_len && l->args + l->args_len <= s + len);
	CHECK(len <= SMTP_LINE_MAX || (len <= SMTP_AUTH_LINE_MAX &&
	    smtp_verb_is(l, "AUTH")));
	if (l->args_len > 0)
		CHECK(l->args[0] != ' ' && l->args[0] != '\t' &&
		    l->args[l->args_len - 1] != ' ' &&
		    l->args[l->args_len - 1] != '\t');
	for (size_t i = 0; i < len; i++)
		CHECK(((unsigned char)s[i] >= 0x20 && s[i] != 0x7f) ||
		    s[i] == '\t');
}

/* ENVID and AUTH= encode to xtext and parse back to the same text. */
static void
check_xtext_round_trip(const char *keyword, const char *value)
{
	static char line[2048];
	const struct smtp_error *e = NULL;
	struct smtp_mail m;
	size_t n, k = strlen(keyword);

	memcpy(line, "FROM:<> ", 8);
	memcpy(line + 8, keyword, k);
	n = 8 + k;
	n += smtp_xtext_encode(value, strlen(value), line + n,
	    sizeof(line) - n);
	CHECK(n < sizeof(line));
	CHECK(smtp_mail_parse(line, n, SMTP_PARSE_DSN_OK, &m, &e) == 0);
	CHECK(strcmp(keyword[0] == 'E' ? m.envid : m.auth, value) == 0);
}

static void
check_mail(const char *s, size_t len, unsigned opts)
{
	const struct smtp_error *e = NULL;
	struct smtp_mail m;

	if (smtp_mail_parse(s, len, opts, &m, &e) == -1) {
		check_failure(-1, e, &m, sizeof(m));
		return;
	}
	CHECK(len >= 5 && (s[0] | 0x20) == 'f');
	CHECK(!(m.from.flags & ADDR_F_UTF8) || m.smtputf8);
	CHECK(!m.smtputf8 || (opts & SMTP_PARSE_SMTPUTF8_OK));
	CHECK(m.body != SMTP_BODY_BINARYMIME ||
	    (opts & SMTP_PARSE_BINARYMIME_OK));
	CHECK((m.ret == SMTP_RET_NONE && !m.envid_given) ||
	    (opts & SMTP_PARSE_DSN_OK));
	CHECK(!(m.from.flags & ADDR_F_NO_BRACKETS) ||
	    (opts & SMTP_PARSE_LENIENT));
	CHECK(!(m.from.flags & ADDR_F_POSTMASTER_BARE));
	CHECK(m.size_given || m.size == 0);
	check_printable(m.envid, SMTP_ENVID_MAX);
	check_printable(m.auth, SMTP_AUTH_PARAM_MAX);
	CHECK(m.envid_given == (m.envid[0] != '\0'));
	CHECK(m.auth_given == (m.auth[0] != '\0'));
	if (m.envid_given)
		check_xtext_round_trip("ENVID=", m.envid);
	if (m.auth_given)
		check_xtext_round_trip("AUTH=", m.auth);
}

static void
check_notify(unsigned notify)
{
	static const char prefix[] = "TO:<a@b.example> NOTIFY=";
	char line[sizeof(prefix) + SMTP_NOTIFY_TEXT_MAX];
	const struct smtp_error *e = NULL;
	struct smtp_rcpt r;
	size_t n;

	CHECK(notify == SMTP_NOTIFY_NEVER || (notify & ~(SMTP_NOTIFY_SUCCESS |
	    SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY)) == 0);
	memcpy(line, prefix, sizeof(prefix) - 1);
	n = smtp_notify_format(notify, line + sizeof(prefix) - 1,
	    SMTP_NOTIFY_TEXT_MAX + 1);
	CHECK(n > 0 && n <= SMTP_NOTIFY_TEXT_MAX);
	CHECK(smtp_rcpt_parse(line, sizeof(prefix) - 1 + n, SMTP_PARSE_DSN_OK,
	    false, &r, &e) == 0 && r.notify == notify);
}

static void
check_rcpt(const char *s, size_t len, unsigned opts, bool utf8)
{
	const struct smtp_error *e = NULL;
	struct smtp_rcpt r;

	if (smtp_rcpt_parse(s, len, opts, utf8, &r, &e) == -1) {
		check_failure(-1, e, &r, sizeof(r));
		return;
	}
	CHECK(len >= 3 && (s[0] | 0x20) == 't');
	CHECK(!(r.to.flags & ADDR_F_UTF8) || utf8);
	CHECK(!(r.to.flags & ADDR_F_NULL));
	CHECK(!(r.to.flags & ADDR_F_NO_BRACKETS) ||
	    (opts & SMTP_PARSE_LENIENT));
	CHECK((r.notify == 0 && !r.orcpt_given) || (opts & SMTP_PARSE_DSN_OK));
	if (r.notify != 0)
		check_notify(r.notify);
	CHECK(r.orcpt_given == (r.orcpt_type[0] != '\0'));
	CHECK(r.orcpt_given == (r.orcpt[0] != '\0'));
	check_printable(r.orcpt_type, SMTP_ORCPT_TYPE_MAX);
	for (const char *t = r.orcpt_type; *t != '\0'; t++)
		CHECK(*t != ';' && *t != ' ' && !(*t >= 'A' && *t <= 'Z'));
	if (strcmp(r.orcpt_type, "utf-8") == 0)
		check_utf8(r.orcpt, SMTP_ORCPT_MAX);
	else
		check_printable(r.orcpt, SMTP_ORCPT_MAX);
}

static void
check_bdat(const char *s, size_t len)
{
	const struct smtp_error *e = NULL;
	uint64_t size, again;
	bool last, last_again;
	char text[32];
	size_t n = 0;
	uint64_t v;

	if (smtp_bdat_parse(s, len, &size, &last, &e) == -1) {
		check_failure(-1, e, NULL, 0);
		CHECK(size == 0 && !last);
		return;
	}
	/* the canonical spelling parses to the same */
	v = size;
	do {
		text[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (size_t i = 0; i < n / 2; i++) {
		char c = text[i];

		text[i] = text[n - 1 - i];
		text[n - 1 - i] = c;
	}
	if (last) {
		memcpy(text + n, " LAST", 5);
		n += 5;
	}
	CHECK(smtp_bdat_parse(text, n, &again, &last_again, &e) == 0);
	CHECK(again == size && last_again == last);
}

static void
check_helo(const char *s, size_t len)
{
	const struct smtp_error *e = NULL;
	int strict, lax;

	strict = smtp_helo_parse(s, len, 0, &e);
	if (strict == -1)
		check_failure(-1, e, NULL, 0);
	e = NULL;
	lax = smtp_helo_parse(s, len, SMTP_PARSE_LENIENT, &e);
	if (lax == -1)
		check_failure(-1, e, NULL, 0);
	/* lenient accepts everything strict does, and only single words */
	CHECK(strict == -1 || lax == 0);
	if (lax == 0) {
		CHECK(len >= 1 && len <= ADDR_DOMAIN_MAX);
		for (size_t i = 0; i < len; i++)
			CHECK(s[i] > 0x20 && s[i] < 0x7f);
	}
}

static void
check_auth(const char *s, size_t len)
{
	const struct smtp_error *e = NULL;
	struct smtp_auth_cmd a;

	if (smtp_auth_parse(s, len, &a, &e) == -1) {
		check_failure(-1, e, &a, sizeof(a));
		return;
	}
	CHECK(a.mech == s && a.mech_len >= 1 &&
	    a.mech_len <= SMTP_AUTH_MECH_MAX);
	CHECK(smtp_auth_mech_is(&a, "") == false);
	if (a.initial_given) {
		CHECK(a.initial > a.mech + a.mech_len);
		CHECK(a.initial + a.initial_len <= s + len);
		CHECK(a.initial_len % 4 == 0);
		CHECK(a.initial_len > 0 || a.initial[0] == '=');
	} else
		CHECK(a.initial == NULL && a.initial_len == 0);
}

static void
parse_all(const char *s, size_t len, unsigned opts, bool utf8)
{
	check_mail(s, len, opts);
	check_rcpt(s, len, opts, utf8);
	check_bdat(s, len);
	check_helo(s, len);
	check_auth(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct smtp_error *e = NULL;
	struct smtp_line l;
	const char *s;
	unsigned opts;
	size_t len;
	bool utf8;

	if (size == 0)
		return 0;
	opts = data[0] & 0x0f;
	utf8 = (data[0] & 0x10) != 0;
	s = (const char *)data + 1;
	len = size - 1;

	if (smtp_line_split(s, len, &l, &e) == 0) {
		check_split(s, len, &l);
		parse_all(l.args, l.args_len, opts, utf8);
	} else
		check_failure(-1, e, &l, sizeof(l));
	parse_all(s, len, opts, utf8);
	return 0;
}
