/* qmgr: see qmgr.h. */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "db.h"
#include "db_directory.h"
#include "db_queue.h"
#include "local.h"
#include "log.h"
#include "notify.h"
#include "qmgr.h"
#include "remote.h"
#include "rqueue.h"
#include "tpool.h"
#include "util.h"

#define SCAN_PAGE		256	/* due recipients read at a time */
#define BATCH_MESSAGES_MAX	64	/* messages handed over at a time */
#define IDLE_CHECK_SECS		60	/* look anyway after this long */
#define LOCK_RETRY_MS		200
#define LOOP_BUSY_MS		200	/* the loop's reads wait this long */
#define HOUSEKEEPING_SECS	600	/* purge old mail this often */
#define FULL_SCAN_SECS		60	/* read every due row at least this
					   often; else on from the last row */
#define PENDING_MAX		20000	/* remote recipients waiting in memory */

/* The due recipients of one message, for the delivery thread. */
struct batch_msg {
	char		 id[QID_LEN + 1];
	struct queue_due *rcpts;
	size_t		 n, alloc;
};

struct batch {
	struct qmgr	*q;
	struct batch_msg *msgs;
	size_t		 n;
	bool		 full;		/* more may be due: scan again */
	bool		 housekeeping;	/* a purge, not deliveries */
	time_t		 now;
	struct local_report rep;
	int		 failures;
};

struct qmgr {
	const struct qmgr_args	*a;
	struct event_base	*base;
	struct db		*queue;		/* the loop's reads */
	struct db		*directory;
	struct tpool		*pool;		/* the delivery thread */
	struct local_agent	*agent;		/* used on that thread only */
	int			 lock_fd;
	int			 wake_fd;
	struct event		*ev_wake, *ev_timer, *ev_lock, *ev_house;
	struct event		*ev_term, *ev_retire;
	bool			 locked, busy, again, stopping;
	/* Recipient ids not to pick again: remote ones under way (or, with
	 * no remote transport, waiting for good). Sorted. */
	int64_t			*parked;
	size_t			 nparked, parked_alloc;
	struct remote		*remote;	/* NULL: remote mail waits */
	struct remote_creds	*creds;		/* until remote takes them */
	struct rqueue		*pending;	/* remote, waiting for a
						   connection (parked) */
	struct event		*ev_dispatch, *ev_rescan;
	/* Scans read on from the last row read (new and newly due rows
	 * sort after it); a full scan from the start now and then, and
	 * when rows were left behind. */
	int64_t			 cursor_time, cursor_id;
	int64_t			 late_id;	/* see scan_pages() */
	time_t			 last_full;
	bool			 full_due;
	uint64_t		 scans, rows_read;
	struct remote_job	**rpending;	/* finished, to record */
	size_t			 nrpending;
	bool			 recording;	/* a record is on the thread */
};

static void qmgr_scan(struct qmgr *q);

/*
 * Stopping: exit once no batch runs and every record handed to the
 * delivery thread is written. Remote jobs still under way are stopped
 * (remote_stop()): what they settled is recorded, the rest stays due.
 */
static bool
qmgr_maybe_exit(struct qmgr *q)
{
	if (!q->stopping || q->busy || q->recording ||
	    tpool_pending(q->pool) > 0)
		return false;
	event_base_loopexit(q->base, NULL);
	return true;
}

/* ---- remote recipients wait ---------------------------------------- */

