/*
 * counters: rate counters shared by every smtp worker of sluiced and read
 * by sluicectl, keyed by (limit name, scope key) with a sliding window.
 *
 * Contract:
 *  - The store is a file (run_dir/counters) mapped MAP_SHARED. The master
 *    calls counters_create() once at start, before forking workers; the
 *    workers use the inherited handle (or counters_open() the path), and a
 *    SIGHUP reload leaves the file alone, so counts survive it. sluicectl
 *    opens the file read-only. Counting needs no system call.
 *  - counters_create() builds a new file beside the old one and renames it
 *    into place; entries of a compatible old file (any capacity) are
 *    carried over, anything else (wrong magic, version, layout or size) is
 *    replaced. Processes still mapping the old file keep counting there
 *    and are not seen by the new one: call it at master start only.
 *    counters_open() refuses such a file instead of misreading it.
 *  - Capacity is fixed at creation and never grows. A key is looked up in
 *    COUNTERS_PROBES consecutive slots from its hash; when none holds it
 *    and none is free, the slot whose counts expire first is reused
 *    (expired ones before live ones). Keys (limit NUL scope) longer than
 *    COUNTERS_KEY_SIZE are stored truncated; the keyed 64-bit hash and the
 *    full length still tell them apart.
 *  - Window: fixed windows aligned to multiples of window_secs since the
 *    epoch, two per key (current and previous); a count is the current
 *    window plus the previous one weighted by the part of it still inside
 *    the sliding window (floor). A burst at a window edge therefore does
 *    not double the limit. A key used with a different window_secs than
 *    its slot holds starts again from zero (a reload changed the limit).
 *  - Time is passed in (Unix seconds); nothing here reads the clock, except
 *    the lock timeout.
 *  - Writers serialise on one process-shared robust mutex in the file.
 *    Every change saves the slot it changes first, so a process killed at
 *    any instant leaves at most its own unfinished change, which the next
 *    locker rolls back. A lock not obtained within a second (a stopped
 *    holder) makes the call fail open: it returns 0 and is counted in
 *    lock_failures. Read-only handles never lock; they read under a
 *    sequence counter and retry a bounded number of times.
 *  - counters_add() on a read-only handle, n == 0, window_secs outside
 *    1..UINT32_MAX, or a time beyond +-2^62 changes nothing and returns
 *    counters_get() (0 for invalid arguments). Counts saturate at
 *    UINT64_MAX.
 */
#ifndef SLUICE_COUNTERS_H
#define SLUICE_COUNTERS_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COUNTERS_SLOTS_DEFAULT	65536	/* 8 MiB */
#define COUNTERS_SLOTS_MIN	8
#define COUNTERS_SLOTS_MAX	(1u << 22)	/* 512 MiB */
/* Bytes of "limit NUL scope" kept in a slot; longer keys are truncated. */
#define COUNTERS_KEY_SIZE	88
/* Slots searched for a key: bounds the work of one call. */
#define COUNTERS_PROBES		32

struct counters;

struct counters_stats {
	size_t		capacity;
	size_t		used;		/* slots holding a key, live or not */
	uint64_t	evictions;	/* keys dropped to make room */
	uint64_t	recoveries;	/* lock taken over from a dead holder */
	uint64_t	lock_failures;	/* calls that failed open */
};

/*
 * Master: make a fresh table of `slots` slots at path (mode 0600, then
 * chown to uid/gid unless they are (uid_t)-1/(gid_t)-1), carrying over the
 * entries of a compatible file already there. NULL with a message in
 * *error_r (valid until the next call in this thread) on failure.
 */
struct counters *counters_create(const char *path, size_t slots, uid_t uid,
	    gid_t gid, const char **error_r);
/* Workers (read-write) and sluicectl (read-only): map an existing table. */
struct counters *counters_open(const char *path, bool readonly,
	    const char **error_r);
void	 counters_close(struct counters **cp);

/* Count n events at time now; returns the count after adding them. */
uint64_t counters_add(struct counters *c, const char *limit, const char *key,
	    int64_t window_secs, int64_t now, uint64_t n);
/* The count at time now, 0 for a key never seen or expired. */
/* Take back n events added in the current window (never below 0). */
void	 counters_sub(struct counters *c, const char *limit, const char *key,
	    int64_t window_secs, int64_t now, uint64_t n);
uint64_t counters_get(const struct counters *c, const char *limit,
	    const char *key, int64_t window_secs, int64_t now);

void	 counters_stats(const struct counters *c,
	    struct counters_stats *stats_r);

/*
 * For tests: hook called with the lock held in the middle of every change
 * made through this handle (after the slot is written, before the change
 * is marked finished), so a test can kill the process there.
 */
void	 counters_set_fault_hook(struct counters *c, void (*hook)(void *),
	    void *arg);

#endif
