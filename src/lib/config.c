/* config: see config.h. */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "util.h"
#include "buf.h"
#include "listener.h"
#include "relay.h"
#include "config.h"

#define KiB	1024ULL
#define MiB	(1024ULL * KiB)
#define GiB	(1024ULL * MiB)
#define MINUTE	60ULL
#define HOUR	(60ULL * MINUTE)
#define DAY	(24ULL * HOUR)
#define WEEK	(7ULL * DAY)

/* The longest piece of a bad value an error message repeats. */
#define DISPLAY_MAX	60

enum config_type {
	CONFIG_STRING,
	CONFIG_PATH,
	CONFIG_INT,
	CONFIG_SIZE,
	CONFIG_DURATION,
	CONFIG_BOOL,
	CONFIG_ENUM,
	CONFIG_LIST,
	CONFIG_LISTENERS,
	CONFIG_RELAYS
};

struct config_key {
	const char	*name;
	enum config_type type;
	size_t		 offset;	/* of the field in struct config */
	const char	*def;		/* one value per line */
	uint64_t	 min;		/* strings and paths: length */
	uint64_t	 max;
	const char *const *names;	/* CONFIG_ENUM, NULL-terminated */
	/* A further test of a string value, or of each item of a list:
	 * NULL, or why it is bad. */
	const char	*(*check)(const char *value, size_t len);
	const char	*doc;
};


static const char *const log_names[] = { "syslog", "stderr", NULL };
static const char *const log_level_names[] = {
	"debug", "info", "notice", "warning", "error", NULL
};
static const char *const tls_version_names[] = {
	"TLSv1.2", "TLSv1.3", NULL
};
static const char *const password_scheme_names[] = {
	"yescrypt", "bcrypt", "sha512crypt", "sha256crypt", NULL
};
static const char *const tls_policy_names[] = {
	"none", "may", "encrypt", "verify", "dane", NULL
};

_Static_assert(ARRAY_SIZE(log_names) == CONFIG_LOG_STDERR + 2, "log");
_Static_assert(ARRAY_SIZE(log_level_names) == CONFIG_LOG_ERROR + 2, "level");
_Static_assert(ARRAY_SIZE(tls_version_names) == CONFIG_TLS_1_3 + 2, "tls");
_Static_assert(ARRAY_SIZE(password_scheme_names) ==
    CONFIG_PASSWORD_SHA256CRYPT + 2, "scheme");
_Static_assert(ARRAY_SIZE(tls_policy_names) == CONFIG_TLS_POLICY_DANE + 2,
    "tls policy");

/*
 * The offset of a field, and a compile error when the field's type is not
 * the one its key's type stores. Enum fields are stored through an int.
 */
#define FIELD(f, ctype) \
	_Generic(((struct config *)0)->f, ctype: offsetof(struct config, f))
#define ENUM_FIELD(f) (offsetof(struct config, f) + 0 * sizeof(char[ \
	sizeof(((struct config *)0)->f) == sizeof(int) ? 1 : -1]))