static size_t
parked_find(const struct qmgr *q, int64_t id, bool *found)
{
	size_t lo = 0, hi = q->nparked;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (q->parked[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < q->nparked && q->parked[lo] == id;
	return lo;
}

/* Park id; false when it was parked already. */
static bool
parked_add(struct qmgr *q, int64_t id)
{
	bool found;
	size_t at = parked_find(q, id, &found);

	if (found)
		return false;
	if (q->nparked == q->parked_alloc) {
		q->parked_alloc = q->parked_alloc ? q->parked_alloc * 2 : 64;
		q->parked = xreallocarray(q->parked, q->parked_alloc,
		    sizeof(*q->parked));
	}
	memmove(&q->parked[at + 1], &q->parked[at],
	    (q->nparked - at) * sizeof(*q->parked));
	q->parked[at] = id;
	q->nparked++;
	return true;
}

static void
parked_del(struct qmgr *q, int64_t id)
{
	bool found;
	size_t at = parked_find(q, id, &found);

	if (!found)
		return;
	memmove(&q->parked[at], &q->parked[at + 1],
	    (q->nparked - at - 1) * sizeof(*q->parked));
	q->nparked--;
}

/* ---- routing ------------------------------------------------------ */

/* Local delivery for it? (No: the remote transport's.) */
static bool
route_is_local(struct qmgr *q, const struct queue_due *d)
{
	enum dir_domain_kind kind = DIR_DOMAIN_NONE;
	const char *at, *e;

	if (d->route != NULL)
		return strcmp(d->route, "local") == 0;
	if ((at = strrchr(d->address, '@')) == NULL)
		return false;
	if (directory_domain_kind(q->directory, at + 1, &kind, &e) == DIR_ERR)
		/* The local agent looks again and defers if it must. */
		return true;
	return kind == DIR_DOMAIN_LOCAL;
}

/* ---- batches ------------------------------------------------------ */

/* Its recipients are let go: parked while in the batch. */
static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		for (size_t j = 0; j < b->msgs[i].n; j++) {
			parked_del(b->q, b->msgs[i].rcpts[j].rcpt_id);
			queue_due_clear(&b->msgs[i].rcpts[j]);
		}
		free(b->msgs[i].rcpts);
	}
	free(b->msgs);
	free(b);
}

static struct batch_msg *
batch_msg(struct batch *b, const char *id)
{
	struct batch_msg *m;

	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->msgs[i].id, id) == 0)
			return &b->msgs[i];
	if (b->n == BATCH_MESSAGES_MAX)
		return NULL;
	b->msgs = xreallocarray(b->msgs, b->n + 1, sizeof(*b->msgs));
	m = &b->msgs[b->n++];
	memset(m, 0, sizeof(*m));
	str_copy(m->id, id, sizeof(m->id));
	return m;
}

/* Take over d's strings into the batch. */
static void
batch_add(struct batch_msg *m, struct queue_due *d)
{
	if (m->n == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 4;
		m->rcpts = xreallocarray(m->rcpts, m->alloc, sizeof(*m->rcpts));
	}
	m->rcpts[m->n++] = *d;
	memset(d, 0, sizeof(*d));
}

struct scan {
	struct qmgr	*q;
	struct batch	*b;
	int64_t		 cursor_time, cursor_id;	/* the time path's */
	bool		 late;		/* reading the late rows */
	int64_t		 late_id;	/* the last late row taken */
	int64_t		 max_id;	/* of every row read */
	size_t		 rows, rows_all;	/* this page's, in all */
};

/* A due remote recipient: to its destination's line, parked, while
 * there is room; else it stays in queue.db until a full scan once the
 * line has drained (rqueue_take_room()). */
static int
scan_remote(struct scan *s, const struct queue_due *d)
{
	if (rqueue_add(s->q->pending, d))
		parked_add(s->q, d->rcpt_id);
	return 0;
}

/* Take a due row: to the batch (local) or the line (remote); 1: no
 * room, the next scan starts at it. */
static int
scan_take(struct scan *s, const struct queue_due *d)
{
	struct queue_due copy = *d;
	struct batch_msg *m;

	if (!route_is_local(s->q, d)) {
		if (s->q->remote != NULL)
			return scan_remote(s, d);
		parked_add(s->q, d->rcpt_id);
		log_msg(LOG_NOTICE, NULL, d->message_id, "event=remote-waiting "
		    "to=%s note=\"no remote transport\"", d->address);
		return 0;
	}
	if ((m = batch_msg(s->b, d->message_id)) == NULL) {
		s->b->full = true;
		return 1;
	}
	/* The walk clears d after the callback: keep copies. */
	copy.address = xstrdup(d->address);
	copy.orcpt = d->orcpt ? xstrdup(d->orcpt) : NULL;
	copy.route = d->route ? xstrdup(d->route) : NULL;
	batch_add(m, &copy);
	parked_add(s->q, d->rcpt_id);
	return 0;
}

