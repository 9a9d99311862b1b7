/*
 * dns: the asynchronous, DNSSEC-validating resolver for remote delivery:
 * libunbound on the caller's libevent base, never blocking.
 *
 * Contract:
 * - Every lookup calls its callback exactly once, from the event loop and
 *   never from inside the dns_lookup_*() call, unless it is cancelled
 *   first with dns_cancel() (then never) or the resolver is freed (then
 *   never). The result and everything it points to are valid only during
 *   the callback. A callback may start lookups, cancel others, and free
 *   the resolver.
 * - Lookups are known by a 64-bit id (never 0, never reused), so a
 *   session that is gone can drop its query, and an answer can find its
 *   owner by id rather than by pointer.
 * - Every answer carries a security class. A bogus answer (the validator
 *   rejected it) is reported as DNS_SEC_BOGUS with status
 *   DNS_R_TEMPFAIL, the validator's reason, and no data at all: whatever
 *   the caller checks first, bogus data cannot be delivered to.
 * - DNS_R_TEMPFAIL also covers SERVFAIL, REFUSED, the lookup timeout, a
 *   malformed answer and a name unbound refuses; reason says which.
 *
 * Configuration is the struct below; nothing else is global. Without
 * forwarders, stubs, root hints or resolv.conf the resolver recurses
 * from the built-in root servers: tests must always give a stub for "."
 * or root hints on loopback (tests/world/README.md).
 */
#ifndef SLUICE_DNS_H
#define SLUICE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_rr.h"

struct event_base;
struct dns_resolver;

#define DNS_TRUST_ANCHOR_DEFAULT	"/usr/share/dns/root.key"
#define DNS_TIMEOUT_DEFAULT		30	/* seconds per lookup */

struct dns_config {
	/* DS or DNSKEY lines. NULL: DNS_TRUST_ANCHOR_DEFAULT; "": none,
	 * so nothing validates and every answer is insecure. */
	const char		*trust_anchor_file;
	const char		*root_hints_file;	/* NULL: built in */
	const char *const	*forwarders;		/* "addr[@port]" */
	size_t			 nforwarders;
	const char *const	*stubs;		/* "zone=addr[@port]" */
	size_t			 nstubs;
	bool			 use_resolv_conf;	/* forward to those */
	int			 timeout_secs;		/* <= 0: default */
	/* Optional, read before the settings above. */
	const char		*unbound_config_file;
};

enum dns_sec {
	DNS_SEC_INSECURE,
	DNS_SEC_SECURE,
	DNS_SEC_BOGUS,
};

enum dns_rcode_class {
	DNS_R_OK,		/* records of the type asked for */
	DNS_R_NODATA,		/* the name exists, without such records */
	DNS_R_NXDOMAIN,		/* the name does not exist */
	DNS_R_TEMPFAIL,		/* try again later; see reason */
};

struct dns_mx_result {
	uint64_t		 id;
	const char		*domain;
	enum dns_rcode_class	 status;
	enum dns_sec		 sec;
	const char		*reason;	/* bogus, tempfail: why */
	/* Status OK with no exchanger: bounce 5.1.10 (dns_mx_prepare()). */
	bool			 null_mx;
	/* Status NODATA: deliver to the domain's own addresses. */
	bool			 implicit_mx;
	/* Preference order, equal preferences shuffled. */
	const struct dns_mx	*mx;
	size_t			 nmx;
};

struct dns_addrs_result {
	uint64_t		 id;
	const char		*host;
	/* Where the CNAME chain ended (host itself if none), for TLSA. */
	const char		*canonical;
	/*
	 * OK when either family has addresses (even if the other failed:
	 * status6/status4 tell); else TEMPFAIL if either failed, NXDOMAIN
	 * if either said so, NODATA otherwise. sec is SECURE when both
	 * answers are, BOGUS when either is (and then no addresses).
	 */
	enum dns_rcode_class	 status;
	enum dns_sec		 sec;
	const char		*reason;
	enum dns_rcode_class	 status6, status4;
	enum dns_sec		 sec6, sec4;
	const struct dns_addr	*addrs;		/* IPv6 first */
	size_t			 naddrs;
	size_t			 n6;		/* how many IPv6 */
};

struct dns_tlsa_result {
	uint64_t		 id;
	const char		*host;
	unsigned int		 port;
	const char		*qname;		/* "_25._tcp.<host>" */
	enum dns_rcode_class	 status;
	enum dns_sec		 sec;
	const char		*reason;
	/* As published, usable or not: see dns_tlsa_usable(). */
	const struct dns_tlsa	*tlsa;
	size_t			 ntlsa;
};

typedef void dns_mx_cb(const struct dns_mx_result *res, void *arg);
typedef void dns_addrs_cb(const struct dns_addrs_result *res, void *arg);
typedef void dns_tlsa_cb(const struct dns_tlsa_result *res, void *arg);

/*
 * A resolver on base. Options that cannot take effect (an unreadable
 * trust anchor or config file, a malformed forwarder or stub) fail here
 * with a reason in *error_r (valid until the next call in the thread).
 */
struct dns_resolver *dns_resolver_new(struct event_base *base,
	    const struct dns_config *cfg, const char **error_r);
/* Drops every lookup still running without calling it back. */
void	 dns_resolver_free(struct dns_resolver **rp);

/* The MX RRset of domain, processed per RFC 5321 5.1 and RFC 7505. */
uint64_t dns_lookup_mx(struct dns_resolver *r, const char *domain,
	    dns_mx_cb *cb, void *arg);
/* AAAA and A of host, asked together. */
uint64_t dns_lookup_addrs(struct dns_resolver *r, const char *host,
	    dns_addrs_cb *cb, void *arg);
/* TLSA at _<port>._tcp.<host> (RFC 7672: port 25 for SMTP). */
uint64_t dns_lookup_tlsa(struct dns_resolver *r, unsigned int port,
	    const char *host, dns_tlsa_cb *cb, void *arg);
/* Drop a lookup: 0, or -1 when it is unknown (already called back). */
int	 dns_cancel(struct dns_resolver *r, uint64_t id);
/* Lookups started and neither called back nor cancelled. */
size_t	 dns_pending(const struct dns_resolver *r);

/*
 * Replace the random source of the MX shuffle (tests); NULL restores the
 * default, arc4random_uniform().
 */
void	 dns_resolver_set_random(struct dns_resolver *r, dns_random_fn *rnd,
	    void *arg);

const char *dns_sec_name(enum dns_sec sec);		/* "secure", ... */
const char *dns_status_name(enum dns_rcode_class status);	/* "ok", ... */

#endif
