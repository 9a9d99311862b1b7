/*
 * server: the SMTP worker's event loop: listeners, connections, TLS, and
 * the services sessions use. See server.h.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "auth.h"
#include "cidr.h"
#include "counters.h"
#include "db.h"
#include "db_directory.h"
#include "db_queue.h"
#include "facts.h"
#include "log.h"
#include "notify.h"
#include "password.h"
#include "qid.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "tls.h"
#include "tpool.h"
#include "writer.h"
#include "util.h"

#define CONN_HASH_SIZE		4096	/* buckets of the sid table */
#define INPUT_CHUNK		(64 * 1024)	/* pulled up per session call */
#define INPUT_HIGH_WATER	(256 * 1024)	/* stop reading beyond */
#define OUTPUT_HIGH_WATER	(256 * 1024)	/* client not reading replies */
#define CLOSE_FLUSH_SECS	10	/* to deliver the last reply */
#define HANDSHAKE_SECS		20	/* implicit TLS before the greeting */
#define ACCEPT_MARGIN		64	/* 421s beyond smtp_max_connections */
#define ACCEPT_PAUSE_SECS	1	/* out of descriptors: stop accepting */
#define RETIRE_MAX_SECS		3600	/* old generation's last sessions */
#define AUTH_POOL_THREADS	2
#define LOOP_BUSY_MS		50	/* directory reads on the event loop */
#define AUTH_POOL_QUEUE		256

struct worker;

struct conn {
	struct worker		*w;
	uint64_t		 sid;
	const struct smtpd_socket *sock;
	const char		*refusal;	/* 421 text, or NULL */
	struct bufferevent	*bev;
	struct smtpd_session	*session;
	struct smtpd_client	 client;
	bool			 starttls;	/* switch after this read */
	bool			 peer_closed;	/* EOF seen with work pending */
	bool			 closing;
	time_t			 close_deadline;
	struct event		*linger;	/* while closing */
	struct conn		*prev, *next;	/* all connections */
	struct conn		*hnext;		/* sid table chain */
};

/* What a listener's accept callback needs. */
struct listen_ctx {
	struct worker		*w;
	const struct smtpd_socket *sock;
	struct evconnlistener	*evl;
};

struct worker {
	const struct smtpd_worker_args *a;
	struct event_base	*base;
	struct listen_ctx	*listeners;
	struct event		*ev_term, *ev_retire, *ev_grace;
	struct smtpd_services	 svc;
	struct smtpd_env	 env;
	struct db		*directory;
	struct facts		 facts;		/* for the policy */
	struct counters		*counters;	/* shared by all workers */
	struct tpool		*pool;
	struct queue_writer	*writer;
	struct store		*store;		/* mail.db, for quotas */
	int			 wake_fd;	/* to wake the queue worker */
	char			*wake_path;
	struct event		*ev_wake;	/* one wake-up per loop pass */
	bool			 wake_pending;
	struct auth_throttle	*throttle_addr;
	struct auth_throttle	*throttle_user;
	struct qid_gen		 qid;
	char			*dummy_hash;	/* checked for unknown users */
	char			*spill_dir;
	uint64_t		 next_sid;
	struct conn		*conns;
	size_t			 nconns;
	size_t			 max_conns;
	struct conn		*table[CONN_HASH_SIZE];
	bool			 stopping;
};

static void conn_read(struct bufferevent *, void *);
static void conn_write(struct bufferevent *, void *);
static void conn_event(struct bufferevent *, short, void *);
static void conn_close(struct conn *c);

/* ---- the sid table: async results find their session by id ---------- */

static struct conn *
conn_find(struct worker *w, uint64_t sid)
{
	struct conn *c;

	for (c = w->table[sid % CONN_HASH_SIZE]; c != NULL; c = c->hnext)
		if (c->sid == sid)
			return c;
	return NULL;
}

static void
conn_link(struct worker *w, struct conn *c)
{
	struct conn **slot = &w->table[c->sid % CONN_HASH_SIZE];

	c->hnext = *slot;
	*slot = c;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
}

static void
conn_unlink(struct worker *w, struct conn *c)
{
	struct conn **pp = &w->table[c->sid % CONN_HASH_SIZE];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
}

