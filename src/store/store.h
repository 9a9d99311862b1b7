/*
 * store: the mailbox store over mail.db (sql/mail-*.sql), the only code
 * that touches it. Local delivery in sluiced writes through it; the POP3
 * and IMAP sessions of sluice-mboxd read and change mailboxes through it.
 *
 * Contract:
 * - A struct store is one connection to mail.db, used by one thread at a
 *   time. Every function returns a STORE_* code; on STORE_ERR *error_r
 *   says why (valid until the next call on the same store).
 * - Mailboxes belong to an owner (the user's address, as in
 *   directory.db). Names use "/" as the hierarchy separator; "INBOX" is
 *   matched case-insensitively and always stored as "INBOX", also as the
 *   first level of a longer name ("inbox/x" is "INBOX/x"). Names are
 *   UTF-8 of at most STORE_NAME_MAX octets without control characters,
 *   "*", "%" or empty levels ("a//b", "/a", "a/"); others are
 *   STORE_INVALID (for lookups: STORE_NOTFOUND).
 * - Every change that IMAP clients must see bumps the mailbox's
 *   HIGHESTMODSEQ by one and gives the changed messages that modseq
 *   (RFC 7162): delivery, append, copy and move into it, flag changes,
 *   expunge (recorded in the expunged table for QRESYNC VANISHED).
 * - Bodies are stored once per delivery however many recipients get them
 *   (reference counted: copies share them, the last expunge removes
 *   them). Per-recipient header lines (Return-Path, Delivered-To) are a
 *   prefix kept with the message, not in the shared body; every size and
 *   offset this API returns is of the message as the client sees it,
 *   prefix included.
 * - What IMAP needs is computed once when a message enters the store
 *   (msginfo.h): ENVELOPE, BODY, BODYSTRUCTURE, part offsets, search
 *   header fields, and the full-text index (FTS5).
 * - UID sets are arrays of ascending UIDs; the IMAP layer turns its
 *   sequence sets into them. UIDs that are not in the mailbox are
 *   skipped.
 * - Each function that writes is one transaction: all or nothing.
 * - A store opened with STORE_READONLY answers every writing function
 *   with STORE_ERR ("read-only").
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum store_result {
	STORE_OK	=  0,
	STORE_ERR	= -1,	/* database or I/O error: see *error_r */
	STORE_NOTFOUND	= -2,	/* no such mailbox / message / section */
	STORE_EXISTS	= -3,	/* mailbox name taken */
	STORE_OVERQUOTA	= -4,	/* the message would pass the quota */
	STORE_DUPLICATE	= -5,	/* (queue id, recipient) already delivered */
	STORE_INVALID	= -6,	/* bad argument, e.g. mailbox name */
};

/* Longest mailbox name, in octets. */
#define STORE_NAME_MAX	512

enum store_open_flags {
	STORE_CREATE	= 1 << 0,	/* create and migrate mail.db */
	STORE_READONLY	= 1 << 1,
};

/* Flags as bits; keywords are kept as text beside them. */
enum store_flag {
	STORE_F_SEEN		= 1 << 0,
	STORE_F_ANSWERED	= 1 << 1,
	STORE_F_FLAGGED		= 1 << 2,
	STORE_F_DELETED		= 1 << 3,
	STORE_F_DRAFT		= 1 << 4,
};

struct store;

/*
 * Open mail.db at path. STORE_CREATE creates the file and applies pending
 * schema migrations; without it the file must exist with the current
 * schema (else STORE_ERR saying to run "sluicectl migrate").
 * STORE_CREATE | STORE_READONLY is STORE_INVALID.
 */
int	 store_open(const char *path, unsigned flags, struct store **store_r,
	    const char **error_r);
void	 store_close(struct store **storep);

/* ---- mailboxes ---------------------------------------------------- */

/* A special-use mailbox created with each user ("Sent", "\\Sent"). */
struct store_special {
	const char	*name;
	const char	*use;		/* "\\Sent", "\\Drafts", "\\Trash",
					   "\\Junk", "\\Archive" */
};

struct store_mailbox {
	int64_t		 id;
	char		*owner;
	char		*name;
	char		*special_use;	/* NULL or "\\Sent", ... */
	bool		 subscribed;
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
	uint32_t	 messages;	/* EXISTS */
	uint32_t	 unseen;	/* without \Seen */
	uint32_t	 first_unseen;	/* UID of the first, 0: none */
	uint64_t	 bytes;		/* sum of sizes */
};
void	 store_mailbox_clear(struct store_mailbox *mb);

