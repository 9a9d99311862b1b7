/* dsn: see dsn.h. */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "dsn.h"

#define DSN_FOLD_WIDTH	76	/* soft width; hard limit is 998 */
#define DSN_LINE_MAX	998

enum dsn_orig_note {
	DSN_ORIG_NONE,		/* no original given */
	DSN_ORIG_FULL,
	DSN_ORIG_HEADERS,	/* as asked (HDRS, delay, success) */
	DSN_ORIG_TOO_BIG,	/* headers only: over body_max */
	DSN_ORIG_OMITTED,	/* left out: too big or lines too long */
};

struct dsn_orig {
	const char	*data;
	size_t		 len;
	enum dsn_orig_note note;
	int		 eightbit;
};

/* The writer keeps the first failure so builders need not check each
 * append; the caller looks once at the end. */
struct dsn_w {
	struct buf	*b;
	int		 failed;
};

static const char *const dsn_action_names[] = {
	"failed", "delayed", "delivered", "relayed", "expanded",
};

static void
w_mem(struct dsn_w *w, const char *s, size_t n)
{
	if (!w->failed && buf_append(w->b, s, n) == -1)
		w->failed = 1;
}

static void
w_str(struct dsn_w *w, const char *s)
{
	w_mem(w, s, strlen(s));
}

static void PRINTF_LIKE(2, 3)
w_fmt(struct dsn_w *w, const char *fmt, ...)
{
	va_list ap;

	if (w->failed)
		return;
	va_start(ap, fmt);
	if (buf_vprintf(w->b, fmt, ap) == -1)
		w->failed = 1;
	va_end(ap);
}

/*
 * Write prefix and value, breaking at spaces so lines stay near the soft
 * width, each new line starting with indent, ending with CRLF. With
 * indent " " this is RFC 5322 folding: unfolding gives back the value.
 * value has single spaces only (dsn_clean), so no word passes 998.
 */
static void
w_fold(struct dsn_w *w, const char *prefix, const char *value,
    const char *indent)
{
	size_t col = strlen(prefix), start = col, n;
	const char *p = value, *sp;

	w_str(w, prefix);
	while (*p != '\0') {
		sp = strchr(p, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (col > start && col + 1 + n > DSN_FOLD_WIDTH) {
			w_str(w, "\r\n");
			w_str(w, indent);
			col = start = strlen(indent);
		} else if (col > start) {
			w_str(w, " ");
			col++;
		}
		w_mem(w, p, n);
		col += n;
		p += n;
		while (*p == ' ')
			p++;
	}
	w_str(w, "\r\n");
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF):
 * a lax reading here would let a reply smuggle bytes into the report. */
static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
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
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

static int
has_nonascii(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static int
dsn_addr_check(const char *a)
{
	size_t i, n = strlen(a);

	if (n == 0 || n > DSN_ADDR_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f)
			return -1;
	return utf8_valid((const unsigned char *)a, n) ? 0 : -1;
}

/*
 * Outside text made safe for one header-like line: controls (CR, LF,
 * TAB, NUL...) become spaces, white space collapses, non-ASCII survives
 * only when utf8_ok and the text is valid UTF-8, and the result is cut at
 * DSN_TEXT_MAX octets on a character boundary.
 */
static char *
dsn_clean(const char *s, int utf8_ok)
{
	size_t n = strlen(s), i, o = 0;
	char *r = xmalloc(DSN_TEXT_MAX + 4);
	unsigned char c;

	if (utf8_ok && !utf8_valid((const unsigned char *)s, n))
		utf8_ok = 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (o > 0 && r[o - 1] != ' ' && o < DSN_TEXT_MAX)
				r[o++] = ' ';
			continue;
		}
		if (o >= DSN_TEXT_MAX) {
			while (o > 0 && ((unsigned char)r[o - 1] & 0xc0) == 0x80)
				o--;
			if (o > 0 && (unsigned char)r[o - 1] >= 0xc0)
				o--;
			memcpy(r + o, "...", 3);
			o += 3;
			break;
		}
		r[o++] = c >= 0x80 && !utf8_ok ? '?' : (char)c;
	}
	while (o > 0 && r[o - 1] == ' ')
		o--;
	r[o] = '\0';
	return r;
}

