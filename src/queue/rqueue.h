/*
 * rqueue: the queue worker's remote recipients that are due and wait, in
 * memory, for a connection to their destination (Postfix's active queue,
 * in small).
 *
 * A scan of queue.db adds each due remote recipient once (the worker
 * parks it so that later scans skip it); recipients of one message for
 * one destination form a group of at most smtp_client_rcpt_limit (one
 * job, one transaction). rqueue_dispatch() starts, destination by
 * destination in turn, every group the connection limits allow. So a
 * finished job starts the next group of its destination without reading
 * queue.db again, and a destination that is slow or at its limit costs
 * no rescans: its recipients wait here, in order, up to a bound (a
 * quarter of the whole for one destination, so that one stuck
 * destination cannot keep the others out); past it they stay in
 * queue.db until there is room again (rqueue_take_room()).
 */
#ifndef SLUICE_QUEUE_RQUEUE_H
#define SLUICE_QUEUE_RQUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "db_queue.h"

struct rqueue;

/* May a job for dest start now? */
typedef bool rqueue_can_fn(void *arg, const char *dest);
/* Start a job for rcpts[0..n) of message id: take the strings of the
 * recipients it keeps (clear them in the array); those left are freed. */
typedef void rqueue_start_fn(void *arg, const char *id, const char *dest,
    struct queue_due *rcpts, size_t n);

/* Holding at most max recipients. */
struct rqueue *rqueue_new(const struct config *cfg, size_t max);
void	 rqueue_free(struct rqueue **qp);

size_t	 rqueue_count(const struct rqueue *q);
/* A copy of d, at the end of its destination's line; false (not taken)
 * when the queue or that line is full. */
bool	 rqueue_add(struct rqueue *q, const struct queue_due *d);
/* Has a full line (or the whole) drained to half since it refused a
 * recipient? Those refused are due again: time for a full scan. Once. */
bool	 rqueue_take_room(struct rqueue *q);
/* Start what can start, the destinations in turn; false from can()
 * leaves that destination's groups waiting. */
void	 rqueue_dispatch(struct rqueue *q, rqueue_can_fn *can,
	    rqueue_start_fn *start, void *arg);

#endif
