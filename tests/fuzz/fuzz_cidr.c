/* libFuzzer target for cidr: whatever parses is a clean network that
 * formats and re-parses to itself and matches its own first and last
 * address; list parsing and prefix keys never overrun. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The network's first (fill 0) or last (fill 1) address as a client. */
static const struct sockaddr *
edge_address(const struct cidr *c, int fill, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint8_t a[16];
	size_t alen = c->family == AF_INET ? 4 : 16;

	memcpy(a, c->addr, alen);
	for (unsigned int bit = c->prefix; fill && bit < alen * 8; bit++)
		a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	memset(ss, 0, sizeof(*ss));
	if (c->family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
	}
	return (const struct sockaddr *)ss;
}

static void
check_network(const struct cidr *c)
{
	struct cidr again;
	struct sockaddr_storage ss;
	const struct sockaddr *sa;
	char text[CIDR_TEXT_SIZE];
	const char *error;
	size_t bits = c->family == AF_INET ? 32 : 128;

	if ((c->family != AF_INET && c->family != AF_INET6) || c->prefix > bits)
		abort();
	cidr_format(c, text, sizeof(text));
	if (cidr_parse(&again, text, strlen(text), &error) != 0 ||
	    again.host_bits || again.family != c->family ||
	    again.prefix != c->prefix ||
	    memcmp(again.addr, c->addr, sizeof(c->addr)) != 0)
		abort();
	/* IPv4-mapped clients match as IPv4, never an IPv6 network. */
	for (int fill = 0; fill <= 1; fill++) {
		sa = edge_address(c, fill, &ss);

		if (!cidr_match(c, sa) && !(sa->sa_family == AF_INET6 &&
		    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr)))
			abort();
	}
	/* The key of an address is a network that holds it. */
	sa = edge_address(c, 1, &ss);
	if (cidr_prefix_key(sa, c->prefix > 32 ? 32 : c->prefix, c->prefix,
	    text, sizeof(text)) != 0 ||
	    cidr_parse(&again, text, strlen(text), &error) != 0 ||
	    again.host_bits || !cidr_match(&again, sa))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr c;
	struct cidr_list list;
	const char *error = NULL;
	size_t off;
	char *copy = malloc(size);	/* exact size: ASan sees overreads */

	if (size > 0)
		memcpy(copy, data, size);
	if (cidr_parse(&c, copy, size, &error) == 0)
		check_network(&c);
	else if (error == NULL)
		abort();
	cidr_list_init(&list);
	if (cidr_list_parse(&list, copy, size, &off, &error) == 0) {
		for (size_t i = 0; i < list.count; i++)
			check_network(&list.items[i]);
	} else if (off >= size || list.count != 0) {
		abort();
	}
	cidr_list_free(&list);
	free(copy);
	return 0;
}
