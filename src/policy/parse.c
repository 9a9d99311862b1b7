/* policy rule file parser: see policy.h and sluice.policy(5). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "cidr.h"
#include "policy.h"
#include "policy_int.h"
#include "policy_lex.h"
#include "util.h"

#define NET_V4_DEFAULT		24
#define NET_V6_DEFAULT		64
#define LIMIT_MAX		2147483647ULL	/* as user_limits.value */
#define WINDOW_MAX		(7 * 86400)
#define ROUTE_NAME_MAX		(POLICY_ROUTE_MAX - 7)	/* "relay:" + NUL */
#define COND_TEXT_MAX		160

/* Only parse errors live here, so a failed reload cannot clobber them. */
static _Thread_local char parse_error[1024];

static int parse_text(struct pstate *, const char *, const char *,
    size_t);

const char *
policy_error_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(parse_error, sizeof(parse_error), fmt, ap);
	va_end(ap);
	return parse_error;
}

int
perr(const struct pstate *st, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(parse_error, sizeof(parse_error), "%s:%u: ", st->name,
	    line);
	if (n < 0 || (size_t)n >= sizeof(parse_error))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(parse_error + n, sizeof(parse_error) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ----- names and small values ----- */

static bool
name_is_valid(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '_' || c == '-' || c == '.'))
			continue;
		return false;
	}
	return true;
}

/* Listener names as listener.c allows them (any case). */
static bool
listener_name_is_valid(const char *s, size_t len)
{
	if (len == 0 || len > LISTENER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.'))
			return false;
	}
	return true;
}

static void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Decimal digits only, no sign or leading zero; false past max. */
static bool
number_parse(const char *s, size_t len, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*v_r = v;
	return true;
}

/* Room for one more element in an array that doubles as it grows. */
static void *
array_grow(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 8;
	return xreallocarray(v, *cap, size);
}

/* ----- lists ----- */

static struct plist *
list_find(const struct policy *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->nlists; i++) {
		struct plist *l = p->lists[i];

		if (l->name != NULL && strlen(l->name) == len &&
		    memcmp(l->name, name, len) == 0)
			return l;
	}
	return NULL;
}

/* A new list, without a name until its definition is complete. */
static struct plist *
list_new(struct pstate *st, unsigned int line)
{
	struct policy *p = st->p;
	struct plist *l = xcalloc(1, sizeof(*l));

	l->file = st->name;
	l->line = line;
	p->lists = array_grow(p->lists, p->nlists, &p->lists_cap,
	    sizeof(*p->lists));
	p->lists[p->nlists++] = l;
	return l;
}

static struct pentry *
list_add(struct plist *l, enum pentry_kind kind, char *text)
{
	struct pentry *e;

	l->v = array_grow(l->v, l->n, &l->cap, sizeof(*l->v));
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->text = text;
	e->len = text != NULL ? strlen(text) : 0;
	return e;
}

/* The normal form of a domain (or [literal]) from a list entry. */
static int
entry_domain(const char *s, bool literal_ok, char **domain_r,
    const char **error_r)
{
	struct addr a;
	char *m = xasprintf("x@%s", s);
	int ret;

	ret = addr_parse_mailbox(m, strlen(m), ADDR_ALLOW_UTF8, &a, error_r);
	free(m);
	if (ret == -1)
		return -1;
	if (!literal_ok && (a.flags & ADDR_F_IP_LITERAL)) {
		*error_r = "an address literal has no sub-domains";
		return -1;
	}
	*domain_r = xstrdup(a.domain);
	return 0;
}

static bool
looks_like_ip(const char *s)
{
	bool digits_dots = true;

	for (; *s != '\0'; s++) {
		if (*s == ':' || *s == '/')
			return true;
		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			digits_dots = false;
	}
	return digits_dots;
}

/* Classify one entry's text and add it to l; -1 with *error_r. */
static int
entry_add(struct plist *l, const char *s, const char **error_r)
{
	struct addr a;
	struct cidr c;
	char text[ADDR_TEXT_MAX + 1], *d;

	if (*s == '@' || *s == '.') {
		if (entry_domain(s + 1, *s == '@', &d, error_r) == -1)
			return -1;
		if (*s == '.') {
			char *sub = xasprintf(".%s", d);

			free(d);
			d = sub;
		}
		list_add(l, *s == '@' ? PE_DOMAIN : PE_SUBDOMAIN, d);
		return 0;
	}
	if (strchr(s, '@') != NULL) {
		if (addr_parse_mailbox(s, strlen(s), ADDR_ALLOW_UTF8, &a,
		    error_r) == -1)
			return -1;
		addr_format(&a, text, sizeof(text));
		str_lower(text);
		list_add(l, PE_ADDRESS, xstrdup(text));
		return 0;
	}
	if (looks_like_ip(s)) {
		if (cidr_parse(&c, s, strlen(s), error_r) == -1)
			return -1;
		list_add(l, PE_CIDR, NULL)->cidr = c;
		return 0;
	}
	if (entry_domain(s, false, &d, error_r) == 0) {
		list_add(l, PE_WORD, d)->is_domain = true;
		return 0;
	}
	if (!listener_name_is_valid(s, strlen(s))) {
		*error_r = "not a network, address, domain or name";
		return -1;
	}
	d = xstrdup(s);
	str_lower(d);
	list_add(l, PE_WORD, d);
	return 0;
}

