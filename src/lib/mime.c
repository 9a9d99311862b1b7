/* mime: see mime.h. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "util.h"

struct mime_ctx {
	const char	*msg;
	size_t		 len;
	size_t		 nparts;
};

/* A cursor over an unfolded field value. */
struct lex {
	const char	*p;
	const char	*end;
};

/* One name=value item before RFC 2231 sections are joined. */
struct raw_param {
	char		*name;		/* lower-case base name */
	int		 section;	/* -1: none */
	bool		 ext;		/* name ended in '*' */
	const char	*val;
	size_t		 vlen;
	struct buf	 qbuf;		/* unescaped quoted-string */
};

static void part_parse(struct mime_ctx *, struct mime_part *, size_t,
    size_t, bool);

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * The line at pos: its content is [pos, *le_r) without the CR of a CRLF,
 * and the next line starts at *next_r.
 */
static void
line_next(const char *msg, size_t pos, size_t end, size_t *le_r,
    size_t *next_r)
{
	const char *lf = memchr(msg + pos, '\n', end - pos);
	size_t i;

	if (lf == NULL) {
		*le_r = end;
		*next_r = end;
		return;
	}
	i = (size_t)(lf - msg);
	*next_r = i + 1;
	*le_r = (i > pos && msg[i - 1] == '\r') ? i - 1 : i;
}

/* Offset just past the empty line ending the header, or end. */
static size_t
header_end(const char *msg, size_t start, size_t end)
{
	size_t pos = start, le, next;

	while (pos < end) {
		line_next(msg, pos, end, &le, &next);
		if (le == pos && next > pos)
			return next;
		pos = next;
	}
	return end;
}

static size_t
lines_count(const char *p, size_t len)
{
	size_t n = 0, i = 0;
	const char *lf;

	while (i < len && (lf = memchr(p + i, '\n', len - i)) != NULL) {
		n++;
		i = (size_t)(lf - p) + 1;
	}
	if (len > 0 && p[len - 1] != '\n')
		n++;
	return n;
}

/* Append one physical field line's content to v, trimmed at the start
 * only for the first line so that folding white space survives. */
static int
field_value_collect(const char *msg, size_t pos, size_t le, size_t end,
    size_t next, struct buf *v)
{
	size_t le2, next2;

	if (buf_append(v, msg + pos, le - pos) < 0)
		return -1;
	while (next < end && is_wsp((unsigned char)msg[next])) {
		line_next(msg, next, end, &le2, &next2);
		if (buf_append(v, msg + next, le2 - next) < 0)
			return -1;
		next = next2;
	}
	return 0;
}

static void
buf_trim(struct buf *v)
{
	size_t s = 0, e = v->len;

	while (s < e && is_wsp((unsigned char)v->data[s]))
		s++;
	while (e > s && is_wsp((unsigned char)v->data[e - 1]))
		e--;
	buf_truncate(v, e);
	buf_consume(v, s);
}

static int
header_find(const char *msg, size_t start, size_t end, const char *name,
    struct buf *v)
{
	size_t pos = start, le, next, c, ne, nlen = strlen(name);
	const char *colon;

	buf_reset(v);
	while (pos < end) {
		line_next(msg, pos, end, &le, &next);
		if (le == pos)
			break;
		if (is_wsp((unsigned char)msg[pos]) ||
		    (colon = memchr(msg + pos, ':', le - pos)) == NULL) {
			pos = next;
			continue;
		}
		c = (size_t)(colon - msg);
		for (ne = c; ne > pos && is_wsp((unsigned char)msg[ne - 1]);)
			ne--;
		if (ne - pos == nlen && nlen > 0 &&
		    mem_case_equal(msg + pos, name, nlen)) {
			if (field_value_collect(msg, c + 1, le, end, next,
			    v) < 0) {
				buf_reset(v);
				return -1;
			}
			buf_trim(v);
			return 1;
		}
		pos = next;
	}
	return 0;
}

int
mime_header_get(const struct mime_part *part, const char *msg,
    const char *name, struct buf *value_r)
{
	return header_find(msg, part->hdr_off, part->hdr_off + part->hdr_len,
	    name, value_r);
}

/* --- RFC 2045 lexing --- */

static void
lex_skip_cfws(struct lex *lx)
{
	int depth;

	while (lx->p < lx->end) {
		unsigned char c = (unsigned char)*lx->p;

		if (is_wsp(c) || c == '\r' || c == '\n') {
			lx->p++;
			continue;
		}
		if (c != '(')
			return;
		/* A comment, nested, with quoted-pairs; unterminated ones
		 * run to the end of the value. */
		for (depth = 0; lx->p < lx->end; lx->p++) {
			if (*lx->p == '\\' && lx->p + 1 < lx->end)
				lx->p++;
			else if (*lx->p == '(')
				depth++;
			else if (*lx->p == ')' && --depth == 0) {
				lx->p++;
				break;
			}
		}
	}
}