/*
 * Create the user's INBOX and the special mailboxes that are missing
 * (idempotent: a user who has them is left alone).
 */
int	 store_user_ensure(struct store *s, const char *owner,
	    const struct store_special *special, size_t nspecial,
	    const char **error_r);
/* Octets stored in all of owner's mailboxes (for quotas). */
int	 store_user_usage(struct store *s, const char *owner,
	    uint64_t *bytes_r, const char **error_r);

typedef int (*store_mailbox_cb)(const struct store_mailbox *mb, void *arg);
/* owner's mailboxes ordered by name (INBOX first), with their counts; a
 * callback returning non-zero stops the walk (returned as is). The rows
 * are read before the first callback, so callbacks may use the store. */
int	 store_mailbox_list(struct store *s, const char *owner,
	    store_mailbox_cb cb, void *arg, const char **error_r);
/* One mailbox by name (STATUS, SELECT); fills *mb. */
int	 store_mailbox_get(struct store *s, const char *owner,
	    const char *name, struct store_mailbox *mb, const char **error_r);
/* use may be NULL. STORE_EXISTS when the name is taken. */
int	 store_mailbox_create(struct store *s, const char *owner,
	    const char *name, const char *use, const char **error_r);
/* Deletes the mailbox and its messages; INBOX cannot be deleted
 * (STORE_INVALID). Children stay (RFC 3501 6.3.4). */
int	 store_mailbox_delete(struct store *s, const char *owner,
	    const char *name, const char **error_r);
/*
 * Renames it and its children ("a" -> "b" also renames "a/x" to "b/x").
 * New UIDVALIDITY for renamed mailboxes. STORE_NOTFOUND: no mailbox
 * from; STORE_EXISTS: to, or a child's new name, is taken;
 * STORE_INVALID: to is INBOX, or from itself or inside it.
 * Renaming INBOX moves its messages (keeping their UIDs, under the new
 * mailbox's UIDVALIDITY) to a new mailbox `to` and leaves INBOX empty,
 * its clients seeing them expunged; INBOX's children stay where they are
 * (RFC 3501 6.3.5), so "INBOX/old" is a fine new name.
 */
int	 store_mailbox_rename(struct store *s, const char *owner,
	    const char *from, const char *to, const char **error_r);
int	 store_mailbox_subscribe(struct store *s, const char *owner,
	    const char *name, bool subscribed, const char **error_r);

/* ---- delivery and append ------------------------------------------ */

/* One recipient of a local delivery. */
struct store_rcpt {
	const char	*owner;		/* the user (final address) */
	const char	*mailbox;	/* NULL: INBOX; one that does not
					   exist: STORE_NOTFOUND */
	uint64_t	 quota;		/* octets, 0: unlimited */
	const char	*prefix;	/* header lines for this copy
					   (Return-Path, Delivered-To), CRLF
					   ended, or NULL */
	/* Out: */
	int		 result;	/* STORE_OK, STORE_DUPLICATE,
					   STORE_OVERQUOTA, STORE_NOTFOUND
					   (no such mailbox), STORE_ERR */
	uint32_t	 uid;		/* when STORE_OK */
	int64_t		 mailbox_id;	/* when STORE_OK */
};

/*
 * Deliver msg (len octets, CRLF line ends) to each of rcpts in one
 * transaction: the body once, one message per recipient, each recipient
 * keyed by (queue_id, owner) in the deliveries table so that delivering
 * again (after a crash) gives STORE_DUPLICATE instead of a second copy.
 * A missing INBOX is created. The same owner twice in one call is
 * stored once (the second is STORE_DUPLICATE). Recipients refused
 * (STORE_OVERQUOTA, STORE_NOTFOUND) are not recorded as delivered. Each
 * quota is checked against store_user_usage() plus this copy's size,
 * prefix included. Returns STORE_OK when the transaction committed (each
 * rcpt's own result says what happened to it), or STORE_ERR (nothing was
 * stored; results are STORE_ERR).
 */
int	 store_deliver(struct store *s, const char *queue_id,
	    const char *msg, size_t len, int64_t internal_date,
	    struct store_rcpt *rcpts, size_t nrcpts, const char **error_r);

/* Has (queue_id, owner) been delivered? 1 yes, 0 no, STORE_ERR. */
int	 store_delivered(struct store *s, const char *queue_id,
	    const char *owner, const char **error_r);

