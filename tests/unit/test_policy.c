/*
 * Tests for the policy engine: the shipped rule files against a fake
 * directory (relay tricks first), every condition with and without `not`,
 * first-match order and stage defaults, limits and overrides, includes,
 * and every parse error naming its file and line.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "policy.h"
#include "util.h"

/* ----- the fake directory and counters ----- */

struct fake_count {
	const char	*limit;
	const char	*key;
	uint64_t	 n;
};

struct fake_override {
	const char	*user;
	const char	*limit;
	int64_t		 value;
};

static struct {
	const struct fake_count		*counts;
	size_t				 ncounts;
	const struct fake_override	*overrides;
	size_t				 noverrides;
	char				 last_key[400];
	int				 calls;
} fake;

static const char *const fake_local_domains[] = {
	"example.org", "example.com"
};
static const char *const fake_users[] = {	/* users and aliases */
	"alice@example.org", "postmaster@example.org", "sales@example.org",
	"bob@example.com",
};
static const char *const fake_owned[][2] = {	/* user, address or @dom */
	{ "alice@example.org", "alice@example.org" },
	{ "alice@example.org", "sales@example.org" },
	{ "bob@example.com", "bob@example.com" },
	{ "app@example.org", "@example.net" },
	{ "news@example.org", "news@example.org" },
};

static void
assert_lower(const char *s)
{
	for (; *s != '\0'; s++)
		cr_assert(!(*s >= 'A' && *s <= 'Z'), "upper case reached the "
		    "directory: %s", s);
}

static enum dir_domain_kind
fake_domain_kind(void *impl, const char *domain)
{
	(void)impl;
	fake.calls++;
	assert_lower(domain);
	for (size_t i = 0; i < ARRAY_SIZE(fake_local_domains); i++)
		if (strcmp(domain, fake_local_domains[i]) == 0)
			return DIR_DOMAIN_LOCAL;
	if (strcmp(domain, "partner.example") == 0)
		return DIR_DOMAIN_RELAY;
	return DIR_DOMAIN_NONE;
}

static bool
fake_rcpt_exists(void *impl, const char *address)
{
	(void)impl;
	fake.calls++;
	assert_lower(address);
	for (size_t i = 0; i < ARRAY_SIZE(fake_users); i++)
		if (strcmp(address, fake_users[i]) == 0)
			return true;
	return false;
}

static bool
fake_sender_owned(void *impl, const char *user, const char *address)
{
	const char *at = strrchr(address, '@');

	(void)impl;
	fake.calls++;
	assert_lower(user);
	assert_lower(address);
	for (size_t i = 0; i < ARRAY_SIZE(fake_owned); i++) {
		if (strcmp(user, fake_owned[i][0]) != 0)
			continue;
		if (strcmp(address, fake_owned[i][1]) == 0 ||
		    (at != NULL && strcmp(at, fake_owned[i][1]) == 0))
			return true;
	}
	return false;
}

static bool
fake_network_match(void *impl, const char *name,
    const struct sockaddr *client)
{
	const struct sockaddr_in *sin = (const void *)client;
	uint8_t net[3] = { 198, 51, 100 };

	(void)impl;
	fake.calls++;
	return strcmp(name, "internal") == 0 && client->sa_family == AF_INET &&
	    memcmp(&sin->sin_addr, net, 3) == 0;
}

static int64_t
fake_limit_override(void *impl, const char *user, const char *limit)
{
	(void)impl;
	for (size_t i = 0; i < fake.noverrides; i++)
		if (strcmp(user, fake.overrides[i].user) == 0 &&
		    strcmp(limit, fake.overrides[i].limit) == 0)
			return fake.overrides[i].value;
	return -1;
}

static uint64_t
fake_count(void *impl, const char *limit, const char *key,
    int64_t window_secs, int64_t now)
{
	(void)impl;
	(void)window_secs;
	cr_assert_eq(now, 1700000000);
	str_copy(fake.last_key, key, sizeof(fake.last_key));
	for (size_t i = 0; i < fake.ncounts; i++)
		if (strcmp(limit, fake.counts[i].limit) == 0 &&
		    strcmp(key, fake.counts[i].key) == 0)
			return fake.counts[i].n;
	return 0;
}

static const struct policy_facts facts = {
	NULL, fake_domain_kind, fake_rcpt_exists, fake_sender_owned,
	fake_network_match, fake_limit_override, fake_count, 1700000000
};

static void
fake_set(const struct fake_count *c, size_t nc,
    const struct fake_override *o, size_t no)
{
	memset(&fake, 0, sizeof(fake));
	fake.counts = c;
	fake.ncounts = nc;
	fake.overrides = o;
	fake.noverrides = no;
}

/* ----- inputs ----- */

/* One evaluation as a table row; addresses are SMTP paths. */
struct ecase {
	const char	*listener;	/* name = role */
	const char	*client;	/* NULL: unix socket */
	const char	*user;
	bool		 tls;
	enum policy_stage stage;
	const char	*from;		/* MAIL FROM path, NULL: none */
	const char	*to;		/* RCPT TO path */
	uint64_t	 size;
	enum policy_action want;
	int		 code;		/* 0: any */
	const char	*route;		/* NULL: any */
};

struct built {
	struct sockaddr_storage ss;
	struct addr	 sender;
	struct addr	 rcpt;
	struct addr	 from;
	struct policy_input in;
};

static const struct sockaddr *
sockaddr_make(struct sockaddr_storage *ss, const char *text)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	} else {
		sin->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	}
	return (const struct sockaddr *)ss;
}

static void
path_parse(const char *path, unsigned opts, struct addr *a)
{
	const char *error = NULL;

	cr_assert_eq(addr_parse_path(path, strlen(path), opts | ADDR_ALLOW_UTF8,
	    a, NULL, &error), 0, "%s: %s", path, error);
}

static void
build(struct built *b, const struct ecase *c)
{
	enum listener_role role = LISTENER_MX;

	memset(b, 0, sizeof(*b));
	cr_assert_eq(listener_role_from_name(c->listener, strlen(c->listener),
	    &role), 0, "listener %s", c->listener);
	b->in.stage = c->stage;
	b->in.listener = c->listener;
	b->in.role = role;
	b->in.client = c->client ? sockaddr_make(&b->ss, c->client) : NULL;
	b->in.tls = c->tls;
	b->in.user = c->user;
	b->in.size = c->size;
	if (c->from != NULL) {
		path_parse(c->from, ADDR_ALLOW_NULL, &b->sender);
		b->in.sender = &b->sender;
		if (c->stage == POLICY_DATA && !(b->sender.flags &
		    ADDR_F_NULL)) {
			/* From: header as the envelope sender, by default */
			b->from = b->sender;
			b->in.from = &b->from;
			b->in.nfrom = 1;
		}
	}
	if (c->to != NULL) {
		path_parse(c->to, 0, &b->rcpt);
		b->in.rcpt = &b->rcpt;
	}
}

static void
case_check(const struct policy *p, const struct ecase *c, const char *what,
    size_t i)
{
	struct policy_decision d;
	struct built b;

	build(&b, c);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_eq(d.action, c->want, "%s case %zu (%s %s -> %s): got %s "
	    "%d %s by %s: %s", what, i, c->listener, policy_stage_name(
	    c->stage), c->to ? c->to : "", policy_action_name(d.action),
	    d.code, d.text, d.rule, d.why);
	if (c->code != 0)
		cr_expect_eq(d.code, c->code, "%s case %zu: code %d (%s)", what,
		    i, d.code, d.why);
	if (c->route != NULL)
		cr_expect_str_eq(d.route, c->route, "%s case %zu", what, i);
	cr_expect(d.rule[0] != '\0', "%s case %zu: no rule", what, i);
	cr_expect(d.why[0] != '\0', "%s case %zu: no why", what, i);
}

static const char *
srcdir(void)
{
	const char *d = getenv("top_srcdir");

	return d != NULL && *d != '\0' ? d : ".";
}

static struct policy *
shipped(const char *file)
{
	struct policy *p = NULL;
	const char *error = NULL;
	char *path = xasprintf("%s/policy/%s", srcdir(), file);

	cr_assert_eq(policy_load(path, &p, &error), 0, "%s: %s", path, error);
	free(path);
	return p;
}

static struct policy *
parse_ok(const char *text)
{
	struct policy *p = NULL;
	const char *error = NULL;

	cr_assert_eq(policy_parse("t.policy", text, strlen(text), NULL, NULL,
	    &p, &error), 0, "%s\n%s", error, text);
	return p;
}

static void
table_run(struct policy *p, const struct ecase *cases, size_t n,
    const char *what)
{
	fake_set(NULL, 0, NULL, 0);
	for (size_t i = 0; i < n; i++)
		case_check(p, &cases[i], what, i);
}

#define R	POLICY_RCPT
#define M	POLICY_MAIL
#define C	POLICY_CONNECT
#define D	POLICY_DATA
#define ACC	POLICY_ACCEPT
#define REJ	POLICY_REJECT
#define DEF	POLICY_DEFER
#define STRANGER	"<someone@remote.example>"

/* ----- relay tricks against default.policy ----- */

/*
 * An unauthenticated, untrusted client on mx. Tricks in the local domain
 * must end in a refusal (no such user, or the syntax refused), never in
 * an accept that a later hop would read as "forward elsewhere".
 */
