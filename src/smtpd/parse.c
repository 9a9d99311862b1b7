/* smtpd/parse: see parse.h. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "parse.h"
#include "util.h"

#define ERR(name, code, status, text) \
	static const struct smtp_error name = { code, status, text }

ERR(err_verb, 500, "5.5.2", "Syntax error, command unrecognized");
ERR(err_line_long, 500, "5.5.2", "Line too long");
ERR(err_line_char, 500, "5.5.2", "Invalid character in command");
ERR(err_mail_syntax, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
ERR(err_rcpt_syntax, 501, "5.5.4", "Syntax: RCPT TO:<address>");
ERR(err_sender, 553, "5.1.7", "Bad sender address syntax");
ERR(err_recipient, 501, "5.1.3", "Bad recipient address syntax");
ERR(err_sender_utf8, 553, "5.6.7",
    "Non-ASCII addresses not permitted for that sender");
ERR(err_recipient_utf8, 553, "5.6.7",
    "Non-ASCII addresses not permitted for that recipient");
ERR(err_param_syntax, 501, "5.5.4", "Syntax error in parameters");
ERR(err_param_dup, 501, "5.5.4", "Duplicate parameter");
ERR(err_param_unknown, 555, "5.5.4", "Unsupported parameter");
ERR(err_unsup_smtputf8, 555, "5.5.4", "Unsupported parameter SMTPUTF8");
ERR(err_unsup_binarymime, 555, "5.5.4",
    "Unsupported parameter BODY=BINARYMIME");
ERR(err_unsup_ret, 555, "5.5.4", "Unsupported parameter RET");
ERR(err_unsup_envid, 555, "5.5.4", "Unsupported parameter ENVID");
ERR(err_unsup_notify, 555, "5.5.4", "Unsupported parameter NOTIFY");
ERR(err_unsup_orcpt, 555, "5.5.4", "Unsupported parameter ORCPT");
ERR(err_size, 501, "5.5.4", "Invalid SIZE value");
ERR(err_size_big, 552, "5.3.4",
    "Message size exceeds fixed maximum message size");
ERR(err_body, 501, "5.5.4", "Invalid BODY value");
ERR(err_ret, 501, "5.5.4", "Invalid RET value");
ERR(err_envid, 501, "5.5.4", "Invalid ENVID value");
ERR(err_auth_param, 501, "5.5.4", "Invalid AUTH value");
ERR(err_notify, 501, "5.5.4", "Invalid NOTIFY value");
ERR(err_orcpt, 501, "5.5.4", "Invalid ORCPT value");
ERR(err_bdat, 501, "5.5.4", "Syntax: BDAT size [LAST]");
ERR(err_helo_empty, 501, "5.5.4", "Syntax: EHLO hostname");
ERR(err_helo_bad, 501, "5.5.4", "Invalid hostname");
ERR(err_auth_syntax, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
ERR(err_auth_mech, 501, "5.5.4", "Invalid mechanism name");
ERR(err_auth_b64, 501, "5.5.2", "Cannot decode response");

static int
fail(const struct smtp_error **error_r, const struct smtp_error *e)
{
	*error_r = e;
	return -1;
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* s[0..len) equals the NUL-ended word in any case. */
static bool
word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && mem_case_equal(s, word, len);
}

static size_t
ws_skip(const char *s, size_t len, size_t pos)
{
	while (pos < len && is_ws((unsigned char)s[pos]))
		pos++;
	return pos;
}

static size_t
word_end(const char *s, size_t len, size_t pos)
{
	while (pos < len && !is_ws((unsigned char)s[pos]))
		pos++;
	return pos;
}

