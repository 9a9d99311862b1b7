/* counters: see counters.h. */
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "util.h"

#define COUNTERS_MAGIC		"SLUICECT"
#define COUNTERS_VERSION	1
#define COUNTERS_BYTE_ORDER	0x01020304u
#define COUNTERS_LOCK_TIMEOUT	1		/* seconds */
#define COUNTERS_READ_TRIES	1000
/* Keys up to this long are assembled on the stack. */
#define COUNTERS_KEY_STACK	256
#define COUNTERS_TIME_MAX	((int64_t)1 << 62)

struct counters_slot {
	uint64_t	hash;		/* keyed hash of the key; 0: never used */
	int64_t		start;		/* current window, a multiple of window */
	uint64_t	cur;		/* events in the current window */
	uint64_t	prev;		/* events in the window before it */
	uint32_t	window;		/* seconds */
	uint32_t	key_len;	/* whole key, before truncation */
	char		key[COUNTERS_KEY_SIZE];	/* NUL padded */
};

_Static_assert(sizeof(struct counters_slot) == 128, "slot layout");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
    "64-bit atomics must be lock-free to live in shared memory");

struct counters_tally {
	uint64_t	used;
	uint64_t	evictions;
};

struct counters_header {
	alignas(64) char magic[8];
	uint32_t	version;
	uint32_t	byte_order;	/* refuses a file from another endianness */
	uint32_t	header_size;	/* differs where pthread_mutex_t does */
	uint32_t	slot_size;
	uint64_t	capacity;
	uint8_t		seed[16];	/* hash key: chosen keys cannot collide */
	pthread_mutex_t	lock;		/* process-shared, robust */
	_Atomic uint64_t seq;		/* odd while a change is under way */
	_Atomic uint64_t dirty;		/* 1 + slot being changed, or 0 */
	_Atomic uint64_t recoveries;
	_Atomic uint64_t lock_failures;
	struct counters_tally tally;
	struct counters_tally undo_tally;
	struct counters_slot undo;	/* the dirty slot as it was */
};

struct counters {
	struct counters_header	*hdr;
	struct counters_slot	*slots;
	size_t			 map_size;
	bool			 readonly;
	void			(*fault_hook)(void *);
	void			*fault_arg;
};

/* A key as looked up: "limit NUL scope" and its hash. */
struct counters_key {
	uint64_t	 hash;
	const char	*data;
	size_t		 len;
	char		*heap;
	char		 stack[COUNTERS_KEY_STACK];
};

static _Thread_local char counters_error[512];

static const char *
counters_seterr(const char *fmt, ...) PRINTF_LIKE(1, 2);

static const char *
counters_seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(counters_error, sizeof(counters_error), fmt, ap);
	va_end(ap);
	return counters_error;
}

