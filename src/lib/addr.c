/* addr: see addr.h. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

/* Error texts: short enough for an SMTP reply, stable for the tests. */
static const char E_EMPTY[] = "empty address";
static const char E_NO_OPEN[] = "path must be enclosed in <>";
static const char E_NO_CLOSE[] = "missing closing >";
static const char E_NULL[] = "null path not allowed";
static const char E_JUNK[] = "unexpected text after address";
static const char E_CTL[] = "control character in address";
static const char E_8BIT[] = "8-bit character without SMTPUTF8";
static const char E_UTF8[] = "invalid UTF-8";
static const char E_PATH_LEN[] = "path longer than 256 octets";
static const char E_MAILBOX_LEN[] = "address longer than 254 octets";
static const char E_LOCAL_LEN[] = "local part longer than 64 octets";
static const char E_LOCAL_EMPTY[] = "empty local part";
static const char E_LOCAL_CHAR[] = "invalid character in local part";
static const char E_LOCAL_DOT[] = "misplaced dot in local part";
static const char E_QUOTE[] = "unterminated quoted string";
static const char E_QPAIR[] = "invalid backslash escape";
static const char E_NO_DOMAIN[] = "missing @domain";
static const char E_MULTI_AT[] = "more than one @ in address";
static const char E_DOMAIN_EMPTY[] = "empty domain";
static const char E_DOMAIN_LEN[] = "domain longer than 255 octets";
static const char E_DOMAIN_CHAR[] = "invalid character in domain";
static const char E_DOMAIN_NUMERIC[] = "domain ends in a numeric label";
static const char E_LABEL_EMPTY[] = "empty label in domain";
static const char E_LABEL_LEN[] = "domain label longer than 63 octets";
static const char E_LABEL_HYPHEN[] = "domain label starts or ends with hyphen";
static const char E_LITERAL[] = "unterminated address literal";
static const char E_LITERAL_TAG[] = "unsupported address literal";
static const char E_IPV4[] = "invalid IPv4 address literal";
static const char E_IPV6[] = "invalid IPv6 address literal";
static const char E_ROUTE[] = "invalid source route";

struct addr_parser {
	const unsigned char	*s;
	size_t			 len;
	size_t			 pos;
	unsigned		 opts;
	bool			 bracketed;	/* a '>' must end the mailbox */
	bool			 space_ends;	/* ESMTP parameters may follow */
	const char		*error;
};

static int
cur(const struct addr_parser *p)
{
	return p->pos < p->len ? p->s[p->pos] : -1;
}

static int
fail(struct addr_parser *p, const char *error)
{
	p->error = error;
	return -1;
}

