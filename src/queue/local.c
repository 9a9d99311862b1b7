/* local: see local.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "addr.h"
#include "db.h"
#include "db_directory.h"
#include "db_queue.h"
#include "log.h"
#include "notify.h"
#include "qid.h"
#include "store.h"
#include "util.h"
#include "verdict.h"
#include "remote.h"
#include "local.h"

#define DAY	(24 * 60 * 60)

/* A final address an original recipient expanded to. */
struct target {
	char		*address;
	bool		 local;
	uint64_t	 quota;		/* local: octets, 0 unlimited */
	size_t		 origin;	/* index of the due recipient */
};

struct expansion {
	struct target	*v;
	size_t		 n, alloc;
	size_t		 start;		/* first target of this recipient */
	char		**seen;		/* addresses expanded so far */
	size_t		 nseen, seen_alloc;
	bool		 looped;
};

struct local_agent {
	const struct config	*cfg;
	struct db		*queue;
	struct db		*directory;
	struct store		*store;
	struct qid_gen		 qid;
	int			 notify_fd;
	char			*notify_dir;
	struct store_special	 special[5];
	size_t			 nspecial;
};

/* ---- expansion ---------------------------------------------------- */

static void
expansion_clear(struct expansion *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i].address);
	for (size_t i = 0; i < x->nseen; i++)
		free(x->seen[i]);
	free(x->v);
	free(x->seen);
	memset(x, 0, sizeof(*x));
}

/* Remember address; false when it was expanded before (a loop). */
static bool
expansion_visit(struct expansion *x, const char *address)
{
	for (size_t i = 0; i < x->nseen; i++)
		if (strcasecmp(x->seen[i], address) == 0)
			return false;
	if (x->nseen == x->seen_alloc) {
		x->seen_alloc = x->seen_alloc ? x->seen_alloc * 2 : 8;
		x->seen = xreallocarray(x->seen, x->seen_alloc,
		    sizeof(*x->seen));
	}
	x->seen[x->nseen++] = xstrdup(address);
	return true;
}

static void
expansion_add(struct expansion *x, const char *address, bool local,
    uint64_t quota, size_t origin)
{
	if (x->n == x->alloc) {
		x->alloc = x->alloc ? x->alloc * 2 : 8;
		x->v = xreallocarray(x->v, x->alloc, sizeof(*x->v));
	}
	x->v[x->n++] = (struct target){ xstrdup(address), local, quota,
	    origin };
}

struct alias_list {
	char		**v;
	size_t		 n, alloc;
};

static int
alias_collect(const struct dir_alias *a, void *arg)
{
	struct alias_list *l = arg;

	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 8;
		l->v = xreallocarray(l->v, l->alloc, sizeof(*l->v));
	}
	l->v[l->n++] = xstrdup(a->target);
	return l->n > LOCAL_TARGETS_MAX ? 1 : 0;
}

static bool
domain_is_local(struct local_agent *a, const char *address, int *err)
{
	const char *at = strrchr(address, '@'), *e;
	enum dir_domain_kind kind = DIR_DOMAIN_NONE;

	if (at == NULL)
		return false;
	if (directory_domain_kind(a->directory, at + 1, &kind, &e) == DIR_ERR)
		*err = 1;
	return kind == DIR_DOMAIN_LOCAL;
}

static int expand(struct local_agent *, const char *, unsigned,
    struct expansion *, size_t, struct verdict *);

static int
expand_alias(struct local_agent *a, const char *address, unsigned depth,
    struct expansion *x, size_t origin, struct verdict *v)
{
	struct alias_list l = { NULL, 0, 0 };
	const char *e;
	int rc = 0, err = 0;

