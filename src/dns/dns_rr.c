/* dns_rr: see dns_rr.h. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_rr.h"
#include "util.h"

#define DNS_HEADER_LEN	12
#define DNS_FLAG_QR	0x8000
#define DNS_PTR_MASK	0xc0

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Read a name at off in msg, following compression pointers when msg is
 * a whole packet (allow_ptr). Each pointer must point before itself, so
 * the walk always ends. *next_r is the offset after the name where it
 * was found (after the first pointer, if any).
 */
static int
dns_name_read(const uint8_t *msg, size_t len, size_t off, bool allow_ptr,
    uint8_t out[DNS_NAME_WIRE_MAX], size_t *out_len_r, size_t *next_r,
    const char **error_r)
{
	size_t pos = off, olen = 0, next = 0;
	bool jumped = false;
	uint8_t c;

	for (;;) {
		if (pos >= len) {
			*error_r = "name runs past the end";
			return -1;
		}
		c = msg[pos];
		if ((c & DNS_PTR_MASK) == DNS_PTR_MASK) {
			size_t ptr;

			if (!allow_ptr) {
				*error_r = "compression pointer in rdata";
				return -1;
			}
			if (pos + 1 >= len) {
				*error_r = "name runs past the end";
				return -1;
			}
			ptr = (size_t)(c & ~DNS_PTR_MASK) << 8 | msg[pos + 1];
			if (ptr >= pos) {
				*error_r = "compression pointer not backwards";
				return -1;
			}
			if (!jumped)
				next = pos + 2;
			jumped = true;
			pos = ptr;
			continue;
		}
		if ((c & DNS_PTR_MASK) != 0) {
			*error_r = "reserved label type";
			return -1;
		}
		if (c == 0)
			break;
		if (pos + 1 + c > len) {
			*error_r = "label runs past the end";
			return -1;
		}
		/* The label, its length octet and the root label to come. */
		if (olen + 1 + c + 1 > DNS_NAME_WIRE_MAX) {
			*error_r = "name longer than 255 octets";
			return -1;
		}
		memcpy(out + olen, msg + pos, 1 + (size_t)c);
		olen += 1 + (size_t)c;
		pos += 1 + (size_t)c;
	}
	out[olen++] = 0;
	*out_len_r = olen;
	*next_r = jumped ? next : pos + 1;
	return 0;
}

int
dns_name_parse(const uint8_t *p, size_t len,
    uint8_t wire_r[DNS_NAME_WIRE_MAX], size_t *wire_len_r, size_t *used_r,
    const char **error_r)
{
	return dns_name_read(p, len, 0, false, wire_r, wire_len_r, used_r,
	    error_r);
}

static bool
dns_text_plain(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
dns_name_to_text(const uint8_t *wire, size_t wire_len, char *out,
    size_t size)
{
	size_t pos = 0, o = 0;
	int n;

	if (size == 0)
		return -1;
	if (wire_len == 0 || wire_len > DNS_NAME_WIRE_MAX)
		return -1;
	if (wire[0] == 0) {
		if (wire_len != 1 || size < 2)
			return -1;
		out[0] = '.';
		out[1] = '\0';
		return 1;
	}
	while (pos < wire_len && wire[pos] != 0) {
		uint8_t l = wire[pos++];

		if ((l & DNS_PTR_MASK) != 0 || pos + l >= wire_len)
			return -1;
		if (o > 0) {
			if (o + 1 >= size)
				return -1;
			out[o++] = '.';
		}
		for (; l > 0; l--, pos++) {
			uint8_t c = wire[pos];

			if (dns_text_plain(c))
				n = snprintf(out + o, size - o, "%c",
				    ascii_lower(c));
			else if (c == '.' || c == '\\')
				n = snprintf(out + o, size - o, "\\%c", c);
			else
				n = snprintf(out + o, size - o, "\\%03u", c);
			if (n < 0 || (size_t)n >= size - o)
				return -1;
			o += (size_t)n;
		}
	}
	if (pos + 1 != wire_len)
		return -1;	/* no root label, or bytes after it */
	out[o] = '\0';
	return (int)o;
}

bool
dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	/* Length octets are below 64, so case folding leaves them alone. */
	return alen == blen && mem_case_equal(a, b, alen);
}

int
dns_rr_mx_parse(const uint8_t *rdata, size_t len, struct dns_mx *mx_r,
    const char **error_r)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	char text[DNS_NAME_TEXT_MAX];
	size_t wlen, used;

	if (len < 3) {
		*error_r = "MX rdata too short";
		return -1;
	}
	if (dns_name_parse(rdata + 2, len - 2, wire, &wlen, &used,
	    error_r) == -1)
		return -1;
	if (used != len - 2) {
		*error_r = "MX rdata has bytes after the name";
		return -1;
	}
	if (dns_name_to_text(wire, wlen, text, sizeof(text)) == -1) {
		*error_r = "MX name cannot be shown";
		return -1;
	}
	mx_r->pref = get16(rdata);
	mx_r->host = xstrdup(text);
	return 0;
}