static int
scan_row(const struct queue_due *d, void *arg)
{
	struct scan *s = arg;
	bool found;

	s->rows++;
	s->rows_all++;
	s->q->rows_read++;
	(void)parked_find(s->q, d->rcpt_id, &found);
	if (!found && scan_take(s, d) != 0)
		return 1;
	if (s->late)
		s->late_id = d->rcpt_id;
	else {
		s->cursor_time = d->next_attempt;
		s->cursor_id = d->rcpt_id;
	}
	if (d->rcpt_id > s->max_id)
		s->max_id = d->rcpt_id;
	return 0;
}

/* ---- the delivery thread ------------------------------------------ */

static void
batch_work(void *arg)
{
	struct batch *b = arg;

	if (b->housekeeping)
		local_housekeeping(b->q->agent, b->now);
	for (size_t i = 0; i < b->n; i++)
		if (local_deliver(b->q->agent, b->msgs[i].id, b->msgs[i].rcpts,
		    b->msgs[i].n, b->now, &b->rep) == -1)
			b->failures++;
}

static void
qmgr_arm_timer(struct qmgr *q, time_t now)
{
	struct timeval tv = { IDLE_CHECK_SECS, 0 };
	int64_t when = 0;
	const char *e;

	if (db_queue_next_due(q->queue, now, &when, &e) != QUEUE_OK)
		log_msg(LOG_ERR, NULL, NULL, "event=queue-read-failed "
		    "error=%s", log_quote_err(e));
	else if (when > 0 && when - now < IDLE_CHECK_SECS)
		tv.tv_sec = when - now;
	evtimer_add(q->ev_timer, &tv);
}

static void
batch_done(void *arg)
{
	struct batch *b = arg;
	struct qmgr *q = b->q;
	/* Notices the batch queued are due at once too. */
	bool more = b->full || b->rep.notices > 0, again = q->again;

	q->busy = false;
	q->again = false;
	if (!b->housekeeping)
		log_msg(LOG_DEBUG, NULL, NULL, "event=batch messages=%zu "
		    "delivered=%zu deferred=%zu failed=%zu notices=%zu", b->n,
		    b->rep.delivered, b->rep.deferred, b->rep.failed,
		    b->rep.notices);
	/* A batch that could not be recorded is retried by the timer, not
	 * at once: the database is in trouble. */
	if (b->failures > 0) {
		more = false;
		q->full_due = true;	/* their rows are due, behind */
	}
	more |= again;	/* new mail came meanwhile */
	batch_free(b);
	if (qmgr_maybe_exit(q))
		return;
	if (more)
		qmgr_scan(q);
	else
		qmgr_arm_timer(q, time(NULL));
}

/* ---- scanning ----------------------------------------------------- */

/*
 * The due rows after the cursor, in (next_attempt, id) order; then the
 * late ones: committed since the last late row, timed before where the
 * cursor now is (db_queue_due_late()). Rows in hand are parked, so a
 * row read twice is taken once. 1: stopped on a full batch.
 */
static int
scan_pages(struct qmgr *q, struct scan *s, time_t now)
{
	const char *e;
	int rc;

	do {
		s->rows = 0;
		rc = db_queue_due(q->queue, now, s->cursor_time, s->cursor_id,
		    SCAN_PAGE, scan_row, s, &e);
	} while (rc == QUEUE_OK && s->rows == SCAN_PAGE);
	s->late = true;
	s->late_id = q->late_id;
	while (rc == QUEUE_OK && q->late_id > 0) {
		s->rows = 0;
		rc = db_queue_due_late(q->queue, now, s->late_id,
		    s->cursor_time, SCAN_PAGE, scan_row, s, &e);
		if (s->rows < SCAN_PAGE)
			break;
	}
	if (rc == QUEUE_ERR) {
		log_msg(LOG_ERR, NULL, NULL, "event=queue-read-failed "
		    "error=%s", log_quote_err(e));
		return -1;
	}
	return rc == QUEUE_OK ? 0 : 1;
}

static bool
dispatch_can(void *arg, const char *dest)
{
	struct qmgr *q = arg;

	return remote_can_start(q->remote, dest);
}

static void
dispatch_start(void *arg, const char *id, const char *dest,
    struct queue_due *rcpts, size_t n)
{
	struct qmgr *q = arg;

