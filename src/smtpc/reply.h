/*
 * smtpc/reply: the SMTP client's reply parser (RFC 5321 4.2, RFC 3463
 * enhanced status codes) and the EHLO capability parser.
 *
 * Contract: pure. No I/O, nothing but the reply's own text buffer is
 * allocated, and every input is bounded by the limits given at init.
 * Bytes come in as the linereader takes them (linereader.h): the caller
 * keeps what is not consumed and passes it again with more, so a reply
 * may arrive split anywhere. smtpc_reply_parse() returns
 *
 *   SMTPC_PARSE_MORE   no complete reply yet; consumed_r bytes used (the
 *                      complete lines of a multi-line reply are kept);
 *   SMTPC_PARSE_REPLY  p->reply holds one complete reply, valid until the
 *                      next call; consumed_r bytes were used, and more
 *                      replies may follow in the rest;
 *   SMTPC_PARSE_ERROR  the server's output cannot be trusted to be in step
 *                      any more; *error_r says why. The parser stays
 *                      failed: the caller must drop the connection.
 *
 * Every line is checked on its own, and a line that fails ends the reply
 * as an error; lines are never joined past it. This is the lesson of
 * OpenSMTPD's CVE-2020-8794, whose client read a short continuation line
 * as if it had more, and took the next line for the rest of the reply.
 * A line is: three digits (2-5, 0-5, 0-9), then the end of the line, "-"
 * (more lines follow) or SP, then text. An error is: a line shorter than
 * three octets, a code that is not digits, anything but SP or "-" after
 * it, a code differing from the first line's, a bare CR, a line longer
 * than line_max, more than lines_max lines, or more than size_max octets
 * of text in one reply. Lines ended by a bare LF are accepted.
 *
 * Text: control characters (NUL and DEL included, TAB excepted) become
 * "?" as they are stored, so each line is a C string; octets 0x80-0xff
 * are kept (log and DSN writers escape them: smtpc_reply_join()).
 *
 * Enhanced status: taken from the first line when its text starts with
 * class.subject.detail (class 2, 4 or 5 equal to the code's first digit;
 * subject and detail 1..3 digits) followed by SP or the end; it is then
 * removed from the start of every line that repeats it.
 */
#ifndef SLUICE_SMTPC_REPLY_H
#define SLUICE_SMTPC_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "linereader.h"

/* Defaults; RFC 5321 4.5.3.1.5 says 512 with CRLF, servers send more. */
#define SMTPC_REPLY_LINE_MAX	4096
#define SMTPC_REPLY_LINES_MAX	100
#define SMTPC_REPLY_SIZE_MAX	(64 * 1024)
/* "5.123.456" and its NUL. */
#define SMTPC_STATUS_MAX	10

struct smtpc_reply {
	int		 code;			/* 200..559 */
	char		 status[SMTPC_STATUS_MAX];	/* "" if none */
	size_t		 nlines;		/* >= 1 when complete */
	struct buf	 text;			/* the lines' text, a NUL
						   after each line */
};

struct smtpc_reply_parser {
	struct linereader	 lr;
	size_t			 lines_max;
	size_t			 size_max;
	struct smtpc_reply	 reply;
	bool			 complete;	/* reply is whole: restart */
	const char		*error;		/* set: failed for good */
};

enum smtpc_parse {
	SMTPC_PARSE_MORE,
	SMTPC_PARSE_REPLY,
	SMTPC_PARSE_ERROR,
};

/* Limits of 0 take the SMTPC_REPLY_* defaults. */
void	 smtpc_reply_parser_init(struct smtpc_reply_parser *p,
	    size_t line_max, size_t lines_max, size_t size_max);
void	 smtpc_reply_parser_release(struct smtpc_reply_parser *p);
enum smtpc_parse smtpc_reply_parse(struct smtpc_reply_parser *p,
	    const void *data, size_t len, size_t *consumed_r,
	    const char **error_r);

/* Line i (0-based, < nlines) of a reply, NUL-ended; NULL past the end. */
const char *smtpc_reply_line(const struct smtpc_reply *r, size_t i);
/*
 * The reply's text for a log or a DSN: lines joined with one SP, every
 * octet outside printable ASCII as "?", at most max octets and then
 * "...". out is reset first; returns buf_cstr(out).
 */
const char *smtpc_reply_join(const struct smtpc_reply *r, struct buf *out,
	    size_t max);

/* ---- EHLO capabilities ----------------------------------------------- */

#define SMTPC_CAP_PIPELINING	0x001u
#define SMTPC_CAP_SIZE		0x002u
#define SMTPC_CAP_8BITMIME	0x004u
#define SMTPC_CAP_SMTPUTF8	0x008u
#define SMTPC_CAP_DSN		0x010u
#define SMTPC_CAP_STARTTLS	0x020u
#define SMTPC_CAP_CHUNKING	0x040u
#define SMTPC_CAP_AUTH		0x080u
#define SMTPC_CAP_ENHANCEDSTATUSCODES 0x100u

/* AUTH mechanisms we can use (others are ignored). */
#define SMTPC_AUTH_PLAIN	0x01u
#define SMTPC_AUTH_LOGIN	0x02u

struct smtpc_caps {
	unsigned	 flags;		/* SMTPC_CAP_* */
	uint64_t	 size;		/* SIZE limit; 0: none announced */
	unsigned	 auth;		/* SMTPC_AUTH_* offered */
};

/*
 * The capabilities of a 250 EHLO reply: keywords (lines after the first)
 * matched in any case, parameters after SP. "SIZE" without a number, or
 * "SIZE 0", means no limit; a number too large for 64 bits means none
 * either. AUTH mechanisms may also come as the old "AUTH=" form. Unknown
 * keywords are ignored.
 */
void	 smtpc_caps_parse(const struct smtpc_reply *r, struct smtpc_caps *c);

#endif
