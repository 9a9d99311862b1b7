/* Tests for the DATA/BDAT body reader. Every case runs whole, one byte at
 * a time and in random pieces (fixed seeds) and must give the same output
 * and result every time; then the whole run is checked against the
 * case's expectations. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "data.h"

#define IN(s)	(s), (sizeof(s) - 1)
#define SAME	UINT64_MAX	/* size: the expected output's length */

enum split { SPLIT_WHOLE, SPLIT_BYTE, SPLIT_RANDOM };

struct outcome {
	struct buf		 out;
	struct data_result	 res;
	bool			 done;
	size_t			 consumed;	/* DATA: total consumed */
	size_t			 calls;		/* sink calls */
	size_t			 max_piece;
	size_t			 fail_at;	/* failing sink call; 0 none */
	bool			 failed;
	bool			 bounded;	/* pending stayed < window */
	bool			 chunk;
};

static int
test_sink(void *ctx, const char *p, size_t n)
{
	struct outcome *o = ctx;

	cr_assert(!o->failed, "sink called after it failed");
	cr_assert(n > 0);
	o->calls++;
	if (n > o->max_piece)
		o->max_piece = n;
	if (o->fail_at != 0 && o->calls >= o->fail_at) {
		o->failed = true;
		return -1;
	}
	buf_append(&o->out, p, n);
	return 0;
}

static uint32_t
rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static size_t
piece_size(enum split how, uint32_t *rng, size_t left)
{
	size_t k;

	if (how == SPLIT_WHOLE)
		return left;
	k = how == SPLIT_BYTE ? 1 : 1 + rng_next(rng) % 40;
	if (how == SPLIT_RANDOM && rng_next(rng) % 8 == 0)
		k = 1 + rng_next(rng) % 3000;
	return k < left ? k : left;
}

static void
feed_data(struct data_reader *r, const char *in, size_t n, enum split how,
    uint32_t seed, struct outcome *o)
{
	struct buf pend = BUF_INIT;
	enum data_status st = DATA_MORE;
	size_t off = 0, c;

	o->bounded = true;
	while (off < n && st != DATA_DONE) {
		size_t k = piece_size(how, &seed, n - off);

		buf_append(&pend, in + off, k);
		off += k;
		st = data_reader_feed(r, pend.data, pend.len, &c);
		cr_assert_leq(c, pend.len);
		buf_consume(&pend, c);
		o->consumed += c;
		if (st == DATA_MORE && pend.len >= data_reader_window(r))
			o->bounded = false;
	}
	if (st == DATA_DONE) {
		/* Done is final, and consumes nothing more. */
		cr_assert_eq(data_reader_feed(r, "x\r\n", 3, &c), DATA_DONE);
		cr_assert_eq(c, 0);
	} else
		data_reader_finish(r);
	o->done = st == DATA_DONE;
	buf_release(&pend);
}

static void
feed_chunks(struct data_reader *r, const char *in, size_t n, enum split how,
    uint32_t seed, struct outcome *o)
{
	size_t off = 0;

	while (off < n) {
		size_t k = piece_size(how, &seed, n - off);

		cr_assert_eq(data_reader_feed_chunk(r, in + off, k), k);
		off += k;
	}
	data_reader_finish(r);
	data_reader_finish(r);	/* idempotent */
	o->consumed = n;
	o->bounded = true;
}

static void
run(const struct data_limits *lim, bool chunk, const char *in, size_t n,
    enum split how, uint32_t seed, struct outcome *o)
{
	struct data_reader r;

	memset(&o->res, 0, sizeof(o->res));
	buf_init(&o->out, 0);
	o->done = false;
	o->consumed = o->calls = o->max_piece = 0;
	o->failed = false;
	o->chunk = chunk;
	data_reader_init(&r, lim, test_sink, o);
	if (chunk)
		feed_chunks(&r, in, n, how, seed, o);
	else
		feed_data(&r, in, n, how, seed, o);
	o->res = *data_reader_result(&r);
	data_reader_release(&r);
	data_reader_release(&r);	/* safe twice */
}

static void
assert_same(const struct outcome *a, const struct outcome *b,
    const char *what)
{
	const struct data_result *x = &a->res, *y = &b->res;

	/* After an error the sink's content is thrown away; in BDAT how
	 * much of it got there depends on the pieces. */
	if (!a->chunk || x->errors == 0) {
		cr_assert_eq(a->out.len, b->out.len, "%s: output length", what);
		cr_assert(a->out.len == 0 ||
		    memcmp(a->out.data, b->out.data, a->out.len) == 0,
		    "%s: output", what);
	}
	cr_assert_eq(a->done, b->done, "%s: done", what);
	cr_assert_eq(a->consumed, b->consumed, "%s: consumed", what);
	cr_assert(b->bounded, "%s: caller had to hold a window", what);
	cr_assert(x->size == y->size && x->errors == y->errors &&
	    x->received == y->received && x->has_date == y->has_date &&
	    x->has_message_id == y->has_message_id &&
	    x->has_from == y->has_from &&
	    x->header_complete == y->header_complete &&
	    x->header_overflow == y->header_overflow &&
	    x->eight_bit == y->eight_bit && x->nul == y->nul &&
	    x->header_end == y->header_end && x->bare_cr == y->bare_cr &&
	    x->bare_lf == y->bare_lf, "%s: result", what);
}