/* Our own classes: <ctype.h> answers by locale, and bytes >= 0x80 vary. */
static bool
is_ctl(int c)
{
	return (c >= 0 && c < 0x20) || c == 0x7f;
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 5322 3.2.3 atext, ASCII part. */
static bool
is_atext(int c)
{
	return is_alpha(c) || is_digit(c) ||
	    (c > 0 && c < 0x80 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
ascii_caseeq(const unsigned char *s, const char *lower, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(s[i]) != lower[i])
			return false;
	return true;
}

/*
 * One UTF-8 sequence at s (n bytes available), RFC 3629 table 4: no
 * overlong forms, no surrogates, nothing past U+10FFFF. C1 controls are
 * well formed but as unwelcome in an address as C0 ones.
 */
static const char *
utf8_check(const unsigned char *s, size_t n, size_t *len_r)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return E_UTF8;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < need || s[1] < lo || s[1] > hi)
		return E_UTF8;
	for (size_t i = 2; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return E_UTF8;
	if (s[0] == 0xc2 && s[1] < 0xa0)
		return E_CTL;
	*len_r = need;
	return NULL;
}

/* The byte at p->pos is >= 0x80: accept one UTF-8 sequence if allowed. */
static int
utf8_take(struct addr_parser *p, size_t *len_r)
{
	const char *error;

	if ((p->opts & ADDR_ALLOW_UTF8) == 0)
		return fail(p, E_8BIT);
	error = utf8_check(p->s + p->pos, p->len - p->pos, len_r);
	return error != NULL ? fail(p, error) : 0;
}

/* Whether the mailbox may end just before s[at] in this context. */
static bool
end_ok(const struct addr_parser *p, size_t at)
{
	int c = at < p->len ? p->s[at] : -1;

	if (p->bracketed)
		return c == '>';
	return c == -1 || (c == ' ' && p->space_ends);
}

/* The mailbox should end here; say why it does not, if it does not. */
static int
end_check(struct addr_parser *p)
{
	int c = cur(p);

	if (end_ok(p, p->pos))
		return 0;
	if (c == -1)
		return fail(p, E_NO_CLOSE);
	if (c == '@')
		return fail(p, E_MULTI_AT);
	if (is_ctl(c))
		return fail(p, E_CTL);
	if (c == '>' || c == ' ')
		return fail(p, E_JUNK);
	return fail(p, E_DOMAIN_CHAR);
}

/*
 * Quoted-string (RFC 5321 4.1.2, RFC 6531 3.3): decode into buf. Length
 * counts the text as written, so the normal form, which escapes no more
 * than the input had to, always fits too.
 */
static int
local_scan_quoted(struct addr_parser *p, char *buf, size_t *len_r)
{
	size_t start = p->pos, n = 0, take, put;
	const unsigned char *src;
	int c;

	p->pos++;
	for (;;) {
		if ((c = cur(p)) == -1)
			return fail(p, E_QUOTE);
		if (c == '"')
			break;
		src = p->s + p->pos;
		take = put = 1;
		if (c == '\\') {
			if (p->pos + 1 >= p->len)
				return fail(p, E_QUOTE);
			if (src[1] < 0x20 || src[1] > 0x7e)
				return fail(p, E_QPAIR);
			src++;
			take = 2;
		} else if (is_ctl(c))
			return fail(p, E_CTL);
		else if (c >= 0x80) {
			if (utf8_take(p, &take) == -1)
				return -1;
			put = take;
		}
		/* + 1 for the closing quote still to come */
		if (p->pos - start + take + 1 > ADDR_LOCAL_MAX)
			return fail(p, E_LOCAL_LEN);
		memcpy(buf + n, src, put);
		n += put;
		p->pos += take;
	}
	p->pos++;
	*len_r = n;
	return 0;
}

static bool
dots_ok(const char *s, size_t n)
{
	if (n == 0)
		return true;
	if (s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 1; i < n; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return false;
	return true;
}

/* Dot-string (RFC 5321 4.1.2), with UTF-8 atext when allowed. */
static int
local_scan_atom(struct addr_parser *p, char *buf, size_t *len_r)
{
	size_t start = p->pos, n = 0, take;
	int c;

	while ((c = cur(p)) != -1) {
		take = 1;
		if (c >= 0x80) {
			if (utf8_take(p, &take) == -1)
				return -1;
		} else if (!is_atext(c) && c != '.')
			break;
		if (p->pos - start + take > ADDR_LOCAL_MAX)
			return fail(p, E_LOCAL_LEN);
		memcpy(buf + n, p->s + p->pos, take);
		n += take;
		p->pos += take;
	}
	if (!dots_ok(buf, n))
		return fail(p, E_LOCAL_DOT);
	*len_r = n;
	return 0;
}

static bool
is_dot_atom(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80 && !is_atext(c) && c != '.')
			return false;
	}
	return n > 0 && dots_ok(s, n);
}

/* Record what the decoded text says, then store its normal form. */
static int
local_store(struct addr_parser *p, struct addr *a, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%')
			a->flags |= ADDR_F_PERCENT;
		else if (s[i] == '!')
			a->flags |= ADDR_F_BANG;
		else if (s[i] == '@')
			a->flags |= ADDR_F_QUOTED_AT;
		else if ((unsigned char)s[i] >= 0x80)
			a->flags |= ADDR_F_UTF8_LOCAL;
	}
	if (is_dot_atom(s, n)) {
		memcpy(a->local, s, n);
		a->local_len = n;
		a->local[n] = '\0';
		return 0;
	}
	a->flags |= ADDR_F_NEEDS_QUOTES;
	a->local[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		bool escape = s[i] == '"' || s[i] == '\\';

		/* cannot happen (see local_scan_quoted), but stay in bounds;
		 * + 1 for the closing quote */
		if (o + (escape ? 2 : 1) + 1 > ADDR_LOCAL_MAX)
			return fail(p, E_LOCAL_LEN);
		if (escape)
			a->local[o++] = '\\';
		a->local[o++] = s[i];
	}
	a->local[o++] = '"';
	a->local[o] = '\0';
	a->local_len = o;
	return 0;
}

/* The local part has ended at a byte other than '@': say what is wrong. */
static const char *
local_end_error(const struct addr_parser *p, size_t n)
{
	int c = cur(p);

	if (c == -1)
		return p->bracketed ? E_NO_CLOSE : E_NO_DOMAIN;
	if (is_ctl(c))
		return E_CTL;
	if (c == '>')
		return n > 0 ? E_NO_DOMAIN : E_LOCAL_EMPTY;
	if (c == ' ' && n > 0)
		return E_NO_DOMAIN;
	return E_LOCAL_CHAR;
}

