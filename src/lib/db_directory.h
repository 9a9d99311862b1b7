/*
 * db_directory: typed access to directory.db (domains, users, aliases).
 *
 * Callers pass addresses and domains already normalised (addr.h); this
 * layer stores them as given, in lower case. Every function returns one of
 * the DIR_* codes; on DIR_ERR *error_r says why (valid until the next call
 * on the same db). Password hashes are passed through, never logged.
 */
#ifndef SLUICE_DB_DIRECTORY_H
#define SLUICE_DB_DIRECTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

enum dir_result {
	DIR_OK		= 0,
	DIR_ERR		= -1,	/* database error: see *error_r */
	DIR_EXISTS	= -2,	/* add of something already there */
	DIR_NOTFOUND	= -3,	/* del/get/set of something absent */
	DIR_INUSE	= -4,	/* del of a domain that still has users */
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

#endif
