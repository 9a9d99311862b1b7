/*
 * session: the SMTP server state machine: states, input, replies. The
 * command table is in commands.c, message assembly in message.c. Only
 * smtpd_enter_state() assigns the state.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"
#include "session_int.h"
#include "util.h"

static const char *const state_names[] = {
	[SMTPD_STATE_NEW] = "new",
	[SMTPD_STATE_GREETED] = "greeted",
	[SMTPD_STATE_READY] = "ready",
	[SMTPD_STATE_AUTH] = "auth",
	[SMTPD_STATE_AUTH_CHECK] = "auth-check",
	[SMTPD_STATE_DATA] = "data",
	[SMTPD_STATE_BDAT] = "bdat",
	[SMTPD_STATE_COMMIT] = "commit",
	[SMTPD_STATE_TLS] = "tls",
	[SMTPD_STATE_CLOSED] = "closed",
};

struct smtpd_session *
smtpd_session_new(const struct smtpd_env *env, const struct listener *l,
    const struct smtpd_client *client, const struct smtpd_io *io,
    uint64_t sid)
{
	struct smtpd_session *s = xcalloc(1, sizeof(*s));

	s->env = env;
	s->listener = l;
	s->client = *client;
	s->io = *io;
	s->id = sid;
	snprintf(s->sid, sizeof(s->sid), "%" PRIx64, sid);
	s->state = SMTPD_STATE_NEW;
	if (client->tls)
		s->flags |= SMTPD_F_TLS;
	/* AUTH lines may be long (RFC 4954 4); smtp_line_split() holds
	 * every other command to 512 octets. */
	lr_init(&s->lr, SMTP_AUTH_LINE_MAX);
	buf_init(&s->scratch, 0);
	return s;
}

void
smtpd_session_free(struct smtpd_session **sp)
{
	struct smtpd_session *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	log_msg(LOG_INFO, s->sid, NULL, "event=disconnect client=%s "
	    "errors=%u", s->client.addr[0] ? s->client.addr : "local",
	    s->errors);
	smtpd_txn_free(s);
	auth_creds_clear(&s->creds);
	buf_release(&s->scratch);
	free(s);
	*sp = NULL;
}

void
smtpd_enter_state(struct smtpd_session *s, enum smtpd_state st)
{
	if (s->state == st)
		return;
	log_msg(LOG_DEBUG, s->sid, smtpd_qid(s), "event=state from=%s to=%s",
	    state_names[s->state], state_names[st]);
	s->state = st;
}

const char *
smtpd_qid(const struct smtpd_session *s)
{
	return s->txn != NULL ? s->txn->qid : NULL;
}

/*
 * The one reply function. Every 4xx and 5xx is logged with the session
 * and queue ids; client text never appears in reply texts.
 */
void
smtpd_reply(struct smtpd_session *s, int code, const char *status,
    const char *fmt, ...)
{
	char line[SMTPD_LINE_MAX];
	va_list ap;
	int n;

	if (s->state == SMTPD_STATE_CLOSED)
		return;
	n = snprintf(line, sizeof(line), "%d%s%s ", code, status ? " " : "",
	    status ? status : "");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (code >= 400)
		log_msg(code >= 500 ? LOG_NOTICE : LOG_WARNING, s->sid,
		    smtpd_qid(s), "event=reply state=%s reply=%s",
		    state_names[s->state], log_quote_str(&s->scratch, line,
		    200));
	n = (int)strlen(line);
	line[n++] = '\r';
	line[n++] = '\n';
	s->io.write(s->io.ctx, line, (size_t)n);
}

void
smtpd_reply_error(struct smtpd_session *s, const struct smtp_error *e)
{
	smtpd_reply(s, e->code, e->status, "%s", e->text);
}

void
smtpd_close(struct smtpd_session *s)
{
	if (s->state == SMTPD_STATE_CLOSED)
		return;
	smtpd_enter_state(s, SMTPD_STATE_CLOSED);
	s->io.close(s->io.ctx);
}

