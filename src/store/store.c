/*
 * store: see store.h. This file opens the store and holds what the other
 * store_*.c files share (store_private.h), and the message operations of
 * a selected mailbox: listing, flags, expunge, copy and move.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <strings.h>

#include "store_private.h"

int
store_open(const char *path, unsigned flags, struct store **store_r,
    const char **error_r)
{
	struct store *s;
	struct db *db;
	unsigned dbflags = 0;

	*store_r = NULL;
	if ((flags & STORE_CREATE) && (flags & STORE_READONLY)) {
		*error_r = "a read-only store cannot create mail.db";
		return STORE_INVALID;
	}
	if (flags & STORE_READONLY)
		dbflags |= DB_READONLY;
	if (flags & STORE_CREATE)
		dbflags |= DB_CREATE | DB_MIGRATE;
	if (db_open(path, "mail", dbflags, &db, error_r) == -1)
		return STORE_ERR;
	s = xcalloc(1, sizeof(*s));
	s->db = db;
	s->readonly = (flags & STORE_READONLY) != 0;
	*store_r = s;
	return STORE_OK;
}

void
store_close(struct store **storep)
{
	struct store *s;

	if (storep == NULL || (s = *storep) == NULL)
		return;
	db_close(&s->db);
	free(s);
	*storep = NULL;
}

/* ---- shared helpers (store_private.h) ------------------------------ */

sqlite3_stmt *
store_stmt(struct store *s, const char *sql, const char **error_r)
{
	return db_stmt_r(s->db, sql, error_r);
}

int
store_fail(struct store *s, const char **error_r, int code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->db->error, sizeof(s->db->error), fmt, ap);
	va_end(ap);
	*error_r = s->db->error;
	return code;
}

int
store_writable(struct store *s, const char **error_r)
{
	if (s->readonly)
		return store_fail(s, error_r, STORE_ERR, "%s: the store is "
		    "open read-only", s->db->path);
	return STORE_OK;
}

int
store_finish(struct store *s, int rc, const char **error_r)
{
	if (rc == STORE_OK && db_commit(s->db, error_r) == -1)
		rc = STORE_ERR;
	if (rc != STORE_OK)
		db_rollback(s->db);
	return rc;
}

int
store_read_begin(struct store *s, const char **error_r)
{
	return db_exec(s->db, "BEGIN", error_r) == 0 ? STORE_OK : STORE_ERR;
}

void
store_read_end(struct store *s)
{
	db_rollback(s->db);
}

unsigned
store_col_flags(sqlite3_stmt *st, int col)
{
	unsigned flags = 0;

	for (int i = 0; i < 5; i++)
		if (db_col_int(st, col + i) != 0)
			flags |= 1u << i;
	return flags;
}

int
store_bind_flags(sqlite3_stmt *st, int idx, unsigned flags)
{
	for (int i = 0; i < 5; i++)
		if (db_bind_int(st, idx + i, (flags >> i) & 1) == -1)
			return -1;
	return 0;
}

void *
store_array_add(void *array, size_t *count, size_t *alloc, size_t size)
{
	if (*count == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 16;
		array = xreallocarray(array, *alloc, size);
	}
	(*count)++;
	return array;
}

static int
store_mbox_row(struct store *s, sqlite3_stmt *st, struct store_mbox *mb,
    const char **error_r)
{
	int rc = db_step_row(s->db, st, error_r);

	if (rc == -1)
		return STORE_ERR;
	if (rc == 0)
		return STORE_NOTFOUND;
	mb->id = db_col_int(st, 0);
	mb->owner = xstrdup(db_col_text(st, 1));
	mb->uidvalidity = (uint32_t)db_col_int(st, 2);
	mb->uidnext = (uint32_t)db_col_int(st, 3);
	mb->highestmodseq = (uint64_t)db_col_int(st, 4);
	sqlite3_reset(st);
	return STORE_OK;
}

int
store_mbox_load(struct store *s, int64_t id, struct store_mbox *mb,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT id, owner, uidvalidity, uidnext, highestmodseq"
	    " FROM mailboxes WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);

	memset(mb, 0, sizeof(*mb));
	if (st == NULL || db_bind_int(st, 1, id) == -1)
		return STORE_ERR;
	return store_mbox_row(s, st, mb, error_r);
}

