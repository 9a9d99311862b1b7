/*
 * Unit tests for the SMTP client's reply parser and EHLO capability
 * parser: table-driven, each case run whole and again one byte at a time.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "buf.h"
#include "reply.h"
#include "util.h"

enum want { W_REPLY, W_ERROR, W_MORE };

struct reply_case {
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	enum want	 want;
	int		 code;
	const char	*status;
	size_t		 nlines;
	const char	*joined;	/* or the error's start */
	size_t		 consumed;	/* 0: all of it */
};

static const struct reply_case cases[] = {
	{ "250 OK\r\n", 0, W_REPLY, 250, "", 1, "OK", 0 },
	{ "250 2.1.0 Ok\r\n", 0, W_REPLY, 250, "2.1.0", 1, "Ok", 0 },
	{ "250 2.0.0\r\n", 0, W_REPLY, 250, "2.0.0", 1, "", 0 },
	{ "220\r\n", 0, W_REPLY, 220, "", 1, "", 0 },
	{ "220 \r\n", 0, W_REPLY, 220, "", 1, "", 0 },
	{ "250-first\r\n250-second\r\n250 last\r\n", 0, W_REPLY, 250, "",
	    3, "first second last", 0 },
	{ "250-\r\n250 x\r\n", 0, W_REPLY, 250, "", 2, "x", 0 },
	{ "550-5.1.1 no such\r\n550-5.1.1 user\r\n550 5.1.1 here\r\n", 0,
	    W_REPLY, 550, "5.1.1", 3, "no such user here", 0 },
	/* Lines that do not repeat the status keep their text. */
	{ "550-5.1.1 a\r\n550 b\r\n", 0, W_REPLY, 550, "5.1.1", 2, "a b", 0 },
	{ "250 ok\n", 0, W_REPLY, 250, "", 1, "ok", 0 },
	{ "354 go ahead\r\n", 0, W_REPLY, 354, "", 1, "go ahead", 0 },
	/* Status: class must match the code, 1..3 digits, then SP. */
	{ "250 5.1.1 x\r\n", 0, W_REPLY, 250, "", 1, "5.1.1 x", 0 },
	{ "450 4.7.1234 x\r\n", 0, W_REPLY, 450, "", 1, "4.7.1234 x", 0 },
	{ "450 4.123.456 x\r\n", 0, W_REPLY, 450, "4.123.456", 1, "x", 0 },
	{ "250 2.0.0ok\r\n", 0, W_REPLY, 250, "", 1, "2.0.0ok", 0 },
	{ "250 2..0 x\r\n", 0, W_REPLY, 250, "", 1, "2..0 x", 0 },
	{ "354 3.0.0 x\r\n", 0, W_REPLY, 354, "", 1, "3.0.0 x", 0 },
	/* Text: controls become "?", 8-bit is kept (and "?" when joined). */
	{ "250 a\x01" "b\r\n", 0, W_REPLY, 250, "", 1, "a?b", 0 },
	{ "250 a\0b\r\n", 9, W_REPLY, 250, "", 1, "a?b", 0 },
	{ "250 h\xc3\xa9\r\n", 0, W_REPLY, 250, "", 1, "h??", 0 },
	{ "250 a\tb\r\n", 0, W_REPLY, 250, "", 1, "a b", 0 },
	/* One reply at a time: the rest stays for the next call. */
	{ "250 a\r\n251 b\r\n", 0, W_REPLY, 250, "", 1, "a", 7 },
	/* Incomplete: complete lines are consumed, the rest kept. */
	{ "250-a\r\n250 b", 0, W_MORE, 0, NULL, 0, NULL, 7 },
	{ "250 b\r", 0, W_MORE, 0, NULL, 0, NULL, 0 },
	/* CVE-2020-8794: a short line never joins the next one. */
	{ "250-first\r\n25\r\n250 last\r\n", 0, W_ERROR, 0, NULL, 0,
	    "short reply line", 0 },
	{ "250-first\r\n\r\n250 last\r\n", 0, W_ERROR, 0, NULL, 0,
	    "short reply line", 0 },
	{ "250-first\r\n251 last\r\n", 0, W_ERROR, 0, NULL, 0,
	    "reply code changed", 0 },
	{ "250-first\r\n550 last\r\n", 0, W_ERROR, 0, NULL, 0,
	    "reply code changed", 0 },
	{ "250x\r\n", 0, W_ERROR, 0, NULL, 0, "malformed reply line", 0 },
	{ "250-a\r\n250x\r\n", 0, W_ERROR, 0, NULL, 0,
	    "malformed reply line", 0 },
	{ "2a0 x\r\n", 0, W_ERROR, 0, NULL, 0, "malformed reply code", 0 },
	{ "650 x\r\n", 0, W_ERROR, 0, NULL, 0, "malformed reply code", 0 },
	{ "160 x\r\n", 0, W_ERROR, 0, NULL, 0, "malformed reply code", 0 },
	{ "260 x\r\n", 0, W_ERROR, 0, NULL, 0, "malformed reply code", 0 },
	{ " 250 x\r\n", 0, W_ERROR, 0, NULL, 0, "malformed reply code", 0 },
	{ "250 a\rb\r\n", 0, W_ERROR, 0, NULL, 0, "bare CR", 0 },
};

