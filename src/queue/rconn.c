/* rconn: see rconn.h. */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "log.h"
#include "rconn.h"
#include "util.h"

#define RCONN_OUTPUT_HIGH	(256 * 1024)	/* stop pulling body above */

struct rconn {
	struct event_base	*base;
	struct bufferevent	*bev;
	struct smtpc_session	*s;
	struct rconn_params	 p;
	struct rconn_callbacks	 cb;
	struct rconn_tls	 tls;
	bool			 dane;		/* DANE in force */
	bool			 connected;
	bool			 handshaking;
	bool			 closed;
	struct event		*ev_close;	/* closed() outside callbacks */
	struct event		*ev_deadline;	/* the stage's, absolute */
	unsigned		 progress;	/* the session's, when armed */
	char			*why;
	char			*host, *peer;	/* p's, copied: a kept
						   connection outlives its job
						   (p.tlsa serves the handshake
						   only, within the first) */
};

static void rconn_read(struct bufferevent *, void *);

static void
tramp_rcpt_done(void *ctx, const struct smtpc_message *m, size_t index,
    const struct smtpc_outcome *o)
{
	struct rconn *c = ctx;

	c->cb.rcpt_done(c->cb.ctx, m, index, o);
}

static void
tramp_msg_done(void *ctx, const struct smtpc_message *m,
    const struct smtpc_outcome *o)
{
	struct rconn *c = ctx;

	c->cb.msg_done(c->cb.ctx, m, o);
}
static void rconn_write(struct bufferevent *, void *);
static void rconn_event(struct bufferevent *, short, void *);

static enum smtpc_tls_policy
smtpc_policy(enum tls_policy p)
{
	switch (p) {
	case TLS_POLICY_NONE:
		return SMTPC_TLS_NONE;
	case TLS_POLICY_MAY:
		return SMTPC_TLS_MAY;
	case TLS_POLICY_ENCRYPT:
		return SMTPC_TLS_ENCRYPT;
	case TLS_POLICY_VERIFY:
		return SMTPC_TLS_VERIFY;
	default:
		return SMTPC_TLS_DANE;
	}
}

static void
rconn_closed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *c = arg;

	(void)fd;
	(void)what;
	c->cb.closed(c->cb.ctx, c->why);
}

/* The connection is over: tell the owner from the loop, once. */
static void
rconn_finish(struct rconn *c, const char *why)
{
	if (c->closed)
		return;
	c->closed = true;
	if (why != NULL && c->why == NULL)
		c->why = xstrdup(why);
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_active(c->ev_close, EV_TIMEOUT, 0);
}

/*
 * Each stage's deadline runs from the session's last progress (a reply,
 * a state change, a body chunk), never from bytes: a server trickling a
 * reply in one byte at a time cannot stretch it. force: arm anew.
 */
static void
rconn_arm(struct rconn *c, bool force)
{
	struct timeval tv = { 0, 0 };
	unsigned p;

	if (c->closed || !c->connected)
		return;
	p = smtpc_session_progress(c->s);
	if (!force && p == c->progress)
		return;
	c->progress = p;
	tv.tv_sec = smtpc_session_timeout_secs(c->s);
	evtimer_add(c->ev_deadline, &tv);
}

static void
io_write(void *ctx, const void *data, size_t len)
{
	struct rconn *c = ctx;

	if (!c->closed)
		bufferevent_write(c->bev, data, len);
}

static void
io_close(void *ctx)
{
	struct rconn *c = ctx;

	rconn_finish(c, NULL);
}

/* Plaintext the server sent after its 220 is thrown away (as smtpd). */
static int
io_starttls(void *ctx)
{
	struct rconn *c = ctx;
	struct bufferevent *tls;
	const char *err;
	SSL *ssl;

	if (c->p.tls_ctx == NULL)
		return -1;
	ssl = tls_client_new(c->p.tls_ctx, c->p.host, c->p.tls_policy,
	    c->p.tlsa, c->p.ntlsa, &c->dane, &err);
	if (ssl == NULL)
		return -1;
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	tls = bufferevent_openssl_filter_new(c->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL) {
		SSL_free(ssl);
		return -1;
	}
	c->bev = tls;
	c->handshaking = true;
	bufferevent_setcb(tls, rconn_read, rconn_write, rconn_event, c);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	return 0;
}

