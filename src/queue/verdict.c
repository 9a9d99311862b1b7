/* verdict: see verdict.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "notice.h"
#include "verdict.h"

void
verdict_set(struct verdict *v, const char *result, const char *status,
    const char *fmt, ...)
{
	va_list ap;

	v->result = result;
	v->status = status;
	v->action = strcmp(result, "failed") == 0 ? DSN_ACTION_FAILED :
	    strcmp(result, "deferred") == 0 ? DSN_ACTION_DELAYED :
	    strcmp(result, "relayed") == 0 ? DSN_ACTION_RELAYED :
	    DSN_ACTION_DELIVERED;
	va_start(ap, fmt);
	vsnprintf(v->diagnostic, sizeof(v->diagnostic), fmt, ap);
	va_end(ap);
}

/* When a deferred recipient is tried again: doubling from retry_min. */
int64_t
retry_at(const struct config *cfg, int attempts, time_t now)
{
	int64_t delay = cfg->retry_min;

	for (int i = 0; i < attempts && delay < cfg->retry_max; i++)
		delay *= 2;
	if (delay > cfg->retry_max)
		delay = cfg->retry_max;
	return (int64_t)now + delay;
}

/*
 * Past queue_lifetime a deferral is final: the temporary status becomes
 * the permanent one of the same class (4.2.2 -> 5.2.2, mailbox full).
 */
void
verdicts_expire(const struct config *cfg, const struct queue_envelope *env,
    struct verdict *v, size_t n, time_t now)
{
	char status[16], why[sizeof(v->diagnostic)];

	if (now - env->arrived < cfg->queue_lifetime)
		return;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].result, "deferred") != 0)
			continue;
		snprintf(status, sizeof(status), "5%s", v[i].status + 1);
		str_copy(why, v[i].diagnostic, sizeof(why));
		verdict_set(&v[i], "failed", "5.4.7", "gave up after the "
		    "queue lifetime: %s", why);
		/* verdict_set keeps a pointer: the static classes only. */
		v[i].status = strcmp(status, "5.2.2") == 0 ? "5.2.2" :
		    strcmp(status, "5.3.0") == 0 ? "5.3.0" : "5.4.7";
	}
}

static int
record_outcomes(struct db *queue, const struct config *cfg,
    const struct queue_due *rcpts, size_t n, const struct verdict *v,
    time_t now, int64_t ms, const char **error_r)
{
	for (size_t i = 0; i < n; i++) {
		struct queue_outcome o = { .rcpt_id = rcpts[i].rcpt_id,
		    .result = v[i].result, .status = v[i].status,
		    .diagnostic = v[i].diagnostic, .started = now,
		    .duration_ms = ms, .next_attempt = retry_at(cfg,
		    rcpts[i].attempts, now), .mx = v[i].mx, .ip = v[i].ip,
		    .port = v[i].port, .dnssec = v[i].dnssec,
		    .tls_version = v[i].tls_version,
		    .tls_cipher = v[i].tls_cipher, .dane = v[i].dane };

		if (db_queue_outcome(queue, &o, error_r) == QUEUE_ERR)
			return -1;
	}
	return 0;
}

/*
 * A notice of ours that failed: it carries NOTIFY=NEVER, but the
 * postmaster hears of it once (notice.h).
 */
static bool
double_bounce(const struct queue_envelope *env, enum dsn_action action)
{
	return action == DSN_ACTION_FAILED && env->sender[0] == '\0' &&
	    strcmp(env->kind, "mail") != 0;
}

/* Is the one delay notice of this message due now? */
static bool
delay_due(const struct config *cfg, const struct queue_envelope *env,
    time_t now)
{
	return cfg->delay_warning > 0 && !env->delay_notified &&
	    now - env->arrived >= cfg->delay_warning;
}

/*
 * Queue the notices the outcomes call for (in the same transaction):
 * failures and successes as NOTIFY asks, and once per message, past
 * delay_warning, the delay of the recipients still deferred.
 */
