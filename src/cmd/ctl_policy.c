/*
 * ctl_policy: sluicectl policy check and policy explain. Explain runs the
 * same evaluator with the same facts (directory.db and the live rate
 * counters, read-only) as sluiced, so its answer is the daemon's.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <sysexits.h>
#include <time.h>

#include "addr.h"
#include "counters.h"
#include "ctl.h"
#include "facts.h"
#include "policy.h"
#include "util.h"

#define EXPLAIN_RCPTS_MAX	100

static int
policy_check(struct ctl *ctl, int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : ctl->cfg.policy_file;
	struct policy *p;
	const char *err;

	if (argc > 2) {
		ctl_error("usage: policy check [FILE]");
		return EX_USAGE;
	}
	if (policy_load(path, &p, &err) == -1) {
		ctl_error("%s", err);
		return EX_DATAERR;
	}
	printf("%s: ok: %zu rules, %zu limits, %zu files\n", path,
	    policy_rule_count(p), policy_limit_count(p), policy_file_count(p));
	policy_free(&p);
	return EX_OK;
}

/* What explain was asked about. */
struct explain {
	const char		*policy_file;
	const struct listener	*listener;
	struct sockaddr_storage	 client;
	bool			 has_client;
	bool			 tls;
	char			*user;
	struct addr		 sender;
	bool			 has_sender;
	struct addr		 rcpts[EXPLAIN_RCPTS_MAX];
	size_t			 nrcpts;
	struct addr		 from_header;
	bool			 has_from_header;
	uint64_t		 size;
	bool			 verbose;
};

static const struct listener *
explain_listener(const struct ctl *ctl, const char *name)
{
	/* A listener's name first, then the first one of that role. */
	for (size_t i = 0; i < ctl->cfg.listen.n; i++)
		if (strcmp(ctl->cfg.listen.v[i].name, name) == 0)
			return &ctl->cfg.listen.v[i];
	for (size_t i = 0; i < ctl->cfg.listen.n; i++)
		if (strcmp(listener_role_name(ctl->cfg.listen.v[i].role),
		    name) == 0)
			return &ctl->cfg.listen.v[i];
	return NULL;
}

static int
explain_client(struct explain *e, const char *text)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&e->client;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&e->client;

	if (strcmp(text, "local") == 0)
		return 0;
	memset(&e->client, 0, sizeof(e->client));
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else {
		ctl_error("--client: \"%s\" is not an IP address or \"local\"",
		    text);
		return -1;
	}
	e->has_client = true;
	return 0;
}

/* An address as a client would send it: <a@b>, <>, or a bare a@b. */
static int
explain_address(const char *opt, const char *text, unsigned opts,
    struct addr *a)
{
	const char *err;
	int rc;

	if (text[0] == '<')
		rc = addr_parse_path(text, strlen(text), opts | ADDR_ALLOW_UTF8,
		    a, NULL, &err);
	else
		rc = addr_parse_mailbox(text, strlen(text), ADDR_ALLOW_UTF8, a,
		    &err);
	if (rc == -1)
		ctl_error("%s: \"%s\": %s", opt, text, err);
	return rc;
}

static const struct option explain_options[] = {
	{ "listener", required_argument, NULL, 'l' },
	{ "client", required_argument, NULL, 'c' },
	{ "auth", required_argument, NULL, 'a' },
	{ "tls", no_argument, NULL, 't' },
	{ "from", required_argument, NULL, 'f' },
	{ "to", required_argument, NULL, 'r' },
	{ "size", required_argument, NULL, 's' },
	{ "from-header", required_argument, NULL, 'H' },
	{ "policy", required_argument, NULL, 'p' },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 }
};

