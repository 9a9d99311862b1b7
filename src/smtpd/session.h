/*
 * session: one SMTP server session (RFC 5321 and its extensions) as a
 * state machine, with no sockets in sight.
 *
 * The server glue (server.c) feeds bytes in with smtpd_session_input() and
 * gets replies out through the smtpd_io callbacks; everything else the
 * session needs (recipient lookups, password checks, the durable queue,
 * queue ids, the clock) comes through the smtpd_services table, so unit
 * tests drive a session from buffers with fakes.
 *
 * Asynchronous work (a password check, a queue commit) pauses the
 * session: smtpd_session_input() consumes nothing more until the owner
 * delivers the result with smtpd_session_auth_done() or
 * smtpd_session_queue_done(), found by the session id (STYLE.md rule 7:
 * the session may be gone by then), after which io->resume() asks the
 * glue to feed what it has buffered.
 */
#ifndef SLUICE_SMTPD_SESSION_H
#define SLUICE_SMTPD_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "listener.h"
#include "policy.h"
#include "qid.h"

struct auth_throttle;
struct queue_msg;

/* Longest reply line we send, CRLF included (RFC 5321 4.5.3.1.5). */
#define SMTPD_LINE_MAX		512

struct smtpd_services {
	void	*impl;
	/* The policy's decision at a stage (src/policy); runs on the loop
	 * (directory point reads and shared counters only). The stage's
	 * event (connection, message at MAIL, recipient) is counted in the
	 * same step, whatever the decision. */
	void	(*policy)(void *impl, const struct policy_input *in,
		    struct policy_decision *d);
	/* Count an event the stages do not (a failed login). */
	void	(*count)(void *impl, enum policy_event ev,
		    const struct policy_input *in);
	/*
	 * Start a password check off the loop. 0: started, the result comes
	 * through smtpd_session_auth_done(sid, ...); -1: cannot start now.
	 */
	int	(*auth_start)(void *impl, uint64_t sid, const char *user,
		    const char *password);
	/*
	 * Take a finished message (ownership passes) and make it durable.
	 * 0: the result comes through smtpd_session_queue_done(sid, ...);
	 * -1: refused at once (the session answers 451 and frees nothing).
	 */
	int	(*queue_submit)(void *impl, uint64_t sid, struct queue_msg *m);
	void	(*qid_next)(void *impl, char out[QID_LEN + 1]);
	time_t	(*now)(void *impl);
	/* Is address a local user over quota, or one a message of size
	 * octets (0: not announced) cannot fit? May be NULL: never. */
	bool	(*quota_full)(void *impl, const char *address, uint64_t size);
};

struct smtpd_io {
	void	*ctx;
	void	(*write)(void *ctx, const void *data, size_t len);
	/* Flush what was written, then start TLS; unread plaintext input
	 * must be thrown away (CVE-2011-0411). Return -1 if impossible. */
	int	(*starttls)(void *ctx);
	/* Flush what was written, then close. */
	void	(*close)(void *ctx);
	/* The session can take input again: feed what is buffered. */
	void	(*resume)(void *ctx);
};

/* Shared by the sessions of one worker. */
struct smtpd_env {
	const struct config		*cfg;
	const struct smtpd_services	*svc;
	bool				 tls_available;	/* STARTTLS possible */
	const char			*spill_dir;	/* large bodies */
	struct auth_throttle		*throttle_addr;	/* failed AUTH by */
	struct auth_throttle		*throttle_user;	/* network, account */
};

/* The client as the glue knows it when the connection arrives. */
struct smtpd_client {
	char		addr[INET6_ADDRSTRLEN];	/* "" for unix sockets */
	struct sockaddr_storage sa;		/* ss_family 0: unix socket */
	char		net[INET6_ADDRSTRLEN + 4];	/* its /32 or /64 */
	char		name[256];		/* "unknown": no rDNS yet */
	uint16_t	port;
	bool		tls;			/* implicit TLS established */
	char		tls_version[32];
	char		tls_cipher[64];
};

struct smtpd_session;

struct smtpd_session *smtpd_session_new(const struct smtpd_env *env,
	    const struct listener *listener, const struct smtpd_client *client,
	    const struct smtpd_io *io, uint64_t sid);
void	 smtpd_session_free(struct smtpd_session **sp);

/* Send the greeting (or 421 when refuse_text is not NULL, then close). */
void	 smtpd_session_start(struct smtpd_session *s, const char *refuse_text);
/*
 * Feed client bytes; returns how many were consumed. Less than len means
 * the session is paused or closing: keep the rest buffered.
 */
size_t	 smtpd_session_input(struct smtpd_session *s, const char *data,
	    size_t len);
/* The client closed the connection (or it broke). */
void	 smtpd_session_eof(struct smtpd_session *s);
/* The STARTTLS handshake finished (ok false: it failed; close). */
void	 smtpd_session_tls_done(struct smtpd_session *s, bool ok,
	    const char *version, const char *cipher);
void	 smtpd_session_auth_done(struct smtpd_session *s, bool ok);
void	 smtpd_session_queue_done(struct smtpd_session *s, bool ok,
	    const char *error);
/* The client was silent longer than smtpd_session_timeout() allows. */
void	 smtpd_session_timeout(struct smtpd_session *s);
/* Seconds of silence the current state allows. */
int64_t	 smtpd_session_timeout_secs(const struct smtpd_session *s);
/*
 * The daemon is stopping: an idle session gets 421 4.3.2 and is closed;
 * one inside a transaction may finish it and is closed after its reply.
 * Returns true when the session closed now.
 */
bool	 smtpd_session_shutdown(struct smtpd_session *s);
/* Force: 421 4.3.2 whatever the state (the grace period is over). */
void	 smtpd_session_abort(struct smtpd_session *s);

uint64_t smtpd_session_id(const struct smtpd_session *s);
bool	 smtpd_session_paused(const struct smtpd_session *s);
bool	 smtpd_session_closing(const struct smtpd_session *s);
/* For logs and tests: the state's name. */
const char *smtpd_session_state_name(const struct smtpd_session *s);

#endif