void
dsn_date_format(time_t t, char *dst, size_t size)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	struct tm tm;

	/* Our own names: strftime's %a and %b follow the locale. */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 0 ||
	    tm.tm_year > 9999 - 1900) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(dst, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* class "." subject "." detail, RFC 3463: 2/4/5, 1-3 digits, 1-3 digits */
static int
dsn_status_valid(const char *s)
{
	size_t part, digits;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	s += 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; *s >= '0' && *s <= '9'; s++)
			digits++;
		if (digits == 0 || digits > 3)
			return 0;
		if (part == 0 && *s++ != '.')
			return 0;
	}
	return *s == '\0';
}

static const char *
dsn_status_of(const struct dsn_rcpt *r)
{
	if (dsn_status_valid(r->status) && (r->action < DSN_ACTION_DELIVERED) ==
	    (r->status[0] != '2'))
		return r->status;
	switch (r->action) {
	case DSN_ACTION_FAILED:
		return "5.0.0";
	case DSN_ACTION_DELAYED:
		return "4.0.0";
	default:
		return "2.0.0";
	}
}

/* RFC 6533 utf-8-addr-unitext: ASCII outside QUCHAR as \x{HEX}. */
static void
w_unitext(struct dsn_w *w, const char *a)
{
	unsigned char c;

	for (; *a != '\0'; a++) {
		c = (unsigned char)*a;
		if (c >= 0x80 || (c > 0x20 && c < 0x7f && c != '+' &&
		    c != '=' && c != '\\'))
			w_mem(w, a, 1);
		else
			w_fmt(w, "\\x{%02X}", c);
	}
}

static void
w_addr_field(struct dsn_w *w, const char *name, const char *addr,
    int global)
{
	w_fmt(w, "%s: ", name);
	if (global && has_nonascii(addr)) {
		w_str(w, "utf-8;");
		w_unitext(w, addr);
	} else
		w_fmt(w, "rfc822;%s", addr);
	w_str(w, "\r\n");
}

static void
w_orcpt_field(struct dsn_w *w, const char *orcpt, int global)
{
	const char *semi = strchr(orcpt, ';');
	char *v;

	/* A malformed ORCPT is dropped: the bounce matters more. */
	if (semi == NULL || semi == orcpt || semi[1] == '\0')
		return;
	if (global && (size_t)(semi - orcpt) == 5 &&
	    strncasecmp(orcpt, "utf-8", 5) == 0 && dsn_addr_check(semi + 1) == 0) {
		w_str(w, "Original-Recipient: utf-8;");
		w_unitext(w, semi + 1);
		w_str(w, "\r\n");
		return;
	}
	v = dsn_clean(orcpt, global);
	if (strchr(v, ';') != NULL)
		w_fold(w, "Original-Recipient: ", v, " ");
	free(v);
}

static void
w_value_field(struct dsn_w *w, const char *prefix, const char *value,
    int global)
{
	char *v = dsn_clean(value, global);

	if (v[0] != '\0')
		w_fold(w, prefix, v, " ");
	free(v);
}

static void
w_date_field(struct dsn_w *w, const char *name, time_t t)
{
	char date[64];

	dsn_date_format(t, date, sizeof(date));
	w_fmt(w, "%s: %s\r\n", name, date);
}

static void
dsn_rcpt_fields(struct dsn_w *w, const struct dsn_rcpt *r, int global)
{
	w_str(w, "\r\n");
	if (r->orcpt != NULL)
		w_orcpt_field(w, r->orcpt, global);
	w_addr_field(w, "Final-Recipient", r->final_rcpt, global);
	w_fmt(w, "Action: %s\r\n", dsn_action_names[r->action]);
	w_fmt(w, "Status: %s\r\n", dsn_status_of(r));
	if (r->remote_mta != NULL)
		w_value_field(w, "Remote-MTA: dns;", r->remote_mta, 0);
	if (r->diagnostic != NULL)
		w_value_field(w, "Diagnostic-Code: smtp;", r->diagnostic,
		    global);
	if (r->last_attempt != 0)
		w_date_field(w, "Last-Attempt-Date", r->last_attempt);
	if (r->action == DSN_ACTION_DELAYED && r->retry_until != 0)
		w_date_field(w, "Will-Retry-Until", r->retry_until);
}

static void
dsn_status_part(struct dsn_w *w, const struct dsn_msg *m, int global)
{
	size_t i;

	w_fmt(w, "Reporting-MTA: dns;%s\r\n", m->reporting_mta);
	if (m->envid != NULL)
		w_value_field(w, "Original-Envelope-Id: ", m->envid, 0);
	if (m->queue_id != NULL)
		w_value_field(w, "X-Sluice-Queue-ID: ", m->queue_id, 0);
	if (m->arrival != 0)
		w_date_field(w, "Arrival-Date", m->arrival);
	for (i = 0; i < m->nrcpts; i++)
		dsn_rcpt_fields(w, &m->rcpts[i], global);
}

