/*
 * sluicectl: administration of a Sluice installation. This file holds
 * main(), option parsing, the command table and the commands that concern
 * the installation as a whole (init, migrate, config); ctl_directory.c has
 * domains, users and aliases, ctl_policy_data.c the policy engine's
 * networks, sender grants and per-user limits.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "db.h"
#include "util.h"

static const char *const databases[] = { "directory", "queue", "mail" };

void
ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sluicectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static char *
ctl_db_path(const struct ctl *ctl, const char *name)
{
	return xasprintf("%s/%s.db", ctl->cfg.state_dir, name);
}

int
ctl_directory_open(struct ctl *ctl)
{
	const char *err;
	char *path;
	int rc;

	if (ctl->directory != NULL)
		return EX_OK;
	path = ctl_db_path(ctl, "directory");
	if (access(path, F_OK) == -1) {
		ctl_error("%s does not exist: run \"sluicectl init\" first",
		    path);
		free(path);
		return EX_NOINPUT;
	}
	rc = db_open(path, "directory", 0, &ctl->directory, &err);
	free(path);
	if (rc == -1) {
		ctl_error("%s", err);
		return EX_UNAVAILABLE;
	}
	return EX_OK;
}

void
ctl_usage(const char *group, const struct ctl_command *cmd)
{
	printf("usage: sluicectl [-c FILE] %s%s%s%s%s\n\n%s\n",
	    group ? group : "", group ? " " : "", cmd->name,
	    cmd->usage[0] ? " " : "", cmd->usage, cmd->help);
}

bool
ctl_wants_help(const char *group, const struct ctl_command *cmd, int argc,
    char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			ctl_usage(group, cmd);
			return true;
		}
	}
	return false;
}

static void
ctl_group_usage(const struct ctl_group *g, FILE *out)
{
	fprintf(out, "usage: sluicectl [-c FILE] %s COMMAND ...\n\n", g->name);
	for (const struct ctl_command *c = g->commands; c->name; c++)
		fprintf(out, "  %s %s %s\n", g->name, c->name, c->usage);
}

int
ctl_run_group(struct ctl *ctl, const struct ctl_group *g, int argc,
    char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		ctl_group_usage(g, argc < 2 ? stderr : stdout);
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	for (const struct ctl_command *c = g->commands; c->name; c++) {
		if (strcmp(c->name, argv[1]) != 0)
			continue;
		if (ctl_wants_help(g->name, c, argc - 1, argv + 1))
			return EX_OK;
		return c->run(ctl, argc - 1, argv + 1);
	}
	ctl_error("unknown command \"%s %s\"", g->name, argv[1]);
	ctl_group_usage(g, stderr);
	return EX_USAGE;
}

/* mkdir -p for the state directory, mode 0750. */
static int
ctl_mkdirs(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0750) == -1 && errno != EEXIST)
			rc = -1;
		*s = c;
		if (c == '\0')
			break;
	}
	if (rc == -1)
		ctl_error("cannot create %s: %s", p, strerror(errno));
	free(p);
	return rc;
}

/*
 * When run as root, hand the state directory and databases to the daemons'
 * account, so that they can write after dropping privileges.
 */
static void
ctl_chown_state(const struct ctl *ctl)
{
	const struct passwd *pw;
	const struct group *gr;
	gid_t gid;

	if (geteuid() != 0)
		return;
	if ((pw = getpwnam(ctl->cfg.user)) == NULL) {
		printf("note: user %s does not exist yet; create it (see "
		    "systemd/sluice.sysusers) and give it %s\n", ctl->cfg.user,
		    ctl->cfg.state_dir);
		return;
	}
	gr = getgrnam(ctl->cfg.group);
	gid = gr ? gr->gr_gid : pw->pw_gid;
	if (chown(ctl->cfg.state_dir, pw->pw_uid, gid) == -1)
		ctl_error("chown %s: %s", ctl->cfg.state_dir, strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(databases); i++) {
		const char *suffix[] = { "", "-wal", "-shm" };

		for (size_t j = 0; j < ARRAY_SIZE(suffix); j++) {
			char *p = xasprintf("%s/%s.db%s", ctl->cfg.state_dir,
			    databases[i], suffix[j]);

			if (chown(p, pw->pw_uid, gid) == -1 && errno != ENOENT)
				ctl_error("chown %s: %s", p, strerror(errno));
			free(p);
		}
	}
}

/* Open (creating when asked) and migrate every database. */
static int
ctl_migrate_all(struct ctl *ctl, bool create)
{
	int status = EX_OK;

	for (size_t i = 0; i < ARRAY_SIZE(databases); i++) {
		char *path = ctl_db_path(ctl, databases[i]);
		struct db *db = NULL;
		const char *err;
		int from = 0, to = 0;
		bool existed = access(path, F_OK) == 0;

		if (!existed && !create) {
			ctl_error("%s does not exist: run \"sluicectl init\"",
			    path);
			status = EX_NOINPUT;
		} else if (db_open(path, databases[i], DB_CREATE | DB_NOCHECK,
		    &db, &err) == -1 || db_migrate(db, &from, &to, &err) == -1) {
			ctl_error("%s", err);
			status = EX_UNAVAILABLE;
		} else if (from == to) {
			printf("%s: schema version %d, up to date\n", path, to);
		} else {
			printf("%s: %s schema version %d to %d\n", path,
			    existed ? "migrated" : "created", from, to);
		}
		db_close(&db);
		free(path);
	}
	return status;
}

