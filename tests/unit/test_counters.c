/* Tests for counters: exact counts across processes, the sliding window,
 * eviction, long keys, crash recovery, file validation and read-only
 * handles. Time is always passed in. */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "counters.h"
#include "util.h"

static char dir[] = "/tmp/sluice-test-counters-XXXXXX";
static char *path;

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	path = xasprintf("%s/counters", dir);
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", dir);
	free(cmd);
	free(path);
}

TestSuite(counters, .init = setup, .fini = teardown, .timeout = 60);

static struct counters *
make(size_t slots)
{
	const char *err = NULL;
	struct counters *c = counters_create(path, slots, (uid_t)-1,
	    (gid_t)-1, &err);

	cr_assert_not_null(c, "counters_create: %s", err);
	return c;
}

static struct counters_stats
stats_of(const struct counters *c)
{
	struct counters_stats st;

	counters_stats(c, &st);
	return st;
}

static void
write_file(const char *p, const void *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void *
read_file(const char *p, size_t *len_r)
{
	struct stat st;
	void *data;
	int fd = open(p, O_RDONLY);

	cr_assert(fd >= 0);
	cr_assert_eq(fstat(fd, &st), 0);
	data = xmalloc((size_t)st.st_size);
	cr_assert_eq(read(fd, data, (size_t)st.st_size), st.st_size);
	close(fd);
	*len_r = (size_t)st.st_size;
	return data;
}

static int
wait_child(pid_t pid)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

Test(counters, create_open_close)
{
	struct counters *c = make(COUNTERS_SLOTS_MIN), *rw, *ro;
	struct stat st;
	const char *err = NULL;

	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(stats_of(c).capacity, COUNTERS_SLOTS_MIN);
	cr_assert_eq(stats_of(c).used, 0);
	rw = counters_open(path, false, &err);
	cr_assert_not_null(rw, "%s", err);
	ro = counters_open(path, true, &err);
	cr_assert_not_null(ro, "%s", err);
	/* Three handles, one table. */
	cr_assert_eq(counters_add(c, "l", "k", 60, 1000, 2), 2);
	cr_assert_eq(counters_add(rw, "l", "k", 60, 1000, 3), 5);
	cr_assert_eq(counters_get(ro, "l", "k", 60, 1000), 5);
	cr_assert_eq(stats_of(ro).used, 1);
	counters_close(&ro);
	counters_close(&rw);
	counters_close(&c);
	cr_assert_null(c);
	counters_close(&c);	/* NULL is fine */
	/* No temporary left beside it. */
	char *tmp = xasprintf("%s.new.%ld", path, (long)getpid());
	cr_assert_eq(access(tmp, F_OK), -1);
	free(tmp);
}

Test(counters, create_capacity_bounds)
{
	static const struct {
		size_t	slots;
		bool	ok;
	} cases[] = {
		{ 0, false },
		{ 1, false },
		{ COUNTERS_SLOTS_MIN - 1, false },
		{ COUNTERS_SLOTS_MIN, true },
		{ COUNTERS_SLOTS_MIN + 1, true },
		{ COUNTERS_SLOTS_DEFAULT, true },
		{ (size_t)COUNTERS_SLOTS_MAX + 1, false },
		{ SIZE_MAX, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *err = NULL;
		struct counters *c = counters_create(path, cases[i].slots,
		    (uid_t)-1, (gid_t)-1, &err);

		cr_assert_eq(c != NULL, cases[i].ok, "slots %zu: %s",
		    cases[i].slots, err ? err : "");
		if (c != NULL)
			cr_assert_eq(stats_of(c).capacity, cases[i].slots);
		else
			cr_assert_not_null(strstr(err, "slots is outside"));
		counters_close(&c);
	}
}

Test(counters, create_errors)
{
	const char *err = NULL;
	char *bad = xasprintf("%s/missing/counters", dir);

	cr_assert_null(counters_create(bad, 64, (uid_t)-1, (gid_t)-1, &err));
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);
	free(bad);
	cr_assert_null(counters_open(path, false, &err));
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);
	/* uid/gid given: chown to ourselves works. */
	struct counters *c = counters_create(path, 64, getuid(), getgid(),
	    &err);
	cr_assert_not_null(c, "%s", err);
	counters_close(&c);
}

