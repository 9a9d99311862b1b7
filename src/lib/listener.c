/* listener: see listener.h. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>

#include "util.h"
#include "buf.h"
#include "listener.h"

static const char *const role_names[LISTENER_ROLE_COUNT] = {
	[LISTENER_MX] = "mx",
	[LISTENER_SUBMISSION] = "submission",
	[LISTENER_SUBMISSIONS] = "submissions",
	[LISTENER_LOCAL] = "local",
	[LISTENER_IMAP] = "imap",
	[LISTENER_IMAPS] = "imaps",
	[LISTENER_POP3] = "pop3",
	[LISTENER_POP3S] = "pop3s",
};

struct token {
	const char	*p;
	size_t		 n;
};

struct option_def {
	const char	*name;
	bool		 has_value;
	int		(*parse)(struct listener *, const char *, size_t,
			    const char **);
};

static int opt_name(struct listener *, const char *, size_t, const char **);
static int opt_auth_plaintext(struct listener *, const char *, size_t,
    const char **);
static int opt_bare_lf(struct listener *, const char *, size_t,
    const char **);
static int opt_backlog(struct listener *, const char *, size_t,
    const char **);
static int opt_mode(struct listener *, const char *, size_t, const char **);

static const struct option_def option_defs[] = {
	{ "name", true, opt_name },
	{ "auth-plaintext", false, opt_auth_plaintext },
	{ "bare-lf", true, opt_bare_lf },
	{ "backlog", true, opt_backlog },
	{ "mode", true, opt_mode },
};

const char *
listener_role_name(enum listener_role role)
{
	if ((unsigned int)role >= LISTENER_ROLE_COUNT)
		return "unknown";
	return role_names[role];
}

int
listener_role_from_name(const char *name, size_t len,
    enum listener_role *role_r)
{
	for (size_t i = 0; i < LISTENER_ROLE_COUNT; i++) {
		if (strlen(role_names[i]) == len &&
		    memcmp(role_names[i], name, len) == 0) {
			*role_r = (enum listener_role)i;
			return 0;
		}
	}
	return -1;
}

bool
listener_role_is_smtp(enum listener_role role)
{
	return role == LISTENER_MX || role == LISTENER_SUBMISSION ||
	    role == LISTENER_SUBMISSIONS || role == LISTENER_LOCAL;
}

bool
listener_role_is_implicit_tls(enum listener_role role)
{
	return role == LISTENER_SUBMISSIONS || role == LISTENER_IMAPS ||
	    role == LISTENER_POP3S;
}

static bool
mem_is(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* Digits only, no sign; stops before overflow by bounding with max. */
static int
number_parse(const char *p, size_t n, unsigned int base, unsigned long max,
    unsigned long *value_r)
{
	unsigned long v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned int d = (unsigned char)p[i] - '0';

		if (d >= base)
			return -1;
		v = v * base + d;
		if (v > max)
			return -1;
	}
	*value_r = v;
	return 0;
}

static int
port_parse(const char *p, size_t n, struct listener *l, const char **error_r)
{
	unsigned long port;

	if (number_parse(p, n, 10, 65535, &port) == -1 || port == 0) {
		*error_r = "port must be a number from 1 to 65535";
		return -1;
	}
	l->port = (uint16_t)port;
	return 0;
}

static int
address_parse_unix(const char *p, size_t n, struct listener *l,
    const char **error_r)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&l->addr;

	if (n >= sizeof(sun->sun_path)) {
		*error_r = "unix socket path is too long";
		return -1;
	}
	l->family = AF_UNIX;
	l->path = xstrndup(p, n);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, p, n);
	l->addr_len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	l->mode = LISTENER_MODE_DEFAULT;
	return 0;
}