/* Local-part "@": on return p->pos is just past the '@'. */
static int
local_parse(struct addr_parser *p, struct addr *a)
{
	char buf[ADDR_LOCAL_MAX + 1];
	size_t n;
	int rc;

	if (cur(p) == '"') {
		a->flags |= ADDR_F_QUOTED;
		rc = local_scan_quoted(p, buf, &n);
	} else
		rc = local_scan_atom(p, buf, &n);
	if (rc == -1)
		return -1;
	if (cur(p) != '@')
		return fail(p, local_end_error(p, n));
	if (n == 0)
		return fail(p, E_LOCAL_EMPTY);
	p->pos++;
	return local_store(p, a, buf, n);
}

/*
 * Where a domain name starting at p->pos ends: the bytes that could belong
 * to one, so that domain_check() names the fault in what it is given and
 * end_check() names the byte that stopped it.
 */
static size_t
domain_span(const struct addr_parser *p)
{
	size_t i;

	for (i = p->pos; i < p->len; i++) {
		unsigned char c = p->s[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' &&
		    c != '_' && c < 0x80)
			break;
	}
	return i;
}

static const char *
label_check(const unsigned char *d, size_t n)
{
	if (n == 0)
		return E_LABEL_EMPTY;
	if (n > ADDR_LABEL_MAX)
		return E_LABEL_LEN;
	if (d[0] == '-' || d[n - 1] == '-')
		return E_LABEL_HYPHEN;
	return NULL;
}

/* The domain rules of addr.h, on a name without its trailing dot. */
static const char *
domain_check(const unsigned char *d, size_t n, bool utf8)
{
	size_t label = 0, k;
	bool numeric = true;
	const char *error;

	if (n == 0)
		return E_DOMAIN_EMPTY;
	if (n > ADDR_DOMAIN_MAX)
		return E_DOMAIN_LEN;
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '.') {
			if ((error = label_check(d + label, i - label)) != NULL)
				return error;
			label = i + 1;
			numeric = true;
		} else if (d[i] >= 0x80) {
			if (!utf8)
				return E_8BIT;
			if ((error = utf8_check(d + i, n - i, &k)) != NULL)
				return error;
			i += k - 1;
			numeric = false;
		} else if (!is_digit(d[i])) {
			if (!is_alpha(d[i]) && d[i] != '-')
				return is_ctl(d[i]) ? E_CTL : E_DOMAIN_CHAR;
			numeric = false;
		}
	}
	if ((error = label_check(d + label, n - label)) != NULL)
		return error;
	return numeric ? E_DOMAIN_NUMERIC : NULL;
}

static int
domain_store(struct addr_parser *p, struct addr *a, size_t start, size_t n)
{
	const unsigned char *d = p->s + start;
	const char *error;

	if (n > 0 && d[n - 1] == '.') {
		a->flags |= ADDR_F_TRAILING_DOT;
		n--;
	}
	error = domain_check(d, n, (p->opts & ADDR_ALLOW_UTF8) != 0);
	if (error != NULL)
		return fail(p, error);
	for (size_t i = 0; i < n; i++) {
		if (d[i] >= 0x80)
			a->flags |= ADDR_F_UTF8_DOMAIN;
		a->domain[i] = (char)ascii_lower(d[i]);
	}
	a->domain[n] = '\0';
	a->domain_len = n;
	return 0;
}

/* IPv4-address-literal: Snum 3("." Snum), Snum 1*3DIGIT of 0..255. */
static bool
ipv4_parse(const unsigned char *t, size_t n, uint8_t ip[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		if (part > 0 && (i >= n || t[i++] != '.'))
			return false;
		while (i < n && is_digit(t[i]) && digits < 3) {
			v = v * 10 + (unsigned)(t[i++] - '0');
			digits++;
		}
		if (digits == 0 || v > 255)
			return false;
		ip[part] = (uint8_t)v;
	}
	return i == n;
}

static int
literal_ipv4(struct addr_parser *p, struct addr *a,
    const unsigned char *t, size_t n)
{
	if (!ipv4_parse(t, n, a->ip))
		return fail(p, E_IPV4);
	a->ip_version = 4;
	a->domain_len = (size_t)snprintf(a->domain, sizeof(a->domain),
	    "[%u.%u.%u.%u]", a->ip[0], a->ip[1], a->ip[2], a->ip[3]);
	return 0;
}

