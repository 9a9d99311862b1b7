/*
 * linereader: the one bounded line reader shared by every protocol (SMTP
 * commands and DATA, SMTP client replies, IMAP, POP3).
 *
 * Contract: pure (no I/O, no allocation, no copies). The caller owns the
 * bytes, e.g. an evbuffer, and passes a contiguous prefix of them. Each
 * lr_next() call returns one of:
 *
 *   LR_LINE      a complete line: data/len without its ending, end says
 *                whether it was CRLF or a bare LF, bare_cr counts the CRs
 *                inside the line (first_bare_cr: offset of the first);
 *   LR_NEED_MORE no complete line in the bytes given;
 *   LR_TOO_LONG  the line is longer than max (ending not counted). This is
 *                reported once, as soon as it is known; the reader then
 *                discards the rest of that line up to and including the
 *                next LF, silently and across as many calls as it takes,
 *                so the protocol answers exactly one error and stays in
 *                step with the client (like Postfix smtpd_chat). data/len
 *                hold at most max bytes of the line's start, for logging.
 *
 * and always sets consumed: the bytes the caller must drop now, whatever
 * the status (LR_NEED_MORE may consume discarded bytes).
 *
 * Bounds: the buffered length is compared with the limit before the line
 * end is searched for, and lr_next() never looks at more than lr_window()
 * bytes (max + 2: a full line and CRLF) of a line, nor more than
 * lr_window() bytes of discarded data per call, so a peer can make it
 * neither scan nor keep unbounded data. Give it at most lr_window() bytes:
 *
 *	for (;;) {
 *		size_t n = evbuffer_get_length(in);
 *
 *		if (n > lr_window(&lr))
 *			n = lr_window(&lr);
 *		st = lr_next(&lr, evbuffer_pullup(in, n), n, &line);
 *		if (st == LR_LINE)
 *			... handle line.data, line.len ...
 *		else if (st == LR_TOO_LONG)
 *			... reply "500 5.5.2 line too long" ...
 *		evbuffer_drain(in, line.consumed);
 *		if (st == LR_NEED_MORE && line.consumed == 0)
 *			break;
 *	}
 *
 * Line endings: lines split at LF only. A CR ends nothing: "a\rb\r\n" is
 * one line "a\rb" with one bare CR. A CR as the last byte available may be
 * the first half of a CRLF split across reads, so it is never judged until
 * the LF (or the limit) arrives. NUL bytes are ordinary data; protocols
 * that forbid them check the line themselves.
 *
 * SMTP DATA and smuggling: end of data is exactly CRLF "." CRLF. Treating
 * "." ended by a bare LF, or a "." after a line ended by a bare LF, as the
 * terminator lets a client smuggle a second message past a server whose
 * upstream or downstream reads the stream differently (the 2023 SMTP
 * smuggling issue: "\r\n.\n", "\n.\r\n", "\r\n.\r"). The DATA reader must
 * therefore end data only when
 *
 *	lr_line_is_dot(&line) && prev_end == LR_END_CRLF
 *
 * with prev_end the end of the line before (LR_END_CRLF for the first
 * line after "354"), and handle dot-unstuffing itself. Lines ended by a
 * bare LF and lines with bare CRs are data, never terminators; a stricter
 * server rejects the message when it saw any (end == LR_END_LF or
 * bare_cr > 0), and must never turn a bare LF into CRLF before this test.
 */
#ifndef SLUICE_LINEREADER_H
#define SLUICE_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>

struct linereader {
	size_t	max;		/* longest line accepted, ending excluded */
	int	discarding;	/* skipping the rest of an overlong line */
};

enum lr_status {
	LR_LINE,
	LR_NEED_MORE,
	LR_TOO_LONG
};

enum lr_end {
	LR_END_CRLF,
	LR_END_LF
};

struct lr_line {
	const char	*data;		/* points into the caller's bytes */
	size_t		 len;		/* without the ending */
	enum lr_end	 end;
	size_t		 bare_cr;	/* CRs inside the line (all are bare) */
	size_t		 first_bare_cr;	/* offset of the first, if bare_cr */
	size_t		 consumed;	/* bytes the caller must drop now */
};

/* lr_init: max is the longest line, ending excluded (e.g. 510 for SMTP
 * commands, 998 for SMTP DATA text lines). */
void	 lr_init(struct linereader *lr, size_t max);
/* lr_window: how many buffered bytes to hand to lr_next() at most. */
size_t	 lr_window(const struct linereader *lr);
enum lr_status lr_next(struct linereader *lr, const void *data, size_t len,
	    struct lr_line *line_r);
/* lr_line_is_dot: the line is exactly "." ended by CRLF (see above). */
bool	 lr_line_is_dot(const struct lr_line *line);

#endif
