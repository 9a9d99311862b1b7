/* db_queue: see db_queue.h. All SQL for queue.db lives here. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <strings.h>

#include "db_queue.h"
#include "util.h"

/* Piece of a body copied into the blob at a time. */
#define QUEUE_BLOB_CHUNK	(64 * 1024)
/* Room for the other columns of a bodies row, within SQLite's limit. */
#define QUEUE_ROW_SLACK		1024

static const struct {
	const char	*name;
	unsigned	 bit;
} notify_names[] = {
	{ "NEVER", QUEUE_NOTIFY_NEVER },
	{ "SUCCESS", QUEUE_NOTIFY_SUCCESS },
	{ "FAILURE", QUEUE_NOTIFY_FAILURE },
	{ "DELAY", QUEUE_NOTIFY_DELAY },
};

#define QUEUE_NOTIFY_ALL	(QUEUE_NOTIFY_NEVER | QUEUE_NOTIFY_SUCCESS | \
				 QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY)

struct queue_msg *
queue_msg_new(void)
{
	struct queue_msg *m = xcalloc(1, sizeof(*m));

	buf_init(&m->prefix, 0);
	return m;
}

void
queue_msg_add_rcpt(struct queue_msg *m, const char *address, unsigned notify,
    const char *orcpt, const char *route)
{
	struct queue_rcpt *r;

	if (m->nrcpts == m->rcpts_alloc) {
		m->rcpts_alloc = m->rcpts_alloc ? m->rcpts_alloc * 2 : 4;
		m->rcpts = xreallocarray(m->rcpts, m->rcpts_alloc,
		    sizeof(*m->rcpts));
	}
	r = &m->rcpts[m->nrcpts++];
	r->address = xstrdup(address);
	r->notify = notify;
	r->orcpt = orcpt ? xstrdup(orcpt) : NULL;
	r->route = route ? xstrdup(route) : NULL;
}

uint64_t
queue_msg_size(const struct queue_msg *m)
{
	return m->prefix.len + (m->body ? msgbody_size(m->body) : 0);
}

void
queue_msg_free(struct queue_msg **mp)
{
	struct queue_msg *m;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	for (size_t i = 0; i < m->nrcpts; i++) {
		free(m->rcpts[i].address);
		free(m->rcpts[i].orcpt);
		free(m->rcpts[i].route);
	}
	free(m->rcpts);
	free(m->sender);
	free(m->listener);
	free(m->client_addr);
	free(m->client_name);
	free(m->helo);
	free(m->auth_user);
	free(m->tls_version);
	free(m->tls_cipher);
	free(m->dsn_envid);
	buf_release(&m->prefix);
	msgbody_destroy(&m->body);
	free(m);
	*mp = NULL;
}

int
queue_notify_format(unsigned notify, char *out, size_t size)
{
	size_t len = 0, n;

	if (notify == 0 || (notify & ~QUEUE_NOTIFY_ALL) != 0 ||
	    ((notify & QUEUE_NOTIFY_NEVER) && notify != QUEUE_NOTIFY_NEVER))
		return -1;
	if (size > 0)
		out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(notify_names); i++) {
		if (!(notify & notify_names[i].bit))
			continue;
		n = strlen(notify_names[i].name) + (len > 0);
		if (len + n >= size)
			return -1;
		if (len > 0)
			out[len++] = ',';
		str_copy(out + len, notify_names[i].name, size - len);
		len = strlen(out);
	}
	return 0;
}

static unsigned
queue_notify_word(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(notify_names); i++)
		if (strlen(notify_names[i].name) == len &&
		    strncasecmp(notify_names[i].name, s, len) == 0)
			return notify_names[i].bit;
	return 0;
}

int
queue_notify_parse(const char *s, size_t len, unsigned *notify_r,
    const char **error_r)
{
	unsigned bits = 0, bit;
	size_t start = 0, end;

	*notify_r = 0;
	if (len == 0) {
		*error_r = "empty NOTIFY";
		return -1;
	}
	while (start <= len) {
		for (end = start; end < len && s[end] != ','; end++)
			;
		if ((bit = queue_notify_word(s + start, end - start)) == 0) {
			*error_r = "NOTIFY is NEVER or a list of SUCCESS, "
			    "FAILURE, DELAY";
			return -1;
		}
		bits |= bit;
		start = end + 1;
	}
	if ((bits & QUEUE_NOTIFY_NEVER) && bits != QUEUE_NOTIFY_NEVER) {
		*error_r = "NOTIFY=NEVER cannot be combined with others";
		return -1;
	}
	*notify_r = bits;
	return 0;
}

