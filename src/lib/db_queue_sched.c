/*
 * db_queue_sched: the queue worker's side of queue.db (db_queue.h,
 * "delivery"): due recipients, envelopes, outcomes, alias expansion.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "db_queue.h"
#include "util.h"

static char *
col_dup_or_null(sqlite3_stmt *st, int col)
{
	return db_col_is_null(st, col) ? NULL : xstrdup(db_col_text(st, col));
}

void
queue_due_clear(struct queue_due *d)
{
	free(d->address);
	free(d->orcpt);
	free(d->route);
	memset(d, 0, sizeof(*d));
}

static void
due_from_row(sqlite3_stmt *st, struct queue_due *d)
{
	const char *notify;

	memset(d, 0, sizeof(*d));
	d->rcpt_id = db_col_int(st, 0);
	str_copy(d->message_id, db_col_text(st, 1), sizeof(d->message_id));
	d->address = xstrdup(db_col_text(st, 2));
	d->orcpt = col_dup_or_null(st, 3);
	d->route = col_dup_or_null(st, 4);
	notify = db_col_text(st, 5);
	if (*notify != '\0') {
		const char *err;

		if (queue_notify_parse(notify, strlen(notify), &d->notify,
		    &err) == -1)
			d->notify = 0;	/* written by hand: as if not given */
	}
	d->attempts = (int)db_col_int(st, 6);
	d->next_attempt = db_col_int(st, 7);
}

/* The columns due_from_row() reads. */
#define DUE_SELECT \
	"SELECT r.id, r.message_id, r.address, r.orcpt, r.route, " \
	"r.notify, r.attempts, r.next_attempt " \
	"FROM recipients r JOIN messages m ON m.id = r.message_id "

/* Each row of st to cb, until it says stop. */
static int
due_walk(struct db *db, sqlite3_stmt *st, queue_due_cb cb, void *arg,
    const char **error_r)
{
	struct queue_due d;
	int rc, stop = 0;

	while (stop == 0 && (rc = db_step_row(db, st, error_r)) == 1) {
		due_from_row(st, &d);
		stop = cb(&d, arg);
		queue_due_clear(&d);
	}
	sqlite3_reset(st);
	if (stop != 0)
		return stop;
	return rc == -1 ? QUEUE_ERR : QUEUE_OK;
}

int
db_queue_due(struct db *db, int64_t now, int64_t after_time, int64_t after_id,
    size_t limit, queue_due_cb cb, void *arg, const char **error_r)
{
	/* The row value comparison keeps it a range scan of recipients_due. */
	static const char sql[] = DUE_SELECT
	    "WHERE r.state IN ('queued', 'deferred') "
	    "AND r.next_attempt <= ?1 "
	    "AND (r.next_attempt, r.id) > (?2, ?3) AND m.held = 0 "
	    "ORDER BY r.next_attempt, r.id LIMIT ?4";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_int(st, 1, now);
	db_bind_int(st, 2, after_time);
	db_bind_int(st, 3, after_id);
	db_bind_int(st, 4, (int64_t)limit);
	return due_walk(db, st, cb, arg, error_r);
}

int
db_queue_due_late(struct db *db, int64_t now, int64_t after_id,
    int64_t before_time, size_t limit, queue_due_cb cb, void *arg,
    const char **error_r)
{
	/* A range scan of the newest rows by id (the primary key). */
	static const char sql[] = DUE_SELECT
	    "WHERE r.id > ?2 AND r.next_attempt < ?3 "
	    "AND r.next_attempt <= ?1 "
	    "AND r.state IN ('queued', 'deferred') AND m.held = 0 "
	    "ORDER BY r.id LIMIT ?4";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_int(st, 1, now);
	db_bind_int(st, 2, after_id);
	db_bind_int(st, 3, before_time);
	db_bind_int(st, 4, (int64_t)limit);
	return due_walk(db, st, cb, arg, error_r);
}

int
db_queue_next_due(struct db *db, int64_t after, int64_t *when_r,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT min(r.next_attempt) FROM recipients r "
	    "JOIN messages m ON m.id = r.message_id "
	    "WHERE r.state IN ('queued', 'deferred') AND m.held = 0 "
	    "AND r.next_attempt > ?1";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	int rc;

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_int(st, 1, after);
	if ((rc = db_step_row(db, st, error_r)) == -1)
		return QUEUE_ERR;
	*when_r = rc == 1 ? db_col_int(st, 0) : 0;
	sqlite3_reset(st);
	return QUEUE_OK;
}

void
queue_envelope_clear(struct queue_envelope *e)
{
	free(e->sender);
	free(e->kind);
	free(e->body_type);
	free(e->dsn_ret);
	free(e->dsn_envid);
	memset(e, 0, sizeof(*e));
}

