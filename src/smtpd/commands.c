/*
 * commands: the SMTP command table. Each entry pairs a verb and its flags
 * with a handler that checks syntax and state (sending its own error) and
 * then acts. The verb strings are compared here, in the lookup, alone.
 */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <syslog.h>

#include "base64.h"
#include "log.h"
#include "session_int.h"
#include "util.h"

/* flags */
#define CMD_BEFORE_HELO	0x01u	/* allowed before EHLO/HELO */
#define CMD_NO_ARGS	0x02u	/* takes no argument */

/* NOOP, RSET, VRFY, HELP in one session before it is dropped (they keep
 * a connection open without moving mail: Postfix's junk commands). */
#define JUNK_COMMANDS_MAX	100

struct smtpd_command {
	const char	*verb;
	unsigned	 flags;
	void		(*run)(struct smtpd_session *s, const char *args,
			    size_t len);
};

static void cmd_ehlo(struct smtpd_session *, const char *, size_t);
static void cmd_helo(struct smtpd_session *, const char *, size_t);
static void cmd_mail(struct smtpd_session *, const char *, size_t);
static void cmd_rcpt(struct smtpd_session *, const char *, size_t);
static void cmd_data(struct smtpd_session *, const char *, size_t);
static void cmd_bdat(struct smtpd_session *, const char *, size_t);
static void cmd_rset(struct smtpd_session *, const char *, size_t);
static void cmd_noop(struct smtpd_session *, const char *, size_t);
static void cmd_quit(struct smtpd_session *, const char *, size_t);
static void cmd_help(struct smtpd_session *, const char *, size_t);
static void cmd_vrfy(struct smtpd_session *, const char *, size_t);
static void cmd_expn(struct smtpd_session *, const char *, size_t);
static void cmd_starttls(struct smtpd_session *, const char *, size_t);
static void cmd_auth(struct smtpd_session *, const char *, size_t);

static const struct smtpd_command commands[] = {
	{ "EHLO", CMD_BEFORE_HELO, cmd_ehlo },
	{ "HELO", CMD_BEFORE_HELO, cmd_helo },
	{ "MAIL", 0, cmd_mail },
	{ "RCPT", 0, cmd_rcpt },
	{ "DATA", CMD_NO_ARGS, cmd_data },
	{ "BDAT", CMD_BEFORE_HELO, cmd_bdat },	/* refused inside */
	{ "RSET", CMD_BEFORE_HELO | CMD_NO_ARGS, cmd_rset },
	{ "NOOP", CMD_BEFORE_HELO, cmd_noop },
	{ "QUIT", CMD_BEFORE_HELO | CMD_NO_ARGS, cmd_quit },
	{ "HELP", CMD_BEFORE_HELO, cmd_help },
	{ "VRFY", CMD_BEFORE_HELO, cmd_vrfy },
	{ "EXPN", CMD_BEFORE_HELO, cmd_expn },
	{ "STARTTLS", CMD_NO_ARGS, cmd_starttls },
	{ "AUTH", 0, cmd_auth },
};

static const struct smtpd_command *
command_find(const struct smtp_line *l)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (smtp_verb_is(l, commands[i].verb))
			return &commands[i];
	return NULL;
}

/* A reply that counts as the client's error. */
static void
cmd_error(struct smtpd_session *s, int code, const char *status,
    const char *text)
{
	s->errors++;
	smtpd_reply(s, code, status, "%s", text);
}

static void
cmd_parse_error(struct smtpd_session *s, const struct smtp_error *e)
{
	s->errors++;
	smtpd_reply_error(s, e);
}

