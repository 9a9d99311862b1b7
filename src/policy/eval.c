/* policy evaluator: see policy.h and sluice.policy(5). */
#include <sys/socket.h>
#include <netinet/in.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "cidr.h"
#include "policy.h"
#include "policy_int.h"
#include "util.h"

#define USER_MAX	320	/* longer "users" cannot be addresses */

static const char *const stage_names[POLICY_STAGE_COUNT] = {
	[POLICY_CONNECT] = "connect",
	[POLICY_MAIL] = "mail",
	[POLICY_RCPT] = "rcpt",
	[POLICY_DATA] = "data",
};

/* What a stage answers when no rule matches: only rcpt refuses. */
static const struct {
	int		 code;
	const char	*status;
} accept_reply[POLICY_STAGE_COUNT] = {
	[POLICY_CONNECT] = { 220, "" },
	[POLICY_MAIL] = { 250, "2.1.0" },
	[POLICY_RCPT] = { 250, "2.1.5" },
	[POLICY_DATA] = { 250, "2.0.0" },
};

/* One evaluation: the input and its addresses in lower-case text. */
struct eval {
	const struct policy		*p;
	const struct policy_input	*in;
	const struct policy_facts	*f;
	char	 user[USER_MAX + 1];	/* "" when not authenticated */
	char	 sender[ADDR_TEXT_MAX + 1];
	char	 rcpt[ADDR_TEXT_MAX + 1];
	struct buf detail;		/* what an `over` found */
};

const char *
policy_stage_name(enum policy_stage stage)
{
	return (unsigned)stage < POLICY_STAGE_COUNT ? stage_names[stage] :
	    "unknown";
}

int
policy_stage_from_name(const char *name, enum policy_stage *stage_r)
{
	for (size_t i = 0; i < POLICY_STAGE_COUNT; i++) {
		if (strcmp(name, stage_names[i]) == 0) {
			*stage_r = (enum policy_stage)i;
			return 0;
		}
	}
	return -1;
}

const char *
policy_action_name(enum policy_action action)
{
	switch (action) {
	case POLICY_ACCEPT:
		return "accept";
	case POLICY_REJECT:
		return "reject";
	case POLICY_DEFER:
		return "defer";
	}
	return "unknown";
}

const char *
policy_event_name(enum policy_event ev)
{
	static const char *const names[POLICY_EVENT_COUNT] = {
		"connections", "messages", "recipients", "auth-failures"
	};

	return (unsigned)ev < POLICY_EVENT_COUNT ? names[ev] : "unknown";
}

const char *
policy_scope_name(enum policy_scope scope)
{
	switch (scope) {
	case POLICY_SCOPE_USER:
		return "user";
	case POLICY_SCOPE_CLIENT:
		return "client";
	case POLICY_SCOPE_NET:
		return "net";
	}
	return "unknown";
}

/* ----- addresses and lists ----- */

static void
text_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void
addr_text_lower(const struct addr *a, char *out, size_t size)
{
	addr_format(a, out, size);
	text_lower(out);
}

/* The domain part of an address text: after its last '@'. */
static const char *
text_domain(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : "";
}

static bool
entry_match_domain(const struct pentry *e, const char *domain)
{
	size_t dlen = strlen(domain);

	switch (e->kind) {
	case PE_DOMAIN:
		return strcmp(e->text, domain) == 0;
	case PE_WORD:
		return e->is_domain && strcmp(e->text, domain) == 0;
	case PE_SUBDOMAIN:
		/* e->text starts with '.', so the match ends on a label. */
		return dlen > e->len &&
		    memcmp(domain + dlen - e->len, e->text, e->len) == 0;
	default:
		return false;
	}
}

/* address: lower-case text; matches address, domain and sub-domain. */
static bool
list_match_address(const struct plist *l, const char *address)
{
	const char *domain = text_domain(address);

	for (size_t i = 0; i < l->n; i++) {
		const struct pentry *e = &l->v[i];

		if (e->kind == PE_ADDRESS ? strcmp(e->text, address) == 0 :
		    entry_match_domain(e, domain))
			return true;
	}
	return false;
}

static bool
list_match_domain(const struct plist *l, const char *domain)
{
	for (size_t i = 0; i < l->n; i++)
		if (entry_match_domain(&l->v[i], domain))
			return true;
	return false;
}

static bool
list_match_client(const struct plist *l, const struct sockaddr *client)
{
	if (client == NULL)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].kind == PE_CIDR &&
		    cidr_match(&l->v[i].cidr, client))
			return true;
	return false;
}