static const struct ecase relay_tricks[] = {
	/* 0: the plain relay attempt */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<victim@remote.example>", 0, REJ, 554, NULL },
	/* percent hack, bang path, both directions */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user%remote.example@example.org>", 0, REJ, 553, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<remote.example!user@example.org>", 0, REJ, 553, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user%example.org@remote.example>", 0, REJ, 553, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice%remote.example@EXAMPLE.ORG>", 0, REJ, 553, NULL },
	/* 5: source routes through us */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<@example.org:user@remote.example>", 0, REJ, 553, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<@example.org,@partner.example:user@remote.example>", 0, REJ,
	    553, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<@remote.example:alice@example.org>", 0, REJ, 553, NULL },
	/* quoted "@", "%" and "!" in the local part */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<\"user@remote.example\"@example.org>", 0, REJ, 553, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<\"user%remote.example\"@example.org>", 0, REJ, 553, NULL },
	/* 10 */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<\"remote.example!user\"@example.org>", 0, REJ, 553, NULL },
	/* address literals, ours included */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user@[192.0.2.1]>", 0, REJ, 553, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user@[IPv6:2001:db8::1]>", 0, REJ, 553, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice@[203.0.113.25]>", 0, REJ, 553, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice@[127.0.0.1]>", 0, REJ, 553, NULL },
	/* 15 */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user@[IPv6:::ffff:192.0.2.1]>", 0, REJ, 553, NULL },
	/* the local domain as a prefix, suffix or part of another */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user@example.org.evil.test>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice@example.org.evil.test.>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user@evilexample.org>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice@evil-example.org>", 0, REJ, 554, NULL },
	/* 20 */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice@sub.example.org>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice@org>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user@partner.example.evil.test>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user@evilpartner.example>", 0, REJ, 554, NULL },
	/* routing syntax in a relay domain is refused too */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user%remote.example@partner.example>", 0, REJ, 553, NULL },
	/* 25 */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<remote.example!user@partner.example>", 0, REJ, 553, NULL },
	/* unknown users of the local domain: no such user, not relay */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<nobody@example.org>", 0, REJ, 550, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice+tag@example.org>", 0, REJ, 550, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<\"alice smith\"@example.org>", 0, REJ, 550, NULL },
	/* 8-bit text that is valid UTF-8 reaches the rules, and fails */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<\xc3\xbcser@example.org>", 0, REJ, 550, NULL },
	/* 30 */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user@b\xc3\xbc" "cher.example>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<user@example.org\xc3\xbc>", 0, REJ, 554, NULL },
	/* loopback, TLS, the null sender and a big size change nothing */
	{ "mx", "127.0.0.1", NULL, false, R, STRANGER,
	    "<victim@remote.example>", 0, REJ, 554, NULL },
	{ "mx", "::1", NULL, true, R, STRANGER,
	    "<victim@remote.example>", 0, REJ, 554, NULL },
	{ "mx", "::ffff:127.0.0.1", NULL, false, R, "<>",
	    "<victim@remote.example>", 0, REJ, 554, NULL },
	/* 35: the sender claims to be local, or the recipient's domain */
	{ "mx", "203.0.113.9", NULL, false, R, "<alice@example.org>",
	    "<victim@remote.example>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, "<x@remote.example>",
	    "<postmaster@remote.example>", 0, REJ, 554, NULL },
	/* the submission ports without a login relay nothing either */
	{ "submission", "203.0.113.9", NULL, true, R, STRANGER,
	    "<victim@remote.example>", 0, REJ, 554, NULL },
	{ "submissions", "203.0.113.9", NULL, true, R, STRANGER,
	    "<victim@remote.example>", 0, REJ, 554, NULL },
	/* a login on port 25 does not open relay */
	{ "mx", "203.0.113.9", "alice@example.org", true, R,
	    "<alice@example.org>", "<victim@remote.example>", 0, REJ, 554,
	    NULL },
	/* 40: mixed case and trailing dots are our users: accepted, local */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<ALICE@EXAMPLE.ORG.>", 0, ACC, 250, "local" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<Alice@Example.Org>", 0, ACC, 250, "local" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<\"alice\"@example.org>", 0, ACC, 250, "local" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<sales@example.org>", 0, ACC, 250, "local" },
	/* and the relay domain, by design */
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<User@Partner.Example.>", 0, ACC, 250, "" },
};

Test(policy_relay, default_policy_tricks)
{
	struct policy *p = shipped("default.policy");
	size_t refused = 0;

	cr_assert_geq(ARRAY_SIZE(relay_tricks), 30);
	table_run(p, relay_tricks, ARRAY_SIZE(relay_tricks), "trick");
	for (size_t i = 0; i < ARRAY_SIZE(relay_tricks); i++)
		refused += relay_tricks[i].want != ACC;
	cr_expect_geq(refused, 30);
	policy_free(&p);
}

/* Every shipped file refuses the same tricks from a stranger on mx. */
Test(policy_relay, every_shipped_policy_refuses_tricks)
{
	static const char *const files[] = {
		"default.policy", "corporate-relay.policy",
		"smarthost.policy", "isp-submission.policy"
	};

	for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
		struct policy *p = shipped(files[f]);

		fake_set(NULL, 0, NULL, 0);
		for (size_t i = 0; i < ARRAY_SIZE(relay_tricks); i++) {
			struct policy_decision d;
			struct built b;

			/* a stranger: smarthost.policy trusts loopback */
			if (relay_tricks[i].user != NULL ||
			    relay_tricks[i].client == NULL ||
			    strcmp(relay_tricks[i].client, "203.0.113.9") != 0)
				continue;
			build(&b, &relay_tricks[i]);
			policy_evaluate(p, &b.in, &facts, &d);
			cr_expect_eq(d.action == ACC,
			    relay_tricks[i].want == ACC, "%s trick %zu: %s (%s)",
			    files[f], i, policy_action_name(d.action), d.why);
		}
		policy_free(&p);
	}
}

/* Paths so broken that the SMTP parser refuses them before any policy. */
Test(policy_relay, parser_refuses_before_policy)
{
	static const char *const bad[] = {
		"<user@remote.example@example.org>",
		"<user@remote@example.org>",
		"<user@example.org..>",
		"<user@example..org>",
		"<@example.org>",
		"<\"\"@example.org>",
		"<>",
		"<user@>",
		"<user>",
		"<us\xff" "er@example.org>",
		"<user@exa\xc3mple.org>",
		"<user@exa\x01mple.org>",
		"<user@[192.0.2.256]>",
		"<user@[IPv5:1::1]>",
		"<user@192.0.2.1>",
		"<user@-example.org>",
		"<user @example.org>",
		"<user@example.org> junk",
		"<\"user@remote.example@example.org>",
	};
	struct addr a;
	const char *error;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		error = NULL;
		cr_expect_eq(addr_parse_path(bad[i], strlen(bad[i]),
		    ADDR_ALLOW_UTF8, &a, NULL, &error), -1, "%zu: %s", i,
		    bad[i]);
		cr_expect(error != NULL, "%zu", i);
	}
}

/* What the SMTP layer cannot send is still refused by the engine. */
Test(policy_relay, builtin_refuses_malformed_recipients)
{
	struct policy *p = parse_ok("at rcpt: any => accept\n");
	struct policy_decision d;
	struct addr empty, null, nodomain;
	struct policy_input in;
	struct addr sender;

	path_parse(STRANGER, 0, &sender);
	memset(&empty, 0, sizeof(empty));
	str_copy(empty.domain, "example.org", sizeof(empty.domain));
	empty.domain_len = strlen(empty.domain);
	memset(&null, 0, sizeof(null));
	null.flags = ADDR_F_NULL;
	memset(&nodomain, 0, sizeof(nodomain));
	str_copy(nodomain.local, "postmaster", sizeof(nodomain.local));
	nodomain.local_len = strlen(nodomain.local);
	nodomain.flags = ADDR_F_POSTMASTER_BARE;
	const struct addr *rcpts[] = { NULL, &empty, &null, &nodomain };

	for (size_t i = 0; i < ARRAY_SIZE(rcpts); i++) {
		memset(&in, 0, sizeof(in));
		in.stage = POLICY_RCPT;
		in.listener = "mx";
		in.sender = &sender;
		in.rcpt = rcpts[i];
		policy_evaluate(p, &in, &facts, &d);
		cr_expect_eq(d.action, REJ, "%zu", i);
		cr_expect_eq(d.code, 553, "%zu", i);
		cr_expect_str_eq(d.status, "5.1.3", "%zu", i);
		cr_expect_str_eq(d.rule, "builtin", "%zu", i);
	}
	/* no sender after MAIL: a caller bug, deferred, never accepted */
	memset(&in, 0, sizeof(in));
	in.stage = POLICY_RCPT;
	in.rcpt = &sender;
	policy_evaluate(p, &in, &facts, &d);
	cr_expect_eq(d.action, DEF);
	cr_expect_str_eq(d.rule, "builtin");
	/* a stage out of range */
	in.stage = POLICY_STAGE_COUNT;
	in.sender = &sender;
	policy_evaluate(p, &in, &facts, &d);
	cr_expect_eq(d.action, DEF);
	cr_expect_eq(d.code, 451);
	cr_expect_str_eq(d.rule, "builtin");
	/* a non-null sender without a domain */
	in.stage = POLICY_MAIL;
	in.sender = &nodomain;
	policy_evaluate(p, &in, &facts, &d);
	cr_expect_eq(d.action, REJ);
	cr_expect_eq(d.code, 553);
	cr_expect_str_eq(d.status, "5.1.7");
	policy_free(&p);
}

/* ----- the shipped files: representative decisions ----- */

static const struct ecase default_cases[] = {
	{ "mx", "203.0.113.9", NULL, false, C, NULL, NULL, 0, ACC, 220, NULL },
	{ "mx", "203.0.113.9", NULL, false, M, STRANGER, NULL, 0, ACC, 250,
	    NULL },
	{ "mx", "203.0.113.9", NULL, false, M, "<>", NULL, 0, ACC, 0, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, "<>", "<alice@example.org>", 0,
	    ACC, 250, "local" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<postmaster@example.org>", 0, ACC, 250, "local" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER, "<bob@example.com>",
	    0, ACC, 250, "local" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER, "<bob@example.org>",
	    0, REJ, 550, NULL },
	{ "mx", "203.0.113.9", NULL, false, D, STRANGER, NULL, 1000, ACC, 250,
	    NULL },
	/* submission: login required, then owned senders only */
	{ "submission", "198.51.100.7", NULL, true, M, "<alice@example.org>",
	    NULL, 0, REJ, 530, NULL },
	{ "submissions", "198.51.100.7", NULL, true, M,
	    "<alice@example.org>", NULL, 0, REJ, 530, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<alice@example.org>", NULL, 0, ACC, 250, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<Sales@Example.ORG>", NULL, 0, ACC, 250, NULL },
	{ "submission", "198.51.100.7", "Alice@Example.org", true, M,
	    "<alice@example.org>", NULL, 0, ACC, 250, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<bob@example.com>", NULL, 0, REJ, 553, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<>", NULL, 0, REJ, 553, NULL },
	{ "submission", "198.51.100.7", "app@example.org", true, M,
	    "<noreply@example.net>", NULL, 0, ACC, 250, NULL },
	{ "submission", "198.51.100.7", "app@example.org", true, M,
	    "<noreply@sub.example.net>", NULL, 0, REJ, 553, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, R,
	    "<alice@example.org>", "<friend@remote.example>", 0, ACC, 250,
	    "" },
	{ "submissions", "198.51.100.7", "alice@example.org", true, R,
	    "<alice@example.org>", "<friend@remote.example>", 0, ACC, 250,
	    "" },
	{ "submission", "198.51.100.7", "alice@example.org", true, R,
	    "<alice@example.org>", "<nobody@example.org>", 0, REJ, 550, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, R,
	    "<alice@example.org>", "<friend%x@remote.example>", 0, REJ, 553,
	    NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, D,
	    "<alice@example.org>", NULL, 100, ACC, 250, NULL },
	/* local socket: any recipient, still no unknown local users */
	{ "local", NULL, NULL, false, C, NULL, NULL, 0, ACC, 220, NULL },
	{ "local", NULL, NULL, false, M, "<root@host.example.org>", NULL, 0,
	    ACC, 250, NULL },
	{ "local", NULL, NULL, false, R, "<root@host.example.org>",
	    "<ops@remote.example>", 0, ACC, 250, "" },
	{ "local", NULL, NULL, false, R, "<root@host.example.org>",
	    "<nobody@example.org>", 0, REJ, 550, NULL },
	{ "local", NULL, NULL, false, D, "<root@host.example.org>", NULL, 0,
	    ACC, 250, NULL },
};