/* Upper-case hex only, as xtext's hexchar requires; -1 otherwise. */
static int
hex_upper(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex_any(unsigned char c)
{
	return hex_upper(c >= 'a' && c <= 'f' ? c - ('a' - 'A') : c);
}

/*
 * 1..20 digits into a uint64_t. Returns 0, -1 for bad syntax, -2 for a
 * value past UINT64_MAX (still syntax, just too big for anything).
 */
static int
u64_parse(const char *s, size_t len, uint64_t *r)
{
	uint64_t v = 0;

	*r = 0;
	if (len == 0 || len > SMTP_SIZE_DIGITS_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (!is_digit((unsigned char)s[i]))
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	*r = v;
	return 0;
}

/* --- command lines --- */

int
smtp_line_split(const char *line, size_t len, struct smtp_line *out,
    const struct smtp_error **error_r)
{
	size_t n, pos, end;

	memset(out, 0, sizeof(*out));
	if (len > SMTP_AUTH_LINE_MAX)
		return fail(error_r, &err_line_long);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(error_r, &err_line_char);
	}
	for (n = 0; n < len && is_alpha((unsigned char)line[n]); n++)
		;
	if (n == 0 || n > SMTP_VERB_MAX ||
	    (n < len && !is_ws((unsigned char)line[n])))
		return fail(error_r, &err_verb);
	if (len > SMTP_LINE_MAX && !word_is(line, n, "AUTH"))
		return fail(error_r, &err_line_long);
	pos = ws_skip(line, len, n);
	end = len;
	while (end > pos && is_ws((unsigned char)line[end - 1]))
		end--;
	out->verb = line;
	out->verb_len = n;
	out->args = line + pos;
	out->args_len = end - pos;
	return 0;
}

bool
smtp_verb_is(const struct smtp_line *l, const char *verb)
{
	return l->verb != NULL && word_is(l->verb, l->verb_len, verb);
}

/* --- value decoders --- */

/*
 * RFC 3461 4 xtext into out (room for max octets and a NUL). Every
 * decoded octet must be printable ASCII or SP: the results end up in
 * logs, the queue and DSNs, and none of ENVID, AUTH= or an rfc822 ORCPT
 * has a use for anything else.
 */
static int
xtext_decode(const char *s, size_t len, char *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len; n++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			int hi, lo;

			if (len - i < 3 ||
			    (hi = hex_upper((unsigned char)s[i + 1])) == -1 ||
			    (lo = hex_upper((unsigned char)s[i + 2])) == -1)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 3;
		} else {
			if (c < 0x21 || c > 0x7e || c == '=')
				return -1;
			i++;
		}
		if (c < 0x20 || c > 0x7e || n == max)
			return -1;
		out[n] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/*
 * One well-formed UTF-8 sequence of two to four octets (RFC 3629: no
 * overlong forms, surrogates or values past U+10FFFF). Returns its length
 * and the code point, or 0.
 */
static size_t
utf8_take(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

/* Append cp as UTF-8 if it fits in max - *n octets. */
static int
utf8_put(uint32_t cp, char *out, size_t *n, size_t max)
{
	unsigned char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (max - *n < k)
		return -1;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

/*
 * RFC 6533 EmbeddedUnicodeChar "\x{HEXPOINT}" at s[0]: the canonical
 * spelling (2 to 6 hex digits, no leading zero) of "\" or of a non-ASCII
 * code point that is neither a surrogate nor a C1 control. Returns the
 * octets used, or 0.
 */
static size_t
unicode_escape_take(const char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp = 0;
	size_t i;

	if (len < 5 || s[1] != 'x' || s[2] != '{' || s[3] == '0')
		return 0;
	/* at most 6 digits: s[3..8], so s[9] is the last place for "}" */
	for (i = 3; i < len && i < 9 && s[i] != '}'; i++) {
		int d = hex_any((unsigned char)s[i]);

		if (d == -1)
			return 0;
		cp = cp << 4 | (uint32_t)d;
	}
	if (i == len || s[i] != '}' || i - 3 < 2)
		return 0;
	if (cp != '\\' && (cp < 0xa0 || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff)))
		return 0;
	*cp_r = cp;
	return i + 1;
}

/*
 * ORCPT address of addr-type utf-8: RFC 6533 utf-8-addr-xtext, or its
 * unitext form (raw UTF-8, only in an SMTPUTF8 transaction), plus "+HH"
 * for printable ASCII as in plain xtext. Stored as UTF-8.
 */
static int
orcpt_utf8_decode(const char *s, size_t len, bool smtputf8, char *out,
    size_t max)
{
	size_t i = 0, n = 0, k;
	uint32_t cp;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			if ((k = unicode_escape_take(s + i, len - i, &cp)) == 0)
				return -1;
		} else if (c == '+') {
			int hi, lo;

			if (len - i < 3 ||
			    (hi = hex_upper((unsigned char)s[i + 1])) == -1 ||
			    (lo = hex_upper((unsigned char)s[i + 2])) == -1)
				return -1;
			cp = (uint32_t)(hi << 4 | lo);
			if (cp < 0x20 || cp > 0x7e)
				return -1;
			k = 3;
		} else if (c >= 0x80) {
			if (!smtputf8 ||
			    (k = utf8_take((const unsigned char *)s + i,
			    len - i, &cp)) == 0 || cp < 0xa0)
				return -1;
		} else {
			if (c < 0x21 || c > 0x7e || c == '=')
				return -1;
			cp = c;
			k = 1;
		}
		if (utf8_put(cp, out, &n, max) == -1)
			return -1;
		i += k;
	}
	out[n] = '\0';
	return 0;
}

