/*
 * Unit tests for src/smtpd/parse.c: command line split, MAIL/RCPT with
 * their ESMTP parameters, BDAT, EHLO/HELO, AUTH and the formatters.
 * Every input is parsed from a heap copy of exactly its length, so that
 * ASan reports any read past the end; a second pass parses every prefix
 * of every input to hold the contract on truncated text too.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "addr.h"
#include "parse.h"
#include "util.h"

#define ALL	(SMTP_PARSE_SMTPUTF8_OK | SMTP_PARSE_BINARYMIME_OK | \
		 SMTP_PARSE_DSN_OK)
#define LAX	SMTP_PARSE_LENIENT

static char *
heap_copy(const char *s, size_t len)
{
	char *p = xmalloc(len);

	if (len > 0)
		memcpy(p, s, len);
	return p;
}

static size_t
case_len(const char *in, size_t len)
{
	return len != 0 ? len : strlen(in);
}

/* A failure: the reply is the expected one and fit to send as it is. */
static void
check_error(int rv, const struct smtp_error *e, int code, const char *status,
    const char *text, const char *in)
{
	cr_assert_eq(rv, -1, "'%s' parsed, expected %d %s", in, code, status);
	cr_assert_not_null(e, "'%s': no error", in);
	cr_assert_eq(e->code, code, "'%s': got %d %s %s, expected %d %s", in,
	    e->code, e->status, e->text, code, status);
	cr_assert_str_eq(e->status, status, "'%s': got %s %s", in, e->status,
	    e->text);
	cr_assert(e->status[0] == '0' + code / 100, "'%s': class mismatch", in);
	cr_assert(strlen(e->text) > 0 && strpbrk(e->text, "\r\n") == NULL);
	if (text != NULL)
		cr_assert_str_eq(e->text, text, "'%s'", in);
}

static void
check_ok(int rv, const struct smtp_error *e, const char *in)
{
	cr_assert_eq(rv, 0, "'%s' failed: %d %s %s", in, e ? e->code : 0,
	    e ? e->status : "", e ? e->text : "");
}

static bool
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* smtp_line_split */

struct split_case {
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	int		 code;		/* 0: must split */
	const char	*status;
	const char	*verb;
	const char	*args;
};

#define SOK(in, verb, args)	{ in, 0, 0, NULL, verb, args }
#define SERR(in, code, st)	{ in, 0, code, st, NULL, NULL }
#define SERRN(in, code, st)	{ in, sizeof(in) - 1, code, st, NULL, NULL }

static const struct split_case split_cases[] = {
	SOK("MAIL FROM:<a@example.com>", "MAIL", "FROM:<a@example.com>"),
	SOK("mail from:<a@example.com>", "mail", "from:<a@example.com>"),
	SOK("NOOP", "NOOP", ""),
	SOK("NOOP   ", "NOOP", ""),
	SOK("QUIT\t", "QUIT", ""),
	SOK("EHLO\tclient.example", "EHLO", "client.example"),
	SOK("EHLO  \t client.example \t ", "EHLO", "client.example"),
	SOK("RCPT TO:<a@b.example>  NOTIFY=NEVER", "RCPT",
	    "TO:<a@b.example>  NOTIFY=NEVER"),
	SOK("NOOP a\tb", "NOOP", "a\tb"),
	SOK("ABCDEFGHIJKLMNOP x", "ABCDEFGHIJKLMNOP", "x"),
	SOK("ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOP", ""),
	SOK("MAIL FROM:<j\xc3\xb6rg@example.com>", "MAIL",
	    "FROM:<j\xc3\xb6rg@example.com>"),
	SOK("X", "X", ""),
	SERR("ABCDEFGHIJKLMNOPQ x", 500, "5.5.2"),
	SERR("", 500, "5.5.2"),
	SERR(" NOOP", 500, "5.5.2"),
	SERR("\tNOOP", 500, "5.5.2"),
	SERR("MA1L FROM:<a@example.com>", 500, "5.5.2"),
	SERR("MAIL:FROM:<a@example.com>", 500, "5.5.2"),
	SERR("4NOOP", 500, "5.5.2"),
	SERR("M\xc3\xa4IL x", 500, "5.5.2"),
	SERR("\xc3\xa4", 500, "5.5.2"),
	SERRN("MAIL\0FROM:<a@example.com>", 500, "5.5.2"),
	SERRN("NOOP\0", 500, "5.5.2"),
	SERRN("\0", 500, "5.5.2"),
	SERR("MAIL FROM:<a@example.com>\r", 500, "5.5.2"),
	SERR("DATA\n", 500, "5.5.2"),
	SERR(".\rDATA", 500, "5.5.2"),
	SERR("NOOP \x7f", 500, "5.5.2"),
	SERR("NO\x1bOP", 500, "5.5.2"),
	SERR("NOOP \x01", 500, "5.5.2"),
};

static void
split_run(const struct split_case *c)
{
	size_t len = case_len(c->in, c->len);
	char *s = heap_copy(c->in, len);
	const struct smtp_error *e = NULL;
	struct smtp_line l;
	int rv;

	rv = smtp_line_split(s, len, &l, &e);
	if (c->code != 0) {
		check_error(rv, e, c->code, c->status, NULL, c->in);
		cr_assert(all_zero(&l, sizeof(l)));
	} else {
		check_ok(rv, e, c->in);
		cr_assert_eq(l.verb, s);
		cr_assert_eq(l.verb_len, strlen(c->verb), "'%s'", c->in);
		cr_assert(memcmp(l.verb, c->verb, l.verb_len) == 0);
		cr_assert_eq(l.args_len, strlen(c->args), "'%s': args %zu",
		    c->in, l.args_len);
		cr_assert(memcmp(l.args, c->args, l.args_len) == 0);
		cr_assert(l.args >= s && l.args + l.args_len <= s + len);
		cr_assert(smtp_verb_is(&l, c->verb));
	}
	free(s);
}

Test(smtpd_parse, split_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(split_cases); i++)
		split_run(&split_cases[i]);
}

Test(smtpd_parse, verb_is)
{
	const struct smtp_error *e = NULL;
	struct smtp_line l;

	cr_assert_eq(smtp_line_split("eHlO x", 6, &l, &e), 0);
	cr_assert(smtp_verb_is(&l, "EHLO"));
	cr_assert(smtp_verb_is(&l, "ehlo"));
	cr_assert(!smtp_verb_is(&l, "HELO"));
	cr_assert(!smtp_verb_is(&l, "EHL"));
	cr_assert(!smtp_verb_is(&l, "EHLOX"));
	cr_assert(!smtp_verb_is(&l, ""));
	memset(&l, 0, sizeof(l));
	cr_assert(!smtp_verb_is(&l, ""));
}

/* A line of len octets: verb, a space, then 'x' to fill. */
static void
split_long(const char *verb, size_t len, int want_ok)
{
	char *s = xmalloc(len);
	const struct smtp_error *e = NULL;
	struct smtp_line l;
	size_t vl = strlen(verb);
	int rv;

	memcpy(s, verb, vl);
	s[vl] = ' ';
	memset(s + vl + 1, 'x', len - vl - 1);
	rv = smtp_line_split(s, len, &l, &e);
	if (want_ok) {
		check_ok(rv, e, verb);
		cr_assert_eq(l.args_len, len - vl - 1);
	} else
		check_error(rv, e, 500, "5.5.2", "Line too long", verb);
	free(s);
}

