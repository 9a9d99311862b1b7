/* libFuzzer target for the DATA/BDAT body reader. Each input is read
 * whole and again in pieces the input chooses; both must give the same
 * output and result, and both must agree with a slow reference written
 * straight from the rules (end of data at the first CRLF "." CRLF of the
 * raw bytes, dot-unstuffing per line, bare CR/LF, header facts).
 * Input: control byte, split seed, then the stream. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	struct buf		 out;
	struct data_result	 res;
	bool			 done;
	size_t			 consumed;
	size_t			 calls;
	size_t			 fail_at;	/* sink call that fails; 0 none */
	bool			 failed;
	bool			 chunk;
};

struct ref {
	struct buf	 out;		/* normalised output */
	uint64_t	 raw_size;	/* output size under REJECT */
	uint64_t	 bare_cr, bare_lf;
	unsigned	 received;
	bool		 has_date, has_message_id, has_from;
	bool		 complete, overflow;
	uint64_t	 header_end;
};

static int
sink(void *ctx, const char *p, size_t n)
{
	struct outcome *o = ctx;

	/* Only a big BDAT piece passes through unbatched. */
	if (o->failed || n == 0 || (n > DATA_OUT_SIZE && !o->chunk))
		abort();
	if (o->fail_at != 0 && ++o->calls >= o->fail_at) {
		o->failed = true;
		return -1;
	}
	buf_append(&o->out, p, n);
	return 0;
}

static size_t
next_piece(uint32_t *rng)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 64, 999, 1000, 1001,
	    4096 };

	*rng ^= *rng << 13;
	*rng ^= *rng >> 17;
	*rng ^= *rng << 5;
	return sizes[*rng % ARRAY_SIZE(sizes)] - (*rng >> 8) % 2;
}

static void
run_data(struct data_reader *r, const uint8_t *in, size_t n, uint32_t seed,
    struct outcome *o)
{
	struct buf pend = BUF_INIT;
	size_t off = 0, c;
	enum data_status st = DATA_MORE;

	while (off < n) {
		size_t k = seed == 0 ? n - off : next_piece(&seed);

		if (k == 0 || k > n - off)
			k = k == 0 ? 1 : n - off;
		buf_append(&pend, in + off, k);
		off += k;
		st = data_reader_feed(r, pend.data, pend.len, &c);
		if (c > pend.len)
			abort();
		buf_consume(&pend, c);
		o->consumed += c;
		if (st == DATA_DONE)
			break;
		/* What is left is less than a window and holds no LF. */
		if (pend.len >= data_reader_window(r) ||
		    memchr(pend.data ? pend.data : "", '\n', pend.len))
			abort();
	}
	if (st == DATA_DONE) {
		if (data_reader_feed(r, "x\r\n", 3, &c) != DATA_DONE || c != 0)
			abort();
	} else
		data_reader_finish(r);
	o->done = st == DATA_DONE;
	buf_release(&pend);
}

static void
run_chunk(struct data_reader *r, const uint8_t *in, size_t n, uint32_t seed,
    struct outcome *o)
{
	size_t off = 0;

	while (off < n) {
		size_t k = seed == 0 ? n - off : next_piece(&seed);

		if (k == 0 || k > n - off)
			k = k == 0 ? 1 : n - off;
		if (data_reader_feed_chunk(r, (const char *)in + off, k) != k)
			abort();
		off += k;
	}
	data_reader_finish(r);
	o->consumed = n;
}

static void
run(const struct data_limits *lim, bool chunk, const uint8_t *in, size_t n,
    uint32_t seed, size_t fail_at, struct outcome *o)
{
	struct data_reader r;

	memset(o, 0, sizeof(*o));
	o->fail_at = fail_at;
	o->chunk = chunk;
	data_reader_init(&r, lim, sink, o);
	if (chunk)
		run_chunk(&r, in, n, seed, o);
	else
		run_data(&r, in, n, seed, o);
	o->res = *data_reader_result(&r);
	data_reader_release(&r);
}

static bool
res_equal(const struct data_result *a, const struct data_result *b)
{
	return a->size == b->size && a->errors == b->errors &&
	    a->received == b->received && a->has_date == b->has_date &&
	    a->has_message_id == b->has_message_id &&
	    a->has_from == b->has_from &&
	    a->header_complete == b->header_complete &&
	    a->header_overflow == b->header_overflow &&
	    a->eight_bit == b->eight_bit && a->nul == b->nul &&
	    a->header_end == b->header_end && a->bare_cr == b->bare_cr &&
	    a->bare_lf == b->bare_lf;
}

/* --- the reference --- */

static void
ref_text(struct ref *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r') {
			f->bare_cr++;
			buf_append(&f->out, "\r\n", 2);
		} else
			buf_append(&f->out, p + i, 1);
		f->raw_size++;
	}
}

