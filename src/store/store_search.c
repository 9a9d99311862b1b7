/*
 * store_search: SEARCH keys over the decoded text kept with each body.
 *
 * RFC 3501 wants a case-insensitive substring test. TEXT, BODY and
 * HEADER first ask the FTS5 index (body_fts) for the messages holding
 * every word of the needle (the last one as a prefix), then confirm the
 * substring in the stored text, so an answer is never wrong but can miss
 * a needle that starts inside a word ("ello" for "hello"), which the
 * index cannot find. Needles without any word the index knows (only
 * punctuation, or empty) are tested against every message instead.
 *
 * The substring test folds case for ASCII, Latin-1, Latin Extended-A,
 * Greek and Cyrillic (not full Unicode case folding) and treats any run
 * of white space as one space, so a phrase matches across line breaks.
 */
#include <sqlite3.h>
#include <strings.h>

#include "store_private.h"

/* ---- case folding -------------------------------------------------- */

static uint32_t
fold_cp(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c < 0xc0)
		return c;
	if (c <= 0xde && c != 0xd7)
		return c + 32;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
		return c | 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return (c & 1) ? c + 1 : c;
	if (c == 0x178)
		return 0xff;
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;
	return c;
}

/* A byte that is not part of valid UTF-8, as utf8_next() returns it. */
#define BAD_BYTE(b)	(0x110000 + (uint32_t)(b))

/* Decode the character at *p and move past it. */
static uint32_t
utf8_next(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c <= 0xef ? 3 :
	    c >= 0xc2 && c <= 0xdf ? 2 : 1;

	if (n > (size_t)(end - s))
		n = 1;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			n = 1;
	*p = s + n;
	if (n == 1)
		return c < 0x80 ? c : BAD_BYTE(c);
	c &= 0x7f >> n;
	for (size_t i = 1; i < n; i++)
		c = c << 6 | (s[i] & 0x3f);
	if (c > 0x10ffff) {
		*p = s + 1;
		return BAD_BYTE(s[0]);
	}
	return c;
}

