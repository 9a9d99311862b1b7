/*
 * message: the body of a transaction, from DATA or BDAT to the queue: the
 * body reader's verdict, the header lines Sluice adds (Received, and on
 * submission a missing Message-ID or Date), and the hand-over to the
 * durable queue.
 */
#include <ctype.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "db_queue.h"
#include "log.h"
#include "rfc5322.h"
#include "session_int.h"
#include "util.h"

#define MESSAGE_FROM_MAX	16	/* From: addresses the policy sees */

_Static_assert(SMTP_NOTIFY_NEVER == QUEUE_NOTIFY_NEVER &&
    SMTP_NOTIFY_SUCCESS == QUEUE_NOTIFY_SUCCESS &&
    SMTP_NOTIFY_FAILURE == QUEUE_NOTIFY_FAILURE &&
    SMTP_NOTIFY_DELAY == QUEUE_NOTIFY_DELAY, "NOTIFY bits differ");

static int
body_sink(void *ctx, const char *data, size_t len)
{
	struct smtpd_txn *t = ctx;
	const char *err;

	return msgbody_append(t->body, data, len, &err);
}

void
smtpd_data_begin(struct smtpd_session *s)
{
	const struct config *cfg = s->env->cfg;
	struct smtpd_txn *t = s->txn;
	struct data_limits lim = {
		.max_size = cfg->message_size_limit,
		.bare = s->listener->bare_lf == LISTENER_BARE_LF_REJECT ?
		    DATA_BARE_REJECT : DATA_BARE_NORMALISE,
		.max_header_lines = 1000,
	};

	t->body = msgbody_new(cfg->smtp_memory_body_limit, s->env->spill_dir);
	data_reader_init(&t->reader, &lim, body_sink, t);
	t->reading = true;
}

size_t
smtpd_data_input(struct smtpd_session *s, const char *data, size_t len)
{
	size_t used = 0;

	if (data_reader_feed(&s->txn->reader, data, len, &used) == DATA_DONE)
		smtpd_message_end(s);
	return used;
}

/* A message that will not be queued: say why, forget the transaction. */
static void
message_refuse(struct smtpd_session *s, int code, const char *status,
    const char *text)
{
	s->errors++;
	smtpd_reply(s, code, status, "%s", text);
	smtpd_txn_free(s);
	smtpd_enter_state(s, SMTPD_STATE_READY);
}

/* Refusals the body reader found so far, or 0 to go on. */
static int
message_check(struct smtpd_session *s, const struct data_result *r)
{
	if (r->errors & DATA_ERR_TOO_BIG)
		message_refuse(s, 552, "5.3.4", "Message size exceeds fixed "
		    "limit");
	else if (r->errors & DATA_ERR_BARE)
		message_refuse(s, 550, "5.5.2", "Message contains bare CR or "
		    "LF characters");
	else if (r->errors & DATA_ERR_SINK)
		message_refuse(s, 451, "4.3.0", "Error writing message, try "
		    "again later");
	else
		return 0;
	return -1;
}

size_t
smtpd_bdat_input(struct smtpd_session *s, const char *data, size_t len)
{
	struct smtpd_txn *t = s->txn;
	size_t n = len < s->bdat_left ? len : (size_t)s->bdat_left;

	if (!s->bdat_swallow)
		n = data_reader_feed_chunk(&t->reader, data, n);
	s->bdat_left -= n;
	if (s->bdat_left > 0)
		return n;
	if (s->bdat_swallow) {
		/* RFC 3030 2: the chunk is read whatever the answer. */
		s->bdat_swallow = false;
		smtpd_enter_state(s, s->bdat_back);
		s->errors++;
		smtpd_reply(s, 503, "5.5.1", s->bdat_back ==
		    SMTPD_STATE_GREETED ? "Send EHLO first" :
		    "No valid transaction for BDAT");
		return n;
	}
	if (s->bdat_last) {
		data_reader_finish(&t->reader);
		smtpd_message_end(s);
	} else if (message_check(s, data_reader_result(&t->reader)) == 0) {
		smtpd_enter_state(s, SMTPD_STATE_READY);
		smtpd_reply(s, 250, "2.0.0", "%llu octets received",
		    (unsigned long long)data_reader_result(&t->reader)->size);
	}
	return n;
}

