/* data: see data.h. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "data.h"
#include "linereader.h"
#include "util.h"

enum data_mode {
	MODE_NONE,
	MODE_DATA,
	MODE_CHUNK
};

/* How a piece of a DATA line ends. */
enum data_end {
	END_NONE,	/* the line goes on in the next piece */
	END_CRLF,
	END_LF
};

/* Header scan state, on output bytes. */
enum hdr_state {
	HDR_LINE_START,
	HDR_LINE_CR,	/* a line that so far is one CR: empty if LF follows */
	HDR_NAME,
	HDR_NAME_WSP,	/* obsolete syntax: "Received :" */
	HDR_REST,	/* not a field name any more: wait for the LF */
	HDR_DONE
};

static const char crlf[] = "\r\n";

void
data_reader_init(struct data_reader *r, const struct data_limits *lim,
    data_sink_fn sink, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->lim = *lim;
	if (r->lim.max_header_lines == 0)
		r->lim.max_header_lines = DATA_HEADER_LINES;
	if (r->lim.max_header_size == 0)
		r->lim.max_header_size = DATA_HEADER_SIZE;
	r->sink = sink;
	r->ctx = ctx;
	lr_init(&r->lr, DATA_LINE_MAX);
	r->out = xmalloc(DATA_OUT_SIZE);
	r->mode = MODE_NONE;
	r->prev_crlf = true;
	r->hstate = HDR_LINE_START;
}

void
data_reader_release(struct data_reader *r)
{
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}

size_t
data_reader_window(const struct data_reader *r)
{
	return lr_window(&r->lr);
}

const struct data_result *
data_reader_result(const struct data_reader *r)
{
	return &r->res;
}

/* --- output: batching and the sink --- */

static void
out_sink(struct data_reader *r, const char *p, size_t n)
{
	if (n > 0 && r->res.errors == 0 && r->sink(r->ctx, p, n) < 0)
		r->res.errors |= DATA_ERR_SINK;
}

static void
out_flush(struct data_reader *r)
{
	out_sink(r, r->out, r->out_len);
	r->out_len = 0;
}

static void
out_write(struct data_reader *r, const char *p, size_t n)
{
	size_t room;

	if (r->res.errors != 0) {
		/* Nothing more reaches the sink: drop what waits too. */
		r->out_len = 0;
		return;
	}
	if (r->out_len == 0 && n >= DATA_OUT_SIZE) {
		out_sink(r, p, n);
		return;
	}
	while (n > 0) {
		room = DATA_OUT_SIZE - r->out_len;
		if (room > n)
			room = n;
		memcpy(r->out + r->out_len, p, room);
		r->out_len += room;
		p += room;
		n -= room;
		if (r->out_len == DATA_OUT_SIZE)
			out_flush(r);
	}
}

/* --- header scan --- */

static bool
hdr_name_char(unsigned char c)
{
	/* RFC 5322 ftext */
	return c >= 33 && c <= 126 && c != ':';
}

static void
hdr_stop(struct data_reader *r, uint64_t end, bool complete)
{
	r->res.header_end = end;
	if (complete)
		r->res.header_complete = true;
	else
		r->res.header_overflow = true;
	r->hstate = HDR_DONE;
}

/* A non-empty line begins: false when it is one too many. */
static bool
hdr_line_begin(struct data_reader *r)
{
	if (r->hlines >= r->lim.max_header_lines) {
		hdr_stop(r, r->hline_start, false);
		return false;
	}
	r->hlines++;
	r->hname_len = 0;
	return true;
}

static bool
hdr_name_is(const struct data_reader *r, const char *name)
{
	size_t n = strlen(name);

	return r->hname_len == n && memcmp(r->hname, name, n) == 0;
}

static void
hdr_field(struct data_reader *r)
{
	if (hdr_name_is(r, "received")) {
		if (r->res.received < UINT_MAX)
			r->res.received++;
	} else if (hdr_name_is(r, "date"))
		r->res.has_date = true;
	else if (hdr_name_is(r, "message-id"))
		r->res.has_message_id = true;
	else if (hdr_name_is(r, "from"))
		r->res.has_from = true;
}

static void
hdr_name_add(struct data_reader *r, unsigned char c)
{
	if (r->hname_len < sizeof(r->hname))
		r->hname[r->hname_len] = (char)(c >= 'A' && c <= 'Z' ?
		    c - 'A' + 'a' : c);
	/* Longer names match nothing: the length says so. */
	if (r->hname_len <= sizeof(r->hname))
		r->hname_len++;
}

