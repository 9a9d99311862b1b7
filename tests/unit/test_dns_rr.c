/* Unit tests for src/dns/dns_rr.c: MX, TLSA and address rdata, names as
 * text, hostile rdata (each valid case also cut short at every length),
 * the MX order of RFC 5321 5.1 with a scripted random source, null MX
 * (RFC 7505), and reply packets with compression and CNAME chains. */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dns_rr.h"
#include "util.h"

#define R(s)	(s), sizeof(s) - 1

/* ---- MX rdata ------------------------------------------------------ */

static const struct mx_ok {
	const char	*rdata;
	size_t		 len;
	uint16_t	 pref;
	const char	*host;
} mx_ok[] = {
	{ R("\x00\x0a\x03mx1\x06secure\x04test\x00"), 10, "mx1.secure.test" },
	{ R("\x00\x00\x00"), 0, "." },
	{ R("\xff\xff\x01" "a\x00"), 65535, "a" },
	{ R("\x00\x01\x02MX\x07" "Example\x00"), 1, "mx.example" },
	{ R("\x00\x01\x03" "a.b\x00"), 1, "a\\.b" },
	{ R("\x00\x01\x04" "a\\ b\x00"), 1, "a\\\\\\032b" },
	{ R("\x00\x01\x03\x00\xff\x7f\x00"), 1, "\\000\\255\\127" },
	{ R("\x00\x02\x05_smtp\x01-\x00"), 2, "_smtp.-" },
};

Test(dns_rr, mx_parse_valid)
{
	for (size_t i = 0; i < ARRAY_SIZE(mx_ok); i++) {
		const struct mx_ok *t = &mx_ok[i];
		struct dns_mx mx;
		const char *err = NULL;

		cr_assert_eq(dns_rr_mx_parse((const uint8_t *)t->rdata, t->len,
		    &mx, &err), 0, "case %zu: %s", i, err);
		cr_expect_eq(mx.pref, t->pref, "case %zu", i);
		cr_expect_str_eq(mx.host, t->host, "case %zu", i);
		dns_mx_clear(&mx);
		cr_expect_null(mx.host);
	}
}

Test(dns_rr, mx_parse_every_prefix_fails)
{
	for (size_t i = 0; i < ARRAY_SIZE(mx_ok); i++) {
		const struct mx_ok *t = &mx_ok[i];

		for (size_t n = 0; n < t->len; n++) {
			/* An exact-size copy, so a read past n is caught. */
			uint8_t *copy = xmalloc(n + 1);
			struct dns_mx mx = { 0, NULL };
			const char *err = NULL;

			memcpy(copy, t->rdata, n);
			cr_expect_eq(dns_rr_mx_parse(copy, n, &mx, &err), -1,
			    "case %zu cut at %zu parsed as %s", i, n,
			    mx.host != NULL ? mx.host : "?");
			cr_expect_not_null(err);
			dns_mx_clear(&mx);
			free(copy);
		}
	}
}

static const struct mx_bad {
	const char	*rdata;
	size_t		 len;
	const char	*why;
} mx_bad[] = {
	{ R(""), "too short" },
	{ R("\x00\x0a"), "too short" },
	{ R("\x00\x0a\x03" "abc"), "past the end" },
	{ R("\x00\x0a\xc0\x0c"), "compression pointer" },
	{ R("\x00\x0a\x01" "a\xc0\x02"), "compression pointer" },
	{ R("\x00\x0a\x41" "a\x00"), "reserved label type" },
	{ R("\x00\x0a\x80\x00"), "reserved label type" },
	{ R("\x00\x0a\x05" "ab\x00"), "past the end" },
	{ R("\x00\x0a\x01" "a\x00\x00"), "bytes after the name" },
	{ R("\x00\x0a\x00X"), "bytes after the name" },
};

