/*
 * relay: a smarthost, as written on a `relay =` line of sluice.conf:
 * `NAME HOST[:PORT] [tls=starttls|implicit] [auth=PATH]
 * [policy=encrypt|verify|dane]`. relay_default and relay_domains, and a
 * policy rule's `route relay NAME`, send mail through it by NAME.
 *
 * Contract: relay_parse() is pure. It reads only the bytes it is given,
 * never looks a name up (an IP address is read with inet_pton() alone),
 * and on success hands back a relay whose every option is resolved: the
 * port from tls= when none was written, the policy "verify" when none
 * was. Its error strings are static and do not repeat the spec; callers
 * quote the spec themselves. relay_format() gives the canonical spec,
 * which relay_parse() turns back into an equal relay. A struct relay owns
 * its strings: release them with relay_clear().
 *
 * NAME follows the directory's names: a letter or digit, then letters,
 * digits, '_', '-' and '.', at most RELAY_NAME_MAX in all. It is stored
 * folded to lower case, so names compare in any case.
 *
 * HOST is a DNS name (addr_domain_is_valid(), stored in lower case), an
 * IPv4 address, or an IPv6 address in brackets (stored without them, in
 * inet_ntop() form). A name stands for its own addresses (A and AAAA);
 * a smarthost's MX records are never looked up.
 *
 * TLS is always required towards a relay: STARTTLS, or TLS from the first
 * byte. AUTH, when auth= names a file, is sent only over that TLS.
 */
#ifndef SLUICE_RELAY_H
#define SLUICE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_NAME_MAX		64
#define RELAY_PATH_MAX		1023
#define RELAY_PORT_STARTTLS	587	/* submission, RFC 6409 */
#define RELAY_PORT_IMPLICIT	465	/* submissions, RFC 8314 */

enum relay_tls {
	RELAY_TLS_STARTTLS,	/* STARTTLS required; port default 587 */
	RELAY_TLS_IMPLICIT	/* TLS before the greeting; port default 465 */
};

struct relay {
	char		*name;		/* lower case */
	char		*host;		/* lower-case name, or IP address */
	uint16_t	 port;
	enum relay_tls	 tls;
	char		*auth_file;	/* NULL: no AUTH */
	char		*policy;	/* "encrypt" | "verify" | "dane" */
};

/* A growable array of relays; owns each element. */
struct relay_list {
	struct relay	*v;
	size_t		 n;
};

/*
 * Parse spec[0..len). On success fill *r_r and return 0; on failure return
 * -1 with a static message in *error_r, leaving nothing in *r_r to free.
 */
int	 relay_parse(const char *spec, size_t len, struct relay *r_r,
	    const char **error_r);
/* The canonical spec for r, as a new string the caller frees. */
char	*relay_format(const struct relay *r);
/* NAME's rules, on name[0..len). */
bool	 relay_name_is_valid(const char *name, size_t len);

void	 relay_clear(struct relay *r);
void	 relay_copy(struct relay *dst, const struct relay *src);
bool	 relay_equal(const struct relay *a, const struct relay *b);

/* Takes ownership of *r (leaves it zeroed). */
void	 relay_list_append(struct relay_list *list, struct relay *r);
void	 relay_list_clear(struct relay_list *list);
void	 relay_list_copy(struct relay_list *dst, const struct relay_list *src);
bool	 relay_list_equal(const struct relay_list *a,
	    const struct relay_list *b);
/* The relay called name (in any case), or NULL. */
const struct relay *relay_list_find(const struct relay_list *list,
	    const char *name);

#endif
