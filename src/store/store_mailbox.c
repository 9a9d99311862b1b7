/* store_mailbox: the mailbox operations of store.h (LIST, STATUS,
 * CREATE, DELETE, RENAME, SUBSCRIBE) and mailbox names. */
#include <inttypes.h>
#include <sqlite3.h>
#include <strings.h>
#include <time.h>

#include "store_private.h"

static const char *const special_uses[] = {
	"\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive",
};

/* Length of the UTF-8 sequence at s (at most len), 0 when invalid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t len)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > len)
		return 0;
	c = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

static bool
name_valid(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name), n;

	if (len == 0 || len > STORE_NAME_MAX || name[0] == '/' ||
	    name[len - 1] == '/' || strstr(name, "//") != NULL)
		return false;
	for (size_t i = 0; i < len; i += n) {
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '*' || p[i] == '%')
			return false;
		if ((n = utf8_seq_len(p + i, len - i)) == 0)
			return false;
	}
	return true;
}

char *
store_name_normalize(const char *name)
{
	char *norm;

	if (name == NULL || !name_valid(name))
		return NULL;
	norm = xstrdup(name);
	if (strncasecmp(norm, "INBOX", 5) == 0 &&
	    (norm[5] == '\0' || norm[5] == '/'))
		memcpy(norm, "INBOX", 5);
	return norm;
}

static bool
special_use_valid(const char *use)
{
	if (use == NULL)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(special_uses); i++)
		if (strcmp(use, special_uses[i]) == 0)
			return true;
	return false;
}

/* A new UIDVALIDITY: max(now, last + 1), persisted with the caller's
 * transaction. */
static int
uidvalidity_next_locked(struct store *s, uint32_t *uidvalidity_r,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO sequences (name, value) VALUES ('uidvalidity', ?1)"
	    " ON CONFLICT (name) DO UPDATE"
	    " SET value = max(excluded.value, value + 1) RETURNING value";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	int64_t v;

	if (st == NULL || db_bind_int(st, 1, (int64_t)time(NULL)) == -1 ||
	    db_step_row(s->db, st, error_r) != 1)
		return STORE_ERR;
	v = db_col_int(st, 0);
	if (db_step_done(s->db, st, error_r) != 0)
		return STORE_ERR;
	if (v <= 0 || v > UINT32_MAX)
		return store_fail(s, error_r, STORE_ERR, "UIDVALIDITY %" PRId64
		    " is out of range", v);
	*uidvalidity_r = (uint32_t)v;
	return STORE_OK;
}