static int
address_parse_ipv6(const char *p, size_t n, struct listener *l,
    const char **error_r)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
	char host[INET6_ADDRSTRLEN];
	const char *close = memchr(p, ']', n);
	size_t hlen;

	if (close == NULL) {
		*error_r = "missing ] after IPv6 address";
		return -1;
	}
	hlen = (size_t)(close - p) - 1;
	if ((size_t)(close - p) + 1 >= n || close[1] != ':') {
		*error_r = "missing port (use [IPv6]:PORT)";
		return -1;
	}
	if (hlen >= sizeof(host)) {
		*error_r = "not an IPv6 address (names are not looked up)";
		return -1;
	}
	memcpy(host, p + 1, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
		*error_r = "not an IPv6 address (names are not looked up)";
		return -1;
	}
	if (port_parse(close + 2, n - (size_t)(close - p) - 2, l,
	    error_r) == -1)
		return -1;
	l->family = AF_INET6;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(l->port);
	l->addr_len = sizeof(*sin6);
	return 0;
}

static int
address_parse_ipv4(const char *p, size_t n, struct listener *l,
    const char **error_r)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
	char host[INET_ADDRSTRLEN];
	const char *colon = memchr(p, ':', n);
	size_t hlen;

	if (colon == NULL) {
		*error_r = memchr(p, '/', n) != NULL ?
		    "unix socket path must be absolute" :
		    "missing port (use ADDRESS:PORT)";
		return -1;
	}
	hlen = (size_t)(colon - p);
	if (memchr(colon + 1, ':', n - hlen - 1) != NULL) {
		*error_r = "IPv6 addresses need brackets, as in [::1]:25";
		return -1;
	}
	if (hlen >= sizeof(host)) {
		*error_r = "not an IPv4 address (names are not looked up)";
		return -1;
	}
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		*error_r = "not an IPv4 address (names are not looked up)";
		return -1;
	}
	if (port_parse(colon + 1, n - hlen - 1, l, error_r) == -1)
		return -1;
	l->family = AF_INET;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(l->port);
	l->addr_len = sizeof(*sin);
	return 0;
}

static int
address_parse(const char *p, size_t n, struct listener *l,
    const char **error_r)
{
	if (p[0] == '/')
		return address_parse_unix(p, n, l, error_r);
	if (p[0] == '[')
		return address_parse_ipv6(p, n, l, error_r);
	if (n >= 2 && p[0] == '*' && p[1] == ':') {
		if (port_parse(p + 2, n - 2, l, error_r) == -1)
			return -1;
		l->family = AF_UNSPEC;
		return 0;
	}
	return address_parse_ipv4(p, n, l, error_r);
}

static int
opt_name(struct listener *l, const char *v, size_t n, const char **error_r)
{
	if (n == 0 || n > LISTENER_NAME_MAX) {
		*error_r = "name= must be 1 to 32 characters";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.')) {
			*error_r = "name= may hold only letters, digits, "
			    "'-', '_' and '.'";
			return -1;
		}
	}
	l->name = xstrndup(v, n);
	return 0;
}

static int
opt_auth_plaintext(struct listener *l, const char *v, size_t n,
    const char **error_r)
{
	(void)v;
	(void)n;
	(void)error_r;
	l->flags |= LISTENER_AUTH_PLAINTEXT;
	return 0;
}

static int
opt_bare_lf(struct listener *l, const char *v, size_t n, const char **error_r)
{
	if (!listener_role_is_smtp(l->role)) {
		*error_r = "bare-lf= applies only to SMTP listeners";
		return -1;
	}
	if (mem_is(v, n, "reject"))
		l->bare_lf = LISTENER_BARE_LF_REJECT;
	else if (mem_is(v, n, "normalise"))
		l->bare_lf = LISTENER_BARE_LF_NORMALISE;
	else {
		*error_r = "bare-lf= must be reject or normalise";
		return -1;
	}
	return 0;
}

static int
opt_backlog(struct listener *l, const char *v, size_t n, const char **error_r)
{
	unsigned long backlog;

	if (number_parse(v, n, 10, LISTENER_BACKLOG_MAX, &backlog) == -1 ||
	    backlog < LISTENER_BACKLOG_MIN) {
		*error_r = "backlog= must be a number from 16 to 65535";
		return -1;
	}
	l->backlog = (int)backlog;
	return 0;
}