Test(smtpd_parse, split_limits)
{
	split_long("NOOP", SMTP_LINE_MAX, 1);
	split_long("NOOP", SMTP_LINE_MAX + 1, 0);
	/* RFC 4954 4: the AUTH line may be longer */
	split_long("AUTH", SMTP_LINE_MAX + 1, 1);
	split_long("auth", SMTP_AUTH_LINE_MAX, 1);
	split_long("AUTH", SMTP_AUTH_LINE_MAX + 1, 0);
	split_long("AUTHX", SMTP_LINE_MAX + 1, 0);
}

/* ------------------------------------------------------------------ */
/* smtp_mail_parse */

struct mail_case {
	const char	*in;
	size_t		 len;
	unsigned	 opts;
	int		 code;
	const char	*status;
	const char	*text;
	const char	*from;		/* addr_format() of the sender */
	unsigned	 flags;		/* these address flags must be set */
	bool		 size_given;
	uint64_t	 size;
	enum smtp_body	 body;
	bool		 smtputf8;
	enum smtp_ret	 ret;
	const char	*envid;		/* NULL: not given */
	const char	*auth;		/* NULL: not given */
};

#define MOK(in_, opts_, from_, ...) \
	{ .in = in_, .opts = opts_, .from = from_, __VA_ARGS__ }
#define MERR(in_, opts_, code_, status_) \
	{ .in = in_, .opts = opts_, .code = code_, .status = status_ }
#define MERRT(in_, opts_, code_, status_, text_) \
	{ .in = in_, .opts = opts_, .code = code_, .status = status_, \
	  .text = text_ }

#define A	"FROM:<a@example.com> "
#define U20MAX	"18446744073709551615"

