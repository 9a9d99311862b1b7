/* notice: see notice.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "addr.h"
#include "log.h"
#include "msgbody.h"
#include "notice.h"
#include "util.h"

bool
notice_wanted(unsigned notify, enum dsn_action action)
{
	if (notify & QUEUE_NOTIFY_NEVER)
		return false;
	switch (action) {
	case DSN_ACTION_FAILED:
		return notify == 0 || (notify & QUEUE_NOTIFY_FAILURE);
	case DSN_ACTION_DELAYED:
		return notify == 0 || (notify & QUEUE_NOTIFY_DELAY);
	default:
		return (notify & QUEUE_NOTIFY_SUCCESS) != 0;
	}
}

void
notice_postmaster(const struct config *cfg, char *out, size_t size)
{
	if (strchr(cfg->postmaster, '@') != NULL)
		snprintf(out, size, "%s", cfg->postmaster);
	else
		snprintf(out, size, "%s@%s", cfg->postmaster, cfg->hostname);
}

static bool
notice_any_failed(const struct dsn_rcpt *rcpts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rcpts[i].action == DSN_ACTION_FAILED)
			return true;
	return false;
}

/* To whom: the sender; the postmaster for a failed notice; or nobody. */
static const char *
notice_to(const struct config *cfg, const struct queue_envelope *env,
    const struct dsn_rcpt *rcpts, size_t n, char *pm, size_t pmsize)
{
	if (env->sender[0] != '\0')
		return env->sender;
	if (strcmp(env->kind, "mail") == 0 || !notice_any_failed(rcpts, n))
		return NULL;
	notice_postmaster(cfg, pm, pmsize);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(rcpts[i].final_rcpt, pm) == 0) {
			log_msg(LOG_ERR, NULL, env->id, "event=notice-dropped "
			    "reason=\"a notice to the postmaster failed\"");
			return NULL;
		}
	return pm;
}

/* bounce when a recipient failed, else delay when one is delayed. */
static const char *
notice_kind(const struct dsn_rcpt *rcpts, size_t n)
{
	bool delayed = false;

	for (size_t i = 0; i < n; i++) {
		if (rcpts[i].action == DSN_ACTION_FAILED)
			return "bounce";
		if (rcpts[i].action == DSN_ACTION_DELAYED)
			delayed = true;
	}
	return delayed ? "delay" : "success";
}

static struct queue_msg *
notice_msg(const char *to, const char *id, const struct dsn_info *info,
    const char *kind, time_t now)
{
	struct queue_msg *m = queue_msg_new();

	memcpy(m->id, id, sizeof(m->id));
	m->arrived = now;
	m->kind = kind;
	m->sender = xstrdup("");
	m->listener = xstrdup("internal");
	m->body_type = info->eightbit ? "8BITMIME" : NULL;
	m->smtputf8 = info->smtputf8 != 0;
	queue_msg_add_rcpt(m, to, QUEUE_NOTIFY_NEVER, NULL, NULL);
	return m;
}

int
notice_make(const struct config *cfg, struct qid_gen *qid,
    const struct queue_envelope *env, const char *body, size_t body_len,
    const struct dsn_rcpt *rcpts, size_t n, time_t now,
    struct queue_msg **m_r, const char **error_r)
{
	char pm[ADDR_TEXT_MAX + 1], id[QID_LEN + 1], msgid[QID_LEN + 300];
	struct buf out = BUF_INIT;
	struct dsn_info info;
	struct dsn_msg d;
	const char *to;
	int rc;

	*m_r = NULL;
	if (n == 0 || (to = notice_to(cfg, env, rcpts, n, pm,
	    sizeof(pm))) == NULL)
		return 0;
	qid_next(qid, id);
	snprintf(msgid, sizeof(msgid), "%s@%s", id, cfg->hostname);
	d = (struct dsn_msg){ .reporting_mta = cfg->hostname,
	    .queue_id = env->id, .sender = to, .envid = env->dsn_envid,
	    .arrival = (time_t)env->arrived,
	    .ret = env->dsn_ret == NULL ? DSN_RET_UNSET :
	    strcmp(env->dsn_ret, "FULL") == 0 ? DSN_RET_FULL : DSN_RET_HDRS,
	    .smtputf8 = env->smtputf8, .body = body, .body_len = body_len,
	    .date = now, .message_id = msgid, .rcpts = rcpts, .nrcpts = n };
	buf_init(&out, 0);
	if ((rc = dsn_report_write(&d, &out, &info, error_r)) != DSN_OK) {
		buf_release(&out);
		return rc == DSN_NO_SEND ? 0 : -1;
	}
	*m_r = notice_msg(to, id, &info, notice_kind(rcpts, n), now);
	(*m_r)->body = msgbody_new(SIZE_MAX, NULL);
	if (msgbody_append((*m_r)->body, out.data, out.len, error_r) == -1) {
		queue_msg_free(m_r);
		buf_release(&out);
		return -1;
	}
	buf_release(&out);
	return 0;
}
