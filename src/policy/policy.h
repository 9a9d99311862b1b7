/*
 * policy: the anti-relay policy engine. Rule files (sluice.policy(5)) are
 * parsed once into an immutable struct policy; policy_evaluate() then
 * answers, for one stage of one SMTP transaction, accept, reject or defer,
 * with the rule (file:line) that decided and a sentence saying why.
 *
 * Contract:
 *  - policy_parse() is pure: text in, a policy or an error naming
 *    file:line out; it reads included files only through the callback it
 *    is given. policy_load() is the I/O wrapper that reads files with
 *    bounded sizes. A policy is never modified after it is built, so one
 *    may be shared by readers and replaced whole on reload.
 *  - policy_evaluate() is a pure function of the policy, the input and the
 *    facts table: every directory lookup and counter value comes through
 *    the callbacks in struct policy_facts, so tests use a fake table and
 *    sluicectl and sluiced use the same code. It never fails: a missing or
 *    malformed sender or recipient is refused by built-in checks before
 *    any rule runs (rule "builtin"), and a stage where no rule matches gets
 *    the documented default (rule "default"); at rcpt that default refuses,
 *    so a policy that forgets a case is closed, not open.
 *  - Addresses are matched in normal form (addr.h): domains in lower case
 *    without trailing dot; local parts compared without regard to ASCII
 *    case, and handed to the facts callbacks lower-cased, as directory.db
 *    stores them.
 *  - Error strings from policy_parse() and policy_load() stay valid until
 *    the next call of either in the same thread.
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "db_directory.h"
#include "listener.h"

/* Bounds on what a rule set may make the parser hold. */
#define POLICY_FILE_MAX		(1024 * 1024)	/* bytes per file */
#define POLICY_LINE_MAX		4096		/* bytes per line, no EOL */
#define POLICY_INCLUDE_DEPTH	8		/* includes below the top */
#define POLICY_FILES_MAX	64		/* files in one rule set */
#define POLICY_NAME_MAX		64		/* list, limit, network names */
#define POLICY_TEXT_MAX		200		/* reply text of reject/defer */
#define POLICY_ENTRIES_MAX	100000		/* list entries, all lists */

struct policy;

enum policy_stage {
	POLICY_CONNECT,
	POLICY_MAIL,
	POLICY_RCPT,
	POLICY_DATA,
	POLICY_STAGE_COUNT
};

enum policy_action {
	POLICY_ACCEPT,
	POLICY_REJECT,
	POLICY_DEFER
};

/* What a limit counts; the session counts an event once it has happened. */
enum policy_event {
	POLICY_EV_CONNECTION,	/* a connection accepted at connect */
	POLICY_EV_MESSAGE,	/* a message accepted at end of data */
	POLICY_EV_RECIPIENT,	/* a recipient accepted at rcpt */
	POLICY_EV_AUTH_FAILURE,	/* a failed AUTH */
	POLICY_EVENT_COUNT
};

/* Whom a limit counts for. */
enum policy_scope {
	POLICY_SCOPE_USER,	/* the authenticated user's address */
	POLICY_SCOPE_CLIENT,	/* the client's IP address */
	POLICY_SCOPE_NET	/* the client's /24 or /64 (set net-prefix) */
};

struct policy_input {
	enum policy_stage	 stage;
	const char		*listener;	/* listener name */
	enum listener_role	 role;
	const struct sockaddr	*client;	/* NULL: unix socket */
	bool			 tls;
	const char		*user;		/* NULL: not authenticated */
	const struct addr	*sender;	/* mail, rcpt, data */
	const struct addr	*rcpt;		/* rcpt only */
	uint64_t		 size;		/* declared (mail, rcpt) or real
						   (data); 0: unknown */
	const struct addr	*from;		/* From: addresses (data) */
	size_t			 nfrom;
};

/*
 * The world the policy asks about. Every callback may be NULL, which reads
 * as "no" (no domain kind, nobody exists, nothing owned, no network, no
 * override, count 0). Strings passed in are normalised and lower-case.
 */
