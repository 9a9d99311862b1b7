/*
 * smtpc_int: the inside of an SMTP client session, shared by session.c
 * (states, input, the handshake: banner, EHLO, STARTTLS, AUTH, QUIT) and
 * transaction.c (a message: RSET, MAIL, RCPT, DATA, the body). Nothing
 * outside src/smtpc includes this.
 */
#ifndef SLUICE_SMTPC_INT_H
#define SLUICE_SMTPC_INT_H

#include "buf.h"
#include "reply.h"
#include "smtpc.h"
#include "util.h"

enum smtpc_state {
	SMTPC_STATE_BANNER,	/* connected, waiting for the 220 */
	SMTPC_STATE_EHLO,	/* EHLO sent */
	SMTPC_STATE_HELO,	/* HELO sent, after EHLO was refused */
	SMTPC_STATE_STARTTLS,	/* STARTTLS sent */
	SMTPC_STATE_TLS,	/* handshake under way: input paused */
	SMTPC_STATE_AUTH,	/* AUTH PLAIN <response> or AUTH LOGIN sent */
	SMTPC_STATE_AUTH_USER,	/* LOGIN: the user name sent */
	SMTPC_STATE_AUTH_PASS,	/* LOGIN: the password sent */
	SMTPC_STATE_IDLE,	/* ready for a message */
	SMTPC_STATE_RSET,	/* RSET before a message on a used connection */
	SMTPC_STATE_MAIL,	/* MAIL sent (with PIPELINING: the group) */
	SMTPC_STATE_RCPT,	/* a RCPT reply is awaited */
	SMTPC_STATE_DATA,	/* DATA sent, waiting for 354 */
	SMTPC_STATE_BODY,	/* sending the body as output drains */
	SMTPC_STATE_DOT,	/* final dot sent */
	SMTPC_STATE_QUIT,	/* QUIT sent */
	SMTPC_STATE_CLOSED,	/* io->close() called; nothing more */
};

/* flags */
#define SMTPC_F_EHLO		0x01u	/* EHLO accepted: extensions on */
#define SMTPC_F_TLS		0x02u	/* TLS is active */
#define SMTPC_F_AUTHED		0x04u
#define SMTPC_F_QUIT		0x08u	/* QUIT once idle */
#define SMTPC_F_FAILED		0x10u	/* the host failed: no reuse */
#define SMTPC_F_USED		0x20u	/* a transaction ran: RSET first */
#define SMTPC_F_TLS_REFUSED	0x40u	/* STARTTLS refused (policy may) */
#define SMTPC_F_GREETED		0x80u	/* EHLO or HELO accepted */

/* A recipient's progress in its transaction. */
#define SMTPC_R_DONE		0x01u	/* rcpt_done() called */
#define SMTPC_R_ACCEPTED	0x02u	/* 250 to its RCPT */

struct smtpc_txn {
	const struct smtpc_message *m;
	unsigned char	*r;		/* SMTPC_R_* per recipient */
	size_t		*order;		/* recipients in RCPT order */
	size_t		 nsent;		/* RCPTs sent */
	size_t		 nreplied;	/* RCPT replies matched */
	size_t		 accepted;
	bool		 pipelined;	/* MAIL, RCPTs, DATA in one write */
	bool		 smtputf8;	/* sent with SMTPUTF8 */
	bool		 mail_failed;	/* every recipient settled */
	bool		 discard;	/* 354 with nobody accepted: "." */
	/* What ended it when no final reply will: MAIL's or the last
	 * RCPT's refusal. */
	struct smtpc_outcome why;
	struct buf	 why_text;
	/* body */
	uint64_t	 off;
	bool		 bol;		/* next octet starts a line */
	char		 last;		/* last octet sent, 0: none */
};

