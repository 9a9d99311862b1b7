/* Unit tests for the queue writer: group commit, per-message failures,
 * whole-batch failures, shutdown with work pending. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>

#include "db_queue.h"
#include "util.h"
#include "writer.h"

#define MAXMSG	2000

static char dir[] = "/tmp/sluice-test-queue-writer-XXXXXX";
static char path[256];

/* One per test (Criterion forks per test). */
static struct {
	struct event_base	*base;
	struct queue_writer	*w;
	pthread_t		 loop_thread;
	int			 calls[MAXMSG];	/* done calls per message */
	int			 result[MAXMSG];
	char			*error[MAXMSG];
	int			 done;		/* done calls in all */
	int			 off_loop;	/* done calls on another thread */
	int			 target;	/* loopbreak when done reaches it */
	bool			 timed_out;
	unsigned		 submitted;	/* by the burst timer */
	unsigned		 burst;
	unsigned		 total;
	struct event		*burst_ev;
} t;

static void
setup(void)
{
	struct db *db;
	const char *err = NULL;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/queue.db", dir);
	cr_assert_eq(db_open(path, "queue", DB_CREATE | DB_MIGRATE, &db, &err),
	    0, "%s", err);
	db_close(&db);
	memset(&t, 0, sizeof(t));
	t.base = event_base_new();
	cr_assert_not_null(t.base);
	t.loop_thread = pthread_self();
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	queue_writer_destroy(&t.w);
	if (t.burst_ev != NULL)
		event_free(t.burst_ev);
	event_base_free(t.base);
	for (int i = 0; i < MAXMSG; i++)
		free(t.error[i]);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
}

TestSuite(queue_writer, .init = setup, .fini = teardown);

static void
writer_start(const struct queue_writer_limits *limits)
{
	const char *err = NULL;

	t.w = queue_writer_new(t.base, path, limits, &err);
	cr_assert_not_null(t.w, "%s", err);
}

static void
body_text(unsigned seq, struct buf *out)
{
	buf_printf(out, "Subject: message %u\r\n\r\n", seq);
	for (unsigned i = 0; i < seq % 7; i++)
		buf_printf(out, "line %u of message %u\r\n", i, seq);
}

/* Message number seq with a body of at least pad octets. */
static struct queue_msg *
msg_make(unsigned seq, size_t pad)
{
	struct queue_msg *m = queue_msg_new();
	struct buf body = BUF_INIT;
	const char *err;

	qid_encode(UINT64_C(1750000000000) + seq / 1000, 7, seq % 1000, m->id);
	m->arrived = 1750000000;
	m->sender = xstrdup("sender@example.org");
	m->listener = xstrdup("mx");
	queue_msg_add_rcpt(m, "rcpt@example.com", 0, NULL, NULL);
	buf_printf(&m->prefix, "Received: by test; seq %u\r\n", seq);
	body_text(seq, &body);
	while (body.len < pad)
		buf_append_str(&body, "padding padding padding padding\r\n");
	m->body = msgbody_new(1024, dir);
	cr_assert_eq(msgbody_append(m->body, body.data, body.len, &err), 0);
	buf_release(&body);
	return m;
}

static void
on_done(void *arg, int result, const char *error)
{
	unsigned seq = (unsigned)(uintptr_t)arg;

	if (!pthread_equal(pthread_self(), t.loop_thread))
		t.off_loop++;
	cr_assert_lt(seq, MAXMSG);
	t.calls[seq]++;
	t.result[seq] = result;
	if (result != 0) {
		cr_assert_not_null(error);
		free(t.error[seq]);
		t.error[seq] = xstrdup(error);
	}
	if (++t.done == t.target)
		event_base_loopbreak(t.base);
}

static void
submit(unsigned seq, size_t pad)
{
	struct queue_msg *m = msg_make(seq, pad);

	cr_assert_eq(queue_writer_submit(t.w, m, on_done,
	    (void *)(uintptr_t)seq), 0);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	t.timed_out = true;
	event_base_loopbreak(t.base);
}

/* Run the loop until target done calls in all, or 60 seconds. */
static void
run_until(int target)
{
	struct timeval tv = { 60, 0 };
	struct event *ev = evtimer_new(t.base, on_timeout, NULL);

	t.target = target;
	if (t.done < target) {
		evtimer_add(ev, &tv);
		event_base_dispatch(t.base);
	}
	event_free(ev);
	cr_assert_not(t.timed_out, "done %d of %d", t.done, target);
	cr_assert_eq(t.done, target);
}