/* Run whole, by byte and in random pieces; leaves the whole run in o. */
static void
run_all(const struct data_limits *lim, bool chunk, const char *in,
    size_t n, struct outcome *o)
{
	struct outcome other;
	uint32_t seed;

	o->fail_at = 0;
	other.fail_at = 0;
	run(lim, chunk, in, n, SPLIT_WHOLE, 0, o);
	if (n <= 20000) {
		run(lim, chunk, in, n, SPLIT_BYTE, 0, &other);
		assert_same(o, &other, "byte by byte");
		buf_release(&other.out);
	}
	for (seed = 1; seed <= 5; seed++) {
		run(lim, chunk, in, n, SPLIT_RANDOM, seed * 2654435761u,
		    &other);
		assert_same(o, &other, "random pieces");
		buf_release(&other.out);
	}
}

/* --- DATA: table --- */

struct data_case {
	const char		*in;
	size_t			 inlen;
	enum data_bare_policy	 bare;
	bool			 done;
	const char		*out;		/* NULL: nothing reaches the sink */
	size_t			 outlen;
	size_t			 rest;		/* left unconsumed */
	unsigned		 errors;
	uint64_t		 size;
	uint64_t		 bare_cr, bare_lf;
};

#define N	DATA_BARE_NORMALISE
#define R	DATA_BARE_REJECT
#define NOOUT	NULL, 0