#define K_STRING(f, def, min, max, check, doc) \
	{ #f, CONFIG_STRING, FIELD(f, char *), def, min, max, NULL, check, doc }
#define K_PATH(f, def, doc) \
	{ #f, CONFIG_PATH, FIELD(f, char *), def, 1, 1023, NULL, NULL, doc }
/* A path that may be empty. */
#define K_PATH0(f, def, doc) \
	{ #f, CONFIG_PATH, FIELD(f, char *), def, 0, 1023, NULL, NULL, doc }
#define K_INT(f, def, min, max, doc) \
	{ #f, CONFIG_INT, FIELD(f, int), def, min, max, NULL, NULL, doc }
#define K_SIZE(f, def, min, max, doc) \
	{ #f, CONFIG_SIZE, FIELD(f, uint64_t), def, min, max, NULL, NULL, doc }
#define K_DURATION(f, def, min, max, doc) \
	{ #f, CONFIG_DURATION, FIELD(f, int64_t), def, min, max, NULL, NULL, \
	    doc }
#define K_BOOL(f, def, doc) \
	{ #f, CONFIG_BOOL, FIELD(f, bool), def, 0, 1, NULL, NULL, doc }
#define K_ENUM(f, def, names, doc) \
	{ #f, CONFIG_ENUM, ENUM_FIELD(f), def, 0, 0, names, NULL, doc }
#define K_LIST(f, def, check, doc) \
	{ #f, CONFIG_LIST, FIELD(f, struct config_list), def, 0, 0, NULL, \
	    check, doc }
#define K_LISTENERS(f, def, doc) \
	{ #f, CONFIG_LISTENERS, FIELD(f, struct listener_list), def, 0, 0, \
	    NULL, NULL, doc }
#define K_RELAYS(f, doc) \
	{ #f, CONFIG_RELAYS, FIELD(f, struct relay_list), "", 0, 0, NULL, \
	    NULL, doc }

#define DEFAULT_LISTEN \
	"mx *:25\n" \
	"submission *:587\n" \
	"submissions *:465\n" \
	"local " SLUICE_RUNDIR "/smtp.sock\n" \
	"imap *:143\n" \
	"imaps *:993\n" \
	"pop3 *:110\n" \
	"pop3s *:995"

static const struct config_key config_keys[] = {
	K_STRING(hostname, "", 0, 253, config_check_hostname,
	    "Name in greetings and Received; empty: the system host name"),
	K_PATH(state_dir, SLUICE_STATEDIR,
	    "Directory holding directory.db, queue.db and mail.db"),
	K_PATH(run_dir, SLUICE_RUNDIR, "Directory for sockets and pid files"),
	K_STRING(user, "sluice", 1, 32, config_check_account,
	    "Unprivileged account the workers switch to"),
	K_STRING(group, "sluice", 1, 32, config_check_account,
	    "Group the workers switch to"),
	K_ENUM(log, "syslog", log_names, "Where log lines go"),
	K_ENUM(log_level, "info", log_level_names,
	    "Least severe level that is logged"),
	K_LISTENERS(listen, DEFAULT_LISTEN,
	    "A socket to serve: ROLE ADDRESS [OPTION ...]; one per line"),
	K_PATH(tls_cert, SLUICE_SYSCONFDIR "/tls/cert.pem",
	    "TLS certificate chain, PEM"),
	K_PATH(tls_key, SLUICE_SYSCONFDIR "/tls/key.pem",
	    "TLS private key, PEM"),
	K_ENUM(tls_min_version, "TLSv1.2", tls_version_names,
	    "Oldest TLS version accepted or used"),
	K_INT(smtp_workers, "0", 0, 64,
	    "SMTP worker processes; 0: one per CPU"),
	/* Floors from RFC 5321 4.5.3.1.7, 4.5.3.1.8 and 6.3. */
	/* The ceiling keeps a message inside one SQLite row (< 1e9 octets). */
	K_SIZE(message_size_limit, "25M", 64 * KiB, 512 * MiB,
	    "Largest message accepted"),
	K_INT(smtp_max_recipients, "1000", 100, 100000,
	    "Most recipients in one SMTP transaction"),
	K_INT(smtp_max_errors, "10", 1, 1000,
	    "Errors after which an SMTP session is dropped"),
	K_DURATION(smtp_command_timeout, "5m", 1, HOUR,
	    "Time a client has to send a command"),
	K_DURATION(smtp_data_timeout, "10m", 1, HOUR,
	    "Time a client has between pieces of message data"),
	K_INT(smtp_max_connections, "1000", 1, 1000000,
	    "Most SMTP sessions at once"),
	K_INT(smtp_max_connections_per_ip, "20", 1, 1000000,
	    "Most SMTP sessions at once from one client address"),
	K_INT(smtp_max_received, "100", 100, 1000,
	    "More Received header fields than this: rejected as a loop"),
	K_SIZE(smtp_memory_body_limit, "1M", 0, 1 * GiB,
	    "Message size above which the body goes to a temporary file"),
	K_BOOL(submission_hide_client, "no",
	    "Leave the client address out of Received on submission"),
	K_INT(auth_max_failures, "5", 1, 10000,
	    "Failed logins per client address or account before throttling"),
	K_DURATION(auth_failure_window, "10m", 1, DAY,
	    "Time over which failed logins are counted"),
	K_ENUM(password_scheme, "yescrypt", password_scheme_names,
	    "Hash for new passwords"),
	K_INT(password_cost, "0", 0, 999999999,
	    "Cost of new hashes, range set by the scheme; 0: its default"),
	K_PATH(policy_file, SLUICE_SYSCONFDIR "/policy/default.policy",
	    "Policy rules"),
	K_STRING(recipient_delimiter, "", 0, 1, config_check_delimiter,
	    "Separator of user+detail (one of + - _ =); empty: none"),
	K_STRING(postmaster, "postmaster", 1, 254, config_check_postmaster,
	    "Local part or address that receives double bounces"),
	K_DURATION(queue_lifetime, "5d", MINUTE, 90 * DAY,
	    "How long delivery is retried before the mail bounces"),
	K_DURATION(retry_min, "5m", 1, DAY,
	    "Delay before the first retry"),
	K_DURATION(retry_max, "1h", 1, WEEK,
	    "Longest delay between retries"),
	K_DURATION(delay_warning, "4h", 0, 90 * DAY,
	    "Delay after which the sender is warned; 0: never"),
	K_DURATION(queue_retention, "7d", 0, 365 * DAY,
	    "How long delivered and bounced mail stays in queue.db"),
	K_RELAYS(relay,
	    "A smarthost: NAME HOST[:PORT] [OPTION ...]; one per line"),
	K_STRING(relay_default, "", 0, RELAY_NAME_MAX,
	    config_check_relay_name,
	    "Relay for all mail to other domains; empty: their MX hosts"),
	K_LIST(relay_domains, "", config_check_relay_route,
	    "Relays for some domains, as DOMAIN=NAME items"),
	K_ENUM(smtp_tls_policy, "may", tls_policy_names,
	    "TLS towards the MX hosts of other domains"),
	K_LIST(smtp_tls_policies, "", config_check_tls_policy_item,
	    "TLS policies for some domains, as DOMAIN=POLICY items"),
	K_PATH0(smtp_client_ca_file, "",
	    "CA certificates (PEM) for verify; empty: the system's"),
	K_INT(remote_port, "25", 1, 65535, "TCP port of remote MX hosts"),
	/* RFC 5321 4.5.3.2 floors, not enforced (tests need short ones):
	 * greeting 5m, commands 5m (DATA 2m, data blocks 3m), dot 10m. */
	K_DURATION(smtp_client_connect_timeout, "30s", 1, HOUR,
	    "Time a TCP connection to a remote host may take"),
	K_DURATION(smtp_client_greeting_timeout, "5m", 1, HOUR,
	    "Time a remote server has to send its greeting"),
	K_DURATION(smtp_client_command_timeout, "5m", 1, HOUR,
	    "Time a remote server has to reply to a command"),
	K_DURATION(smtp_client_data_timeout, "10m", 1, HOUR,
	    "Time a remote server has to reply to the final dot"),
	K_INT(smtp_client_max_connections, "100", 1, 10000,
	    "Most outgoing SMTP connections at once"),
	K_INT(smtp_client_max_per_destination, "10", 1, 1000,
	    "Most outgoing SMTP connections at once to one destination"),
	K_DURATION(smtp_client_reuse_time, "5s", 0, 10 * MINUTE,
	    "Time a connection that delivered stays open for more; 0: none"),
	K_DURATION(smtp_client_job_timeout, "30m", 1, 24 * HOUR,
	    "Time one delivery attempt to a destination may take in all"),
	K_INT(smtp_client_address_limit, "5", 1, 100,
	    "Most MX addresses tried per delivery attempt"),
	K_INT(smtp_client_session_limit, "2", 1, 100,
	    "Most SMTP sessions (past EHLO) per delivery attempt"),
	K_INT(smtp_client_rcpt_limit, "100", 1, 1000,
	    "Most recipients per delivery attempt (SMTP transaction)"),
	K_PATH(dns_trust_anchor, "/usr/share/dns/root.key",
	    "DNSSEC trust anchor for the root, as unbound-anchor keeps it"),
	K_PATH0(dns_root_hints, "",
	    "Root hints file; empty: libunbound's built-in hints"),
	K_LIST(dns_forwarders, "", config_check_dns_server,
	    "Resolvers to forward queries to, as ADDRESS[@PORT] items"),
	K_LIST(dns_stub_zones, "", config_check_stub_zone,
	    "Servers for some zones, as ZONE=ADDRESS[@PORT] items"),
	K_BOOL(dns_resolv_conf, "no",
	    "Forward queries to the name servers in /etc/resolv.conf"),
	K_DURATION(dns_timeout, "30s", 1, 10 * MINUTE,
	    "Time a DNS lookup may take before delivery is deferred"),
	K_INT(mbox_workers, "0", 0, 64,
	    "POP3 and IMAP worker processes; 0: one per CPU"),
	K_STRING(mailbox_sent, "Sent", 0, 200, config_check_mailbox,
	    "Mailbox created with each user for sent mail (\\Sent); "
	    "empty: none"),
	K_STRING(mailbox_drafts, "Drafts", 0, 200, config_check_mailbox,
	    "Mailbox created with each user for drafts (\\Drafts)"),
	K_STRING(mailbox_trash, "Trash", 0, 200, config_check_mailbox,
	    "Mailbox created with each user for deleted mail (\\Trash)"),
	K_STRING(mailbox_junk, "Junk", 0, 200, config_check_mailbox,
	    "Mailbox created with each user for spam (\\Junk)"),
	K_STRING(mailbox_archive, "Archive", 0, 200, config_check_mailbox,
	    "Mailbox created with each user for archived mail (\\Archive)"),
};

#define KEY_COUNT ARRAY_SIZE(config_keys)

struct parse_state {
	const char	*name;
	size_t		 line;
	size_t		 set_line[KEY_COUNT];	/* 0: not in this text */
	struct buf	 err;			/* after "file:line: " */
	struct buf	 value;
};

struct type_ops {
	const char	*name;		/* in the example file */
	size_t		 size;		/* of a plain field */
	bool		 repeatable;
	int		(*set)(struct config *, const struct config_key *,
			    const char *, size_t, bool, struct buf *);
	void		(*print)(const struct config_key *, const void *,
			    struct buf *);
	/* NULL: a plain field, compared and copied as size bytes */
	bool		(*equal)(const void *, const void *);
	void		(*copy)(void *, const void *);
	void		(*clear)(void *);
};

/* ----- small helpers ----- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static size_t
skip_space(const char *s, size_t len, size_t i)
{
	while (i < len && is_space(s[i]))
		i++;
	return i;
}

static void *
key_field(struct config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->offset;
}

static const void *
key_field_const(const struct config *cfg, const struct config_key *k)
{
	return (const char *)cfg + k->offset;
}

static const struct config_key *
key_find(const char *name, size_t len)
{
	for (size_t i = 0; i < KEY_COUNT; i++) {
		if (strlen(config_keys[i].name) == len &&
		    memcmp(config_keys[i].name, name, len) == 0)
			return &config_keys[i];
	}
	return NULL;
}

/* Append s double-quoted, escaped and cut short, for an error message. */
static void
display_append(struct buf *b, const char *s, size_t len)
{
	size_t n = len > DISPLAY_MAX ? DISPLAY_MAX : len;

	buf_append_byte(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_append_byte(b, c);
	}
	buf_append_str(b, n < len ? "...\"" : "\"");
}

/* Append a value in the form the parser reads back, quoting if needed. */
static void
value_append(struct buf *b, const char *s, size_t len)
{
	bool quote = len == 0 || is_space(s[0]) || is_space(s[len - 1]);

	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == '#' || s[i] == '"' || s[i] == '\\';

	if (!quote) {
		buf_append(b, s, len);
		return;
	}
	buf_append_byte(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append_byte(b, '\\');
		buf_append_byte(b, (uint8_t)s[i]);
	}
	buf_append_byte(b, '"');
}

static int PRINTF_LIKE(5, 6)
value_error(struct buf *err, const struct config_key *k, const char *v,
    size_t len, const char *fmt, ...)
{
	va_list ap;

	buf_printf(err, "%s: ", k->name);
	display_append(err, v, len);
	buf_append_byte(err, ' ');
	va_start(ap, fmt);
	buf_vprintf(err, fmt, ap);
	va_end(ap);
	return -1;
}

static void
number_append(struct buf *b, enum config_type type, uint64_t v)
{
	if (type == CONFIG_SIZE)
		config_size_format(v, b);
	else if (type == CONFIG_DURATION)
		config_duration_format(v, b);
	else
		buf_printf(b, "%llu", (unsigned long long)v);
}

static int
range_error(struct buf *err, const struct config_key *k, const char *v,
    size_t len)
{
	struct buf range = BUF_INIT;

	number_append(&range, k->type, k->min);
	buf_append_str(&range, "..");
	number_append(&range, k->type, k->max);
	value_error(err, k, v, len, "is out of range (%s)", buf_cstr(&range));
	buf_release(&range);
	return -1;
}

/* ----- the types: set, print, compare, copy, clear ----- */

static int
set_string(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	char **f = key_field(cfg, k);
	const char *why;

	(void)first;
	if (len < k->min)
		return value_error(err, k, v, len, "must not be empty");
	if (k->check != NULL && (why = k->check(v, len)) != NULL)
		return value_error(err, k, v, len, "%s", why);
	if (len > k->max)
		return value_error(err, k, v, len,
		    "is too long (at most %llu bytes)",
		    (unsigned long long)k->max);
	free(*f);
	*f = xstrndup(v, len);
	return 0;
}

static int
set_path(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	if (len > 0 && v[0] != '/')
		return value_error(err, k, v, len, "is not an absolute path");
	return set_string(cfg, k, v, len, first, err);
}

static int
set_int(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	size_t negative = len > 1 && v[0] == '-' ? 1 : 0;
	const char *why;
	uint64_t n;

	(void)first;
	/* A negative number is a number, just out of every range here. */
	if (len == negative)
		return value_error(err, k, v, len, "is not a number");
	for (size_t i = negative; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return value_error(err, k, v, len, "is not a number");
	}
	if (negative || config_uint_parse(v, len, &n, &why) == -1 ||
	    n < k->min || n > k->max)
		return range_error(err, k, v, len);
	*(int *)key_field(cfg, k) = (int)n;
	return 0;
}

static int
set_size(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	const char *why;
	uint64_t n;

	(void)first;
	if (config_size_parse(v, len, &n, &why) == -1)
		return value_error(err, k, v, len, "is %s", why);
	if (n < k->min || n > k->max)
		return range_error(err, k, v, len);
	*(uint64_t *)key_field(cfg, k) = n;
	return 0;
}

static int
set_duration(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	const char *why;
	uint64_t n;

	(void)first;
	if (config_duration_parse(v, len, &n, &why) == -1)
		return value_error(err, k, v, len, "is %s", why);
	if (n < k->min || n > k->max)
		return range_error(err, k, v, len);
	*(int64_t *)key_field(cfg, k) = (int64_t)n;
	return 0;
}

static int
set_bool(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	const char *why;

	(void)first;
	if (config_bool_parse(v, len, key_field(cfg, k), &why) == -1)
		return value_error(err, k, v, len, "is %s", why);
	return 0;
}

static int
set_enum(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	(void)first;
	for (size_t i = 0; k->names[i] != NULL; i++) {
		if (strlen(k->names[i]) == len &&
		    strncasecmp(k->names[i], v, len) == 0) {
			*(int *)key_field(cfg, k) = (int)i;
			return 0;
		}
	}
	value_error(err, k, v, len, "is not one of ");
	for (size_t i = 0; k->names[i] != NULL; i++)
		buf_printf(err, "%s%s", i > 0 ? ", " : "", k->names[i]);
	return -1;
}

static int
set_list(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	struct config_list *list = key_field(cfg, k);
	struct config_list items = { NULL, 0 };
	const char *why;

	if (config_list_parse(v, len, &items, &why) == -1)
		return value_error(err, k, v, len, "is %s", why);
	for (size_t i = 0; i < items.n && k->check != NULL; i++) {
		const char *item = items.v[i];

		if ((why = k->check(item, strlen(item))) != NULL) {
			value_error(err, k, item, strlen(item), "%s", why);
			config_list_clear(&items);
			return -1;
		}
	}
	if (first)
		config_list_clear(list);
	for (size_t i = 0; i < items.n; i++)
		config_list_append(list, items.v[i], strlen(items.v[i]));
	config_list_clear(&items);
	return 0;
}

static int
set_listeners(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	struct listener_list *list = key_field(cfg, k);
	struct listener l;
	const char *why;

	if (first || len == 0)
		listener_list_clear(list);
	if (len == 0)
		return 0;
	if (listener_parse(v, len, &l, &why) == -1) {
		buf_printf(err, "%s: ", k->name);
		display_append(err, v, len);
		buf_printf(err, ": %s", why);
		return -1;
	}
	for (size_t i = 0; i < list->n; i++) {
		char *addr;

		if (!listener_same_address(&l, &list->v[i]))
			continue;
		addr = listener_address_format(&l);
		buf_printf(err, "%s: %s is already used by \"%s\"", k->name,
		    addr, list->v[i].name);
		free(addr);
		listener_clear(&l);
		return -1;
	}
	listener_list_append(list, &l);
	return 0;
}

static int
set_relays(struct config *cfg, const struct config_key *k, const char *v,
    size_t len, bool first, struct buf *err)
{
	struct relay_list *list = key_field(cfg, k);
	struct relay r;
	const char *why;

	if (first || len == 0)
		relay_list_clear(list);
	if (len == 0)
		return 0;
	if (relay_parse(v, len, &r, &why) == -1) {
		buf_printf(err, "%s: ", k->name);
		display_append(err, v, len);
		buf_printf(err, ": %s", why);
		return -1;
	}
	if (relay_list_find(list, r.name) != NULL) {
		buf_printf(err, "%s: the name \"%s\" is already used", k->name,
		    r.name);
		relay_clear(&r);
		return -1;
	}
	relay_list_append(list, &r);
	return 0;
}

static void
print_string(const struct config_key *k, const void *f, struct buf *out)
{
	const char *s = *(char *const *)f;

	buf_printf(out, "%s = ", k->name);
	value_append(out, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
	buf_append_byte(out, '\n');
}

static void
print_int(const struct config_key *k, const void *f, struct buf *out)
{
	buf_printf(out, "%s = %d\n", k->name, *(const int *)f);
}

static void
print_size(const struct config_key *k, const void *f, struct buf *out)
{
	buf_printf(out, "%s = ", k->name);
	config_size_format(*(const uint64_t *)f, out);
	buf_append_byte(out, '\n');
}

static void
print_duration(const struct config_key *k, const void *f, struct buf *out)
{
	buf_printf(out, "%s = ", k->name);
	config_duration_format((uint64_t)*(const int64_t *)f, out);
	buf_append_byte(out, '\n');
}

static void
print_bool(const struct config_key *k, const void *f, struct buf *out)
{
	buf_printf(out, "%s = %s\n", k->name, *(const bool *)f ? "yes" : "no");
}

static void
print_enum(const struct config_key *k, const void *f, struct buf *out)
{
	buf_printf(out, "%s = %s\n", k->name, k->names[*(const int *)f]);
}

static void
print_list(const struct config_key *k, const void *f, struct buf *out)
{
	const struct config_list *list = f;

	buf_printf(out, "%s = ", k->name);
	if (list->n == 0)
		buf_append_str(out, "\"\"");
	for (size_t i = 0; i < list->n; i++) {
		if (i > 0)
			buf_append_str(out, ", ");
		value_append(out, list->v[i], strlen(list->v[i]));
	}
	buf_append_byte(out, '\n');
}

static void
print_listeners(const struct config_key *k, const void *f, struct buf *out)
{
	const struct listener_list *list = f;

	if (list->n == 0)
		buf_printf(out, "%s = \"\"\n", k->name);
	for (size_t i = 0; i < list->n; i++) {
		char *spec = listener_format(&list->v[i]);

		buf_printf(out, "%s = ", k->name);
		value_append(out, spec, strlen(spec));
		buf_append_byte(out, '\n');
		free(spec);
	}
}

static void
print_relays(const struct config_key *k, const void *f, struct buf *out)
{
	const struct relay_list *list = f;

	if (list->n == 0)
		buf_printf(out, "%s = \"\"\n", k->name);
	for (size_t i = 0; i < list->n; i++) {
		char *spec = relay_format(&list->v[i]);

		buf_printf(out, "%s = ", k->name);
		value_append(out, spec, strlen(spec));
		buf_append_byte(out, '\n');
		free(spec);
	}
}

static bool
string_equal(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	return strcmp(x != NULL ? x : "", y != NULL ? y : "") == 0;
}

static void
string_copy(void *dst, const void *src)
{
	const char *s = *(char *const *)src;

	*(char **)dst = s != NULL ? xstrdup(s) : NULL;
}

static void
string_clear(void *f)
{
	free(*(char **)f);
	*(char **)f = NULL;
}

static bool
list_equal(const void *a, const void *b)
{
	const struct config_list *x = a, *y = b;

	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++) {
		if (strcmp(x->v[i], y->v[i]) != 0)
			return false;
	}
	return true;
}

static void
list_copy(void *dst, const void *src)
{
	const struct config_list *s = src;
	struct config_list *d = dst;

	d->v = NULL;
	d->n = 0;
	for (size_t i = 0; i < s->n; i++)
		config_list_append(d, s->v[i], strlen(s->v[i]));
}

static void
list_clear(void *f)
{
	config_list_clear(f);
}

static bool
listeners_equal(const void *a, const void *b)
{
	return listener_list_equal(a, b);
}

static void
listeners_copy(void *dst, const void *src)
{
	listener_list_copy(dst, src);
}

static void
listeners_clear(void *f)
{
	listener_list_clear(f);
}

static bool
relays_equal(const void *a, const void *b)
{
	return relay_list_equal(a, b);
}

static void
relays_copy(void *dst, const void *src)
{
	relay_list_copy(dst, src);
}

static void
relays_clear(void *f)
{
	relay_list_clear(f);
}

static const struct type_ops type_ops[] = {
	[CONFIG_STRING] = { "string", sizeof(char *), false, set_string,
	    print_string, string_equal, string_copy, string_clear },
	[CONFIG_PATH] = { "absolute path", sizeof(char *), false, set_path,
	    print_string, string_equal, string_copy, string_clear },
	[CONFIG_INT] = { "integer", sizeof(int), false, set_int, print_int,
	    NULL, NULL, NULL },
	[CONFIG_SIZE] = { "size", sizeof(uint64_t), false, set_size,
	    print_size, NULL, NULL, NULL },
	[CONFIG_DURATION] = { "duration", sizeof(int64_t), false,
	    set_duration, print_duration, NULL, NULL, NULL },
	[CONFIG_BOOL] = { "yes or no", sizeof(bool), false, set_bool,
	    print_bool, NULL, NULL, NULL },
	[CONFIG_ENUM] = { "one of", sizeof(int), false, set_enum, print_enum,
	    NULL, NULL, NULL },
	[CONFIG_LIST] = { "list", sizeof(struct config_list), true, set_list,
	    print_list, list_equal, list_copy, list_clear },
	[CONFIG_LISTENERS] = { "listener, repeatable",
	    sizeof(struct listener_list), true, set_listeners,
	    print_listeners, listeners_equal, listeners_copy,
	    listeners_clear },
	[CONFIG_RELAYS] = { "relay, repeatable", sizeof(struct relay_list),
	    true, set_relays, print_relays, relays_equal, relays_copy,
	    relays_clear },
};

static bool
key_equal(const struct config_key *k, const struct config *a,
    const struct config *b)
{
	const struct type_ops *t = &type_ops[k->type];
	const void *x = key_field_const(a, k), *y = key_field_const(b, k);

	return t->equal != NULL ? t->equal(x, y) : memcmp(x, y, t->size) == 0;
}

/* ----- lifecycle ----- */

/* A default holds one value per line; only repeatable keys use more. */
static void
key_set_default(struct config *cfg, const struct config_key *k)
{
	struct buf err = BUF_INIT;
	const char *p = k->def;
	bool first = true;

	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (type_ops[k->type].set(cfg, k, p, len, first, &err) == -1)
			fatal("config: bad default: %s", buf_cstr(&err));
		if (nl == NULL)
			break;
		first = false;
		p = nl + 1;
	}
	buf_release(&err);
}

void
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < KEY_COUNT; i++)
		key_set_default(cfg, &config_keys[i]);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < KEY_COUNT; i++) {
		const struct type_ops *t = &type_ops[config_keys[i].type];

		if (t->clear != NULL)
			t->clear(key_field(cfg, &config_keys[i]));
	}
	free(cfg->error);
	memset(cfg, 0, sizeof(*cfg));
}

void
config_copy(struct config *dst, const struct config *src)
{
	*dst = *src;
	dst->error = NULL;
	for (size_t i = 0; i < KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		const struct type_ops *t = &type_ops[k->type];

		if (t->copy != NULL)
			t->copy(key_field(dst, k), key_field_const(src, k));
	}
}

bool
config_equal(const struct config *a, const struct config *b)
{
	for (size_t i = 0; i < KEY_COUNT; i++) {
		if (!key_equal(&config_keys[i], a, b))
			return false;
	}
	return true;
}

static int PRINTF_LIKE(3, 4)
config_error(struct config *cfg, const char **error_r, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(cfg->error);
	cfg->error = buf_steal(&b);
	*error_r = cfg->error;
	return -1;
}

/* ----- the file ----- */

/* The text after "= ", unquoted; the line holds no NUL or control byte. */
static int
value_extract(const char *p, size_t n, struct buf *out, struct buf *err)
{
	size_t i = 0;

	buf_reset(out);
	if (n == 0 || p[0] != '"') {
		while (i < n &&
		    !(p[i] == '#' && (i == 0 || is_space(p[i - 1]))))
			i++;
		while (i > 0 && is_space(p[i - 1]))
			i--;
		buf_append(out, p, i);
		return 0;
	}
	for (i = 1; i < n && p[i] != '"'; i++) {
		if (p[i] == '\\') {
			if (i + 1 == n ||
			    (p[i + 1] != '"' && p[i + 1] != '\\')) {
				buf_append_str(err, "unknown escape in quoted "
				    "value (use \\\" or \\\\)");
				return -1;
			}
			i++;
		}
		buf_append_byte(out, (uint8_t)p[i]);
	}
	if (i == n) {
		buf_append_str(err, "quoted value has no closing quote");
		return -1;
	}
	i = skip_space(p, n, i + 1);
	if (i < n && p[i] != '#') {
		buf_append_str(err, "text after the closing quote");
		return -1;
	}
	return 0;
}

static int
line_check(struct parse_state *st, const char *p, size_t n)
{
	if (n > CONFIG_LINE_MAX) {
		buf_printf(&st->err, "line is longer than %d bytes",
		    CONFIG_LINE_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\0') {
			buf_append_str(&st->err, "NUL byte in line");
			return -1;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			buf_printf(&st->err, "control character 0x%02x in line",
			    c);
			return -1;
		}
	}
	return 0;
}

static int
line_apply(struct config *cfg, struct parse_state *st, const char *key,
    size_t klen)
{
	const struct config_key *k = key_find(key, klen);
	const struct type_ops *t;
	size_t idx;

	if (k == NULL) {
		buf_append_str(&st->err, "unknown key ");
		display_append(&st->err, key, klen);
		return -1;
	}
	idx = (size_t)(k - config_keys);
	t = &type_ops[k->type];
	if (st->set_line[idx] != 0 && !t->repeatable) {
		buf_printf(&st->err, "duplicate key \"%s\" (first set on line "
		    "%zu)", k->name, st->set_line[idx]);
		return -1;
	}
	if (t->set(cfg, k, buf_cstr(&st->value), st->value.len,
	    st->set_line[idx] == 0, &st->err) == -1)
		return -1;
	st->set_line[idx] = st->line;
	if (k->offset == offsetof(struct config, hostname))
		cfg->hostname_auto = false;
	return 0;
}

static int
line_parse(struct config *cfg, struct parse_state *st, const char *p,
    size_t n)
{
	const char *key;
	size_t i, klen;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (line_check(st, p, n) == -1)
		return -1;
	i = skip_space(p, n, 0);
	if (i == n || p[i] == '#')
		return 0;
	key = p + i;
	while (i < n && !is_space(p[i]) && p[i] != '=')
		i++;
	klen = (size_t)(p + i - key);
	i = skip_space(p, n, i);
	if (klen == 0 || i == n || p[i] != '=') {
		buf_append_str(&st->err, "expected \"key = value\"");
		return -1;
	}
	i = skip_space(p, n, i + 1);
	if (value_extract(p + i, n - i, &st->value, &st->err) == -1)
		return -1;
	return line_apply(cfg, st, key, klen);
}

static size_t
key_line(const struct parse_state *st, const char *name)
{
	return st->set_line[key_find(name, strlen(name)) - config_keys];
}

/* The error of a rule between keys is on the later line that set one. */
static int PRINTF_LIKE(4, 5)
rule_error(struct parse_state *st, const char *key1, const char *key2,
    const char *fmt, ...)
{
	size_t a = key_line(st, key1), b = key_line(st, key2);
	va_list ap;

	st->line = a > b ? a : b;
	va_start(ap, fmt);
	buf_vprintf(&st->err, fmt, ap);
	va_end(ap);
	return -1;
}

/* The cost each crypt(3) scheme accepts besides 0; see password.h. */
static const struct {
	int	min;
	int	max;
	const char *message;
} password_costs[] = {
	[CONFIG_PASSWORD_YESCRYPT] = { 1, 11,
	    "password_cost for yescrypt must be 1 to 11, or 0" },
	[CONFIG_PASSWORD_BCRYPT] = { 4, 31,
	    "password_cost for bcrypt must be 4 to 31, or 0" },
	[CONFIG_PASSWORD_SHA512CRYPT] = { 1000, 999999999,
	    "password_cost for sha512crypt must be 1000 to 999999999, or 0" },
	[CONFIG_PASSWORD_SHA256CRYPT] = { 1000, 999999999,
	    "password_cost for sha256crypt must be 1000 to 999999999, or 0" },
};

/* Items of a KEY=VALUE list ordered by KEY in any case. */
static int
item_key_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t xn = strcspn(x, "="), yn = strcspn(y, "=");
	int c = strncasecmp(x, y, xn < yn ? xn : yn);

	return c != 0 ? c : (xn > yn) - (xn < yn);
}

/* The length of a KEY that two items of list share, or 0; *key_r is it. */
static size_t
list_duplicate_key(const struct config_list *list, const char **key_r)
{
	char **v;
	size_t n = 0;

	if (list->n < 2)
		return 0;
	v = xreallocarray(NULL, list->n, sizeof(*v));
	memcpy(v, list->v, list->n * sizeof(*v));
	qsort(v, list->n, sizeof(*v), item_key_cmp);
	for (size_t i = 1; i < list->n && n == 0; i++) {
		if (item_key_cmp(&v[i - 1], &v[i]) == 0) {
			*key_r = v[i];
			n = strcspn(v[i], "=");
		}
	}
	free(v);
	return n;
}

/* Routes name configured relays; a domain has one route and one policy. */
static int
config_check_remote(const struct config *cfg, struct parse_state *st)
{
	const char *key;
	size_t n;

	if (cfg->relay_default[0] != '\0' &&
	    relay_list_find(&cfg->relay, cfg->relay_default) == NULL)
		return rule_error(st, "relay_default", "relay",
		    "relay_default: \"%s\" is not a configured relay",
		    cfg->relay_default);
	for (size_t i = 0; i < cfg->relay_domains.n; i++) {
		const char *item = cfg->relay_domains.v[i];

		if (relay_list_find(&cfg->relay, strchr(item, '=') + 1) == NULL)
			return rule_error(st, "relay_domains", "relay",
			    "relay_domains: \"%s\" names no configured relay",
			    item);
	}
	if ((n = list_duplicate_key(&cfg->relay_domains, &key)) > 0)
		return rule_error(st, "relay_domains", "relay_domains",
		    "relay_domains: %.*s is listed twice", (int)n, key);
	if ((n = list_duplicate_key(&cfg->smtp_tls_policies, &key)) > 0)
		return rule_error(st, "smtp_tls_policies", "smtp_tls_policies",
		    "smtp_tls_policies: %.*s is listed twice", (int)n, key);
	if (cfg->smtp_client_max_per_destination >
	    cfg->smtp_client_max_connections)
		return rule_error(st, "smtp_client_max_per_destination",
		    "smtp_client_max_connections",
		    "smtp_client_max_per_destination must not be more than "
		    "smtp_client_max_connections");
	return 0;
}

static int
config_check(const struct config *cfg, struct parse_state *st)
{
	int cost = cfg->password_cost;

	if (cfg->retry_min > cfg->retry_max)
		return rule_error(st, "retry_min", "retry_max",
		    "retry_min must not be longer than retry_max");
	if (cfg->delay_warning != 0 &&
	    cfg->delay_warning >= cfg->queue_lifetime)
		return rule_error(st, "delay_warning", "queue_lifetime",
		    "delay_warning must be shorter than queue_lifetime, or 0");
	if (cost != 0 && (cost < password_costs[cfg->password_scheme].min ||
	    cost > password_costs[cfg->password_scheme].max))
		return rule_error(st, "password_cost", "password_scheme", "%s",
		    password_costs[cfg->password_scheme].message);
	return config_check_remote(cfg, st);
}

static int
text_parse(struct config *cfg, struct parse_state *st, const char *text,
    size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;

		st->line++;
		if (line_parse(cfg, st, text + pos, end - pos) == -1)
			return -1;
		pos = end + 1;
	}
	st->line = 0;
	return config_check(cfg, st);
}

int
config_parse(struct config *cfg, const char *name, const char *text,
    size_t len, const char **error_r)
{
	struct parse_state st;
	struct config tmp;
	int ret;

	memset(&st, 0, sizeof(st));
	st.name = name;
	config_copy(&tmp, cfg);
	if (text_parse(&tmp, &st, text, len) == 0) {
		config_free(cfg);
		*cfg = tmp;
		ret = 0;
	} else {
		config_free(&tmp);
		if (st.line != 0)
			ret = config_error(cfg, error_r, "%s:%zu: %s", name,
			    st.line, buf_cstr(&st.err));
		else
			ret = config_error(cfg, error_r, "%s: %s", name,
			    buf_cstr(&st.err));
	}
	buf_release(&st.err);
	buf_release(&st.value);
	return ret;
}

static int
file_read(struct config *cfg, const char *path, struct buf *text,
    const char **error_r)
{
	const char *err;

	if (buf_read_file(text, path, CONFIG_FILE_MAX, &err) == -1)
		return config_error(cfg, error_r, "%s: %s", path, err);
	return 0;
}

int
config_load_file(struct config *cfg, const char *path, const char **error_r)
{
	struct buf text = BUF_INIT;
	int ret;

	ret = file_read(cfg, path, &text, error_r);
	if (ret == 0)
		ret = config_parse(cfg, path, buf_cstr(&text), text.len,
		    error_r);
	buf_release(&text);
	if (ret == 0)
		ret = config_resolve(cfg, error_r);
	return ret;
}

int
config_resolve(struct config *cfg, const char **error_r)
{
	char name[256];

	if (cfg->hostname != NULL && cfg->hostname[0] != '\0')
		return 0;
	if (gethostname(name, sizeof(name)) == -1)
		return config_error(cfg, error_r, "cannot get the host name: "
		    "%s", strerror(errno));
	name[sizeof(name) - 1] = '\0';
	if (name[0] == '\0')
		return config_error(cfg, error_r, "the system has no host "
		    "name; set hostname in sluice.conf");
	free(cfg->hostname);
	cfg->hostname = xstrdup(name);
	cfg->hostname_auto = true;
	return 0;
}

/* ----- output ----- */

void
config_print(const struct config *cfg, FILE *out, bool all)
{
	struct buf b = BUF_INIT;
	struct config def;

	config_init(&def);
	for (size_t i = 0; i < KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];

		if (!all && (key_equal(k, cfg, &def) ||
		    (k->offset == offsetof(struct config, hostname) &&
		    cfg->hostname_auto)))
			continue;
		type_ops[k->type].print(k, key_field_const(cfg, k), &b);
	}
	fwrite(buf_cstr(&b), 1, b.len, out);
	buf_release(&b);
	config_free(&def);
}

