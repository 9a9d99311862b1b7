/*
 * ctl_policy_data: the sluicectl network, grant and limit commands, which
 * manage what the policy engine reads from directory.db besides its rule
 * files: named client networks ("network NAME" conditions), sender grants
 * (who may send as which address or domain) and per-user limit values.
 * Input is normalised here as ctl_directory.c does it (addresses lower
 * case, CIDRs in canonical form, names folded), so the database holds one
 * spelling of each and the daemons compare plain strings.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <sysexits.h>

#include "addr.h"
#include "cidr.h"
#include "ctl.h"
#include "db_directory.h"
#include "util.h"

/* A network or limit name, folded to the spelling stored. */
static int
name_normalise(const char *in, const char *what, char out[DIR_NAME_MAX + 1])
{
	if (!dir_name_is_valid(in)) {
		ctl_error("\"%s\" is not a valid %s name: a letter or digit, "
		    "then letters, digits, '_', '-' or '.', at most %d in all",
		    in, what, DIR_NAME_MAX);
		return -1;
	}
	str_copy(out, in, DIR_NAME_MAX + 1);
	ctl_lower(out);
	return 0;
}

/* "@domain" (every address of the domain) or one address. */
static int
pattern_normalise(const char *in, char out[ADDR_TEXT_MAX + 2])
{
	size_t len;

	if (in[0] != '@')
		return ctl_address_normalise(in, out);
	len = strlen(in + 1);
	if (len > 0 && in[len] == '.')
		len--;		/* one trailing dot, as for domains */
	if (len == 0 || len > ADDR_DOMAIN_MAX ||
	    !addr_domain_is_valid(in + 1, len)) {
		ctl_error("\"%s\" is not @ and a valid domain name", in);
		return -1;
	}
	out[0] = '@';
	memcpy(out + 1, in + 1, len);
	out[len + 1] = '\0';
	ctl_lower(out);
	return 0;
}

/* ---- network ------------------------------------------------------------- */

/* Parse every CIDR before touching the database: all or nothing. */
static int
network_parse_all(int argc, char **argv, struct cidr *nets)
{
	char text[CIDR_TEXT_SIZE];
	const char *err;

	for (int i = 0; i < argc; i++) {
		if (cidr_parse(&nets[i], argv[i], strlen(argv[i]), &err)
		    == -1) {
			ctl_error("\"%s\" is not a valid network: %s", argv[i],
			    err);
			return -1;
		}
		if (nets[i].host_bits) {
			cidr_format(&nets[i], text, sizeof(text));
			printf("note: %s has bits set past its prefix; stored "
			    "as %s\n", argv[i], text);
		}
	}
	return 0;
}

static int
network_add_all(struct ctl *ctl, const char *name, const struct cidr *nets,
    int n)
{
	char text[CIDR_TEXT_SIZE];
	const char *err = NULL;
	int rc = DIR_OK, status = EX_OK;

	if (db_begin(ctl->directory, &err) == -1)
		return ctl_dir_status(DIR_ERR, name, err);
	for (int i = 0; i < n && status == EX_OK; i++) {
		cidr_format(&nets[i], text, sizeof(text));
		rc = directory_network_add(ctl->directory, name, &nets[i],
		    &err);
		if (rc == DIR_EXISTS) {
			ctl_error("network %s already has %s", name, text);
			status = EX_DATAERR;
		} else
			status = ctl_dir_status(rc, name, err);
	}
	if (status == EX_OK && db_commit(ctl->directory, &err) == -1)
		status = ctl_dir_status(DIR_ERR, name, err);
	if (status != EX_OK) {
		db_rollback(ctl->directory);
		ctl_error("network %s left unchanged", name);
		return status;
	}
	for (int i = 0; i < n; i++) {
		cidr_format(&nets[i], text, sizeof(text));
		printf("added %s to network %s\n", text, name);
	}
	return EX_OK;
}

static int
network_add(struct ctl *ctl, int argc, char **argv)
{
	char name[DIR_NAME_MAX + 1];
	struct cidr *nets;
	int status;

	if (argc < 3) {
		ctl_error("usage: network add NAME CIDR [CIDR ...]");
		return EX_USAGE;
	}
	if (name_normalise(argv[1], "network", name) == -1)
		return EX_DATAERR;
	nets = xcalloc((size_t)argc - 2, sizeof(*nets));
	if (network_parse_all(argc - 2, argv + 2, nets) == -1)
		status = EX_DATAERR;
	else if ((status = ctl_directory_open(ctl)) == EX_OK)
		status = network_add_all(ctl, name, nets, argc - 2);
	free(nets);
	return status;
}