static const struct data_case data_cases[] = {
	/* Plain, empty, unterminated. */
	{ IN("a\r\nb\r\n.\r\n"), N, true, IN("a\r\nb\r\n"), 0, 0, SAME, 0, 0 },
	{ IN("a\r\nb\r\n.\r\n"), R, true, IN("a\r\nb\r\n"), 0, 0, SAME, 0, 0 },
	{ IN(".\r\n"), R, true, IN(""), 0, 0, SAME, 0, 0 },
	{ IN(""), R, false, IN(""), 0, 0, SAME, 0, 0 },
	{ IN("a\r\nb"), R, false, IN("a\r\n"), 1, 0, SAME, 0, 0 },
	{ IN("a\r\n."), R, false, IN("a\r\n"), 1, 0, SAME, 0, 0 },
	{ IN("a\r\n.\r"), R, false, IN("a\r\n"), 2, 0, SAME, 0, 0 },
	{ IN("\r\n.\r\n"), R, true, IN("\r\n"), 0, 0, SAME, 0, 0 },
	/* Pipelined commands after the end stay with the caller. */
	{ IN("a\r\n.\r\nQUIT\r\n"), R, true, IN("a\r\n"), 6, 0, SAME, 0, 0 },
	{ IN(".\r\nMAIL FROM:<>\r\n"), R, true, IN(""), 14, 0, SAME, 0, 0 },
	{ IN("a\r\n.\r\n.\r\n"), R, true, IN("a\r\n"), 3, 0, SAME, 0, 0 },
	/* Dot-stuffing undone exactly. */
	{ IN("..\r\n.\r\n"), R, true, IN(".\r\n"), 0, 0, SAME, 0, 0 },
	{ IN("..x\r\n.\r\n"), R, true, IN(".x\r\n"), 0, 0, SAME, 0, 0 },
	{ IN("...\r\n.\r\n"), R, true, IN("..\r\n"), 0, 0, SAME, 0, 0 },
	{ IN(".x\r\n.\r\n"), R, true, IN("x\r\n"), 0, 0, SAME, 0, 0 },
	{ IN(". \r\n.\r\n"), R, true, IN(" \r\n"), 0, 0, SAME, 0, 0 },
	{ IN("x.\r\n.x.\r\n..\r\n.\r\n"), R, true,
	    IN("x.\r\nx.\r\n.\r\n"), 0, 0, SAME, 0, 0 },
	{ IN("a\r\n..\r\n.\r\nb"), R, true, IN("a\r\n.\r\n"), 1, 0, SAME,
	    0, 0 },
	/* Smuggling: "." with a bare LF, after a bare LF, with a bare CR. */
	{ IN("a\r\n.\nb\r\n.\r\n"), N, true, IN("a\r\n.\r\nb\r\n"), 0, 0,
	    SAME, 0, 1 },
	{ IN("a\r\n.\nb\r\n.\r\n"), R, true, NOOUT, 0, DATA_ERR_BARE, 8,
	    0, 1 },
	{ IN("a\n.\nb\r\n.\r\n"), N, true, IN("a\r\n.\r\nb\r\n"), 0, 0,
	    SAME, 0, 2 },
	{ IN("a\n.\nb\r\n.\r\n"), R, true, NOOUT, 0, DATA_ERR_BARE, 7, 0, 2 },
	{ IN("a\n.\r\nb\r\n.\r\n"), N, true, IN("a\r\n.\r\nb\r\n"), 0, 0,
	    SAME, 0, 1 },
	{ IN("a\n.\r\nb\r\n.\r\n"), R, true, NOOUT, 0, DATA_ERR_BARE, 8,
	    0, 1 },
	{ IN("a\r.\rb\r\n.\r\n"), N, true, IN("a\r\n.\r\nb\r\n"), 0, 0,
	    SAME, 2, 0 },
	{ IN("a\r.\rb\r\n.\r\n"), R, true, NOOUT, 0, DATA_ERR_BARE, 7, 2, 0 },
	{ IN("a\r\n.\rb\r\n.\r\n"), N, true, IN("a\r\n\r\nb\r\n"), 0, 0,
	    SAME, 1, 0 },
	{ IN("a\r\n.\r\r\nb\r\n.\r\n"), N, true, IN("a\r\n\r\n\r\nb\r\n"),
	    0, 0, SAME, 1, 0 },
	{ IN("a\r\n.\r\r\nb\r\n.\r\n"), R, true, NOOUT, 0, DATA_ERR_BARE, 9,
	    1, 0 },
	{ IN("a\r\n\0.\r\nb\r\n.\r\n"), N, true, IN("a\r\n\0.\r\nb\r\n"), 0,
	    0, SAME, 0, 0 },
	{ IN("a\r.\r\nb\r\n.\r\n"), N, true, IN("a\r\n.\r\nb\r\n"), 0, 0,
	    SAME, 1, 0 },
	/* Never a terminator, so never done. */
	{ IN("a\r\n.\n"), N, false, IN("a\r\n.\r\n"), 0, 0, SAME, 0, 1 },
	{ IN("a\n.\n"), N, false, IN("a\r\n.\r\n"), 0, 0, SAME, 0, 2 },
	{ IN("a\n.\r\n"), N, false, IN("a\r\n.\r\n"), 0, 0, SAME, 0, 1 },
	{ IN("a\r\n.\r\r\n"), N, false, IN("a\r\n\r\n\r\n"), 0, 0, SAME,
	    1, 0 },
	{ IN("a\r\n.\rQUIT\r\n"), N, false, IN("a\r\n\r\nQUIT\r\n"), 0, 0,
	    SAME, 1, 0 },
	{ IN(".\n"), N, false, IN(".\r\n"), 0, 0, SAME, 0, 1 },
	{ IN("\n.\r\n"), N, false, IN("\r\n.\r\n"), 0, 0, SAME, 0, 1 },
	{ IN("\r.\r\n"), N, false, IN("\r\n.\r\n"), 0, 0, SAME, 1, 0 },
	/* CRLF.CRLF in the raw bytes ends data, even after a bare CR or
	 * a bare LF line: the client sent the real terminator. */
	{ IN("a\r\r\n.\r\nX"), N, true, IN("a\r\n\r\n"), 1, 0, SAME, 1, 0 },
	{ IN("a\r\r\n.\r\nX"), R, true, NOOUT, 1, DATA_ERR_BARE, 4, 1, 0 },
	{ IN("a\n\r\n.\r\nX"), N, true, IN("a\r\n\r\n"), 1, 0, SAME, 0, 1 },
	/* Dots after a bare LF line start a line; after a bare CR not. */
	{ IN("a\n..b\r\n.\r\n"), N, true, IN("a\r\n.b\r\n"), 0, 0, SAME,
	    0, 1 },
	{ IN("a\r..b\r\n.\r\n"), N, true, IN("a\r\n..b\r\n"), 0, 0, SAME,
	    1, 0 },
	{ IN("..\n.\r\n"), N, false, IN(".\r\n.\r\n"), 0, 0, SAME, 0, 1 },
	/* Many bare octets, then the real end. */
	{ IN("\r\r\n\n\r\n.\r\n"), N, true, IN("\r\n\r\n\r\n\r\n"), 0, 0,
	    SAME, 1, 1 },
	{ IN("\n\n\n.\r\n"), R, false, NOOUT, 0, DATA_ERR_BARE, 6, 0, 3 },
};

static void
check_data_case(size_t i, const struct data_case *c)
{
	struct data_limits lim = { 0, c->bare, 0, 0 };
	struct outcome o;
	uint64_t size = c->size == SAME ? c->outlen : c->size;

	run_all(&lim, false, c->in, c->inlen, &o);
	cr_assert_eq(o.done, c->done, "case %zu: done", i);
	cr_assert_eq(c->inlen - o.consumed, c->rest, "case %zu: rest %zu", i,
	    c->inlen - o.consumed);
	cr_assert_eq(o.res.errors, c->errors, "case %zu: errors %u", i,
	    o.res.errors);
	cr_assert_eq(o.res.size, size, "case %zu: size %llu", i,
	    (unsigned long long)o.res.size);
	cr_assert_eq(o.res.bare_cr, c->bare_cr, "case %zu: bare_cr", i);
	cr_assert_eq(o.res.bare_lf, c->bare_lf, "case %zu: bare_lf", i);
	cr_assert_eq(o.out.len, c->outlen, "case %zu: output length %zu", i,
	    o.out.len);
	cr_assert(c->outlen == 0 ||
	    memcmp(o.out.data, c->out, c->outlen) == 0, "case %zu: output", i);
	buf_release(&o.out);
}

Test(smtpd_data, table)
{
	for (size_t i = 0; i < ARRAY_SIZE(data_cases); i++)
		check_data_case(i, &data_cases[i]);
}

/* --- long lines --- */