/* IPv6-address-literal after "IPv6:"; inet_ntop() gives the normal form. */
static int
literal_ipv6(struct addr_parser *p, struct addr *a,
    const unsigned char *t, size_t n)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr in6;

	if (n == 0 || n >= sizeof(text))
		return fail(p, E_IPV6);
	for (size_t i = 0; i < n; i++)
		if (!is_hex(t[i]) && t[i] != ':' && t[i] != '.')
			return fail(p, E_IPV6);
	memcpy(text, t, n);
	text[n] = '\0';
	if (inet_pton(AF_INET6, text, &in6) != 1 ||
	    inet_ntop(AF_INET6, &in6, text, sizeof(text)) == NULL)
		return fail(p, E_IPV6);
	a->ip_version = 6;
	memcpy(a->ip, &in6, sizeof(a->ip));
	a->domain_len = (size_t)snprintf(a->domain, sizeof(a->domain),
	    "[IPv6:%s]", text);
	return 0;
}

/* address-literal (RFC 5321 4.1.3); p->pos is at the '['. */
static int
literal_parse(struct addr_parser *p, struct addr *a)
{
	size_t start = p->pos + 1, end;
	const unsigned char *t = p->s + start;
	int rc;

	for (end = start; end < p->len && p->s[end] != ']'; end++)
		;
	if (end == p->len)
		return fail(p, E_LITERAL);
	if (end - start >= 5 && ascii_caseeq(t, "ipv6:", 5))
		rc = literal_ipv6(p, a, t + 5, end - start - 5);
	else if (memchr(t, ':', end - start) != NULL)
		rc = fail(p, E_LITERAL_TAG);
	else
		rc = literal_ipv4(p, a, t, end - start);
	if (rc == -1)
		return -1;
	a->flags |= ADDR_F_IP_LITERAL;
	p->pos = end + 1;
	return 0;
}

/*
 * A-d-l ":" (RFC 5321 4.1.2): checked, then dropped as 4.1.1.3 says. Its
 * domains may carry a trailing dot like the mailbox's; literals are not
 * in the grammar.
 */
static int
route_skip(struct addr_parser *p, struct addr *a)
{
	bool utf8 = (p->opts & ADDR_ALLOW_UTF8) != 0;
	size_t start, n;
	int c;

	do {
		if (cur(p) != '@')
			return fail(p, E_ROUTE);
		start = ++p->pos;
		p->pos = domain_span(p);
		n = p->pos - start;
		if (n > 0 && p->s[p->pos - 1] == '.')
			n--;
		if (domain_check(p->s + start, n, utf8) != NULL)
			return fail(p, E_ROUTE);
		if ((c = cur(p)) != ',' && c != ':')
			return fail(p, E_ROUTE);
		p->pos++;
	} while (c == ',');
	a->flags |= ADDR_F_SOURCE_ROUTE;
	return 0;
}

/* "Postmaster" alone, where RFC 5321 4.1.1.3 allows it. */
static bool
postmaster_take(struct addr_parser *p, struct addr *a)
{
	static const char name[] = "postmaster";
	size_t n = sizeof(name) - 1;

	/* only as "<Postmaster>": 4.1.1.3 has no route before it */
	if ((p->opts & ADDR_ALLOW_POSTMASTER) == 0 ||
	    (a->flags & ADDR_F_SOURCE_ROUTE) != 0 || p->len - p->pos < n ||
	    !ascii_caseeq(p->s + p->pos, name, n) || !end_ok(p, p->pos + n))
		return false;
	memcpy(a->local, name, n + 1);
	a->local_len = n;
	a->flags |= ADDR_F_POSTMASTER_BARE;
	p->pos += n;
	return true;
}

/* Mailbox (RFC 5321 4.1.2), up to where end_ok() says it may end. */
static int
mailbox_parse(struct addr_parser *p, struct addr *a)
{
	size_t start;

	if (postmaster_take(p, a))
		return 0;
	if (local_parse(p, a) == -1)
		return -1;
	if (cur(p) == '[') {
		if (literal_parse(p, a) == -1)
			return -1;
		return end_check(p);
	}
	start = p->pos;
	p->pos = domain_span(p);
	if (end_check(p) == -1)
		return -1;
	return domain_store(p, a, start, p->pos - start);
}

