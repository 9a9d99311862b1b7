/*
 * Fuzz the policy parser with arbitrary rule text (includes refused) and,
 * when it parses, evaluate a few fixed inputs at every stage against a
 * fake directory, checking what every decision must hold.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "policy.h"
#include "util.h"

static enum dir_domain_kind
f_domain_kind(void *impl, const char *domain)
{
	(void)impl;
	if (strcmp(domain, "example.org") == 0)
		return DIR_DOMAIN_LOCAL;
	if (strcmp(domain, "partner.example") == 0)
		return DIR_DOMAIN_RELAY;
	return DIR_DOMAIN_NONE;
}

static bool
f_rcpt_exists(void *impl, const char *address)
{
	(void)impl;
	return strcmp(address, "alice@example.org") == 0;
}

static bool
f_sender_owned(void *impl, const char *user, const char *address)
{
	(void)impl;
	return strcmp(user, address) == 0;
}

static bool
f_network_match(void *impl, const char *name, const struct sockaddr *sa)
{
	(void)impl;
	(void)sa;
	return name[0] == 'i';
}

static int64_t
f_limit_override(void *impl, const char *user, const char *limit)
{
	(void)impl;
	(void)user;
	return limit[0] == 'o' ? 1 : -1;
}

static uint64_t
f_count(void *impl, const char *limit, const char *key, int64_t window,
    int64_t now)
{
	(void)impl;
	(void)now;
	return strlen(limit) + strlen(key) + (uint64_t)window % 7;
}

static const struct policy_facts facts = {
	NULL, f_domain_kind, f_rcpt_exists, f_sender_owned, f_network_match,
	f_limit_override, f_count, 1700000000
};

static void
key_fn(void *ctx, const char *limit, const char *key, int64_t window)
{
	(void)ctx;
	if (limit[0] == '\0' || key[0] == '\0' || window <= 0)
		abort();
}

static void
check(const struct policy_input *in, const struct policy_decision *d)
{
	if (memchr(d->why, '\0', sizeof(d->why)) == NULL ||
	    memchr(d->rule, '\0', sizeof(d->rule)) == NULL ||
	    d->rule[0] == '\0')
		abort();
	switch (d->action) {
	case POLICY_ACCEPT:
		if (d->route[0] != '\0' && in->stage != POLICY_RCPT)
			abort();
		break;
	case POLICY_REJECT:
		if (d->code < 500 || d->code > 559 || d->status[0] != '5' ||
		    d->text[0] == '\0')
			abort();
		break;
	case POLICY_DEFER:
		if (d->code < 400 || d->code > 459 || d->status[0] != '4' ||
		    d->text[0] == '\0')
			abort();
		break;
	default:
		abort();
	}
}

static void
evaluate_all(const struct policy *p)
{
	static const char *const rcpts[] = {
		"<alice@example.org>", "<user%remote@example.org>",
		"<x@partner.example>", "<x@[192.0.2.1]>",
		"<x@remote.example>",
	};
	struct sockaddr_in sin;
	struct addr sender, rcpt, from[2];
	struct policy_input in;
	struct policy_decision d;
	const char *error;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0xc0000201);
	addr_parse_path("<alice@example.org>", 19, 0, &sender, NULL, &error);
	from[0] = sender;
	addr_parse_path("<bob@example.org>", 17, 0, &from[1], NULL, &error);
	for (int stage = 0; stage < POLICY_STAGE_COUNT; stage++) {
		for (size_t i = 0; i < ARRAY_SIZE(rcpts); i++) {
			addr_parse_path(rcpts[i], strlen(rcpts[i]), 0, &rcpt,
			    NULL, &error);
			memset(&in, 0, sizeof(in));
			in.stage = (enum policy_stage)stage;
			in.listener = i % 2 ? "mx" : "submission";
			in.role = i % 2 ? LISTENER_MX : LISTENER_SUBMISSION;
			in.client = i == 3 ? NULL : (struct sockaddr *)&sin;
			in.tls = i % 3 == 0;
			in.user = i % 2 ? NULL : "alice@example.org";
			in.sender = stage == POLICY_CONNECT ? NULL : &sender;
			in.rcpt = stage == POLICY_RCPT ? &rcpt : NULL;
			in.size = i * 1000000;
			in.from = from;
			in.nfrom = i % 3;
			policy_evaluate(p, &in, &facts, &d);
			check(&in, &d);
			/* no rule can make a stranger relay by default */
			if (stage == POLICY_RCPT && i == 4 && in.user == NULL &&
			    policy_rule_count(p) == 0 &&
			    d.action == POLICY_ACCEPT)
				abort();
			policy_limit_keys(p, (enum policy_event)(i % 4), &in,
			    key_fn, NULL);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	const char *error = NULL;

	if (policy_parse("fuzz.policy", (const char *)data, size, NULL, NULL,
	    &p, &error) == -1) {
		if (p != NULL || error == NULL ||
		    strncmp(error, "fuzz.policy", 11) != 0)
			abort();
		return 0;
	}
	evaluate_all(p);
	for (size_t i = 0; i < policy_limit_count(p); i++)
		if (policy_limit_get(p, i) == NULL)
			abort();
	policy_free(&p);
	return 0;
}