struct result {
	enum want	 got;
	int		 code;
	char		 status[SMTPC_STATUS_MAX];
	size_t		 nlines;
	char		 joined[256];
	const char	*error;
	size_t		 consumed;
};

static void
take(struct smtpc_reply_parser *p, enum smtpc_parse st, const char *err,
    struct result *r)
{
	struct buf j = BUF_INIT;

	r->got = st == SMTPC_PARSE_REPLY ? W_REPLY : st == SMTPC_PARSE_ERROR ?
	    W_ERROR : W_MORE;
	r->error = err;
	if (st == SMTPC_PARSE_REPLY) {
		r->code = p->reply.code;
		str_copy(r->status, p->reply.status, sizeof(r->status));
		r->nlines = p->reply.nlines;
		str_copy(r->joined, smtpc_reply_join(&p->reply, &j, 200),
		    sizeof(r->joined));
	}
	buf_release(&j);
}

static void
run_whole(const char *in, size_t len, struct result *r)
{
	struct smtpc_reply_parser p;
	const char *err = NULL;
	enum smtpc_parse st;

	memset(r, 0, sizeof(*r));
	smtpc_reply_parser_init(&p, 0, 0, 0);
	st = smtpc_reply_parse(&p, in, len, &r->consumed, &err);
	take(&p, st, err, r);
	smtpc_reply_parser_release(&p);
}

/* One byte at a time, keeping what is not consumed, as the glue does. */
static void
run_bytes(const char *in, size_t len, struct result *r)
{
	struct smtpc_reply_parser p;
	struct buf pending = BUF_INIT;
	const char *err = NULL;
	enum smtpc_parse st = SMTPC_PARSE_MORE;
	size_t n, total = 0;

	memset(r, 0, sizeof(*r));
	smtpc_reply_parser_init(&p, 0, 0, 0);
	for (size_t i = 0; i < len && st == SMTPC_PARSE_MORE; i++) {
		buf_append(&pending, in + i, 1);
		st = smtpc_reply_parse(&p, pending.data, pending.len, &n, &err);
		buf_consume(&pending, n);
		total += n;
	}
	r->consumed = total;
	take(&p, st, err, r);
	buf_release(&pending);
	smtpc_reply_parser_release(&p);
}

static void
check(const struct reply_case *c, const struct result *r, const char *how)
{
	size_t len = c->len ? c->len : strlen(c->in);

	cr_assert_eq(r->got, c->want, "%s [%s]: got %d", how, c->in, r->got);
	if (c->want == W_ERROR) {
		cr_assert_not_null(r->error);
		cr_assert(strncmp(r->error, c->joined, strlen(c->joined)) == 0,
		    "%s [%s]: error %s", how, c->in, r->error);
		return;
	}
	cr_assert_eq(r->consumed, c->consumed ? c->consumed :
	    c->want == W_MORE ? 0 : len, "%s [%s]: consumed %zu", how, c->in,
	    r->consumed);
	if (c->want == W_MORE)
		return;
	cr_assert_eq(r->code, c->code, "%s [%s]", how, c->in);
	cr_assert_str_eq(r->status, c->status, "%s [%s]", how, c->in);
	cr_assert_eq(r->nlines, c->nlines, "%s [%s]", how, c->in);
	cr_assert_str_eq(r->joined, c->joined, "%s [%s]", how, c->in);
}