/* --- ESMTP parameters --- */

struct param_ctx {
	struct smtp_mail	*mail;
	struct smtp_rcpt	*rcpt;
	unsigned		 opts;
	bool			 smtputf8;	/* RCPT: in the transaction */
};

typedef int param_fn(struct param_ctx *, const char *, size_t,
    const struct smtp_error **);

struct param_def {
	const char		*keyword;
	unsigned		 needs;		/* SMTP_PARSE_* all required */
	bool			 has_value;
	const struct smtp_error	*unsupported;	/* when needs is not met */
	param_fn		*parse;
};

static int
param_size(struct param_ctx *ctx, const char *v, size_t len,
    const struct smtp_error **error_r)
{
	switch (u64_parse(v, len, &ctx->mail->size)) {
	case -1:
		return fail(error_r, &err_size);
	case -2:
		return fail(error_r, &err_size_big);
	}
	ctx->mail->size_given = true;
	return 0;
}

static int
param_body(struct param_ctx *ctx, const char *v, size_t len,
    const struct smtp_error **error_r)
{
	if (word_is(v, len, "7BIT"))
		ctx->mail->body = SMTP_BODY_7BIT;
	else if (word_is(v, len, "8BITMIME"))
		ctx->mail->body = SMTP_BODY_8BITMIME;
	else if (word_is(v, len, "BINARYMIME")) {
		if ((ctx->opts & SMTP_PARSE_BINARYMIME_OK) == 0)
			return fail(error_r, &err_unsup_binarymime);
		ctx->mail->body = SMTP_BODY_BINARYMIME;
	} else
		return fail(error_r, &err_body);
	return 0;
}

static int
param_smtputf8(struct param_ctx *ctx, const char *v, size_t len,
    const struct smtp_error **error_r)
{
	(void)v;
	(void)len;
	(void)error_r;
	ctx->mail->smtputf8 = true;
	return 0;
}

static int
param_ret(struct param_ctx *ctx, const char *v, size_t len,
    const struct smtp_error **error_r)
{
	if (word_is(v, len, "FULL"))
		ctx->mail->ret = SMTP_RET_FULL;
	else if (word_is(v, len, "HDRS"))
		ctx->mail->ret = SMTP_RET_HDRS;
	else
		return fail(error_r, &err_ret);
	return 0;
}

static int
param_envid(struct param_ctx *ctx, const char *v, size_t len,
    const struct smtp_error **error_r)
{
	if (xtext_decode(v, len, ctx->mail->envid, SMTP_ENVID_MAX) == -1)
		return fail(error_r, &err_envid);
	ctx->mail->envid_given = true;
	return 0;
}