void
smtpd_txn_free(struct smtpd_session *s)
{
	struct smtpd_txn *t = s->txn;

	if (t == NULL)
		return;
	data_reader_release(&t->reader);
	msgbody_destroy(&t->body);
	free(t->rcpts);
	free(t->routes);
	free(t);
	s->txn = NULL;
}

bool
smtpd_starttls_offered(const struct smtpd_session *s)
{
	return s->env->tls_available && !(s->flags & SMTPD_F_TLS) &&
	    s->listener->family != AF_UNIX &&
	    (s->listener->role == LISTENER_MX ||
	    s->listener->role == LISTENER_SUBMISSION);
}

bool
smtpd_auth_offered(const struct smtpd_session *s)
{
	if (s->listener->role != LISTENER_SUBMISSION &&
	    s->listener->role != LISTENER_SUBMISSIONS)
		return false;
	return (s->flags & SMTPD_F_TLS) ||
	    (s->listener->flags & LISTENER_AUTH_PLAINTEXT);
}

void
smtpd_session_reset(struct smtpd_session *s, bool forget_auth)
{
	smtpd_txn_free(s);
	s->flags &= ~SMTPD_F_EHLO;
	s->helo[0] = '\0';
	if (forget_auth) {
		s->flags &= ~SMTPD_F_AUTHED;
		s->user[0] = '\0';
	}
}

static void
smtpd_policy_input(const struct smtpd_session *s, enum policy_stage stage,
    struct policy_input *in)
{
	memset(in, 0, sizeof(*in));
	in->stage = stage;
	in->listener = s->listener->name;
	in->role = s->listener->role;
	in->client = s->client.sa.ss_family != 0 ?
	    (const struct sockaddr *)&s->client.sa : NULL;
	in->tls = (s->flags & SMTPD_F_TLS) != 0;
	in->user = (s->flags & SMTPD_F_AUTHED) ? s->user : NULL;
	in->sender = s->txn != NULL ? &s->txn->mail.from : NULL;
}

bool
smtpd_policy(struct smtpd_session *s, enum policy_stage stage,
    const struct addr *rcpt, uint64_t size, const struct addr *from,
    size_t nfrom, struct policy_decision *d)
{
	struct policy_input in;

	smtpd_policy_input(s, stage, &in);
	in.rcpt = rcpt;
	in.size = size;
	in.from = from;
	in.nfrom = nfrom;
	s->env->svc->policy(s->env->svc->impl, &in, d);
	if (d->action == POLICY_ACCEPT) {
		log_msg(LOG_DEBUG, s->sid, smtpd_qid(s), "event=policy "
		    "stage=%s action=accept rule=%s", policy_stage_name(stage),
		    d->rule);
		return true;
	}
	/* Every refusal names the rule that made it (issue 4). */
	log_msg(LOG_NOTICE, s->sid, smtpd_qid(s), "event=policy stage=%s "
	    "action=%s rule=%s client=%s why=%s", policy_stage_name(stage),
	    policy_action_name(d->action), d->rule, s->client.addr[0] ?
	    s->client.addr : "local", log_quote_str(&s->scratch, d->why, 400));
	if (d->code >= 500)
		s->errors++;
	smtpd_reply(s, d->code, d->status[0] ? d->status : NULL, "%s",
	    d->text);
	return false;
}

void
smtpd_count(struct smtpd_session *s, enum policy_event ev)
{
	struct policy_input in;

	smtpd_policy_input(s, POLICY_CONNECT, &in);
	s->env->svc->count(s->env->svc->impl, ev, &in);
}

