/* smtpc/reply: see reply.h. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reply.h"
#include "util.h"

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

void
smtpc_reply_parser_init(struct smtpc_reply_parser *p, size_t line_max,
    size_t lines_max, size_t size_max)
{
	memset(p, 0, sizeof(*p));
	/* The reply code and its separator are part of the line. */
	lr_init(&p->lr, line_max ? line_max : SMTPC_REPLY_LINE_MAX);
	p->lines_max = lines_max ? lines_max : SMTPC_REPLY_LINES_MAX;
	p->size_max = size_max ? size_max : SMTPC_REPLY_SIZE_MAX;
	/* Text plus one NUL per line. */
	buf_init(&p->reply.text, p->size_max + p->lines_max);
}

void
smtpc_reply_parser_release(struct smtpc_reply_parser *p)
{
	buf_release(&p->reply.text);
}

static void
reply_clear(struct smtpc_reply *r)
{
	r->code = 0;
	r->status[0] = '\0';
	r->nlines = 0;
	buf_reset(&r->text);
}

/* 1..3 digits; returns how many, 0 if none or too many. */
static size_t
digits(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && is_digit((unsigned char)s[n]))
		n++;
	return n >= 1 && n <= 3 ? n : 0;
}

/* An RFC 3463 status at the start of text: its length, or 0. */
static size_t
status_len(const char *t, size_t len, int code)
{
	size_t n = 2, d;

	/* RFC 3463 2: classes 2, 4 and 5 only. */
	if (code / 100 == 3 || len < 5 || t[0] != '0' + code / 100 ||
	    t[1] != '.')
		return 0;
	if ((d = digits(t + n, len - n)) == 0)
		return 0;
	n += d;
	if (n >= len || t[n] != '.')
		return 0;
	n++;
	if ((d = digits(t + n, len - n)) == 0)
		return 0;
	n += d;
	if (n < len && t[n] != ' ')
		return 0;
	return n;
}

