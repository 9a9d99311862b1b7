/*
 * transaction: one message on an SMTP client session: the local checks
 * against what the server offered (SIZE, 8BITMIME, SMTPUTF8), RSET, MAIL,
 * RCPT, DATA (pipelined when offered), the body with dot-stuffing, and
 * every recipient's outcome. States change through smtpc_enter_state()
 * alone.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"
#include "smtpc_int.h"
#include "util.h"

/* RFC 3461 4.2 and 4.4: the longest ORCPT and ENVID values. */
#define ORCPT_PARAM_MAX		500
#define ENVID_PARAM_MAX		100
#define ORCPT_TYPE_MAX		32

void
smtpc_txn_free(struct smtpc_txn **tp)
{
	struct smtpc_txn *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	buf_release(&t->why_text);
	free(t->r);
	free(t->order);
	free(t);
	*tp = NULL;
}

static void
rcpt_settle(struct smtpc_session *s, const struct smtpc_message *m,
    size_t i, const struct smtpc_outcome *o)
{
	log_msg(o->verdict == SMTPC_OK ? LOG_INFO : LOG_NOTICE, s->sid, m->qid,
	    "event=rcpt-done to=%s peer=%s stage=%s verdict=%s code=%d "
	    "status=%s reply=%s", log_quote_str(&s->scratch,
	    m->rcpts[i].address, 300), s->peer, smtpc_stage_name(o->stage),
	    smtpc_verdict_name(o->verdict), o->code, o->status,
	    log_quote_err(o->text));
	/* No new message from in here: this one is not finished. */
	s->in_callback++;
	if (s->cb.rcpt_done != NULL)
		s->cb.rcpt_done(s->cb.ctx, m, i, o);
	s->in_callback--;
}

void
smtpc_msg_settle(struct smtpc_session *s, const struct smtpc_message *m,
    const unsigned char *r, const struct smtpc_outcome *o)
{
	for (size_t i = 0; i < m->nrcpts; i++)
		if (r == NULL || !(r[i] & SMTPC_R_DONE))
			rcpt_settle(s, m, i, o);
	s->messages++;
	log_msg(LOG_INFO, s->sid, m->qid, "event=message-done peer=%s "
	    "stage=%s verdict=%s code=%d status=%s", s->peer,
	    smtpc_stage_name(o->stage), smtpc_verdict_name(o->verdict), o->code,
	    o->status);
	if (s->cb.msg_done != NULL)
		s->cb.msg_done(s->cb.ctx, m, o);
}

static void
txn_settle(struct smtpc_session *s, size_t i, const struct smtpc_outcome *o)
{
	struct smtpc_txn *t = s->txn;

	t->r[i] |= SMTPC_R_DONE;
	rcpt_settle(s, t->m, i, o);
}

/* Keep o as the reason the message ends if no final reply comes. */
static void
txn_why(struct smtpc_txn *t, const struct smtpc_outcome *o)
{
	t->why = *o;
	buf_reset(&t->why_text);
	buf_append_str(&t->why_text, o->text);
	t->why.text = buf_cstr(&t->why_text);
}

/* The message is over: the rest of its recipients get o; idle again. */
static void
txn_finish(struct smtpc_session *s, const struct smtpc_outcome *o)
{
	struct smtpc_txn *t = s->txn;

	s->txn = NULL;
	/* A cached connection should not keep a body's worth of buffers. */
	free(s->rbuf);
	s->rbuf = NULL;
	if (s->out.len == 0)
		buf_release(&s->out);
	smtpc_enter_state(s, SMTPC_STATE_IDLE);
	smtpc_msg_settle(s, t->m, t->r, o);
	smtpc_txn_free(&t);
	smtpc_idle(s);
}

/* ---- local checks ----------------------------------------------------- */

/* Could go on a command line: no controls, bounded; "" if empty_ok. */
static bool
addr_ok(const char *a, bool empty_ok)
{
	size_t n = strnlen(a, SMTPC_ADDR_MAX + 1);

	if (n > SMTPC_ADDR_MAX || (n == 0 && !empty_ok))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f)
			return false;
	return true;
}

static bool
is_ascii(const char *a)
{
	for (; *a != '\0'; a++)
		if ((unsigned char)*a >= 0x80)
			return false;
	return true;
}

