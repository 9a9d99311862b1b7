/*
 * rpool: the remote transport's kept connections. A connection whose
 * message went through is kept for smtp_client_reuse_time per
 * destination and handed to the next job for that destination, which
 * sends over it (RSET, MAIL) without DNS. Unused that long, or when a
 * new connection elsewhere needs its place (rpool_evict()), it is sent
 * QUIT; it frees itself once closed.
 *
 * What a job needs to go on over a kept connection travels with it
 * (struct rpool_conn). Kept connections count in the connection limits
 * (rpool_count()).
 */
#ifndef SLUICE_QUEUE_RPOOL_H
#define SLUICE_QUEUE_RPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "dns.h"
#include "rconn.h"

struct event_base;
struct relay;
struct remote_cred;
struct rpool;

struct rpool_conn {
	struct rconn		*conn;
	char			 host[256];
	char			 peer[300];
	char			 ip[DNS_ADDR_TEXT_MAX];
	int			 port;
	const char		*dnssec;	/* static */
	const struct relay	*relay;		/* the configuration's */
	const struct remote_cred *cred;
};

struct rpool *rpool_new(struct event_base *base);
/* Closes every kept connection at once. */
void	 rpool_free(struct rpool **pp);
/* Keep c (its rconn taken over, callbacks replaced) for dest, secs. */
void	 rpool_keep(struct rpool *p, const char *dest,
	    const struct rpool_conn *c, unsigned secs);
/* A reusable kept connection to dest, handed over (the caller sets its
 * callbacks); false when none. */
bool	 rpool_take(struct rpool *p, const char *dest, struct rpool_conn *out);
/* Kept connections not closing, to dest or (NULL) to anywhere. */
size_t	 rpool_count(const struct rpool *p, const char *dest);
/* Close the one unused longest, for a new connection's place. */
void	 rpool_evict(struct rpool *p);

#endif
