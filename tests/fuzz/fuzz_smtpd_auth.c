/* libFuzzer target for the SMTP AUTH decoders. The first byte picks the
 * way the rest is used:
 *  - as raw SASL bytes, base64-encoded here, so the fuzzer explores the
 *    PLAIN and LOGIN structure directly; the result must match a simple
 *    reference model of RFC 4616 plus Sluice's limits;
 *  - as client text, exactly as it arrives (mostly bad base64): each
 *    decoder must give a status and an error, never touch more than the
 *    text, and anything it accepts must decode the same way here.
 * The text is copied to a buffer of its exact size so ASan sees any read
 * past it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "base64.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
login_ok(const uint8_t *p, size_t n)
{
	if (n < 1 || n > AUTH_LOGIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

static bool
password_ok(const uint8_t *p, size_t n)
{
	return n >= 1 && n <= AUTH_PASSWORD_MAX && memchr(p, 0, n) == NULL;
}

/* Whether creds hold exactly the given login and password. */
static bool
creds_are(const struct auth_creds *c, const uint8_t *login, size_t llen,
    const uint8_t *pass, size_t plen)
{
	return c->login_len == llen && memcmp(c->login, login, llen) == 0 &&
	    c->login[llen] == '\0' && c->password_len == plen &&
	    memcmp(c->password, pass, plen) == 0 && c->password[plen] == '\0';
}

static void
check_plain_model(const uint8_t *m, size_t n, enum auth_status st,
    const struct auth_creds *c)
{
	const uint8_t *nul1 = memchr(m, 0, n), *nul2 = NULL;
	const uint8_t *login, *pass;
	size_t zlen, llen, plen;
	bool ok;

	if (nul1 != NULL)
		nul2 = memchr(nul1 + 1, 0, n - (size_t)(nul1 + 1 - m));
	if (nul2 == NULL) {
		if (st != AUTH_REJECTED)
			abort();
		return;
	}
	zlen = (size_t)(nul1 - m);
	login = nul1 + 1;
	llen = (size_t)(nul2 - login);
	pass = nul2 + 1;
	plen = n - (size_t)(pass - m);
	ok = login_ok(login, llen) && password_ok(pass, plen) &&
	    (zlen == 0 || (zlen == llen && memcmp(m, login, llen) == 0));
	if (ok != (st == AUTH_OK) || (!ok && st != AUTH_REJECTED))
		abort();
	if (ok && !creds_are(c, login, llen, pass, plen))
		abort();
}

/* Raw bytes, encoded here: compare with the model. */
static void
check_structure(const uint8_t *m, size_t n)
{
	char *text = xmalloc(base64_encoded_len(n) + 1);
	size_t tlen;
	struct auth_creds c;
	const char *error = NULL;
	enum auth_status st;

	base64_encode(m, n, text);
	tlen = strlen(text);
	st = auth_plain_decode(text, tlen, &c, &error);
	if (st != AUTH_OK && error == NULL)
		abort();
	if (tlen > AUTH_RESPONSE_MAX) {
		if (st != AUTH_TOO_LONG)
			abort();
	} else
		check_plain_model(m, n, st, &c);

	st = auth_login_decode_user(text, tlen, &c, &error);
	if (tlen <= AUTH_RESPONSE_MAX &&
	    (st == AUTH_OK) != login_ok(m, n))
		abort();
	if (st == AUTH_OK && !creds_are(&c, m, n, (const uint8_t *)"", 0))
		abort();
	st = auth_login_decode_password(text, tlen, &c, &error);
	if (tlen <= AUTH_RESPONSE_MAX &&
	    (st == AUTH_OK) != password_ok(m, n))
		abort();
	if (st == AUTH_OK && (c.password_len != n ||
	    memcmp(c.password, m, n) != 0))
		abort();
	auth_creds_clear(&c);
	free(text);
}

/* Client text as it comes: whatever is accepted must be what a plain
 * base64 decode of the text gives. */
static void
check_text(const char *text, size_t len)
{
	uint8_t *raw = xmalloc(len / 4 * 3 + 1);
	size_t n = 0;
	struct auth_creds c;
	const char *error = NULL;
	enum auth_status st;
	bool decodes, in_limit = len <= AUTH_RESPONSE_MAX;

	decodes = base64_decode(text, len, raw, len / 4 * 3 + 1, &n,
	    &error) == 0;

	st = auth_plain_decode(text, len, &c, &error);
	if (st != AUTH_OK && error == NULL)
		abort();
	if (st == AUTH_OK && !decodes)
		abort();
	if (st == AUTH_BAD_BASE64 && decodes)
		abort();
	if (!in_limit && st != AUTH_TOO_LONG)
		abort();
	if (decodes && in_limit)
		check_plain_model(raw, n, st, &c);
	st = auth_login_decode_user(text, len, &c, &error);
	if (st == AUTH_OK && !(decodes && creds_are(&c, raw, n,
	    (const uint8_t *)"", 0)))
		abort();
	if (decodes && in_limit && (st == AUTH_OK) != login_ok(raw, n))
		abort();
	st = auth_login_decode_password(text, len, &c, &error);
	if (st == AUTH_OK && !(decodes && c.password_len == n &&
	    memcmp(c.password, raw, n) == 0))
		abort();
	if (decodes && in_limit && (st == AUTH_OK) != password_ok(raw, n))
		abort();
	auth_creds_clear(&c);
	free(raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size == 0)
		return 0;
	copy = xmalloc(size - 1);
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		check_structure((const uint8_t *)copy, size - 1);
	else
		check_text(copy, size - 1);
	(void)auth_response_is_cancel(copy, size - 1);
	free(copy);
	return 0;
}