Test(policy_shipped, default_policy)
{
	struct policy *p = shipped("default.policy");

	table_run(p, default_cases, ARRAY_SIZE(default_cases), "default");
	policy_free(&p);
}

/* From: headers that are not the user's, at data. */
Test(policy_shipped, default_from_header)
{
	struct policy *p = shipped("default.policy");
	static const struct ecase c = { "submission", "198.51.100.7",
	    "alice@example.org", true, D, "<alice@example.org>", NULL, 10,
	    ACC, 250, NULL };
	struct policy_decision d;
	struct addr from[2];
	struct built b;

	fake_set(NULL, 0, NULL, 0);
	build(&b, &c);
	path_parse("<alice@example.org>", 0, &from[0]);
	path_parse("<SALES@example.org>", 0, &from[1]);
	b.in.from = from;
	b.in.nfrom = 2;
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_eq(d.action, ACC, "%s", d.why);
	path_parse("<ceo@example.com>", 0, &from[1]);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_eq(d.action, REJ);
	cr_expect_eq(d.code, 550);
	cr_expect_str_eq(d.status, "5.7.1");
	cr_expect_str_eq(d.text, "From: header address is not yours");
	b.in.nfrom = 0;	/* no From: at all is not owned either */
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_eq(d.action, REJ);
	b.in.user = NULL;	/* the rule is for logged-in users */
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_eq(d.action, ACC);
	policy_free(&p);
}

