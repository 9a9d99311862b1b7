/*
 * session: the SMTP client state machine: states, input, the handshake
 * (banner, EHLO or HELO, STARTTLS, AUTH) and QUIT. A message's
 * transaction is in transaction.c. Only smtpc_enter_state() assigns the
 * state, and entering a state sends its command.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <syslog.h>

#include "base64.h"
#include "log.h"
#include "smtpc_int.h"
#include "util.h"

static const char *const state_names[] = {
	[SMTPC_STATE_BANNER] = "banner",
	[SMTPC_STATE_EHLO] = "ehlo",
	[SMTPC_STATE_HELO] = "helo",
	[SMTPC_STATE_STARTTLS] = "starttls",
	[SMTPC_STATE_TLS] = "tls",
	[SMTPC_STATE_AUTH] = "auth",
	[SMTPC_STATE_AUTH_USER] = "auth-user",
	[SMTPC_STATE_AUTH_PASS] = "auth-pass",
	[SMTPC_STATE_IDLE] = "idle",
	[SMTPC_STATE_RSET] = "rset",
	[SMTPC_STATE_MAIL] = "mail",
	[SMTPC_STATE_RCPT] = "rcpt",
	[SMTPC_STATE_DATA] = "data",
	[SMTPC_STATE_BODY] = "body",
	[SMTPC_STATE_DOT] = "dot",
	[SMTPC_STATE_QUIT] = "quit",
	[SMTPC_STATE_CLOSED] = "closed",
};

static const char *const stage_names[] = {
	[SMTPC_STAGE_CONNECT] = "connect",
	[SMTPC_STAGE_BANNER] = "banner",
	[SMTPC_STAGE_EHLO] = "ehlo",
	[SMTPC_STAGE_STARTTLS] = "starttls",
	[SMTPC_STAGE_AUTH] = "auth",
	[SMTPC_STAGE_IDLE] = "idle",
	[SMTPC_STAGE_RSET] = "rset",
	[SMTPC_STAGE_MAIL] = "mail",
	[SMTPC_STAGE_RCPT] = "rcpt",
	[SMTPC_STAGE_DATA] = "data",
	[SMTPC_STAGE_BODY] = "body",
	[SMTPC_STAGE_DOT] = "dot",
	[SMTPC_STAGE_QUIT] = "quit",
	[SMTPC_STAGE_CLOSED] = "closed",
};

static const char *const tls_policy_names[] = {
	[SMTPC_TLS_NONE] = "none",
	[SMTPC_TLS_MAY] = "may",
	[SMTPC_TLS_ENCRYPT] = "encrypt",
	[SMTPC_TLS_VERIFY] = "verify",
	[SMTPC_TLS_DANE] = "dane",
};

static const char *const verdict_names[] = {
	[SMTPC_OK] = "ok",
	[SMTPC_TEMP] = "temp",
	[SMTPC_PERM] = "perm",
};

void
smtpc_limits_default(struct smtpc_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->banner = 300;
	l->helo = 300;
	l->starttls = 300;
	l->auth = 300;
	l->rset = 120;
	l->mail = 300;
	l->rcpt = 300;
	l->data_init = 120;
	l->data_block = 180;
	l->data_done = 600;
	l->quit = 300;
	l->idle = 5;
	l->reply_line_max = SMTPC_REPLY_LINE_MAX;
	l->reply_lines_max = SMTPC_REPLY_LINES_MAX;
	l->reply_size_max = SMTPC_REPLY_SIZE_MAX;
}

/* The caller's limits, with 0 fields taking the defaults. */
static void
limits_merge(struct smtpc_limits *l, const struct smtpc_limits *given)
{
	struct smtpc_limits d;

	smtpc_limits_default(&d);
	if (given == NULL) {
		*l = d;
		return;
	}
	*l = *given;
#define LIMIT_DEFAULT(f) do { if (l->f == 0) l->f = d.f; } while (0)
	LIMIT_DEFAULT(banner);
	LIMIT_DEFAULT(helo);
	LIMIT_DEFAULT(starttls);
	LIMIT_DEFAULT(auth);
	LIMIT_DEFAULT(rset);
	LIMIT_DEFAULT(mail);
	LIMIT_DEFAULT(rcpt);
	LIMIT_DEFAULT(data_init);
	LIMIT_DEFAULT(data_block);
	LIMIT_DEFAULT(data_done);
	LIMIT_DEFAULT(quit);
	LIMIT_DEFAULT(idle);
	LIMIT_DEFAULT(reply_line_max);
	LIMIT_DEFAULT(reply_lines_max);
	LIMIT_DEFAULT(reply_size_max);
#undef LIMIT_DEFAULT
}

