/*
 * password: hash and verify login passwords with crypt(3) from libxcrypt.
 *
 * Contract:
 * - New hashes use one of the schemes below (yescrypt by default) with a
 *   fresh salt from libxcrypt's own secure random source. cost 0 means
 *   libxcrypt's default for the scheme; otherwise it must lie in the
 *   scheme's range and shows in the hash string:
 *	yescrypt     $y$   cost 1..11 (log2 of the memory and time
 *			   factor; default 5, "$y$j9T$")
 *	bcrypt	     $2b$  cost 4..31 (log2 of the rounds; default 5)
 *	sha512crypt  $6$   cost 1000..999999999 rounds (default 5000)
 *	sha256crypt  $5$   cost 1000..999999999 rounds (default 5000)
 * - Verification takes any format libxcrypt can compute ($y$, $gy$, $7$,
 *   $2b$, $2a$, $2y$, $6$, $5$, $1$, and the legacy ones it was built
 *   with), so hashes imported from /etc/shadow or Dovecot work. A Dovecot
 *   scheme prefix {CRYPT}, {BLF-CRYPT}, {SHA512-CRYPT}, {SHA256-CRYPT} or
 *   {MD5-CRYPT} is stripped; any other {...} prefix (e.g. {PLAIN}) makes
 *   the hash unusable: stored plain text never authenticates.
 * - The empty password is never hashed and never matches. Passwords over
 *   PASSWORD_LEN_MAX bytes are refused (libxcrypt's own limit). bcrypt
 *   reads only the first 72 bytes: password_hash() refuses longer ones
 *   for bcrypt rather than silently ignoring the tail, but verifying an
 *   imported bcrypt hash still ignores everything after byte 72.
 * - The hash is compared in constant time. The 32 KiB crypt work area is
 *   on the heap and wiped after use. Nothing here logs or prints the
 *   password.
 * - Each call is slow on purpose (tens of milliseconds): daemons call
 *   these from the thread pool (tpool.h), never from the event loop. All
 *   functions are thread-safe.
 */
#ifndef SLUICE_PASSWORD_H
#define SLUICE_PASSWORD_H

#include <stdbool.h>

#define PASSWORD_SCHEME_DEFAULT	"yescrypt"
#define PASSWORD_LEN_MAX	511
#define PASSWORD_BCRYPT_LEN_MAX	72

/* Whether name is a scheme password_hash() can produce (any case). */
bool	 password_scheme_valid(const char *name);

/*
 * Check a scheme (NULL: the default) and cost as a configuration file
 * gives them. Returns 0, or -1 with a static message in *error_r.
 */
int	 password_params_check(const char *scheme, unsigned long cost,
	    const char **error_r);

/*
 * Hash password with scheme (NULL: the default) and cost. Returns a
 * malloc'd crypt(3) string for the caller to free, or NULL with a static
 * message in *error_r (bad scheme or cost, empty or overlong password,
 * no random bytes).
 */
char	*password_hash(const char *password, const char *scheme,
	    unsigned long cost, const char **error_r);

/*
 * Returns 1 when password matches hash, 0 when it does not (or password
 * is NULL, empty or overlong), -1 when hash can never match: NULL, empty,
 * locked ('!' or '*' first, as in /etc/shadow), an unknown {SCHEME}
 * prefix, or a format libxcrypt cannot compute.
 */
int	 password_verify(const char *password, const char *hash);

/*
 * Whether hash (known to verify) was made with other parameters than
 * scheme and cost would give now, so that the caller, holding the
 * password after a successful login, should store a new hash. Returns
 * false when scheme or cost is invalid.
 */
bool	 password_needs_rehash(const char *hash, const char *scheme,
	    unsigned long cost);

#endif
