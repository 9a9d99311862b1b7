/*
 * qmgr: sluiced's queue worker process: it schedules and delivers.
 *
 * - Woken at once by the smtp workers after each queue.db commit (a
 *   datagram on <run_dir>/queue.wake, notify.h), and by a timer for the
 *   next deferred recipient that falls due (at most a minute apart, so a
 *   lost wake-up costs a minute at worst).
 * - Reads due recipients from queue.db's recipients_due index in
 *   (next_attempt, id) order, a page at a time, and routes each: local
 *   (a local domain, or the policy's "local" hint) goes to the local
 *   delivery agent (local.h) on the delivery thread, in batches of whole
 *   messages; remote (any other domain, or a "relay:NAME" hint) goes to
 *   the remote transport (remote.h) on the loop: it waits in a line per
 *   destination (rqueue.h), one job per message and destination (at most
 *   smtp_client_rcpt_limit recipients) started within the connection
 *   limits; the outcomes are recorded on the delivery thread, many jobs
 *   per queue.db transaction. A scan goes on from where the last one
 *   stopped; a full one runs every minute and when rows were left
 *   behind.
 * - One queue worker runs at a time: it holds an exclusive lock on
 *   <state_dir>/queue.lock, so after a reload the new one starts only
 *   when the old one has finished its batch.
 * - SIGTERM and SIGUSR1 (replaced by a reload): finish the batch in hand,
 *   stop the remote jobs (recording what they settled), then exit.
 *   SIGKILL at any moment loses nothing and duplicates
 *   nothing: see local.h.
 */
#ifndef SLUICE_QUEUE_QMGR_H
#define SLUICE_QUEUE_QMGR_H

#include "config.h"

struct remote_creds;

struct qmgr_args {
	const struct config	*cfg;
	unsigned		 node;		/* qid node for notices */
	struct remote_creds	*creds;		/* read as root; taken over */
};

/* Returns the process exit status. */
int	 qmgr_run(const struct qmgr_args *a);

#endif
