/* store_fetch: what FETCH and SORT read: a message's metadata, sections
 * of its content read from the body's blob, and sort keys. */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>

#include "store_private.h"

void
store_meta_clear(struct store_meta *m)
{
	if (m == NULL)
		return;
	free(m->keywords);
	free(m->envelope);
	free(m->body);
	free(m->bodystructure);
	free(m->prefix);
	memset(m, 0, sizeof(*m));
}

int
store_meta_get(struct store *s, int64_t mailbox_id, uint32_t uid,
    struct store_meta *m, const char **error_r)
{
	static const char sql[] =
	    "SELECT m.uid, " STORE_FLAG_COLUMNS ", m.keywords,"
	    " m.internal_date, m.size, m.modseq, i.envelope, i.body,"
	    " i.bodystructure, m.body_id, m.prefix FROM messages m"
	    " LEFT JOIN body_info i ON i.body_id = m.body_id"
	    " WHERE m.mailbox_id = ?1 AND m.uid = ?2";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	int rc;

	memset(m, 0, sizeof(*m));
	if (st == NULL || db_bind_int(st, 1, mailbox_id) == -1 ||
	    db_bind_int(st, 2, uid) == -1)
		return STORE_ERR;
	if ((rc = db_step_row(s->db, st, error_r)) != 1)
		return rc == 0 ? STORE_NOTFOUND : STORE_ERR;
	m->uid = (uint32_t)db_col_int(st, 0);
	m->flags = store_col_flags(st, 1);
	m->keywords = xstrdup(db_col_text(st, 6));
	m->internal_date = db_col_int(st, 7);
	m->size = (uint64_t)db_col_int(st, 8);
	m->modseq = (uint64_t)db_col_int(st, 9);
	/* A body without body_info (none is written so): valid IMAP. */
	m->envelope = xstrdup(db_col_is_null(st, 10) ? "NIL" :
	    db_col_text(st, 10));
	m->body = xstrdup(db_col_is_null(st, 11) ? "NIL" :
	    db_col_text(st, 11));
	m->bodystructure = xstrdup(db_col_is_null(st, 12) ? "NIL" :
	    db_col_text(st, 12));
	m->body_id = db_col_int(st, 13);
	m->prefix = xstrdup(db_col_text(st, 14));
	sqlite3_reset(st);
	return STORE_OK;
}

/* ---- sections ------------------------------------------------------ */

/* A parts row; offsets into the body. */
struct part_row {
	bool		 multipart;
	bool		 is_message;
	uint64_t	 hdr_off, hdr_len;
	uint64_t	 body_off, body_len;
	uint64_t	 msg_hdr_off, msg_hdr_len;
};

/* What a section is: memory (the prefix) then a range of the body. */
struct section_plan {
	const char	*mem;
	size_t		 memlen;
	uint64_t	 off, len;
};

static int
part_get(struct store *s, int64_t body_id, const char *section,
    struct part_row *p, const char **error_r)
{
	static const char sql[] =
	    "SELECT type, hdr_off, hdr_len, body_off, body_len, is_message,"
	    " msg_hdr_off, msg_hdr_len FROM parts"
	    " WHERE body_id = ?1 AND section = ?2 ORDER BY seq LIMIT 1";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	int rc;

	if (st == NULL || db_bind_int(st, 1, body_id) == -1 ||
	    db_bind_text(st, 2, section) == -1)
		return STORE_ERR;
	if ((rc = db_step_row(s->db, st, error_r)) != 1)
		return rc == 0 ? STORE_NOTFOUND : STORE_ERR;
	p->multipart = strcmp(db_col_text(st, 0), "multipart") == 0;
	p->hdr_off = (uint64_t)db_col_int(st, 1);
	p->hdr_len = (uint64_t)db_col_int(st, 2);
	p->body_off = (uint64_t)db_col_int(st, 3);
	p->body_len = (uint64_t)db_col_int(st, 4);
	p->is_message = db_col_int(st, 5) != 0;
	p->msg_hdr_off = (uint64_t)db_col_int(st, 6);
	p->msg_hdr_len = (uint64_t)db_col_int(st, 7);
	sqlite3_reset(st);
	return STORE_OK;
}

/*
 * The part a non-empty section names. RFC 3501 6.4.5: part 1 of a
 * message that is not multipart is its body, and so is part n.1 of an
 * encapsulated message (part n) that is not multipart; the parts table
 * has rows for neither.
 */
static int
section_part(struct store *s, int64_t body_id, const char *section,
    struct part_row *p, const char **error_r)
{
	size_t len = strlen(section);
	struct part_row pp;
	char *parent;
	int rc;