static void
conn_free(struct conn *c)
{
	struct worker *w = c->w;

	conn_unlink(w, c);
	if (c->linger != NULL)
		event_free(c->linger);
	smtpd_session_free(&c->session);
	if (c->bev != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		/* Marked shut down, OpenSSL keeps the session resumable. */
		if (ssl != NULL)
			SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN |
			    SSL_RECEIVED_SHUTDOWN);
		bufferevent_free(c->bev);
	}
	free(c);
	if (w->stopping && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

static bool
conn_output_pending(struct conn *c)
{
	struct bufferevent *under;

	if (c->bev == NULL)
		return false;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return true;
	/* A TLS filter hands its bytes on to the socket's bufferevent. */
	under = bufferevent_get_underlying(c->bev);
	return under != NULL &&
	    evbuffer_get_length(bufferevent_get_output(under)) > 0;
}

/* Closing: wait (bounded) until the last reply has left, then free. */
static void
conn_linger(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct timeval again = { 0, 20000 };

	(void)fd;
	(void)what;
	if (!conn_output_pending(c) || time(NULL) >= c->close_deadline) {
		conn_free(c);
		return;
	}
	evtimer_add(c->linger, &again);
}

/*
 * Never frees at once: the caller may be a session callback that goes on
 * using the session. The linger timer frees it from the event loop.
 */
static void
conn_close(struct conn *c)
{
	struct timeval now = { 0, 0 };

	if (c->closing)
		return;
	c->closing = true;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ);
	c->close_deadline = time(NULL) + CLOSE_FLUSH_SECS;
	c->linger = evtimer_new(c->w->base, conn_linger, c);
	evtimer_add(c->linger, &now);
}

/* ---- the session's I/O -------------------------------------------------- */

static void
io_write(void *ctx, const void *data, size_t len)
{
	struct conn *c = ctx;

	if (c->bev != NULL && !c->closing)
		bufferevent_write(c->bev, data, len);
}

static int
io_starttls(void *ctx)
{
	struct conn *c = ctx;

	if (c->w->a->tls == NULL)
		return -1;
	c->starttls = true;
	return 0;
}

static void
io_close(void *ctx)
{
	conn_close(ctx);
}

static void
io_resume(void *ctx)
{
	struct conn *c = ctx;

	if (!c->closing)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
}

