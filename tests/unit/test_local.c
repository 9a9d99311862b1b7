/* Unit tests for local delivery (src/queue/local.c) over real directory.db,
 * queue.db and mail.db files: what the integration tests cannot reach
 * cheaply: alias nesting limits, the retry schedule, quota expiry, double
 * bounces to the postmaster, and a repeated attempt storing nothing twice. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "db_directory.h"
#include "db_queue.h"
#include "local.h"
#include "log.h"
#include "store.h"
#include "util.h"

static char dir[] = "/tmp/sluice-test-local-XXXXXX";
static struct config cfg;
static struct db *directory, *queue;
static struct local_agent *agent;
static unsigned seq;

#define NOW	1790000000

static void
user(const char *address, int64_t quota, bool enabled)
{
	struct dir_user u = { .address = (char *)(uintptr_t)address,
	    .domain = strchr(address, '@') + 1,
	    .password = (char *)(uintptr_t)"$y$x", .enabled = enabled,
	    .has_mailbox = true, .quota = quota };
	const char *err = NULL;

	cr_assert_eq(directory_user_add(directory, &u, &err), DIR_OK, "%s",
	    err);
}

static void
alias(const char *address, const char *target)
{
	const char *err = NULL;

	cr_assert_eq(directory_alias_add(directory, address, target, &err),
	    DIR_OK, "%s", err);
}

static void
setup(void)
{
	const char *err = NULL;
	char *path;

	log_open_stream("test", fopen("/dev/null", "w"), LOG_DEBUG);
	cr_assert_not_null(mkdtemp(dir));
	config_init(&cfg);
	free(cfg.state_dir);
	free(cfg.run_dir);
	free(cfg.hostname);
	cfg.state_dir = xstrdup(dir);
	cfg.run_dir = xstrdup(dir);
	cfg.hostname = xstrdup("mx.example.org");
	path = xasprintf("%s/directory.db", dir);
	cr_assert_eq(db_open(path, "directory", DB_CREATE | DB_MIGRATE,
	    &directory, &err), 0, "%s", err);
	free(path);
	path = xasprintf("%s/queue.db", dir);
	cr_assert_eq(db_open(path, "queue", DB_CREATE | DB_MIGRATE, &queue,
	    &err), 0, "%s", err);
	free(path);
	cr_assert_eq(directory_domain_add(directory, "example.org",
	    DIR_DOMAIN_LOCAL, &err), DIR_OK, "%s", err);
	user("alice@example.org", 0, true);
	user("postmaster@example.org", 0, true);
	agent = local_agent_new(&cfg, 3, &err);
	cr_assert_not_null(agent, "%s", err);
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	local_agent_free(&agent);
	db_close(&directory);
	db_close(&queue);
	config_free(&cfg);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
}

TestSuite(local, .init = setup, .fini = teardown);

/* Queue a message from sender to rcpt with a body of `extra` octets. */
static void
enqueue(const char *kind, const char *sender, const char *rcpt,
    size_t extra, char id[QID_LEN + 1])
{
	struct queue_msg *m = queue_msg_new();
	const char *err = NULL;

	seq++;
	qid_encode(UINT64_C(1750000000000) + seq, 9, seq, m->id);
	m->arrived = NOW - 10;
	m->kind = kind;
	m->sender = xstrdup(sender);
	m->listener = xstrdup("mx");
	/* Our own notices go out with NOTIFY=NEVER (notice.c). */
	queue_msg_add_rcpt(m, rcpt, strcmp(kind, "mail") == 0 ? 0 :
	    QUEUE_NOTIFY_NEVER, NULL, NULL);
	buf_printf(&m->prefix, "Subject: test %u\r\n\r\n", seq);
	for (size_t i = 0; i < extra; i++)
		buf_append_byte(&m->prefix, 'x');
	buf_append_str(&m->prefix, "\r\n");
	cr_assert_eq(db_queue_insert(queue, m, &err), QUEUE_OK, "%s", err);
	memcpy(id, m->id, QID_LEN + 1);
	queue_msg_free(&m);
}

struct due_list {
	struct queue_due d[8];
	size_t		 n;
};

static int
collect(const struct queue_due *d, void *arg)
{
	struct due_list *l = arg;

	l->d[l->n] = *d;
	l->d[l->n].address = xstrdup(d->address);
	l->d[l->n].orcpt = d->orcpt ? xstrdup(d->orcpt) : NULL;
	l->d[l->n].route = NULL;
	l->n++;
	return l->n == 8;
}

