/* cidr: see cidr.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "util.h"

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static unsigned int
family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Clear the bits past prefix; says whether any were set. */
static bool
addr_mask(uint8_t *addr, size_t alen, unsigned int prefix)
{
	bool had = false;

	for (size_t i = 0; i < alen; i++) {
		size_t keep = prefix > i * 8 ? prefix - i * 8 : 0;
		uint8_t mask = keep >= 8 ? 0xff : (uint8_t)(0xff << (8 - keep));

		if (addr[i] & ~mask)
			had = true;
		addr[i] &= mask;
	}
	return had;
}

static bool
addr_match(const uint8_t *net, const uint8_t *a, unsigned int prefix)
{
	size_t full = prefix / 8;
	unsigned int rem = prefix % 8;

	if (memcmp(net, a, full) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((net[full] ^ a[full]) & (uint8_t)(0xff << (8 - rem))) == 0;
}

static int
prefix_parse(const char *s, size_t len, unsigned int max,
    unsigned int *prefix_r, const char **error_r)
{
	unsigned int v = 0;

	if (len == 0) {
		*error_r = "missing prefix length after /";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 3) {
			*error_r = "bad prefix length";
			return -1;
		}
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (len > 1 && s[0] == '0') {
		*error_r = "leading zero in prefix length";
		return -1;
	}
	if (v > max) {
		*error_r = max == 32 ? "IPv4 prefix length over 32" :
		    "IPv6 prefix length over 128";
		return -1;
	}
	*prefix_r = v;
	return 0;
}

static int
addr_parse(struct cidr *cidr, const char *s, size_t len,
    const char **error_r)
{
	char text[INET6_ADDRSTRLEN];

	if (len == 0) {
		*error_r = "missing address";
		return -1;
	}
	if (len >= sizeof(text) || memchr(s, '\0', len) != NULL) {
		*error_r = "not an IP address";
		return -1;
	}
	memcpy(text, s, len);
	text[len] = '\0';
	memset(cidr->addr, 0, sizeof(cidr->addr));
	cidr->family = memchr(text, ':', len) != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(cidr->family, text, cidr->addr) != 1) {
		*error_r = cidr->family == AF_INET ? "bad IPv4 address" :
		    "bad IPv6 address";
		return -1;
	}
	return 0;
}

int
cidr_parse(struct cidr *cidr_r, const char *s, size_t len,
    const char **error_r)
{
	struct cidr c;
	const char *slash;
	size_t alen;

	if (len == 0) {
		*error_r = "empty network";
		return -1;
	}
	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;
	memset(&c, 0, sizeof(c));
	if (addr_parse(&c, s, alen, error_r) == -1)
		return -1;
	c.prefix = family_bits(c.family);
	if (slash != NULL && prefix_parse(slash + 1, len - alen - 1,
	    c.prefix, &c.prefix, error_r) == -1)
		return -1;
	/* A mapped network names IPv4 clients, and they match as IPv4. */
	if (c.family == AF_INET6 && c.prefix >= 96 &&
	    memcmp(c.addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(c.addr, c.addr + 12, 4);
		memset(c.addr + 4, 0, 12);
		c.family = AF_INET;
		c.prefix -= 96;
	}
	c.host_bits = addr_mask(c.addr, family_bits(c.family) / 8, c.prefix);
	*cidr_r = c;
	return 0;
}

void
cidr_format(const struct cidr *cidr, char *out, size_t outsz)
{
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(cidr->family, cidr->addr, text, sizeof(text)) == NULL)
		str_copy(text, "?", sizeof(text));
	snprintf(out, outsz, "%s/%u", text, cidr->prefix);
}

bool
cidr_match_in(const struct cidr *cidr, const struct in_addr *a)
{
	return cidr->family == AF_INET &&
	    addr_match(cidr->addr, (const uint8_t *)&a->s_addr, cidr->prefix);
}

bool
cidr_match_in6(const struct cidr *cidr, const struct in6_addr *a)
{
	if (IN6_IS_ADDR_V4MAPPED(a))
		return cidr->family == AF_INET &&
		    addr_match(cidr->addr, a->s6_addr + 12, cidr->prefix);
	return cidr->family == AF_INET6 &&
	    addr_match(cidr->addr, a->s6_addr, cidr->prefix);
}

bool
cidr_match(const struct cidr *cidr, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;

	if (sa->sa_family == AF_INET)
		return cidr_match_in(cidr, &sin->sin_addr);
	if (sa->sa_family == AF_INET6)
		return cidr_match_in6(cidr, &sin6->sin6_addr);
	return false;
}

void
cidr_list_init(struct cidr_list *list)
{
	list->items = NULL;
	list->count = 0;
	list->cap = 0;
}

void
cidr_list_free(struct cidr_list *list)
{
	free(list->items);
	cidr_list_init(list);
}

void
cidr_list_add(struct cidr_list *list, const struct cidr *cidr)
{
	if (list->count == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 8;
		list->items = xreallocarray(list->items, list->cap,
		    sizeof(*list->items));
	}
	list->items[list->count++] = *cidr;
}

static bool
is_separator(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
cidr_list_parse(struct cidr_list *list, const char *s, size_t len,
    size_t *error_off_r, const char **error_r)
{
	size_t old = list->count, i = 0, start;
	struct cidr c;

	while (i < len) {
		if (is_separator(s[i])) {
			i++;
			continue;
		}
		for (start = i; i < len && !is_separator(s[i]); i++)
			;
		if (cidr_parse(&c, s + start, i - start, error_r) == -1) {
			list->count = old;
			if (error_off_r != NULL)
				*error_off_r = start;
			return -1;
		}
		cidr_list_add(list, &c);
	}
	return 0;
}

bool
cidr_list_match(const struct cidr_list *list, const struct sockaddr *sa)
{
	for (size_t i = 0; i < list->count; i++)
		if (cidr_match(&list->items[i], sa))
			return true;
	return false;
}

int
cidr_prefix_key(const struct sockaddr *sa, unsigned int v4_prefix,
    unsigned int v6_prefix, char *out, size_t outsz)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	const uint8_t *a;
	struct cidr c;

	memset(&c, 0, sizeof(c));
	if (sa->sa_family == AF_INET) {
		c.family = AF_INET;
		memcpy(c.addr, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		a = sin6->sin6_addr.s6_addr;
		c.family = memcmp(a, v4mapped, sizeof(v4mapped)) == 0 ?
		    AF_INET : AF_INET6;
		if (c.family == AF_INET)
			memcpy(c.addr, a + 12, 4);
		else
			memcpy(c.addr, a, 16);
	} else
		return -1;
	c.prefix = c.family == AF_INET ? v4_prefix : v6_prefix;
	if (c.prefix > family_bits(c.family))
		return -1;
	addr_mask(c.addr, family_bits(c.family) / 8, c.prefix);
	cidr_format(&c, out, outsz);
	return 0;
}