static bool
list_match_listener(const struct plist *l, const struct policy_input *in)
{
	const char *role = listener_role_name(in->role);

	for (size_t i = 0; i < l->n; i++) {
		const char *w = l->v[i].text;

		if (w == NULL)
			continue;
		if (in->listener != NULL && strcasecmp(w, in->listener) == 0)
			return true;
		if (role != NULL && strcmp(w, role) == 0)
			return true;
	}
	return false;
}

static bool
list_match_network(const struct eval *e, const struct plist *l)
{
	const struct policy_facts *f = e->f;

	if (e->in->client == NULL || f == NULL || f->network_match == NULL)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].text != NULL &&
		    f->network_match(f->impl, l->v[i].text, e->in->client))
			return true;
	return false;
}

/* ----- facts ----- */

static enum dir_domain_kind
domain_kind(const struct eval *e, const struct addr *a)
{
	if (a->domain_len == 0 || (a->flags & ADDR_F_IP_LITERAL) ||
	    e->f == NULL || e->f->domain_kind == NULL)
		return DIR_DOMAIN_NONE;
	return e->f->domain_kind(e->f->impl, a->domain);
}

static bool
owned(const struct eval *e, const struct addr *a)
{
	char text[ADDR_TEXT_MAX + 1];

	if (e->user[0] == '\0' || (a->flags & ADDR_F_NULL) ||
	    a->local_len == 0 || a->domain_len == 0 || e->f == NULL ||
	    e->f->sender_owned == NULL)
		return false;
	addr_text_lower(a, text, sizeof(text));
	return e->f->sender_owned(e->f->impl, e->user, text);
}

/* Every From: address is the user's; no From: at all is not. */
static bool
from_owned(const struct eval *e)
{
	if (e->in->from == NULL || e->in->nfrom == 0)
		return false;
	for (size_t i = 0; i < e->in->nfrom; i++)
		if (!owned(e, &e->in->from[i]))
			return false;
	return true;
}

static bool
rcpt_exists(const struct eval *e)
{
	const struct policy_facts *f = e->f;

	if ((e->in->rcpt->flags & ADDR_F_IP_LITERAL) || f == NULL ||
	    f->rcpt_exists == NULL)
		return false;
	return f->rcpt_exists(f->impl, e->rcpt);
}

bool
policy_limit_key(const struct policy *p, const struct policy_limit *l,
    const struct policy_input *in, char *out, size_t outsz)
{
	char *slash;

	switch (l->scope) {
	case POLICY_SCOPE_USER:
		if (in->user == NULL || in->user[0] == '\0' ||
		    str_copy(out, in->user, outsz) >= outsz)
			return false;
		text_lower(out);
		return true;
	case POLICY_SCOPE_CLIENT:
		if (in->client == NULL || outsz < CIDR_TEXT_SIZE ||
		    cidr_prefix_key(in->client, 32, 128, out, outsz) == -1)
			return false;
		if ((slash = strchr(out, '/')) != NULL)
			*slash = '\0';
		return true;
	case POLICY_SCOPE_NET:
		return in->client != NULL && outsz >= CIDR_TEXT_SIZE &&
		    cidr_prefix_key(in->client, p->net_v4, p->net_v6, out,
		    outsz) == 0;
	}
	return false;
}

static bool
over(struct eval *e, const struct cond *c)
{
	const struct policy_limit *l = &e->p->limits[c->limit];
	const struct policy_facts *f = e->f;
	char key[USER_MAX + CIDR_TEXT_SIZE];
	uint64_t max = l->max, count = 0;
	int64_t o;

	buf_reset(&e->detail);
	if (!policy_limit_key(e->p, l, e->in, key, sizeof(key))) {
		buf_printf(&e->detail, "no %s to count by",
		    policy_scope_name(l->scope));
		return false;
	}
	if (l->scope == POLICY_SCOPE_USER && f != NULL &&
	    f->limit_override != NULL &&
	    (o = f->limit_override(f->impl, e->user, l->name)) >= 0)
		max = (uint64_t)o;
	if (f != NULL && f->count != NULL)
		count = f->count(f->impl, l->name, key, l->window_secs,
		    f->now);
	buf_printf(&e->detail, "%" PRIu64 " %s of %" PRIu64 " per %" PRId64
	    "s for %s %s%s", count, policy_event_name(l->event), max,
	    l->window_secs, policy_scope_name(l->scope), key,
	    max != l->max ? ", user override" : "");
	/* The counters hold events already counted: this one would pass. */
	return count >= max;
}

/* ----- conditions ----- */

static bool
cond_sender(struct eval *e, const struct cond *c)
{
	const struct addr *s = e->in->sender;
	bool null = (s->flags & ADDR_F_NULL) != 0;

	switch (c->kind) {
	case C_SENDER_NULL:
		return null;
	case C_SENDER_IN:
		return !null && list_match_address(c->list, e->sender);
	case C_SENDER_DOMAIN:
		return !null && domain_kind(e, s) == c->domain_kind;
	case C_SENDER_OWNED:
		return owned(e, s);
	default:
		return false;
	}
}

