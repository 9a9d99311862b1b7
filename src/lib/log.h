/*
 * log: one event per line, as key=value fields, to syslog (facility
 * LOG_MAIL) or to stderr when a daemon runs in the foreground.
 *
 * Contract: every line starts with sid= and qid= when the caller has them
 * (NULL leaves the field out), then the caller's own fields, e.g.
 *
 *	sid=8f3a2c qid=0KJ4ZQ3M1A2B event=queued size=5120
 *
 * On a stream each line is prefixed with an ISO 8601 UTC time, ident[pid]
 * and the level name:
 *
 *	2026-11-22T10:00:00Z sluiced[123]: info: sid=8f3a2c event=...
 *
 * log_msg() sanitises the finished line whatever its arguments hold: a
 * control byte (0x00-0x1f, 0x7f) becomes \xNN, so no argument can end the
 * line or forge a new one, and a line longer than LOG_LINE_MAX bytes is cut
 * and ends in "...". Bytes 0x80-0xff pass through so internal UTF-8 text
 * stays readable; text that came from a client goes through log_quote()
 * first, which escapes them.
 *
 * The logger is process-global state (as syslog itself is). Open, close
 * and redirect it before threads start; log_msg() and log_set_level() may
 * be called from any thread, and each line is written whole.
 * Before log_open() messages go to stderr with ident "sluice" at LOG_INFO.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <syslog.h>

#include "buf.h"
#include "util.h"

/* Longest line body (after the stream prefix), "..." marker included. */
#define LOG_LINE_MAX	2000

enum log_dest {
	LOG_DEST_SYSLOG,
	LOG_DEST_STDERR,
};

/*
 * ident is copied. min_prio is a syslog priority (LOG_EMERG..LOG_DEBUG);
 * messages less severe than it (numerically greater) are dropped. Values
 * out of range are clamped. Calling it again replaces the destination.
 */
void	 log_open(const char *ident, enum log_dest dest, int min_prio);
/* Like LOG_DEST_STDERR, but to fp (which the caller keeps and closes);
 * for tests and for tools that log to a file. */
void	 log_open_stream(const char *ident, FILE *fp, int min_prio);
/* Back to the defaults: closes syslog, forgets the stream. */
void	 log_close(void);
void	 log_set_level(int min_prio);
/* Whether a message at prio would be written: lets a caller skip costly
 * argument preparation for debug lines. */
int	 log_level_enabled(int prio);

/* sid and qid may be NULL; fmt should produce space-separated key=value
 * fields with client text passed through log_quote(). */
void	 log_msg(int prio, const char *sid, const char *qid, const char *fmt,
	    ...) PRINTF_LIKE(4, 5);
void	 log_vmsg(int prio, const char *sid, const char *qid, const char *fmt,
	    va_list ap) PRINTF_LIKE(4, 0);

/*
 * log_quote: render untrusted text (HELO names, addresses, command lines)
 * as one safe field value. At most max bytes of text are used; when text
 * is longer, "..." follows them. A double quote becomes \", a backslash
 * \\, and control bytes, DEL and bytes 0x80-0xff become \xNN. The value is
 * wrapped in double quotes when it is empty or holds a space, '=' or '"',
 * so a client can neither forge a field nor flood the log: the result is
 * at most 4 * max + 5 bytes.
 *
 * out is reset first and holds only the value afterwards; the returned
 * pointer is buf_cstr(out), valid until out changes. Use one buffer per
 * value that appears in the same log_msg() call. text may be NULL when len
 * is 0. If out has a maximum below the worst case, 4 * min(len, max) + 5
 * bytes, the static string "..." is returned instead.
 */
const char *log_quote(struct buf *out, const void *text, size_t len,
	    size_t max);
/* log_quote() of a C string. */
const char *log_quote_str(struct buf *out, const char *s, size_t max);
/*
 * log_quote_str() into a buffer of the calling thread's own, for a value
 * such as an error message: valid until the next call in the thread, so
 * use it for one field of a line.
 */
const char *log_quote_err(const char *s);

#endif
