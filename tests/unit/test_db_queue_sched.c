/* Unit tests for the queue worker's side of queue.db (db_queue_sched.c):
 * due recipients in order with a cursor, held messages left alone,
 * outcomes and attempts rows, alias expansion added once. And notify.h:
 * datagrams to a socket and to a directory of sockets. Late rows by id,
 * bodies in pieces, release. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "db_queue.h"
#include "notify.h"
#include "util.h"

static char dir[] = "/tmp/sluice-test-sched-XXXXXX";
static struct db *db;

static void
setup(void)
{
	char path[256];
	const char *err = NULL;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/queue.db", dir);
	cr_assert_eq(db_open(path, "queue", DB_CREATE | DB_MIGRATE, &db, &err),
	    0, "%s", err);
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	db_close(&db);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
}

TestSuite(sched, .init = setup, .fini = teardown);

/* Queue message number seq, arrived at `arrived`, for the addresses. */
static void
queue(unsigned seq, int64_t arrived, const char *const *rcpts, size_t n)
{
	struct queue_msg *m = queue_msg_new();
	const char *err = NULL;

	qid_encode(UINT64_C(1750000000000) + seq, 1, seq, m->id);
	m->arrived = arrived;
	m->sender = xstrdup("alice@example.org");
	m->listener = xstrdup("mx");
	for (size_t i = 0; i < n; i++)
		queue_msg_add_rcpt(m, rcpts[i], i == 0 ? QUEUE_NOTIFY_FAILURE |
		    QUEUE_NOTIFY_DELAY : 0, NULL, NULL);
	buf_append_str(&m->prefix, "Subject: x\r\n\r\nbody\r\n");
	cr_assert_eq(db_queue_insert(db, m, &err), QUEUE_OK, "%s", err);
	queue_msg_free(&m);
}

struct seen {
	struct queue_due d[16];
	size_t		 n;
};

static int
collect(const struct queue_due *d, void *arg)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, 16);
	s->d[s->n] = *d;
	s->d[s->n].address = xstrdup(d->address);
	s->d[s->n].orcpt = NULL;
	s->d[s->n].route = NULL;
	s->n++;
	return 0;
}

static void
seen_clear(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		queue_due_clear(&s->d[i]);
	s->n = 0;
}

Test(sched, due_in_order_with_cursor)
{
	static const char *const a[] = { "a@x.example", "b@x.example" };
	static const char *const c[] = { "c@x.example" };
	struct seen s = { .n = 0 };
	const char *err = NULL;

	queue(2, 200, a, 2);
	queue(1, 100, c, 1);
	queue(3, 300, c, 1);
	/* At time 250: the two messages that arrived by then. */
	cr_assert_eq(db_queue_due(db, 250, 0, 0, 10, collect, &s, &err),
	    QUEUE_OK, "%s", err);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.d[0].address, "c@x.example");
	cr_assert_eq(s.d[0].next_attempt, 100);
	cr_assert_str_eq(s.d[1].address, "a@x.example");
	cr_assert_eq(s.d[1].notify, QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY);
	cr_assert_str_eq(s.d[2].address, "b@x.example");
	cr_assert_eq(s.d[2].notify, 0);
	/* A page of 1 after the first row's cursor. */
	{
		int64_t t = s.d[0].next_attempt, id = s.d[0].rcpt_id;

		seen_clear(&s);
		cr_assert_eq(db_queue_due(db, 250, t, id, 1, collect, &s,
		    &err), QUEUE_OK);
		cr_assert_eq(s.n, 1);
		cr_assert_str_eq(s.d[0].address, "a@x.example");
	}
	seen_clear(&s);
}

Test(sched, held_messages_wait)
{
	static const char *const a[] = { "a@x.example" };
	struct seen s = { .n = 0 };
	const char *err = NULL;
	int64_t when = -1;

	queue(1, 100, a, 1);
	cr_assert_eq(db_exec(db, "UPDATE messages SET held = 1", &err), 0);
	cr_assert_eq(db_queue_due(db, 1000, 0, 0, 10, collect, &s, &err),
	    QUEUE_OK);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(db_queue_next_due(db, 0, &when, &err), QUEUE_OK);
	cr_assert_eq(when, 0, "a held message is never due");
}