static int
queue_fail(struct db *db, const char **error_r, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static int
queue_fail(struct db *db, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->error, sizeof(db->error), fmt, ap);
	va_end(ap);
	*error_r = db->error;
	return QUEUE_ERR;
}

static bool
queue_one_of(const char *s, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(s, *allowed) == 0)
			return true;
	return false;
}

/*
 * SQLite limits a whole row, not just the blob: leave room for the rest
 * of the bodies row so the check here is the one that speaks.
 */
static uint64_t
queue_body_limit(struct db *db)
{
	int limit = sqlite3_limit(db->handle, SQLITE_LIMIT_LENGTH, -1);

	return limit > QUEUE_ROW_SLACK ? (uint64_t)(limit - QUEUE_ROW_SLACK) : 0;
}

/* Mistakes of the caller, caught before anything is written. */
static int
queue_msg_check(struct db *db, const struct queue_msg *m,
    const char **error_r)
{
	static const char *const kinds[] = { "mail", "bounce", "delay",
	    "success", NULL };
	static const char *const types[] = { "7BIT", "8BITMIME", "BINARYMIME",
	    NULL };
	static const char *const rets[] = { "FULL", "HDRS", NULL };
	char notify[QUEUE_NOTIFY_TEXT_MAX];
	uint64_t limit = queue_body_limit(db);

	if (!qid_valid(m->id, strlen(m->id)))
		return queue_fail(db, error_r, "invalid queue id");
	if (m->sender == NULL || m->listener == NULL || m->nrcpts == 0)
		return queue_fail(db, error_r, "%s: sender, listener and "
		    "recipients are required", m->id);
	if ((m->kind && !queue_one_of(m->kind, kinds)) ||
	    (m->body_type && !queue_one_of(m->body_type, types)) ||
	    (m->dsn_ret && !queue_one_of(m->dsn_ret, rets)))
		return queue_fail(db, error_r, "%s: invalid kind, body type "
		    "or RET", m->id);
	for (size_t i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].address == NULL || (m->rcpts[i].notify != 0 &&
		    queue_notify_format(m->rcpts[i].notify, notify,
		    sizeof(notify)) == -1))
			return queue_fail(db, error_r, "%s: recipient %zu: "
			    "no address or invalid NOTIFY", m->id, i);
	if (queue_msg_size(m) > limit)
		return queue_fail(db, error_r, "%s: message of %" PRIu64
		    " octets is larger than the queue's limit of %" PRIu64,
		    m->id, queue_msg_size(m), limit);
	return QUEUE_OK;
}

static int
queue_insert_message(struct db *db, const struct queue_msg *m,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO messages (id, arrived, sender, size, kind, listener,"
	    " client_addr, client_name, helo, auth_user, tls_version,"
	    " tls_cipher, body_type, smtputf8, dsn_ret, dsn_envid)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	    " ?13, ?14, ?15, ?16)";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	int rc;

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, m->id);
	db_bind_int(st, 2, m->arrived);
	db_bind_text(st, 3, m->sender);
	db_bind_int(st, 4, (int64_t)queue_msg_size(m));
	db_bind_text(st, 5, m->kind ? m->kind : "mail");
	db_bind_text(st, 6, m->listener);
	db_bind_text(st, 7, m->client_addr);
	db_bind_text(st, 8, m->client_name);
	db_bind_text(st, 9, m->helo);
	db_bind_text(st, 10, m->auth_user);
	db_bind_text(st, 11, m->tls_version);
	db_bind_text(st, 12, m->tls_cipher);
	db_bind_text(st, 13, m->body_type ? m->body_type : "7BIT");
	db_bind_int(st, 14, m->smtputf8);
	db_bind_text(st, 15, m->dsn_ret);
	db_bind_text(st, 16, m->dsn_envid);
	rc = db_step_done(db, st, error_r);
	if (rc == -2 && sqlite3_extended_errcode(db->handle) ==
	    SQLITE_CONSTRAINT_PRIMARYKEY) {
		queue_fail(db, error_r, "queue id %s already exists", m->id);
		return QUEUE_EXISTS;
	}
	return rc == 0 ? QUEUE_OK : QUEUE_ERR;
}

