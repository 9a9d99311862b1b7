/* db_directory: see db_directory.h. All SQL for directory.db lives here. */
#include <sqlite3.h>

#include "db_directory.h"
#include "util.h"

static const char *const kind_names[] = {
	[DIR_DOMAIN_NONE] = "none",
	[DIR_DOMAIN_LOCAL] = "local",
	[DIR_DOMAIN_RELAY] = "relay",
};

const char *
dir_domain_kind_name(enum dir_domain_kind kind)
{
	return (size_t)kind < ARRAY_SIZE(kind_names) ? kind_names[kind] : "?";
}

enum dir_domain_kind
dir_domain_kind_parse(const char *s)
{
	if (strcmp(s, "local") == 0)
		return DIR_DOMAIN_LOCAL;
	if (strcmp(s, "relay") == 0)
		return DIR_DOMAIN_RELAY;
	return DIR_DOMAIN_NONE;
}

/* Map db_step_done()'s result to a DIR_* code for an insert. */
static int
dir_insert_result(int rc)
{
	return rc == -2 ? DIR_EXISTS : rc == -1 ? DIR_ERR : DIR_OK;
}

/* A delete or update of one thing: DIR_NOTFOUND when nothing changed. */
static int
dir_change_result(struct db *db, int rc)
{
	if (rc < 0)
		return DIR_ERR;
	return db_changes(db) > 0 ? DIR_OK : DIR_NOTFOUND;
}

static sqlite3_stmt *
dir_stmt(struct db *db, const char *sql, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		*error_r = db->error;
	return st;
}

/*
 * Run a statement of up to three text parameters (NULL binds SQL NULL):
 * db_step_done()'s result.
 */
static int
dir_run(struct db *db, const char *sql, const char *p1, const char *p2,
    const char *p3, const char **error_r)
{
	const char *params[] = { p1, p2, p3 };
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	int n;

	if (st == NULL)
		return -1;
	n = sqlite3_bind_parameter_count(st);
	for (int i = 0; i < n && i < 3; i++)
		db_bind_text(st, i + 1, params[i]);
	return db_step_done(db, st, error_r);
}

int
directory_domain_add(struct db *db, const char *name,
    enum dir_domain_kind kind, const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO domains (name, kind) VALUES (?1, ?2)";

	return dir_insert_result(dir_run(db, sql, name, dir_domain_kind_name(kind), NULL, error_r));
}

int
directory_domain_del(struct db *db, const char *name, const char **error_r)
{
	static const char in_use[] =
	    "SELECT (SELECT count(*) FROM users WHERE domain = ?1) +"
	    " (SELECT count(*) FROM aliases WHERE domain = ?1)";
	static const char del[] = "DELETE FROM domains WHERE name = ?1";
	sqlite3_stmt *st = dir_stmt(db, in_use, error_r);
	int rc;

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, name);
	if ((rc = db_step_row(db, st, error_r)) != 1)
		return DIR_ERR;
	rc = db_col_int(st, 0) > 0;
	sqlite3_reset(st);
	if (rc)
		return DIR_INUSE;
	if ((st = dir_stmt(db, del, error_r)) == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, name);
	return dir_change_result(db, db_step_done(db, st, error_r));
}

int
directory_domain_kind(struct db *db, const char *name,
    enum dir_domain_kind *kind_r, const char **error_r)
{
	static const char sql[] = "SELECT kind FROM domains WHERE name = ?1";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	int rc;

	*kind_r = DIR_DOMAIN_NONE;
	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, name);
	if ((rc = db_step_row(db, st, error_r)) == 1) {
		*kind_r = dir_domain_kind_parse(db_col_text(st, 0));
		sqlite3_reset(st);
	}
	return rc < 0 ? DIR_ERR : rc == 0 ? DIR_NOTFOUND : DIR_OK;
}