static void
conn_set_timeout(struct conn *c)
{
	struct timeval tv = { 0, 0 };

	if (c->session != NULL)
		tv.tv_sec = smtpd_session_timeout_secs(c->session);
	else
		tv.tv_sec = HANDSHAKE_SECS;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

/* Plaintext that followed STARTTLS is dropped (CVE-2011-0411). */
static void
conn_start_tls(struct conn *c)
{
	struct bufferevent *tls;
	SSL *ssl;

	c->starttls = false;
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	if ((ssl = SSL_new(c->w->a->tls)) == NULL ||
	    (tls = bufferevent_openssl_filter_new(c->w->base, c->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		if (ssl != NULL)
			SSL_free(ssl);
		log_msg(LOG_ERR, NULL, NULL, "event=starttls-setup-failed");
		conn_close(c);
		return;
	}
	c->bev = tls;
	bufferevent_setcb(tls, conn_read, conn_write, conn_event, c);
	bufferevent_setwatermark(tls, EV_READ, 0, INPUT_HIGH_WATER);
	/* The filter stops encrypting into a socket buffer this full. */
	bufferevent_setwatermark(bufferevent_get_underlying(tls), EV_WRITE, 0,
	    OUTPUT_HIGH_WATER);
	conn_set_timeout(c);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

/* Replies not yet on the wire: the TLS filter's and the socket's. */
static size_t
conn_output_size(struct conn *c)
{
	struct bufferevent *under = bufferevent_get_underlying(c->bev);
	size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/*
 * Feed buffered input to the session until it pauses, runs out, or the
 * client stops reading its replies (then reading stops too, so neither
 * buffer grows: conn_write resumes).
 */
static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len, n, used;

	while (!c->closing && (len = evbuffer_get_length(in)) > 0 &&
	    !smtpd_session_paused(c->session)) {
		if (conn_output_size(c) > OUTPUT_HIGH_WATER) {
			bufferevent_disable(c->bev, EV_READ);
			break;
		}
		n = len < INPUT_CHUNK ? len : INPUT_CHUNK;
		used = smtpd_session_input(c->session,
		    (const char *)evbuffer_pullup(in, (ssize_t)n), n);
		evbuffer_drain(in, used);
		if (used == 0)
			break;
	}
	if (c->closing)
		return;
	if (c->starttls)
		conn_start_tls(c);
	else if (c->peer_closed && !smtpd_session_paused(c->session)) {
		/* The client half-closed: its replies are out, now close. */
		smtpd_session_eof(c->session);
		conn_close(c);
		return;
	}
	conn_set_timeout(c);
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->closing || c->peer_closed ||
	    (bufferevent_get_enabled(c->bev) & EV_READ) ||
	    conn_output_size(c) > OUTPUT_HIGH_WATER / 2)
		return;
	bufferevent_enable(c->bev, EV_READ);
	/* Input may be waiting in the buffer already. */
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
	    BEV_TRIG_DEFER_CALLBACKS);
}

static void
conn_tls_established(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	char version[TLS_VERSION_SIZE], cipher[TLS_CIPHER_SIZE];

	tls_session_info(ssl, version, sizeof(version), cipher,
	    sizeof(cipher));
	if (c->session != NULL) {
		smtpd_session_tls_done(c->session, true, version, cipher);
		return;
	}
	/* Implicit TLS: the session starts once the handshake is done. */
	c->client.tls = true;
	str_copy(c->client.tls_version, version, sizeof(c->client.tls_version));
	str_copy(c->client.tls_cipher, cipher, sizeof(c->client.tls_cipher));
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	c->session = smtpd_session_new(&c->w->env, c->sock->listener,
	    &c->client, &(struct smtpd_io){ c, io_write, io_starttls,
	    io_close, io_resume }, c->sid);
	smtpd_session_start(c->session, c->refusal);
	conn_set_timeout(c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char err[256];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		conn_tls_established(c);
		return;
	}
	if (c->closing) {
		conn_free(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->session != NULL) {
		smtpd_session_timeout(c->session);
		conn_set_timeout(c);	/* a commit in progress waits on */
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->session != NULL &&
	    (smtpd_session_paused(c->session) ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)) {
		/* Half-close: answer what was sent, then close (conn_read). */
		c->peer_closed = true;
		bufferevent_disable(c->bev, EV_READ);
		io_resume(c);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && bufferevent_openssl_get_ssl(c->bev))
		log_msg(LOG_NOTICE, NULL, NULL,
		    "event=tls-error client=%s error=%s", c->client.addr,
		    log_quote_err(tls_error_string(err, sizeof(err))));
	if (c->session != NULL)
		smtpd_session_eof(c->session);
	conn_free(c);
}

/* ---- accepting ------------------------------------------------------------- */

static void
client_from_sockaddr(struct smtpd_client *cl, const struct sockaddr *sa)
{
	memset(cl, 0, sizeof(*cl));
	str_copy(cl->name, "unknown", sizeof(cl->name));
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		memcpy(&cl->sa, sa, sa->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, cl->addr, sizeof(cl->addr));
		cl->port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12],
			    cl->addr, sizeof(cl->addr));
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, cl->addr,
			    sizeof(cl->addr));
		cl->port = ntohs(in6->sin6_port);
	} else
		str_copy(cl->name, "localhost", sizeof(cl->name));
	/* Throttles count per /32 or /64: an IPv6 client owns a /64. */
	if (cidr_prefix_key(sa, 32, 64, cl->net, sizeof(cl->net)) == -1)
		cl->net[0] = '\0';
}

/* A reason to refuse this connection at once, or NULL. */
static const char *
conn_refusal(struct worker *w, const struct smtpd_client *cl)
{
	size_t same = 0;

	if (w->nconns >= w->max_conns)
		return "Too many connections, try again later";
	if (cl->addr[0] == '\0')
		return NULL;
	for (struct conn *c = w->conns; c != NULL; c = c->next)
		if (strcmp(c->client.addr, cl->addr) == 0)
			same++;
	if (same >= (size_t)w->a->cfg->smtp_max_connections_per_ip)
		return "Too many connections from your address";
	return NULL;
}