/* "pre" + n octets of fill + "post", in a new buffer. */
static struct buf
long_input(const char *pre, size_t n, char fill, const char *post)
{
	struct buf b = BUF_INIT;

	buf_append_str(&b, pre);
	for (size_t i = 0; i < n; i++)
		buf_append_byte(&b, (uint8_t)fill);
	buf_append_str(&b, post);
	return b;
}

static void
check_long(const char *pre, size_t n, const char *post, bool done,
    const char *want_pre, size_t want_n, const char *want_post,
    enum data_bare_policy bare)
{
	struct data_limits lim = { 0, bare, 0, 0 };
	struct buf in = long_input(pre, n, 'x', post);
	struct buf want = long_input(want_pre, want_n, 'x', want_post);
	struct outcome o;

	run_all(&lim, false, in.data, in.len, &o);
	cr_assert_eq(o.done, done, "%s%zu: done", pre, n);
	cr_assert_eq(o.res.errors, 0, "%s%zu: errors", pre, n);
	cr_assert_eq(o.out.len, want.len, "%s%zu: length %zu, want %zu",
	    pre, n, o.out.len, want.len);
	cr_assert(want.len == 0 ||
	    memcmp(o.out.data, want.data, want.len) == 0, "%s%zu", pre, n);
	cr_assert_eq(o.res.size, want.len);
	buf_release(&o.out);
	buf_release(&in);
	buf_release(&want);
}

Test(smtpd_data, long_lines_pass_through_whole)
{
	static const size_t lens[] = { 997, 998, 999, 1000, 1001, 1997, 1998,
	    1999, 2000, 5000, 70000 };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		size_t n = lens[i];

		check_long("", n, "\r\n.\r\n", true, "", n, "\r\n",
		    DATA_BARE_REJECT);
		/* Only the line's real start is unstuffed. */
		check_long(".", n, "\r\n.\r\n", true, "", n, "\r\n",
		    DATA_BARE_REJECT);
		check_long("..", n, "\r\n.\r\n", true, ".", n, "\r\n",
		    DATA_BARE_REJECT);
		/* A "." tail of a long line is not a terminator. */
		check_long("", n, ".\r\nz\r\n.\r\n", true, "", n,
		    ".\r\nz\r\n", DATA_BARE_REJECT);
		check_long("", n, "\r\n.\r\nQUIT\r\n", true, "", n, "\r\n",
		    DATA_BARE_REJECT);
		/* A CR at a piece edge that is half a CRLF, or bare. */
		check_long("", n, "\r.\r\n.\r\n", true, "", n,
		    "\r\n.\r\n", DATA_BARE_NORMALISE);
		check_long("", n, "\n.\r\n.\r\n", true, "", n,
		    "\r\n.\r\n", DATA_BARE_NORMALISE);
		check_long("", n, "\r\r\n.\r\n", true, "", n, "\r\n\r\n",
		    DATA_BARE_NORMALISE);
		/* Unterminated: everything but a possible final CR is
		 * consumed only a line or a window at a time. */
		check_long("", n, "", false, "", n >= 1000 ? n - n % 1000 : 0,
		    "", DATA_BARE_REJECT);
	}
}

Test(smtpd_data, long_line_pieces_at_every_edge)
{
	struct data_limits lim = { 0, DATA_BARE_NORMALISE, 0, 0 };
	struct outcome o;

	/* A "." line or a CRLF straddling each offset of two windows. */
	for (size_t n = 990; n < 2010; n++) {
		struct buf in = long_input("a\r\n.", n, 'y', "\r\n.\r\n");
		struct buf want = long_input("a\r\n", n, 'y', "\r\n");

		run(&lim, false, in.data, in.len, SPLIT_RANDOM, (uint32_t)n,
		    &o);
		cr_assert(o.done);
		cr_assert_eq(o.consumed, in.len);
		cr_assert_eq(o.out.len, want.len);
		cr_assert(memcmp(o.out.data, want.data, want.len) == 0);
		buf_release(&o.out);
		buf_release(&in);
		buf_release(&want);
	}
}

/* --- size --- */

Test(smtpd_data, size_at_limit_and_one_past)
{
	struct data_limits lim = { 7, DATA_BARE_REJECT, 0, 0 };
	struct outcome o;

	run_all(&lim, false, IN("Hello\r\n.\r\nQUIT\r\n"), &o);
	cr_assert(o.done);
	cr_assert_eq(o.res.errors, 0);
	cr_assert_eq(o.res.size, 7);
	cr_assert_eq(o.out.len, 7);
	buf_release(&o.out);

	lim.max_size = 6;
	run_all(&lim, false, IN("Hello\r\n.\r\nQUIT\r\n"), &o);
	cr_assert(o.done, "keeps reading to the end of data");
	cr_assert_eq(o.consumed, 10);
	cr_assert_eq(o.res.errors, DATA_ERR_TOO_BIG);
	cr_assert_eq(o.res.size, 7);
	cr_assert_eq(o.out.len, 0);
	buf_release(&o.out);

	/* Size counts output: dots removed, bare LF normalised. */
	lim.max_size = 4;
	lim.bare = DATA_BARE_NORMALISE;
	run_all(&lim, false, IN("..\n.\r\n.\r\n"), &o);
	cr_assert_eq(o.res.errors, DATA_ERR_TOO_BIG);
	cr_assert_eq(o.res.size, 6);
	lim.max_size = 6;
	buf_release(&o.out);
	run_all(&lim, false, IN("..\n.\r\n.\r\n"), &o);
	cr_assert_eq(o.res.errors, 0);
	cr_assert_eq(o.out.len, 6);
	buf_release(&o.out);
}