static int64_t
db_count(void)
{
	struct db *db;
	const char *err = NULL;
	int64_t n;

	cr_assert_eq(db_open(path, "queue", 0, &db, &err), 0, "%s", err);
	cr_assert_eq(db_queue_message_count(db, &n, &err), QUEUE_OK);
	db_close(&db);
	return n;
}

/* The stored body of seq is exactly its prefix and body. */
static void
db_body_check(struct db *db, unsigned seq, size_t pad)
{
	struct queue_msg *m = msg_make(seq, pad);
	struct buf got = BUF_INIT, want = BUF_INIT;
	const char *err = NULL;
	char *b = xmalloc(msgbody_size(m->body));

	cr_assert_eq(db_queue_body_read(db, m->id, &got, &err), QUEUE_OK,
	    "seq %u: %s", seq, err);
	buf_append(&want, m->prefix.data, m->prefix.len);
	cr_assert_eq(msgbody_read(m->body, 0, b, msgbody_size(m->body)),
	    (ssize_t)msgbody_size(m->body));
	buf_append(&want, b, msgbody_size(m->body));
	cr_assert_eq(got.len, want.len, "seq %u", seq);
	cr_assert_eq(memcmp(got.data, want.data, got.len), 0, "seq %u", seq);
	free(b);
	buf_release(&got);
	buf_release(&want);
	queue_msg_free(&m);
}

static void
on_burst(evutil_socket_t fd, short what, void *arg)
{
	struct timeval now = { 0, 0 };

	(void)fd;
	(void)what;
	(void)arg;
	for (unsigned i = 0; i < t.burst && t.submitted < t.total; i++)
		submit(t.submitted++, 0);
	if (t.submitted < t.total)
		evtimer_add(t.burst_ev, &now);
}

Test(queue_writer, thousand_messages_in_bursts_share_commits)
{
	struct timeval now = { 0, 0 };
	struct queue_writer_stats st;
	struct db *db;
	const char *err = NULL;

	writer_start(NULL);
	t.burst = 50;
	t.total = 1000;
	t.burst_ev = evtimer_new(t.base, on_burst, NULL);
	evtimer_add(t.burst_ev, &now);
	run_until(1000);
	for (unsigned i = 0; i < 1000; i++) {
		cr_assert_eq(t.calls[i], 1, "message %u: %d calls", i,
		    t.calls[i]);
		cr_assert_eq(t.result[i], 0, "message %u: %s", i, t.error[i]);
	}
	cr_assert_eq(t.off_loop, 0);
	queue_writer_stats(t.w, &st);
	cr_log_info("1000 messages in %" PRIu64 " transactions, largest %"
	    PRIu64, st.transactions, st.largest_batch);
	cr_assert_eq(st.committed, 1000);
	cr_assert_eq(st.failed, 0);
	cr_assert_eq(st.waiting, 0);
	/* At most one transaction per burst: sessions share commits. */
	cr_assert_leq(st.transactions, 20, "%" PRIu64 " transactions",
	    st.transactions);
	cr_assert_geq(st.largest_batch, 50);
	cr_assert_eq(db_count(), 1000);
	cr_assert_eq(db_open(path, "queue", 0, &db, &err), 0);
	for (unsigned i = 0; i < 1000; i++)
		db_body_check(db, i, 0);
	db_close(&db);
}

Test(queue_writer, duplicate_in_a_batch_fails_alone)
{
	struct queue_writer_stats st;
	struct queue_msg *dup = msg_make(1, 5000);
	struct db *db;
	const char *err = NULL;

	writer_start(NULL);
	submit(1, 0);
	submit(2, 0);
	/* Same id as message 1, other content. */
	cr_assert_eq(queue_writer_submit(t.w, dup, on_done, (void *)3), 0);
	submit(4, 0);
	run_until(4);
	cr_assert_eq(t.result[1], 0);
	cr_assert_eq(t.result[2], 0);
	cr_assert_eq(t.result[3], -1);
	cr_assert(strstr(t.error[3], "already exists") != NULL, "%s",
	    t.error[3]);
	cr_assert_eq(t.result[4], 0);
	queue_writer_stats(t.w, &st);
	cr_assert_eq(st.transactions, 1);
	cr_assert_eq(st.committed, 3);
	cr_assert_eq(st.failed, 1);
	cr_assert_eq(db_count(), 3);
	cr_assert_eq(db_open(path, "queue", 0, &db, &err), 0);
	db_body_check(db, 1, 0);	/* the first one's body, not dup's */
	db_body_check(db, 4, 0);
	db_close(&db);
}