static const struct ecase corporate_cases[] = {
	{ "submission", "198.51.100.7", NULL, false, M, "<alice@example.org>",
	    NULL, 0, REJ, 530, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", false, M,
	    "<alice@example.org>", NULL, 0, REJ, 530, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<alice@example.org>", NULL, 0, ACC, 250, NULL },
	{ "submissions", "198.51.100.7", "alice@example.org", true, M,
	    "<sales@example.org>", NULL, 0, ACC, 250, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<ceo@example.org>", NULL, 0, REJ, 553, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, R,
	    "<alice@example.org>", "<client@remote.example>", 0, ACC, 250,
	    "" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice@example.org>", 0, ACC, 250, "local" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<someone@partner.example>", 0, ACC, 250, "" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<client@remote.example>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", "alice@example.org", true, R,
	    "<alice@example.org>", "<client@remote.example>", 0, REJ, 554,
	    NULL },
	{ "local", NULL, NULL, false, R, "<cron@example.org>",
	    "<client@remote.example>", 0, ACC, 250, "" },
};

Test(policy_shipped, corporate_relay)
{
	struct policy *p = shipped("corporate-relay.policy");

	table_run(p, corporate_cases, ARRAY_SIZE(corporate_cases),
	    "corporate");
	policy_free(&p);
}

static const struct ecase smarthost_cases[] = {
	/* the list in the file: loopback */
	{ "mx", "127.0.0.1", NULL, false, R, "<cron@app.example.org>",
	    "<ops@remote.example>", 0, ACC, 250, "" },
	{ "mx", "::1", NULL, false, R, "<cron@app.example.org>",
	    "<ops@remote.example>", 0, ACC, 250, "" },
	{ "mx", "::ffff:127.0.0.2", NULL, false, R, "<>",
	    "<ops@remote.example>", 0, ACC, 250, "" },
	/* the named network in directory.db */
	{ "mx", "198.51.100.20", NULL, false, R, "<printer@example.org>",
	    "<ops@remote.example>", 0, ACC, 250, "" },
	{ "mx", "198.51.101.20", NULL, false, R, "<printer@example.org>",
	    "<ops@remote.example>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<ops@remote.example>", 0, REJ, 554, NULL },
	{ "mx", "2001:db8::9", NULL, false, R, STRANGER,
	    "<ops@remote.example>", 0, REJ, 554, NULL },
	/* trusted networks still meet the syntax rules */
	{ "mx", "198.51.100.20", NULL, false, R, "<printer@example.org>",
	    "<ops%x@remote.example>", 0, REJ, 553, NULL },
	{ "mx", "198.51.100.20", NULL, false, R, "<printer@example.org>",
	    "<nobody@example.org>", 0, REJ, 550, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice@example.org>", 0, ACC, 250, "local" },
	{ "local", NULL, NULL, false, R, "<root@example.org>",
	    "<ops@remote.example>", 0, ACC, 250, "" },
	/* trust is for mx and the socket: submission still needs a login */
	{ "submission", "198.51.100.20", NULL, true, M, "<printer@example.org>",
	    NULL, 0, REJ, 530, NULL },
	{ "submission", "198.51.100.20", NULL, true, R, "<printer@example.org>",
	    "<ops@remote.example>", 0, REJ, 554, NULL },
};

Test(policy_shipped, smarthost)
{
	struct policy *p = shipped("smarthost.policy");

	table_run(p, smarthost_cases, ARRAY_SIZE(smarthost_cases),
	    "smarthost");
	policy_free(&p);
}

static const struct ecase isp_cases[] = {
	/* port 25 never relays, even with a login */
	{ "mx", "203.0.113.9", "alice@example.org", true, R,
	    "<alice@example.org>", "<friend@remote.example>", 0, REJ, 554,
	    NULL },
	{ "mx", "127.0.0.1", NULL, false, R, STRANGER,
	    "<friend@remote.example>", 0, REJ, 554, NULL },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<alice@example.org>", 0, ACC, 250, "local" },
	{ "mx", "203.0.113.9", NULL, false, R, STRANGER,
	    "<nobody@example.org>", 0, REJ, 550, NULL },
	/* submission: TLS, login, owned senders, no null sender */
	{ "submission", "198.51.100.7", "alice@example.org", false, M,
	    "<alice@example.org>", NULL, 0, REJ, 530, NULL },
	{ "submission", "198.51.100.7", NULL, true, M, "<alice@example.org>",
	    NULL, 0, REJ, 530, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<>", NULL, 0, REJ, 553, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<bob@example.com>", NULL, 0, REJ, 553, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<alice@example.org>", NULL, 0, ACC, 250, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<alice@example.org>", NULL, 50 * 1024 * 1024 + 1, REJ, 552,
	    NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, M,
	    "<alice@example.org>", NULL, 50 * 1024 * 1024, ACC, 250, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, R,
	    "<alice@example.org>", "<friend@remote.example>", 0, ACC, 250,
	    "" },
	{ "submissions", "2001:db8:1:2::7", "alice@example.org", true, R,
	    "<alice@example.org>", "<friend@remote.example>", 0, ACC, 250,
	    "" },
	{ "submission", "198.51.100.7", "alice@example.org", true, R,
	    "<alice@example.org>", "<nobody@example.org>", 0, REJ, 550, NULL },
	{ "submission", "198.51.100.7", "alice@example.org", true, D,
	    "<alice@example.org>", NULL, 1000, ACC, 250, NULL },
};

Test(policy_shipped, isp_submission)
{
	struct policy *p = shipped("isp-submission.policy");

	table_run(p, isp_cases, ARRAY_SIZE(isp_cases), "isp");
	policy_free(&p);
}

/* The ISP's limits: per user with an override, per client, per net. */
Test(policy_shipped, isp_limits)
{
	static const struct fake_count counts[] = {
		{ "user_messages", "alice@example.org", 100 },
		{ "user_messages", "news@example.org", 100 },
		{ "user_recipients", "alice@example.org", 299 },
		{ "client_connections", "203.0.113.9", 20 },
		{ "net_connections", "198.51.100.0/24", 200 },
		{ "net_auth_failures", "2001:db8:1:2::/64", 30 },
	};
	static const struct fake_override ovr[] = {
		{ "news@example.org", "user_messages", 5000 },
	};
	static const struct ecase cases[] = {
		{ "submission", "192.0.2.1", "alice@example.org", true, M,
		    "<alice@example.org>", NULL, 0, DEF, 450, NULL },
		{ "submission", "192.0.2.1", "news@example.org", true, M,
		    "<news@example.org>", NULL, 0, ACC, 250, NULL },
		{ "submission", "192.0.2.1", "alice@example.org", true, R,
		    "<alice@example.org>", "<x@remote.example>", 0, ACC, 250,
		    "" },
		{ "mx", "203.0.113.9", NULL, false, C, NULL, NULL, 0, DEF, 421,
		    NULL },
		{ "mx", "203.0.113.8", NULL, false, C, NULL, NULL, 0, ACC,
		    220, NULL },
		{ "mx", "198.51.100.99", NULL, false, C, NULL, NULL, 0, DEF,
		    421, NULL },
		{ "submission", "2001:db8:1:2:ffff::1", NULL, false, C, NULL,
		    NULL, 0, DEF, 421, NULL },
		{ "submission", "2001:db8:1:3::1", NULL, false, C, NULL, NULL,
		    0, ACC, 220, NULL },
	};
	struct policy *p = shipped("isp-submission.policy");

	fake_set(counts, ARRAY_SIZE(counts), ovr, ARRAY_SIZE(ovr));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		case_check(p, &cases[i], "isp limit", i);
	policy_free(&p);
}

/* ----- every condition, and its negation ----- */

struct ccase {
	const char	*cond;		/* at STAGE: COND => reject ... */
	struct ecase	 in;		/* want: ACC when the cond holds */
};

#define BASE_RCPT(to)	"mx", "203.0.113.9", NULL, false, R, STRANGER, to, 0
#define BASE_MAIL(from)	"mx", "203.0.113.9", NULL, false, M, from, NULL, 0
#define YES	ACC, 0, NULL
#define NO	REJ, 0, NULL

static const char cond_prelude[] =
	"list nets = 192.0.2.0/24, 2001:db8::/32\n"
	"list people = alice@example.org, @partner.example, .example.net\n"
	"list doms = example.org, .sub.example\n"
	"limit ucount = 3 messages per 1h by user\n"
	"limit ccount = 3 connections per 1m by client\n"
	"limit ncount = 3 recipients per 1h by net\n";

static const struct ccase cond_cases[] = {
	{ "any", { BASE_RCPT("<a@b.example>"), YES } },
	{ "listener mx", { BASE_RCPT("<a@b.example>"), YES } },
	{ "listener MX", { BASE_RCPT("<a@b.example>"), YES } },
	{ "listener submission", { BASE_RCPT("<a@b.example>"), NO } },
	{ "listener [submission, mx]", { BASE_RCPT("<a@b.example>"), YES } },
	{ "listener [local]", { "local", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 0, YES } },
	{ "client in $nets", { "mx", "192.0.2.77", NULL, false, R, STRANGER,
	    "<a@b.example>", 0, YES } },
	{ "client in $nets", { "mx", "::ffff:192.0.2.77", NULL, false, R,
	    STRANGER, "<a@b.example>", 0, YES } },
	{ "client in $nets", { "mx", "2001:db8:ffff::1", NULL, false, R,
	    STRANGER, "<a@b.example>", 0, YES } },
	{ "client in $nets", { "mx", "192.0.3.1", NULL, false, R, STRANGER,
	    "<a@b.example>", 0, NO } },
	{ "client in $nets", { "local", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 0, NO } },
	{ "client in [203.0.113.9]", { BASE_RCPT("<a@b.example>"), YES } },
	{ "client in [203.0.113.0/25, ::1]", { BASE_RCPT("<a@b.example>"),
	    YES } },
	{ "client in [203.0.113.128/25]", { BASE_RCPT("<a@b.example>"), NO } },
	{ "network internal", { "mx", "198.51.100.1", NULL, false, R, STRANGER,
	    "<a@b.example>", 0, YES } },
	{ "network internal", { BASE_RCPT("<a@b.example>"), NO } },
	{ "network [other, internal]", { "mx", "198.51.100.1", NULL, false, R,
	    STRANGER, "<a@b.example>", 0, YES } },
	{ "network other", { "mx", "198.51.100.1", NULL, false, R, STRANGER,
	    "<a@b.example>", 0, NO } },
	{ "network internal", { "local", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 0, NO } },
	{ "auth", { BASE_RCPT("<a@b.example>"), NO } },
	{ "auth", { "mx", "203.0.113.9", "u@x.example", false, R, STRANGER,
	    "<a@b.example>", 0, YES } },
	{ "user alice@example.org", { "mx", NULL, "ALICE@example.org", false,
	    R, STRANGER, "<a@b.example>", 0, YES } },
	{ "user alice@example.org", { "mx", NULL, "bob@example.org", false,
	    R, STRANGER, "<a@b.example>", 0, NO } },
	{ "user alice@example.org", { BASE_RCPT("<a@b.example>"), NO } },
	{ "user in $people", { "mx", NULL, "x@partner.example", false, R,
	    STRANGER, "<a@b.example>", 0, YES } },
	{ "user $people", { "mx", NULL, "x@a.example.net", false, R,
	    STRANGER, "<a@b.example>", 0, YES } },
	{ "user $people", { "mx", NULL, "x@example.net", false, R,
	    STRANGER, "<a@b.example>", 0, NO } },
	{ "tls", { BASE_RCPT("<a@b.example>"), NO } },
	{ "tls", { "mx", "203.0.113.9", NULL, true, R, STRANGER,
	    "<a@b.example>", 0, YES } },
	{ "sender null", { "mx", NULL, NULL, false, R, "<>", "<a@b.example>",
	    0, YES } },
	{ "sender null", { BASE_RCPT("<a@b.example>"), NO } },
	{ "sender in $people", { "mx", NULL, NULL, false, R,
	    "<Alice@Example.Org>", "<a@b.example>", 0, YES } },
	{ "sender in $people", { "mx", NULL, NULL, false, R,
	    "<alice2@example.org>", "<a@b.example>", 0, NO } },
	{ "sender in $people", { "mx", NULL, NULL, false, R,
	    "<x@PARTNER.example.>", "<a@b.example>", 0, YES } },
	{ "sender in $people", { "mx", NULL, NULL, false, R,
	    "<x@evilpartner.example>", "<a@b.example>", 0, NO } },
	{ "sender in $people", { "mx", NULL, NULL, false, R,
	    "<x@deep.sub.example.net>", "<a@b.example>", 0, YES } },
	{ "sender in $people", { "mx", NULL, NULL, false, R,
	    "<x@example.net>", "<a@b.example>", 0, NO } },
	{ "sender in $people", { "mx", NULL, NULL, false, R,
	    "<x@badexample.net>", "<a@b.example>", 0, NO } },
	{ "sender in $people", { "mx", NULL, NULL, false, R, "<>",
	    "<a@b.example>", 0, NO } },
	{ "sender domain local", { "mx", NULL, NULL, false, R,
	    "<x@example.org>", "<a@b.example>", 0, YES } },
	{ "sender domain local", { "mx", NULL, NULL, false, R,
	    "<x@partner.example>", "<a@b.example>", 0, NO } },
	{ "sender domain relay", { "mx", NULL, NULL, false, R,
	    "<x@partner.example>", "<a@b.example>", 0, YES } },
	{ "sender domain local", { "mx", NULL, NULL, false, R, "<>",
	    "<a@b.example>", 0, NO } },
	{ "sender owned", { "mx", NULL, "alice@example.org", false, R,
	    "<sales@example.org>", "<a@b.example>", 0, YES } },
	{ "sender owned", { "mx", NULL, "bob@example.com", false, R,
	    "<sales@example.org>", "<a@b.example>", 0, NO } },
	{ "sender owned", { "mx", NULL, NULL, false, R,
	    "<sales@example.org>", "<a@b.example>", 0, NO } },
	{ "sender owned", { "mx", NULL, "alice@example.org", false, R, "<>",
	    "<a@b.example>", 0, NO } },
	{ "rcpt local", { BASE_RCPT("<x@EXAMPLE.org>"), YES } },
	{ "rcpt local", { BASE_RCPT("<x@partner.example>"), NO } },
	{ "rcpt local", { BASE_RCPT("<x@[192.0.2.1]>"), NO } },
	{ "rcpt relay", { BASE_RCPT("<x@partner.example>"), YES } },
	{ "rcpt relay", { BASE_RCPT("<x@example.org>"), NO } },
	{ "rcpt exists", { BASE_RCPT("<ALICE@example.org>"), YES } },
	{ "rcpt exists", { BASE_RCPT("<alice@example.com>"), NO } },
	{ "rcpt in $people", { BASE_RCPT("<alice@example.org>"), YES } },
	{ "rcpt in $people", { BASE_RCPT("<bob@example.org>"), NO } },
	{ "rcpt in [\"@[192.0.2.1]\"]", { BASE_RCPT("<x@[192.0.2.1]>"),
	    YES } },
	{ "rcpt in [\"@[192.0.2.1]\"]", { BASE_RCPT("<x@[192.0.2.10]>"),
	    NO } },
	{ "rcpt domain in $doms", { BASE_RCPT("<x@example.org.>"), YES } },
	{ "rcpt domain in $doms", { BASE_RCPT("<x@a.example.org>"), NO } },
	{ "rcpt domain in $doms", { BASE_RCPT("<x@example.org.evil.test>"),
	    NO } },
	{ "rcpt domain in $doms", { BASE_RCPT("<x@example.organic>"), NO } },
	{ "rcpt in $people", { BASE_RCPT("<x@partner.example.evil.test>"),
	    NO } },
	{ "rcpt in $people", { BASE_RCPT("<alice@example.org.evil.test>"),
	    NO } },
	{ "rcpt domain in $doms", { BASE_RCPT("<x@a.sub.example>"), YES } },
	{ "rcpt domain in $doms", { BASE_RCPT("<x@sub.example>"), NO } },
	{ "rcpt domain in $doms", { BASE_RCPT("<x@evilsub.example>"), NO } },
	{ "rcpt domain in [Example.ORG.]", { BASE_RCPT("<x@example.org>"),
	    YES } },
	{ "rcpt routing", { BASE_RCPT("<a%b@example.org>"), YES } },
	{ "rcpt routing", { BASE_RCPT("<b!a@example.org>"), YES } },
	{ "rcpt routing", { BASE_RCPT("<\"a@b\"@example.org>"), YES } },
	{ "rcpt routing", { BASE_RCPT("<@x.example:a@example.org>"), YES } },
	{ "rcpt routing", { BASE_RCPT("<\"a b\"@example.org>"), NO } },
	{ "rcpt routing", { BASE_RCPT("<a.b-c+d@example.org>"), NO } },
	{ "rcpt literal", { BASE_RCPT("<a@[192.0.2.1]>"), YES } },
	{ "rcpt literal", { BASE_RCPT("<a@[IPv6:::1]>"), YES } },
	{ "rcpt literal", { BASE_RCPT("<a@example.org>"), NO } },
	{ "size > 1000", { "mx", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 1001, YES } },
	{ "size > 1000", { "mx", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 1000, NO } },
	{ "size > 1K", { "mx", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 1025, YES } },
	{ "size > 1k", { "mx", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 1024, NO } },
	{ "size > 2g", { "mx", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 2147483649ULL, YES } },
	{ "size > 0", { "mx", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 0, NO } },
	{ "over ucount", { "mx", NULL, "full@example.org", false, R,
	    STRANGER, "<a@b.example>", 0, YES } },
	{ "over ucount", { "mx", NULL, "nearly@example.org", false, R,
	    STRANGER, "<a@b.example>", 0, NO } },
	{ "over ucount", { "mx", NULL, "raised@example.org", false, R,
	    STRANGER, "<a@b.example>", 0, NO } },
	{ "over ucount", { "mx", NULL, "zero@example.org", false, R,
	    STRANGER, "<a@b.example>", 0, YES } },
	{ "over ucount", { BASE_RCPT("<a@b.example>"), NO } },
	{ "over ccount", { "mx", "192.0.2.5", NULL, false, R, STRANGER,
	    "<a@b.example>", 0, YES } },
	{ "over ccount", { "mx", "::ffff:192.0.2.5", NULL, false, R, STRANGER,
	    "<a@b.example>", 0, YES } },
	{ "over ccount", { "mx", "192.0.2.5", "full@example.org", false, R,
	    STRANGER, "<a@b.example>", 0, YES } },
	{ "over ccount", { "mx", "192.0.2.6", NULL, false, R, STRANGER,
	    "<a@b.example>", 0, NO } },
	{ "over ccount", { "local", NULL, NULL, false, R, STRANGER,
	    "<a@b.example>", 0, NO } },
	{ "over ncount", { "mx", "192.0.2.200", NULL, false, R, STRANGER,
	    "<a@b.example>", 0, YES } },
	{ "over ncount", { "mx", "2001:db8:0:7:1::1", NULL, false, R,
	    STRANGER, "<a@b.example>", 0, YES } },
	{ "over ncount", { "mx", "2001:db8:0:8::1", NULL, false, R,
	    STRANGER, "<a@b.example>", 0, NO } },
	/* combinations */
	{ "listener mx and rcpt local and rcpt exists",
	    { BASE_RCPT("<alice@example.org>"), YES } },
	{ "listener mx and rcpt local and rcpt exists",
	    { BASE_RCPT("<bob@example.org>"), NO } },
	{ "not auth and not tls and listener mx",
	    { BASE_RCPT("<a@b.example>"), YES } },
};

static const struct fake_count cond_counts[] = {
	{ "ucount", "full@example.org", 3 },
	{ "ucount", "nearly@example.org", 2 },
	{ "ucount", "raised@example.org", 9 },
	{ "ccount", "192.0.2.5", 3 },
	{ "ccount", "192.0.2.6", 2 },
	{ "ncount", "192.0.2.0/24", 4 },
	{ "ncount", "2001:db8:0:7::/64", 3 },
};

static const struct fake_override cond_overrides[] = {
	{ "raised@example.org", "ucount", 10 },
	{ "zero@example.org", "ucount", 0 },
	{ "full@example.org", "ccount", 100 },	/* not a user limit */
};

static void
cond_run(const struct ccase *cc, bool negate, size_t i)
{
	struct policy_decision d;
	struct policy *p;
	struct built b;
	char *text;
	bool holds = cc->in.want == ACC;

	text = xasprintf("%sat %s: %s%s => accept\nat %s: any => reject 550 "
	    "5.7.1 \"no\"\n", cond_prelude, policy_stage_name(cc->in.stage),
	    negate ? "not " : "", cc->cond, policy_stage_name(cc->in.stage));
	p = parse_ok(text);
	build(&b, &cc->in);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_eq(d.action == ACC, holds != negate, "cond %zu: %s%s: %s",
	    i, negate ? "not " : "", cc->cond, d.why);
	if (d.action == ACC)
		cr_expect_str_eq(d.rule, "t.policy:7", "cond %zu", i);
	else
		cr_expect_str_eq(d.rule, "t.policy:8", "cond %zu", i);
	policy_free(&p);
	free(text);
}

Test(policy_cond, table_and_negation)
{
	fake_set(cond_counts, ARRAY_SIZE(cond_counts), cond_overrides,
	    ARRAY_SIZE(cond_overrides));
	for (size_t i = 0; i < ARRAY_SIZE(cond_cases); i++) {
		const char *cond = cond_cases[i].cond;

		cond_run(&cond_cases[i], false, i);
		/* `not` binds to one condition: negate single ones only */
		if (strstr(cond, " and ") == NULL &&
		    strncmp(cond, "not ", 4) != 0)
			cond_run(&cond_cases[i], true, i);
	}
}

/* Conditions of the mail and data stages. */
Test(policy_cond, mail_and_data_stages)
{
	struct policy *p = parse_ok(
	    "at mail: sender null => reject 550 5.7.1 \"null\"\n"
	    "at mail: size > 10M => reject 552 5.3.4 \"big\"\n"
	    "at data: from owned => defer 450 4.7.1 \"owned\"\n"
	    "at data: size > 10M => reject 552 5.3.4 \"big\"\n");
	static const struct ecase cases[] = {
		{ BASE_MAIL("<>"), REJ, 550, NULL },
		{ BASE_MAIL("<a@b.example>"), ACC, 250, NULL },
		{ "mx", NULL, NULL, false, M, "<a@b.example>", NULL,
		    10 * 1024 * 1024 + 1, REJ, 552, NULL },
		{ "mx", NULL, "alice@example.org", false, D,
		    "<alice@example.org>", NULL, 0, DEF, 450, NULL },
		{ "mx", NULL, "alice@example.org", false, D,
		    "<bob@example.com>", NULL, 0, ACC, 250, NULL },
		{ "mx", NULL, "bob@example.com", false, D,
		    "<bob@example.com>", NULL, 20 * 1024 * 1024, DEF, 450,
		    NULL },
		{ "mx", NULL, NULL, false, D, "<bob@example.com>", NULL,
		    20 * 1024 * 1024, REJ, 552, NULL },
	};

	table_run(p, cases, ARRAY_SIZE(cases), "stage");
	policy_free(&p);
}

/* A listener matches by its name (any case) or by its role. */
Test(policy_cond, listener_name_or_role)
{
	static const struct {
		const char	*cond;
		const char	*name;
		bool		 match;
	} cases[] = {
		{ "listener inbound", "inbound", true },
		{ "listener inbound", "Inbound", true },
		{ "listener INBOUND", "inbound", true },
		{ "listener mx", "Inbound", true },
		{ "listener submission", "Inbound", false },
		{ "listener [local, inbound_2]", "Inbound_2", true },
		{ "listener inbound", NULL, false },
		{ "listener mx", NULL, true },
	};
	static const struct ecase c = { BASE_RCPT("<a@b.example>"), ACC, 0,
	    NULL };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *text = xasprintf("at rcpt: %s => accept\n",
		    cases[i].cond);
		struct policy *p = parse_ok(text);
		struct policy_decision d;
		struct built b;

		build(&b, &c);
		b.in.listener = cases[i].name;
		policy_evaluate(p, &b.in, &facts, &d);
		cr_expect_eq(d.action == ACC, cases[i].match, "%zu: %s", i,
		    d.why);
		policy_free(&p);
		free(text);
	}
}

/* ----- order, defaults, decisions ----- */

Test(policy_eval, first_match_wins)
{
	struct policy *p = parse_ok(
	    "# a comment\n"
	    "at rcpt: rcpt local => reject 550 5.1.1 \"first\"\n"
	    "at rcpt: rcpt local => accept route local\n"
	    "at rcpt: any => accept route relay up-stream.1\n"
	    "at rcpt: any => reject 554 5.7.1 \"never\"\n");
	static const struct ecase cases[] = {
		{ BASE_RCPT("<alice@example.org>"), REJ, 550, NULL },
		{ BASE_RCPT("<a@b.example>"), ACC, 250, "relay:up-stream.1" },
	};
	struct policy_decision d;
	struct built b;

	table_run(p, cases, ARRAY_SIZE(cases), "order");
	build(&b, &cases[0]);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_str_eq(d.rule, "t.policy:2");
	cr_expect_str_eq(d.status, "5.1.1");
	cr_expect_str_eq(d.text, "first");
	cr_expect_str_eq(d.why, "rule t.policy:2 matched: rcpt local");
	build(&b, &cases[1]);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_str_eq(d.rule, "t.policy:4");
	cr_expect_str_eq(d.status, "2.1.5");
	cr_expect_str_eq(d.text, "");
	policy_free(&p);
}

Test(policy_eval, stage_defaults)
{
	struct policy *p = parse_ok("");
	static const struct ecase cases[] = {
		{ "mx", "203.0.113.9", NULL, false, C, NULL, NULL, 0, ACC, 220,
		    "" },
		{ BASE_MAIL(STRANGER), ACC, 250, "" },
		{ BASE_RCPT("<alice@example.org>"), REJ, 554, "" },
		{ "local", NULL, NULL, false, R, STRANGER, "<a@b.example>", 0,
		    REJ, 554, "" },
		{ "mx", NULL, NULL, false, D, STRANGER, NULL, 0, ACC, 250, "" },
	};
	struct policy_decision d;
	struct built b;

	table_run(p, cases, ARRAY_SIZE(cases), "default");
	build(&b, &cases[2]);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_str_eq(d.rule, "default");
	cr_expect_str_eq(d.status, "5.7.1");
	cr_expect_str_eq(d.text, "Relay access denied");
	cr_expect(strstr(d.why, "no rule at rcpt matched") != NULL, "%s",
	    d.why);
	policy_free(&p);
}

/* Rules of other stages never decide; NULL facts read as "no". */
Test(policy_eval, stages_are_separate_and_facts_optional)
{
	struct policy *p = parse_ok(
	    "at mail: any => reject 550 5.7.1 \"mail\"\n"
	    "at rcpt: not rcpt local => accept\n"
	    "at data: any => defer 451 4.3.0 \"data\"\n");
	struct policy_facts none;
	struct policy_decision d;
	static const struct ecase c = { BASE_RCPT("<alice@example.org>"),
	    ACC, 0, NULL };
	struct built b;

	memset(&none, 0, sizeof(none));
	build(&b, &c);
	policy_evaluate(p, &b.in, &none, &d);
	cr_expect_eq(d.action, ACC, "%s", d.why);
	policy_evaluate(p, &b.in, NULL, &d);
	cr_expect_eq(d.action, ACC, "%s", d.why);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_eq(d.action, REJ, "%s", d.why);
	cr_expect_str_eq(d.rule, "default");
	policy_free(&p);
}

struct trace_log {
	struct buf	 b;
	int		 n;
};

static void
trace_fn(void *ctx, const char *rule, bool matched, const char *detail)
{
	struct trace_log *t = ctx;

	t->n++;
	buf_printf(&t->b, "%s %s %s\n", rule, matched ? "yes" : "no", detail);
}

Test(policy_eval, trace_and_why)
{
	static const struct fake_count counts[] = {
		{ "c", "203.0.113.9", 7 },
	};
	struct policy *p = parse_ok(
	    "limit c = 5 recipients per 1h by client\n"
	    "at rcpt: listener submission => accept\n"
	    "at rcpt: not rcpt local and client in [203.0.113.0/24] "
	    "and over c => defer 452 4.7.1 \"slow down\"\n");
	static const struct ecase c = { BASE_RCPT("<x@b.example>"), DEF, 452,
	    NULL };
	struct trace_log t = { BUF_INIT, 0 };
	struct policy_decision d;
	struct built b;

	fake_set(counts, ARRAY_SIZE(counts), NULL, 0);
	build(&b, &c);
	policy_evaluate_trace(p, &b.in, &facts, &d, trace_fn, &t);
	cr_expect_eq(d.action, DEF);
	cr_expect_eq(t.n, 2);
	cr_expect_str_eq(buf_cstr(&t.b),
	    "t.policy:2 no 'listener submission' is false\n"
	    "t.policy:3 yes rule t.policy:3 matched: not rcpt local, "
	    "client in [203.0.113.0/24], over c (7 recipients of 5 per 3600s "
	    "for client 203.0.113.9)\n");
	cr_expect_str_eq(d.why, "rule t.policy:3 matched: not rcpt local, "
	    "client in [203.0.113.0/24], over c (7 recipients of 5 per 3600s "
	    "for client 203.0.113.9)");
	buf_release(&t.b);
	policy_free(&p);
}

/* ----- limits ----- */

struct key_log {
	struct buf	 b;
};

static void
key_fn(void *ctx, const char *limit, const char *key, int64_t window)
{
	struct key_log *k = ctx;

	buf_printf(&k->b, "%s=%s/%lld;", limit, key, (long long)window);
}

static const char limit_text[] =
	"set net-prefix = 16 48\n"
	"limit uc = 1 connections per 1s by user\n"
	"limit cc = 60 connection per 1m by client\n"
	"limit nc = 600 connections per 1h by net\n"
	"limit um = 500 messages per 1d by user\n"
	"limit ur = 5000 recipient per 1w by user\n"
	"limit ca = 10 auth-failures per 1h by client\n"
	"limit na = 0 auth-failure per 30s by net\n";

Test(policy_limit, keys_per_event)
{
	struct policy *p = parse_ok(limit_text);
	struct key_log k = { BUF_INIT };
	struct sockaddr_storage ss;
	struct policy_input in;

	memset(&in, 0, sizeof(in));
	in.user = "Alice@Example.ORG";
	in.client = sockaddr_make(&ss, "192.0.2.77");
	policy_limit_keys(p, POLICY_EV_CONNECTION, &in, key_fn, &k);
	cr_expect_str_eq(buf_cstr(&k.b), "uc=alice@example.org/1;"
	    "cc=192.0.2.77/60;nc=192.0.0.0/16/3600;");
	buf_reset(&k.b);
	in.client = sockaddr_make(&ss, "2001:db8:aaaa:bbbb::1");
	in.user = NULL;
	policy_limit_keys(p, POLICY_EV_AUTH_FAILURE, &in, key_fn, &k);
	cr_expect_str_eq(buf_cstr(&k.b), "ca=2001:db8:aaaa:bbbb::1/3600;"
	    "na=2001:db8:aaaa::/48/30;");
	buf_reset(&k.b);
	in.client = sockaddr_make(&ss, "::ffff:198.51.100.4");
	policy_limit_keys(p, POLICY_EV_AUTH_FAILURE, &in, key_fn, &k);
	cr_expect_str_eq(buf_cstr(&k.b), "ca=198.51.100.4/3600;"
	    "na=198.51.0.0/16/30;");
	buf_reset(&k.b);
	in.client = NULL;	/* unix socket, no login: nothing to count */
	policy_limit_keys(p, POLICY_EV_CONNECTION, &in, key_fn, &k);
	cr_expect_str_eq(buf_cstr(&k.b), "");
	in.user = "bob@example.com";
	policy_limit_keys(p, POLICY_EV_MESSAGE, &in, key_fn, &k);
	policy_limit_keys(p, POLICY_EV_RECIPIENT, &in, key_fn, &k);
	cr_expect_str_eq(buf_cstr(&k.b), "um=bob@example.com/86400;"
	    "ur=bob@example.com/604800;");
	buf_release(&k.b);

	cr_expect_eq(policy_limit_count(p), 7);
	const struct policy_limit *l = policy_limit_get(p, 6);
	cr_assert_not_null(l);
	cr_expect_str_eq(l->name, "na");
	cr_expect_eq(l->max, 0);
	cr_expect_eq(l->event, POLICY_EV_AUTH_FAILURE);
	cr_expect_eq(l->scope, POLICY_SCOPE_NET);
	cr_expect_eq(l->line, 8);
	cr_expect_str_eq(l->file, "t.policy");
	cr_expect_null(policy_limit_get(p, 7));
	policy_free(&p);
}

/* Default net prefixes are /24 and /64. */
Test(policy_limit, default_net_prefix)
{
	struct policy *p = parse_ok(
	    "limit n = 1 connections per 1m by net\n");
	struct key_log k = { BUF_INIT };
	struct sockaddr_storage ss;
	struct policy_input in;

	memset(&in, 0, sizeof(in));
	in.client = sockaddr_make(&ss, "192.0.2.77");
	policy_limit_keys(p, POLICY_EV_CONNECTION, &in, key_fn, &k);
	in.client = sockaddr_make(&ss, "2001:db8:1:2:3::4");
	policy_limit_keys(p, POLICY_EV_CONNECTION, &in, key_fn, &k);
	cr_expect_str_eq(buf_cstr(&k.b), "n=192.0.2.0/24/60;"
	    "n=2001:db8:1:2::/64/60;");
	buf_release(&k.b);
	policy_free(&p);
}

/* The limit boundary, overrides (user limits only) and a zero limit. */
Test(policy_limit, boundary_and_overrides)
{
	static const struct {
		const char	*user;
		uint64_t	 count;
		int64_t		 override;	/* -1 none */
		bool		 over;
	} cases[] = {
		{ "u@example.org", 0, -1, false },
		{ "u@example.org", 4, -1, false },
		{ "u@example.org", 5, -1, true },
		{ "u@example.org", 6, -1, true },
		{ "u@example.org", 5, 6, false },
		{ "u@example.org", 6, 6, true },
		{ "u@example.org", 0, 0, true },
		{ "u@example.org", 1000000, 2147483647, false },
		{ NULL, 1000, -1, false },
	};
	struct policy *p = parse_ok(
	    "limit m = 5 messages per 1h by user\n"
	    "at mail: over m => defer 450 4.7.1 \"Too many messages (m)\"\n");

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fake_count c = { "m", cases[i].user ? cases[i].user :
		    "", cases[i].count };
		struct fake_override o = { "u@example.org", "m",
		    cases[i].override };
		struct ecase e = { "submission", "192.0.2.1", cases[i].user,
		    true, M, "<u@example.org>", NULL, 0, cases[i].over ? DEF :
		    ACC, cases[i].over ? 450 : 250, NULL };

		fake_set(&c, 1, &o, cases[i].override >= 0 ? 1 : 0);
		case_check(p, &e, "limit", i);
	}
	policy_free(&p);
}