static int
param_auth(struct param_ctx *ctx, const char *v, size_t len,
    const struct smtp_error **error_r)
{
	if (xtext_decode(v, len, ctx->mail->auth, SMTP_AUTH_PARAM_MAX) == -1)
		return fail(error_r, &err_auth_param);
	ctx->mail->auth_given = true;
	return 0;
}

/* RFC 3461 4.1: "NEVER" alone, or a list of the other three, once each. */
static int
param_notify(struct param_ctx *ctx, const char *v, size_t len,
    const struct smtp_error **error_r)
{
	unsigned bits = 0, bit;
	size_t pos = 0, start;

	for (;;) {
		start = pos;
		while (pos < len && v[pos] != ',')
			pos++;
		if (word_is(v + start, pos - start, "NEVER"))
			bit = SMTP_NOTIFY_NEVER;
		else if (word_is(v + start, pos - start, "SUCCESS"))
			bit = SMTP_NOTIFY_SUCCESS;
		else if (word_is(v + start, pos - start, "FAILURE"))
			bit = SMTP_NOTIFY_FAILURE;
		else if (word_is(v + start, pos - start, "DELAY"))
			bit = SMTP_NOTIFY_DELAY;
		else
			return fail(error_r, &err_notify);
		if ((bits & bit) != 0)
			return fail(error_r, &err_notify);
		bits |= bit;
		if (pos == len)
			break;
		pos++;
	}
	if ((bits & SMTP_NOTIFY_NEVER) != 0 && bits != SMTP_NOTIFY_NEVER)
		return fail(error_r, &err_notify);
	ctx->rcpt->notify = bits;
	return 0;
}

/* RFC 5322 atext; "=" cannot occur, esmtp-value has none. */
static bool
is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 3461 4.2: addr-type ";" xtext, the address not empty. */
static int
param_orcpt(struct param_ctx *ctx, const char *v, size_t len,
    const struct smtp_error **error_r)
{
	struct smtp_rcpt *r = ctx->rcpt;
	size_t t = 0;
	int rv;

	while (t < len && v[t] != ';') {
		if (!is_atext((unsigned char)v[t]) || t == SMTP_ORCPT_TYPE_MAX)
			return fail(error_r, &err_orcpt);
		r->orcpt_type[t] = (char)ascii_lower((unsigned char)v[t]);
		t++;
	}
	r->orcpt_type[t] = '\0';
	if (t == 0 || t == len || t + 1 == len)
		return fail(error_r, &err_orcpt);
	if (strcmp(r->orcpt_type, "utf-8") == 0)
		rv = orcpt_utf8_decode(v + t + 1, len - t - 1, ctx->smtputf8,
		    r->orcpt, SMTP_ORCPT_MAX);
	else
		rv = xtext_decode(v + t + 1, len - t - 1, r->orcpt,
		    SMTP_ORCPT_MAX);
	if (rv == -1)
		return fail(error_r, &err_orcpt);
	r->orcpt_given = true;
	return 0;
}

static const struct param_def mail_params[] = {
	{ "SIZE", 0, true, NULL, param_size },
	{ "BODY", 0, true, NULL, param_body },
	{ "SMTPUTF8", SMTP_PARSE_SMTPUTF8_OK, false, &err_unsup_smtputf8,
	    param_smtputf8 },
	{ "RET", SMTP_PARSE_DSN_OK, true, &err_unsup_ret, param_ret },
	{ "ENVID", SMTP_PARSE_DSN_OK, true, &err_unsup_envid, param_envid },
	{ "AUTH", 0, true, NULL, param_auth },
};

static const struct param_def rcpt_params[] = {
	{ "NOTIFY", SMTP_PARSE_DSN_OK, true, &err_unsup_notify, param_notify },
	{ "ORCPT", SMTP_PARSE_DSN_OK, true, &err_unsup_orcpt, param_orcpt },
};

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static bool
keyword_is_valid(const char *s, size_t len)
{
	if (len == 0 || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-')
			return false;
	}
	return true;
}

