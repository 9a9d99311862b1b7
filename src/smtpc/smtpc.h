/*
 * smtpc: one outgoing SMTP connection (RFC 5321, with PIPELINING,
 * SIZE, 8BITMIME, SMTPUTF8, DSN, STARTTLS and AUTH) as a state machine,
 * with no sockets in sight.
 *
 * The delivery glue connects, makes a session and feeds it the server's
 * bytes with smtpc_session_input(); the session writes its commands
 * through struct smtpc_io. Entering a state sends that state's command
 * and the reply decides the next state, as in OpenSMTPD's mta_session.
 * Certificate checks (CA or DANE) are the glue's: the session asks for
 * the handshake with io->starttls() and learns the result through
 * smtpc_session_tls_done(). Timers are the glue's too; the session says
 * how long its current stage may wait (smtpc_session_timeout_secs(), RFC
 * 5321 4.5.3.2 defaults), counted from its last progress
 * (smtpc_session_progress(): a reply, not a byte), and is told when it
 * has waited too long.
 *
 * Messages: smtpc_session_next_message() gives the session one message
 * (possibly before the banner has arrived; it is sent once the session
 * is ready). For every message given, each recipient gets exactly one
 * rcpt_done() and then the message one msg_done(), whatever happens
 * (server replies, local refusals, a lost connection, a timeout), unless
 * the session is freed first. From msg_done() the glue may give the next
 * message (connection reuse: RSET first) or call smtpc_session_quit();
 * not from rcpt_done(). Callbacks may run inside any smtpc_session_*()
 * call, smtpc_session_next_message() included (a message refused before
 * a command is sent), and must not free the session.
 *
 * The message body is pulled through a read callback in chunks, and only
 * as the glue drains its output (smtpc_session_output_drained()), so a
 * large message is never held whole in memory. It must have CRLF line
 * ends; the session dot-stuffs it (after any LF) and ends it with
 * CRLF "." CRLF, adding the CRLF before when the body lacks it.
 *
 * Decisions (verdict, status; "host" failures settle the message under
 * way or waiting, and the session is not reused):
 *  - banner not 220: host, by its code (5xx perm, else temp), then QUIT;
 *  - EHLO 5xx: HELO instead; EHLO 4xx or HELO refused: host, by code;
 *  - TLS "may": STARTTLS when offered; refused (4xx/5xx): go on in
 *    plaintext; handshake failed: host, temp 4.7.5, closed, never
 *    plaintext. "encrypt", "verify", "dane": not offered: host, temp
 *    4.7.4; refused: host, temp, the reply; failed: as above. The
 *    certificate checks are the glue's;
 *  - AUTH (credentials given): PLAIN if offered, else LOGIN; only over
 *    TLS unless auth_plaintext; not possible or refused: host, temp
 *    (a 5.7.8 becomes 4.7.8: never bounce on our credentials);
 *  - refused before MAIL, the connection kept: SIZE over the server's
 *    limit 552 5.3.4, 8-bit without 8BITMIME 554 5.6.3 (no downgrade),
 *    UTF-8 (flag or any address) without SMTPUTF8 553 5.6.7, a sender
 *    or recipient that could not go on a command line 553 5.1.7/5.1.3;
 *  - MAIL, RCPT, DATA, final dot: each recipient by its own reply, the
 *    accepted ones by the DATA or final reply; DSN parameters only when
 *    DSN is offered; CHUNKING is noted but DATA is always used;
 *  - 421 anywhere: host, temp, closed without QUIT; a malformed reply,
 *    a reply out of turn, bytes after the 220 to STARTTLS or after the
 *    354: host, temp 4.5.0 (4.7.5), closed; lost connection or timeout:
 *    host, temp 4.4.2; the body unreadable: temp 4.3.0, closed without
 *    the final dot.
 * Outcome stages are the session's: "rset" for a failed RSET, "body"
 * and "dot" for the data block and its reply.
 *
 * Logs: commands and replies at debug (a reply's lines joined, escaped
 * and truncated through log_quote(); never an AUTH payload), each
 * recipient's outcome at info (notice when it failed), host failures
 * at notice.
 */
#ifndef SLUICE_SMTPC_H
#define SLUICE_SMTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "reply.h"

/* Longest reply text handed to callbacks (joined lines), before "...". */
#define SMTPC_TEXT_MAX		1000
/* Longest address accepted in a message, and credentials. */
#define SMTPC_ADDR_MAX		512
#define SMTPC_CRED_MAX		512
/* Body octets read per step, and per smtpc_session_output_drained(). */
#define SMTPC_BODY_READ		16384
#define SMTPC_BODY_BURST	(64 * 1024)

enum smtpc_tls_policy {
	SMTPC_TLS_NONE,		/* never STARTTLS */
	SMTPC_TLS_MAY,		/* STARTTLS when offered; plaintext only
				   when it is not (or the command is
				   refused), never after a failed handshake */
	SMTPC_TLS_ENCRYPT,	/* required, any certificate */
	SMTPC_TLS_VERIFY,	/* required, CA-verified (glue checks) */
	SMTPC_TLS_DANE,		/* required, DANE-verified (glue checks) */
};