void
smtpd_command(struct smtpd_session *s, const char *line, size_t len)
{
	const struct smtpd_command *c;
	const struct smtp_error *err;
	struct smtp_line l;

	if (smtp_line_split(line, len, &l, &err) == -1) {
		cmd_parse_error(s, err);
		/* A BDAT we cannot read leaves its chunk unaccounted for. */
		if (smtpd_line_is_bdat(line, len))
			smtpd_close(s);
		return;
	}
	if ((c = command_find(&l)) == NULL) {
		cmd_error(s, 500, "5.5.2", "Command unrecognized");
		return;
	}
	if (s->state == SMTPD_STATE_GREETED && !(c->flags & CMD_BEFORE_HELO)) {
		cmd_error(s, 503, "5.5.1", "Send EHLO or HELO first");
		return;
	}
	if ((c->flags & CMD_NO_ARGS) && l.args_len > 0) {
		cmd_error(s, 501, "5.5.4", "Syntax error: no arguments allowed");
		return;
	}
	c->run(s, l.args, l.args_len);
}

/* ---- EHLO, HELO ----------------------------------------------------------- */

static bool
helo_accept(struct smtpd_session *s, const char *args, size_t len)
{
	const struct smtp_error *err;
	/* mx takes what the world sends; authenticated roles are strict. */
	bool lenient = s->listener->role == LISTENER_MX ||
	    s->listener->role == LISTENER_LOCAL;

	if (smtp_helo_parse(args, len, lenient ? SMTP_PARSE_LENIENT : 0,
	    &err) == -1) {
		cmd_parse_error(s, err);
		return false;
	}
	smtpd_session_reset(s, false);
	snprintf(s->helo, sizeof(s->helo), "%.*s", (int)len, args);
	smtpd_enter_state(s, SMTPD_STATE_READY);
	return true;
}

static const char ehlo_fixed[] = "250-PIPELINING\r\n250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
    "250-DSN\r\n";
static const char ehlo_starttls[] = "250-STARTTLS\r\n";
static const char ehlo_auth[] = "250-AUTH PLAIN LOGIN\r\n";

static void
cmd_ehlo(struct smtpd_session *s, const char *args, size_t len)
{
	const char *host = s->env->cfg->hostname;
	void (*w)(void *, const void *, size_t) = s->io.write;
	char line[SMTPD_LINE_MAX];
	int n;

	if (!helo_accept(s, args, len))
		return;
	s->flags |= SMTPD_F_EHLO;
	n = snprintf(line, sizeof(line), "250-%s\r\n", host);
	w(s->io.ctx, line, (size_t)n);
	n = snprintf(line, sizeof(line), "250-SIZE %llu\r\n",
	    (unsigned long long)s->env->cfg->message_size_limit);
	w(s->io.ctx, line, (size_t)n);
	w(s->io.ctx, ehlo_fixed, sizeof(ehlo_fixed) - 1);
	if (smtpd_starttls_offered(s))
		w(s->io.ctx, ehlo_starttls, sizeof(ehlo_starttls) - 1);
	if (smtpd_auth_offered(s) && !(s->flags & SMTPD_F_AUTHED))
		w(s->io.ctx, ehlo_auth, sizeof(ehlo_auth) - 1);
	smtpd_reply(s, 250, NULL, "HELP");
}

static void
cmd_helo(struct smtpd_session *s, const char *args, size_t len)
{
	if (helo_accept(s, args, len))
		smtpd_reply(s, 250, NULL, "%s", s->env->cfg->hostname);
}

/* ---- MAIL, RCPT ------------------------------------------------------------- */

static unsigned
parse_opts(const struct smtpd_session *s)
{
	unsigned o = SMTP_PARSE_SMTPUTF8_OK | SMTP_PARSE_DSN_OK;

	if (!(s->flags & SMTPD_F_EHLO))
		o = 0;
	return o;
}