/* esmtp-value, with RFC 6531 3.3's UTF-8 octets (checked by the user). */
static bool
value_is_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c == '=' || c == 0x7f)
			return false;
	}
	return true;
}

/* One "keyword[=value]" token; seen has a bit per table entry. */
static int
param_one(struct param_ctx *ctx, const struct param_def *defs, size_t ndefs,
    const char *tok, size_t len, uint32_t *seen,
    const struct smtp_error **error_r)
{
	const struct param_def *def = NULL;
	size_t klen = 0, vlen = 0;
	uint32_t bit;
	bool has_value;

	while (klen < len && tok[klen] != '=')
		klen++;
	has_value = klen < len;
	if (has_value)
		vlen = len - klen - 1;
	if (!keyword_is_valid(tok, klen) ||
	    (has_value && !value_is_valid(tok + klen + 1, vlen)))
		return fail(error_r, &err_param_syntax);
	for (size_t i = 0; i < ndefs && def == NULL; i++)
		if (word_is(tok, klen, defs[i].keyword))
			def = &defs[i];
	if (def == NULL)
		return fail(error_r, &err_param_unknown);
	if ((ctx->opts & def->needs) != def->needs)
		return fail(error_r, def->unsupported);
	bit = (uint32_t)1 << (def - defs);
	if ((*seen & bit) != 0)
		return fail(error_r, &err_param_dup);
	*seen |= bit;
	if (has_value != def->has_value)
		return fail(error_r, &err_param_syntax);
	return def->parse(ctx, tok + klen + 1, vlen, error_r);
}

/* The parameters after a path: SP-separated tokens, SP runs tolerated. */
static int
params_parse(struct param_ctx *ctx, const struct param_def *defs,
    size_t ndefs, const char *s, size_t len,
    const struct smtp_error **error_r)
{
	uint32_t seen = 0;
	size_t pos = 0, start;

	for (;;) {
		while (pos < len && s[pos] == ' ')
			pos++;
		if (pos == len)
			return 0;
		start = pos;
		while (pos < len && s[pos] != ' ')
			pos++;
		if (param_one(ctx, defs, ndefs, s + start, pos - start, &seen,
		    error_r) == -1)
			return -1;
	}
}

/* "FROM:" or "TO:" in any case, then optional SP/TAB; the path's offset. */
static int
prefix_skip(const char *args, size_t len, const char *prefix, size_t *pos_r)
{
	size_t n = strlen(prefix);

	if (len < n || !mem_case_equal(args, prefix, n))
		return -1;
	*pos_r = ws_skip(args, len, n);
	return *pos_r < len ? 0 : -1;
}

/* --- MAIL, RCPT --- */

static int
mail_parse(const char *args, size_t len, unsigned opts, struct smtp_mail *out,
    const struct smtp_error **error_r)
{
	struct param_ctx ctx = { out, NULL, opts, false };
	/* the SMTPUTF8 that permits UTF-8 comes after the path (addr.h) */
	unsigned aopts = ADDR_ALLOW_NULL | ADDR_ALLOW_UTF8;
	const char *aerr;
	size_t pos, consumed;

	if ((opts & SMTP_PARSE_LENIENT) != 0)
		aopts |= ADDR_ALLOW_NO_BRACKETS;
	if (prefix_skip(args, len, "FROM:", &pos) == -1)
		return fail(error_r, &err_mail_syntax);
	if (addr_parse_path(args + pos, len - pos, aopts, &out->from,
	    &consumed, &aerr) == -1)
		return fail(error_r, &err_sender);
	pos += consumed;
	if (params_parse(&ctx, mail_params, ARRAY_SIZE(mail_params),
	    args + pos, len - pos, error_r) == -1)
		return -1;
	if ((out->from.flags & ADDR_F_UTF8) != 0 && !out->smtputf8)
		return fail(error_r, &err_sender_utf8);
	return 0;
}