static bool
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A token as a new lower-case string, or NULL when there is none. */
static char *
lex_token_lower(struct lex *lx)
{
	const char *s = lx->p;
	char *t;
	size_t i, n;

	while (lx->p < lx->end && is_token_char((unsigned char)*lx->p))
		lx->p++;
	n = (size_t)(lx->p - s);
	if (n == 0)
		return NULL;
	t = xstrndup(s, n);
	for (i = 0; i < n; i++)
		t[i] = (char)ascii_lower((unsigned char)t[i]);
	return t;
}

static void
lex_skip_to_semicolon(struct lex *lx)
{
	while (lx->p < lx->end && *lx->p != ';') {
		if (*lx->p == '"') {
			for (lx->p++; lx->p < lx->end && *lx->p != '"'; lx->p++)
				if (*lx->p == '\\' && lx->p + 1 < lx->end)
					lx->p++;
			if (lx->p == lx->end)
				return;
		}
		lx->p++;
	}
}

/*
 * A parameter value: a quoted-string (unescaped into rp->qbuf) or,
 * leniently, any run of bytes up to white space, ';' or '"', so that
 * unquoted 8-bit or tspecial-laden filenames still come through and a
 * trailing comment ("us-ascii (Plain text)") does not.
 */
static void
lex_param_value(struct lex *lx, struct raw_param *rp)
{
	const char *s;

	if (lx->p < lx->end && *lx->p == '"') {
		buf_init(&rp->qbuf, 0);
		for (lx->p++; lx->p < lx->end && *lx->p != '"'; lx->p++) {
			if (*lx->p == '\\' && lx->p + 1 < lx->end)
				lx->p++;
			if (*lx->p != '\r' && *lx->p != '\n')
				buf_append_byte(&rp->qbuf, (uint8_t)*lx->p);
		}
		if (lx->p < lx->end)
			lx->p++;
		rp->val = rp->qbuf.data != NULL ? rp->qbuf.data : "";
		rp->vlen = rp->qbuf.len;
		return;
	}
	for (s = lx->p; lx->p < lx->end; lx->p++) {
		unsigned char c = (unsigned char)*lx->p;

		if (c <= 0x20 || c == 0x7f || c == ';' || c == '"')
			break;
	}
	rp->val = s;
	rp->vlen = (size_t)(lx->p - s);
}

/* Split "name*3*" into base name, section and the extended flag. */
static void
raw_param_name(struct raw_param *rp, char *name)
{
	size_t n = strlen(name), d;

	rp->name = name;
	rp->section = -1;
	rp->ext = false;
	if (n > 1 && name[n - 1] == '*') {
		rp->ext = true;
		name[--n] = '\0';
	}
	for (d = n; d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9';)
		d--;
	if (d > 1 && d < n && name[d - 1] == '*' && n - d <= 3 &&
	    (name[d] != '0' || n - d == 1)) {
		rp->section = atoi(name + d);
		name[d - 1] = '\0';
	}
}

/* Read up to MIME_PARAMS_MAX name=value items; returns how many. */
static size_t
params_lex(struct lex *lx, struct raw_param *rps)
{
	size_t n = 0;
	char *name;

	while (lx->p < lx->end && n < MIME_PARAMS_MAX) {
		lex_skip_cfws(lx);
		if (lx->p < lx->end && *lx->p == ';') {
			lx->p++;
			continue;
		}
		if ((name = lex_token_lower(lx)) == NULL) {
			lex_skip_to_semicolon(lx);
			continue;
		}
		lex_skip_cfws(lx);
		if (lx->p == lx->end || *lx->p != '=') {
			free(name);
			lex_skip_to_semicolon(lx);
			continue;
		}
		lx->p++;
		lex_skip_cfws(lx);
		memset(&rps[n], 0, sizeof(rps[n]));
		raw_param_name(&rps[n], name);
		lex_param_value(lx, &rps[n]);
		n++;
		lex_skip_to_semicolon(lx);
	}
	return n;
}

/* --- RFC 2231 --- */

static void
pct_decode(const char *s, size_t n, struct buf *out)
{
	size_t i;
	int h, l;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    (h = hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (l = hex_value((unsigned char)s[i + 2])) >= 0) {
			buf_append_byte(out, (uint8_t)(h * 16 + l));
			i += 2;
		} else
			buf_append_byte(out, (uint8_t)s[i]);
	}
}

