/*
 * config: sluice.conf, the one configuration file every Sluice program
 * reads (sluiced, sluice-mboxd, sluicectl, sluice-sendmail).
 *
 * Contract: one static table in config.c lists every key with its type,
 * field, default (as text), range and one-line description; defaults are
 * applied by parsing that text through the same code as the file, so the
 * table is the only place a default lives. A struct config is a plain value
 * passed to whoever needs it; there are no globals.
 *
 * config_parse() is pure. It works on a copy and replaces *cfg only when
 * the whole text parsed and passed the checks between keys, so a bad file
 * on reload leaves the running settings as they were. Every error names
 * the file and line ("sluice.conf:12: unknown key \"mesage_size_limit\"").
 * The error string belongs to cfg: it stays valid until the next call of
 * a config_* function on cfg or config_free().
 *
 * File syntax: `key = value` lines; blank lines; `#` starts a comment at
 * the start of a line or of an unquoted value, or after whitespace; a
 * value may be "double quoted" with \" and \\ as escapes, so it can hold
 * a # or surrounding spaces. A key may appear once, except `listen`,
 * `relay` and the list keys, whose lines accumulate (the first in a file
 * replaces the value so far; an empty `listen` or `relay` line removes
 * every entry).
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "listener.h"
#include "relay.h"

struct buf;

#ifndef SLUICE_SYSCONFDIR
#define SLUICE_SYSCONFDIR "/etc/sluice"
#endif
#ifndef SLUICE_STATEDIR
#define SLUICE_STATEDIR "/var/lib/sluice"
#endif
#ifndef SLUICE_RUNDIR
#define SLUICE_RUNDIR "/run/sluice"
#endif

/* config_load_file() refuses a larger file. */
#define CONFIG_FILE_MAX		(1024 * 1024)
/* Longest line, CRLF excluded. */
#define CONFIG_LINE_MAX		8192

enum config_log {
	CONFIG_LOG_SYSLOG,
	CONFIG_LOG_STDERR
};

enum config_log_level {
	CONFIG_LOG_DEBUG,
	CONFIG_LOG_INFO,
	CONFIG_LOG_NOTICE,
	CONFIG_LOG_WARNING,
	CONFIG_LOG_ERROR
};

enum config_tls_version {
	CONFIG_TLS_1_2,
	CONFIG_TLS_1_3
};

enum config_password_scheme {
	CONFIG_PASSWORD_YESCRYPT,
	CONFIG_PASSWORD_BCRYPT,
	CONFIG_PASSWORD_SHA512CRYPT,
	CONFIG_PASSWORD_SHA256CRYPT
};

/* TLS towards the MX hosts of a domain (relays have their own). */
enum config_tls_policy {
	CONFIG_TLS_POLICY_NONE,		/* plaintext, STARTTLS never tried */
	CONFIG_TLS_POLICY_MAY,		/* STARTTLS when offered */
	CONFIG_TLS_POLICY_ENCRYPT,	/* TLS required, any certificate */
	CONFIG_TLS_POLICY_VERIFY,	/* TLS required, CA-verified */
	CONFIG_TLS_POLICY_DANE		/* TLS required, DANE-verified */
};

/*
 * A list value: items hold no whitespace or commas. Lists of KEY=VALUE
 * items (relay_domains, smtp_tls_policies, dns_stub_zones) are read with
 * config_list_lookup().
 */
struct config_list {
	char	**v;
	size_t	  n;
};

/*
 * Field names match the keys; see sluice.conf(5) for their meaning.
 * Sizes are bytes, durations are seconds.
 */
struct config {
	char		*hostname;	/* never empty after config_resolve() */
	char		*state_dir;
	char		*run_dir;
	char		*user;
	char		*group;
	enum config_log	 log;
	enum config_log_level log_level;

	struct listener_list listen;
	char		*tls_cert;
	char		*tls_key;
	enum config_tls_version tls_min_version;

