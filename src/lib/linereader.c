/* linereader: see linereader.h. */
#include <stdint.h>
#include <string.h>

#include "linereader.h"
#include "util.h"

void
lr_init(struct linereader *lr, size_t max)
{
	/* Keep max + 2 representable. */
	lr->max = max > SIZE_MAX - 2 ? SIZE_MAX - 2 : max;
	lr->discarding = 0;
}

size_t
lr_window(const struct linereader *lr)
{
	return lr->max + 2;
}

static void
lr_count_cr(struct lr_line *line)
{
	const char *p = line->data, *end = line->data + line->len;

	line->bare_cr = 0;
	line->first_bare_cr = 0;
	while (p < end && (p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		if (line->bare_cr++ == 0)
			line->first_bare_cr = (size_t)(p - line->data);
		p++;
	}
}

/* Bytes of discarded line in data[0..len): all of them, or through the
 * LF that ends the overlong line (and then discarding stops). */
static size_t
lr_skip(struct linereader *lr, const char *data, size_t len)
{
	size_t scan = len < lr_window(lr) ? len : lr_window(lr);
	const char *lf = scan > 0 ? memchr(data, '\n', scan) : NULL;

	if (lf == NULL)
		return scan;
	lr->discarding = 0;
	return (size_t)(lf - data) + 1;
}

/* Both callers have seen more than max bytes: report max of them. */
static enum lr_status
lr_too_long(struct linereader *lr, const char *data, size_t seen,
    struct lr_line *line_r)
{
	line_r->data = data;
	line_r->len = lr->max;
	line_r->consumed += seen;
	return LR_TOO_LONG;
}

enum lr_status
lr_next(struct linereader *lr, const void *bytes, size_t len,
    struct lr_line *line_r)
{
	const char *data = bytes, *lf;
	size_t skip = 0, scan, pos;

	memset(line_r, 0, sizeof(*line_r));
	line_r->data = data;
	if (lr->discarding) {
		skip = lr_skip(lr, data, len);
		line_r->consumed = skip;
		if (lr->discarding)
			return LR_NEED_MORE;
		data += skip;
		len -= skip;
		line_r->data = data;
	}

	/* The limit first, then the search: never scan past one line. */
	scan = len < lr_window(lr) ? len : lr_window(lr);
	lf = scan > 0 ? memchr(data, '\n', scan) : NULL;
	if (lf == NULL) {
		if (scan < lr_window(lr))
			return LR_NEED_MORE;
		/* max + 2 bytes without LF: at least max + 1 before CRLF. */
		lr->discarding = 1;
		return lr_too_long(lr, data, scan, line_r);
	}

	pos = (size_t)(lf - data);
	if (pos > 0 && data[pos - 1] == '\r') {
		line_r->end = LR_END_CRLF;
		line_r->len = pos - 1;
	} else {
		line_r->end = LR_END_LF;
		line_r->len = pos;
	}
	if (line_r->len > lr->max)
		return lr_too_long(lr, data, pos + 1, line_r);
	line_r->consumed += pos + 1;
	lr_count_cr(line_r);
	return LR_LINE;
}

bool
lr_line_is_dot(const struct lr_line *line)
{
	return line->end == LR_END_CRLF && line->len == 1 &&
	    line->data[0] == '.';
}
