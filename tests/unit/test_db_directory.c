/*
 * Unit tests for db_directory on a real file: domains, users, aliases, and
 * the policy data of schema version 2 (networks, sender grants and
 * ownership, per-user limits, recipient lookup, the migration from 1).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "buf.h"
#include "cidr.h"
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

/* ---- schema version 2: networks, grants, limits, recipients ------------ */

static struct sockaddr_storage
sockaddr_of(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		cr_assert_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1, "%s",
		    ip);
		sin6->sin6_family = AF_INET6;
	}
	return ss;
}

static struct cidr
net(const char *text)
{
	struct cidr c;
	const char *err = NULL;

	cr_assert_eq(cidr_parse(&c, text, strlen(text), &err), 0, "%s: %s",
	    text, err);
	return c;
}

static int
match(const char *name, const char *ip)
{
	struct sockaddr_storage ss = sockaddr_of(ip);
	const char *err = NULL;

	return directory_network_match(db, name, (struct sockaddr *)&ss, &err);
}

Test(directory, name_syntax)
{
	static const struct { const char *name; bool ok; } cases[] = {
		{ "office", true }, { "Office", true }, { "a", true },
		{ "0day", true }, { "client_connections", true },
		{ "a-b.c_d", true }, { "", false }, { "_office", false },
		{ "-office", false }, { ".office", false }, { "off ice", false },
		{ "office\n", false }, { "off/ice", false }, { "caf\xc3\xa9", false },
		{ "$office", false },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    true },		/* 64: the most */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    false },		/* 65 */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_eq(dir_name_is_valid(cases[i].name), cases[i].ok,
		    "[%s]", cases[i].name);
}