/* ----- lists ----- */

Test(policy_list, references_and_entries)
{
	struct policy *p = parse_ok(
	    "list a = 192.0.2.0/24,\n"
	    "    ::1 # comment inside a continued list\n"
	    "list b = $a, 198.51.100.7\n"
	    "list c = \"\\\"john smith\\\"@Example.org\", x@y.example\n"
	    "at rcpt: client in $b and rcpt in $c => accept\n"
	    "at rcpt: listener mx and\n"
	    "    client in [\n"
	    "        203.0.113.1,\n"
	    "        203.0.113.2] =>\n"
	    "    accept route local\n"
	    "at rcpt: any =>\n"
	    "\n"
	    "    # a comment between the arrow and the decision\n"
	    "    reject 554 5.7.1 \"Relay access denied\"\n");
	static const struct ecase cases[] = {
		{ "mx", "198.51.100.7", NULL, false, R, STRANGER,
		    "<\"John Smith\"@example.org>", 0, ACC, 250, "" },
		{ "mx", "::1", NULL, false, R, STRANGER, "<X@Y.example>", 0,
		    ACC, 250, "" },
		{ "mx", "192.0.2.9", NULL, false, R, STRANGER,
		    "<john.smith@example.org>", 0, REJ, 554, NULL },
		{ "mx", "203.0.113.2", NULL, false, R, STRANGER,
		    "<a@b.example>", 0, ACC, 250, "local" },
	};

	table_run(p, cases, ARRAY_SIZE(cases), "list");
	cr_expect_eq(policy_rule_count(p), 3);
	policy_free(&p);
}

