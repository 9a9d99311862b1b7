/*
 * dns_rr: pure parsers for the DNS data the resolver hands out: a reply
 * packet's header and answer section, uncompressed names, MX, A, AAAA
 * and TLSA rdata, names as text, and the MX ordering of RFC 5321 5.1.
 *
 * Contract: every function takes bytes and a length, reads nothing
 * outside them and does no I/O. A parser returns 0 (or a count) or -1
 * with a static reason in *error_r. Names in rdata must be uncompressed
 * (RFC 3597 for new types, and what dns_packet_answers() hands out); in
 * a packet, compression pointers are followed only backwards, so a
 * hostile packet cannot loop. Text forms of names are in lower case with
 * no trailing dot (the root is "."), and bytes other than letters,
 * digits, '-' and '_' are escaped as "\DDD" ('.' and '\' as "\." and
 * "\\"), so a name read from the network is always one printable token
 * that compares equal to the same name from anywhere else.
 */
#ifndef SLUICE_DNS_RR_H
#define SLUICE_DNS_RR_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_WIRE_MAX	255	/* octets, root label included */
#define DNS_NAME_TEXT_MAX	1024	/* longest text form, NUL too */
#define DNS_CNAME_MAX		16	/* CNAME links followed */
#define DNS_ADDR_TEXT_MAX	46	/* INET6_ADDRSTRLEN */

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_MX = 15,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_TLSA = 52,
};
#define DNS_CLASS_IN	1

enum dns_wire_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
};

struct dns_mx {
	uint16_t	 pref;
	char		*host;		/* text; "." is the root */
};

struct dns_addr {
	int		 family;	/* AF_INET6 or AF_INET */
	union {
		struct in_addr	 v4;
		struct in6_addr	 v6;
	} u;
	char		 text[DNS_ADDR_TEXT_MAX];
};

struct dns_tlsa {
	uint8_t		 usage;		/* 2 DANE-TA, 3 DANE-EE */
	uint8_t		 selector;	/* 0 certificate, 1 SPKI */
	uint8_t		 mtype;		/* 0 full, 1 SHA-256, 2 -512 */
	uint8_t		*data;
	size_t		 len;
};

/*
 * A reply packet: the header and the question, checked; the answer
 * section is walked by dns_packet_answers(). data is not copied.
 */
struct dns_packet {
	const uint8_t	*data;
	size_t		 len;
	uint16_t	 id;
	uint16_t	 flags;
	int		 rcode;		/* DNS_RCODE_*, header only */
	uint16_t	 qtype;
	uint16_t	 qclass;
	uint8_t		 qname[DNS_NAME_WIRE_MAX];
	size_t		 qname_len;
	uint16_t	 ancount;
	size_t		 answer_off;	/* first answer record */
};

/* A uniform random number in [0, upper), upper > 0. */
typedef uint32_t dns_random_fn(uint32_t upper, void *arg);
/* Called with each matching record's rdata; returns 0, or -1 to stop. */
typedef int dns_rdata_fn(const uint8_t *rdata, size_t len, void *arg);

/*
 * An uncompressed wire name at the start of p. On success the name is in
 * wire_r (wire_len_r octets, letters as they came) and *used_r octets
 * of p were read. Rejects compression pointers, reserved label types, names
 * over 255 octets and a missing root label.
 */
int	 dns_name_parse(const uint8_t *p, size_t len,
	    uint8_t wire_r[DNS_NAME_WIRE_MAX], size_t *wire_len_r,
	    size_t *used_r, const char **error_r);
/*
 * The text form of a wire name (as dns_name_parse() accepts it) into out
 * (size octets). Returns the length, or -1 when it does not fit or the
 * name is malformed. DNS_NAME_TEXT_MAX always fits.
 */
int	 dns_name_to_text(const uint8_t *wire, size_t wire_len, char *out,
	    size_t size);
/* Equal as DNS names (ASCII letters in any case)? */
bool	 dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b,
	    size_t blen);

/* MX rdata: preference, then an uncompressed name filling the rest. */
int	 dns_rr_mx_parse(const uint8_t *rdata, size_t len,
	    struct dns_mx *mx_r, const char **error_r);
void	 dns_mx_clear(struct dns_mx *mx);
/* A (type DNS_TYPE_A, 4 octets) or AAAA (16 octets) rdata. */
int	 dns_rr_addr_parse(uint16_t type, const uint8_t *rdata, size_t len,
	    struct dns_addr *addr_r, const char **error_r);
/* TLSA rdata: usage, selector, matching type, at least one data octet. */
int	 dns_rr_tlsa_parse(const uint8_t *rdata, size_t len,
	    struct dns_tlsa *tlsa_r, const char **error_r);
void	 dns_tlsa_clear(struct dns_tlsa *tlsa);
/*
 * Usable for SMTP (RFC 7672 3.1): DANE-TA(2) or DANE-EE(3), a known
 * selector, and data the length its matching type says (SHA-256 32,
 * SHA-512 64 octets). Others are ignored, not errors.
 */
bool	 dns_tlsa_usable(const struct dns_tlsa *tlsa);

/*
 * Sort by preference, then shuffle each run of equal preferences with
 * rnd (RFC 5321 5.1).
 */
void	 dns_mx_sort(struct dns_mx *mx, size_t n, dns_random_fn *rnd,
	    void *arg);
/*
 * Everything done to an MX RRset before it is handed out. A single MX
 * with preference 0 and the root as target is a null MX (RFC 7505):
 * *null_mx_r is set and the list emptied. Root targets in a larger set
 * are dropped (there is no host to try); if nothing is left, that is
 * also reported as a null MX, as the domain has MX records yet no mail
 * exchanger. The rest is sorted by dns_mx_sort(). Returns the new count;
 * the dropped entries are cleared.
 */
size_t	 dns_mx_prepare(struct dns_mx *mx, size_t n, bool *null_mx_r,
	    dns_random_fn *rnd, void *arg);

/* Header and question of a reply (QR set, one question). */
int	 dns_packet_parse(const uint8_t *data, size_t len,
	    struct dns_packet *p_r, const char **error_r);
/*
 * Walk the answer section: follow CNAMEs from the question's name (at
 * most DNS_CNAME_MAX), then call fn for every record of class IN and the
 * given type owned by the name the chain ends at. An MX record is handed
 * to fn with its exchange name decompressed; other types as they are.
 * The final owner goes to canon_r/canon_len_r when not NULL. Returns the
 * number of records given to fn, or -1 (malformed packet, CNAME chain
 * too long or looping, or fn returned -1).
 */
int	 dns_packet_answers(const struct dns_packet *p, uint16_t type,
	    dns_rdata_fn *fn, void *arg, uint8_t canon_r[DNS_NAME_WIRE_MAX],
	    size_t *canon_len_r, const char **error_r);

#endif
