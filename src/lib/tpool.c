/* tpool: see tpool.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#include <event2/event.h>

#include "tpool.h"
#include "util.h"

struct tpool_job {
	struct tpool_job	*next;
	tpool_work_fn		 work;
	tpool_done_fn		 done;
	void			*arg;
};

struct tpool_list {
	struct tpool_job	*head;
	struct tpool_job	*tail;
};

struct tpool {
	struct event_base	*base;
	struct event		*wake_ev;
	int			 wake_fd[2];	/* read end watched by wake_ev */
	pthread_t		*threads;
	unsigned		 nthreads;	/* started */
	unsigned		 max_queued;

	/* Everything below is guarded by lock. */
	pthread_mutex_t		 lock;
	pthread_cond_t		 work_cv;	/* a job waits, or stopping */
	struct tpool_list	 waiting;
	struct tpool_list	 finished;	/* waiting for the loop */
	unsigned		 pending;	/* accepted, done not started */
	bool			 wake_sent;	/* a byte is in the pipe */
	bool			 stopping;	/* threads exit when none waits */
	bool			 closing;	/* submissions refused */
};

static void
tpool_list_push(struct tpool_list *l, struct tpool_job *job)
{
	job->next = NULL;
	if (l->tail != NULL)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
}

static struct tpool_job *
tpool_list_pop(struct tpool_list *l)
{
	struct tpool_job *job = l->head;

	if (job != NULL) {
		l->head = job->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return job;
}

/* Called with lock held: one byte per batch keeps the pipe from filling. */
static void
tpool_wake_locked(struct tpool *p)
{
	ssize_t n;

	if (p->wake_sent)
		return;
	do
		n = write(p->wake_fd[1], "", 1);
	while (n == -1 && errno == EINTR);
	/* EAGAIN: the pipe is full, so the loop is due to wake anyway. */
	if (n == -1 && errno != EAGAIN)
		fatal("tpool: wakeup write: %s", strerror(errno));
	p->wake_sent = true;
}

static void
tpool_job_finish_locked(struct tpool *p, struct tpool_job *job)
{
	if (job->done == NULL) {
		p->pending--;
		free(job);
		return;
	}
	tpool_list_push(&p->finished, job);
	tpool_wake_locked(p);
}

static void *
tpool_worker(void *arg)
{
	struct tpool *p = arg;
	struct tpool_job *job;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->waiting.head == NULL && !p->stopping)
			pthread_cond_wait(&p->work_cv, &p->lock);
		/* Stopping still drains the queue: accepted work runs. */
		if ((job = tpool_list_pop(&p->waiting)) == NULL)
			break;
		pthread_mutex_unlock(&p->lock);
		job->work(job->arg);
		pthread_mutex_lock(&p->lock);
		tpool_job_finish_locked(p, job);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void
tpool_pipe_drain(int fd)
{
	char junk[64];
	ssize_t n;

	for (;;) {
		n = read(fd, junk, sizeof(junk));
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		break;	/* EAGAIN: empty; 0 cannot happen while we hold fd[1] */
	}
}

/* Run the done callbacks of every finished job, on the calling thread. */
static void
tpool_run_finished(struct tpool *p)
{
	struct tpool_list batch;
	struct tpool_job *job;

	/*
	 * The pipe was drained before the batch is taken and wake_sent is
	 * cleared with it, under the lock: a job finishing after this
	 * writes a new byte, so no completion is left without a wakeup.
	 */
	pthread_mutex_lock(&p->lock);
	batch = p->finished;
	p->finished.head = p->finished.tail = NULL;
	p->wake_sent = false;
	pthread_mutex_unlock(&p->lock);

	while ((job = tpool_list_pop(&batch)) != NULL) {
		/* Released first, so done may submit the next step. */
		pthread_mutex_lock(&p->lock);
		p->pending--;
		pthread_mutex_unlock(&p->lock);
		job->done(job->arg);
		free(job);
	}
}

static void
tpool_on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	tpool_pipe_drain(fd);
	tpool_run_finished(arg);
}

/* Stop and join the threads started so far; they finish queued work. */
static void
tpool_threads_stop(struct tpool *p)
{
	pthread_mutex_lock(&p->lock);
	p->closing = true;
	p->stopping = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
}

static void
tpool_free(struct tpool *p)
{
	if (p->wake_ev != NULL)
		event_free(p->wake_ev);
	close(p->wake_fd[0]);
	close(p->wake_fd[1]);
	pthread_cond_destroy(&p->work_cv);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

static int
tpool_threads_start(struct tpool *p, unsigned nthreads)
{
	sigset_t all, old;
	int rc = 0;

	/* Threads inherit the mask: signals are the loop thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	p->threads = xcalloc(nthreads, sizeof(*p->threads));
	for (; p->nthreads < nthreads; p->nthreads++) {
		rc = pthread_create(&p->threads[p->nthreads], NULL,
		    tpool_worker, p);
		if (rc != 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

struct tpool *
tpool_new(struct event_base *base, unsigned nthreads, unsigned max_queued)
{
	struct tpool *p;
	int rc;

	if (base == NULL || nthreads == 0 || nthreads > TPOOL_THREADS_MAX ||
	    max_queued == 0) {
		errno = EINVAL;
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->max_queued = max_queued;
	if (pipe2(p->wake_fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		rc = errno;
		free(p);
		errno = rc;
		return NULL;
	}
	if ((rc = pthread_mutex_init(&p->lock, NULL)) != 0 ||
	    (rc = pthread_cond_init(&p->work_cv, NULL)) != 0)
		fatal("tpool: pthread init: %s", strerror(rc));
	p->wake_ev = event_new(base, p->wake_fd[0], EV_READ | EV_PERSIST,
	    tpool_on_wake, p);
	if (p->wake_ev == NULL || event_add(p->wake_ev, NULL) == -1) {
		tpool_free(p);
		errno = ENOMEM;
		return NULL;
	}
	if ((rc = tpool_threads_start(p, nthreads)) != 0) {
		tpool_threads_stop(p);
		tpool_free(p);
		errno = rc;
		return NULL;
	}
	return p;
}

int
tpool_submit(struct tpool *p, tpool_work_fn work, tpool_done_fn done,
    void *arg)
{
	struct tpool_job *job;
	int err = 0;

	if (p == NULL) {
		errno = ESHUTDOWN;
		return -1;
	}
	if (work == NULL) {
		errno = EINVAL;
		return -1;
	}
	job = xmalloc(sizeof(*job));
	job->work = work;
	job->done = done;
	job->arg = arg;
	pthread_mutex_lock(&p->lock);
	if (p->closing)
		err = ESHUTDOWN;
	else if (p->pending >= p->max_queued)
		err = EAGAIN;
	else {
		tpool_list_push(&p->waiting, job);
		p->pending++;
		pthread_cond_signal(&p->work_cv);
	}
	pthread_mutex_unlock(&p->lock);
	if (err != 0) {
		free(job);
		errno = err;
		return -1;
	}
	return 0;
}

unsigned
tpool_pending(struct tpool *p)
{
	unsigned n;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->lock);
	n = p->pending;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
tpool_destroy(struct tpool **pp)
{
	struct tpool *p;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	*pp = NULL;
	tpool_threads_stop(p);
	event_del(p->wake_ev);
	tpool_pipe_drain(p->wake_fd[0]);
	tpool_run_finished(p);
	tpool_free(p);
}