static int
record_notices(struct db *queue, const struct config *cfg,
    struct qid_gen *qid, const struct queue_envelope *env,
    const struct buf *body, const struct queue_due *rcpts, size_t n,
    const struct verdict *v, time_t now, size_t *count, const char **error_r)
{
	struct dsn_rcpt *dr = xcalloc(n + 1, sizeof(*dr));
	bool delay = delay_due(cfg, env, now), delayed = false;
	struct queue_msg *m = NULL;
	struct buf stored = BUF_INIT;
	size_t k = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		bool deferred = strcmp(v[i].result, "deferred") == 0;

		delayed |= deferred;
		if ((deferred && !delay) || v[i].dsn_passed_on ||
		    (!notice_wanted(rcpts[i].notify, v[i].action) &&
		    !double_bounce(env, v[i].action)))
			continue;
		dr[k++] = (struct dsn_rcpt){ .final_rcpt = rcpts[i].address,
		    .orcpt = rcpts[i].orcpt, .action = v[i].action,
		    .status = v[i].status, .diagnostic = v[i].diagnostic,
		    .remote_mta = v[i].mx,
		    .last_attempt = now, .retry_until = deferred ?
		    (time_t)(env->arrived + cfg->queue_lifetime) : 0 };
	}
	if (k > 0 && body == NULL) {
		buf_init(&stored, 0);
		switch (db_queue_body_read(queue, env->id, &stored, error_r)) {
		case QUEUE_OK:
			break;
		case QUEUE_NOTFOUND:
			/* Deleted meanwhile (sluicectl queue delete): nobody
			 * to tell about it. */
			log_msg(LOG_INFO, NULL, env->id, "event=notice-skipped "
			    "reason=\"message deleted\"");
			k = 0;
			break;
		default:
			rc = -1;
		}
		body = &stored;
	}
	if (k > 0 && rc == 0 && (rc = notice_make(cfg, qid, env, body->data,
	    body->len, dr, k, now, &m, error_r)) == 0 && m != NULL) {
		if ((rc = db_queue_insert(queue, m, error_r)) == QUEUE_OK)
			(*count)++;
		log_msg(LOG_INFO, NULL, env->id, "event=notice notice=%s "
		    "kind=%s to=%s", m->id, m->kind, m->rcpts[0].address);
		queue_msg_free(&m);
	}
	free(dr);
	buf_release(&stored);
	if (rc == 0 && delay && delayed &&
	    db_queue_delay_notified(queue, env->id, error_r) != QUEUE_OK)
		rc = -1;
	return rc == 0 ? 0 : -1;
}

int
verdicts_record(struct db *queue, const struct config *cfg,
    struct qid_gen *qid, const struct queue_envelope *env,
    const struct buf *body, const struct queue_due *rcpts, size_t n,
    const struct verdict *v, time_t now, int64_t ms, size_t *notices,
    const char **error_r)
{
	if (record_outcomes(queue, cfg, rcpts, n, v, now, ms, error_r) == -1)
		return -1;
	return record_notices(queue, cfg, qid, env, body, rcpts, n, v, now,
	    notices, error_r);
}

void
verdicts_log(const char *event, const struct queue_envelope *env,
    const struct queue_due *rcpts, size_t n, const struct verdict *v,
    size_t *delivered, size_t *deferred, size_t *failed)
{
	for (size_t i = 0; i < n; i++) {
		log_msg(strcmp(v[i].result, "delivered") == 0 ? LOG_INFO :
		    LOG_NOTICE, NULL, env->id, "event=%s to=%s result=%s "
		    "status=%s%s%s%s%s%s%s%s%s detail=%s", event,
		    rcpts[i].address, v[i].result, v[i].status,
		    v[i].mx ? " mx=" : "", v[i].mx ? v[i].mx : "",
		    v[i].dnssec ? " dnssec=" : "", v[i].dnssec ? v[i].dnssec : "",
		    v[i].tls_version ? " tls=" : "",
		    v[i].tls_version ? v[i].tls_version : "",
		    v[i].dane ? " dane=" : "", v[i].dane ? v[i].dane : "",
		    log_quote_err(v[i].diagnostic));
		if (strcmp(v[i].result, "delivered") == 0)
			(*delivered)++;
		else if (strcmp(v[i].result, "deferred") == 0)
			(*deferred)++;
		else
			(*failed)++;
	}
}