	if (remote_start(q->remote, id, dest, rcpts, n, time(NULL)) == -1) {
		/* Unreadable, held or gone meanwhile: back to queue.db, for
		 * a full scan to find. */
		for (size_t k = 0; k < n; k++)
			parked_del(q, rcpts[k].rcpt_id);
		q->full_due = true;
	}
}

/* Start the remote jobs the limits allow; the others wait in line. A
 * line that refused recipients and has drained asks for a full scan
 * (from the loop: this may run inside a scan). */
static void
qmgr_dispatch(struct qmgr *q)
{
	if (q->remote == NULL || q->stopping)
		return;
	rqueue_dispatch(q->pending, dispatch_can, dispatch_start, q);
	if (rqueue_take_room(q->pending)) {
		q->full_due = true;
		event_active(q->ev_rescan, EV_TIMEOUT, 0);
	}
}

/*
 * Where a scan starts: from the start when a full one is due (rows were
 * left behind, or a minute has passed: the net), else where the last
 * one stopped: new mail and mail newly due sort after it.
 */
static void
scan_start(struct qmgr *q, struct scan *s, time_t now)
{
	if (q->full_due || now - q->last_full >= FULL_SCAN_SECS) {
		q->full_due = false;
		q->last_full = now;
		return;
	}
	s->cursor_time = q->cursor_time;
	s->cursor_id = q->cursor_id;
}

static void
qmgr_scan(struct qmgr *q)
{
	time_t now = time(NULL);
	struct scan s = { .q = q };
	bool first;
	int rc;

	if (!q->locked || q->stopping)
		return;
	if (q->busy) {
		q->again = true;
		return;
	}
	evtimer_del(q->ev_timer);
	s.b = xcalloc(1, sizeof(*s.b));
	s.b->q = q;
	s.b->now = now;
	scan_start(q, &s, now);
	first = q->late_id == 0;
	rc = scan_pages(q, &s, now);
	q->cursor_time = s.cursor_time;
	q->cursor_id = s.cursor_id;
	/* A late pass cut short goes on from its last row next time; the
	 * first scan, from the start, needed none. */
	if (first || rc == 0)
		q->late_id = s.max_id > s.late_id ? s.max_id : s.late_id;
	else
		q->late_id = s.late_id;
	q->scans++;
	log_msg(LOG_DEBUG, NULL, NULL, "event=scan rows=%zu local=%zu "
	    "waiting=%zu", s.rows_all, s.b->n, rqueue_count(q->pending));
	if (rc == -1)
		q->full_due = true;
	qmgr_dispatch(q);
	if (rc == -1 || s.b->n == 0 ||
	    tpool_submit(q->pool, batch_work, batch_done, s.b) == -1) {
		batch_free(s.b);
		qmgr_arm_timer(q, now);
		return;
	}
	q->busy = true;
}

/* ---- remote outcomes: recorded on the delivery thread ------------- */

/* Jobs finished while a record runs wait and go in the next one: one
 * queue.db commit for many jobs. */
#define RECORD_JOBS_MAX	512

struct rrecord {
	struct qmgr		*q;
	struct remote_job	**jobs;
	size_t			 n;
	struct local_report	 rep;
	bool			 failed;
};

static void rrecord_flush(struct qmgr *q);

static void
rrecord_work(void *arg)
{
	struct rrecord *rr = arg;

	rr->failed = local_record_remote(rr->q->agent, rr->jobs, rr->n,
	    time(NULL), &rr->rep) == -1;
}

static void
rrecord_done(void *arg)
{
	struct rrecord *rr = arg;
	struct qmgr *q = rr->q;

	/* Recorded or not, they may be picked again: what was not
	 * recorded is still due and is simply tried again. */
	for (size_t k = 0; k < rr->n; k++) {
		for (size_t i = 0; i < rr->jobs[k]->n; i++)
			parked_del(q, rr->jobs[k]->rcpts[i].rcpt_id);
		remote_job_free(&rr->jobs[k]);
	}
	q->recording = false;
	if (q->nrpending > 0)
		rrecord_flush(q);
	if (rr->failed)
		q->full_due = true;	/* their rows are due, behind */
	if (!qmgr_maybe_exit(q) && (rr->rep.notices > 0 || rr->failed))
		qmgr_scan(q);
	free(rr->jobs);
	free(rr);
}