static const struct mail_case mail_cases[] = {
	/* the path */
	MOK("FROM:<a@example.com>", 0, "a@example.com"),
	MOK("from:<a@example.com>", 0, "a@example.com"),
	MOK("FrOm:<A@Example.COM>", 0, "A@example.com"),
	MOK("FROM:<>", 0, "", .flags = ADDR_F_NULL),
	MOK("FROM:<> SIZE=10", 0, "", .flags = ADDR_F_NULL,
	    .size_given = true, .size = 10),
	MOK("FROM: <a@example.com>", 0, "a@example.com"),
	MOK("FROM:\t <a@example.com>", 0, "a@example.com"),
	MOK("FROM:<@relay.example:a@example.com>", 0, "a@example.com",
	    .flags = ADDR_F_SOURCE_ROUTE),
	MOK("FROM:<@r1.example,@r2.example:a@example.com> SIZE=1", 0,
	    "a@example.com", .flags = ADDR_F_SOURCE_ROUTE,
	    .size_given = true, .size = 1),
	MOK("FROM:<a@[192.0.2.1]>", 0, "a@[192.0.2.1]",
	    .flags = ADDR_F_IP_LITERAL),
	MOK("FROM:a@example.com", LAX, "a@example.com",
	    .flags = ADDR_F_NO_BRACKETS),
	MOK("FROM: a@example.com SIZE=10", LAX, "a@example.com",
	    .flags = ADDR_F_NO_BRACKETS, .size_given = true, .size = 10),
	MOK("FROM:<a@example.com>", LAX, "a@example.com"),
	MERRT("FROM:a@example.com", 0, 553, "5.1.7",
	    "Bad sender address syntax"),
	MERRT("FROM :<a@example.com>", 0, 501, "5.5.4",
	    "Syntax: MAIL FROM:<address>"),
	MERR("<a@example.com>", 0, 501, "5.5.4"),
	MERR("FROM", 0, 501, "5.5.4"),
	MERR("FROM:", 0, 501, "5.5.4"),
	MERR("FROM: \t ", 0, 501, "5.5.4"),
	MERR("", 0, 501, "5.5.4"),
	MERR("FRO", 0, 501, "5.5.4"),
	MERR("TO:<a@example.com>", 0, 501, "5.5.4"),
	MERR("FROM:<a@example.com", 0, 553, "5.1.7"),
	MERR("FROM:<a@example.com>SIZE=1", 0, 553, "5.1.7"),
	MERR("FROM:<a@example.com>\tSIZE=1", 0, 553, "5.1.7"),
	MERR("FROM:<a@@example.com>", 0, 553, "5.1.7"),
	MERR("FROM:<a@example.com>>", 0, 553, "5.1.7"),
	MERR("FROM:<@relay.example a@example.com>", 0, 553, "5.1.7"),
	MERR("FROM:<postmaster>", 0, 553, "5.1.7"),
	MERR("FROM:<a@exa\xffmple.com> SMTPUTF8", ALL, 553, "5.1.7"),
	MERR("FROM:<j\xc3@example.com> SMTPUTF8", ALL, 553, "5.1.7"),
	/* SMTPUTF8 */
	MOK("FROM:<j\xc3\xb6rg@example.com> SMTPUTF8", ALL,
	    "j\xc3\xb6rg@example.com", .flags = ADDR_F_UTF8_LOCAL,
	    .smtputf8 = true),
	MOK("FROM:<a@b\xc3\xbc\x63her.example> smtputf8", ALL,
	    "a@b\xc3\xbc\x63her.example", .flags = ADDR_F_UTF8_DOMAIN,
	    .smtputf8 = true),
	MOK("FROM:<a@example.com> SMTPUTF8", SMTP_PARSE_SMTPUTF8_OK,
	    "a@example.com", .smtputf8 = true),
	MERRT("FROM:<j\xc3\xb6rg@example.com>", ALL, 553, "5.6.7",
	    "Non-ASCII addresses not permitted for that sender"),
	MERR("FROM:<j\xc3\xb6rg@example.com> BODY=8BITMIME", ALL, 553, "5.6.7"),
	MERRT("FROM:<j\xc3\xb6rg@example.com> SMTPUTF8", 0, 555, "5.5.4",
	    "Unsupported parameter SMTPUTF8"),
	MERR(A "SMTPUTF8=yes", ALL, 501, "5.5.4"),
	MERR(A "SMTPUTF8 SMTPUTF8", ALL, 501, "5.5.4"),
	/* SIZE (RFC 1870) */
	MOK(A "SIZE=0", 0, "a@example.com", .size_given = true, .size = 0),
	MOK(A "size=123", 0, "a@example.com", .size_given = true,
	    .size = 123),
	MOK(A "SIZE=" U20MAX, 0, "a@example.com", .size_given = true,
	    .size = UINT64_MAX),
	MOK(A "SIZE=00000000000000000001", 0, "a@example.com",
	    .size_given = true, .size = 1),
	MERRT(A "SIZE=18446744073709551616", 0, 552, "5.3.4",
	    "Message size exceeds fixed maximum message size"),
	MERR(A "SIZE=99999999999999999999", 0, 552, "5.3.4"),
	MERRT(A "SIZE=000000000000000000001", 0, 501, "5.5.4",
	    "Invalid SIZE value"),
	MERR(A "SIZE=123456789012345678901", 0, 501, "5.5.4"),
	MERRT(A "SIZE=", 0, 501, "5.5.4", "Syntax error in parameters"),
	MERR(A "SIZE", 0, 501, "5.5.4"),
	MERR(A "SIZE=-1", 0, 501, "5.5.4"),
	MERR(A "SIZE=+1", 0, 501, "5.5.4"),
	MERR(A "SIZE=1a", 0, 501, "5.5.4"),
	MERR(A "SIZE=0x10", 0, 501, "5.5.4"),
	MERR(A "SIZE==1", 0, 501, "5.5.4"),
	MERR(A "SIZE=1=2", 0, 501, "5.5.4"),
	MERR(A "SIZE=1\t", 0, 501, "5.5.4"),
	MERRT(A "SIZE=1 SIZE=2", 0, 501, "5.5.4", "Duplicate parameter"),
	MERR(A "SIZE=1 size=1", 0, 501, "5.5.4"),
	/* BODY (RFC 6152, RFC 3030) */
	MOK(A "BODY=8BITMIME", 0, "a@example.com",
	    .body = SMTP_BODY_8BITMIME),
	MOK(A "body=8bitmime", 0, "a@example.com",
	    .body = SMTP_BODY_8BITMIME),
	MOK(A "BODY=7bit", 0, "a@example.com", .body = SMTP_BODY_7BIT),
	MOK(A "BODY=BINARYMIME", SMTP_PARSE_BINARYMIME_OK, "a@example.com",
	    .body = SMTP_BODY_BINARYMIME),
	MERRT(A "BODY=BINARYMIME", SMTP_PARSE_DSN_OK, 555, "5.5.4",
	    "Unsupported parameter BODY=BINARYMIME"),
	MERRT(A "BODY=9BIT", 0, 501, "5.5.4", "Invalid BODY value"),
	MERR(A "BODY=8BITMIMEX", 0, 501, "5.5.4"),
	MERR(A "BODY=", 0, 501, "5.5.4"),
	MERR(A "BODY", 0, 501, "5.5.4"),
	MERR(A "BODY=7BIT BODY=8BITMIME", 0, 501, "5.5.4"),
	/* DSN: RET, ENVID (RFC 3461) */
	MOK(A "RET=FULL", ALL, "a@example.com", .ret = SMTP_RET_FULL),
	MOK(A "ret=hdrs", ALL, "a@example.com", .ret = SMTP_RET_HDRS),
	MERRT(A "RET=BOTH", ALL, 501, "5.5.4", "Invalid RET value"),
	MERRT(A "RET=FULL", 0, 555, "5.5.4", "Unsupported parameter RET"),
	MERR(A "RET=FULL RET=HDRS", ALL, 501, "5.5.4"),
	MOK(A "ENVID=QQ314159", ALL, "a@example.com", .envid = "QQ314159"),
	MOK(A "ENVID=a+2Bb+3Dc+20d", ALL, "a@example.com",
	    .envid = "a+b=c d"),
	MOK(A "envid=<id@x>", ALL, "a@example.com", .envid = "<id@x>"),
	MERRT(A "ENVID=a+2b", ALL, 501, "5.5.4", "Invalid ENVID value"),
	MERR(A "ENVID=a+2", ALL, 501, "5.5.4"),
	MERR(A "ENVID=a+", ALL, 501, "5.5.4"),
	MERR(A "ENVID=+00", ALL, 501, "5.5.4"),
	MERR(A "ENVID=+0D+0A", ALL, 501, "5.5.4"),
	MERR(A "ENVID=+7F", ALL, 501, "5.5.4"),
	MERR(A "ENVID=+C3+A4", ALL, 501, "5.5.4"),
	MERR(A "ENVID=\xc3\xa4", ALL, 501, "5.5.4"),
	MERR(A "ENVID=", ALL, 501, "5.5.4"),
	MERR(A "ENVID", ALL, 501, "5.5.4"),
	MERRT(A "ENVID=x", SMTP_PARSE_SMTPUTF8_OK, 555, "5.5.4",
	    "Unsupported parameter ENVID"),
	MERR(A "ENVID=x ENVID=x", ALL, 501, "5.5.4"),
	/* AUTH= (RFC 4954 5) */
	MOK(A "AUTH=<>", 0, "a@example.com", .auth = "<>"),
	MOK(A "AUTH=a+2Bb@example.com", 0, "a@example.com",
	    .auth = "a+b@example.com"),
	MERRT(A "AUTH=+0D+0A", 0, 501, "5.5.4", "Invalid AUTH value"),
	MERR(A "AUTH=a+", 0, 501, "5.5.4"),
	MERR(A "AUTH=", 0, 501, "5.5.4"),
	MERR(A "AUTH=<> AUTH=<>", 0, 501, "5.5.4"),
	/* unknown and malformed parameters */
	MERRT(A "FOO=bar", ALL, 555, "5.5.4", "Unsupported parameter"),
	MERR(A "X-FOO", ALL, 555, "5.5.4"),
	MERR(A "NOTIFY=NEVER", ALL, 555, "5.5.4"),
	MERR(A "SIZE=1 FOO", ALL, 555, "5.5.4"),
	MERR(A "-FOO", ALL, 501, "5.5.4"),
	MERR(A "F_O=1", ALL, 501, "5.5.4"),
	MERR(A "=1", ALL, 501, "5.5.4"),
	MERR(A "S\xc3\xa4ZE=1", ALL, 501, "5.5.4"),
	MERR(A "FOO=\x01", ALL, 501, "5.5.4"),
	/* all together, spacing tolerated between parameters */
	MOK("FROM:<a@example.com>   SIZE=1000   BODY=8BITMIME  RET=HDRS "
	    "ENVID=x+2By AUTH=<> SMTPUTF8  ", ALL, "a@example.com",
	    .size_given = true, .size = 1000, .body = SMTP_BODY_8BITMIME,
	    .ret = SMTP_RET_HDRS, .envid = "x+y", .auth = "<>",
	    .smtputf8 = true),
	{ .in = "FROM:<a@example.com>\0", .len = 21, .code = 553,
	  .status = "5.1.7" },
	{ .in = "FROM:<a@example.com> SIZE=1\0", .len = 28, .code = 501,
	  .status = "5.5.4" },
};

static void
mail_check(const struct mail_case *c, const struct smtp_mail *m)
{
	char text[ADDR_TEXT_MAX + 1];

	addr_format(&m->from, text, sizeof(text));
	cr_assert_str_eq(text, c->from, "'%s'", c->in);
	cr_assert_eq(m->from.flags & c->flags, c->flags, "'%s': flags %#x",
	    c->in, m->from.flags);
	cr_assert_eq(m->size_given, c->size_given, "'%s'", c->in);
	cr_assert_eq(m->size, c->size, "'%s'", c->in);
	cr_assert_eq(m->body, c->body, "'%s'", c->in);
	cr_assert_eq(m->smtputf8, c->smtputf8, "'%s'", c->in);
	cr_assert_eq(m->ret, c->ret, "'%s'", c->in);
	cr_assert_eq(m->envid_given, c->envid != NULL, "'%s'", c->in);
	cr_assert_str_eq(m->envid, c->envid ? c->envid : "", "'%s'", c->in);
	cr_assert_eq(m->auth_given, c->auth != NULL, "'%s'", c->in);
	cr_assert_str_eq(m->auth, c->auth ? c->auth : "", "'%s'", c->in);
}