Test(counters, counts_and_keys_are_separate)
{
	struct counters *c = make(1024);

	cr_assert_eq(counters_add(c, "conn", "192.0.2.1", 60, 100, 1), 1);
	cr_assert_eq(counters_add(c, "conn", "192.0.2.1", 60, 100, 1), 2);
	cr_assert_eq(counters_add(c, "conn", "192.0.2.2", 60, 100, 1), 1);
	cr_assert_eq(counters_add(c, "msgs", "192.0.2.1", 60, 100, 5), 5);
	/* The separator keeps ("ab", "c") and ("a", "bc") apart. */
	cr_assert_eq(counters_add(c, "ab", "c", 60, 100, 1), 1);
	cr_assert_eq(counters_add(c, "a", "bc", 60, 100, 1), 1);
	cr_assert_eq(counters_add(c, "", "", 60, 100, 7), 7);
	cr_assert_eq(counters_add(c, "", "x", 60, 100, 1), 1);
	cr_assert_eq(counters_add(c, "x", "", 60, 100, 1), 1);
	cr_assert_eq(counters_get(c, "", "", 60, 100), 7);
	cr_assert_eq(counters_get(c, "conn", "192.0.2.1", 60, 100), 2);
	cr_assert_eq(counters_get(c, "conn", "192.0.2.3", 60, 100), 0);
	cr_assert_eq(counters_get(c, "CONN", "192.0.2.1", 60, 100), 0);
	cr_assert_eq(stats_of(c).used, 8);
	cr_assert_eq(stats_of(c).evictions, 0);
	counters_close(&c);
}

/* The sliding window, step by step: "add" with n, or "get" when n == 0. */
Test(counters, sliding_window)
{
	static const struct {
		int64_t		now;
		uint64_t	n;
		uint64_t	want;
	} steps[] = {
		{ 0, 1, 1 },
		{ 59, 1, 2 },
		{ 59, 0, 2 },
		{ 60, 1, 3 },		/* 1 + 2 * 60/60 */
		{ 90, 0, 2 },		/* 1 + 2 * 30/60 */
		{ 119, 0, 1 },		/* 1 + floor(2 * 1/60) */
		{ 120, 0, 1 },		/* previous window (1) fully weighted */
		{ 150, 0, 0 },		/* floor(1 * 30/60) */
		{ 180, 0, 0 },		/* both windows gone */
		{ 180, 3, 3 },		/* window 120 was empty: prev = 0 */
		{ 240, 1000, 1003 },
		{ 300, 0, 1000 },
		{ 315, 0, 750 },	/* 1000 * 45/60 */
		{ 359, 0, 16 },		/* floor(1000 * 1/60) */
		{ 360, 0, 0 },
		{ 1000000, 0, 0 },
		{ 1000000, 1, 1 },
	};
	struct counters *c = make(64);

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		uint64_t got = steps[i].n != 0 ?
		    counters_add(c, "l", "k", 60, steps[i].now, steps[i].n) :
		    counters_get(c, "l", "k", 60, steps[i].now);

		cr_assert_eq(got, steps[i].want, "step %zu (t=%lld): %llu, "
		    "want %llu", i, (long long)steps[i].now,
		    (unsigned long long)got, (unsigned long long)steps[i].want);
	}
	counters_close(&c);
}

/* A burst at the end of one window and the start of the next is seen
 * whole: fixed windows would report only the second half. */
Test(counters, sliding_window_edge_burst)
{
	struct counters *c = make(64);

	cr_assert_eq(counters_add(c, "l", "k", 3600, 3599, 100), 100);
	cr_assert_eq(counters_add(c, "l", "k", 3600, 3600, 100), 200);
	cr_assert_eq(counters_get(c, "l", "k", 3600, 3600 + 1800), 150);
	counters_close(&c);
}

