/*
 * cidr: IPv4 and IPv6 networks ("192.0.2.0/24", "2001:db8::/32") for
 * trusted networks, policy rules and per-network rate limits.
 *
 * Contract: pure and DNS-free (inet_pton/inet_ntop only). Parsing takes
 * bytes and a length. The syntax is strict:
 *  - an address as inet_pton() reads it (IPv4 dotted quad without leading
 *    zeros; IPv6 without a zone such as "%eth0"); a bare address is a
 *    /32 or /128;
 *  - an optional "/" and a decimal prefix of at most 32 (IPv4) or 128
 *    (IPv6) without sign, space or leading zero: "/024" is rejected since
 *    some tools read it as octal and the operator's intent is unclear;
 *  - bits set past the prefix ("192.0.2.1/24") are accepted and cleared,
 *    as Postfix does, and marked in host_bits so the configuration loader
 *    can warn that the text says more than the network;
 *  - an IPv4-mapped IPv6 network of /96 or longer ("::ffff:192.0.2.0/120")
 *    is stored as the IPv4 network it names ("192.0.2.0/24").
 * Matching treats an IPv4-mapped IPv6 client (::ffff:192.0.2.1, as seen
 * on a dual-stack socket) as the IPv4 address it carries, so it matches
 * IPv4 networks and never an IPv6 one; "::/0" matches every IPv6 client
 * that is not IPv4-mapped, "0.0.0.0/0" every IPv4 client.
 */
#ifndef SLUICE_CIDR_H
#define SLUICE_CIDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for any cidr_format() or cidr_prefix_key() text and its NUL. */
#define CIDR_TEXT_SIZE	(INET6_ADDRSTRLEN + 4)

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned int	prefix;		/* 0..32 or 0..128 */
	uint8_t		addr[16];	/* network, host bits zero; IPv4 in
					   the first 4 bytes */
	bool		host_bits;	/* the text had bits past the prefix */
};

struct cidr_list {
	struct cidr	*items;
	size_t		 count;
	size_t		 cap;
};

int	 cidr_parse(struct cidr *cidr_r, const char *s, size_t len,
	    const char **error_r);
/* cidr_format: "192.0.2.0/24"; out holds CIDR_TEXT_SIZE bytes. */
void	 cidr_format(const struct cidr *cidr, char *out, size_t outsz);

bool	 cidr_match_in(const struct cidr *cidr, const struct in_addr *a);
bool	 cidr_match_in6(const struct cidr *cidr, const struct in6_addr *a);
/* cidr_match: false for families other than AF_INET and AF_INET6. */
bool	 cidr_match(const struct cidr *cidr, const struct sockaddr *sa);

void	 cidr_list_init(struct cidr_list *list);
/* cidr_list_free: release the items of an embedded list, leave it empty. */
void	 cidr_list_free(struct cidr_list *list);
void	 cidr_list_add(struct cidr_list *list, const struct cidr *cidr);
/*
 * cidr_list_parse: append the networks of a list separated by commas and
 * white space (empty entries are skipped; "" is an empty list). On error
 * nothing is appended, *error_r says why and *error_off_r (may be NULL)
 * is the offset of the bad entry in s.
 */
int	 cidr_list_parse(struct cidr_list *list, const char *s, size_t len,
	    size_t *error_off_r, const char **error_r);
bool	 cidr_list_match(const struct cidr_list *list,
	    const struct sockaddr *sa);

/*
 * cidr_prefix_key: the network of prefix v4_prefix (IPv4, IPv4-mapped
 * included) or v6_prefix (IPv6) around a client address, as text
 * ("192.0.2.0/24", "2001:db8:1:2::/64"): the key for rate limits per
 * network. out holds CIDR_TEXT_SIZE bytes. Returns -1 for other address
 * families or a prefix too long for the family.
 */
int	 cidr_prefix_key(const struct sockaddr *sa, unsigned int v4_prefix,
	    unsigned int v6_prefix, char *out, size_t outsz);

#endif
