/*
 * writer: the group-commit queue writer of an smtp worker. Sessions hand
 * it finished messages; it writes them to queue.db off the event loop and
 * tells each session, back on the loop, once its message is durable
 * (COMMIT returned under synchronous=FULL) or has failed. Only then may
 * the session answer "250 2.0.0 Ok: queued as ID" (or 451 4.3.0).
 *
 * Contract:
 * - Group commit: messages submitted while a commit is running wait and
 *   the next transaction takes all of them, up to limits.batch_max_msgs
 *   messages or limits.batch_max_bytes octets (a larger message goes
 *   alone). Messages submitted in one pass of the loop (several sessions
 *   finishing DATA in one wakeup) start together.
 * - Each message is inserted under its own SAVEPOINT (db_queue_insert()),
 *   so one bad message (a duplicate id) fails alone and the rest of its
 *   batch commits. When the transaction itself fails (BEGIN finds the
 *   database locked past the busy timeout, disk full, COMMIT fails),
 *   every message of the batch fails and none of its rows remain.
 * - done(arg, result, error) runs on the loop thread exactly once for
 *   each accepted submit, never from within queue_writer_submit() itself;
 *   result is 0 (durable) or -1 (error says why, valid during the call).
 *   The session may be gone by then: arg should carry the session id, not
 *   a session pointer (STYLE.md rule 7). Do not call queue_writer_destroy()
 *   from done.
 * - The message belongs to the writer from a successful submit on; the
 *   writer frees it (queue_msg_free) after done returns. On -1 the caller
 *   still owns it and done is never called.
 * - Threads: all calls are on the loop thread. The writer runs its
 *   transactions on a one-thread tpool, so there is a single writer per
 *   process and batches never overlap. Its struct db is opened here, on
 *   the loop thread, then used only by whichever thread runs the batch:
 *   the pool thread, and after it is joined, the loop thread inside
 *   queue_writer_destroy(). db_open() uses SQLITE_OPEN_NOMUTEX, which is
 *   safe because the tpool queue lock and pthread_join() order those
 *   hand-overs; the connection is never used by two threads at once.
 */
#ifndef SLUICE_QUEUE_WRITER_H
#define SLUICE_QUEUE_WRITER_H

#include <stdint.h>

#include <event2/event.h>

#include "db_queue.h"

#define QUEUE_WRITER_BATCH_MSGS		256
#define QUEUE_WRITER_BATCH_BYTES	(64 * 1024 * 1024)

struct queue_writer_limits {
	unsigned	 batch_max_msgs;	/* 0: QUEUE_WRITER_BATCH_MSGS */
	uint64_t	 batch_max_bytes;	/* 0: QUEUE_WRITER_BATCH_BYTES */
	int		 busy_timeout_ms;	/* 0: DB_BUSY_TIMEOUT_MS */
};

struct queue_writer_stats {
	uint64_t	 transactions;	/* batches run, committed or not */
	uint64_t	 committed;	/* messages made durable */
	uint64_t	 failed;	/* messages whose done saw -1 */
	uint64_t	 largest_batch;	/* messages in the largest batch */
	uint64_t	 waiting;	/* submitted, done not yet called */
};

/* result: 0 durable, -1 failed (error says why). Runs on the loop. */
typedef void (*queue_writer_done_fn)(void *arg, int result,
	    const char *error);

struct queue_writer;

/*
 * Open queue.db at path (it must exist with the current schema: sluicectl
 * or the master creates and migrates it) and start the writer thread.
 * limits NULL: defaults. Returns NULL with a message in *error_r.
 */
struct queue_writer *queue_writer_new(struct event_base *base,
	    const char *queue_db_path, const struct queue_writer_limits *limits,
	    const char **error_r);

/*
 * Queue m for the next transaction. Returns 0, or -1 with errno EINVAL
 * (m or done NULL) or ESHUTDOWN (w is being destroyed, or NULL:
 * queue_writer_destroy() clears the owner's pointer first, so a done
 * callback submitting through it during destroy sees a refusal).
 */
int	 queue_writer_submit(struct queue_writer *w, struct queue_msg *m,
	    queue_writer_done_fn done, void *arg);

void	 queue_writer_stats(const struct queue_writer *w,
	    struct queue_writer_stats *stats_r);

/*
 * Commit everything submitted (the batch running, then what waits, on the
 * calling thread, so it blocks), call every done, close the database and
 * free w. Call on the loop thread; sets *wp to NULL; accepts NULL.
 */
void	 queue_writer_destroy(struct queue_writer **wp);

/*
 * What the SMTP session sees of the writer (STYLE.md rule 9), so its
 * tests can put a fake behind it. submit has queue_writer_submit()'s
 * contract: 0 and ownership of m passes on, with done called exactly
 * once later on the loop (a fake calls it when the test says so, never
 * from inside submit); -1 and nothing happened.
 */
struct queue_sink {
	int	(*submit)(void *impl, struct queue_msg *m,
		    queue_writer_done_fn done, void *arg);
	void	*impl;
};

/* The sink that writes through w. */
struct queue_sink queue_writer_sink(struct queue_writer *w);

static inline int
queue_sink_submit(const struct queue_sink *s, struct queue_msg *m,
    queue_writer_done_fn done, void *arg)
{
	return s->submit(s->impl, m, done, arg);
}

#endif