static bool
cond_rcpt(struct eval *e, const struct cond *c)
{
	const struct addr *r = e->in->rcpt;

	switch (c->kind) {
	case C_RCPT_LOCAL:
		return domain_kind(e, r) == DIR_DOMAIN_LOCAL;
	case C_RCPT_RELAY:
		return domain_kind(e, r) == DIR_DOMAIN_RELAY;
	case C_RCPT_EXISTS:
		return rcpt_exists(e);
	case C_RCPT_IN:
		return list_match_address(c->list, e->rcpt);
	case C_RCPT_DOMAIN_IN:
		return list_match_domain(c->list, r->domain);
	case C_RCPT_ROUTING:
		return (r->flags & ADDR_F_ROUTING) != 0;
	case C_RCPT_LITERAL:
		return (r->flags & ADDR_F_IP_LITERAL) != 0;
	default:
		return false;
	}
}

/* The condition's value before `not`. */
static bool
cond_value(struct eval *e, const struct cond *c)
{
	const struct policy_input *in = e->in;

	switch (c->kind) {
	case C_ANY:
		return true;
	case C_LISTENER:
		return list_match_listener(c->list, in);
	case C_CLIENT_IN:
		return list_match_client(c->list, in->client);
	case C_NETWORK:
		return list_match_network(e, c->list);
	case C_AUTH:
		return e->user[0] != '\0';
	case C_USER:
		return e->user[0] != '\0' &&
		    list_match_address(c->list, e->user);
	case C_TLS:
		return in->tls;
	case C_FROM_OWNED:
		return from_owned(e);
	case C_SIZE_GT:
		return in->size > c->size;
	case C_OVER:
		return over(e, c);
	case C_SENDER_NULL: case C_SENDER_IN: case C_SENDER_DOMAIN:
	case C_SENDER_OWNED:
		return cond_sender(e, c);
	default:
		return cond_rcpt(e, c);
	}
}

/* ----- decisions ----- */

static void
decide(struct policy_decision *d, enum policy_stage stage,
    enum policy_action action, int code, const char *status,
    const char *text)
{
	d->action = action;
	if (action == POLICY_ACCEPT) {
		d->code = accept_reply[stage].code;
		str_copy(d->status, accept_reply[stage].status,
		    sizeof(d->status));
		d->text[0] = '\0';
		return;
	}
	d->code = code;
	str_copy(d->status, status, sizeof(d->status));
	str_copy(d->text, text, sizeof(d->text));
}

/*
 * Input no rule should ever see: a stage that needs a sender without one,
 * or a recipient that is missing or not an address. A caller bug or a
 * parser gap must not reach a broad "accept" rule.
 */
static bool
builtin_check(const struct policy_input *in, struct policy_decision *d)
{
	const struct addr *s = in->sender, *r = in->rcpt;
	const char *why = NULL;

	if ((unsigned)in->stage >= POLICY_STAGE_COUNT) {
		decide(d, POLICY_CONNECT, POLICY_DEFER, 451, "4.3.0",
		    "Policy input incomplete");
		why = "builtin: unknown stage";
	} else if (in->stage != POLICY_CONNECT && s == NULL) {
		decide(d, in->stage, POLICY_DEFER, 451, "4.3.0",
		    "Policy input incomplete");
		why = "builtin: no sender given after MAIL";
	} else if (s != NULL && !(s->flags & ADDR_F_NULL) &&
	    (s->local_len == 0 || s->domain_len == 0)) {
		decide(d, in->stage, POLICY_REJECT, 553, "5.1.7",
		    "Sender address rejected: malformed address");
		why = "builtin: the sender has no local part or no domain";
	} else if (in->stage == POLICY_RCPT && (r == NULL ||
	    (r->flags & ADDR_F_NULL) || r->local_len == 0 ||
	    r->domain_len == 0)) {
		decide(d, in->stage, POLICY_REJECT, 553, "5.1.3",
		    "Recipient address rejected: malformed address");
		why = "builtin: the recipient is missing, null, or has no "
		    "local part or no domain";
	}
	if (why == NULL)
		return false;
	str_copy(d->rule, "builtin", sizeof(d->rule));
	str_copy(d->why, why, sizeof(d->why));
	return true;
}