static void
conn_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listen_ctx *lc = arg;
	struct worker *w = lc->w;
	const struct listener *li = lc->sock->listener;
	const char *refusal;
	struct conn *c;
	SSL *ssl;

	(void)l;
	(void)salen;
	c = xcalloc(1, sizeof(*c));
	c->w = w;
	c->sid = ++w->next_sid;
	c->sock = lc->sock;
	client_from_sockaddr(&c->client, sa);
	refusal = c->refusal = conn_refusal(w, &c->client);
	/* Past the limit plus a margin for 421s, or a TLS listener over the
	 * limit: close at once rather than spend a handshake or a slot. */
	if (refusal != NULL && (w->nconns >= w->max_conns + ACCEPT_MARGIN ||
	    (listener_role_is_implicit_tls(li->role) &&
	    w->nconns >= w->max_conns))) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	if (listener_role_is_implicit_tls(li->role)) {
		if (w->a->tls == NULL || (ssl = SSL_new(w->a->tls)) == NULL) {
			evutil_closesocket(fd);
			free(c);
			return;
		}
		c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
	} else
		c->bev = bufferevent_socket_new(w->base, fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	conn_link(w, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, INPUT_HIGH_WATER);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	conn_set_timeout(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (listener_role_is_implicit_tls(li->role))
		return;		/* the session starts after the handshake */
	c->session = smtpd_session_new(&w->env, li, &c->client,
	    &(struct smtpd_io){ c, io_write, io_starttls, io_close,
	    io_resume }, c->sid);
	conn_set_timeout(c);
	smtpd_session_start(c->session, refusal);
}

/* ---- services: directory, passwords, queue ---------------------------------- */

/* ---- the policy: decisions and counted events ------------------------ */

/* The event each stage stands for, counted as it is decided. */
static const int stage_event[POLICY_STAGE_COUNT] = {
	[POLICY_CONNECT] = POLICY_EV_CONNECTION,
	[POLICY_MAIL] = POLICY_EV_MESSAGE,
	[POLICY_RCPT] = POLICY_EV_RECIPIENT,
	[POLICY_DATA] = -1,
};

static void
svc_policy(void *impl, const struct policy_input *in,
    struct policy_decision *d)
{
	struct worker *w = impl;
	int ev = stage_event[in->stage];

	if (ev >= 0)
		facts_decide_event(&w->facts, w->a->policy, ev, in, time(NULL),
		    d);
	else
		facts_decide(&w->facts, w->a->policy, in, time(NULL), d);
}

static void
svc_count(void *impl, enum policy_event ev, const struct policy_input *in)
{
	struct worker *w = impl;

	facts_count(&w->facts, w->a->policy, ev, in, time(NULL));
}

struct auth_job {
	struct worker	*w;
	uint64_t	 sid;
	bool		 known;		/* an enabled user: the hash is real */
	bool		 ok;
	char		*hash;
	char		*password;
};

static void
auth_work(void *arg)
{
	struct auth_job *j = arg;

	/* Unknown users cost a full hash too: no enumeration by timing. */
	j->ok = password_verify(j->password, j->hash) == 1 && j->known;
	mem_wipe(j->password, strlen(j->password));
}

static void
auth_done(void *arg)
{
	struct auth_job *j = arg;
	struct conn *c = conn_find(j->w, j->sid);

	if (c != NULL && c->session != NULL && !c->closing)
		smtpd_session_auth_done(c->session, j->ok);
	free(j->hash);
	free(j->password);
	free(j);
}

static int
svc_auth_start(void *impl, uint64_t sid, const char *user,
    const char *password)
{
	struct worker *w = impl;
	struct auth_job *j = xcalloc(1, sizeof(*j));
	char login[ADDR_TEXT_MAX + 1];
	struct dir_user u;
	const char *err;
	int rc;

	str_copy(login, user, sizeof(login));
	for (char *p = login; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	j->w = w;
	j->sid = sid;
	j->password = xstrdup(password);
	rc = directory_user_get(w->directory, login, &u, &err);
	if (rc == DIR_ERR) {
		/* Not the client's fault: 454, and no throttle counts it. */
		log_msg(LOG_ERR, NULL, NULL, "event=directory-error "
		    "error=%s", log_quote_err(err));
		mem_wipe(j->password, strlen(j->password));
		free(j->password);
		free(j);
		return -1;
	}
	if (rc == DIR_OK && u.enabled) {
		j->known = true;
		j->hash = xstrdup(u.password);
	} else
		j->hash = xstrdup(w->dummy_hash);
	dir_user_clear(&u);
	if (tpool_submit(w->pool, auth_work, auth_done, j) == -1) {
		mem_wipe(j->password, strlen(j->password));
		free(j->password);
		free(j->hash);
		free(j);
		return -1;
	}
	return 0;
}

struct queue_job {
	struct worker	*w;
	uint64_t	 sid;
};

/* Mail was committed: the queue worker should look at once. */
static void
queue_wake(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	w->wake_pending = false;
	(void)notify_send(w->wake_fd, w->wake_path, "w", 1);
}

static void
queue_done(void *arg, int result, const char *error)
{
	struct queue_job *j = arg;
	struct conn *c = conn_find(j->w, j->sid);

	if (result == 0 && !j->w->wake_pending) {
		j->w->wake_pending = true;
		event_active(j->w->ev_wake, EV_TIMEOUT, 0);
	}

	if (c != NULL && c->session != NULL && !c->closing)
		smtpd_session_queue_done(c->session, result == 0, error);
	free(j);
}

static int
svc_queue_submit(void *impl, uint64_t sid, struct queue_msg *m)
{
	struct worker *w = impl;
	struct queue_job *j = xmalloc(sizeof(*j));

	j->w = w;
	j->sid = sid;
	if (queue_writer_submit(w->writer, m, queue_done, j) == -1) {
		free(j);
		return -1;
	}
	return 0;
}

static void
svc_qid_next(void *impl, char out[QID_LEN + 1])
{
	qid_next(&((struct worker *)impl)->qid, out);
}

/* Over quota: usage at the quota, or no room for an announced size. */
static bool
svc_quota_full(void *impl, const char *address, uint64_t size)
{
	struct worker *w = impl;
	char base[ADDR_TEXT_MAX + 1], *path;
	uint64_t used = 0;
	struct dir_user u;
	const char *e;
	int rc;

	if ((rc = directory_user_get(w->directory, address, &u, &e)) ==
	    DIR_NOTFOUND && addr_strip_detail(w->a->cfg->recipient_delimiter,
	    address, base, sizeof(base)))
		rc = directory_user_get(w->directory, base, &u, &e);
	if (rc != DIR_OK)
		return false;
	if (u.quota > 0 && w->store == NULL) {
		path = xasprintf("%s/mail.db", w->a->cfg->state_dir);
		if (store_open(path, STORE_READONLY, &w->store, &e) != STORE_OK)
			log_msg(LOG_ERR, NULL, NULL, "event=store-error error=%s",
			    log_quote_err(e));
		free(path);
	}
	/* Unknown usage: accept, delivery checks again. */
	if (u.quota > 0 && w->store != NULL && store_user_usage(w->store,
	    u.address, &used, &e) != STORE_OK)
		used = 0;
	rc = u.quota > 0 && (used >= (uint64_t)u.quota ||
	    (size > 0 && used + size > (uint64_t)u.quota));
	dir_user_clear(&u);
	return rc;
}

static time_t
svc_now(void *impl)
{
	(void)impl;
	return time(NULL);
}

/* ---- start and stop ------------------------------------------------------------- */

static void
worker_grace_over(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	for (struct conn *c = w->conns; c != NULL; c = c->next)
		if (c->session != NULL && !c->closing)
			smtpd_session_abort(c->session);
	event_base_loopexit(w->base, &(struct timeval){ CLOSE_FLUSH_SECS, 0 });
}

/* Stop accepting; exit once the last connection is gone, or at secs. */
static void
worker_quiesce(struct worker *w, int secs)
{
	struct timeval limit = { secs, 0 };

	if (!w->stopping)
		for (size_t i = 0; i < w->a->nsockets; i++)
			evconnlistener_disable(w->listeners[i].evl);
	w->stopping = true;
	if (w->nconns == 0) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	if (w->ev_grace == NULL)
		w->ev_grace = evtimer_new(w->base, worker_grace_over, w);
	evtimer_add(w->ev_grace, &limit);
}

/*
 * SIGTERM: the daemon stops. Idle sessions get 421 now; transactions may
 * finish within the grace period.
 */
static void
worker_stop(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	(void)sig;
	(void)what;
	log_msg(LOG_INFO, NULL, NULL, "event=worker-stopping worker=%u "
	    "sessions=%zu", w->a->index, w->nconns);
	for (struct conn *c = w->conns; c != NULL; c = c->next)
		if (c->session != NULL && !c->closing)
			smtpd_session_shutdown(c->session);
		else if (c->session == NULL)
			conn_close(c);
	worker_quiesce(w, w->a->grace_secs);
}

/*
 * SIGUSR1: a reload replaced this worker. Its sessions go on undisturbed
 * until they end (their timeouts bound them); new connections go to the
 * new generation.
 */
static void
worker_retire(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	(void)sig;
	(void)what;
	if (w->stopping)
		return;
	log_msg(LOG_INFO, NULL, NULL, "event=worker-retiring worker=%u "
	    "sessions=%zu", w->a->index, w->nconns);
	worker_quiesce(w, RETIRE_MAX_SECS);
}

static int
worker_open(struct worker *w, const char **error_r)
{
	const struct config *cfg = w->a->cfg;
	char *path;
	int rc;

	path = xasprintf("%s/directory.db", cfg->state_dir);
	rc = db_open(path, "directory", DB_READONLY, &w->directory, error_r);
	free(path);
	if (rc == -1)
		return -1;
	/* Reads on the event loop never wait long for a lock: 451 instead. */
	db_set_busy_timeout(w->directory, LOOP_BUSY_MS);
	/* The master's state check made the file; every worker maps it. */
	path = xasprintf("%s/counters", cfg->run_dir);
	w->counters = counters_open(path, false, error_r);
	free(path);
	if (w->counters == NULL)
		return -1;
	w->facts = (struct facts){ .directory = w->directory,
	    .counters = w->counters, .delimiter = cfg->recipient_delimiter };
	path = xasprintf("%s/queue.db", cfg->state_dir);
	w->writer = queue_writer_new(w->base, path, NULL, error_r);
	free(path);
	if (w->writer == NULL)
		return -1;
	w->wake_fd = notify_sender();
	w->wake_path = xasprintf("%s/queue.wake", cfg->run_dir);
	w->ev_wake = event_new(w->base, -1, 0, queue_wake, w);
	if ((w->pool = tpool_new(w->base, AUTH_POOL_THREADS,
	    AUTH_POOL_QUEUE)) == NULL) {
		*error_r = "cannot start the password thread pool";
		return -1;
	}
	w->throttle_addr = auth_throttle_new(AUTH_THROTTLE_CAPACITY,
	    CIDR_TEXT_SIZE, (unsigned)cfg->auth_max_failures,
	    cfg->auth_failure_window);
	w->throttle_user = auth_throttle_new(AUTH_THROTTLE_CAPACITY,
	    AUTH_LOGIN_MAX, (unsigned)cfg->auth_max_failures,
	    cfg->auth_failure_window);
	/* Any valid hash of the configured scheme: unknown users get the
	 * same work as known ones. */
	w->dummy_hash = password_hash("sluice-dummy-password",
	    config_password_scheme_name(cfg->password_scheme),
	    (unsigned long)cfg->password_cost, error_r);
	return w->dummy_hash == NULL ? -1 : 0;
}

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (w->stopping)
		return;
	for (size_t i = 0; i < w->a->nsockets; i++)
		evconnlistener_enable(w->listeners[i].evl);
}

/* accept() failed (EMFILE, ENFILE...): pause instead of spinning. */
static void
accept_error(struct evconnlistener *l, void *arg)
{
	struct listen_ctx *lc = arg;
	struct worker *w = lc->w;
	struct timeval pause = { ACCEPT_PAUSE_SECS, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	(void)l;
	log_msg(LOG_WARNING, NULL, NULL, "event=accept-failed error=%s "
	    "sessions=%zu", log_quote_err(evutil_socket_error_to_string(err)),
	    w->nconns);
	for (size_t i = 0; i < w->a->nsockets; i++)
		evconnlistener_disable(w->listeners[i].evl);
	event_base_once(w->base, -1, EV_TIMEOUT, accept_resume, w, &pause);
}

static int
worker_listen(struct worker *w)
{
	w->listeners = xcalloc(w->a->nsockets, sizeof(*w->listeners));
	for (size_t i = 0; i < w->a->nsockets; i++) {
		struct listen_ctx *lc = &w->listeners[i];

		lc->w = w;
		lc->sock = &w->a->sockets[i];
		/* Backlog 0: the master already listen()ed with its own. */
		lc->evl = evconnlistener_new(w->base, conn_accept, lc,
		    LEV_OPT_CLOSE_ON_FREE, 0, lc->sock->fd);
		if (lc->evl == NULL)
			return -1;
		evconnlistener_set_error_cb(lc->evl, accept_error);
	}
	return 0;
}

static void
worker_free(struct worker *w)
{
	while (w->conns != NULL)
		conn_free(w->conns);
	if (w->listeners != NULL)
		for (size_t i = 0; i < w->a->nsockets; i++)
			if (w->listeners[i].evl != NULL)
				evconnlistener_free(w->listeners[i].evl);
	free(w->listeners);
	queue_writer_destroy(&w->writer);
	if (w->ev_wake != NULL)
		event_free(w->ev_wake);
	if (w->wake_fd != -1)
		close(w->wake_fd);
	free(w->wake_path);
	tpool_destroy(&w->pool);
	auth_throttle_destroy(&w->throttle_addr);
	auth_throttle_destroy(&w->throttle_user);
	db_close(&w->directory);
	store_close(&w->store);
	counters_close(&w->counters);
	free(w->dummy_hash);
	free(w->spill_dir);
	if (w->ev_term != NULL)
		event_free(w->ev_term);
	if (w->ev_retire != NULL)
		event_free(w->ev_retire);
	if (w->ev_grace != NULL)
		event_free(w->ev_grace);
	if (w->base != NULL)
		event_base_free(w->base);
}

int
smtpd_worker_run(const struct smtpd_worker_args *a)
{
	struct worker w = { .a = a, .wake_fd = -1 };
	const char *err = NULL;
	sigset_t mask;
	size_t per_worker;

	per_worker = ((size_t)a->cfg->smtp_max_connections + a->nworkers - 1) /
	    (a->nworkers ? a->nworkers : 1);
	w.max_conns = per_worker;
	w.spill_dir = xasprintf("%s/tmp", a->cfg->state_dir);
	qid_gen_init(&w.qid, a->index);
	/* Session ids are unique across workers too: logs mix them. */
	w.next_sid = (uint64_t)a->index << 32;
	w.svc = (struct smtpd_services){ &w, svc_policy, svc_count,
	    svc_auth_start, svc_queue_submit, svc_qid_next, svc_now,
	    svc_quota_full };
	signal(SIGPIPE, SIG_IGN);
	if ((w.base = event_base_new()) == NULL || worker_open(&w, &err) == -1 ||
	    worker_listen(&w) == -1) {
		log_msg(LOG_ERR, NULL, NULL, "event=worker-failed worker=%u "
		    "error=%s", a->index, log_quote_err(err ? err : "libevent"));
		worker_free(&w);
		return 1;
	}
	w.env = (struct smtpd_env){ a->cfg, &w.svc, a->tls != NULL,
	    w.spill_dir, w.throttle_addr, w.throttle_user };
	w.ev_term = evsignal_new(w.base, SIGTERM, worker_stop, &w);
	w.ev_retire = evsignal_new(w.base, SIGUSR1, worker_retire, &w);
	event_add(w.ev_term, NULL);
	event_add(w.ev_retire, NULL);
	/* The master forks with signals blocked; they may come in now. */
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	log_msg(LOG_INFO, NULL, NULL, "event=worker-started worker=%u pid=%d",
	    a->index, (int)getpid());
	event_base_dispatch(w.base);
	/* Stopping anyway: a late SIGTERM must not kill the clean-up (and
	 * freeing the signal events restores the default action). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	log_msg(LOG_INFO, NULL, NULL, "event=worker-stopped worker=%u",
	    a->index);
	worker_free(&w);
	return 0;
}
