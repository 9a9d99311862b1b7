/*
 * remote: delivery to other domains, on the queue worker's event loop.
 *
 * A job is the due recipients of one message for one destination: a
 * domain (its MX hosts, RFC 5321 5.1: preference order, equal ones
 * shuffled, every address of each; no MX: the domain's own addresses;
 * null MX: bounce 5.1.10; NXDOMAIN: 5.1.2) or a smarthost (sluice.conf
 * relay). Every DNS answer has a security class (dns.h): bogus defers
 * with the validator's reason and is never delivered to; a host whose
 * addresses came securely from a secure MX answer gets a TLSA lookup
 * (RFC 7672), and secure usable TLSA records make TLS with DANE
 * mandatory for it. An MX address that is one of our own listeners is a
 * loop: 5.4.6.
 *
 * Every MX host is looked up before the first connection (as Postfix
 * does): an MX host that is one of our own addresses leaves only the
 * hosts preferred to it (we are a backup MX), or, when it is the most
 * preferred, bounces the mail as a loop (5.4.6). At most
 * smtp_client_address_limit addresses are tried, and at most
 * smtp_client_session_limit sessions that got past EHLO; the whole
 * attempt ends after smtp_client_job_timeout.
 *
 * Connections (rconn.h) try each address in turn while the failure is
 * the connection's (refused, timeout, banner, EHLO, TLS, MAIL); a
 * recipient's own 4xx defers it, 5xx bounces it, and the message's end
 * of data decides for the recipients the server accepted. At most
 * smtp_client_rcpt_limit recipients go in a transaction; those a
 * server refused with 452 as too many go in the next one at once. The
 * body is read from queue.db in pieces as the connection takes it. The verdicts
 * then go to the owner (remote_record_fn), which records them in
 * queue.db off the loop and calls remote_job_free() when done.
 */
#ifndef SLUICE_QUEUE_REMOTE_H
#define SLUICE_QUEUE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "db_queue.h"
#include "verdict.h"

struct event_base;
struct remote;

/* A finished job, handed to the owner to record. */
struct remote_job {
	struct remote		*r;
	struct queue_envelope	 env;
	struct queue_due	*rcpts;
	size_t			 n;
	struct verdict		*v;
	int64_t			 ms;		/* how long it took */
	char			 dest[256];	/* domain or relay:NAME */
	/* Private to remote.c. */
	struct remote_job_state	*st;
};

/* Called on the loop when a job is finished; the owner records it and
 * calls remote_job_free() later. */
typedef void remote_record_fn(void *arg, struct remote_job *job);

/*
 * The relays' credentials (relay auth=FILE), read while the process is
 * still root, so that the files may be root's alone (mode 0600).
 */
struct remote_cred {
	char	*user, *pass;		/* NULL: no AUTH */
};
struct remote_creds;
struct remote_creds *remote_creds_load(const struct config *cfg);
void	 remote_creds_free(struct remote_creds **cp);
/* Relay i's (cfg->relay.v[i]), or NULL. */
const struct remote_cred *remote_creds_get(const struct remote_creds *c,
	    size_t i);

/* creds: taken over (NULL: read them now, as whoever runs this). */
struct remote *remote_new(struct event_base *base, const struct config *cfg,
	    struct remote_creds *creds, remote_record_fn *record, void *arg,
	    const char **error_r);
void	 remote_free(struct remote **rp);

/* The destination of a recipient: "relay:NAME" or its domain. */
void	 remote_destination(const struct config *cfg, const char *route,
	    const char *address, char *out, size_t size);
/* May a new job for dest start now (concurrency limits)? */
bool	 remote_can_start(const struct remote *r, const char *dest);
/*
 * Start delivering rcpts[0..n) of message_id to dest; takes the strings
 * of rcpts (cleared in the array). -1 when the message cannot be read
 * (the recipients stay due).
 */
int	 remote_start(struct remote *r, const char *message_id,
	    const char *dest, struct queue_due *rcpts, size_t n, time_t now);
/* Stopping: every job ends now; the recipients already settled are
 * handed to the owner, the others stay due. Kept connections close. */
void	 remote_stop(struct remote *r);
void	 remote_job_free(struct remote_job **jp);

#endif