/*
 * Forget at most limit delivery records older than before (Unix
 * seconds): once no queued message can be retried that far back, they
 * guard nothing. *count_r: how many went.
 */
int	 store_deliveries_prune(struct store *s, int64_t before, size_t limit,
	    size_t *count_r, const char **error_r);

/* IMAP APPEND: store msg in mailbox with flags/keywords; *uid_r and
 * *uidvalidity_r for APPENDUID. quota 0: unlimited. STORE_NOTFOUND when
 * the mailbox does not exist (the IMAP layer answers [TRYCREATE]). */
int	 store_append(struct store *s, const char *owner, const char *mailbox,
	    const char *msg, size_t len, int64_t internal_date,
	    unsigned flags, const char *keywords, uint64_t quota,
	    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r);

/* ---- messages ----------------------------------------------------- */

/* What a session keeps per message of its selected mailbox. */
struct store_msg {
	uint32_t	 uid;
	unsigned	 flags;		/* STORE_F_* */
	uint64_t	 modseq;
};

/*
 * The messages of a mailbox in UID order, the UIDs above after_uid only
 * (0: all), *msgs_r malloc'd (free() it). With changedsince > 0 only
 * those whose modseq is greater (CONDSTORE/QRESYNC).
 */
int	 store_messages(struct store *s, int64_t mailbox_id,
	    uint32_t after_uid, uint64_t changedsince,
	    struct store_msg **msgs_r, size_t *count_r, const char **error_r);

/* UIDs expunged with a modseq above since (QRESYNC VANISHED). */
int	 store_vanished(struct store *s, int64_t mailbox_id, uint64_t since,
	    uint32_t **uids_r, size_t *count_r, const char **error_r);

/* Everything FETCH may ask about a message except its content. */
struct store_meta {
	uint32_t	 uid;
	unsigned	 flags;
	char		*keywords;	/* space separated, "" when none */
	int64_t		 internal_date;
	uint64_t	 size;		/* RFC822.SIZE, prefix included */
	uint64_t	 modseq;
	char		*envelope;
	char		*body;
	char		*bodystructure;
	int64_t		 body_id;	/* for the section functions */
	char		*prefix;	/* per-copy header lines, "" none */
};
void	 store_meta_clear(struct store_meta *m);
int	 store_meta_get(struct store *s, int64_t mailbox_id, uint32_t uid,
	    struct store_meta *m, const char **error_r);

/* Which part of a section (RFC 3501 6.4.5 BODY[...]). */
enum store_section_part {
	STORE_SECT_ALL,		/* BODY[] or BODY[1]: the part's content */
	STORE_SECT_HEADER,	/* BODY[HEADER], BODY[1.2.HEADER] */
	STORE_SECT_TEXT,	/* BODY[TEXT] */
	STORE_SECT_MIME,	/* BODY[1.MIME]: the part's MIME header */
};

/*
 * Append octets [offset, offset + length) of a section of the message to
 * out (length UINT64_MAX: to the end), read from the blob without loading
 * the rest. section is "" for the whole message, or "1.2" etc.; with
 * STORE_SECT_ALL and section "" it is the whole message, prefix
 * included (BODY[]); STORE_SECT_HEADER of "" includes the prefix.
 * "N" is part N's content and "N" with STORE_SECT_MIME its MIME header;
 * STORE_SECT_HEADER and STORE_SECT_TEXT of "N" exist for message/rfc822
 * parts only. Part 1 of a message that is not multipart is its body
 * (RFC 3501 6.4.5). *total_r (may be NULL) gets the section's full size.
 * STORE_NOTFOUND for a message or section the message does not have;
 * STORE_INVALID for a malformed section or STORE_SECT_MIME of "". On
 * failure out is as it was.
 */
int	 store_section(struct store *s, int64_t mailbox_id, uint32_t uid,
	    const char *section, enum store_section_part what,
	    uint64_t offset, uint64_t length, struct buf *out,
	    uint64_t *total_r, const char **error_r);

/* How a flag change applies. */
enum store_flags_mode {
	STORE_FLAGS_SET,	/* FLAGS */
	STORE_FLAGS_ADD,	/* +FLAGS */
	STORE_FLAGS_REMOVE,	/* -FLAGS */
};