int
directory_domain_list(struct db *db, dir_domain_cb cb, void *arg,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT d.name, d.kind, d.created,"
	    " (SELECT count(*) FROM users u WHERE u.domain = d.name),"
	    " (SELECT count(DISTINCT a.address) FROM aliases a"
	    "  WHERE a.domain = d.name)"
	    " FROM domains d ORDER BY d.name";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	struct dir_domain d;
	int rc;

	if (st == NULL)
		return DIR_ERR;
	while ((rc = db_step_row(db, st, error_r)) == 1) {
		d.name = db_col_text(st, 0);
		d.kind = dir_domain_kind_parse(db_col_text(st, 1));
		d.created = db_col_int(st, 2);
		d.users = db_col_int(st, 3);
		d.aliases = db_col_int(st, 4);
		if (cb(&d, arg) != 0) {
			sqlite3_reset(st);
			break;
		}
	}
	return rc < 0 ? DIR_ERR : DIR_OK;
}

int
directory_user_add(struct db *db, const struct dir_user *u,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO users (address, domain, password, enabled,"
	    " has_mailbox, quota) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, u->address);
	db_bind_text(st, 2, u->domain);
	db_bind_text(st, 3, u->password);
	db_bind_int(st, 4, u->enabled);
	db_bind_int(st, 5, u->has_mailbox);
	db_bind_int(st, 6, u->quota);
	return dir_insert_result(db_step_done(db, st, error_r));
}

int
directory_user_del(struct db *db, const char *address, const char **error_r)
{
	static const char sql[] = "DELETE FROM users WHERE address = ?1";

	return dir_change_result(db, dir_run(db, sql,
	    address, NULL, NULL, error_r));
}

#define USER_COLUMNS \
	"address, domain, password, enabled, has_mailbox, quota, created," \
	" password_changed"

static void
dir_user_from_row(sqlite3_stmt *st, struct dir_user *u, bool copy)
{
	const char *a = db_col_text(st, 0), *d = db_col_text(st, 1),
	    *p = db_col_text(st, 2);

	u->address = copy ? xstrdup(a) : (char *)(uintptr_t)a;
	u->domain = copy ? xstrdup(d) : (char *)(uintptr_t)d;
	u->password = copy ? xstrdup(p) : (char *)(uintptr_t)p;
	u->enabled = db_col_int(st, 3) != 0;
	u->has_mailbox = db_col_int(st, 4) != 0;
	u->quota = db_col_int(st, 5);
	u->created = db_col_int(st, 6);
	u->password_changed = db_col_int(st, 7);
}

int
directory_user_get(struct db *db, const char *address, struct dir_user *u_r,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT " USER_COLUMNS " FROM users WHERE address = ?1";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	int rc;

	memset(u_r, 0, sizeof(*u_r));
	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	if ((rc = db_step_row(db, st, error_r)) == 1) {
		dir_user_from_row(st, u_r, true);
		sqlite3_reset(st);
	}
	return rc < 0 ? DIR_ERR : rc == 0 ? DIR_NOTFOUND : DIR_OK;
}

void
dir_user_clear(struct dir_user *u)
{
	free(u->address);
	free(u->domain);
	if (u->password != NULL) {
		mem_wipe(u->password, strlen(u->password));
		free(u->password);
	}
	memset(u, 0, sizeof(*u));
}

int
directory_user_set_password(struct db *db, const char *address,
    const char *hash, const char **error_r)
{
	static const char sql[] =
	    "UPDATE users SET password = ?2,"
	    " password_changed = CAST(strftime('%s', 'now') AS INTEGER)"
	    " WHERE address = ?1";

	return dir_change_result(db, dir_run(db, sql,
	    address, hash, NULL, error_r));
}

int
directory_user_set_enabled(struct db *db, const char *address, bool enabled,
    const char **error_r)
{
	static const char sql[] =
	    "UPDATE users SET enabled = ?2 WHERE address = ?1";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	db_bind_int(st, 2, enabled);
	return dir_change_result(db, db_step_done(db, st, error_r));
}

int
directory_user_list(struct db *db, const char *domain, dir_user_cb cb,
    void *arg, const char **error_r)
{
	static const char sql[] =
	    "SELECT " USER_COLUMNS " FROM users"
	    " WHERE ?1 IS NULL OR domain = ?1 ORDER BY domain, address";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	struct dir_user u;
	int rc;

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, domain);
	while ((rc = db_step_row(db, st, error_r)) == 1) {
		dir_user_from_row(st, &u, false);
		if (cb(&u, arg) != 0) {
			sqlite3_reset(st);
			break;
		}
	}
	return rc < 0 ? DIR_ERR : DIR_OK;
}