Test(dns_rr, mx_parse_hostile)
{
	for (size_t i = 0; i < ARRAY_SIZE(mx_bad); i++) {
		const struct mx_bad *t = &mx_bad[i];
		struct dns_mx mx = { 0, NULL };
		const char *err = NULL;

		cr_expect_eq(dns_rr_mx_parse((const uint8_t *)t->rdata, t->len,
		    &mx, &err), -1, "case %zu", i);
		cr_expect(err != NULL && strstr(err, t->why) != NULL,
		    "case %zu: %s, wanted %s", i, err ? err : "none", t->why);
		cr_expect_null(mx.host);
	}
}

/* A name of total wire length wlen from labels of `fill` octets. */
static size_t
long_name(uint8_t *out, size_t wlen, uint8_t fill)
{
	size_t o = 0, left = wlen - 1;

	while (left > 0) {
		size_t l = left - 1 > 63 ? 63 : left - 1;

		if (l == 0)
			l = 1;	/* never reached for the sizes used */
		out[o++] = (uint8_t)l;
		memset(out + o, fill, l);
		o += l;
		left -= l + 1;
	}
	out[o++] = 0;
	return o;
}

Test(dns_rr, names_up_to_255_octets)
{
	uint8_t rdata[2 + 300], wire[DNS_NAME_WIRE_MAX];
	char text[DNS_NAME_TEXT_MAX];
	size_t n, wlen, used;
	const char *err = NULL;
	struct dns_mx mx;
	int tl;

	/* 255 octets of 0xff labels: the longest text form there is. */
	rdata[0] = 0;
	rdata[1] = 5;
	n = long_name(rdata + 2, 255, 0xff);
	cr_assert_eq(n, 255);
	cr_assert_eq(dns_rr_mx_parse(rdata, 2 + n, &mx, &err), 0, "%s", err);
	cr_expect_eq(strlen(mx.host), 4 * (255 - 5) + 3);
	cr_expect_lt(strlen(mx.host), DNS_NAME_TEXT_MAX);
	dns_mx_clear(&mx);

	/* One octet more is refused. */
	n = long_name(rdata + 2, 256, 'a');
	cr_assert_eq(n, 256);
	cr_expect_eq(dns_rr_mx_parse(rdata, 2 + n, &mx, &err), -1);
	cr_expect(strstr(err, "longer than 255") != NULL, "%s", err);

	/* Text into a buffer too small fails, never overflows. */
	cr_assert_eq(dns_name_parse((const uint8_t *)"\x03" "abc\x03" "def\x00",
	    9, wire, &wlen, &used, &err), 0);
	cr_expect_eq(used, 9);
	tl = dns_name_to_text(wire, wlen, text, sizeof(text));
	cr_expect_eq(tl, 7);
	cr_expect_str_eq(text, "abc.def");
	for (size_t size = 0; size <= 7; size++)
		cr_expect_eq(dns_name_to_text(wire, wlen, text, size), -1,
		    "size %zu", size);
	cr_expect_eq(dns_name_to_text(wire, wlen, text, 8), 7);
	/* Not a well-formed wire name. */
	cr_expect_eq(dns_name_to_text((const uint8_t *)"\x03" "ab", 3, text,
	    sizeof(text)), -1);
	cr_expect_eq(dns_name_to_text((const uint8_t *)"\x00\x00", 2, text,
	    sizeof(text)), -1);
}

Test(dns_rr, name_equal_ignores_case)
{
	cr_expect(dns_name_equal((const uint8_t *)"\x02" "Ab\x00", 4,
	    (const uint8_t *)"\x02" "aB\x00", 4));
	cr_expect(!dns_name_equal((const uint8_t *)"\x02" "ab\x00", 4,
	    (const uint8_t *)"\x02" "ac\x00", 4));
	cr_expect(!dns_name_equal((const uint8_t *)"\x01" "a\x00", 3,
	    (const uint8_t *)"\x02" "aa\x00", 4));
}

/* ---- TLSA and addresses -------------------------------------------- */

