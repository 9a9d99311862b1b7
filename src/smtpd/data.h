/*
 * data: the message body reader for SMTP DATA (RFC 5321 4.1.1.4, 4.5.2)
 * and BDAT (RFC 3030). Bytes in, message content out through a sink
 * callback, facts about the message in a result; no I/O of its own.
 *
 * Contract:
 * - DATA mode, data_reader_feed(): the caller presents the bytes it has
 *   buffered (an evbuffer prefix); the reader consumes whole lines and
 *   says how many bytes it took. What it leaves is an unfinished line
 *   shorter than data_reader_window(): keep it and present it again with
 *   more appended. A prefix of data_reader_window() bytes always makes
 *   progress, so that is all the caller ever has to hold. Once it returns
 *   DATA_DONE the terminator has been consumed and nothing after it:
 *   pipelined commands stay in the caller's buffer.
 * - End of data is only CRLF "." CRLF, judged on the raw bytes (the first
 *   line after 354 counts as preceded by CRLF). A "." line ended by a bare
 *   LF, or following a line ended by a bare LF, or "." with a bare CR, is
 *   never the end (SMTP smuggling, 2023); see linereader.h.
 * - Dot-stuffing: a line that begins with "." and has more on it loses
 *   that first "." (".." -> ".", "..x" -> ".x"). A lone "." that is not
 *   the terminator (after a bare-LF line, or ended by a bare LF) is kept as
 *   it is: it has nothing after its dot, so nothing was stuffed. Lines are
 *   split at LF (CRLF or bare), so a line after a bare LF is unstuffed
 *   too; a bare CR is not a line start.
 * - Long lines: body lines longer than RFC 5321's 998 octets are not
 *   rejected; the line reader's limit is DATA_LINE_MAX and a longer line
 *   is passed through in pieces of up to data_reader_window() bytes,
 *   byte-exact. Only a real line start is checked for dots.
 * - BDAT mode, data_reader_feed_chunk(): the caller passes only bytes of
 *   the current chunk (it counts the chunk's octets down itself), in any
 *   pieces; all are consumed. No dot-unstuffing, no terminator. A CR at
 *   the end of one piece or chunk and an LF at the start of the next make
 *   one CRLF. data_reader_finish() after the last chunk (BDAT LAST).
 *   A reader is in one mode for its whole message: never mix the two.
 * - Bare CR and bare LF (not part of a CRLF): DATA_BARE_NORMALISE writes
 *   each as CRLF; DATA_BARE_REJECT latches DATA_ERR_BARE. Either way they
 *   are counted and the end of data is unaffected.
 * - Errors latch (DATA_ERR_*): the reader keeps consuming to the end of
 *   data and reports then, so the session answers in step with the
 *   client. From the first error on the sink is never called again (what
 *   it already has is to be thrown away), so a client can make it store no
 *   more than max_size octets. Several may be set; TOO_BIG (552 5.3.4)
 *   then BARE (550 5.5.2) then SINK (451 4.3.0) is the order to answer
 *   in, as a permanent fault of the message outranks a local one.
 * - Output is handed to the sink in pieces of up to DATA_OUT_SIZE octets
 *   (bigger only when a BDAT piece passes through whole). The last piece
 *   goes out when data ends (DATA_DONE, or data_reader_finish()).
 * - Results are the same for every split of the same input. Memory is the
 *   struct plus one DATA_OUT_SIZE buffer, whatever the client sends.
 */
#ifndef SLUICE_SMTPD_DATA_H
#define SLUICE_SMTPD_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linereader.h"

/* Longest line (ending excluded) the line reader takes whole; longer body
 * lines pass through in pieces. */
#define DATA_LINE_MAX		998
/* Output is batched into pieces of this size before reaching the sink. */
#define DATA_OUT_SIZE		(16 * 1024)
/* Defaults for the header scan limits (data_limits fields left at 0). */
#define DATA_HEADER_LINES	1000
#define DATA_HEADER_SIZE	(1024 * 1024)