void
dns_mx_clear(struct dns_mx *mx)
{
	free(mx->host);
	mx->host = NULL;
}

int
dns_rr_addr_parse(uint16_t type, const uint8_t *rdata, size_t len,
    struct dns_addr *addr_r, const char **error_r)
{
	memset(addr_r, 0, sizeof(*addr_r));
	if (type == DNS_TYPE_A && len == 4) {
		addr_r->family = AF_INET;
		memcpy(&addr_r->u.v4, rdata, 4);
	} else if (type == DNS_TYPE_AAAA && len == 16) {
		addr_r->family = AF_INET6;
		memcpy(&addr_r->u.v6, rdata, 16);
	} else {
		*error_r = type == DNS_TYPE_A || type == DNS_TYPE_AAAA ?
		    "address rdata of the wrong length" : "not an address type";
		return -1;
	}
	if (inet_ntop(addr_r->family, &addr_r->u, addr_r->text,
	    sizeof(addr_r->text)) == NULL) {
		*error_r = "address cannot be shown";
		return -1;
	}
	return 0;
}

int
dns_rr_tlsa_parse(const uint8_t *rdata, size_t len, struct dns_tlsa *tlsa_r,
    const char **error_r)
{
	if (len < 4) {
		*error_r = "TLSA rdata too short";
		return -1;
	}
	tlsa_r->usage = rdata[0];
	tlsa_r->selector = rdata[1];
	tlsa_r->mtype = rdata[2];
	tlsa_r->len = len - 3;
	tlsa_r->data = xmalloc(tlsa_r->len);
	memcpy(tlsa_r->data, rdata + 3, tlsa_r->len);
	return 0;
}

void
dns_tlsa_clear(struct dns_tlsa *tlsa)
{
	free(tlsa->data);
	tlsa->data = NULL;
	tlsa->len = 0;
}

bool
dns_tlsa_usable(const struct dns_tlsa *tlsa)
{
	if (tlsa->usage != 2 && tlsa->usage != 3)
		return false;
	if (tlsa->selector > 1)
		return false;
	switch (tlsa->mtype) {
	case 0:
		return tlsa->len > 0;
	case 1:
		return tlsa->len == 32;
	case 2:
		return tlsa->len == 64;
	default:
		return false;
	}
}

static int
dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return (x->pref > y->pref) - (x->pref < y->pref);
}

void
dns_mx_sort(struct dns_mx *mx, size_t n, dns_random_fn *rnd, void *arg)
{
	size_t start, end, i, j;
	struct dns_mx tmp;

	if (n < 2)
		return;
	qsort(mx, n, sizeof(*mx), dns_mx_cmp);
	for (start = 0; start < n; start = end) {
		for (end = start + 1; end < n && mx[end].pref ==
		    mx[start].pref; end++)
			;
		/* Fisher-Yates over [start, end). */
		for (i = end - 1; i > start; i--) {
			j = start + rnd((uint32_t)(i - start + 1), arg) %
			    (i - start + 1);
			tmp = mx[i];
			mx[i] = mx[j];
			mx[j] = tmp;
		}
	}
}

size_t
dns_mx_prepare(struct dns_mx *mx, size_t n, bool *null_mx_r,
    dns_random_fn *rnd, void *arg)
{
	size_t i, kept = 0;

	*null_mx_r = false;
	for (i = 0; i < n; i++) {
		if (strcmp(mx[i].host, ".") == 0) {
			dns_mx_clear(&mx[i]);
			continue;
		}
		mx[kept++] = mx[i];
	}
	if (kept == 0 && n > 0) {
		/* RFC 7505's single "MX 0 .", or only root targets. */
		*null_mx_r = true;
		return 0;
	}
	dns_mx_sort(mx, kept, rnd, arg);
	return kept;
}

int
dns_packet_parse(const uint8_t *data, size_t len, struct dns_packet *p_r,
    const char **error_r)
{
	size_t next;

	memset(p_r, 0, sizeof(*p_r));
	if (len < DNS_HEADER_LEN) {
		*error_r = "packet shorter than a header";
		return -1;
	}
	p_r->data = data;
	p_r->len = len;
	p_r->id = get16(data);
	p_r->flags = get16(data + 2);
	p_r->rcode = p_r->flags & 0x0f;
	p_r->ancount = get16(data + 6);
	if ((p_r->flags & DNS_FLAG_QR) == 0) {
		*error_r = "packet is not a reply";
		return -1;
	}
	if (get16(data + 4) != 1) {
		*error_r = "reply without exactly one question";
		return -1;
	}
	if (dns_name_read(data, len, DNS_HEADER_LEN, true, p_r->qname,
	    &p_r->qname_len, &next, error_r) == -1)
		return -1;
	if (next + 4 > len) {
		*error_r = "question runs past the end";
		return -1;
	}
	p_r->qtype = get16(data + next);
	p_r->qclass = get16(data + next + 2);
	p_r->answer_off = next + 4;
	return 0;
}