static int
network_del(struct ctl *ctl, int argc, char **argv)
{
	char name[DIR_NAME_MAX + 1], text[CIDR_TEXT_SIZE];
	const char *err = NULL;
	struct cidr net;
	int rc, status;

	if (argc < 2 || argc > 3) {
		ctl_error("usage: network del NAME [CIDR]");
		return EX_USAGE;
	}
	if (name_normalise(argv[1], "network", name) == -1 ||
	    (argc == 3 && network_parse_all(1, argv + 2, &net) == -1))
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	if (argc == 3)
		cidr_format(&net, text, sizeof(text));
	rc = directory_network_del(ctl->directory, name, argc == 3 ? &net :
	    NULL, &err);
	if (rc == DIR_NOTFOUND && argc == 3) {
		ctl_error("network %s has no %s", name, text);
		return EX_DATAERR;
	}
	if (rc == DIR_NOTFOUND) {
		ctl_error("network %s does not exist", name);
		return EX_DATAERR;
	}
	if ((status = ctl_dir_status(rc, name, err)) == EX_OK)
		printf("deleted %s%snetwork %s\n", argc == 3 ? text : "",
		    argc == 3 ? " from " : "", name);
	return status;
}

static int
network_print(const struct dir_network *n, void *arg)
{
	(void)arg;
	printf("%-24s %s\n", n->name, n->cidr);
	return 0;
}