int
db_queue_envelope_get(struct db *db, const char *id, struct queue_envelope *e,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT arrived, sender, kind, size, smtputf8, body_type, "
	    "dsn_ret, dsn_envid, delay_notified, held FROM messages "
	    "WHERE id = ?1";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	int rc;

	memset(e, 0, sizeof(*e));
	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, id);
	if ((rc = db_step_row(db, st, error_r)) != 1)
		return rc == 0 ? QUEUE_NOTFOUND : QUEUE_ERR;
	str_copy(e->id, id, sizeof(e->id));
	e->arrived = db_col_int(st, 0);
	e->sender = xstrdup(db_col_text(st, 1));
	e->kind = xstrdup(db_col_text(st, 2));
	e->size = db_col_int(st, 3);
	e->smtputf8 = db_col_int(st, 4) != 0;
	e->body_type = xstrdup(db_col_text(st, 5));
	e->dsn_ret = col_dup_or_null(st, 6);
	e->dsn_envid = col_dup_or_null(st, 7);
	e->delay_notified = db_col_int(st, 8) != 0;
	e->held = db_col_int(st, 9) != 0;
	sqlite3_reset(st);
	return QUEUE_OK;
}

static bool
outcome_is_final(const char *result)
{
	return strcmp(result, "deferred") != 0;
}

static int
outcome_update(struct db *db, const struct queue_outcome *o,
    const char **error_r)
{
	static const char sql[] =
	    "UPDATE recipients SET state = ?2, attempts = attempts + 1, "
	    "last_attempt = ?3, next_attempt = ?4, status = ?5, "
	    "diagnostic = ?6, finished = ?7 "
	    "WHERE id = ?1 AND state IN ('queued', 'deferred')";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	bool final = outcome_is_final(o->result);

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_int(st, 1, o->rcpt_id);
	db_bind_text(st, 2, o->result);
	db_bind_int(st, 3, o->started);
	db_bind_int(st, 4, final ? o->started : o->next_attempt);
	db_bind_text(st, 5, o->status);
	db_bind_text(st, 6, o->diagnostic);
	if (final)
		db_bind_int(st, 7, o->started);
	return db_step_done(db, st, error_r) < 0 ? QUEUE_ERR : QUEUE_OK;
}

int
db_queue_outcome(struct db *db, const struct queue_outcome *o,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO attempts (recipient_id, started, duration_ms, "
	    "result, status, reply, mx, ip, port, dnssec, tls_version, "
	    "tls_cipher, dane) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	sqlite3_stmt *st;

	if (outcome_update(db, o, error_r) == QUEUE_ERR)
		return QUEUE_ERR;
	/* Finished meanwhile (an operator's doing): leave it alone. */
	if (db_changes(db) == 0)
		return QUEUE_NOTFOUND;
	if ((st = db_stmt_r(db, sql, error_r)) == NULL)
		return QUEUE_ERR;
	db_bind_int(st, 1, o->rcpt_id);
	db_bind_int(st, 2, o->started);
	db_bind_int(st, 3, o->duration_ms);
	db_bind_text(st, 4, o->result);
	db_bind_text(st, 5, o->status);
	db_bind_text(st, 6, o->diagnostic);
	db_bind_text(st, 7, o->mx);
	db_bind_text(st, 8, o->ip);
	if (o->port > 0)
		db_bind_int(st, 9, o->port);
	db_bind_text(st, 10, o->dnssec);
	db_bind_text(st, 11, o->tls_version);
	db_bind_text(st, 12, o->tls_cipher);
	db_bind_text(st, 13, o->dane);
	return db_step_done(db, st, error_r) < 0 ? QUEUE_ERR : QUEUE_OK;
}

int
db_queue_rcpt_expand(struct db *db, const char *message_id, int64_t parent_id,
    const char *address, unsigned notify, const char *orcpt, int64_t now,
    bool *added_r, const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO recipients (message_id, address, orcpt, notify, "
	    "next_attempt, expanded_from) "
	    "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS ("
	    "SELECT 1 FROM recipients WHERE message_id = ?1 AND address = ?2)";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	char text[QUEUE_NOTIFY_TEXT_MAX];

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, message_id);
	db_bind_text(st, 2, address);
	db_bind_text(st, 3, orcpt);
	if (notify != 0 && queue_notify_format(notify, text,
	    sizeof(text)) == 0)
		db_bind_text(st, 4, text);
	db_bind_int(st, 5, now);
	db_bind_int(st, 6, parent_id);
	if (db_step_done(db, st, error_r) < 0)
		return QUEUE_ERR;
	*added_r = db_changes(db) > 0;
	return QUEUE_OK;
}

int
db_queue_delay_notified(struct db *db, const char *message_id,
    const char **error_r)
{
	static const char sql[] =
	    "UPDATE messages SET delay_notified = 1 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, message_id);
	return db_step_done(db, st, error_r) < 0 ? QUEUE_ERR : QUEUE_OK;
}

int
db_queue_purge(struct db *db, int64_t before, size_t limit, size_t *count_r,
    const char **error_r)
{
	/* Recipients, bodies and attempts go with it (ON DELETE CASCADE). */
	static const char sql[] =
	    "DELETE FROM messages WHERE id IN (SELECT m.id FROM messages m "
	    "WHERE m.arrived < ?1 AND NOT EXISTS (SELECT 1 FROM recipients r "
	    "WHERE r.message_id = m.id AND (r.state IN ('queued', 'deferred') "
	    "OR r.finished >= ?1)) LIMIT ?2)";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	*count_r = 0;
	if (st == NULL)
		return QUEUE_ERR;
	db_bind_int(st, 1, before);
	db_bind_int(st, 2, (int64_t)limit);
	if (db_step_done(db, st, error_r) < 0)
		return QUEUE_ERR;
	*count_r = (size_t)db_changes(db);
	return QUEUE_OK;
}