static void
rrecord_flush(struct qmgr *q)
{
	struct rrecord *rr = xcalloc(1, sizeof(*rr));
	size_t n = q->nrpending < RECORD_JOBS_MAX ? q->nrpending :
	    RECORD_JOBS_MAX;

	rr->q = q;
	rr->jobs = xreallocarray(NULL, n, sizeof(*rr->jobs));
	memcpy(rr->jobs, q->rpending, n * sizeof(*rr->jobs));
	rr->n = n;
	if (tpool_submit(q->pool, rrecord_work, rrecord_done, rr) == -1) {
		/* The pool's queue has room for this; should it not, the
		 * jobs wait for the next completion or stop, not recorded
		 * here on the loop (this may run inside remote's calls). */
		log_msg(LOG_ERR, NULL, NULL, "event=record-delayed jobs=%zu",
		    n);
		free(rr->jobs);
		free(rr);
		return;
	}
	memmove(q->rpending, q->rpending + n,
	    (q->nrpending - n) * sizeof(*q->rpending));
	q->nrpending -= n;
	q->recording = true;
}

static void
remote_record(void *arg, struct remote_job *job)
{
	struct qmgr *q = arg;

	q->rpending = xreallocarray(q->rpending, q->nrpending + 1,
	    sizeof(*q->rpending));
	q->rpending[q->nrpending++] = job;
	if (!q->recording)
		rrecord_flush(q);
	/* Its place is free: the next in line may go (from the loop, not
	 * from inside remote's callback). */
	event_active(q->ev_dispatch, EV_TIMEOUT, 0);
}

static void
on_dispatch(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	qmgr_dispatch(arg);
}

/* ---- events ------------------------------------------------------- */

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;
	bool full;

	(void)what;
	notify_drain_saw(fd, 'f', &full);
	q->full_due |= full;
	qmgr_scan(q);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;

	(void)fd;
	(void)what;
	if (q->nrpending > 0 && !q->recording)
		rrecord_flush(q);	/* held back by a full pool */
	qmgr_scan(q);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct qmgr *q = arg;

	(void)what;
	log_msg(LOG_INFO, NULL, NULL, "event=queue-stopping signal=%d busy=%d",
	    (int)sig, q->busy);
	q->stopping = true;
	if (q->remote != NULL)
		remote_stop(q->remote);
	(void)qmgr_maybe_exit(q);
}

/* Now and then, between batches: purge what queue_retention lets go. */
static void
on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;
	struct timeval again = { HOUSEKEEPING_SECS, 0 }, soon = { 5, 0 };
	struct batch *b;

	(void)fd;
	(void)what;
	if (q->stopping)
		return;
	if (q->busy || !q->locked) {
		evtimer_add(q->ev_house, &soon);
		return;
	}
	b = xcalloc(1, sizeof(*b));
	b->q = q;
	b->now = time(NULL);
	b->housekeeping = true;
	if (tpool_submit(q->pool, batch_work, batch_done, b) == -1)
		batch_free(b);
	else
		q->busy = true;
	evtimer_add(q->ev_house, &again);
}

