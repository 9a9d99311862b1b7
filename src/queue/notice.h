/*
 * notice: turn delivery outcomes into queued notices (bounces, success
 * notices) written by dsn.h. Local delivery uses it now; remote delivery
 * (issue 6) uses it too, so both report the same way.
 *
 * Who gets a notice:
 * - The envelope sender, as dsn.h writes it, for the recipients whose
 *   NOTIFY asks for it (FAILURE, the default, for failed; SUCCESS for
 *   delivered and expanded; never for NEVER).
 * - A notice that itself fails (its sender is the null sender) goes once
 *   to the postmaster: a "double bounce". One to the postmaster that
 *   fails is dropped with a log line.
 * The notice is a queue_msg of the given kind from the null sender,
 * arriving on the 'internal' listener, ready for db_queue_insert().
 */
#ifndef SLUICE_QUEUE_NOTICE_H
#define SLUICE_QUEUE_NOTICE_H

#include <stdbool.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "db_queue.h"
#include "dsn.h"
#include "qid.h"

/* Whether a recipient with these NOTIFY bits wants a notice of action. */
bool	 notice_wanted(unsigned notify, enum dsn_action action);

/* The postmaster's full address (postmaster@hostname when the
 * configuration gives a local part only), into out. */
void	 notice_postmaster(const struct config *cfg, char *out, size_t size);

/*
 * The notice for message env (stored content body[0..body_len)) about
 * rcpts[0..n), into *m_r; *m_r is NULL when none is due (null sender of
 * a double bounce). Its kind: "bounce" when some recipient failed, else
 * "delay" when one is delayed, else "success". Returns 0, or -1 with
 * *error_r.
 */
int	 notice_make(const struct config *cfg, struct qid_gen *qid,
	    const struct queue_envelope *env, const char *body,
	    size_t body_len, const struct dsn_rcpt *rcpts, size_t n,
	    time_t now, struct queue_msg **m_r, const char **error_r);

#endif
