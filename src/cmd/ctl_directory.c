/*
 * ctl_directory: the sluicectl domain, user and alias commands. Names are
 * normalised here (addr.h) so that the database holds one spelling of
 * each; passwords are read from the terminal without echo, or from
 * standard input when it is not a terminal, never from the command line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "ctl.h"
#include "db_directory.h"
#include "password.h"
#include "util.h"

#define PASSWORD_MAX	1024

int
ctl_dir_status(int rc, const char *what, const char *err)
{
	switch (rc) {
	case DIR_OK:
		return EX_OK;
	case DIR_EXISTS:
		ctl_error("%s already exists", what);
		return EX_DATAERR;
	case DIR_NOTFOUND:
		ctl_error("%s does not exist", what);
		return EX_DATAERR;
	case DIR_INUSE:
		ctl_error("%s still has users or aliases; delete them first",
		    what);
		return EX_DATAERR;
	case DIR_INVALID:
		ctl_error("%s is not valid", what);
		return EX_DATAERR;
	default:
		ctl_error("%s: %s", what, err ? err : "database error");
		return EX_SOFTWARE;
	}
}

void
ctl_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* A domain name as stored: lower case, no trailing dot, valid. */
static int
ctl_domain_normalise(const char *in, char *out, size_t size)
{
	size_t len = strlen(in);

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len >= size || !addr_domain_is_valid(in, len)) {
		ctl_error("\"%s\" is not a valid domain name", in);
		return -1;
	}
	memcpy(out, in, len);
	out[len] = '\0';
	ctl_lower(out);
	return 0;
}

int
ctl_address_normalise(const char *in, char out[ADDR_TEXT_MAX + 1])
{
	struct addr a;
	const char *err;

	if (addr_parse_mailbox(in, strlen(in), ADDR_ALLOW_UTF8, &a, &err)
	    == -1) {
		ctl_error("\"%s\" is not a valid address: %s", in, err);
		return -1;
	}
	if (a.flags & ADDR_F_IP_LITERAL) {
		ctl_error("\"%s\": address literals cannot be users or "
		    "aliases", in);
		return -1;
	}
	addr_format(&a, out, ADDR_TEXT_MAX + 1);
	ctl_lower(out);
	return 0;
}

static const char *
domain_of(const char *address)
{
	return strrchr(address, '@') + 1;
}

/* ---- domain ------------------------------------------------------------ */