/* Copy the body into the blob piece by piece, after the prefix. */
static int
queue_blob_fill(struct db *db, sqlite3_blob *blob, const struct queue_msg *m,
    const char **error_r)
{
	uint64_t off = 0, size = m->body ? msgbody_size(m->body) : 0;
	int base = (int)m->prefix.len, rc = SQLITE_OK;
	char *chunk;
	ssize_t n = 0;
	int err = 0;

	if (base > 0 && (rc = sqlite3_blob_write(blob, m->prefix.data, base,
	    0)) != SQLITE_OK)
		return queue_fail(db, error_r, "%s: writing body: %s", m->id,
		    sqlite3_errstr(rc));
	if (size == 0)
		return QUEUE_OK;
	chunk = xmalloc(QUEUE_BLOB_CHUNK);
	while (off < size) {
		n = msgbody_read(m->body, off, chunk, QUEUE_BLOB_CHUNK);
		if (n <= 0) {
			err = errno;
			break;
		}
		rc = sqlite3_blob_write(blob, chunk, (int)n, base + (int)off);
		if (rc != SQLITE_OK)
			break;
		off += (uint64_t)n;
	}
	free(chunk);
	if (rc != SQLITE_OK)
		return queue_fail(db, error_r, "%s: writing body: %s", m->id,
		    sqlite3_errstr(rc));
	if (off < size)
		return queue_fail(db, error_r, "%s: reading body: %s", m->id,
		    n == 0 ? "shorter than its size" : strerror(err));
	return QUEUE_OK;
}

/*
 * A blob of the final size filled in place: the body goes from its
 * temporary file to the database 64 KiB at a time, never whole in memory.
 */
static int
queue_insert_body(struct db *db, const struct queue_msg *m,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO bodies (message_id, data) VALUES (?1, zeroblob(?2))";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	sqlite3_blob *blob;
	int rc;

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, m->id);
	db_bind_int(st, 2, (int64_t)queue_msg_size(m));
	if (db_step_done(db, st, error_r) != 0)
		return QUEUE_ERR;
	if (queue_msg_size(m) == 0)
		return QUEUE_OK;
	rc = sqlite3_blob_open(db->handle, "main", "bodies", "data",
	    sqlite3_last_insert_rowid(db->handle), 1, &blob);
	if (rc != SQLITE_OK)
		return queue_fail(db, error_r, "%s: opening body: %s", m->id,
		    sqlite3_errmsg(db->handle));
	rc = queue_blob_fill(db, blob, m, error_r);
	if (sqlite3_blob_close(blob) != SQLITE_OK && rc == QUEUE_OK)
		rc = queue_fail(db, error_r, "%s: closing body: %s", m->id,
		    sqlite3_errmsg(db->handle));
	return rc;
}

static int
queue_insert_rcpts(struct db *db, const struct queue_msg *m,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO recipients (message_id, address, orcpt, notify,"
	    " route, next_attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	char notify[QUEUE_NOTIFY_TEXT_MAX];
	sqlite3_stmt *st;

	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct queue_rcpt *r = &m->rcpts[i];

		if ((st = db_stmt_r(db, sql, error_r)) == NULL)
			return QUEUE_ERR;
		db_bind_text(st, 1, m->id);
		db_bind_text(st, 2, r->address);
		db_bind_text(st, 3, r->orcpt);
		if (r->notify != 0 &&
		    queue_notify_format(r->notify, notify, sizeof(notify)) == 0)
			db_bind_text(st, 4, notify);
		db_bind_text(st, 5, r->route);
		db_bind_int(st, 6, m->arrived);
		if (db_step_done(db, st, error_r) != 0)
			return QUEUE_ERR;
	}
	return QUEUE_OK;
}

/* Run one of the savepoint statements; 0 or -1 (message in *error_r). */
static int
queue_savepoint(struct db *db, const char *sql, const char **error_r)
{
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	return st != NULL && db_step_done(db, st, error_r) == 0 ? 0 : -1;
}

/*
 * Undo a failed insert without touching db->error (it holds the reason).
 * SQLite may already have rolled back the whole transaction by itself.
 */