static void
mail_run(const struct mail_case *c)
{
	size_t len = case_len(c->in, c->len);
	char *s = heap_copy(c->in, len);
	const struct smtp_error *e = NULL;
	struct smtp_mail *m = xmalloc(sizeof(*m));
	int rv;

	memset(m, 0xa5, sizeof(*m));
	rv = smtp_mail_parse(s, len, c->opts, m, &e);
	if (c->code != 0) {
		check_error(rv, e, c->code, c->status, c->text, c->in);
		cr_assert(all_zero(m, sizeof(*m)), "'%s': not cleared", c->in);
	} else {
		check_ok(rv, e, c->in);
		mail_check(c, m);
	}
	free(m);
	free(s);
}

Test(smtpd_parse, mail_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(mail_cases); i++)
		mail_run(&mail_cases[i]);
}

/* "FROM:<a@example.com> " then prefix, n fill octets, suffix. */
static char *
build(const char *head, const char *unit, size_t n, const char *tail,
    size_t *len_r)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = xmalloc(hl + ul * n + tl + 1);

	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + ul * n, tail, tl + 1);
	*len_r = hl + ul * n + tl;
	return s;
}

static int
mail_try(const char *s, size_t len, struct smtp_mail *m,
    const struct smtp_error **e)
{
	char *copy = heap_copy(s, len);
	int rv = smtp_mail_parse(copy, len, ALL, m, e);

	free(copy);
	return rv;
}

Test(smtpd_parse, mail_envid_limits)
{
	const struct smtp_error *e = NULL;
	struct smtp_mail m;
	size_t len;
	int rv;
	char *s;

	s = build(A "ENVID=", "x", SMTP_ENVID_MAX, "", &len);
	rv = mail_try(s, len, &m, &e);
	check_ok(rv, e, "envid 100");
	cr_assert_eq(strlen(m.envid), SMTP_ENVID_MAX);
	free(s);
	s = build(A "ENVID=", "x", SMTP_ENVID_MAX + 1, "", &len);
	rv = mail_try(s, len, &m, &e);
	check_error(rv, e, 501, "5.5.4", NULL,
	    "envid 101");
	free(s);
	/* the limit is on the decoded text: 100 "+2B" are 300 octets */
	s = build(A "ENVID=", "+2B", SMTP_ENVID_MAX, "", &len);
	rv = mail_try(s, len, &m, &e);
	check_ok(rv, e, "envid 100 encoded");
	cr_assert_eq(strlen(m.envid), SMTP_ENVID_MAX);
	cr_assert_eq(m.envid[99], '+');
	free(s);
	s = build(A "ENVID=", "+2B", SMTP_ENVID_MAX + 1, "", &len);
	rv = mail_try(s, len, &m, &e);
	check_error(rv, e, 501, "5.5.4", NULL,
	    "envid 101 encoded");
	free(s);
}

Test(smtpd_parse, mail_auth_param_limits)
{
	const struct smtp_error *e = NULL;
	struct smtp_mail m;
	size_t len;
	int rv;
	char *s;

	s = build(A "AUTH=", "a", SMTP_AUTH_PARAM_MAX, "", &len);
	rv = mail_try(s, len, &m, &e);
	check_ok(rv, e, "auth max");
	cr_assert_eq(strlen(m.auth), SMTP_AUTH_PARAM_MAX);
	free(s);
	s = build(A "AUTH=", "a", SMTP_AUTH_PARAM_MAX + 1, "", &len);
	rv = mail_try(s, len, &m, &e);
	check_error(rv, e, 501, "5.5.4",
	    "Invalid AUTH value", "auth max + 1");
	free(s);
}

/* ------------------------------------------------------------------ */
/* smtp_rcpt_parse */

struct rcpt_case {
	const char	*in;
	size_t		 len;
	unsigned	 opts;
	bool		 utf8;		/* smtputf8_txn */
	int		 code;
	const char	*status;
	const char	*text;
	const char	*to;
	unsigned	 flags;
	unsigned	 notify;
	const char	*orcpt_type;	/* NULL: not given */
	const char	*orcpt;
};

#define ROK(in_, opts_, to_, ...) \
	{ .in = in_, .opts = opts_, .to = to_, __VA_ARGS__ }
#define RERR(in_, opts_, code_, status_) \
	{ .in = in_, .opts = opts_, .code = code_, .status = status_ }
#define RERRT(in_, opts_, code_, status_, text_) \
	{ .in = in_, .opts = opts_, .code = code_, .status = status_, \
	  .text = text_ }

#define R	"TO:<b@example.com> "
#define NS	SMTP_NOTIFY_SUCCESS
#define NF	SMTP_NOTIFY_FAILURE
#define ND	SMTP_NOTIFY_DELAY

