/* libFuzzer target for linereader: checks each line against its bytes,
 * and that feeding the input whole or in fuzzer-chosen pieces gives the
 * same events. Input: max, piece-size seed, then the stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "linereader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_line(const struct linereader *lr, const char *p, size_t n,
    const struct lr_line *line)
{
	const char *end = line->data + line->len;
	size_t cr = 0;

	if (line->len > lr->max || line->data < p || end >= p + n)
		abort();
	if (memchr(line->data, '\n', line->len) != NULL)
		abort();
	if (line->end == LR_END_CRLF ? memcmp(end, "\r\n", 2) != 0 :
	    end[0] != '\n' || (end > line->data && end[-1] == '\r'))
		abort();
	for (size_t i = 0; i < line->len; i++)
		if (line->data[i] == '\r' && cr++ == 0 &&
		    line->first_bare_cr != i)
			abort();
	if (cr != line->bare_cr)
		abort();
}

static void
drain(struct linereader *lr, struct buf *in, struct buf *log)
{
	struct lr_line line;
	enum lr_status st;

	for (;;) {
		size_t n = in->len < lr_window(lr) ? in->len : lr_window(lr);

		st = lr_next(lr, in->data, n, &line);
		if (line.consumed > n)
			abort();
		if (st == LR_LINE) {
			check_line(lr, in->data, n, &line);
			buf_printf(log, "L%d:%zu:", line.end, line.len);
			buf_append(log, line.data, line.len);
		} else if (st == LR_TOO_LONG) {
			if (line.len != lr->max)
				abort();
			buf_append_str(log, "T");
		}
		buf_consume(in, line.consumed);
		if (st == LR_NEED_MORE && line.consumed == 0)
			break;
	}
}

static void
run(size_t max, const uint8_t *data, size_t size, unsigned seed,
    struct buf *log)
{
	struct linereader lr;
	struct buf in = BUF_INIT;
	size_t off = 0;

	lr_init(&lr, max);
	while (off < size) {
		size_t n = seed == 0 ? size - off : 1 + (seed + off) % 7;

		if (n > size - off)
			n = size - off;
		buf_append(&in, data + off, n);
		off += n;
		drain(&lr, &in, log);
	}
	/* In sync: what is left never holds a complete line. */
	if (!lr.discarding && memchr(in.data ? in.data : "", '\n', in.len))
		abort();
	buf_printf(log, "|%zu|%d", in.len, lr.discarding);
	buf_release(&in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole = BUF_INIT, pieces = BUF_INIT;

	if (size < 2)
		return 0;
	run(data[0] % 64, data + 2, size - 2, 0, &whole);
	run(data[0] % 64, data + 2, size - 2, 1 + data[1], &pieces);
	if (whole.len != pieces.len ||
	    memcmp(whole.data, pieces.data, whole.len) != 0)
		abort();
	buf_release(&whole);
	buf_release(&pieces);
	return 0;
}