/* ----- parse errors: each names file and line ----- */

static const struct {
	const char	*text;
	const char	*error;
} parse_errors[] = {
	{ "at rcpt: frobnicate => accept\n",
	    "t.policy:1: unknown condition 'frobnicate'" },
	{ "\n\nat rcpt: any => reject 450 4.7.1 \"x\"\n",
	    "t.policy:3: expected a 5xx reply code (500 to 559) for reject, "
	    "found '450'" },
	{ "at rcpt: any => defer 550 5.7.1 \"x\"\n",
	    "t.policy:1: expected a 4xx reply code (400 to 459) for defer, "
	    "found '550'" },
	{ "at rcpt: any => reject 599 5.7.1 \"x\"\n",
	    "t.policy:1: expected a 5xx reply code" },
	{ "at rcpt: any => reject 550 4.7.1 \"x\"\n",
	    "t.policy:1: expected an enhanced status 5.X.Y, found '4.7.1'" },
	{ "at rcpt: any => defer 450 4.7 \"x\"\n",
	    "t.policy:1: expected an enhanced status 4.X.Y" },
	{ "at rcpt: any => defer 450 4.7.1000 \"x\"\n",
	    "t.policy:1: expected an enhanced status 4.X.Y" },
	{ "at rcpt: any => defer 450 4.07.1 \"x\"\n",
	    "t.policy:1: expected an enhanced status 4.X.Y" },
	{ "at rcpt: any => reject 550 5.7.1\n",
	    "t.policy:1: expected the reply text in double quotes at the end" },
	{ "at rcpt: any => reject 550 5.7.1 \"\"\n",
	    "t.policy:1: empty reply text" },
	{ "at rcpt: any => reject 550 5.7.1 \"caf\xc3\xa9\"\n",
	    "t.policy:1: reply text must be printable ASCII" },
	{ "at rcpt: any => reject 550 5.7.1 \"x\" extra\n",
	    "t.policy:1: unexpected 'extra' after the decision" },
	{ "at rcpt: any => reject\n",
	    "t.policy:1: expected a 5xx reply code" },
	{ "at rcpt: any => bounce\n",
	    "t.policy:1: expected accept, reject or defer, found 'bounce'" },
	{ "at rcpt: any\n", "t.policy:1: expected 'and' or '=>' at the end" },
	{ "at rcpt: any or auth => accept\n",
	    "t.policy:1: expected 'and' or '=>', found 'or'" },
	{ "at rcpt: => accept\n", "t.policy:1: unknown condition '=>'" },
	{ "at helo: any => accept\n",
	    "t.policy:1: expected connect:, mail:, rcpt: or data:" },
	{ "at rcpt any => accept\n",
	    "t.policy:1: expected connect:, mail:, rcpt: or data:" },
	{ "at rcpt : any => accept route local extra\n",
	    "t.policy:1: unexpected 'extra' after the decision" },
	{ "at mail: any => accept route local\n",
	    "t.policy:1: a route belongs to a rule at rcpt" },
	{ "at rcpt: any => accept route relay\n",
	    "t.policy:1: expected a smarthost name" },
	{ "at rcpt: any => accept route relay Up\n",
	    "t.policy:1: expected a smarthost name" },
	{ "at rcpt: client in $nope => accept\n",
	    "t.policy:1: unknown list '$nope'" },
	{ "at rcpt: client in nope => accept\n",
	    "t.policy:1: expected a list ($name or [ ... ]), found 'nope'" },
	{ "at rcpt: client in [] => accept\n",
	    "t.policy:1: expected a list entry, found ']'" },
	{ "at rcpt: client in [192.0.2.1 => accept\n",
	    "t.policy:1: expected ',' between list entries, found '=>'" },
	{ "list a = x@y.example\nat rcpt: client in $a => accept\n",
	    "t.policy:2: client in needs IP addresses or networks: "
	    "'x@y.example' has no place in this list" },
	{ "at rcpt: rcpt domain in [a@b.example] => accept\n",
	    "t.policy:1: expected @domains, .domains or domains: 'a@b.example' "
	    "has no place" },
	{ "at rcpt: rcpt in [192.0.2.0/24] => accept\n",
	    "t.policy:1: expected addresses, @domains, .domains or domains: a "
	    "network has no place in this list" },
	{ "at rcpt: listener [a@b.example] => accept\n",
	    "t.policy:1: expected names: 'a@b.example' has no place" },
	{ "at rcpt: rcpt in [bad_name] => accept\n",
	    "t.policy:1: expected addresses, @domains, .domains or domains: "
	    "'bad_name' has no place" },
	{ "at rcpt: over nolimit => accept\n",
	    "t.policy:1: unknown limit 'nolimit'" },
	{ "limit u = 1 messages per 1h by user\nat connect: over u => "
	    "accept\n", "t.policy:2: limit 'u' counts by user, and no user is "
	    "known at connect" },
	{ "at connect: auth => accept\n",
	    "t.policy:1: 'auth' cannot be known at connect" },
	{ "at connect: not sender null => accept\n",
	    "t.policy:1: 'sender null' cannot be known at connect" },
	{ "at mail: rcpt local => accept\n",
	    "t.policy:1: 'rcpt local' cannot be known at mail" },
	{ "at data: rcpt exists => accept\n",
	    "t.policy:1: 'rcpt exists' cannot be known at data" },
	{ "at rcpt: from owned => accept\n",
	    "t.policy:1: 'from owned' cannot be known at rcpt" },
	{ "at connect: size > 1M => accept\n",
	    "t.policy:1: 'size > 1M' cannot be known at connect" },
	{ "at mail: size > 1T => accept\n",
	    "t.policy:1: expected a size such as" },
	{ "at mail: size >= 1 => accept\n", "t.policy:1: expected '>'" },
	{ "at mail: size > 018 => accept\n",
	    "t.policy:1: expected a size such as" },
	{ "at mail: size > 99999999999999999999 => accept\n",
	    "t.policy:1: expected a size such as" },
	{ "at mail: sender domain foreign => accept\n",
	    "t.policy:1: expected local or relay, found 'foreign'" },
	{ "at mail: sender => accept\n",
	    "t.policy:1: expected null, owned, in or domain after sender" },
	{ "at rcpt: rcpt => accept\n",
	    "t.policy:1: expected local, relay, exists" },
	{ "at data: from => accept\n", "t.policy:1: expected 'owned'" },
	{ "list = a\n", "t.policy:1: bad list name '='" },
	{ "list A = a\n", "t.policy:1: bad list name 'A'" },
	{ "list a a\n", "t.policy:1: expected '=', found 'a'" },
	{ "list a =\n", "t.policy:1: expected a list entry at the end" },
	{ "list a = b,\n", "t.policy:1: expected a list entry at the end" },
	{ "list a = b c\n",
	    "t.policy:1: expected ',' between list entries, found 'c'" },
	{ "list a = b\n\nlist a = c\n",
	    "t.policy:3: list 'a' already defined at t.policy:1" },
	{ "list a = 192.0.2.0/33\n",
	    "t.policy:1: list entry '192.0.2.0/33': IPv4 prefix length over "
	    "32" },
	{ "list a = 192.0.2.256\n", "t.policy:1: list entry '192.0.2.256'" },
	{ "list a = @exa_mple.org\n",
	    "t.policy:1: list entry '@exa_mple.org'" },
	{ "list a = \".[192.0.2.1]\"\n", "t.policy:1: list entry "
	    "'\".[192.0.2.1]\"': an address literal has no sub-domains" },
	{ "list a = a@b@c.example\n",
	    "t.policy:1: list entry 'a@b@c.example'" },
	{ "list a = hello!\n", "t.policy:1: list entry 'hello!': not a "
	    "network, address, domain or name" },
	{ "list a = \"\"\n",
	    "t.policy:1: expected a list entry, found '\"\"'" },
	{ "list a = $b\n", "t.policy:1: unknown list '$b'" },
	{ "list a = 127.0.0.0/8, $a\n", "t.policy:1: unknown list '$a'" },
	{ "list a = 127.0.0.0/8\nlist b = $b, $a\n",
	    "t.policy:2: unknown list '$b'" },
	{ "limit x = 10 messages per 1h\n",
	    "t.policy:1: expected 'by' at the end" },
	{ "limit x = 10 messages per 1h by host\n",
	    "t.policy:1: expected user, client or net, found 'host'" },
	{ "limit x = 10 mails per 1h by user\n",
	    "t.policy:1: expected connections, messages, recipients or "
	    "auth-failures, found 'mails'" },
	{ "limit x = -1 messages per 1h by user\n",
	    "t.policy:1: expected a number of events" },
	{ "limit x = 2147483648 messages per 1h by user\n",
	    "t.policy:1: expected a number of events" },
	{ "limit x = 1 messages per 0m by user\n",
	    "t.policy:1: expected a window such as" },
	{ "limit x = 1 messages per 8d by user\n",
	    "t.policy:1: expected a window such as" },
	{ "limit x = 1 messages per 2w by user\n",
	    "t.policy:1: expected a window such as" },
	{ "limit x = 1 messages per 1y by user\n",
	    "t.policy:1: expected a window such as" },
	{ "limit x = 1 messages per h by user\n",
	    "t.policy:1: expected a window such as" },
	{ "limit x = 1 messages per 60 by user\n",
	    "t.policy:1: expected a window such as" },
	{ "limit x = 1 messages per 1h by user extra\n",
	    "t.policy:1: unexpected 'extra' after the limit" },
	{ "limit x = 1 messages per 1h by user\nlimit x = 2 messages per 1h "
	    "by user\n", "t.policy:2: limit 'x' already defined at "
	    "t.policy:1" },
	{ "set net-prefix = 24\n", "t.policy:1: expected an IPv6 prefix" },
	{ "set net-prefix = 33 64\n", "t.policy:1: expected an IPv4 prefix" },
	{ "set net-prefix = 24 129\n", "t.policy:1: expected an IPv6 prefix" },
	{ "set net-prefix = 24 64\nset net-prefix = 16 48\n",
	    "t.policy:2: net-prefix is already set" },
	{ "set hostname = x\n", "t.policy:1: expected 'net-prefix', found "
	    "'hostname'" },
	{ "allow everything\n", "t.policy:1: unknown statement 'allow'" },
	{ "at rcpt: any => reject 550 5.7.1 \"open\n",
	    "t.policy:1: string without its closing quote" },
	{ "at rcpt: any => reject 550 5.7.1 \"bad \\n escape\"\n",
	    "t.policy:1: bad escape in string" },
	{ "include \"x.policy\"\n",
	    "t.policy:1: include is not available here" },
	{ "include x.policy\n",
	    "t.policy:1: expected a file name in double quotes, found "
	    "'x.policy'" },
	{ "\n\n\nat rcpt: any\x01 => accept\n",
	    "t.policy:4: control character 0x01" },
	{ "at rcpt: any => accept\r\nat rcpt\r: any => accept\n",
	    "t.policy:2: carriage return not before a line feed" },
	{ "at rcpt: any => accept\n\x7f\n", "t.policy:2: control character "
	    "0x7f" },
	{ "at rcpt:: any => accept\n", "t.policy:1: unknown condition ':'" },
	{ "at rcpt :any => accept\n",
	    "t.policy:1: expected connect:, mail:, rcpt: or data:, found "
	    "'rcpt'" },
	{ "at rcpt: not not auth => accept\n",
	    "t.policy:1: unknown condition 'not'" },
	{ "at rcpt: any and\n\n=> accept\n",
	    "t.policy:3: unknown condition '=>'" },
};