static int
opt_mode(struct listener *l, const char *v, size_t n, const char **error_r)
{
	unsigned long mode;

	if (l->family != AF_UNIX) {
		*error_r = "mode= applies only to unix sockets";
		return -1;
	}
	if (n > 4 || number_parse(v, n, 8, 0777, &mode) == -1) {
		*error_r = "mode= must be octal permissions such as 0660";
		return -1;
	}
	l->mode = (mode_t)mode;
	return 0;
}

static int
option_parse(struct listener *l, const struct token *t, unsigned int *seen,
    const char **error_r)
{
	const char *eq = memchr(t->p, '=', t->n);
	size_t nlen = eq != NULL ? (size_t)(eq - t->p) : t->n;
	const char *v = eq != NULL ? eq + 1 : NULL;
	size_t vlen = eq != NULL ? t->n - nlen - 1 : 0;

	for (size_t i = 0; i < ARRAY_SIZE(option_defs); i++) {
		const struct option_def *o = &option_defs[i];

		if (!mem_is(t->p, nlen, o->name))
			continue;
		if (*seen & (1u << i)) {
			*error_r = "option given twice";
			return -1;
		}
		*seen |= 1u << i;
		if (o->has_value && v == NULL) {
			*error_r = "option needs a value, as in backlog=511";
			return -1;
		}
		if (!o->has_value && v != NULL) {
			*error_r = "auth-plaintext takes no value";
			return -1;
		}
		return o->parse(l, v, vlen, error_r);
	}
	*error_r = "unknown option (expected name=, auth-plaintext, bare-lf=, "
	    "backlog= or mode=)";
	return -1;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
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

static bool
spec_has_control(const char *spec, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)spec[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

static int
spec_parse_head(const char *spec, size_t len, size_t *pos, struct listener *l,
    const char **error_r)
{
	struct token t;

	if (spec_has_control(spec, len)) {
		*error_r = "control character in listener spec";
		return -1;
	}
	if (!token_next(spec, len, pos, &t)) {
		*error_r =
		    "empty listener spec (use ROLE ADDRESS [OPTION ...])";
		return -1;
	}
	if (listener_role_from_name(t.p, t.n, &l->role) == -1) {
		*error_r = "unknown role (expected mx, submission, "
		    "submissions, local, imap, imaps, pop3 or pop3s)";
		return -1;
	}
	if (!token_next(spec, len, pos, &t)) {
		*error_r = "missing address after role";
		return -1;
	}
	return address_parse(t.p, t.n, l, error_r);
}

int
listener_parse(const char *spec, size_t len, struct listener *l_r,
    const char **error_r)
{
	struct listener l;
	struct token t;
	size_t pos = 0;
	unsigned int seen = 0;

	memset(&l, 0, sizeof(l));
	if (spec_parse_head(spec, len, &pos, &l, error_r) == -1)
		goto fail;
	l.backlog = LISTENER_BACKLOG_DEFAULT;
	l.bare_lf = l.role == LISTENER_MX ? LISTENER_BARE_LF_REJECT :
	    LISTENER_BARE_LF_NORMALISE;
	while (token_next(spec, len, &pos, &t)) {
		if (option_parse(&l, &t, &seen, error_r) == -1)
			goto fail;
	}
	/*
	 * Without TLS a password crosses the wire in the clear; only a
	 * connection that never leaves the host may do that.
	 */
	if ((l.flags & LISTENER_AUTH_PLAINTEXT) && l.family != AF_UNIX &&
	    !listener_is_loopback(&l)) {
		*error_r = "auth-plaintext is allowed only on loopback "
		    "addresses and unix sockets";
		goto fail;
	}
	/* The local role is trusted to relay: only a unix socket, whose
	 * file mode decides who may use it, can carry that trust. */
	if (l.role == LISTENER_LOCAL && l.family != AF_UNIX) {
		*error_r = "the local role listens only on a unix socket path";
		goto fail;
	}
	if (l.name == NULL)
		l.name = xstrdup(listener_role_name(l.role));
	*l_r = l;
	return 0;
fail:
	listener_clear(&l);
	return -1;
}

char *
listener_address_format(const struct listener *l)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->addr;
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&l->addr;

	switch (l->family) {
	case AF_UNIX:
		return xstrdup(l->path != NULL ? l->path : "");
	case AF_INET:
		if (inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) ==
		    NULL)
			break;
		return xasprintf("%s:%u", host, (unsigned int)l->port);
	case AF_INET6:
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) ==
		    NULL)
			break;
		return xasprintf("[%s]:%u", host, (unsigned int)l->port);
	default:
		break;
	}
	return xasprintf("*:%u", (unsigned int)l->port);
}

