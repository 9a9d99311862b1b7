/* qid: see qid.h. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "qid.h"
#include "util.h"

#define QID_TIME_BITS	(5 * QID_LEN - QID_NODE_BITS - QID_SEQ_BITS)
#define QID_TIME_MAX	((UINT64_C(1) << QID_TIME_BITS) - 1)

/* Crockford's base32: no I, L, O, U, and in ASCII order. */
static const char qid_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static uint64_t
qid_since_epoch(uint64_t unix_ms)
{
	if (unix_ms < QID_EPOCH_MS)
		return 0;
	unix_ms -= QID_EPOCH_MS;
	return unix_ms > QID_TIME_MAX ? QID_TIME_MAX : unix_ms;
}

static uint64_t
qid_clock_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime(CLOCK_REALTIME) failed");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
qid_write(uint64_t ms, unsigned int node, unsigned int seq, char *out)
{
	uint64_t v = ms << (QID_NODE_BITS + QID_SEQ_BITS) |
	    (uint64_t)(node & QID_NODE_MAX) << QID_SEQ_BITS |
	    (seq & QID_SEQ_MAX);

	for (int i = QID_LEN - 1; i >= 0; i--) {
		out[i] = qid_alphabet[v & 31];
		v >>= 5;
	}
	out[QID_LEN] = '\0';
}

void
qid_encode(uint64_t unix_ms, unsigned int node, unsigned int seq,
    char out[QID_LEN + 1])
{
	qid_write(qid_since_epoch(unix_ms), node, seq, out);
}

void
qid_gen_init(struct qid_gen *g, unsigned int node)
{
	if (node > QID_NODE_MAX)
		fatal("qid: node %u over %u", node, QID_NODE_MAX);
	g->node = node;
	/* As if this millisecond were used up: a predecessor on this node
	 * may have made ids in it. */
	g->last_ms = qid_since_epoch(qid_clock_ms());
	g->seq = QID_SEQ_MAX + 1;
}

void
qid_next_at(struct qid_gen *g, uint64_t unix_ms, char out[QID_LEN + 1])
{
	uint64_t now = qid_since_epoch(unix_ms);

	if (now > g->last_ms) {
		g->last_ms = now;
		g->seq = 0;
	} else if (g->seq > QID_SEQ_MAX) {
		/* Borrow the next millisecond rather than wait for it. */
		g->last_ms++;
		g->seq = 0;
	}
	qid_write(g->last_ms, g->node, g->seq++, out);
}

void
qid_next(struct qid_gen *g, char out[QID_LEN + 1])
{
	qid_next_at(g, qid_clock_ms(), out);
}

static int
qid_digit(char c)
{
	const char *p = memchr(qid_alphabet, c, 32);

	return p != NULL ? (int)(p - qid_alphabet) : -1;
}

bool
qid_valid(const char *s, size_t len)
{
	if (len != QID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (qid_digit(s[i]) == -1)
			return false;
	return true;
}

uint64_t
qid_time_ms(const char *s, size_t len)
{
	uint64_t v = 0;

	if (!qid_valid(s, len))
		return 0;
	for (size_t i = 0; i < len; i++)
		v = v << 5 | (uint64_t)qid_digit(s[i]);
	return (v >> (QID_NODE_BITS + QID_SEQ_BITS)) + QID_EPOCH_MS;
}
