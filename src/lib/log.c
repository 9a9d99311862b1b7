/* log: see log.h. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_MARKER	"..."
#define LOG_MARKER_LEN	(sizeof(LOG_MARKER) - 1)
#define LOG_IDENT_DEFAULT "sluice"

static const char hexdigits[] = "0123456789abcdef";

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

static struct {
	char		*ident;		/* NULL: LOG_IDENT_DEFAULT */
	enum log_dest	 dest;
	FILE		*fp;		/* NULL: stderr */
	bool		 syslog_open;
} log_state = { NULL, LOG_DEST_STDERR, NULL, false };

/* Read by every thread that logs, changed by log_set_level() at runtime. */
static atomic_int log_level = LOG_INFO;

static int
log_prio_clamp(int prio)
{
	if (prio < LOG_EMERG)
		return LOG_EMERG;
	if (prio > LOG_DEBUG)
		return LOG_DEBUG;
	return prio;
}

static void
log_reset(void)
{
	if (log_state.syslog_open)
		closelog();
	free(log_state.ident);
	log_state.ident = NULL;
	log_state.dest = LOG_DEST_STDERR;
	log_state.fp = NULL;
	log_state.syslog_open = false;
}

void
log_open(const char *ident, enum log_dest dest, int min_prio)
{
	/* openlog() keeps the pointer, so the old copy dies only after. */
	char *copy = xstrdup(ident != NULL ? ident : LOG_IDENT_DEFAULT);

	log_reset();
	log_state.ident = copy;
	log_state.dest = dest;
	if (dest == LOG_DEST_SYSLOG) {
		/* LOG_NDELAY: connect now, before chroot or privilege drop. */
		openlog(copy, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_state.syslog_open = true;
	}
	log_set_level(min_prio);
}

void
log_open_stream(const char *ident, FILE *fp, int min_prio)
{
	log_open(ident, LOG_DEST_STDERR, min_prio);
	log_state.fp = fp;
}

void
log_close(void)
{
	log_reset();
	atomic_store(&log_level, LOG_INFO);
}

void
log_set_level(int min_prio)
{
	atomic_store(&log_level, log_prio_clamp(min_prio));
}

int
log_level_enabled(int prio)
{
	return LOG_PRI(prio) <= atomic_load(&log_level);
}

static bool
log_byte_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static char *
log_put_hex(char *o, unsigned char c)
{
	*o++ = '\\';
	*o++ = 'x';
	*o++ = hexdigits[c >> 4];
	*o++ = hexdigits[c & 0x0f];
	return o;
}

/*
 * Append raw to line with control bytes escaped, in at most LOG_LINE_MAX
 * bytes. cut says raw itself was already shortened, so the marker is due
 * even when the escaped text fits.
 */
static void
log_sanitize(struct buf *line, const unsigned char *raw, size_t len,
    bool cut)
{
	size_t total = 0, limit, i;
	char *start, *o;

	for (i = 0; i < len; i++)
		total += log_byte_is_ctl(raw[i]) ? 4 : 1;
	if (!cut && total <= LOG_LINE_MAX)
		limit = LOG_LINE_MAX;
	else {
		limit = LOG_LINE_MAX - LOG_MARKER_LEN;
		cut = true;
	}
	if (buf_reserve(line, LOG_LINE_MAX) == -1)
		return;
	start = o = line->data + line->len;
	for (i = 0; i < len; i++) {
		bool ctl = log_byte_is_ctl(raw[i]);

		if ((size_t)(o - start) + (ctl ? 4 : 1) > limit)
			break;
		if (ctl)
			o = log_put_hex(o, raw[i]);
		else
			*o++ = (char)raw[i];
	}
	if (cut) {
		memcpy(o, LOG_MARKER, LOG_MARKER_LEN);
		o += LOG_MARKER_LEN;
	}
	line->len += (size_t)(o - start);
	line->data[line->len] = '\0';
}

/* Copy as much of s as fits in raw; note when it did not. */
static void
log_raw_add(char *raw, size_t size, size_t *pos, bool *cut, const char *s)
{
	size_t len = strlen(s), room = size - *pos;

	if (len > room) {
		len = room;
		*cut = true;
	}
	memcpy(raw + *pos, s, len);
	*pos += len;
}

/*
 * Format the unsanitised body into raw (size bytes). Only the first
 * LOG_LINE_MAX bytes can reach the line, since escaping never shrinks
 * text, so a bounded buffer suffices and a huge argument costs nothing.
 */
static size_t	log_format(char *, size_t, const char *, const char *,
		    bool *, int, const char *, va_list) PRINTF_LIKE(7, 0);

static size_t
log_format(char *raw, size_t size, const char *sid, const char *qid,
    bool *cut_r, int saved_errno, const char *fmt, va_list ap)
{
	size_t pos = 0;
	int n;

	*cut_r = false;
	if (sid != NULL) {
		log_raw_add(raw, size - 1, &pos, cut_r, "sid=");
		log_raw_add(raw, size - 1, &pos, cut_r, sid);
		log_raw_add(raw, size - 1, &pos, cut_r, " ");
	}
	if (qid != NULL) {
		log_raw_add(raw, size - 1, &pos, cut_r, "qid=");
		log_raw_add(raw, size - 1, &pos, cut_r, qid);
		log_raw_add(raw, size - 1, &pos, cut_r, " ");
	}
	/* Restore errno so that %m reports the caller's error. */
	errno = saved_errno;
	n = vsnprintf(raw + pos, size - pos, fmt, ap);
	if (n < 0) {
		*cut_r = true;
		return pos;
	}
	if ((size_t)n >= size - pos) {
		*cut_r = true;
		return size - 1;
	}
	return pos + (size_t)n;
}

static void
log_write_stream(int prio, const struct buf *body)
{
	struct buf line = BUF_INIT;
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	FILE *fp = log_state.fp != NULL ? log_state.fp : stderr;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		str_copy(stamp, "-", sizeof(stamp));
	buf_printf(&line, "%s %s[%ld]: %s: ", stamp,
	    log_state.ident != NULL ? log_state.ident : LOG_IDENT_DEFAULT,
	    (long)getpid(), level_names[prio]);
	buf_append(&line, body->data, body->len);
	buf_append_byte(&line, '\n');
	/* One fwrite under the stream lock keeps threads' lines whole. */
	flockfile(fp);
	fwrite(line.data, 1, line.len, fp);
	fflush(fp);
	funlockfile(fp);
	buf_release(&line);
}

void
log_vmsg(int prio, const char *sid, const char *qid, const char *fmt,
    va_list ap)
{
	int saved_errno = errno;
	struct buf body = BUF_INIT;
	size_t rawlen;
	bool cut;
	char *raw;

	prio = LOG_PRI(prio);
	if (!log_level_enabled(prio))
		return;
	raw = xmalloc(LOG_LINE_MAX + 1);
	rawlen = log_format(raw, LOG_LINE_MAX + 1, sid, qid, &cut,
	    saved_errno, fmt, ap);
	log_sanitize(&body, (const unsigned char *)raw, rawlen, cut);
	free(raw);
	if (log_state.dest == LOG_DEST_SYSLOG)
		syslog(prio, "%s", buf_cstr(&body));
	else
		log_write_stream(prio, &body);
	buf_release(&body);
	errno = saved_errno;
}

void
log_msg(int prio, const char *sid, const char *qid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, sid, qid, fmt, ap);
	va_end(ap);
}