	if (directory_alias_list(a->directory, address, alias_collect, &l,
	    &e) == DIR_ERR) {
		verdict_set(v, "deferred", "4.3.0", "directory lookup: %s", e);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		if (x->n - x->start >= LOCAL_TARGETS_MAX) {
			verdict_set(v, "failed", "5.3.0", "%s expands to too "
			    "many addresses", address);
			rc = -1;
		} else if (domain_is_local(a, l.v[i], &err))
			rc = expand(a, l.v[i], depth + 1, x, origin, v);
		else if (err) {
			verdict_set(v, "deferred", "4.3.0", "%s",
			    "directory lookup failed");
			rc = -1;
		} else if (expansion_visit(x, l.v[i]))
			expansion_add(x, l.v[i], false, 0, origin);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return rc;
}

static int
expand_user(struct local_agent *a, const char *address, struct expansion *x,
    size_t origin, struct verdict *v)
{
	struct dir_user u;
	const char *e;
	int rc;

	if ((rc = directory_user_get(a->directory, address, &u, &e)) != 0) {
		verdict_set(v, rc == DIR_NOTFOUND ? "failed" : "deferred",
		    rc == DIR_NOTFOUND ? "5.1.1" : "4.3.0",
		    "user lookup: %s", rc == DIR_NOTFOUND ? "no such user" : e);
		return -1;
	}
	expansion_add(x, u.address, true, (uint64_t)u.quota, origin);
	dir_user_clear(&u);
	return 0;
}

/*
 * Expand address (a local domain's) into x. Returns 0, or -1 with the
 * verdict set. An address met again is skipped (each final address gets
 * the message once); if nothing else is left, it was a loop.
 */
static int
expand(struct local_agent *a, const char *address, unsigned depth,
    struct expansion *x, size_t origin, struct verdict *v)
{
	char base[ADDR_TEXT_MAX + 1];
	enum dir_rcpt_kind kind;
	const char *e;

	if (depth > LOCAL_ALIAS_DEPTH_MAX) {
		verdict_set(v, "failed", "5.4.6", "alias nesting too deep at "
		    "%s", address);
		return -1;
	}
	if (!expansion_visit(x, address)) {
		x->looped = true;
		return 0;
	}
	if (directory_rcpt_lookup(a->directory, address, &kind, &e) < 0) {
		verdict_set(v, "deferred", "4.3.0", "directory lookup: %s", e);
		return -1;
	}
	if (kind == DIR_RCPT_NONE && addr_strip_detail(a->cfg->recipient_delimiter,
	    address, base, sizeof(base)))
		return expand(a, base, depth, x, origin, v);
	switch (kind) {
	case DIR_RCPT_MAILBOX:
		return expand_user(a, address, x, origin, v);
	case DIR_RCPT_ALIAS:
		return expand_alias(a, address, depth, x, origin, v);
	case DIR_RCPT_DISABLED:
		verdict_set(v, "failed", "5.2.1", "%s: mailbox disabled",
		    address);
		return -1;
	case DIR_RCPT_NO_MAILBOX:
		verdict_set(v, "failed", "5.1.1", "%s: no mailbox here",
		    address);
		return -1;
	default:
		verdict_set(v, "failed", "5.1.1", "%s: no such user", address);
		return -1;
	}
}

/* Expand every due recipient; a failed one gets its verdict now. */
static void
expand_all(struct local_agent *a, const struct queue_due *rcpts, size_t n,
    struct expansion *x, struct verdict *v)
{
	for (size_t i = 0; i < n; i++) {
		size_t before = x->n;

		x->start = before;
		x->looped = false;
		/* Each recipient's expansion may reach what another's did. */
		for (size_t j = 0; j < x->nseen; j++)
			free(x->seen[j]);
		x->nseen = 0;
		if (expand(a, rcpts[i].address, 0, x, i, &v[i]) == -1) {
			v[i].unexpanded = true;
			continue;
		}
		if (x->n == before && x->looped)
			verdict_set(&v[i], "failed", "5.4.6", "alias loop at %s",
			    rcpts[i].address);
	}
}

/* ---- storing ------------------------------------------------------ */

static void
store_prefix(struct buf *b, const char *sender, const char *owner)
{
	buf_printf(b, "Return-Path: <%s>\r\nDelivered-To: %s\r\n", sender,
	    owner);
}

/* The store's result for a local target, reduced to a verdict. */
static void
verdict_store(struct verdict *v, int result)
{
	if (v->result != NULL && strcmp(v->result, "deferred") == 0)
		return;		/* an earlier target already defers it */
	switch (result) {
	case STORE_OK:
	case STORE_DUPLICATE:
		return;
	case STORE_OVERQUOTA:
		verdict_set(v, "deferred", "4.2.2", "%s",
		    "mailbox full (quota exceeded)");
		return;
	default:
		verdict_set(v, "deferred", "4.3.0", "%s",
		    "mailbox store error");
		return;
	}
}

/* Tell sluice-mboxd which mailboxes have new mail. */
static void
local_notify(struct local_agent *a, const struct store_rcpt *sr, size_t n)
{
	char dgram[NOTIFY_DGRAM_MAX];
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		int w;

		if (sr[i].result != STORE_OK)
			continue;
		w = snprintf(dgram + len, sizeof(dgram) - len, "%" PRId64
		    " %s\n", sr[i].mailbox_id, sr[i].owner);
		if (w < 0 || (size_t)w >= sizeof(dgram) - len)
			break;
		len += (size_t)w;
	}
	if (len > 0)
		notify_send_dir(a->notify_fd, a->notify_dir, dgram, len);
}