char *
listener_format(const struct listener *l)
{
	struct buf b = BUF_INIT;
	char *addr = listener_address_format(l);
	enum listener_bare_lf bare_lf = l->role == LISTENER_MX ?
	    LISTENER_BARE_LF_REJECT : LISTENER_BARE_LF_NORMALISE;

	buf_printf(&b, "%s %s", listener_role_name(l->role), addr);
	free(addr);
	if (l->name != NULL && strcmp(l->name, listener_role_name(l->role)))
		buf_printf(&b, " name=%s", l->name);
	if (l->flags & LISTENER_AUTH_PLAINTEXT)
		buf_append_str(&b, " auth-plaintext");
	if (listener_role_is_smtp(l->role) && l->bare_lf != bare_lf)
		buf_printf(&b, " bare-lf=%s",
		    l->bare_lf == LISTENER_BARE_LF_REJECT ? "reject" :
		    "normalise");
	if (l->backlog != LISTENER_BACKLOG_DEFAULT)
		buf_printf(&b, " backlog=%d", l->backlog);
	if (l->family == AF_UNIX && l->mode != LISTENER_MODE_DEFAULT)
		buf_printf(&b, " mode=%04o", (unsigned int)l->mode);
	return buf_steal(&b);
}

void
listener_clear(struct listener *l)
{
	if (l == NULL)
		return;
	free(l->name);
	free(l->path);
	memset(l, 0, sizeof(*l));
}

void
listener_copy(struct listener *dst, const struct listener *src)
{
	*dst = *src;
	dst->name = src->name != NULL ? xstrdup(src->name) : NULL;
	dst->path = src->path != NULL ? xstrdup(src->path) : NULL;
}

static bool
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
listener_same_address(const struct listener *a, const struct listener *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_UNIX)
		return str_equal(a->path, b->path);
	return a->port == b->port && a->addr_len == b->addr_len &&
	    memcmp(&a->addr, &b->addr, a->addr_len) == 0;
}

bool
listener_equal(const struct listener *a, const struct listener *b)
{
	return a->role == b->role && str_equal(a->name, b->name) &&
	    listener_same_address(a, b) && a->flags == b->flags &&
	    a->bare_lf == b->bare_lf && a->backlog == b->backlog &&
	    a->mode == b->mode;
}

bool
listener_is_loopback(const struct listener *l)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->addr;
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&l->addr;

	if (l->family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (l->family == AF_INET6) {
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

void
listener_list_append(struct listener_list *list, struct listener *l)
{
	list->v = xreallocarray(list->v, list->n + 1, sizeof(*list->v));
	list->v[list->n++] = *l;
	memset(l, 0, sizeof(*l));
}

void
listener_list_clear(struct listener_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n; i++)
		listener_clear(&list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

void
listener_list_copy(struct listener_list *dst, const struct listener_list *src)
{
	dst->v = NULL;
	dst->n = 0;
	if (src->n == 0)
		return;
	dst->v = xreallocarray(NULL, src->n, sizeof(*dst->v));
	for (size_t i = 0; i < src->n; i++)
		listener_copy(&dst->v[i], &src->v[i]);
	dst->n = src->n;
}

bool
listener_list_equal(const struct listener_list *a,
    const struct listener_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (!listener_equal(&a->v[i], &b->v[i]))
			return false;
	}
	return true;
}
