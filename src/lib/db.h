/*
 * db: the one way Sluice opens SQLite databases.
 *
 * Every database is opened in WAL mode with synchronous=FULL (a commit is
 * on disk when it returns: the durability contract in DESIGN.md), foreign
 * keys on and a busy timeout, so sqlite3 shell readers never block the
 * daemons. Schemas are numbered migrations compiled in from sql/ and
 * tracked by PRAGMA user_version; db_open() refuses a database whose
 * schema is newer than this build knows, and (unless asked to migrate) one
 * that is older, each with a message saying what to do.
 *
 * Only files named src/lib/db*.c and src/store/ may call sqlite3_*; callers
 * elsewhere see typed functions (db_directory.h and its siblings).
 */
#ifndef SLUICE_DB_H
#define SLUICE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sqlite3;
struct sqlite3_stmt;

struct db_migration {
	const char	*db;		/* "directory", "queue", "mail" */
	int		 version;	/* 1, 2, ...: becomes user_version */
	const char	*file;		/* source file name, for messages */
	const char	*sql;
};

/* Generated from sql/ by build-aux/embed-sql.sh; ends with db == NULL. */
extern const struct db_migration db_migrations[];

enum db_open_flags {
	DB_CREATE	= 1 << 0,	/* create the file if missing */
	DB_MIGRATE	= 1 << 1,	/* apply pending migrations */
	DB_READONLY	= 1 << 2,
	DB_NOCHECK	= 1 << 3,	/* skip the schema check: for
					   tools that migrate and report */
};

struct db {
	struct sqlite3	*handle;
	char		*path;
	char		*name;		/* schema name: "directory", ... */
	struct db_stmt	*stmts;		/* prepared statement cache */
	int		 busy_ms;	/* how long a writer waits for a lock */
	struct timespec	 busy_since;
	char		 error[512];
};

/* The busy timeout every connection gets, in milliseconds. */
#define DB_BUSY_TIMEOUT_MS	5000

/*
 * Open the database `name` ("directory", "queue" or "mail") at path.
 * Without DB_MIGRATE the schema must be exactly the latest this build
 * knows. On failure returns -1 with a message in *error_r (valid until the
 * next db_open() in this thread).
 */
int	 db_open(const char *path, const char *name, unsigned flags,
	    struct db **db_r, const char **error_r);
void	 db_close(struct db **dbp);

/* Latest schema version compiled in for name, 0 when name is unknown. */
int	 db_schema_latest(const char *name);
int	 db_schema_version(struct db *db);
/* Apply pending migrations, each in its own transaction. */
int	 db_migrate(struct db *db, int *from_r, int *to_r, const char **error_r);

/*
 * A cached prepared statement for a constant SQL text: the first call
 * prepares it, later calls reset it and clear its bindings. Returns NULL
 * (message in db->error) only when the SQL does not compile.
 */
struct sqlite3_stmt *db_stmt(struct db *db, const char *sql);

/* db_stmt() that points *error_r at the message when it fails. */
struct sqlite3_stmt *db_stmt_r(struct db *db, const char *sql,
	    const char **error_r);

/* How long to wait for another connection's lock (default
 * DB_BUSY_TIMEOUT_MS), retrying at sub-millisecond intervals. */
void	 db_set_busy_timeout(struct db *db, int ms);

int	 db_exec(struct db *db, const char *sql, const char **error_r);
/* BEGIN IMMEDIATE, so a writer learns of contention at the start. */
int	 db_begin(struct db *db, const char **error_r);
int	 db_commit(struct db *db, const char **error_r);
void	 db_rollback(struct db *db);

/* Bind helpers: a NULL string binds SQL NULL. Return 0 or -1. */
int	 db_bind_text(struct sqlite3_stmt *st, int idx, const char *s);
int	 db_bind_int(struct sqlite3_stmt *st, int idx, int64_t v);
int	 db_bind_blob(struct sqlite3_stmt *st, int idx, const void *p, size_t n);

/*
 * Step a statement that returns no rows (or whose rows are ignored).
 * Returns 0, or -1 with a message in *error_r; a constraint violation
 * returns -2 so callers can report "already exists" precisely.
 */
int	 db_step_done(struct db *db, struct sqlite3_stmt *st,
	    const char **error_r);
/* Step once: 1 when a row is ready, 0 at the end, -1 on error. */
int	 db_step_row(struct db *db, struct sqlite3_stmt *st,
	    const char **error_r);

/* Column access that never returns NULL for text (empty string instead). */
const char *db_col_text(struct sqlite3_stmt *st, int col);
int64_t	 db_col_int(struct sqlite3_stmt *st, int col);
bool	 db_col_is_null(struct sqlite3_stmt *st, int col);

/* Rows changed by the last statement on this connection. */
int	 db_changes(struct db *db);

#endif