/* Refused before a command is sent: every recipient gets it. */
static bool PRINTF_LIKE(6, 7)
refuse(struct smtpc_session *s, const struct smtpc_message *m, int code,
    const char *status, bool refused, const char *fmt, ...)
{
	struct smtpc_outcome o;
	struct buf why = BUF_INIT, text = BUF_INIT;
	va_list ap;

	if (!refused)
		return false;
	va_start(ap, fmt);
	buf_vprintf(&why, fmt, ap);
	va_end(ap);
	smtpc_outcome_local(&o, &text, SMTPC_STAGE_MAIL, SMTPC_PERM, code,
	    status, "%s", buf_cstr(&why));
	smtpc_msg_settle(s, m, NULL, &o);
	buf_release(&why);
	buf_release(&text);
	smtpc_idle(s);
	return true;
}

/* What the message needs that the server lacks: true when refused. */
static bool
txn_refused(struct smtpc_session *s, const struct smtpc_message *m,
    bool utf8)
{
	const struct smtpc_caps *c = &s->caps;

	if (refuse(s, m, 553, "5.1.7", !addr_ok(m->sender, true),
	    "bad sender address syntax"))
		return true;
	if (refuse(s, m, 552, "5.3.4", (c->flags & SMTPC_CAP_SIZE) &&
	    c->size > 0 && m->size > c->size, "message size %" PRIu64
	    " exceeds the limit %" PRIu64 " of %s", m->size, c->size,
	    s->peer))
		return true;
	/* RFC 6152 allows no downgrade here: we do not convert. */
	if (refuse(s, m, 554, "5.6.3", m->eightbit &&
	    !(c->flags & SMTPC_CAP_8BITMIME), "8-bit message, but %s does "
	    "not offer 8BITMIME", s->peer))
		return true;
	/* RFC 6531 3.2: no SMTPUTF8, no delivery. */
	return refuse(s, m, 553, "5.6.7", utf8 &&
	    !(c->flags & SMTPC_CAP_SMTPUTF8), "message needs SMTPUTF8, "
	    "which %s does not offer", s->peer);
}

void
smtpc_txn_start(struct smtpc_session *s, const struct smtpc_message *m)
{
	struct smtpc_outcome o;
	struct buf text = BUF_INIT;
	struct smtpc_txn *t;
	bool utf8 = m->smtputf8 || !is_ascii(m->sender);
	size_t left = 0;

	for (size_t i = 0; i < m->nrcpts; i++)
		if (!is_ascii(m->rcpts[i].address))
			utf8 = true;
	if (txn_refused(s, m, utf8))
		return;
	t = xcalloc(1, sizeof(*t));
	t->m = m;
	t->r = xcalloc(m->nrcpts, sizeof(*t->r));
	t->order = xcalloc(m->nrcpts, sizeof(*t->order));
	t->smtputf8 = utf8;
	t->bol = true;
	buf_init(&t->why_text, 0);
	s->txn = t;
	smtpc_outcome_local(&o, &text, SMTPC_STAGE_RCPT, SMTPC_PERM, 553,
	    "5.1.3", "bad recipient address syntax");
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (addr_ok(m->rcpts[i].address, false))
			left++;
		else
			txn_settle(s, i, &o);
	}
	if (left == 0) {
		txn_finish(s, &o);
		buf_release(&text);
		return;
	}
	buf_release(&text);
	if (s->flags & SMTPC_F_USED)
		smtpc_enter_state(s, SMTPC_STATE_RSET);
	else
		smtpc_enter_state(s, SMTPC_STATE_MAIL);
	s->flags |= SMTPC_F_USED;
}

/* ---- commands --------------------------------------------------------- */

/* RFC 3461 4: xtext, "+HH" for "+", "=" and all but "!".."~". */
static void
xtext_append(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x21 && c <= 0x7e && c != '+' && c != '=')
			buf_append_byte(b, c);
		else
			buf_printf(b, "+%02X", c);
	}
}