struct smtpc_session {
	struct smtpc_io		 io;
	struct smtpc_callbacks	 cb;
	struct smtpc_limits	 limits;
	enum smtpc_tls_policy	 tls_policy;
	bool			 auth_plaintext;
	uint64_t		 id;
	char			 sid[17];
	char			 helo[256];
	char			 peer[256];
	char			*auth_user;	/* NULL: no AUTH; wiped */
	char			*auth_pass;
	enum smtpc_state	 state;
	unsigned		 flags;
	struct smtpc_caps	 caps;
	struct smtpc_reply_parser parser;
	struct smtpc_tls_info	 tls;
	struct buf		 out;		/* commands not yet written */
	bool			 out_secret;	/* out holds AUTH: wipe */
	struct buf		 scratch;	/* log quoting */
	size_t			 input_left;	/* after the reply in hand */
	struct smtpc_txn	*txn;
	const struct smtpc_message *pending;	/* given before ready */
	bool			 has_error;
	struct smtpc_outcome	 error;
	char			 error_text[SMTPC_TEXT_MAX + 4];
	unsigned		 messages;
	unsigned		 progress;	/* see smtpc_session_progress */
	unsigned		 in_callback;	/* inside rcpt_done() */
	char			*rbuf;		/* SMTPC_BODY_READ octets */
};

/* session.c */
void	 smtpc_enter_state(struct smtpc_session *s, enum smtpc_state st);
/* Queue one command line (CRLF added); secret: log label, not text. */
void	 smtpc_send(struct smtpc_session *s, const char *secret,
	    const char *fmt, ...) PRINTF_LIKE(3, 4);
void	 smtpc_flush(struct smtpc_session *s);
const char *smtpc_qid(const struct smtpc_session *s);
enum smtpc_stage smtpc_state_stage(enum smtpc_state st);
/* Fill o from a reply (text into text, SMTPC_TEXT_MAX). */
void	 smtpc_outcome_reply(struct smtpc_outcome *o, struct buf *text,
	    enum smtpc_stage stage, const struct smtpc_reply *r);
/* Make o temporary, its status too ("5.7.8" -> "4.7.8"; 2xx or 3xx out
 * of turn -> "4.5.0"). */
void	 smtpc_outcome_temp(struct smtpc_outcome *o);
/* Fill o with a decision of ours. */
void	 smtpc_outcome_local(struct smtpc_outcome *o, struct buf *text,
	    enum smtpc_stage stage, enum smtpc_verdict v, int code,
	    const char *status, const char *fmt, ...) PRINTF_LIKE(7, 8);
/*
 * The host failed: remember why, settle the message under way or waiting
 * with o, then QUIT (quit) or close.
 */
void	 smtpc_fail(struct smtpc_session *s, const struct smtpc_outcome *o,
	    bool quit);
/* Idle: start the waiting message, or QUIT if asked. */
void	 smtpc_idle(struct smtpc_session *s);

/* transaction.c */
void	 smtpc_txn_start(struct smtpc_session *s,
	    const struct smtpc_message *m);
void	 smtpc_txn_free(struct smtpc_txn **tp);
/* Settle every recipient of m not yet settled, then msg_done(). */
void	 smtpc_msg_settle(struct smtpc_session *s,
	    const struct smtpc_message *m, const unsigned char *r,
	    const struct smtpc_outcome *o);
void	 smtpc_send_mail(struct smtpc_session *s);
void	 smtpc_send_rcpt(struct smtpc_session *s);
void	 smtpc_send_data(struct smtpc_session *s);
void	 smtpc_body_pump(struct smtpc_session *s);
void	 smtpc_send_dot(struct smtpc_session *s);
void	 smtpc_reply_rset(struct smtpc_session *s, const struct smtpc_reply *r);
void	 smtpc_reply_mail(struct smtpc_session *s, const struct smtpc_reply *r);
void	 smtpc_reply_rcpt(struct smtpc_session *s, const struct smtpc_reply *r);
void	 smtpc_reply_data(struct smtpc_session *s, const struct smtpc_reply *r);
void	 smtpc_reply_dot(struct smtpc_session *s, const struct smtpc_reply *r);

#endif