int
store_mailbox_insert_locked(struct store *s, const char *owner,
    const char *name, const char *use, int64_t *id_r, const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO mailboxes (owner, name, special_use, uidvalidity)"
	    " VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *st;
	uint32_t uidvalidity;
	int rc;

	if ((rc = uidvalidity_next_locked(s, &uidvalidity, error_r)) !=
	    STORE_OK)
		return rc;
	if ((st = store_stmt(s, sql, error_r)) == NULL ||
	    db_bind_text(st, 1, owner) == -1 ||
	    db_bind_text(st, 2, name) == -1 ||
	    db_bind_text(st, 3, use) == -1 ||
	    db_bind_int(st, 4, uidvalidity) == -1)
		return STORE_ERR;
	rc = db_step_done(s->db, st, error_r);
	if (rc == -2)
		return STORE_EXISTS;
	if (rc != 0)
		return STORE_ERR;
	if (id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(s->db->handle);
	return STORE_OK;
}

/* Create owner's mailbox name unless it exists. */
static int
mailbox_ensure_locked(struct store *s, const char *owner, const char *name,
    const char *use, const char **error_r)
{
	struct store_mbox mb;
	char *norm = store_name_normalize(name);
	int rc;

	if (norm == NULL || !special_use_valid(use)) {
		free(norm);
		return store_fail(s, error_r, STORE_INVALID, "invalid mailbox "
		    "name or special use");
	}
	rc = store_mbox_find(s, owner, norm, &mb, error_r);
	store_mbox_clear(&mb);
	if (rc == STORE_NOTFOUND)
		rc = store_mailbox_insert_locked(s, owner, norm, use, NULL,
		    error_r);
	free(norm);
	return rc;
}

int
store_user_ensure(struct store *s, const char *owner,
    const struct store_special *special, size_t nspecial,
    const char **error_r)
{
	int rc;

	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	if (owner == NULL || *owner == '\0')
		return store_fail(s, error_r, STORE_INVALID, "no owner");
	if (db_begin(s->db, error_r) == -1)
		return STORE_ERR;
	rc = mailbox_ensure_locked(s, owner, "INBOX", NULL, error_r);
	for (size_t i = 0; i < nspecial && rc == STORE_OK; i++)
		rc = mailbox_ensure_locked(s, owner, special[i].name,
		    special[i].use, error_r);
	return store_finish(s, rc, error_r);
}

int
store_user_usage(struct store *s, const char *owner, uint64_t *bytes_r,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT coalesce(sum(bytes), 0) FROM mailboxes WHERE owner = ?1";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);

	*bytes_r = 0;
	if (st == NULL || db_bind_text(st, 1, owner) == -1 ||
	    db_step_row(s->db, st, error_r) != 1)
		return STORE_ERR;
	*bytes_r = (uint64_t)db_col_int(st, 0);
	sqlite3_reset(st);
	return STORE_OK;
}

/* ---- listing ------------------------------------------------------- */

#define MAILBOX_COLUMNS \
	"SELECT b.id, b.owner, b.name, b.special_use, b.subscribed," \
	" b.uidvalidity, b.uidnext, b.highestmodseq, count(m.id)," \
	" coalesce(sum(m.seen = 0), 0)," \
	" coalesce(min(CASE WHEN m.seen = 0 THEN m.uid END), 0)," \
	" coalesce(sum(m.size), 0)" \
	" FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id"

void
store_mailbox_clear(struct store_mailbox *mb)
{
	if (mb == NULL)
		return;
	free(mb->owner);
	free(mb->name);
	free(mb->special_use);
	memset(mb, 0, sizeof(*mb));
}

static void
mailbox_fill(sqlite3_stmt *st, struct store_mailbox *mb)
{
	mb->id = db_col_int(st, 0);
	mb->owner = xstrdup(db_col_text(st, 1));
	mb->name = xstrdup(db_col_text(st, 2));
	mb->special_use = db_col_is_null(st, 3) ? NULL :
	    xstrdup(db_col_text(st, 3));
	mb->subscribed = db_col_int(st, 4) != 0;
	mb->uidvalidity = (uint32_t)db_col_int(st, 5);
	mb->uidnext = (uint32_t)db_col_int(st, 6);
	mb->highestmodseq = (uint64_t)db_col_int(st, 7);
	mb->messages = (uint32_t)db_col_int(st, 8);
	mb->unseen = (uint32_t)db_col_int(st, 9);
	mb->first_unseen = (uint32_t)db_col_int(st, 10);
	mb->bytes = (uint64_t)db_col_int(st, 11);
}

int
store_mailbox_list(struct store *s, const char *owner, store_mailbox_cb cb,
    void *arg, const char **error_r)
{
	static const char sql[] = MAILBOX_COLUMNS
	    " WHERE b.owner = ?1 GROUP BY b.id"
	    " ORDER BY b.name <> 'INBOX', b.name";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	struct store_mailbox *mbs = NULL;
	size_t n = 0, alloc = 0, i;
	int rc;

	if (st == NULL || db_bind_text(st, 1, owner) == -1)
		return STORE_ERR;
	/* Read them all first: the callback may use the store. */
	while ((rc = db_step_row(s->db, st, error_r)) == 1) {
		mbs = store_array_add(mbs, &n, &alloc, sizeof(*mbs));
		mailbox_fill(st, &mbs[n - 1]);
	}
	rc = rc == -1 ? STORE_ERR : STORE_OK;
	for (i = 0; i < n && rc == STORE_OK; i++)
		rc = cb(&mbs[i], arg);
	for (i = 0; i < n; i++)
		store_mailbox_clear(&mbs[i]);
	free(mbs);
	return rc;
}

int
store_mailbox_get(struct store *s, const char *owner, const char *name,
    struct store_mailbox *mb, const char **error_r)
{
	static const char sql[] = MAILBOX_COLUMNS
	    " WHERE b.owner = ?1 AND b.name = ?2 GROUP BY b.id";
	sqlite3_stmt *st;
	char *norm = store_name_normalize(name);
	int rc;

	memset(mb, 0, sizeof(*mb));
	if (norm == NULL)
		return STORE_NOTFOUND;
	if ((st = store_stmt(s, sql, error_r)) == NULL ||
	    db_bind_text(st, 1, owner) == -1 ||
	    db_bind_text(st, 2, norm) == -1) {
		free(norm);
		return STORE_ERR;
	}
	free(norm);
	if ((rc = db_step_row(s->db, st, error_r)) != 1)
		return rc == 0 ? STORE_NOTFOUND : STORE_ERR;
	mailbox_fill(st, mb);
	sqlite3_reset(st);
	return STORE_OK;
}

/* ---- create, delete, subscribe ------------------------------------- */

int
store_mailbox_create(struct store *s, const char *owner, const char *name,
    const char *use, const char **error_r)
{
	char *norm;
	int rc;

	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	if ((norm = store_name_normalize(name)) == NULL ||
	    !special_use_valid(use) || owner == NULL || *owner == '\0') {
		free(norm);
		return store_fail(s, error_r, STORE_INVALID, "invalid mailbox "
		    "name or special use");
	}
	if (db_begin(s->db, error_r) == -1) {
		free(norm);
		return STORE_ERR;
	}
	rc = store_mailbox_insert_locked(s, owner, norm, use, NULL, error_r);
	free(norm);
	return store_finish(s, rc, error_r);
}

int
store_mailbox_delete(struct store *s, const char *owner, const char *name,
    const char **error_r)
{
	static const char sql[] =
	    "DELETE FROM mailboxes WHERE owner = ?1 AND name = ?2";
	sqlite3_stmt *st;
	char *norm;
	int rc;

	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	if ((norm = store_name_normalize(name)) == NULL)
		return STORE_NOTFOUND;
	if (strcmp(norm, "INBOX") == 0) {
		free(norm);
		return store_fail(s, error_r, STORE_INVALID, "INBOX cannot be "
		    "deleted");
	}
	if (db_begin(s->db, error_r) == -1) {
		free(norm);
		return STORE_ERR;
	}
	/* Foreign keys delete its messages; triggers release bodies. */
	rc = STORE_OK;
	if ((st = store_stmt(s, sql, error_r)) == NULL ||
	    db_bind_text(st, 1, owner) == -1 ||
	    db_bind_text(st, 2, norm) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		rc = STORE_ERR;
	else if (db_changes(s->db) == 0)
		rc = STORE_NOTFOUND;
	free(norm);
	return store_finish(s, rc, error_r);
}

int
store_mailbox_subscribe(struct store *s, const char *owner, const char *name,
    bool subscribed, const char **error_r)
{
	static const char sql[] =
	    "UPDATE mailboxes SET subscribed = ?3"
	    " WHERE owner = ?1 AND name = ?2";
	sqlite3_stmt *st;
	char *norm;
	int rc;

	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	if ((norm = store_name_normalize(name)) == NULL)
		return STORE_NOTFOUND;
	if ((st = store_stmt(s, sql, error_r)) == NULL ||
	    db_bind_text(st, 1, owner) == -1 ||
	    db_bind_text(st, 2, norm) == -1 ||
	    db_bind_int(st, 3, subscribed) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		rc = STORE_ERR;
	else
		rc = db_changes(s->db) == 0 ? STORE_NOTFOUND : STORE_OK;
	free(norm);
	return rc;
}

/* ---- rename -------------------------------------------------------- */

/*
 * RFC 3501 6.3.5: INBOX's messages move to a new mailbox `to` (keeping
 * their UIDs under its new UIDVALIDITY); INBOX stays, empty, and its
 * clients see them expunged.
 */
static int
rename_inbox_locked(struct store *s, const char *owner, const char *to,
    const char **error_r)
{
	static const char vanish[] =
	    "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq)"
	    " SELECT ?1, uid, ?2 FROM messages WHERE mailbox_id = ?1";
	static const char move[] =
	    "UPDATE messages SET mailbox_id = ?2 WHERE mailbox_id = ?1";
	static const char inherit[] =
	    "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3"
	    " WHERE id = ?1";
	struct store_mbox inbox;
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	if ((rc = store_mbox_find(s, owner, "INBOX", &inbox, error_r)) !=
	    STORE_OK ||
	    (rc = store_mailbox_insert_locked(s, owner, to, NULL, &id,
	    error_r)) != STORE_OK)
		goto out;
	rc = STORE_ERR;
	if ((st = store_stmt(s, inherit, error_r)) == NULL ||
	    db_bind_int(st, 1, id) == -1 ||
	    db_bind_int(st, 2, inbox.uidnext) == -1 ||
	    db_bind_int(st, 3, (int64_t)inbox.highestmodseq) == -1 ||
	    db_step_done(s->db, st, error_r) != 0 ||
	    (st = store_stmt(s, vanish, error_r)) == NULL ||
	    db_bind_int(st, 1, inbox.id) == -1 ||
	    db_bind_int(st, 2, (int64_t)inbox.highestmodseq + 1) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		goto out;
	if (db_changes(s->db) > 0 &&
	    store_mbox_advance_locked(s, &inbox, 0, error_r) != STORE_OK)
		goto out;
	if ((st = store_stmt(s, move, error_r)) == NULL ||
	    db_bind_int(st, 1, inbox.id) == -1 ||
	    db_bind_int(st, 2, id) == -1 ||
	    db_step_done(s->db, st, error_r) != 0)
		goto out;
	rc = STORE_OK;
out:
	store_mbox_clear(&inbox);
	return rc;
}

struct rename_item {
	int64_t		 id;
	char		*to;
};

/* from and its children, each with its new name. */
static int
rename_collect(struct store *s, const char *owner, const char *from,
    const char *to, struct rename_item **items_r, size_t *n_r,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT id, name FROM mailboxes WHERE owner = ?1 AND (name = ?2"
	    " OR substr(name, 1, length(?2) + 1) = ?2 || '/') ORDER BY name";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	struct rename_item *items = NULL;
	size_t n = 0, alloc = 0, fromlen = strlen(from);
	int rc;

	if (st == NULL || db_bind_text(st, 1, owner) == -1 ||
	    db_bind_text(st, 2, from) == -1)
		return STORE_ERR;
	while ((rc = db_step_row(s->db, st, error_r)) == 1) {
		items = store_array_add(items, &n, &alloc, sizeof(*items));
		items[n - 1].id = db_col_int(st, 0);
		items[n - 1].to = xasprintf("%s%s", to,
		    db_col_text(st, 1) + fromlen);
	}
	*items_r = items;
	*n_r = n;
	if (rc == -1)
		return STORE_ERR;
	/* The parent sorts first: without it there is nothing to rename. */
	if (n == 0 || strlen(items[0].to) != strlen(to))
		return STORE_NOTFOUND;
	return STORE_OK;
}

static int
rename_apply_locked(struct store *s, const char *owner,
    struct rename_item *items, size_t n, const char **error_r)
{
	static const char sql[] =
	    "UPDATE mailboxes SET name = ?2, uidvalidity = ?3 WHERE id = ?1";
	struct store_mbox mb;
	sqlite3_stmt *st;
	uint32_t uidvalidity;
	int rc;

	for (size_t i = 0; i < n; i++) {
		rc = store_mbox_find(s, owner, items[i].to, &mb, error_r);
		store_mbox_clear(&mb);
		if (rc != STORE_NOTFOUND)
			return rc == STORE_OK ? STORE_EXISTS : rc;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = uidvalidity_next_locked(s, &uidvalidity, error_r)) !=
		    STORE_OK)
			return rc;
		if ((st = store_stmt(s, sql, error_r)) == NULL ||
		    db_bind_int(st, 1, items[i].id) == -1 ||
		    db_bind_text(st, 2, items[i].to) == -1 ||
		    db_bind_int(st, 3, uidvalidity) == -1 ||
		    db_step_done(s->db, st, error_r) != 0)
			return STORE_ERR;
	}
	return STORE_OK;
}

static int
rename_locked(struct store *s, const char *owner, const char *from,
    const char *to, const char **error_r)
{
	struct rename_item *items = NULL;
	size_t n = 0;
	int rc;

	if (strcmp(from, "INBOX") == 0)
		return rename_inbox_locked(s, owner, to, error_r);
	rc = rename_collect(s, owner, from, to, &items, &n, error_r);
	if (rc == STORE_OK)
		rc = rename_apply_locked(s, owner, items, n, error_r);
	for (size_t i = 0; i < n; i++)
		free(items[i].to);
	free(items);
	return rc;
}

int
store_mailbox_rename(struct store *s, const char *owner, const char *from,
    const char *to, const char **error_r)
{
	char *f, *t;
	size_t flen;
	int rc;

	if ((rc = store_writable(s, error_r)) != STORE_OK)
		return rc;
	f = store_name_normalize(from);
	t = store_name_normalize(to);
	flen = f ? strlen(f) : 0;
	/* INBOX's children stay where they are, so INBOX/old is fine. */
	if (f == NULL || t == NULL || strcmp(t, "INBOX") == 0 ||
	    (strcmp(f, "INBOX") != 0 && strncmp(t, f, flen) == 0 &&
	    (t[flen] == '\0' || t[flen] == '/'))) {
		rc = f == NULL ? STORE_NOTFOUND : store_fail(s, error_r,
		    STORE_INVALID, "cannot rename a mailbox to itself, into "
		    "itself or to INBOX");
		free(f);
		free(t);
		return rc;
	}
	if (db_begin(s->db, error_r) == -1)
		rc = STORE_ERR;
	else
		rc = store_finish(s, rename_locked(s, owner, f, t, error_r),
		    error_r);
	free(f);
	free(t);
	return rc;
}