static int
path_parse_bare(struct addr_parser *p, struct addr *a)
{
	if ((p->opts & ADDR_ALLOW_NO_BRACKETS) == 0)
		return fail(p, E_NO_OPEN);
	a->flags |= ADDR_F_NO_BRACKETS;
	if (mailbox_parse(p, a) == -1)
		return -1;
	if (p->pos > ADDR_PATH_MAX - 2)
		return fail(p, E_PATH_LEN);
	return 0;
}

static int
path_parse(struct addr_parser *p, struct addr *a)
{
	int c;

	if (p->len == 0)
		return fail(p, E_EMPTY);
	if (p->s[0] != '<')
		return path_parse_bare(p, a);
	p->bracketed = true;
	p->pos = 1;
	if (cur(p) == '>') {
		if ((p->opts & ADDR_ALLOW_NULL) == 0)
			return fail(p, E_NULL);
		a->flags |= ADDR_F_NULL;
	} else {
		if (cur(p) == '@' && route_skip(p, a) == -1)
			return -1;
		if (mailbox_parse(p, a) == -1)
			return -1;
	}
	p->pos++;
	if (p->pos > ADDR_PATH_MAX)
		return fail(p, E_PATH_LEN);
	c = cur(p);
	if (c != -1 && !(c == ' ' && p->space_ends))
		return fail(p, E_JUNK);
	return 0;
}

static void
parser_init(struct addr_parser *p, const char *s, size_t len, unsigned opts)
{
	p->s = (const unsigned char *)s;
	p->len = len;
	p->pos = 0;
	p->opts = opts;
	p->bracketed = false;
	p->space_ends = false;
	p->error = NULL;
}

int
addr_parse_path(const char *s, size_t len, unsigned opts,
    struct addr *addr_r, size_t *consumed_r, const char **error_r)
{
	struct addr_parser p;

	parser_init(&p, s, len, opts);
	p.space_ends = consumed_r != NULL;
	memset(addr_r, 0, sizeof(*addr_r));
	if (path_parse(&p, addr_r) == -1) {
		memset(addr_r, 0, sizeof(*addr_r));
		*error_r = p.error;
		return -1;
	}
	if (consumed_r != NULL)
		*consumed_r = p.pos;
	return 0;
}

int
addr_parse_mailbox(const char *s, size_t len, unsigned opts,
    struct addr *addr_r, const char **error_r)
{
	struct addr_parser p;

	parser_init(&p, s, len, opts & (ADDR_ALLOW_UTF8 | ADDR_ALLOW_POSTMASTER));
	memset(addr_r, 0, sizeof(*addr_r));
	if (len == 0)
		fail(&p, E_EMPTY);
	else if (mailbox_parse(&p, addr_r) == 0 && len > ADDR_MAILBOX_MAX)
		fail(&p, E_MAILBOX_LEN);
	if (p.error != NULL) {
		memset(addr_r, 0, sizeof(*addr_r));
		*error_r = p.error;
		return -1;
	}
	return 0;
}

static void
text_put(char *dst, size_t size, size_t *off, const char *s, size_t n)
{
	if (*off < size) {
		size_t room = size - 1 - *off;

		memcpy(dst + *off, s, n < room ? n : room);
	}
	*off += n;
}

size_t
addr_format(const struct addr *a, char *dst, size_t size)
{
	size_t off = 0;

	if ((a->flags & ADDR_F_NULL) == 0) {
		text_put(dst, size, &off, a->local, a->local_len);
		if ((a->flags & ADDR_F_POSTMASTER_BARE) == 0) {
			text_put(dst, size, &off, "@", 1);
			text_put(dst, size, &off, a->domain, a->domain_len);
		}
	}
	if (size > 0)
		dst[off < size ? off : size - 1] = '\0';
	return off;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	unsigned kind = ADDR_F_NULL | ADDR_F_POSTMASTER_BARE;

	return (a->flags & kind) == (b->flags & kind) &&
	    a->local_len == b->local_len && a->domain_len == b->domain_len &&
	    memcmp(a->local, b->local, a->local_len) == 0 &&
	    memcmp(a->domain, b->domain, a->domain_len) == 0;
}

bool
addr_domain_is_valid(const char *domain, size_t len)
{
	return domain_check((const unsigned char *)domain, len, false) == NULL;
}

bool
addr_strip_detail(const char *delim, const char *address, char *out,
    size_t size)
{
	const char *at = strrchr(address, '@'), *d;

	if (delim == NULL || delim[0] == '\0' || at == NULL ||
	    (d = memchr(address, delim[0], (size_t)(at - address))) == NULL ||
	    d == address)
		return false;
	snprintf(out, size, "%.*s%s", (int)(d - address), address, at);
	return true;
}