Test(directory, grant_pattern_syntax)
{
	static const struct { const char *p; bool ok; } cases[] = {
		{ "support@example.org", true }, { "@example.org", true },
		{ "\"a@b\"@example.org", true }, { "\"a b\"@example.org", true },
		{ "@", false }, { "", false }, { "support", false },
		{ "support@", false }, { "@a@b", false }, { "@@b", false },
		{ "Support@example.org", false }, { "@Example.org", false },
		{ "a@b\r", false }, { "a@b\x7f", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_eq(dir_grant_pattern_is_valid(cases[i].p), cases[i].ok,
		    "[%s]", cases[i].p);
}

Test(directory, networks_add_list_del)
{
	const char *err = NULL;
	struct cidr v4 = net("192.0.2.0/24"), v6 = net("2001:db8::/32");
	int n = 0;

	cr_assert_eq(directory_network_add(db, "Office", &v4, &err), DIR_OK);
	cr_assert_eq(directory_network_add(db, "office", &v6, &err), DIR_OK);
	cr_assert_eq(directory_network_add(db, "OFFICE", &v4, &err),
	    DIR_EXISTS);
	cr_assert_eq(directory_network_add(db, "_office", &v4, &err),
	    DIR_INVALID);
	cr_assert_eq(directory_network_add(db, "partner", &v4, &err), DIR_OK);
	cr_assert_eq(directory_network_list(db, NULL,
	    (dir_network_cb)count_cb, &n, &err), DIR_OK);
	cr_assert_eq(n, 3);
	n = 0;
	cr_assert_eq(directory_network_list(db, "OFFICE",
	    (dir_network_cb)count_cb, &n, &err), DIR_OK);
	cr_assert_eq(n, 2);
	n = 0;
	cr_assert_eq(directory_network_list(db, "bad name",
	    (dir_network_cb)count_cb, &n, &err), DIR_OK);
	cr_assert_eq(n, 0);

	cr_assert_eq(directory_network_del(db, "office", &v6, &err), DIR_OK);
	cr_assert_eq(directory_network_del(db, "office", &v6, &err),
	    DIR_NOTFOUND);
	cr_assert_eq(match("office", "2001:db8::1"), 0);
	cr_assert_eq(match("office", "192.0.2.1"), 1);
	cr_assert_eq(directory_network_del(db, "Office", NULL, &err), DIR_OK);
	cr_assert_eq(directory_network_del(db, "office", NULL, &err),
	    DIR_NOTFOUND);
	cr_assert_eq(directory_network_del(db, "no such", NULL, &err),
	    DIR_NOTFOUND);
	cr_assert_eq(match("office", "192.0.2.1"), 0);
	cr_assert_eq(match("partner", "192.0.2.1"), 1);
}

Test(directory, networks_store_canonical_text)
{
	const char *err = NULL;
	struct cidr c = net("192.0.2.77/24");	/* host bits cleared */
	struct cidr m = net("::ffff:198.51.100.0/120");	/* mapped: IPv4 */
	struct cidr h = net("2001:DB8:0:0::1");	/* a host: /128 */
	sqlite3_stmt *st;

	cr_assert_eq(directory_network_add(db, "n", &c, &err), DIR_OK);
	cr_assert_eq(directory_network_add(db, "n", &m, &err), DIR_OK);
	cr_assert_eq(directory_network_add(db, "n", &h, &err), DIR_OK);
	st = db_stmt(db, "SELECT group_concat(cidr, ' ') FROM"
	    " (SELECT cidr FROM networks ORDER BY cidr)");
	cr_assert_eq(db_step_row(db, st, &err), 1);
	cr_assert_str_eq(db_col_text(st, 0),
	    "192.0.2.0/24 198.51.100.0/24 2001:db8::1/128");
	sqlite3_reset(st);
}

Test(directory, network_match_cases)
{
	static const struct {
		const char	*name;
		const char	*client;
		int		 want;
	} cases[] = {
		{ "office", "192.0.2.1", 1 },
		{ "office", "192.0.2.255", 1 },
		{ "office", "192.0.3.0", 0 },
		{ "OFFICE", "10.1.2.3", 1 },
		{ "office", "::ffff:192.0.2.9", 1 },	/* dual-stack socket */
		{ "office", "2001:db8:1::5", 1 },
		{ "office", "2001:db9::5", 0 },
		{ "office", "::1", 0 },
		{ "monitor", "198.51.100.7", 1 },
		{ "monitor", "198.51.100.8", 0 },
		{ "monitor", "192.0.2.1", 0 },
		{ "nowhere", "192.0.2.1", 0 },		/* no rows: no match */
		{ "bad name", "192.0.2.1", 0 },
		{ "", "192.0.2.1", 0 },
		{ "all6", "2001:db8::1", 1 },
		{ "all6", "::ffff:192.0.2.1", 0 },	/* mapped is IPv4 */
	};
	const char *err = NULL;
	struct cidr a = net("192.0.2.0/24"), b = net("10.0.0.0/8"),
	    c = net("2001:db8::/32"), d = net("198.51.100.7"), e = net("::/0");

	cr_assert_eq(directory_network_add(db, "office", &a, &err), DIR_OK);
	cr_assert_eq(directory_network_add(db, "office", &b, &err), DIR_OK);
	cr_assert_eq(directory_network_add(db, "office", &c, &err), DIR_OK);
	cr_assert_eq(directory_network_add(db, "monitor", &d, &err), DIR_OK);
	cr_assert_eq(directory_network_add(db, "all6", &e, &err), DIR_OK);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_eq(match(cases[i].name, cases[i].client),
		    cases[i].want, "%s %s", cases[i].name, cases[i].client);
	/* A unix socket client is in no network. */
	cr_assert_eq(directory_network_match(db, "all6", NULL, &err), 0);
}

Test(directory, network_match_refuses_a_corrupt_row)
{
	const char *err = NULL;
	struct cidr a = net("192.0.2.0/24");

	/* Passes the table's CHECK, not the parser: written by hand. */
	cr_assert_eq(db_exec(db, "INSERT INTO networks (name, cidr)"
	    " VALUES ('office', '999.0.2.0/24')", &err), 0, "%s", err);
	cr_assert_eq(directory_network_add(db, "office", &a, &err), DIR_OK);
	err = NULL;
	cr_assert_eq(directory_network_match(db, "office",
	    (const struct sockaddr *)&(struct sockaddr_storage){ 0 }, &err),
	    DIR_ERR);
	cr_assert_not_null(err);
	cr_assert(strstr(err, "999.0.2.0/24") != NULL, "%s", err);
	/* The statement was reset: the next lookup works. */
	cr_assert_eq(match("other", "192.0.2.1"), 0);
	/* CHECK constraints keep out what is plainly not a CIDR. */
	cr_assert_eq(db_exec(db, "INSERT INTO networks (name, cidr)"
	    " VALUES ('office', '192.0.2.0')", &err), -1);
	cr_assert_eq(db_exec(db, "INSERT INTO networks (name, cidr)"
	    " VALUES ('Office', '192.0.2.0/24')", &err), -1);
}

/* Users alice and bob in example.org; aliases as the ownership tests use. */
static void
ownership_fixture(void)
{
	static const char *const aliases[][2] = {
		{ "a1@example.org", "alice@example.org" },
		{ "c1@example.org", "c2@example.org" },
		{ "c2@example.org", "c3@example.org" },
		{ "c3@example.org", "alice@example.org" },
		{ "l1@example.org", "l2@example.org" },
		{ "l2@example.org", "l1@example.org" },
		{ "l3@example.org", "l3b@example.org" },	/* a loop with */
		{ "l3b@example.org", "l3@example.org" },	/* an exit */
		{ "l3b@example.org", "alice@example.org" },
		{ "team@example.org", "alice@example.org" },
		{ "team@example.org", "bob@example.org" },
		{ "team@example.org", "someone@remote.example" },
		{ "ext@example.org", "alice@remote.example" },
	};
	struct dir_user a = user("alice@example.org", true),
	    b = user("bob@example.org", true);
	const char *err = NULL;

	cr_assert_eq(directory_user_add(db, &a, &err), DIR_OK);
	cr_assert_eq(directory_user_add(db, &b, &err), DIR_OK);
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		cr_assert_eq(directory_alias_add(db, aliases[i][0],
		    aliases[i][1], &err), DIR_OK);
	cr_assert_eq(directory_grant_add(db, "alice@example.org",
	    "support@example.org", &err), DIR_OK);
	cr_assert_eq(directory_grant_add(db, "bob@example.org",
	    "@apps.example", &err), DIR_OK);
}

Test(directory, sender_owned_cases)
{
	static const struct {
		const char	*user;
		const char	*address;
		int		 want;
	} cases[] = {
		{ "alice@example.org", "alice@example.org", 1 },
		{ "alice@example.org", "bob@example.org", 0 },
		{ "alice@example.org", "a1@example.org", 1 },
		{ "bob@example.org", "a1@example.org", 0 },
		{ "alice@example.org", "c1@example.org", 1 },	/* chain of 3 */
		{ "alice@example.org", "c2@example.org", 1 },
		{ "bob@example.org", "c1@example.org", 0 },
		{ "alice@example.org", "l1@example.org", 0 },	/* pure loop */
		{ "alice@example.org", "l3@example.org", 1 },	/* loop, exit */
		{ "alice@example.org", "team@example.org", 1 },	/* a list */
		{ "bob@example.org", "team@example.org", 1 },
		/* A remote target of the same local part is not alice. */
		{ "alice@example.org", "ext@example.org", 0 },
		{ "alice@example.org", "support@example.org", 1 },
		{ "bob@example.org", "support@example.org", 0 },
		{ "alice@example.org", "other@example.org", 0 },
		{ "bob@example.org", "news@apps.example", 1 },	/* a domain */
		{ "bob@example.org", "x@apps.example", 1 },
		{ "bob@example.org", "x@sub.apps.example", 0 },
		{ "bob@example.org", "x@apps.example.evil", 0 },
		{ "bob@example.org", "x@evilapps.example", 0 },
		{ "bob@example.org", "apps.example", 0 },
		{ "bob@example.org", "@apps.example", 0 },
		{ "alice@example.org", "x@apps.example", 0 },
		{ "alice@example.org", "", 0 },			/* null sender */
		{ "", "", 0 },
		{ "nobody@example.org", "a1@example.org", 0 },
	};
	const char *err = NULL;

	ownership_fixture();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_eq(directory_sender_owned(db, cases[i].user,
		    cases[i].address, &err), cases[i].want, "%s as %s: %s",
		    cases[i].user, cases[i].address, err ? err : "");
}

/* A chain of n aliases d1 -> d2 -> ... -> dn -> alice. */
static void
alias_chain(const char *prefix, int n)
{
	const char *err = NULL;

	for (int i = 1; i <= n; i++) {
		char *from = xasprintf("%s%d@example.org", prefix, i);
		char *to = i == n ? xstrdup("alice@example.org") :
		    xasprintf("%s%d@example.org", prefix, i + 1);

		cr_assert_eq(directory_alias_add(db, from, to, &err), DIR_OK);
		free(from);
		free(to);
	}
}

Test(directory, sender_owned_alias_depth_limit)
{
	struct dir_user a = user("alice@example.org", true);
	const char *err = NULL;

	cr_assert_eq(directory_user_add(db, &a, &err), DIR_OK);
	alias_chain("ok", DIR_ALIAS_DEPTH_MAX);
	alias_chain("deep", DIR_ALIAS_DEPTH_MAX + 1);
	cr_assert_eq(directory_sender_owned(db, "alice@example.org",
	    "ok1@example.org", &err), 1);
	cr_assert_eq(directory_sender_owned(db, "alice@example.org",
	    "deep1@example.org", &err), 0);
	cr_assert_eq(directory_sender_owned(db, "alice@example.org",
	    "deep2@example.org", &err), 1);
}

Test(directory, sender_owned_loop_with_fan_out_ends)
{
	struct dir_user a = user("alice@example.org", true);
	const char *err = NULL;

	/* Every alias of 12 points at every other: a dense loop. */
	cr_assert_eq(directory_user_add(db, &a, &err), DIR_OK);
	for (int i = 0; i < 12; i++) {
		for (int j = 0; j < 12; j++) {
			char *from = xasprintf("m%d@example.org", i);
			char *to = xasprintf("m%d@example.org", j);

			if (i != j)
				cr_assert_eq(directory_alias_add(db, from, to,
				    &err), DIR_OK);
			free(from);
			free(to);
		}
	}
	cr_assert_eq(directory_sender_owned(db, "alice@example.org",
	    "m0@example.org", &err), 0);
	cr_assert_eq(directory_alias_add(db, "m11@example.org",
	    "alice@example.org", &err), DIR_OK);
	cr_assert_eq(directory_sender_owned(db, "alice@example.org",
	    "m0@example.org", &err), 1);
}

Test(directory, grants_add_list_del)
{
	const char *err = NULL;
	int all = 0, alice = 0;

	ownership_fixture();
	cr_assert_eq(directory_grant_add(db, "alice@example.org",
	    "support@example.org", &err), DIR_EXISTS);
	cr_assert_eq(directory_grant_add(db, "nobody@example.org",
	    "support@example.org", &err), DIR_NOTFOUND);
	cr_assert_eq(directory_grant_add(db, "alice@example.org", "support",
	    &err), DIR_INVALID);
	cr_assert_eq(directory_grant_add(db, "alice@example.org",
	    "Support@example.org", &err), DIR_INVALID);
	cr_assert_eq(directory_grant_add(db, "alice@example.org",
	    "@apps.example", &err), DIR_OK);
	cr_assert_eq(directory_grant_list(db, NULL, (dir_grant_cb)count_cb,
	    &all, &err), DIR_OK);
	cr_assert_eq(directory_grant_list(db, "alice@example.org",
	    (dir_grant_cb)count_cb, &alice, &err), DIR_OK);
	cr_assert_eq(all, 3);
	cr_assert_eq(alice, 2);
	cr_assert_eq(directory_grant_del(db, "alice@example.org",
	    "support@example.org", &err), DIR_OK);
	cr_assert_eq(directory_grant_del(db, "alice@example.org",
	    "support@example.org", &err), DIR_NOTFOUND);
	cr_assert_eq(directory_sender_owned(db, "alice@example.org",
	    "support@example.org", &err), 0);
}

Test(directory, limits_set_get_del)
{
	static const struct {
		const char	*name;
		int64_t		 value;
		int		 want;
	} sets[] = {
		{ "user_messages", 5000, DIR_OK },
		{ "User_Messages", 6000, DIR_OK },	/* same limit, replaced */
		{ "user_recipients", 0, DIR_OK },
		{ "big", DIR_LIMIT_VALUE_MAX, DIR_OK },
		{ "too_big", DIR_LIMIT_VALUE_MAX + 1, DIR_INVALID },
		{ "negative", -1, DIR_INVALID },
		{ "_bad", 1, DIR_INVALID },
		{ "", 1, DIR_INVALID },
	};
	struct dir_user a = user("alice@example.org", true);
	const char *err = NULL;
	int64_t v = -42;
	int n = 0;

	cr_assert_eq(directory_user_add(db, &a, &err), DIR_OK);
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
		cr_expect_eq(directory_limit_set(db, "alice@example.org",
		    sets[i].name, sets[i].value, &err), sets[i].want, "%s",
		    sets[i].name);
	cr_assert_eq(directory_limit_set(db, "nobody@example.org",
	    "user_messages", 1, &err), DIR_NOTFOUND);
	cr_assert_eq(directory_user_limit(db, "alice@example.org",
	    "user_messages", &v, &err), DIR_OK);
	cr_assert_eq(v, 6000);
	cr_assert_eq(directory_user_limit(db, "alice@example.org",
	    "USER_RECIPIENTS", &v, &err), DIR_OK);
	cr_assert_eq(v, 0);
	cr_assert_eq(directory_user_limit(db, "alice@example.org", "big", &v,
	    &err), DIR_OK);
	cr_assert_eq(v, DIR_LIMIT_VALUE_MAX);
	/* Unknown limit, unknown user, invalid name: the file's value. */
	v = -42;
	cr_assert_eq(directory_user_limit(db, "alice@example.org",
	    "no_such_limit", &v, &err), DIR_NOTFOUND);
	cr_assert_eq(directory_user_limit(db, "bob@example.org",
	    "user_messages", &v, &err), DIR_NOTFOUND);
	cr_assert_eq(directory_user_limit(db, "alice@example.org", "a b", &v,
	    &err), DIR_NOTFOUND);
	cr_assert_eq(v, -42);
	cr_assert_eq(directory_limit_list(db, NULL, (dir_limit_cb)count_cb,
	    &n, &err), DIR_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(directory_limit_del(db, "alice@example.org",
	    "USER_MESSAGES", &err), DIR_OK);
	cr_assert_eq(directory_limit_del(db, "alice@example.org",
	    "user_messages", &err), DIR_NOTFOUND);
	cr_assert_eq(directory_user_limit(db, "alice@example.org",
	    "user_messages", &v, &err), DIR_NOTFOUND);
}

static int
collect_limit(const struct dir_limit *l, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s %s %lld;", l->user, l->name, (long long)l->value);
	return 0;
}

Test(directory, limit_list_filters_and_orders)
{
	struct dir_user a = user("alice@example.org", true),
	    b = user("bob@example.org", true);
	const char *err = NULL;
	struct buf out;

	buf_init(&out, 0);
	directory_user_add(db, &a, &err);
	directory_user_add(db, &b, &err);
	directory_limit_set(db, "bob@example.org", "z", 1, &err);
	directory_limit_set(db, "alice@example.org", "y", 2, &err);
	directory_limit_set(db, "alice@example.org", "x", 3, &err);
	cr_assert_eq(directory_limit_list(db, NULL, collect_limit, &out, &err),
	    DIR_OK);
	cr_assert_str_eq(buf_cstr(&out), "alice@example.org x 3;"
	    "alice@example.org y 2;bob@example.org z 1;");
	buf_reset(&out);
	cr_assert_eq(directory_limit_list(db, "bob@example.org", collect_limit,
	    &out, &err), DIR_OK);
	cr_assert_str_eq(buf_cstr(&out), "bob@example.org z 1;");
	buf_release(&out);
}

Test(directory, deleting_a_user_takes_its_grants_and_limits)
{
	const char *err = NULL;
	int grants = 0, limits = 0;

	ownership_fixture();
	cr_assert_eq(directory_limit_set(db, "alice@example.org", "m", 9,
	    &err), DIR_OK);
	cr_assert_eq(directory_limit_set(db, "bob@example.org", "m", 8, &err),
	    DIR_OK);
	cr_assert_eq(directory_user_del(db, "alice@example.org", &err), DIR_OK);
	cr_assert_eq(directory_grant_list(db, NULL, (dir_grant_cb)count_cb,
	    &grants, &err), DIR_OK);
	cr_assert_eq(directory_limit_list(db, NULL, (dir_limit_cb)count_cb,
	    &limits, &err), DIR_OK);
	cr_assert_eq(grants, 1);	/* bob's */
	cr_assert_eq(limits, 1);
	/* A new alice starts with nothing granted. */
	struct dir_user a = user("alice@example.org", true);
	cr_assert_eq(directory_user_add(db, &a, &err), DIR_OK);
	cr_assert_eq(directory_sender_owned(db, "alice@example.org",
	    "support@example.org", &err), 0);
	/* Rows for an absent user are refused by the foreign key too. */
	cr_assert_eq(db_exec(db, "INSERT INTO sender_grants (user, pattern)"
	    " VALUES ('ghost@example.org', '@x.example')", &err), -1);
}

Test(directory, rcpt_lookup_cases)
{
	static const struct {
		const char		*address;
		enum dir_rcpt_kind	 kind;
	} cases[] = {
		{ "alice@example.org", DIR_RCPT_MAILBOX },
		{ "off@example.org", DIR_RCPT_DISABLED },
		{ "app@example.org", DIR_RCPT_NO_MAILBOX },
		{ "both@example.org", DIR_RCPT_ALIAS },
		{ "info@example.org", DIR_RCPT_ALIAS },
		{ "nobody@example.org", DIR_RCPT_NONE },
		{ "", DIR_RCPT_NONE },
	};
	struct dir_user u[] = {
		user("alice@example.org", true), user("off@example.org", true),
		user("app@example.org", false), user("both@example.org", false),
	};
	const char *err = NULL;
	enum dir_rcpt_kind kind;

	u[1].enabled = false;
	for (size_t i = 0; i < ARRAY_SIZE(u); i++)
		cr_assert_eq(directory_user_add(db, &u[i], &err), DIR_OK);
	cr_assert_eq(directory_alias_add(db, "info@example.org",
	    "alice@example.org", &err), DIR_OK);
	cr_assert_eq(directory_alias_add(db, "both@example.org",
	    "alice@example.org", &err), DIR_OK);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_expect_eq(directory_rcpt_lookup(db, cases[i].address, &kind,
		    &err), DIR_OK);
		cr_expect_eq(kind, cases[i].kind, "%s", cases[i].address);
		cr_expect_eq(directory_rcpt_exists(db, cases[i].address, &err),
		    cases[i].kind == DIR_RCPT_MAILBOX ||
		    cases[i].kind == DIR_RCPT_ALIAS, "%s", cases[i].address);
	}
}

/* ---- migration from schema version 1 ------------------------------------------ */

static const char *
migration_sql(int version)
{
	for (const struct db_migration *m = db_migrations; m->db; m++)
		if (strcmp(m->db, "directory") == 0 && m->version == version)
			return m->sql;
	cr_assert_fail("no directory migration %d", version);
	return NULL;
}

static char *
query_text(struct db *d, const char *sql)
{
	sqlite3_stmt *st = db_stmt(d, sql);
	const char *err = NULL;
	char *s;

	cr_assert_not_null(st, "%s", d->error);
	cr_assert_eq(db_step_row(d, st, &err), 1, "%s", err);
	s = xstrdup(db_col_text(st, 0));
	sqlite3_reset(st);
	return s;
}

Test(directory, version_1_migrates_to_2_with_its_data)
{
	struct db *old;
	const char *err = NULL;
	char *path = xasprintf("%s/v1.db", dir), *s;
	int from, to;

	cr_assert_geq(db_schema_latest("directory"), 2);
	cr_assert_eq(db_open(path, "directory", DB_CREATE | DB_NOCHECK, &old,
	    &err), 0, "%s", err);
	cr_assert_eq(db_exec(old, migration_sql(1), &err), 0, "%s", err);
	cr_assert_eq(db_exec(old,
	    "INSERT INTO domains (name, kind) VALUES ('example.org', 'local');"
	    "INSERT INTO users (address, domain, password, quota) VALUES"
	    " ('alice@example.org', 'example.org', '$y$h', 7);"
	    "INSERT INTO aliases (address, domain, target) VALUES"
	    " ('info@example.org', 'example.org', 'alice@example.org');"
	    "PRAGMA user_version=1", &err), 0, "%s", err);
	db_close(&old);

	/* Without DB_MIGRATE the old schema is refused with advice. */
	cr_assert_eq(db_open(path, "directory", 0, &old, &err), -1);
	cr_assert(strstr(err, "sluicectl migrate") != NULL, "%s", err);
	cr_assert_eq(db_open(path, "directory", DB_NOCHECK, &old, &err), 0);
	cr_assert_eq(db_migrate(old, &from, &to, &err), 0, "%s", err);
	cr_assert_eq(from, 1);
	cr_assert_eq(to, db_schema_latest("directory"));
	cr_assert_eq(db_schema_version(old), to);

	s = query_text(old, "SELECT group_concat(address || ':' || quota ||"
	    " ':' || password) FROM users");
	cr_assert_str_eq(s, "alice@example.org:7:$y$h");
	free(s);
	s = query_text(old, "SELECT targets FROM alias_overview");
	cr_assert_str_eq(s, "alice@example.org");
	free(s);
	/* The new tables work on the old data. */
	cr_assert_eq(directory_grant_add(old, "alice@example.org",
	    "@example.net", &err), DIR_OK);
	cr_assert_eq(directory_sender_owned(old, "alice@example.org",
	    "info@example.org", &err), 1);
	cr_assert_eq(directory_sender_owned(old, "alice@example.org",
	    "x@example.net", &err), 1);
	s = query_text(old, "SELECT kind || ' ' || state FROM"
	    " sender_grant_overview");
	cr_assert_str_eq(s, "domain enabled");
	free(s);
	db_close(&old);
	free(path);
}