Test(smtpd_data, too_big_stores_at_most_the_limit)
{
	struct data_limits lim = { 100000, DATA_BARE_REJECT, 0, 0 };
	struct buf in = BUF_INIT;
	struct outcome o;

	for (int i = 0; i < 20000; i++)
		buf_append_str(&in, "0123456789abcdef\r\n");
	buf_append_str(&in, ".\r\nRSET\r\n");
	run_all(&lim, false, in.data, in.len, &o);
	cr_assert(o.done);
	cr_assert_eq(o.res.errors, DATA_ERR_TOO_BIG);
	cr_assert_eq(o.res.size, 20000 * 18);
	cr_assert_eq(in.len - o.consumed, 6);
	cr_assert_leq(o.out.len, 100000);
	cr_assert_leq(o.max_piece, DATA_OUT_SIZE);
	buf_release(&o.out);
	buf_release(&in);
}

/* --- sink failure --- */

Test(smtpd_data, sink_failure_latches)
{
	struct data_limits lim = { 0, DATA_BARE_NORMALISE, 0, 0 };
	struct buf in = BUF_INIT;
	struct outcome o;
	struct data_reader r;
	size_t c;

	for (int i = 0; i < 10000; i++)
		buf_append_str(&in, "0123456789abcdef\r\n");
	buf_append_str(&in, ".\r\nQUIT\r\n");
	memset(&o, 0, sizeof(o));
	o.fail_at = 2;
	data_reader_init(&r, &lim, test_sink, &o);
	cr_assert_eq(data_reader_feed(&r, in.data, in.len, &c), DATA_DONE);
	cr_assert_eq(c, in.len - 6);
	cr_assert_eq(data_reader_result(&r)->errors, DATA_ERR_SINK);
	cr_assert_eq(data_reader_result(&r)->size, 180000);
	cr_assert_eq(o.calls, 2, "not called again after failing");
	cr_assert_eq(o.out.len, DATA_OUT_SIZE);
	data_reader_release(&r);
	buf_release(&o.out);
	buf_release(&in);
}

Test(smtpd_data, sink_failure_at_the_final_flush)
{
	struct data_limits lim = { 0, DATA_BARE_REJECT, 0, 0 };
	struct outcome o;
	struct data_reader r;
	size_t c;

	memset(&o, 0, sizeof(o));
	o.fail_at = 1;
	data_reader_init(&r, &lim, test_sink, &o);
	cr_assert_eq(data_reader_feed(&r, IN("a\r\n"), &c), DATA_MORE);
	cr_assert_eq(o.calls, 0, "small output waits in the buffer");
	cr_assert_eq(data_reader_feed(&r, IN(".\r\n"), &c), DATA_DONE);
	cr_assert_eq(data_reader_result(&r)->errors, DATA_ERR_SINK);
	cr_assert_eq(o.calls, 1);
	data_reader_release(&r);
	buf_release(&o.out);
}

/* --- header facts --- */

struct hdr_case {
	const char	*in;
	size_t		 inlen;
	size_t		 max_lines;
	uint64_t	 max_size;
	unsigned	 received;
	bool		 date, msgid, from, complete, overflow;
	uint64_t	 header_end;
};

static const struct hdr_case hdr_cases[] = {
	{ IN("Received: a\r\nReceived: b\r\n\tReceived: c\r\n"
	    " Received: d\r\nSubject: s\r\n\r\nReceived: body\r\n.\r\n"),
	    0, 0, 2, false, false, false, true, false, 66 },
	{ IN("rEcEiVeD: a\r\nRECEIVED:b\r\nReceived : c\r\n"
	    "Received\t:d\r\n\r\n.\r\n"), 0, 0, 4, false, false, false, true,
	    false, 52 },
	{ IN("X-Received: a\r\nReceivedX: b\r\nReceived x: c\r\n"
	    "Received\r\n\r\n.\r\n"), 0, 0, 0, false, false, false, true,
	    false, 54 },
	{ IN("From: a\r\nmessage-id: <x@y>\r\nDATE: now\r\n\r\nb\r\n.\r\n"),
	    0, 0, 0, true, true, true, true, false, 39 },
	{ IN("From a@b Mon\r\nMessage-ID-X: 1\r\nDates: x\r\n\r\n.\r\n"),
	    0, 0, 0, false, false, false, true, false, 41 },
	/* No body separator, with and without a final line. */
	{ IN("Received: a\r\nDate: d\r\n.\r\n"), 0, 0, 1, true, false, false,
	    false, false, 22 },
	{ IN("Subject: x\r\n.\r\n"), 0, 0, 0, false, false, false, false,
	    false, 12 },
	{ IN(".\r\n"), 0, 0, 0, false, false, false, false, false, 0 },
	/* Body only. */
	{ IN("\r\nReceived: x\r\n.\r\n"), 0, 0, 0, false, false, false, true,
	    false, 0 },
	/* Bare LF lines, normalised first. */
	{ IN("Received: a\nReceived: b\n\nReceived: c\r\n.\r\n"), 0, 0, 2,
	    false, false, false, true, false, 26 },
	/* Dot-stuffed header lines are read unstuffed. */
	{ IN("..Received: a\r\n.Received: b\r\n\r\n.\r\n"), 0, 0, 1, false,
	    false, false, true, false, 27 },
	/* Line limit: the fourth line stops the scan. */
	{ IN("Received: 1\r\nReceived: 2\r\nReceived: 3\r\n\r\n.\r\n"), 3, 0,
	    3, false, false, false, true, false, 39 },
	{ IN("Received: 1\r\nReceived: 2\r\nReceived: 3\r\nReceived: 4\r\n"
	    "\r\n.\r\n"), 3, 0, 3, false, false, false, false, true, 39 },
	/* Size limit: the empty line (octets 15, 16) fits in 17, not 16;
	 * at 5 the colon of "Date:" (octet 4) still counts. */
	{ IN("Date: 1234567\r\n\r\n.\r\n"), 0, 17, 0, true, false, false,
	    true, false, 15 },
	{ IN("Date: 1234567\r\n\r\n.\r\n"), 0, 16, 0, true, false, false,
	    false, true, 15 },
	{ IN("Date: 1234567\r\n\r\n.\r\n"), 0, 5, 0, true, false, false,
	    false, true, 0 },
};

