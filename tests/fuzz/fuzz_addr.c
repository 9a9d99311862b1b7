/*
 * libFuzzer target for src/lib/addr.c. The first byte picks the options
 * and whether the caller asks for the consumed length; the rest is the
 * path. Beyond "no crash", it checks what callers rely on: the normal form
 * stays within its limits, flags never claim what the options forbid, and
 * an accepted address formats to a mailbox that parses back to itself.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

static void
check_text(const char *s, size_t len, bool utf8)
{
	if (strlen(s) != len)
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			abort();
	}
}

static void
check_addr(const struct addr *a, unsigned opts)
{
	bool utf8 = (opts & ADDR_ALLOW_UTF8) != 0;

	if (a->local_len > ADDR_LOCAL_MAX || a->domain_len > ADDR_DOMAIN_MAX)
		abort();
	check_text(a->local, a->local_len, utf8);
	check_text(a->domain, a->domain_len, utf8);
	if (((a->flags & ADDR_F_NULL) && !(opts & ADDR_ALLOW_NULL)) ||
	    ((a->flags & ADDR_F_UTF8) && !utf8) ||
	    ((a->flags & ADDR_F_POSTMASTER_BARE) &&
	    !(opts & ADDR_ALLOW_POSTMASTER)))
		abort();
	for (size_t i = 0; i < a->domain_len; i++)
		if (a->domain[i] >= 'A' && a->domain[i] <= 'Z' &&
		    !(a->flags & ADDR_F_IP_LITERAL))
			abort();
	if ((a->flags & (ADDR_F_NULL | ADDR_F_POSTMASTER_BARE)) == 0 &&
	    (a->local_len == 0 || a->domain_len == 0))
		abort();
	/* the parser and the standalone check agree on ASCII names */
	if (a->domain_len > 0 && (a->flags & (ADDR_F_IP_LITERAL |
	    ADDR_F_UTF8_DOMAIN)) == 0 &&
	    !addr_domain_is_valid(a->domain, a->domain_len))
		abort();
	if ((a->flags & ADDR_F_IP_LITERAL) != 0 && a->ip_version != 4 &&
	    a->ip_version != 6)
		abort();
}

/* format -> parse_mailbox gives the same address and the same text. */
static void
check_round_trip(const struct addr *a)
{
	char text[ADDR_TEXT_MAX + 1], again[ADDR_TEXT_MAX + 1];
	const char *error;
	struct addr b;
	size_t n;

	if (a->flags & ADDR_F_NULL)
		return;
	n = addr_format(a, text, sizeof(text));
	if (n > ADDR_TEXT_MAX || n != strlen(text))
		abort();
	/* inet_ntop may spell a literal one octet longer than the input */
	if (n > ADDR_MAILBOX_MAX)
		return;
	if (addr_parse_mailbox(text, n,
	    ADDR_ALLOW_UTF8 | ADDR_ALLOW_POSTMASTER, &b, &error) != 0)
		abort();
	if (!addr_equal(a, &b) || (b.flags & ADDR_F_TRAILING_DOT) ||
	    (a->flags & ADDR_F_ROUTING & ~ADDR_F_SOURCE_ROUTE) !=
	    (b.flags & ADDR_F_ROUTING & ~ADDR_F_SOURCE_ROUTE) ||
	    (a->flags & ADDR_F_UTF8) != (b.flags & ADDR_F_UTF8) ||
	    memcmp(a->ip, b.ip, sizeof(a->ip)) != 0)
		abort();
	if (addr_format(&b, again, sizeof(again)) != n ||
	    memcmp(text, again, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s, *error = NULL;
	size_t len, consumed = 0;
	unsigned opts;
	struct addr a;
	bool want_consumed;

	if (size == 0)
		return 0;
	opts = data[0] & 0x0f;
	want_consumed = (data[0] & 0x10) != 0;
	s = (const char *)data + 1;
	len = size - 1;

	if (addr_parse_path(s, len, opts, &a,
	    want_consumed ? &consumed : NULL, &error) == 0) {
		if (want_consumed && (consumed > len ||
		    (consumed < len && s[consumed] != ' ')))
			abort();
		check_addr(&a, opts);
		check_round_trip(&a);
	} else if (error == NULL || a.flags != 0 || a.local_len != 0)
		abort();

	error = NULL;
	if (addr_parse_mailbox(s, len, opts, &a, &error) == 0) {
		if (len > ADDR_MAILBOX_MAX)
			abort();
		check_addr(&a, opts & (ADDR_ALLOW_UTF8 |
		    ADDR_ALLOW_POSTMASTER));
		check_round_trip(&a);
	} else if (error == NULL)
		abort();

	(void)addr_domain_is_valid(s, len);
	return 0;
}
