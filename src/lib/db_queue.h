/*
 * db_queue: typed access to queue.db (sql/queue-*.sql): the messages
 * Sluice has taken responsibility for, their bodies and recipients.
 *
 * Contract:
 * - A struct queue_msg is a message ready to be queued: its envelope, the
 *   header lines Sluice adds in front (prefix) and the body as received
 *   (msgbody.h). queue_msg_new/queue_msg_add_rcpt/queue_msg_free manage
 *   one; the char * fields are owned by it and freed with it, the
 *   const char * fields point at static strings.
 * - db_queue_insert() writes the messages row, the body and every
 *   recipient under one SAVEPOINT, so it is all or nothing: called inside
 *   a transaction it nests (the caller commits); called outside, it
 *   commits by itself. The body is streamed into the blob in 64 KiB
 *   pieces, so a message is never held whole in memory.
 * - Every function returns one of the QUEUE_* codes; on QUEUE_ERR (and
 *   QUEUE_EXISTS) *error_r says why, valid until the next call on the
 *   same db.
 * - Like every struct db, a connection is used by one thread at a time.
 */
#ifndef SLUICE_DB_QUEUE_H
#define SLUICE_DB_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "msgbody.h"
#include "qid.h"

enum queue_result {
	QUEUE_OK	= 0,
	QUEUE_ERR	= -1,	/* database or I/O error: see *error_r */
	QUEUE_EXISTS	= -2,	/* insert of a queue id already there */
	QUEUE_NOTFOUND	= -3,
};

/* DSN NOTIFY= (RFC 3461), stored as text: "NEVER" or "SUCCESS,DELAY". */
enum queue_notify {
	QUEUE_NOTIFY_NEVER	= 1 << 0,	/* alone, never with others */
	QUEUE_NOTIFY_SUCCESS	= 1 << 1,
	QUEUE_NOTIFY_FAILURE	= 1 << 2,
	QUEUE_NOTIFY_DELAY	= 1 << 3,
};

/* Longest text queue_notify_format() makes, with its NUL. */
#define QUEUE_NOTIFY_TEXT_MAX	sizeof("SUCCESS,FAILURE,DELAY")

struct queue_rcpt {
	char		*address;	/* normalised, as accepted */
	unsigned	 notify;	/* QUEUE_NOTIFY_* bits, 0: not given */
	char		*orcpt;		/* DSN ORCPT= "type;address", or NULL */
	char		*route;		/* "local", "relay:NAME", or NULL */
};

struct queue_msg {
	char		 id[QID_LEN + 1];
	int64_t		 arrived;	/* Unix seconds; also next_attempt */
	const char	*kind;		/* NULL: "mail"; "bounce", ... */
	char		*sender;	/* "" for the null sender <> */
	char		*listener;	/* a copy: the config may be reloaded
					   while the message waits */
	char		*client_addr;	/* these six may be NULL */
	char		*client_name;
	char		*helo;
	char		*auth_user;
	char		*tls_version;
	char		*tls_cipher;
	const char	*body_type;	/* NULL: "7BIT"; "8BITMIME",
					   "BINARYMIME" */
	bool		 smtputf8;
	const char	*dsn_ret;	/* NULL, "FULL" or "HDRS" */
	char		*dsn_envid;	/* xtext decoded, or NULL */
	struct queue_rcpt *rcpts;
	size_t		 nrcpts;
	size_t		 rcpts_alloc;
	/* Header lines Sluice puts before the body: Received, and on
	 * submission Message-ID and Date. CRLF line ends. */
	struct buf	 prefix;
	struct msgbody	*body;		/* NULL: empty */
};

/* An empty message: every pointer NULL, prefix empty. */
struct queue_msg *queue_msg_new(void);
/* Copies the strings; orcpt and route may be NULL. */
void	 queue_msg_add_rcpt(struct queue_msg *m, const char *address,
	    unsigned notify, const char *orcpt, const char *route);
/* Octets stored for it: prefix plus body. */
uint64_t queue_msg_size(const struct queue_msg *m);
/* Frees the strings, recipients, prefix and body; accepts NULL. */
void	 queue_msg_free(struct queue_msg **mp);