static int
ensure_users(struct local_agent *a, const struct expansion *x)
{
	const char *e;

	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].local && store_user_ensure(a->store,
		    x->v[i].address, a->special, a->nspecial, &e) != STORE_OK) {
			log_msg(LOG_ERR, NULL, NULL, "event=store-error "
			    "user=%s error=%s", x->v[i].address,
			    log_quote_err(e));
			return -1;
		}
	return 0;
}

/* The store_rcpt for target i: an earlier one of the same user, or new. */
static size_t
store_slot(struct store_rcpt *sr, size_t *n, const char *owner)
{
	for (size_t j = 0; j < *n; j++)
		if (strcasecmp(sr[j].owner, owner) == 0)
			return j;
	return (*n)++;
}

/* Store the message for every local target, once each. */
static void
store_all(struct local_agent *a, const struct queue_envelope *env,
    const struct buf *body, const struct expansion *x, struct verdict *v,
    time_t now)
{
	struct store_rcpt *sr = xcalloc(x->n + 1, sizeof(*sr));
	struct buf *prefixes = xcalloc(x->n + 1, sizeof(*prefixes));
	size_t *slot = xcalloc(x->n + 1, sizeof(*slot));
	size_t n = 0;
	const char *e;

	for (size_t i = 0; i < x->n; i++) {
		size_t j;

		slot[i] = SIZE_MAX;
		if (!x->v[i].local || v[x->v[i].origin].result != NULL)
			continue;
		if ((j = store_slot(sr, &n, x->v[i].address)) == n - 1 &&
		    sr[j].owner == NULL) {
			buf_init(&prefixes[j], 0);
			store_prefix(&prefixes[j], env->sender,
			    x->v[i].address);
			sr[j] = (struct store_rcpt){ .owner = x->v[i].address,
			    .quota = x->v[i].quota, .prefix = prefixes[j].data,
			    .result = STORE_ERR };
		}
		slot[i] = j;
	}
	if (n > 0 && ensure_users(a, x) == 0 && store_deliver(a->store,
	    env->id, body->data, body->len, now, sr, n, &e) != STORE_OK)
		log_msg(LOG_ERR, NULL, env->id, "event=store-error error=%s",
		    log_quote_err(e));
	local_notify(a, sr, n);
	for (size_t j = 0; j < n; j++)
		if (sr[j].result == STORE_DUPLICATE)
			log_msg(LOG_NOTICE, NULL, env->id, "event=duplicate-skipped "
			    "to=%s note=\"stored by an earlier attempt\"",
			    sr[j].owner);
	for (size_t i = 0; i < x->n; i++)
		if (slot[i] != SIZE_MAX)
			verdict_store(&v[x->v[i].origin], sr[slot[i]].result);
	for (size_t i = 0; i < n; i++)
		buf_release(&prefixes[i]);
	free(prefixes);
	free(slot);
	free(sr);
}

/* ---- outcomes ----------------------------------------------------- */

/* Did recipient i reach a mailbox of its own name (no alias)? */
static bool
target_is_self(const struct expansion *x, size_t origin, const char *address)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].origin == origin)
			return strcasecmp(x->v[i].address, address) == 0;
	return false;
}

/* Final verdicts for recipients that got through expansion and store. */
static void
verdicts_finish(const struct expansion *x, const struct queue_due *rcpts,
    size_t n, struct verdict *v)
{
	for (size_t i = 0; i < x->n; i++) {
		if (x->v[i].local)
			v[x->v[i].origin].nlocal++;
		else
			v[x->v[i].origin].nremote++;
	}
	for (size_t i = 0; i < n; i++) {
		char what[64];

		if (v[i].result != NULL)
			continue;
		if (v[i].nremote == 0 && v[i].nlocal == 1 &&
		    target_is_self(x, i, rcpts[i].address)) {
			verdict_set(&v[i], "delivered", "2.0.0", "%s",
			    "delivered to mailbox");
			continue;
		}
		snprintf(what, sizeof(what), "%zu local, %zu remote",
		    v[i].nlocal, v[i].nremote);
		verdict_set(&v[i], "delivered", "2.0.0", "expanded to %s",
		    what);
		v[i].action = v[i].nremote + v[i].nlocal > 1 ?
		    DSN_ACTION_EXPANDED : DSN_ACTION_DELIVERED;
	}
}

