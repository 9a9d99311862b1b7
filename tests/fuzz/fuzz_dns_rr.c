/*
 * libFuzzer target for src/dns/dns_rr.c. Any input, taken as rdata, as a
 * name and as a reply packet, must be parsed or refused without reading
 * past it. What parses must hold up: a name's text form always fits
 * DNS_NAME_TEXT_MAX and is printable without spaces, an MX record that
 * dns_packet_answers() decompressed always parses as uncompressed MX
 * rdata, and the MX order is sorted and a permutation of its input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_rr.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= DNS_NAME_TEXT_MAX)
		abort();
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f)
			abort();
}

static int
answer(const uint8_t *rdata, size_t len, void *arg)
{
	uint16_t type = *(const uint16_t *)arg;
	const char *err = NULL;
	struct dns_tlsa t;
	struct dns_addr a;
	struct dns_mx mx;

	switch (type) {
	case DNS_TYPE_MX:
		/* Decompressed by dns_packet_answers(): must be valid. */
		if (dns_rr_mx_parse(rdata, len, &mx, &err) == -1)
			abort();
		check_text(mx.host);
		dns_mx_clear(&mx);
		break;
	case DNS_TYPE_TLSA:
		if (dns_rr_tlsa_parse(rdata, len, &t, &err) == 0) {
			if (t.len != len - 3 || memcmp(t.data, rdata + 3,
			    t.len) != 0)
				abort();
			dns_tlsa_clear(&t);
		}
		break;
	default:
		if (dns_rr_addr_parse(type, rdata, len, &a, &err) == 0 &&
		    a.text[0] == '\0')
			abort();
		break;
	}
	return 0;
}

static void
fuzz_packet(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { DNS_TYPE_MX, DNS_TYPE_A,
	    DNS_TYPE_AAAA, DNS_TYPE_TLSA };
	uint8_t canon[DNS_NAME_WIRE_MAX];
	char text[DNS_NAME_TEXT_MAX];
	struct dns_packet p;
	const char *err = NULL;
	size_t clen, i;
	uint16_t type;
	int n;

	if (dns_packet_parse(data, size, &p, &err) == -1)
		return;
	if (p.qname_len == 0 || p.qname_len > DNS_NAME_WIRE_MAX ||
	    p.answer_off > size)
		abort();
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		type = types[i];
		n = dns_packet_answers(&p, type, answer, &type, canon, &clen,
		    &err);
		if (n < -1 || n > p.ancount)
			abort();
		if (n >= 0 && (dns_name_to_text(canon, clen, text,
		    sizeof(text)) == -1))
			abort();
		if (n >= 0)
			check_text(text);
	}
}

static uint32_t
fuzz_random(uint32_t upper, void *arg)
{
	const uint8_t **cursor = arg;

	if (upper == 0)
		abort();
	return *(*cursor)++ * 977u;	/* out of range on purpose, often */
}

/* MX entries from pairs of octets, sorted with input-driven randomness. */
static void
fuzz_mx_order(const uint8_t *data, size_t size)
{
	struct dns_mx mx[32];
	uint32_t before[256] = { 0 };
	const uint8_t *cursor = data;
	size_t n = size / 2 > 32 ? 32 : size / 2, i;
	bool null_mx;
	char host[8];

	/* Enough random octets: the input, read again from its start. */
	if (size < 64)
		return;
	for (i = 0; i < n; i++) {
		mx[i].pref = data[2 * i] % 4;
		snprintf(host, sizeof(host), "%s", data[2 * i + 1] % 5 == 0 ?
		    "." : "h");
		mx[i].host = xstrdup(host);
		if (strcmp(host, ".") != 0)
			before[mx[i].pref]++;
	}
	n = dns_mx_prepare(mx, n, &null_mx, fuzz_random, &cursor);
	for (i = 0; i < n; i++) {
		if (mx[i].host == NULL || strcmp(mx[i].host, ".") == 0)
			abort();
		if (i > 0 && mx[i - 1].pref > mx[i].pref)
			abort();
		if (before[mx[i].pref]-- == 0)
			abort();
		dns_mx_clear(&mx[i]);
	}
	if (null_mx && n != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	char text[DNS_NAME_TEXT_MAX];
	uint8_t *copy = xmalloc(size + 1);
	const char *err = NULL;
	struct dns_tlsa t;
	struct dns_addr a;
	struct dns_mx mx;
	size_t wlen, used;

	/* A copy of exactly size bytes so that reading past it is caught. */
	memcpy(copy, data, size);
	if (dns_rr_mx_parse(copy, size, &mx, &err) == 0) {
		if (size < 3 || mx.pref != (copy[0] << 8 | copy[1]))
			abort();
		check_text(mx.host);
		dns_mx_clear(&mx);
	} else if (err == NULL)
		abort();
	if (dns_name_parse(copy, size, wire, &wlen, &used, &err) == 0) {
		if (used > size || wlen > DNS_NAME_WIRE_MAX || used != wlen ||
		    dns_name_to_text(wire, wlen, text, sizeof(text)) == -1)
			abort();
		check_text(text);
	}
	if (dns_rr_tlsa_parse(copy, size, &t, &err) == 0) {
		(void)dns_tlsa_usable(&t);
		dns_tlsa_clear(&t);
	}
	(void)dns_rr_addr_parse(DNS_TYPE_A, copy, size, &a, &err);
	(void)dns_rr_addr_parse(DNS_TYPE_AAAA, copy, size, &a, &err);
	fuzz_packet(copy, size);
	fuzz_mx_order(copy, size);
	free(copy);
	return 0;
}
