/* relay: see relay.h. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>
#include <strings.h>

#include "util.h"
#include "buf.h"
#include "addr.h"
#include "relay.h"

#define RELAY_POLICY_DEFAULT	"verify"

struct token {
	const char	*p;
	size_t		 n;
};

struct option_def {
	const char	*name;
	int		(*parse)(struct relay *, const char *, size_t,
			    const char **);
};

static int opt_tls(struct relay *, const char *, size_t, const char **);
static int opt_auth(struct relay *, const char *, size_t, const char **);
static int opt_policy(struct relay *, const char *, size_t, const char **);

static const struct option_def option_defs[] = {
	{ "tls", opt_tls },
	{ "auth", opt_auth },
	{ "policy", opt_policy },
};

static const char *const policy_names[] = { "encrypt", "verify", "dane" };

static bool
mem_is(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

bool
relay_name_is_valid(const char *name, size_t len)
{
	if (len == 0 || len > RELAY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (is_alnum(name[i]) || (i > 0 && (name[i] == '_' ||
		    name[i] == '-' || name[i] == '.')))
			continue;
		return false;
	}
	return true;
}

static char *
lower_dup(const char *p, size_t n)
{
	char *s = xstrndup(p, n);

	for (size_t i = 0; i < n; i++)
		s[i] = (char)ascii_lower((unsigned char)s[i]);
	return s;
}

static int
port_parse(const char *p, size_t n, uint16_t *port_r, const char **error_r)
{
	unsigned long v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || (v = v * 10 +
		    (unsigned long)(p[i] - '0')) > 65535)
			goto bad;
	}
	if (n == 0 || v == 0)
		goto bad;
	*port_r = (uint16_t)v;
	return 0;
bad:
	*error_r = "port must be a number from 1 to 65535";
	return -1;
}

static int
host_parse_ipv6(const char *p, size_t n, struct relay *r, uint16_t *port_r,
    const char **error_r)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a;
	const char *close = memchr(p, ']', n);
	size_t hlen, rest;

	if (close == NULL) {
		*error_r = "missing ] after IPv6 address";
		return -1;
	}
	hlen = (size_t)(close - p) - 1;
	rest = n - hlen - 2;
	if (hlen >= sizeof(text)) {
		*error_r = "not an IPv6 address (names go without brackets)";
		return -1;
	}
	memcpy(text, p + 1, hlen);
	text[hlen] = '\0';
	if (inet_pton(AF_INET6, text, &a) != 1 ||
	    inet_ntop(AF_INET6, &a, text, sizeof(text)) == NULL) {
		*error_r = "not an IPv6 address (names go without brackets)";
		return -1;
	}
	if (rest > 0 && close[1] != ':') {
		*error_r = "text after ] (use [IPv6]:PORT)";
		return -1;
	}
	if (rest > 0 && port_parse(close + 2, rest - 1, port_r, error_r) == -1)
		return -1;
	r->host = xstrdup(text);
	return 0;
}

/* HOST[:PORT]; *port_r is left alone when no port is written. */
static int
host_parse(const char *p, size_t n, struct relay *r, uint16_t *port_r,
    const char **error_r)
{
	char text[INET_ADDRSTRLEN];
	struct in_addr a;
	const char *colon;
	size_t hlen;

	if (p[0] == '[')
		return host_parse_ipv6(p, n, r, port_r, error_r);
	colon = memchr(p, ':', n);
	hlen = colon != NULL ? (size_t)(colon - p) : n;
	if (colon != NULL && memchr(colon + 1, ':', n - hlen - 1) != NULL) {
		*error_r = "IPv6 addresses need brackets, as in "
		    "[2001:db8::1]:587";
		return -1;
	}
	if (colon != NULL &&
	    port_parse(colon + 1, n - hlen - 1, port_r, error_r) == -1)
		return -1;
	if (hlen > 0 && hlen < sizeof(text)) {
		memcpy(text, p, hlen);
		text[hlen] = '\0';
		if (inet_pton(AF_INET, text, &a) == 1 &&
		    inet_ntop(AF_INET, &a, text, sizeof(text)) != NULL) {
			r->host = xstrdup(text);
			return 0;
		}
	}
	if (!addr_domain_is_valid(p, hlen)) {
		*error_r = "host is not a host name or an IP address";
		return -1;
	}
	r->host = lower_dup(p, hlen);
	return 0;
}