Test(smtpc_reply, table_whole_and_bytewise)
{
	struct result r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct reply_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);

		run_whole(c->in, len, &r);
		check(c, &r, "whole");
		run_bytes(c->in, len, &r);
		check(c, &r, "bytes");
	}
}

Test(smtpc_reply, consecutive_replies_and_sticky_error)
{
	struct smtpc_reply_parser p;
	const char *in = "250 a\r\n251-b\r\n251 c\r\n252 d\r\nxyz\r\n", *err;
	size_t n, off = 0;

	smtpc_reply_parser_init(&p, 0, 0, 0);
	for (int code = 250; code <= 252; code++) {
		cr_assert_eq(smtpc_reply_parse(&p, in + off, strlen(in + off),
		    &n, &err), SMTPC_PARSE_REPLY);
		cr_assert_eq(p.reply.code, code);
		off += n;
	}
	cr_assert_str_eq(smtpc_reply_line(&p.reply, 0), "d");
	cr_assert_eq(smtpc_reply_parse(&p, in + off, strlen(in + off), &n,
	    &err), SMTPC_PARSE_ERROR);
	cr_assert_eq(smtpc_reply_parse(&p, "250 ok\r\n", 8, &n, &err),
	    SMTPC_PARSE_ERROR, "an error is for good");
	cr_assert_eq(n, 0);
	smtpc_reply_parser_release(&p);
}

Test(smtpc_reply, lines_of_a_reply)
{
	struct smtpc_reply_parser p;
	const char *in = "250-one\r\n250-\r\n250 three\r\n", *err;
	size_t n;

	smtpc_reply_parser_init(&p, 0, 0, 0);
	cr_assert_eq(smtpc_reply_parse(&p, in, strlen(in), &n, &err),
	    SMTPC_PARSE_REPLY);
	cr_assert_str_eq(smtpc_reply_line(&p.reply, 0), "one");
	cr_assert_str_eq(smtpc_reply_line(&p.reply, 1), "");
	cr_assert_str_eq(smtpc_reply_line(&p.reply, 2), "three");
	cr_assert_null(smtpc_reply_line(&p.reply, 3));
	smtpc_reply_parser_release(&p);
}

/* A reply of n lines of width octets each (code and separator included). */
static char *
make_reply(size_t nlines, size_t width)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < nlines; i++) {
		buf_append_str(&b, i + 1 < nlines ? "250-" : "250 ");
		for (size_t k = 4; k < width; k++)
			buf_append_byte(&b, 'x');
		buf_append_str(&b, "\r\n");
	}
	return buf_steal(&b);
}

static enum smtpc_parse
parse_with(size_t line_max, size_t lines_max, size_t size_max,
    const char *in, const char **err)
{
	struct smtpc_reply_parser p;
	enum smtpc_parse st;
	size_t n;

	smtpc_reply_parser_init(&p, line_max, lines_max, size_max);
	st = smtpc_reply_parse(&p, in, strlen(in), &n, err);
	smtpc_reply_parser_release(&p);
	return st;
}

Test(smtpc_reply, limits)
{
	const char *err = NULL;
	char *r;

	r = make_reply(1, SMTPC_REPLY_LINE_MAX);
	cr_assert_eq(parse_with(0, 0, 0, r, &err), SMTPC_PARSE_REPLY);
	free(r);
	r = make_reply(1, SMTPC_REPLY_LINE_MAX + 1);
	cr_assert_eq(parse_with(0, 0, 0, r, &err), SMTPC_PARSE_ERROR);
	cr_assert_str_eq(err, "reply line too long");
	free(r);
	r = make_reply(SMTPC_REPLY_LINES_MAX, 10);
	cr_assert_eq(parse_with(0, 0, 0, r, &err), SMTPC_PARSE_REPLY);
	free(r);
	r = make_reply(SMTPC_REPLY_LINES_MAX + 1, 10);
	cr_assert_eq(parse_with(0, 0, 0, r, &err), SMTPC_PARSE_ERROR);
	cr_assert_str_eq(err, "too many lines in reply");
	free(r);
	/* 20 lines of 100 octets: 1920 octets of text. */
	r = make_reply(20, 100);
	cr_assert_eq(parse_with(0, 0, 1920, r, &err), SMTPC_PARSE_REPLY);
	cr_assert_eq(parse_with(0, 0, 1900, r, &err), SMTPC_PARSE_ERROR);
	cr_assert_str_eq(err, "reply too long");
	free(r);
	/* A line without LF is refused as soon as it passes the limit. */
	r = make_reply(1, 60);
	r[60] = 'x';
	r[61] = 'x';
	cr_assert_eq(parse_with(50, 0, 0, r, &err), SMTPC_PARSE_ERROR);
	free(r);
}