static int
network_list(struct ctl *ctl, int argc, char **argv)
{
	char name[DIR_NAME_MAX + 1];
	const char *err = NULL;
	int status;

	if (argc > 2) {
		ctl_error("usage: network list [NAME]");
		return EX_USAGE;
	}
	if (argc == 2 && name_normalise(argv[1], "network", name) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	return ctl_dir_status(directory_network_list(ctl->directory,
	    argc == 2 ? name : NULL, network_print, NULL, &err), "networks",
	    err);
}

static const struct ctl_command network_commands[] = {
	{ "add", "NAME CIDR [CIDR ...]", "Add client networks to the named "
	    "network that the policy condition\n\"network NAME\" matches. "
	    "A CIDR is an address with an optional prefix\n(192.0.2.0/24, "
	    "2001:db8::/32; a bare address is one host); it is stored\nin "
	    "canonical form. Names are letters, digits, '_', '-' and '.', "
	    "in any\ncase. Either every CIDR is added or none is.",
	    network_add, NULL },
	{ "del", "NAME [CIDR]", "Delete one CIDR of a network, or the whole "
	    "network.", network_del, NULL },
	{ "list", "[NAME]", "List networks and their CIDRs, one per line.",
	    network_list, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

const struct ctl_group ctl_network_group = { "network", network_commands };

/* ---- grant --------------------------------------------------------------- */

/* Arguments USER PATTERN, normalised. */
static int
grant_args(int argc, char **argv, char user[ADDR_TEXT_MAX + 1],
    char pattern[ADDR_TEXT_MAX + 2])
{
	if (argc != 3) {
		ctl_error("usage: grant %s USER ADDRESS|@DOMAIN", argv[0]);
		return EX_USAGE;
	}
	if (ctl_address_normalise(argv[1], user) == -1 ||
	    pattern_normalise(argv[2], pattern) == -1)
		return EX_DATAERR;
	return EX_OK;
}

static int
grant_add(struct ctl *ctl, int argc, char **argv)
{
	char user[ADDR_TEXT_MAX + 1], pattern[ADDR_TEXT_MAX + 2];
	const char *err = NULL;
	int rc, status;

	if ((status = grant_args(argc, argv, user, pattern)) != EX_OK)
		return status;
	if (strcmp(user, pattern) == 0) {
		ctl_error("%s may always send as itself: no grant needed",
		    user);
		return EX_DATAERR;
	}
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	rc = directory_grant_add(ctl->directory, user, pattern, &err);
	if (rc == DIR_NOTFOUND) {
		ctl_error("user %s does not exist", user);
		return EX_DATAERR;
	}
	if (rc == DIR_EXISTS) {
		ctl_error("%s may already send as %s", user, pattern);
		return EX_DATAERR;
	}
	if ((status = ctl_dir_status(rc, pattern, err)) == EX_OK)
		printf("%s may send as %s%s\n", user, pattern[0] == '@' ?
		    "any address in " : "", pattern + (pattern[0] == '@'));
	return status;
}

static int
grant_del(struct ctl *ctl, int argc, char **argv)
{
	char user[ADDR_TEXT_MAX + 1], pattern[ADDR_TEXT_MAX + 2];
	const char *err = NULL;
	int rc, status;

	if ((status = grant_args(argc, argv, user, pattern)) != EX_OK ||
	    (status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	rc = directory_grant_del(ctl->directory, user, pattern, &err);
	if (rc == DIR_NOTFOUND) {
		ctl_error("%s has no grant for %s", user, pattern);
		return EX_DATAERR;
	}
	if ((status = ctl_dir_status(rc, pattern, err)) == EX_OK)
		printf("revoked %s's grant for %s\n", user, pattern);
	return status;
}

static int
grant_print(const struct dir_grant *g, void *arg)
{
	(void)arg;
	printf("%-40s %s\n", g->user, g->pattern);
	return 0;
}

static int
grant_list(struct ctl *ctl, int argc, char **argv)
{
	char user[ADDR_TEXT_MAX + 1];
	const char *err = NULL;
	int status;

	if (argc > 2) {
		ctl_error("usage: grant list [USER]");
		return EX_USAGE;
	}
	if (argc == 2 && ctl_address_normalise(argv[1], user) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	return ctl_dir_status(directory_grant_list(ctl->directory,
	    argc == 2 ? user : NULL, grant_print, NULL, &err), "grants", err);
}

static const struct ctl_command grant_commands[] = {
	{ "add", "USER ADDRESS|@DOMAIN", "Let USER send as ADDRESS (a shared "
	    "support@example.org), or as every\naddress of DOMAIN "
	    "(@example.org, not its subdomains), in MAIL FROM and in\n"
	    "From: where the policy checks \"sender owned\" or \"from "
	    "owned\". A user owns\nits own address and the aliases that "
	    "deliver to it without a grant.\nGrants go when the user is "
	    "deleted.", grant_add, NULL },
	{ "del", "USER ADDRESS|@DOMAIN", "Revoke a grant.", grant_del, NULL },
	{ "list", "[USER]", "List grants, all or those of one user.",
	    grant_list, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

const struct ctl_group ctl_grant_group = { "grant", grant_commands };

/* ---- limit --------------------------------------------------------------- */

/* A whole number of events, 0 to DIR_LIMIT_VALUE_MAX, digits only. */
static int
limit_value_parse(const char *s, int64_t *value_r)
{
	int64_t v = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9' && v <= DIR_LIMIT_VALUE_MAX; p++)
		v = v * 10 + (*p - '0');
	if (p == s || *p != '\0' || v > DIR_LIMIT_VALUE_MAX) {
		ctl_error("\"%s\" is not a limit value: a whole number from 0 "
		    "to %" PRId64, s, DIR_LIMIT_VALUE_MAX);
		return -1;
	}
	*value_r = v;
	return 0;
}

/* Arguments USER LIMIT, normalised. */
static int
limit_args(char **argv, char user[ADDR_TEXT_MAX + 1],
    char name[DIR_NAME_MAX + 1])
{
	if (ctl_address_normalise(argv[1], user) == -1 ||
	    name_normalise(argv[2], "limit", name) == -1)
		return EX_DATAERR;
	return EX_OK;
}

static int
limit_set(struct ctl *ctl, int argc, char **argv)
{
	char user[ADDR_TEXT_MAX + 1], name[DIR_NAME_MAX + 1];
	const char *err = NULL;
	int64_t value;
	int rc, status;

	if (argc != 4) {
		ctl_error("usage: limit set USER LIMIT VALUE");
		return EX_USAGE;
	}
	if ((status = limit_args(argv, user, name)) != EX_OK)
		return status;
	if (limit_value_parse(argv[3], &value) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	rc = directory_limit_set(ctl->directory, user, name, value, &err);
	if (rc == DIR_NOTFOUND) {
		ctl_error("user %s does not exist", user);
		return EX_DATAERR;
	}
	if ((status = ctl_dir_status(rc, name, err)) == EX_OK)
		printf("%s of %s is now %" PRId64 "\n", name, user, value);
	return status;
}

static int
limit_del(struct ctl *ctl, int argc, char **argv)
{
	char user[ADDR_TEXT_MAX + 1], name[DIR_NAME_MAX + 1];
	const char *err = NULL;
	int rc, status;

	if (argc != 3) {
		ctl_error("usage: limit del USER LIMIT");
		return EX_USAGE;
	}
	if ((status = limit_args(argv, user, name)) != EX_OK ||
	    (status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	rc = directory_limit_del(ctl->directory, user, name, &err);
	if (rc == DIR_NOTFOUND) {
		ctl_error("%s has no value of its own for %s", user, name);
		return EX_DATAERR;
	}
	if ((status = ctl_dir_status(rc, name, err)) == EX_OK)
		printf("%s of %s now follows the rule files\n", name, user);
	return status;
}

static int
limit_print(const struct dir_limit *l, void *arg)
{
	(void)arg;
	printf("%-40s %-24s %" PRId64 "\n", l->user, l->name, l->value);
	return 0;
}

static int
limit_list(struct ctl *ctl, int argc, char **argv)
{
	char user[ADDR_TEXT_MAX + 1];
	const char *err = NULL;
	int status;

	if (argc > 2) {
		ctl_error("usage: limit list [USER]");
		return EX_USAGE;
	}
	if (argc == 2 && ctl_address_normalise(argv[1], user) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	return ctl_dir_status(directory_limit_list(ctl->directory,
	    argc == 2 ? user : NULL, limit_print, NULL, &err), "limits", err);
}

static const struct ctl_command limit_commands[] = {
	{ "set", "USER LIMIT VALUE", "Give USER its own value of the limit "
	    "named LIMIT in the rule files\n(\"limit user_messages = 500 "
	    "messages per 1h by user\"): VALUE events per\nwindow, a whole "
	    "number from 0 (none allowed) to 2147483647, in place of\nthe "
	    "rule files' number; the unit and window stay theirs. Limits "
	    "not named\nin the rule files in force are kept but have no "
	    "effect.", limit_set, NULL },
	{ "del", "USER LIMIT", "Return USER to the rule files' value of "
	    "LIMIT.", limit_del, NULL },
	{ "list", "[USER]", "List per-user limit values, all or those of "
	    "one user.", limit_list, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

const struct ctl_group ctl_limit_group = { "limit", limit_commands };