/* One UTF-8 code point at s: its length, or 0 if malformed. */
static size_t
utf8_point(const unsigned char *s, uint32_t *cp_r)
{
	size_t n;
	uint32_t cp, min;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

/* RFC 6533 utf-8-addr-xtext: "\x{HEX}" for all but QCHAR; -1 if the
 * text is not UTF-8. */
static int
utf8_xtext_append(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	while (*u != '\0') {
		if ((n = utf8_point(u, &cp)) == 0)
			return -1;
		if (cp >= 0x21 && cp <= 0x7e && cp != '+' && cp != '=' &&
		    cp != '\\')
			buf_append_byte(b, (uint8_t)cp);
		else
			buf_printf(b, "\\x{%" PRIX32 "}", cp);
		u += n;
	}
	return 0;
}

/* " ORCPT=type;xtext", or nothing when it cannot be sent as it should. */
static void
orcpt_append(struct buf *b, const char *orcpt)
{
	const char *semi = strchr(orcpt, ';'), *addr;
	size_t start = b->len, tl;
	bool utf8;

	if (semi == NULL || (tl = (size_t)(semi - orcpt)) == 0 ||
	    tl > ORCPT_TYPE_MAX || semi[1] == '\0')
		return;
	for (size_t i = 0; i < tl; i++)
		if (!((orcpt[i] >= 'a' && orcpt[i] <= 'z') ||
		    (orcpt[i] >= 'A' && orcpt[i] <= 'Z') ||
		    (orcpt[i] >= '0' && orcpt[i] <= '9') || orcpt[i] == '-'))
			return;
	addr = semi + 1;
	/* A non-ASCII original address travels as utf-8 (RFC 6533). */
	utf8 = (tl == 5 && strncasecmp(orcpt, "utf-8", 5) == 0) ||
	    !is_ascii(addr);
	if (utf8) {
		buf_append_str(b, " ORCPT=utf-8;");
		if (utf8_xtext_append(b, addr) == -1)
			buf_truncate(b, start);
	} else {
		buf_printf(b, " ORCPT=%.*s;", (int)tl, orcpt);
		xtext_append(b, addr);
	}
	if (b->len - start > ORCPT_PARAM_MAX + sizeof(" ORCPT=") - 1)
		buf_truncate(b, start);
}

static void
notify_append(struct buf *b, unsigned notify)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} names[] = {
		{ SMTPC_NOTIFY_SUCCESS, "SUCCESS" },
		{ SMTPC_NOTIFY_FAILURE, "FAILURE" },
		{ SMTPC_NOTIFY_DELAY, "DELAY" },
	};
	const char *sep = " NOTIFY=";

	if (notify & SMTPC_NOTIFY_NEVER) {
		buf_append_str(b, " NOTIFY=NEVER");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(notify & names[i].bit))
			continue;
		buf_append_str(b, sep);
		buf_append_str(b, names[i].name);
		sep = ",";
	}
}

static void
rcpt_command(struct smtpc_session *s, size_t i)
{
	struct smtpc_txn *t = s->txn;
	const struct smtpc_rcpt *rc = &t->m->rcpts[i];
	struct buf cmd = BUF_INIT;

	buf_printf(&cmd, "RCPT TO:<%s>", rc->address);
	if (s->caps.flags & SMTPC_CAP_DSN) {
		notify_append(&cmd, rc->notify);
		if (rc->orcpt != NULL)
			orcpt_append(&cmd, rc->orcpt);
	}
	smtpc_send(s, NULL, "%s", buf_cstr(&cmd));
	buf_release(&cmd);
	t->order[t->nsent++] = i;
}

/* The next recipient to send a RCPT for, or nrcpts. */
static size_t
rcpt_next(const struct smtpc_txn *t)
{
	size_t i = t->nsent > 0 ? t->order[t->nsent - 1] + 1 : 0;

	while (i < t->m->nrcpts && (t->r[i] & SMTPC_R_DONE))
		i++;
	return i;
}

static void
dsn_mail_append(struct buf *b, const struct smtpc_message *m)
{
	size_t start;

	if (m->dsn_ret != NULL && strcasecmp(m->dsn_ret, "FULL") == 0)
		buf_append_str(b, " RET=FULL");
	else if (m->dsn_ret != NULL && strcasecmp(m->dsn_ret, "HDRS") == 0)
		buf_append_str(b, " RET=HDRS");
	if (m->dsn_envid != NULL && m->dsn_envid[0] != '\0') {
		start = b->len;
		buf_append_str(b, " ENVID=");
		xtext_append(b, m->dsn_envid);
		if (b->len - start > ENVID_PARAM_MAX + sizeof(" ENVID=") - 1)
			buf_truncate(b, start);
	}
}