static void
list_copy_entries(struct plist *dst, const struct plist *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct pentry *e = &src->v[i];
		struct pentry *n;

		n = list_add(dst, e->kind, e->text ? xstrdup(e->text) : NULL);
		n->is_domain = e->is_domain;
		n->cidr = e->cidr;
	}
}

static int
list_ref(struct pstate *st, const struct tok *t, struct plist **l_r)
{
	char show[SHOW_MAX * 4 + 8];

	if (t->len < 2 || !name_is_valid(t->s + 1, t->len - 1,
	    POLICY_NAME_MAX))
		return perr(st, t->line, "bad list name '%s'",
		    tok_show(t, show, sizeof(show)));
	*l_r = list_find(st->p, t->s + 1, t->len - 1);
	if (*l_r == NULL)
		return perr(st, t->line, "unknown list '%s' (lists are "
		    "defined with `list` before they are used)",
		    tok_show(t, show, sizeof(show)));
	return 0;
}

static int
list_entry(struct pstate *st, const struct tok *t, struct plist *l)
{
	char show[SHOW_MAX * 4 + 8];
	const char *error;
	struct plist *ref;
	char *text;
	int ret;

	if (t->type == T_WORD && t->s[0] == '$') {
		if (list_ref(st, t, &ref) == -1)
			return -1;
		/* $a, $a, ... doubles a list a line: bound the total */
		if (ref->n > POLICY_ENTRIES_MAX - st->p->nentries)
			return perr(st, t->line, "more than %d list entries in "
			    "the rule set", POLICY_ENTRIES_MAX);
		st->p->nentries += ref->n;
		list_copy_entries(l, ref);
		return 0;
	}
	if ((t->type != T_WORD && t->type != T_STRING) || t->len == 0)
		return perr(st, t->line, "expected a list entry, found '%s'",
		    tok_show(t, show, sizeof(show)));
	if (st->p->nentries >= POLICY_ENTRIES_MAX)
		return perr(st, t->line, "more than %d list entries in the "
		    "rule set", POLICY_ENTRIES_MAX);
	st->p->nentries++;
	text = tok_text(t);
	ret = entry_add(l, text, &error);
	free(text);
	if (ret == -1)
		return perr(st, t->line, "list entry '%s': %s",
		    tok_show(t, show, sizeof(show)), error);
	return 0;
}

/* entry { "," entry } up to the end or a "]" (not consumed). */
static int
list_entries(struct pstate *st, struct cur *c, struct plist *l)
{
	const struct tok *t;

	for (;;) {
		t = cur_peek(c);
		if (t == NULL || t->type == T_RBRACK)
			return cur_expected(st, c, "a list entry");
		c->i++;
		if (list_entry(st, t, l) == -1)
			return -1;
		t = cur_peek(c);
		if (t == NULL || t->type == T_RBRACK)
			return 0;
		if (t->type != T_COMMA)
			return cur_expected(st, c, "',' between list entries");
		c->i++;
	}
}

/* LIST: "$name" or "[" entries "]". */
static int
list_operand(struct pstate *st, struct cur *c, const struct plist **l_r)
{
	const struct tok *t = cur_peek(c);
	struct plist *l;

	if (t != NULL && t->type == T_WORD && t->s[0] == '$') {
		c->i++;
		if (list_ref(st, t, &l) == -1)
			return -1;
		*l_r = l;
		return 0;
	}
	if (t == NULL || t->type != T_LBRACK)
		return cur_expected(st, c, "a list ($name or [ ... ])");
	c->i++;
	l = list_new(st, t->line);
	if (list_entries(st, c, l) == -1)
		return -1;
	if (cur_peek(c) == NULL)
		return cur_expected(st, c, "']'");
	c->i++;
	*l_r = l;
	return 0;
}

/* NAME-or-LIST: a single word becomes an inline list of one. */
static int
list_or_word(struct pstate *st, struct cur *c, const struct plist **l_r)
{
	const struct tok *t = cur_peek(c);
	struct plist *l;

	if (t == NULL || t->type != T_WORD || t->s[0] == '$')
		return list_operand(st, c, l_r);
	c->i++;
	l = list_new(st, t->line);
	*l_r = l;
	return list_entry(st, t, l);
}