Test(dns_rr, tlsa)
{
	uint8_t rd[3 + 64];
	struct dns_tlsa t;
	const char *err = NULL;

	memset(rd, 0xab, sizeof(rd));
	rd[0] = 3;
	rd[1] = 1;
	rd[2] = 1;
	cr_assert_eq(dns_rr_tlsa_parse(rd, 3 + 32, &t, &err), 0, "%s", err);
	cr_expect_eq(t.usage, 3);
	cr_expect_eq(t.selector, 1);
	cr_expect_eq(t.mtype, 1);
	cr_expect_eq(t.len, 32);
	cr_expect_eq(t.data[31], 0xab);
	cr_expect(dns_tlsa_usable(&t));
	dns_tlsa_clear(&t);
	cr_expect_null(t.data);

	/* Wrong digest length, unknown usage, selector, type: unusable. */
	cr_assert_eq(dns_rr_tlsa_parse(rd, 3 + 31, &t, &err), 0);
	cr_expect(!dns_tlsa_usable(&t));
	dns_tlsa_clear(&t);
	rd[2] = 2;
	cr_assert_eq(dns_rr_tlsa_parse(rd, 3 + 64, &t, &err), 0);
	cr_expect(dns_tlsa_usable(&t), "SHA-512");
	dns_tlsa_clear(&t);
	rd[0] = 1;
	cr_assert_eq(dns_rr_tlsa_parse(rd, 3 + 64, &t, &err), 0);
	cr_expect(!dns_tlsa_usable(&t), "PKIX-EE is not for SMTP");
	dns_tlsa_clear(&t);
	rd[0] = 2;
	rd[1] = 2;
	cr_assert_eq(dns_rr_tlsa_parse(rd, 3 + 64, &t, &err), 0);
	cr_expect(!dns_tlsa_usable(&t), "selector 2");
	dns_tlsa_clear(&t);
	rd[1] = 0;
	rd[2] = 0;
	cr_assert_eq(dns_rr_tlsa_parse(rd, 3 + 5, &t, &err), 0);
	cr_expect(dns_tlsa_usable(&t), "DANE-TA full certificate");
	dns_tlsa_clear(&t);
	rd[2] = 9;
	cr_assert_eq(dns_rr_tlsa_parse(rd, 3 + 5, &t, &err), 0);
	cr_expect(!dns_tlsa_usable(&t), "matching type 9");
	dns_tlsa_clear(&t);

	for (size_t n = 0; n < 4; n++) {
		cr_expect_eq(dns_rr_tlsa_parse(rd, n, &t, &err), -1);
		cr_expect(strstr(err, "too short") != NULL);
	}
}

Test(dns_rr, addresses)
{
	struct dns_addr a;
	const char *err = NULL;

	cr_assert_eq(dns_rr_addr_parse(DNS_TYPE_A,
	    (const uint8_t *)"\x7f\x00\x00\x0b", 4, &a, &err), 0, "%s", err);
	cr_expect_eq(a.family, AF_INET);
	cr_expect_str_eq(a.text, "127.0.0.11");
	cr_assert_eq(dns_rr_addr_parse(DNS_TYPE_AAAA, (const uint8_t *)
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16, &a, &err), 0);
	cr_expect_eq(a.family, AF_INET6);
	cr_expect_str_eq(a.text, "::1");
	cr_expect_eq(dns_rr_addr_parse(DNS_TYPE_A,
	    (const uint8_t *)"\x7f\0\0\x01\x02", 5, &a, &err), -1);
	cr_expect_eq(dns_rr_addr_parse(DNS_TYPE_A,
	    (const uint8_t *)"\x7f\0\0", 3, &a, &err), -1);
	cr_expect_eq(dns_rr_addr_parse(DNS_TYPE_AAAA,
	    (const uint8_t *)"\x7f\0\0\x01", 4, &a, &err), -1);
	cr_expect_eq(dns_rr_addr_parse(DNS_TYPE_MX,
	    (const uint8_t *)"\x7f\0\0\x01", 4, &a, &err), -1);
	cr_expect(strstr(err, "not an address") != NULL);
}

