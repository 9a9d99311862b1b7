/* Tests for linereader: each case runs whole, one byte at a time and
 * split at every offset, and must report the same events every time. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "linereader.h"

struct lr_case {
	size_t		 max;
	const char	*in;
	size_t		 inlen;
	const char	*want;	/* events, one per line; see log_event() */
};

#define IN(s)	(s), (sizeof(s) - 1)

static const struct lr_case cases[] = {
	{ 8, IN(""), "rest=0" },
	{ 8, IN("abc\r\n"), "line crlf \"abc\"\nrest=0" },
	{ 8, IN("abc\n"), "line lf \"abc\"\nrest=0" },
	{ 8, IN("abc"), "rest=3" },
	{ 8, IN("\r\n\r\n"), "line crlf \"\"\nline crlf \"\"\nrest=0" },
	{ 8, IN("\n\n"), "line lf \"\"\nline lf \"\"\nrest=0" },
	{ 8, IN("\r"), "rest=1" },
	{ 8, IN("abc\r"), "rest=4" },
	{ 8, IN("\r\r\n"), "line crlf \"\\r\" cr=1@0\nrest=0" },
	{ 8, IN("\r\r\r\n"), "line crlf \"\\r\\r\" cr=2@0\nrest=0" },
	{ 8, IN("a\rb\r\n"), "line crlf \"a\\rb\" cr=1@1\nrest=0" },
	{ 8, IN("ab\r\rc\n"), "line lf \"ab\\r\\rc\" cr=2@2\nrest=0" },
	{ 8, IN("a\0b\r\n"), "line crlf \"a\\0b\"\nrest=0" },
	{ 8, IN("\0\n"), "line lf \"\\0\"\nrest=0" },
	/* Exactly max, with either ending. */
	{ 8, IN("12345678\r\n"), "line crlf \"12345678\"\nrest=0" },
	{ 8, IN("12345678\n"), "line lf \"12345678\"\nrest=0" },
	/* max + 1: one error, then in step again. */
	{ 8, IN("123456789\r\nok\r\n"),
	    "too_long \"12345678\"\nline crlf \"ok\"\nrest=0" },
	{ 8, IN("123456789\nok\r\n"),
	    "too_long \"12345678\"\nline crlf \"ok\"\nrest=0" },
	/* A CR at max + 1 makes the line too long, CRLF or not. */
	{ 8, IN("12345678\r\r\nok\n"),
	    "too_long \"12345678\"\nline lf \"ok\"\nrest=0" },
	/* Overlong across many windows, reported once. */
	{ 8, IN("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nok\r\n"),
	    "too_long \"xxxxxxxx\"\nline crlf \"ok\"\nrest=0" },
	{ 8, IN("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
	    "too_long \"xxxxxxxx\"\nrest=0 discarding" },
	{ 8, IN("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nyyyyyyyyyyyyyyyyyy\n"),
	    "too_long \"xxxxxxxx\"\ntoo_long \"yyyyyyyy\"\nrest=0" },
	/* Discarding ends at the LF; the next line is whole again. */
	{ 8, IN("xxxxxxxxxxxxxxxxxxx\nab"),
	    "too_long \"xxxxxxxx\"\nrest=2" },
	{ 8, IN("xxxxxxxxxx\r\n\r\n"),
	    "too_long \"xxxxxxxx\"\nline crlf \"\"\nrest=0" },
	/* max 0: only empty lines fit. */
	{ 0, IN("\r\n\na\r\n\n"),
	    "line crlf \"\"\nline lf \"\"\ntoo_long \"\"\n"
	    "line lf \"\"\nrest=0" },
	{ 0, IN("\r"), "rest=1" },
	/* CR at the edge of the window. */
	{ 4, IN("abcd\r"), "rest=5" },
	{ 4, IN("abcd\r\n"), "line crlf \"abcd\"\nrest=0" },
	{ 4, IN("abcde\r"), "too_long \"abcd\"\nrest=0 discarding" },
	{ 4, IN("abcd\r\r\n"), "too_long \"abcd\"\nrest=0" },
	/* The LF just past the window is never searched for. */
	{ 4, IN("abcdef\n"), "too_long \"abcd\"\nrest=0" },
	/* Smuggling patterns: never a "." line ended by CRLF. */
	{ 8, IN("x\r\n.\n"), "line crlf \"x\"\nline lf \".\"\nrest=0" },
	{ 8, IN("x\n.\r\n"), "line lf \"x\"\nline crlf \".\" dot\nrest=0" },
	{ 8, IN("x\r\n.\r"), "line crlf \"x\"\nrest=2" },
	{ 8, IN("x\r\n.\r\r\n"),
	    "line crlf \"x\"\nline crlf \".\\r\" cr=1@1\nrest=0" },
	{ 8, IN("x\r\n.\rMAIL\r\n"),
	    "line crlf \"x\"\nline crlf \".\\rMAIL\" cr=1@1\nrest=0" },
	{ 8, IN("x\r.\r\n"), "line crlf \"x\\r.\" cr=1@1\nrest=0" },
	{ 8, IN("x\r\n.\r\n"), "line crlf \"x\"\nline crlf \".\" dot\nrest=0" },
	{ 8, IN("..\r\n"), "line crlf \"..\"\nrest=0" },
};

static void
log_escaped(struct buf *log, const char *p, size_t len)
{
	buf_append_byte(log, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			buf_append_str(log, "\\r");
		else if (c == '\0')
			buf_append_str(log, "\\0");
		else if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
			buf_printf(log, "\\x%02x", c);
		else
			buf_append_byte(log, c);
	}
	buf_append_byte(log, '"');
}

static void
log_event(struct buf *log, enum lr_status st, const struct lr_line *line)
{
	if (st == LR_NEED_MORE)
		return;
	if (st == LR_TOO_LONG) {
		buf_append_str(log, "too_long ");
		log_escaped(log, line->data, line->len);
		buf_append_byte(log, '\n');
		return;
	}
	buf_append_str(log, line->end == LR_END_CRLF ? "line crlf " :
	    "line lf ");
	log_escaped(log, line->data, line->len);
	if (line->bare_cr > 0)
		buf_printf(log, " cr=%zu@%zu", line->bare_cr,
		    line->first_bare_cr);
	if (lr_line_is_dot(line))
		buf_append_str(log, " dot");
	buf_append_byte(log, '\n');
}

/* The caller loop from linereader.h, over a struct buf standing in for
 * the evbuffer. */
static void
drain(struct linereader *lr, struct buf *in, struct buf *log)
{
	struct lr_line line;
	enum lr_status st;

	for (;;) {
		size_t n = in->len < lr_window(lr) ? in->len : lr_window(lr);

		st = lr_next(lr, in->data, n, &line);
		cr_assert_leq(line.consumed, n);
		if (st == LR_LINE) {
			cr_assert_leq(line.len, lr->max);
			cr_assert_null(memchr(line.data, '\n', line.len));
			cr_assert_geq(line.data, in->data);
			cr_assert_leq(line.data + line.len, in->data + n);
		}
		log_event(log, st, &line);
		buf_consume(in, line.consumed);
		if (st == LR_NEED_MORE && line.consumed == 0)
			break;
	}
}

/* Feed the input split at the given offsets (ascending, ending with
 * inlen) and return the event log. */
static char *
run_split(const struct lr_case *c, const size_t *cuts, size_t ncuts)
{
	struct linereader lr;
	struct buf in = BUF_INIT, log = BUF_INIT;
	size_t off = 0;

	lr_init(&lr, c->max);
	for (size_t i = 0; i < ncuts; i++) {
		buf_append(&in, c->in + off, cuts[i] - off);
		off = cuts[i];
		drain(&lr, &in, &log);
	}
	buf_printf(&log, "rest=%zu%s", in.len,
	    lr.discarding ? " discarding" : "");
	buf_release(&in);
	return buf_steal(&log);
}

/* step > 0: pieces of step bytes; step 0: split once at split. */
static char *
run(const struct lr_case *c, size_t step, size_t split)
{
	size_t cuts[128], n = 0;

	if (step == 0) {
		cuts[n++] = split;
	} else {
		for (size_t off = step; off < c->inlen; off += step) {
			cr_assert_lt(n, ARRAY_SIZE(cuts) - 1);
			cuts[n++] = off;
		}
	}
	cuts[n++] = c->inlen;
	return run_split(c, cuts, n);
}

static void
check(const struct lr_case *c, size_t i, size_t step, size_t split)
{
	char *got = run(c, step, split);

	cr_expect_str_eq(got, c->want, "case %zu step %zu split %zu", i,
	    step, split);
	free(got);
}

Test(linereader, table_whole)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check(&cases[i], i, cases[i].inlen + 1, 0);
}