Test(counters, window_edges)
{
	struct counters *c = make(64);

	/* Negative times floor to the window below. */
	cr_assert_eq(counters_add(c, "neg", "k", 60, -1, 1), 1);
	cr_assert_eq(counters_get(c, "neg", "k", 60, -60), 1);
	cr_assert_eq(counters_get(c, "neg", "k", 60, 0), 1);
	cr_assert_eq(counters_get(c, "neg", "k", 60, 59), 0);
	/* One-second windows. */
	cr_assert_eq(counters_add(c, "one", "k", 1, 5, 2), 2);
	cr_assert_eq(counters_get(c, "one", "k", 1, 6), 2);
	cr_assert_eq(counters_get(c, "one", "k", 1, 7), 0);
	/* The largest window. */
	cr_assert_eq(counters_add(c, "big", "k", UINT32_MAX, 1, 1), 1);
	cr_assert_eq(counters_get(c, "big", "k", UINT32_MAX,
	    (int64_t)UINT32_MAX - 1), 1);
	/* A different window for the same key starts over. */
	cr_assert_eq(counters_add(c, "w", "k", 60, 100, 5), 5);
	cr_assert_eq(counters_get(c, "w", "k", 3600, 100), 0);
	cr_assert_eq(counters_add(c, "w", "k", 3600, 100, 1), 1);
	cr_assert_eq(counters_get(c, "w", "k", 60, 100), 0);
	/* The clock went back: events still count, nothing is lost. */
	cr_assert_eq(counters_add(c, "back", "k", 60, 120, 1), 1);
	cr_assert_eq(counters_add(c, "back", "k", 60, 60, 1), 2);
	cr_assert_eq(counters_get(c, "back", "k", 60, 0), 2);
	cr_assert_eq(counters_get(c, "back", "k", 60, 130), 2);
	counters_close(&c);
}

Test(counters, invalid_arguments_change_nothing)
{
	static const struct {
		int64_t	window;
		int64_t	now;
	} cases[] = {
		{ 0, 100 },
		{ -1, 100 },
		{ INT64_MIN, 100 },
		{ (int64_t)UINT32_MAX + 1, 100 },
		{ INT64_MAX, 100 },
		{ 60, INT64_MAX },
		{ 60, INT64_MIN },
		{ 60, (int64_t)1 << 62 },
		{ 60, -((int64_t)1 << 62) },
	};
	struct counters *c = make(64);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_eq(counters_add(c, "l", "k", cases[i].window,
		    cases[i].now, 1), 0, "case %zu", i);
		cr_assert_eq(counters_get(c, "l", "k", cases[i].window,
		    cases[i].now), 0, "case %zu", i);
	}
	/* n == 0 reads and creates nothing. */
	cr_assert_eq(counters_add(c, "l", "k", 60, 100, 0), 0);
	cr_assert_eq(stats_of(c).used, 0);
	cr_assert_eq(counters_add(c, "l", "k", 60, 100, 4), 4);
	cr_assert_eq(counters_add(c, "l", "k", 60, 100, 0), 4);
	/* Just inside the time range. */
	cr_assert_eq(counters_add(c, "t", "k", 60, ((int64_t)1 << 62) - 1,
	    1), 1);
	cr_assert_eq(counters_add(c, "t", "k", 60, -((int64_t)1 << 62) + 1,
	    1), 2);
	cr_assert_eq(stats_of(c).used, 2);
	cr_assert_eq(counters_add(NULL, "l", "k", 60, 100, 1), 0);
	cr_assert_eq(counters_get(NULL, "l", "k", 60, 100), 0);
	counters_close(&c);
}

Test(counters, counts_saturate)
{
	struct counters *c = make(64);

	cr_assert_eq(counters_add(c, "l", "k", 60, 0, UINT64_MAX - 1),
	    UINT64_MAX - 1);
	cr_assert_eq(counters_add(c, "l", "k", 60, 0, 5), UINT64_MAX);
	cr_assert_eq(counters_add(c, "l", "k", 60, 0, UINT64_MAX), UINT64_MAX);
	/* A full previous window weighted at 1/2, plus a full current one. */
	cr_assert_eq(counters_add(c, "l", "k", 60, 60, UINT64_MAX),
	    UINT64_MAX);
	cr_assert_eq(counters_get(c, "l", "k", 60, 150), UINT64_MAX / 2);
	counters_close(&c);
}

/* Keys around the stored size and the on-stack size, differing only in
 * their last byte, each keep their own count. */