static bool
log_quote_needs_wrap(const unsigned char *p, size_t n, size_t len)
{
	if (len == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (p[i] == ' ' || p[i] == '=' || p[i] == '"')
			return true;
	return false;
}

const char *
log_quote(struct buf *out, const void *text, size_t len, size_t max)
{
	const unsigned char *p = text;
	size_t n = len < max ? len : max, i;
	bool wrap = log_quote_needs_wrap(p, n, len);
	char *start, *o;

	buf_reset(out);
	if (n > (SIZE_MAX - 5) / 4 || buf_reserve(out, 4 * n + 5) == -1)
		return LOG_MARKER;
	start = o = out->data;
	if (wrap)
		*o++ = '"';
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\') {
			*o++ = '\\';
			*o++ = (char)p[i];
		} else if (p[i] < 0x20 || p[i] >= 0x7f)
			o = log_put_hex(o, p[i]);
		else
			*o++ = (char)p[i];
	}
	if (len > max) {
		memcpy(o, LOG_MARKER, LOG_MARKER_LEN);
		o += LOG_MARKER_LEN;
	}
	if (wrap)
		*o++ = '"';
	out->len = (size_t)(o - start);
	out->data[out->len] = '\0';
	return out->data;
}

const char *
log_quote_str(struct buf *out, const char *s, size_t max)
{
	size_t len = 0;

	/* Bounded scan: a hostile string's length past max is irrelevant. */
	if (s != NULL)
		len = max < SIZE_MAX ? strnlen(s, max + 1) : strlen(s);
	return log_quote(out, s, len, max);
}

static pthread_key_t quote_key;
static pthread_once_t quote_once = PTHREAD_ONCE_INIT;

static void
quote_buf_free(void *p)
{
	buf_release(p);
}

static void
quote_key_make(void)
{
	(void)pthread_key_create(&quote_key, quote_buf_free);
}

const char *
log_quote_err(const char *s)
{
	static _Thread_local struct buf b;

	/* Registered so that a thread that ends frees its buffer. */
	if (b.data == NULL) {
		(void)pthread_once(&quote_once, quote_key_make);
		(void)pthread_setspecific(quote_key, &b);
	}
	return log_quote_str(&b, s != NULL ? s : "", 500);
}
