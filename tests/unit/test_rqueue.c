/* rqueue: remote recipients waiting in line for a connection. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "rqueue.h"
#include "util.h"

static struct config cfg;
static struct rqueue *q;

/* What the fake transport started, and what it allows. */
static struct {
	char	 started[64][300];	/* "dest id n first-address" */
	size_t	 n;
	size_t	 per_dest_left;		/* jobs each dest may still start */
	size_t	 total_left;
	char	 refused[64];		/* a dest that may start none */
} T;

static bool
can(void *arg, const char *dest)
{
	size_t same = 0;

	(void)arg;
	for (size_t i = 0; i < T.n; i++)
		same += strncmp(T.started[i], dest, strlen(dest)) == 0 &&
		    T.started[i][strlen(dest)] == ' ';
	return T.total_left > 0 && same < T.per_dest_left &&
	    strcmp(dest, T.refused) != 0;
}

static void
start(void *arg, const char *id, const char *dest, struct queue_due *r,
    size_t n)
{
	(void)arg;
	cr_assert_lt(T.n, 64);
	snprintf(T.started[T.n++], sizeof(T.started[0]), "%s %s %zu %s", dest,
	    id, n, r[0].address);
	T.total_left--;
	/* Take the first recipient's strings, as remote_start() does. */
	queue_due_clear(&r[0]);
}

static void
add(const char *id, int64_t rid, const char *address)
{
	struct queue_due d = { .rcpt_id = rid };
	char a[128];

	str_copy(d.message_id, id, sizeof(d.message_id));
	str_copy(a, address, sizeof(a));
	d.address = a;
	rqueue_add(q, &d);
}

static void
setup(void)
{
	config_init(&cfg);
	cfg.smtp_client_rcpt_limit = 2;
	q = rqueue_new(&cfg, 20);	/* 5 a destination */
	memset(&T, 0, sizeof(T));
	T.per_dest_left = 100;
	T.total_left = 100;
}

static void
teardown(void)
{
	rqueue_free(&q);
	config_free(&cfg);
}

TestSuite(rqueue, .init = setup, .fini = teardown);

Test(rqueue, groups_by_message_and_destination_within_the_rcpt_limit)
{
	add("M1", 1, "a@x.example");
	add("M1", 2, "b@X.example");
	add("M1", 3, "c@x.example");	/* third: a new group (limit 2) */
	add("M1", 4, "d@y.example");
	add("M2", 5, "e@x.example");
	cr_assert_eq(rqueue_count(q), 5);
	rqueue_dispatch(q, can, start, NULL);
	cr_assert_eq(T.n, 4);
	cr_assert_eq(rqueue_count(q), 0);
	/* x.example's line in order, y.example's by itself. */
	cr_assert_str_eq(T.started[0], "x.example M1 2 a@x.example");
	cr_assert_str_eq(T.started[1], "x.example M1 1 c@x.example");
	cr_assert_str_eq(T.started[2], "x.example M2 1 e@x.example");
	cr_assert_str_eq(T.started[3], "y.example M1 1 d@y.example");
}

Test(rqueue, a_destination_at_its_limit_waits_others_go)
{
	str_copy(T.refused, "x.example", sizeof(T.refused));
	add("M1", 1, "a@x.example");
	add("M2", 2, "b@y.example");
	rqueue_dispatch(q, can, start, NULL);
	cr_assert_eq(T.n, 1);
	cr_assert_str_eq(T.started[0], "y.example M2 1 b@y.example");
	cr_assert_eq(rqueue_count(q), 1, "x.example's recipient waits");
	T.refused[0] = '\0';
	rqueue_dispatch(q, can, start, NULL);
	cr_assert_eq(T.n, 2);
	cr_assert_str_eq(T.started[1], "x.example M1 1 a@x.example");
	cr_assert_eq(rqueue_count(q), 0);
}

Test(rqueue, under_the_global_limit_destinations_take_turns)
{
	char first[3][64];

	rqueue_free(&q);
	q = rqueue_new(&cfg, 100);
	cfg.smtp_client_rcpt_limit = 1;
	for (int i = 0; i < 3; i++) {
		char id[16], a[64];

		snprintf(id, sizeof(id), "M%d", i);
		snprintf(a, sizeof(a), "r%d@a.example", i);
		add(id, 10 + i, a);
		snprintf(a, sizeof(a), "r%d@b.example", i);
		add(id, 20 + i, a);
		snprintf(a, sizeof(a), "r%d@c.example", i);
		add(id, 30 + i, a);
	}
	/* One job at a time: a, then b, then c, then a again. */
	for (int round = 0; round < 3; round++) {
		T.total_left = 1;
		rqueue_dispatch(q, can, start, NULL);
		cr_assert_eq(T.n, (size_t)round + 1);
		snprintf(first[round], sizeof(first[round]), "%.9s",
		    T.started[round]);
	}
	cr_assert_str_eq(first[0], "a.example");
	cr_assert_str_eq(first[1], "b.example");
	cr_assert_str_eq(first[2], "c.example");
	T.total_left = 100;
	rqueue_dispatch(q, can, start, NULL);
	cr_assert_eq(T.n, 9);
	cr_assert_eq(rqueue_count(q), 0);
}

Test(rqueue, routes_go_to_their_relay)
{
	struct queue_due d = { .rcpt_id = 1 };
	char a[] = "a@x.example", route[] = "relay:isp";

	str_copy(d.message_id, "M1", sizeof(d.message_id));
	d.address = a;
	d.route = route;
	rqueue_add(q, &d);
	rqueue_dispatch(q, can, start, NULL);
	cr_assert_eq(T.n, 1);
	cr_assert_str_eq(T.started[0], "relay:isp M1 1 a@x.example");
}

Test(rqueue, freed_with_groups_waiting)
{
	str_copy(T.refused, "x.example", sizeof(T.refused));
	add("M1", 1, "a@x.example");
	add("M1", 2, "b@x.example");
	rqueue_dispatch(q, can, start, NULL);
	cr_assert_eq(T.n, 0);
	/* teardown frees them (ASan checks nothing leaks). */
}

Test(rqueue, one_destination_takes_a_quarter_then_room_asks_for_a_scan)
{
	char a[64];

	str_copy(T.refused, "x.example", sizeof(T.refused));
	for (int i = 0; i < 8; i++) {
		snprintf(a, sizeof(a), "r%d@x.example", i);
		cr_assert_eq(rqueue_add(q, &(struct queue_due){ .rcpt_id = i,
		    .message_id = "M1", .address = a }), i < 5,
		    "recipient %d", i);
	}
	snprintf(a, sizeof(a), "t@x.example");
	cr_assert(rqueue_add(q, &(struct queue_due){ .rcpt_id = 9,
	    .message_id = "M2", .address = a }) == false,
	    "x.example is at its share");
	snprintf(a, sizeof(a), "s@y.example");
	cr_assert(rqueue_add(q, &(struct queue_due){ .rcpt_id = 10,
	    .message_id = "M2", .address = a }), "others still go in");
	rqueue_dispatch(q, can, start, NULL);
	cr_assert_not(rqueue_take_room(q), "x.example has not drained");
	T.refused[0] = '\0';
	rqueue_dispatch(q, can, start, NULL);
	cr_assert_eq(rqueue_count(q), 0);
	cr_assert(rqueue_take_room(q), "drained: the refused are due again");
	cr_assert_not(rqueue_take_room(q), "said once");
}