/* The handshake ended: judge the certificate, tell the session. */
static void
rconn_tls_done(struct rconn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	struct tls_client_result r;

	c->handshaking = false;
	/* Implicit TLS: the connection is up only now. */
	c->connected = true;
	tls_client_check(ssl, c->p.tls_policy, c->dane, &r);
	c->tls.active = true;
	str_copy(c->tls.version, r.version, sizeof(c->tls.version));
	str_copy(c->tls.cipher, r.cipher, sizeof(c->tls.cipher));
	c->tls.dane = r.dane;
	if (!r.ok) {
		c->tls.failed = true;
		log_msg(LOG_NOTICE, NULL, NULL, "event=tls-refused peer=%s "
		    "reason=%s", c->p.peer, log_quote_err(r.reason));
		/* Not a byte more to this peer, whatever the session's
		 * state (implicit TLS waits for the banner). */
		smtpc_session_tls_done(c->s, false, r.version, r.cipher,
		    r.dane);
		rconn_finish(c, r.reason);
		return;
	}
	smtpc_session_tls_done(c->s, r.ok, r.version, r.cipher, r.dane);
	rconn_arm(c, true);
}

static void
rconn_read(struct bufferevent *bev, void *arg)
{
	struct rconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len, used;

	while (!c->closed && (len = evbuffer_get_length(in)) > 0) {
		const char *data = (const char *)evbuffer_pullup(in,
		    (ssize_t)(len < 16384 ? len : 16384));

		used = smtpc_session_input(c->s, data, len < 16384 ? len :
		    16384);
		evbuffer_drain(in, used);
		if (used == 0)
			break;
	}
	rconn_arm(c, false);
}

static void
rconn_write(struct bufferevent *bev, void *arg)
{
	struct rconn *c = arg;

	if (c->closed)
		return;
	if (evbuffer_get_length(bufferevent_get_output(bev)) <
	    RCONN_OUTPUT_HIGH && smtpc_session_wants_output(c->s))
		smtpc_session_output_drained(c->s);
	rconn_arm(c, false);
}

/* The handshake failed or took too long: never plaintext after it. */
static void
rconn_handshake_failed(struct rconn *c, const char *why)
{
	c->handshaking = false;
	c->tls.failed = true;
	smtpc_session_tls_done(c->s, false, NULL, NULL, NULL);
	rconn_finish(c, why);
}

/* The stage (or the connect, or implicit TLS's handshake) took too
 * long. */
static void
rconn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *c = arg;

	(void)fd;
	(void)what;
	if (c->closed)
		return;
	if (c->handshaking) {
		rconn_handshake_failed(c, "TLS handshake timed out");
		return;
	}
	if (!c->connected) {
		rconn_finish(c, "connection timed out");
		return;
	}
	smtpc_session_timeout(c->s);
	rconn_finish(c, "timed out");
}

static void
rconn_event(struct bufferevent *bev, short what, void *arg)
{
	struct rconn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->handshaking) {
			rconn_tls_done(c);
			return;
		}
		c->connected = true;
		rconn_arm(c, true);
		return;
	}
	if (c->handshaking) {
		rconn_handshake_failed(c, "TLS handshake failed");
		return;
	}
	if (!c->connected) {
		rconn_finish(c, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
		return;
	}
	smtpc_session_eof(c->s);
	rconn_finish(c, "connection lost");
}

