/* Unit tests for db_directory: domains, users, aliases on a real file. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "db_directory.h"
#include "util.h"

static char dir[] = "/tmp/sluice-test-dir-XXXXXX";
static struct db *db;

static void
setup(void)
{
	const char *err = NULL;
	char *path;

	cr_assert_not_null(mkdtemp(dir));
	path = xasprintf("%s/directory.db", dir);
	cr_assert_eq(db_open(path, "directory", DB_CREATE | DB_MIGRATE, &db,
	    &err), 0, "%s", err);
	free(path);
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	db_close(&db);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
}

TestSuite(directory, .init = setup, .fini = teardown);

static struct dir_user
user(const char *address, bool mailbox)
{
	struct dir_user u = {
		.address = (char *)(uintptr_t)address,
		.domain = strrchr(address, '@') + 1,
		.password = (char *)(uintptr_t)"$y$j9T$salt$hash",
		.enabled = true, .has_mailbox = mailbox, .quota = 1024,
	};
	return u;
}

static int
count_cb(const void *row, void *arg)
{
	(void)row;
	(*(int *)arg)++;
	return 0;
}

Test(directory, domains_add_kind_list_del)
{
	const char *err = NULL;
	enum dir_domain_kind kind;
	int n = 0;

	cr_assert_eq(directory_domain_add(db, "example.org", DIR_DOMAIN_LOCAL,
	    &err), DIR_OK);
	cr_assert_eq(directory_domain_add(db, "relay.example",
	    DIR_DOMAIN_RELAY, &err), DIR_OK);
	cr_assert_eq(directory_domain_add(db, "example.org", DIR_DOMAIN_RELAY,
	    &err), DIR_EXISTS);
	cr_assert_eq(directory_domain_kind(db, "example.org", &kind, &err),
	    DIR_OK);
	cr_assert_eq(kind, DIR_DOMAIN_LOCAL);
	cr_assert_eq(directory_domain_kind(db, "relay.example", &kind, &err),
	    DIR_OK);
	cr_assert_eq(kind, DIR_DOMAIN_RELAY);
	cr_assert_eq(directory_domain_kind(db, "other.example", &kind, &err),
	    DIR_NOTFOUND);
	cr_assert_eq(kind, DIR_DOMAIN_NONE);
	cr_assert_eq(directory_domain_list(db, (dir_domain_cb)count_cb, &n,
	    &err), DIR_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(directory_domain_del(db, "relay.example", &err), DIR_OK);
	cr_assert_eq(directory_domain_del(db, "relay.example", &err),
	    DIR_NOTFOUND);
}

Test(directory, domain_with_users_cannot_be_deleted)
{
	const char *err = NULL;
	struct dir_user u = user("alice@example.org", true);

	directory_domain_add(db, "example.org", DIR_DOMAIN_LOCAL, &err);
	cr_assert_eq(directory_user_add(db, &u, &err), DIR_OK);
	cr_assert_eq(directory_domain_del(db, "example.org", &err), DIR_INUSE);
	cr_assert_eq(directory_user_del(db, "alice@example.org", &err), DIR_OK);
	cr_assert_eq(directory_alias_add(db, "info@example.org",
	    "bob@elsewhere.example", &err), DIR_OK);
	cr_assert_eq(directory_domain_del(db, "example.org", &err), DIR_INUSE);
	cr_assert_eq(directory_alias_del(db, "info@example.org", NULL, &err),
	    DIR_OK);
	cr_assert_eq(directory_domain_del(db, "example.org", &err), DIR_OK);
}

Test(directory, users_roundtrip_and_update)
{
	const char *err = NULL;
	struct dir_user u = user("alice@example.org", true), got;

	cr_assert_eq(directory_user_add(db, &u, &err), DIR_OK);
	cr_assert_eq(directory_user_add(db, &u, &err), DIR_EXISTS);
	cr_assert_eq(directory_user_get(db, "alice@example.org", &got, &err),
	    DIR_OK);
	cr_assert_str_eq(got.address, "alice@example.org");
	cr_assert_str_eq(got.domain, "example.org");
	cr_assert_str_eq(got.password, "$y$j9T$salt$hash");
	cr_assert(got.enabled);
	cr_assert(got.has_mailbox);
	cr_assert_eq(got.quota, 1024);
	cr_assert_gt(got.created, 1600000000);
	dir_user_clear(&got);
	cr_assert_null(got.address);

	cr_assert_eq(directory_user_set_password(db, "alice@example.org",
	    "$6$new$hash", &err), DIR_OK);
	cr_assert_eq(directory_user_set_enabled(db, "alice@example.org", false,
	    &err), DIR_OK);
	cr_assert_eq(directory_user_get(db, "alice@example.org", &got, &err),
	    DIR_OK);
	cr_assert_str_eq(got.password, "$6$new$hash");
	cr_assert_not(got.enabled);
	dir_user_clear(&got);

	cr_assert_eq(directory_user_set_password(db, "nobody@example.org",
	    "x", &err), DIR_NOTFOUND);
	cr_assert_eq(directory_user_set_enabled(db, "nobody@example.org", true,
	    &err), DIR_NOTFOUND);
	cr_assert_eq(directory_user_get(db, "nobody@example.org", &got, &err),
	    DIR_NOTFOUND);
	cr_assert_eq(directory_user_del(db, "nobody@example.org", &err),
	    DIR_NOTFOUND);
}

Test(directory, user_list_filters_by_domain)
{
	const char *err = NULL;
	struct dir_user a = user("a@one.example", true),
	    b = user("b@two.example", false), c = user("c@one.example", true);
	int all = 0, one = 0;

	directory_user_add(db, &a, &err);
	directory_user_add(db, &b, &err);
	directory_user_add(db, &c, &err);
	cr_assert_eq(directory_user_list(db, NULL, (dir_user_cb)count_cb, &all,
	    &err), DIR_OK);
	cr_assert_eq(directory_user_list(db, "one.example",
	    (dir_user_cb)count_cb, &one, &err), DIR_OK);
	cr_assert_eq(all, 3);
	cr_assert_eq(one, 2);
}

Test(directory, aliases_many_targets)
{
	const char *err = NULL;
	int n = 0;

	cr_assert_eq(directory_alias_exists(db, "team@example.org", &err), 0);
	cr_assert_eq(directory_alias_add(db, "team@example.org",
	    "a@example.org", &err), DIR_OK);
	cr_assert_eq(directory_alias_add(db, "team@example.org",
	    "b@remote.example", &err), DIR_OK);
	cr_assert_eq(directory_alias_add(db, "team@example.org",
	    "a@example.org", &err), DIR_EXISTS);
	cr_assert_eq(directory_alias_exists(db, "team@example.org", &err), 1);
	cr_assert_eq(directory_alias_list(db, "team@example.org",
	    (dir_alias_cb)count_cb, &n, &err), DIR_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(directory_alias_del(db, "team@example.org",
	    "a@example.org", &err), DIR_OK);
	cr_assert_eq(directory_alias_del(db, "team@example.org",
	    "a@example.org", &err), DIR_NOTFOUND);
	cr_assert_eq(directory_alias_exists(db, "team@example.org", &err), 1);
	cr_assert_eq(directory_alias_del(db, "team@example.org", NULL, &err),
	    DIR_OK);
	cr_assert_eq(directory_alias_exists(db, "team@example.org", &err), 0);
}

Test(directory, kind_names)
{
	cr_assert_str_eq(dir_domain_kind_name(DIR_DOMAIN_LOCAL), "local");
	cr_assert_str_eq(dir_domain_kind_name(DIR_DOMAIN_RELAY), "relay");
	cr_assert_eq(dir_domain_kind_parse("relay"), DIR_DOMAIN_RELAY);
	cr_assert_eq(dir_domain_kind_parse("Local"), DIR_DOMAIN_NONE);
	cr_assert_eq(dir_domain_kind_parse(""), DIR_DOMAIN_NONE);
}