static const char *
addr_domain_part(const char *address)
{
	const char *at = strrchr(address, '@');

	return at ? at + 1 : "";
}

int
directory_alias_add(struct db *db, const char *address, const char *target,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO aliases (address, domain, target) VALUES (?1, ?2, ?3)";

	return dir_insert_result(dir_run(db, sql, address, addr_domain_part(address), target, error_r));
}

int
directory_alias_del(struct db *db, const char *address, const char *target,
    const char **error_r)
{
	static const char sql[] =
	    "DELETE FROM aliases WHERE address = ?1"
	    " AND (?2 IS NULL OR target = ?2)";

	return dir_change_result(db, dir_run(db, sql,
	    address, target, NULL, error_r));
}

int
directory_alias_list(struct db *db, const char *address, dir_alias_cb cb,
    void *arg, const char **error_r)
{
	static const char sql[] =
	    "SELECT address, target FROM aliases"
	    " WHERE ?1 IS NULL OR address = ?1 ORDER BY domain, address, target";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	struct dir_alias a;
	int rc;

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	while ((rc = db_step_row(db, st, error_r)) == 1) {
		a.address = db_col_text(st, 0);
		a.target = db_col_text(st, 1);
		if (cb(&a, arg) != 0) {
			sqlite3_reset(st);
			break;
		}
	}
	return rc < 0 ? DIR_ERR : DIR_OK;
}

int
directory_alias_exists(struct db *db, const char *address,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT 1 FROM aliases WHERE address = ?1 LIMIT 1";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, address);
	rc = db_step_row(db, st, error_r);
	if (rc == 1)
		sqlite3_reset(st);
	return rc;
}

/* ---- policy data: names and patterns ------------------------------------ */

static bool
name_char_ok(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '_' || c == '-' || c == '.');
}

bool
dir_name_is_valid(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++)
		if (i >= DIR_NAME_MAX || !name_char_ok(name[i], i == 0))
			return false;
	return i > 0;
}

/* Copy a valid name folded to lower case: the one spelling stored. */
static bool
dir_name_fold(const char *name, char out[DIR_NAME_MAX + 1])
{
	size_t i;

	if (!dir_name_is_valid(name))
		return false;
	for (i = 0; name[i] != '\0'; i++)
		out[i] = (name[i] >= 'A' && name[i] <= 'Z') ?
		    (char)(name[i] - 'A' + 'a') : name[i];
	out[i] = '\0';
	return true;
}

bool
dir_grant_pattern_is_valid(const char *pattern)
{
	const char *at = strrchr(pattern, '@');

	for (const char *p = pattern; *p != '\0'; p++)
		if ((*p >= 'A' && *p <= 'Z') || (unsigned char)*p < 0x20 ||
		    *p == 0x7f)
			return false;
	if (pattern[0] == '@')		/* a whole domain */
		return pattern[1] != '\0' && at == pattern;
	return at != NULL && at != pattern && at[1] != '\0';
}

/* 1 when a user of that address exists, 0 when not, DIR_ERR. */
static int
dir_user_exists(struct db *db, const char *address, const char **error_r)
{
	static const char sql[] = "SELECT 1 FROM users WHERE address = ?1";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	int rc;

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	if ((rc = db_step_row(db, st, error_r)) == 1)
		sqlite3_reset(st);
	return rc < 0 ? DIR_ERR : rc;
}

/* ---- networks --------------------------------------------------------------- */

