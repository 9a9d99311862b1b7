/*
 * rconn: one outgoing SMTP connection of the queue worker: a non-blocking
 * TCP connect, a bufferevent, STARTTLS (or implicit TLS to a smarthost)
 * through tls_client.h with DANE when TLSA records are given, per-stage
 * deadlines (from the session's last reply, never re-armed by bytes
 * trickling in; connect_timeout covers the TCP connect and, for
 * implicit TLS, adds the handshake's stage limit), and the protocol itself in an smtpc session (smtpc/session.h)
 * fed from the bufferevent.
 *
 * Contract: the owner gives one message at a time (rconn_send()); the
 * session's rcpt_done()/msg_done() come through the callbacks as the
 * smtpc contract says. closed() comes once, last, when the connection is
 * gone (failed to connect, broken, timed out, or after QUIT): why is NULL
 * after a clean end. After closed() the owner must rconn_free() it (not
 * from inside the callback: defer it).
 */
#ifndef SLUICE_QUEUE_RCONN_H
#define SLUICE_QUEUE_RCONN_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "smtpc.h"
#include "tls_client.h"

struct event_base;
struct rconn;

struct rconn_params {
	const struct sockaddr	*sa;
	socklen_t		 salen;
	const char		*host;		/* for SNI, names, logs */
	const char		*peer;		/* "host[addr]:port" */
	unsigned		 connect_timeout;
	bool			 implicit_tls;
	enum tls_policy		 tls_policy;
	SSL_CTX			*tls_ctx;	/* NULL: never TLS */
	const struct tls_tlsa	*tlsa;		/* secure records, or NULL */
	size_t			 ntlsa;
	struct smtpc_params	 smtpc;		/* tls set from tls_policy */
};

struct rconn_callbacks {
	void	*ctx;
	void	(*rcpt_done)(void *ctx, const struct smtpc_message *m,
		    size_t index, const struct smtpc_outcome *o);
	void	(*msg_done)(void *ctx, const struct smtpc_message *m,
		    const struct smtpc_outcome *o);
	void	(*closed)(void *ctx, const char *why);
};

/* What TLS did on the connection, for the attempt records. */
struct rconn_tls {
	bool		 active;
	char		 version[16];
	char		 cipher[64];
	const char	*dane;		/* "none", "verified", "failed" */
	bool		 failed;	/* a handshake was tried and failed */
};

/* Start connecting; NULL with *error_r when not even that works. */
struct rconn *rconn_open(struct event_base *base, const struct rconn_params *p,
	    const struct rconn_callbacks *cb, uint64_t sid,
	    const char **error_r);
/* Hand the connection to another owner (connection reuse). */
void	 rconn_set_callbacks(struct rconn *c, const struct rconn_callbacks *cb);
/* Give the next message; -1 when the connection cannot take it. */
int	 rconn_send(struct rconn *c, const struct smtpc_message *m);
/* QUIT when idle; closed() follows. */
void	 rconn_quit(struct rconn *c);
bool	 rconn_reusable(const struct rconn *c);
/* Did the TCP connection (and implicit TLS's handshake) succeed? */
bool	 rconn_connected(const struct rconn *c);
/* Did the session get past EHLO/HELO (a session, for the limits)? */
bool	 rconn_greeted(const struct rconn *c);
/* Did the server offer DSN (RFC 3461) in its EHLO reply? */
bool	 rconn_offers_dsn(const struct rconn *c);
const struct rconn_tls *rconn_tls(const struct rconn *c);
/* No callback comes after this. */
void	 rconn_free(struct rconn **cp);

#endif