/*
 * Disk full at COMMIT, simulated with a file size limit just above the
 * WAL's size: the batch's pages fit in SQLite's cache until COMMIT
 * writes them, so the transaction fails there and as a whole.
 */
Test(queue_writer, failing_commit_fails_the_whole_batch)
{
	struct rlimit rl;
	struct stat wal;
	char *walpath = xasprintf("%s-wal", path);
	struct queue_writer_stats st;

	writer_start(NULL);
	submit(0, 0);
	run_until(1);
	cr_assert_eq(t.result[0], 0);
	cr_assert_eq(stat(walpath, &wal), 0);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = (rlim_t)wal.st_size + 8192;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	for (unsigned i = 1; i <= 10; i++)
		submit(i, 20000);
	run_until(11);
	for (unsigned i = 1; i <= 10; i++) {
		cr_assert_eq(t.result[i], -1, "message %u committed", i);
		cr_assert(strstr(t.error[i], "commit failed") != NULL, "%s",
		    t.error[i]);
		/* EFBIG is an I/O error to SQLite, ENOSPC "disk full". */
		cr_assert(strstr(t.error[i], "I/O error") != NULL, "%s",
		    t.error[i]);
	}
	queue_writer_stats(t.w, &st);
	cr_assert_eq(st.transactions, 2);
	cr_assert_eq(st.failed, 10);
	/* Room again: nothing of the batch is there, and the writer works. */
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	cr_assert_eq(db_count(), 1);
	submit(11, 20000);
	run_until(12);
	cr_assert_eq(t.result[11], 0, "%s", t.error[11]);
	cr_assert_eq(db_count(), 2);
	free(walpath);
}

Test(queue_writer, locked_database_fails_the_batch_after_busy_timeout)
{
	struct queue_writer_limits lim = { .busy_timeout_ms = 200 };
	struct timespec t0, t1;
	struct db *other;
	const char *err = NULL;
	double ms;

	writer_start(&lim);
	cr_assert_eq(db_open(path, "queue", 0, &other, &err), 0, "%s", err);
	cr_assert_eq(db_begin(other, &err), 0, "%s", err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < 5; i++)
		submit(i, 0);
	run_until(5);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_assert_geq(ms, 190, "gave up after %.0f ms", ms);
	cr_assert_lt(ms, 5000, "busy timeout not applied: %.0f ms", ms);
	for (unsigned i = 0; i < 5; i++) {
		cr_assert_eq(t.result[i], -1);
		cr_assert(strstr(t.error[i], "locked") != NULL, "%s",
		    t.error[i]);
	}
	db_rollback(other);
	db_close(&other);
	cr_assert_eq(db_count(), 0);
	submit(5, 0);
	submit(6, 0);
	run_until(7);
	cr_assert_eq(t.result[5], 0);
	cr_assert_eq(t.result[6], 0);
	cr_assert_eq(db_count(), 2);
}

Test(queue_writer, batches_are_bounded)
{
	struct queue_writer_limits lim = { .batch_max_msgs = 10 };
	struct queue_writer_stats st;

	writer_start(&lim);
	for (unsigned i = 0; i < 95; i++)
		submit(i, 0);
	run_until(95);
	queue_writer_stats(t.w, &st);
	cr_assert_eq(st.transactions, 10);
	cr_assert_eq(st.largest_batch, 10);
	cr_assert_eq(st.committed, 95);
	cr_assert_eq(db_count(), 95);
}