static char *
cred_copy(const char *s)
{
	return s != NULL ? xstrndup(s, SMTPC_CRED_MAX) : NULL;
}

static void
cred_free(char **p)
{
	if (*p == NULL)
		return;
	mem_wipe(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

struct smtpc_session *
smtpc_session_new(const struct smtpc_params *p, const struct smtpc_io *io,
    const struct smtpc_callbacks *cb, uint64_t sid)
{
	struct smtpc_session *s = xcalloc(1, sizeof(*s));

	s->io = *io;
	s->cb = *cb;
	limits_merge(&s->limits, p->limits);
	s->tls_policy = p->tls;
	s->auth_plaintext = p->auth_plaintext;
	s->id = sid;
	snprintf(s->sid, sizeof(s->sid), "%" PRIx64, sid);
	str_copy(s->helo, p->helo_name ? p->helo_name : "localhost",
	    sizeof(s->helo));
	str_copy(s->peer, p->peer ? p->peer : "unknown", sizeof(s->peer));
	/* It goes into logs and DSN texts as it is. */
	for (char *c = s->peer; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			*c = '?';
	if (p->auth_user != NULL && p->auth_pass != NULL) {
		s->auth_user = cred_copy(p->auth_user);
		s->auth_pass = cred_copy(p->auth_pass);
	}
	if (p->tls_active) {
		s->flags |= SMTPC_F_TLS;
		s->tls.active = true;
	}
	smtpc_reply_parser_init(&s->parser, s->limits.reply_line_max,
	    s->limits.reply_lines_max, s->limits.reply_size_max);
	buf_init(&s->out, 0);
	buf_init(&s->scratch, 0);
	s->state = SMTPC_STATE_BANNER;
	log_msg(LOG_INFO, s->sid, NULL, "event=connected peer=%s tls=%s "
	    "tls_policy=%s", s->peer,
	    s->tls.active ? "implicit" : "no", tls_policy_names[s->tls_policy]);
	return s;
}

void
smtpc_session_free(struct smtpc_session **sp)
{
	struct smtpc_session *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	log_msg(LOG_INFO, s->sid, NULL, "event=disconnect peer=%s "
	    "messages=%u", s->peer,
	    s->messages);
	smtpc_txn_free(&s->txn);
	cred_free(&s->auth_user);
	cred_free(&s->auth_pass);
	if (s->out.data != NULL)
		mem_wipe(s->out.data, s->out.len);
	buf_release(&s->out);
	buf_release(&s->scratch);
	smtpc_reply_parser_release(&s->parser);
	free(s->rbuf);
	free(s);
	*sp = NULL;
}

const char *
smtpc_qid(const struct smtpc_session *s)
{
	if (s->txn != NULL)
		return s->txn->m->qid;
	return s->pending != NULL ? s->pending->qid : NULL;
}

void
smtpc_send(struct smtpc_session *s, const char *secret, const char *fmt,
    ...)
{
	size_t start = s->out.len;
	va_list ap;

	if (s->state == SMTPC_STATE_CLOSED)
		return;
	va_start(ap, fmt);
	buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (secret != NULL)
		s->out_secret = true;
	if (log_level_enabled(LOG_DEBUG))
		log_msg(LOG_DEBUG, s->sid, smtpc_qid(s), "event=send cmd=%s",
		    secret != NULL ? log_quote_str(&s->scratch, secret, 200) :
		    log_quote(&s->scratch, s->out.data + start,
		    s->out.len - start, 200));
	buf_append(&s->out, "\r\n", 2);
}

void
smtpc_flush(struct smtpc_session *s)
{
	if (s->out.len == 0)
		return;
	s->io.write(s->io.ctx, s->out.data, s->out.len);
	if (s->out_secret)
		mem_wipe(s->out.data, s->out.len);
	s->out_secret = false;
	buf_reset(&s->out);
}

static void smtpc_start_tls(struct smtpc_session *s);
static void smtpc_send_auth(struct smtpc_session *s);
static void smtpc_send_b64(struct smtpc_session *s, const char *text,
    const char *label);

void
smtpc_enter_state(struct smtpc_session *s, enum smtpc_state st)
{
	if (s->state == SMTPC_STATE_CLOSED)
		return;
	if (s->state != st)
		log_msg(LOG_DEBUG, s->sid, smtpc_qid(s), "event=state "
		    "from=%s to=%s", state_names[s->state], state_names[st]);
	s->state = st;
	s->progress++;
	switch (st) {
	case SMTPC_STATE_EHLO:
		smtpc_send(s, NULL, "EHLO %s", s->helo);
		break;
	case SMTPC_STATE_HELO:
		smtpc_send(s, NULL, "HELO %s", s->helo);
		break;
	case SMTPC_STATE_STARTTLS:
		smtpc_send(s, NULL, "STARTTLS");
		break;
	case SMTPC_STATE_TLS:
		smtpc_start_tls(s);
		break;
	case SMTPC_STATE_AUTH:
		smtpc_send_auth(s);
		break;
	case SMTPC_STATE_AUTH_USER:
		smtpc_send_b64(s, s->auth_user, "<user>");
		break;
	case SMTPC_STATE_AUTH_PASS:
		smtpc_send_b64(s, s->auth_pass, "<password>");
		break;
	case SMTPC_STATE_RSET:
		smtpc_send(s, NULL, "RSET");
		break;
	case SMTPC_STATE_MAIL:
		smtpc_send_mail(s);
		break;
	case SMTPC_STATE_RCPT:
		smtpc_send_rcpt(s);
		break;
	case SMTPC_STATE_DATA:
		smtpc_send_data(s);
		break;
	case SMTPC_STATE_BODY:
		smtpc_body_pump(s);
		break;
	case SMTPC_STATE_DOT:
		smtpc_send_dot(s);
		break;
	case SMTPC_STATE_QUIT:
		smtpc_send(s, NULL, "QUIT");
		break;
	case SMTPC_STATE_CLOSED:
		smtpc_flush(s);
		s->io.close(s->io.ctx);
		break;
	case SMTPC_STATE_BANNER:
	case SMTPC_STATE_IDLE:
		break;
	}
}

enum smtpc_stage
smtpc_state_stage(enum smtpc_state st)
{
	static const enum smtpc_stage map[] = {
		[SMTPC_STATE_BANNER] = SMTPC_STAGE_BANNER,
		[SMTPC_STATE_EHLO] = SMTPC_STAGE_EHLO,
		[SMTPC_STATE_HELO] = SMTPC_STAGE_EHLO,
		[SMTPC_STATE_STARTTLS] = SMTPC_STAGE_STARTTLS,
		[SMTPC_STATE_TLS] = SMTPC_STAGE_STARTTLS,
		[SMTPC_STATE_AUTH] = SMTPC_STAGE_AUTH,
		[SMTPC_STATE_AUTH_USER] = SMTPC_STAGE_AUTH,
		[SMTPC_STATE_AUTH_PASS] = SMTPC_STAGE_AUTH,
		[SMTPC_STATE_IDLE] = SMTPC_STAGE_IDLE,
		[SMTPC_STATE_RSET] = SMTPC_STAGE_RSET,
		[SMTPC_STATE_MAIL] = SMTPC_STAGE_MAIL,
		[SMTPC_STATE_RCPT] = SMTPC_STAGE_RCPT,
		[SMTPC_STATE_DATA] = SMTPC_STAGE_DATA,
		[SMTPC_STATE_BODY] = SMTPC_STAGE_BODY,
		[SMTPC_STATE_DOT] = SMTPC_STAGE_DOT,
		[SMTPC_STATE_QUIT] = SMTPC_STAGE_QUIT,
		[SMTPC_STATE_CLOSED] = SMTPC_STAGE_CLOSED,
	};

	return map[st];
}

/* ---- outcomes --------------------------------------------------------- */

void
smtpc_outcome_reply(struct smtpc_outcome *o, struct buf *text,
    enum smtpc_stage stage, const struct smtpc_reply *r)
{
	int class = r->code / 100;

	memset(o, 0, sizeof(*o));
	o->stage = stage;
	o->remote = true;
	o->code = r->code;
	o->verdict = class == 2 ? SMTPC_OK : class == 5 ? SMTPC_PERM :
	    SMTPC_TEMP;
	if (r->status[0] != '\0')
		str_copy(o->status, r->status, sizeof(o->status));
	else
		str_copy(o->status, class == 2 ? "2.0.0" : class == 5 ?
		    "5.0.0" : "4.0.0", sizeof(o->status));
	o->text = smtpc_reply_join(r, text, SMTPC_TEXT_MAX);
}

void
smtpc_outcome_temp(struct smtpc_outcome *o)
{
	/* The status must say what we do: a DSN reads it, not the code. */
	if (o->status[0] == '5')
		o->status[0] = '4';
	else if (o->status[0] != '4')
		str_copy(o->status, "4.5.0", sizeof(o->status));
	o->verdict = SMTPC_TEMP;
}

void
smtpc_outcome_local(struct smtpc_outcome *o, struct buf *text,
    enum smtpc_stage stage, enum smtpc_verdict v, int code,
    const char *status, const char *fmt, ...)
{
	va_list ap;

	memset(o, 0, sizeof(*o));
	o->stage = stage;
	o->verdict = v;
	o->code = code;
	str_copy(o->status, status, sizeof(o->status));
	buf_reset(text);
	va_start(ap, fmt);
	buf_vprintf(text, fmt, ap);
	va_end(ap);
	/* The peer's name is the glue's, but keep the promise anyway. */
	if (text->len > SMTPC_TEXT_MAX)
		buf_truncate(text, SMTPC_TEXT_MAX);
	for (size_t i = 0; i < text->len; i++)
		if (text->data[i] < 0x20 || text->data[i] > 0x7e)
			text->data[i] = '?';
	o->text = buf_cstr(text);
}

/*
 * A failure the server's reply explains: temporary when temp is set or
 * the code is not 5xx, else permanent.
 */
static void
fail_reply(struct smtpc_session *s, const struct smtpc_reply *r, bool temp,
    bool quit)
{
	struct smtpc_outcome o;
	struct buf text = BUF_INIT;

	smtpc_outcome_reply(&o, &text, smtpc_state_stage(s->state), r);
	if (o.verdict == SMTPC_OK || temp)
		smtpc_outcome_temp(&o);
	smtpc_fail(s, &o, quit);
	buf_release(&text);
}

/* A failure of ours (no reply, or one we refuse to go on with). */
static void PRINTF_LIKE(4, 5)
fail_local(struct smtpc_session *s, const char *status, bool quit,
    const char *fmt, ...)
{
	struct smtpc_outcome o;
	struct buf why = BUF_INIT, text = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&why, fmt, ap);
	va_end(ap);
	smtpc_outcome_local(&o, &text, smtpc_state_stage(s->state),
	    SMTPC_TEMP, 451, status, "%s (%s, %s)", buf_cstr(&why), s->peer,
	    state_names[s->state]);
	smtpc_fail(s, &o, quit);
	buf_release(&why);
	buf_release(&text);
}

void
smtpc_fail(struct smtpc_session *s, const struct smtpc_outcome *o,
    bool quit)
{
	struct smtpc_txn *t = s->txn;
	const struct smtpc_message *pending = s->pending;

	log_msg(LOG_NOTICE, s->sid, smtpc_qid(s), "event=host-failed peer=%s "
	    "stage=%s verdict=%s code=%d status=%s reply=%s",
	    s->peer, stage_names[o->stage], verdict_names[o->verdict],
	    o->code, o->status, log_quote_str(&s->scratch, o->text, 300));
	s->flags |= SMTPC_F_FAILED;
	if (!s->has_error) {
		s->has_error = true;
		s->error = *o;
		str_copy(s->error_text, o->text, sizeof(s->error_text));
		s->error.text = s->error_text;
	}
	s->txn = NULL;
	s->pending = NULL;
	if (quit && s->state != SMTPC_STATE_QUIT)
		smtpc_enter_state(s, SMTPC_STATE_QUIT);
	else
		smtpc_enter_state(s, SMTPC_STATE_CLOSED);
	if (t != NULL) {
		smtpc_msg_settle(s, t->m, t->r, o);
		smtpc_txn_free(&t);
	}
	if (pending != NULL)
		smtpc_msg_settle(s, pending, NULL, o);
}

/* ---- the handshake ---------------------------------------------------- */

void
smtpc_idle(struct smtpc_session *s)
{
	const struct smtpc_message *m = s->pending;

	if (s->state != SMTPC_STATE_IDLE)
		return;
	if (m != NULL) {
		s->pending = NULL;
		smtpc_txn_start(s, m);
	} else if (s->flags & SMTPC_F_QUIT)
		smtpc_enter_state(s, SMTPC_STATE_QUIT);
}

/* After a greeting accepted, or STARTTLS refused: TLS, AUTH or idle. */
static void
after_hello(struct smtpc_session *s)
{
	bool tls = (s->flags & SMTPC_F_TLS) != 0;

	if (!tls && s->tls_policy != SMTPC_TLS_NONE &&
	    (s->caps.flags & SMTPC_CAP_STARTTLS) &&
	    !(s->flags & SMTPC_F_TLS_REFUSED)) {
		smtpc_enter_state(s, SMTPC_STATE_STARTTLS);
		return;
	}
	if (!tls && s->tls_policy >= SMTPC_TLS_ENCRYPT) {
		fail_local(s, "4.7.4", true, "%s", (s->flags &
		    SMTPC_F_TLS_REFUSED) ? "TLS is required, but STARTTLS "
		    "was refused" : "TLS is required, but was not offered");
		return;
	}
	if (s->auth_user != NULL && !(s->flags & SMTPC_F_AUTHED)) {
		if (!tls && !s->auth_plaintext) {
			fail_local(s, "4.7.0", true, "AUTH needs TLS, which "
			    "is not available");
			return;
		}
		if (!(s->caps.auth & (SMTPC_AUTH_PLAIN | SMTPC_AUTH_LOGIN))) {
			fail_local(s, "4.7.0", true, "no AUTH mechanism in "
			    "common (PLAIN, LOGIN)");
			return;
		}
		smtpc_enter_state(s, SMTPC_STATE_AUTH);
		return;
	}
	smtpc_enter_state(s, SMTPC_STATE_IDLE);
	smtpc_idle(s);
}

static void
reply_banner(struct smtpc_session *s, const struct smtpc_reply *r)
{
	if (r->code == 220)
		smtpc_enter_state(s, SMTPC_STATE_EHLO);
	else
		fail_reply(s, r, false, true);
}

static void
reply_hello(struct smtpc_session *s, const struct smtpc_reply *r)
{
	if (r->code / 100 == 2) {
		s->flags |= SMTPC_F_GREETED;
		if (s->state == SMTPC_STATE_EHLO) {
			smtpc_caps_parse(r, &s->caps);
			s->flags |= SMTPC_F_EHLO;
		} else
			memset(&s->caps, 0, sizeof(s->caps));
		log_msg(LOG_DEBUG, s->sid, NULL, "event=caps flags=0x%x "
		    "size=%" PRIu64 " auth=0x%x", s->caps.flags, s->caps.size,
		    s->caps.auth);
		after_hello(s);
	} else if (s->state == SMTPC_STATE_EHLO && r->code / 100 == 5)
		smtpc_enter_state(s, SMTPC_STATE_HELO);
	else
		fail_reply(s, r, false, true);
}

static void
reply_starttls(struct smtpc_session *s, const struct smtpc_reply *r)
{
	if (r->code == 220 && s->input_left > 0) {
		/* Anything after the 220 was sent in plaintext, and would be
		 * read as if it came over TLS (the CVE-2011-0411 family). */
		fail_local(s, "4.7.5", false, "server sent data after its "
		    "STARTTLS reply");
	} else if (r->code == 220)
		smtpc_enter_state(s, SMTPC_STATE_TLS);
	else if (s->tls_policy == SMTPC_TLS_MAY) {
		/* Refused, not failed: no handshake was tried. */
		log_msg(LOG_INFO, s->sid, NULL, "event=starttls-refused "
		    "peer=%s code=%d", s->peer, r->code);
		s->flags |= SMTPC_F_TLS_REFUSED;
		after_hello(s);
	} else
		fail_reply(s, r, true, true);
}

static void
smtpc_start_tls(struct smtpc_session *s)
{
	smtpc_flush(s);
	if (s->io.starttls(s->io.ctx) == -1)
		fail_local(s, "4.7.5", false, "cannot start TLS");
}

static void
smtpc_send_auth(struct smtpc_session *s)
{
	size_t ul = strlen(s->auth_user), pl = strlen(s->auth_pass);
	size_t n = ul + pl + 2;
	char *raw, *b64;

	if (!(s->caps.auth & SMTPC_AUTH_PLAIN)) {
		smtpc_send(s, NULL, "AUTH LOGIN");
		return;
	}
	/* RFC 4616: authzid (empty) NUL authcid NUL passwd. */
	raw = xmalloc(n);
	raw[0] = '\0';
	memcpy(raw + 1, s->auth_user, ul);
	raw[ul + 1] = '\0';
	memcpy(raw + ul + 2, s->auth_pass, pl);
	b64 = xmalloc(base64_encoded_len(n) + 1);
	base64_encode(raw, n, b64);
	smtpc_send(s, "AUTH PLAIN <credentials>", "AUTH PLAIN %s", b64);
	mem_wipe(raw, n);
	mem_wipe(b64, strlen(b64));
	free(raw);
	free(b64);
}

static void
smtpc_send_b64(struct smtpc_session *s, const char *text, const char *label)
{
	size_t n = strlen(text);
	char *b64 = xmalloc(base64_encoded_len(n) + 1);

	base64_encode(text, n, b64);
	smtpc_send(s, label, "%s", b64);
	mem_wipe(b64, strlen(b64));
	free(b64);
}

static void
reply_auth(struct smtpc_session *s, const struct smtpc_reply *r)
{
	bool login = !(s->caps.auth & SMTPC_AUTH_PLAIN);

	if (r->code == 334 && login && s->state == SMTPC_STATE_AUTH)
		smtpc_enter_state(s, SMTPC_STATE_AUTH_USER);
	else if (r->code == 334 && s->state == SMTPC_STATE_AUTH_USER)
		smtpc_enter_state(s, SMTPC_STATE_AUTH_PASS);
	else if (r->code / 100 == 2 && (!login ||
	    s->state == SMTPC_STATE_AUTH_PASS)) {
		log_msg(LOG_INFO, s->sid, NULL, "event=auth peer=%s mech=%s",
		    s->peer, login ? "LOGIN" : "PLAIN");
		s->flags |= SMTPC_F_AUTHED;
		smtpc_enter_state(s, SMTPC_STATE_IDLE);
		smtpc_idle(s);
	} else {
		/* Our credentials or the relay's set-up: retry, never
		 * bounce (Postfix's smtp_sasl_auth_soft_bounce). A 334 out
		 * of turn awaits a line: QUIT would be read as one. */
		fail_reply(s, r, true, r->code / 100 != 3);
	}
}

/* ---- input ------------------------------------------------------------ */

static bool
expects_3xx(enum smtpc_state st)
{
	return st == SMTPC_STATE_AUTH || st == SMTPC_STATE_AUTH_USER ||
	    st == SMTPC_STATE_AUTH_PASS || st == SMTPC_STATE_DATA;
}

static void
log_reply(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct buf text = BUF_INIT;

	if (!log_level_enabled(LOG_DEBUG))
		return;
	smtpc_reply_join(r, &text, 400);
	log_msg(LOG_DEBUG, s->sid, smtpc_qid(s), "event=reply state=%s "
	    "code=%d lines=%zu reply=%s", state_names[s->state], r->code,
	    r->nlines, log_quote_str(&s->scratch, buf_cstr(&text), 200));
	buf_release(&text);
}

static void
smtpc_dispatch(struct smtpc_session *s, const struct smtpc_reply *r)
{
	log_reply(s, r);
	if (r->code == 421 && s->state != SMTPC_STATE_QUIT) {
		/* RFC 5321 3.8: the server is going away. */
		fail_reply(s, r, true, false);
		return;
	}
	if (r->code / 100 == 3 && !expects_3xx(s->state) &&
	    s->state != SMTPC_STATE_QUIT) {
		fail_reply(s, r, true, false);
		return;
	}
	switch (s->state) {
	case SMTPC_STATE_BANNER:
		reply_banner(s, r);
		break;
	case SMTPC_STATE_EHLO:
	case SMTPC_STATE_HELO:
		reply_hello(s, r);
		break;
	case SMTPC_STATE_STARTTLS:
		reply_starttls(s, r);
		break;
	case SMTPC_STATE_AUTH:
	case SMTPC_STATE_AUTH_USER:
	case SMTPC_STATE_AUTH_PASS:
		reply_auth(s, r);
		break;
	case SMTPC_STATE_RSET:
		smtpc_reply_rset(s, r);
		break;
	case SMTPC_STATE_MAIL:
		smtpc_reply_mail(s, r);
		break;
	case SMTPC_STATE_RCPT:
		smtpc_reply_rcpt(s, r);
		break;
	case SMTPC_STATE_DATA:
		smtpc_reply_data(s, r);
		break;
	case SMTPC_STATE_DOT:
		smtpc_reply_dot(s, r);
		break;
	case SMTPC_STATE_QUIT:
		smtpc_enter_state(s, SMTPC_STATE_CLOSED);
		break;
	case SMTPC_STATE_IDLE:
	case SMTPC_STATE_BODY:
	case SMTPC_STATE_TLS:
	case SMTPC_STATE_CLOSED:
		/* Nothing was asked: the server is out of step. */
		fail_reply(s, r, true, false);
		break;
	}
}

static bool
reading(const struct smtpc_session *s)
{
	return s->state != SMTPC_STATE_TLS && s->state != SMTPC_STATE_CLOSED;
}

size_t
smtpc_session_input(struct smtpc_session *s, const char *data, size_t len)
{
	enum smtpc_parse st;
	const char *err;
	size_t used = 0, n;

	while (used < len && reading(s)) {
		st = smtpc_reply_parse(&s->parser, data + used, len - used, &n,
		    &err);
		used += n;
		if (st == SMTPC_PARSE_ERROR) {
			log_msg(LOG_NOTICE, s->sid, smtpc_qid(s),
			    "event=bad-reply peer=%s state=%s error=%s",
			    s->peer, state_names[s->state], err);
			fail_local(s, "4.5.0", false, "protocol error: %s",
			    err);
			break;
		}
		if (st == SMTPC_PARSE_MORE)
			break;
		s->input_left = len - used;
		s->progress++;
		smtpc_dispatch(s, &s->parser.reply);
	}
	smtpc_flush(s);
	return used;
}

void
smtpc_session_tls_done(struct smtpc_session *s, bool ok, const char *version,
    const char *cipher, const char *dane)
{
	if (s->state != SMTPC_STATE_TLS)
		return;
	str_copy(s->tls.version, version ? version : "",
	    sizeof(s->tls.version));
	str_copy(s->tls.cipher, cipher ? cipher : "", sizeof(s->tls.cipher));
	str_copy(s->tls.dane, dane ? dane : "", sizeof(s->tls.dane));
	if (!ok) {
		/* Never plaintext after a failed handshake: an attacker
		 * could break handshakes to read the mail. */
		fail_local(s, "4.7.5", false, "TLS handshake failed%s%s%s",
		    s->tls.dane[0] ? " (dane: " : "", s->tls.dane,
		    s->tls.dane[0] ? ")" : "");
		return;
	}
	log_msg(LOG_INFO, s->sid, NULL, "event=starttls peer=%s version=%s "
	    "cipher=%s dane=%s", s->peer,
	    log_quote_str(&s->scratch, s->tls.version, 32), s->tls.cipher,
	    s->tls.dane[0] ? s->tls.dane : "none");
	/* RFC 3207 4.2: forget what was learnt before the handshake. */
	s->flags |= SMTPC_F_TLS;
	s->flags &= ~SMTPC_F_EHLO;
	s->tls.active = true;
	memset(&s->caps, 0, sizeof(s->caps));
	smtpc_enter_state(s, SMTPC_STATE_EHLO);
	smtpc_flush(s);
}

/* ---- the glue's other calls ------------------------------------------- */

int
smtpc_session_next_message(struct smtpc_session *s,
    const struct smtpc_message *m)
{
	if (m == NULL || m->nrcpts == 0 || m->rcpts == NULL ||
	    m->sender == NULL || s->txn != NULL || s->pending != NULL ||
	    s->in_callback > 0 ||
	    (s->flags & (SMTPC_F_FAILED | SMTPC_F_QUIT)) ||
	    s->state == SMTPC_STATE_QUIT || s->state == SMTPC_STATE_CLOSED)
		return -1;
	s->pending = m;
	smtpc_idle(s);
	smtpc_flush(s);
	return 0;
}

void
smtpc_session_quit(struct smtpc_session *s)
{
	s->flags |= SMTPC_F_QUIT;
	if (s->state == SMTPC_STATE_IDLE && s->pending == NULL) {
		smtpc_enter_state(s, SMTPC_STATE_QUIT);
		smtpc_flush(s);
	}
}

void
smtpc_session_eof(struct smtpc_session *s)
{
	if (s->state == SMTPC_STATE_CLOSED)
		return;
	if (s->state == SMTPC_STATE_QUIT || (s->state == SMTPC_STATE_IDLE &&
	    s->pending == NULL)) {
		/* Done, or a cached connection the server dropped. */
		s->flags |= SMTPC_F_FAILED;
		smtpc_enter_state(s, SMTPC_STATE_CLOSED);
		return;
	}
	fail_local(s, "4.4.2", false, "lost connection");
}

void
smtpc_session_timeout(struct smtpc_session *s)
{
	if (s->state == SMTPC_STATE_CLOSED)
		return;
	if (s->state == SMTPC_STATE_IDLE && s->pending == NULL) {
		smtpc_session_quit(s);
		return;
	}
	if (s->state == SMTPC_STATE_QUIT) {
		smtpc_enter_state(s, SMTPC_STATE_CLOSED);
		return;
	}
	fail_local(s, "4.4.2", false, "timeout");
}

void
smtpc_session_output_drained(struct smtpc_session *s)
{
	if (s->state == SMTPC_STATE_BODY) {
		smtpc_body_pump(s);
		smtpc_flush(s);
	}
}

bool
smtpc_session_wants_output(const struct smtpc_session *s)
{
	return s->state == SMTPC_STATE_BODY;
}

unsigned
smtpc_session_timeout_secs(const struct smtpc_session *s)
{
	const struct smtpc_limits *l = &s->limits;

	switch (smtpc_state_stage(s->state)) {
	case SMTPC_STAGE_CONNECT:
	case SMTPC_STAGE_BANNER:
		return l->banner;
	case SMTPC_STAGE_EHLO:
		return l->helo;
	case SMTPC_STAGE_STARTTLS:
		return l->starttls;
	case SMTPC_STAGE_AUTH:
		return l->auth;
	case SMTPC_STAGE_IDLE:
		return l->idle;
	case SMTPC_STAGE_RSET:
		return l->rset;
	case SMTPC_STAGE_MAIL:
		return l->mail;
	case SMTPC_STAGE_RCPT:
		return l->rcpt;
	case SMTPC_STAGE_DATA:
		return l->data_init;
	case SMTPC_STAGE_BODY:
		return l->data_block;
	case SMTPC_STAGE_DOT:
		return l->data_done;
	case SMTPC_STAGE_QUIT:
	case SMTPC_STAGE_CLOSED:
		break;
	}
	return l->quit;
}

enum smtpc_stage
smtpc_session_stage(const struct smtpc_session *s)
{
	return smtpc_state_stage(s->state);
}

bool
smtpc_session_reusable(const struct smtpc_session *s)
{
	return s->state == SMTPC_STATE_IDLE && s->txn == NULL &&
	    s->pending == NULL && !(s->flags & (SMTPC_F_FAILED | SMTPC_F_QUIT));
}

bool
smtpc_session_closed(const struct smtpc_session *s)
{
	return s->state == SMTPC_STATE_CLOSED;
}

const struct smtpc_outcome *
smtpc_session_error(const struct smtpc_session *s)
{
	return s->has_error ? &s->error : NULL;
}

const struct smtpc_caps *
smtpc_session_caps(const struct smtpc_session *s)
{
	return &s->caps;
}

const struct smtpc_tls_info *
smtpc_session_tls(const struct smtpc_session *s)
{
	return &s->tls;
}

unsigned
smtpc_session_messages(const struct smtpc_session *s)
{
	return s->messages;
}

bool
smtpc_session_greeted(const struct smtpc_session *s)
{
	return (s->flags & SMTPC_F_GREETED) != 0;
}

unsigned
smtpc_session_progress(const struct smtpc_session *s)
{
	return s->progress;
}

const char *
smtpc_session_state_name(const struct smtpc_session *s)
{
	return state_names[s->state];
}

const char *
smtpc_stage_name(enum smtpc_stage stage)
{
	return stage <= SMTPC_STAGE_CLOSED ? stage_names[stage] : "?";
}

const char *
smtpc_verdict_name(enum smtpc_verdict v)
{
	return v <= SMTPC_PERM ? verdict_names[v] : "?";
}

const char *
smtpc_tls_policy_name(enum smtpc_tls_policy p)
{
	return p <= SMTPC_TLS_DANE ? tls_policy_names[p] : "?";
}

int
smtpc_tls_policy_parse(const char *name, enum smtpc_tls_policy *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(tls_policy_names); i++)
		if (strcasecmp(name, tls_policy_names[i]) == 0) {
			*p = (enum smtpc_tls_policy)i;
			return 0;
		}
	return -1;
}
