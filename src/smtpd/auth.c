/* auth: see auth.h. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "auth.h"
#include "base64.h"
#include "util.h"

/* The longest acceptable PLAIN message: authzid (at most the login, or
 * it could not equal it), NUL, authcid, NUL, passwd. */
#define PLAIN_MAX	(AUTH_LOGIN_MAX + 1 + AUTH_LOGIN_MAX + 1 + \
			    AUTH_PASSWORD_MAX)
/* Decoding room: base64_decode() needs base64_decoded_max() of the
 * longest text we let through, which is 3 * ceil(n / 3) for n bytes. */
#define ROOM(n)		(((n) + 2) / 3 * 3)

_Static_assert(ROOM(PLAIN_MAX) <= 1024, "PLAIN buffer on the stack");

void
auth_creds_clear(struct auth_creds *creds)
{
	if (creds != NULL)
		mem_wipe(creds, sizeof(*creds));
}

bool
auth_response_is_cancel(const char *text, size_t len)
{
	return len == 1 && text[0] == '*';
}

/*
 * Decode text into out (room bytes) when it can hold at most max bytes
 * once decoded; refuse anything longer without decoding it.
 */
static enum auth_status
auth_decode(const char *text, size_t len, uint8_t *out, size_t room,
    size_t max, size_t *outlen_r, const char **error_r)
{
	if (len > AUTH_RESPONSE_MAX) {
		*error_r = "response too long";
		return AUTH_TOO_LONG;
	}
	/* Anything longer than the encoding of max bytes is either not
	 * base64 or decodes to more than max: refused either way. */
	if (len > base64_encoded_len(max)) {
		*error_r = "response too long for a login and password";
		return AUTH_REJECTED;
	}
	if (base64_decode(text, len, out, room, outlen_r, error_r) != 0)
		return AUTH_BAD_BASE64;
	return AUTH_OK;
}

static enum auth_status
auth_check_login(const uint8_t *p, size_t n, const char **error_r)
{
	if (n == 0) {
		*error_r = "empty login";
		return AUTH_REJECTED;
	}
	if (n > AUTH_LOGIN_MAX) {
		*error_r = "login too long";
		return AUTH_REJECTED;
	}
	for (size_t i = 0; i < n; i++) {
		/* NUL included: it cannot be in a C string login. */
		if (p[i] < 0x20 || p[i] == 0x7f) {
			*error_r = "control character in login";
			return AUTH_REJECTED;
		}
	}
	return AUTH_OK;
}

static enum auth_status
auth_check_password(const uint8_t *p, size_t n, const char **error_r)
{
	if (n == 0) {
		*error_r = "empty password";
		return AUTH_REJECTED;
	}
	if (n > AUTH_PASSWORD_MAX) {
		*error_r = "password too long";
		return AUTH_REJECTED;
	}
	if (memchr(p, '\0', n) != NULL) {
		*error_r = "NUL in password";
		return AUTH_REJECTED;
	}
	return AUTH_OK;
}

/* Split a decoded PLAIN message and check its parts. */
static enum auth_status
auth_plain_split(const uint8_t *msg, size_t len, struct auth_creds *creds,
    const char **error_r)
{
	const uint8_t *nul1, *nul2, *login, *pass;
	size_t zlen, llen, plen;
	enum auth_status st;

	if ((nul1 = memchr(msg, '\0', len)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - msg))) ==
	    NULL) {
		*error_r = "PLAIN message lacks a NUL separator";
		return AUTH_REJECTED;
	}
	zlen = (size_t)(nul1 - msg);
	login = nul1 + 1;
	llen = (size_t)(nul2 - login);
	pass = nul2 + 1;
	plen = len - (size_t)(pass - msg);
	if ((st = auth_check_login(login, llen, error_r)) != AUTH_OK ||
	    (st = auth_check_password(pass, plen, error_r)) != AUTH_OK)
		return st;
	if (zlen != 0 && (zlen != llen || memcmp(msg, login, llen) != 0)) {
		*error_r = "authorisation identity differs from the login";
		return AUTH_REJECTED;
	}
	memcpy(creds->login, login, llen);
	creds->login[llen] = '\0';
	creds->login_len = llen;
	memcpy(creds->password, pass, plen);
	creds->password[plen] = '\0';
	creds->password_len = plen;
	return AUTH_OK;
}

