/*
 * verdict: what became of each due recipient of a message in one delivery
 * attempt, and how that is recorded: the recipient's state and an
 * attempts row, the notices due (bounce, delay, success: notice.h), all
 * in the caller's queue.db transaction, and one log line each. Local
 * delivery (local.c) and remote delivery share it, so both retry,
 * expire, bounce and report alike.
 *
 * - Retries: retry_min after the first attempt, doubling up to
 *   retry_max.
 * - Past queue_lifetime a deferral is final: 4.2.2 becomes 5.2.2, 4.3.0
 *   becomes 5.3.0, anything else 5.4.7, with the last reason.
 * - Notices: failures and successes as each recipient's NOTIFY asks;
 *   once per message, past delay_warning, the delay of those still
 *   deferred; a failed notice of ours goes to the postmaster once.
 */
#ifndef SLUICE_QUEUE_VERDICT_H
#define SLUICE_QUEUE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "db_queue.h"
#include "dsn.h"
#include "qid.h"
#include "util.h"

/* What became of one due recipient. */
struct verdict {
	const char	*result;	/* delivered, deferred, failed */
	const char	*status;
	char		 diagnostic[256];
	size_t		 nlocal, nremote;
	enum dsn_action	 action;
	bool		 unexpanded;	/* expansion itself failed */
	/* Relayed to a server that took the DSN request: it reports the
	 * delivery itself, so no success notice from us (RFC 3461 4.1). */
	bool		 dsn_passed_on;
	/* Remote attempts: where it went and how (NULL/0: local). */
	const char	*mx;
	const char	*ip;
	int		 port;
	const char	*dnssec;	/* secure, insecure, bogus */
	const char	*tls_version;
	const char	*tls_cipher;
	const char	*dane;		/* none, verified, failed */
};

/* Set result ("delivered", "relayed", "deferred", "failed"), status (a
 * static string) and the diagnostic; the DSN action follows. */
void	 verdict_set(struct verdict *v, const char *result, const char *status,
	    const char *fmt, ...) PRINTF_LIKE(4, 5);

/* When a recipient tried attempts times before is due again. */
int64_t	 retry_at(const struct config *cfg, int attempts, time_t now);

/* Turn deferrals final once env's message is past queue_lifetime. */
void	 verdicts_expire(const struct config *cfg,
	    const struct queue_envelope *env, struct verdict *v, size_t n,
	    time_t now);

/*
 * Record v[i] for rcpts[i] (all of env's message), and queue the notices
 * due, in the caller's transaction on queue. *notices counts those
 * queued. body: the stored message, or NULL to read it from queue when
 * a notice needs it. Returns 0, or -1 with *error_r (the caller rolls back).
 */
int	 verdicts_record(struct db *queue, const struct config *cfg,
	    struct qid_gen *qid, const struct queue_envelope *env,
	    const struct buf *body, const struct queue_due *rcpts, size_t n,
	    const struct verdict *v, time_t now, int64_t ms, size_t *notices,
	    const char **error_r);

/* One log line per recipient ("event=EVENT"), and counts by result. */
void	 verdicts_log(const char *event, const struct queue_envelope *env,
	    const struct queue_due *rcpts, size_t n, const struct verdict *v,
	    size_t *delivered, size_t *deferred, size_t *failed);

#endif