int
store_mbox_find(struct store *s, const char *owner, const char *name,
    struct store_mbox *mb, const char **error_r)
{
	static const char sql[] =
	    "SELECT id, owner, uidvalidity, uidnext, highestmodseq"
	    " FROM mailboxes WHERE owner = ?1 AND name = ?2";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);

	memset(mb, 0, sizeof(*mb));
	if (st == NULL || db_bind_text(st, 1, owner) == -1 ||
	    db_bind_text(st, 2, name) == -1)
		return STORE_ERR;
	return store_mbox_row(s, st, mb, error_r);
}

void
store_mbox_clear(struct store_mbox *mb)
{
	free(mb->owner);
	memset(mb, 0, sizeof(*mb));
}

int
store_mbox_advance_locked(struct store *s, struct store_mbox *mb,
    uint32_t nuids, const char **error_r)
{
	static const char sql[] =
	    "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3"
	    " WHERE id = ?1";
	sqlite3_stmt *st;

	if ((uint64_t)mb->uidnext + nuids > UINT32_MAX)
		return store_fail(s, error_r, STORE_ERR, "mailbox %" PRId64
		    " has no UIDs left (UIDNEXT %" PRIu32 ")", mb->id,
		    mb->uidnext);
	if ((st = store_stmt(s, sql, error_r)) == NULL ||
	    db_bind_int(st, 1, mb->id) == -1 ||
	    db_bind_int(st, 2, (int64_t)mb->uidnext + nuids) == -1 ||
	    db_bind_int(st, 3, (int64_t)mb->highestmodseq + 1) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		return STORE_ERR;
	mb->uidnext += nuids;
	mb->highestmodseq++;
	return STORE_OK;
}

/* ---- listing ------------------------------------------------------- */

int
store_messages(struct store *s, int64_t mailbox_id, uint32_t after_uid,
    uint64_t changedsince, struct store_msg **msgs_r, size_t *count_r,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT uid, " STORE_FLAG_COLUMNS ", modseq FROM messages"
	    " WHERE mailbox_id = ?1 AND uid > ?2 AND modseq > ?3"
	    " ORDER BY uid";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	struct store_msg *msgs = NULL;
	size_t n = 0, alloc = 0;
	int rc;

	*msgs_r = NULL;
	*count_r = 0;
	if (st == NULL || db_bind_int(st, 1, mailbox_id) == -1 ||
	    db_bind_int(st, 2, after_uid) == -1 ||
	    db_bind_int(st, 3, (int64_t)changedsince) == -1)
		return STORE_ERR;
	while ((rc = db_step_row(s->db, st, error_r)) == 1) {
		msgs = store_array_add(msgs, &n, &alloc, sizeof(*msgs));
		msgs[n - 1].uid = (uint32_t)db_col_int(st, 0);
		msgs[n - 1].flags = store_col_flags(st, 1);
		msgs[n - 1].modseq = (uint64_t)db_col_int(st, 6);
	}
	if (rc == -1) {
		free(msgs);
		return STORE_ERR;
	}
	*msgs_r = msgs;
	*count_r = n;
	return STORE_OK;
}

int
store_vanished(struct store *s, int64_t mailbox_id, uint64_t since,
    uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	static const char sql[] =
	    "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2"
	    " ORDER BY uid";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	uint32_t *uids = NULL;
	size_t n = 0, alloc = 0;
	int rc;

	*uids_r = NULL;
	*count_r = 0;
	if (st == NULL || db_bind_int(st, 1, mailbox_id) == -1 ||
	    db_bind_int(st, 2, (int64_t)since) == -1)
		return STORE_ERR;
	while ((rc = db_step_row(s->db, st, error_r)) == 1) {
		uids = store_array_add(uids, &n, &alloc, sizeof(*uids));
		uids[n - 1] = (uint32_t)db_col_int(st, 0);
	}
	if (rc == -1) {
		free(uids);
		return STORE_ERR;
	}
	*uids_r = uids;
	*count_r = n;
	return STORE_OK;
}

/* ---- flags --------------------------------------------------------- */

static bool
keyword_in(const char *list, const char *word, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == len && strncasecmp(p, word, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

/* Append to out the words of from that are in neither skip nor out. */
static void
keywords_add(struct buf *out, const char *from, const char *skip)
{
	const char *p = from + strspn(from, " ");

	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (!keyword_in(skip, p, n) && !keyword_in(out->data, p, n)) {
			if (out->len > 0)
				buf_append_byte(out, ' ');
			buf_append(out, p, n);
		}
		p += n;
		p += strspn(p, " ");
	}
}

char *
store_keywords_apply(const char *cur, const char *kw,
    enum store_flags_mode mode)
{
	struct buf out = BUF_INIT;

	buf_append_str(&out, "");
	if (kw == NULL)
		kw = "";
	switch (mode) {
	case STORE_FLAGS_SET:
		keywords_add(&out, kw, "");
		break;
	case STORE_FLAGS_ADD:
		keywords_add(&out, cur, "");
		keywords_add(&out, kw, "");
		break;
	case STORE_FLAGS_REMOVE:
		keywords_add(&out, cur, kw);
		break;
	}
	return buf_steal(&out);
}

static unsigned
flags_apply(unsigned cur, unsigned flags, enum store_flags_mode mode)
{
	switch (mode) {
	case STORE_FLAGS_SET:
		return flags;
	case STORE_FLAGS_ADD:
		return cur | flags;
	case STORE_FLAGS_REMOVE:
		return cur & ~flags;
	}
	return cur;
}

/* One STORE in progress. */
struct flags_job {
	int64_t			 mailbox_id;
	enum store_flags_mode	 mode;
	unsigned		 flags;
	const char		*keywords;
	uint64_t		 unchangedsince;
	uint64_t		 modseq;	/* the new one */
	struct store_msg	*changed;
	size_t			 nchanged, changed_alloc;
	uint32_t		*failed;
	size_t			 nfailed, failed_alloc;
};

static int
flags_write(struct store *s, int64_t id, unsigned flags, const char *kw,
    uint64_t modseq, const char **error_r)
{
	static const char sql[] =
	    "UPDATE messages SET seen = ?2, answered = ?3, flagged = ?4,"
	    " deleted = ?5, draft = ?6, keywords = ?7, modseq = ?8"
	    " WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);

	if (st == NULL || db_bind_int(st, 1, id) == -1 ||
	    store_bind_flags(st, 2, flags) == -1 ||
	    db_bind_text(st, 7, kw) == -1 ||
	    db_bind_int(st, 8, (int64_t)modseq) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		return STORE_ERR;
	return STORE_OK;
}

static int
flags_one(struct store *s, struct flags_job *j, uint32_t uid,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT id, " STORE_FLAG_COLUMNS ", keywords, modseq"
	    " FROM messages WHERE mailbox_id = ?1 AND uid = ?2";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	unsigned cur, next;
	char *curkw, *kw;
	int64_t id;
	uint64_t modseq;
	int rc;

	if (st == NULL || db_bind_int(st, 1, j->mailbox_id) == -1 ||
	    db_bind_int(st, 2, uid) == -1)
		return STORE_ERR;
	if ((rc = db_step_row(s->db, st, error_r)) != 1)
		return rc == 0 ? STORE_OK : STORE_ERR;	/* gone: skip */
	id = db_col_int(st, 0);
	cur = store_col_flags(st, 1);
	curkw = xstrdup(db_col_text(st, 6));
	modseq = (uint64_t)db_col_int(st, 7);
	sqlite3_reset(st);
	if (j->unchangedsince > 0 && modseq > j->unchangedsince) {
		free(curkw);
		j->failed = store_array_add(j->failed, &j->nfailed,
		    &j->failed_alloc, sizeof(*j->failed));
		j->failed[j->nfailed - 1] = uid;
		return STORE_OK;
	}
	next = flags_apply(cur, j->flags, j->mode);
	kw = store_keywords_apply(curkw, j->keywords, j->mode);
	rc = STORE_OK;
	/* RFC 7162 3.1: no change, no new mod-sequence. */
	if (next != cur || strcmp(kw, curkw) != 0) {
		rc = flags_write(s, id, next, kw, j->modseq, error_r);
		j->changed = store_array_add(j->changed, &j->nchanged,
		    &j->changed_alloc, sizeof(*j->changed));
		j->changed[j->nchanged - 1] = (struct store_msg){ uid, next,
		    j->modseq };
	}
	free(curkw);
	free(kw);
	return rc;
}

static int
flags_run_locked(struct store *s, struct flags_job *j, const uint32_t *uids,
    size_t nuids, const char **error_r)
{
	struct store_mbox mb;
	int rc;

	if ((rc = store_mbox_load(s, j->mailbox_id, &mb, error_r)) !=
	    STORE_OK)
		return rc;
	j->modseq = mb.highestmodseq + 1;
	for (size_t i = 0; i < nuids && rc == STORE_OK; i++)
		rc = flags_one(s, j, uids[i], error_r);
	if (rc == STORE_OK && j->nchanged > 0)
		rc = store_mbox_advance_locked(s, &mb, 0, error_r);
	store_mbox_clear(&mb);
	return rc;
}

int
store_flags(struct store *s, int64_t mailbox_id, const uint32_t *uids,
    size_t nuids, enum store_flags_mode mode, unsigned flags,
    const char *keywords, uint64_t unchangedsince,
    struct store_msg **changed_r, size_t *nchanged_r,
    uint32_t **failed_r, size_t *nfailed_r, const char **error_r)
{
	struct flags_job j = { .mailbox_id = mailbox_id, .mode = mode,
	    .flags = flags, .keywords = keywords,
	    .unchangedsince = unchangedsince };
	int rc;

	*changed_r = NULL;
	*nchanged_r = 0;
	*failed_r = NULL;
	*nfailed_r = 0;
	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	if (db_begin(s->db, error_r) == -1)
		return STORE_ERR;
	rc = flags_run_locked(s, &j, uids, nuids, error_r);
	if ((rc = store_finish(s, rc, error_r)) != STORE_OK) {
		free(j.changed);
		free(j.failed);
		return rc;
	}
	*changed_r = j.changed;
	*nchanged_r = j.nchanged;
	*failed_r = j.failed;
	*nfailed_r = j.nfailed;
	return STORE_OK;
}

/* ---- expunge ------------------------------------------------------- */

/* A message chosen for expunge, copy or move. */
struct store_pick {
	int64_t		 id;
	uint32_t	 uid;
	uint64_t	 size;
};

struct store_picks {
	struct store_pick *v;
	size_t		 n, alloc;
};

/* Add the row st is on to picks (columns id, uid, size). */
static void
picks_add(struct store_picks *p, sqlite3_stmt *st)
{
	p->v = store_array_add(p->v, &p->n, &p->alloc, sizeof(*p->v));
	p->v[p->n - 1].id = db_col_int(st, 0);
	p->v[p->n - 1].uid = (uint32_t)db_col_int(st, 1);
	p->v[p->n - 1].size = (uint64_t)db_col_int(st, 2);
}

/*
 * The messages of mailbox_id among uids (NULL: all), only those with
 * \Deleted when deleted_only.
 */
static int
picks_load(struct store *s, int64_t mailbox_id, const uint32_t *uids,
    size_t nuids, bool deleted_only, struct store_picks *p,
    const char **error_r)
{
	static const char one[] =
	    "SELECT id, uid, size FROM messages"
	    " WHERE mailbox_id = ?1 AND uid = ?2 AND deleted >= ?3";
	static const char all[] =
	    "SELECT id, uid, size FROM messages"
	    " WHERE mailbox_id = ?1 AND deleted >= ?3 ORDER BY uid";
	sqlite3_stmt *st;
	int rc = 0;

	for (size_t i = 0; i < (uids ? nuids : 1) && rc != -1; i++) {
		if (uids && i > 0 && uids[i] == uids[i - 1])
			continue;
		if ((st = store_stmt(s, uids ? one : all, error_r)) == NULL ||
		    db_bind_int(st, 1, mailbox_id) == -1 ||
		    (uids && db_bind_int(st, 2, uids[i]) == -1) ||
		    db_bind_int(st, 3, deleted_only) == -1)
			return STORE_ERR;
		while ((rc = db_step_row(s->db, st, error_r)) == 1)
			picks_add(p, st);
	}
	return rc == -1 ? STORE_ERR : STORE_OK;
}

static int
expunged_record(struct store *s, int64_t mailbox_id, uint32_t uid,
    uint64_t modseq, const char **error_r)
{
	static const char sql[] =
	    "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq)"
	    " VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);

	if (st == NULL || db_bind_int(st, 1, mailbox_id) == -1 ||
	    db_bind_int(st, 2, uid) == -1 ||
	    db_bind_int(st, 3, (int64_t)modseq) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		return STORE_ERR;
	return STORE_OK;
}

/* Delete the picked messages (the triggers release their bodies). */
static int
expunge_picks_locked(struct store *s, struct store_mbox *mb,
    const struct store_picks *p, const char **error_r)
{
	static const char sql[] = "DELETE FROM messages WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if (p->n == 0)
		return STORE_OK;
	if ((rc = store_mbox_advance_locked(s, mb, 0, error_r)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < p->n; i++) {
		if ((st = store_stmt(s, sql, error_r)) == NULL ||
		    db_bind_int(st, 1, p->v[i].id) == -1 ||
		    db_step_done(s->db, st, error_r) != 0 ||
		    expunged_record(s, mb->id, p->v[i].uid, mb->highestmodseq,
		    error_r) != STORE_OK)
			return STORE_ERR;
	}
	return STORE_OK;
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
store_expunge(struct store *s, int64_t mailbox_id, const uint32_t *uids,
    size_t nuids, uint32_t **expunged_r, size_t *count_r,
    const char **error_r)
{
	struct store_picks p = { NULL, 0, 0 };
	struct store_mbox mb = { 0 };
	uint32_t *out;
	int rc;

	*expunged_r = NULL;
	*count_r = 0;
	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	if (db_begin(s->db, error_r) == -1)
		return STORE_ERR;
	rc = store_mbox_load(s, mailbox_id, &mb, error_r);
	if (rc == STORE_OK)
		rc = picks_load(s, mailbox_id, uids, nuids, true, &p, error_r);
	if (rc == STORE_OK)
		rc = expunge_picks_locked(s, &mb, &p, error_r);
	rc = store_finish(s, rc, error_r);
	store_mbox_clear(&mb);
	if (rc == STORE_OK && p.n > 0) {
		out = xreallocarray(NULL, p.n, sizeof(*out));
		for (size_t i = 0; i < p.n; i++)
			out[i] = p.v[i].uid;
		qsort(out, p.n, sizeof(*out), uid_cmp);
		*expunged_r = out;
		*count_r = p.n;
	}
	free(p.v);
	return rc;
}

/* ---- copy and move ------------------------------------------------- */

struct copy_job {
	struct store_mbox	 src, dst;
	bool			 move;
	uint64_t		 quota;
	struct store_picks	 picks;
	uint32_t		 first_uid;	/* of the destination */
};

static int
copy_quota(struct store *s, struct copy_job *j, const char **error_r)
{
	uint64_t usage, add = 0;
	int rc;

	if (j->quota == 0 || j->move)
		return STORE_OK;
	for (size_t i = 0; i < j->picks.n; i++)
		add += j->picks.v[i].size;
	if ((rc = store_user_usage(s, j->dst.owner, &usage, error_r)) !=
	    STORE_OK)
		return rc;
	return usage + add > j->quota ? STORE_OVERQUOTA : STORE_OK;
}

/* One picked message into the destination, as a new row or moved. */
static int
copy_one(struct store *s, struct copy_job *j, size_t i, const char **error_r)
{
	static const char copy_sql[] =
	    "INSERT INTO messages (mailbox_id, uid, body_id, internal_date,"
	    " size, " STORE_FLAG_COLUMNS ", keywords, modseq, prefix)"
	    " SELECT ?1, ?2, body_id, internal_date, size, "
	    STORE_FLAG_COLUMNS ", keywords, ?3, prefix"
	    " FROM messages WHERE id = ?4";
	static const char move_sql[] =
	    "UPDATE messages SET mailbox_id = ?1, uid = ?2, modseq = ?3"
	    " WHERE id = ?4";
	sqlite3_stmt *st = store_stmt(s, j->move ? move_sql : copy_sql,
	    error_r);

	if (st == NULL || db_bind_int(st, 1, j->dst.id) == -1 ||
	    db_bind_int(st, 2, (int64_t)j->first_uid + i) == -1 ||
	    db_bind_int(st, 3, (int64_t)j->dst.highestmodseq) == -1 ||
	    db_bind_int(st, 4, j->picks.v[i].id) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		return STORE_ERR;
	return STORE_OK;
}

static int
copy_run_locked(struct store *s, struct copy_job *j, int64_t src_id,
    int64_t dst_id, const uint32_t *uids, size_t nuids, const char **error_r)
{
	int rc;

	if ((rc = store_mbox_load(s, src_id, &j->src, error_r)) != STORE_OK ||
	    (rc = store_mbox_load(s, dst_id, &j->dst, error_r)) != STORE_OK)
		return rc;
	if (strcmp(j->src.owner, j->dst.owner) != 0)
		return store_fail(s, error_r, STORE_INVALID, "mailboxes %"
		    PRId64 " and %" PRId64 " have different owners", src_id,
		    dst_id);
	if ((rc = picks_load(s, src_id, uids, nuids, false, &j->picks,
	    error_r)) != STORE_OK || j->picks.n == 0 ||
	    (rc = copy_quota(s, j, error_r)) != STORE_OK)
		return rc;
	j->first_uid = j->dst.uidnext;
	if ((rc = store_mbox_advance_locked(s, &j->dst, (uint32_t)j->picks.n,
	    error_r)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < j->picks.n && rc == STORE_OK; i++)
		rc = copy_one(s, j, i, error_r);
	if (rc != STORE_OK || !j->move)
		return rc;
	/* The source's state may have moved on when it is the destination. */
	store_mbox_clear(&j->src);
	if ((rc = store_mbox_load(s, src_id, &j->src, error_r)) != STORE_OK ||
	    (rc = store_mbox_advance_locked(s, &j->src, 0, error_r)) !=
	    STORE_OK)
		return rc;
	for (size_t i = 0; i < j->picks.n && rc == STORE_OK; i++)
		rc = expunged_record(s, src_id, j->picks.v[i].uid,
		    j->src.highestmodseq, error_r);
	return rc;
}

int
store_copy(struct store *s, int64_t mailbox_id, int64_t dest_id,
    const uint32_t *uids, size_t nuids, bool move, uint64_t quota,
    uint32_t *uidvalidity_r, uint32_t **src_uids_r,
    uint32_t **dest_uids_r, size_t *count_r, const char **error_r)
{
	struct copy_job j = { .move = move, .quota = quota };
	uint32_t *src, *dst;
	int rc;

	*uidvalidity_r = 0;
	*src_uids_r = *dest_uids_r = NULL;
	*count_r = 0;
	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	if (db_begin(s->db, error_r) == -1)
		return STORE_ERR;
	rc = copy_run_locked(s, &j, mailbox_id, dest_id, uids, nuids,
	    error_r);
	rc = store_finish(s, rc, error_r);
	if (rc == STORE_OK) {
		*uidvalidity_r = j.dst.uidvalidity;
		if (j.picks.n > 0) {
			src = xreallocarray(NULL, j.picks.n, sizeof(*src));
			dst = xreallocarray(NULL, j.picks.n, sizeof(*dst));
			for (size_t i = 0; i < j.picks.n; i++) {
				src[i] = j.picks.v[i].uid;
				dst[i] = j.first_uid + (uint32_t)i;
			}
			*src_uids_r = src;
			*dest_uids_r = dst;
			*count_r = j.picks.n;
		}
	}
	store_mbox_clear(&j.src);
	store_mbox_clear(&j.dst);
	free(j.picks.v);
	return rc;
}