Test(smtpd_data, header_facts)
{
	for (size_t i = 0; i < ARRAY_SIZE(hdr_cases); i++) {
		const struct hdr_case *c = &hdr_cases[i];
		struct data_limits lim = { 0, DATA_BARE_NORMALISE,
		    c->max_lines, c->max_size };
		struct outcome o;

		run_all(&lim, false, c->in, c->inlen, &o);
		cr_assert(o.done, "case %zu", i);
		cr_assert_eq(o.res.received, c->received, "case %zu: "
		    "received %u", i, o.res.received);
		cr_assert_eq(o.res.has_date, c->date, "case %zu", i);
		cr_assert_eq(o.res.has_message_id, c->msgid, "case %zu", i);
		cr_assert_eq(o.res.has_from, c->from, "case %zu", i);
		cr_assert_eq(o.res.header_complete, c->complete, "case %zu", i);
		cr_assert_eq(o.res.header_overflow, c->overflow, "case %zu", i);
		cr_assert_eq(o.res.header_end, c->header_end,
		    "case %zu: header_end %llu", i,
		    (unsigned long long)o.res.header_end);
		cr_assert_eq(o.res.errors, 0);
		buf_release(&o.out);
	}
}

Test(smtpd_data, header_default_limits)
{
	struct data_limits lim = { 0, DATA_BARE_REJECT, 0, 0 };
	struct buf in = BUF_INIT;
	struct outcome o;

	for (int i = 0; i < DATA_HEADER_LINES; i++)
		buf_append_str(&in, "Received: x\r\n");
	buf_append_str(&in, "\r\nbody\r\n.\r\n");
	run_all(&lim, false, in.data, in.len, &o);
	cr_assert_eq(o.res.received, DATA_HEADER_LINES);
	cr_assert(o.res.header_complete);
	cr_assert_eq(o.res.header_end, DATA_HEADER_LINES * 13);
	buf_release(&o.out);

	/* One more line: the scan stops there, which is no error. */
	buf_reset(&in);
	for (int i = 0; i <= DATA_HEADER_LINES; i++)
		buf_append_str(&in, "Received: x\r\n");
	buf_append_str(&in, "\r\nbody\r\n.\r\n");
	run_all(&lim, false, in.data, in.len, &o);
	cr_assert_eq(o.res.received, DATA_HEADER_LINES);
	cr_assert(!o.res.header_complete);
	cr_assert(o.res.header_overflow);
	cr_assert_eq(o.res.errors, 0);
	cr_assert_eq(o.out.len, in.len - 3);
	buf_release(&o.out);

	/* One header line over 1 MiB, folded: stops at the byte limit. */
	buf_reset(&in);
	buf_append_str(&in, "Subject: x\r\n");
	for (int i = 0; i < 20000; i++)
		buf_append_str(&in, " 0123456789012345678901234567890123456789"
		    "012345678901234567890123456789\r\n");
	buf_append_str(&in, "Received: late\r\n\r\n.\r\n");
	run_all(&lim, false, in.data, in.len, &o);
	cr_assert_eq(o.res.received, 0);
	cr_assert(o.res.header_overflow);
	cr_assert_eq(o.res.errors, 0);
	buf_release(&o.out);
	buf_release(&in);
}

/* --- octets --- */

