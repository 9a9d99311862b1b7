/* writer: see writer.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "db.h"
#include "db_queue.h"
#include "tpool.h"
#include "util.h"
#include "writer.h"

struct qw_item {
	struct qw_item		*next;
	struct queue_msg	*msg;
	queue_writer_done_fn	 done;
	void			*arg;
	int			 result;	/* set by the batch */
	char			*error;		/* NULL while nothing failed */
};

/* One transaction's worth, handed to the pool thread and back. */
struct qw_batch {
	struct queue_writer	*w;
	struct qw_item		*items;
	size_t			 n;
};

struct queue_writer {
	struct event_base	*base;
	struct tpool		*pool;		/* one thread */
	struct db		*db;		/* see writer.h: one thread at
						   a time */
	struct event		*kick;		/* starts a batch after this
						   pass of the loop */
	struct queue_writer_limits limits;

	/* Loop thread only. */
	struct qw_item		*waiting;	/* not yet in a batch */
	struct qw_item		**waiting_tail;
	bool			 busy;		/* a batch is in the pool */
	bool			 closing;
	struct queue_writer_stats stats;
};

static void qw_start_batch(struct queue_writer *w);

static void
qw_item_fail(struct qw_item *it, const char *what, const char *error)
{
	it->result = -1;
	if (it->error == NULL)
		it->error = xasprintf("queue: %s%s%s", what, *what ? ": " : "",
		    error);
}

/* Every message without an error of its own fails with this one. */
static void
qw_batch_fail(struct qw_batch *bt, const char *what, const char *error)
{
	for (struct qw_item *it = bt->items; it != NULL; it = it->next)
		qw_item_fail(it, what, error);
}

/*
 * The transaction, on the pool thread (or the loop thread when
 * destroying). One fsync for the whole batch: that is the point.
 */
static void
qw_batch_run(void *arg)
{
	struct qw_batch *bt = arg;
	struct db *db = bt->w->db;
	struct qw_item *it;
	const char *err;
	size_t ok = 0;

	if (db_begin(db, &err) == -1) {
		qw_batch_fail(bt, "cannot start transaction", err);
		return;
	}
	for (it = bt->items; it != NULL; it = it->next) {
		if (db_queue_insert(db, it->msg, &err) == QUEUE_OK) {
			it->result = 0;
			ok++;
			continue;
		}
		qw_item_fail(it, "", err);
		/* Disk full and I/O errors can take the whole transaction. */
		if (!db_queue_in_transaction(db)) {
			qw_batch_fail(bt, "transaction rolled back", err);
			return;
		}
	}
	if (ok == 0) {
		db_rollback(db);
		return;
	}
	if (db_commit(db, &err) == -1) {
		/* Copied first: the rollback may replace db->error. */
		char *why = xstrdup(err);

		db_rollback(db);
		for (it = bt->items; it != NULL; it = it->next)
			if (it->result == 0)
				qw_item_fail(it, "commit failed", why);
		free(why);
	}
}

/* Back on the loop: tell every sender, free the batch, go on. */
static void
qw_batch_done(void *arg)
{
	struct qw_batch *bt = arg;
	struct queue_writer *w = bt->w;
	struct qw_item *it, *next;

	w->busy = false;
	w->stats.transactions++;
	if (bt->n > w->stats.largest_batch)
		w->stats.largest_batch = bt->n;
	/* The next commit can run while we answer for this one. */
	if (w->waiting != NULL && !w->closing)
		qw_start_batch(w);
	for (it = bt->items; it != NULL; it = next) {
		next = it->next;
		if (it->result == 0)
			w->stats.committed++;
		else
			w->stats.failed++;
		w->stats.waiting--;
		it->done(it->arg, it->result, it->error);
		queue_msg_free(&it->msg);
		free(it->error);
		free(it);
	}
	free(bt);
}

/* Take the waiting messages, up to the limits, as one batch. */
static struct qw_batch *
qw_batch_take(struct queue_writer *w)
{
	struct qw_batch *bt = xcalloc(1, sizeof(*bt));
	struct qw_item **tail = &bt->items;
	uint64_t bytes = 0, size;

	bt->w = w;
	while (w->waiting != NULL && bt->n < w->limits.batch_max_msgs) {
		size = queue_msg_size(w->waiting->msg);
		if (bt->n > 0 && size > w->limits.batch_max_bytes - bytes)
			break;
		bytes += size < w->limits.batch_max_bytes ? size :
		    w->limits.batch_max_bytes;
		*tail = w->waiting;
		tail = &w->waiting->next;
		w->waiting = w->waiting->next;
		bt->n++;
	}
	*tail = NULL;
	if (w->waiting == NULL)
		w->waiting_tail = &w->waiting;
	return bt;
}

