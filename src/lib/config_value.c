/*
 * config_value: the notation of sluice.conf values (sizes, durations,
 * booleans, lists) and the checks of single values, shared with any other
 * text that uses them; see the value parsers and checks in config.h.
 */
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
#include "config.h"

#define KiB	1024ULL
#define MiB	(1024ULL * KiB)
#define GiB	(1024ULL * MiB)
#define MINUTE	60ULL
#define HOUR	(60ULL * MINUTE)
#define DAY	(24ULL * HOUR)
#define WEEK	(7ULL * DAY)

static const struct {
	char		 suffix;
	uint64_t	 seconds;
} duration_units[] = {
	{ 'w', WEEK }, { 'd', DAY }, { 'h', HOUR }, { 'm', MINUTE }, { 's', 1 },
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The leading decimal digits of s: how many there are, and their value
 * unless it passes UINT64_MAX (*overflow_r).
 */
static size_t
digits_parse(const char *s, size_t len, uint64_t *value_r, bool *overflow_r)
{
	uint64_t v = 0;
	size_t i;

	*overflow_r = false;
	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned int d = (unsigned int)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			*overflow_r = true;
		else
			v = v * 10 + d;
	}
	*value_r = v;
	return i;
}

int
config_uint_parse(const char *s, size_t len, uint64_t *value_r,
    const char **error_r)
{
	uint64_t v;
	bool overflow;

	if (len == 0 || digits_parse(s, len, &v, &overflow) != len) {
		*error_r = "not a number";
		return -1;
	}
	if (overflow) {
		*error_r = "too large";
		return -1;
	}
	*value_r = v;
	return 0;
}

int
config_size_parse(const char *s, size_t len, uint64_t *bytes_r,
    const char **error_r)
{
	uint64_t v, unit = 1;
	bool overflow;
	size_t n = digits_parse(s, len, &v, &overflow);

	if (n == 0 || len - n > 1)
		goto bad;
	if (len - n == 1) {
		switch (s[n]) {
		case 'k': case 'K':
			unit = KiB;
			break;
		case 'm': case 'M':
			unit = MiB;
			break;
		case 'g': case 'G':
			unit = GiB;
			break;
		default:
			goto bad;
		}
	}
	if (overflow || v > UINT64_MAX / unit) {
		*error_r = "too large";
		return -1;
	}
	*bytes_r = v * unit;
	return 0;
bad:
	*error_r = "not a size (use a number with K, M or G)";
	return -1;
}

int
config_duration_parse(const char *s, size_t len, uint64_t *seconds_r,
    const char **error_r)
{
	uint64_t v, unit = 1;
	bool overflow;
	size_t n = digits_parse(s, len, &v, &overflow);

	if (n == 0 || len - n > 1)
		goto bad;
	if (len - n == 1) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(duration_units); i++) {
			if (duration_units[i].suffix == s[n])
				break;
		}
		if (i == ARRAY_SIZE(duration_units))
			goto bad;
		unit = duration_units[i].seconds;
	}
	if (overflow || v > UINT64_MAX / unit) {
		*error_r = "too large";
		return -1;
	}
	*seconds_r = v * unit;
	return 0;
bad:
	*error_r = "not a duration (use a number with s, m, h, d or w)";
	return -1;
}

int
config_bool_parse(const char *s, size_t len, bool *value_r,
    const char **error_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0) {
			*value_r = true;
			return 0;
		}
		if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0) {
			*value_r = false;
			return 0;
		}
	}
	*error_r = "not a boolean (use yes or no)";
	return -1;
}

static size_t
skip_space(const char *s, size_t len, size_t i)
{
	while (i < len && is_space(s[i]))
		i++;
	return i;
}

void
config_list_append(struct config_list *list, const char *s, size_t len)
{
	list->v = xreallocarray(list->v, list->n + 1, sizeof(*list->v));
	list->v[list->n++] = xstrndup(s, len);
}

int
config_list_parse(const char *s, size_t len, struct config_list *list,
    const char **error_r)
{
	struct config_list items = { NULL, 0 };
	size_t i = 0, start;

	for (;;) {
		i = skip_space(s, len, i);
		if (i == len)
			break;
		if (s[i] == ',')
			goto empty;
		start = i;
		while (i < len && !is_space(s[i]) && s[i] != ',')
			i++;
		config_list_append(&items, s + start, i - start);
		i = skip_space(s, len, i);
		if (i < len && s[i] == ',') {
			i = skip_space(s, len, i + 1);
			if (i == len || s[i] == ',')
				goto empty;
		}
	}
	for (size_t j = 0; j < items.n; j++)
		config_list_append(list, items.v[j], strlen(items.v[j]));
	config_list_clear(&items);
	return 0;
empty:
	config_list_clear(&items);
	*error_r = "not a list (an item is empty)";
	return -1;
}

