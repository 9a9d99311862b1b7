/* Tests for qid: known encodings, validity, order across time boundaries,
 * monotonic generators, and no duplicates across processes. */
#include <sys/types.h>
#include <sys/wait.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qid.h"
#include "util.h"

#define MAX_MS	(QID_EPOCH_MS + (UINT64_C(1) << 42) - 1)
/* Later than the clock at init, so qid_next_at() sees time move on. */
#define FUTURE_MS	UINT64_C(5000000000000)	/* 2128 */

static const struct {
	uint64_t	 ms;
	unsigned int	 node, seq;
	const char	*id;
} known[] = {
	{ QID_EPOCH_MS, 0, 0, "000000000000" },
	{ QID_EPOCH_MS + 1, 0, 0, "000000008000" },
	{ QID_EPOCH_MS, 1, 0, "000000000100" },
	{ QID_EPOCH_MS, 0, 1, "000000000001" },
	{ QID_EPOCH_MS, 0, 31, "00000000000Z" },
	{ QID_EPOCH_MS, 0, 32, "000000000010" },
	{ QID_EPOCH_MS + 1000, 0, 0, "0000007T0000" },
	{ UINT64_C(1735689600000), 7, 42, "07BKBRG0071A" },	/* 2025 */
	{ UINT64_C(1763769600123), 3, 5, "0DWT558YR305" },
	{ MAX_MS, QID_NODE_MAX, QID_SEQ_MAX, "ZZZZZZZZZZZZ" },
};

Test(qid, encode_known)
{
	char id[QID_LEN + 1];

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		qid_encode(known[i].ms, known[i].node, known[i].seq, id);
		cr_expect_str_eq(id, known[i].id, "case %zu", i);
		cr_expect(qid_valid(id, strlen(id)));
		cr_expect_eq(qid_time_ms(id, QID_LEN), known[i].ms,
		    "case %zu", i);
	}
}

Test(qid, encode_clamps)
{
	char id[QID_LEN + 1];

	qid_encode(0, 0, 0, id);
	cr_assert_str_eq(id, "000000000000");
	qid_encode(QID_EPOCH_MS - 1, 0, 0, id);
	cr_assert_str_eq(id, "000000000000");
	qid_encode(UINT64_MAX, 0, 0, id);
	cr_assert_eq(qid_time_ms(id, QID_LEN), MAX_MS);
	/* Out-of-range node and seq cannot spill into the time bits. */
	qid_encode(QID_EPOCH_MS, QID_NODE_MAX + 2, QID_SEQ_MAX + 3, id);
	cr_assert_str_eq(id, "000000000102");
}