/*
 * Change flags and keywords of the UIDs in uids (ascending); with
 * unchangedsince > 0 (CONDSTORE) messages whose modseq is greater are
 * left alone and returned in *failed_r (malloc'd, NULL when none). Each
 * changed message gets the new HIGHESTMODSEQ (one new value per call);
 * *changed_r (malloc'd, NULL when none) lists them with their new flags
 * and modseq. A message the STORE does not change keeps its modseq and
 * is in neither list (RFC 7162 3.1.3). keywords is space separated, NULL
 * for none; keywords compare ASCII case-insensitively and are kept
 * without repeats. UNCHANGEDSINCE 0 (every message fails) is for the
 * IMAP layer to answer without calling this.
 */
int	 store_flags(struct store *s, int64_t mailbox_id, const uint32_t *uids,
	    size_t nuids, enum store_flags_mode mode, unsigned flags,
	    const char *keywords, uint64_t unchangedsince,
	    struct store_msg **changed_r, size_t *nchanged_r,
	    uint32_t **failed_r, size_t *nfailed_r, const char **error_r);

/*
 * Expunge: the messages with \Deleted among uids (NULL: all of the
 * mailbox's \Deleted messages; others in uids are left alone, as UID
 * EXPUNGE wants). *expunged_r (malloc'd, NULL when none) gets their UIDs
 * ascending; they are recorded for store_vanished().
 */
int	 store_expunge(struct store *s, int64_t mailbox_id,
	    const uint32_t *uids, size_t nuids, uint32_t **expunged_r,
	    size_t *count_r, const char **error_r);

/*
 * COPY (move false) or MOVE (move true) uids to mailbox dest_id of the
 * same owner. *dest_uids_r (malloc'd, same order as the source UIDs that
 * existed, *src_uids_r) for COPYUID; *uidvalidity_r the destination's.
 * Flags and keywords are kept, \Recent is not; bodies are shared. A
 * MOVE is one transaction: the messages change mailbox (their delivery
 * records follow them) and the source records them as expunged. quota
 * (0: unlimited) is checked for COPY only: a MOVE uses no more space.
 * STORE_NOTFOUND: no such mailbox; STORE_INVALID: another owner's.
 */
int	 store_copy(struct store *s, int64_t mailbox_id, int64_t dest_id,
	    const uint32_t *uids, size_t nuids, bool move, uint64_t quota,
	    uint32_t *uidvalidity_r, uint32_t **src_uids_r,
	    uint32_t **dest_uids_r, size_t *count_r, const char **error_r);

/* ---- search ------------------------------------------------------- */

enum store_search_key {
	STORE_SEARCH_TEXT,	/* header and body (full-text index) */
	STORE_SEARCH_BODY,	/* body text (full-text index) */
	STORE_SEARCH_SUBJECT,	/* substring, case-insensitive, decoded */
	STORE_SEARCH_FROM,
	STORE_SEARCH_TO,
	STORE_SEARCH_CC,
	STORE_SEARCH_BCC,
	STORE_SEARCH_HEADER,	/* header field `field` contains needle */
};

/*
 * UIDs (ascending, malloc'd) of the mailbox's messages matching one key.
 * TEXT/BODY use the FTS5 index for words (every word of needle present,
 * prefix match on the last), then confirm the substring in the decoded
 * text, so results are what RFC 3501 asks (substring, case-insensitive)
 * for the words the index knows. The IMAP layer combines keys.
 * Limits: a needle that starts inside a word ("ello" for "hello") is not
 * found by TEXT, BODY or HEADER; case folding covers ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic only; any run of white space
 * matches any other; the per-copy prefix lines (Return-Path,
 * Delivered-To) are not searched. SUBJECT ... BCC test the decoded field
 * (an absent field never matches, even ""); HEADER with needle "" asks
 * whether the field is present. field is required for HEADER only.
 */
int	 store_search(struct store *s, int64_t mailbox_id,
	    enum store_search_key key, const char *field, const char *needle,
	    uint32_t **uids_r, size_t *count_r, const char **error_r);

/* Sort fields for RFC 5256 SORT, per UID, in UID order. */
struct store_sortkey {
	uint32_t	 uid;
	int64_t		 date;		/* Date:, else internal date */
	int64_t		 arrival;	/* internal date */
	uint64_t	 size;		/* RFC822.SIZE */
	char		*subject;	/* base subject (RFC 5256) */
	/* The first address of From:, To:, Cc:, mailbox@host lower-case,
	 * "" when none. */
	char		*from;
	char		*to;
	char		*cc;
};
int	 store_sortkeys(struct store *s, int64_t mailbox_id,
	    struct store_sortkey **keys_r, size_t *count_r,
	    const char **error_r);
void	 store_sortkeys_free(struct store_sortkey *keys, size_t count);

#endif