/* DATA: the body is in[0..n), lines split at LF. */
static void
ref_data(struct ref *f, const uint8_t *in, size_t n)
{
	const uint8_t *p = in, *end = in + n, *lf;
	size_t len;
	bool crlf;

	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((lf != NULL ? lf : end) - p);
		crlf = lf != NULL && len > 0 && p[len - 1] == '\r';
		if (crlf)
			len--;
		/* Only an overlong line lacks an LF here: it has more. */
		if (len > 1 && p[0] == '.') {
			p++;
			len--;
		}
		ref_text(f, p, len);
		if (lf == NULL)
			break;
		buf_append(&f->out, "\r\n", 2);
		f->raw_size += crlf ? 2 : 1;
		if (!crlf)
			f->bare_lf++;
		p = lf + 1;
	}
}

static void
ref_chunk(struct ref *f, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n') {
			buf_append(&f->out, "\r\n", 2);
			f->raw_size += 2;
			i++;
		} else if (in[i] == '\n') {
			f->bare_lf++;
			f->raw_size++;
			buf_append(&f->out, "\r\n", 2);
		} else
			ref_text(f, in + i, 1);
	}
}

static bool
ref_name_char(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static void
ref_field(struct ref *f, const uint8_t *name, size_t n)
{
	static const char *names[] = { "received", "date", "message-id",
	    "from" };
	size_t i, k;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (strlen(names[i]) != n)
			continue;
		for (k = 0; k < n; k++)
			if ((name[k] | 0x20) != names[i][k])
				break;
		if (k == n)
			break;
	}
	if (i == 0)
		f->received++;
	else if (i == 1)
		f->has_date = true;
	else if (i == 2)
		f->has_message_id = true;
	else if (i == 3)
		f->has_from = true;
}

/* One non-empty header line at s; returns false when the scan stops. */
static bool
ref_header_line(struct ref *f, const struct data_limits *lim, size_t s,
    size_t last, size_t *lines)
{
	const uint8_t *o = (const uint8_t *)f->out.data;
	size_t j = s;

	if (s >= lim->max_header_size || *lines >= lim->max_header_lines) {
		f->overflow = true;
		f->header_end = s;
		return false;
	}
	(*lines)++;
	while (j <= last && ref_name_char(o[j]))
		j++;
	size_t k = j;
	while (j > s && k <= last && (o[k] == ' ' || o[k] == '\t'))
		k++;
	if (j > s && k <= last && o[k] == ':' && k < lim->max_header_size)
		ref_field(f, o + s, j - s);
	if (last >= lim->max_header_size) {
		f->overflow = true;
		f->header_end = s;
		return false;
	}
	return true;
}

/* Header facts of the normalised output (every CR starts a CRLF). */
static void
ref_header(struct ref *f, const struct data_limits *lim)
{
	const uint8_t *o = (const uint8_t *)f->out.data;
	size_t len = f->out.len, s = 0, lines = 0, last;
	const uint8_t *lf;

	while (s < len) {
		if (o[s] == '\r') {
			/* An empty line; the output may end inside it. */
			if (s >= lim->max_header_size || (s + 1 < len &&
			    s + 1 >= lim->max_header_size)) {
				f->overflow = true;
			} else if (s + 1 < len)
				f->complete = true;
			f->header_end = s;
			return;
		}
		lf = memchr(o + s, '\n', len - s);
		last = lf != NULL ? (size_t)(lf - o) : len - 1;
		if (!ref_header_line(f, lim, s, last, &lines))
			return;
		if (lf == NULL)
			break;
		s = last + 1;
	}
	f->header_end = s;
}

/* Where DATA ends in in[0..n): past the first CRLF "." CRLF, the first
 * line counting as preceded by CRLF; 0 when it does not. */
static size_t
ref_end(const uint8_t *in, size_t n)
{
	const uint8_t *p;

	if (n >= 3 && memcmp(in, ".\r\n", 3) == 0)
		return 3;
	p = memmem(in, n, "\r\n.\r\n", 5);
	return p != NULL ? (size_t)(p - in) + 5 : 0;
}

static void
check_octets(const struct data_result *r, const struct ref *f)
{
	bool eight = false, nul = false;

	for (size_t i = 0; i < f->out.len; i++) {
		if ((unsigned char)f->out.data[i] >= 0x80)
			eight = true;
		else if (f->out.data[i] == '\0')
			nul = true;
	}
	if (r->eight_bit != eight || r->nul != nul)
		abort();
}

