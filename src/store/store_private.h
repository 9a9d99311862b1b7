/*
 * store_private: what the store's source files (store.c, store_mailbox.c,
 * store_deliver.c, store_fetch.c, store_search.c) share. Not for callers:
 * they see store.h only.
 *
 * Contract: functions named *_locked run inside a transaction the caller
 * began (db_begin) and leave committing or rolling back to it. Every
 * function returns a STORE_* code, with *error_r on STORE_ERR.
 */
#ifndef SLUICE_STORE_PRIVATE_H
#define SLUICE_STORE_PRIVATE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "store.h"
#include "util.h"

struct store {
	struct db	*db;
	bool		 readonly;
};

/* A mailboxes row as the write paths need it. */
struct store_mbox {
	int64_t		 id;
	char		*owner;
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
};

/* The flag columns of messages, in STORE_F_* bit order. */
#define STORE_FLAG_COLUMNS	"seen, answered, flagged, deleted, draft"

sqlite3_stmt *store_stmt(struct store *s, const char *sql,
	    const char **error_r);
int	 store_fail(struct store *s, const char **error_r, int code,
	    const char *fmt, ...) PRINTF_LIKE(4, 5);
/* STORE_ERR with a message when the store was opened read-only. */
int	 store_writable(struct store *s, const char **error_r);
/* Commit when rc is STORE_OK, else roll back; returns the outcome. */
int	 store_finish(struct store *s, int rc, const char **error_r);
/* A deferred (reading) transaction, so several reads see one state. */
int	 store_read_begin(struct store *s, const char **error_r);
void	 store_read_end(struct store *s);

/* Flags from five consecutive integer columns starting at col. */
unsigned store_col_flags(sqlite3_stmt *st, int col);
/* Bind the five flag bits to parameters idx .. idx + 4. */
int	 store_bind_flags(sqlite3_stmt *st, int idx, unsigned flags);

int	 store_mbox_load(struct store *s, int64_t id,
	    struct store_mbox *mb, const char **error_r);
int	 store_mbox_find(struct store *s, const char *owner,
	    const char *name, struct store_mbox *mb, const char **error_r);
void	 store_mbox_clear(struct store_mbox *mb);
/* Take nuids UIDs and one new HIGHESTMODSEQ (mb->highestmodseq after). */
int	 store_mbox_advance_locked(struct store *s, struct store_mbox *mb,
	    uint32_t nuids, const char **error_r);

/*
 * Mailbox names: "INBOX" in any case (and as the first level of a
 * hierarchy) becomes "INBOX"; refused are empty names, empty levels
 * ("a//b", "/a", "a/"), control characters, the LIST wildcards "*" and
 * "%", invalid UTF-8, and names over STORE_NAME_MAX octets. Returns a new
 * string, or NULL when name is invalid.
 */
char	*store_name_normalize(const char *name);
int	 store_mailbox_insert_locked(struct store *s, const char *owner,
	    const char *name, const char *use, int64_t *id_r,
	    const char **error_r);

/*
 * Keywords (space separated, compared ASCII case-insensitively) after a
 * STORE of kw (NULL: none) in mode; a new string without repeats.
 */
char	*store_keywords_apply(const char *cur, const char *kw,
	    enum store_flags_mode mode);

/*
 * Make room for one more element at the end of a malloc'd array of
 * *count elements of size octets and count it; returns the array (the
 * new element is the last, uninitialised).
 */
void	*store_array_add(void *array, size_t *count, size_t *alloc,
	    size_t size);

#endif