static void
queue_insert_undo(struct db *db, bool outermost)
{
	static const char rollback_to[] = "ROLLBACK TO queue_insert";
	static const char release[] = "RELEASE queue_insert";
	sqlite3_stmt *st;

	if (!db_queue_in_transaction(db))
		return;
	if (outermost) {
		db_rollback(db);
		return;
	}
	if ((st = db_stmt(db, rollback_to)) != NULL) {
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	if ((st = db_stmt(db, release)) != NULL) {
		sqlite3_step(st);
		sqlite3_reset(st);
	}
}

int
db_queue_insert(struct db *db, const struct queue_msg *m,
    const char **error_r)
{
	static const char savepoint[] = "SAVEPOINT queue_insert";
	static const char release[] = "RELEASE queue_insert";
	bool outermost = !db_queue_in_transaction(db);
	int rc;

	if ((rc = queue_msg_check(db, m, error_r)) != QUEUE_OK)
		return rc;
	if (queue_savepoint(db, savepoint, error_r) == -1)
		return QUEUE_ERR;
	rc = queue_insert_message(db, m, error_r);
	if (rc == QUEUE_OK)
		rc = queue_insert_body(db, m, error_r);
	if (rc == QUEUE_OK)
		rc = queue_insert_rcpts(db, m, error_r);
	/* The outermost RELEASE is the commit, and it can fail too. */
	if (rc == QUEUE_OK && queue_savepoint(db, release, error_r) == -1)
		rc = QUEUE_ERR;
	if (rc != QUEUE_OK)
		queue_insert_undo(db, outermost);
	return rc;
}

int
db_queue_message_count(struct db *db, int64_t *count_r, const char **error_r)
{
	static const char sql[] = "SELECT count(*) FROM messages";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);

	*count_r = 0;
	if (st == NULL || db_step_row(db, st, error_r) != 1)
		return QUEUE_ERR;
	*count_r = db_col_int(st, 0);
	sqlite3_reset(st);
	return QUEUE_OK;
}

int
db_queue_body_read(struct db *db, const char *id, struct buf *out,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT data FROM bodies WHERE message_id = ?1";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	const void *data;
	int rc;

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, id);
	if ((rc = db_step_row(db, st, error_r)) != 1)
		return rc == 0 ? QUEUE_NOTFOUND : QUEUE_ERR;
	/* _blob before _bytes: the order SQLite documents. */
	data = sqlite3_column_blob(st, 0);
	rc = buf_append(out, data, (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_reset(st);
	if (rc == -1)
		return queue_fail(db, error_r, "%s: body larger than the "
		    "buffer's maximum", id);
	return QUEUE_OK;
}

int
db_queue_body_locate(struct db *db, const char *id, int64_t *row_r,
    uint64_t *size_r, const char **error_r)
{
	static const char sql[] =
	    "SELECT rowid, length(data) FROM bodies WHERE message_id = ?1";
	sqlite3_stmt *st = db_stmt_r(db, sql, error_r);
	int rc;

	if (st == NULL)
		return QUEUE_ERR;
	db_bind_text(st, 1, id);
	if ((rc = db_step_row(db, st, error_r)) != 1)
		return rc == 0 ? QUEUE_NOTFOUND : QUEUE_ERR;
	*row_r = sqlite3_column_int64(st, 0);
	*size_r = (uint64_t)sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return QUEUE_OK;
}

/* Is row still id's body? (A deleted message's row number may be
 * taken by the next message stored.) Runs in the blob's snapshot. */
static bool
body_row_is(struct db *db, int64_t row, const char *id)
{
	static const char sql[] =
	    "SELECT message_id = ?2 FROM bodies WHERE rowid = ?1";
	const char *e;
	sqlite3_stmt *st = db_stmt_r(db, sql, &e);
	bool same;

	if (st == NULL)
		return false;
	db_bind_int(st, 1, row);
	db_bind_text(st, 2, id);
	same = db_step_row(db, st, &e) == 1 && sqlite3_column_int(st, 0) == 1;
	sqlite3_reset(st);
	return same;
}

int
db_queue_body_read_at(struct db *db, const char *id, int64_t row,
    uint64_t offset, void *out, size_t len, const char **error_r)
{
	sqlite3_blob *blob = NULL;
	int rc;

	if (len > INT_MAX || offset > (uint64_t)(INT_MAX - len))
		return queue_fail(db, error_r, "body piece out of range");
	rc = sqlite3_blob_open(db->handle, "main", "bodies", "data", row, 0,
	    &blob);
	if (rc == SQLITE_OK && !body_row_is(db, row, id)) {
		sqlite3_blob_close(blob);
		return queue_fail(db, error_r, "%s: message deleted", id);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_blob_read(blob, out, (int)len, (int)offset);
	if (rc != SQLITE_OK)
		(void)queue_fail(db, error_r, "reading body %" PRId64 ": %s",
		    row, sqlite3_errmsg(db->handle));
	sqlite3_blob_close(blob);
	return rc == SQLITE_OK ? QUEUE_OK : QUEUE_ERR;
}

bool
db_queue_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db->handle);
}