static const char *
dsn_rcpt_summary(const struct dsn_rcpt *r)
{
	switch (r->action) {
	case DSN_ACTION_FAILED:
		return "The message could not be delivered to this recipient.";
	case DSN_ACTION_DELAYED:
		return "The message has not been delivered to this recipient "
		    "yet. The mail system will keep trying; you do not need "
		    "to send it again.";
	case DSN_ACTION_DELIVERED:
		return "The message was delivered to this recipient.";
	case DSN_ACTION_RELAYED:
		return "The message was passed on to a mail system that does "
		    "not send delivery reports, so no further notice will "
		    "follow.";
	default:
		return "The message was delivered to this address, which "
		    "passes it on to further recipients.";
	}
}

static void
dsn_rcpt_text(struct dsn_w *w, const struct dsn_rcpt *r, int global)
{
	char date[64], *v;

	w_str(w, "\r\n");
	v = dsn_clean(r->final_rcpt, global);
	w_fmt(w, "<%s>:\r\n", v);
	free(v);
	w_fold(w, "    ", dsn_rcpt_summary(r), "    ");
	if (r->action == DSN_ACTION_DELAYED && r->retry_until != 0) {
		dsn_date_format(r->retry_until, date, sizeof(date));
		w_fmt(w, "    It will give up after %s.\r\n", date);
	}
	w_fmt(w, "    Status: %s\r\n", dsn_status_of(r));
	if (r->diagnostic != NULL) {
		v = r->remote_mta != NULL ? dsn_clean(r->remote_mta, 0) :
		    xstrdup("");
		if (v[0] != '\0')
			w_fmt(w, "    The server %s replied:\r\n", v);
		else
			w_str(w, "    Reason:\r\n");
		free(v);
		v = dsn_clean(r->diagnostic, global);
		w_fold(w, "      ", v, "      ");
		free(v);
	}
}

static const char *
dsn_orig_text(enum dsn_orig_note note)
{
	switch (note) {
	case DSN_ORIG_FULL:
		return "Your original message is attached.";
	case DSN_ORIG_HEADERS:
		return "The header of your original message is attached.";
	case DSN_ORIG_TOO_BIG:
		return "Your original message was too large to return in "
		    "full; only its header is attached.";
	case DSN_ORIG_OMITTED:
		return "Your original message could not be attached: it was "
		    "too large or had overlong lines.";
	default:
		return "Your original message is not attached.";
	}
}

static void
dsn_text_part(struct dsn_w *w, const struct dsn_msg *m, int kind,
    enum dsn_orig_note note, int global)
{
	static const char *const intro[] = {
		"I'm sorry to have to tell you that your message could not "
		"be delivered to one or more recipients. The details are "
		"below.",
		"This is a warning only: your message has not been delivered "
		"to one or more recipients yet. The mail system will keep "
		"trying.",
		"This is a delivery report, sent because you asked for one: "
		"your message reached the recipients below.",
	};
	size_t i;

	w_fmt(w, "This is the mail system at host %s.\r\n\r\n",
	    m->reporting_mta);
	w_fold(w, "", intro[kind], "");
	if (m->queue_id != NULL)
		w_value_field(w, "\r\nQueue id: ", m->queue_id, 0);
	for (i = 0; i < m->nrcpts; i++)
		dsn_rcpt_text(w, &m->rcpts[i], global);
	w_str(w, "\r\n");
	w_fold(w, "", dsn_orig_text(note), "");
}

/* Length of the header section: up to and with the last header line's
 * end, without the empty line. No empty line: all of it is header. Line
 * ends as w_lines() reads them: CRLF, LF or a bare CR. */
static size_t
dsn_header_len(const char *p, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (p[i] != '\r' && p[i] != '\n')
			continue;
		if (i == start)
			return start;
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	return n;
}

/* Longest line, any of CRLF, LF or CR ending it; and 8-bit octets. */
static size_t
dsn_longest_line(const char *p, size_t n, int *eightbit_r)
{
	size_t i, cur = 0, max = 0;

	*eightbit_r = 0;
	for (i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			cur = 0;
			continue;
		}
		if ((unsigned char)p[i] >= 0x80)
			*eightbit_r = 1;
		if (++cur > max)
			max = cur;
	}
	return max;
}