static int
opt_tls(struct relay *r, const char *v, size_t n, const char **error_r)
{
	if (mem_is(v, n, "starttls"))
		r->tls = RELAY_TLS_STARTTLS;
	else if (mem_is(v, n, "implicit"))
		r->tls = RELAY_TLS_IMPLICIT;
	else {
		*error_r = "tls= must be starttls or implicit";
		return -1;
	}
	return 0;
}

static int
opt_auth(struct relay *r, const char *v, size_t n, const char **error_r)
{
	if (n == 0 || v[0] != '/' || n > RELAY_PATH_MAX) {
		*error_r = "auth= must be an absolute path of at most 1023 "
		    "bytes";
		return -1;
	}
	r->auth_file = xstrndup(v, n);
	return 0;
}

static int
opt_policy(struct relay *r, const char *v, size_t n, const char **error_r)
{
	for (size_t i = 0; i < ARRAY_SIZE(policy_names); i++) {
		if (mem_is(v, n, policy_names[i])) {
			r->policy = xstrdup(policy_names[i]);
			return 0;
		}
	}
	*error_r = "policy= must be encrypt, verify or dane";
	return -1;
}

static int
option_parse(struct relay *r, const struct token *t, unsigned int *seen,
    const char **error_r)
{
	const char *eq = memchr(t->p, '=', t->n);
	size_t nlen = eq != NULL ? (size_t)(eq - t->p) : t->n;

	for (size_t i = 0; i < ARRAY_SIZE(option_defs); i++) {
		if (!mem_is(t->p, nlen, option_defs[i].name))
			continue;
		if (*seen & (1u << i)) {
			*error_r = "option given twice";
			return -1;
		}
		*seen |= 1u << i;
		if (eq == NULL) {
			*error_r = "option needs a value, as in tls=implicit";
			return -1;
		}
		return option_defs[i].parse(r, eq + 1, t->n - nlen - 1,
		    error_r);
	}
	*error_r = "unknown option (expected tls=, auth= or policy=)";
	return -1;
}

/* Next whitespace-separated token of spec; false at the end. */
static bool
token_next(const char *spec, size_t len, size_t *pos, struct token *t)
{
	size_t i = *pos;

	while (i < len && is_space(spec[i]))
		i++;
	if (i == len)
		return false;
	t->p = spec + i;
	while (i < len && !is_space(spec[i]))
		i++;
	t->n = (size_t)(spec + i - t->p);
	*pos = i;
	return true;
}

static int
spec_parse_head(const char *spec, size_t len, size_t *pos, struct relay *r,
    uint16_t *port_r, const char **error_r)
{
	struct token t;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)spec[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*error_r = "control character in relay spec";
			return -1;
		}
	}
	if (!token_next(spec, len, pos, &t)) {
		*error_r = "empty relay spec (use NAME HOST[:PORT] "
		    "[OPTION ...])";
		return -1;
	}
	if (!relay_name_is_valid(t.p, t.n)) {
		*error_r = "name must be 1 to 64 letters, digits, '_', '-' "
		    "or '.', starting with a letter or digit";
		return -1;
	}
	r->name = lower_dup(t.p, t.n);
	if (!token_next(spec, len, pos, &t)) {
		*error_r = "missing host after name";
		return -1;
	}
	return host_parse(t.p, t.n, r, port_r, error_r);
}

