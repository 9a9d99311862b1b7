/*
 * auth: the bytes of SMTP AUTH (RFC 4954) for the PLAIN (RFC 4616) and
 * LOGIN (draft-murchison-sasl-login) mechanisms, and the throttle that
 * slows down password guessing per client address and per account.
 *
 * Contract, decoders: pure; they take the base64 text of one client
 * response (the initial response or a continuation line, CRLF removed)
 * and fill a struct auth_creds. Limits, in octets after decoding: login
 * 1..AUTH_LOGIN_MAX, password 1..AUTH_PASSWORD_MAX, neither may hold a
 * NUL, and the login may hold no ASCII control character (no real account
 * has one, and it keeps such bytes out of lookups and logs). For PLAIN
 * the authorisation identity must be empty or byte-for-byte equal to the
 * login: Sluice has no proxy authorisation. Results:
 *	AUTH_OK		 creds filled
 *	AUTH_TOO_LONG	 over AUTH_RESPONSE_MAX: "500 5.5.6 Authentication
 *			 Exchange line is too long"
 *	AUTH_BAD_BASE64	 "501 5.5.2 Cannot Base64-decode client response"
 *	AUTH_REJECTED	 decoded but unacceptable (structure, lengths,
 *			 authorisation identity): "535 5.7.8", the same
 *			 reply as a wrong password, so a client learns
 *			 nothing about which part failed. Count it as a
 *			 failure for the throttle.
 * Text that cannot decode to acceptable values within the limits is
 * AUTH_REJECTED without being decoded, so nothing beyond AUTH_RESPONSE_MAX
 * is ever looked at and no decoding buffer exceeds 1 KiB. *error_r says
 * what was wrong for the debug log; it is static text that never holds
 * client bytes, and it must not go into the reply.
 *
 * "*" alone on a continuation line cancels the exchange (RFC 4954 4:
 * "501 5.0.0 Authentication cancelled"); the session tests it with
 * auth_response_is_cancel() before decoding. It is not special as an
 * initial response. An initial response of "=" means an empty response
 * (RFC 4954 4); the session passes it as the empty string.
 *
 * Secrets: decoding buffers are wiped before returning; the caller wipes
 * its creds with auth_creds_clear() as soon as the password is checked.
 *
 * Contract, throttle: pure and single-threaded (one per worker; the event
 * loop calls it, never the thread pool); time is passed in as seconds.
 * Keys are NUL-terminated text: a client address (better its network,
 * cidr_prefix_key() with /32 and /64, so one IPv6 host cannot rotate
 * through its /64) or an account name; use one throttle for each kind.
 * A key holds at most key_max bytes; longer ones are cut, which can only
 * merge two counters, never let one escape.
 *
 * Counting: a fixed window per key, opened by its first failure. A key
 * that reaches max_failures failures within its window is blocked until
 * window seconds after the failure that reached the limit (each further
 * failure counted while blocked pushes that back); then it starts afresh.
 * So a client may fail max_failures times, its next attempt is refused
 * ("421 4.7.0" and disconnect), and once blocked it waits a full window
 * whatever the alignment. A key that stays under the limit starts a new
 * window at its first failure after the old one ends; pacing just under
 * the limit across that edge allows at most 2 * (max_failures - 1)
 * failures in a short time, and never more than max_failures - 1 per
 * window on average. A fixed window keeps each entry at three times and a
 * counter, whatever max_failures is (up to 10000), where an exact sliding
 * window would keep max_failures times per key.
 *
 * Memory: capacity entries of key_max + 1 bytes each, allocated in
 * auth_throttle_new() and never grown; each call scans the table (a few
 * microseconds for thousands of entries), so no hash can be flooded.
 * When the table is full a new key takes the slot of the entry with the
 * fewest failures still counting, the oldest last failure among equals;
 * expired entries count nothing and go first. Trade-off: an attacker
 * cycling addresses makes entries of one failure each that evict each
 * other, while a key with several recent failures (a blocked one above
 * all) stays until every slot holds a key with at least as many, which
 * takes capacity times that many failures within a window, each paid for
 * with a full AUTH exchange. The price: while a flood fills the table, a
 * newcomer with one or two failures is soon forgotten, so per-address
 * throttling weakens for light keys; the per-account throttle still holds.
 *
 * Success: auth_throttle_success() forgets a key. Call it on the account
 * throttle only: resetting the address counter on success would let one
 * valid account launder guesses against others from the same address.
 */
#ifndef SLUICE_SMTPD_AUTH_H
#define SLUICE_SMTPD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest AUTH command or response line to accept (RFC 4954 lets AUTH
 * lines reach 12288 octets; Dovecot's default too), and the most base64
 * the decoders look at. */
#define AUTH_RESPONSE_MAX	12288
/* Decoded limits, in octets. */
#define AUTH_LOGIN_MAX		255
#define AUTH_PASSWORD_MAX	255

/* LOGIN's server challenges, base64 of "Username:" and "Password:". */
#define AUTH_LOGIN_PROMPT_USER	"VXNlcm5hbWU6"
#define AUTH_LOGIN_PROMPT_PASS	"UGFzc3dvcmQ6"

/* Default table size for a throttle. */
#define AUTH_THROTTLE_CAPACITY	4096

enum auth_status {
	AUTH_OK = 0,
	AUTH_TOO_LONG,
	AUTH_BAD_BASE64,
	AUTH_REJECTED,
};

/* NUL-terminated; the lengths exclude the NUL. */
struct auth_creds {
	char	 login[AUTH_LOGIN_MAX + 1];
	char	 password[AUTH_PASSWORD_MAX + 1];
	size_t	 login_len;
	size_t	 password_len;
};

struct auth_throttle;

/* Wipe everything creds holds; accepts NULL. */
void	 auth_creds_clear(struct auth_creds *creds);

/* Whether a continuation response is "*", cancelling the exchange. */
bool	 auth_response_is_cancel(const char *text, size_t len);

/* PLAIN: one response "[authzid] NUL authcid NUL passwd" fills login
 * and password. creds is cleared first whatever the result. */
enum auth_status auth_plain_decode(const char *text, size_t len,
	    struct auth_creds *creds, const char **error_r);

/* LOGIN: the answer to AUTH_LOGIN_PROMPT_USER (or the initial response)
 * fills login, clearing creds first; the answer to AUTH_LOGIN_PROMPT_PASS
 * fills password and leaves login alone (cleared on failure). */
enum auth_status auth_login_decode_user(const char *text, size_t len,
	    struct auth_creds *creds, const char **error_r);
enum auth_status auth_login_decode_password(const char *text, size_t len,
	    struct auth_creds *creds, const char **error_r);

/*
 * A throttle of capacity keys of up to key_max bytes, blocking a key with
 * max_failures failures within window seconds. Values below 1 count as 1;
 * window is capped at 2^31 - 1 seconds.
 */
struct auth_throttle *auth_throttle_new(size_t capacity, size_t key_max,
	    unsigned int max_failures, int64_t window);
void	 auth_throttle_destroy(struct auth_throttle **tp);

/* Count one failure of key at now; returns whether key is now blocked. */
bool	 auth_throttle_fail(struct auth_throttle *t, const char *key,
	    int64_t now);
bool	 auth_throttle_blocked(const struct auth_throttle *t, const char *key,
	    int64_t now);
void	 auth_throttle_success(struct auth_throttle *t, const char *key);
/* Keys held (expired ones included until they are reused): for tests
 * and status. */
size_t	 auth_throttle_count(const struct auth_throttle *t);

#endif