/* RFC 3848 and RFC 6531 protocol names for the Received "with" clause. */
static const char *
received_protocol(const struct smtpd_session *s)
{
	static const char *const names[2][2][2] = {
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};

	if (!(s->flags & SMTPD_F_EHLO))
		return "SMTP";
	return names[s->txn->mail.smtputf8][(s->flags & SMTPD_F_TLS) != 0]
	    [(s->flags & SMTPD_F_AUTHED) != 0];
}

/* The HELO name as it may appear in a header: no spaces, no comments. */
static void
received_helo(const char *helo, char *out, size_t size)
{
	size_t i;

	for (i = 0; helo[i] != '\0' && i + 1 < size; i++) {
		unsigned char c = (unsigned char)helo[i];

		out[i] = (isalnum(c) || strchr(".-_:[]", c)) ? (char)c : '?';
	}
	out[i] = '\0';
}

static void
received_header(struct smtpd_session *s, time_t now, struct buf *b)
{
	const struct smtpd_txn *t = s->txn;
	bool hide = s->env->cfg->submission_hide_client &&
	    (s->listener->role == LISTENER_SUBMISSION ||
	    s->listener->role == LISTENER_SUBMISSIONS);
	char helo[256], date[64], to[ADDR_TEXT_MAX + 1];
	struct tm tm;

	received_helo(s->helo[0] ? s->helo : "unknown", helo, sizeof(helo));
	buf_printf(b, "Received: from %s", helo);
	if (s->listener->family == AF_UNIX)
		buf_append_str(b, " (local submission)");
	else if (!hide)
		buf_printf(b, " (%s [%s])", s->client.name, s->client.addr);
	buf_printf(b, "\r\n\tby %s (Sluice) with %s id %s",
	    s->env->cfg->hostname, received_protocol(s), t->qid);
	if (s->flags & SMTPD_F_TLS)
		buf_printf(b, "\r\n\t(using %s with cipher %s)",
		    s->client.tls_version, s->client.tls_cipher);
	if (t->nrcpts == 1) {
		addr_format(&t->rcpts[0].to, to, sizeof(to));
		buf_printf(b, "\r\n\tfor <%s>", to);
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_printf(b, ";\r\n\t%s\r\n", date);
}

/* RFC 6409 8.2, 8.3: a submission server adds what the client forgot. */
static void
submission_headers(struct smtpd_session *s, const struct data_result *r,
    time_t now, struct buf *b)
{
	char date[64];
	struct tm tm;

	if (s->listener->role != LISTENER_SUBMISSION &&
	    s->listener->role != LISTENER_SUBMISSIONS &&
	    s->listener->role != LISTENER_LOCAL)
		return;
	if (!r->has_message_id)
		buf_printf(b, "Message-ID: <%s.%s@%s>\r\n", s->txn->qid, s->sid,
		    s->env->cfg->hostname);
	if (!r->has_date) {
		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
		    &tm);
		buf_printf(b, "Date: %s\r\n", date);
	}
}