Test(policy_parse, errors_name_file_and_line)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_errors); i++) {
		struct policy *p = (struct policy *)&p;
		const char *error = NULL;
		const char *t = parse_errors[i].text;

		cr_expect_eq(policy_parse("t.policy", t, strlen(t), NULL, NULL,
		    &p, &error), -1, "case %zu: %s", i, t);
		cr_expect_null(p, "case %zu", i);
		cr_expect(error != NULL && strncmp(error, parse_errors[i].error,
		    strlen(parse_errors[i].error)) == 0,
		    "case %zu:\n got  %s\n want %s", i, error,
		    parse_errors[i].error);
	}
}

Test(policy_parse, nul_byte)
{
	static const char text[] = "at rcpt: any => accept\n# a\0b\n";
	struct policy *p;
	const char *error = NULL;

	cr_expect_eq(policy_parse("t.policy", text, sizeof(text) - 1, NULL,
	    NULL, &p, &error), -1);
	cr_expect_str_eq(error, "t.policy:2: NUL byte in the file");
}

/* Lines of exactly the maximum pass; one byte more fails, CR or not. */
Test(policy_parse, line_and_file_limits)
{
	struct buf b = BUF_INIT;
	struct policy *p;
	const char *error = NULL;

	buf_append_str(&b, "at rcpt: any => accept\n#");
	for (size_t i = 1; i < POLICY_LINE_MAX; i++)
		buf_append_byte(&b, 'x');
	buf_append_str(&b, "\r\n");
	cr_expect_eq(policy_parse("t.policy", b.data, b.len, NULL, NULL, &p,
	    &error), 0, "%s", error);
	policy_free(&p);
	cr_expect_null(p);
	buf_truncate(&b, b.len - 2);
	buf_append_str(&b, "x\n");
	cr_expect_eq(policy_parse("t.policy", b.data, b.len, NULL, NULL, &p,
	    &error), -1);
	cr_expect_str_eq(error, "t.policy:2: line longer than 4096 bytes");

	/* a file of exactly POLICY_FILE_MAX bytes, then one more */
	buf_reset(&b);
	while (b.len + 101 <= POLICY_FILE_MAX) {
		buf_append_str(&b, "#");
		for (int i = 0; i < 99; i++)
			buf_append_byte(&b, 'y');
		buf_append_byte(&b, '\n');
	}
	while (b.len < POLICY_FILE_MAX)
		buf_append_byte(&b, '\n');
	cr_expect_eq(policy_parse("t.policy", b.data, b.len, NULL, NULL, &p,
	    &error), 0, "%s", error);
	cr_expect_eq(policy_rule_count(p), 0);
	policy_free(&p);
	buf_append_byte(&b, '\n');
	cr_expect_eq(policy_parse("t.policy", b.data, b.len, NULL, NULL, &p,
	    &error), -1);
	cr_expect_str_eq(error, "t.policy: larger than 1024 KiB");
	buf_release(&b);
}

/* Lists that copy lists cannot make the parser hold more than the bound. */
Test(policy_parse, list_entry_bound)
{
	struct buf b = BUF_INIT;
	struct policy *p = NULL;
	const char *error = NULL;

	/* 2^20 entries from a 600-byte file, if nothing stopped it */
	buf_append_str(&b, "list l0 = a, b\n");
	for (int i = 1; i <= 20; i++)
		buf_printf(&b, "list l%d = $l%d, $l%d\n", i, i - 1, i - 1);
	cr_expect_eq(policy_parse("t.policy", b.data, b.len, NULL, NULL, &p,
	    &error), -1);
	cr_expect_str_eq(error, "t.policy:16: more than 100000 list entries "
	    "in the rule set");
	cr_expect_null(p);
	/* exactly the bound passes */
	buf_reset(&b);
	buf_append_str(&b, "list a = x");
	for (int i = 1; i < 1000; i++)
		buf_append_str(&b, ",x");
	buf_append_str(&b, "\nlist b = ");
	for (int i = 0; i < 99; i++)
		buf_printf(&b, "%s$a", i ? ", " : "");
	buf_append_str(&b, "\n");
	cr_expect_eq(policy_parse("t.policy", b.data, b.len, NULL, NULL, &p,
	    &error), 0, "%s", error);
	policy_free(&p);
	buf_truncate(&b, b.len - 1);
	buf_append_str(&b, ", y\n");
	cr_expect_eq(policy_parse("t.policy", b.data, b.len, NULL, NULL, &p,
	    &error), -1);
	cr_expect_str_eq(error, "t.policy:2: more than 100000 list entries "
	    "in the rule set");
	buf_release(&b);
}