/* The first octet of a line that is not empty. */
static void
hdr_first(struct data_reader *r, unsigned char c)
{
	if (!hdr_line_begin(r))
		return;
	if (hdr_name_char(c)) {
		hdr_name_add(r, c);
		r->hstate = HDR_NAME;
	} else
		r->hstate = HDR_REST;	/* continuation, or not a field */
}

static void
hdr_byte(struct data_reader *r, unsigned char c, uint64_t off)
{
	if (off >= r->lim.max_header_size) {
		hdr_stop(r, r->hline_start, false);
		return;
	}
	if (c == '\n' && r->hstate != HDR_LINE_START &&
	    r->hstate != HDR_LINE_CR) {
		r->hstate = HDR_LINE_START;
		r->hline_start = off + 1;
		return;
	}
	switch (r->hstate) {
	case HDR_LINE_START:
		if (c == '\n')
			hdr_stop(r, off, true);
		else if (c == '\r')
			r->hstate = HDR_LINE_CR;
		else
			hdr_first(r, c);
		break;
	case HDR_LINE_CR:
		if (c == '\n')
			hdr_stop(r, r->hline_start, true);
		else if (hdr_line_begin(r))
			r->hstate = HDR_REST;
		break;
	case HDR_NAME:
		if (c == ':') {
			hdr_field(r);
			r->hstate = HDR_REST;
		} else if (c == ' ' || c == '\t')
			r->hstate = HDR_NAME_WSP;
		else if (hdr_name_char(c))
			hdr_name_add(r, c);
		else
			r->hstate = HDR_REST;
		break;
	case HDR_NAME_WSP:
		if (c == ':') {
			hdr_field(r);
			r->hstate = HDR_REST;
		} else if (c != ' ' && c != '\t')
			r->hstate = HDR_REST;
		break;
	default:
		break;
	}
}

/* --- the output path: every output octet passes here once --- */

static void
scan_octets(struct data_reader *r, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !(r->res.eight_bit && r->res.nul); i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x80)
			r->res.eight_bit = true;
		else if (c == 0)
			r->res.nul = true;
	}
}

static void
data_emit(struct data_reader *r, const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	for (i = 0; i < n && r->hstate != HDR_DONE; i++)
		hdr_byte(r, (unsigned char)p[i], r->res.size + i);
	scan_octets(r, p, n);
	r->res.size += n;
	if (r->lim.max_size != 0 && r->res.size > r->lim.max_size)
		r->res.errors |= DATA_ERR_TOO_BIG;
	out_write(r, p, n);
}

/* A CR or LF that is not part of a CRLF. */
static void
data_bare(struct data_reader *r, char c)
{
	if (c == '\r')
		r->res.bare_cr++;
	else
		r->res.bare_lf++;
	if (r->lim.bare == DATA_BARE_NORMALISE)
		data_emit(r, crlf, 2);
	else {
		r->res.errors |= DATA_ERR_BARE;
		data_emit(r, &c, 1);	/* counted like the rest */
	}
}