static void
pct_encode(const char *s, size_t n, struct buf *out)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (is_token_char(c) && c != '*' && c != '\'' && c != '%')
			buf_append_byte(out, c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

static bool
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		if (s[i] == 0)
			return false;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4, cp = s[i] & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static bool
ascii_valid(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == 0 || s[i] >= 0x80)
			return false;
	return true;
}

/* Whether decoded bytes in this charset can be handed out as UTF-8. */
static bool
charset_decodable(const char *cs, size_t cslen, const struct buf *dec)
{
	const unsigned char *d = (const unsigned char *)dec->data;

	if (dec->len == 0)
		return true;
	if ((cslen == 5 && mem_case_equal(cs, "utf-8", 5)) ||
	    (cslen == 4 && mem_case_equal(cs, "utf8", 4)))
		return utf8_valid(d, dec->len);
	if (cslen == 0 || (cslen == 8 && mem_case_equal(cs, "us-ascii", 8)))
		return ascii_valid(d, dec->len);
	return false;
}

/*
 * Join pieces[0..n) (sections in order, or one extended value) into out.
 * Only the first piece may carry charset'lang'.
 */
static void
param_join(struct raw_param **pieces, size_t n, struct mime_param *out)
{
	struct buf dec = BUF_INIT, raw = BUF_INIT;
	const char *v = pieces[0]->val, *q1 = NULL, *q2 = NULL, *cs = "";
	size_t vlen = pieces[0]->vlen, cslen = 0, i, skip = 0;
	bool any_ext = false;

	if (pieces[0]->ext &&
	    (q1 = memchr(v, '\'', vlen)) != NULL &&
	    (q2 = memchr(q1 + 1, '\'', vlen - (size_t)(q1 - v) - 1)) != NULL) {
		cs = v;
		cslen = (size_t)(q1 - v);
		skip = (size_t)(q2 - v) + 1;
	}
	for (i = 0; i < n; i++) {
		const char *s = pieces[i]->val + (i == 0 ? skip : 0);
		size_t sl = pieces[i]->vlen - (i == 0 ? skip : 0);

		if (pieces[i]->ext) {
			any_ext = true;
			pct_decode(s, sl, &dec);
			buf_append(&raw, s, sl);
		} else {
			buf_append(&dec, s, sl);
			pct_encode(s, sl, &raw);
		}
	}
	if (!any_ext || charset_decodable(cs, cslen, &dec)) {
		out->value = xstrdup(buf_cstr(&dec));
		out->flags = 0;
	} else {
		struct buf full = BUF_INIT;

		/* Keep charset'lang' (or supply an empty one) so the value
		 * stays a valid RFC 2231 extended value. */
		if (skip > 0)
			buf_append(&full, v, skip);
		else
			buf_append_str(&full, "''");
		if (raw.len > 0)
			buf_append(&full, raw.data, raw.len);
		out->value = buf_steal(&full);
		out->flags = MIME_PARAM_F_RAW2231;
	}
	buf_release(&dec);
	buf_release(&raw);
}

static bool
raw_is(const struct raw_param *rp, const char *name, int section, bool ext)
{
	return strcmp(rp->name, name) == 0 && rp->section == section &&
	    (section >= 0 || rp->ext == ext);
}

static struct raw_param *
raw_find(struct raw_param *rps, size_t n, const char *name, int section,
    bool ext)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (raw_is(&rps[i], name, section, ext))
			return &rps[i];
	return NULL;
}

/* Build the final parameter for rps[i]'s base name: sections from 0 up
 * to the first gap win over a single extended value over a plain one. */
static void
param_build(struct raw_param *rps, size_t n, const char *name,
    struct mime_param *out)
{
	struct raw_param *pieces[MIME_PARAMS_MAX], *rp;
	size_t np = 0;

	while (np < n && (rp = raw_find(rps, n, name, (int)np,
	    false)) != NULL)
		pieces[np++] = rp;
	if (np == 0 && (rp = raw_find(rps, n, name, -1, true)) != NULL)
		pieces[np++] = rp;
	out->name = xstrdup(name);
	if (np > 0) {
		param_join(pieces, np, out);
		return;
	}
	rp = raw_find(rps, n, name, -1, false);
	out->value = rp != NULL ? xstrndup(rp->val, rp->vlen) : xstrdup("");
	out->flags = 0;
}