static int
domain_add(struct ctl *ctl, int argc, char **argv)
{
	enum dir_domain_kind kind = DIR_DOMAIN_LOCAL;
	char name[ADDR_DOMAIN_MAX + 1];
	const char *err = NULL;
	int status;

	if (argc < 2 || argc > 3) {
		ctl_error("usage: domain add NAME [local|relay]");
		return EX_USAGE;
	}
	if (argc == 3 && (kind = dir_domain_kind_parse(argv[2])) ==
	    DIR_DOMAIN_NONE) {
		ctl_error("domain kind must be local or relay, not \"%s\"",
		    argv[2]);
		return EX_USAGE;
	}
	if (ctl_domain_normalise(argv[1], name, sizeof(name)) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	status = ctl_dir_status(directory_domain_add(ctl->directory, name,
	    kind, &err), name, err);
	if (status == EX_OK)
		printf("added %s domain %s\n", dir_domain_kind_name(kind), name);
	return status;
}

static int
domain_del(struct ctl *ctl, int argc, char **argv)
{
	char name[ADDR_DOMAIN_MAX + 1];
	const char *err = NULL;
	int status;

	if (argc != 2) {
		ctl_error("usage: domain del NAME");
		return EX_USAGE;
	}
	if (ctl_domain_normalise(argv[1], name, sizeof(name)) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	status = ctl_dir_status(directory_domain_del(ctl->directory, name,
	    &err), name, err);
	if (status == EX_OK)
		printf("deleted domain %s\n", name);
	return status;
}

static int
domain_print(const struct dir_domain *d, void *arg)
{
	(void)arg;
	printf("%-40s %-6s %5lld users %5lld aliases\n", d->name,
	    dir_domain_kind_name(d->kind), (long long)d->users,
	    (long long)d->aliases);
	return 0;
}

static int
domain_list(struct ctl *ctl, int argc, char **argv)
{
	const char *err = NULL;
	int status;

	(void)argv;
	if (argc != 1) {
		ctl_error("usage: domain list");
		return EX_USAGE;
	}
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	return ctl_dir_status(directory_domain_list(ctl->directory,
	    domain_print, NULL, &err), "domains", err);
}

static const struct ctl_command domain_commands[] = {
	{ "add", "NAME [local|relay]", "Add a domain. local (the default): "
	    "mailboxes for its users live here.\nrelay: mail for it is "
	    "accepted on the mx listeners and passed on.", domain_add, NULL },
	{ "del", "NAME", "Delete a domain that has no users or aliases left.",
	    domain_del, NULL },
	{ "list", "", "List domains with their kind and counts.",
	    domain_list, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

const struct ctl_group ctl_domain_group = { "domain", domain_commands };

/* ---- passwords ----------------------------------------------------------- */

/* Read one line of at most PASSWORD_MAX bytes; strip the line ending. */
static int
read_line(FILE *in, char *buf, size_t size)
{
	size_t len;

	if (fgets(buf, (int)size, in) == NULL)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] != '\n' && !feof(in)) {
		ctl_error("password longer than %d bytes", PASSWORD_MAX);
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return 0;
}

static int
read_tty_password(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	int rc;

	/* Echo goes off before the prompt, so nothing typed is lost. */
	if (tcgetattr(STDIN_FILENO, &old) == -1)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == -1)
		return -1;
	fputs(prompt, stderr);
	fflush(stderr);
	rc = read_line(stdin, buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

/*
 * The new password: prompted twice without echo on a terminal, else the
 * first line of standard input. Returns a hash to free, or NULL.
 */
static char *
ctl_new_password_hash(const struct ctl *ctl)
{
	char *pw = xmalloc(PASSWORD_MAX + 2), *again = NULL, *hash = NULL;
	const char *err;

	if (isatty(STDIN_FILENO)) {
		again = xmalloc(PASSWORD_MAX + 2);
		if (read_tty_password("New password: ", pw, PASSWORD_MAX + 2)
		    == -1 || read_tty_password("Retype new password: ", again,
		    PASSWORD_MAX + 2) == -1)
			pw[0] = '\0';
		else if (strcmp(pw, again) != 0) {
			ctl_error("the passwords differ");
			goto out;
		}
	} else if (read_line(stdin, pw, PASSWORD_MAX + 2) == -1)
		pw[0] = '\0';
	if (pw[0] == '\0') {
		ctl_error("no password given (empty passwords are refused)");
		goto out;
	}
	hash = password_hash(pw, config_password_scheme_name(
	    ctl->cfg.password_scheme), (unsigned long)ctl->cfg.password_cost,
	    &err);
	if (hash == NULL)
		ctl_error("cannot hash the password: %s", err);
out:
	mem_wipe(pw, PASSWORD_MAX + 2);
	free(pw);
	if (again != NULL) {
		mem_wipe(again, PASSWORD_MAX + 2);
		free(again);
	}
	return hash;
}

/* ---- user ---------------------------------------------------------------- */

struct user_add_opts {
	int	mailbox;	/* -1: from the domain's kind */
	bool	disabled;
	uint64_t quota;
};

static int
user_add_parse(int argc, char **argv, struct user_add_opts *o,
    const char **address_r)
{
	const char *err;

	*address_r = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-mailbox") == 0)
			o->mailbox = 0;
		else if (strcmp(argv[i], "--mailbox") == 0)
			o->mailbox = 1;
		else if (strcmp(argv[i], "--disabled") == 0)
			o->disabled = true;
		else if (strcmp(argv[i], "--quota") == 0 && i + 1 < argc) {
			i++;
			if (config_size_parse(argv[i], strlen(argv[i]),
			    &o->quota, &err) == -1) {
				ctl_error("--quota: %s", err);
				return EX_USAGE;
			}
		} else if (argv[i][0] == '-' || *address_r != NULL) {
			ctl_error("usage: user add ADDRESS [--mailbox|"
			    "--no-mailbox] [--quota SIZE] [--disabled]");
			return EX_USAGE;
		} else
			*address_r = argv[i];
	}
	if (*address_r == NULL) {
		ctl_error("user add: which address?");
		return EX_USAGE;
	}
	return EX_OK;
}

/* Decide whether the new user has a mailbox here, from its domain. */
static int
user_mailbox(struct ctl *ctl, const char *address, int wanted, bool *has_r)
{
	enum dir_domain_kind kind;
	const char *err = NULL;
	int rc;

	rc = directory_domain_kind(ctl->directory, domain_of(address), &kind,
	    &err);
	if (rc == DIR_ERR)
		return ctl_dir_status(rc, domain_of(address), err);
	if (wanted == 1 && kind != DIR_DOMAIN_LOCAL) {
		ctl_error("%s is not a local domain: its users cannot have "
		    "mailboxes here (add it with \"domain add %s local\", or "
		    "use --no-mailbox)", domain_of(address), domain_of(address));
		return EX_DATAERR;
	}
	*has_r = wanted == -1 ? kind == DIR_DOMAIN_LOCAL : wanted == 1;
	if (!*has_r)
		printf("note: %s is a submission-only account (no mailbox "
		    "here)\n", address);
	return EX_OK;
}

/* Refuse an existing user before asking for a password. */
static int
user_absent(struct ctl *ctl, const char *address)
{
	struct dir_user u;
	const char *err = NULL;
	int rc = directory_user_get(ctl->directory, address, &u, &err);

	dir_user_clear(&u);
	if (rc == DIR_NOTFOUND)
		return EX_OK;
	return ctl_dir_status(rc == DIR_OK ? DIR_EXISTS : rc, address, err);
}

static int
user_add(struct ctl *ctl, int argc, char **argv)
{
	struct user_add_opts o = { .mailbox = -1 };
	char address[ADDR_TEXT_MAX + 1];
	struct dir_user u = { 0 };
	const char *arg, *err = NULL;
	int status;

	if ((status = user_add_parse(argc, argv, &o, &arg)) != EX_OK)
		return status;
	if (ctl_address_normalise(arg, address) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK ||
	    (status = user_absent(ctl, address)) != EX_OK ||
	    (status = user_mailbox(ctl, address, o.mailbox, &u.has_mailbox))
	    != EX_OK)
		return status;
	if ((u.password = ctl_new_password_hash(ctl)) == NULL)
		return EX_DATAERR;
	u.address = address;
	u.domain = (char *)(uintptr_t)domain_of(address);
	u.enabled = !o.disabled;
	u.quota = (int64_t)o.quota;
	status = ctl_dir_status(directory_user_add(ctl->directory, &u, &err),
	    address, err);
	free(u.password);
	if (status == EX_OK)
		printf("added user %s\n", address);
	return status;
}

/* Commands of the form "user VERB ADDRESS". */
static int
user_one_address(struct ctl *ctl, int argc, char **argv,
    char address[ADDR_TEXT_MAX + 1])
{
	if (argc != 2) {
		ctl_error("usage: user %s ADDRESS", argv[0]);
		return EX_USAGE;
	}
	if (ctl_address_normalise(argv[1], address) == -1)
		return EX_DATAERR;
	return ctl_directory_open(ctl);
}

static int
user_del(struct ctl *ctl, int argc, char **argv)
{
	char address[ADDR_TEXT_MAX + 1];
	const char *err = NULL;
	int status;

	if ((status = user_one_address(ctl, argc, argv, address)) != EX_OK)
		return status;
	status = ctl_dir_status(directory_user_del(ctl->directory, address,
	    &err), address, err);
	if (status == EX_OK)
		printf("deleted user %s\n", address);
	return status;
}

static int
user_passwd(struct ctl *ctl, int argc, char **argv)
{
	char address[ADDR_TEXT_MAX + 1], *hash;
	struct dir_user u;
	const char *err = NULL;
	int status;

	if ((status = user_one_address(ctl, argc, argv, address)) != EX_OK)
		return status;
	/* Look the user up first, so a typo costs no password prompt. */
	status = ctl_dir_status(directory_user_get(ctl->directory, address, &u,
	    &err), address, err);
	dir_user_clear(&u);
	if (status != EX_OK)
		return status;
	if ((hash = ctl_new_password_hash(ctl)) == NULL)
		return EX_DATAERR;
	status = ctl_dir_status(directory_user_set_password(ctl->directory,
	    address, hash, &err), address, err);
	free(hash);
	if (status == EX_OK)
		printf("changed the password of %s\n", address);
	return status;
}

static int
user_set_enabled(struct ctl *ctl, int argc, char **argv, bool enabled)
{
	char address[ADDR_TEXT_MAX + 1];
	const char *err = NULL;
	int status;

	if ((status = user_one_address(ctl, argc, argv, address)) != EX_OK)
		return status;
	status = ctl_dir_status(directory_user_set_enabled(ctl->directory,
	    address, enabled, &err), address, err);
	if (status == EX_OK)
		printf("%s %s\n", enabled ? "enabled" : "disabled", address);
	return status;
}

static int
user_enable(struct ctl *ctl, int argc, char **argv)
{
	return user_set_enabled(ctl, argc, argv, true);
}

static int
user_disable(struct ctl *ctl, int argc, char **argv)
{
	return user_set_enabled(ctl, argc, argv, false);
}

static int
user_print(const struct dir_user *u, void *arg)
{
	(void)arg;
	char quota[32] = "none";

	if (u->quota > 0)
		snprintf(quota, sizeof(quota), "%lld", (long long)u->quota);
	printf("%-40s %-8s %-15s quota %s\n", u->address,
	    u->enabled ? "enabled" : "disabled",
	    u->has_mailbox ? "mailbox" : "submission-only", quota);
	return 0;
}

static int
user_list(struct ctl *ctl, int argc, char **argv)
{
	char domain[ADDR_DOMAIN_MAX + 1];
	const char *err = NULL;
	int status;

	if (argc > 2) {
		ctl_error("usage: user list [DOMAIN]");
		return EX_USAGE;
	}
	if (argc == 2 && ctl_domain_normalise(argv[1], domain,
	    sizeof(domain)) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	return ctl_dir_status(directory_user_list(ctl->directory,
	    argc == 2 ? domain : NULL, user_print, NULL, &err), "users", err);
}

static const struct ctl_command user_commands[] = {
	{ "add", "ADDRESS [--mailbox|--no-mailbox] [--quota SIZE] "
	    "[--disabled]", "Add a user; the password is read from standard "
	    "input, or prompted for without\necho on a terminal. Users of "
	    "local domains get a mailbox, others are\nsubmission-only "
	    "accounts. SIZE is bytes with K, M or G.", user_add, NULL },
	{ "del", "ADDRESS", "Delete a user.", user_del, NULL },
	{ "passwd", "ADDRESS", "Set a new password, read like \"user add\" "
	    "reads it.", user_passwd, NULL },
	{ "list", "[DOMAIN]", "List users, all or of one domain.", user_list,
	    NULL },
	{ "enable", "ADDRESS", "Let a disabled user log in again.",
	    user_enable, NULL },
	{ "disable", "ADDRESS", "Stop a user from logging in; mail to it is "
	    "refused.", user_disable, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

const struct ctl_group ctl_user_group = { "user", user_commands };

/* ---- alias --------------------------------------------------------------- */

static int
alias_add(struct ctl *ctl, int argc, char **argv)
{
	char address[ADDR_TEXT_MAX + 1], target[ADDR_TEXT_MAX + 1];
	enum dir_domain_kind kind;
	const char *err = NULL;
	int status = EX_OK;

	if (argc < 3) {
		ctl_error("usage: alias add ALIAS TARGET [TARGET ...]");
		return EX_USAGE;
	}
	if (ctl_address_normalise(argv[1], address) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	if (directory_domain_kind(ctl->directory, domain_of(address), &kind,
	    &err) != DIR_OK) {
		ctl_error("%s is not a local or relay domain: add it first",
		    domain_of(address));
		return EX_DATAERR;
	}
	for (int i = 2; i < argc && status == EX_OK; i++) {
		if (ctl_address_normalise(argv[i], target) == -1)
			return EX_DATAERR;
		if (strcmp(target, address) == 0) {
			ctl_error("%s cannot be an alias of itself", address);
			return EX_DATAERR;
		}
		status = ctl_dir_status(directory_alias_add(ctl->directory,
		    address, target, &err), target, err);
		if (status == EX_OK)
			printf("added alias %s -> %s\n", address, target);
	}
	return status;
}

static int
alias_del(struct ctl *ctl, int argc, char **argv)
{
	char address[ADDR_TEXT_MAX + 1], target[ADDR_TEXT_MAX + 1];
	const char *err = NULL;
	int status;

	if (argc < 2 || argc > 3) {
		ctl_error("usage: alias del ALIAS [TARGET]");
		return EX_USAGE;
	}
	if (ctl_address_normalise(argv[1], address) == -1 ||
	    (argc == 3 && ctl_address_normalise(argv[2], target) == -1))
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	status = ctl_dir_status(directory_alias_del(ctl->directory, address,
	    argc == 3 ? target : NULL, &err), argc == 3 ? target : address,
	    err);
	if (status == EX_OK)
		printf("deleted alias %s%s%s\n", address, argc == 3 ? " -> " :
		    "", argc == 3 ? target : "");
	return status;
}

static int
alias_print(const struct dir_alias *a, void *arg)
{
	(void)arg;
	printf("%s -> %s\n", a->address, a->target);
	return 0;
}

static int
alias_list(struct ctl *ctl, int argc, char **argv)
{
	char address[ADDR_TEXT_MAX + 1];
	const char *err = NULL;
	int status;

	if (argc > 2) {
		ctl_error("usage: alias list [ALIAS]");
		return EX_USAGE;
	}
	if (argc == 2 && ctl_address_normalise(argv[1], address) == -1)
		return EX_DATAERR;
	if ((status = ctl_directory_open(ctl)) != EX_OK)
		return status;
	return ctl_dir_status(directory_alias_list(ctl->directory,
	    argc == 2 ? address : NULL, alias_print, NULL, &err), "aliases",
	    err);
}

static const struct ctl_command alias_commands[] = {
	{ "add", "ALIAS TARGET [TARGET ...]", "Make mail to ALIAS go to each "
	    "TARGET (local users, other aliases or\nremote addresses). ALIAS "
	    "must be in a local or relay domain.", alias_add, NULL },
	{ "del", "ALIAS [TARGET]", "Delete one target of an alias, or the "
	    "whole alias.", alias_del, NULL },
	{ "list", "[ALIAS]", "List aliases and their targets.", alias_list, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

const struct ctl_group ctl_alias_group = { "alias", alias_commands };
