/* db: see db.h. */
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <time.h>

#include "db.h"
#include "util.h"

struct db_stmt {
	const char	*sql;		/* the caller's constant: compared by address */
	sqlite3_stmt	*stmt;
	struct db_stmt	*next;
};

static _Thread_local char db_open_error[1024];

/*
 * SQLite's own busy handler sleeps 1, 2, 5 ... 50 ms between tries, while
 * the commit another process holds the lock for takes a fraction of a
 * millisecond: two smtp workers sharing queue.db spent most of their time
 * asleep (bench/RESULTS.md). This one retries after 50 us, doubling up to
 * 2 ms, until db->busy_ms have passed.
 */
static int
db_busy(void *arg, int tries)
{
	struct db *db = arg;
	struct timespec now, nap;
	int64_t waited_us, step_us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (tries == 0)
		db->busy_since = now;
	waited_us = (now.tv_sec - db->busy_since.tv_sec) * 1000000 +
	    (now.tv_nsec - db->busy_since.tv_nsec) / 1000;
	if (waited_us >= (int64_t)db->busy_ms * 1000)
		return 0;
	step_us = tries < 6 ? 50LL << tries : 2000;
	nap.tv_sec = 0;
	nap.tv_nsec = (long)step_us * 1000;
	nanosleep(&nap, NULL);
	return 1;
}

void
db_set_busy_timeout(struct db *db, int ms)
{
	db->busy_ms = ms;
	sqlite3_busy_handler(db->handle, db_busy, db);
}

static const char *
db_seterr(struct db *db, const char *fmt, ...) PRINTF_LIKE(2, 3);

static const char *
db_seterr(struct db *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->error, sizeof(db->error), fmt, ap);
	va_end(ap);
	return db->error;
}

int
db_schema_latest(const char *name)
{
	int latest = 0;

	for (const struct db_migration *m = db_migrations; m->db; m++)
		if (strcmp(m->db, name) == 0 && m->version > latest)
			latest = m->version;
	return latest;
}

int
db_schema_version(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, "PRAGMA user_version");
	int v = -1;

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	if (st != NULL)
		sqlite3_reset(st);
	return v;
}

static int
db_configure(struct db *db, unsigned flags, const char **error_r)
{
	static const char pragmas_rw[] =
	    "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL;"
	    "PRAGMA foreign_keys=ON;";
	static const char pragmas_ro[] = "PRAGMA foreign_keys=ON;";

	db_set_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db->handle, 1);
	return db_exec(db, (flags & DB_READONLY) ? pragmas_ro : pragmas_rw,
	    error_r);
}

/* Compare the file's schema with this build's; migrate when allowed. */
static int
db_check_schema(struct db *db, unsigned flags, const char **error_r)
{
	int have = db_schema_version(db), want = db_schema_latest(db->name);

	if (have < 0) {
		*error_r = db_seterr(db, "%s: cannot read schema version: %s",
		    db->path, sqlite3_errmsg(db->handle));
		return -1;
	}
	if (have > want) {
		*error_r = db_seterr(db, "%s: schema version %d is newer than "
		    "this sluice knows (%d); run a sluice release that knows "
		    "it, or restore a backup made before the upgrade",
		    db->path, have, want);
		return -1;
	}
	if (have < want && (flags & DB_MIGRATE))
		return db_migrate(db, NULL, NULL, error_r);
	if (have < want) {
		*error_r = db_seterr(db, "%s: schema version %d is older than "
		    "this sluice needs (%d); run \"sluicectl migrate\"",
		    db->path, have, want);
		return -1;
	}
	return 0;
}