/* SipHash-2-4 (Aumasson and Bernstein): fast, and keyed per file. */
static uint64_t
le64_load(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
rotl64(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static void
sip_rounds(uint64_t v[4], int n)
{
	while (n-- > 0) {
		v[0] += v[1];
		v[1] = rotl64(v[1], 13) ^ v[0];
		v[0] = rotl64(v[0], 32);
		v[2] += v[3];
		v[3] = rotl64(v[3], 16) ^ v[2];
		v[0] += v[3];
		v[3] = rotl64(v[3], 21) ^ v[0];
		v[2] += v[1];
		v[1] = rotl64(v[1], 17) ^ v[2];
		v[2] = rotl64(v[2], 32);
	}
}

static uint64_t
siphash24(const uint8_t seed[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = le64_load(seed), k1 = le64_load(seed + 8);
	uint64_t v[4] = {
		0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
		0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1,
	};
	uint64_t m, last = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64_load(in + i);
		v[3] ^= m;
		sip_rounds(v, 2);
		v[0] ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		last |= (uint64_t)in[i + j] << (8 * j);
	v[3] ^= last;
	sip_rounds(v, 2);
	v[0] ^= last;
	v[2] ^= 0xff;
	sip_rounds(v, 4);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static void
counters_key_make(const struct counters *c, const char *limit,
    const char *scope, struct counters_key *k)
{
	size_t llen = strlen(limit), slen = strlen(scope);
	char *p;

	k->len = llen + 1 + slen;
	k->heap = NULL;
	p = k->len <= sizeof(k->stack) ? k->stack : (k->heap = xmalloc(k->len));
	memcpy(p, limit, llen);
	p[llen] = '\0';
	memcpy(p + llen + 1, scope, slen);
	k->data = p;
	k->hash = siphash24(c->hdr->seed, (const uint8_t *)p, k->len);
	if (k->hash == 0)
		k->hash = 1;	/* 0 marks a slot never used */
}

static void
counters_key_free(struct counters_key *k)
{
	free(k->heap);
	k->heap = NULL;
}

static bool
slot_matches(const struct counters_slot *s, const struct counters_key *k)
{
	size_t n = k->len < COUNTERS_KEY_SIZE ? k->len : COUNTERS_KEY_SIZE;
	uint32_t len = k->len > UINT32_MAX ? UINT32_MAX : (uint32_t)k->len;

	return s->hash == k->hash && s->key_len == len &&
	    memcmp(s->key, k->data, n) == 0;
}

static void
slot_set_key(struct counters_slot *s, const struct counters_key *k)
{
	size_t n = k->len < COUNTERS_KEY_SIZE ? k->len : COUNTERS_KEY_SIZE;

	memset(s, 0, sizeof(*s));
	s->hash = k->hash;
	s->key_len = k->len > UINT32_MAX ? UINT32_MAX : (uint32_t)k->len;
	memcpy(s->key, k->data, n);
}

/* When a slot's counts all fall out of the sliding window. */
static int64_t
slot_expiry(const struct counters_slot *s)
{
	int64_t e;

	if (s->hash == 0)
		return INT64_MIN;
	if (__builtin_add_overflow(s->start, 2 * (int64_t)s->window, &e))
		return s->start < 0 ? INT64_MIN : INT64_MAX;
	return e;
}

/*
 * Look a key up in its probe sequence. Returns its slot and sets *found_r,
 * or returns the slot to reuse: the first never used, else the one whose
 * counts expire first. Lookups stop at a never-used slot: slots are reused
 * but never emptied, so no key lives past one.
 */
static size_t
counters_find(const struct counters_header *h,
    const struct counters_slot *slots, const struct counters_key *k,
    bool *found_r)
{
	size_t cap = h->capacity, probes, i, victim;
	int64_t best = INT64_MAX, e;

	probes = cap < COUNTERS_PROBES ? cap : COUNTERS_PROBES;
	i = victim = k->hash % cap;
	*found_r = false;
	for (size_t n = 0; n < probes; n++, i = i + 1 == cap ? 0 : i + 1) {
		if (slots[i].hash == 0)
			return i;
		if (slot_matches(&slots[i], k)) {
			*found_r = true;
			return i;
		}
		if ((e = slot_expiry(&slots[i])) < best) {
			best = e;
			victim = i;
		}
	}
	return victim;
}

static bool
counters_args_ok(int64_t window_secs, int64_t now)
{
	return window_secs >= 1 && window_secs <= UINT32_MAX &&
	    now > -COUNTERS_TIME_MAX && now < COUNTERS_TIME_MAX;
}

static int64_t
window_floor(int64_t now, int64_t w)
{
	int64_t q = now / w;

	if (now % w < 0)
		q--;
	return q * w;
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* n * part / w without overflow, for part <= w < 2^32. */
static uint64_t
scale(uint64_t n, uint64_t part, uint64_t w)
{
	return n / w * part + n % w * part / w;
}

/* The sliding count of a slot at time now (the slot's window). */
static uint64_t
slot_estimate(const struct counters_slot *s, int64_t now)
{
	int64_t w = s->window, ws = window_floor(now, w);
	uint64_t left = (uint64_t)(w - (now - ws));

	if (s->start > ws)	/* the clock went back: count it all */
		return sat_add(s->cur, s->prev);
	if (s->start == ws)
		return sat_add(s->cur, scale(s->prev, left, (uint64_t)w));
	if (s->start == ws - w)
		return scale(s->cur, left, (uint64_t)w);
	return 0;
}

/* Move a slot's windows forward to now, starting over on a new window. */
static void
slot_advance(struct counters_slot *s, int64_t window_secs, int64_t now)
{
	int64_t ws = window_floor(now, window_secs);

	if (s->window != window_secs) {
		s->window = (uint32_t)window_secs;
		s->cur = s->prev = 0;
		s->start = ws;
	} else if (s->start < ws) {
		s->prev = s->start == ws - window_secs ? s->cur : 0;
		s->cur = 0;
		s->start = ws;
	}
	/* s->start > ws: the clock went back; keep counting where we are. */
}

/*
 * Roll back the change a dead lock holder left unfinished. Idempotent, so
 * a recoverer that dies too leaves the same work to the next one.
 */
static void
counters_recover(struct counters_header *h, struct counters_slot *slots)
{
	uint64_t dirty = atomic_load_explicit(&h->dirty, memory_order_relaxed);
	uint64_t seq = atomic_load_explicit(&h->seq, memory_order_relaxed);

	if (dirty != 0 && dirty <= h->capacity) {
		slots[dirty - 1] = h->undo;
		h->tally = h->undo_tally;
	}
	atomic_store_explicit(&h->dirty, 0, memory_order_release);
	if (seq & 1)
		atomic_store_explicit(&h->seq, seq + 1, memory_order_release);
	atomic_fetch_add_explicit(&h->recoveries, 1, memory_order_relaxed);
}

static int
counters_lock(const struct counters *c)
{
	struct counters_header *h = c->hdr;
	struct timespec deadline;
	int r;

	if ((r = pthread_mutex_trylock(&h->lock)) == EBUSY) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += COUNTERS_LOCK_TIMEOUT;
		r = pthread_mutex_timedlock(&h->lock, &deadline);
	}
	if (r == EOWNERDEAD) {
		counters_recover(h, c->slots);
		r = pthread_mutex_consistent(&h->lock);
		if (r != 0)
			pthread_mutex_unlock(&h->lock);
	}
	if (r != 0) {
		atomic_fetch_add_explicit(&h->lock_failures, 1,
		    memory_order_relaxed);
		return -1;
	}
	return 0;
}

/*
 * Replace slot i under the lock. The old slot and tally are saved and the
 * change marked dirty first, so a process killed anywhere in between is
 * rolled back by counters_recover(). The fences keep the stores in this
 * order for the compiler and the CPU; the odd sequence number tells
 * lock-free readers to retry.
 */
static void
counters_replace(const struct counters *c, size_t i,
    const struct counters_slot *ns, bool found)
{
	struct counters_header *h = c->hdr;
	uint64_t seq = atomic_load_explicit(&h->seq, memory_order_relaxed);

	h->undo = c->slots[i];
	h->undo_tally = h->tally;
	atomic_store_explicit(&h->dirty, i + 1, memory_order_release);
	atomic_store_explicit(&h->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);

	if (c->slots[i].hash == 0)
		h->tally.used++;
	else if (!found)
		h->tally.evictions++;
	c->slots[i] = *ns;
	if (c->fault_hook != NULL)
		c->fault_hook(c->fault_arg);

	atomic_store_explicit(&h->dirty, 0, memory_order_release);
	atomic_store_explicit(&h->seq, seq + 2, memory_order_release);
}

uint64_t
counters_add(struct counters *c, const char *limit, const char *key,
    int64_t window_secs, int64_t now, uint64_t n)
{
	struct counters_key k;
	struct counters_slot ns;
	uint64_t count;
	size_t i;
	bool found;

	if (c == NULL || c->readonly || n == 0 ||
	    !counters_args_ok(window_secs, now))
		return counters_get(c, limit, key, window_secs, now);
	counters_key_make(c, limit, key, &k);
	if (counters_lock(c) == -1) {
		counters_key_free(&k);
		return 0;
	}
	i = counters_find(c->hdr, c->slots, &k, &found);
	if (found)
		ns = c->slots[i];
	else
		slot_set_key(&ns, &k);
	slot_advance(&ns, window_secs, now);
	ns.cur = sat_add(ns.cur, n);
	count = slot_estimate(&ns, now);
	counters_replace(c, i, &ns, found);
	pthread_mutex_unlock(&c->hdr->lock);
	counters_key_free(&k);
	return count;
}

void
counters_sub(struct counters *c, const char *limit, const char *key,
    int64_t window_secs, int64_t now, uint64_t n)
{
	struct counters_key k;
	struct counters_slot ns;
	size_t i;
	bool found;

	if (c == NULL || c->readonly || n == 0 ||
	    !counters_args_ok(window_secs, now))
		return;
	counters_key_make(c, limit, key, &k);
	if (counters_lock(c) == -1) {
		counters_key_free(&k);
		return;
	}
	i = counters_find(c->hdr, c->slots, &k, &found);
	if (found) {
		ns = c->slots[i];
		slot_advance(&ns, window_secs, now);
		ns.cur = ns.cur >= n ? ns.cur - n : 0;
		counters_replace(c, i, &ns, true);
	}
	pthread_mutex_unlock(&c->hdr->lock);
	counters_key_free(&k);
}

/*
 * Read-only handles cannot lock (the mutex is in the read-only mapping):
 * copy the slot between two equal, even sequence numbers. After too many
 * tries (a writer died mid-change and nobody has locked since) take what
 * is there: sluicectl only reports it.
 */
static bool
counters_read_slot(const struct counters *c, const struct counters_key *k,
    struct counters_slot *s_r)
{
	const struct counters_header *h = c->hdr;
	uint64_t s1, s2;
	size_t i;
	bool found = false;

	for (int tries = 0; tries < COUNTERS_READ_TRIES; tries++) {
		s1 = atomic_load_explicit(&h->seq, memory_order_acquire);
		if ((s1 & 1) && tries + 1 < COUNTERS_READ_TRIES) {
			sched_yield();
			continue;
		}
		i = counters_find(h, c->slots, k, &found);
		if (found)
			*s_r = c->slots[i];
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&h->seq, memory_order_relaxed);
		if (s1 == s2)
			break;
	}
	return found && slot_matches(s_r, k);
}

uint64_t
counters_get(const struct counters *c, const char *limit, const char *key,
    int64_t window_secs, int64_t now)
{
	struct counters_key k;
	struct counters_slot s;
	size_t i;
	bool found = false;

	if (c == NULL || !counters_args_ok(window_secs, now))
		return 0;
	counters_key_make(c, limit, key, &k);
	if (c->readonly)
		found = counters_read_slot(c, &k, &s);
	else if (counters_lock(c) == 0) {
		i = counters_find(c->hdr, c->slots, &k, &found);
		if (found)
			s = c->slots[i];
		pthread_mutex_unlock(&c->hdr->lock);
	}
	counters_key_free(&k);
	if (!found || s.window != window_secs)
		return 0;
	return slot_estimate(&s, now);
}

void
counters_stats(const struct counters *c, struct counters_stats *stats_r)
{
	const struct counters_header *h = c->hdr;

	memset(stats_r, 0, sizeof(*stats_r));
	stats_r->capacity = h->capacity;
	stats_r->used = h->tally.used;
	stats_r->evictions = h->tally.evictions;
	stats_r->recoveries = atomic_load(&h->recoveries);
	stats_r->lock_failures = atomic_load(&h->lock_failures);
}

void
counters_set_fault_hook(struct counters *c, void (*hook)(void *), void *arg)
{
	c->fault_hook = hook;
	c->fault_arg = arg;
}

static size_t
counters_file_size(uint64_t capacity)
{
	return sizeof(struct counters_header) +
	    capacity * sizeof(struct counters_slot);
}

static const char *
counters_header_check(const struct counters_header *h, size_t size)
{
	if (memcmp(h->magic, COUNTERS_MAGIC, sizeof(h->magic)) != 0)
		return "not a counters file (bad magic)";
	if (h->byte_order != COUNTERS_BYTE_ORDER)
		return "counters file of another byte order";
	if (h->version != COUNTERS_VERSION)
		return "counters file of another version";
	if (h->header_size != sizeof(struct counters_header) ||
	    h->slot_size != sizeof(struct counters_slot))
		return "counters file of another layout";
	if (h->capacity < COUNTERS_SLOTS_MIN ||
	    h->capacity > COUNTERS_SLOTS_MAX)
		return "counters file with a bad capacity";
	if (size != counters_file_size(h->capacity))
		return "counters file size does not match its capacity";
	return NULL;
}

static struct counters *
counters_map(int fd, size_t size, bool readonly)
{
	struct counters *c;
	void *p;

	p = mmap(NULL, size, readonly ? PROT_READ : PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->hdr = p;
	c->slots = (struct counters_slot *)((char *)p +
	    sizeof(struct counters_header));
	c->map_size = size;
	c->readonly = readonly;
	return c;
}

struct counters *
counters_open(const char *path, bool readonly, const char **error_r)
{
	struct counters *c;
	struct stat st;
	const char *err;
	int fd;

	fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		*error_r = counters_seterr("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size < sizeof(struct counters_header)) {
		close(fd);
		*error_r = counters_seterr("%s: not a counters file", path);
		return NULL;
	}
	c = counters_map(fd, (size_t)st.st_size, readonly);
	close(fd);
	if (c == NULL) {
		*error_r = counters_seterr("%s: mmap: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((err = counters_header_check(c->hdr, c->map_size)) != NULL) {
		counters_close(&c);
		*error_r = counters_seterr("%s: %s", path, err);
		return NULL;
	}
	return c;
}

void
counters_close(struct counters **cp)
{
	struct counters *c = *cp;

	if (c == NULL)
		return;
	munmap(c->hdr, c->map_size);
	free(c);
	*cp = NULL;
}

static int
counters_header_init(struct counters_header *h, size_t slots,
    const uint8_t *seed)
{
	pthread_mutexattr_t attr;
	int r;

	memcpy(h->magic, COUNTERS_MAGIC, sizeof(h->magic));
	h->version = COUNTERS_VERSION;
	h->byte_order = COUNTERS_BYTE_ORDER;
	h->header_size = sizeof(struct counters_header);
	h->slot_size = sizeof(struct counters_slot);
	h->capacity = slots;
	if (seed != NULL)
		memcpy(h->seed, seed, sizeof(h->seed));
	else if (getrandom(h->seed, sizeof(h->seed), 0) !=
	    (ssize_t)sizeof(h->seed))
		return errno != 0 ? errno : EIO;
	if ((r = pthread_mutexattr_init(&attr)) != 0)
		return r;
	if ((r = pthread_mutexattr_setpshared(&attr,
	    PTHREAD_PROCESS_SHARED)) == 0 &&
	    (r = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) == 0)
		r = pthread_mutex_init(&h->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return r;
}

/*
 * Copy the entries of the old table into the new one (not yet visible to
 * anyone, so no lock), rehashed for its capacity. An entry caught in the
 * middle of a dead writer's change is taken from the undo copy.
 */
static void
counters_carry_over(struct counters *nc, const struct counters *old)
{
	const struct counters_header *oh = old->hdr;
	uint64_t dirty = atomic_load(&oh->dirty);
	struct counters_key k = { .heap = NULL };
	struct counters_slot s;
	size_t i;
	bool found;

	for (size_t j = 0; j < oh->capacity; j++) {
		s = dirty == j + 1 ? oh->undo : old->slots[j];
		if (s.hash == 0 || s.window == 0)
			continue;
		k.hash = s.hash;
		k.data = s.key;
		k.len = s.key_len;
		i = counters_find(nc->hdr, nc->slots, &k, &found);
		if (nc->slots[i].hash == 0)
			nc->hdr->tally.used++;
		else if (!found)
			nc->hdr->tally.evictions++;
		nc->slots[i] = s;
	}
}

static int
counters_tmp_open(const char *tmp)
{
	int fd, flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

	/* A leftover of a crashed master with the same pid: ours to remove. */
	if ((fd = open(tmp, flags, 0600)) == -1 && errno == EEXIST &&
	    unlink(tmp) == 0)
		fd = open(tmp, flags, 0600);
	return fd;
}

/* Build the new file at tmp; the caller renames it into place. */
static struct counters *
counters_build(const char *path, const char *tmp, int fd, size_t slots,
    uid_t uid, gid_t gid, const char **error_r)
{
	struct counters *c, *old;
	size_t size = counters_file_size(slots);
	const char *ignored;
	int r;

	if (fchmod(fd, 0600) == -1 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) == -1)) {
		*error_r = counters_seterr("%s: %s", tmp, strerror(errno));
		return NULL;
	}
	/* Allocate now: a full tmpfs would otherwise SIGBUS a worker later. */
	if ((r = posix_fallocate(fd, 0, (off_t)size)) != 0) {
		*error_r = counters_seterr("%s: cannot allocate %zu bytes: %s",
		    tmp, size, strerror(r));
		return NULL;
	}
	if ((c = counters_map(fd, size, false)) == NULL) {
		*error_r = counters_seterr("%s: mmap: %s", tmp,
		    strerror(errno));
		return NULL;
	}
	old = counters_open(path, true, &ignored);
	r = counters_header_init(c->hdr, slots,
	    old != NULL ? old->hdr->seed : NULL);
	if (r != 0) {
		counters_close(&old);
		counters_close(&c);
		*error_r = counters_seterr("%s: cannot initialise: %s", tmp,
		    strerror(r));
		return NULL;
	}
	if (old != NULL)
		counters_carry_over(c, old);
	counters_close(&old);
	return c;
}

struct counters *
counters_create(const char *path, size_t slots, uid_t uid, gid_t gid,
    const char **error_r)
{
	struct counters *c = NULL;
	char *tmp;
	int fd;

	if (slots < COUNTERS_SLOTS_MIN || slots > COUNTERS_SLOTS_MAX) {
		*error_r = counters_seterr("counters: %zu slots is outside "
		    "%u..%u", slots, COUNTERS_SLOTS_MIN, COUNTERS_SLOTS_MAX);
		return NULL;
	}
	tmp = xasprintf("%s.new.%ld", path, (long)getpid());
	if ((fd = counters_tmp_open(tmp)) == -1) {
		*error_r = counters_seterr("%s: %s", tmp, strerror(errno));
		free(tmp);
		return NULL;
	}
	c = counters_build(path, tmp, fd, slots, uid, gid, error_r);
	close(fd);
	if (c != NULL && rename(tmp, path) == -1) {
		*error_r = counters_seterr("rename %s to %s: %s", tmp, path,
		    strerror(errno));
		counters_close(&c);
	}
	if (c == NULL)
		unlink(tmp);
	free(tmp);
	return c;
}