static void
qw_start_batch(struct queue_writer *w)
{
	struct qw_batch *bt = qw_batch_take(w);

	w->busy = true;
	if (tpool_submit(w->pool, qw_batch_run, qw_batch_done, bt) == -1) {
		/* Cannot happen with one job at a time; fail loudly anyway. */
		qw_batch_fail(bt, "cannot start the writer thread",
		    strerror(errno));
		qw_batch_done(bt);
	}
}

static void
qw_on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct queue_writer *w = arg;

	(void)fd;
	(void)what;
	if (!w->busy && !w->closing && w->waiting != NULL)
		qw_start_batch(w);
}

struct queue_writer *
queue_writer_new(struct event_base *base, const char *queue_db_path,
    const struct queue_writer_limits *limits, const char **error_r)
{
	struct queue_writer *w = xcalloc(1, sizeof(*w));

	if (limits != NULL)
		w->limits = *limits;
	if (w->limits.batch_max_msgs == 0)
		w->limits.batch_max_msgs = QUEUE_WRITER_BATCH_MSGS;
	if (w->limits.batch_max_bytes == 0)
		w->limits.batch_max_bytes = QUEUE_WRITER_BATCH_BYTES;
	w->base = base;
	w->waiting_tail = &w->waiting;
	if (db_open(queue_db_path, "queue", 0, &w->db, error_r) == -1) {
		free(w);
		return NULL;
	}
	if (w->limits.busy_timeout_ms > 0)
		db_set_busy_timeout(w->db, w->limits.busy_timeout_ms);
	/* Two slots: the running batch and the one its done may start. */
	if ((w->pool = tpool_new(base, 1, 2)) == NULL ||
	    (w->kick = event_new(base, -1, 0, qw_on_kick, w)) == NULL) {
		*error_r = "queue writer: cannot start its thread";
		tpool_destroy(&w->pool);
		db_close(&w->db);
		free(w);
		return NULL;
	}
	return w;
}

int
queue_writer_submit(struct queue_writer *w, struct queue_msg *m,
    queue_writer_done_fn done, void *arg)
{
	struct qw_item *it;

	if (m == NULL || done == NULL) {
		errno = EINVAL;
		return -1;
	}
	/* NULL: destroy has cleared the owner's pointer (as tpool does). */
	if (w == NULL || w->closing) {
		errno = ESHUTDOWN;
		return -1;
	}
	it = xcalloc(1, sizeof(*it));
	it->msg = m;
	it->done = done;
	it->arg = arg;
	*w->waiting_tail = it;
	w->waiting_tail = &it->next;
	w->stats.waiting++;
	/*
	 * Not started here: the kick runs after the callbacks already due in
	 * this pass of the loop, so sessions finishing together share a
	 * commit. While a batch runs, its done starts the next one.
	 */
	if (!w->busy)
		event_active(w->kick, EV_TIMEOUT, 0);
	return 0;
}

void
queue_writer_stats(const struct queue_writer *w,
    struct queue_writer_stats *stats_r)
{
	*stats_r = w->stats;
}

void
queue_writer_destroy(struct queue_writer **wp)
{
	struct queue_writer *w;
	struct qw_batch *bt;

	if (wp == NULL || (w = *wp) == NULL)
		return;
	*wp = NULL;
	w->closing = true;
	/* Finishes the running batch and calls its done callbacks. */
	tpool_destroy(&w->pool);
	/* The thread is joined: the connection is ours now. */
	while (w->waiting != NULL) {
		bt = qw_batch_take(w);
		w->busy = true;
		qw_batch_run(bt);
		qw_batch_done(bt);
	}
	event_free(w->kick);
	db_close(&w->db);
	free(w);
}

static int
qw_sink_submit(void *impl, struct queue_msg *m, queue_writer_done_fn done,
    void *arg)
{
	return queue_writer_submit(impl, m, done, arg);
}

struct queue_sink
queue_writer_sink(struct queue_writer *w)
{
	struct queue_sink s = { qw_sink_submit, w };

	return s;
}