/* Remote targets become recipients of their own on the same message. */
static int
record_expanded(struct local_agent *a, const char *message_id,
    const struct queue_due *rcpts, const struct expansion *x,
    const struct verdict *v, time_t now, const char **error_r)
{
	for (size_t i = 0; i < x->n; i++) {
		const struct queue_due *d = &rcpts[x->v[i].origin];
		char orcpt[ADDR_TEXT_MAX + 16];
		bool added;

		/* Whatever became of the local members (a full mailbox
		 * defers only them): the remote ones go on their own. */
		if (x->v[i].local || v[x->v[i].origin].unexpanded)
			continue;
		snprintf(orcpt, sizeof(orcpt), "rfc822;%s", d->address);
		if (db_queue_rcpt_expand(a->queue, message_id, d->rcpt_id,
		    x->v[i].address, d->notify, d->orcpt ? d->orcpt : orcpt,
		    now, &added, error_r) != QUEUE_OK)
			return -1;
	}
	return 0;
}

static int
record_all(struct local_agent *a, const struct queue_envelope *env,
    const struct buf *body, const struct queue_due *rcpts, size_t n,
    const struct expansion *x, const struct verdict *v, time_t now,
    int64_t ms, struct local_report *rep)
{
	const char *e;

	if (db_begin(a->queue, &e) == -1)
		goto fail;
	if (record_expanded(a, env->id, rcpts, x, v, now, &e) == -1 ||
	    verdicts_record(a->queue, a->cfg, &a->qid, env, body, rcpts, n,
	    v, now, ms, &rep->notices, &e) == -1 ||
	    db_commit(a->queue, &e) == -1) {
		db_rollback(a->queue);
		goto fail;
	}
	return 0;
fail:
	log_msg(LOG_ERR, NULL, env->id, "event=queue-update-failed error=%s",
	    log_quote_err(e));
	return -1;
}

static int64_t
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int
local_deliver(struct local_agent *a, const char *message_id,
    const struct queue_due *rcpts, size_t n, time_t now,
    struct local_report *rep)
{
	struct verdict *v = xcalloc(n + 1, sizeof(*v));
	struct queue_envelope env;
	struct expansion x = { 0 };
	struct buf body = BUF_INIT;
	struct timespec t0;
	const char *e;
	int rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	buf_init(&body, 0);
	if ((rc = db_queue_envelope_get(a->queue, message_id, &env, &e)) ==
	    QUEUE_NOTFOUND || (rc == QUEUE_OK && env.held)) {
		/* Deleted or held by an operator since the scan. */
		rc = 0;
		goto out;
	}
	if (rc != QUEUE_OK || (rc = db_queue_body_read(a->queue, message_id,
	    &body, &e)) != QUEUE_OK) {
		rc = -1;
		log_msg(LOG_ERR, NULL, message_id, "event=queue-read-failed "
		    "error=%s", log_quote_err(e));
		goto out;
	}
	expand_all(a, rcpts, n, &x, v);
	store_all(a, &env, &body, &x, v, now);
	verdicts_finish(&x, rcpts, n, v);
	verdicts_expire(a->cfg, &env, v, n, now);
	rc = record_all(a, &env, &body, rcpts, n, &x, v, now, ms_since(&t0),
	    rep);
	if (rc == 0)
		verdicts_log("local-delivery", &env, rcpts, n, v,
		    &rep->delivered, &rep->deferred, &rep->failed);
out:
	queue_envelope_clear(&env);
	expansion_clear(&x);
	buf_release(&body);
	free(v);
	return rc;
}

/* ---- housekeeping ------------------------------------------------- */

#define PURGE_BATCH	500
#define PURGE_BATCHES	20	/* per call: the thread has mail to deliver */

void
local_housekeeping(struct local_agent *a, time_t now)
{
	size_t n = 0, total = 0, pruned = 0;
	const char *e;
	/* Delivery records matter while a message may still be retried. */
	int64_t keep = a->cfg->queue_lifetime + a->cfg->queue_retention + DAY;

	for (int i = 0; i < PURGE_BATCHES; i++) {
		if (db_queue_purge(a->queue, (int64_t)now -
		    a->cfg->queue_retention, PURGE_BATCH, &n, &e) != QUEUE_OK) {
			log_msg(LOG_ERR, NULL, NULL, "event=purge-failed "
			    "error=%s", log_quote_err(e));
			break;
		}
		total += n;
		if (n < PURGE_BATCH)
			break;
	}
	if (store_deliveries_prune(a->store, (int64_t)now - keep,
	    PURGE_BATCH * PURGE_BATCHES, &pruned, &e) != STORE_OK)
		log_msg(LOG_ERR, NULL, NULL, "event=prune-failed error=%s",
		    log_quote_err(e));
	if (total > 0 || pruned > 0)
		log_msg(LOG_INFO, NULL, NULL, "event=purged messages=%zu "
		    "delivery_records=%zu", total, pruned);
}