void
smtpd_session_start(struct smtpd_session *s, const char *refuse_text)
{
	struct policy_decision d;

	const char *host = s->env->cfg->hostname;

	log_msg(LOG_INFO, s->sid, NULL, "event=connect client=%s port=%u "
	    "listener=%s tls=%s", s->client.addr[0] ? s->client.addr :
	    "local", s->client.port, s->listener->name,
	    (s->flags & SMTPD_F_TLS) ? s->client.tls_version : "no");
	if (refuse_text != NULL) {
		smtpd_reply(s, 421, "4.7.0", "%s %s", host, refuse_text);
		smtpd_close(s);
		return;
	}
	if (!smtpd_policy(s, POLICY_CONNECT, NULL, 0, NULL, 0, &d)) {
		smtpd_close(s);
		return;
	}
	smtpd_enter_state(s, SMTPD_STATE_GREETED);
	smtpd_reply(s, 220, NULL, "%s ESMTP Sluice", host);
}

bool
smtpd_line_is_bdat(const char *line, size_t len)
{
	return len >= 4 && strncasecmp(line, "BDAT", 4) == 0 &&
	    (len == 4 || line[4] == ' ' || line[4] == '\t');
}

/* One command or AUTH line from the buffer; returns bytes consumed. */
static size_t
smtpd_line_input(struct smtpd_session *s, const char *data, size_t len)
{
	struct lr_line line;
	enum lr_status st;
	size_t window = lr_window(&s->lr);

	st = lr_next(&s->lr, data, len < window ? len : window, &line);
	if (st == LR_TOO_LONG && s->state == SMTPD_STATE_AUTH) {
		s->errors++;
		auth_creds_clear(&s->creds);
		smtpd_enter_state(s, SMTPD_STATE_READY);
		smtpd_reply(s, 500, "5.5.6", "Authentication exchange line is "
		    "too long");
	} else if (st == LR_TOO_LONG) {
		s->errors++;
		smtpd_reply(s, 500, "5.5.2", "Line too long");
		if (smtpd_line_is_bdat(line.data, line.len))
			smtpd_close(s);	/* its chunk cannot be found */
	} else if (st == LR_LINE && line.bare_cr > 0) {
		s->errors++;
		smtpd_reply(s, 500, "5.5.2", "Bare CR in command line");
	} else if (st == LR_LINE && (s->flags & SMTPD_F_STOPPING) &&
	    s->txn == NULL)
		smtpd_session_abort(s);
	else if (st == LR_LINE && s->state == SMTPD_STATE_AUTH)
		smtpd_auth_line(s, line.data, line.len);
	else if (st == LR_LINE)
		smtpd_command(s, line.data, line.len);
	if (s->errors >= (unsigned)s->env->cfg->smtp_max_errors &&
	    s->state != SMTPD_STATE_CLOSED) {
		smtpd_reply(s, 421, "4.7.0", "%s Too many errors",
		    s->env->cfg->hostname);
		smtpd_close(s);
	}
	return line.consumed;
}

size_t
smtpd_session_input(struct smtpd_session *s, const char *data, size_t len)
{
	size_t used = 0, n;

	while (used < len && !smtpd_session_paused(s)) {
		switch (s->state) {
		case SMTPD_STATE_DATA:
			n = smtpd_data_input(s, data + used, len - used);
			break;
		case SMTPD_STATE_BDAT:
			n = smtpd_bdat_input(s, data + used, len - used);
			break;
		case SMTPD_STATE_GREETED:
		case SMTPD_STATE_READY:
		case SMTPD_STATE_AUTH:
			n = smtpd_line_input(s, data + used, len - used);
			break;
		default:
			return used;
		}
		if (n == 0)
			break;
		used += n;
	}
	return used;
}

bool
smtpd_session_paused(const struct smtpd_session *s)
{
	switch (s->state) {
	case SMTPD_STATE_NEW:
	case SMTPD_STATE_AUTH_CHECK:
	case SMTPD_STATE_COMMIT:
	case SMTPD_STATE_TLS:
	case SMTPD_STATE_CLOSED:
		return true;
	default:
		return false;
	}
}

bool
smtpd_session_closing(const struct smtpd_session *s)
{
	return s->state == SMTPD_STATE_CLOSED;
}

