/*
 * db_queue_admin: what `sluicectl queue` reads and changes in queue.db
 * (db_queue.h, "administration").
 */
#include <sqlite3.h>
#include <string.h>

#include "db_queue.h"
#include "util.h"

int
db_queue_list(struct db *db, bool all, queue_summary_cb cb, void *arg,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT id, arrived_at, sender, size, kind, held, queued, "
	    "deferred, delivered, failed FROM queue_overview "
	    "WHERE ?1 OR queued + deferred > 0 ORDER BY id";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	struct queue_summary q;
	int rc, stop = 0;

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_int(st, 1, all);
	while (stop == 0 && (rc = db_step_row(db, st, error_r)) == 1) {
		q = (struct queue_summary){ db_col_text(st, 0),
		    db_col_text(st, 1), db_col_text(st, 2), db_col_int(st, 3),
		    db_col_text(st, 4), db_col_int(st, 5) != 0,
		    db_col_int(st, 6), db_col_int(st, 7), db_col_int(st, 8),
		    db_col_int(st, 9) };
		stop = cb(&q, arg);
	}
	sqlite3_reset(st);
	if (stop != 0)
		return stop;
	return rc == -1 ? QUEUE_ERR : QUEUE_OK;
}

int
db_queue_recipients(struct db *db, const char *id, queue_rcpt_row_cb cb,
    void *arg, const char **error_r)
{
	static const char sql[] =
	    "SELECT address, state, attempts, "
	    "datetime(next_attempt, 'unixepoch'), "
	    "coalesce(status, ''), coalesce(diagnostic, '') "
	    "FROM recipients WHERE message_id = ?1 ORDER BY id";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	struct queue_rcpt_row r;
	int rc, stop = 0, n = 0;

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, id);
	while (stop == 0 && (rc = db_step_row(db, st, error_r)) == 1) {
		r = (struct queue_rcpt_row){ db_col_text(st, 0),
		    db_col_text(st, 1), db_col_int(st, 2), db_col_text(st, 3),
		    db_col_text(st, 4), db_col_text(st, 5) };
		stop = cb(&r, arg);
		n++;
	}
	sqlite3_reset(st);
	if (stop != 0)
		return stop;
	if (rc == -1)
		return QUEUE_ERR;
	return n == 0 ? QUEUE_NOTFOUND : QUEUE_OK;
}

int
db_queue_flush(struct db *db, const char *id, int64_t now, size_t *count_r,
    const char **error_r)
{
	static const char sql[] =
	    "UPDATE recipients SET next_attempt = ?1 "
	    "WHERE state IN ('queued', 'deferred') AND next_attempt > ?1 "
	    "AND (?2 IS NULL OR message_id = ?2)";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_int(st, 1, now);
	db_bind_text(st, 2, id);
	if (db_step_done(db, st, error_r) < 0)
		return QUEUE_ERR;
	*count_r = (size_t)db_changes(db);
	return QUEUE_OK;
}

/* A released message's recipients already due are due now: the queue
 * worker, which reads on from where it stopped, finds them at once. */
static int
queue_due_now(struct db *db, const char *id, const char **error_r)
{
	static const char sql[] =
	    "UPDATE recipients SET next_attempt = max(next_attempt, "
	    "CAST(strftime('%s', 'now') AS INTEGER)) "
	    "WHERE message_id = ?1 AND state IN ('queued', 'deferred')";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, id);
	return db_step_done(db, st, error_r) < 0 ? QUEUE_ERR : QUEUE_OK;
}

int
db_queue_hold(struct db *db, const char *id, bool held, const char **error_r)
{
	static const char sql[] =
	    "UPDATE messages SET held = ?2 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, id);
	db_bind_int(st, 2, held);
	if (db_step_done(db, st, error_r) < 0)
		return QUEUE_ERR;
	if (db_changes(db) == 0)
		return QUEUE_NOTFOUND;
	return held ? QUEUE_OK : queue_due_now(db, id, error_r);
}

int
db_queue_delete(struct db *db, const char *id, const char **error_r)
{
	static const char sql[] = "DELETE FROM messages WHERE id = ?1";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, id);
	if (db_step_done(db, st, error_r) < 0)
		return QUEUE_ERR;
	return db_changes(db) == 0 ? QUEUE_NOTFOUND : QUEUE_OK;
}