/* ---- MX order and null MX ------------------------------------------ */

/* A random source that plays back a script and records the bounds. */
struct script {
	const uint32_t	*values;
	size_t		 n, next;
	uint32_t	 uppers[16];
	size_t		 nuppers;
};

static uint32_t
scripted(uint32_t upper, void *arg)
{
	struct script *s = arg;
	uint32_t v = s->next < s->n ? s->values[s->next] : 0;

	s->next++;
	if (s->nuppers < ARRAY_SIZE(s->uppers))
		s->uppers[s->nuppers++] = upper;
	return v;
}

static void
mx_set(struct dns_mx *mx, const uint16_t *prefs, const char *const *hosts,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		mx[i].pref = prefs[i];
		mx[i].host = xstrdup(hosts[i]);
	}
}

static void
mx_free(struct dns_mx *mx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dns_mx_clear(&mx[i]);
}

Test(dns_rr, mx_sorted_by_preference)
{
	static const uint16_t prefs[] = { 30, 10, 20, 5 };
	static const char *const hosts[] = { "c", "a", "b", "first" };
	struct dns_mx mx[4];
	struct script s = { NULL, 0, 0, { 0 }, 0 };

	mx_set(mx, prefs, hosts, 4);
	dns_mx_sort(mx, 4, scripted, &s);
	cr_expect_str_eq(mx[0].host, "first");
	cr_expect_str_eq(mx[1].host, "a");
	cr_expect_str_eq(mx[2].host, "b");
	cr_expect_str_eq(mx[3].host, "c");
	cr_expect_eq(s.next, 0, "no ties, no random numbers");
	mx_free(mx, 4);
}

/* Equal preferences: every choice sequence of Fisher-Yates gives another
 * order, so all 3! orders are reachable, and only within the tie. */
Test(dns_rr, mx_equal_preferences_shuffled)
{
	static const uint16_t prefs[] = { 10, 20, 10, 10, 5 };
	static const char *const hosts[] = { "a", "last", "b", "c", "first" };
	char seen[6][16];
	size_t nseen = 0;

	for (uint32_t x = 0; x < 3; x++) {
		for (uint32_t y = 0; y < 2; y++) {
			const uint32_t vals[] = { x, y };
			struct script s = { vals, 2, 0, { 0 }, 0 };
			struct dns_mx mx[5];
			char order[16];
			size_t k;

			mx_set(mx, prefs, hosts, 5);
			dns_mx_sort(mx, 5, scripted, &s);
			cr_expect_str_eq(mx[0].host, "first");
			cr_expect_str_eq(mx[4].host, "last");
			cr_expect_eq(s.nuppers, 2);
			cr_expect_eq(s.uppers[0], 3);
			cr_expect_eq(s.uppers[1], 2);
			snprintf(order, sizeof(order), "%s%s%s", mx[1].host,
			    mx[2].host, mx[3].host);
			cr_expect_eq(strlen(order), 3, "%s", order);
			for (k = 0; k < nseen; k++)
				cr_expect_str_neq(seen[k], order);
			memcpy(seen[nseen++], order, sizeof(order));
			mx_free(mx, 5);
		}
	}
	cr_expect_eq(nseen, 6);
}

/* A random source that breaks its contract cannot push an entry out. */
static uint32_t
too_big(uint32_t upper, void *arg)
{
	(void)arg;
	return upper + 7;
}

Test(dns_rr, mx_random_out_of_range)
{
	static const uint16_t prefs[] = { 1, 1, 1, 1 };
	static const char *const hosts[] = { "a", "b", "c", "d" };
	struct dns_mx mx[4];
	int mask = 0;

	mx_set(mx, prefs, hosts, 4);
	dns_mx_sort(mx, 4, too_big, NULL);
	for (size_t i = 0; i < 4; i++)
		mask |= 1 << (mx[i].host[0] - 'a');
	cr_expect_eq(mask, 0xf);
	mx_free(mx, 4);
}