static const char listen_help[] =
    "# ROLE: mx, submission, submissions, local, imap, imaps, pop3, pop3s.\n"
    "# ADDRESS: IPv4:PORT, [IPv6]:PORT, *:PORT (every address), or an\n"
    "# absolute unix socket path. OPTION: name=NAME, auth-plaintext (AUTH\n"
    "# without TLS; loopback and unix sockets only), bare-lf=reject or\n"
    "# bare-lf=normalise (SMTP only), backlog=N (16..65535), mode=0660\n"
    "# (unix sockets only). The first listen line in a file replaces the\n"
    "# list below; an empty one (listen = \"\") removes every listener.\n";

static const char relay_help[] =
    "# NAME: letters, digits, _ - . (a letter or digit first; at most 64).\n"
    "# HOST: a host name (its A and AAAA records, never MX), an IPv4\n"
    "# address or [IPv6]. PORT: default 587, or 465 with tls=implicit.\n"
    "# OPTION: tls=starttls (the default) or tls=implicit; auth=PATH (a\n"
    "# file holding the AUTH user name and password); policy=encrypt,\n"
    "# verify (the default) or dane. TLS is always required. The first\n"
    "# relay line in a file replaces the list; an empty one removes it.\n";

static void
key_describe(const struct config_key *k, struct buf *b)
{
	buf_printf(b, "# %s.\n# Type: %s", k->doc, type_ops[k->type].name);
	switch (k->type) {
	case CONFIG_STRING:
		if (k->max <= 1)
			buf_append_str(b, ", empty or one character");
		else
			buf_printf(b, ", %s%llu characters",
			    k->min > 0 ? "1 to " : "up to ",
			    (unsigned long long)k->max);
		break;
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		buf_append_str(b, ", ");
		number_append(b, k->type, k->min);
		buf_append_str(b, "..");
		number_append(b, k->type, k->max);
		break;
	case CONFIG_PATH:
		if (k->min == 0)
			buf_append_str(b, " or empty");
		break;
	case CONFIG_ENUM:
		for (size_t i = 0; k->names[i] != NULL; i++)
			buf_printf(b, "%s%s", i > 0 ? ", " : " ",
			    k->names[i]);
		break;
	default:
		break;
	}
	buf_append_str(b, ".\n");
	if (k->type == CONFIG_LISTENERS)
		buf_append_str(b, listen_help);
	else if (k->type == CONFIG_RELAYS)
		buf_append_str(b, relay_help);
}

