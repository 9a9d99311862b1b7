/* Unit tests for tpool: completion delivery, limits, shutdown, threads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>

#include "tpool.h"
#include "util.h"

/* Shared by a test's jobs; one per test (Criterion forks per test). */
struct world {
	struct event_base	*base;
	struct tpool		*pool;
	pthread_t		 loop_thread;
	atomic_int		 worked;
	int			 done;		/* loop thread only */
	int			 done_target;	/* loopbreak when reached */
	int			 done_off_loop;	/* done calls on a wrong thread */
	bool			 timed_out;
};

static struct world w;

static void
world_init(unsigned nthreads, unsigned max_queued)
{
	memset(&w, 0, sizeof(w));
	w.base = event_base_new();
	cr_assert_not_null(w.base);
	w.loop_thread = pthread_self();
	w.pool = tpool_new(w.base, nthreads, max_queued);
	cr_assert_not_null(w.pool, "tpool_new: %s", strerror(errno));
}

static void
world_free(void)
{
	tpool_destroy(&w.pool);
	cr_assert_null(w.pool);
	event_base_free(w.base);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	w.timed_out = true;
	event_base_loopbreak(w.base);
}

/* Dispatch until done reaches target; fail rather than hang. */
static void
world_run_until(int target)
{
	struct timeval tv = { 10, 0 };
	struct event *t = evtimer_new(w.base, on_timeout, NULL);

	w.done_target = target;
	evtimer_add(t, &tv);
	if (w.done < target)
		event_base_dispatch(w.base);
	event_free(t);
	cr_assert(!w.timed_out, "timed out with %d of %d done", w.done,
	    target);
	cr_assert_eq(w.done, target);
}

static void
note_done(void)
{
	if (!pthread_equal(pthread_self(), w.loop_thread))
		w.done_off_loop++;
	if (++w.done == w.done_target)
		event_base_loopbreak(w.base);
}

/* A job's arg: an id, as STYLE.md rule 7 asks, plus counters. */
struct job {
	int		id;
	atomic_int	worked;
	int		done;
	bool		work_on_loop_thread;
};

static void
job_work(void *arg)
{
	struct job *j = arg;

	j->work_on_loop_thread = pthread_equal(pthread_self(), w.loop_thread);
	atomic_fetch_add(&j->worked, 1);
	atomic_fetch_add(&w.worked, 1);
}

static void
job_done(void *arg)
{
	struct job *j = arg;

	/* Work must be complete and visible when done runs. */
	cr_assert_eq(atomic_load(&j->worked), 1, "job %d", j->id);
	j->done++;
	note_done();
}

#define MANY 1000

Test(tpool, thousand_jobs_each_done_once_on_loop)
{
	struct job *jobs = xcalloc(MANY, sizeof(*jobs));

	world_init(4, MANY);
	for (int i = 0; i < MANY; i++) {
		jobs[i].id = i;
		cr_assert_eq(tpool_submit(w.pool, job_work, job_done,
		    &jobs[i]), 0, "job %d: %s", i, strerror(errno));
	}
	world_run_until(MANY);
	cr_assert_eq(w.done_off_loop, 0);
	cr_assert_eq(atomic_load(&w.worked), MANY);
	for (int i = 0; i < MANY; i++) {
		cr_assert_eq(atomic_load(&jobs[i].worked), 1, "job %d", i);
		cr_assert_eq(jobs[i].done, 1, "job %d", i);
		cr_assert(!jobs[i].work_on_loop_thread, "job %d", i);
	}
	cr_assert_eq(tpool_pending(w.pool), 0);
	world_free();
	free(jobs);
}

