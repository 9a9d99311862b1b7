/*
 * db_directory: typed access to directory.db: domains, users and aliases
 * (schema 1), and the policy engine's data (schema 2): named networks,
 * sender grants and per-user limit values.
 *
 * Callers pass addresses and domains already normalised (addr.h); this
 * layer stores them as given, in lower case. Network and limit names are
 * matched case-insensitively: this layer folds them. Every function
 * returns one of the DIR_* codes, or for a yes/no question 1, 0 or DIR_ERR;
 * on DIR_ERR *error_r says why (valid until the next call on the same db).
 * Password hashes are passed through, never logged. The lookups the
 * daemons make per command are point reads on an index.
 */
#ifndef SLUICE_DB_DIRECTORY_H
#define SLUICE_DB_DIRECTORY_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#include "cidr.h"
#include "db.h"

enum dir_result {
	DIR_OK		= 0,
	DIR_ERR		= -1,	/* database error: see *error_r */
	DIR_EXISTS	= -2,	/* add of something already there */
	DIR_NOTFOUND	= -3,	/* del/get/set of something absent */
	DIR_INUSE	= -4,	/* del of a domain that still has users */
	DIR_INVALID	= -5,	/* a name, pattern or value not allowed */
};

enum dir_domain_kind {
	DIR_DOMAIN_NONE	= 0,	/* not ours */
	DIR_DOMAIN_LOCAL,	/* mailboxes live here */
	DIR_DOMAIN_RELAY,	/* accepted on mx, passed on */
};

struct dir_domain {
	const char		*name;
	enum dir_domain_kind	 kind;
	int64_t			 created;
	int64_t			 users;
	int64_t			 aliases;
};

/* Strings are owned by the struct after a get; dir_user_clear frees them. */
struct dir_user {
	char		*address;
	char		*domain;
	char		*password;
	bool		 enabled;
	bool		 has_mailbox;
	int64_t		 quota;		/* bytes, 0: unlimited */
	int64_t		 created;
	int64_t		 password_changed;
};

struct dir_alias {
	const char	*address;
	const char	*target;
};

/* List callbacks see rows valid only during the call; non-zero stops. */
typedef int (*dir_domain_cb)(const struct dir_domain *d, void *arg);
typedef int (*dir_user_cb)(const struct dir_user *u, void *arg);
typedef int (*dir_alias_cb)(const struct dir_alias *a, void *arg);

const char *dir_domain_kind_name(enum dir_domain_kind kind);
/* "local" or "relay" to a kind; DIR_DOMAIN_NONE for anything else. */
enum dir_domain_kind dir_domain_kind_parse(const char *s);

int	directory_domain_add(struct db *db, const char *name,
	    enum dir_domain_kind kind, const char **error_r);
int	directory_domain_del(struct db *db, const char *name,
	    const char **error_r);
int	directory_domain_kind(struct db *db, const char *name,
	    enum dir_domain_kind *kind_r, const char **error_r);
int	directory_domain_list(struct db *db, dir_domain_cb cb, void *arg,
	    const char **error_r);

/* u->address, domain, password, enabled, has_mailbox, quota are used. */
int	directory_user_add(struct db *db, const struct dir_user *u,
	    const char **error_r);
int	directory_user_del(struct db *db, const char *address,
	    const char **error_r);
int	directory_user_get(struct db *db, const char *address,
	    struct dir_user *u_r, const char **error_r);
int	directory_user_set_password(struct db *db, const char *address,
	    const char *hash, const char **error_r);
int	directory_user_set_enabled(struct db *db, const char *address,
	    bool enabled, const char **error_r);
/* domain NULL lists every user. */
int	directory_user_list(struct db *db, const char *domain, dir_user_cb cb,
	    void *arg, const char **error_r);
void	dir_user_clear(struct dir_user *u);

int	directory_alias_add(struct db *db, const char *address,
	    const char *target, const char **error_r);
/* target NULL deletes every target of the alias. */
int	directory_alias_del(struct db *db, const char *address,
	    const char *target, const char **error_r);
/* address NULL lists every alias. */
int	directory_alias_list(struct db *db, const char *address,
	    dir_alias_cb cb, void *arg, const char **error_r);
/* Does address exist as an alias (any target)? 1 yes, 0 no, -1 error. */
int	directory_alias_exists(struct db *db, const char *address,
	    const char **error_r);

/* ---- policy data (schema version 2) ---------------------------------- */

/* Network and limit names: a letter or digit, then letters, digits, '_',
 * '-' and '.', at most DIR_NAME_MAX in all; any case (stored folded). */