/* `list NAME = entry, ...` */
static int
stmt_list(struct pstate *st, struct cur *c)
{
	const struct tok *t = cur_next(c);
	char show[SHOW_MAX * 4 + 8];
	struct plist *l, *old;

	if (t == NULL || t->type != T_WORD)
		return cur_expected(st, c, "a list name");
	if (!name_is_valid(t->s, t->len, POLICY_NAME_MAX))
		return perr(st, t->line, "bad list name '%s' (1 to %d of "
		    "a-z 0-9 _ . -, starting with a letter or digit)",
		    tok_show(t, show, sizeof(show)), POLICY_NAME_MAX);
	if ((old = list_find(st->p, t->s, t->len)) != NULL)
		return perr(st, t->line, "list '%s' already defined at %s:%u",
		    old->name, old->file, old->line);
	if (cur_expect(st, c, "=") == -1)
		return -1;
	/* Named only once complete, so "list a = $a" finds no $a. */
	l = list_new(st, c->line);
	if (list_entries(st, c, l) == -1)
		return -1;
	l->name = xstrndup(t->s, t->len);
	return cur_end(st, c, "the list");
}

/* ----- limits and settings ----- */

static const char *const event_words[POLICY_EVENT_COUNT][2] = {
	[POLICY_EV_CONNECTION] = { "connections", "connection" },
	[POLICY_EV_MESSAGE] = { "messages", "message" },
	[POLICY_EV_RECIPIENT] = { "recipients", "recipient" },
	[POLICY_EV_AUTH_FAILURE] = { "auth-failures", "auth-failure" },
};

static const char *const scope_words[] = {
	[POLICY_SCOPE_USER] = "user",
	[POLICY_SCOPE_CLIENT] = "client",
	[POLICY_SCOPE_NET] = "net",
};

static int
duration_parse(const struct tok *t, int64_t *secs_r)
{
	uint64_t n, unit;

	if (t == NULL || t->type != T_WORD || t->len < 2)
		return -1;
	switch (t->s[t->len - 1]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (!number_parse(t->s, t->len - 1, WINDOW_MAX, &n) || n == 0 ||
	    n * unit > WINDOW_MAX)
		return -1;
	*secs_r = (int64_t)(n * unit);
	return 0;
}

static int
limit_event(const struct tok *t, enum policy_event *ev_r)
{
	for (size_t i = 0; i < POLICY_EVENT_COUNT; i++) {
		if (tok_is(t, event_words[i][0]) ||
		    tok_is(t, event_words[i][1])) {
			*ev_r = (enum policy_event)i;
			return 0;
		}
	}
	return -1;
}

static int
limit_scope(const struct tok *t, enum policy_scope *scope_r)
{
	for (size_t i = 0; i < ARRAY_SIZE(scope_words); i++) {
		if (tok_is(t, scope_words[i])) {
			*scope_r = (enum policy_scope)i;
			return 0;
		}
	}
	return -1;
}

static const struct policy_limit *
limit_find(const struct policy *p, const char *name, size_t len,
    size_t *index_r)
{
	for (size_t i = 0; i < p->nlimits; i++) {
		if (strlen(p->limits[i].name) == len &&
		    memcmp(p->limits[i].name, name, len) == 0) {
			if (index_r != NULL)
				*index_r = i;
			return &p->limits[i];
		}
	}
	return NULL;
}

/* N EVENT per DURATION by SCOPE, after "limit NAME =". */
static int
limit_body(struct pstate *st, struct cur *c, struct policy_limit *l)
{
	const struct tok *t;

	t = cur_peek(c);
	if (t == NULL || t->type != T_WORD ||
	    !number_parse(t->s, t->len, LIMIT_MAX, &l->max))
		return cur_expected(st, c, "a number of events (0 to "
		    "2147483647)");
	c->i++;
	if (limit_event(cur_peek(c), &l->event) == -1)
		return cur_expected(st, c, "connections, messages, recipients "
		    "or auth-failures");
	c->i++;
	if (cur_expect(st, c, "per") == -1)
		return -1;
	if (duration_parse(cur_peek(c), &l->window_secs) == -1)
		return cur_expected(st, c, "a window such as 30s, 1m, 1h, 1d "
		    "or 1w (at most 7d)");
	c->i++;
	if (cur_expect(st, c, "by") == -1)
		return -1;
	if (limit_scope(cur_peek(c), &l->scope) == -1)
		return cur_expected(st, c, "user, client or net");
	c->i++;
	return cur_end(st, c, "the limit");
}

/* `limit NAME = N EVENT per DURATION by SCOPE` */
static int
stmt_limit(struct pstate *st, struct cur *c)
{
	struct policy *p = st->p;
	const struct tok *t = cur_next(c);
	const struct policy_limit *old;
	char show[SHOW_MAX * 4 + 8];
	struct policy_limit l;

	if (t == NULL || t->type != T_WORD)
		return cur_expected(st, c, "a limit name");
	if (!name_is_valid(t->s, t->len, POLICY_NAME_MAX))
		return perr(st, t->line, "bad limit name '%s' (1 to %d of "
		    "a-z 0-9 _ . -, starting with a letter or digit)",
		    tok_show(t, show, sizeof(show)), POLICY_NAME_MAX);
	if ((old = limit_find(p, t->s, t->len, NULL)) != NULL)
		return perr(st, t->line, "limit '%s' already defined at "
		    "%s:%u", old->name, old->file, old->line);
	memset(&l, 0, sizeof(l));
	l.file = st->name;
	l.line = c->line;
	if (cur_expect(st, c, "=") == -1 || limit_body(st, c, &l) == -1)
		return -1;
	l.name = xstrndup(t->s, t->len);
	p->limits = array_grow(p->limits, p->nlimits, &p->limits_cap,
	    sizeof(*p->limits));
	p->limits[p->nlimits++] = l;
	return 0;
}

/* `set net-prefix = V4 V6` */
static int
stmt_set(struct pstate *st, struct cur *c)
{
	struct policy *p = st->p;
	const struct tok *t;
	uint64_t v4, v6;

	if (cur_expect(st, c, "net-prefix") == -1)
		return -1;
	if (p->net_set)
		return perr(st, c->line, "net-prefix is already set");
	if (cur_expect(st, c, "=") == -1)
		return -1;
	t = cur_peek(c);
	if (t == NULL || t->type != T_WORD ||
	    !number_parse(t->s, t->len, 32, &v4) || v4 == 0)
		return cur_expected(st, c, "an IPv4 prefix length (1 to 32)");
	c->i++;
	t = cur_peek(c);
	if (t == NULL || t->type != T_WORD ||
	    !number_parse(t->s, t->len, 128, &v6) || v6 == 0)
		return cur_expected(st, c, "an IPv6 prefix length (1 to 128)");
	c->i++;
	p->net_v4 = (unsigned int)v4;
	p->net_v6 = (unsigned int)v6;
	p->net_set = true;
	return cur_end(st, c, "the prefix lengths");
}

/* ----- conditions ----- */

#define STAGE(s)	(1u << (s))
#define ANY_STAGE	0xfu
#define AFTER_MAIL	(STAGE(POLICY_MAIL) | STAGE(POLICY_RCPT) | \
			 STAGE(POLICY_DATA))