static void
dsn_orig_select(const struct dsn_msg *m, int any_failed,
    struct dsn_orig *o)
{
	size_t cap = m->body_max != 0 ? m->body_max : DSN_BODY_MAX;
	int full = any_failed && m->ret == DSN_RET_FULL;

	memset(o, 0, sizeof(*o));
	o->note = DSN_ORIG_NONE;
	if (m->body == NULL || m->body_len == 0)
		return;
	o->data = m->body;
	o->len = m->body_len;
	o->note = DSN_ORIG_FULL;
	if (full && (o->len > cap || dsn_longest_line(o->data, o->len,
	    &o->eightbit) > DSN_LINE_MAX))
		o->note = DSN_ORIG_TOO_BIG;
	else if (!full)
		o->note = DSN_ORIG_HEADERS;
	if (o->note == DSN_ORIG_FULL)
		return;
	o->len = dsn_header_len(o->data, o->len);
	if (o->len == 0 || o->len > cap ||
	    dsn_longest_line(o->data, o->len, &o->eightbit) > DSN_LINE_MAX) {
		o->note = DSN_ORIG_OMITTED;
		o->data = NULL;
		o->len = 0;
	}
}

/* Copy with every line end made CRLF, ending with one. */
static void
w_lines(struct dsn_w *w, const char *p, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (p[i] != '\r' && p[i] != '\n')
			continue;
		w_mem(w, p + start, i - start);
		w_str(w, "\r\n");
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	if (start < n) {
		w_mem(w, p + start, n - start);
		w_str(w, "\r\n");
	}
}

static int
dsn_boundary_free(const char *bnd, const struct buf *parts, size_t nparts,
    const struct dsn_orig *o)
{
	size_t i, bl = strlen(bnd);

	for (i = 0; i < nparts; i++)
		if (memmem(parts[i].data, parts[i].len, bnd, bl) != NULL)
			return 0;
	return o->data == NULL || memmem(o->data, o->len, bnd, bl) == NULL;
}

/* "=_" cannot start a base64 or quoted-printable line, and the counter
 * moves past any collision with the text we enclose. */
static char *
dsn_boundary_pick(const char *qid, const struct buf *parts, size_t nparts,
    const struct dsn_orig *o)
{
	char id[41], *bnd;
	size_t i, n = 0;
	unsigned tries;

	for (i = 0; qid != NULL && qid[i] != '\0' && n < sizeof(id) - 1; i++)
		if ((qid[i] >= '0' && qid[i] <= '9') ||
		    ((qid[i] | 0x20) >= 'a' && (qid[i] | 0x20) <= 'z'))
			id[n++] = qid[i];
	id[n] = '\0';
	for (tries = 0;; tries++) {
		bnd = xasprintf("=_sluice_dsn_%s_%u", id, tries);
		if (dsn_boundary_free(bnd, parts, nparts, o))
			return bnd;
		free(bnd);
	}
}

static int
dsn_check(const struct dsn_msg *m, int *global_r, const char **error_r)
{
	const char *p;
	size_t i;

	*global_r = m->smtputf8 != 0 || has_nonascii(m->sender);
	if (m->reporting_mta == NULL || m->reporting_mta[0] == '\0')
		return *error_r = "no reporting MTA", -1;
	for (p = m->reporting_mta; *p != '\0'; p++)
		if (!((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') &&
		    !(*p >= '0' && *p <= '9') && *p != '.' && *p != '-')
			return *error_r = "bad reporting MTA name", -1;
	if (m->message_id == NULL || m->message_id[0] == '\0' ||
	    strlen(m->message_id) > DSN_ADDR_MAX)
		return *error_r = "bad message id", -1;
	for (p = m->message_id; *p != '\0'; p++)
		if (*p <= ' ' || *p == '<' || *p == '>' || *p == 0x7f)
			return *error_r = "bad message id", -1;
	if (dsn_addr_check(m->sender) == -1)
		return *error_r = "bad sender address", -1;
	if (m->nrcpts == 0 || m->rcpts == NULL)
		return *error_r = "no recipients", -1;
	for (i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].final_rcpt == NULL ||
		    dsn_addr_check(m->rcpts[i].final_rcpt) == -1)
			return *error_r = "bad recipient address", -1;
		if ((unsigned)m->rcpts[i].action > DSN_ACTION_EXPANDED)
			return *error_r = "bad recipient action", -1;
		if (has_nonascii(m->rcpts[i].final_rcpt) ||
		    has_nonascii(m->rcpts[i].orcpt))
			*global_r = 1;
	}
	return 0;
}