int
directory_network_add(struct db *db, const char *name,
    const struct cidr *cidr, const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO networks (name, cidr) VALUES (?1, ?2)";
	char folded[DIR_NAME_MAX + 1], text[CIDR_TEXT_SIZE];
	sqlite3_stmt *st;

	if (!dir_name_fold(name, folded))
		return DIR_INVALID;
	if ((st = dir_stmt(db, sql, error_r)) == NULL)
		return DIR_ERR;
	cidr_format(cidr, text, sizeof(text));
	db_bind_text(st, 1, folded);
	db_bind_text(st, 2, text);
	return dir_insert_result(db_step_done(db, st, error_r));
}

int
directory_network_del(struct db *db, const char *name,
    const struct cidr *cidr, const char **error_r)
{
	static const char sql[] =
	    "DELETE FROM networks WHERE name = ?1 AND (?2 IS NULL OR cidr = ?2)";
	char folded[DIR_NAME_MAX + 1], text[CIDR_TEXT_SIZE];
	sqlite3_stmt *st;

	if (!dir_name_fold(name, folded))
		return DIR_NOTFOUND;
	if ((st = dir_stmt(db, sql, error_r)) == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, folded);
	if (cidr != NULL) {
		cidr_format(cidr, text, sizeof(text));
		db_bind_text(st, 2, text);
	}
	return dir_change_result(db, db_step_done(db, st, error_r));
}

int
directory_network_list(struct db *db, const char *name, dir_network_cb cb,
    void *arg, const char **error_r)
{
	static const char sql[] =
	    "SELECT name, cidr FROM networks"
	    " WHERE ?1 IS NULL OR name = ?1 ORDER BY name, cidr";
	char folded[DIR_NAME_MAX + 1];
	struct dir_network n;
	sqlite3_stmt *st;
	int rc;

	if (name != NULL && !dir_name_fold(name, folded))
		return DIR_OK;		/* no such name can be stored */
	if ((st = dir_stmt(db, sql, error_r)) == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, name != NULL ? folded : NULL);
	while ((rc = db_step_row(db, st, error_r)) == 1) {
		n.name = db_col_text(st, 0);
		n.cidr = db_col_text(st, 1);
		if (cb(&n, arg) != 0) {
			sqlite3_reset(st);
			break;
		}
	}
	return rc < 0 ? DIR_ERR : DIR_OK;
}

/*
 * The CIDRs are parsed on every call rather than cached: a network has a
 * handful of rows, and a cache would need invalidating when sluicectl
 * changes them under a running daemon.
 */
int
directory_network_match(struct db *db, const char *name,
    const struct sockaddr *client, const char **error_r)
{
	static const char sql[] = "SELECT cidr FROM networks WHERE name = ?1";
	char folded[DIR_NAME_MAX + 1];
	const char *text, *perr;
	sqlite3_stmt *st;
	struct cidr c;
	int rc;

	if (client == NULL || !dir_name_fold(name, folded))
		return 0;
	if ((st = dir_stmt(db, sql, error_r)) == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, folded);
	while ((rc = db_step_row(db, st, error_r)) == 1) {
		text = db_col_text(st, 0);
		if (cidr_parse(&c, text, strlen(text), &perr) == -1) {
			/* Refuse to guess: the caller defers, the log says. */
			snprintf(db->error, sizeof(db->error), "network %s: "
			    "stored CIDR \"%.60s\" is invalid: %s", folded,
			    text, perr);
			*error_r = db->error;
			sqlite3_reset(st);
			return DIR_ERR;
		}
		if (cidr_match(&c, client)) {
			sqlite3_reset(st);
			return 1;
		}
	}
	return rc < 0 ? DIR_ERR : 0;
}

/* ---- sender grants and ownership ---------------------------------------- */

int
directory_grant_add(struct db *db, const char *user, const char *pattern,
    const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO sender_grants (user, pattern) VALUES (?1, ?2)";
	sqlite3_stmt *st;
	int rc;

	if (!dir_grant_pattern_is_valid(pattern))
		return DIR_INVALID;
	if ((rc = dir_user_exists(db, user, error_r)) != 1)
		return rc == 0 ? DIR_NOTFOUND : DIR_ERR;
	if ((st = dir_stmt(db, sql, error_r)) == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, user);
	db_bind_text(st, 2, pattern);
	return dir_insert_result(db_step_done(db, st, error_r));
}