static const struct rcpt_case rcpt_cases[] = {
	/* the path */
	ROK("TO:<b@example.com>", 0, "b@example.com"),
	ROK("to:<B@EXAMPLE.com>", 0, "B@example.com"),
	ROK("TO: <b@example.com>", 0, "b@example.com"),
	ROK("TO:<Postmaster>", 0, "postmaster",
	    .flags = ADDR_F_POSTMASTER_BARE),
	ROK("TO:<postmaster> NOTIFY=NEVER", ALL, "postmaster",
	    .flags = ADDR_F_POSTMASTER_BARE, .notify = SMTP_NOTIFY_NEVER),
	ROK("TO:<@a.example,@b.example:c@d.example>", 0, "c@d.example",
	    .flags = ADDR_F_SOURCE_ROUTE),
	ROK("TO:b@example.com", LAX, "b@example.com",
	    .flags = ADDR_F_NO_BRACKETS),
	RERRT("TO:b@example.com", 0, 501, "5.1.3",
	    "Bad recipient address syntax"),
	RERR("TO:<>", 0, 501, "5.1.3"),
	RERR("TO:<> NOTIFY=NEVER", ALL, 501, "5.1.3"),
	RERR("TO:<b@example.com", 0, 501, "5.1.3"),
	RERR("TO:<b@example.com>x", 0, 501, "5.1.3"),
	RERR("TO:<@a.example:>", 0, 501, "5.1.3"),
	RERRT("TO:", 0, 501, "5.5.4", "Syntax: RCPT TO:<address>"),
	RERR("TO", 0, 501, "5.5.4"),
	RERR("", 0, 501, "5.5.4"),
	RERR("TO :<b@example.com>", 0, 501, "5.5.4"),
	RERR("FROM:<b@example.com>", 0, 501, "5.5.4"),
	/* UTF-8 needs SMTPUTF8 on the transaction's MAIL */
	{ .in = "TO:<j\xc3\xb6rg@example.com>", .utf8 = true,
	  .to = "j\xc3\xb6rg@example.com", .flags = ADDR_F_UTF8_LOCAL },
	RERRT("TO:<j\xc3\xb6rg@example.com>", ALL, 553, "5.6.7",
	    "Non-ASCII addresses not permitted for that recipient"),
	{ .in = "TO:<j\xc3@example.com>", .utf8 = true, .code = 501,
	  .status = "5.1.3" },
	/* NOTIFY */
	ROK(R "NOTIFY=NEVER", ALL, "b@example.com",
	    .notify = SMTP_NOTIFY_NEVER),
	ROK(R "notify=success,failure", ALL, "b@example.com",
	    .notify = NS | NF),
	ROK(R "NOTIFY=DELAY,SUCCESS,FAILURE", ALL, "b@example.com",
	    .notify = NS | NF | ND),
	ROK(R "NOTIFY=Delay", ALL, "b@example.com", .notify = ND),
	RERRT(R "NOTIFY=NEVER,SUCCESS", ALL, 501, "5.5.4",
	    "Invalid NOTIFY value"),
	RERR(R "NOTIFY=FAILURE,NEVER", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY=NEVER,NEVER", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY=SUCCESS,SUCCESS", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY=SUCCESS,", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY=,SUCCESS", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY=SUCCESS,,DELAY", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY=,", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY=", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY=BOGUS", ALL, 501, "5.5.4"),
	RERR(R "NOTIFY=SUCCESSFAILURE", ALL, 501, "5.5.4"),
	RERRT(R "NOTIFY=NEVER NOTIFY=NEVER", ALL, 501, "5.5.4",
	    "Duplicate parameter"),
	RERRT(R "NOTIFY=NEVER", 0, 555, "5.5.4",
	    "Unsupported parameter NOTIFY"),
	/* ORCPT, rfc822 and other types: xtext */
	ROK(R "ORCPT=rfc822;b@example.com", ALL, "b@example.com",
	    .orcpt_type = "rfc822", .orcpt = "b@example.com"),
	ROK(R "ORCPT=RFC822;b+2Bx@example.com", ALL, "b@example.com",
	    .orcpt_type = "rfc822", .orcpt = "b+x@example.com"),
	ROK(R "ORCPT=x-Other;a+20b", ALL, "b@example.com",
	    .orcpt_type = "x-other", .orcpt = "a b"),
	ROK(R "ORCPT=rfc822;a;b", ALL, "b@example.com",
	    .orcpt_type = "rfc822", .orcpt = "a;b"),
	ROK(R "NOTIFY=SUCCESS ORCPT=rfc822;b@example.com", ALL,
	    "b@example.com", .notify = NS, .orcpt_type = "rfc822",
	    .orcpt = "b@example.com"),
	RERRT(R "ORCPT=rfc822", ALL, 501, "5.5.4", "Invalid ORCPT value"),
	RERR(R "ORCPT=rfc822;", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=;b@example.com", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=r@c;b@example.com", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=r\xc3\xa4;b@example.com", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=rfc822;b+zz@example.com", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=rfc822;b+2b@example.com", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=rfc822;b+0A@example.com", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=rfc822;j\xc3\xb6rg@example.com", ALL, 501, "5.5.4"),
	RERR(R "ORCPT", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=rfc822;a ORCPT=rfc822;b", ALL, 501, "5.5.4"),
	RERRT(R "ORCPT=rfc822;a", SMTP_PARSE_SMTPUTF8_OK, 555, "5.5.4",
	    "Unsupported parameter ORCPT"),
	/* ORCPT=utf-8 (RFC 6533) */
	ROK(R "ORCPT=utf-8;j\\x{F6}rg@example.com", ALL, "b@example.com",
	    .orcpt_type = "utf-8", .orcpt = "j\xc3\xb6rg@example.com"),
	ROK(R "ORCPT=UTF-8;a\\x{5C}b\\x{5c}", ALL, "b@example.com",
	    .orcpt_type = "utf-8", .orcpt = "a\\b\\"),
	ROK(R "ORCPT=utf-8;\\x{A0}\\x{20AC}\\x{1F600}\\x{10FFFF}", ALL,
	    "b@example.com", .orcpt_type = "utf-8",
	    .orcpt = "\xc2\xa0\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"),
	ROK(R "ORCPT=utf-8;a+2Bb", ALL, "b@example.com",
	    .orcpt_type = "utf-8", .orcpt = "a+b"),
	{ .in = R "ORCPT=utf-8;j\xc3\xb6rg@example.com", .opts = ALL,
	  .utf8 = true, .to = "b@example.com", .orcpt_type = "utf-8",
	  .orcpt = "j\xc3\xb6rg@example.com" },
	RERR(R "ORCPT=utf-8;j\xc3\xb6rg@example.com", ALL, 501, "5.5.4"),
	{ .in = R "ORCPT=utf-8;j\xc3rg@example.com", .opts = ALL,
	  .utf8 = true, .code = 501, .status = "5.5.4" },
	{ .in = R "ORCPT=utf-8;\xf0\x9f\x98\x80\xe2\x82\xac", .opts = ALL,
	  .utf8 = true, .to = "b@example.com", .orcpt_type = "utf-8",
	  .orcpt = "\xf0\x9f\x98\x80\xe2\x82\xac" },
	{ .in = R "ORCPT=utf-8;a\xff", .opts = ALL, .utf8 = true,
	  .code = 501, .status = "5.5.4" },
	{ .in = R "ORCPT=utf-8;\x80" "a", .opts = ALL, .utf8 = true,
	  .code = 501, .status = "5.5.4" },
	{ .in = R "ORCPT=utf-8;\xf4\x90\x80\x80", .opts = ALL, .utf8 = true,
	  .code = 501, .status = "5.5.4" },
	{ .in = R "ORCPT=utf-8;\xe0\x80\xaf", .opts = ALL, .utf8 = true,
	  .code = 501, .status = "5.5.4" },
	{ .in = R "ORCPT=utf-8;\xc2\x85", .opts = ALL, .utf8 = true,
	  .code = 501, .status = "5.5.4" },
	{ .in = R "ORCPT=utf-8;\xed\xa0\x80", .opts = ALL, .utf8 = true,
	  .code = 501, .status = "5.5.4" },
	RERR(R "ORCPT=utf-8;\\x{41}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\x{0F6}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\x{85}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\x{D800}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\x{110000}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\x{1000000}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\x{F6", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\x{}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\x{F}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\x{G6}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\X{F6}", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;\\y", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;a\\", ALL, 501, "5.5.4"),
	RERR(R "ORCPT=utf-8;a+0A", ALL, 501, "5.5.4"),
	/* unknown parameters */
	RERRT(R "SIZE=1", ALL, 555, "5.5.4", "Unsupported parameter"),
	RERR(R "SMTPUTF8", ALL, 555, "5.5.4"),
	RERR(R "NOTIFY=NEVER X", ALL, 555, "5.5.4"),
	RERR(R "X=", ALL, 501, "5.5.4"),
};

static void
rcpt_check(const struct rcpt_case *c, const struct smtp_rcpt *r)
{
	char text[ADDR_TEXT_MAX + 1];

	addr_format(&r->to, text, sizeof(text));
	cr_assert_str_eq(text, c->to, "'%s'", c->in);
	cr_assert_eq(r->to.flags & c->flags, c->flags, "'%s'", c->in);
	cr_assert_eq(r->notify, c->notify, "'%s': notify %#x", c->in,
	    r->notify);
	cr_assert_eq(r->orcpt_given, c->orcpt_type != NULL, "'%s'", c->in);
	cr_assert_str_eq(r->orcpt_type, c->orcpt_type ? c->orcpt_type : "",
	    "'%s'", c->in);
	cr_assert_str_eq(r->orcpt, c->orcpt ? c->orcpt : "", "'%s'", c->in);
}

static void
rcpt_run(const struct rcpt_case *c)
{
	size_t len = case_len(c->in, c->len);
	char *s = heap_copy(c->in, len);
	const struct smtp_error *e = NULL;
	struct smtp_rcpt *r = xmalloc(sizeof(*r));
	int rv;

	memset(r, 0xa5, sizeof(*r));
	rv = smtp_rcpt_parse(s, len, c->opts, c->utf8, r, &e);
	if (c->code != 0) {
		check_error(rv, e, c->code, c->status, c->text, c->in);
		cr_assert(all_zero(r, sizeof(*r)), "'%s': not cleared", c->in);
	} else {
		check_ok(rv, e, c->in);
		rcpt_check(c, r);
	}
	free(r);
	free(s);
}

Test(smtpd_parse, rcpt_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(rcpt_cases); i++)
		rcpt_run(&rcpt_cases[i]);
}

static int
rcpt_try(const char *s, size_t len, bool utf8, struct smtp_rcpt *r,
    const struct smtp_error **e)
{
	char *copy = heap_copy(s, len);
	int rv = smtp_rcpt_parse(copy, len, ALL, utf8, r, e);

	free(copy);
	return rv;
}

Test(smtpd_parse, rcpt_orcpt_limits)
{
	const struct smtp_error *e = NULL;
	struct smtp_rcpt r;
	size_t len;
	int rv;
	char *s;

	s = build(R "ORCPT=", "t", SMTP_ORCPT_TYPE_MAX, ";a", &len);
	rv = rcpt_try(s, len, false, &r, &e);
	check_ok(rv, e, "type 32");
	cr_assert_eq(strlen(r.orcpt_type), SMTP_ORCPT_TYPE_MAX);
	free(s);
	s = build(R "ORCPT=", "t", SMTP_ORCPT_TYPE_MAX + 1, ";a", &len);
	rv = rcpt_try(s, len, false, &r, &e);
	check_error(rv, e, 501, "5.5.4", NULL,
	    "type 33");
	free(s);
	s = build(R "ORCPT=rfc822;", "a", SMTP_ORCPT_MAX, "", &len);
	rv = rcpt_try(s, len, false, &r, &e);
	check_ok(rv, e, "orcpt 500");
	cr_assert_eq(strlen(r.orcpt), SMTP_ORCPT_MAX);
	free(s);
	s = build(R "ORCPT=rfc822;", "a", SMTP_ORCPT_MAX + 1, "", &len);
	rv = rcpt_try(s, len, false, &r, &e);
	check_error(rv, e, 501, "5.5.4", NULL,
	    "orcpt 501");
	free(s);
	/* utf-8: 250 two-octet characters fill it, one more octet does not */
	s = build(R "ORCPT=utf-8;", "\\x{E9}", SMTP_ORCPT_MAX / 2, "", &len);
	rv = rcpt_try(s, len, false, &r, &e);
	check_ok(rv, e, "utf-8 500");
	cr_assert_eq(strlen(r.orcpt), SMTP_ORCPT_MAX);
	free(s);
	s = build(R "ORCPT=utf-8;", "\\x{E9}", SMTP_ORCPT_MAX / 2, "a", &len);
	rv = rcpt_try(s, len, false, &r, &e);
	check_error(rv, e, 501, "5.5.4", NULL,
	    "utf-8 501");
	free(s);
	/* a character that would straddle the limit is refused whole */
	s = build(R "ORCPT=utf-8;a", "\\x{E9}", SMTP_ORCPT_MAX / 2, "", &len);
	rv = rcpt_try(s, len, false, &r, &e);
	check_error(rv, e, 501, "5.5.4", NULL,
	    "utf-8 straddle");
	free(s);
	s = build(R "ORCPT=utf-8;", "\xc3\xa9", SMTP_ORCPT_MAX / 2, "", &len);
	rv = rcpt_try(s, len, true, &r, &e);
	check_ok(rv, e, "unitext 500");
	cr_assert_eq(strlen(r.orcpt), SMTP_ORCPT_MAX);
	free(s);
}

/* ------------------------------------------------------------------ */
/* smtp_bdat_parse */

struct bdat_case {
	const char	*in;
	int		 code;
	const char	*status;
	uint64_t	 size;
	bool		 last;
};

static const struct bdat_case bdat_cases[] = {
	{ "0", 0, NULL, 0, false },
	{ "0 LAST", 0, NULL, 0, true },
	{ "100 last", 0, NULL, 100, true },
	{ "100\tLast", 0, NULL, 100, true },
	{ "100  LAST  ", 0, NULL, 100, true },
	{ "100 ", 0, NULL, 100, false },
	{ "0005", 0, NULL, 5, false },
	{ U20MAX " LAST", 0, NULL, UINT64_MAX, true },
	{ "18446744073709551616", 552, "5.3.4", 0, false },
	{ "123456789012345678901", 501, "5.5.4", 0, false },
	{ "000000000000000000001", 501, "5.5.4", 0, false },
	{ "", 501, "5.5.4", 0, false },
	{ "LAST", 501, "5.5.4", 0, false },
	{ "1 LAST x", 501, "5.5.4", 0, false },
	{ "1 LASTX", 501, "5.5.4", 0, false },
	{ "1 LAS", 501, "5.5.4", 0, false },
	{ "1 FIRST", 501, "5.5.4", 0, false },
	{ "-1", 501, "5.5.4", 0, false },
	{ "+1", 501, "5.5.4", 0, false },
	{ "1x", 501, "5.5.4", 0, false },
	{ "1,5", 501, "5.5.4", 0, false },
	{ " 1", 501, "5.5.4", 0, false },
	{ "1 2", 501, "5.5.4", 0, false },
};

Test(smtpd_parse, bdat_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(bdat_cases); i++) {
		const struct bdat_case *c = &bdat_cases[i];
		size_t len = strlen(c->in);
		char *s = heap_copy(c->in, len);
		const struct smtp_error *e = NULL;
		uint64_t size = 77;
		bool last = true;
		int rv;

		rv = smtp_bdat_parse(s, len, &size, &last, &e);
		if (c->code != 0)
			check_error(rv, e, c->code, c->status, NULL, c->in);
		else
			check_ok(rv, e, c->in);
		cr_assert_eq(size, c->size, "'%s'", c->in);
		cr_assert_eq(last, c->last, "'%s'", c->in);
		free(s);
	}
}

/* ------------------------------------------------------------------ */
/* smtp_helo_parse */

struct helo_case {
	const char	*in;
	int		 strict;	/* expected code, 0: accepted */
	int		 lenient;
};

static const struct helo_case helo_cases[] = {
	{ "client.example", 0, 0 },
	{ "CLIENT.Example.", 0, 0 },
	{ "localhost", 0, 0 },
	{ "xn--bcher-kva.example", 0, 0 },
	{ "[192.0.2.1]", 0, 0 },
	{ "[IPv6:2001:db8::1]", 0, 0 },
	{ "[ipv6:::1]", 0, 0 },
	{ "my_pc", 501, 0 },
	{ "192.0.2.1", 501, 0 },
	{ "[300.1.1.1]", 501, 0 },
	{ "[192.0.2.1", 501, 0 },
	{ "[192.0.2.1].", 501, 0 },
	{ "[192.0.2.1]@x", 501, 0 },
	{ "[x400:c=gb]", 501, 0 },
	{ "client.example..", 501, 0 },
	{ "-bad.example", 501, 0 },
	{ ".", 501, 0 },
	{ "a@b", 501, 0 },
	{ "", 501, 501 },
	{ "foo bar", 501, 501 },
	{ "a\tb", 501, 501 },
	{ "h\xc3\xb6st.example", 501, 501 },
	{ "host\x7f", 501, 501 },
};

static void
helo_one(const char *in, size_t len, unsigned opts, int code)
{
	char *s = heap_copy(in, len);
	const struct smtp_error *e = NULL;
	int rv = smtp_helo_parse(s, len, opts, &e);

	if (code == 0)
		check_ok(rv, e, in);
	else
		check_error(rv, e, code, "5.5.4",
		    len == 0 ? "Syntax: EHLO hostname" : "Invalid hostname", in);
	free(s);
}

Test(smtpd_parse, helo_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(helo_cases); i++) {
		const struct helo_case *c = &helo_cases[i];

		helo_one(c->in, strlen(c->in), 0, c->strict);
		helo_one(c->in, strlen(c->in), LAX, c->lenient);
	}
}