static void
cmd_mail(struct smtpd_session *s, const char *args, size_t len)
{
	const struct smtp_error *err;
	struct smtpd_txn *t;
	struct smtp_mail m;
	struct policy_decision d;
	char from[ADDR_TEXT_MAX + 1];

	if (s->txn != NULL) {
		cmd_error(s, 503, "5.5.1", "Nested MAIL command");
		return;
	}
	if ((s->listener->role == LISTENER_SUBMISSION ||
	    s->listener->role == LISTENER_SUBMISSIONS) &&
	    !(s->flags & SMTPD_F_AUTHED)) {
		cmd_error(s, 530, "5.7.0", "Authentication required");
		return;
	}
	if (smtp_mail_parse(args, len, parse_opts(s), &m, &err) == -1) {
		cmd_parse_error(s, err);
		return;
	}
	if (m.size_given && m.size > s->env->cfg->message_size_limit) {
		cmd_error(s, 552, "5.3.4", "Message size exceeds fixed limit");
		return;
	}
	if (m.body == SMTP_BODY_BINARYMIME) {
		cmd_error(s, 555, "5.5.4", "BODY=BINARYMIME is not supported");
		return;
	}
	t = s->txn = xcalloc(1, sizeof(*t));
	t->mail = m;
	if (!smtpd_policy(s, POLICY_MAIL, NULL, m.size, NULL, 0, &d)) {
		smtpd_txn_free(s);
		return;
	}
	s->env->svc->qid_next(s->env->svc->impl, t->qid);
	addr_format(&m.from, from, sizeof(from));
	log_msg(LOG_INFO, s->sid, t->qid, "event=mail from=%s size=%llu",
	    log_quote_str(&s->scratch, from[0] ? from : "<>", 300),
	    (unsigned long long)m.size);
	smtpd_reply(s, 250, "2.1.0", "Ok");
}

static bool
rcpt_duplicate(const struct smtpd_txn *t, const struct addr *a)
{
	for (size_t i = 0; i < t->nrcpts; i++)
		if (strcasecmp(t->rcpts[i].to.local, a->local) == 0 &&
		    strcmp(t->rcpts[i].to.domain, a->domain) == 0)
			return true;
	return false;
}