void
smtpc_send_mail(struct smtpc_session *s)
{
	struct smtpc_txn *t = s->txn;
	const struct smtpc_message *m = t->m;
	struct buf cmd = BUF_INIT;
	size_t i;

	buf_printf(&cmd, "MAIL FROM:<%s>", m->sender);
	if (s->caps.flags & SMTPC_CAP_SIZE)
		buf_printf(&cmd, " SIZE=%" PRIu64, m->size);
	if (m->eightbit)
		buf_append_str(&cmd, " BODY=8BITMIME");
	if (t->smtputf8)
		buf_append_str(&cmd, " SMTPUTF8");
	if (s->caps.flags & SMTPC_CAP_DSN)
		dsn_mail_append(&cmd, m);
	smtpc_send(s, NULL, "%s", buf_cstr(&cmd));
	buf_release(&cmd);
	if (!(s->caps.flags & SMTPC_CAP_PIPELINING))
		return;
	/* RFC 2920: DATA ends the group; replies come back in order. */
	t->pipelined = true;
	while ((i = rcpt_next(t)) < m->nrcpts)
		rcpt_command(s, i);
	smtpc_send(s, NULL, "DATA");
}

void
smtpc_send_rcpt(struct smtpc_session *s)
{
	struct smtpc_txn *t = s->txn;
	size_t i;

	if (!t->pipelined && (i = rcpt_next(t)) < t->m->nrcpts)
		rcpt_command(s, i);
}

void
smtpc_send_data(struct smtpc_session *s)
{
	if (!s->txn->pipelined)
		smtpc_send(s, NULL, "DATA");
}

/* ---- replies ---------------------------------------------------------- */

void
smtpc_reply_rset(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_outcome o;
	struct buf text = BUF_INIT;

	if (r->code / 100 == 2) {
		smtpc_enter_state(s, SMTPC_STATE_MAIL);
		return;
	}
	/* A server that cannot reset is no place for another message. */
	smtpc_outcome_reply(&o, &text, SMTPC_STAGE_RSET, r);
	smtpc_outcome_temp(&o);
	smtpc_fail(s, &o, true);
	buf_release(&text);
}

void
smtpc_reply_mail(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = s->txn;
	struct smtpc_outcome o;
	struct buf text = BUF_INIT;

	if (r->code / 100 == 2) {
		smtpc_enter_state(s, SMTPC_STATE_RCPT);
		return;
	}
	smtpc_outcome_reply(&o, &text, SMTPC_STAGE_MAIL, r);
	txn_why(t, &o);
	buf_release(&text);
	t->mail_failed = true;
	for (size_t i = 0; i < t->m->nrcpts; i++)
		if (!(t->r[i] & SMTPC_R_DONE))
			txn_settle(s, i, &t->why);
	/* Pipelined: the RCPT and DATA replies are still to come. */
	if (t->pipelined)
		smtpc_enter_state(s, SMTPC_STATE_RCPT);
	else
		txn_finish(s, &t->why);
}

void
smtpc_reply_rcpt(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = s->txn;
	struct smtpc_outcome o;
	struct buf text = BUF_INIT;
	size_t i = t->order[t->nreplied++];

	/* After a refused MAIL every recipient is settled already. */
	if (!t->mail_failed && r->code / 100 == 2) {
		t->r[i] |= SMTPC_R_ACCEPTED;
		t->accepted++;
	} else if (!t->mail_failed) {
		smtpc_outcome_reply(&o, &text, SMTPC_STAGE_RCPT, r);
		txn_why(t, &o);
		txn_settle(s, i, &t->why);
	}
	buf_release(&text);
	if (t->nreplied < t->nsent)
		return;		/* pipelined: more replies to match */
	if (!t->pipelined && rcpt_next(t) < t->m->nrcpts)
		smtpc_enter_state(s, SMTPC_STATE_RCPT);
	else if (t->pipelined || t->accepted > 0)
		smtpc_enter_state(s, SMTPC_STATE_DATA);
	else
		txn_finish(s, &t->why);
}