Test(queue_writer, batches_are_bounded_in_octets)
{
	struct queue_writer_limits lim = { .batch_max_bytes = 10000 };
	struct queue_writer_stats st;

	writer_start(&lim);
	for (unsigned i = 0; i < 9; i++)
		submit(i, 3000);	/* three fit in 10000 octets */
	submit(9, 50000);		/* over the limit: goes alone */
	submit(10, 3000);
	run_until(11);
	queue_writer_stats(t.w, &st);
	cr_assert_eq(st.transactions, 5);
	cr_assert_eq(st.largest_batch, 3);
	cr_assert_eq(st.committed, 11);
	cr_assert_eq(db_count(), 11);
}

static struct queue_sink saved_sink;

static void
on_done_resubmit(void *arg, int result, const char *error)
{
	struct queue_msg *m = msg_make(999, 0);

	on_done(arg, result, error);
	/* During destroy the writer takes nothing new, whether reached
	 * through the owner's (cleared) pointer or a sink made earlier. */
	errno = 0;
	cr_assert_eq(queue_writer_submit(t.w, m, on_done, (void *)999), -1);
	cr_assert_eq(errno, ESHUTDOWN);
	errno = 0;
	cr_assert_eq(queue_sink_submit(&saved_sink, m, on_done, (void *)999),
	    -1);
	cr_assert_eq(errno, ESHUTDOWN);
	queue_msg_free(&m);
}

Test(queue_writer, destroy_commits_pending_work)
{
	struct queue_writer_limits lim = { .batch_max_msgs = 7 };
	struct queue_msg *m;

	writer_start(&lim);
	for (unsigned i = 0; i < 10; i++)
		submit(i, 0);
	/* One pass of the loop: the first batch starts on the thread. */
	event_base_loop(t.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	for (unsigned i = 10; i < 99; i++)
		submit(i, 0);
	m = msg_make(99, 0);
	saved_sink = queue_writer_sink(t.w);
	cr_assert_eq(queue_writer_submit(t.w, m, on_done_resubmit,
	    (void *)99), 0);
	queue_writer_destroy(&t.w);
	cr_assert_null(t.w);
	cr_assert_eq(t.done, 100);
	for (unsigned i = 0; i < 100; i++) {
		cr_assert_eq(t.calls[i], 1, "message %u", i);
		cr_assert_eq(t.result[i], 0, "message %u: %s", i, t.error[i]);
	}
	cr_assert_eq(t.calls[999], 0);
	cr_assert_eq(t.off_loop, 0);
	cr_assert_eq(db_count(), 100);
}

Test(queue_writer, done_never_runs_inside_submit)
{
	writer_start(NULL);
	submit(0, 0);
	cr_assert_eq(t.done, 0);
	/* Even after the loop ran the previous one to completion. */
	run_until(1);
	submit(1, 0);
	cr_assert_eq(t.done, 1);
	run_until(2);
	cr_assert_eq(t.result[1], 0);
}

Test(queue_writer, sink_submits_through_the_writer)
{
	struct queue_sink sink;

	writer_start(NULL);
	sink = queue_writer_sink(t.w);
	cr_assert_eq(queue_sink_submit(&sink, msg_make(5, 0), on_done,
	    (void *)5), 0);
	run_until(1);
	cr_assert_eq(t.result[5], 0);
	cr_assert_eq(db_count(), 1);
}

Test(queue_writer, bad_arguments_and_databases)
{
	struct queue_msg *m = msg_make(0, 0);
	struct db *db;
	const char *err = NULL;
	char *fresh = xasprintf("%s/fresh.db", dir);
	char *missing = xasprintf("%s/missing.db", dir);

	writer_start(NULL);
	errno = 0;
	cr_assert_eq(queue_writer_submit(t.w, NULL, on_done, NULL), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(queue_writer_submit(t.w, m, NULL, NULL), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(queue_writer_submit(NULL, m, on_done, NULL), -1);
	cr_assert_eq(errno, ESHUTDOWN);
	queue_msg_free(&m);
	cr_assert_null(queue_writer_new(t.base, missing, NULL, &err));
	cr_assert_not_null(err);
	/* A queue.db that was never migrated: say what to run. */
	cr_assert_eq(db_open(fresh, "queue", DB_CREATE | DB_NOCHECK, &db,
	    &err), 0, "%s", err);
	db_close(&db);
	cr_assert_null(queue_writer_new(t.base, fresh, NULL, &err));
	cr_assert(strstr(err, "sluicectl migrate") != NULL, "%s", err);
	queue_writer_destroy(NULL);
	free(fresh);
	free(missing);
}