void
config_print_example(FILE *out)
{
	struct buf b = BUF_INIT, line = BUF_INIT;
	struct config def;

	config_init(&def);
	buf_append_str(&b,
	    "# sluice.conf: settings shared by sluiced, sluice-mboxd, "
	    "sluicectl and\n"
	    "# sluice-sendmail; see sluice.conf(5). Every key is shown "
	    "commented out\n"
	    "# with its default; `sluicectl config` prints the keys that "
	    "differ.\n"
	    "#\n"
	    "# Syntax: key = value. A value may be \"double quoted\", with "
	    "\\\" and \\\\,\n"
	    "# to hold a # or spaces at its ends. Sizes take K, M or G "
	    "(base 1024);\n"
	    "# durations take s, m, h, d or w; a bare number is bytes or "
	    "seconds.\n");
	for (size_t i = 0; i < KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		const char *p;

		buf_append_byte(&b, '\n');
		key_describe(k, &b);
		buf_reset(&line);
		type_ops[k->type].print(k, key_field_const(&def, k), &line);
		for (p = buf_cstr(&line); *p != '\0';) {
			const char *nl = strchr(p, '\n');

			buf_append_byte(&b, '#');
			buf_append(&b, p, (size_t)(nl - p) + 1);
			p = nl + 1;
		}
	}
	fwrite(buf_cstr(&b), 1, b.len, out);
	buf_release(&b);
	buf_release(&line);
	config_free(&def);
}