/* Where a session is, for outcomes and for the glue's timers. */
enum smtpc_stage {
	SMTPC_STAGE_CONNECT,	/* the glue's: before the session */
	SMTPC_STAGE_BANNER,
	SMTPC_STAGE_EHLO,	/* EHLO or HELO */
	SMTPC_STAGE_STARTTLS,	/* the command and the handshake */
	SMTPC_STAGE_AUTH,
	SMTPC_STAGE_IDLE,	/* ready, no transaction */
	SMTPC_STAGE_RSET,
	SMTPC_STAGE_MAIL,
	SMTPC_STAGE_RCPT,
	SMTPC_STAGE_DATA,	/* DATA sent, waiting for 354 */
	SMTPC_STAGE_BODY,	/* sending the data block */
	SMTPC_STAGE_DOT,	/* final dot sent, waiting for the reply */
	SMTPC_STAGE_QUIT,
	SMTPC_STAGE_CLOSED,
};

enum smtpc_verdict {
	SMTPC_OK,		/* delivered (or step accepted) */
	SMTPC_TEMP,		/* try again later, maybe another host */
	SMTPC_PERM,		/* bounce */
};

/* Seconds each stage may wait; 0 in a field takes the default. */
struct smtpc_limits {
	unsigned	 banner;	/* 300, RFC 5321 4.5.3.2.1 */
	unsigned	 helo;		/* 300: EHLO, HELO */
	unsigned	 starttls;	/* 300: the command and handshake */
	unsigned	 auth;		/* 300 */
	unsigned	 rset;		/* 120 */
	unsigned	 mail;		/* 300, 4.5.3.2.2 */
	unsigned	 rcpt;		/* 300, 4.5.3.2.3 */
	unsigned	 data_init;	/* 120, 4.5.3.2.4 */
	unsigned	 data_block;	/* 180, 4.5.3.2.5 */
	unsigned	 data_done;	/* 600, 4.5.3.2.6 */
	unsigned	 quit;		/* 300 */
	unsigned	 idle;		/* 5: a cached connection, unused */
	size_t		 reply_line_max;	/* SMTPC_REPLY_LINE_MAX */
	size_t		 reply_lines_max;	/* SMTPC_REPLY_LINES_MAX */
	size_t		 reply_size_max;	/* SMTPC_REPLY_SIZE_MAX */
};

struct smtpc_params {
	const char	*helo_name;	/* ours, for EHLO and HELO */
	const char	*peer;		/* for logs: "mx.example[192.0.2.1]" */
	enum smtpc_tls_policy tls;
	bool		 tls_active;	/* implicit TLS, before the banner */
	const char	*auth_user;	/* NULL: no AUTH (copied) */
	const char	*auth_pass;
	bool		 auth_plaintext;	/* AUTH allowed without TLS */
	const struct smtpc_limits *limits;	/* NULL: defaults (copied) */
};

struct smtpc_io {
	void	*ctx;
	void	(*write)(void *ctx, const void *data, size_t len);
	/* Flush what was written, then start the handshake; the glue must
	 * throw away plaintext the server sent after the 220. Return -1 if
	 * it cannot; otherwise call smtpc_session_tls_done() later. */
	int	(*starttls)(void *ctx);
	/* Flush what was written, then close. */
	void	(*close)(void *ctx);
};

/* DSN NOTIFY bits, the values of the queue's QUEUE_NOTIFY_*. */
#define SMTPC_NOTIFY_NEVER	0x01u
#define SMTPC_NOTIFY_SUCCESS	0x02u
#define SMTPC_NOTIFY_FAILURE	0x04u
#define SMTPC_NOTIFY_DELAY	0x08u

struct smtpc_rcpt {
	const char	*address;	/* without <>; UTF-8 needs SMTPUTF8 */
	unsigned	 notify;	/* SMTPC_NOTIFY_*, 0: not given */
	const char	*orcpt;		/* "type;address" decoded, or NULL */
};

/* Owned by the caller; must stay valid until msg_done() for it. */
struct smtpc_message {
	const char		*qid;		/* for logs; may be NULL */
	const char		*sender;	/* "": the null sender */
	const struct smtpc_rcpt	*rcpts;
	size_t			 nrcpts;	/* >= 1 */
	uint64_t		 size;		/* body octets, for SIZE= */
	bool			 eightbit;	/* needs 8BITMIME */
	bool			 smtputf8;	/* needs SMTPUTF8 */
	const char		*dsn_ret;	/* NULL, "FULL" or "HDRS" */
	const char		*dsn_envid;	/* decoded, or NULL */
	void			*body_ctx;
	/* Up to len octets from offset: the count, 0 at the end, -1 on
	 * error (the connection is then dropped: there is no way to take
	 * back a DATA half sent). */
	ssize_t			(*body_read)(void *ctx, uint64_t offset,
				    void *out, size_t len);
};

