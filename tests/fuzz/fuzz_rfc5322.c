/*
 * libFuzzer target for src/lib/rfc5322.c. The first byte picks the mode
 * and the address limit; the rest is a header section (or, in one mode,
 * a field value). Beyond "no crash", it checks what the policy relies on:
 * never more than max addresses, every address has a local part and a
 * domain, errors come with a message and no addresses, field values are
 * unfolded and bounded, counting and finding agree, and an accepted list
 * formats to one that parses back to the same addresses.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "rfc5322.h"
#include "util.h"

#define MAX_ADDRS	16

static void
check_list(int rc, const struct addr *out, size_t n, size_t max,
    const char *error)
{
	if (rc == -1) {
		if (error == NULL || n != 0)
			abort();
		return;
	}
	if (rc != 0 || n == 0 || n > max)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct addr *a = &out[i];

		if (a->local_len == 0 || a->domain_len == 0 ||
		    a->local_len > ADDR_LOCAL_MAX ||
		    a->domain_len > ADDR_DOMAIN_MAX ||
		    strlen(a->local) != a->local_len ||
		    strlen(a->domain) != a->domain_len ||
		    (a->flags & (ADDR_F_NULL | ADDR_F_POSTMASTER_BARE)) != 0)
			abort();
	}
}

/* format -> "<a>, <b>" -> parse gives the same addresses. */
static void
check_round_trip(const struct addr *out, size_t n)
{
	static struct addr again[MAX_ADDRS];
	char one[ADDR_TEXT_MAX + 1];
	const char *error = NULL;
	struct buf b;
	size_t m, len;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		len = addr_format(&out[i], one, sizeof(one));
		/* inet_ntop may spell a literal longer than the input */
		if (len > ADDR_MAILBOX_MAX) {
			buf_release(&b);
			return;
		}
		buf_printf(&b, "%s<%s>", i > 0 ? ", " : "", one);
	}
	if (rfc5322_mailbox_list(b.data, b.len, again, MAX_ADDRS, &m,
	    &error) != 0 || m != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!addr_equal(&out[i], &again[i]))
			abort();
	buf_release(&b);
}

static void
check_fields(const char *hdr, size_t len)
{
	size_t count = rfc5322_field_count(hdr, len, "From");
	const char *error = NULL;
	struct buf v;
	int rc;

	buf_init(&v, 0);
	for (size_t i = 0; i <= count && i < 4; i++) {
		rc = rfc5322_field_find(hdr, len, "From", i, &v, &error);
		if (i == count) {
			if (rc != 0 || v.len != 0)
				abort();
			continue;
		}
		if (rc == -1) {
			if (error == NULL || v.len != 0)
				abort();
			continue;
		}
		if (rc != 1 || v.len > RFC5322_VALUE_MAX)
			abort();
		if (v.len > 0 && (memchr(v.data, '\r', v.len) != NULL ||
		    memchr(v.data, '\n', v.len) != NULL ||
		    v.data[0] == ' ' || v.data[0] == '\t' ||
		    v.data[v.len - 1] == ' ' || v.data[v.len - 1] == '\t'))
			abort();
	}
	buf_release(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct addr out[MAX_ADDRS];	/* too big for the stack */
	const char *s, *error = NULL;
	size_t len, max, n = 99;
	int rc;

	if (size == 0)
		return 0;
	max = data[0] & 0x0f;
	s = (const char *)data + 1;
	len = size - 1;

	if (data[0] & 0x80)
		rc = rfc5322_mailbox_list(s, len, out, max, &n, &error);
	else {
		rc = rfc5322_header_mailboxes(s, len, "From", out, max, &n,
		    &error);
		check_fields(s, len);
	}
	check_list(rc, out, n, max, error);
	if (rc == 0)
		check_round_trip(out, n);
	return 0;
}