/* A gate that holds work functions until the test opens it. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void
gate_set(bool open)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = open;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_lock);
}

static void
gated_work(void *arg)
{
	pthread_mutex_lock(&gate_lock);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	job_work(arg);
}

static void
wait_worked(int n)
{
	for (int i = 0; i < 5000 && atomic_load(&w.worked) < n; i++)
		usleep(1000);
	cr_assert_eq(atomic_load(&w.worked), n);
}

Test(tpool, max_queued_limit)
{
	struct job jobs[5] = { { .id = 0 } };

	world_init(1, 3);
	gate_set(false);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(tpool_submit(w.pool, gated_work, job_done,
		    &jobs[i]), 0);
	cr_assert_eq(tpool_pending(w.pool), 3);
	errno = 0;
	cr_assert_eq(tpool_submit(w.pool, gated_work, job_done, &jobs[3]),
	    -1);
	cr_assert_eq(errno, EAGAIN);

	/* Finished but not yet seen by the loop still counts. */
	gate_set(true);
	wait_worked(3);
	cr_assert_eq(tpool_pending(w.pool), 3);
	cr_assert_eq(tpool_submit(w.pool, job_work, job_done, &jobs[3]), -1);
	cr_assert_eq(jobs[3].done, 0);

	world_run_until(3);
	cr_assert_eq(tpool_pending(w.pool), 0);
	cr_assert_eq(tpool_submit(w.pool, job_work, job_done, &jobs[3]), 0);
	world_run_until(4);
	cr_assert_eq(jobs[3].done, 1);
	cr_assert_eq(jobs[4].done, 0);
	world_free();
}

static void
slow_work(void *arg)
{
	usleep(500);
	job_work(arg);
}

static atomic_int refused_in_destroy;
static struct tpool *destroying;

static void
done_resubmit(void *arg)
{
	job_done(arg);
	/* tpool_destroy() cleared the owner's pointer before calling us. */
	cr_assert_null(w.pool);
	if (tpool_submit(w.pool, job_work, NULL, NULL) == -1 &&
	    errno == ESHUTDOWN)
		atomic_fetch_add(&refused_in_destroy, 1);
	/* The pool is closing: a follow-up step must be refused. */
	if (tpool_submit(destroying, job_work, NULL, NULL) == -1 &&
	    errno == ESHUTDOWN)
		atomic_fetch_add(&refused_in_destroy, 1);
}

Test(tpool, destroy_finishes_queued_and_runs_done)
{
	struct job jobs[50] = { { .id = 0 } };
	world_init(1, 100);
	for (int i = 0; i < 50; i++)
		cr_assert_eq(tpool_submit(w.pool, slow_work, done_resubmit,
		    &jobs[i]), 0);
	/* The loop never ran; destroy owes every job its work and done. */
	destroying = w.pool;
	tpool_destroy(&w.pool);
	cr_assert_null(w.pool);
	cr_assert_eq(atomic_load(&w.worked), 50);
	cr_assert_eq(w.done, 50);
	cr_assert_eq(w.done_off_loop, 0);
	cr_assert_eq(atomic_load(&refused_in_destroy), 100);
	for (int i = 0; i < 50; i++)
		cr_assert_eq(jobs[i].done, 1, "job %d", i);
	/* Nothing left behind for the loop to call. */
	cr_assert_eq(event_base_loop(w.base, EVLOOP_NONBLOCK), 1);
	world_free();
}

Test(tpool, destroy_accepts_null)
{
	struct tpool *none = NULL;

	tpool_destroy(NULL);
	tpool_destroy(&none);
	cr_assert_null(none);
}

/* A barrier with a timeout: it passes only if N works run at once. */
#define PAR 4
static pthread_mutex_t bar_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bar_cv = PTHREAD_COND_INITIALIZER;
static int bar_arrived;
static int bar_passed;
static pthread_t bar_threads[PAR];

static void
barrier_work(void *arg)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&bar_lock);
	bar_threads[bar_arrived++] = pthread_self();
	pthread_cond_broadcast(&bar_cv);
	while (bar_arrived < PAR && rc == 0)
		rc = pthread_cond_timedwait(&bar_cv, &bar_lock, &until);
	if (bar_arrived >= PAR)
		bar_passed++;
	pthread_mutex_unlock(&bar_lock);
	job_work(arg);
}

Test(tpool, work_runs_concurrently_on_all_threads)
{
	struct job jobs[PAR] = { { .id = 0 } };

	world_init(PAR, 16);
	for (int i = 0; i < PAR; i++)
		cr_assert_eq(tpool_submit(w.pool, barrier_work, job_done,
		    &jobs[i]), 0);
	world_run_until(PAR);
	cr_assert_eq(bar_passed, PAR);
	for (int i = 0; i < PAR; i++) {
		cr_assert(!pthread_equal(bar_threads[i], w.loop_thread));
		for (int k = 0; k < i; k++)
			cr_assert(!pthread_equal(bar_threads[i],
			    bar_threads[k]));
	}
	world_free();
}