Test(qid, valid)
{
	static const struct {
		const char	*s;
		size_t		 len;
		bool		 ok;
	} t[] = {
		{ "0DWT558YR305", 12, true },
		{ "ZZZZZZZZZZZZ", 12, true },
		{ "", 0, false },
		{ "0DWT558YR30", 11, false },
		{ "0DWT558YR3055", 13, false },
		{ "0dwt558yr305", 12, false },
		{ "0DWT558YR30I", 12, false },
		{ "0DWT558YR30L", 12, false },
		{ "0DWT558YR30O", 12, false },
		{ "0DWT558YR30U", 12, false },
		{ "0DWT558YR30-", 12, false },
		{ "0DWT558YR30 ", 12, false },
		{ "0DWT558YR3\0" "5", 12, false },
		{ "/DWT558YR305", 12, false },
		{ "[DWT558YR305", 12, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		cr_expect_eq(qid_valid(t[i].s, t[i].len), t[i].ok, "case %zu",
		    i);
		if (!t[i].ok)
			cr_expect_eq(qid_time_ms(t[i].s, t[i].len), 0);
	}
}

Test(qid, alphabet_sorts_like_values)
{
	char a[QID_LEN + 1], b[QID_LEN + 1];

	for (unsigned int seq = 0; seq < QID_SEQ_MAX; seq++) {
		qid_encode(QID_EPOCH_MS, 0, seq, a);
		qid_encode(QID_EPOCH_MS, 0, seq + 1, b);
		cr_assert_lt(strcmp(a, b), 0, "%s !< %s", a, b);
	}
}

/* Every carry of the time field: the last id of one millisecond sorts
 * before the first of the next, whatever the node. */
Test(qid, sort_order_across_time_boundaries)
{
	char a[QID_LEN + 1], b[QID_LEN + 1];

	for (int bit = 0; bit < 42; bit++) {
		uint64_t ms = QID_EPOCH_MS + (UINT64_C(1) << bit);

		qid_encode(ms - 1, QID_NODE_MAX, QID_SEQ_MAX, a);
		qid_encode(ms, 0, 0, b);
		cr_assert_lt(strcmp(a, b), 0, "bit %d: %s !< %s", bit, a, b);
		cr_assert_lt(qid_time_ms(a, QID_LEN), qid_time_ms(b, QID_LEN));
	}
}

Test(qid, sequence_overflow_borrows_next_ms)
{
	struct qid_gen g;
	char prev[QID_LEN + 1], id[QID_LEN + 1], want[QID_LEN + 1];
	uint64_t t = FUTURE_MS;

	qid_gen_init(&g, 5);
	qid_next_at(&g, t, prev);
	cr_assert_eq(qid_time_ms(prev, QID_LEN), t);
	for (unsigned int i = 1; i <= QID_SEQ_MAX + 1; i++) {
		qid_next_at(&g, t, id);
		cr_assert_lt(strcmp(prev, id), 0);
		memcpy(prev, id, sizeof(id));
	}
	/* 1025 ids in one millisecond: the last is in the next one. */
	cr_assert_eq(qid_time_ms(id, QID_LEN), t + 1);
	/* The clock catching up does not go back to t + 1, seq 0. */
	qid_next_at(&g, t + 1, id);
	cr_assert_lt(strcmp(prev, id), 0);
	qid_encode(t + 1, 5, 1, want);
	cr_assert_str_eq(id, want);
}

Test(qid, clock_stepping_back)
{
	struct qid_gen g;
	char a[QID_LEN + 1], b[QID_LEN + 1];
	uint64_t t = FUTURE_MS;

	qid_gen_init(&g, 0);
	qid_next_at(&g, t, a);
	qid_next_at(&g, t - 60000, b);
	cr_assert_lt(strcmp(a, b), 0);
	cr_assert_eq(qid_time_ms(b, QID_LEN), t);
}

Test(qid, first_id_after_init_ms)
{
	struct qid_gen g;
	char id[QID_LEN + 1];
	uint64_t before;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	before = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	qid_gen_init(&g, 1);
	qid_next(&g, id);
	cr_assert_gt(qid_time_ms(id, QID_LEN), before);
	cr_assert_lt(qid_time_ms(id, QID_LEN), before + 60000);
}

Test(qid, node_out_of_range, .exit_code = EXIT_FAILURE,
    .init = cr_redirect_stderr)
{
	struct qid_gen g;

	qid_gen_init(&g, QID_NODE_MAX + 1);
}

Test(qid, monotonic_100000)
{
	struct qid_gen g;
	char prev[QID_LEN + 1], id[QID_LEN + 1];

	qid_gen_init(&g, 0);
	qid_next(&g, prev);
	for (int i = 0; i < 100000; i++) {
		qid_next(&g, id);
		cr_assert(qid_valid(id, strlen(id)));
		cr_assert_lt(strcmp(prev, id), 0, "%s !< %s", prev, id);
		memcpy(prev, id, sizeof(id));
	}
}

#define CHILDREN	4
#define PER_CHILD	20000
#define RECORD		(QID_LEN + 1)	/* id and '\n' */

/* Records from the children must not interleave in the pipe. */
_Static_assert(RECORD <= PIPE_BUF, "pipe writes must be atomic");

static void
child_generate(int fd, unsigned int node)
{
	struct qid_gen g;
	char rec[RECORD];

	qid_gen_init(&g, node);
	for (int i = 0; i < PER_CHILD; i++) {
		qid_next(&g, rec);
		rec[QID_LEN] = '\n';
		if (write(fd, rec, RECORD) != RECORD)
			_exit(2);
	}
	_exit(0);
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, QID_LEN);
}

Test(qid, no_duplicates_across_processes)
{
	char *all = xmalloc((size_t)CHILDREN * PER_CHILD * RECORD);
	size_t got = 0, want = (size_t)CHILDREN * PER_CHILD * RECORD;
	pid_t pids[CHILDREN];
	int fds[2], status;
	ssize_t n;

	cr_assert_eq(pipe(fds), 0);
	for (unsigned int i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0) {
			close(fds[0]);
			child_generate(fds[1], i);
		}
	}
	close(fds[1]);
	while ((n = read(fds[0], all + got, want - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		cr_assert_gt(n, 0);
		got += (size_t)n;
		if (got == want)
			break;
	}
	close(fds[0]);
	for (int i = 0; i < CHILDREN; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	cr_assert_eq(got, want);
	qsort(all, (size_t)CHILDREN * PER_CHILD, RECORD, cmp_id);
	for (size_t i = 1; i < (size_t)CHILDREN * PER_CHILD; i++)
		cr_assert_neq(memcmp(all + (i - 1) * RECORD, all + i * RECORD,
		    QID_LEN), 0, "duplicate %.12s", all + i * RECORD);
	free(all);
}