int
smtp_mail_parse(const char *args, size_t len, unsigned opts,
    struct smtp_mail *out, const struct smtp_error **error_r)
{
	memset(out, 0, sizeof(*out));
	if (mail_parse(args, len, opts, out, error_r) == -1) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

static int
rcpt_parse(const char *args, size_t len, unsigned opts, bool smtputf8_txn,
    struct smtp_rcpt *out, const struct smtp_error **error_r)
{
	struct param_ctx ctx = { NULL, out, opts, smtputf8_txn };
	/* UTF-8 is parsed always, so that it gets its own reply below */
	unsigned aopts = ADDR_ALLOW_POSTMASTER | ADDR_ALLOW_UTF8;
	const char *aerr;
	size_t pos, consumed;

	if ((opts & SMTP_PARSE_LENIENT) != 0)
		aopts |= ADDR_ALLOW_NO_BRACKETS;
	if (prefix_skip(args, len, "TO:", &pos) == -1)
		return fail(error_r, &err_rcpt_syntax);
	if (addr_parse_path(args + pos, len - pos, aopts, &out->to,
	    &consumed, &aerr) == -1)
		return fail(error_r, &err_recipient);
	if ((out->to.flags & ADDR_F_UTF8) != 0 && !smtputf8_txn)
		return fail(error_r, &err_recipient_utf8);
	pos += consumed;
	return params_parse(&ctx, rcpt_params, ARRAY_SIZE(rcpt_params),
	    args + pos, len - pos, error_r);
}

int
smtp_rcpt_parse(const char *args, size_t len, unsigned opts,
    bool smtputf8_txn, struct smtp_rcpt *out,
    const struct smtp_error **error_r)
{
	memset(out, 0, sizeof(*out));
	if (rcpt_parse(args, len, opts, smtputf8_txn, out, error_r) == -1) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

/* --- BDAT, EHLO/HELO, AUTH --- */

int
smtp_bdat_parse(const char *args, size_t len, uint64_t *size_r,
    bool *last_r, const struct smtp_error **error_r)
{
	size_t n = 0, pos, end;
	int rv;

	*size_r = 0;
	*last_r = false;
	while (n < len && !is_ws((unsigned char)args[n]))
		n++;
	if ((rv = u64_parse(args, n, size_r)) != 0)
		return fail(error_r, rv == -2 ? &err_size_big : &err_bdat);
	pos = ws_skip(args, len, n);
	if (pos < len) {
		end = word_end(args, len, pos);
		if (!word_is(args + pos, end - pos, "LAST") ||
		    ws_skip(args, len, end) != len) {
			*size_r = 0;
			return fail(error_r, &err_bdat);
		}
		*last_r = true;
	}
	return 0;
}

/* An address literal, checked by the address parser as "x@[...]". */
static bool
helo_literal_is_valid(const char *s, size_t len)
{
	char buf[ADDR_DOMAIN_MAX + 3];
	const char *error;
	struct addr a;

	if (len > ADDR_DOMAIN_MAX)
		return false;
	buf[0] = 'x';
	buf[1] = '@';
	memcpy(buf + 2, s, len);
	return addr_parse_mailbox(buf, len + 2, 0, &a, &error) == 0 &&
	    (a.flags & ADDR_F_IP_LITERAL) != 0;
}

int
smtp_helo_parse(const char *args, size_t len, unsigned opts,
    const struct smtp_error **error_r)
{
	size_t n = len;

	if (len == 0)
		return fail(error_r, &err_helo_empty);
	if (len > ADDR_DOMAIN_MAX)
		return fail(error_r, &err_helo_bad);
	if (args[0] == '[') {
		if (helo_literal_is_valid(args, len))
			return 0;
	} else {
		if (args[n - 1] == '.')
			n--;
		if (addr_domain_is_valid(args, n))
			return 0;
	}
	if ((opts & SMTP_PARSE_LENIENT) == 0)
		return fail(error_r, &err_helo_bad);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)args[i] < 0x21 ||
		    (unsigned char)args[i] > 0x7e)
			return fail(error_r, &err_helo_bad);
	return 0;
}