/* Empty input, comments only, a last line without its line end. */
Test(policy_parse, empty_and_edges)
{
	static const char *const ok[] = {
		"", "\n", "# only a comment", "   \t\n\r\n",
		"at rcpt: any => accept", "at rcpt:any => accept\r\n",
		"at rcpt : any => accept", "at data:not tls => accept",
		"list a = x # trailing comment\n",
		"at rcpt: rcpt in [a#b@example.org] => accept\n",
		"at connect: tls => accept\n",
		"at rcpt: not not_a_word@example.org => accept\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct policy *p = NULL;
		const char *error = NULL;
		int rc;

		rc = policy_parse("t.policy", ok[i], strlen(ok[i]), NULL, NULL,
		    &p, &error);
		if (i == ARRAY_SIZE(ok) - 1) {
			/* a word where a condition belongs is an error */
			cr_expect_eq(rc, -1, "%zu", i);
			continue;
		}
		cr_expect_eq(rc, 0, "%zu: %s", i, error);
		policy_free(&p);
	}
	policy_free(NULL);
}

/* The same text whole, and cut into lines fed as the same text. */
Test(policy_parse, reference_format)
{
	struct policy *p = parse_ok(
	    "\n"
	    "at rcpt: any => defer 421 4.3.2 \"Say \\\"hi\\\" \\\\ bye\"\n");
	static const struct ecase c = { BASE_RCPT("<a@b.example>"), DEF, 421,
	    NULL };
	struct policy_decision d;
	struct built b;

	build(&b, &c);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_str_eq(d.text, "Say \"hi\" \\ bye");
	cr_expect_str_eq(d.status, "4.3.2");
	cr_expect_str_eq(d.rule, "t.policy:2");
	cr_expect_eq(policy_file_count(p), 1);
	policy_free(&p);
}

/* ----- includes ----- */

struct mem_file {
	const char	*name;
	const char	*text;
};

static const struct mem_file mem_files[] = {
	{ "dir/main.policy", "include \"common.policy\"\n"
	    "at rcpt: client in $trusted => accept route local\n" },
	{ "dir/common.policy", "list trusted = 192.0.2.0/24\n"
	    "\n"
	    "at rcpt: rcpt literal => reject 553 5.7.1 \"literal\"\n" },
	{ "dir/cycle-a.policy", "include \"cycle-b.policy\"\n" },
	{ "dir/cycle-b.policy", "# b\ninclude \"cycle-a.policy\"\n" },
	{ "dir/self.policy", "include \"self.policy\"\n" },
	{ "dir/deep.policy", "include \"deep.policy.1\"\n" },
	{ "dir/bad.policy", "list x = y\ninclude \"broken.policy\"\n" },
	{ "dir/broken.policy", "\n\nat rcpt: nonsense => accept\n" },
	{ "dir/nul.policy", "include \"hasnul.policy\"\n" },
	{ "dir/twice.policy", "include \"common.policy\"\n"
	    "include \"common.policy\"\n" },
	{ "dir/missing.policy", "include \"absent.policy\"\n" },
	{ "dir/big.policy", "include \"huge.policy\"\n" },
};

/* deep.policy.N includes deep.policy.N+1; hasnul and huge are made up. */
static int
mem_include(void *ctx, const char *from, const char *path,
    struct policy_text *t_r, const char **error_r)
{
	const char *slash = strrchr(from, '/');
	char *name;
	int n;

	(void)ctx;
	name = xasprintf("%.*s/%s", (int)(slash - from), from, path);
	if (sscanf(path, "deep.policy.%d", &n) == 1) {
		t_r->name = name;
		t_r->data = xasprintf("include \"deep.policy.%d\"\n", n + 1);
		t_r->len = strlen(t_r->data);
		return 0;
	}
	if (strcmp(path, "hasnul.policy") == 0) {
		t_r->name = name;
		t_r->data = xmalloc(8);
		memcpy(t_r->data, "\n\n#\0\n", 5);
		t_r->len = 5;
		return 0;
	}
	if (strcmp(path, "huge.policy") == 0) {
		t_r->name = name;
		t_r->len = POLICY_FILE_MAX + 1;
		t_r->data = xcalloc(1, t_r->len);
		memset(t_r->data, '\n', t_r->len);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(mem_files); i++) {
		if (strcmp(mem_files[i].name, name) == 0) {
			t_r->name = name;
			t_r->data = xstrdup(mem_files[i].text);
			t_r->len = strlen(t_r->data);
			return 0;
		}
	}
	free(name);
	*error_r = "No such file or directory";
	return -1;
}

static int
mem_parse(const char *name, struct policy **p_r, const char **error_r)
{
	for (size_t i = 0; i < ARRAY_SIZE(mem_files); i++)
		if (strcmp(mem_files[i].name, name) == 0)
			return policy_parse(name, mem_files[i].text,
			    strlen(mem_files[i].text), mem_include, NULL, p_r,
			    error_r);
	cr_assert_fail("no file %s", name);
	return -1;
}

Test(policy_include, works_and_names_the_included_file)
{
	struct policy *p;
	const char *error = NULL;
	static const struct ecase cases[] = {
		{ "mx", "192.0.2.8", NULL, false, R, STRANGER,
		    "<a@[192.0.2.1]>", 0, REJ, 553, NULL },
		{ "mx", "192.0.2.8", NULL, false, R, STRANGER,
		    "<a@b.example>", 0, ACC, 250, "local" },
	};
	struct policy_decision d;
	struct built b;

	cr_assert_eq(mem_parse("dir/main.policy", &p, &error), 0, "%s", error);
	table_run(p, cases, ARRAY_SIZE(cases), "include");
	build(&b, &cases[0]);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_str_eq(d.rule, "dir/common.policy:3");
	build(&b, &cases[1]);
	policy_evaluate(p, &b.in, &facts, &d);
	cr_expect_str_eq(d.rule, "dir/main.policy:2");
	cr_expect_eq(policy_file_count(p), 2);
	policy_free(&p);
}

Test(policy_include, errors)
{
	static const struct {
		const char	*file;
		const char	*error;
	} cases[] = {
		{ "dir/cycle-a.policy", "dir/cycle-b.policy:2: include cycle: "
		    "dir/cycle-a.policy -> dir/cycle-b.policy -> "
		    "dir/cycle-a.policy" },
		{ "dir/self.policy", "dir/self.policy:1: include cycle: "
		    "dir/self.policy -> dir/self.policy" },
		{ "dir/deep.policy", "dir/deep.policy.8:1: includes nested "
		    "deeper than 8" },
		{ "dir/bad.policy", "dir/broken.policy:3: unknown condition "
		    "'nonsense'" },
		{ "dir/nul.policy", "dir/hasnul.policy:3: NUL byte in the "
		    "file" },
		{ "dir/twice.policy", "dir/twice.policy:2: dir/common.policy "
		    "is already included" },
		{ "dir/missing.policy", "dir/missing.policy:1: include "
		    "\"absent.policy\": No such file or directory" },
		{ "dir/big.policy", "dir/big.policy:1: include "
		    "\"huge.policy\": larger than 1024 KiB" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct policy *p = NULL;
		const char *error = NULL;

		cr_expect_eq(mem_parse(cases[i].file, &p, &error), -1, "%zu",
		    i);
		cr_expect_null(p);
		cr_expect_str_eq(error ? error : "(null)", cases[i].error,
		    "case %zu", i);
	}
}

/* policy_load on real files: relative includes, cycles, missing files. */
Test(policy_include, load_real_files)
{
	char dir[] = "/tmp/test_policy.XXXXXX";
	struct policy *p = NULL;
	const char *error = NULL;
	char *path, *real, *want;
	FILE *fp;

	cr_assert_not_null(mkdtemp(dir));
	path = xasprintf("%s/sub", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	free(path);
	static const char *const files[][2] = {
		{ "main.policy", "include \"sub/part.policy\"\n" },
		{ "sub/part.policy", "\nat rcpt: any => accept\n" },
		{ "loop.policy", "include \"sub/loop.policy\"\n" },
		{ "sub/loop.policy", "include \"../loop.policy\"\n" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		path = xasprintf("%s/%s", dir, files[i][0]);
		cr_assert_not_null(fp = fopen(path, "w"));
		fputs(files[i][1], fp);
		fclose(fp);
		free(path);
	}
	path = xasprintf("%s/main.policy", dir);
	cr_expect_eq(policy_load(path, &p, &error), 0, "%s", error);
	cr_expect_eq(policy_rule_count(p), 1);
	policy_free(&p);
	free(path);

	path = xasprintf("%s/loop.policy", dir);
	cr_expect_eq(policy_load(path, &p, &error), -1);
	real = realpath(dir, NULL);
	want = xasprintf("%s/sub/loop.policy:1: include cycle: "
	    "%s/loop.policy -> %s/sub/loop.policy -> %s/loop.policy", real,
	    real, real, real);
	cr_expect_str_eq(error, want);
	free(want);
	free(path);

	path = xasprintf("%s/absent.policy", dir);
	cr_expect_eq(policy_load(path, &p, &error), -1);
	want = xasprintf("%s: No such file or directory", path);
	cr_expect_str_eq(error, want);
	free(want);
	free(path);
	cr_expect_eq(policy_load(dir, &p, &error), -1);
	cr_expect(strstr(error, "not a regular file") != NULL, "%s", error);

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		path = xasprintf("%s/%s", dir, files[i][0]);
		unlink(path);
		free(path);
	}
	path = xasprintf("%s/sub", dir);
	rmdir(path);
	free(path);
	rmdir(dir);
	free(real);
}

/* The examples of sluice.policy(5) are rules that parse. */
Test(policy_doc, man_page_examples_parse)
{
	char *path = xasprintf("%s/docs/sluice.policy.5", srcdir());
	struct buf text = BUF_INIT;
	struct policy *p = NULL;
	const char *error = NULL;
	bool in_examples = false, in_block = false;
	char line[1024];
	FILE *fp;

	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, ".Sh ", 4) == 0)
			in_examples = strcmp(line, ".Sh EXAMPLES\n") == 0;
		else if (in_examples && strncmp(line, ".Bd ", 4) == 0)
			in_block = true;
		else if (strncmp(line, ".Ed", 3) == 0)
			in_block = false;
		else if (in_examples && in_block)
			buf_append_str(&text, line);
	}
	fclose(fp);
	cr_expect_gt(text.len, 500);
	cr_expect_eq(policy_parse(path, text.data, text.len, NULL, NULL, &p,
	    &error), 0, "%s", error);
	cr_expect_geq(policy_rule_count(p), 15);
	policy_free(&p);
	buf_release(&text);
	free(path);
}

/* ----- names ----- */

Test(policy_names, round_trip)
{
	enum policy_stage s;

	for (int i = 0; i < POLICY_STAGE_COUNT; i++) {
		cr_expect_eq(policy_stage_from_name(policy_stage_name(i), &s),
		    0);
		cr_expect_eq((int)s, i);
	}
	cr_expect_eq(policy_stage_from_name("helo", &s), -1);
	cr_expect_str_eq(policy_stage_name(POLICY_STAGE_COUNT), "unknown");
	cr_expect_str_eq(policy_action_name(POLICY_DEFER), "defer");
	cr_expect_str_eq(policy_event_name(POLICY_EV_AUTH_FAILURE),
	    "auth-failures");
	cr_expect_str_eq(policy_scope_name(POLICY_SCOPE_NET), "net");
}
