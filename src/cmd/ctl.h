/*
 * ctl: what the sluicectl commands share. Each command is a function
 * taking the context and its own arguments (argv[0] is the command word)
 * and returning a sysexits(3) status, having printed its own errors.
 */
#ifndef SLUICE_CTL_H
#define SLUICE_CTL_H

#include <stdbool.h>

#include "addr.h"
#include "config.h"
#include "db.h"
#include "util.h"

struct ctl {
	struct config	 cfg;
	const char	*config_path;
	struct db	*directory;	/* opened by ctl_directory_open() */
};

struct ctl_group;

/* A command runs a function, or (run NULL) a group of subcommands. */
struct ctl_command {
	const char	*name;
	const char	*usage;		/* arguments after the name */
	const char	*help;		/* one paragraph */
	int		(*run)(struct ctl *ctl, int argc, char **argv);
	const struct ctl_group *group;
};

/* A group of subcommands ("user add", "user del", ...). */
struct ctl_group {
	const char			*name;
	const struct ctl_command	*commands;	/* ends with name NULL */
};

extern const struct ctl_group ctl_domain_group;
extern const struct ctl_group ctl_user_group;
extern const struct ctl_group ctl_alias_group;
/* Policy data in directory.db: ctl_policy_data.c. */
extern const struct ctl_group ctl_network_group;
extern const struct ctl_group ctl_grant_group;
extern const struct ctl_group ctl_limit_group;
extern const struct ctl_group ctl_policy_group;
/* queue.db: ctl_queue.c. */
extern const struct ctl_group ctl_queue_group;

/* Print "sluicectl: message" to stderr. */
void	 ctl_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Open directory.db in the configured state directory; EX_* on failure. */
int	 ctl_directory_open(struct ctl *ctl);
/* Is argv[1] "-h" or "--help"? Then print the usage and return true. */
bool	 ctl_wants_help(const char *group, const struct ctl_command *cmd,
	    int argc, char **argv);
void	 ctl_usage(const char *group, const struct ctl_command *cmd);
int	 ctl_run_group(struct ctl *ctl, const struct ctl_group *g, int argc,
	    char **argv);

/* ctl_directory.c, shared by the command files: */
/* Map a DIR_* code to a message and exit status; what names the object. */
int	 ctl_dir_status(int rc, const char *what, const char *err);
/* An address as stored: local@domain in lower case, no address literal;
 * -1 (message printed) when it is not one. */
int	 ctl_address_normalise(const char *in, char out[ADDR_TEXT_MAX + 1]);
/* Fold ASCII letters to lower case in place. */
void	 ctl_lower(char *s);

#endif