static struct bufferevent *
rconn_bev(struct rconn *c, const char **error_r)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (!c->p.implicit_tls)
		return bufferevent_socket_new(c->base, -1,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if ((ssl = tls_client_new(c->p.tls_ctx, c->p.host, c->p.tls_policy,
	    c->p.tlsa, c->p.ntlsa, &c->dane, error_r)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL)
		SSL_free(ssl);
	c->handshaking = bev != NULL;
	return bev;
}

struct rconn *
rconn_open(struct event_base *base, const struct rconn_params *p,
    const struct rconn_callbacks *cb, uint64_t sid, const char **error_r)
{
	struct rconn *c = xcalloc(1, sizeof(*c));
	struct smtpc_io io;
	struct smtpc_callbacks scb;
	struct timeval tv = { 0, 0 };

	c->base = base;
	c->p = *p;
	c->host = xstrdup(p->host);
	c->peer = xstrdup(p->peer);
	c->p.host = c->host;
	c->p.peer = c->peer;
	c->p.smtpc.peer = c->peer;
	c->cb = *cb;
	c->tls.dane = "none";
	c->p.smtpc.tls = smtpc_policy(p->tls_policy);
	c->p.smtpc.tls_active = p->implicit_tls;
	c->ev_close = event_new(base, -1, 0, rconn_closed_cb, c);
	c->ev_deadline = evtimer_new(base, rconn_deadline, c);
	if ((c->bev = rconn_bev(c, error_r)) == NULL) {
		if (*error_r == NULL)
			*error_r = "cannot make a connection";
		rconn_free(&c);
		return NULL;
	}
	io = (struct smtpc_io){ c, io_write, io_starttls, io_close };
	scb = (struct smtpc_callbacks){ c, tramp_rcpt_done, tramp_msg_done };
	c->s = smtpc_session_new(&c->p.smtpc, &io, &scb, sid);
	bufferevent_setcb(c->bev, rconn_read, rconn_write, rconn_event, c);
	/* Implicit TLS: the handshake is part of connecting. */
	tv.tv_sec = p->connect_timeout + (p->implicit_tls ?
	    smtpc_session_timeout_secs(c->s) : 0);
	evtimer_add(c->ev_deadline, &tv);
	if (bufferevent_socket_connect(c->bev, p->sa, (int)p->salen) == -1) {
		*error_r = "connect failed";
		rconn_free(&c);
		return NULL;
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
}

/*
 * The session was made with the first owner's context: it calls the
 * trampolines below, which always go to the current owner.
 */
void
rconn_set_callbacks(struct rconn *c, const struct rconn_callbacks *cb)
{
	c->cb = *cb;
}

int
rconn_send(struct rconn *c, const struct smtpc_message *m)
{
	int rc;

	if (c->closed)
		return -1;
	rc = smtpc_session_next_message(c->s, m);
	rconn_arm(c, false);
	return rc;
}

void
rconn_quit(struct rconn *c)
{
	if (c->closed)
		return;
	smtpc_session_quit(c->s);
	rconn_arm(c, false);
}

bool
rconn_connected(const struct rconn *c)
{
	return c->connected;
}

bool
rconn_greeted(const struct rconn *c)
{
	return smtpc_session_greeted(c->s);
}

bool
rconn_reusable(const struct rconn *c)
{
	return !c->closed && smtpc_session_reusable(c->s);
}

bool
rconn_offers_dsn(const struct rconn *c)
{
	const struct smtpc_caps *caps = smtpc_session_caps(c->s);

	return caps != NULL && (caps->flags & SMTPC_CAP_DSN) != 0;
}

const struct rconn_tls *
rconn_tls(const struct rconn *c)
{
	return &c->tls;
}

void
rconn_free(struct rconn **cp)
{
	struct rconn *c = *cp;

	if (c == NULL)
		return;
	smtpc_session_free(&c->s);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->ev_close != NULL)
		event_free(c->ev_close);
	if (c->ev_deadline != NULL)
		event_free(c->ev_deadline);
	free(c->why);
	free(c->host);
	free(c->peer);
	free(c);
	*cp = NULL;
}