int
db_open(const char *path, const char *name, unsigned flags, struct db **db_r,
    const char **error_r)
{
	int oflags, rc;
	struct db *db;

	*db_r = NULL;
	if (db_schema_latest(name) == 0) {
		snprintf(db_open_error, sizeof(db_open_error),
		    "unknown database \"%s\"", name);
		*error_r = db_open_error;
		return -1;
	}
	oflags = (flags & DB_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | ((flags & DB_CREATE) ? SQLITE_OPEN_CREATE : 0);
	oflags |= SQLITE_OPEN_NOMUTEX;
	db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	db->name = xstrdup(name);
	rc = sqlite3_open_v2(path, &db->handle, oflags, NULL);
	if (rc != SQLITE_OK || db_configure(db, flags, error_r) == -1 ||
	    (!(flags & DB_NOCHECK) && db_check_schema(db, flags, error_r) == -1)) {
		if (rc != SQLITE_OK)
			db_seterr(db, "%s: %s", path, db->handle ?
			    sqlite3_errmsg(db->handle) : sqlite3_errstr(rc));
		str_copy(db_open_error, db->error, sizeof(db_open_error));
		*error_r = db_open_error;
		db_close(&db);
		return -1;
	}
	*db_r = db;
	return 0;
}

void
db_close(struct db **dbp)
{
	struct db *db;
	struct db_stmt *s, *next;

	if (dbp == NULL || (db = *dbp) == NULL)
		return;
	for (s = db->stmts; s != NULL; s = next) {
		next = s->next;
		sqlite3_finalize(s->stmt);
		free(s);
	}
	if (db->handle != NULL)
		sqlite3_close_v2(db->handle);
	free(db->path);
	free(db->name);
	free(db);
	*dbp = NULL;
}

static int
db_apply(struct db *db, const struct db_migration *m, const char **error_r)
{
	char *pragma;
	int rc;

	if (db_begin(db, error_r) == -1)
		return -1;
	pragma = xasprintf("PRAGMA user_version=%d", m->version);
	rc = db_exec(db, m->sql, error_r);
	if (rc == 0)
		rc = db_exec(db, pragma, error_r);
	free(pragma);
	if (rc == 0)
		rc = db_commit(db, error_r);
	if (rc == -1) {
		db_rollback(db);
		*error_r = db_seterr(db, "%s: migration %s failed: %s",
		    db->path, m->file, db->error);
	}
	return rc;
}

int
db_migrate(struct db *db, int *from_r, int *to_r, const char **error_r)
{
	int have = db_schema_version(db), want = db_schema_latest(db->name);

	if (from_r != NULL)
		*from_r = have;
	if (to_r != NULL)
		*to_r = have;
	if (have > want) {
		*error_r = db_seterr(db, "%s: schema version %d is newer than "
		    "this sluice knows (%d)", db->path, have, want);
		return -1;
	}
	for (int v = have + 1; v <= want; v++) {
		const struct db_migration *m;

		for (m = db_migrations; m->db; m++)
			if (strcmp(m->db, db->name) == 0 && m->version == v)
				break;
		if (m->db == NULL) {
			*error_r = db_seterr(db, "%s: migration %d for %s is "
			    "missing from this build", db->path, v, db->name);
			return -1;
		}
		if (db_apply(db, m, error_r) == -1)
			return -1;
		if (to_r != NULL)
			*to_r = v;
	}
	return 0;
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
	struct db_stmt *s;
	sqlite3_stmt *st;

	for (s = db->stmts; s != NULL; s = s->next) {
		if (s->sql == sql) {
			sqlite3_reset(s->stmt);
			sqlite3_clear_bindings(s->stmt);
			return s->stmt;
		}
	}
	if (sqlite3_prepare_v3(db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st, NULL) != SQLITE_OK) {
		db_seterr(db, "cannot prepare statement: %s",
		    sqlite3_errmsg(db->handle));
		return NULL;
	}
	s = xmalloc(sizeof(*s));
	s->sql = sql;
	s->stmt = st;
	s->next = db->stmts;
	db->stmts = s;
	return st;
}

int
db_exec(struct db *db, const char *sql, const char **error_r)
{
	char *msg = NULL;

	if (sqlite3_exec(db->handle, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*error_r = db_seterr(db, "%s", msg ? msg :
		    sqlite3_errmsg(db->handle));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
db_begin(struct db *db, const char **error_r)
{
	return db_exec(db, "BEGIN IMMEDIATE", error_r);
}

int
db_commit(struct db *db, const char **error_r)
{
	return db_exec(db, "COMMIT", error_r);
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->handle))
		sqlite3_exec(db->handle, "ROLLBACK", NULL, NULL, NULL);
}

int
db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	int rc = s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) :
	    sqlite3_bind_null(st, idx);

	return rc == SQLITE_OK ? 0 : -1;
}

int
db_bind_int(sqlite3_stmt *st, int idx, int64_t v)
{
	return sqlite3_bind_int64(st, idx, v) == SQLITE_OK ? 0 : -1;
}

int
db_bind_blob(sqlite3_stmt *st, int idx, const void *p, size_t n)
{
	return sqlite3_bind_blob64(st, idx, p, n, SQLITE_TRANSIENT) ==
	    SQLITE_OK ? 0 : -1;
}

int
db_step_done(struct db *db, sqlite3_stmt *st, const char **error_r)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		*error_r = db_seterr(db, "%s", sqlite3_errmsg(db->handle));
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	return (rc & 0xff) == SQLITE_CONSTRAINT ? -2 : -1;
}

int
db_step_row(struct db *db, sqlite3_stmt *st, const char **error_r)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		*error_r = db_seterr(db, "%s", sqlite3_errmsg(db->handle));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

const char *
db_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s ? (const char *)s : "";
}

int64_t
db_col_int(sqlite3_stmt *st, int col)
{
	return sqlite3_column_int64(st, col);
}

bool
db_col_is_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL;
}

int
db_changes(struct db *db)
{
	return sqlite3_changes(db->handle);
}

sqlite3_stmt *
db_stmt_r(struct db *db, const char *sql, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		*error_r = db->error;
	return st;
}