Test(sched, outcome_deferred_then_delivered)
{
	static const char *const a[] = { "a@x.example" };
	struct seen s = { .n = 0 };
	const char *err = NULL;
	struct queue_outcome o;
	int64_t when = 0;
	sqlite3_stmt *st;

	queue(1, 100, a, 1);
	cr_assert_eq(db_queue_due(db, 100, 0, 0, 10, collect, &s, &err), 0);
	o = (struct queue_outcome){ .rcpt_id = s.d[0].rcpt_id,
	    .result = "deferred", .status = "4.2.2", .diagnostic = "full",
	    .started = 100, .duration_ms = 3, .next_attempt = 400 };
	cr_assert_eq(db_begin(db, &err), 0);
	cr_assert_eq(db_queue_outcome(db, &o, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(db_commit(db, &err), 0);
	seen_clear(&s);
	cr_assert_eq(db_queue_due(db, 399, 0, 0, 10, collect, &s, &err), 0);
	cr_assert_eq(s.n, 0, "not due before its retry time");
	cr_assert_eq(db_queue_next_due(db, 100, &when, &err), 0);
	cr_assert_eq(when, 400);
	cr_assert_eq(db_queue_due(db, 400, 0, 0, 10, collect, &s, &err), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.d[0].attempts, 1);
	o.result = "delivered";
	o.status = "2.0.0";
	o.started = 400;
	cr_assert_eq(db_queue_outcome(db, &o, &err), QUEUE_OK);
	seen_clear(&s);
	cr_assert_eq(db_queue_due(db, 10000, 0, 0, 10, collect, &s, &err), 0);
	cr_assert_eq(s.n, 0, "a delivered recipient is never due");
	st = db_stmt(db, "SELECT state, attempts, finished, status, "
	    "(SELECT count(*) FROM attempts) FROM recipients");
	cr_assert_eq(db_step_row(db, st, &err), 1);
	cr_assert_str_eq(db_col_text(st, 0), "delivered");
	cr_assert_eq(db_col_int(st, 1), 2);
	cr_assert_eq(db_col_int(st, 2), 400);
	cr_assert_str_eq(db_col_text(st, 3), "2.0.0");
	cr_assert_eq(db_col_int(st, 4), 2, "one attempts row per attempt");
	sqlite3_reset(st);
}

Test(sched, expansion_added_once)
{
	static const char *const a[] = { "list@x.example" };
	struct seen s = { .n = 0 };
	struct queue_envelope e;
	const char *err = NULL;
	char id[QID_LEN + 1];
	bool added = false;

	queue(1, 100, a, 1);
	cr_assert_eq(db_queue_due(db, 100, 0, 0, 10, collect, &s, &err), 0);
	str_copy(id, s.d[0].message_id, sizeof(id));
	cr_assert_eq(db_queue_rcpt_expand(db, id, s.d[0].rcpt_id,
	    "far@y.example", QUEUE_NOTIFY_SUCCESS, "rfc822;list@x.example",
	    100, &added, &err), QUEUE_OK, "%s", err);
	cr_assert(added);
	cr_assert_eq(db_queue_rcpt_expand(db, id, s.d[0].rcpt_id,
	    "far@y.example", 0, NULL, 100, &added, &err), QUEUE_OK);
	cr_assert(!added, "the same address is not added twice");
	seen_clear(&s);
	cr_assert_eq(db_queue_due(db, 100, 0, 0, 10, collect, &s, &err), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.d[1].address, "far@y.example");
	cr_assert_eq(s.d[1].notify, QUEUE_NOTIFY_SUCCESS);
	seen_clear(&s);
	cr_assert_eq(db_queue_envelope_get(db, id, &e, &err), QUEUE_OK);
	cr_assert_str_eq(e.sender, "alice@example.org");
	cr_assert_str_eq(e.kind, "mail");
	cr_assert_eq(e.arrived, 100);
	queue_envelope_clear(&e);
	cr_assert_eq(db_queue_envelope_get(db, "0000000000ZZ", &e, &err),
	    QUEUE_NOTFOUND);
}

Test(sched, notify_socket_and_directory)
{
	char sock1[320], sock2[320], ndir[300], b[64];
	const char *err = NULL;
	int l1, l2, tx = notify_sender();
	ssize_t n;

	snprintf(ndir, sizeof(ndir), "%s/notify", dir);
	cr_assert_eq(mkdir(ndir, 0700), 0);
	snprintf(sock1, sizeof(sock1), "%s/one", ndir);
	snprintf(sock2, sizeof(sock2), "%s/two", ndir);
	cr_assert_geq(l1 = notify_listen(sock1, &err), 0, "%s", err);
	cr_assert_geq(l2 = notify_listen(sock2, &err), 0, "%s", err);
	cr_assert_eq(notify_send(tx, sock1, "w", 1), 0);
	cr_assert_eq(recv(l1, b, sizeof(b), 0), 1);
	cr_assert_eq(notify_send_dir(tx, ndir, "7 a@x\n", 6), 2);
	n = recv(l2, b, sizeof(b), 0);
	cr_assert_eq(n, 6);
	cr_assert_eq(memcmp(b, "7 a@x\n", 6), 0);
	cr_assert_eq(notify_drain(l1), 1);
	cr_assert_eq(notify_drain(l1), 0, "nothing more waits");
	/* A receiver gone: its socket is removed by the next send. */
	close(l2);
	cr_assert_eq(notify_send_dir(tx, ndir, "x", 1), 1);
	cr_assert_eq(access(sock2, F_OK), -1);
	/* Binding again over a stale socket works. */
	close(l1);
	cr_assert_geq(l1 = notify_listen(sock1, &err), 0, "%s", err);
	close(l1);
	close(tx);
}

Test(sched, purge_keeps_what_is_waiting_or_recent)
{
	static const char *const a[] = { "a@x.example" };
	struct seen s = { .n = 0 };
	const char *err = NULL;
	struct queue_outcome o;
	size_t n = 99;

	queue(1, 100, a, 1);	/* delivered at 150: old */
	queue(2, 100, a, 1);	/* delivered at 900: recent */
	queue(3, 100, a, 1);	/* still waiting */
	cr_assert_eq(db_queue_due(db, 100, 0, 0, 10, collect, &s, &err), 0);
	cr_assert_eq(s.n, 3);
	o = (struct queue_outcome){ .rcpt_id = s.d[0].rcpt_id,
	    .result = "delivered", .status = "2.0.0", .started = 150 };
	cr_assert_eq(db_queue_outcome(db, &o, &err), QUEUE_OK);
	o.rcpt_id = s.d[1].rcpt_id;
	o.started = 900;
	cr_assert_eq(db_queue_outcome(db, &o, &err), QUEUE_OK);
	seen_clear(&s);
	cr_assert_eq(db_queue_purge(db, 500, 10, &n, &err), QUEUE_OK, "%s",
	    err);
	cr_assert_eq(n, 1, "only the message final before 500 goes");
	cr_assert_eq(db_queue_due(db, 1000, 0, 0, 10, collect, &s, &err), 0);
	cr_assert_eq(s.n, 1, "the waiting one stays");
	seen_clear(&s);
	cr_assert_eq(db_exec(db, "SELECT 1", &err), 0);
	{
		sqlite3_stmt *st = db_stmt(db, "SELECT (SELECT count(*) FROM "
		    "messages), (SELECT count(*) FROM bodies), (SELECT count(*) "
		    "FROM attempts)");

		cr_assert_eq(db_step_row(db, st, &err), 1);
		cr_assert_eq(db_col_int(st, 0), 2);
		cr_assert_eq(db_col_int(st, 1), 2, "its body went with it");
		cr_assert_eq(db_col_int(st, 2), 1, "and its attempts");
		sqlite3_reset(st);
	}
}

/* Rows committed after a cursor's rows but timed before them: by id. */
Test(sched, late_rows_by_id_before_the_cursor_time)
{
	static const char *const a[] = { "a@x.example" };
	static const char *const b[] = { "b@x.example" };
	static const char *const c[] = { "c@x.example" };
	struct seen s = { .n = 0 };
	const char *err = NULL;
	int64_t first_id;

	queue(1, 200, a, 1);		/* read by a scan: cursor (200, id) */
	cr_assert_eq(db_queue_due(db, 300, 0, 0, 10, collect, &s, &err),
	    QUEUE_OK);
	cr_assert_eq(s.n, 1);
	first_id = s.d[0].rcpt_id;
	seen_clear(&s);
	queue(2, 150, b, 1);		/* committed later, timed earlier */
	queue(3, 250, c, 1);		/* after the cursor: not late */
	cr_assert_eq(db_queue_due(db, 300, 200, first_id, 10, collect, &s,
	    &err), QUEUE_OK);
	cr_assert_eq(s.n, 1, "the cursor alone misses the late row");
	cr_assert_str_eq(s.d[0].address, "c@x.example");
	seen_clear(&s);
	cr_assert_eq(db_queue_due_late(db, 300, first_id, 200, 10, collect,
	    &s, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.d[0].address, "b@x.example");
	seen_clear(&s);
	/* Not yet due at 100: nothing. */
	cr_assert_eq(db_queue_due_late(db, 100, first_id, 200, 10, collect,
	    &s, &err), QUEUE_OK);
	cr_assert_eq(s.n, 0);
}

/* The body in pieces, and only while the row is still the message's. */
Test(sched, body_in_pieces_checked_against_its_message)
{
	static const char *const a[] = { "a@x.example" };
	const char *err = NULL;
	char id[QID_LEN + 1], piece[8];
	int64_t row;
	uint64_t size;

	queue(1, 100, a, 1);
	qid_encode(UINT64_C(1750000000001), 1, 1, id);
	cr_assert_eq(db_queue_body_locate(db, id, &row, &size, &err),
	    QUEUE_OK, "%s", err);
	cr_assert_eq(size, strlen("Subject: x\r\n\r\nbody\r\n"));
	cr_assert_eq(db_queue_body_read_at(db, id, row, 14, piece, 4, &err),
	    QUEUE_OK, "%s", err);
	cr_assert_arr_eq(piece, "body", 4);
	cr_assert_eq(db_queue_body_read_at(db, id, row, size - 2, piece, 4,
	    &err), QUEUE_ERR, "past the end");
	/* Deleted, and its row number taken by the next message. */
	cr_assert_eq(db_queue_delete(db, id, &err), QUEUE_OK);
	queue(2, 100, a, 1);
	cr_assert_eq(db_queue_body_read_at(db, id, row, 0, piece, 4, &err),
	    QUEUE_ERR, "another message's body is never read for it");
}

/* Releasing a held message makes its recipients already due due now. */
Test(sched, release_makes_due_now)
{
	static const char *const a[] = { "a@x.example" };
	const char *err = NULL;
	char id[QID_LEN + 1];
	sqlite3_stmt *st;
	int64_t before = (int64_t)time(NULL);

	queue(1, 100, a, 1);
	qid_encode(UINT64_C(1750000000001), 1, 1, id);
	cr_assert_eq(db_queue_hold(db, id, true, &err), QUEUE_OK);
	cr_assert_eq(db_queue_hold(db, id, false, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(sqlite3_prepare_v2(db->handle, "SELECT next_attempt "
	    "FROM recipients", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_geq(sqlite3_column_int64(st, 0), before);
	sqlite3_finalize(st);
}
