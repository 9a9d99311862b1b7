/* facts: see facts.h. */
#include <stdio.h>
#include <string.h>

#include "db_directory.h"
#include "facts.h"
#include "util.h"

static void
facts_fail(struct facts *fx, const char *what, const char *err)
{
	fx->failed = true;
	snprintf(fx->error, sizeof(fx->error), "%s: %s", what,
	    err ? err : "error");
}

static enum dir_domain_kind
f_domain_kind(void *impl, const char *domain)
{
	struct facts *fx = impl;
	enum dir_domain_kind kind;
	const char *err = NULL;

	if (directory_domain_kind(fx->directory, domain, &kind, &err) ==
	    DIR_ERR)
		facts_fail(fx, "domain lookup", err);
	return kind;
}

static int
rcpt_exists_once(struct facts *fx, const char *address)
{
	const char *err = NULL;
	int rc = directory_rcpt_exists(fx->directory, address, &err);

	if (rc < 0)
		facts_fail(fx, "recipient lookup", err);
	return rc;
}

/* user+detail@domain exists when user@domain does (recipient_delimiter). */
static bool
f_rcpt_exists(void *impl, const char *address)
{
	struct facts *fx = impl;
	char base[ADDR_TEXT_MAX + 1];
	int rc = rcpt_exists_once(fx, address);

	if (rc != 0 || !addr_strip_detail(fx->delimiter, address, base,
	    sizeof(base)))
		return rc > 0;
	return rcpt_exists_once(fx, base) > 0;
}

static bool
f_sender_owned(void *impl, const char *user, const char *address)
{
	struct facts *fx = impl;
	const char *err = NULL;
	int rc = directory_sender_owned(fx->directory, user, address, &err);

	if (rc < 0)
		facts_fail(fx, "sender ownership", err);
	return rc > 0;
}

static bool
f_network_match(void *impl, const char *name, const struct sockaddr *client)
{
	struct facts *fx = impl;
	const char *err = NULL;
	int rc = directory_network_match(fx->directory, name, client, &err);

	if (rc < 0)
		facts_fail(fx, "network lookup", err);
	return rc > 0;
}

static int64_t
f_limit_override(void *impl, const char *user, const char *limit)
{
	struct facts *fx = impl;
	const char *err = NULL;
	int64_t value;
	int rc = directory_user_limit(fx->directory, user, limit, &value, &err);

	if (rc == DIR_OK)
		return value;
	if (rc != DIR_NOTFOUND)
		facts_fail(fx, "limit lookup", err);
	return -1;
}

static uint64_t
f_count(void *impl, const char *limit, const char *key, int64_t window,
    int64_t now)
{
	struct facts *fx = impl;
	uint64_t n;

	if (fx->counters == NULL)
		return 0;
	/*
	 * The event being decided was counted already: what counts is the
	 * value our own atomic add produced, without the event itself, so
	 * of two workers adding at once exactly one sees the limit reached.
	 */
	for (size_t i = 0; i < fx->npending; i++)
		if (strcmp(fx->pending[i].limit, limit) == 0 &&
		    strcmp(fx->pending[i].key, key) == 0)
			return fx->pending[i].count > 0 ?
			    fx->pending[i].count - 1 : 0;
	n = counters_get(fx->counters, limit, key, window, now);
	return n;
}

static void
facts_table(struct facts *fx, int64_t now, struct policy_facts *f)
{
	*f = (struct policy_facts){ fx, f_domain_kind, f_rcpt_exists,
	    f_sender_owned, f_network_match, f_limit_override, f_count, now };
	fx->failed = false;
	fx->error[0] = '\0';
}

/* A refusal that may rest on a failed lookup becomes a deferral. */
static void
facts_soften(struct facts *fx, struct policy_decision *d)
{
	if (!fx->failed || d->action != POLICY_REJECT)
		return;
	d->action = POLICY_DEFER;
	d->code = 451;
	str_copy(d->status, "4.3.0", sizeof(d->status));
	str_copy(d->text, "Directory lookup failed, try again later",
	    sizeof(d->text));
	snprintf(d->why, sizeof(d->why), "a lookup failed (%s); the rule "
	    "would have refused", fx->error);
}

void
facts_decide(struct facts *fx, const struct policy *p,
    const struct policy_input *in, int64_t now, struct policy_decision *d)
{
	facts_explain(fx, p, in, now, d, NULL, NULL);
}

void
facts_explain(struct facts *fx, const struct policy *p,
    const struct policy_input *in, int64_t now, struct policy_decision *d,
    policy_trace_fn trace, void *ctx)
{
	struct policy_facts f;

	facts_table(fx, now, &f);
	if (trace != NULL)
		policy_evaluate_trace(p, in, &f, d, trace, ctx);
	else
		policy_evaluate(p, in, &f, d);
	facts_soften(fx, d);
}

struct count_ctx {
	struct facts	*fx;
	int64_t		 now;
	bool		 pending;	/* remember what was counted */
};

static void
count_one(void *arg, const char *limit, const char *key, int64_t window)
{
	struct count_ctx *cc = arg;
	struct facts *fx = cc->fx;

	uint64_t n = counters_add(fx->counters, limit, key, window, cc->now,
	    1);

	if (cc->pending && fx->npending < FACTS_PENDING_MAX) {
		fx->pending[fx->npending].count = n;
		str_copy(fx->pending[fx->npending].limit, limit,
		    sizeof(fx->pending[0].limit));
		str_copy(fx->pending[fx->npending].key, key,
		    sizeof(fx->pending[0].key));
		fx->pending[fx->npending].window = window;
		fx->npending++;
	}
}

void
facts_decide_event(struct facts *fx, const struct policy *p,
    enum policy_event ev, const struct policy_input *in, int64_t now,
    struct policy_decision *d)
{
	struct count_ctx cc = { fx, now, true };

	fx->npending = 0;
	if (fx->counters != NULL)
		policy_limit_keys(p, ev, in, count_one, &cc);
	facts_decide(fx, p, in, now, d);
	for (size_t i = 0; i < fx->npending && d->action != POLICY_ACCEPT; i++)
		counters_sub(fx->counters, fx->pending[i].limit,
		    fx->pending[i].key, fx->pending[i].window, now, 1);
	fx->npending = 0;
}

void
facts_count(struct facts *fx, const struct policy *p, enum policy_event ev,
    const struct policy_input *in, int64_t now)
{
	struct count_ctx cc = { fx, now, false };

	if (fx->counters != NULL)
		policy_limit_keys(p, ev, in, count_one, &cc);
}