Test(smtpd_parse, helo_limits)
{
	char name[ADDR_DOMAIN_MAX + 2];
	size_t i;

	/* 63 + 1 + 63 + 1 + 63 + 1 + 63 = 255 */
	for (i = 0; i < sizeof(name) - 1; i++)
		name[i] = (i + 1) % 64 == 0 ? '.' : 'a';
	name[sizeof(name) - 1] = '\0';
	helo_one(name, ADDR_DOMAIN_MAX, 0, 0);
	/* one past: a 256th octet (a trailing dot is still 256 written) */
	name[ADDR_DOMAIN_MAX] = '.';
	helo_one(name, ADDR_DOMAIN_MAX + 1, 0, 501);
	memset(name, 'x', sizeof(name));
	helo_one(name, ADDR_DOMAIN_MAX, LAX, 0);
	helo_one(name, ADDR_DOMAIN_MAX + 1, LAX, 501);
}

/* ------------------------------------------------------------------ */
/* smtp_auth_parse */

struct auth_case {
	const char	*in;
	int		 code;
	const char	*status;
	const char	*mech;
	const char	*initial;	/* NULL: none given */
};

static const struct auth_case auth_cases[] = {
	{ "PLAIN", 0, NULL, "PLAIN", NULL },
	{ "plain", 0, NULL, "plain", NULL },
	{ "PLAIN =", 0, NULL, "PLAIN", "" },
	{ "PLAIN AGFsaWNlAHNlY3JldA==", 0, NULL, "PLAIN",
	  "AGFsaWNlAHNlY3JldA==" },
	{ "LOGIN dXNlcg==", 0, NULL, "LOGIN", "dXNlcg==" },
	{ "LOGIN\tdXNlcjE=  ", 0, NULL, "LOGIN", "dXNlcjE=" },
	{ "XOAUTH2 ab+/", 0, NULL, "XOAUTH2", "ab+/" },
	{ "SCRAM-SHA-256", 0, NULL, "SCRAM-SHA-256", NULL },
	{ "X_MECH-1", 0, NULL, "X_MECH-1", NULL },
	{ "ABCDEFGHIJKLMNOPQRST", 0, NULL, "ABCDEFGHIJKLMNOPQRST", NULL },
	{ "ABCDEFGHIJKLMNOPQRSTU", 501, "5.5.4", NULL, NULL },
	{ "", 501, "5.5.4", NULL, NULL },
	{ " PLAIN", 501, "5.5.4", NULL, NULL },
	{ "PL@IN", 501, "5.5.4", NULL, NULL },
	{ "PL\xc3\x84IN", 501, "5.5.4", NULL, NULL },
	{ "PLAIN AAAA BBBB", 501, "5.5.4", NULL, NULL },
	{ "PLAIN = =", 501, "5.5.4", NULL, NULL },
	{ "PLAIN abc", 501, "5.5.2", NULL, NULL },
	{ "PLAIN ab=c", 501, "5.5.2", NULL, NULL },
	{ "PLAIN a===", 501, "5.5.2", NULL, NULL },
	{ "PLAIN ====", 501, "5.5.2", NULL, NULL },
	{ "PLAIN ==", 501, "5.5.2", NULL, NULL },
	{ "PLAIN ab-_", 501, "5.5.2", NULL, NULL },
	{ "PLAIN \xc3\xa4\xc3\xa4", 501, "5.5.2", NULL, NULL },
	{ "PLAIN *", 501, "5.5.2", NULL, NULL },
};