static void
cmd_rcpt(struct smtpd_session *s, const char *args, size_t len)
{
	const struct smtp_error *err;
	struct smtpd_txn *t = s->txn;
	struct smtp_rcpt r;
	struct policy_decision d;
	char to[ADDR_TEXT_MAX + 1];

	if (t == NULL) {
		cmd_error(s, 503, "5.5.1", "Need MAIL before RCPT");
		return;
	}
	if (t->nrcpts >= (size_t)s->env->cfg->smtp_max_recipients) {
		smtpd_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	if (smtp_rcpt_parse(args, len, parse_opts(s), t->mail.smtputf8, &r,
	    &err) == -1) {
		cmd_parse_error(s, err);
		return;
	}
	if (r.to.flags & ADDR_F_POSTMASTER_BARE) {
		/* RFC 5321 4.5.1: <postmaster> is ours, whatever the rule. */
		str_copy(r.to.domain, s->env->cfg->hostname,
		    sizeof(r.to.domain));
		r.to.domain_len = strlen(r.to.domain);
		r.to.flags &= ~ADDR_F_POSTMASTER_BARE;
	}
	addr_format(&r.to, to, sizeof(to));
	for (char *p = to; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strncmp(to, "postmaster@", 11) == 0 &&
	    strcasecmp(r.to.domain, s->env->cfg->hostname) == 0) {
		/* RFC 5321 4.5.1: whatever the rules say. */
		d.route[0] = '\0';
	} else if (!smtpd_policy(s, POLICY_RCPT, &r.to, t->mail.size, NULL, 0,
	    &d))
		return;
	if (s->listener->role == LISTENER_MX && s->env->svc->quota_full &&
	    s->env->svc->quota_full(s->env->svc->impl, to, t->mail.size)) {
		smtpd_reply(s, 452, "4.2.2", "Mailbox full, try again later");
		return;
	}
	if (rcpt_duplicate(t, &r.to)) {
		/* Stored once, delivered once: RFC 5321 3.3 lets us merge. */
		smtpd_reply(s, 250, "2.1.5", "Ok");
		return;
	}
	if (t->nrcpts == t->rcpt_cap) {
		t->rcpt_cap = t->rcpt_cap ? t->rcpt_cap * 2 : 4;
		t->rcpts = xreallocarray(t->rcpts, t->rcpt_cap,
		    sizeof(*t->rcpts));
		t->routes = xreallocarray(t->routes, t->rcpt_cap,
		    sizeof(*t->routes));
	}
	str_copy(t->routes[t->nrcpts].route, d.route,
	    sizeof(t->routes[t->nrcpts].route));
	t->rcpts[t->nrcpts++] = r;
	log_msg(LOG_INFO, s->sid, t->qid, "event=rcpt to=%s",
	    log_quote_str(&s->scratch, to, 300));
	smtpd_reply(s, 250, "2.1.5", "Ok");
}

/* ---- DATA, BDAT --------------------------------------------------------------- */

static bool
data_allowed(struct smtpd_session *s)
{
	if (s->txn == NULL) {
		cmd_error(s, 503, "5.5.1", "Need MAIL command");
		return false;
	}
	if (s->txn->nrcpts == 0) {
		cmd_error(s, 503, "5.5.1", "Need RCPT command");
		return false;
	}
	return true;
}

static void
cmd_data(struct smtpd_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	if (!data_allowed(s))
		return;
	if (s->txn->chunking) {
		cmd_error(s, 503, "5.5.1", "DATA after BDAT is not allowed");
		return;
	}
	smtpd_data_begin(s);
	if (s->txn != NULL && s->txn->reading) {
		smtpd_enter_state(s, SMTPD_STATE_DATA);
		smtpd_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	}
}

static void
cmd_bdat(struct smtpd_session *s, const char *args, size_t len)
{
	const struct smtp_error *err;
	uint64_t size;
	bool last;

	/* The chunk follows the command whatever we answer: parse first. */
	if (smtp_bdat_parse(args, len, &size, &last, &err) == -1) {
		/* Without a valid size we cannot find the next command. */
		cmd_parse_error(s, err);
		smtpd_close(s);
		return;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	s->bdat_back = s->state;
	/* Refused (no EHLO, no transaction, no recipient yet): the chunk is
	 * swallowed and 503 answered after it; the transaction stays. */
	s->bdat_swallow = !(s->flags & SMTPD_F_EHLO) || s->txn == NULL ||
	    s->txn->nrcpts == 0;
	if (!s->bdat_swallow && !s->txn->chunking) {
		s->txn->chunking = true;
		smtpd_data_begin(s);
	}
	smtpd_enter_state(s, SMTPD_STATE_BDAT);
	/* An empty chunk is complete at once: no input will finish it. */
	if (size == 0)
		smtpd_bdat_input(s, "", 0);
}

/* ---- the rest ------------------------------------------------------------------ */

/* Count a command that moves no mail; false when the session ends. */
static bool
junk(struct smtpd_session *s)
{
	if (++s->junk <= JUNK_COMMANDS_MAX)
		return true;
	smtpd_reply(s, 421, "4.7.0", "%s Too many commands",
	    s->env->cfg->hostname);
	smtpd_close(s);
	return false;
}

static void
cmd_rset(struct smtpd_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	if (!junk(s))
		return;
	smtpd_txn_free(s);
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_noop(struct smtpd_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	if (!junk(s))
		return;
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_quit(struct smtpd_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtpd_reply(s, 221, "2.0.0", "Bye");
	smtpd_close(s);
}

static void
cmd_help(struct smtpd_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	if (!junk(s))
		return;
	smtpd_reply(s, 214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL "
	    "RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS AUTH");
}

static void
cmd_vrfy(struct smtpd_session *s, const char *args, size_t len)
{
	(void)args;
	/* Never say whether a user exists (no enumeration). */
	if (!junk(s))
		return;
	if (len == 0) {
		cmd_error(s, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	smtpd_reply(s, 252, "2.5.2", "Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

static void
cmd_expn(struct smtpd_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	cmd_error(s, 502, "5.5.1", "EXPN not available");
}

static void
cmd_starttls(struct smtpd_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	if (s->flags & SMTPD_F_TLS) {
		cmd_error(s, 503, "5.5.1", "TLS already active");
		return;
	}
	if (!(s->flags & SMTPD_F_EHLO)) {
		cmd_error(s, 503, "5.5.1", "Send EHLO first");
		return;
	}
	if (!smtpd_starttls_offered(s)) {
		cmd_error(s, 502, "5.5.1", "STARTTLS not available");
		return;
	}
	if (s->txn != NULL) {
		cmd_error(s, 503, "5.5.1", "STARTTLS inside a transaction");
		return;
	}
	smtpd_reply(s, 220, "2.0.0", "Ready to start TLS");
	smtpd_enter_state(s, SMTPD_STATE_TLS);
	if (s->io.starttls(s->io.ctx) == -1) {
		log_msg(LOG_ERR, s->sid, NULL, "event=starttls-failed");
		smtpd_close(s);
	}
}

/* ---- AUTH (RFC 4954) -------------------------------------------------------------- */

static void
auth_fail_log(struct smtpd_session *s, const char *user)
{
	/* One line per failure, client address first, for fail2ban. */
	log_msg(LOG_NOTICE, s->sid, NULL, "event=auth-failed client=%s "
	    "user=%s listener=%s", s->client.addr[0] ? s->client.addr :
	    "local", log_quote_str(&s->scratch, user, 100), s->listener->name);
}

/* Too many failures from this client's network or for this account? */
static bool
auth_throttled(struct smtpd_session *s, const char *user)
{
	const struct smtpd_env *env = s->env;
	time_t now = env->svc->now(env->svc->impl);

	if ((env->throttle_addr == NULL || s->client.net[0] == '\0' ||
	    !auth_throttle_blocked(env->throttle_addr, s->client.net, now)) &&
	    (env->throttle_user == NULL || user == NULL ||
	    !auth_throttle_blocked(env->throttle_user, user, now)))
		return false;
	log_msg(LOG_NOTICE, s->sid, NULL, "event=auth-throttled client=%s "
	    "net=%s", s->client.addr, s->client.net);
	smtpd_reply(s, 421, "4.7.0", "%s Too many failed authentications, "
	    "try again later", s->env->cfg->hostname);
	smtpd_close(s);
	return true;
}

/* Count a failure; true when the client is now cut off. */
static bool
auth_failed(struct smtpd_session *s)
{
	const struct smtpd_env *env = s->env;
	time_t now = env->svc->now(env->svc->impl);

	auth_fail_log(s, s->creds.login);
	smtpd_count(s, POLICY_EV_AUTH_FAILURE);
	if (env->throttle_addr != NULL && s->client.net[0] != '\0')
		auth_throttle_fail(env->throttle_addr, s->client.net, now);
	if (env->throttle_user != NULL && s->creds.login[0] != '\0')
		auth_throttle_fail(env->throttle_user, s->creds.login, now);
	s->errors++;
	smtpd_enter_state(s, SMTPD_STATE_READY);
	smtpd_reply(s, 535, "5.7.8", "Authentication credentials invalid");
	return auth_throttled(s, s->creds.login[0] ? s->creds.login : NULL);
}

static void
auth_check(struct smtpd_session *s)
{
	if (auth_throttled(s, s->creds.login))
		return;
	smtpd_enter_state(s, SMTPD_STATE_AUTH_CHECK);
	if (s->env->svc->auth_start(s->env->svc->impl, s->id, s->creds.login,
	    s->creds.password) == -1) {
		smtpd_enter_state(s, SMTPD_STATE_READY);
		smtpd_reply(s, 454, "4.7.0", "Temporary authentication "
		    "failure");
	}
	/* The password is not needed any more, whatever comes next. */
	mem_wipe(s->creds.password, sizeof(s->creds.password));
	s->creds.password_len = 0;
}

/* A decoder's verdict: go on (true) or the reply sent (false). */
static bool
auth_decoded(struct smtpd_session *s, enum auth_status st)
{
	switch (st) {
	case AUTH_OK:
		return true;
	case AUTH_TOO_LONG:
		smtpd_enter_state(s, SMTPD_STATE_READY);
		cmd_error(s, 500, "5.5.6", "Authentication exchange line is "
		    "too long");
		return false;
	case AUTH_BAD_BASE64:
		smtpd_enter_state(s, SMTPD_STATE_READY);
		cmd_error(s, 501, "5.5.2", "Cannot decode response");
		return false;
	default:
		auth_failed(s);
		return false;
	}
}

void
smtpd_auth_line(struct smtpd_session *s, const char *line, size_t len)
{
	const char *err;

	if (s->state == SMTPD_STATE_AUTH && auth_response_is_cancel(line,
	    len)) {
		auth_creds_clear(&s->creds);
		smtpd_enter_state(s, SMTPD_STATE_READY);
		cmd_error(s, 501, "5.0.0", "Authentication canceled");
		return;
	}
	if (s->auth_mech == SMTPD_AUTH_PLAIN) {
		if (auth_decoded(s, auth_plain_decode(line, len, &s->creds,
		    &err)))
			auth_check(s);
	} else if (!s->auth_have_user) {
		if (!auth_decoded(s, auth_login_decode_user(line, len,
		    &s->creds, &err)))
			return;
		s->auth_have_user = true;
		smtpd_enter_state(s, SMTPD_STATE_AUTH);
		smtpd_reply(s, 334, NULL, AUTH_LOGIN_PROMPT_PASS);
	} else if (auth_decoded(s, auth_login_decode_password(line, len,
	    &s->creds, &err)))
		auth_check(s);
}

static bool
auth_allowed(struct smtpd_session *s)
{
	if (!smtpd_auth_offered(s) && s->listener->role ==
	    LISTENER_SUBMISSION && !(s->flags & SMTPD_F_TLS)) {
		/* RFC 4954 6 */
		cmd_error(s, 538, "5.7.11", "Encryption required for "
		    "requested authentication mechanism");
		return false;
	}
	if (!smtpd_auth_offered(s)) {
		cmd_error(s, 503, "5.5.1", "AUTH not available");
		return false;
	}
	if (!(s->flags & SMTPD_F_EHLO)) {
		cmd_error(s, 503, "5.5.1", "Send EHLO first");
		return false;
	}
	if (s->flags & SMTPD_F_AUTHED) {
		cmd_error(s, 503, "5.5.1", "Already authenticated");
		return false;
	}
	if (s->txn != NULL) {
		cmd_error(s, 503, "5.5.1", "AUTH inside a transaction");
		return false;
	}
	return !auth_throttled(s, NULL);
}

static void
cmd_auth(struct smtpd_session *s, const char *args, size_t len)
{
	const struct smtp_error *err;
	struct smtp_auth_cmd a;

	if (!auth_allowed(s))
		return;
	if (smtp_auth_parse(args, len, &a, &err) == -1) {
		cmd_parse_error(s, err);
		return;
	}
	if (smtp_auth_mech_is(&a, "PLAIN"))
		s->auth_mech = SMTPD_AUTH_PLAIN;
	else if (smtp_auth_mech_is(&a, "LOGIN"))
		s->auth_mech = SMTPD_AUTH_LOGIN;
	else {
		cmd_error(s, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	auth_creds_clear(&s->creds);
	s->auth_have_user = false;
	if (a.initial_given) {
		/* Not in the AUTH state: "*" cancels only a continuation. */
		smtpd_auth_line(s, a.initial, a.initial_len);
		return;
	}
	smtpd_enter_state(s, SMTPD_STATE_AUTH);
	smtpd_reply(s, 334, NULL, "%s", s->auth_mech == SMTPD_AUTH_PLAIN ?
	    "" : AUTH_LOGIN_PROMPT_USER);
}

void
smtpd_auth_finish(struct smtpd_session *s, bool ok)
{
	if (!ok) {
		auth_failed(s);
		auth_creds_clear(&s->creds);
		return;
	}
	smtpd_enter_state(s, SMTPD_STATE_READY);
	s->flags |= SMTPD_F_AUTHED;
	str_copy(s->user, s->creds.login, sizeof(s->user));
	for (char *p = s->user; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	auth_creds_clear(&s->creds);
	if (s->env->throttle_user != NULL)
		auth_throttle_success(s->env->throttle_user, s->user);
	log_msg(LOG_INFO, s->sid, NULL, "event=auth user=%s",
	    log_quote_str(&s->scratch, s->user, 300));
	smtpd_reply(s, 235, "2.7.0", "Authentication successful");
}
