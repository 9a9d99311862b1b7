/*
 * session_int: the inside of an SMTP session, shared by session.c (state,
 * input, replies) and commands.c (the command table) and message.c (what
 * is handed to the queue). Nothing outside src/smtpd includes this.
 */
#ifndef SLUICE_SMTPD_SESSION_INT_H
#define SLUICE_SMTPD_SESSION_INT_H

#include "addr.h"
#include "auth.h"
#include "buf.h"
#include "data.h"
#include "linereader.h"
#include "msgbody.h"
#include "parse.h"
#include "session.h"

enum smtpd_state {
	SMTPD_STATE_NEW,	/* nothing sent yet */
	SMTPD_STATE_GREETED,	/* greeting sent: EHLO or HELO first */
	SMTPD_STATE_READY,	/* after EHLO: commands, maybe a transaction */
	SMTPD_STATE_AUTH,	/* waiting for an AUTH continuation line */
	SMTPD_STATE_AUTH_CHECK,	/* password check running: paused */
	SMTPD_STATE_DATA,	/* reading a DATA body */
	SMTPD_STATE_BDAT,	/* reading a BDAT chunk */
	SMTPD_STATE_COMMIT,	/* the queue is making it durable: paused */
	SMTPD_STATE_TLS,	/* STARTTLS handshake: paused */
	SMTPD_STATE_CLOSED,	/* closing: nothing more is read */
};

/* flags */
#define SMTPD_F_EHLO		0x01u	/* EHLO (not HELO): extensions on */
#define SMTPD_F_TLS		0x02u	/* TLS is active */
#define SMTPD_F_AUTHED		0x04u	/* AUTH succeeded */
#define SMTPD_F_STOPPING	0x08u	/* daemon shutdown: close when idle */

enum smtpd_auth_mech { SMTPD_AUTH_PLAIN, SMTPD_AUTH_LOGIN };

/* Where the policy routes a recipient: "", "local" or "relay:NAME". */
struct smtpd_route {
	char	 route[POLICY_ROUTE_MAX];
};

/* One mail transaction, from MAIL to the end of its data or RSET. */
struct smtpd_txn {
	char			 qid[QID_LEN + 1];
	struct smtp_mail	 mail;
	struct smtp_rcpt	*rcpts;
	struct smtpd_route	*routes;	/* one per recipient */
	size_t			 nrcpts;
	size_t			 rcpt_cap;
	bool			 chunking;	/* BDAT seen: DATA refused */
	bool			 reading;	/* body reader active */
	struct data_reader	 reader;
	struct msgbody		*body;
};

struct smtpd_session {
	const struct smtpd_env	*env;
	const struct listener	*listener;
	struct smtpd_client	 client;
	struct smtpd_io		 io;
	uint64_t		 id;
	char			 sid[17];
	enum smtpd_state	 state;
	unsigned		 flags;
	unsigned		 errors;
	char			 helo[256];
	char			 user[ADDR_TEXT_MAX + 1];	/* after AUTH */
	struct linereader	 lr;
	struct smtpd_txn	*txn;
	/* AUTH exchange in progress */
	enum smtpd_auth_mech	 auth_mech;
	bool			 auth_have_user;
	struct auth_creds	 creds;
	/* BDAT chunk in progress */
	uint64_t		 bdat_left;
	bool			 bdat_last;
	bool			 bdat_swallow;	/* refused: read and drop */
	enum smtpd_state	 bdat_back;	/* state after a dropped chunk */
	unsigned		 junk;		/* NOOP, RSET, VRFY, HELP seen */
	struct buf		 scratch;	/* log quoting */
};

/* session.c */
/* Does this command line start with the BDAT verb? */
bool	 smtpd_line_is_bdat(const char *line, size_t len);
void	 smtpd_enter_state(struct smtpd_session *s, enum smtpd_state st);
void	 smtpd_reply(struct smtpd_session *s, int code, const char *status,
	    const char *fmt, ...) PRINTF_LIKE(4, 5);
void	 smtpd_reply_error(struct smtpd_session *s,
	    const struct smtp_error *e);
void	 smtpd_close(struct smtpd_session *s);
/*
 * Ask the policy at a stage; false when it refused, the reply sent and
 * the deciding rule logged. rcpt, from: NULL unless the stage has them.
 */
bool	 smtpd_policy(struct smtpd_session *s, enum policy_stage stage,
	    const struct addr *rcpt, uint64_t size, const struct addr *from,
	    size_t nfrom, struct policy_decision *d);
void	 smtpd_count(struct smtpd_session *s, enum policy_event ev);
const char *smtpd_qid(const struct smtpd_session *s);
void	 smtpd_txn_free(struct smtpd_session *s);
bool	 smtpd_auth_offered(const struct smtpd_session *s);
bool	 smtpd_starttls_offered(const struct smtpd_session *s);
/* Reset everything a STARTTLS or a new EHLO forgets. */
void	 smtpd_session_reset(struct smtpd_session *s, bool forget_auth);

/* commands.c */
void	 smtpd_command(struct smtpd_session *s, const char *line, size_t len);
void	 smtpd_auth_line(struct smtpd_session *s, const char *line,
	    size_t len);
void	 smtpd_auth_finish(struct smtpd_session *s, bool ok);

/* message.c */
void	 smtpd_data_begin(struct smtpd_session *s);
size_t	 smtpd_data_input(struct smtpd_session *s, const char *data,
	    size_t len);
size_t	 smtpd_bdat_input(struct smtpd_session *s, const char *data,
	    size_t len);
void	 smtpd_message_end(struct smtpd_session *s);
void	 smtpd_message_committed(struct smtpd_session *s, bool ok,
	    const char *error);

#endif