/* One answer record's fixed fields, after its owner. */
struct dns_rr_pos {
	uint8_t		 owner[DNS_NAME_WIRE_MAX];
	size_t		 owner_len;
	uint16_t	 type;
	uint16_t	 class;
	size_t		 rdata;		/* offset in the packet */
	size_t		 rdlen;
};

static int
dns_packet_rr(const struct dns_packet *p, size_t *off, struct dns_rr_pos *rr,
    const char **error_r)
{
	size_t next;

	if (dns_name_read(p->data, p->len, *off, true, rr->owner,
	    &rr->owner_len, &next, error_r) == -1)
		return -1;
	if (next + 10 > p->len) {
		*error_r = "record runs past the end";
		return -1;
	}
	rr->type = get16(p->data + next);
	rr->class = get16(p->data + next + 2);
	rr->rdlen = get16(p->data + next + 8);
	rr->rdata = next + 10;
	if (rr->rdata + rr->rdlen > p->len) {
		*error_r = "rdata runs past the end";
		return -1;
	}
	*off = rr->rdata + rr->rdlen;
	return 0;
}

/* Where the CNAME at target points, if the answer has one: 1, 0 or -1. */
static int
dns_packet_cname(const struct dns_packet *p, uint8_t *target, size_t *tlen,
    const char **error_r)
{
	struct dns_rr_pos rr;
	size_t off = p->answer_off, next, i;

	for (i = 0; i < p->ancount; i++) {
		if (dns_packet_rr(p, &off, &rr, error_r) == -1)
			return -1;
		if (rr.type != DNS_TYPE_CNAME || rr.class != DNS_CLASS_IN ||
		    !dns_name_equal(rr.owner, rr.owner_len, target, *tlen))
			continue;
		if (dns_name_read(p->data, rr.rdata + rr.rdlen, rr.rdata, true,
		    target, tlen, &next, error_r) == -1)
			return -1;
		if (next != rr.rdata + rr.rdlen) {
			*error_r = "CNAME rdata has bytes after the name";
			return -1;
		}
		return 1;
	}
	return 0;
}

/* An MX record's rdata with its exchange name decompressed. */
static int
dns_packet_mx(const struct dns_packet *p, const struct dns_rr_pos *rr,
    uint8_t out[2 + DNS_NAME_WIRE_MAX], size_t *out_len,
    const char **error_r)
{
	size_t wlen, next;

	if (rr->rdlen < 3) {
		*error_r = "MX rdata too short";
		return -1;
	}
	memcpy(out, p->data + rr->rdata, 2);
	/* The name must end inside the rdata: the packet is cut there. */
	if (dns_name_read(p->data, rr->rdata + rr->rdlen, rr->rdata + 2, true,
	    out + 2, &wlen, &next, error_r) == -1)
		return -1;
	if (next != rr->rdata + rr->rdlen) {
		*error_r = "MX rdata has bytes after the name";
		return -1;
	}
	*out_len = 2 + wlen;
	return 0;
}

int
dns_packet_answers(const struct dns_packet *p, uint16_t type,
    dns_rdata_fn *fn, void *arg, uint8_t canon_r[DNS_NAME_WIRE_MAX],
    size_t *canon_len_r, const char **error_r)
{
	uint8_t target[DNS_NAME_WIRE_MAX], mx[2 + DNS_NAME_WIRE_MAX];
	struct dns_rr_pos rr;
	size_t tlen = p->qname_len, off, i, mxlen;
	int hops, found = 0, r;

	memcpy(target, p->qname, p->qname_len);
	if (type != DNS_TYPE_CNAME) {
		for (hops = 0;; hops++) {
			if ((r = dns_packet_cname(p, target, &tlen,
			    error_r)) == -1)
				return -1;
			if (r == 0)
				break;
			if (hops == DNS_CNAME_MAX) {
				*error_r = "CNAME chain too long";
				return -1;
			}
		}
	}
	off = p->answer_off;
	for (i = 0; i < p->ancount; i++) {
		if (dns_packet_rr(p, &off, &rr, error_r) == -1)
			return -1;
		if (rr.type != type || rr.class != DNS_CLASS_IN ||
		    !dns_name_equal(rr.owner, rr.owner_len, target, tlen))
			continue;
		if (type == DNS_TYPE_MX) {
			if (dns_packet_mx(p, &rr, mx, &mxlen, error_r) == -1)
				return -1;
			r = fn(mx, mxlen, arg);
		} else
			r = fn(p->data + rr.rdata, rr.rdlen, arg);
		if (r == -1) {
			*error_r = "bad record in the answer";
			return -1;
		}
		found++;
	}
	if (canon_r != NULL) {
		memcpy(canon_r, target, tlen);
		*canon_len_r = tlen;
	}
	return found;
}