Test(dns_rr, null_mx)
{
	struct dns_mx mx[3];
	bool null_mx;
	size_t n;

	/* RFC 7505: exactly "MX 0 .". */
	mx_set(mx, (const uint16_t[]){ 0 }, (const char *const[]){ "." }, 1);
	n = dns_mx_prepare(mx, 1, &null_mx, scripted,
	    &(struct script){ NULL, 0, 0, { 0 }, 0 });
	cr_expect_eq(n, 0);
	cr_expect(null_mx);
	cr_expect_null(mx[0].host, "the dropped entry is cleared");

	/* Only root targets, whatever the preference: no exchanger. */
	mx_set(mx, (const uint16_t[]){ 10 }, (const char *const[]){ "." }, 1);
	n = dns_mx_prepare(mx, 1, &null_mx, scripted,
	    &(struct script){ NULL, 0, 0, { 0 }, 0 });
	cr_expect_eq(n, 0);
	cr_expect(null_mx);

	/* A root target beside real ones is dropped, the rest kept. */
	mx_set(mx, (const uint16_t[]){ 0, 20, 10 },
	    (const char *const[]){ ".", "b", "a" }, 3);
	n = dns_mx_prepare(mx, 3, &null_mx, scripted,
	    &(struct script){ NULL, 0, 0, { 0 }, 0 });
	cr_expect_eq(n, 2);
	cr_expect(!null_mx);
	cr_expect_str_eq(mx[0].host, "a");
	cr_expect_str_eq(mx[1].host, "b");
	mx_free(mx, n);

	/* No records at all is not a null MX (that is NODATA). */
	n = dns_mx_prepare(mx, 0, &null_mx, scripted, NULL);
	cr_expect_eq(n, 0);
	cr_expect(!null_mx);
}

/* ---- reply packets ------------------------------------------------- */

struct pkt {
	uint8_t	 b[512];
	size_t	 n;
};

