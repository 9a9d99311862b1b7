/* Unit tests for db_queue: inserting messages into a real queue.db and
 * reading them back, all-or-nothing inserts, NOTIFY text. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "db_queue.h"
#include "util.h"

static char dir[] = "/tmp/sluice-test-db-queue-XXXXXX";
static char path[256];
static struct db *db;

static void
setup(void)
{
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

TestSuite(db_queue, .init = setup, .fini = teardown);

static uint8_t
pattern(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 11 ^ i);
}

static const char prefix[] =
    "Received: from client.example (client.example [192.0.2.1])\r\n"
    "\tby mx.example with ESMTPS id 0ABCDEFGHJKM; "
    "Mon, 1 Jan 2024 00:00:00 +0000\r\n";

/* A message with id number seq, a body of body_len pattern octets. */
static struct queue_msg *
msg_make(unsigned seq, size_t body_len, size_t mem_limit)
{
	struct queue_msg *m = queue_msg_new();
	const char *err = NULL;
	uint8_t chunk[1000];

	qid_encode(UINT64_C(1750000000000) + seq, 1, seq & QID_SEQ_MAX, m->id);
	m->arrived = 1750000000 + seq;
	m->sender = xstrdup("alice@example.org");
	m->listener = xstrdup("mx");
	m->client_addr = xstrdup("192.0.2.1");
	m->client_name = xstrdup("client.example");
	m->helo = xstrdup("client.example");
	m->tls_version = xstrdup("TLSv1.3");
	m->tls_cipher = xstrdup("TLS_AES_256_GCM_SHA384");
	m->body_type = "8BITMIME";
	queue_msg_add_rcpt(m, "bob@example.net", 0, NULL, NULL);
	buf_append_str(&m->prefix, prefix);
	m->body = msgbody_new(mem_limit, dir);
	for (size_t off = 0; off < body_len; off += sizeof(chunk)) {
		size_t n = body_len - off < sizeof(chunk) ? body_len - off :
		    sizeof(chunk);

		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern(off + i);
		cr_assert_eq(msgbody_append(m->body, chunk, n, &err), 0);
	}
	return m;
}

/* The stored body is the prefix and then the pattern, exactly. */
static void
body_check(const struct queue_msg *m, size_t body_len)
{
	struct buf out = BUF_INIT;
	const char *err = NULL;
	size_t plen = strlen(prefix);

	cr_assert_eq(db_queue_body_read(db, m->id, &out, &err), QUEUE_OK,
	    "%s", err);
	cr_assert_eq(out.len, plen + body_len);
	cr_assert_eq(memcmp(out.data, prefix, plen), 0);
	for (size_t i = 0; i < body_len; i++)
		if ((uint8_t)out.data[plen + i] != pattern(i))
			cr_assert_fail("body differs at %zu", i);
	buf_release(&out);
}