	if ((rc = part_get(s, body_id, section, p, error_r)) != STORE_NOTFOUND)
		return rc;
	if (strcmp(section, "1") != 0 && (len < 3 ||
	    strcmp(section + len - 2, ".1") != 0))
		return STORE_NOTFOUND;
	parent = xstrndup(section, len < 3 ? 0 : len - 2);
	rc = part_get(s, body_id, parent, &pp, error_r);
	if (rc == STORE_OK && (pp.multipart ||
	    (*parent != '\0' && !pp.is_message)))
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK && *parent == '\0')
		*p = pp;
	else if (rc == STORE_OK) {
		memset(p, 0, sizeof(*p));
		p->hdr_off = pp.msg_hdr_off;
		p->hdr_len = pp.msg_hdr_len;
		p->body_off = pp.msg_hdr_off + pp.msg_hdr_len;
		p->body_len = pp.body_off + pp.body_len > p->body_off ?
		    pp.body_off + pp.body_len - p->body_off : 0;
	}
	free(parent);
	return rc;
}

static bool
section_valid(const char *section)
{
	const char *p = section;

	if (*p == '\0')
		return true;
	for (;;) {
		if (*p < '1' || *p > '9')
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '\0')
			return true;
		if (*p++ != '.')
			return false;
	}
}

/* Plan a section of the whole message (section ""). */
static int
section_plan_root(struct store *s, int64_t body_id, const char *prefix,
    uint64_t body_size, enum store_section_part what,
    struct section_plan *plan, const char **error_r)
{
	struct part_row root;
	int rc;

	if (what == STORE_SECT_MIME)
		return store_fail(s, error_r, STORE_INVALID, "BODY[MIME] "
		    "needs a part number");
	if (what == STORE_SECT_ALL) {
		plan->mem = prefix;
		plan->memlen = strlen(prefix);
		plan->off = 0;
		plan->len = body_size;
		return STORE_OK;
	}
	if ((rc = part_get(s, body_id, "", &root, error_r)) != STORE_OK)
		return rc == STORE_NOTFOUND ? store_fail(s, error_r, STORE_ERR,
		    "body %" PRId64 " has no MIME parts", body_id) : rc;
	if (what == STORE_SECT_HEADER) {
		plan->mem = prefix;
		plan->memlen = strlen(prefix);
		plan->off = root.hdr_off;
		plan->len = root.hdr_len;
	} else {
		plan->off = root.body_off;
		plan->len = root.body_len;
	}
	return STORE_OK;
}

static int
section_plan_part(struct store *s, int64_t body_id, const char *section,
    enum store_section_part what, struct section_plan *plan,
    const char **error_r)
{
	struct part_row p;
	int rc;

	if ((rc = section_part(s, body_id, section, &p, error_r)) != STORE_OK)
		return rc;
	if ((what == STORE_SECT_HEADER || what == STORE_SECT_TEXT) &&
	    !p.is_message)
		return STORE_NOTFOUND;
	switch (what) {
	case STORE_SECT_ALL:
		plan->off = p.body_off;
		plan->len = p.body_len;
		break;
	case STORE_SECT_MIME:
		plan->off = p.hdr_off;
		plan->len = p.hdr_len;
		break;
	case STORE_SECT_HEADER:
		plan->off = p.msg_hdr_off;
		plan->len = p.msg_hdr_len;
		break;
	case STORE_SECT_TEXT:
		plan->off = p.msg_hdr_off + p.msg_hdr_len;
		plan->len = p.body_off + p.body_len > plan->off ?
		    p.body_off + p.body_len - plan->off : 0;
		break;
	}
	return STORE_OK;
}

static int
blob_read(struct store *s, int64_t body_id, uint64_t off, uint64_t len,
    struct buf *out, const char **error_r)
{
	sqlite3_blob *blob;
	int rc;

	if (len == 0)
		return STORE_OK;
	if (len > INT_MAX || off > INT_MAX - len || buf_reserve(out, len) == -1)
		return store_fail(s, error_r, STORE_ERR, "%" PRIu64 " octets "
		    "do not fit in the output buffer", len);
	rc = sqlite3_blob_open(s->db->handle, "main", "bodies", "data",
	    body_id, 0, &blob);
	if (rc == SQLITE_OK)
		rc = sqlite3_blob_read(blob, out->data + out->len, (int)len,
		    (int)off);
	if (rc != SQLITE_OK)
		store_fail(s, error_r, STORE_ERR, "reading body %" PRId64
		    ": %s", body_id, sqlite3_errmsg(s->db->handle));
	sqlite3_blob_close(blob);
	if (rc != SQLITE_OK)
		return STORE_ERR;
	out->len += len;
	out->data[out->len] = '\0';
	return STORE_OK;
}

/* Append [offset, offset + length) of the planned section to out. */
static int
section_copy(struct store *s, int64_t body_id, const struct section_plan *p,
    uint64_t offset, uint64_t length, struct buf *out, const char **error_r)
{
	uint64_t total = p->memlen + p->len, n, skip;

	if (offset >= total)
		return STORE_OK;
	if (length > total - offset)
		length = total - offset;
	if (offset < p->memlen) {
		n = p->memlen - offset < length ? p->memlen - offset : length;
		if (buf_append(out, p->mem + offset, n) == -1)
			return store_fail(s, error_r, STORE_ERR, "the output "
			    "buffer is full");
		length -= n;
		offset += n;
	}
	skip = offset - p->memlen;
	return blob_read(s, body_id, p->off + skip, length, out, error_r);
}