static void
decide_default(const struct eval *e, struct policy_decision *d)
{
	enum policy_stage stage = e->in->stage;

	if (stage == POLICY_RCPT)
		decide(d, stage, POLICY_REJECT, 554, "5.7.1",
		    "Relay access denied");
	else
		decide(d, stage, POLICY_ACCEPT, 0, "", "");
	str_copy(d->rule, "default", sizeof(d->rule));
	snprintf(d->why, sizeof(d->why), "no rule at %s matched; the "
	    "default at %s is to %s", stage_names[stage], stage_names[stage],
	    stage == POLICY_RCPT ? "refuse (no relay unless a rule accepts)" :
	    "accept");
}

/* All conditions hold: fill why with them; else *failed_r is the first. */
static bool
rule_match(struct eval *e, const struct rule *r, struct buf *why,
    const struct cond **failed_r)
{
	buf_reset(why);
	buf_printf(why, "rule %s matched: ", r->ref);
	for (size_t i = 0; i < r->nconds; i++) {
		const struct cond *c = &r->conds[i];

		if (cond_value(e, c) == c->negate) {
			*failed_r = c;
			return false;
		}
		buf_printf(why, "%s%s", i > 0 ? ", " : "", c->text);
		if (c->kind == C_OVER)
			buf_printf(why, " (%s)", buf_cstr(&e->detail));
	}
	return true;
}

static void
eval_init(struct eval *e, const struct policy *p,
    const struct policy_input *in, const struct policy_facts *f)
{
	memset(e, 0, sizeof(*e));
	e->p = p;
	e->in = in;
	e->f = f;
	buf_init(&e->detail, 0);
	if (in->user != NULL && str_copy(e->user, in->user,
	    sizeof(e->user)) < sizeof(e->user))
		text_lower(e->user);
	else
		e->user[0] = '\0';
	if (in->sender != NULL)
		addr_text_lower(in->sender, e->sender, sizeof(e->sender));
	if (in->rcpt != NULL)
		addr_text_lower(in->rcpt, e->rcpt, sizeof(e->rcpt));
}

static void
trace_fail(policy_trace_fn trace, void *ctx, const struct rule *r,
    const struct cond *c, const struct buf *detail)
{
	char text[512];

	if (trace == NULL)
		return;
	if (c->kind == C_OVER)
		snprintf(text, sizeof(text), "'%s' is false (%s)", c->text,
		    buf_cstr(detail));
	else
		snprintf(text, sizeof(text), "'%s' is false", c->text);
	trace(ctx, r->ref, false, text);
}

void
policy_evaluate_trace(const struct policy *p, const struct policy_input *in,
    const struct policy_facts *f, struct policy_decision *d,
    policy_trace_fn trace, void *trace_ctx)
{
	struct buf why = BUF_INIT;
	const struct cond *failed;
	struct eval e;

	memset(d, 0, sizeof(*d));
	if (builtin_check(in, d)) {
		if (trace != NULL)
			trace(trace_ctx, d->rule, true, d->why);
		return;
	}
	eval_init(&e, p, in, f);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (r->stage != in->stage)
			continue;
		if (!rule_match(&e, r, &why, &failed)) {
			trace_fail(trace, trace_ctx, r, failed, &e.detail);
			continue;
		}
		decide(d, in->stage, r->action, r->code, r->status,
		    r->text != NULL ? r->text : "");
		str_copy(d->route, r->route != NULL ? r->route : "",
		    sizeof(d->route));
		str_copy(d->rule, r->ref, sizeof(d->rule));
		str_copy(d->why, buf_cstr(&why), sizeof(d->why));
		break;
	}
	if (d->rule[0] == '\0')
		decide_default(&e, d);
	if (trace != NULL)
		trace(trace_ctx, d->rule, true, d->why);
	buf_release(&why);
	buf_release(&e.detail);
}

void
policy_evaluate(const struct policy *p, const struct policy_input *in,
    const struct policy_facts *f, struct policy_decision *d)
{
	policy_evaluate_trace(p, in, f, d, NULL, NULL);
}

void
policy_limit_keys(const struct policy *p, enum policy_event ev,
    const struct policy_input *in,
    void (*fn)(void *ctx, const char *limit, const char *key,
    int64_t window_secs), void *ctx)
{
	char key[USER_MAX + CIDR_TEXT_SIZE];

	for (size_t i = 0; i < p->nlimits; i++) {
		const struct policy_limit *l = &p->limits[i];

		if (l->event == ev &&
		    policy_limit_key(p, l, in, key, sizeof(key)))
			fn(ctx, l->name, key, l->window_secs);
	}
}

/* ----- accessors ----- */

size_t
policy_limit_count(const struct policy *p)
{
	return p->nlimits;
}

const struct policy_limit *
policy_limit_get(const struct policy *p, size_t i)
{
	return i < p->nlimits ? &p->limits[i] : NULL;
}

size_t
policy_rule_count(const struct policy *p)
{
	return p->nrules;
}

size_t
policy_file_count(const struct policy *p)
{
	return p->nfiles;
}