/* Where each condition can be known; anywhere else it is an error. */
static const unsigned cond_stages[C_KIND_COUNT] = {
	[C_ANY] = ANY_STAGE,
	[C_LISTENER] = ANY_STAGE,
	[C_CLIENT_IN] = ANY_STAGE,
	[C_NETWORK] = ANY_STAGE,
	[C_AUTH] = AFTER_MAIL,
	[C_USER] = AFTER_MAIL,
	[C_TLS] = ANY_STAGE,
	[C_SENDER_NULL] = AFTER_MAIL,
	[C_SENDER_IN] = AFTER_MAIL,
	[C_SENDER_DOMAIN] = AFTER_MAIL,
	[C_SENDER_OWNED] = AFTER_MAIL,
	[C_FROM_OWNED] = STAGE(POLICY_DATA),
	[C_RCPT_LOCAL] = STAGE(POLICY_RCPT),
	[C_RCPT_RELAY] = STAGE(POLICY_RCPT),
	[C_RCPT_EXISTS] = STAGE(POLICY_RCPT),
	[C_RCPT_IN] = STAGE(POLICY_RCPT),
	[C_RCPT_DOMAIN_IN] = STAGE(POLICY_RCPT),
	[C_RCPT_ROUTING] = STAGE(POLICY_RCPT),
	[C_RCPT_LITERAL] = STAGE(POLICY_RCPT),
	[C_SIZE_GT] = AFTER_MAIL,
	[C_OVER] = ANY_STAGE,
};

/* Entry kinds a list may hold for a condition. */
#define K_CIDR		(1u << PE_CIDR)
#define K_ADDRESS	(1u << PE_ADDRESS)
#define K_DOMAIN	(1u << PE_DOMAIN)
#define K_SUBDOMAIN	(1u << PE_SUBDOMAIN)
#define K_WORD_DOMAIN	0x100u
#define K_WORD_NAME	0x200u

static int
list_check(struct pstate *st, unsigned int line, const struct plist *l,
    unsigned kinds, const char *what)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct pentry *e = &l->v[i];
		bool ok;

		if (e->kind != PE_WORD)
			ok = (kinds & (1u << e->kind)) != 0;
		else
			ok = (kinds & K_WORD_NAME) ||
			    ((kinds & K_WORD_DOMAIN) && e->is_domain);
		if (ok)
			continue;
		if (e->kind == PE_CIDR)
			return perr(st, line, "%s: a network has no place "
			    "in this list", what);
		return perr(st, line, "%s: '%s' has no place in this list",
		    what, e->text);
	}
	return 0;
}

static int
cond_list(struct pstate *st, struct cur *c, struct cond *cd, bool in,
    unsigned kinds)
{
	unsigned int line = cur_line(c);

	if (in && cur_expect(st, c, "in") == -1)
		return -1;
	if (in ? list_operand(st, c, &cd->list) == -1 :
	    list_or_word(st, c, &cd->list) == -1)
		return -1;
	return list_check(st, line, cd->list, kinds,
	    kinds == K_CIDR ? "client in needs IP addresses or networks" :
	    kinds == K_WORD_NAME ? "expected names" :
	    kinds & K_ADDRESS ? "expected addresses, @domains, .domains "
	    "or domains" : "expected @domains, .domains or domains");
}