static int
explain_option(struct ctl *ctl, struct explain *e, int ch, const char *arg)
{
	const char *err;

	switch (ch) {
	case 'l':
		if ((e->listener = explain_listener(ctl, arg)) != NULL)
			return 0;
		ctl_error("--listener: no listener or role \"%s\" in %s", arg,
		    ctl->config_path);
		return -1;
	case 'c':
		return explain_client(e, arg);
	case 'a':
		free(e->user);
		e->user = xstrdup(arg);
		for (char *p = e->user; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		return 0;
	case 't':
		e->tls = true;
		return 0;
	case 'f':
		e->has_sender = true;
		return explain_address("--from", arg, ADDR_ALLOW_NULL,
		    &e->sender);
	case 'r':
		if (e->nrcpts == EXPLAIN_RCPTS_MAX) {
			ctl_error("--to: at most %d", EXPLAIN_RCPTS_MAX);
			return -1;
		}
		return explain_address("--to", arg, ADDR_ALLOW_POSTMASTER,
		    &e->rcpts[e->nrcpts++]);
	case 's':
		if (config_size_parse(arg, strlen(arg), &e->size, &err) == 0)
			return 0;
		ctl_error("--size: %s", err);
		return -1;
	case 'H':
		e->has_from_header = true;
		return explain_address("--from-header", arg, 0,
		    &e->from_header);
	case 'p':
		e->policy_file = arg;
		return 0;
	case 'v':
		e->verbose = true;
		return 0;
	default:
		return -1;
	}
}

static int
explain_parse(struct ctl *ctl, int argc, char **argv, struct explain *e)
{
	int ch;

	e->policy_file = ctl->cfg.policy_file;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", explain_options, NULL)) != -1)
		if (explain_option(ctl, e, ch, optarg) == -1)
			return EX_USAGE;
	if (optind != argc || e->listener == NULL || !e->has_sender ||
	    e->nrcpts == 0) {
		ctl_error("usage: policy explain --listener NAME --client ADDR "
		    "[--auth USER] [--tls] --from ADDR --to ADDR... [--size N] "
		    "[--from-header ADDR] [--policy FILE] [--verbose]");
		return EX_USAGE;
	}
	return EX_OK;
}

static void
explain_trace(void *ctx, const char *rule, bool matched, const char *detail)
{
	(void)ctx;
	printf("    %s %s: %s\n", matched ? "match" : "skip ", rule, detail);
}

/* One stage: print the decision; false when it refused. */
static bool
explain_stage(struct facts *fx, const struct policy *p, struct explain *e,
    struct policy_input *in, const char *what)
{
	struct policy_decision d;

	facts_explain(fx, p, in, time(NULL), &d, e->verbose ? explain_trace :
	    NULL, NULL);
	printf("%-8s %-30s %-6s %d %s%s%s\n         %s\n",
	    policy_stage_name(in->stage), what, policy_action_name(d.action),
	    d.code, d.status, d.text[0] ? " " : "", d.text, d.why);
	if (d.route[0] != '\0')
		printf("         route %s\n", d.route);
	return d.action == POLICY_ACCEPT;
}

static bool
explain_run(struct facts *fx, const struct policy *p, struct explain *e)
{
	struct policy_input in = {
		.listener = e->listener->name, .role = e->listener->role,
		.client = e->has_client ? (struct sockaddr *)&e->client : NULL,
		.tls = e->tls, .user = e->user, .size = e->size,
	};
	char text[ADDR_TEXT_MAX + 3];
	bool ok = true;

	in.stage = POLICY_CONNECT;
	if (!explain_stage(fx, p, e, &in, "connection"))
		return false;
	in.stage = POLICY_MAIL;
	in.sender = &e->sender;
	addr_format(&e->sender, text, sizeof(text));
	if (!explain_stage(fx, p, e, &in, text[0] ? text : "<>"))
		return false;
	in.stage = POLICY_RCPT;
	for (size_t i = 0; i < e->nrcpts; i++) {
		in.rcpt = &e->rcpts[i];
		addr_format(&e->rcpts[i], text, sizeof(text));
		ok = explain_stage(fx, p, e, &in, text) && ok;
	}
	in.rcpt = NULL;
	in.stage = POLICY_DATA;
	in.from = e->has_from_header ? &e->from_header : &e->sender;
	in.nfrom = e->sender.flags & ADDR_F_NULL && !e->has_from_header ? 0 : 1;
	addr_format(in.from, text, sizeof(text));
	return explain_stage(fx, p, e, &in, "From: ...") && ok;
}

static int
policy_explain(struct ctl *ctl, int argc, char **argv)
{
	struct explain *e = xcalloc(1, sizeof(*e));
	struct facts fx = { .delimiter = ctl->cfg.recipient_delimiter };
	struct policy *p = NULL;
	const char *err;
	char *path;
	int status;

	if ((status = explain_parse(ctl, argc, argv, e)) != EX_OK ||
	    (status = ctl_directory_open(ctl)) != EX_OK)
		goto out;
	if (policy_load(e->policy_file, &p, &err) == -1) {
		ctl_error("%s", err);
		status = EX_DATAERR;
		goto out;
	}
	/* Live counts when sluiced runs; none (0) when it does not. */
	path = xasprintf("%s/counters", ctl->cfg.run_dir);
	fx.counters = counters_open(path, true, &err);
	free(path);
	fx.directory = ctl->directory;
	printf("policy %s, listener %s (%s)%s\n", e->policy_file,
	    e->listener->name, listener_role_name(e->listener->role),
	    fx.counters ? "" : ", no live counters (sluiced not running)");
	status = explain_run(&fx, p, e) ? EX_OK : 1;
out:
	counters_close(&fx.counters);
	policy_free(&p);
	free(e->user);
	free(e);
	return status;
}

static const struct ctl_command policy_commands[] = {
	{ "check", "[FILE]", "Check a rule file (default: policy_file); "
	    "errors name file and line.", policy_check, NULL },
	{ "explain", "--listener NAME --client ADDR [--auth USER] [--tls] "
	    "--from ADDR --to ADDR... [--size N] [--from-header ADDR] "
	    "[--policy FILE] [--verbose]", "Show what the rules decide at "
	    "each stage for such a mail, and which rule (file:line)\n"
	    "decided, using directory.db and the live rate counters. "
	    "--verbose lists every rule tried.\nExit status 0 when every "
	    "stage accepts, 1 when one refuses.", policy_explain, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

const struct ctl_group ctl_policy_group = { "policy", policy_commands };