/* Shape only: alphabet, length a multiple of 4, "=" padding at the end. */
static bool
base64_shape_is_valid(const char *s, size_t len)
{
	size_t pad = 0;

	if (len == 0 || len % 4 != 0)
		return false;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '/')
			return false;
	}
	return true;
}

static bool
mech_is_valid(const char *s, size_t len)
{
	if (len == 0 || len > SMTP_AUTH_MECH_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
			return false;
	}
	return true;
}

int
smtp_auth_parse(const char *args, size_t len, struct smtp_auth_cmd *out,
    const struct smtp_error **error_r)
{
	size_t n, pos, end;

	memset(out, 0, sizeof(*out));
	if (len > SMTP_AUTH_LINE_MAX)
		return fail(error_r, &err_line_long);
	n = word_end(args, len, 0);
	if (n == 0)
		return fail(error_r, &err_auth_syntax);
	if (!mech_is_valid(args, n))
		return fail(error_r, &err_auth_mech);
	pos = ws_skip(args, len, n);
	end = word_end(args, len, pos);
	if (ws_skip(args, len, end) != len)
		return fail(error_r, &err_auth_syntax);
	if (pos < len && !(end - pos == 1 && args[pos] == '=') &&
	    !base64_shape_is_valid(args + pos, end - pos))
		return fail(error_r, &err_auth_b64);
	out->mech = args;
	out->mech_len = n;
	if (pos < len) {
		out->initial = args + pos;
		out->initial_len = (end - pos == 1 && args[pos] == '=') ?
		    0 : end - pos;
		out->initial_given = true;
	}
	return 0;
}

bool
smtp_auth_mech_is(const struct smtp_auth_cmd *a, const char *mech)
{
	return a->mech != NULL && word_is(a->mech, a->mech_len, mech);
}

/* --- formatters --- */

struct text_out {
	char	*out;
	size_t	 size;
	size_t	 len;		/* full length, even past size */
};

static void
text_put(struct text_out *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, t->len++)
		if (t->len + 1 < t->size)
			t->out[t->len] = s[i];
}

static size_t
text_end(struct text_out *t)
{
	if (t->size > 0)
		t->out[t->len < t->size ? t->len : t->size - 1] = '\0';
	return t->len;
}

size_t
smtp_notify_format(unsigned notify, char *out, size_t size)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} names[] = {
		{ SMTP_NOTIFY_NEVER, "NEVER" },
		{ SMTP_NOTIFY_SUCCESS, "SUCCESS" },
		{ SMTP_NOTIFY_FAILURE, "FAILURE" },
		{ SMTP_NOTIFY_DELAY, "DELAY" },
	};
	struct text_out t = { out, size, 0 };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if ((notify & names[i].bit) == 0)
			continue;
		if (t.len > 0)
			text_put(&t, ",", 1);
		text_put(&t, names[i].name, strlen(names[i].name));
		/* NEVER excludes the others; the parser never sets both */
		if (names[i].bit == SMTP_NOTIFY_NEVER)
			break;
	}
	return text_end(&t);
}

size_t
smtp_xtext_encode(const char *in, size_t len, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	struct text_out t = { out, size, 0 };

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		char e[3];

		if (c >= 0x21 && c <= 0x7e && c != '+' && c != '=') {
			text_put(&t, &in[i], 1);
			continue;
		}
		e[0] = '+';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 0x0f];
		text_put(&t, e, 3);
	}
	return text_end(&t);
}

const char *
smtp_body_name(enum smtp_body body)
{
	switch (body) {
	case SMTP_BODY_8BITMIME:
		return "8BITMIME";
	case SMTP_BODY_BINARYMIME:
		return "BINARYMIME";
	case SMTP_BODY_NONE:
	case SMTP_BODY_7BIT:
		break;
	}
	return "7BIT";
}

const char *
smtp_ret_name(enum smtp_ret ret)
{
	switch (ret) {
	case SMTP_RET_FULL:
		return "FULL";
	case SMTP_RET_HDRS:
		return "HDRS";
	case SMTP_RET_NONE:
		break;
	}
	return NULL;
}