static void
put(struct pkt *p, const void *d, size_t n)
{
	cr_assert_leq(p->n + n, sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
put16(struct pkt *p, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(p, b, 2);
}

/* Header: reply with rcode, one question, an answers. */
static void
header(struct pkt *p, int rcode, uint16_t an)
{
	p->n = 0;
	put16(p, 0x1234);
	put16(p, (uint16_t)(0x8180 | rcode));
	put16(p, 1);
	put16(p, an);
	put16(p, 0);
	put16(p, 0);
}

/* An answer record: owner as raw wire bytes (may be a pointer). */
static void
rr(struct pkt *p, const char *owner, size_t olen, uint16_t type,
    const void *rdata, uint16_t rdlen)
{
	put(p, owner, olen);
	put16(p, type);
	put16(p, DNS_CLASS_IN);
	put16(p, 0);
	put16(p, 300);
	put16(p, rdlen);
	put(p, rdata, rdlen);
}

struct found {
	char	 hosts[4][64];
	size_t	 n;
	uint16_t type;
};

static int
collect(const uint8_t *rdata, size_t len, void *arg)
{
	struct found *f = arg;
	const char *err = NULL;
	struct dns_mx mx;
	struct dns_addr a;

	cr_assert_lt(f->n, 4);
	if (f->type == DNS_TYPE_MX) {
		if (dns_rr_mx_parse(rdata, len, &mx, &err) == -1)
			return -1;
		snprintf(f->hosts[f->n++], 64, "%u %s", mx.pref, mx.host);
		dns_mx_clear(&mx);
	} else {
		if (dns_rr_addr_parse(f->type, rdata, len, &a, &err) == -1)
			return -1;
		snprintf(f->hosts[f->n++], 64, "%s", a.text);
	}
	return 0;
}

/* secure.test MX: two answers whose owner and targets are compressed. */
static void
mx_packet(struct pkt *p)
{
	header(p, 0, 3);
	put(p, "\x06secure\x04test\x00", 13);	/* qname at 12 */
	put16(p, DNS_TYPE_MX);
	put16(p, DNS_CLASS_IN);
	/* 20 \x03mx1 + pointer to 12 */
	rr(p, "\xc0\x0c", 2, DNS_TYPE_MX, "\x00\x0a\x03mx1\xc0\x0c", 8);
	rr(p, "\xc0\x0c", 2, DNS_TYPE_MX, "\x00\x14\x03mx2\xc0\x0c", 8);
	/* Another owner's MX is not ours. */
	rr(p, "\x05other\x00", 7, DNS_TYPE_MX, "\x00\x01\x01x\x00", 5);
}

Test(dns_rr, packet_mx_compressed)
{
	struct pkt p;
	struct dns_packet dp;
	struct found f = { .n = 0, .type = DNS_TYPE_MX };
	uint8_t canon[DNS_NAME_WIRE_MAX];
	char text[DNS_NAME_TEXT_MAX];
	const char *err = NULL;
	size_t clen;

	mx_packet(&p);
	cr_assert_eq(dns_packet_parse(p.b, p.n, &dp, &err), 0, "%s", err);
	cr_expect_eq(dp.rcode, 0);
	cr_expect_eq(dp.qtype, DNS_TYPE_MX);
	cr_expect_eq(dp.ancount, 3);
	cr_assert_eq(dns_packet_answers(&dp, DNS_TYPE_MX, collect, &f, canon,
	    &clen, &err), 2, "%s", err);
	cr_expect_str_eq(f.hosts[0], "10 mx1.secure.test");
	cr_expect_str_eq(f.hosts[1], "20 mx2.secure.test");
	cr_assert_gt(dns_name_to_text(canon, clen, text, sizeof(text)), 0);
	cr_expect_str_eq(text, "secure.test");
}

/* Every prefix of a good packet fails cleanly (ASan checks the reads). */
Test(dns_rr, packet_every_prefix)
{
	struct pkt p;

	mx_packet(&p);
	for (size_t n = 0; n < p.n; n++) {
		uint8_t *copy = xmalloc(n + 1);
		struct found f = { .n = 0, .type = DNS_TYPE_MX };
		struct dns_packet dp;
		const char *err = NULL;
		int r = -1;

		memcpy(copy, p.b, n);
		if (dns_packet_parse(copy, n, &dp, &err) == 0) {
			dp.ancount = 3;
			r = dns_packet_answers(&dp, DNS_TYPE_MX, collect, &f,
			    NULL, NULL, &err);
		}
		cr_expect_eq(r, -1, "cut at %zu", n);
		free(copy);
	}
}

Test(dns_rr, packet_cname_chain)
{
	struct pkt p;
	struct dns_packet dp;
	struct found f = { .n = 0, .type = DNS_TYPE_A };
	uint8_t canon[DNS_NAME_WIRE_MAX];
	char text[DNS_NAME_TEXT_MAX];
	const char *err = NULL;
	size_t clen;

	header(&p, 0, 3);
	put(&p, "\x05" "alias\x01x\x00", 9);		/* at 12 */
	put16(&p, DNS_TYPE_A);
	put16(&p, DNS_CLASS_IN);
	/* The A record first: order in the section does not matter. */
	rr(&p, "\x03MX1\x01X\x00", 7, DNS_TYPE_A, "\x7f\x00\x00\x0b", 4);
	rr(&p, "\xc0\x0c", 2, DNS_TYPE_CNAME, "\x03mid\xc0\x12", 6);
	rr(&p, "\x03mid\x01x\x00", 7, DNS_TYPE_CNAME, "\x03mx1\x01x\x00", 7);
	cr_assert_eq(dns_packet_parse(p.b, p.n, &dp, &err), 0, "%s", err);
	cr_assert_eq(dns_packet_answers(&dp, DNS_TYPE_A, collect, &f, canon,
	    &clen, &err), 1, "%s", err);
	cr_expect_str_eq(f.hosts[0], "127.0.0.11");
	cr_assert_gt(dns_name_to_text(canon, clen, text, sizeof(text)), 0);
	cr_expect_str_eq(text, "mx1.x");
}

Test(dns_rr, packet_cname_loop)
{
	struct pkt p;
	struct dns_packet dp;
	struct found f = { .n = 0, .type = DNS_TYPE_A };
	const char *err = NULL;

	header(&p, 0, 2);
	put(&p, "\x01" "a\x00", 3);
	put16(&p, DNS_TYPE_A);
	put16(&p, DNS_CLASS_IN);
	rr(&p, "\x01" "a\x00", 3, DNS_TYPE_CNAME, "\x01" "b\x00", 3);
	rr(&p, "\x01" "b\x00", 3, DNS_TYPE_CNAME, "\x01" "a\x00", 3);
	cr_assert_eq(dns_packet_parse(p.b, p.n, &dp, &err), 0, "%s", err);
	cr_expect_eq(dns_packet_answers(&dp, DNS_TYPE_A, collect, &f, NULL,
	    NULL, &err), -1);
	cr_expect(strstr(err, "CNAME chain") != NULL, "%s", err);
}

Test(dns_rr, packet_hostile_pointers)
{
	struct pkt p;
	struct dns_packet dp;
	const char *err = NULL;

	/* A question name that points at itself. */
	header(&p, 0, 0);
	put(&p, "\xc0\x0c", 2);
	put16(&p, DNS_TYPE_A);
	put16(&p, DNS_CLASS_IN);
	cr_expect_eq(dns_packet_parse(p.b, p.n, &dp, &err), -1);
	cr_expect(strstr(err, "not backwards") != NULL, "%s", err);

	/* Forward. */
	header(&p, 0, 0);
	put(&p, "\xc0\x0e\x00", 3);
	put16(&p, DNS_TYPE_A);
	put16(&p, DNS_CLASS_IN);
	cr_expect_eq(dns_packet_parse(p.b, p.n, &dp, &err), -1);

	/* An MX target pointing past its own rdata is refused. */
	{
		struct found f = { .n = 0, .type = DNS_TYPE_MX };

		header(&p, 0, 1);
		put(&p, "\x01" "a\x00", 3);
		put16(&p, DNS_TYPE_MX);
		put16(&p, DNS_CLASS_IN);
		rr(&p, "\xc0\x0c", 2, DNS_TYPE_MX, "\x00\x01\x01", 3);
		put(&p, "b\x00", 2);	/* outside the rdata */
		cr_assert_eq(dns_packet_parse(p.b, p.n, &dp, &err), 0);
		cr_expect_eq(dns_packet_answers(&dp, DNS_TYPE_MX, collect, &f,
		    NULL, NULL, &err), -1);
	}
}

Test(dns_rr, packet_header_checks)
{
	struct pkt p;
	struct dns_packet dp;
	const char *err = NULL;

	header(&p, 3, 0);
	put(&p, "\x01" "a\x00", 3);
	put16(&p, DNS_TYPE_MX);
	put16(&p, DNS_CLASS_IN);
	cr_assert_eq(dns_packet_parse(p.b, p.n, &dp, &err), 0, "%s", err);
	cr_expect_eq(dp.rcode, DNS_RCODE_NXDOMAIN);

	p.b[2] &= 0x7f;		/* QR clear: a query, not a reply */
	cr_expect_eq(dns_packet_parse(p.b, p.n, &dp, &err), -1);
	cr_expect(strstr(err, "not a reply") != NULL);
	p.b[2] |= 0x80;
	p.b[5] = 2;		/* two questions */
	cr_expect_eq(dns_packet_parse(p.b, p.n, &dp, &err), -1);
	p.b[5] = 1;
	cr_expect_eq(dns_packet_parse(p.b, p.n - 1, &dp, &err), -1);
	cr_expect_eq(dns_packet_parse(p.b, 11, &dp, &err), -1);
}