Test(counters, long_keys_stay_distinct)
{
	static const size_t lens[] = {
		COUNTERS_KEY_SIZE - 3, COUNTERS_KEY_SIZE - 2,
		COUNTERS_KEY_SIZE - 1, COUNTERS_KEY_SIZE, 200, 253, 254, 255,
		256, 1000, 10000,
	};
	struct counters *c = make(4096);
	uint64_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		/* "l" NUL key: the whole key is lens[i] + 2 bytes. */
		char *a = xmalloc(lens[i] + 1), *b;

		/* A letter per length, so no key is a prefix of another. */
		memset(a, 'a' + (int)i, lens[i]);
		a[lens[i]] = '\0';
		b = xstrdup(a);
		b[lens[i] - 1] = 'Z';
		cr_assert_eq(counters_add(c, "l", a, 60, 0, 1), 1, "len %zu",
		    lens[i]);
		cr_assert_eq(counters_add(c, "l", b, 60, 0, 2), 2);
		cr_assert_eq(counters_add(c, "l", a, 60, 0, 1), 2);
		/* Same prefix, one byte longer. */
		a[lens[i] - 1] = '\0';
		cr_assert_eq(counters_get(c, "l", a, 60, 0), 0);
		cr_assert_eq(counters_add(c, "l", a, 60, 0, 5), 5);
		n += 3;
		free(a);
		free(b);
	}
	cr_assert_eq(stats_of(c).used, n);
	cr_assert_eq(stats_of(c).evictions, 0);
	counters_close(&c);
}

static char *
key_n(int i)
{
	return xasprintf("k%d", i);
}

/* With capacity at most COUNTERS_PROBES every key sees every slot, so
 * the choice of victim does not depend on the hash. */
Test(counters, eviction_prefers_expired_then_earliest_expiry)
{
	struct counters *c = make(8);
	char *k;

	for (int i = 0; i < 8; i++) {
		k = key_n(i);
		/* k3 was last seen at t=0: expired by t=1000. */
		cr_assert_eq(counters_add(c, "l", k, 60, i == 3 ? 0 : 1000,
		    10), 10);
		free(k);
	}
	cr_assert_eq(stats_of(c).used, 8);
	cr_assert_eq(counters_add(c, "l", "new1", 60, 1000, 1), 1);
	cr_assert_eq(stats_of(c).used, 8);
	cr_assert_eq(stats_of(c).evictions, 1);
	for (int i = 0; i < 8; i++) {
		k = key_n(i);
		cr_assert_eq(counters_get(c, "l", k, 60, 1000), i == 3 ? 0 : 10,
		    "%s", k);
		free(k);
	}
	counters_close(&c);
}

Test(counters, eviction_without_expired_takes_earliest_expiry)
{
	struct counters *c = make(8);
	char *k;

	/* k_i expires at 120 * (i + 1): nothing has expired at t=0. */
	for (int i = 0; i < 8; i++) {
		k = key_n(i);
		counters_add(c, "l", k, 60 * (i + 1), 0, 1);
		free(k);
	}
	cr_assert_eq(counters_add(c, "h", "x", 3600, 0, 1), 1);
	cr_assert_eq(counters_get(c, "l", "k0", 60, 0), 0);
	cr_assert_eq(counters_get(c, "l", "k1", 120, 0), 1);
	cr_assert_eq(counters_add(c, "h", "y", 3600, 0, 1), 1);
	cr_assert_eq(counters_get(c, "l", "k1", 120, 0), 0);
	cr_assert_eq(counters_get(c, "l", "k2", 180, 0), 1);
	cr_assert_eq(stats_of(c).evictions, 2);
	/* A flood of short-lived keys takes k2's slot, then keeps taking
	 * its own: one slot churns, the other seven keep their counts. */
	for (int i = 0; i < 100; i++) {
		k = xasprintf("flood%d", i);
		cr_assert_eq(counters_add(c, "l", k, 60, 0, 1), 1);
		free(k);
	}
	cr_assert_eq(counters_get(c, "l", "k2", 180, 0), 0);
	for (int i = 3; i < 8; i++) {
		k = key_n(i);
		cr_assert_eq(counters_get(c, "l", k, 60 * (i + 1), 0), 1);
		free(k);
	}
	cr_assert_eq(counters_get(c, "h", "x", 3600, 0), 1);
	cr_assert_eq(counters_get(c, "h", "y", 3600, 0), 1);
	cr_assert_eq(counters_get(c, "l", "flood98", 60, 0), 0);
	cr_assert_eq(counters_get(c, "l", "flood99", 60, 0), 1);
	cr_assert_eq(stats_of(c).used, 8);
	cr_assert_eq(stats_of(c).evictions, 102);
	counters_close(&c);
}