/* errors */
#define DATA_ERR_TOO_BIG	0x01u	/* over max_size: 552 5.3.4 */
#define DATA_ERR_BARE		0x02u	/* bare CR/LF, REJECT: 550 5.5.2 */
#define DATA_ERR_SINK		0x04u	/* the sink failed: 451 4.3.0 */

enum data_bare_policy {
	DATA_BARE_REJECT,
	DATA_BARE_NORMALISE
};

/* Returns 0, or -1 on failure (e.g. disk full); -1 latches DATA_ERR_SINK. */
typedef int (*data_sink_fn)(void *ctx, const char *data, size_t len);

struct data_limits {
	uint64_t		 max_size;	/* output octets; 0: none */
	enum data_bare_policy	 bare;
	/* Header scan: past these it stops (header_overflow), which is
	 * not an error by itself. 0: DATA_HEADER_LINES, DATA_HEADER_SIZE. */
	size_t			 max_header_lines;
	uint64_t		 max_header_size;
};

/*
 * size and errors are current at any time; the rest is final once data
 * has ended. Header facts are read from the output (unstuffed,
 * normalised): the header section is every line before the first empty
 * one.
 */
struct data_result {
	uint64_t	 size;		/* output octets, counted past max_size */
	unsigned	 errors;	/* DATA_ERR_* */
	unsigned	 received;	/* Received: fields in the header */
	bool		 has_date;
	bool		 has_message_id;
	bool		 has_from;
	bool		 header_complete; /* an empty line ended the header */
	bool		 header_overflow; /* header scan limits passed */
	bool		 eight_bit;	/* an octet >= 0x80 */
	bool		 nul;		/* a NUL octet */
	/* Output offset just past the last header line scanned. With
	 * header_complete, the empty line starts here: new fields go here. */
	uint64_t	 header_end;
	uint64_t	 bare_cr;
	uint64_t	 bare_lf;
};

enum data_status {
	DATA_MORE,
	DATA_DONE
};

/* Private: embed it, but use the functions below. */
struct data_reader {
	struct data_limits	 lim;
	data_sink_fn		 sink;
	void			*ctx;
	struct data_result	 res;
	struct linereader	 lr;
	char			*out;		/* DATA_OUT_SIZE, NULL when done */
	size_t			 out_len;
	int			 mode;
	bool			 finished;
	bool			 mid_line;	/* inside an overlong line */
	bool			 prev_crlf;	/* last line ended by CRLF */
	bool			 pending_cr;	/* BDAT piece ended with CR */
	int			 hstate;
	char			 hname[16];
	size_t			 hname_len;
	size_t			 hlines;
	uint64_t		 hline_start;
};

/* Start a message. Allocates the output buffer: pair with release. */
void	 data_reader_init(struct data_reader *r, const struct data_limits *lim,
	    data_sink_fn sink, void *ctx);
/* Free what the reader holds; safe on a zeroed or released reader. */
void	 data_reader_release(struct data_reader *r);
/* Bytes the caller must be able to present in DATA mode. */
size_t	 data_reader_window(const struct data_reader *r);

/* DATA: consume lines from buf; *consumed_r as described above. After
 * DATA_DONE every further call returns DATA_DONE and consumes nothing. */
enum data_status data_reader_feed(struct data_reader *r, const char *buf,
	    size_t len, size_t *consumed_r);
/* BDAT: consume len octets of the current chunk; returns len. */
size_t	 data_reader_feed_chunk(struct data_reader *r, const char *buf,
	    size_t len);
/* No more input (after BDAT LAST): flush, settle a trailing CR (bare),
 * finish the header facts. Done by itself at DATA_DONE; idempotent. */
void	 data_reader_finish(struct data_reader *r);

const struct data_result *data_reader_result(const struct data_reader *r);

#endif