/* What became of a recipient, a message, or the connection. */
struct smtpc_outcome {
	enum smtpc_stage	 stage;
	enum smtpc_verdict	 verdict;
	bool			 remote;	/* code and text are the
						   server's reply */
	int			 code;		/* the reply's, or ours */
	char			 status[SMTPC_STATUS_MAX];	/* always set */
	const char		*text;		/* printable ASCII, at most
						   SMTPC_TEXT_MAX + 3; valid
						   during the callback */
};

struct smtpc_callbacks {
	void	*ctx;
	/* Recipient index of m is settled (once per recipient). */
	void	(*rcpt_done)(void *ctx, const struct smtpc_message *m,
		    size_t index, const struct smtpc_outcome *o);
	/* m is finished: every recipient has had its rcpt_done(). o is the
	 * transaction's end: the final reply, or what stopped it. */
	void	(*msg_done)(void *ctx, const struct smtpc_message *m,
		    const struct smtpc_outcome *o);
};

struct smtpc_tls_info {
	bool	 active;
	char	 version[32];
	char	 cipher[64];
	char	 dane[64];	/* the glue's words: "", "match", ... */
};

struct smtpc_session;

void	 smtpc_limits_default(struct smtpc_limits *l);

/* A session on a connected socket: it waits for the banner. */
struct smtpc_session *smtpc_session_new(const struct smtpc_params *p,
	    const struct smtpc_io *io, const struct smtpc_callbacks *cb,
	    uint64_t sid);
/* No callbacks are made for a message still unfinished. */
void	 smtpc_session_free(struct smtpc_session **sp);

/*
 * Feed server bytes; returns how many were consumed. Keep the rest and
 * give it again with more. Less than len when the session stopped
 * reading (handshake, closed).
 */
size_t	 smtpc_session_input(struct smtpc_session *s, const char *data,
	    size_t len);
/* The handshake asked by io->starttls() ended. ok false: this host
 * fails (no plaintext fallback). Strings may be NULL. */
void	 smtpc_session_tls_done(struct smtpc_session *s, bool ok,
	    const char *version, const char *cipher, const char *dane);
/* The glue's output buffer has room: the body is sent on from here. */
void	 smtpc_session_output_drained(struct smtpc_session *s);
/* Is part of the body waiting for smtpc_session_output_drained()? */
bool	 smtpc_session_wants_output(const struct smtpc_session *s);
/*
 * Send m on this connection: now when idle, or once the session is
 * ready when it has not yet greeted. -1: impossible (a message is
 * already under way, the session failed or closed, or m has no
 * recipient).
 */
int	 smtpc_session_next_message(struct smtpc_session *s,
	    const struct smtpc_message *m);
/* Send QUIT when idle (at once) or after the current message. */
void	 smtpc_session_quit(struct smtpc_session *s);
/* The server closed the connection, or it broke. */
void	 smtpc_session_eof(struct smtpc_session *s);
/* The current stage waited longer than smtpc_session_timeout_secs(). */
void	 smtpc_session_timeout(struct smtpc_session *s);

unsigned smtpc_session_timeout_secs(const struct smtpc_session *s);
enum smtpc_stage smtpc_session_stage(const struct smtpc_session *s);
/* Idle, healthy, nothing pending: may carry another message. */
bool	 smtpc_session_reusable(const struct smtpc_session *s);
bool	 smtpc_session_closed(const struct smtpc_session *s);
/* Why the connection failed before or between messages, or NULL. */
const struct smtpc_outcome *smtpc_session_error(
	    const struct smtpc_session *s);
const struct smtpc_caps *smtpc_session_caps(const struct smtpc_session *s);
const struct smtpc_tls_info *smtpc_session_tls(
	    const struct smtpc_session *s);
/* Did the server accept EHLO or HELO (the initial handshake)? */
bool	 smtpc_session_greeted(const struct smtpc_session *s);
/*
 * Changes with every complete reply, state change and body chunk sent:
 * a deadline the glue re-arms only when it changes cannot be stretched
 * by a server trickling a reply in byte by byte.
 */
unsigned smtpc_session_progress(const struct smtpc_session *s);
/* Messages finished on this connection, delivered or not. */
unsigned smtpc_session_messages(const struct smtpc_session *s);
const char *smtpc_session_state_name(const struct smtpc_session *s);

const char *smtpc_stage_name(enum smtpc_stage stage);
const char *smtpc_verdict_name(enum smtpc_verdict v);
const char *smtpc_tls_policy_name(enum smtpc_tls_policy p);
/* "none", "may", "encrypt", "verify", "dane"; -1 for anything else. */
int	 smtpc_tls_policy_parse(const char *name, enum smtpc_tls_policy *p);

#endif