static int64_t
sql_int(const char *sql, const char *arg)
{
	sqlite3_stmt *st;
	int64_t v;

	cr_assert_eq(sqlite3_prepare_v2(db->handle, sql, -1, &st, NULL),
	    SQLITE_OK, "%s", sqlite3_errmsg(db->handle));
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
rows_check(int64_t messages, int64_t bodies, int64_t rcpts)
{
	int64_t n;
	const char *err = NULL;

	cr_assert_eq(db_queue_message_count(db, &n, &err), QUEUE_OK);
	cr_assert_eq(n, messages);
	cr_assert_eq(sql_int("SELECT count(*) FROM bodies", NULL), bodies);
	cr_assert_eq(sql_int("SELECT count(*) FROM recipients", NULL), rcpts);
}

Test(db_queue, insert_and_read_back_in_memory_body)
{
	struct queue_msg *m = msg_make(1, 3000, 1 << 20);
	const char *err = NULL;

	cr_assert_not(msgbody_spilled(m->body));
	cr_assert_eq(db_queue_insert(db, m, &err), QUEUE_OK, "%s", err);
	cr_assert_not(db_queue_in_transaction(db));
	rows_check(1, 1, 1);
	body_check(m, 3000);
	cr_assert_eq(sql_int("SELECT size FROM messages WHERE id = ?1", m->id),
	    (int64_t)(strlen(prefix) + 3000));
	queue_msg_free(&m);
	cr_assert_null(m);
}

Test(db_queue, insert_5mib_spilled_body)
{
	size_t len = 5 * 1024 * 1024 + 7;
	struct queue_msg *m = msg_make(2, len, 64 * 1024);
	const char *err = NULL;

	cr_assert(msgbody_spilled(m->body));
	cr_assert_eq(db_queue_insert(db, m, &err), QUEUE_OK, "%s", err);
	body_check(m, len);
	cr_assert_eq(sql_int("SELECT size FROM messages WHERE id = ?1", m->id),
	    (int64_t)(strlen(prefix) + len));
	cr_assert_eq(sql_int("SELECT length(data) FROM bodies"
	    " WHERE message_id = ?1", m->id), (int64_t)(strlen(prefix) + len));
	queue_msg_free(&m);
}

Test(db_queue, envelope_columns_as_given)
{
	struct queue_msg *m = msg_make(3, 10, 100);
	const char *err = NULL;
	sqlite3_stmt *st;

	m->auth_user = xstrdup("alice");
	m->smtputf8 = true;
	m->dsn_ret = "HDRS";
	m->dsn_envid = xstrdup("env+id=1");
	free(m->client_name);
	m->client_name = NULL;
	cr_assert_eq(db_queue_insert(db, m, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(sqlite3_prepare_v2(db->handle,
	    "SELECT arrived, sender, kind, listener, client_addr, client_name,"
	    " helo, auth_user, tls_version, tls_cipher, body_type, smtputf8,"
	    " dsn_ret, dsn_envid, held, delay_notified FROM messages"
	    " WHERE id = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(db_col_int(st, 0), m->arrived);
	cr_assert_str_eq(db_col_text(st, 1), "alice@example.org");
	cr_assert_str_eq(db_col_text(st, 2), "mail");
	cr_assert_str_eq(db_col_text(st, 3), "mx");
	cr_assert_str_eq(db_col_text(st, 4), "192.0.2.1");
	cr_assert(db_col_is_null(st, 5));
	cr_assert_str_eq(db_col_text(st, 6), "client.example");
	cr_assert_str_eq(db_col_text(st, 7), "alice");
	cr_assert_str_eq(db_col_text(st, 8), "TLSv1.3");
	cr_assert_str_eq(db_col_text(st, 9), "TLS_AES_256_GCM_SHA384");
	cr_assert_str_eq(db_col_text(st, 10), "8BITMIME");
	cr_assert_eq(db_col_int(st, 11), 1);
	cr_assert_str_eq(db_col_text(st, 12), "HDRS");
	cr_assert_str_eq(db_col_text(st, 13), "env+id=1");
	cr_assert_eq(db_col_int(st, 14), 0);
	cr_assert_eq(db_col_int(st, 15), 0);
	sqlite3_finalize(st);
	queue_msg_free(&m);
}

Test(db_queue, defaults_for_null_sender_and_plain_session)
{
	struct queue_msg *m = msg_make(4, 0, 100);
	const char *err = NULL;

	free(m->sender);
	m->sender = xstrdup("");
	m->body_type = NULL;
	free(m->tls_version);
	free(m->tls_cipher);
	m->tls_version = m->tls_cipher = NULL;
	cr_assert_eq(db_queue_insert(db, m, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(sql_int("SELECT body_type = '7BIT' AND sender = ''"
	    " AND tls_version IS NULL AND dsn_ret IS NULL FROM messages"
	    " WHERE id = ?1", m->id), 1);
	cr_assert_eq(sql_int("SELECT sender = '<>' FROM queue_overview"
	    " WHERE id = ?1", m->id), 1);
	queue_msg_free(&m);
}

Test(db_queue, recipients_as_given)
{
	struct queue_msg *m = msg_make(5, 10, 100);
	const char *err = NULL;
	sqlite3_stmt *st;
	static const struct {
		const char *address, *orcpt, *notify, *route;
	} want[] = {
		{ "bob@example.net", NULL, NULL, NULL },
		{ "carol@example.com", "rfc822;Carol@Example.COM",
		    "SUCCESS,FAILURE,DELAY", "local" },
		{ "dave@example.com", NULL, "NEVER", "relay:smarthost" },
		{ "erin@example.com", NULL, "FAILURE", NULL },
	};
	size_t i = 0;

	queue_msg_add_rcpt(m, "carol@example.com", QUEUE_NOTIFY_SUCCESS |
	    QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY,
	    "rfc822;Carol@Example.COM", "local");
	queue_msg_add_rcpt(m, "dave@example.com", QUEUE_NOTIFY_NEVER, NULL,
	    "relay:smarthost");
	queue_msg_add_rcpt(m, "erin@example.com", QUEUE_NOTIFY_FAILURE, NULL,
	    NULL);
	cr_assert_eq(db_queue_insert(db, m, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(sqlite3_prepare_v2(db->handle,
	    "SELECT address, orcpt, notify, route, state, attempts,"
	    " next_attempt, last_attempt, finished FROM recipients"
	    " WHERE message_id = ?1 ORDER BY id", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
	for (; sqlite3_step(st) == SQLITE_ROW; i++) {
		cr_assert_lt(i, ARRAY_SIZE(want));
		cr_assert_str_eq(db_col_text(st, 0), want[i].address);
		cr_assert_eq(db_col_is_null(st, 1), want[i].orcpt == NULL);
		if (want[i].orcpt)
			cr_assert_str_eq(db_col_text(st, 1), want[i].orcpt);
		cr_assert_eq(db_col_is_null(st, 2), want[i].notify == NULL);
		if (want[i].notify)
			cr_assert_str_eq(db_col_text(st, 2), want[i].notify);
		cr_assert_eq(db_col_is_null(st, 3), want[i].route == NULL);
		if (want[i].route)
			cr_assert_str_eq(db_col_text(st, 3), want[i].route);
		cr_assert_str_eq(db_col_text(st, 4), "queued");
		cr_assert_eq(db_col_int(st, 5), 0);
		cr_assert_eq(db_col_int(st, 6), m->arrived);	/* due now */
		cr_assert(db_col_is_null(st, 7));
		cr_assert(db_col_is_null(st, 8));
	}
	sqlite3_finalize(st);
	cr_assert_eq(i, ARRAY_SIZE(want));
	queue_msg_free(&m);
}

Test(db_queue, overview_shows_message)
{
	struct queue_msg *m = msg_make(6, 100, 100);
	const char *err = NULL;
	sqlite3_stmt *st;

	queue_msg_add_rcpt(m, "x@example.com", 0, NULL, NULL);
	cr_assert_eq(db_queue_insert(db, m, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(sqlite3_prepare_v2(db->handle,
	    "SELECT id, arrived_at, sender, size, kind, held, queued, deferred,"
	    " delivered, failed FROM queue_overview", -1, &st, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq(db_col_text(st, 0), m->id);
	cr_assert_str_eq(db_col_text(st, 1), "2025-06-15 15:06:46");
	cr_assert_str_eq(db_col_text(st, 2), "alice@example.org");
	cr_assert_eq(db_col_int(st, 3), (int64_t)(strlen(prefix) + 100));
	cr_assert_str_eq(db_col_text(st, 4), "mail");
	cr_assert_eq(db_col_int(st, 5), 0);
	cr_assert_eq(db_col_int(st, 6), 2);
	cr_assert_eq(db_col_int(st, 7), 0);
	cr_assert_eq(db_col_int(st, 8), 0);
	cr_assert_eq(db_col_int(st, 9), 0);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	queue_msg_free(&m);
}

Test(db_queue, duplicate_id_fails_and_keeps_the_first)
{
	struct queue_msg *a = msg_make(7, 500, 100);
	struct queue_msg *b = msg_make(7, 900, 100);
	const char *err = NULL;

	queue_msg_add_rcpt(b, "other@example.com", 0, NULL, NULL);
	cr_assert_eq(db_queue_insert(db, a, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(db_queue_insert(db, b, &err), QUEUE_EXISTS);
	cr_assert(strstr(err, a->id) != NULL, "%s", err);
	cr_assert_not(db_queue_in_transaction(db));
	rows_check(1, 1, 1);
	body_check(a, 500);
	queue_msg_free(&a);
	queue_msg_free(&b);
}

/*
 * A failure after the messages and bodies rows are written (a trigger
 * refusing the second recipient) leaves nothing of that message, alone
 * or inside a larger transaction.
 */
Test(db_queue, failure_midway_leaves_nothing)
{
	struct queue_msg *a = msg_make(8, 200, 100);
	struct queue_msg *b = msg_make(9, 70000, 100);
	const char *err = NULL;

	cr_assert_eq(db_exec(db, "CREATE TEMP TRIGGER boom BEFORE INSERT ON"
	    " main.recipients WHEN NEW.address = 'boom@example.com'"
	    " BEGIN SELECT RAISE(ABORT, 'injected failure'); END", &err), 0,
	    "%s", err);
	queue_msg_add_rcpt(b, "boom@example.com", 0, NULL, NULL);
	cr_assert_eq(db_queue_insert(db, b, &err), QUEUE_ERR);
	cr_assert(strstr(err, "injected failure") != NULL, "%s", err);
	cr_assert_not(db_queue_in_transaction(db));
	rows_check(0, 0, 0);

	cr_assert_eq(db_begin(db, &err), 0);
	cr_assert_eq(db_queue_insert(db, a, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(db_queue_insert(db, b, &err), QUEUE_ERR);
	cr_assert(db_queue_in_transaction(db), "outer transaction kept");
	cr_assert_eq(db_commit(db, &err), 0, "%s", err);
	rows_check(1, 1, 1);
	body_check(a, 200);
	queue_msg_free(&a);
	queue_msg_free(&b);
}

Test(db_queue, invalid_messages_rejected_before_writing)
{
	const char *err;

	for (int i = 0; i < 9; i++) {
		struct queue_msg *m = msg_make(10, 10, 100);

		switch (i) {
		case 0: free(m->sender); m->sender = NULL; break;
		case 1: free(m->listener); m->listener = NULL; break;
		case 2: m->nrcpts = 0; break;
		case 3: m->id[3] = 'U'; break;	/* not in the alphabet */
		case 4: m->id[0] = '\0'; break;
		case 5: m->body_type = "9BIT"; break;
		case 6: m->dsn_ret = "ALL"; break;
		case 7: m->rcpts[0].notify = QUEUE_NOTIFY_NEVER |
		    QUEUE_NOTIFY_DELAY; break;
		case 8: m->kind = "spam"; break;
		}
		err = NULL;
		cr_assert_eq(db_queue_insert(db, m, &err), QUEUE_ERR, "case %d",
		    i);
		cr_assert_not_null(err);
		m->nrcpts = m->nrcpts ? m->nrcpts : 1;
		queue_msg_free(&m);
	}
	rows_check(0, 0, 0);
	cr_assert_not(db_queue_in_transaction(db));
}

Test(db_queue, size_limit_of_the_database)
{
	size_t plen = strlen(prefix);
	struct queue_msg *ok = msg_make(11, 3072 - plen, 100);
	struct queue_msg *big = msg_make(12, 3073 - plen, 100);
	const char *err = NULL;

	/* 4096 for the row, of which 1024 kept for its other columns. */
	sqlite3_limit(db->handle, SQLITE_LIMIT_LENGTH, 4096);
	cr_assert_eq(db_queue_insert(db, big, &err), QUEUE_ERR);
	cr_assert(strstr(err, "3073 octets") != NULL, "%s", err);
	cr_assert(strstr(err, "limit of 3072") != NULL, "%s", err);
	cr_assert_eq(db_queue_insert(db, ok, &err), QUEUE_OK, "%s", err);
	rows_check(1, 1, 1);
	queue_msg_free(&ok);
	queue_msg_free(&big);
}

Test(db_queue, empty_bodies)
{
	struct queue_msg *a = msg_make(13, 0, 100);
	struct queue_msg *b = msg_make(14, 0, 100);
	struct buf out = BUF_INIT;
	const char *err = NULL;

	msgbody_destroy(&a->body);	/* prefix only */
	buf_reset(&b->prefix);		/* nothing at all */
	cr_assert_eq(db_queue_insert(db, a, &err), QUEUE_OK, "%s", err);
	cr_assert_eq(db_queue_insert(db, b, &err), QUEUE_OK, "%s", err);
	body_check(a, 0);
	cr_assert_eq(db_queue_body_read(db, b->id, &out, &err), QUEUE_OK);
	cr_assert_eq(out.len, 0);
	cr_assert_eq(sql_int("SELECT size FROM messages WHERE id = ?1", b->id),
	    0);
	cr_assert_eq(db_queue_body_read(db, "000000000000", &out, &err),
	    QUEUE_NOTFOUND);
	rows_check(2, 2, 2);
	buf_release(&out);
	queue_msg_free(&a);
	queue_msg_free(&b);
}

Test(db_queue, notify_format_table)
{
	static const struct {
		unsigned bits;
		const char *text;	/* NULL: refused */
	} cases[] = {
		{ 0, NULL },
		{ QUEUE_NOTIFY_NEVER, "NEVER" },
		{ QUEUE_NOTIFY_SUCCESS, "SUCCESS" },
		{ QUEUE_NOTIFY_DELAY | QUEUE_NOTIFY_SUCCESS, "SUCCESS,DELAY" },
		{ QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE |
		    QUEUE_NOTIFY_DELAY, "SUCCESS,FAILURE,DELAY" },
		{ QUEUE_NOTIFY_NEVER | QUEUE_NOTIFY_FAILURE, NULL },
		{ 1u << 4, NULL },
	};
	char out[QUEUE_NOTIFY_TEXT_MAX];
	char tiny[sizeof("SUCCESS,DELAY") - 1];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = queue_notify_format(cases[i].bits, out, sizeof(out));

		cr_assert_eq(rc, cases[i].text ? 0 : -1, "case %zu", i);
		if (cases[i].text)
			cr_assert_str_eq(out, cases[i].text);
	}
	/* One octet short of the text and its NUL. */
	cr_assert_eq(queue_notify_format(QUEUE_NOTIFY_SUCCESS |
	    QUEUE_NOTIFY_DELAY, tiny, sizeof(tiny)), -1);
	cr_assert_eq(queue_notify_format(QUEUE_NOTIFY_NEVER, tiny, 0), -1);
}

Test(db_queue, notify_parse_table)
{
	static const struct {
		const char *text;
		int rc;
		unsigned bits;
	} cases[] = {
		{ "NEVER", 0, QUEUE_NOTIFY_NEVER },
		{ "never", 0, QUEUE_NOTIFY_NEVER },
		{ "Success,Failure", 0, QUEUE_NOTIFY_SUCCESS |
		    QUEUE_NOTIFY_FAILURE },
		{ "DELAY,SUCCESS,FAILURE", 0, QUEUE_NOTIFY_SUCCESS |
		    QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY },
		{ "DELAY,DELAY", 0, QUEUE_NOTIFY_DELAY },
		{ "", -1, 0 },
		{ ",", -1, 0 },
		{ "SUCCESS,", -1, 0 },
		{ ",SUCCESS", -1, 0 },
		{ "SUCCESS,,DELAY", -1, 0 },
		{ "NEVER,DELAY", -1, 0 },
		{ "SUCCESS,NEVER", -1, 0 },
		{ "SUCCES", -1, 0 },
		{ "SUCCESSS", -1, 0 },
		{ "SUCCESS ", -1, 0 },
		{ "ALWAYS", -1, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *err = NULL;
		unsigned bits = 99;
		int rc = queue_notify_parse(cases[i].text,
		    strlen(cases[i].text), &bits, &err);

		cr_assert_eq(rc, cases[i].rc, "case %zu: %s", i, cases[i].text);
		cr_assert_eq(bits, cases[i].bits, "case %zu", i);
		if (rc == -1)
			cr_assert_not_null(err);
	}
	/* Every valid set survives format then parse. */
	for (unsigned bits = 1; bits < 16; bits++) {
		char out[QUEUE_NOTIFY_TEXT_MAX];
		const char *err;
		unsigned back;

		if (queue_notify_format(bits, out, sizeof(out)) == -1) {
			cr_assert(bits & QUEUE_NOTIFY_NEVER);
			continue;
		}
		cr_assert_eq(queue_notify_parse(out, strlen(out), &back, &err),
		    0);
		cr_assert_eq(back, bits);
	}
	/* Length, not NUL, ends the input. */
	{
		unsigned bits;
		const char *err;

		cr_assert_eq(queue_notify_parse("DELAYX", 5, &bits, &err), 0);
		cr_assert_eq(bits, QUEUE_NOTIFY_DELAY);
	}
}

Test(db_queue, msg_free_accepts_null)
{
	struct queue_msg *m = NULL;

	queue_msg_free(NULL);
	queue_msg_free(&m);
	m = queue_msg_new();
	cr_assert_eq(queue_msg_size(m), 0);
	for (int i = 0; i < 100; i++)
		queue_msg_add_rcpt(m, "a@b", 0, NULL, NULL);
	cr_assert_eq(m->nrcpts, 100);
	queue_msg_free(&m);
	cr_assert_null(m);
}
