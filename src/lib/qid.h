/*
 * qid: queue ids, the id of a message in every log line, the queue
 * database and "250 2.0.0 Ok: queued as ID".
 *
 * Contract: an id is 12 characters of the Crockford base32 alphabet
 * "0123456789ABCDEFGHJKMNPQRSTVWXYZ" (safe in file names, logs and SQL,
 * and in ASCII order), encoding 60 bits, most significant first:
 *
 *	42 bits	milliseconds since 2024-01-01T00:00:00Z (good until 2163)
 *	 8 bits	node: the number of the process that made it
 *	10 bits	sequence within that millisecond and process
 *
 * so comparing ids as plain strings (strcmp, SQL ORDER BY) orders them by
 * creation time to the millisecond, across processes, and the time can be
 * read back out of an id (qid_time_ms).
 *
 * Uniqueness comes from the node, not from chance: every process that
 * makes ids at the same time must have its own node number (the master
 * hands each worker its slot number). Random per-process sequences were
 * rejected: with a few workers each busy in the same milliseconds, 18
 * random bits collide within days. Within a process ids strictly
 * increase: after 1024 ids in one millisecond, or when the clock steps
 * back, the generator carries on in the next millisecond after the last
 * one it used instead of waiting, so it never blocks the event loop. A
 * restarted worker starts after the millisecond it was created in, so it
 * cannot repeat its predecessor's last ids. Not covered: a node restarted
 * after the wall clock stepped back past its predecessor's ids; the queue
 * database's unique key is the last line of defence.
 */
#ifndef SLUICE_QID_H
#define SLUICE_QID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QID_LEN		12
#define QID_NODE_BITS	8
#define QID_SEQ_BITS	10
#define QID_NODE_MAX	((1u << QID_NODE_BITS) - 1)
#define QID_SEQ_MAX	((1u << QID_SEQ_BITS) - 1)
#define QID_EPOCH_MS	UINT64_C(1704067200000)	/* 2024-01-01 UTC */

struct qid_gen {
	uint64_t	last_ms;	/* since QID_EPOCH_MS */
	uint32_t	node;
	uint32_t	seq;		/* next sequence number in last_ms */
};

/* qid_gen_init: exits through fatal() if node > QID_NODE_MAX. */
void	 qid_gen_init(struct qid_gen *g, unsigned int node);
/* qid_next: a new id from the wall clock; out is NUL-terminated. */
void	 qid_next(struct qid_gen *g, char out[QID_LEN + 1]);
/* qid_next_at: qid_next() at the given Unix time in milliseconds. */
void	 qid_next_at(struct qid_gen *g, uint64_t unix_ms,
	    char out[QID_LEN + 1]);

/*
 * qid_encode: the id for a Unix time in milliseconds, a node and a
 * sequence number. Times outside 2024..2163 are clamped to the range;
 * node and seq are cut to their bit widths.
 */
void	 qid_encode(uint64_t unix_ms, unsigned int node, unsigned int seq,
	    char out[QID_LEN + 1]);
/* qid_valid: exactly QID_LEN characters of the alphabet (upper case). */
bool	 qid_valid(const char *s, size_t len);
/* qid_time_ms: the Unix time in milliseconds an id was made, 0 if s is
 * not a valid id. */
uint64_t qid_time_ms(const char *s, size_t len);

#endif