static char *
opt_strdup(const char *s)
{
	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

static void
message_envelope(struct smtpd_session *s, struct queue_msg *m, time_t now)
{
	struct smtpd_txn *t = s->txn;
	char addr[ADDR_TEXT_MAX + 1], orcpt[SMTP_ORCPT_MAX + 40];

	str_copy(m->id, t->qid, sizeof(m->id));
	m->arrived = now;
	addr_format(&t->mail.from, addr, sizeof(addr));
	m->sender = xstrdup(addr);
	m->listener = xstrdup(s->listener->name);
	m->client_addr = opt_strdup(s->client.addr);
	m->client_name = opt_strdup(s->client.name);
	m->helo = opt_strdup(s->helo);
	m->auth_user = (s->flags & SMTPD_F_AUTHED) ? xstrdup(s->user) : NULL;
	if (s->flags & SMTPD_F_TLS) {
		m->tls_version = opt_strdup(s->client.tls_version);
		m->tls_cipher = opt_strdup(s->client.tls_cipher);
	}
	m->body_type = smtp_body_name(t->mail.body);
	m->smtputf8 = t->mail.smtputf8;
	m->dsn_ret = smtp_ret_name(t->mail.ret);
	m->dsn_envid = t->mail.envid_given ? xstrdup(t->mail.envid) : NULL;
	for (size_t i = 0; i < t->nrcpts; i++) {
		const struct smtp_rcpt *r = &t->rcpts[i];

		addr_format(&r->to, addr, sizeof(addr));
		if (r->orcpt_given)
			snprintf(orcpt, sizeof(orcpt), "%s;%s", r->orcpt_type,
			    r->orcpt);
		queue_msg_add_rcpt(m, addr, r->notify,
		    r->orcpt_given ? orcpt : NULL, t->routes[i].route[0] ?
		    t->routes[i].route : NULL);
	}
}

/*
 * The From: header addresses, for the policy's "from owned". None (0)
 * when the header has no From:, more than one, or one we cannot parse:
 * then nothing is owned.
 */
static size_t
message_from(struct smtpd_session *s, const struct data_result *r,
    struct addr *from, size_t max)
{
	struct msgbody *b = s->txn->body;
	size_t len = r->header_end < DATA_HEADER_SIZE ?
	    (size_t)r->header_end : DATA_HEADER_SIZE;
	const char *err = "cannot read the header";
	size_t n = 0;
	char *hdr;

	/* A header too long to scan whole may hide a second From:. */
	if (len == 0 || b == NULL || r->header_overflow)
		return 0;
	hdr = xmalloc(len);
	if (msgbody_read(b, 0, hdr, len) != (ssize_t)len ||
	    rfc5322_header_mailboxes(hdr, len, "From", from, max, &n,
	    &err) != 0) {
		log_msg(LOG_INFO, s->sid, s->txn->qid, "event=from-unusable "
		    "error=%s", log_quote_err(err));
		n = 0;
	}
	free(hdr);
	return n;
}

/* The policy's end-of-data stage: real size, From: header addresses. */
static bool
message_policy(struct smtpd_session *s, const struct data_result *r)
{
	struct policy_decision d;
	struct addr from[MESSAGE_FROM_MAX];
	size_t nfrom = message_from(s, r, from, MESSAGE_FROM_MAX);

	if (smtpd_policy(s, POLICY_DATA, NULL, r->size, from, nfrom, &d))
		return true;
	smtpd_txn_free(s);
	smtpd_enter_state(s, SMTPD_STATE_READY);
	return false;
}

void
smtpd_message_end(struct smtpd_session *s)
{
	struct smtpd_txn *t = s->txn;
	const struct data_result *r = data_reader_result(&t->reader);
	time_t now = s->env->svc->now(s->env->svc->impl);
	struct queue_msg *m;

	t->reading = false;
	if (message_check(s, r) == -1)
		return;
	if (r->received > (unsigned)s->env->cfg->smtp_max_received) {
		message_refuse(s, 554, "5.4.6", "Too many hops: mail loop "
		    "detected");
		return;
	}
	if (!message_policy(s, r))
		return;
	m = queue_msg_new();
	message_envelope(s, m, now);
	received_header(s, now, &m->prefix);
	submission_headers(s, r, now, &m->prefix);
	m->body = t->body;
	t->body = NULL;
	smtpd_enter_state(s, SMTPD_STATE_COMMIT);
	if (s->env->svc->queue_submit(s->env->svc->impl, s->id, m) == -1) {
		queue_msg_free(&m);
		smtpd_message_committed(s, false, "queue refused the message");
	}
}

void
smtpd_message_committed(struct smtpd_session *s, bool ok, const char *error)
{
	struct smtpd_txn *t = s->txn;

	smtpd_enter_state(s, SMTPD_STATE_READY);
	if (ok) {
		log_msg(LOG_INFO, s->sid, t->qid, "event=queued from_listener=%s "
		    "size=%llu nrcpt=%zu", s->listener->name,
		    (unsigned long long)data_reader_result(&t->reader)->size,
		    t->nrcpts);
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", t->qid);
	} else {
		log_msg(LOG_ERR, s->sid, t->qid, "event=queue-failed error=%s",
		    log_quote_str(&s->scratch, error ? error : "unknown",
		    300));
		smtpd_reply(s, 451, "4.3.0", "Error: queue file write error, "
		    "try again later");
	}
	smtpd_txn_free(s);
}