/* 0: bounce, 1: delay notice, 2: success notice (worst action wins). */
static int
dsn_kind(const struct dsn_msg *m)
{
	size_t i;
	int kind = 2;

	for (i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].action == DSN_ACTION_FAILED)
			return 0;
		if (m->rcpts[i].action == DSN_ACTION_DELAYED)
			kind = 1;
	}
	return kind;
}

static void
dsn_headers(struct dsn_w *w, const struct dsn_msg *m, int kind,
    const char *bnd, int eightbit)
{
	static const char *const subjects[] = {
		"Undelivered Mail Returned to Sender",
		"Delayed Mail (still being retried)",
		"Successful Mail Delivery Report",
	};
	char date[64];

	dsn_date_format(m->date, date, sizeof(date));
	w_fmt(w, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
	    m->reporting_mta);
	w_fmt(w, "To: <%s>\r\n", m->sender);
	w_fmt(w, "Subject: %s\r\n", subjects[kind]);
	w_fmt(w, "Date: %s\r\n", date);
	w_fmt(w, "Message-ID: <%s>\r\n", m->message_id);
	w_str(w, "Auto-Submitted: auto-replied\r\n");
	w_str(w, "MIME-Version: 1.0\r\n");
	w_str(w, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n");
	w_fmt(w, " boundary=\"%s\"\r\n", bnd);
	w_fmt(w, "Content-Transfer-Encoding: %s\r\n\r\n",
	    eightbit ? "8bit" : "7bit");
	w_str(w, "This is a MIME-encapsulated message.\r\n");
}

static void
dsn_part(struct dsn_w *w, const char *bnd, const char *type,
    int eightbit, const char *data, size_t len)
{
	w_fmt(w, "\r\n--%s\r\n", bnd);
	w_fmt(w, "Content-Type: %s\r\n", type);
	if (eightbit)
		w_str(w, "Content-Transfer-Encoding: 8bit\r\n");
	w_str(w, "\r\n");
	w_lines(w, data, len);
}

static void
dsn_assemble(struct dsn_w *w, const struct dsn_msg *m, int kind,
    int global, const struct buf *parts, const struct dsn_orig *o,
    int *eightbit_r)
{
	const char *otype;
	char *bnd;

	*eightbit_r = global || (o->data != NULL && o->eightbit);
	bnd = dsn_boundary_pick(m->queue_id, parts, 2, o);
	dsn_headers(w, m, kind, bnd, *eightbit_r);
	dsn_part(w, bnd, global ? "text/plain; charset=utf-8" :
	    "text/plain; charset=us-ascii", global, parts[0].data,
	    parts[0].len);
	dsn_part(w, bnd, global ? "message/global-delivery-status" :
	    "message/delivery-status", global, parts[1].data, parts[1].len);
	if (o->data != NULL) {
		if (o->note == DSN_ORIG_FULL)
			otype = global ? "message/global" : "message/rfc822";
		else
			otype = global ? "message/global-headers" :
			    "text/rfc822-headers";
		dsn_part(w, bnd, otype, o->eightbit || global, o->data,
		    o->len);
	}
	w_fmt(w, "\r\n--%s--\r\n", bnd);
	free(bnd);
}

int
dsn_report_write(const struct dsn_msg *m, struct buf *out,
    struct dsn_info *info_r, const char **error_r)
{
	struct buf parts[2] = { BUF_INIT, BUF_INIT };
	struct dsn_w w;
	struct dsn_orig o;
	size_t old_len = out->len;
	int global, kind, eightbit, i;

	if (m->sender == NULL || m->sender[0] == '\0')
		return DSN_NO_SEND;
	if (dsn_check(m, &global, error_r) == -1)
		return DSN_ERROR;
	kind = dsn_kind(m);
	dsn_orig_select(m, kind == 0, &o);
	w.b = &parts[0];
	w.failed = 0;
	dsn_text_part(&w, m, kind, o.note, global);
	w.b = &parts[1];
	dsn_status_part(&w, m, global);
	w.b = out;
	dsn_assemble(&w, m, kind, global, parts, &o, &eightbit);
	for (i = 0; i < 2; i++)
		buf_release(&parts[i]);
	if (w.failed) {
		buf_truncate(out, old_len);
		*error_r = "notice larger than the output buffer allows";
		return DSN_ERROR;
	}
	info_r->env_sender = "";
	info_r->env_rcpt = m->sender;
	info_r->smtputf8 = global;
	info_r->eightbit = eightbit;
	return DSN_OK;
}