/* Run the agent on every due recipient of message id at time now. */
static struct local_report
deliver(const char *id, time_t now)
{
	struct local_report rep = { 0 };
	struct due_list l = { .n = 0 }, mine = { .n = 0 };
	const char *err = NULL;

	cr_assert_eq(db_queue_due(queue, now, 0, 0, 8, collect, &l, &err) < 0,
	    0, "%s", err);
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.d[i].message_id, id) == 0)
			mine.d[mine.n++] = l.d[i];
		else
			queue_due_clear(&l.d[i]);
	cr_assert_gt(mine.n, 0, "%s has a due recipient", id);
	cr_assert_eq(local_deliver(agent, id, mine.d, mine.n, now, &rep), 0);
	for (size_t i = 0; i < mine.n; i++)
		queue_due_clear(&mine.d[i]);
	return rep;
}

/* state, status and next_attempt of the first recipient of id. */
static void
rcpt_state(const char *id, char *state, char *status, int64_t *next)
{
	sqlite3_stmt *st = db_stmt(queue, "SELECT state, status, next_attempt "
	    "FROM recipients WHERE message_id = ?1 ORDER BY id LIMIT 1");
	const char *err = NULL;

	db_bind_text(st, 1, id);
	cr_assert_eq(db_step_row(queue, st, &err), 1);
	str_copy(state, db_col_text(st, 0), 32);
	str_copy(status, db_col_text(st, 1), 16);
	*next = db_col_int(st, 2);
	sqlite3_reset(st);
}

static int64_t
count(const char *sql)
{
	sqlite3_stmt *st = db_stmt(queue, sql);
	const char *err = NULL;
	int64_t n;

	cr_assert_eq(db_step_row(queue, st, &err), 1, "%s", err);
	n = db_col_int(st, 0);
	sqlite3_reset(st);
	return n;
}

Test(local, alias_nesting_limit)
{
	char a[64], b[64], id[QID_LEN + 1], state[32], status[16];
	int64_t next;

	/* a0 -> a1 -> ... -> a11 -> alice: 12 levels, over the limit. */
	for (int i = 0; i <= LOCAL_ALIAS_DEPTH_MAX; i++) {
		snprintf(a, sizeof(a), "a%d@example.org", i);
		snprintf(b, sizeof(b), "a%d@example.org", i + 1);
		alias(a, i == LOCAL_ALIAS_DEPTH_MAX ? "alice@example.org" : b);
	}
	enqueue("mail", "alice@example.org", "a0@example.org", 0, id);
	deliver(id, NOW);
	rcpt_state(id, state, status, &next);
	cr_assert_str_eq(state, "failed");
	cr_assert_str_eq(status, "5.4.6");
	/* One level less is fine. */
	enqueue("mail", "alice@example.org", "a1@example.org", 0, id);
	deliver(id, NOW);
	rcpt_state(id, state, status, &next);
	cr_assert_str_eq(state, "delivered");
}

Test(local, quota_defers_doubling_then_fails_at_lifetime)
{
	char id[QID_LEN + 1], state[32], status[16];
	struct local_report rep;
	int64_t next;

	user("tiny@example.org", 100, true);
	enqueue("mail", "alice@example.org", "tiny@example.org", 500, id);
	rep = deliver(id, NOW);
	cr_assert_eq(rep.deferred, 1);
	rcpt_state(id, state, status, &next);
	cr_assert_str_eq(state, "deferred");
	cr_assert_str_eq(status, "4.2.2");
	cr_assert_eq(next, NOW + cfg.retry_min, "first retry after retry_min");
	rep = deliver(id, (time_t)next);
	rcpt_state(id, state, status, &next);
	cr_assert_eq(next, NOW + 3 * cfg.retry_min, "then twice as long");
	/* Past the lifetime: bounced with 5.2.2, to the sender. */
	rep = deliver(id, NOW + (time_t)cfg.queue_lifetime);
	rcpt_state(id, state, status, &next);
	cr_assert_str_eq(state, "failed");
	cr_assert_str_eq(status, "5.2.2");
	cr_assert_eq(rep.notices, 1);
	cr_assert_eq(count("SELECT count(*) FROM messages m JOIN recipients r "
	    "ON r.message_id = m.id WHERE m.kind = 'bounce' AND m.sender = '' "
	    "AND r.address = 'alice@example.org'"), 1);
}