int
config_log_priority(const struct config *cfg)
{
	static const int priorities[] = {
		[CONFIG_LOG_DEBUG] = LOG_DEBUG,
		[CONFIG_LOG_INFO] = LOG_INFO,
		[CONFIG_LOG_NOTICE] = LOG_NOTICE,
		[CONFIG_LOG_WARNING] = LOG_WARNING,
		[CONFIG_LOG_ERROR] = LOG_ERR,
	};

	return priorities[cfg->log_level];
}

const char *
config_password_scheme_name(enum config_password_scheme scheme)
{
	if ((unsigned int)scheme >= ARRAY_SIZE(password_scheme_names) - 1)
		return password_scheme_names[0];
	return password_scheme_names[scheme];
}

const char *
config_tls_policy_name(enum config_tls_policy policy)
{
	if ((unsigned int)policy >= ARRAY_SIZE(tls_policy_names) - 1)
		return tls_policy_names[CONFIG_TLS_POLICY_MAY];
	return tls_policy_names[policy];
}

int
config_tls_policy_from_name(const char *s, size_t len,
    enum config_tls_policy *policy_r)
{
	for (size_t i = 0; tls_policy_names[i] != NULL; i++) {
		if (strlen(tls_policy_names[i]) == len &&
		    strncasecmp(tls_policy_names[i], s, len) == 0) {
			*policy_r = (enum config_tls_policy)i;
			return 0;
		}
	}
	return -1;
}

const char *
config_list_lookup(const struct config_list *list, const char *key,
    size_t len)
{
	for (size_t i = 0; i < list->n; i++) {
		const char *item = list->v[i];

		if (strlen(item) > len && item[len] == '=' &&
		    strncasecmp(item, key, len) == 0)
			return item + len + 1;
	}
	return NULL;
}

const char *
config_default_path(void)
{
	return SLUICE_SYSCONFDIR "/sluice.conf";
}