	int		 smtp_workers;		/* 0: one per CPU */
	uint64_t	 message_size_limit;
	int		 smtp_max_recipients;
	int		 smtp_max_errors;
	int64_t		 smtp_command_timeout;
	int64_t		 smtp_data_timeout;
	int		 smtp_max_connections;
	int		 smtp_max_connections_per_ip;
	int		 smtp_max_received;
	uint64_t	 smtp_memory_body_limit;
	bool		 submission_hide_client;

	int		 auth_max_failures;
	int64_t		 auth_failure_window;
	enum config_password_scheme password_scheme;
	int		 password_cost;	/* 0: the scheme's default */
	char		*policy_file;
	char		*recipient_delimiter;	/* "" or one character */
	char		*postmaster;

	int64_t		 queue_lifetime;
	int64_t		 retry_min;
	int64_t		 retry_max;
	int64_t		 delay_warning;		/* 0: never warn */
	int64_t		 queue_retention;	/* final mail kept this long */

	struct relay_list relay;
	char		*relay_default;		/* "": the domains' MX */
	struct config_list relay_domains;	/* DOMAIN=NAME */
	enum config_tls_policy smtp_tls_policy;
	struct config_list smtp_tls_policies;	/* DOMAIN=POLICY */
	char		*smtp_client_ca_file;	/* "": the system's CAs */
	int		 remote_port;
	int64_t		 smtp_client_connect_timeout;
	int64_t		 smtp_client_greeting_timeout;
	int64_t		 smtp_client_command_timeout;
	int64_t		 smtp_client_data_timeout;	/* the final dot */
	int		 smtp_client_max_connections;
	int		 smtp_client_max_per_destination;
	int64_t		 smtp_client_reuse_time;	/* 0: no reuse */
	int64_t		 smtp_client_job_timeout;
	int		 smtp_client_address_limit;
	int		 smtp_client_session_limit;
	int		 smtp_client_rcpt_limit;

	char		*dns_trust_anchor;
	char		*dns_root_hints;	/* "": libunbound's own */
	struct config_list dns_forwarders;	/* ADDRESS[@PORT] */
	struct config_list dns_stub_zones;	/* ZONE=ADDRESS[@PORT] */
	bool		 dns_resolv_conf;
	int64_t		 dns_timeout;

	int		 mbox_workers;		/* 0: one per CPU */
	char		*mailbox_sent;		/* special-use mailboxes made */
	char		*mailbox_drafts;	/* with each user; "": none */
	char		*mailbox_trash;
	char		*mailbox_junk;
	char		*mailbox_archive;

	/* private */
	char		*error;
	bool		 hostname_auto;	/* hostname came from gethostname() */
};

/* Every key at its default. */
void	 config_init(struct config *cfg);
/* Release everything cfg holds and leave it zeroed; accepts NULL. */
void	 config_free(struct config *cfg);
/* A deep copy of src into dst (which holds nothing); the error is not
 * copied. */
void	 config_copy(struct config *dst, const struct config *src);
/* True when every key has the same value in a and b. */
bool	 config_equal(const struct config *a, const struct config *b);

/*
 * Apply text[0..len), named name in errors, on top of cfg. Returns 0, or
 * -1 with cfg unchanged and *error_r set (owned by cfg).
 */
int	 config_parse(struct config *cfg, const char *name, const char *text,
	    size_t len, const char **error_r);
/*
 * Read path (at most CONFIG_FILE_MAX bytes), config_parse() it, then
 * config_resolve(). Returns 0, or -1 with *error_r set (owned by cfg).
 */
int	 config_load_file(struct config *cfg, const char *path,
	    const char **error_r);
/*
 * Fill in what defaults to a property of the running system: an empty
 * hostname becomes gethostname(). Returns 0, or -1 with *error_r set.
 */
int	 config_resolve(struct config *cfg, const char **error_r);

/*
 * Write the effective settings as `key = value` lines that config_parse()
 * accepts back. all=false writes only the keys whose value differs from
 * the default (a hostname taken from the system counts as default).
 */