enum auth_status
auth_plain_decode(const char *text, size_t len, struct auth_creds *creds,
    const char **error_r)
{
	uint8_t msg[ROOM(PLAIN_MAX)];
	size_t n = 0;
	enum auth_status st;

	auth_creds_clear(creds);
	st = auth_decode(text, len, msg, sizeof(msg), PLAIN_MAX, &n, error_r);
	if (st == AUTH_OK)
		st = auth_plain_split(msg, n, creds, error_r);
	mem_wipe(msg, sizeof(msg));
	if (st != AUTH_OK)
		auth_creds_clear(creds);
	return st;
}

enum auth_status
auth_login_decode_user(const char *text, size_t len,
    struct auth_creds *creds, const char **error_r)
{
	uint8_t user[ROOM(AUTH_LOGIN_MAX)];
	size_t n = 0;
	enum auth_status st;

	auth_creds_clear(creds);
	st = auth_decode(text, len, user, sizeof(user), AUTH_LOGIN_MAX, &n,
	    error_r);
	if (st == AUTH_OK && (st = auth_check_login(user, n, error_r)) ==
	    AUTH_OK) {
		memcpy(creds->login, user, n);
		creds->login[n] = '\0';
		creds->login_len = n;
	}
	mem_wipe(user, sizeof(user));
	return st;
}

enum auth_status
auth_login_decode_password(const char *text, size_t len,
    struct auth_creds *creds, const char **error_r)
{
	uint8_t pass[ROOM(AUTH_PASSWORD_MAX)];
	size_t n = 0;
	enum auth_status st;

	mem_wipe(creds->password, sizeof(creds->password));
	creds->password_len = 0;
	st = auth_decode(text, len, pass, sizeof(pass), AUTH_PASSWORD_MAX, &n,
	    error_r);
	if (st == AUTH_OK && (st = auth_check_password(pass, n, error_r)) ==
	    AUTH_OK) {
		memcpy(creds->password, pass, n);
		creds->password[n] = '\0';
		creds->password_len = n;
	}
	mem_wipe(pass, sizeof(pass));
	if (st != AUTH_OK)
		auth_creds_clear(creds);
	return st;
}

/*
 * The failure throttle.
 */

/* Throttle windows are capped so that now + window cannot overflow for
 * any sane clock and the arithmetic stays in range. */
#define THROTTLE_WINDOW_MAX	INT64_C(0x7fffffff)

struct throttle_entry {
	int64_t		 start;		/* first failure of the window */
	int64_t		 until;		/* blocked before this, at the limit */
	int64_t		 last;		/* latest failure, for eviction */
	uint32_t	 count;		/* failures in the window */
	uint32_t	 hash;		/* of the key, to skip most compares */
	bool		 used;
};

struct auth_throttle {
	struct throttle_entry *entries;
	char		*keys;		/* capacity slots of key_max + 1 */
	size_t		 capacity;
	size_t		 key_max;
	size_t		 used;
	uint32_t	 max_failures;
	int64_t		 window;
};

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* FNV-1a of the key as compared: ASCII case folded, cut at klen. */
static uint32_t
throttle_hash(const char *key, size_t klen)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < klen; i++)
		h = (h ^ lower((unsigned char)key[i])) * 16777619u;
	return h;
}

static char *
throttle_key(const struct auth_throttle *t, size_t i)
{
	return t->keys + i * (t->key_max + 1);
}

static bool
throttle_key_equal(const char *stored, const char *key, size_t klen)
{
	for (size_t i = 0; i < klen; i++)
		if (stored[i] != (char)lower((unsigned char)key[i]))
			return false;
	return stored[klen] == '\0';
}

/* Whether the entry's failures no longer count at now. A clock that went
 * back counts as no time passed. */
static bool
throttle_expired(const struct auth_throttle *t, const struct throttle_entry *e,
    int64_t now)
{
	if (e->count >= t->max_failures)
		return now >= e->until;
	return now > e->start && now - e->start >= t->window;
}

static uint32_t
throttle_live(const struct auth_throttle *t, const struct throttle_entry *e,
    int64_t now)
{
	return throttle_expired(t, e, now) ? 0 : e->count;
}