static atomic_int running, running_max;

static void
counted_work(void *arg)
{
	int now = atomic_fetch_add(&running, 1) + 1;
	int max = atomic_load(&running_max);

	while (now > max &&
	    !atomic_compare_exchange_weak(&running_max, &max, now))
		;
	usleep(20000);
	atomic_fetch_sub(&running, 1);
	job_work(arg);
}

Test(tpool, never_more_than_nthreads_at_once)
{
	struct job jobs[8] = { { .id = 0 } };

	world_init(2, 8);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(tpool_submit(w.pool, counted_work, job_done,
		    &jobs[i]), 0);
	world_run_until(8);
	cr_assert_eq(atomic_load(&running_max), 2);
	world_free();
}

Test(tpool, invalid_arguments)
{
	struct event_base *base = event_base_new();
	struct tpool *p;

	errno = 0;
	cr_assert_null(tpool_new(base, 0, 10));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(tpool_new(base, 1, 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(tpool_new(base, TPOOL_THREADS_MAX + 1, 10));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(tpool_new(NULL, 1, 10));

	p = tpool_new(base, 1, 1);
	cr_assert_not_null(p);
	errno = 0;
	cr_assert_eq(tpool_submit(p, NULL, NULL, NULL), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(tpool_pending(p), 0);
	tpool_destroy(&p);
	errno = 0;
	cr_assert_eq(tpool_submit(NULL, job_work, NULL, NULL), -1);
	cr_assert_eq(errno, ESHUTDOWN);
	cr_assert_eq(tpool_pending(NULL), 0);
	event_base_free(base);
}

/* Hash, then store: done submits the next step, as a login would. */
static void
chain_done(void *arg)
{
	struct job *j = arg;

	j->done++;
	if (j->done < 3)
		cr_assert_eq(tpool_submit(w.pool, job_work, chain_done, j), 0);
	note_done();
}

Test(tpool, done_may_submit_next_step)
{
	struct job j = { .id = 1 };

	/* max_queued 1: the finished job must not count once done runs. */
	world_init(1, 1);
	cr_assert_eq(tpool_submit(w.pool, job_work, chain_done, &j), 0);
	world_run_until(3);
	cr_assert_eq(j.done, 3);
	cr_assert_eq(atomic_load(&j.worked), 3);
	world_free();
}

Test(tpool, null_done_frees_slot_without_loop)
{
	struct job j = { .id = 1 };

	world_init(1, 1);
	cr_assert_eq(tpool_submit(w.pool, job_work, NULL, &j), 0);
	wait_worked(1);
	for (int i = 0; i < 5000 && tpool_pending(w.pool) != 0; i++)
		usleep(1000);
	cr_assert_eq(tpool_pending(w.pool), 0);
	cr_assert_eq(w.done, 0);
	world_free();
}

/* Descriptors this process has open, as a bitmap over 0..1023. */
static void
fds_open(bool open_r[1024])
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	cr_assert_not_null(d);
	memset(open_r, 0, 1024 * sizeof(bool));
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd != dirfd(d) && fd < 1024)
			open_r[fd] = true;
	}
	closedir(d);
}

Test(tpool, fds_cloexec_nonblocking_and_closed)
{
	static bool before[1024], during[1024], after[1024];
	struct event_base *base = event_base_new();
	struct tpool *p;
	int added = 0;

	fds_open(before);
	p = tpool_new(base, 2, 4);
	cr_assert_not_null(p);
	fds_open(during);
	for (int fd = 0; fd < 1024; fd++) {
		if (!during[fd] || before[fd])
			continue;
		added++;
		cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd %d", fd);
		cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK, "fd %d", fd);
	}
	cr_assert_eq(added, 2);
	tpool_destroy(&p);
	fds_open(after);
	cr_assert_eq(memcmp(before, after, sizeof(before)), 0);
	event_base_free(base);
}