static int
cmd_init(struct ctl *ctl, int argc, char **argv)
{
	int status;

	(void)argv;
	if (argc > 1) {
		ctl_error("init takes no arguments");
		return EX_USAGE;
	}
	if (ctl_mkdirs(ctl->cfg.state_dir) == -1)
		return EX_CANTCREAT;
	status = ctl_migrate_all(ctl, true);
	if (status == EX_OK)
		ctl_chown_state(ctl);
	return status;
}

static int
cmd_migrate(struct ctl *ctl, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		ctl_error("migrate takes no arguments");
		return EX_USAGE;
	}
	return ctl_migrate_all(ctl, false);
}

static int
cmd_config(struct ctl *ctl, int argc, char **argv)
{
	bool all = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-a") == 0 || strcmp(argv[i], "--all") == 0)
			all = true;
		else if (strcmp(argv[i], "--example") == 0) {
			config_print_example(stdout);
			return EX_OK;
		} else {
			ctl_error("config: unknown argument \"%s\"", argv[i]);
			return EX_USAGE;
		}
	}
	config_print(&ctl->cfg, stdout, all);
	return EX_OK;
}

static int cmd_help(struct ctl *ctl, int argc, char **argv);

static const struct ctl_command commands[] = {
	{ "init", "", "Create the state directory and the three databases "
	    "(directory.db, queue.db,\nmail.db) and bring their schemas up "
	    "to date. Safe to run again.", cmd_init, NULL },
	{ "migrate", "", "Apply pending schema migrations to existing "
	    "databases.", cmd_migrate, NULL },
	{ "config", "[-a | --example]", "Print the settings that differ from "
	    "their defaults; with -a, every setting;\nwith --example, a "
	    "commented file of every key at its default.", cmd_config, NULL },
	{ "domain", "add|del|list ...", "Manage mail domains (see "
	    "\"sluicectl domain help\").", NULL, &ctl_domain_group },
	{ "user", "add|del|passwd|list|enable|disable ...", "Manage users "
	    "(see \"sluicectl user help\").", NULL, &ctl_user_group },
	{ "alias", "add|del|list ...", "Manage aliases (see \"sluicectl "
	    "alias help\").", NULL, &ctl_alias_group },
	{ "network", "add|del|list ...", "Manage the named networks of the "
	    "policy (see \"sluicectl network help\").", NULL, &ctl_network_group },
	{ "grant", "add|del|list ...", "Manage which users may send as which "
	    "addresses (see \"sluicectl grant help\").", NULL, &ctl_grant_group },
	{ "limit", "set|del|list ...", "Manage per-user values of policy "
	    "limits (see \"sluicectl limit help\").", NULL, &ctl_limit_group },
	{ "policy", "check|explain ...", "Check a rule file, or explain what "
	    "the rules decide for a mail\n(see \"sluicectl policy help\").",
	    NULL, &ctl_policy_group },
	{ "queue", "list|show|flush|hold|release|delete ...", "Look at and "
	    "act on the mail queue (see \"sluicectl queue help\").", NULL,
	    &ctl_queue_group },
	{ "help", "[COMMAND]", "Show help for all commands or one.",
	    cmd_help, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: sluicectl [-c FILE] COMMAND [ARGUMENTS]\n\n"
	    "  -c FILE  configuration file (default %s)\n\ncommands:\n",
	    config_default_path());
	for (const struct ctl_command *c = commands; c->name; c++)
		fprintf(out, "  %-8s %s\n", c->name, c->usage);
	fprintf(out, "\n\"sluicectl COMMAND --help\" describes one command.\n");
}

static const struct ctl_command *
command_find(const char *name)
{
	for (const struct ctl_command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int
cmd_help(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_command *c;

	(void)ctl;
	if (argc < 2) {
		usage(stdout);
		return EX_OK;
	}
	if ((c = command_find(argv[1])) == NULL) {
		ctl_error("unknown command \"%s\"", argv[1]);
		return EX_USAGE;
	}
	ctl_usage(NULL, c);
	return EX_OK;
}

static int
ctl_load_config(struct ctl *ctl, bool explicit)
{
	const char *err;

	config_init(&ctl->cfg);
	/* Without -c a missing default file means "all defaults". */
	if (!explicit && access(ctl->config_path, F_OK) == -1 &&
	    errno == ENOENT)
		return config_resolve(&ctl->cfg, &err) == 0 ? EX_OK :
		    (ctl_error("%s", err), EX_CONFIG);
	if (config_load_file(&ctl->cfg, ctl->config_path, &err) == -1 ||
	    config_resolve(&ctl->cfg, &err) == -1) {
		ctl_error("%s", err);
		return EX_CONFIG;
	}
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct ctl ctl = { .config_path = config_default_path() };
	const struct ctl_command *cmd;
	bool explicit = false;
	int ch, status;

	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			ctl.config_path = optarg;
			explicit = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[0], "--help") == 0) {
		usage(stdout);
		return EX_OK;
	}
	if ((cmd = command_find(argv[0])) == NULL) {
		ctl_error("unknown command \"%s\"", argv[0]);
		usage(stderr);
		return EX_USAGE;
	}
	if (cmd->group == NULL && ctl_wants_help(NULL, cmd, argc, argv))
		return EX_OK;
	if ((status = ctl_load_config(&ctl, explicit)) == EX_OK)
		status = cmd->group != NULL ? ctl_run_group(&ctl, cmd->group,
		    argc, argv) : cmd->run(&ctl, argc, argv);
	db_close(&ctl.directory);
	config_free(&ctl.cfg);
	return status;
}
