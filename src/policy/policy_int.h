/*
 * policy_int: the parsed form of a rule set, shared by the parser
 * (parse.c), which builds it, and the evaluator (eval.c), which only
 * reads it. Nothing outside src/policy/ includes this header.
 *
 * Contract: the parser leaves every string normalised for matching (list
 * entries lower-case, domains without trailing dot) and every condition
 * already checked against its stage and the kinds of its list's entries,
 * so the evaluator has no error path.
 */
#ifndef SLUICE_POLICY_INT_H
#define SLUICE_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "db_directory.h"
#include "policy.h"
#include "util.h"

enum pentry_kind {
	PE_CIDR,	/* 192.0.2.0/24, ::1 */
	PE_ADDRESS,	/* user@example.org, lower-case */
	PE_DOMAIN,	/* @example.org: exactly that domain */
	PE_SUBDOMAIN,	/* .example.org: any domain below it */
	PE_WORD		/* a name, or a bare domain (is_domain) */
};

struct pentry {
	enum pentry_kind kind;
	bool		 is_domain;	/* PE_WORD that is also a domain */
	struct cidr	 cidr;		/* PE_CIDR */
	char		*text;		/* address, domain, ".domain", word */
	size_t		 len;
};

struct plist {
	char		*name;		/* NULL for an inline [list] */
	const char	*file;		/* where it was defined */
	unsigned int	 line;
	struct pentry	*v;
	size_t		 n;
	size_t		 cap;
};

enum cond_kind {
	C_ANY,
	C_LISTENER,
	C_CLIENT_IN,
	C_NETWORK,
	C_AUTH,
	C_USER,
	C_TLS,
	C_SENDER_NULL,
	C_SENDER_IN,
	C_SENDER_DOMAIN,
	C_SENDER_OWNED,
	C_FROM_OWNED,
	C_RCPT_LOCAL,
	C_RCPT_RELAY,
	C_RCPT_EXISTS,
	C_RCPT_IN,
	C_RCPT_DOMAIN_IN,
	C_RCPT_ROUTING,
	C_RCPT_LITERAL,
	C_SIZE_GT,
	C_OVER,
	C_KIND_COUNT
};

struct cond {
	enum cond_kind	 kind;
	bool		 negate;
	const struct plist *list;	/* a single NAME is a list of one */
	enum dir_domain_kind domain_kind;	/* C_SENDER_DOMAIN */
	uint64_t	 size;		/* C_SIZE_GT */
	size_t		 limit;		/* C_OVER: index in policy.limits */
	char		*text;		/* as written, for "why" */
};

struct rule {
	enum policy_stage stage;
	struct cond	*conds;
	size_t		 nconds;
	enum policy_action action;
	int		 code;
	char		 status[12];
	char		*text;		/* reject/defer text, NULL for accept */
	char		*route;		/* NULL, "local" or "relay:NAME" */
	char		*ref;		/* "file:line" */
};

struct policy {
	struct rule	*rules;
	size_t		 nrules;
	size_t		 rules_cap;
	struct plist	**lists;	/* named and inline; never moved */
	size_t		 nlists;
	size_t		 lists_cap;
	size_t		 nentries;	/* in all lists, <= POLICY_ENTRIES_MAX */
	struct policy_limit *limits;
	size_t		 nlimits;
	size_t		 limits_cap;
	char		**files;	/* names of the files read, in order */
	size_t		 nfiles;
	unsigned int	 net_v4;	/* set net-prefix */
	unsigned int	 net_v6;
	bool		 net_set;
};

/* The scope key of a limit for an input; false when in has none. */
bool	policy_limit_key(const struct policy *p, const struct policy_limit *l,
	    const struct policy_input *in, char *out, size_t outsz);

/*
 * policy_error_set: format the error that policy_parse() and policy_load()
 * return; the text lives in a per-thread buffer until the next call.
 */
const char *policy_error_set(const char *fmt, ...) PRINTF_LIKE(1, 2);

#endif
