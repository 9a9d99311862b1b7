/*
 * tpool: a small pool of threads for the blocking work a daemon must keep
 * off its event loop (SQLite writes, password hashing), whose completions
 * come back to that loop as events.
 *
 * Contract:
 * - work(arg) runs on a pool thread. It must not touch the event base,
 *   any bufferevent or anything else the loop owns: libevent is used
 *   without thread support. It may log and call tpool_submit().
 * - done(arg) then runs on the loop thread, from the event base, exactly
 *   once per accepted job; that includes jobs still pending when the pool
 *   is destroyed (see tpool_destroy). done may be NULL.
 * - arg belongs to the job from submit until done returns (or until work
 *   returns when done is NULL): done is where it is freed.
 * - When done runs, whatever submitted the job may be gone (a client
 *   disconnected, a session was freed). So arg must not point at a
 *   session: give it the session id and look the session up in done, and
 *   drop the result when it is gone (STYLE.md rule 7).
 * - max_queued bounds the jobs accepted whose done has not started yet
 *   (waiting, running, or finished and waiting for the loop). Beyond it
 *   tpool_submit() fails, so overload shows as an error the caller
 *   answers (e.g. with a 4xx) instead of as unbounded memory.
 * - The pool keeps a persistent read event on the base, so
 *   event_base_dispatch() does not return while the pool exists.
 */
#ifndef SLUICE_TPOOL_H
#define SLUICE_TPOOL_H

#include <event2/event.h>

/* More threads than this is a configuration mistake, not a tuning. */
#define TPOOL_THREADS_MAX	256

struct tpool;

/* Runs on a pool thread. */
typedef void (*tpool_work_fn)(void *arg);
/* Runs on the loop thread. */
typedef void (*tpool_done_fn)(void *arg);

/*
 * Starts nthreads threads (1..TPOOL_THREADS_MAX) with all signals blocked,
 * so signals reach the loop thread. Returns NULL with errno set: EINVAL
 * for nthreads or max_queued of 0 or nthreads too large, or the error of
 * the pipe, event or thread creation that failed.
 */
struct tpool *tpool_new(struct event_base *base, unsigned nthreads,
	    unsigned max_queued);

/*
 * Queue a job. work must not be NULL. Safe to call from any thread,
 * including from work and done functions. Returns 0, or -1 with errno
 * EAGAIN when max_queued jobs are outstanding, ESHUTDOWN while the pool is
 * being destroyed or when p is NULL (tpool_destroy() clears the owner's
 * pointer before it runs the last done callbacks, so a callback that
 * submits through that pointer sees a refusal, not a crash), or EINVAL
 * when work is NULL; on -1 the caller still owns arg.
 */
int	 tpool_submit(struct tpool *p, tpool_work_fn work, tpool_done_fn done,
	    void *arg);

/* Jobs accepted whose done has not started (what max_queued bounds);
 * 0 for a NULL pool. */
unsigned tpool_pending(struct tpool *p);

/*
 * Call on the loop thread, never from a done callback. Lets the threads
 * finish every queued job, joins them, then runs the done callback of
 * every job the loop has not yet seen, here, on the calling thread; a
 * tpool_submit() from those callbacks fails with ESHUTDOWN. Frees the pool
 * and sets *pp to NULL; accepts NULL and a NULL *pp.
 */
void	 tpool_destroy(struct tpool **pp);

#endif