Test(linereader, table_byte_by_byte)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check(&cases[i], i, 1, 0);
}

Test(linereader, table_every_split)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		for (size_t k = 0; k <= cases[i].inlen; k++)
			check(&cases[i], i, 0, k);
}

Test(linereader, never_searches_past_window)
{
	struct linereader lr;
	struct lr_line line;

	/* A caller handing more than the window still gets TOO_LONG. */
	lr_init(&lr, 4);
	cr_assert_eq(lr_window(&lr), 6);
	cr_assert_eq(lr_next(&lr, "abcdef\nok\n", 10, &line), LR_TOO_LONG);
	cr_assert_eq(line.consumed, 6);
	cr_assert(lr.discarding);
	cr_assert_eq(lr_next(&lr, "\nok\n", 4, &line), LR_LINE);
	cr_assert_eq(line.consumed, 4);
	cr_assert_eq(line.len, 2);
	cr_assert(memcmp(line.data, "ok", 2) == 0);
	cr_assert_not(lr.discarding);
}

Test(linereader, discarding_bounded_per_call)
{
	struct linereader lr;
	struct lr_line line;
	static const char junk[64] = { 'x' };

	lr_init(&lr, 4);
	lr.discarding = 1;
	cr_assert_eq(lr_next(&lr, junk, sizeof(junk), &line), LR_NEED_MORE);
	cr_assert_eq(line.consumed, lr_window(&lr));
	cr_assert_eq(lr_next(&lr, junk, 0, &line), LR_NEED_MORE);
	cr_assert_eq(line.consumed, 0);
}