/*
 * NOTIFY bits as stored text, e.g. "SUCCESS,FAILURE". Returns 0, or -1
 * for 0 bits, unknown bits or NEVER with others. size >=
 * QUEUE_NOTIFY_TEXT_MAX always suffices.
 */
int	 queue_notify_format(unsigned notify, char *out, size_t size);
/*
 * Parse "NEVER" or a comma list of SUCCESS, FAILURE, DELAY (any case, as
 * RFC 3461 writes it and as stored). Returns 0 with the bits, or -1 with
 * a reason in *error_r.
 */
int	 queue_notify_parse(const char *s, size_t len, unsigned *notify_r,
	    const char **error_r);

/*
 * Queue m: messages row (state of every recipient 'queued', next_attempt
 * = arrived), body = prefix + body content, recipients. All or nothing
 * (see above). QUEUE_EXISTS when m->id is already queued.
 */
int	 db_queue_insert(struct db *db, const struct queue_msg *m,
	    const char **error_r);

/* Messages in the queue. */
int	 db_queue_message_count(struct db *db, int64_t *count_r,
	    const char **error_r);

/* Append the stored body of message id to out (for tests and sluicectl). */
int	 db_queue_body_read(struct db *db, const char *id, struct buf *out,
	    const char **error_r);
/*
 * The body in pieces (delivery): its row and size, then len octets from
 * offset (all of them, or QUEUE_ERR, also when row is no longer id's
 * body). Each read is its own short read transaction: no snapshot is
 * held between pieces.
 */
int	 db_queue_body_locate(struct db *db, const char *id, int64_t *row_r,
	    uint64_t *size_r, const char **error_r);
int	 db_queue_body_read_at(struct db *db, const char *id, int64_t row,
	    uint64_t offset, void *out, size_t len, const char **error_r);

/*
 * For the queue writer's transactions: whether a transaction is open.
 * SQLite rolls a whole transaction back by itself on some errors (disk
 * full, I/O error); after a failed insert this tells whether the
 * messages inserted before it in the same transaction are still there.
 */
bool	 db_queue_in_transaction(struct db *db);

/* ---- delivery (db_queue_sched.c) -------------------------------------- */

/* A recipient due for delivery, with what its message's envelope says. */
struct queue_due {
	int64_t		 rcpt_id;
	char		 message_id[QID_LEN + 1];
	char		*address;
	char		*orcpt;		/* NULL: none */
	char		*route;		/* NULL: by domain */
	unsigned	 notify;	/* QUEUE_NOTIFY_* bits, 0: not given */
	int		 attempts;
	int64_t		 next_attempt;
};
void	 queue_due_clear(struct queue_due *d);

/* Return non-zero to stop the walk (the value is returned). */
typedef int (*queue_due_cb)(const struct queue_due *d, void *arg);

/*
 * Recipients waiting (queued or deferred) whose next attempt is at or
 * before now, of messages not held, in (next_attempt, id) order after the
 * cursor (after_time, after_id), at most limit of them: an index range
 * scan, so a large deferred queue costs nothing until it is due.
 */
int	 db_queue_due(struct db *db, int64_t now, int64_t after_time,
	    int64_t after_id, size_t limit, queue_due_cb cb, void *arg,
	    const char **error_r);
/*
 * The same for the rows committed since after_id whose next attempt is
 * before before_time, in id order: new mail timed before rows already
 * read (a message's time is taken before its commit, and commits are
 * serial), which a scan going on from its (time, id) cursor would miss.
 */
int	 db_queue_due_late(struct db *db, int64_t now, int64_t after_id,
	    int64_t before_time, size_t limit, queue_due_cb cb, void *arg,
	    const char **error_r);
/* When the next waiting recipient of an unheld message due after `after`
 * is due; *when_r 0 when none. */
int	 db_queue_next_due(struct db *db, int64_t after, int64_t *when_r,
	    const char **error_r);

