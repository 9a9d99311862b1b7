/*
 * local: local delivery, run by the queue worker on its delivery thread.
 *
 * For each due recipient of one queued message it expands aliases (to
 * local users and to remote addresses, several levels deep, loops
 * detected), strips a +detail when the configuration names a delimiter,
 * stores the message once for all the local users (store.h: one mail.db
 * transaction keyed by (queue id, user), so doing it again after a crash
 * stores nothing twice), then records every recipient's outcome in
 * queue.db in one transaction together with the remote recipients the
 * aliases added and the notices due (bounce, success), made by dsn.h.
 *
 * Outcomes:
 *   delivered 2.0.0   stored (or already stored), or alias expanded
 *   deferred  4.2.2   over quota (5.2.2 failed once past queue_lifetime)
 *   deferred  4.3.0   store or directory error (retried)
 *   failed    5.1.1   no such user (alias deleted since), no mailbox here
 *   failed    5.2.1   user disabled
 *   failed    5.4.6   alias loop or alias nesting too deep
 *
 * Contract: a local_agent owns its database connections and is used by
 * one thread at a time (the delivery thread); it logs, and sends the
 * new-mail notification to sluice-mboxd (notify.h) after each mail.db
 * commit.
 */
#ifndef SLUICE_QUEUE_LOCAL_H
#define SLUICE_QUEUE_LOCAL_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "db_queue.h"

/* Aliases nested deeper than this are a loop. */
#define LOCAL_ALIAS_DEPTH_MAX	10
/* Most final addresses one recipient may expand to. */
#define LOCAL_TARGETS_MAX	1000

struct local_agent;

/* Opens directory.db, queue.db and mail.db (created if missing) under
 * cfg->state_dir; node is the queue id node for the notices it makes. */
struct local_agent *local_agent_new(const struct config *cfg, unsigned node,
	    const char **error_r);
void	 local_agent_free(struct local_agent **ap);

/* What one call did, for the caller's logs and counters. */
struct local_report {
	size_t		 delivered;	/* recipients now final: delivered */
	size_t		 deferred;
	size_t		 failed;
	size_t		 notices;	/* bounces and success notices queued */
};

/*
 * Deliver the due recipients rcpts[0..n) of message message_id (all of
 * the same message). Returns 0 when every outcome was recorded, -1 when
 * queue.db could not be written (nothing recorded: the recipients stay
 * due and the next attempt redoes it; mail.db already has what was
 * stored, so nothing is duplicated).
 */
int	 local_deliver(struct local_agent *a, const char *message_id,
	    const struct queue_due *rcpts, size_t n, time_t now,
	    struct local_report *rep);

/*
 * Remove from queue.db the mail whose recipients all became final more
 * than queue_retention ago, and from mail.db the delivery records no
 * retry can need any more; in bounded batches.
 */
void	 local_housekeeping(struct local_agent *a, time_t now);

/*
 * Record the verdicts of finished remote jobs (remote.h) in queue.db,
 * with their notices, in one transaction (a group commit), on the
 * delivery thread, each job in a savepoint of its own. -1: some job (or
 * all) not recorded: its recipients stay due.
 */
struct remote_job;
int	 local_record_remote(struct local_agent *a, struct remote_job **jobs,
	    size_t n, time_t now, struct local_report *rep);

#endif
