/* store_deliver: messages entering the store (local delivery, APPEND):
 * the body written once with its msginfo, parts and full-text rows. */
#include <ctype.h>
#include <inttypes.h>
#include <sqlite3.h>

#include "msginfo.h"
#include "store_private.h"

/* Room for the other columns of a bodies row, within SQLite's limit. */
#define STORE_ROW_SLACK		1024

/*
 * The first address in a decoded address list, lower-cased, "" when none:
 * the word around the first "@" (msginfo has no cc_addr of its own).
 */
static char *
first_addr(const char *list)
{
	static const char stop[] = " \t,<>\"()";
	const char *at, *start, *end;
	char *addr;

	if (list == NULL || (at = strchr(list, '@')) == NULL)
		return xstrdup("");
	for (start = at; start > list && strchr(stop, start[-1]) == NULL;
	    start--)
		;
	end = at + strcspn(at, stop);
	addr = xstrndup(start, (size_t)(end - start));
	for (char *q = addr; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	return addr;
}

static int
body_blob_write(struct store *s, int64_t id, const char *msg, size_t len,
    const char **error_r)
{
	sqlite3_blob *blob;
	int rc;

	if (len == 0)
		return STORE_OK;
	rc = sqlite3_blob_open(s->db->handle, "main", "bodies", "data", id, 1,
	    &blob);
	if (rc == SQLITE_OK)
		rc = sqlite3_blob_write(blob, msg, (int)len, 0);
	if (rc != SQLITE_OK)
		store_fail(s, error_r, STORE_ERR, "writing body %" PRId64
		    ": %s", id, sqlite3_errmsg(s->db->handle));
	if (sqlite3_blob_close(blob) != SQLITE_OK && rc == SQLITE_OK)
		rc = store_fail(s, error_r, STORE_ERR, "closing body %" PRId64
		    ": %s", id, sqlite3_errmsg(s->db->handle));
	return rc == SQLITE_OK ? STORE_OK : STORE_ERR;
}

static int
body_info_insert(struct store *s, int64_t id, const struct msginfo *mi,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO body_info (body_id, envelope, body, bodystructure,"
	    " subject, sort_subject, from_list, to_list, cc_list, bcc_list,"
	    " message_id, in_reply_to, reference_ids, sent_date, from_addr,"
	    " to_addr, cc_addr, has_attachment) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";
	const char *text[] = { mi->envelope, mi->body, mi->bodystructure,
	    mi->subject, mi->sort_subject ? mi->sort_subject : "", mi->from,
	    mi->to, mi->cc, mi->bcc, mi->message_id, mi->in_reply_to,
	    mi->references };
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	char *cc_addr = first_addr(mi->cc);
	int rc = STORE_ERR;

	if (st == NULL || db_bind_int(st, 1, id) == -1)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(text); i++)
		if (db_bind_text(st, 2 + (int)i, i < 3 && text[i] == NULL ?
		    "NIL" : text[i]) == -1)
			goto out;
	if (db_bind_int(st, 14, mi->date) == -1 ||
	    db_bind_text(st, 15, mi->from_addr ? mi->from_addr : "") == -1 ||
	    db_bind_text(st, 16, mi->to_addr ? mi->to_addr : "") == -1 ||
	    db_bind_text(st, 17, cc_addr) == -1 ||
	    db_bind_int(st, 18, mi->has_attachment != 0) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		goto out;
	rc = STORE_OK;
out:
	free(cc_addr);
	return rc;
}

static int
body_parts_insert(struct store *s, int64_t id, const struct msginfo *mi,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO parts (body_id, seq, section, type, subtype,"
	    " hdr_off, hdr_len, body_off, body_len, is_message, msg_hdr_off,"
	    " msg_hdr_len) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	    " ?11, ?12)";
	sqlite3_stmt *st;

	for (size_t i = 0; i < mi->nparts; i++) {
		const struct msginfo_part *p = &mi->parts[i];

		if ((st = store_stmt(s, sql, error_r)) == NULL ||
		    db_bind_int(st, 1, id) == -1 ||
		    db_bind_int(st, 2, (int64_t)i) == -1 ||
		    db_bind_text(st, 3, p->section) == -1 ||
		    db_bind_text(st, 4, p->type ? p->type : "text") == -1 ||
		    db_bind_text(st, 5, p->subtype ? p->subtype : "plain") ==
		    -1 ||
		    db_bind_int(st, 6, (int64_t)p->hdr_off) == -1 ||
		    db_bind_int(st, 7, (int64_t)p->hdr_len) == -1 ||
		    db_bind_int(st, 8, (int64_t)p->body_off) == -1 ||
		    db_bind_int(st, 9, (int64_t)p->body_len) == -1 ||
		    db_bind_int(st, 10, p->is_message != 0) == -1 ||
		    db_bind_int(st, 11, (int64_t)p->msg_hdr_off) == -1 ||
		    db_bind_int(st, 12, (int64_t)p->msg_hdr_len) == -1 ||
		    db_step_done(s->db, st, error_r) != 0)
			return STORE_ERR;
	}
	return STORE_OK;
}

static int
body_fts_insert(struct store *s, int64_t id, const struct msginfo *mi,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO body_fts (rowid, headers_text, body_text)"
	    " VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);

	if (st == NULL || db_bind_int(st, 1, id) == -1 ||
	    db_bind_text(st, 2, mi->headers_text ? mi->headers_text : "") ==
	    -1 ||
	    db_bind_text(st, 3, mi->body_text ? mi->body_text : "") == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		return STORE_ERR;
	return STORE_OK;
}

/*
 * A new bodies row (refs 0: the messages rows inserted next count
 * themselves) with everything IMAP will ask about it.
 */
static int
body_insert_locked(struct store *s, const char *msg, size_t len,
    const struct msginfo *mi, int64_t *id_r, const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO bodies (size, refs, data) VALUES (?1, 0, ?2)";
	int limit = sqlite3_limit(s->db->handle, SQLITE_LIMIT_LENGTH, -1);
	sqlite3_stmt *st;
	int64_t id;

	if (limit <= STORE_ROW_SLACK || len > (size_t)(limit -
	    STORE_ROW_SLACK))
		return store_fail(s, error_r, STORE_ERR, "message of %zu "
		    "octets is larger than the store's limit", len);
	if ((st = store_stmt(s, sql, error_r)) == NULL ||
	    db_bind_int(st, 1, (int64_t)len) == -1 ||
	    sqlite3_bind_zeroblob64(st, 2, len) != SQLITE_OK ||
	    db_step_done(s->db, st, error_r) != 0)
		return STORE_ERR;
	id = sqlite3_last_insert_rowid(s->db->handle);
	if (body_blob_write(s, id, msg, len, error_r) != STORE_OK ||
	    body_info_insert(s, id, mi, error_r) != STORE_OK ||
	    body_parts_insert(s, id, mi, error_r) != STORE_OK ||
	    body_fts_insert(s, id, mi, error_r) != STORE_OK)
		return STORE_ERR;
	*id_r = id;
	return STORE_OK;
}

/* A new message of mailbox mb: the next UID, a new HIGHESTMODSEQ. */
struct msg_new {
	int64_t		 body_id;
	int64_t		 internal_date;
	uint64_t	 size;		/* prefix included */
	unsigned	 flags;
	const char	*keywords;
	const char	*prefix;
};

static int
message_insert_locked(struct store *s, struct store_mbox *mb,
    const struct msg_new *m, uint32_t *uid_r, int64_t *id_r,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO messages (mailbox_id, uid, body_id, internal_date,"
	    " size, " STORE_FLAG_COLUMNS ", keywords, modseq, prefix)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	sqlite3_stmt *st;
	uint32_t uid = mb->uidnext;
	int rc;

	if ((rc = store_mbox_advance_locked(s, mb, 1, error_r)) != STORE_OK)
		return rc;
	if ((st = store_stmt(s, sql, error_r)) == NULL ||
	    db_bind_int(st, 1, mb->id) == -1 ||
	    db_bind_int(st, 2, uid) == -1 ||
	    db_bind_int(st, 3, m->body_id) == -1 ||
	    db_bind_int(st, 4, m->internal_date) == -1 ||
	    db_bind_int(st, 5, (int64_t)m->size) == -1 ||
	    store_bind_flags(st, 6, m->flags) == -1 ||
	    db_bind_text(st, 11, m->keywords ? m->keywords : "") == -1 ||
	    db_bind_int(st, 12, (int64_t)mb->highestmodseq) == -1 ||
	    db_bind_text(st, 13, m->prefix ? m->prefix : "") == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		return STORE_ERR;
	*uid_r = uid;
	if (id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(s->db->handle);
	return STORE_OK;
}

static int
quota_check(struct store *s, const char *owner, uint64_t quota,
    uint64_t size, const char **error_r)
{
	uint64_t usage;
	int rc;

	if (quota == 0)
		return STORE_OK;
	if ((rc = store_user_usage(s, owner, &usage, error_r)) != STORE_OK)
		return rc;
	return usage + size > quota ? STORE_OVERQUOTA : STORE_OK;
}

/* ---- delivery ------------------------------------------------------ */

int
store_deliveries_prune(struct store *s, int64_t before, size_t limit,
    size_t *count_r, const char **error_r)
{
	static const char sql[] =
	    "DELETE FROM deliveries WHERE rowid IN (SELECT rowid FROM "
	    "deliveries WHERE delivered < ?1 LIMIT ?2)";
	sqlite3_stmt *st;

	*count_r = 0;
	if (store_writable(s, error_r) != STORE_OK ||
	    (st = store_stmt(s, sql, error_r)) == NULL)
		return STORE_ERR;
	db_bind_int(st, 1, before);
	db_bind_int(st, 2, (int64_t)limit);
	if (db_step_done(s->db, st, error_r) < 0)
		return STORE_ERR;
	*count_r = (size_t)db_changes(s->db);
	return STORE_OK;
}

int
store_delivered(struct store *s, const char *queue_id, const char *owner,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT 1 FROM deliveries WHERE queue_id = ?1 AND recipient = ?2";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	int rc;

	if (st == NULL || db_bind_text(st, 1, queue_id) == -1 ||
	    db_bind_text(st, 2, owner) == -1 ||
	    (rc = db_step_row(s->db, st, error_r)) == -1)
		return STORE_ERR;
	sqlite3_reset(st);
	return rc;
}

/* One store_deliver() call. */
struct deliver_job {
	const char	*queue_id;
	const char	*msg;
	size_t		 len;
	int64_t		 internal_date;
	struct msginfo	 info;
	int64_t		 body_id;	/* 0: not stored yet */
};

/* The recipient's mailbox; INBOX is created when missing. */
static int
deliver_mailbox_locked(struct store *s, const struct store_rcpt *r,
    struct store_mbox *mb, const char **error_r)
{
	char *name = store_name_normalize(r->mailbox ? r->mailbox : "INBOX");
	int64_t id;
	int rc;

	memset(mb, 0, sizeof(*mb));
	if (name == NULL)
		return STORE_NOTFOUND;
	rc = store_mbox_find(s, r->owner, name, mb, error_r);
	if (rc == STORE_NOTFOUND && strcmp(name, "INBOX") == 0) {
		rc = store_mailbox_insert_locked(s, r->owner, name, NULL, &id,
		    error_r);
		if (rc == STORE_OK)
			rc = store_mbox_load(s, id, mb, error_r);
	}
	free(name);
	return rc;
}

static int
deliveries_insert(struct store *s, const char *queue_id, const char *owner,
    int64_t message_id, const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO deliveries (queue_id, recipient, message_id,"
	    " delivered) VALUES (?1, ?2, ?3, CAST(strftime('%s', 'now') AS"
	    " INTEGER))";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);

	if (st == NULL || db_bind_text(st, 1, queue_id) == -1 ||
	    db_bind_text(st, 2, owner) == -1 ||
	    db_bind_int(st, 3, message_id) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		return STORE_ERR;
	return STORE_OK;
}

/*
 * Sets r->result; returns STORE_ERR only for a database error, which
 * undoes the whole delivery.
 */
static int
deliver_one_locked(struct store *s, struct deliver_job *j,
    struct store_rcpt *r, const char **error_r)
{
	struct store_mbox mb;
	struct msg_new m = { .internal_date = j->internal_date,
	    .prefix = r->prefix };
	int64_t message_id;
	int rc;

	m.size = j->len + (r->prefix ? strlen(r->prefix) : 0);
	if ((rc = store_delivered(s, j->queue_id, r->owner, error_r)) != 0) {
		r->result = rc == 1 ? STORE_DUPLICATE : STORE_ERR;
		return rc == 1 ? STORE_OK : STORE_ERR;
	}
	rc = deliver_mailbox_locked(s, r, &mb, error_r);
	if (rc == STORE_OK)
		rc = quota_check(s, r->owner, r->quota, m.size, error_r);
	if (rc == STORE_OK && j->body_id == 0)
		rc = body_insert_locked(s, j->msg, j->len, &j->info,
		    &j->body_id, error_r);
	m.body_id = j->body_id;
	if (rc == STORE_OK)
		rc = message_insert_locked(s, &mb, &m, &r->uid, &message_id,
		    error_r);
	if (rc == STORE_OK)
		rc = deliveries_insert(s, j->queue_id, r->owner, message_id,
		    error_r);
	if (rc == STORE_OK)
		r->mailbox_id = mb.id;
	store_mbox_clear(&mb);
	r->result = rc;
	return rc == STORE_ERR || rc == STORE_EXISTS ? STORE_ERR : STORE_OK;
}

int
store_deliver(struct store *s, const char *queue_id, const char *msg,
    size_t len, int64_t internal_date, struct store_rcpt *rcpts,
    size_t nrcpts, const char **error_r)
{
	struct deliver_job j = { .queue_id = queue_id, .msg = msg,
	    .len = len, .internal_date = internal_date };
	size_t i;
	int rc;

	for (i = 0; i < nrcpts; i++) {
		rcpts[i].result = STORE_ERR;
		rcpts[i].uid = 0;
		rcpts[i].mailbox_id = 0;
	}
	for (i = 0; i < nrcpts; i++)
		if (rcpts[i].owner == NULL || *rcpts[i].owner == '\0')
			return store_fail(s, error_r, STORE_ERR, "recipient "
			    "%zu has no owner", i);
	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	if (queue_id == NULL || *queue_id == '\0')
		return store_fail(s, error_r, STORE_ERR, "no queue id");
	/* Parse outside the transaction: others may write meanwhile. */
	if (msginfo_build(msg, len, &j.info, error_r) == -1)
		return STORE_ERR;
	if (db_begin(s->db, error_r) == -1)
		rc = STORE_ERR;
	else {
		for (i = 0, rc = STORE_OK; i < nrcpts && rc == STORE_OK; i++)
			rc = deliver_one_locked(s, &j, &rcpts[i], error_r);
		rc = store_finish(s, rc, error_r);
	}
	msginfo_clear(&j.info);
	for (i = 0; i < nrcpts && rc != STORE_OK; i++) {
		rcpts[i].result = STORE_ERR;
		rcpts[i].uid = 0;
		rcpts[i].mailbox_id = 0;
	}
	return rc;
}

/* ---- APPEND -------------------------------------------------------- */

static int
append_locked(struct store *s, const char *owner, const char *mailbox,
    const struct msg_new *m, const char *msg, const struct msginfo *mi,
    uint64_t quota, uint32_t *uidvalidity_r, uint32_t *uid_r,
    const char **error_r)
{
	struct store_mbox mb;
	struct msg_new mm = *m;
	char *name = store_name_normalize(mailbox);
	int rc;

	if (name == NULL)
		return STORE_NOTFOUND;
	rc = store_mbox_find(s, owner, name, &mb, error_r);
	free(name);
	if (rc == STORE_OK)
		rc = quota_check(s, owner, quota, m->size, error_r);
	if (rc == STORE_OK)
		rc = body_insert_locked(s, msg, m->size, mi, &mm.body_id,
		    error_r);
	if (rc == STORE_OK)
		rc = message_insert_locked(s, &mb, &mm, uid_r, NULL, error_r);
	*uidvalidity_r = mb.uidvalidity;
	store_mbox_clear(&mb);
	return rc;
}

int
store_append(struct store *s, const char *owner, const char *mailbox,
    const char *msg, size_t len, int64_t internal_date, unsigned flags,
    const char *keywords, uint64_t quota, uint32_t *uidvalidity_r,
    uint32_t *uid_r, const char **error_r)
{
	struct msg_new m = { .internal_date = internal_date, .size = len,
	    .flags = flags, .keywords = keywords, .prefix = "" };
	struct msginfo info;
	char *kw;
	int rc;

	*uidvalidity_r = 0;
	*uid_r = 0;
	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	if (msginfo_build(msg, len, &info, error_r) == -1)
		return STORE_ERR;
	/* The same normal form as STORE gives: no repeats. */
	kw = store_keywords_apply("", keywords, STORE_FLAGS_SET);
	m.keywords = kw;
	if (db_begin(s->db, error_r) == -1)
		rc = STORE_ERR;
	else
		rc = store_finish(s, append_locked(s, owner, mailbox, &m, msg,
		    &info, quota, uidvalidity_r, uid_r, error_r), error_r);
	if (rc != STORE_OK)
		*uidvalidity_r = *uid_r = 0;
	free(kw);
	msginfo_clear(&info);
	return rc;
}