Test(smtpd_data, eight_bit_and_nul)
{
	static const struct {
		const char *in;
		size_t len;
		bool eight, nul;
	} cases[] = {
		{ IN("plain\r\n.\r\n"), false, false },
		{ IN("caf\xc3\xa9\r\n.\r\n"), true, false },
		{ IN("a\0b\r\n.\r\n"), false, true },
		{ IN("\x80\0\r\n.\r\n"), true, true },
		{ IN("\x7f\x01\r\n.\r\n"), false, false },
		/* After the end: not part of the message. */
		{ IN("a\r\n.\r\n\xff\0"), false, false },
	};
	struct data_limits lim = { 0, DATA_BARE_REJECT, 0, 0 };
	struct outcome o;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		run_all(&lim, false, cases[i].in, cases[i].len, &o);
		cr_assert_eq(o.res.eight_bit, cases[i].eight, "case %zu", i);
		cr_assert_eq(o.res.nul, cases[i].nul, "case %zu", i);
		buf_release(&o.out);
	}
}

/* --- BDAT --- */

struct chunk_case {
	const char		*in;
	size_t			 inlen;
	enum data_bare_policy	 bare;
	const char		*out;
	size_t			 outlen;
	unsigned		 errors;
	uint64_t		 bare_cr, bare_lf;
};

static const struct chunk_case chunk_cases[] = {
	{ IN(""), R, IN(""), 0, 0, 0 },
	{ IN("a\r\nb\r\n"), R, IN("a\r\nb\r\n"), 0, 0, 0 },
	{ IN("a\r\nb"), R, IN("a\r\nb"), 0, 0, 0 },
	/* No dot-unstuffing and no terminator in BDAT. */
	{ IN("..\r\n.\r\nQUIT\r\n"), R, IN("..\r\n.\r\nQUIT\r\n"), 0, 0, 0 },
	{ IN("a\rb"), N, IN("a\r\nb"), 0, 1, 0 },
	{ IN("a\rb"), R, NOOUT, DATA_ERR_BARE, 1, 0 },
	{ IN("a\nb"), N, IN("a\r\nb"), 0, 0, 1 },
	{ IN("a\nb"), R, NOOUT, DATA_ERR_BARE, 0, 1 },
	{ IN("\r"), N, IN("\r\n"), 0, 1, 0 },
	{ IN("abc\r"), N, IN("abc\r\n"), 0, 1, 0 },
	{ IN("abc\r"), R, NOOUT, DATA_ERR_BARE, 1, 0 },
	{ IN("\n"), N, IN("\r\n"), 0, 0, 1 },
	{ IN("\r\r\n\n\r"), N, IN("\r\n\r\n\r\n\r\n"), 0, 2, 1 },
	{ IN("a\r\n.\n.\r\r\n"), N, IN("a\r\n.\r\n.\r\n\r\n"), 0, 1, 1 },
};

Test(smtpd_data, bdat_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(chunk_cases); i++) {
		const struct chunk_case *c = &chunk_cases[i];
		struct data_limits lim = { 0, c->bare, 0, 0 };
		struct outcome o;

		run_all(&lim, true, c->in, c->inlen, &o);
		cr_assert_eq(o.res.errors, c->errors, "case %zu", i);
		cr_assert_eq(o.res.bare_cr, c->bare_cr, "case %zu", i);
		cr_assert_eq(o.res.bare_lf, c->bare_lf, "case %zu", i);
		cr_assert_eq(o.out.len, c->outlen, "case %zu", i);
		cr_assert(c->outlen == 0 ||
		    memcmp(o.out.data, c->out, c->outlen) == 0, "case %zu", i);
		if (c->errors == 0)
			cr_assert_eq(o.res.size, c->outlen, "case %zu", i);
		buf_release(&o.out);
	}
}

Test(smtpd_data, bdat_crlf_split_across_chunks)
{
	struct data_limits lim = { 0, DATA_BARE_REJECT, 0, 0 };
	struct data_reader r;
	struct outcome o;

	memset(&o, 0, sizeof(o));
	data_reader_init(&r, &lim, test_sink, &o);
	cr_assert_eq(data_reader_feed_chunk(&r, IN("Received: a\r")), 12);
	cr_assert_eq(data_reader_feed_chunk(&r, IN("")), 0);
	cr_assert_eq(data_reader_feed_chunk(&r, IN("\nDate: x\r")), 9);
	cr_assert_eq(data_reader_feed_chunk(&r, IN("\n\r")), 2);
	cr_assert_eq(data_reader_feed_chunk(&r, IN("\nbody\r\n")), 7);
	data_reader_finish(&r);
	cr_assert_eq(data_reader_result(&r)->errors, 0);
	cr_assert_eq(data_reader_result(&r)->bare_cr, 0);
	cr_assert_eq(data_reader_result(&r)->received, 1);
	cr_assert(data_reader_result(&r)->has_date);
	cr_assert(data_reader_result(&r)->header_complete);
	cr_assert_eq(data_reader_result(&r)->header_end, 22);
	cr_assert_eq(o.out.len, 30);
	cr_assert(memcmp(o.out.data, "Received: a\r\nDate: x\r\n\r\nbody\r\n",
	    30) == 0);
	data_reader_release(&r);
	buf_release(&o.out);
}