int
directory_grant_del(struct db *db, const char *user, const char *pattern,
    const char **error_r)
{
	static const char sql[] =
	    "DELETE FROM sender_grants WHERE user = ?1 AND pattern = ?2";

	return dir_change_result(db, dir_run(db, sql,
	    user, pattern, NULL, error_r));
}

int
directory_grant_list(struct db *db, const char *user, dir_grant_cb cb,
    void *arg, const char **error_r)
{
	static const char sql[] =
	    "SELECT user, pattern FROM sender_grants"
	    " WHERE ?1 IS NULL OR user = ?1 ORDER BY user, pattern";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	struct dir_grant g;
	int rc;

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, user);
	while ((rc = db_step_row(db, st, error_r)) == 1) {
		g.user = db_col_text(st, 0);
		g.pattern = db_col_text(st, 1);
		if (cb(&g, arg) != 0) {
			sqlite3_reset(st);
			break;
		}
	}
	return rc < 0 ? DIR_ERR : DIR_OK;
}

/* Run a query of one row of one 0/1 column: 1, 0 or DIR_ERR. */
static int
dir_query_flag(struct db *db, sqlite3_stmt *st, const char **error_r)
{
	int rc = db_step_row(db, st, error_r), flag;

	if (rc != 1)
		return rc < 0 ? DIR_ERR : 0;
	flag = db_col_int(st, 0) != 0;
	sqlite3_reset(st);
	return flag;
}

static int
dir_grant_matches(struct db *db, const char *user, const char *address,
    const char **error_r)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM sender_grants WHERE user = ?1"
	    " AND pattern IN (?2, '@' || ?3))";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, user);
	db_bind_text(st, 2, address);
	db_bind_text(st, 3, addr_domain_part(address));
	return dir_query_flag(db, st, error_r);
}

/*
 * Does alias address deliver to user? The recursive query carries the
 * depth so that a loop (a -> b -> a) ends at DIR_ALIAS_DEPTH_MAX, and
 * UNION drops repeated (target, depth) rows, so its work is bounded by
 * the number of aliases times the depth however the aliases fan out.
 */
static int
dir_alias_reaches(struct db *db, const char *address, const char *user,
    const char **error_r)
{
	static const char sql[] =
	    "WITH RECURSIVE reach (target, depth) AS ("
	    " SELECT target, 1 FROM aliases WHERE address = ?1"
	    " UNION"
	    " SELECT a.target, r.depth + 1 FROM reach r"
	    "  JOIN aliases a ON a.address = r.target WHERE r.depth < ?3)"
	    " SELECT EXISTS (SELECT 1 FROM reach WHERE target = ?2)";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	db_bind_text(st, 2, user);
	db_bind_int(st, 3, DIR_ALIAS_DEPTH_MAX);
	return dir_query_flag(db, st, error_r);
}

int
directory_sender_owned(struct db *db, const char *user, const char *address,
    const char **error_r)
{
	int rc;

	/* "@domain" is a grant pattern, never a sender to match one. */
	if (address[0] == '\0' || address[0] == '@' || user[0] == '\0')
		return 0;
	if (strcmp(address, user) == 0)
		return 1;
	if ((rc = dir_grant_matches(db, user, address, error_r)) != 0)
		return rc;
	return dir_alias_reaches(db, address, user, error_r);
}

/* ---- per-user limit values ---------------------------------------------- */

int
directory_limit_set(struct db *db, const char *user, const char *name,
    int64_t value, const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO user_limits (user, name, value) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (user, name) DO UPDATE SET value = excluded.value,"
	    " changed = CAST(strftime('%s', 'now') AS INTEGER)";
	char folded[DIR_NAME_MAX + 1];
	sqlite3_stmt *st;
	int rc;

	if (!dir_name_fold(name, folded) || value < 0 ||
	    value > DIR_LIMIT_VALUE_MAX)
		return DIR_INVALID;
	if ((rc = dir_user_exists(db, user, error_r)) != 1)
		return rc == 0 ? DIR_NOTFOUND : DIR_ERR;
	if ((st = dir_stmt(db, sql, error_r)) == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, user);
	db_bind_text(st, 2, folded);
	db_bind_int(st, 3, value);
	return db_step_done(db, st, error_r) == 0 ? DIR_OK : DIR_ERR;
}