/* Store one line's text: the status removed, controls made "?". */
static int
reply_add_text(struct smtpc_reply_parser *p, const char *t, size_t len)
{
	struct smtpc_reply *r = &p->reply;
	size_t sl = strlen(r->status), start;

	if (r->nlines == 0 && (sl = status_len(t, len, r->code)) > 0) {
		memcpy(r->status, t, sl);
		r->status[sl] = '\0';
	}
	if (sl > 0 && len >= sl && memcmp(t, r->status, sl) == 0 &&
	    (len == sl || t[sl] == ' ')) {
		t += len == sl ? sl : sl + 1;
		len -= len == sl ? sl : sl + 1;
	}
	/* Text octets so far: the buffer also holds one NUL per line. */
	if (len > p->size_max - (r->text.len - r->nlines))
		return -1;
	start = r->text.len;
	if (buf_append(&r->text, t, len) == -1 ||
	    buf_append_byte(&r->text, 0) == -1)
		return -1;
	for (size_t i = start; i < start + len; i++) {
		unsigned char c = (unsigned char)r->text.data[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			r->text.data[i] = '?';
	}
	r->nlines++;
	return 0;
}

static int
reply_fail(struct smtpc_reply_parser *p, const char *why)
{
	p->error = why;
	return -1;
}

/* One line; returns 1 when it ended the reply, 0 for more, -1 error. */
static int
reply_line(struct smtpc_reply_parser *p, const struct lr_line *l)
{
	struct smtpc_reply *r = &p->reply;
	const char *d = l->data;
	int code;

	if (l->bare_cr > 0)
		return reply_fail(p, "bare CR in reply");
	if (l->len < 3)
		return reply_fail(p, "short reply line");
	if (d[0] < '2' || d[0] > '5' || d[1] < '0' || d[1] > '5' ||
	    !is_digit((unsigned char)d[2]))
		return reply_fail(p, "malformed reply code");
	if (l->len > 3 && d[3] != ' ' && d[3] != '-')
		return reply_fail(p, "malformed reply line");
	code = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
	if (r->nlines > 0 && code != r->code)
		return reply_fail(p, "reply code changed inside a multi-line "
		    "reply");
	if (r->nlines >= p->lines_max)
		return reply_fail(p, "too many lines in reply");
	r->code = code;
	if (reply_add_text(p, d + (l->len > 3 ? 4 : 3),
	    l->len > 3 ? l->len - 4 : 0) == -1)
		return reply_fail(p, "reply too long");
	return l->len == 3 || d[3] == ' ';
}

enum smtpc_parse
smtpc_reply_parse(struct smtpc_reply_parser *p, const void *data,
    size_t len, size_t *consumed_r, const char **error_r)
{
	const char *bytes = data;
	struct lr_line line;
	enum lr_status st;
	size_t used = 0, n, window = lr_window(&p->lr);
	int rv;

	*consumed_r = 0;
	if (p->error != NULL) {
		*error_r = p->error;
		return SMTPC_PARSE_ERROR;
	}
	if (p->complete) {
		reply_clear(&p->reply);
		p->complete = false;
	}
	while (used < len) {
		n = len - used < window ? len - used : window;
		st = lr_next(&p->lr, bytes + used, n, &line);
		if (st == LR_NEED_MORE)
			break;
		used += line.consumed;
		if (st == LR_TOO_LONG) {
			p->error = "reply line too long";
			rv = -1;
		} else
			rv = reply_line(p, &line);
		if (rv == -1) {
			*consumed_r = used;
			*error_r = p->error;
			return SMTPC_PARSE_ERROR;
		}
		if (rv == 1) {
			p->complete = true;
			*consumed_r = used;
			return SMTPC_PARSE_REPLY;
		}
	}
	*consumed_r = used;
	return SMTPC_PARSE_MORE;
}

const char *
smtpc_reply_line(const struct smtpc_reply *r, size_t i)
{
	const char *t = r->text.data, *end = r->text.data + r->text.len;

	if (i >= r->nlines || t == NULL)
		return NULL;
	while (i-- > 0) {
		t += strlen(t) + 1;
		if (t >= end)
			return NULL;
	}
	return t;
}

const char *
smtpc_reply_join(const struct smtpc_reply *r, struct buf *out, size_t max)
{
	const char *t;
	size_t n = 0;

	buf_reset(out);
	for (size_t i = 0; i < r->nlines; i++) {
		if ((t = smtpc_reply_line(r, i)) == NULL || *t == '\0')
			continue;
		if (out->len > 0 && n < max && buf_append_byte(out, ' ') == 0)
			n++;
		for (; *t != '\0' && n < max; t++, n++) {
			unsigned char c = (unsigned char)*t;

			if (buf_append_byte(out, c >= 0x20 && c < 0x7f ? c :
			    c == '\t' ? ' ' : '?') == -1)
				return buf_cstr(out);
		}
		if (n >= max && (*t != '\0' || i + 1 < r->nlines)) {
			buf_append_str(out, "...");
			break;
		}
	}
	return buf_cstr(out);
}

/* ---- EHLO capabilities ----------------------------------------------- */

struct cap_name {
	const char	*name;
	unsigned	 flag;
};

static const struct cap_name cap_names[] = {
	{ "PIPELINING", SMTPC_CAP_PIPELINING },
	{ "SIZE", SMTPC_CAP_SIZE },
	{ "8BITMIME", SMTPC_CAP_8BITMIME },
	{ "SMTPUTF8", SMTPC_CAP_SMTPUTF8 },
	{ "DSN", SMTPC_CAP_DSN },
	{ "STARTTLS", SMTPC_CAP_STARTTLS },
	{ "CHUNKING", SMTPC_CAP_CHUNKING },
	{ "AUTH", SMTPC_CAP_AUTH },
	{ "ENHANCEDSTATUSCODES", SMTPC_CAP_ENHANCEDSTATUSCODES },
};

static bool
word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && mem_case_equal(s, word, len);
}

/* SIZE's parameter: 0 for none, garbage or more than 64 bits. */
static uint64_t
caps_size(const char *s)
{
	uint64_t v = 0;

	while (*s == ' ')
		s++;
	if (!is_digit((unsigned char)*s))
		return 0;
	for (; is_digit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return *s == '\0' || *s == ' ' ? v : 0;
}

static unsigned
caps_auth(const char *s)
{
	unsigned mechs = 0;
	size_t n;

	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return mechs;
		n = strcspn(s, " ");
		if (word_is(s, n, "PLAIN"))
			mechs |= SMTPC_AUTH_PLAIN;
		else if (word_is(s, n, "LOGIN"))
			mechs |= SMTPC_AUTH_LOGIN;
		s += n;
	}
}

void
smtpc_caps_parse(const struct smtpc_reply *r, struct smtpc_caps *c)
{
	const char *t;
	size_t n;

	memset(c, 0, sizeof(*c));
	for (size_t i = 1; i < r->nlines; i++) {
		if ((t = smtpc_reply_line(r, i)) == NULL)
			break;
		n = strcspn(t, " =");
		for (size_t k = 0; k < ARRAY_SIZE(cap_names); k++) {
			if (!word_is(t, n, cap_names[k].name))
				continue;
			/* "AUTH=" is the old form; only AUTH has it. */
			if (t[n] == '=' && cap_names[k].flag != SMTPC_CAP_AUTH)
				break;
			c->flags |= cap_names[k].flag;
			if (cap_names[k].flag == SMTPC_CAP_SIZE)
				c->size = caps_size(t + n);
			else if (cap_names[k].flag == SMTPC_CAP_AUTH)
				c->auth |= caps_auth(t + n + (t[n] != '\0'));
			break;
		}
	}
}