static void
params_parse(struct lex *lx, struct mime_param **params_r, size_t *count_r)
{
	struct raw_param *rps = xcalloc(MIME_PARAMS_MAX, sizeof(*rps));
	struct mime_param *out;
	size_t n, i, j, cnt = 0;

	n = params_lex(lx, rps);
	out = n > 0 ? xcalloc(n, sizeof(*out)) : NULL;
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(rps[j].name, rps[i].name) == 0)
				break;
		if (j < i)
			continue;
		param_build(rps, n, rps[i].name, &out[cnt++]);
	}
	for (i = 0; i < n; i++) {
		free(rps[i].name);
		buf_release(&rps[i].qbuf);
	}
	free(rps);
	*params_r = out;
	*count_r = cnt;
}

static void
params_free(struct mime_param *params, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
}

static const struct mime_param *
param_lookup(const struct mime_param *params, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(params[i].name) == strlen(name) &&
		    mem_case_equal(params[i].name, name, strlen(name)))
			return &params[i];
	return NULL;
}

const struct mime_param *
mime_part_param(const struct mime_part *part, const char *name)
{
	return param_lookup(part->params, part->param_count, name);
}

const struct mime_param *
mime_part_disp_param(const struct mime_part *part, const char *name)
{
	return param_lookup(part->disp_params, part->disp_param_count, name);
}

/* --- header fields of a part --- */

static void
lex_init(struct lex *lx, const struct buf *v)
{
	lx->p = v->data != NULL ? v->data : "";
	lx->end = lx->p + v->len;
}

static bool
content_type_parse(const struct buf *v, struct mime_part *part)
{
	struct lex lx;
	char *type, *sub;

	lex_init(&lx, v);
	lex_skip_cfws(&lx);
	if ((type = lex_token_lower(&lx)) == NULL)
		return false;
	lex_skip_cfws(&lx);
	if (lx.p == lx.end || *lx.p != '/') {
		free(type);
		return false;
	}
	lx.p++;
	lex_skip_cfws(&lx);
	if ((sub = lex_token_lower(&lx)) == NULL) {
		free(type);
		return false;
	}
	part->type = type;
	part->subtype = sub;
	params_parse(&lx, &part->params, &part->param_count);
	return true;
}

static void
content_type_default(struct mime_part *part, bool digest)
{
	part->flags |= MIME_PART_F_DEFAULT_TYPE;
	part->type = xstrdup(digest ? "message" : "text");
	part->subtype = xstrdup(digest ? "rfc822" : "plain");
	if (digest)
		return;
	part->params = xcalloc(1, sizeof(*part->params));
	part->params[0].name = xstrdup("charset");
	part->params[0].value = xstrdup("us-ascii");
	part->param_count = 1;
}

static char *
value_dup(const struct buf *v)
{
	return xstrndup(buf_cstr(v), v->len);
}

static void
part_headers(const struct mime_ctx *ctx, struct mime_part *part, bool digest)
{
	struct buf v = BUF_INIT;
	size_t s = part->hdr_off, e = part->hdr_off + part->hdr_len;
	struct lex lx;

	if (header_find(ctx->msg, s, e, "Content-Type", &v) != 1 ||
	    !content_type_parse(&v, part))
		content_type_default(part, digest);
	if (header_find(ctx->msg, s, e, "Content-Transfer-Encoding", &v) == 1) {
		lex_init(&lx, &v);
		lex_skip_cfws(&lx);
		part->encoding = lex_token_lower(&lx);
	}
	if (part->encoding == NULL)
		part->encoding = xstrdup("7bit");
	if (header_find(ctx->msg, s, e, "Content-ID", &v) == 1)
		part->id = value_dup(&v);
	if (header_find(ctx->msg, s, e, "Content-Description", &v) == 1)
		part->description = value_dup(&v);
	if (header_find(ctx->msg, s, e, "Content-Disposition", &v) == 1) {
		lex_init(&lx, &v);
		lex_skip_cfws(&lx);
		part->disposition = lex_token_lower(&lx);
		if (part->disposition != NULL)
			params_parse(&lx, &part->disp_params,
			    &part->disp_param_count);
	}
	buf_release(&v);
}

/* --- the tree --- */

/* A new last child of parent, or NULL when a limit forbids it (the
 * parent is then flagged as truncated). */