static int
cond_sender(struct pstate *st, struct cur *c, struct cond *cd)
{
	if (cur_accept(c, "null"))
		cd->kind = C_SENDER_NULL;
	else if (cur_accept(c, "owned"))
		cd->kind = C_SENDER_OWNED;
	else if (tok_is(cur_peek(c), "in")) {
		cd->kind = C_SENDER_IN;
		return cond_list(st, c, cd, true, K_ADDRESS | K_DOMAIN |
		    K_SUBDOMAIN | K_WORD_DOMAIN);
	} else if (cur_accept(c, "domain")) {
		cd->kind = C_SENDER_DOMAIN;
		if (cur_accept(c, "local"))
			cd->domain_kind = DIR_DOMAIN_LOCAL;
		else if (cur_accept(c, "relay"))
			cd->domain_kind = DIR_DOMAIN_RELAY;
		else
			return cur_expected(st, c, "local or relay");
	} else
		return cur_expected(st, c, "null, owned, in or domain after "
		    "sender");
	return 0;
}

static int
cond_rcpt(struct pstate *st, struct cur *c, struct cond *cd)
{
	static const struct { const char *w; enum cond_kind k; } words[] = {
		{ "local", C_RCPT_LOCAL }, { "relay", C_RCPT_RELAY },
		{ "exists", C_RCPT_EXISTS }, { "routing", C_RCPT_ROUTING },
		{ "literal", C_RCPT_LITERAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		if (cur_accept(c, words[i].w)) {
			cd->kind = words[i].k;
			return 0;
		}
	}
	if (tok_is(cur_peek(c), "in")) {
		cd->kind = C_RCPT_IN;
		return cond_list(st, c, cd, true, K_ADDRESS | K_DOMAIN |
		    K_SUBDOMAIN | K_WORD_DOMAIN);
	}
	if (cur_accept(c, "domain")) {
		cd->kind = C_RCPT_DOMAIN_IN;
		return cond_list(st, c, cd, true, K_DOMAIN | K_SUBDOMAIN |
		    K_WORD_DOMAIN);
	}
	return cur_expected(st, c, "local, relay, exists, routing, literal, "
	    "in or domain in after rcpt");
}

static int
size_parse(const struct tok *t, uint64_t *size_r)
{
	uint64_t n, unit = 1;
	size_t len;

	if (t == NULL || t->type != T_WORD || t->len == 0)
		return -1;
	len = t->len;
	switch (t->s[len - 1]) {
	case 'K': case 'k': unit = 1024; len--; break;
	case 'M': case 'm': unit = 1024 * 1024; len--; break;
	case 'G': case 'g': unit = 1024 * 1024 * 1024; len--; break;
	}
	if (!number_parse(t->s, len, UINT64_MAX / unit, &n))
		return -1;
	*size_r = n * unit;
	return 0;
}

static int
cond_over(struct pstate *st, struct cur *c, struct cond *cd,
    enum policy_stage stage)
{
	const struct tok *t = cur_peek(c);
	const struct policy_limit *l;
	char show[SHOW_MAX * 4 + 8];

	if (t == NULL || t->type != T_WORD)
		return cur_expected(st, c, "a limit name");
	c->i++;
	l = limit_find(st->p, t->s, t->len, &cd->limit);
	if (l == NULL)
		return perr(st, t->line, "unknown limit '%s' (limits are "
		    "defined with `limit` before they are used)",
		    tok_show(t, show, sizeof(show)));
	if (l->scope == POLICY_SCOPE_USER && stage == POLICY_CONNECT)
		return perr(st, t->line, "limit '%s' counts by user, and no "
		    "user is known at connect", l->name);
	return 0;
}

static int
cond_kind_parse(struct pstate *st, struct cur *c, struct cond *cd,
    enum policy_stage stage)
{
	const struct tok *t = cur_next(c);
	char show[SHOW_MAX * 4 + 8];

	if (t == NULL)
		return cur_expected(st, c, "a condition");
	if (tok_is(t, "any"))
		cd->kind = C_ANY;
	else if (tok_is(t, "auth"))
		cd->kind = C_AUTH;
	else if (tok_is(t, "tls"))
		cd->kind = C_TLS;
	else if (tok_is(t, "listener")) {
		cd->kind = C_LISTENER;
		return cond_list(st, c, cd, false, K_WORD_NAME);
	} else if (tok_is(t, "network")) {
		cd->kind = C_NETWORK;
		return cond_list(st, c, cd, false, K_WORD_NAME);
	} else if (tok_is(t, "client")) {
		cd->kind = C_CLIENT_IN;
		return cond_list(st, c, cd, true, K_CIDR);
	} else if (tok_is(t, "user")) {
		cd->kind = C_USER;
		return cond_list(st, c, cd, tok_is(cur_peek(c), "in"),
		    K_ADDRESS | K_DOMAIN | K_SUBDOMAIN | K_WORD_DOMAIN);
	} else if (tok_is(t, "sender"))
		return cond_sender(st, c, cd);
	else if (tok_is(t, "from")) {
		cd->kind = C_FROM_OWNED;
		return cur_expect(st, c, "owned");
	} else if (tok_is(t, "rcpt"))
		return cond_rcpt(st, c, cd);
	else if (tok_is(t, "size")) {
		cd->kind = C_SIZE_GT;
		if (cur_expect(st, c, ">") == -1)
			return -1;
		if (size_parse(cur_peek(c), &cd->size) == -1)
			return cur_expected(st, c, "a size such as 10485760, "
			    "512K, 50M or 1G");
		c->i++;
	} else if (tok_is(t, "over")) {
		cd->kind = C_OVER;
		return cond_over(st, c, cd, stage);
	} else
		return perr(st, t->line, "unknown condition '%s'",
		    tok_show(t, show, sizeof(show)));
	return 0;
}

/* The tokens from..to as text: "client in [127.0.0.1, ::1]". */
static char *
cond_text(const struct cur *c, size_t from, bool negate)
{
	struct buf b = BUF_INIT;

	if (negate)
		buf_append_str(&b, "not ");
	for (size_t i = from; i < c->i && b.len < COND_TEXT_MAX; i++) {
		const struct tok *t = &c->v[i];

		if (i > from && t->type != T_COMMA && t->type != T_RBRACK &&
		    c->v[i - 1].type != T_LBRACK)
			buf_append_byte(&b, ' ');
		if (t->type == T_STRING)
			buf_append_byte(&b, '"');
		buf_append(&b, t->s, t->len);
		if (t->type == T_STRING)
			buf_append_byte(&b, '"');
	}
	if (b.len > COND_TEXT_MAX) {
		buf_truncate(&b, COND_TEXT_MAX - 3);
		buf_append_str(&b, "...");
	}
	return buf_steal(&b);
}

static int
cond_parse(struct pstate *st, struct cur *c, struct cond *cd,
    enum policy_stage stage)
{
	unsigned int line = cur_line(c);
	size_t from;

	memset(cd, 0, sizeof(*cd));
	cd->negate = cur_accept(c, "not");
	from = c->i;
	if (cond_kind_parse(st, c, cd, stage) == -1)
		return -1;
	cd->text = cond_text(c, from, cd->negate);
	if (!(cond_stages[cd->kind] & STAGE(stage)))
		return perr(st, line, "'%s' cannot be known at %s",
		    cd->text + (cd->negate ? 4 : 0), policy_stage_name(stage));
	return 0;
}

/* ----- decisions and rules ----- */

static int
status_parse(const struct tok *t, char cls, char *out, size_t size)
{
	uint64_t v;
	size_t i, start;

	if (t == NULL || t->type != T_WORD || t->len >= size || t->len < 5 ||
	    t->s[0] != cls || t->s[1] != '.')
		return -1;
	start = 2;
	for (int part = 0; part < 2; part++) {
		for (i = start; i < t->len && t->s[i] != '.'; i++)
			;
		if ((part == 0) != (i < t->len))
			return -1;
		if (!number_parse(t->s + start, i - start, 999, &v))
			return -1;
		start = i + 1;
	}
	memcpy(out, t->s, t->len);
	out[t->len] = '\0';
	return 0;
}

static int
text_parse(struct pstate *st, struct cur *c, char **text_r)
{
	const struct tok *t = cur_peek(c);

	if (t == NULL || t->type != T_STRING)
		return cur_expected(st, c, "the reply text in double quotes");
	c->i++;
	*text_r = tok_text(t);
	if (**text_r == '\0')
		return perr(st, t->line, "empty reply text");
	if (strlen(*text_r) > POLICY_TEXT_MAX)
		return perr(st, t->line, "reply text longer than %d bytes",
		    POLICY_TEXT_MAX);
	for (const char *s = *text_r; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return perr(st, t->line, "reply text must be "
			    "printable ASCII");
	return 0;
}

/* reject CODE X.Y.Z "text" / defer CODE X.Y.Z "text" */
static int
decision_refuse(struct pstate *st, struct cur *c, struct rule *r)
{
	const struct tok *t;
	char cls = r->action == POLICY_REJECT ? '5' : '4';
	const char *what = r->action == POLICY_REJECT ?
	    "a 5xx reply code (500 to 559) for reject" :
	    "a 4xx reply code (400 to 459) for defer";
	uint64_t code;

	t = cur_peek(c);
	if (t == NULL || t->type != T_WORD || t->len != 3 || t->s[0] != cls ||
	    !number_parse(t->s, t->len, 559, &code) || t->s[1] > '5')
		return cur_expected(st, c, what);
	c->i++;
	r->code = (int)code;
	if (status_parse(cur_peek(c), cls, r->status, sizeof(r->status)) == -1)
		return cur_expected(st, c, cls == '5' ?
		    "an enhanced status 5.X.Y" : "an enhanced status 4.X.Y");
	c->i++;
	return text_parse(st, c, &r->text);
}

static int
decision_accept(struct pstate *st, struct cur *c, struct rule *r)
{
	const struct tok *t;

	if (!cur_accept(c, "route"))
		return 0;
	if (r->stage != POLICY_RCPT)
		return perr(st, cur_line(c), "a route belongs to a rule at "
		    "rcpt");
	if (cur_accept(c, "local")) {
		r->route = xstrdup("local");
		return 0;
	}
	if (cur_expect(st, c, "relay") == -1)
		return -1;
	t = cur_peek(c);
	if (t == NULL || t->type != T_WORD ||
	    !name_is_valid(t->s, t->len, ROUTE_NAME_MAX))
		return cur_expected(st, c, "a smarthost name (a-z 0-9 _ . -)");
	c->i++;
	r->route = xasprintf("relay:%.*s", (int)t->len, t->s);
	return 0;
}

static int
decision_parse(struct pstate *st, struct cur *c, struct rule *r)
{
	int ret;

	if (cur_accept(c, "accept")) {
		r->action = POLICY_ACCEPT;
		ret = decision_accept(st, c, r);
	} else if (cur_accept(c, "reject")) {
		r->action = POLICY_REJECT;
		ret = decision_refuse(st, c, r);
	} else if (cur_accept(c, "defer")) {
		r->action = POLICY_DEFER;
		ret = decision_refuse(st, c, r);
	} else
		return cur_expected(st, c, "accept, reject or defer");
	return ret == -1 ? -1 : cur_end(st, c, "the decision");
}

static void
rule_clear(struct rule *r)
{
	for (size_t i = 0; i < r->nconds; i++)
		free(r->conds[i].text);
	free(r->conds);
	free(r->text);
	free(r->route);
	free(r->ref);
	memset(r, 0, sizeof(*r));
}

static int
rule_stage(struct pstate *st, struct cur *c, enum policy_stage *stage_r)
{
	const struct tok *t = cur_peek(c);
	char word[16];

	if (t == NULL || t->type != T_WORD || t->len >= sizeof(word))
		return cur_expected(st, c, "connect:, mail:, rcpt: or data:");
	memcpy(word, t->s, t->len);
	word[t->len] = '\0';
	if (t->len > 1 && word[t->len - 1] == ':')
		word[t->len - 1] = '\0';
	else if (c->i + 1 < c->n && tok_is(&c->v[c->i + 1], ":"))
		c->i++;
	else
		return cur_expected(st, c, "connect:, mail:, rcpt: or data:");
	if (policy_stage_from_name(word, stage_r) == -1)
		return cur_expected(st, c, "connect:, mail:, rcpt: or data:");
	c->i++;
	return 0;
}

/* `at STAGE: COND and ... => DECISION` */
static int
rule_parse(struct pstate *st, struct cur *c, struct rule *r)
{
	size_t cap = 0;

	memset(r, 0, sizeof(*r));
	if (rule_stage(st, c, &r->stage) == -1)
		return -1;
	for (;;) {
		r->conds = array_grow(r->conds, r->nconds, &cap,
		    sizeof(*r->conds));
		if (cond_parse(st, c, &r->conds[r->nconds], r->stage) == -1) {
			free(r->conds[r->nconds].text);
			return -1;
		}
		r->nconds++;
		if (cur_accept(c, "=>"))
			break;
		if (!cur_accept(c, "and"))
			return cur_expected(st, c, "'and' or '=>'");
	}
	if (decision_parse(st, c, r) == -1)
		return -1;
	r->ref = xasprintf("%s:%u", st->name, c->line);
	return 0;
}

static int
stmt_rule(struct pstate *st, struct cur *c)
{
	struct policy *p = st->p;
	struct rule r;

	if (rule_parse(st, c, &r) == -1) {
		rule_clear(&r);
		return -1;
	}
	p->rules = array_grow(p->rules, p->nrules, &p->rules_cap,
	    sizeof(*p->rules));
	p->rules[p->nrules++] = r;
	return 0;
}

/* ----- files and includes ----- */

static const char *
file_add(struct policy *p, char *name)
{
	p->files = xreallocarray(p->files, p->nfiles + 1, sizeof(*p->files));
	p->files[p->nfiles++] = name;
	return name;
}

/* A cycle, or a file read twice (its lists would clash anyway). */
static int
include_check(struct pstate *st, unsigned int line, const char *name)
{
	struct buf b = BUF_INIT;
	int ret = 0;

	for (int i = 0; i <= st->depth; i++) {
		if (strcmp(st->stack[i], name) != 0)
			continue;
		for (int j = i; j <= st->depth; j++)
			buf_printf(&b, "%s -> ", st->stack[j]);
		buf_append_str(&b, name);
		ret = perr(st, line, "include cycle: %s", buf_cstr(&b));
		buf_release(&b);
		return ret;
	}
	for (size_t i = 0; i < st->p->nfiles; i++)
		if (strcmp(st->p->files[i], name) == 0)
			return perr(st, line, "%s is already included", name);
	return 0;
}

/* `include "path"` */
static int
stmt_include(struct pstate *st, struct cur *c)
{
	const struct tok *t = cur_peek(c);
	struct policy_text inc = { NULL, NULL, 0 };
	const char *error, *saved = st->name;
	char *path;
	int ret;

	if (t == NULL || t->type != T_STRING || t->len == 0)
		return cur_expected(st, c, "a file name in double quotes");
	c->i++;
	if (cur_end(st, c, "the file name") == -1)
		return -1;
	if (st->inc == NULL)
		return perr(st, t->line, "include is not available here");
	if (st->depth >= POLICY_INCLUDE_DEPTH)
		return perr(st, t->line, "includes nested deeper than %d",
		    POLICY_INCLUDE_DEPTH);
	if (st->p->nfiles >= POLICY_FILES_MAX)
		return perr(st, t->line, "more than %d files in the rule set",
		    POLICY_FILES_MAX);
	path = tok_text(t);
	ret = st->inc(st->inc_ctx, st->name, path, &inc, &error);
	if (ret == -1)
		ret = perr(st, t->line, "include \"%s\": %s", path, error);
	else if (inc.len > POLICY_FILE_MAX)
		ret = perr(st, t->line, "include \"%s\": larger than %d KiB",
		    path, POLICY_FILE_MAX / 1024);
	else if ((ret = include_check(st, t->line, inc.name)) == 0) {
		st->stack[++st->depth] = file_add(st->p, inc.name);
		inc.name = NULL;
		ret = parse_text(st, st->stack[st->depth], inc.data, inc.len);
		st->depth--;
		st->name = saved;
	}
	free(path);
	free(inc.name);
	free(inc.data);
	return ret;
}

static int
stmt_parse(struct pstate *st, struct cur *c)
{
	const struct tok *t = cur_next(c);
	char show[SHOW_MAX * 4 + 8];

	if (t == NULL)
		return perr(st, cur_line(c), "empty statement");
	if (tok_is(t, "at"))
		return stmt_rule(st, c);
	if (tok_is(t, "list"))
		return stmt_list(st, c);
	if (tok_is(t, "limit"))
		return stmt_limit(st, c);
	if (tok_is(t, "include"))
		return stmt_include(st, c);
	if (tok_is(t, "set"))
		return stmt_set(st, c);
	return perr(st, t->line, "unknown statement '%s' (expected at, list, "
	    "limit, include or set)", tok_show(t, show, sizeof(show)));
}

static int
parse_text(struct pstate *st, const char *name, const char *text,
    size_t len)
{
	struct lexer lx = { text, len, 0, 1 };
	struct toks tk = { NULL, 0, 0 };
	struct cur c;
	int r;

	st->name = name;
	if (text_check(st, text, len) == -1)
		return -1;
	while ((r = lex_statement(st, &lx, &tk)) == 1) {
		c.v = tk.v;
		c.n = tk.n;
		c.i = 0;
		c.line = tk.v[0].line;
		if (stmt_parse(st, &c) == -1) {
			r = -1;
			break;
		}
		st->name = name;
	}
	free(tk.v);
	return r;
}

void
policy_free(struct policy **pp)
{
	struct policy *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	for (size_t i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->nlists; i++) {
		for (size_t j = 0; j < p->lists[i]->n; j++)
			free(p->lists[i]->v[j].text);
		free(p->lists[i]->v);
		free(p->lists[i]->name);
		free(p->lists[i]);
	}
	free(p->lists);
	for (size_t i = 0; i < p->nlimits; i++)
		free((void *)(uintptr_t)p->limits[i].name);
	free(p->limits);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	free(p);
	*pp = NULL;
}

int
policy_parse(const char *name, const char *text, size_t len,
    policy_include_fn inc, void *inc_ctx, struct policy **p_r,
    const char **error_r)
{
	struct pstate st;
	struct policy *p;

	*p_r = NULL;
	memset(&st, 0, sizeof(st));
	st.name = name;
	if (len > POLICY_FILE_MAX) {
		*error_r = policy_error_set("%s: larger than %d KiB", name,
		    POLICY_FILE_MAX / 1024);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->net_v4 = NET_V4_DEFAULT;
	p->net_v6 = NET_V6_DEFAULT;
	st.p = p;
	st.inc = inc;
	st.inc_ctx = inc_ctx;
	st.stack[0] = file_add(p, xstrdup(name));
	if (parse_text(&st, st.stack[0], text, len) == -1) {
		policy_free(&p);
		*error_r = parse_error;
		return -1;
	}
	*p_r = p;
	return 0;
}