Test(local, failed_notice_goes_to_postmaster_once)
{
	char id[QID_LEN + 1], state[32], status[16];
	struct local_report rep;
	int64_t next;

	free(cfg.postmaster);
	cfg.postmaster = xstrdup("postmaster@example.org");
	/* A bounce to a user who is gone: a double bounce. */
	enqueue("bounce", "", "gone@example.org", 0, id);
	rep = deliver(id, NOW);
	cr_assert_eq(rep.failed, 1);
	cr_assert_eq(rep.notices, 1);
	cr_assert_eq(count("SELECT count(*) FROM recipients WHERE address = "
	    "'postmaster@example.org'"), 1);
	/* A notice to the postmaster that fails is dropped. */
	user("off@example.org", 0, false);
	free(cfg.postmaster);
	cfg.postmaster = xstrdup("off@example.org");
	enqueue("bounce", "", "off@example.org", 0, id);
	rep = deliver(id, NOW);
	rcpt_state(id, state, status, &next);
	cr_assert_str_eq(status, "5.2.1");
	cr_assert_eq(rep.notices, 0, "no notice about a failed notice to the "
	    "postmaster");
}

Test(local, target_limit_is_per_recipient)
{
	char id[QID_LEN + 1], state[32], status[16], a[64];
	struct queue_msg *m = queue_msg_new();
	const char *err = NULL;
	int64_t next;

	/* Two lists of 600 each: each under the limit on its own. */
	for (int i = 0; i < 1200; i++) {
		snprintf(a, sizeof(a), "r%d@far.example", i);
		alias(i < 600 ? "list1@example.org" : "list2@example.org", a);
	}
	qid_encode(UINT64_C(1750000000000) + 999, 9, 999, m->id);
	m->arrived = NOW;
	m->sender = xstrdup("alice@example.org");
	m->listener = xstrdup("mx");
	queue_msg_add_rcpt(m, "list1@example.org", 0, NULL, NULL);
	queue_msg_add_rcpt(m, "list2@example.org", 0, NULL, NULL);
	buf_append_str(&m->prefix, "Subject: lists\r\n\r\nx\r\n");
	cr_assert_eq(db_queue_insert(queue, m, &err), QUEUE_OK, "%s", err);
	memcpy(id, m->id, sizeof(id));
	queue_msg_free(&m);
	deliver(id, NOW);
	rcpt_state(id, state, status, &next);
	cr_assert_str_eq(state, "delivered", "%s", status);
	cr_assert_eq(count("SELECT count(*) FROM recipients WHERE "
	    "expanded_from IS NOT NULL"), 1200);
}

Test(local, second_attempt_stores_nothing_twice)
{
	char id[QID_LEN + 1];
	struct store *s;
	const char *err = NULL;
	struct store_mailbox mb = { 0 };
	char *path = xasprintf("%s/mail.db", dir);

	enqueue("mail", "someone@example.net", "alice@example.org", 10, id);
	deliver(id, NOW);
	/* As if the queue.db commit had been lost: due again. */
	cr_assert_eq(db_exec(queue, "UPDATE recipients SET state = 'queued'",
	    &err), 0);
	deliver(id, NOW);
	cr_assert_eq(store_open(path, STORE_READONLY, &s, &err), STORE_OK,
	    "%s", err);
	cr_assert_eq(store_mailbox_get(s, "alice@example.org", "INBOX", &mb,
	    &err), STORE_OK, "%s", err);
	cr_assert_eq(mb.messages, 1, "one copy after two attempts");
	store_mailbox_clear(&mb);
	store_close(&s);
	free(path);
	cr_assert_eq(count("SELECT count(*) FROM recipients WHERE state = "
	    "'delivered'"), 1);
}

Test(local, one_delay_notice_per_message)
{
	char id[QID_LEN + 1], state[32], status[16];
	struct local_report rep;
	int64_t next;

	user("tiny@example.org", 100, true);
	enqueue("mail", "alice@example.org", "tiny@example.org", 500, id);
	rep = deliver(id, NOW);
	cr_assert_eq(rep.notices, 0, "no notice before delay_warning");
	rep = deliver(id, NOW + (time_t)cfg.delay_warning);
	rcpt_state(id, state, status, &next);
	cr_assert_str_eq(state, "deferred");
	cr_assert_eq(rep.notices, 1, "the delay notice");
	cr_assert_eq(count("SELECT count(*) FROM messages WHERE kind = 'delay' "
	    "AND sender = ''"), 1);
	cr_assert_eq(count("SELECT delay_notified FROM messages WHERE kind = "
	    "'mail'"), 1);
	rep = deliver(id, NOW + (time_t)cfg.delay_warning + 7200);
	cr_assert_eq(rep.notices, 0, "only one delay notice per message");
}