Test(smtpc_reply, join_is_bounded_and_printable)
{
	struct smtpc_reply_parser p;
	struct buf j = BUF_INIT;
	const char *in = "550-aaaa\r\n550 bbbb\r\n", *err;
	size_t n;

	smtpc_reply_parser_init(&p, 0, 0, 0);
	cr_assert_eq(smtpc_reply_parse(&p, in, strlen(in), &n, &err),
	    SMTPC_PARSE_REPLY);
	cr_assert_str_eq(smtpc_reply_join(&p.reply, &j, 100), "aaaa bbbb");
	cr_assert_str_eq(smtpc_reply_join(&p.reply, &j, 9), "aaaa bbbb");
	cr_assert_str_eq(smtpc_reply_join(&p.reply, &j, 6), "aaaa b...");
	cr_assert_str_eq(smtpc_reply_join(&p.reply, &j, 4), "aaaa...");
	buf_release(&j);
	smtpc_reply_parser_release(&p);
}

static void
caps_of(const char *in, struct smtpc_caps *c)
{
	struct smtpc_reply_parser p;
	const char *err;
	size_t n;

	smtpc_reply_parser_init(&p, 0, 0, 0);
	cr_assert_eq(smtpc_reply_parse(&p, in, strlen(in), &n, &err),
	    SMTPC_PARSE_REPLY, "%s", in);
	smtpc_caps_parse(&p.reply, c);
	smtpc_reply_parser_release(&p);
}

Test(smtpc_reply, ehlo_capabilities)
{
	struct smtpc_caps c;

	caps_of("250-mx.example greets you\r\n250-pipelining\r\n"
	    "250-SIZE 1000\r\n250-8bitmime\r\n250-AUTH=LOGIN\r\n"
	    "250-Auth CRAM-MD5 plain\r\n250-STARTTLS\r\n250-DSN\r\n"
	    "250-SMTPUTF8\r\n250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250 XFOO bar\r\n", &c);
	cr_assert_eq(c.flags, SMTPC_CAP_PIPELINING | SMTPC_CAP_SIZE |
	    SMTPC_CAP_8BITMIME | SMTPC_CAP_AUTH | SMTPC_CAP_STARTTLS |
	    SMTPC_CAP_DSN | SMTPC_CAP_SMTPUTF8 | SMTPC_CAP_CHUNKING |
	    SMTPC_CAP_ENHANCEDSTATUSCODES);
	cr_assert_eq(c.size, 1000);
	cr_assert_eq(c.auth, SMTPC_AUTH_PLAIN | SMTPC_AUTH_LOGIN);

	/* The greeting line is not a keyword; near misses are not either. */
	caps_of("250-PIPELINING\r\n250-PIPELININGX\r\n250-STARTTLS=1\r\n"
	    "250 SIZE\r\n", &c);
	cr_assert_eq(c.flags, SMTPC_CAP_SIZE);
	cr_assert_eq(c.size, 0, "SIZE without a number: no limit");
	caps_of("250-x\r\n250 SIZE 99999999999999999999999\r\n", &c);
	cr_assert_eq(c.size, 0);
	caps_of("250-x\r\n250 SIZE 12abc\r\n", &c);
	cr_assert_eq(c.size, 0);
	caps_of("250-x\r\n250 SIZE 18446744073709551615\r\n", &c);
	cr_assert_eq(c.size, UINT64_MAX);
	caps_of("250-x\r\n250 AUTH GSSAPI\r\n", &c);
	cr_assert_eq(c.flags, SMTPC_CAP_AUTH);
	cr_assert_eq(c.auth, 0);
	caps_of("250 mx.example\r\n", &c);
	cr_assert_eq(c.flags, 0);
}