/* One queue worker at a time: wait for the lock, then start. */
static void
on_lock(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;
	struct timeval retry = { 0, LOCK_RETRY_MS * 1000 };

	(void)fd;
	(void)what;
	if (flock(q->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		evtimer_add(q->ev_lock, &retry);
		return;
	}
	q->locked = true;
	log_msg(LOG_INFO, NULL, NULL, "event=queue-started pid=%d",
	    (int)getpid());
	qmgr_scan(q);
}

/* ---- start and stop ----------------------------------------------- */

static int
qmgr_open(struct qmgr *q, const char **error_r)
{
	const struct config *cfg = q->a->cfg;
	char *path;
	int rc;

	path = xasprintf("%s/queue.lock", cfg->state_dir);
	q->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (q->lock_fd == -1) {
		*error_r = strerror(errno);
		return -1;
	}
	path = xasprintf("%s/queue.db", cfg->state_dir);
	rc = db_open(path, "queue", 0, &q->queue, error_r);
	free(path);
	if (rc == -1)
		return -1;
	db_set_busy_timeout(q->queue, LOOP_BUSY_MS);
	path = xasprintf("%s/directory.db", cfg->state_dir);
	rc = db_open(path, "directory", DB_READONLY, &q->directory, error_r);
	free(path);
	if (rc == -1)
		return -1;
	db_set_busy_timeout(q->directory, LOOP_BUSY_MS);
	if ((q->agent = local_agent_new(cfg, q->a->node, error_r)) == NULL)
		return -1;
	/* Room for a batch, housekeeping and every remote job's record. */
	if ((q->pool = tpool_new(q->base, 1,
	    (unsigned)cfg->smtp_client_max_connections + 16)) == NULL) {
		*error_r = "cannot start the delivery thread";
		return -1;
	}
	q->pending = rqueue_new(cfg, PENDING_MAX);
	q->remote = remote_new(q->base, cfg, q->creds, remote_record, q,
	    error_r);
	q->creds = NULL;
	if (q->remote == NULL)
		log_msg(LOG_ERR, NULL, NULL, "event=remote-disabled error=%s "
		    "note=\"mail for other domains waits\"",
		    log_quote_err(*error_r));
	path = xasprintf("%s/queue.wake", cfg->run_dir);
	q->wake_fd = notify_listen(path, error_r);
	free(path);
	return q->wake_fd == -1 ? -1 : 0;
}

static void
qmgr_events(struct qmgr *q)
{
	struct timeval first = { 60, 0 };

	q->ev_wake = event_new(q->base, q->wake_fd, EV_READ | EV_PERSIST,
	    on_wake, q);
	q->ev_timer = evtimer_new(q->base, on_timer, q);
	q->ev_lock = evtimer_new(q->base, on_lock, q);
	q->ev_house = evtimer_new(q->base, on_housekeeping, q);
	q->ev_dispatch = event_new(q->base, -1, 0, on_dispatch, q);
	q->ev_rescan = event_new(q->base, -1, 0, on_timer, q);
	q->ev_term = evsignal_new(q->base, SIGTERM, on_stop, q);
	q->ev_retire = evsignal_new(q->base, SIGUSR1, on_stop, q);
	event_add(q->ev_wake, NULL);
	event_add(q->ev_term, NULL);
	event_add(q->ev_retire, NULL);
	event_active(q->ev_lock, EV_TIMEOUT, 0);
	evtimer_add(q->ev_house, &first);
}

static void
qmgr_free(struct qmgr *q)
{
	struct event *evs[] = { q->ev_wake, q->ev_timer, q->ev_lock,
	    q->ev_house, q->ev_term, q->ev_retire, q->ev_dispatch,
	    q->ev_rescan };

	/* First: its last completions may still arm these events. */
	tpool_destroy(&q->pool);
	for (size_t i = 0; i < ARRAY_SIZE(evs); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	/* Jobs hold their remote: free them first. */
	for (size_t i = 0; i < q->nrpending; i++)
		remote_job_free(&q->rpending[i]);
	free(q->rpending);
	remote_free(&q->remote);
	rqueue_free(&q->pending);
	remote_creds_free(&q->creds);
	local_agent_free(&q->agent);
	db_close(&q->queue);
	db_close(&q->directory);
	if (q->wake_fd != -1)
		close(q->wake_fd);
	if (q->lock_fd != -1)
		close(q->lock_fd);
	free(q->parked);
	if (q->base != NULL)
		event_base_free(q->base);
}

int
qmgr_run(const struct qmgr_args *a)
{
	struct qmgr q = { .a = a, .lock_fd = -1, .wake_fd = -1,
	    .creds = a->creds };
	const char *err = "libevent";
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	if ((q.base = event_base_new()) == NULL || qmgr_open(&q, &err) == -1) {
		log_msg(LOG_ERR, NULL, NULL, "event=queue-failed error=%s",
		    log_quote_err(err));
		qmgr_free(&q);
		return 1;
	}
	qmgr_events(&q);
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	event_base_dispatch(q.base);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	log_msg(LOG_INFO, NULL, NULL, "event=queue-stopped scans=%" PRIu64
	    " rows=%" PRIu64, q.scans, q.rows_read);
	qmgr_free(&q);
	return 0;
}