static void
utf8_put(struct buf *out, uint32_t c)
{
	unsigned char b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (unsigned char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (unsigned char)(0xc0 | c >> 6);
		b[1] = (unsigned char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (unsigned char)(0xe0 | c >> 12);
		b[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | c >> 18);
		b[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (c & 0x3f));
		n = 4;
	}
	buf_append(out, b, n);
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\f' || c == '\v';
}

/* out = s folded: case folded, each run of white space one space. */
static void
fold_text(const char *s, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t c;

	buf_reset(out);
	buf_reserve(out, len);
	while (p < end) {
		if (is_space(*p)) {
			while (p < end && is_space(*p))
				p++;
			buf_append_byte(out, ' ');
			continue;
		}
		c = utf8_next(&p, end);
		if (c >= BAD_BYTE(0))
			buf_append_byte(out, (uint8_t)(c - BAD_BYTE(0)));
		else
			utf8_put(out, fold_cp(c));
	}
}

/* One search in progress: the folded needle and a scratch buffer. */
struct search_job {
	enum store_search_key	 key;
	const char		*field;
	struct buf		 needle;	/* folded */
	struct buf		 tmp;
	uint32_t		*uids;
	size_t			 n, alloc;
};

static bool
text_has(struct search_job *j, const char *text, size_t len)
{
	if (j->needle.len == 0)
		return true;
	fold_text(text, len, &j->tmp);
	return memmem(j->tmp.data, j->tmp.len, j->needle.data,
	    j->needle.len) != NULL;
}

/* Does a "Name: value\n" line for j->field contain the needle? */
static bool
header_has(struct search_job *j, const char *headers)
{
	size_t flen = strlen(j->field), n;
	const char *p = headers, *v;

	for (; *p != '\0'; p += n + (p[n] == '\n')) {
		n = strcspn(p, "\n");
		if (n <= flen || p[flen] != ':' ||
		    strncasecmp(p, j->field, flen) != 0)
			continue;
		for (v = p + flen + 1; v < p + n && (*v == ' ' || *v == '\t');
		    v++)
			;
		if (text_has(j, v, (size_t)(p + n - v)))
			return true;
	}
	return false;
}

/* ---- the full-text index ------------------------------------------- */

/* Whether the index would make a token of a character: unicode61 takes
 * letters and digits, and drops punctuation, symbols and white space. */
static bool
token_char(uint32_t c)
{
	if (c < 0x80)
		return (c >= '0' && c <= '9') || ((c | 32) >= 'a' &&
		    (c | 32) <= 'z');
	if (c >= BAD_BYTE(0))
		return true;	/* unknown: let the index decide */
	return !((c >= 0x80 && c <= 0xbf) || c == 0xd7 || c == 0xf7 ||
	    (c >= 0x2000 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff01 && c <= 0xff0f) ||
	    (c >= 0xff1a && c <= 0xff20) || (c >= 0x1f000 && c <= 0x1faff));
}

static bool
word_has_token(const char *w, size_t len)
{
	const unsigned char *p = (const unsigned char *)w, *end = p + len;

	while (p < end)
		if (token_char(utf8_next(&p, end)))
			return true;
	return false;
}

/*
 * An FTS5 query: each word of needle a quoted phrase, the last a prefix,
 * inside a column filter when column is not NULL. NULL when no word has
 * anything the index would know.
 */
static char *
fts_query(const char *needle, const char *column)
{
	struct buf q = BUF_INIT;
	const char *p = needle;
	size_t n, words = 0;

	if (column != NULL)
		buf_printf(&q, "%s : (", column);
	for (; *p != '\0'; p += n) {
		p += strspn(p, " \t\r\n\f\v");
		if ((n = strcspn(p, " \t\r\n\f\v")) == 0 ||
		    !word_has_token(p, n))
			continue;
		buf_append_str(&q, words++ > 0 ? " \"" : "\"");
		for (size_t i = 0; i < n; i++)
			buf_append(&q, p[i] == '"' ? "\"\"" : p + i,
			    p[i] == '"' ? 2 : 1);
		buf_append_byte(&q, '"');
	}
	if (words == 0) {
		buf_release(&q);
		return NULL;
	}
	buf_append_str(&q, column != NULL ? "*)" : "*");
	return buf_steal(&q);
}

static bool
fts_row_matches(struct search_job *j, sqlite3_stmt *st)
{
	const char *headers = db_col_text(st, 1), *body = db_col_text(st, 2);

	switch (j->key) {
	case STORE_SEARCH_TEXT:
		return text_has(j, headers, strlen(headers)) ||
		    text_has(j, body, strlen(body));
	case STORE_SEARCH_BODY:
		return text_has(j, body, strlen(body));
	case STORE_SEARCH_HEADER:
		return header_has(j, headers);
	default:
		return false;
	}
}

static int
search_fts(struct store *s, int64_t mailbox_id, const char *needle,
    struct search_job *j, const char **error_r)
{
	/* The index is asked once (not once per message of the mailbox);
	 * the text is then read by rowid for the candidates only. */
	static const char indexed[] =
	    "SELECT m.uid, f.headers_text, f.body_text FROM messages m"
	    " JOIN body_fts f ON f.rowid = m.body_id"
	    " WHERE m.mailbox_id = ?1 AND m.body_id IN"
	    " (SELECT rowid FROM body_fts WHERE body_fts MATCH ?2)"
	    " ORDER BY m.uid";
	static const char scan[] =
	    "SELECT m.uid, f.headers_text, f.body_text FROM messages m"
	    " JOIN body_fts f ON f.rowid = m.body_id"
	    " WHERE m.mailbox_id = ?1 ORDER BY m.uid";
	const char *column = j->key == STORE_SEARCH_BODY ? "body_text" :
	    j->key == STORE_SEARCH_HEADER ? "headers_text" : NULL;
	char *q = fts_query(needle, column);
	sqlite3_stmt *st = store_stmt(s, q != NULL ? indexed : scan, error_r);
	int rc;

	if (st == NULL || db_bind_int(st, 1, mailbox_id) == -1 ||
	    (q != NULL && db_bind_text(st, 2, q) == -1)) {
		free(q);
		return STORE_ERR;
	}
	free(q);
	while ((rc = db_step_row(s->db, st, error_r)) == 1) {
		if (!fts_row_matches(j, st))
			continue;
		j->uids = store_array_add(j->uids, &j->n, &j->alloc,
		    sizeof(*j->uids));
		j->uids[j->n - 1] = (uint32_t)db_col_int(st, 0);
	}
	return rc == -1 ? STORE_ERR : STORE_OK;
}

/* ---- decoded header fields ----------------------------------------- */

static int
search_field(struct store *s, int64_t mailbox_id, struct search_job *j,
    const char **error_r)
{
	static const char *const sql[] = {
	    [STORE_SEARCH_SUBJECT] = "SELECT m.uid, i.subject FROM messages m"
		" JOIN body_info i ON i.body_id = m.body_id"
		" WHERE m.mailbox_id = ?1 ORDER BY m.uid",
	    [STORE_SEARCH_FROM] = "SELECT m.uid, i.from_list FROM messages m"
		" JOIN body_info i ON i.body_id = m.body_id"
		" WHERE m.mailbox_id = ?1 ORDER BY m.uid",
	    [STORE_SEARCH_TO] = "SELECT m.uid, i.to_list FROM messages m"
		" JOIN body_info i ON i.body_id = m.body_id"
		" WHERE m.mailbox_id = ?1 ORDER BY m.uid",
	    [STORE_SEARCH_CC] = "SELECT m.uid, i.cc_list FROM messages m"
		" JOIN body_info i ON i.body_id = m.body_id"
		" WHERE m.mailbox_id = ?1 ORDER BY m.uid",
	    [STORE_SEARCH_BCC] = "SELECT m.uid, i.bcc_list FROM messages m"
		" JOIN body_info i ON i.body_id = m.body_id"
		" WHERE m.mailbox_id = ?1 ORDER BY m.uid",
	};
	sqlite3_stmt *st = store_stmt(s, sql[j->key], error_r);
	const char *v;
	int rc;

	if (st == NULL || db_bind_int(st, 1, mailbox_id) == -1)
		return STORE_ERR;
	while ((rc = db_step_row(s->db, st, error_r)) == 1) {
		/* An absent field contains nothing, not even "". */
		if (db_col_is_null(st, 1))
			continue;
		v = db_col_text(st, 1);
		if (!text_has(j, v, strlen(v)))
			continue;
		j->uids = store_array_add(j->uids, &j->n, &j->alloc,
		    sizeof(*j->uids));
		j->uids[j->n - 1] = (uint32_t)db_col_int(st, 0);
	}
	return rc == -1 ? STORE_ERR : STORE_OK;
}

int
store_search(struct store *s, int64_t mailbox_id, enum store_search_key key,
    const char *field, const char *needle, uint32_t **uids_r,
    size_t *count_r, const char **error_r)
{
	struct search_job j = { .key = key, .field = field };
	int rc;

	*uids_r = NULL;
	*count_r = 0;
	if (needle == NULL || (unsigned)key > STORE_SEARCH_HEADER ||
	    (key == STORE_SEARCH_HEADER && (field == NULL || *field == '\0')))
		return store_fail(s, error_r, STORE_INVALID, "invalid search "
		    "key");
	fold_text(needle, strlen(needle), &j.needle);
	if (key == STORE_SEARCH_TEXT || key == STORE_SEARCH_BODY ||
	    key == STORE_SEARCH_HEADER)
		rc = search_fts(s, mailbox_id, needle, &j, error_r);
	else
		rc = search_field(s, mailbox_id, &j, error_r);
	buf_release(&j.needle);
	buf_release(&j.tmp);
	if (rc != STORE_OK) {
		free(j.uids);
		return rc;
	}
	*uids_r = j.uids;
	*count_r = j.n;
	return STORE_OK;
}