Test(counters, eviction_never_grows)
{
	struct counters *c = make(64);
	int keys = 5000;

	for (int i = 0; i < keys; i++) {
		char *k = key_n(i);

		cr_assert_eq(counters_add(c, "l", k, 60, i, 1), 1);
		/* The key just written is always found. */
		cr_assert_eq(counters_get(c, "l", k, 60, i), 1);
		free(k);
	}
	cr_assert_leq(stats_of(c).used, 64);
	cr_assert_eq(stats_of(c).used + stats_of(c).evictions,
	    (uint64_t)keys);
	counters_close(&c);
}

#define PROCS	4
#define ADDS	10000

Test(counters, exact_across_processes)
{
	struct counters *c = make(4096), *ro;
	const char *err = NULL;
	pid_t pids[PROCS];
	uint64_t last = 0, v;

	ro = counters_open(path, true, &err);
	cr_assert_not_null(ro, "%s", err);
	for (int p = 0; p < PROCS; p++) {
		cr_assert_neq(pids[p] = fork(), -1);
		if (pids[p] == 0) {
			char own[16];
			uint64_t got = 0;

			snprintf(own, sizeof(own), "own%d", p);
			for (int i = 0; i < ADDS; i++) {
				got = counters_add(c, "shared", "k", 3600, 100,
				    1);
				if (got == 0 || got > PROCS * ADDS)
					_exit(2);
				if (counters_add(c, "own", own, 3600, 100, 1)
				    != (uint64_t)i + 1)
					_exit(3);
			}
			_exit(0);
		}
	}
	/* A lock-free reader meanwhile sees a count that only grows. */
	time_t deadline = time(NULL) + 20;
	do {
		v = counters_get(ro, "shared", "k", 3600, 100);
		cr_assert_geq(v, last);
		cr_assert_leq(v, PROCS * ADDS);
		last = v;
	} while (v < PROCS * ADDS && time(NULL) < deadline);
	for (int p = 0; p < PROCS; p++) {
		int status = wait_child(pids[p]);

		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child %d: status %d", p, status);
	}
	cr_assert_eq(counters_get(c, "shared", "k", 3600, 100), PROCS * ADDS);
	cr_assert_eq(counters_get(ro, "shared", "k", 3600, 100), PROCS * ADDS);
	for (int p = 0; p < PROCS; p++) {
		char own[16];

		snprintf(own, sizeof(own), "own%d", p);
		cr_assert_eq(counters_get(c, "own", own, 3600, 100), ADDS);
	}
	cr_assert_eq(stats_of(c).used, 1 + PROCS);
	cr_assert_eq(stats_of(c).recoveries, 0);
	cr_assert_eq(stats_of(c).lock_failures, 0);
	counters_close(&ro);
	counters_close(&c);
}

static void
die_here(void *arg)
{
	(void)arg;
	raise(SIGKILL);
}