#define DIR_NAME_MAX		64
/* How deep ownership follows aliases of aliases, as delivery does. */
#define DIR_ALIAS_DEPTH_MAX	10
/* The largest per-user limit value (events per window). */
#define DIR_LIMIT_VALUE_MAX	INT64_C(2147483647)

bool	dir_name_is_valid(const char *name);
/* A grant pattern: "local@domain" or "@domain", in lower case. */
bool	dir_grant_pattern_is_valid(const char *pattern);

struct dir_network {
	const char	*name;
	const char	*cidr;		/* canonical text, "192.0.2.0/24" */
};

struct dir_grant {
	const char	*user;
	const char	*pattern;	/* local@domain or @domain */
};

struct dir_limit {
	const char	*user;
	const char	*name;
	int64_t		 value;
};

typedef int (*dir_network_cb)(const struct dir_network *n, void *arg);
typedef int (*dir_grant_cb)(const struct dir_grant *g, void *arg);
typedef int (*dir_limit_cb)(const struct dir_limit *l, void *arg);

/* DIR_INVALID for a bad name; DIR_EXISTS when name has cidr already. */
int	directory_network_add(struct db *db, const char *name,
	    const struct cidr *cidr, const char **error_r);
/* cidr NULL deletes the whole network. */
int	directory_network_del(struct db *db, const char *name,
	    const struct cidr *cidr, const char **error_r);
/* name NULL lists every network, ordered by name. */
int	directory_network_list(struct db *db, const char *name,
	    dir_network_cb cb, void *arg, const char **error_r);
/*
 * Is client in one of the networks called name? 1 yes, 0 no (also for a
 * NULL client, a unix socket, and for a name with no networks), DIR_ERR
 * on a database error or when a stored CIDR read before a match does not
 * parse (written by hand past the table's checks): callers defer then.
 */
int	directory_network_match(struct db *db, const char *name,
	    const struct sockaddr *client, const char **error_r);

/* DIR_NOTFOUND: no such user; DIR_INVALID: a bad pattern. */
int	directory_grant_add(struct db *db, const char *user,
	    const char *pattern, const char **error_r);
int	directory_grant_del(struct db *db, const char *user,
	    const char *pattern, const char **error_r);
/* user NULL lists every grant. */
int	directory_grant_list(struct db *db, const char *user, dir_grant_cb cb,
	    void *arg, const char **error_r);
/*
 * May user send as address (MAIL FROM, From:)? 1 when address is user;
 * or is an alias that delivers to user, directly or through other
 * aliases (at most DIR_ALIAS_DEPTH_MAX deep; loops end there), among
 * other targets or alone; or a grant of user names address or "@" and its
 * domain. 0 otherwise, the empty (null) sender included; DIR_ERR on error.
 */
int	directory_sender_owned(struct db *db, const char *user,
	    const char *address, const char **error_r);

/* Set (insert or replace) a user's value; DIR_NOTFOUND: no such user,
 * DIR_INVALID: a bad name or a value outside 0..DIR_LIMIT_VALUE_MAX. */
int	directory_limit_set(struct db *db, const char *user, const char *name,
	    int64_t value, const char **error_r);
int	directory_limit_del(struct db *db, const char *user, const char *name,
	    const char **error_r);
/* user NULL lists every value. */
int	directory_limit_list(struct db *db, const char *user, dir_limit_cb cb,
	    void *arg, const char **error_r);
/* The user's own value of a limit: DIR_OK and *value_r, or DIR_NOTFOUND
 * when the rule file's value applies (*value_r is then left alone). */
int	directory_user_limit(struct db *db, const char *user,
	    const char *name, int64_t *value_r, const char **error_r);

enum dir_rcpt_kind {
	DIR_RCPT_NONE = 0,	/* no user or alias of that address */
	DIR_RCPT_MAILBOX,	/* an enabled user with a mailbox here */
	DIR_RCPT_ALIAS,		/* an alias (and no user with a mailbox) */
	DIR_RCPT_DISABLED,	/* a disabled user */
	DIR_RCPT_NO_MAILBOX,	/* an enabled submission-only user */
};

/* What a recipient address is here, in one indexed read. */
int	directory_rcpt_lookup(struct db *db, const char *address,
	    enum dir_rcpt_kind *kind_r, const char **error_r);
/* Does mail to address have somewhere to go here: DIR_RCPT_MAILBOX or
 * DIR_RCPT_ALIAS? 1 yes, 0 no, DIR_ERR on error. */
int	directory_rcpt_exists(struct db *db, const char *address,
	    const char **error_r);

#endif
