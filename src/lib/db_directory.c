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

int
directory_domain_add(struct db *db, const char *name,
    enum dir_domain_kind kind, const char **error_r)
{
	static const char sql[] =
	    "INSERT INTO domains (name, kind) VALUES (?1, ?2)";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, dir_domain_kind_name(kind));
	return dir_insert_result(db_step_done(db, st, error_r));
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
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	return dir_change_result(db, db_step_done(db, st, error_r));
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
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	db_bind_text(st, 2, hash);
	return dir_change_result(db, db_step_done(db, st, error_r));
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
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	db_bind_text(st, 2, addr_domain_part(address));
	db_bind_text(st, 3, target);
	return dir_insert_result(db_step_done(db, st, error_r));
}

int
directory_alias_del(struct db *db, const char *address, const char *target,
    const char **error_r)
{
	static const char sql[] =
	    "DELETE FROM aliases WHERE address = ?1"
	    " AND (?2 IS NULL OR target = ?2)";
	sqlite3_stmt *st = dir_stmt(db, sql, error_r);

	if (st == NULL)
		return DIR_ERR;
	db_bind_text(st, 1, address);
	db_bind_text(st, 2, target);
	return dir_change_result(db, db_step_done(db, st, error_r));
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