Test(linereader, init_clamps_huge_max)
{
	struct linereader lr;

	lr_init(&lr, SIZE_MAX);
	cr_assert_eq(lr_window(&lr), SIZE_MAX);
	cr_assert_eq(lr.discarding, 0);
}

/* The end-of-DATA rule from linereader.h, as the DATA reader will apply
 * it: returns the offset just past the terminator, or 0. */
static size_t
data_end(const char *in, size_t len)
{
	struct linereader lr;
	struct lr_line line;
	enum lr_end prev = LR_END_CRLF;
	size_t off = 0;

	lr_init(&lr, 998);
	while (lr_next(&lr, in + off, len - off, &line) != LR_NEED_MORE) {
		off += line.consumed;
		if (lr_line_is_dot(&line) && prev == LR_END_CRLF)
			return off;
		prev = line.end;
	}
	return 0;
}

Test(linereader, smtp_smuggling)
{
	static const struct {
		const char	*in;
		size_t		 end;
	} t[] = {
		{ ".\r\n", 3 },
		{ "a\r\n.\r\n", 6 },
		{ "a\r\n.\nMAIL FROM:<x>\r\n", 0 },
		{ "a\n.\r\nMAIL FROM:<x>\r\n", 0 },
		{ "a\r\n.\rMAIL FROM:<x>\r\n", 0 },
		{ "a\r.\r\nMAIL FROM:<x>\r\n", 0 },
		{ "a\n.\nMAIL FROM:<x>\r\n", 0 },
		{ "a\r\n..\r\n", 0 },
		{ "a\r\n. \r\n", 0 },
		{ "a\n.\r\n.\r\n", 8 },
		{ "a\r\n.\n.\r\n", 0 },
		{ "a\r\n.\n\r\n.\r\n", 10 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		cr_expect_eq(data_end(t[i].in, strlen(t[i].in)), t[i].end,
		    "case %zu", i);
}