void
config_list_clear(struct config_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n; i++)
		free(list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

void
config_size_format(uint64_t v, struct buf *b)
{
	if (v != 0 && v % GiB == 0)
		buf_printf(b, "%lluG", (unsigned long long)(v / GiB));
	else if (v != 0 && v % MiB == 0)
		buf_printf(b, "%lluM", (unsigned long long)(v / MiB));
	else if (v != 0 && v % KiB == 0)
		buf_printf(b, "%lluK", (unsigned long long)(v / KiB));
	else
		buf_printf(b, "%llu", (unsigned long long)v);
}

void
config_duration_format(uint64_t v, struct buf *b)
{
	if (v == 0) {
		buf_append_str(b, "0");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++) {
		if (v % duration_units[i].seconds == 0) {
			buf_printf(b, "%llu%c", (unsigned long long)
			    (v / duration_units[i].seconds),
			    duration_units[i].suffix);
			return;
		}
	}
}

/* ----- checks of single values ----- */

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

const char *
config_check_hostname(const char *s, size_t len)
{
	size_t label = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return "is not a host name";
			label = 0;
			continue;
		}
		if (!is_alnum(s[i]) && !(s[i] == '-' && label > 0))
			return "is not a host name";
		if (++label > 63)
			return "is not a host name (a label is too long)";
	}
	if (len > 0 && (label == 0 || s[len - 1] == '-'))
		return "is not a host name";
	return NULL;
}

const char *
config_check_account(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (is_alnum(s[i]) || s[i] == '_' ||
		    (i > 0 && (s[i] == '-' || s[i] == '.')))
			continue;
		return "is not a user or group name";
	}
	return NULL;
}

const char *
config_check_delimiter(const char *s, size_t len)
{
	if (len == 0 || (len == 1 && s[0] != '\0' &&
	    strchr("+-_=", s[0]) != NULL))
		return NULL;
	return "must be empty or one of + - _ =";
}

const char *
config_check_postmaster(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);

	if (at != NULL && (at == s || at == s + len - 1 ||
	    memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL))
		return "is not a local part or address";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
			return "is not a local part or address";
	}
	return NULL;
}

/* A mailbox name: printable, "/" separated, no empty level, not INBOX. */
const char *
config_check_mailbox(const char *s, size_t len)
{
	if (len == 0)
		return NULL;
	if (s[0] == '/' || s[len - 1] == '/' || memmem(s, len, "//", 2) ||
	    (len == 5 && strncasecmp(s, "INBOX", 5) == 0))
		return "is not a mailbox name (a/b/c, not INBOX)";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < ' ' || c == 0x7f || c == '%' || c == '*' || c == '"' ||
		    c == '\\')
			return "is not a mailbox name (no controls, % * \" \\)";
	}
	return NULL;
}

const char *
config_check_relay_name(const char *s, size_t len)
{
	if (len == 0 || relay_name_is_valid(s, len))
		return NULL;
	return "is not a relay name (letters, digits, _ - and ., a letter "
	    "or digit first; at most 64)";
}

/* s[0..len) split at its first '=' into a domain and what follows. */
static bool
domain_item_split(const char *s, size_t len, size_t *value_off_r)
{
	const char *eq = memchr(s, '=', len);

	if (eq == NULL || !addr_domain_is_valid(s, (size_t)(eq - s)))
		return false;
	*value_off_r = (size_t)(eq - s) + 1;
	return true;
}

const char *
config_check_relay_route(const char *s, size_t len)
{
	size_t off;

	if (!domain_item_split(s, len, &off) ||
	    !relay_name_is_valid(s + off, len - off))
		return "is not DOMAIN=NAME (a domain and a relay name)";
	return NULL;
}

const char *
config_check_tls_policy_item(const char *s, size_t len)
{
	enum config_tls_policy policy;
	size_t off;

	if (!domain_item_split(s, len, &off) ||
	    config_tls_policy_from_name(s + off, len - off, &policy) == -1)
		return "is not DOMAIN=POLICY (POLICY: none, may, encrypt, "
		    "verify or dane)";
	return NULL;
}

/* ADDRESS[@PORT], the form libunbound takes for forwarders and stubs. */
static bool
dns_server_is_valid(const char *s, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	uint8_t a[sizeof(struct in6_addr)];
	const char *at = memchr(s, '@', len);
	size_t alen = at != NULL ? (size_t)(at - s) : len;
	uint64_t port;
	const char *why;

	if (alen == 0 || alen >= sizeof(text))
		return false;
	memcpy(text, s, alen);
	text[alen] = '\0';
	if (inet_pton(AF_INET, text, a) != 1 &&
	    inet_pton(AF_INET6, text, a) != 1)
		return false;
	if (at == NULL)
		return true;
	return config_uint_parse(at + 1, len - alen - 1, &port, &why) == 0 &&
	    port >= 1 && port <= 65535;
}

const char *
config_check_dns_server(const char *s, size_t len)
{
	if (!dns_server_is_valid(s, len))
		return "is not ADDRESS[@PORT] (an IPv4 or IPv6 address, no "
		    "brackets; port 1 to 65535)";
	return NULL;
}

const char *
config_check_stub_zone(const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	size_t zlen = eq != NULL ? (size_t)(eq - s) : 0;

	if (eq == NULL || !((zlen == 1 && s[0] == '.') ||
	    addr_domain_is_valid(s, zlen)) ||
	    !dns_server_is_valid(eq + 1, len - zlen - 1))
		return "is not ZONE=ADDRESS[@PORT] (ZONE: \".\" or a domain; "
		    "ADDRESS: IPv4 or IPv6)";
	return NULL;
}