Test(smtpd_parse, auth_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(auth_cases); i++) {
		const struct auth_case *c = &auth_cases[i];
		size_t len = strlen(c->in);
		char *s = heap_copy(c->in, len);
		const struct smtp_error *e = NULL;
		struct smtp_auth_cmd a;
		int rv;

		rv = smtp_auth_parse(s, len, &a, &e);
		if (c->code != 0) {
			check_error(rv, e, c->code, c->status, NULL, c->in);
			cr_assert(all_zero(&a, sizeof(a)));
			free(s);
			continue;
		}
		check_ok(rv, e, c->in);
		cr_assert_eq(a.mech_len, strlen(c->mech));
		cr_assert(memcmp(a.mech, c->mech, a.mech_len) == 0);
		cr_assert(smtp_auth_mech_is(&a, c->mech));
		cr_assert_eq(a.initial_given, c->initial != NULL, "'%s'", c->in);
		if (c->initial != NULL) {
			cr_assert_eq(a.initial_len, strlen(c->initial));
			cr_assert(memcmp(a.initial, c->initial,
			    a.initial_len) == 0);
		}
		free(s);
	}
}

Test(smtpd_parse, auth_mech_is)
{
	const struct smtp_error *e = NULL;
	struct smtp_auth_cmd a;

	cr_assert_eq(smtp_auth_parse("login", 5, &a, &e), 0);
	cr_assert(smtp_auth_mech_is(&a, "LOGIN"));
	cr_assert(!smtp_auth_mech_is(&a, "PLAIN"));
	cr_assert(!smtp_auth_mech_is(&a, "LOGI"));
	memset(&a, 0, sizeof(a));
	cr_assert(!smtp_auth_mech_is(&a, ""));
}

Test(smtpd_parse, auth_long_response)
{
	const struct smtp_error *e = NULL;
	struct smtp_auth_cmd a;
	size_t len;
	int rv;
	char *s;

	/* nearly the longest AUTH line: "AUTH XOAUTH2 " and 12272 octets */
	s = build("XOAUTH2 ", "A", (SMTP_AUTH_LINE_MAX - 13) / 4 * 4, "",
	    &len);
	rv = smtp_auth_parse(s, len, &a, &e);
	check_ok(rv, e, "long response");
	cr_assert_eq(a.initial_len, len - 8);
	cr_assert_eq(a.initial_len, 12272);
	free(s);
	s = build("XOAUTH2 ", "A", SMTP_AUTH_LINE_MAX, "", &len);
	rv = smtp_auth_parse(s, len, &a, &e);
	check_error(rv, e, 500, "5.5.2", NULL,
	    "too long");
	free(s);
}

/* ------------------------------------------------------------------ */
/* formatters */