static void
check_output(const struct data_limits *lim, const struct outcome *o,
    const struct ref *f)
{
	const struct data_result *r = &o->res;
	uint64_t size = lim->bare == DATA_BARE_NORMALISE ? f->out.len :
	    f->raw_size;

	if (r->size != size || r->bare_cr != f->bare_cr ||
	    r->bare_lf != f->bare_lf)
		abort();
	if (((r->errors & DATA_ERR_TOO_BIG) != 0) !=
	    (lim->max_size != 0 && size > lim->max_size))
		abort();
	if (((r->errors & DATA_ERR_BARE) != 0) !=
	    (lim->bare == DATA_BARE_REJECT && f->bare_cr + f->bare_lf > 0))
		abort();
	if (lim->max_size != 0 && o->out.len > lim->max_size)
		abort();
	if (r->errors == 0 && (o->out.len != f->out.len || (f->out.len > 0 &&
	    memcmp(o->out.data, f->out.data, f->out.len) != 0)))
		abort();
	/* After an error the sink holds a prefix, at most. */
	if (lim->bare == DATA_BARE_NORMALISE && r->errors != 0 &&
	    (o->out.len > f->out.len || (o->out.len > 0 &&
	    memcmp(o->out.data, f->out.data, o->out.len) != 0)))
		abort();
	if (lim->bare == DATA_BARE_NORMALISE && (r->received != f->received ||
	    r->has_date != f->has_date ||
	    r->has_message_id != f->has_message_id ||
	    r->has_from != f->has_from ||
	    r->header_complete != f->complete ||
	    r->header_overflow != f->overflow ||
	    r->header_end != f->header_end))
		abort();
	check_octets(r, f);
}

static void
check_ref(const struct data_limits *lim, bool chunk, const uint8_t *in,
    size_t n, const struct outcome *o)
{
	struct ref f;
	size_t end = chunk ? 0 : ref_end(in, n);

	memset(&f, 0, sizeof(f));
	if (!chunk && (o->done != (end != 0) || (end != 0 &&
	    o->consumed != end)))
		abort();
	if (chunk)
		ref_chunk(&f, in, n);
	else
		ref_data(&f, in, o->done ? end - 3 : o->consumed);
	ref_header(&f, lim);
	check_output(lim, o, &f);
	buf_release(&f.out);
}

/* Under NORMALISE the output holds CR and LF only as CRLF. */
static void
check_no_bare(const struct outcome *o)
{
	const char *p = o->out.data;

	for (size_t i = 0; i < o->out.len; i++)
		if ((p[i] == '\r' && (i + 1 == o->out.len || p[i + 1] != '\n'))
		    || (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t max_sizes[] = { 0, 1, 5, 64, 1000, 20000 };
	struct data_limits lim;
	struct outcome whole, pieces, failing;
	bool chunk;

	if (size < 2)
		return 0;
	memset(&lim, 0, sizeof(lim));
	lim.bare = (data[0] & 1) ? DATA_BARE_NORMALISE : DATA_BARE_REJECT;
	chunk = (data[0] & 2) != 0;
	lim.max_size = max_sizes[(data[0] >> 2) % ARRAY_SIZE(max_sizes)];
	/* The reference needs the limits spelt out. */
	lim.max_header_lines = DATA_HEADER_LINES;
	lim.max_header_size = DATA_HEADER_SIZE;
	if (data[0] & 0x80) {
		lim.max_header_lines = 1 + (data[0] >> 5 & 3);
		lim.max_header_size = 1 + data[1] % 64;
	}
	run(&lim, chunk, data + 2, size - 2, 0, 0, &whole);
	run(&lim, chunk, data + 2, size - 2, 1 + data[1], 0, &pieces);
	if (!res_equal(&whole.res, &pieces.res) || whole.done != pieces.done ||
	    whole.consumed != pieces.consumed)
		abort();
	/* After an error the sink's content is thrown away; in BDAT how
	 * much of it got there depends on the pieces. */
	if ((!chunk || whole.res.errors == 0) && (whole.out.len !=
	    pieces.out.len || (whole.out.len > 0 && memcmp(whole.out.data,
	    pieces.out.data, whole.out.len) != 0)))
		abort();
	check_ref(&lim, chunk, data + 2, size - 2, &whole);
	/* (After an error the sink may stop inside a CRLF.) */
	if (lim.bare == DATA_BARE_NORMALISE && whole.res.errors == 0)
		check_no_bare(&whole);
	/* A sink failure latches, and changes nothing but errors. */
	run(&lim, chunk, data + 2, size - 2, 1 + data[1], 1, &failing);
	if (failing.done != whole.done || failing.consumed != whole.consumed ||
	    failing.out.len != 0 || ((failing.res.errors & DATA_ERR_SINK) != 0)
	    != (pieces.out.len > 0))
		abort();
	failing.res.errors &= ~DATA_ERR_SINK;
	if (!res_equal(&failing.res, &whole.res))
		abort();
	buf_release(&whole.out);
	buf_release(&pieces.out);
	buf_release(&failing.out);
	return 0;
}
