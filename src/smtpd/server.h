/*
 * server: one sluiced SMTP worker process: a libevent loop that accepts
 * connections on the listening sockets the master bound, runs a session
 * for each, and provides the sessions' services (directory lookups, the
 * password checks on a thread pool, the group-commit queue writer).
 *
 * Contract: smtpd_worker_run() returns when the worker has stopped (after
 * SIGTERM: listeners closed, sessions finished or cut off after the grace
 * period). It never returns to accept more work.
 */
#ifndef SLUICE_SMTPD_SERVER_H
#define SLUICE_SMTPD_SERVER_H

#include <openssl/ssl.h>

#include "config.h"

struct policy;

/* A listening socket the master bound for one configured listener. */
struct smtpd_socket {
	int			 fd;
	const struct listener	*listener;
};

struct smtpd_worker_args {
	const struct config	*cfg;
	unsigned		 index;		/* qid node, logs */
	unsigned		 nworkers;
	struct smtpd_socket	*sockets;
	size_t			 nsockets;
	SSL_CTX			*tls;		/* NULL: no TLS */
	const struct policy	*policy;	/* the rules in force */
	int			 grace_secs;	/* SIGTERM: let transactions end */
};

/* Returns the process exit status. */
int	 smtpd_worker_run(const struct smtpd_worker_args *a);

#endif