/* A queued message's envelope, for delivery and notices. */
struct queue_envelope {
	char		 id[QID_LEN + 1];
	int64_t		 arrived;
	char		*sender;	/* "": null sender */
	char		*kind;		/* mail, bounce, delay, success */
	int64_t		 size;
	bool		 smtputf8;
	char		*body_type;
	char		*dsn_ret;	/* NULL, FULL, HDRS */
	char		*dsn_envid;
	bool		 delay_notified;	/* its delay notice went out */
	bool		 held;			/* an operator holds it */
};
void	 queue_envelope_clear(struct queue_envelope *e);
int	 db_queue_envelope_get(struct db *db, const char *id,
	    struct queue_envelope *e, const char **error_r);

/*
 * Remove at most limit messages that arrived before `before` and whose
 * recipients all reached a final state before it (delivered, relayed or
 * failed mail kept for operators' queries: queue_retention). *count_r:
 * how many went.
 */
int	 db_queue_purge(struct db *db, int64_t before, size_t limit,
	    size_t *count_r, const char **error_r);

/* Record that message_id's one delay notice was sent. */
int	 db_queue_delay_notified(struct db *db, const char *message_id,
	    const char **error_r);

/* The outcome of one delivery attempt for one recipient. */
struct queue_outcome {
	int64_t		 rcpt_id;
	const char	*result;	/* delivered, relayed, deferred, failed */
	const char	*status;	/* enhanced status code */
	const char	*diagnostic;	/* reply or local reason */
	int64_t		 started;	/* Unix seconds */
	int64_t		 duration_ms;
	int64_t		 next_attempt;	/* deferred: when to retry */
	const char	*mx;		/* remote side; NULL for local */
	const char	*ip;
	int		 port;
	const char	*dnssec;
	const char	*tls_version;
	const char	*tls_cipher;
	const char	*dane;
};

/*
 * Record o: the recipient's state, counters and last result, and an
 * attempts row. Call inside a transaction (db_begin) with the others of
 * the same batch. QUEUE_NOTFOUND (nothing written) when the recipient is
 * no longer waiting: an operator finished or removed it meanwhile.
 */
int	 db_queue_outcome(struct db *db, const struct queue_outcome *o,
	    const char **error_r);

/*
 * Add address to message_id as a recipient expanded from the recipient
 * parent_id (an alias), due now, unless the message already has that
 * address. *added_r tells which.
 */
int	 db_queue_rcpt_expand(struct db *db, const char *message_id,
	    int64_t parent_id, const char *address, unsigned notify,
	    const char *orcpt, int64_t now, bool *added_r,
	    const char **error_r);

/* ---- administration (db_queue_admin.c): sluicectl queue ------------- */

/* A row of queue_overview; strings valid during the callback. */
struct queue_summary {
	const char	*id;
	const char	*arrived_at;	/* UTC text */
	const char	*sender;	/* "<>" for the null sender */
	int64_t		 size;
	const char	*kind;
	bool		 held;
	int64_t		 queued, deferred, delivered, failed;
};
typedef int (*queue_summary_cb)(const struct queue_summary *q, void *arg);

/* Messages in id (arrival) order: with all false only those with
 * recipients still waiting. */
int	 db_queue_list(struct db *db, bool all, queue_summary_cb cb, void *arg,
	    const char **error_r);

struct queue_rcpt_row {
	const char	*address;
	const char	*state;
	int64_t		 attempts;
	const char	*next_attempt_at;	/* UTC text */
	const char	*status;		/* "" when none */
	const char	*diagnostic;
};
typedef int (*queue_rcpt_row_cb)(const struct queue_rcpt_row *r, void *arg);

/* The recipients of message id; QUEUE_NOTFOUND when it has none. */
int	 db_queue_recipients(struct db *db, const char *id,
	    queue_rcpt_row_cb cb, void *arg, const char **error_r);
/* Make every waiting recipient (of id; NULL: of every message) due now. */
int	 db_queue_flush(struct db *db, const char *id, int64_t now,
	    size_t *count_r, const char **error_r);
/* Hold (no delivery until released) or release message id (its
 * recipients already due become due now). */
int	 db_queue_hold(struct db *db, const char *id, bool held,
	    const char **error_r);
/* Remove message id with its body, recipients and attempts. */
int	 db_queue_delete(struct db *db, const char *id, const char **error_r);

#endif