static struct mime_part *
part_child_add(struct mime_ctx *ctx, struct mime_part *parent)
{
	struct mime_part *c, **tail;

	if (ctx->nparts >= MIME_PARTS_MAX || parent->depth >= MIME_DEPTH_MAX) {
		parent->flags |= MIME_PART_F_TRUNCATED;
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->parent = parent;
	c->depth = parent->depth + 1;
	for (tail = &parent->children; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = c;
	parent->child_count++;
	ctx->nparts++;
	return c;
}

/* 0: not a delimiter of this boundary; 1: delimiter; 2: close delimiter. */
static int
delimiter_match(const char *line, size_t len, const char *b, size_t blen)
{
	size_t i;
	int r = 1;

	if (len < 2 + blen || line[0] != '-' || line[1] != '-' ||
	    memcmp(line + 2, b, blen) != 0)
		return 0;
	i = 2 + blen;
	if (len - i >= 2 && line[i] == '-' && line[i + 1] == '-') {
		r = 2;
		i += 2;
	}
	for (; i < len; i++)
		if (!is_wsp((unsigned char)line[i]) && line[i] != '\r')
			return 0;
	return r;
}

/* Parse [start, end) as a child of part; false when a limit stopped it. */
static bool
multipart_child(struct mime_ctx *ctx, struct mime_part *part, size_t start,
    size_t end)
{
	struct mime_part *c = part_child_add(ctx, part);

	if (c == NULL)
		return false;
	part_parse(ctx, c, start, end, strcmp(part->subtype, "digest") == 0);
	return true;
}

static void
multipart_parse(struct mime_ctx *ctx, struct mime_part *part)
{
	const struct mime_param *bp = mime_part_param(part, "boundary");
	size_t pos = part->body_off, end = part->body_off + part->body_len;
	size_t le, next, cs = 0, ce, blen;
	bool open = false;
	int r;

	if (bp == NULL || (blen = strlen(bp->value)) == 0)
		return;
	for (; pos < end; pos = next) {
		line_next(ctx->msg, pos, end, &le, &next);
		r = delimiter_match(ctx->msg + pos, le - pos, bp->value, blen);
		if (r == 0)
			continue;
		if (open) {
			/* The line end before a delimiter is part of it. */
			ce = pos;
			if (ce > cs && ctx->msg[ce - 1] == '\n')
				ce--;
			if (ce > cs && ctx->msg[ce - 1] == '\r')
				ce--;
			if (!multipart_child(ctx, part, cs, ce))
				return;
		}
		if (r == 2)
			return;
		open = true;
		cs = next;
	}
	if (open) {
		part->flags |= MIME_PART_F_NO_CLOSE;
		multipart_child(ctx, part, cs, end);
	}
}

static bool
encoding_is_identity(const char *enc)
{
	return strcmp(enc, "7bit") == 0 || strcmp(enc, "8bit") == 0 ||
	    strcmp(enc, "binary") == 0;
}

static void
part_parse(struct mime_ctx *ctx, struct mime_part *part, size_t start,
    size_t end, bool digest)
{
	struct mime_part *c;
	size_t hend = header_end(ctx->msg, start, end);

	part->hdr_off = start;
	part->hdr_len = hend - start;
	part->body_off = hend;
	part->body_len = end - hend;
	part->lines = lines_count(ctx->msg + hend, end - hend);
	part_headers(ctx, part, digest);
	if (strcmp(part->type, "multipart") == 0)
		multipart_parse(ctx, part);
	else if (strcmp(part->type, "message") == 0 &&
	    (strcmp(part->subtype, "rfc822") == 0 ||
	    strcmp(part->subtype, "global") == 0) &&
	    encoding_is_identity(part->encoding) &&
	    (c = part_child_add(ctx, part)) != NULL)
		part_parse(ctx, c, part->body_off, end, false);
}

int
mime_parse(const char *msg, size_t len, struct mime_part **root_r,
    const char **error_r)
{
	struct mime_ctx ctx;
	struct mime_part *root;

	*root_r = NULL;
	if (msg == NULL && len > 0) {
		*error_r = "no message";
		return -1;
	}
	ctx.msg = msg != NULL ? msg : "";
	ctx.len = len;
	ctx.nparts = 1;
	root = xcalloc(1, sizeof(*root));
	part_parse(&ctx, root, 0, len, false);
	*root_r = root;
	return 0;
}

static void
part_free(struct mime_part *part)
{
	struct mime_part *c, *next;

	for (c = part->children; c != NULL; c = next) {
		next = c->next;
		part_free(c);
	}
	free(part->type);
	free(part->subtype);
	params_free(part->params, part->param_count);
	free(part->encoding);
	free(part->id);
	free(part->description);
	free(part->disposition);
	params_free(part->disp_params, part->disp_param_count);
	free(part);
}

void
mime_free(struct mime_part **root)
{
	if (root == NULL || *root == NULL)
		return;
	part_free(*root);
	*root = NULL;
}

size_t
mime_part_count(const struct mime_part *root)
{
	const struct mime_part *c;
	size_t n = 1;

	for (c = root->children; c != NULL; c = c->next)
		n += mime_part_count(c);
	return n;
}