void
smtpd_session_eof(struct smtpd_session *s)
{
	if (s->state == SMTPD_STATE_DATA || s->state == SMTPD_STATE_BDAT)
		log_msg(LOG_NOTICE, s->sid, smtpd_qid(s), "event=lost "
		    "state=%s", state_names[s->state]);
	smtpd_enter_state(s, SMTPD_STATE_CLOSED);
}

void
smtpd_session_tls_done(struct smtpd_session *s, bool ok, const char *version,
    const char *cipher)
{
	if (s->state != SMTPD_STATE_TLS)
		return;
	if (!ok) {
		log_msg(LOG_NOTICE, s->sid, NULL, "event=tls-failed client=%s",
		    s->client.addr);
		smtpd_enter_state(s, SMTPD_STATE_CLOSED);
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before the handshake. */
	smtpd_session_reset(s, true);
	s->flags |= SMTPD_F_TLS;
	str_copy(s->client.tls_version, version, sizeof(s->client.tls_version));
	str_copy(s->client.tls_cipher, cipher, sizeof(s->client.tls_cipher));
	log_msg(LOG_INFO, s->sid, NULL, "event=starttls version=%s cipher=%s",
	    version, cipher);
	smtpd_enter_state(s, SMTPD_STATE_GREETED);
	s->io.resume(s->io.ctx);
}

void
smtpd_session_auth_done(struct smtpd_session *s, bool ok)
{
	if (s->state != SMTPD_STATE_AUTH_CHECK)
		return;
	smtpd_auth_finish(s, ok);
	if (!smtpd_session_paused(s))
		s->io.resume(s->io.ctx);
}

void
smtpd_session_queue_done(struct smtpd_session *s, bool ok, const char *error)
{
	if (s->state != SMTPD_STATE_COMMIT)
		return;
	smtpd_message_committed(s, ok, error);
	if ((s->flags & SMTPD_F_STOPPING) && s->state != SMTPD_STATE_CLOSED) {
		smtpd_reply(s, 421, "4.3.2", "%s Service shutting down",
		    s->env->cfg->hostname);
		smtpd_close(s);
	}
	if (!smtpd_session_paused(s))
		s->io.resume(s->io.ctx);
}

void
smtpd_session_timeout(struct smtpd_session *s)
{
	/* The commit is bounded by the busy timeout; its reply must come
	 * first, or the client retries a message we already have. */
	if (s->state == SMTPD_STATE_COMMIT)
		return;
	log_msg(LOG_NOTICE, s->sid, smtpd_qid(s), "event=timeout state=%s "
	    "client=%s", state_names[s->state], s->client.addr);
	smtpd_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
	    s->env->cfg->hostname);
	smtpd_close(s);
}

int64_t
smtpd_session_timeout_secs(const struct smtpd_session *s)
{
	if (s->state == SMTPD_STATE_DATA || s->state == SMTPD_STATE_BDAT)
		return s->env->cfg->smtp_data_timeout;
	return s->env->cfg->smtp_command_timeout;
}

bool
smtpd_session_shutdown(struct smtpd_session *s)
{
	s->flags |= SMTPD_F_STOPPING;
	/* A transaction (from MAIL on), a password check or a handshake may
	 * finish; the session gets its 421 at the next command after it. */
	if (s->txn != NULL || s->state == SMTPD_STATE_AUTH_CHECK ||
	    s->state == SMTPD_STATE_TLS)
		return false;
	smtpd_session_abort(s);
	return true;
}

void
smtpd_session_abort(struct smtpd_session *s)
{
	if (s->state == SMTPD_STATE_COMMIT) {
		s->flags |= SMTPD_F_STOPPING;	/* 421 after the 250 */
		return;
	}
	smtpd_reply(s, 421, "4.3.2", "%s Service shutting down",
	    s->env->cfg->hostname);
	smtpd_close(s);
}

uint64_t
smtpd_session_id(const struct smtpd_session *s)
{
	return s->id;
}

const char *
smtpd_session_state_name(const struct smtpd_session *s)
{
	return state_names[s->state];
}