void
smtpc_reply_data(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = s->txn;
	struct smtpc_outcome o;
	struct buf text = BUF_INIT;

	if (r->code == 354 && s->input_left > 0) {
		/* Read before the body was sent: no reply can be due yet,
		 * and a "250" here must not pass for the final one. */
		smtpc_outcome_local(&o, &text, SMTPC_STAGE_DATA, SMTPC_TEMP,
		    451, "4.5.0", "protocol error: reply before the message "
		    "(%s)", s->peer);
		smtpc_fail(s, &o, false);
		buf_release(&text);
		return;
	}
	if (r->code == 354) {
		/* Pipelined with nobody accepted: end the empty data at
		 * once (RFC 2920 3.1). */
		t->discard = t->mail_failed || t->accepted == 0;
		smtpc_enter_state(s, t->discard ? SMTPC_STATE_DOT :
		    SMTPC_STATE_BODY);
		return;
	}
	if (t->mail_failed || t->accepted == 0) {
		txn_finish(s, &t->why);
		return;
	}
	smtpc_outcome_reply(&o, &text, SMTPC_STAGE_DATA, r);
	txn_finish(s, &o);
	buf_release(&text);
}

void
smtpc_reply_dot(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = s->txn;
	struct smtpc_outcome o;
	struct buf text = BUF_INIT;

	if (t->discard) {
		txn_finish(s, &t->why);
		return;
	}
	smtpc_outcome_reply(&o, &text, SMTPC_STAGE_DOT, r);
	txn_finish(s, &o);
	buf_release(&text);
}

/* ---- the body --------------------------------------------------------- */

/*
 * Dot-stuff a piece of the body into out (RFC 5321 4.5.2). A line starts
 * after every LF, bare or not, and a bare LF goes out as CRLF, so no
 * octet of the message can end the data early on any server.
 */
static void
body_stuff(struct smtpc_txn *t, struct buf *out, const char *p, size_t len)
{
	const char *end = p + len, *lf;
	size_t n;

	while (p < end) {
		if (t->bol && *p == '.')
			buf_append_byte(out, '.');
		if ((lf = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			buf_append(out, p, (size_t)(end - p));
			t->last = end[-1];
			t->bol = false;
			return;
		}
		n = (size_t)(lf - p);
		if ((n > 0 ? p[n - 1] : t->last) == '\r')
			buf_append(out, p, n + 1);
		else {
			buf_append(out, p, n);
			buf_append(out, "\r\n", 2);
		}
		t->last = '\n';
		t->bol = true;
		p = lf + 1;
	}
}

void
smtpc_body_pump(struct smtpc_session *s)
{
	struct smtpc_txn *t = s->txn;
	const struct smtpc_message *m = t->m;
	struct smtpc_outcome o;
	struct buf text = BUF_INIT;
	size_t burst = 0;
	ssize_t n;

	if (s->rbuf == NULL)
		s->rbuf = xmalloc(SMTPC_BODY_READ);
	while (burst < SMTPC_BODY_BURST) {
		n = m->body_read != NULL ? m->body_read(m->body_ctx, t->off,
		    s->rbuf, SMTPC_BODY_READ) : 0;
		if (n == 0) {
			smtpc_enter_state(s, SMTPC_STATE_DOT);
			return;
		}
		if (n < 0 || (size_t)n > SMTPC_BODY_READ) {
			/* No way to take back half a DATA: drop the line. */
			smtpc_outcome_local(&o, &text, SMTPC_STAGE_BODY,
			    SMTPC_TEMP, 451, "4.3.0", "cannot read the message "
			    "(local error)");
			smtpc_fail(s, &o, false);
			buf_release(&text);
			return;
		}
		t->off += (uint64_t)n;
		burst += (size_t)n;
		s->progress++;
		body_stuff(t, &s->out, s->rbuf, (size_t)n);
		smtpc_flush(s);
	}
}

void
smtpc_send_dot(struct smtpc_session *s)
{
	struct smtpc_txn *t = s->txn;

	if (!t->bol)
		buf_append(&s->out, "\r\n", 2);
	buf_append(&s->out, ".\r\n", 3);
	log_msg(LOG_DEBUG, s->sid, t->m->qid, "event=send cmd=. octets=%"
	    PRIu64, t->off);
}