void	 config_print(const struct config *cfg, FILE *out, bool all);
/* Write a sample file: every key with its description, type, range and
 * default, commented out (contrib/sluice.conf.example). */
void	 config_print_example(FILE *out);

/* SLUICE_SYSCONFDIR "/sluice.conf" */
const char *config_default_path(void);

/* The syslog priority (LOG_DEBUG..LOG_ERR) for cfg->log_level. */
int	 config_log_priority(const struct config *cfg);
/* The name password.h takes for a scheme: "yescrypt", "bcrypt", ... */
const char *config_password_scheme_name(enum config_password_scheme scheme);
/* "none", "may", "encrypt", "verify" or "dane". */
const char *config_tls_policy_name(enum config_tls_policy policy);
/* One of those names, in any case: 0 and *policy_r, or -1. */
int	 config_tls_policy_from_name(const char *s, size_t len,
	    enum config_tls_policy *policy_r);
/*
 * In a list of KEY=VALUE items, the VALUE of the first item whose KEY is
 * key[0..len) in any case (domains are), or NULL: with relay_domains,
 * config_list_lookup(&cfg->relay_domains, "example.org", 11) gives the
 * relay's name.
 */
const char *config_list_lookup(const struct config_list *list,
	    const char *key, size_t len);

/*
 * config_value.c: the value notation behind the file, for other text that
 * uses it too (command-line options, policy files). The parsers are pure
 * and return 0, or -1 with a static phrase in *error_r that reads after
 * "VALUE is ", as in "not a size (use a number with K, M or G)". Signs,
 * spaces inside the value and overflow are errors.
 */
/* Decimal digits only. */
int	 config_uint_parse(const char *s, size_t len, uint64_t *value_r,
	    const char **error_r);
/* A number of bytes with an optional K, M or G (base 1024). */
int	 config_size_parse(const char *s, size_t len, uint64_t *bytes_r,
	    const char **error_r);
/* A number of seconds with an optional s, m, h, d or w. */
int	 config_duration_parse(const char *s, size_t len, uint64_t *seconds_r,
	    const char **error_r);
/* yes/no, true/false, on/off, 1/0, in any case. */
int	 config_bool_parse(const char *s, size_t len, bool *value_r,
	    const char **error_r);
/* Items separated by commas and/or whitespace, appended to *list only
 * when all are good. */
int	 config_list_parse(const char *s, size_t len, struct config_list *list,
	    const char **error_r);
void	 config_list_append(struct config_list *list, const char *s,
	    size_t len);
void	 config_list_clear(struct config_list *list);
/*
 * Checks of single values behind the key table, for other text that uses
 * the same notions. Each returns NULL for a good value, or a static
 * phrase that reads after the value, as in "is not a host name".
 */
const char *config_check_hostname(const char *s, size_t len);
const char *config_check_account(const char *s, size_t len);
const char *config_check_delimiter(const char *s, size_t len);
const char *config_check_postmaster(const char *s, size_t len);
const char *config_check_mailbox(const char *s, size_t len);
/* "" or a relay name (relay.h); whether it is configured is not seen. */
const char *config_check_relay_name(const char *s, size_t len);
/* DOMAIN=NAME: a domain (addr_domain_is_valid()) and a relay name. */
const char *config_check_relay_route(const char *s, size_t len);
/* DOMAIN=POLICY: a domain and none, may, encrypt, verify or dane. */
const char *config_check_tls_policy_item(const char *s, size_t len);
/* ADDRESS[@PORT]: an IPv4 or IPv6 address, no brackets; port 1..65535. */
const char *config_check_dns_server(const char *s, size_t len);
/* ZONE=ADDRESS[@PORT]: ZONE is "." or a domain. */
const char *config_check_stub_zone(const char *s, size_t len);

/* Append the shortest exact form: 1536 -> "1536", 2097152 -> "2M". */
void	 config_size_format(uint64_t bytes, struct buf *out);
/* Append the shortest exact form: 90 -> "90s", 7200 -> "2h", 0 -> "0". */
void	 config_duration_format(uint64_t seconds, struct buf *out);

#endif