/* Text in which every CR is bare (no LF inside). */
static void
data_text(struct data_reader *r, const char *p, size_t n)
{
	const char *end = p + n, *cr;

	while (p < end && (cr = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		data_emit(r, p, (size_t)(cr - p));
		data_bare(r, '\r');
		p = cr + 1;
	}
	data_emit(r, p, (size_t)(end - p));
}

void
data_reader_finish(struct data_reader *r)
{
	if (r->finished)
		return;
	r->finished = true;
	if (r->pending_cr) {
		r->pending_cr = false;
		data_bare(r, '\r');
	}
	if (r->hstate != HDR_DONE)
		r->res.header_end = r->hline_start;
	out_flush(r);
	free(r->out);
	r->out = NULL;
}

/* --- DATA --- */

/*
 * One line, or a piece of an overlong one, without its ending. Returns
 * true at the end of data. Only a real line start is looked at for dots.
 */
static bool
data_line(struct data_reader *r, const char *p, size_t n, enum data_end end)
{
	if (!r->mid_line && n > 0 && p[0] == '.') {
		if (n == 1 && end == END_CRLF && r->prev_crlf)
			return true;
		/* A piece that does not end the line has more after it. */
		if (n > 1 || end == END_NONE) {
			p++;
			n--;
		}
	}
	r->mid_line = end == END_NONE;
	if (end != END_NONE)
		r->prev_crlf = end == END_CRLF;
	if (end == END_CRLF && memchr(p, '\r', n) == NULL) {
		/* The line and its CRLF are contiguous in the input. */
		data_emit(r, p, n + 2);
		return false;
	}
	data_text(r, p, n);
	if (end == END_CRLF)
		data_emit(r, crlf, 2);
	else if (end == END_LF)
		data_bare(r, '\n');
	return false;
}

/*
 * The line reader found a line longer than DATA_LINE_MAX and consumed n
 * octets of it, all of them line content (it was not discarding when
 * called). Its reaction, discarding the rest, would corrupt the message:
 * a fresh start makes the rest of the line the next "line" instead, and
 * mid_line keeps that from counting as a line start. Returns the octets
 * used, which may leave a final CR to be read again with what follows it,
 * since it may be the first half of a CRLF.
 */
static size_t
data_piece(struct data_reader *r, const char *p, size_t n)
{
	lr_init(&r->lr, DATA_LINE_MAX);
	if (p[n - 1] == '\n') {
		if (n >= 2 && p[n - 2] == '\r')
			(void)data_line(r, p, n - 2, END_CRLF);
		else
			(void)data_line(r, p, n - 1, END_LF);
		return n;
	}
	if (p[n - 1] == '\r' && n > 1)
		n--;
	(void)data_line(r, p, n, END_NONE);
	return n;
}

enum data_status
data_reader_feed(struct data_reader *r, const char *buf, size_t len,
    size_t *consumed_r)
{
	struct lr_line line;
	enum lr_status st;
	size_t pos = 0, n, window = lr_window(&r->lr);

	*consumed_r = 0;
	if (r->finished)
		return DATA_DONE;
	if (r->mode == MODE_CHUNK)
		fatal("data: DATA input to a BDAT reader");
	r->mode = MODE_DATA;
	while (pos < len) {
		n = len - pos < window ? len - pos : window;
		st = lr_next(&r->lr, buf + pos, n, &line);
		if (st == LR_NEED_MORE) {
			/* Never discarding, so nothing is consumed here. */
			if (line.consumed != 0)
				fatal("data: line reader dropped %zu octets",
				    line.consumed);
			break;
		}
		if (line.data != buf + pos)
			fatal("data: line reader skipped octets");
		if (st == LR_TOO_LONG) {
			pos += data_piece(r, buf + pos, line.consumed);
			continue;
		}
		pos += line.consumed;
		if (data_line(r, line.data, line.len, line.end == LR_END_CRLF ?
		    END_CRLF : END_LF)) {
			data_reader_finish(r);
			break;
		}
	}
	*consumed_r = pos;
	return r->finished ? DATA_DONE : DATA_MORE;
}

/* --- BDAT --- */

/*
 * The octets of [p, stop) up to its last one, where stop is an LF or the
 * end of the piece: every CR before stop - 1 is bare. Emits the pending
 * run through the last bare CR and returns where the run now starts.
 */
static const char *
chunk_bare_crs(struct data_reader *r, const char *run, const char *p,
    const char *stop)
{
	const char *cr;

	while (p + 1 < stop &&
	    (cr = memchr(p, '\r', (size_t)(stop - 1 - p))) != NULL) {
		data_emit(r, run, (size_t)(cr - run));
		data_bare(r, '\r');
		run = p = cr + 1;
	}
	return run;
}

/*
 * Runs of well-formed text (CRLF lines) reach data_emit() whole, so a big
 * clean chunk is one call and may pass through to the sink uncopied.
 */
size_t
data_reader_feed_chunk(struct data_reader *r, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *run, *lf;

	if (r->finished)
		fatal("data: BDAT input after the last chunk");
	if (r->mode == MODE_DATA)
		fatal("data: BDAT input to a DATA reader");
	r->mode = MODE_CHUNK;
	if (len > 0 && r->pending_cr) {
		r->pending_cr = false;
		if (*p == '\n') {
			data_emit(r, crlf, 2);
			p++;
		} else
			data_bare(r, '\r');
	}
	for (run = p; p < end; p = lf + 1) {
		lf = memchr(p, '\n', (size_t)(end - p));
		run = chunk_bare_crs(r, run, p, lf != NULL ? lf : end);
		if (lf == NULL) {
			/* A final CR waits for the next piece's first octet. */
			r->pending_cr = end[-1] == '\r';
			data_emit(r, run, (size_t)(end - run - r->pending_cr));
			return len;
		}
		if (lf == p || lf[-1] != '\r') {
			data_emit(r, run, (size_t)(lf - run));
			data_bare(r, '\n');
			run = lf + 1;
		}
	}
	data_emit(r, run, (size_t)(end - run));
	return len;
}