int
directory_limit_del(struct db *db, const char *user, const char *name,
    const char **error_r)
{
	static const char sql[] =
	    "DELETE FROM user_limits WHERE user = ?1 AND name = ?2";
	char folded[DIR_NAME_MAX + 1];
	sqlite3_stmt *st;

	if (!dir_name_fold(name, folded))
		return DIR_NOTFOUND;
	if ((st = dir_stmt(db, sql, error_r)) == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, user);
	db_bind_text(st, 2, folded);
	return dir_change_result(db, db_step_done(db, st, error_r));
}

int
directory_limit_list(struct db *db, const char *user, dir_limit_cb cb,
    void *arg, const char **error_r)
{
	static const char sql[] =
	    "SELECT user, name, value FROM user_limits"
	    " WHERE ?1 IS NULL OR user = ?1 ORDER BY user, name";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	struct dir_limit l;
	int rc;

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, user);
	while ((rc = db_step_row(db, st, error_r)) == 1) {
		l.user = db_col_text(st, 0);
		l.name = db_col_text(st, 1);
		l.value = db_col_int(st, 2);
		if (cb(&l, arg) != 0) {
			sqlite3_reset(st);
			break;
		}
	}
	return rc < 0 ? DIR_ERR : DIR_OK;
}

int
directory_user_limit(struct db *db, const char *user, const char *name,
    int64_t *value_r, const char **error_r)
{
	static const char sql[] =
	    "SELECT value FROM user_limits WHERE user = ?1 AND name = ?2";
	char folded[DIR_NAME_MAX + 1];
	sqlite3_stmt *st;
	int rc;

	if (!dir_name_fold(name, folded))
		return DIR_NOTFOUND;
	if ((st = dir_stmt(db, sql, error_r)) == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, user);
	db_bind_text(st, 2, folded);
	if ((rc = db_step_row(db, st, error_r)) == 1) {
		*value_r = db_col_int(st, 0);
		sqlite3_reset(st);
	}
	return rc < 0 ? DIR_ERR : rc == 0 ? DIR_NOTFOUND : DIR_OK;
}

/* ---- recipients ----------------------------------------------------------- */

int
directory_rcpt_lookup(struct db *db, const char *address,
    enum dir_rcpt_kind *kind_r, const char **error_r)
{
	static const char sql[] =
	    "SELECT u.enabled, u.has_mailbox,"
	    " EXISTS (SELECT 1 FROM aliases WHERE address = ?1)"
	    " FROM (SELECT 1) LEFT JOIN users u ON u.address = ?1";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);
	bool user, enabled, mailbox, alias;
	int rc;

	*kind_r = DIR_RCPT_NONE;
	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	if ((rc = db_step_row(db, st, error_r)) != 1) {
		if (rc == 0)	/* cannot happen: the query has one row */
			*error_r = "recipient lookup found no row";
		return DIR_ERR;
	}
	user = !db_col_is_null(st, 0);
	enabled = db_col_int(st, 0) != 0;
	mailbox = db_col_int(st, 1) != 0;
	alias = db_col_int(st, 2) != 0;
	sqlite3_reset(st);
	if (user && !enabled)
		*kind_r = DIR_RCPT_DISABLED;
	else if (user && mailbox)
		*kind_r = DIR_RCPT_MAILBOX;
	else if (alias)
		*kind_r = DIR_RCPT_ALIAS;
	else if (user)
		*kind_r = DIR_RCPT_NO_MAILBOX;
	return DIR_OK;
}

int
directory_rcpt_exists(struct db *db, const char *address,
    const char **error_r)
{
	enum dir_rcpt_kind kind;

	if (directory_rcpt_lookup(db, address, &kind, error_r) != DIR_OK)
		return DIR_ERR;
	return kind == DIR_RCPT_MAILBOX || kind == DIR_RCPT_ALIAS;
}