int
relay_parse(const char *spec, size_t len, struct relay *r_r,
    const char **error_r)
{
	struct relay r;
	struct token t;
	size_t pos = 0;
	unsigned int seen = 0;
	uint16_t port = 0;

	memset(&r, 0, sizeof(r));
	r.tls = RELAY_TLS_STARTTLS;
	if (spec_parse_head(spec, len, &pos, &r, &port, error_r) == -1)
		goto fail;
	while (token_next(spec, len, &pos, &t)) {
		if (option_parse(&r, &t, &seen, error_r) == -1)
			goto fail;
	}
	if (port == 0)
		port = r.tls == RELAY_TLS_IMPLICIT ? RELAY_PORT_IMPLICIT :
		    RELAY_PORT_STARTTLS;
	r.port = port;
	if (r.policy == NULL)
		r.policy = xstrdup(RELAY_POLICY_DEFAULT);
	*r_r = r;
	return 0;
fail:
	relay_clear(&r);
	return -1;
}

char *
relay_format(const struct relay *r)
{
	struct buf b = BUF_INIT;
	uint16_t port = r->tls == RELAY_TLS_IMPLICIT ? RELAY_PORT_IMPLICIT :
	    RELAY_PORT_STARTTLS;
	bool v6 = r->host != NULL && strchr(r->host, ':') != NULL;

	buf_printf(&b, "%s %s%s%s", r->name != NULL ? r->name : "",
	    v6 ? "[" : "", r->host != NULL ? r->host : "", v6 ? "]" : "");
	if (r->port != port)
		buf_printf(&b, ":%u", (unsigned int)r->port);
	if (r->tls == RELAY_TLS_IMPLICIT)
		buf_append_str(&b, " tls=implicit");
	if (r->auth_file != NULL)
		buf_printf(&b, " auth=%s", r->auth_file);
	if (r->policy != NULL && strcmp(r->policy, RELAY_POLICY_DEFAULT) != 0)
		buf_printf(&b, " policy=%s", r->policy);
	return buf_steal(&b);
}

void
relay_clear(struct relay *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->host);
	free(r->auth_file);
	free(r->policy);
	memset(r, 0, sizeof(*r));
}

static char *
str_dup_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
relay_copy(struct relay *dst, const struct relay *src)
{
	*dst = *src;
	dst->name = str_dup_null(src->name);
	dst->host = str_dup_null(src->host);
	dst->auth_file = str_dup_null(src->auth_file);
	dst->policy = str_dup_null(src->policy);
}

static bool
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
relay_equal(const struct relay *a, const struct relay *b)
{
	return str_equal(a->name, b->name) && str_equal(a->host, b->host) &&
	    a->port == b->port && a->tls == b->tls &&
	    str_equal(a->auth_file, b->auth_file) &&
	    str_equal(a->policy, b->policy);
}

void
relay_list_append(struct relay_list *list, struct relay *r)
{
	list->v = xreallocarray(list->v, list->n + 1, sizeof(*list->v));
	list->v[list->n++] = *r;
	memset(r, 0, sizeof(*r));
}

void
relay_list_clear(struct relay_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n; i++)
		relay_clear(&list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

void
relay_list_copy(struct relay_list *dst, const struct relay_list *src)
{
	dst->v = NULL;
	dst->n = 0;
	if (src->n == 0)
		return;
	dst->v = xreallocarray(NULL, src->n, sizeof(*dst->v));
	for (size_t i = 0; i < src->n; i++)
		relay_copy(&dst->v[i], &src->v[i]);
	dst->n = src->n;
}

bool
relay_list_equal(const struct relay_list *a, const struct relay_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (!relay_equal(&a->v[i], &b->v[i]))
			return false;
	}
	return true;
}

const struct relay *
relay_list_find(const struct relay_list *list, const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < list->n; i++) {
		if (list->v[i].name != NULL &&
		    strcasecmp(list->v[i].name, name) == 0)
			return &list->v[i];
	}
	return NULL;
}