/* ---- the agent ---------------------------------------------------- */

static void
agent_special(struct local_agent *a, const char *name, const char *use)
{
	if (name != NULL && name[0] != '\0')
		a->special[a->nspecial++] = (struct store_special){ name, use };
}

static int
agent_open_dbs(struct local_agent *a, const char **error_r)
{
	const struct config *cfg = a->cfg;
	char *path;
	int rc;

	path = xasprintf("%s/directory.db", cfg->state_dir);
	rc = db_open(path, "directory", DB_READONLY, &a->directory, error_r);
	free(path);
	if (rc == -1)
		return -1;
	path = xasprintf("%s/queue.db", cfg->state_dir);
	rc = db_open(path, "queue", 0, &a->queue, error_r);
	free(path);
	if (rc == -1)
		return -1;
	path = xasprintf("%s/mail.db", cfg->state_dir);
	rc = store_open(path, STORE_CREATE, &a->store, error_r);
	free(path);
	return rc == STORE_OK ? 0 : -1;
}

struct local_agent *
local_agent_new(const struct config *cfg, unsigned node, const char **error_r)
{
	struct local_agent *a = xcalloc(1, sizeof(*a));

	a->cfg = cfg;
	a->notify_fd = notify_sender();
	a->notify_dir = xasprintf("%s/notify", cfg->run_dir);
	qid_gen_init(&a->qid, node);
	agent_special(a, cfg->mailbox_sent, "\\Sent");
	agent_special(a, cfg->mailbox_drafts, "\\Drafts");
	agent_special(a, cfg->mailbox_trash, "\\Trash");
	agent_special(a, cfg->mailbox_junk, "\\Junk");
	agent_special(a, cfg->mailbox_archive, "\\Archive");
	if (agent_open_dbs(a, error_r) == -1) {
		local_agent_free(&a);
		return NULL;
	}
	return a;
}

void
local_agent_free(struct local_agent **ap)
{
	struct local_agent *a = *ap;

	if (a == NULL)
		return;
	db_close(&a->directory);
	db_close(&a->queue);
	store_close(&a->store);
	if (a->notify_fd != -1)
		close(a->notify_fd);
	free(a->notify_dir);
	free(a);
	*ap = NULL;
}

/* ---- recording remote outcomes (the delivery thread's queue.db) ------ */

int
local_record_remote(struct local_agent *a, struct remote_job **jobs, size_t n,
    time_t now, struct local_report *rep)
{
	const char *e = "unknown error";
	bool *ok = xcalloc(n + 1, sizeof(*ok));
	size_t i, failed = 0;

	if (db_begin(a->queue, &e) == -1) {
		free(ok);
		goto fail;
	}
	/* Each job in a savepoint: one that cannot be recorded (it stays
	 * due) does not take the others' outcomes with it. */
	for (i = 0; i < n; i++) {
		struct remote_job *j = jobs[i];

		verdicts_expire(a->cfg, &j->env, j->v, j->n, now);
		if (db_exec(a->queue, "SAVEPOINT job", &e) == -1)
			break;
		ok[i] = verdicts_record(a->queue, a->cfg, &a->qid, &j->env,
		    NULL, j->rcpts, j->n, j->v, now, j->ms, &rep->notices,
		    &e) == 0;
		if (!ok[i]) {
			log_msg(LOG_ERR, NULL, j->env.id, "event=record-failed "
			    "error=%s", log_quote_err(e));
			failed++;
			if (db_exec(a->queue, "ROLLBACK TO job", &e) == -1)
				break;
		}
		if (db_exec(a->queue, "RELEASE job", &e) == -1)
			break;
	}
	if (i < n || db_commit(a->queue, &e) == -1) {
		db_rollback(a->queue);
		free(ok);
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (ok[i])
			verdicts_log("remote-delivery", &jobs[i]->env,
			    jobs[i]->rcpts, jobs[i]->n, jobs[i]->v,
			    &rep->delivered, &rep->deferred, &rep->failed);
	free(ok);
	return failed > 0 ? -1 : 0;
fail:
	log_msg(LOG_ERR, NULL, NULL, "event=queue-update-failed jobs=%zu "
	    "error=%s", n, log_quote_err(e));
	return -1;
}