Test(smtpd_data, bdat_big_chunk_and_size)
{
	struct data_limits lim = { 0, DATA_BARE_REJECT, 0, 0 };
	struct buf in = BUF_INIT;
	struct outcome o;

	for (int i = 0; i < 10000; i++)
		buf_append_str(&in, "0123456789abcdef\r\n");
	run_all(&lim, true, in.data, in.len, &o);
	cr_assert_eq(o.res.errors, 0);
	cr_assert_eq(o.out.len, in.len);
	cr_assert(memcmp(o.out.data, in.data, in.len) == 0);
	cr_assert_gt(o.max_piece, DATA_OUT_SIZE, "passed through whole");
	buf_release(&o.out);

	lim.max_size = in.len;
	run_all(&lim, true, in.data, in.len, &o);
	cr_assert_eq(o.res.errors, 0);
	cr_assert_eq(o.out.len, in.len);
	buf_release(&o.out);
	lim.max_size = in.len - 1;
	run_all(&lim, true, in.data, in.len, &o);
	cr_assert_eq(o.res.errors, DATA_ERR_TOO_BIG);
	cr_assert_eq(o.res.size, in.len);
	cr_assert_leq(o.out.len, in.len - 1);
	buf_release(&o.out);
	buf_release(&in);
}

/* --- bounded memory on a big message --- */

struct counting_sink {
	uint64_t	 len;
	uint64_t	 hash;
	size_t		 max_piece;
};

static uint64_t
fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211u;
	return h;
}

static int
counting_sink(void *ctx, const char *p, size_t n)
{
	struct counting_sink *s = ctx;

	s->len += n;
	s->hash = fnv(s->hash, p, n);
	if (n > s->max_piece)
		s->max_piece = n;
	return 0;
}

/* Line i of the big message into line (as sent when stuffed). */
static size_t
big_line(size_t i, bool stuffed, char *line, size_t cap)
{
	size_t n = 0, k, len = i % 97 == 0 ? 3000 : 40 + i % 50;

	if (i % 7 == 0 && stuffed)
		line[n++] = '.';
	if (i % 7 == 0)
		line[n++] = '.';
	for (k = 0; k < len && n < cap - 2; k++)
		line[n++] = (char)('a' + (i + k) % 26);
	line[n++] = '\r';
	line[n++] = '\n';
	return n;
}

Test(smtpd_data, ten_mib_in_small_pieces_bounded)
{
	struct data_limits lim = { 0, DATA_BARE_REJECT, 0, 0 };
	struct counting_sink sink = { 0, 14695981039346656037u, 0 };
	uint64_t want_hash = 14695981039346656037u, want_len = 0;
	size_t cap = 4096, lines = 0, pend = 0, c, k, n;
	char *line = malloc(cap), *buf = malloc(2 * cap);
	struct data_reader r;
	struct mallinfo2 before, after;
	enum data_status st = DATA_MORE;
	uint32_t rng = 12345;
	uint64_t sent = 0;

	for (lines = 0; want_len < 10 * 1024 * 1024; lines++) {
		n = big_line(lines, false, line, cap);
		want_hash = fnv(want_hash, line, n);
		want_len += n;
	}
	data_reader_init(&r, &lim, counting_sink, &sink);
	before = mallinfo2();
	/* The caller's buffer never holds more than a window plus a piece;
	 * the reader allocates nothing while it reads. */
	for (size_t i = 0; i <= lines && st == DATA_MORE; i++) {
		n = i < lines ? big_line(i, true, line, cap) : 3;
		if (i == lines)
			memcpy(line, ".\r\n", 3);
		for (size_t off = 0; off < n && st == DATA_MORE; off += k) {
			k = 1 + rng_next(&rng) % 64;
			if (k > n - off)
				k = n - off;
			memcpy(buf + pend, line + off, k);
			pend += k;
			sent += k;
			st = data_reader_feed(&r, buf, pend, &c);
			memmove(buf, buf + c, pend - c);
			pend -= c;
			if (pend >= data_reader_window(&r))
				break;
		}
	}
	after = mallinfo2();
	cr_assert_eq(st, DATA_DONE);
	cr_assert_eq(pend, 0);
	cr_assert_leq(after.uordblks, before.uordblks, "reader allocated");
	cr_assert_eq(data_reader_result(&r)->size, want_len);
	cr_assert_eq(sink.len, want_len);
	cr_assert_eq(sink.hash, want_hash);
	cr_assert_leq(sink.max_piece, DATA_OUT_SIZE);
	cr_assert_gt(sent, want_len);
	data_reader_release(&r);
	free(line);
	free(buf);
}

/* --- misuse is a programming error, not a client's --- */

static int
null_sink(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return 0;
}

Test(smtpd_data, bdat_after_data_is_fatal, .exit_code = EXIT_FAILURE)
{
	struct data_limits lim = { 0, DATA_BARE_REJECT, 0, 0 };
	struct data_reader r;
	size_t c;

	data_reader_init(&r, &lim, null_sink, NULL);
	(void)data_reader_feed(&r, IN("a\r\n"), &c);
	(void)data_reader_feed_chunk(&r, IN("b\r\n"));
}

Test(smtpd_data, chunk_after_finish_is_fatal, .exit_code = EXIT_FAILURE)
{
	struct data_limits lim = { 0, DATA_BARE_REJECT, 0, 0 };
	struct data_reader r;

	data_reader_init(&r, &lim, null_sink, NULL);
	(void)data_reader_feed_chunk(&r, IN("b\r\n"));
	data_reader_finish(&r);
	(void)data_reader_feed_chunk(&r, IN("c\r\n"));
}