/*
 * The index of key, or -1. With victim_r, also the slot a new key would
 * take: the first free one, else the entry with the fewest live failures
 * and the oldest last failure.
 */
static ssize_t
throttle_find(const struct auth_throttle *t, const char *key, size_t klen,
    uint32_t h, int64_t now, size_t *victim_r)
{
	size_t victim = 0;
	bool have_free = false;
	uint32_t best = UINT32_MAX, live;
	int64_t best_last = INT64_MAX;

	for (size_t i = 0; i < t->capacity; i++) {
		const struct throttle_entry *e = &t->entries[i];

		if (!e->used) {
			if (!have_free)
				victim = i;
			have_free = true;
			continue;
		}
		if (e->hash == h &&
		    throttle_key_equal(throttle_key(t, i), key, klen))
			return (ssize_t)i;
		if (victim_r == NULL || have_free)
			continue;
		live = throttle_live(t, e, now);
		if (live < best || (live == best && e->last < best_last)) {
			best = live;
			best_last = e->last;
			victim = i;
		}
	}
	if (victim_r != NULL)
		*victim_r = victim;
	return -1;
}

struct auth_throttle *
auth_throttle_new(size_t capacity, size_t key_max, unsigned int max_failures,
    int64_t window)
{
	struct auth_throttle *t = xcalloc(1, sizeof(*t));

	t->capacity = capacity > 0 ? capacity : 1;
	t->key_max = key_max > 0 ? key_max : 1;
	if (t->key_max >= SIZE_MAX / t->capacity - 1)
		fatal("auth_throttle_new: %zu keys of %zu bytes", capacity,
		    key_max);
	t->max_failures = max_failures > 0 ? max_failures : 1;
	t->window = window < 1 ? 1 : window > THROTTLE_WINDOW_MAX ?
	    THROTTLE_WINDOW_MAX : window;
	t->entries = xcalloc(t->capacity, sizeof(*t->entries));
	t->keys = xcalloc(t->capacity, t->key_max + 1);
	return t;
}

void
auth_throttle_destroy(struct auth_throttle **tp)
{
	struct auth_throttle *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	free(t->keys);
	free(t->entries);
	free(t);
	*tp = NULL;
}

bool
auth_throttle_fail(struct auth_throttle *t, const char *key, int64_t now)
{
	size_t klen = strnlen(key, t->key_max), slot;
	uint32_t h = throttle_hash(key, klen);
	ssize_t found = throttle_find(t, key, klen, h, now, &slot);
	struct throttle_entry *e;
	char *stored;

	if (found < 0) {
		e = &t->entries[slot];
		if (!e->used)
			t->used++;
		memset(e, 0, sizeof(*e));
		e->used = true;
		e->hash = h;
		e->start = now;
		stored = throttle_key(t, slot);
		for (size_t i = 0; i < klen; i++)
			stored[i] = (char)lower((unsigned char)key[i]);
		stored[klen] = '\0';
	} else
		e = &t->entries[found];
	if (throttle_expired(t, e, now)) {
		e->start = now;
		e->count = 0;
	}
	if (e->count < UINT32_MAX)
		e->count++;
	e->last = now;
	if (e->count < t->max_failures)
		return false;
	e->until = now > INT64_MAX - t->window ? INT64_MAX : now + t->window;
	return true;
}

bool
auth_throttle_blocked(const struct auth_throttle *t, const char *key,
    int64_t now)
{
	size_t klen = strnlen(key, t->key_max);
	ssize_t i = throttle_find(t, key, klen, throttle_hash(key, klen), now,
	    NULL);

	if (i < 0)
		return false;
	return t->entries[i].count >= t->max_failures &&
	    now < t->entries[i].until;
}

void
auth_throttle_success(struct auth_throttle *t, const char *key)
{
	size_t klen = strnlen(key, t->key_max);
	ssize_t i = throttle_find(t, key, klen, throttle_hash(key, klen), 0,
	    NULL);

	if (i < 0)
		return;
	memset(&t->entries[i], 0, sizeof(t->entries[i]));
	memset(throttle_key(t, (size_t)i), 0, t->key_max + 1);
	t->used--;
}

size_t
auth_throttle_count(const struct auth_throttle *t)
{
	return t->used;
}