static int
message_body(struct store *s, int64_t mailbox_id, uint32_t uid,
    int64_t *body_id_r, char **prefix_r, uint64_t *size_r,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT m.body_id, m.prefix, b.size FROM messages m"
	    " JOIN bodies b ON b.id = m.body_id"
	    " WHERE m.mailbox_id = ?1 AND m.uid = ?2";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	int rc;

	if (st == NULL || db_bind_int(st, 1, mailbox_id) == -1 ||
	    db_bind_int(st, 2, uid) == -1)
		return STORE_ERR;
	if ((rc = db_step_row(s->db, st, error_r)) != 1)
		return rc == 0 ? STORE_NOTFOUND : STORE_ERR;
	*body_id_r = db_col_int(st, 0);
	*prefix_r = xstrdup(db_col_text(st, 1));
	*size_r = (uint64_t)db_col_int(st, 2);
	sqlite3_reset(st);
	return STORE_OK;
}

static int
section_locked(struct store *s, int64_t mailbox_id, uint32_t uid,
    const char *section, enum store_section_part what, uint64_t offset,
    uint64_t length, struct buf *out, uint64_t *total_r,
    const char **error_r)
{
	struct section_plan plan = { "", 0, 0, 0 };
	char *prefix = NULL;
	int64_t body_id;
	uint64_t size;
	int rc;

	if ((rc = message_body(s, mailbox_id, uid, &body_id, &prefix, &size,
	    error_r)) != STORE_OK)
		return rc;
	if (*section == '\0')
		rc = section_plan_root(s, body_id, prefix, size, what, &plan,
		    error_r);
	else
		rc = section_plan_part(s, body_id, section, what, &plan,
		    error_r);
	/* Offsets come from the body itself; keep them inside it anyway. */
	if (plan.off > size)
		plan.off = size;
	if (plan.len > size - plan.off)
		plan.len = size - plan.off;
	if (rc == STORE_OK && total_r != NULL)
		*total_r = plan.memlen + plan.len;
	if (rc == STORE_OK)
		rc = section_copy(s, body_id, &plan, offset, length, out,
		    error_r);
	free(prefix);
	return rc;
}

int
store_section(struct store *s, int64_t mailbox_id, uint32_t uid,
    const char *section, enum store_section_part what, uint64_t offset,
    uint64_t length, struct buf *out, uint64_t *total_r,
    const char **error_r)
{
	size_t oldlen = out->len;
	int rc;

	if (total_r != NULL)
		*total_r = 0;
	if (section == NULL || !section_valid(section))
		return store_fail(s, error_r, STORE_INVALID, "invalid "
		    "section");
	/* One snapshot: an expunge in between cannot free the body. */
	if ((rc = store_read_begin(s, error_r)) != STORE_OK)
		return rc;
	rc = section_locked(s, mailbox_id, uid, section, what, offset, length,
	    out, total_r, error_r);
	store_read_end(s);
	if (rc != STORE_OK)
		buf_truncate(out, oldlen);
	return rc;
}

/* ---- sort keys ----------------------------------------------------- */

void
store_sortkeys_free(struct store_sortkey *keys, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(keys[i].subject);
		free(keys[i].from);
		free(keys[i].to);
		free(keys[i].cc);
	}
	free(keys);
}

int
store_sortkeys(struct store *s, int64_t mailbox_id,
    struct store_sortkey **keys_r, size_t *count_r, const char **error_r)
{
	static const char sql[] =
	    "SELECT m.uid, i.sent_date, m.internal_date, m.size,"
	    " i.sort_subject, i.from_addr, i.to_addr, i.cc_addr"
	    " FROM messages m LEFT JOIN body_info i ON i.body_id = m.body_id"
	    " WHERE m.mailbox_id = ?1 ORDER BY m.uid";
	sqlite3_stmt *st = store_stmt(s, sql, error_r);
	struct store_sortkey *keys = NULL, *k;
	size_t n = 0, alloc = 0;
	int rc;

	*keys_r = NULL;
	*count_r = 0;
	if (st == NULL || db_bind_int(st, 1, mailbox_id) == -1)
		return STORE_ERR;
	while ((rc = db_step_row(s->db, st, error_r)) == 1) {
		keys = store_array_add(keys, &n, &alloc, sizeof(*keys));
		k = &keys[n - 1];
		k->uid = (uint32_t)db_col_int(st, 0);
		k->arrival = db_col_int(st, 2);
		/* RFC 5256: no usable Date:, the internal date. */
		k->date = db_col_int(st, 1) != 0 ? db_col_int(st, 1) :
		    k->arrival;
		k->size = (uint64_t)db_col_int(st, 3);
		k->subject = xstrdup(db_col_text(st, 4));
		k->from = xstrdup(db_col_text(st, 5));
		k->to = xstrdup(db_col_text(st, 6));
		k->cc = xstrdup(db_col_text(st, 7));
	}
	if (rc == -1) {
		store_sortkeys_free(keys, n);
		return STORE_ERR;
	}
	*keys_r = keys;
	*count_r = n;
	return STORE_OK;
}