Test(smtpd_parse, notify_format)
{
	static const struct {
		unsigned	 bits;
		const char	*text;
	} cases[] = {
		{ 0, "" },
		{ SMTP_NOTIFY_NEVER, "NEVER" },
		{ NS, "SUCCESS" },
		{ NF, "FAILURE" },
		{ ND, "DELAY" },
		{ NS | NF, "SUCCESS,FAILURE" },
		{ NF | ND, "FAILURE,DELAY" },
		{ NS | NF | ND, "SUCCESS,FAILURE,DELAY" },
	};
	char out[SMTP_NOTIFY_TEXT_MAX + 1];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = smtp_notify_format(cases[i].bits, out, sizeof(out));

		cr_assert_eq(n, strlen(cases[i].text));
		cr_assert_str_eq(out, cases[i].text);
	}
	cr_assert_eq(smtp_notify_format(NS | NF | ND, out, 8), 21);
	cr_assert_str_eq(out, "SUCCESS");
	cr_assert_eq(smtp_notify_format(NS, NULL, 0), 7);
	out[0] = 'x';
	cr_assert_eq(smtp_notify_format(NS, out, 1), 7);
	cr_assert_eq(out[0], '\0');
}

/* What RCPT parses, smtp_notify_format() writes and RCPT parses again. */
Test(smtpd_parse, notify_round_trip)
{
	for (unsigned bits = 1; bits < 16; bits++) {
		char text[64], line[128];
		const struct smtp_error *e = NULL;
		struct smtp_rcpt r;
		int rv, n;

		smtp_notify_format(bits, text, sizeof(text));
		n = snprintf(line, sizeof(line), R "NOTIFY=%s", text);
		rv = smtp_rcpt_parse(line, (size_t)n, ALL, false, &r, &e);
		if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER) {
			/* formatted as NEVER alone: parses back as NEVER */
			check_ok(rv, e, line);
			cr_assert_eq(r.notify, SMTP_NOTIFY_NEVER);
		} else {
			check_ok(rv, e, line);
			cr_assert_eq(r.notify, bits);
		}
	}
}

Test(smtpd_parse, xtext_encode)
{
	char out[64];
	size_t n;

	n = smtp_xtext_encode("a+b=c d\x01\xff~!", 11, out, sizeof(out));
	cr_assert_str_eq(out, "a+2Bb+3Dc+20d+01+FF~!");
	cr_assert_eq(n, strlen(out));
	cr_assert_eq(smtp_xtext_encode("", 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(smtp_xtext_encode("++", 2, NULL, 0), 6);
	/* truncation never splits the NUL off, and reports the full size */
	cr_assert_eq(smtp_xtext_encode("a+b", 3, out, 3), 5);
	cr_assert_str_eq(out, "a+");
}

/* Every printable octet string survives encode then ENVID decode. */
Test(smtpd_parse, xtext_round_trip)
{
	char raw[96], enc[3 * sizeof(raw) + 1], line[512];
	const struct smtp_error *e = NULL;
	struct smtp_mail m;
	size_t n;
	int len;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (char)(0x20 + i % 95);
	n = smtp_xtext_encode(raw, sizeof(raw) - 1, enc, sizeof(enc));
	cr_assert_lt(n, sizeof(enc));
	len = snprintf(line, sizeof(line), A "ENVID=%s", enc);
	cr_assert_lt((size_t)len, sizeof(line));
	check_ok(smtp_mail_parse(line, (size_t)len, ALL, &m, &e), e, line);
	cr_assert_eq(strlen(m.envid), sizeof(raw) - 1);
	cr_assert(memcmp(m.envid, raw, sizeof(raw) - 1) == 0);
}

Test(smtpd_parse, names)
{
	cr_assert_str_eq(smtp_body_name(SMTP_BODY_NONE), "7BIT");
	cr_assert_str_eq(smtp_body_name(SMTP_BODY_7BIT), "7BIT");
	cr_assert_str_eq(smtp_body_name(SMTP_BODY_8BITMIME), "8BITMIME");
	cr_assert_str_eq(smtp_body_name(SMTP_BODY_BINARYMIME), "BINARYMIME");
	cr_assert_null(smtp_ret_name(SMTP_RET_NONE));
	cr_assert_str_eq(smtp_ret_name(SMTP_RET_FULL), "FULL");
	cr_assert_str_eq(smtp_ret_name(SMTP_RET_HDRS), "HDRS");
}

/* ------------------------------------------------------------------ */
/* Every prefix of every input: the contract holds, nothing over-reads. */

/* rv is 0 or -1, an error iff -1, and then obj (if any) is cleared. */
static void
contract(int rv, const struct smtp_error *e, const void *obj, size_t size)
{
	cr_assert(rv == 0 || rv == -1);
	cr_assert((rv == -1) == (e != NULL));
	if (rv == 0)
		return;
	cr_assert(e->code >= 500 && e->code < 600 && e->status != NULL &&
	    e->text != NULL);
	if (obj != NULL)
		cr_assert(all_zero(obj, size));
}

static void
prefix_contract(const char *in, size_t full)
{
	for (size_t k = 0; k <= full; k++) {
		char *s = heap_copy(in, k);
		const struct smtp_error *e = NULL;
		struct smtp_line l;
		struct smtp_mail m;
		struct smtp_rcpt r;
		struct smtp_auth_cmd a;
		uint64_t size;
		bool last;
		int rv;

		rv = smtp_line_split(s, k, &l, &e);
		contract(rv, e, &l, sizeof(l));
		e = NULL;
		rv = smtp_mail_parse(s, k, ALL, &m, &e);
		contract(rv, e, &m, sizeof(m));
		e = NULL;
		rv = smtp_mail_parse(s, k, LAX, &m, &e);
		contract(rv, e, &m, sizeof(m));
		e = NULL;
		rv = smtp_rcpt_parse(s, k, ALL, true, &r, &e);
		contract(rv, e, &r, sizeof(r));
		e = NULL;
		rv = smtp_rcpt_parse(s, k, LAX, false, &r, &e);
		contract(rv, e, &r, sizeof(r));
		e = NULL;
		rv = smtp_bdat_parse(s, k, &size, &last, &e);
		contract(rv, e, NULL, 0);
		cr_assert(rv == 0 || (size == 0 && !last));
		e = NULL;
		rv = smtp_helo_parse(s, k, 0, &e);
		contract(rv, e, NULL, 0);
		e = NULL;
		rv = smtp_helo_parse(s, k, LAX, &e);
		contract(rv, e, NULL, 0);
		e = NULL;
		rv = smtp_auth_parse(s, k, &a, &e);
		contract(rv, e, &a, sizeof(a));
		free(s);
	}
}

Test(smtpd_parse, every_prefix)
{
	for (size_t i = 0; i < ARRAY_SIZE(split_cases); i++)
		prefix_contract(split_cases[i].in,
		    case_len(split_cases[i].in, split_cases[i].len));
	for (size_t i = 0; i < ARRAY_SIZE(mail_cases); i++)
		prefix_contract(mail_cases[i].in,
		    case_len(mail_cases[i].in, mail_cases[i].len));
	for (size_t i = 0; i < ARRAY_SIZE(rcpt_cases); i++)
		prefix_contract(rcpt_cases[i].in,
		    case_len(rcpt_cases[i].in, rcpt_cases[i].len));
	for (size_t i = 0; i < ARRAY_SIZE(bdat_cases); i++)
		prefix_contract(bdat_cases[i].in, strlen(bdat_cases[i].in));
	for (size_t i = 0; i < ARRAY_SIZE(helo_cases); i++)
		prefix_contract(helo_cases[i].in, strlen(helo_cases[i].in));
	for (size_t i = 0; i < ARRAY_SIZE(auth_cases); i++)
		prefix_contract(auth_cases[i].in, strlen(auth_cases[i].in));
}