struct policy_facts {
	void	*impl;
	enum dir_domain_kind (*domain_kind)(void *impl, const char *domain);
	/* a user or alias with this address exists (and may receive) */
	bool	(*rcpt_exists)(void *impl, const char *address);
	/* user may use address as sender: own, alias to them, or granted */
	bool	(*sender_owned)(void *impl, const char *user,
		    const char *address);
	/* the client is in directory.db's named network */
	bool	(*network_match)(void *impl, const char *name,
		    const struct sockaddr *client);
	/* user's value for limit, or -1 for none */
	int64_t	(*limit_override)(void *impl, const char *user,
		    const char *limit);
	/*
	 * events counted for (limit, key) in the window ending at now, not
	 * including the one being decided: `over` is count >= maximum
	 */
	uint64_t (*count)(void *impl, const char *limit, const char *key,
		    int64_t window_secs, int64_t now);
	int64_t	 now;
};

#define POLICY_ROUTE_MAX	64
#define POLICY_RULE_REF_MAX	300

struct policy_decision {
	enum policy_action action;
	int	code;			/* 250 etc. for accept */
	char	status[12];		/* "5.7.1"; "" when none */
	char	text[256];		/* "" for accept */
	char	route[POLICY_ROUTE_MAX];	/* "", "local", "relay:NAME" */
	char	rule[POLICY_RULE_REF_MAX];	/* "file:line", "default" or
						   "builtin" */
	char	why[512];		/* one line, for logs and explain */
};

/*
 * Includes: called for `include "path"` in the file named from. Fills *t_r
 * with the included file's name (used in rule references, error messages
 * and to detect cycles) and text, both from malloc() and freed by the
 * parser. Returns 0, or -1 with *error_r set (valid until the parser
 * returns). A NULL callback refuses every include.
 */
struct policy_text {
	char	*name;
	char	*data;
	size_t	 len;
};
typedef int (*policy_include_fn)(void *ctx, const char *from,
    const char *path, struct policy_text *t_r, const char **error_r);

int	 policy_parse(const char *name, const char *text, size_t len,
	    policy_include_fn inc, void *inc_ctx, struct policy **p_r,
	    const char **error_r);
/*
 * policy_load: read path (at most POLICY_FILE_MAX bytes) and its includes,
 * resolved relative to the including file's directory, and parse them.
 */
int	 policy_load(const char *path, struct policy **p_r,
	    const char **error_r);
void	 policy_free(struct policy **pp);

/*
 * Trace, for `sluicectl policy explain`: called for each rule of the
 * stage in order until one matches, with the rule reference, whether it
 * matched, and what decided ("rcpt exists is false").
 */
typedef void (*policy_trace_fn)(void *ctx, const char *rule, bool matched,
    const char *detail);

void	 policy_evaluate(const struct policy *p, const struct policy_input *in,
	    const struct policy_facts *f, struct policy_decision *d);
void	 policy_evaluate_trace(const struct policy *p,
	    const struct policy_input *in, const struct policy_facts *f,
	    struct policy_decision *d, policy_trace_fn trace, void *trace_ctx);

/*
 * policy_limit_keys: for each limit that counts ev, call fn with the
 * limit's name, the scope key computed from in (the user's address, the
 * client's address text "192.0.2.1", or its network "192.0.2.0/24") and
 * the window. Limits whose scope in lacks (no user, no client address)
 * are skipped.
 */
void	 policy_limit_keys(const struct policy *p, enum policy_event ev,
	    const struct policy_input *in,
	    void (*fn)(void *ctx, const char *limit, const char *key,
	    int64_t window_secs), void *ctx);

/* A limit as declared, for the counter store and `sluicectl status`. */
struct policy_limit {
	const char		*name;
	enum policy_event	 event;
	enum policy_scope	 scope;
	uint64_t		 max;		/* events allowed per window */
	int64_t			 window_secs;
	const char		*file;
	unsigned int		 line;
};

size_t	 policy_limit_count(const struct policy *p);
const struct policy_limit *policy_limit_get(const struct policy *p,
	    size_t i);
/* Counts, for `sluicectl policy check`. */
size_t	 policy_rule_count(const struct policy *p);
size_t	 policy_file_count(const struct policy *p);

const char *policy_stage_name(enum policy_stage stage);
/* Returns 0 and sets *stage_r, or -1 for an unknown name. */
int	 policy_stage_from_name(const char *name, enum policy_stage *stage_r);
const char *policy_action_name(enum policy_action action);
const char *policy_event_name(enum policy_event ev);
const char *policy_scope_name(enum policy_scope scope);

#endif
