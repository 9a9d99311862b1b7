/*
 * facts: what the policy engine asks about the world (src/policy), from
 * directory.db and the shared rate counters: the one implementation of
 * struct policy_facts, used by the smtp workers and by sluicectl policy
 * explain, so both decide from the same facts.
 *
 * Contract: lookups are indexed point reads (allowed on the event loop).
 * A lookup that fails (the database is locked or broken) is remembered:
 * facts_decide() then turns a refusal, which might rest on the failed
 * answer, into a 451 4.3.0 deferral, so a passing database problem never
 * bounces mail.
 */
#ifndef SLUICE_SMTPD_FACTS_H
#define SLUICE_SMTPD_FACTS_H

#include <stdbool.h>

#include "addr.h"
#include "counters.h"
#include "db.h"
#include "policy.h"

#define FACTS_PENDING_MAX	16

struct facts {
	struct db		*directory;
	struct counters		*counters;	/* NULL: every count is 0 */
	const char		*delimiter;	/* recipient_delimiter or "" */
	bool			 failed;	/* a lookup failed */
	char			 error[256];
	/* Counted for the event being decided (facts_decide_event). */
	struct {
		char	 limit[POLICY_NAME_MAX + 1];
		char	 key[ADDR_TEXT_MAX + 1];
		int64_t	 window;
		uint64_t count;		/* the count our add produced */
	}			 pending[FACTS_PENDING_MAX];
	size_t			 npending;
};

/* Evaluate in with p against these facts at time now. */
void	 facts_decide(struct facts *fx, const struct policy *p,
	    const struct policy_input *in, int64_t now,
	    struct policy_decision *d);
/* The same with a trace of every rule tried, for explain. */
void	 facts_explain(struct facts *fx, const struct policy *p,
	    const struct policy_input *in, int64_t now,
	    struct policy_decision *d, policy_trace_fn trace, void *ctx);
/*
 * Count ev first, then decide, and take the count back when the decision
 * refuses: concurrent sessions in several workers see each other's
 * events while they decide, so they can never pass a limit together, and
 * a refused attempt does not count. The limits see the count without the
 * event being decided.
 */
void	 facts_decide_event(struct facts *fx, const struct policy *p,
	    enum policy_event ev, const struct policy_input *in, int64_t now,
	    struct policy_decision *d);
/* Count ev for every limit that counts it. */
void	 facts_count(struct facts *fx, const struct policy *p,
	    enum policy_event ev, const struct policy_input *in, int64_t now);

#endif
