/*
 * dsn: build delivery status notifications (RFC 3464 inside an RFC 6522
 * multipart/report) for bounces (action failed), delay notices (delayed)
 * and success notices (delivered, relayed, expanded). Local delivery and
 * the remote client both call this one generator.
 *
 * Contract: pure. Everything, including the notice's Date and Message-ID,
 * comes in through struct dsn_msg, so the same input always yields the
 * same bytes; no I/O, no clock. The notice is appended to a caller's
 * struct buf: CRLF line ends, no line over 998 octets, RFC 5322 dates in
 * UTC, a MIME boundary made from the queue id and checked against every
 * part it encloses.
 *
 * - The caller decides whether a notice is due (NOTIFY, once per message
 *   for delays, ...); this module only writes it. A message with a null
 *   sender (NULL or "") gets no notice: DSN_NO_SEND, nothing written.
 * - The notice goes from the null sender (info_r->env_sender is "") to
 *   the original envelope sender, From MAILER-DAEMON@reporting_mta, with
 *   Auto-Submitted: auto-replied (RFC 3834).
 * - Third part: RET=FULL returns the whole message only when at least one
 *   recipient failed (RFC 3461 4.3: delay and success notices carry
 *   headers only). RET unset means HDRS: returning content to a sender who
 *   did not ask for it mostly feeds backscatter. A message larger than
 *   body_max is returned as headers only; headers larger than body_max,
 *   or any returned line over 998 octets, leave the part out. The text
 *   part says which happened.
 * - Text from outside (remote replies, host names, ORCPT) is untrusted:
 *   control characters (CR and LF included) become spaces, runs of white
 *   space collapse, it is cut at DSN_TEXT_MAX octets, and non-ASCII
 *   becomes '?' unless the notice is internationalised and the text is
 *   valid UTF-8. So no remote reply can add a field or a MIME part.
 * - Addresses (sender, final recipients) must be free of control
 *   characters, valid UTF-8 and at most DSN_ADDR_MAX octets, else -1.
 *   A non-ASCII address, or an original that came with SMTPUTF8, makes
 *   the notice internationalised (RFC 6533): message/global-delivery-
 *   status with utf-8 address types, message/global or
 *   message/global-headers; info_r->smtputf8 is then set and the notice
 *   must be sent with SMTPUTF8. info_r->eightbit says the notice holds
 *   8-bit octets (send with BODY=8BITMIME).
 */
#ifndef SLUICE_QUEUE_DSN_H
#define SLUICE_QUEUE_DSN_H

#include <stddef.h>
#include <time.h>

#define DSN_BODY_MAX	(1024 * 1024)	/* default cap on the returned part */
#define DSN_TEXT_MAX	900		/* cap on one outside text value */
#define DSN_ADDR_MAX	512		/* RFC 5321 paths are 256; be lenient */

enum dsn_action {
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_RELAYED,
	DSN_ACTION_EXPANDED,
};

enum dsn_ret {
	DSN_RET_UNSET,		/* treated as HDRS */
	DSN_RET_HDRS,
	DSN_RET_FULL,
};

enum dsn_result {
	DSN_ERROR = -1,
	DSN_OK = 0,
	DSN_NO_SEND = 1,	/* null sender: never send a notice */
};

struct dsn_rcpt {
	const char	*final_rcpt;	/* address as we tried it, no <> */
	const char	*orcpt;		/* "type;address", xtext-decoded; NULL */
	enum dsn_action	 action;
	const char	*status;	/* "5.1.1"; NULL/invalid: by action */
	const char	*remote_mta;	/* host name; NULL: none */
	const char	*diagnostic;	/* SMTP reply text, may be multi-line */
	time_t		 last_attempt;	/* 0: field left out */
	time_t		 retry_until;	/* delayed only; 0: left out */
};

struct dsn_msg {
	const char	*reporting_mta;	/* our host name */
	const char	*queue_id;
	const char	*sender;	/* original envelope sender, no <> */
	const char	*envid;		/* ENVID, xtext-decoded; NULL */
	time_t		 arrival;	/* 0: Arrival-Date left out */
	enum dsn_ret	 ret;
	int		 smtputf8;	/* original arrived with SMTPUTF8 */
	const char	*body;		/* original message; NULL: none */
	size_t		 body_len;
	size_t		 body_max;	/* 0: DSN_BODY_MAX */
	time_t		 date;		/* the notice's Date */
	const char	*message_id;	/* the notice's, without <> */
	const struct dsn_rcpt *rcpts;
	size_t		 nrcpts;
};

struct dsn_info {
	const char	*env_sender;	/* always "": the null sender */
	const char	*env_rcpt;	/* the original sender */
	int		 smtputf8;	/* send with SMTPUTF8 */
	int		 eightbit;	/* send with BODY=8BITMIME */
};

struct buf;

/*
 * dsn_report_write: append the notice for m to out. Returns DSN_OK with
 * *info_r filled, DSN_NO_SEND (nothing appended) for a null sender, or
 * DSN_ERROR with a constant reason in *error_r (bad input, or out's
 * maximum reached; out is then restored to its old length).
 */
int	dsn_report_write(const struct dsn_msg *m, struct buf *out,
	    struct dsn_info *info_r, const char **error_r);

/* dsn_date_format: RFC 5322 date in UTC into dst (at least 32 octets). */
void	dsn_date_format(time_t t, char *dst, size_t size);

#endif
