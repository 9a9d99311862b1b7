/*
 * libFuzzer target for src/smtpc/reply.c. The first byte picks small or
 * default limits; the rest is what a server sends. It is parsed whole
 * and again one byte at a time (keeping what is not consumed, as the
 * glue does): both runs must see the same replies and the same error.
 * Every reply must keep its promises: a valid code, 1..lines_max lines
 * with no control character but TAB, text within size_max, a status of
 * the code's class, a join that is bounded and printable; the EHLO
 * parser must take any reply.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "reply.h"
#include "util.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct limits {
	size_t	line, lines, size;
};

static void
check_status(const char *st, int code)
{
	size_t n = strlen(st), dots = 0;

	if (n == 0)
		return;
	CHECK(n >= 5 && n < SMTPC_STATUS_MAX);
	CHECK(st[0] == '0' + code / 100 && st[0] != '3');
	for (size_t i = 1; i < n; i++) {
		if (st[i] == '.')
			dots++;
		else
			CHECK(st[i] >= '0' && st[i] <= '9');
	}
	CHECK(dots == 2 && st[1] == '.' && st[n - 1] != '.');
}

/* Check one reply and append a record of it to rec. */
static void
check_reply(const struct smtpc_reply *r, const struct limits *l,
    struct buf *rec)
{
	struct buf j = BUF_INIT;
	struct smtpc_caps caps;
	size_t text = 0;
	const char *t;

	CHECK(r->code >= 200 && r->code <= 559 && r->code % 100 <= 59);
	CHECK(r->nlines >= 1 && r->nlines <= l->lines);
	check_status(r->status, r->code);
	for (size_t i = 0; i < r->nlines; i++) {
		t = smtpc_reply_line(r, i);
		CHECK(t != NULL);
		CHECK(strlen(t) + 4 <= l->line);
		for (; *t != '\0'; t++, text++)
			CHECK(((unsigned char)*t >= 0x20 || *t == '\t') &&
			    *t != 0x7f);
	}
	CHECK(smtpc_reply_line(r, r->nlines) == NULL);
	CHECK(text <= l->size && text + r->nlines == r->text.len);
	smtpc_reply_join(r, &j, 64);
	CHECK(j.len <= 64 + 3);
	for (size_t i = 0; i < j.len; i++)
		CHECK(j.data[i] >= 0x20 && j.data[i] <= 0x7e);
	smtpc_caps_parse(r, &caps);
	buf_printf(rec, "%d %s %zu:", r->code, r->status, r->nlines);
	buf_append(rec, r->text.data, r->text.len);
	buf_append_byte(rec, '|');
	buf_release(&j);
}

static void
run_whole(const uint8_t *data, size_t size, const struct limits *l,
    struct buf *rec)
{
	struct smtpc_reply_parser p;
	enum smtpc_parse st;
	const char *err = NULL;
	size_t off = 0, n;

	smtpc_reply_parser_init(&p, l->line, l->lines, l->size);
	for (;;) {
		st = smtpc_reply_parse(&p, data + off, size - off, &n, &err);
		CHECK(n <= size - off);
		off += n;
		if (st == SMTPC_PARSE_REPLY) {
			CHECK(n > 0);
			check_reply(&p.reply, l, rec);
			continue;
		}
		if (st == SMTPC_PARSE_ERROR)
			buf_printf(rec, "error %s", err);
		break;
	}
	smtpc_reply_parser_release(&p);
}

static void
run_bytes(const uint8_t *data, size_t size, const struct limits *l,
    struct buf *rec)
{
	struct smtpc_reply_parser p;
	struct buf pending = BUF_INIT;
	enum smtpc_parse st;
	const char *err = NULL;
	size_t n;
	bool failed = false;

	smtpc_reply_parser_init(&p, l->line, l->lines, l->size);
	for (size_t i = 0; i < size && !failed; i++) {
		buf_append(&pending, data + i, 1);
		do {
			st = smtpc_reply_parse(&p, pending.data, pending.len,
			    &n, &err);
			buf_consume(&pending, n);
			if (st == SMTPC_PARSE_REPLY)
				check_reply(&p.reply, l, rec);
		} while (st == SMTPC_PARSE_REPLY);
		if (st == SMTPC_PARSE_ERROR) {
			buf_printf(rec, "error %s", err);
			failed = true;
		}
		/* Never more than a line's window held back. */
		CHECK(pending.len <= l->line + 2);
	}
	buf_release(&pending);
	smtpc_reply_parser_release(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct limits l = { SMTPC_REPLY_LINE_MAX, SMTPC_REPLY_LINES_MAX,
	    SMTPC_REPLY_SIZE_MAX };
	struct buf whole = BUF_INIT, bytes = BUF_INIT;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		l.line = 16 + (data[0] >> 4);
		l.lines = 1 + ((data[0] >> 1) & 7);
		l.size = 8 + (data[0] >> 2);
	}
	run_whole(data + 1, size - 1, &l, &whole);
	run_bytes(data + 1, size - 1, &l, &bytes);
	CHECK(whole.len == bytes.len);
	CHECK(whole.len == 0 || memcmp(whole.data, bytes.data, whole.len) == 0);
	buf_release(&whole);
	buf_release(&bytes);
	return 0;
}