/* Run one counters_add in a child that is killed holding the lock. */
static void
add_and_die(struct counters *c, const char *limit, const char *key,
    int64_t window, int64_t now)
{
	pid_t pid = fork();
	int status;

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		counters_set_fault_hook(c, die_here, NULL);
		counters_add(c, limit, key, window, now, 1);
		_exit(0);
	}
	status = wait_child(pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

Test(counters, holder_killed_mid_change_is_rolled_back)
{
	struct counters *c = make(8), *ro;
	const char *err = NULL;
	struct counters_stats st;

	for (int i = 0; i < 5; i++)
		counters_add(c, "l", "k", 60, 100, 1);
	ro = counters_open(path, true, &err);
	cr_assert_not_null(ro, "%s", err);

	/* An update of an existing key. */
	add_and_die(c, "l", "k", 60, 100);
	/* A reader before anyone recovers: bounded retries, no hang. */
	uint64_t seen = counters_get(ro, "l", "k", 60, 100);
	cr_assert(seen == 5 || seen == 6, "%llu", (unsigned long long)seen);
	cr_assert_eq(counters_get(c, "l", "k", 60, 100), 5);
	st = stats_of(c);
	cr_assert_eq(st.recoveries, 1);
	cr_assert_eq(st.used, 1);
	cr_assert_eq(counters_get(ro, "l", "k", 60, 100), 5);

	/* An insertion into a free slot. */
	add_and_die(c, "l", "fresh", 60, 100);
	cr_assert_eq(counters_add(c, "l", "k", 60, 100, 1), 6);
	cr_assert_eq(counters_get(c, "l", "fresh", 60, 100), 0);
	st = stats_of(c);
	cr_assert_eq(st.recoveries, 2);
	cr_assert_eq(st.used, 1);

	/* An eviction: the evicted key comes back. */
	for (int i = 0; i < 7; i++) {
		char *k = key_n(i);

		counters_add(c, "l", k, 60, 1000, 1);
		free(k);
	}
	cr_assert_eq(stats_of(c).used, 8);
	add_and_die(c, "l", "evictor", 60, 1000);
	/* k was last written at t=100: it is the one the child evicted. */
	cr_assert_eq(counters_get(c, "l", "k", 60, 100), 6);
	st = stats_of(c);
	cr_assert_eq(st.recoveries, 3);
	cr_assert_eq(st.evictions, 0);
	cr_assert_eq(st.used, 8);
	cr_assert_eq(counters_add(c, "l", "evictor", 60, 1000, 1), 1);
	cr_assert_eq(stats_of(c).evictions, 1);
	cr_assert_eq(stats_of(c).lock_failures, 0);
	counters_close(&ro);
	counters_close(&c);
}

/* Children killed at random instants while counting: every time the
 * table stays usable and the count is exactly what the child finished,
 * or one more if it died between finishing an add and noting it. The
 * watched keys outlive the fresh ones, so evictions never take them. */
Test(counters, killed_at_random_instants)
{
	struct counters *c = make(256);
	_Atomic uint64_t *done;
	uint64_t recovered = 0;

	done = mmap(NULL, sizeof(*done), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(done, MAP_FAILED);
	srand((unsigned)time(NULL));
	for (int round = 0; round < 40; round++) {
		char key[32];
		pid_t pid;
		uint64_t got, n;

		snprintf(key, sizeof(key), "round%d", round);
		atomic_store(done, 0);
		cr_assert_neq(pid = fork(), -1);
		if (pid == 0) {
			for (uint64_t i = 0;; i++) {
				char fresh[32];

				counters_add(c, "kill", key, 3600, 100, 1);
				atomic_fetch_add(done, 1);
				/* New keys: insertions and evictions too. */
				snprintf(fresh, sizeof(fresh), "f%llu",
				    (unsigned long long)i);
				counters_add(c, "fresh", fresh, 60, 100, 1);
			}
		}
		usleep((useconds_t)(500 + rand() % 3000));
		kill(pid, SIGKILL);
		(void)wait_child(pid);
		n = atomic_load(done);
		got = counters_get(c, "kill", key, 3600, 100);
		cr_assert(got == n || got == n + 1, "round %d: %llu after %llu",
		    round, (unsigned long long)got, (unsigned long long)n);
		cr_assert_eq(counters_add(c, "after", key, 3600, 100, 1), 1);
	}
	recovered = stats_of(c).recoveries;
	cr_log_info("killed_at_random_instants: %llu recoveries in 40 kills",
	    (unsigned long long)recovered);
	cr_assert_leq(stats_of(c).used, 256);
	cr_assert_eq(stats_of(c).lock_failures, 0);
	munmap(done, sizeof(*done));
	counters_close(&c);
}

Test(counters, bad_files_refused_then_recreated)
{
	static const char *want[] = {
		"bad magic", "another version", "size does not match",
		"size does not match", "not a counters file",
	};
	struct counters *c, *good;
	const char *err = NULL;
	size_t len;
	char *img;

	good = make(64);
	counters_add(good, "l", "k", 60, 0, 1);
	counters_close(&good);
	img = read_file(path, &len);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		char *bad = xmalloc(len + 128);

		memcpy(bad, img, len);
		size_t blen = len;
		switch (i) {
		case 0:
			memcpy(bad, "SLUICEXX", 8);
			break;
		case 1:
			bad[8] ^= 0x7f;		/* the version */
			break;
		case 2:
			blen = len - 128;	/* one slot short */
			break;
		case 3:
			bad[len] = 0;		/* one byte long */
			blen = len + 1;
			break;
		case 4:
			blen = 10;		/* shorter than a header */
			break;
		}
		write_file(path, bad, blen);
		free(bad);
		for (int ro = 0; ro < 2; ro++) {
			cr_assert_null(counters_open(path, ro, &err),
			    "case %zu", i);
			cr_assert_not_null(strstr(err, want[i]), "case %zu: %s",
			    i, err);
		}
		c = make(64);
		cr_assert_eq(counters_get(c, "l", "k", 60, 0), 0);
		cr_assert_eq(stats_of(c).used, 0);
		counters_close(&c);
		cr_assert_not_null(c = counters_open(path, false, &err), "%s",
		    err);
		counters_close(&c);
	}
	/* Empty file, a directory, a symbolic link. */
	write_file(path, "", 0);
	cr_assert_null(counters_open(path, true, &err));
	cr_assert_not_null(strstr(err, "not a counters file"), "%s", err);
	char *sub = xasprintf("%s/sub", dir), *link = xasprintf("%s/link", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_null(counters_open(sub, true, &err));
	c = make(64);
	counters_close(&c);
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_null(counters_open(link, true, &err));
	free(sub);
	free(link);
	free(img);
}

Test(counters, recreate_carries_entries_over)
{
	struct counters *c = make(64), *old;
	char *k;

	for (int i = 0; i < 20; i++) {
		k = key_n(i);
		counters_add(c, "l", k, 60, 1000, (uint64_t)i + 1);
		free(k);
	}
	counters_add(c, "h", "x", 3600, 900, 3);
	old = c;
	c = make(128);		/* larger */
	cr_assert_eq(stats_of(c).capacity, 128);
	cr_assert_eq(stats_of(c).used, 21);
	for (int i = 0; i < 20; i++) {
		k = key_n(i);
		cr_assert_eq(counters_get(c, "l", k, 60, 1000),
		    (uint64_t)i + 1);
		free(k);
	}
	cr_assert_eq(counters_add(c, "h", "x", 3600, 1000, 1), 4);
	/* The old mapping is a different file now: not seen by the new. */
	cr_assert_eq(counters_add(old, "h", "x", 3600, 1000, 1), 4);
	cr_assert_eq(counters_get(c, "h", "x", 3600, 1000), 4);
	counters_close(&old);
	counters_close(&c);
	c = make(8);		/* smaller: the longest-lived entries stay */
	cr_assert_eq(stats_of(c).used, 8);
	cr_assert_eq(counters_get(c, "h", "x", 3600, 1000), 4);
	counters_close(&c);
}

Test(counters, read_only_cannot_write)
{
	struct counters *c = make(64), *ro;
	const char *err = NULL;
	size_t len1, len2;
	void *before, *after;

	counters_add(c, "l", "k", 60, 0, 3);
	ro = counters_open(path, true, &err);
	cr_assert_not_null(ro, "%s", err);
	before = read_file(path, &len1);
	cr_assert_eq(counters_add(ro, "l", "k", 60, 0, 1), 3);
	cr_assert_eq(counters_add(ro, "l", "new", 60, 0, 1), 0);
	cr_assert_eq(counters_get(ro, "l", "k", 60, 0), 3);
	after = read_file(path, &len2);
	cr_assert_eq(len1, len2);
	cr_assert(memcmp(before, after, len1) == 0);
	cr_assert_eq(stats_of(ro).used, 1);
	/* The mapping itself refuses writes: a read-only file opens. */
	cr_assert_eq(chmod(path, 0400), 0);
	counters_close(&ro);
	cr_assert_not_null(ro = counters_open(path, true, &err), "%s", err);
	cr_assert_eq(counters_get(ro, "l", "k", 60, 0), 3);
	free(before);
	free(after);
	counters_close(&ro);
	counters_close(&c);
}

/* Mode 0600: another user can neither read nor write the table. */
Test(counters, other_users_are_kept_out)
{
	struct counters *c = make(64);
	pid_t pid;

	if (geteuid() != 0) {
		counters_close(&c);
		cr_skip_test("needs root to switch users");
	}
	cr_assert_eq(chmod(dir, 0755), 0);	/* only the file's mode decides */
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		const char *err;

		if (setgid(65534) == -1 || setuid(65534) == -1)
			_exit(2);
		if (counters_open(path, false, &err) != NULL ||
		    strstr(err, "Permission denied") == NULL)
			_exit(3);
		if (counters_open(path, true, &err) != NULL)
			_exit(4);
		_exit(0);
	}
	int status = wait_child(pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d",
	    status);
	counters_close(&c);
}
