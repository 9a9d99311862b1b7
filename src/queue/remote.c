/* remote: see remote.h. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ifaddrs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <event2/event.h>

#include "addr.h"
#include "db.h"
#include "dns.h"
#include "log.h"
#include "rconn.h"
#include "relay.h"
#include "remote.h"
#include "rpool.h"
#include "tls_client.h"
#include "util.h"

#define HOSTS_MAX	32	/* MX hosts looked at per job */
#define ADDRS_MAX	16	/* addresses kept per host */
#define BODY_WINDOW	(256 * 1024)	/* body octets read at a time */

struct remote {
	struct event_base	*base;
	const struct config	*cfg;
	struct dns_resolver	*dns;
	SSL_CTX			*tls;
	struct db		*queue;		/* reads on the loop */
	remote_record_fn	*record;
	void			*arg;
	struct remote_creds	*creds;		/* owned */
	struct sockaddr_storage	*ours;		/* our interface addresses */
	size_t			 nours;
	struct remote_job_state	*jobs;		/* under way */
	size_t			 njobs;
	struct rpool		*pool;		/* connections kept */
	uint64_t		 next_sid;
};

/* An MX host (or the relay) and, once looked up, its addresses. */
struct host {
	char			*name;
	int			 pref;
	bool			 resolved;
	bool			 secure;	/* addresses from a secure
						   answer: TLSA applies */
	char			*canonical;	/* TLSA's base name */
	struct dns_addr		*addrs;
	size_t			 naddrs;
};

/* The message body, read from queue.db a window at a time. */
struct body_reader {
	struct db		*db;
	const char		*qid;
	int64_t			 row;
	uint64_t		 size;
	uint8_t			*win;
	uint64_t		 win_off;
	size_t			 win_len;
};

struct remote_job_state {
	struct remote_job	*job;
	struct remote_job_state	*next;
	const struct relay	*relay;
	const struct remote_cred *cred;
	struct host		 hosts[HOSTS_MAX];
	size_t			 nhosts;
	size_t			 ri;		/* next host to look up */
	size_t			 hi, ai;	/* host and address tried */
	size_t			 tlsa_for;	/* hi + 1 once its TLSA known */
	bool			 mx_secure;
	const char		*dnssec;	/* of the MX (or host) answer */
	struct tls_tlsa		*tlsa;
	uint8_t			**tlsa_data;	/* owned, tlsa[i].data */
	size_t			 ntlsa;
	bool			 tlsa_unusable;	/* secure, none usable */
	unsigned		 sessions;	/* past EHLO, this attempt */
	uint64_t		 dns_id;
	struct rconn		*conn;
	struct event		*ev_free;	/* frees conn outside its cb */
	struct event		*ev_deadline;	/* smtp_client_job_timeout */
	struct body_reader	 body;
	struct smtpc_message	 msg;
	struct smtpc_rcpt	*srcpts;
	size_t			*map;		/* msg rcpt -> job rcpt */
	bool			*accepted;	/* by RCPT, pending DATA */
	bool			*toomany;	/* 452 to RCPT: again at once */
	char			 peer[300];
	char			 ip[DNS_ADDR_TEXT_MAX];
	char			 last[512];	/* the last failure */
	const char		*last_status;
	struct timespec		 t0;
	char			**strs;		/* kept for the verdicts */
	size_t			 nstrs;
	/* The last connection, for recipients its failure settles. */
	const char		*last_mx, *last_ip, *last_dane;
	const char		*last_tls_version, *last_tls_cipher;
	int			 last_port;
	bool			 reused;	/* on a kept connection */
	bool			 conn_noted;	/* its failure is in last */
	bool			 host_tls_failed;	/* a handshake with
						   this host failed */
};

static void job_resolve_next(struct remote_job_state *);
static void job_next_addr(struct remote_job_state *);
static void job_finish(struct remote_job_state *);
static void job_resolve(struct remote_job_state *);
static const char *job_str(struct remote_job_state *, const char *);

/* ---- verdicts -------------------------------------------------------- */

static bool
settled(const struct remote_job *j, size_t i)
{
	return j->v[i].result != NULL;
}

static size_t
unsettled(const struct remote_job *j)
{
	size_t n = 0;

	for (size_t i = 0; i < j->n; i++)
		n += !settled(j, i);
	return n;
}

/* Settle every open recipient alike. */
static void
settle_all(struct remote_job_state *st, const char *result,
    const char *status, const char *why)
{
	for (size_t i = 0; i < st->job->n; i++) {
		struct verdict *v = &st->job->v[i];

		if (settled(st->job, i))
			continue;
		verdict_set(v, result, status, "%s", why);
		v->mx = st->last_mx;
		v->ip = st->last_ip;
		v->port = st->last_port;
		v->dane = st->last_dane;
		v->tls_version = st->last_tls_version;
		v->tls_cipher = st->last_tls_cipher;
	}
}

static void job_fail(struct remote_job_state *, const char *, const char *,
    ...) PRINTF_LIKE(3, 4);
static void note_failure(struct remote_job_state *, const char *,
    const char *, ...) PRINTF_LIKE(3, 4);

static void
job_fail(struct remote_job_state *st, const char *status, const char *fmt,
    ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	settle_all(st, status[0] == '5' ? "failed" : "deferred", status, why);
	job_finish(st);
}

/* A step failed for this host or address: remember why, go on. */
static void
note_failure(struct remote_job_state *st, const char *status,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->last, sizeof(st->last), fmt, ap);
	va_end(ap);
	st->last_status = status;
}

/* ---- DNS ------------------------------------------------------------- */

static void
tlsa_clear(struct remote_job_state *st)
{
	for (size_t i = 0; i < st->ntlsa; i++)
		free(st->tlsa_data[i]);
	free(st->tlsa);
	free(st->tlsa_data);
	st->tlsa = NULL;
	st->tlsa_data = NULL;
	st->tlsa_unusable = false;
	st->ntlsa = 0;
}

static void
hosts_clear(struct remote_job_state *st, size_t from)
{
	for (size_t i = from; i < st->nhosts; i++) {
		free(st->hosts[i].name);
		free(st->hosts[i].canonical);
		free(st->hosts[i].addrs);
		memset(&st->hosts[i], 0, sizeof(st->hosts[i]));
	}
	if (st->nhosts > from)
		st->nhosts = from;
}

static void
host_add(struct remote_job_state *st, const char *name, int pref)
{
	struct host *h = &st->hosts[st->nhosts++];

	memset(h, 0, sizeof(*h));
	h->name = xstrdup(name);
	h->pref = pref;
}

static void
on_tlsa(const struct dns_tlsa_result *res, void *arg)
{
	struct remote_job_state *st = arg;

	st->dns_id = 0;
	if (res->sec == DNS_SEC_BOGUS || res->status == DNS_R_TEMPFAIL) {
		/* RFC 7672 2.2: no delivery to this host without knowing. */
		note_failure(st, "4.7.5", "TLSA lookup for %s failed: %s",
		    res->qname, res->reason ? res->reason : "?");
		st->ai = st->hosts[st->hi].naddrs;
		job_next_addr(st);
		return;
	}
	if (res->sec == DNS_SEC_SECURE && res->status == DNS_R_OK) {
		st->tlsa = xcalloc(res->ntlsa + 1, sizeof(*st->tlsa));
		st->tlsa_data = xcalloc(res->ntlsa + 1,
		    sizeof(*st->tlsa_data));
		for (size_t i = 0; i < res->ntlsa; i++) {
			uint8_t *d;

			if (!dns_tlsa_usable(&res->tlsa[i]))
				continue;	/* RFC 7672 3.1.3 */
			d = xmalloc(res->tlsa[i].len + 1);
			memcpy(d, res->tlsa[i].data, res->tlsa[i].len);
			st->tlsa_data[st->ntlsa] = d;
			st->tlsa[st->ntlsa++] = (struct tls_tlsa){
			    res->tlsa[i].usage, res->tlsa[i].selector,
			    res->tlsa[i].mtype, d, res->tlsa[i].len };
		}
		/* RFC 7672 2.2: TLS still required, unauthenticated. */
		st->tlsa_unusable = res->ntlsa > 0 && st->ntlsa == 0;
	}
	job_next_addr(st);
}

static void
on_addrs(const struct dns_addrs_result *res, void *arg)
{
	struct remote_job_state *st = arg;
	struct host *h = &st->hosts[st->ri++];

	st->dns_id = 0;
	h->resolved = true;
	if (st->relay != NULL)
		st->dnssec = dns_sec_name(res->sec);
	if (res->sec == DNS_SEC_BOGUS || res->status != DNS_R_OK)
		note_failure(st, res->sec == DNS_SEC_BOGUS ? "4.7.5" : "4.4.3",
		    "no address for %s: %s", res->host, res->reason ?
		    res->reason : dns_status_name(res->status));
	else {
		h->naddrs = res->naddrs < ADDRS_MAX ? res->naddrs : ADDRS_MAX;
		h->addrs = xreallocarray(NULL, h->naddrs, sizeof(*h->addrs));
		memcpy(h->addrs, res->addrs, h->naddrs * sizeof(*h->addrs));
		h->secure = res->sec == DNS_SEC_SECURE;
		h->canonical = xstrdup(res->canonical);
	}
	job_resolve_next(st);
}

static size_t
addrs_before(const struct remote_job_state *st, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += st->hosts[i].naddrs;
	return total;
}

/* Is a:port one of our own SMTP listeners (a loop)? */
static bool
addr_is_ours(const struct remote *r, const struct dns_addr *a, int port)
{
	const struct config *cfg = r->cfg;

	for (size_t i = 0; i < cfg->listen.n; i++) {
		const struct listener *l = &cfg->listen.v[i];

		if (!listener_role_is_smtp(l->role) || l->port != port)
			continue;
		if (l->family == AF_UNSPEC)
			for (size_t k = 0; k < r->nours; k++) {
				if (r->ours[k].ss_family == AF_INET &&
				    a->family == AF_INET && memcmp(&((struct
				    sockaddr_in *)&r->ours[k])->sin_addr,
				    &a->u.v4, 4) == 0)
					return true;
				if (r->ours[k].ss_family == AF_INET6 &&
				    a->family == AF_INET6 && memcmp(&((struct
				    sockaddr_in6 *)&r->ours[k])->sin6_addr,
				    &a->u.v6, 16) == 0)
					return true;
			}
		else if (l->family == AF_INET && a->family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)&l->addr)->sin_addr,
		    &a->u.v4, 4) == 0)
			return true;
		else if (l->family == AF_INET6 && a->family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)&l->addr)->sin6_addr,
		    &a->u.v6, 16) == 0)
			return true;
	}
	return false;
}

static int
job_port(const struct remote_job_state *st)
{
	return st->relay != NULL ? st->relay->port :
	    st->job->r->cfg->remote_port;
}

static bool
host_is_ours(const struct remote_job_state *st, const struct host *h)
{
	for (size_t i = 0; i < h->naddrs; i++)
		if (addr_is_ours(st->job->r, &h->addrs[i], job_port(st)))
			return true;
	return false;
}

/*
 * Every host looked up: drop what RFC 5321 5.1 says to drop, then try.
 * An MX host that is us at preference P leaves only the hosts preferred
 * to P (we are a backup MX: they are the way on); none left means we
 * are the best MX and the mail has nowhere to go: a loop, 5.4.6. Then
 * at most smtp_client_address_limit addresses in all.
 */
static void
job_plan(struct remote_job_state *st)
{
	size_t limit = (size_t)st->job->r->cfg->smtp_client_address_limit;
	size_t keep = st->nhosts, total = 0;

	for (size_t i = 0; i < st->nhosts; i++)
		if (host_is_ours(st, &st->hosts[i])) {
			keep = 0;
			while (keep < i &&
			    st->hosts[keep].pref < st->hosts[i].pref)
				keep++;
			if (keep == 0) {
				job_fail(st, "5.4.6", "mail for %s loops back "
				    "to myself", st->job->dest);
				return;
			}
			log_msg(LOG_INFO, NULL, st->job->env.id, "event=backup-mx "
			    "dest=%s mx=%s pref=%d note=\"only more preferred "
			    "hosts are tried\"", st->job->dest,
			    st->hosts[i].name, st->hosts[i].pref);
			break;
		}
	hosts_clear(st, keep);
	for (size_t i = 0; i < st->nhosts; i++) {
		struct host *h = &st->hosts[i];

		if (total + h->naddrs >= limit) {
			h->naddrs = limit - total;
			hosts_clear(st, i + 1);
			break;
		}
		total += h->naddrs;
	}
	st->hi = st->ai = st->tlsa_for = 0;
	job_next_addr(st);
}

/*
 * Look the hosts up in order, until every one is known or the address
 * limit is reached with the next host less preferred (a host of the
 * same preference may still be us, and must be known).
 */
static void
job_resolve_next(struct remote_job_state *st)
{
	size_t limit = (size_t)st->job->r->cfg->smtp_client_address_limit;

	while (st->ri < st->nhosts && st->hosts[st->ri].resolved)
		st->ri++;
	if (st->ri < st->nhosts && st->ri > 0 &&
	    addrs_before(st, st->ri) >= limit &&
	    st->hosts[st->ri].pref > st->hosts[st->ri - 1].pref)
		hosts_clear(st, st->ri);
	if (st->ri < st->nhosts) {
		st->dns_id = dns_lookup_addrs(st->job->r->dns,
		    st->hosts[st->ri].name, on_addrs, st);
		return;
	}
	job_plan(st);
}

static void
on_mx(const struct dns_mx_result *res, void *arg)
{
	struct remote_job_state *st = arg;

	st->dns_id = 0;
	st->dnssec = dns_sec_name(res->sec);
	if (res->sec == DNS_SEC_BOGUS) {
		job_fail(st, "4.7.5", "MX of %s: DNSSEC validation failed: %s",
		    res->domain, res->reason ? res->reason : "bogus");
		return;
	}
	if (res->status == DNS_R_NXDOMAIN) {
		job_fail(st, "5.1.2", "domain %s does not exist", res->domain);
		return;
	}
	if (res->status == DNS_R_TEMPFAIL) {
		job_fail(st, "4.4.3", "MX lookup failed: %s", res->reason ?
		    res->reason : "temporary failure");
		return;
	}
	if (res->status == DNS_R_OK && res->null_mx) {
		job_fail(st, "5.1.10", "%s accepts no mail (null MX, RFC 7505)",
		    res->domain);
		return;
	}
	st->mx_secure = res->sec == DNS_SEC_SECURE;
	if (res->implicit_mx || res->status == DNS_R_NODATA)
		host_add(st, res->domain, 0);
	for (size_t i = 0; i < res->nmx && st->nhosts < HOSTS_MAX; i++)
		host_add(st, res->mx[i].host, res->mx[i].pref);
	job_resolve_next(st);
}

/* ---- connections ----------------------------------------------------- */

static int64_t
job_ms(const struct remote_job_state *st)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - st->t0.tv_sec) * 1000 +
	    (t1.tv_nsec - st->t0.tv_nsec) / 1000000;
}

static socklen_t
sockaddr_of(const struct dns_addr *a, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s6->sin6_addr = a->u.v6;
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr = a->u.v4;
		return sizeof(*s4);
	}
}

/* The TLS policy for this job: the relay's, or the domain's. */
static enum tls_policy
job_tls_policy(const struct remote_job_state *st)
{
	const struct config *cfg = st->job->r->cfg;
	enum config_tls_policy p = cfg->smtp_tls_policy;
	const char *v, *domain = st->job->dest;

	if (st->relay != NULL) {
		if (config_tls_policy_from_name(st->relay->policy,
		    strlen(st->relay->policy), &p) == -1)
			p = CONFIG_TLS_POLICY_VERIFY;
	} else if ((v = config_list_lookup(&cfg->smtp_tls_policies, domain,
	    strlen(domain))) != NULL)
		(void)config_tls_policy_from_name(v, strlen(v), &p);
	/* Secure usable TLSA records require DANE, whatever was set; secure
	 * unusable ones still require TLS. */
	if (st->ntlsa > 0)
		return TLS_POLICY_DANE;
	if (st->tlsa_unusable && tls_policy_allows_plaintext(
	    (enum tls_policy)p))
		return TLS_POLICY_ENCRYPT;
	return (enum tls_policy)p;
}

static void on_rcpt_done(void *, const struct smtpc_message *, size_t,
    const struct smtpc_outcome *);
static void on_msg_done(void *, const struct smtpc_message *,
    const struct smtpc_outcome *);
static void on_closed(void *, const char *);
static void on_conn_gone(evutil_socket_t, short, void *);

/* Pieces of the body for the session, from queue.db a window at a
 * time: short reads on the loop, no body held whole. */
static ssize_t
body_read(void *ctx, uint64_t offset, void *out, size_t len)
{
	struct body_reader *b = ctx;
	const char *e;
	size_t n;

	if (offset >= b->size)
		return 0;
	if (offset < b->win_off || offset >= b->win_off + b->win_len) {
		size_t want = b->size - offset < BODY_WINDOW ?
		    (size_t)(b->size - offset) : BODY_WINDOW;

		if (b->win == NULL)
			b->win = xmalloc(BODY_WINDOW);
		b->win_len = 0;
		if (db_queue_body_read_at(b->db, b->qid, b->row, offset,
		    b->win, want, &e) != QUEUE_OK) {
			log_msg(LOG_ERR, NULL, b->qid, "event=body-unreadable "
			    "error=%s", log_quote_err(e));
			return -1;
		}
		b->win_off = offset;
		b->win_len = want;
	}
	n = (size_t)(b->win_off + b->win_len - offset);
	if (n > len)
		n = len;
	memcpy(out, b->win + (offset - b->win_off), n);
	return (ssize_t)n;
}

/* The message for the recipients still open, at most rcpt_limit. */
static void
job_message(struct remote_job_state *st)
{
	struct remote_job *j = st->job;
	size_t k = 0, max = (size_t)j->r->cfg->smtp_client_rcpt_limit;

	for (size_t i = 0; i < j->n && k < max; i++) {
		if (settled(j, i))
			continue;
		st->srcpts[k] = (struct smtpc_rcpt){ j->rcpts[i].address,
		    j->rcpts[i].notify, j->rcpts[i].orcpt };
		st->map[k] = i;
		st->accepted[k] = false;
		st->toomany[k] = false;
		k++;
	}
	st->msg = (struct smtpc_message){ .qid = j->env.id,
	    .sender = j->env.sender, .rcpts = st->srcpts, .nrcpts = k,
	    .size = st->body.size,
	    .eightbit = strcmp(j->env.body_type, "7BIT") != 0,
	    .smtputf8 = j->env.smtputf8, .dsn_ret = j->env.dsn_ret,
	    .dsn_envid = j->env.dsn_envid, .body_ctx = &st->body,
	    .body_read = body_read };
}

/* sluice.conf's stage timeouts (RFC 5321 4.5.3.2) for the session. */
static void
job_limits(const struct config *cfg, struct smtpc_limits *l)
{
	unsigned cmd = (unsigned)cfg->smtp_client_command_timeout;

	smtpc_limits_default(l);
	l->banner = (unsigned)cfg->smtp_client_greeting_timeout;
	l->helo = l->starttls = l->auth = l->rset = l->mail = l->rcpt =
	    l->data_init = l->data_block = l->quit = cmd;
	l->data_done = (unsigned)cfg->smtp_client_data_timeout;
	/* A kept connection is closed by the pool (QUIT, rpool.h); the
	 * session's own limit only backs it up. */
	if (cfg->smtp_client_reuse_time > 0)
		l->idle = (unsigned)cfg->smtp_client_reuse_time + 5;
}

static void
job_connect(struct remote_job_state *st, const struct dns_addr *a, int port)
{
	struct remote *r = st->job->r;
	const struct config *cfg = r->cfg;
	const char *host = st->hosts[st->hi].name;
	struct smtpc_limits lim;
	struct sockaddr_storage ss;
	struct rconn_params p = { 0 };
	struct rconn_callbacks cb = { st, on_rcpt_done, on_msg_done,
	    on_closed };
	const char *err = NULL;

	str_copy(st->ip, a->text, sizeof(st->ip));
	snprintf(st->peer, sizeof(st->peer), "%s[%s]:%d", host, a->text, port);
	p.salen = sockaddr_of(a, port, &ss);
	p.sa = (struct sockaddr *)&ss;
	p.host = host;
	p.peer = st->peer;
	p.connect_timeout = (unsigned)cfg->smtp_client_connect_timeout;
	p.implicit_tls = st->relay != NULL &&
	    st->relay->tls == RELAY_TLS_IMPLICIT;
	p.tls_policy = job_tls_policy(st);
	/* Never plaintext to a host whose handshake failed in this
	 * attempt, on any of its addresses (an attacker could break TLS on
	 * one and strip STARTTLS on another). */
	if (st->host_tls_failed && tls_policy_allows_plaintext(p.tls_policy))
		p.tls_policy = TLS_POLICY_ENCRYPT;
	p.tls_ctx = r->tls;
	p.tlsa = st->ntlsa > 0 ? st->tlsa : NULL;
	p.ntlsa = st->ntlsa;
	p.smtpc = (struct smtpc_params){ .helo_name = cfg->hostname,
	    .peer = st->peer, .auth_user = st->cred ? st->cred->user : NULL,
	    .auth_pass = st->cred ? st->cred->pass : NULL, .limits = &lim };
	job_limits(cfg, &lim);
	job_message(st);
	st->conn_noted = false;
	if ((st->conn = rconn_open(r->base, &p, &cb, ++r->next_sid,
	    &err)) == NULL || rconn_send(st->conn, &st->msg) == -1) {
		note_failure(st, "4.4.1", "cannot connect to %s: %s", st->peer,
		    err ? err : "refused");
		rconn_free(&st->conn);
		st->ai++;
		job_next_addr(st);
	}
}

/* Nothing more to try: the recipients still open wait for the next. */
static void
job_give_up(struct remote_job_state *st)
{
	if (st->last[0] == '\0')
		note_failure(st, "4.4.1", "no host to try");
	settle_all(st, "deferred", st->last_status, st->last);
	job_finish(st);
}

/*
 * The next address to try: of this host, or of the next one (whose
 * TLSA records are looked up first when its name and addresses came
 * securely, RFC 7672 2.2), within smtp_client_session_limit.
 */
static void
job_next_addr(struct remote_job_state *st)
{
	const struct config *cfg = st->job->r->cfg;
	struct host *h;

	if (unsettled(st->job) == 0) {
		job_finish(st);
		return;
	}
	if (st->sessions >= (unsigned)cfg->smtp_client_session_limit) {
		job_give_up(st);
		return;
	}
	while (st->hi < st->nhosts && st->ai >= st->hosts[st->hi].naddrs) {
		st->hi++;
		st->ai = 0;
		st->host_tls_failed = false;
	}
	if (st->hi >= st->nhosts) {
		job_give_up(st);
		return;
	}
	h = &st->hosts[st->hi];
	if (st->tlsa_for != st->hi + 1) {
		tlsa_clear(st);
		st->tlsa_for = st->hi + 1;
		/* A relay's name is ours, not an MX answer's: its secure
		 * addresses are enough, and its TLSA is for its port. */
		if ((st->relay != NULL || st->mx_secure) && h->secure) {
			st->dns_id = dns_lookup_tlsa(st->job->r->dns,
			    st->relay != NULL ? (unsigned)st->relay->port : 25,
			    h->canonical, on_tlsa, st);
			return;
		}
	}
	job_connect(st, &h->addrs[st->ai], job_port(st));
}

/* ---- the session's results ------------------------------------------- */

/* The job is done with a healthy connection: keep it a little. */
static void
job_keep_conn(struct remote_job_state *st)
{
	struct rpool_conn k = { .conn = st->conn, .port = st->last_port,
	    .dnssec = st->dnssec, .relay = st->relay, .cred = st->cred };

	str_copy(k.host, st->hosts[st->hi].name, sizeof(k.host));
	str_copy(k.peer, st->peer, sizeof(k.peer));
	str_copy(k.ip, st->ip, sizeof(k.ip));
	st->conn = NULL;
	rpool_keep(st->job->r->pool, st->job->dest, &k,
	    (unsigned)st->job->r->cfg->smtp_client_reuse_time);
}

/* A copy that lives as long as the job (the verdicts point at it). */
static const char *
job_str(struct remote_job_state *st, const char *s)
{
	if (s == NULL)
		return NULL;
	st->strs = xreallocarray(st->strs, st->nstrs + 1, sizeof(*st->strs));
	return st->strs[st->nstrs++] = xstrdup(s);
}

/* Settle recipient i from a reply of this connection. */
static void
settle_remote(struct remote_job_state *st, size_t i, const char *result,
    const struct smtpc_outcome *o)
{
	struct verdict *v = &st->job->v[i];
	const struct rconn_tls *t = rconn_tls(st->conn);
	char status[16];

	str_copy(status, o->status, sizeof(status));
	verdict_set(v, result, job_str(st, status), "%s %s %d %s",
	    st->peer, o->remote ? "said:" : "failed:", o->code, o->text ?
	    o->text : "");
	v->mx = job_str(st, st->hosts[st->hi].name);
	v->ip = job_str(st, st->ip);
	v->port = job_port(st);
	if (t->active) {
		v->tls_version = job_str(st, t->version);
		v->tls_cipher = job_str(st, t->cipher);
	}
	v->dane = t->dane;
	v->dsn_passed_on = strcmp(result, "relayed") == 0 &&
	    rconn_offers_dsn(st->conn);
}

/* Failures of the connection rather than of a recipient: next address. */
static bool
connection_level(const struct smtpc_outcome *o)
{
	return o->stage <= SMTPC_STAGE_MAIL;
}

/* The connection failed for every recipient: why, with smtpc's status
 * (4.7.5 for TLS, 4.7.4 without STARTTLS, ...). */
static void
note_conn_failure(struct remote_job_state *st, const struct smtpc_outcome *o)
{
	char status[SMTPC_STATUS_MAX];

	/* What ends up as a deferral (a 5xx greeting: another MX may take
	 * it) says so in its class. */
	str_copy(status, o->status, sizeof(status));
	if (status[0] == '5')
		status[0] = '4';
	note_failure(st, job_str(st, status), "%s: %s", st->peer, o->text ?
	    o->text : smtpc_stage_name(o->stage));
	st->conn_noted = true;
}

/* A 452 to RCPT saying too many recipients (RFC 5321 4.5.3.1.10):
 * 4.5.3, or no enhanced status at all (not 4.2.2 mailbox full). */
static bool
too_many(const struct smtpc_outcome *o)
{
	return o->remote && o->code == 452 && o->stage == SMTPC_STAGE_RCPT &&
	    (strcmp(o->status, "4.5.3") == 0 ||
	    strcmp(o->status, "4.0.0") == 0);
}

static void
on_rcpt_done(void *ctx, const struct smtpc_message *m, size_t idx,
    const struct smtpc_outcome *o)
{
	struct remote_job_state *st = ctx;
	size_t i = st->map[idx];

	(void)m;
	if (o->verdict == SMTPC_OK) {
		st->accepted[idx] = true;
		return;
	}
	st->toomany[idx] = too_many(o);
	/* A 5xx greeting or EHLO is the host's, not the recipient's:
	 * another MX may take it (as Postfix's smtp_skip_5xx_greeting). */
	if (o->verdict == SMTPC_PERM && o->stage > SMTPC_STAGE_AUTH) {
		settle_remote(st, i, "failed", o);
		return;
	}
	if (connection_level(o)) {
		note_conn_failure(st, o);
		return;
	}
	settle_remote(st, i, "deferred", o);
}

/*
 * After a transaction that went through, the recipients the server
 * refused with 452 (too many for it) go in the next one at once, on the
 * same connection; they stay deferred with that reply if they cannot.
 * Each round delivers some: it ends.
 */
static bool
job_continue(struct remote_job_state *st, const struct smtpc_message *m)
{
	struct verdict *saved;
	size_t again = 0, *map, nr;
	bool sent;

	for (size_t k = 0; k < m->nrcpts; k++)
		again += st->toomany[k];
	if (again == 0 || !rconn_reusable(st->conn))
		return false;
	saved = xreallocarray(NULL, m->nrcpts, sizeof(*saved));
	for (size_t k = 0; k < m->nrcpts; k++) {
		saved[k] = st->job->v[st->map[k]];
		if (st->toomany[k])
			memset(&st->job->v[st->map[k]], 0, sizeof(struct verdict));
	}
	map = xreallocarray(NULL, m->nrcpts, sizeof(*map));
	memcpy(map, st->map, m->nrcpts * sizeof(*map));
	nr = m->nrcpts;
	job_message(st);
	if ((sent = rconn_send(st->conn, &st->msg) == 0) == false)
		for (size_t k = 0; k < nr; k++)
			st->job->v[map[k]] = saved[k];
	free(saved);
	free(map);
	return sent;
}

static void
on_msg_done(void *ctx, const struct smtpc_message *m,
    const struct smtpc_outcome *o)
{
	struct remote_job_state *st = ctx;

	for (size_t k = 0; k < m->nrcpts; k++) {
		size_t i = st->map[k];

		if (!st->accepted[k] || settled(st->job, i))
			continue;
		settle_remote(st, i, o->verdict == SMTPC_OK ? "relayed" :
		    o->verdict == SMTPC_PERM ? "failed" : "deferred", o);
	}
	if (o->verdict != SMTPC_OK && connection_level(o))
		note_conn_failure(st, o);
	st->last_port = job_port(st);
	if (o->verdict == SMTPC_OK && job_continue(st, m))
		return;
	if (o->verdict == SMTPC_OK && unsettled(st->job) == 0 &&
	    st->job->r->cfg->smtp_client_reuse_time > 0 &&
	    rconn_reusable(st->conn)) {
		job_keep_conn(st);
		if (st->ev_free == NULL)
			st->ev_free = event_new(st->job->r->base, -1, 0,
			    on_conn_gone, st);
		event_active(st->ev_free, EV_TIMEOUT, 0);
		return;
	}
	rconn_quit(st->conn);
}

/* The connection is gone: free it from the loop, then go on. */
static void
on_conn_gone(evutil_socket_t fd, short what, void *arg)
{
	struct remote_job_state *st = arg;

	(void)fd;
	(void)what;
	rconn_free(&st->conn);
	if (st->reused && unsettled(st->job) > 0) {
		/* The kept connection had gone stale: start afresh. */
		st->reused = false;
		st->last[0] = '\0';
		job_resolve(st);
		return;
	}
	st->ai++;
	job_next_addr(st);
}

/* Where the last connection went and how, for the recipients its end
 * settles. */
static void
conn_note(struct remote_job_state *st)
{
	const struct rconn_tls *t = rconn_tls(st->conn);

	st->last_mx = job_str(st, st->hosts[st->hi].name);
	st->last_ip = job_str(st, st->ip);
	st->last_port = job_port(st);
	st->last_dane = t->dane;
	st->host_tls_failed |= t->failed;
	/* A kept connection was counted by the job that opened it. */
	st->sessions += !st->reused && rconn_greeted(st->conn);
	if (t->active) {
		st->last_tls_version = job_str(st, t->version);
		st->last_tls_cipher = job_str(st, t->cipher);
	}
}

static void
on_closed(void *ctx, const char *why)
{
	struct remote_job_state *st = ctx;

	conn_note(st);
	/* No connection: 4.4.1; a failed handshake or certificate: a
	 * cryptographic failure, 4.7.5; else a broken one, 4.4.2. */
	if (why != NULL && unsettled(st->job) > 0 && !st->conn_noted)
		note_failure(st, rconn_tls(st->conn)->failed ? "4.7.5" :
		    rconn_connected(st->conn) ? "4.4.2" : "4.4.1", "%s: %s",
		    st->peer, why);
	if (st->ev_free == NULL)
		st->ev_free = event_new(st->job->r->base, -1, 0, on_conn_gone,
		    st);
	event_active(st->ev_free, EV_TIMEOUT, 0);
}

/* ---- jobs ------------------------------------------------------------ */

static void
job_finish(struct remote_job_state *st)
{
	struct remote_job *j = st->job;
	struct remote *r = j->r;

	for (size_t i = 0; i < j->n; i++)
		if (j->v[i].dnssec == NULL)
			j->v[i].dnssec = st->dnssec;
	j->ms = job_ms(st);
	if (st->ev_deadline != NULL)
		event_del(st->ev_deadline);
	for (struct remote_job_state **pp = &r->jobs; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			r->njobs--;
			break;
		}
	r->record(r->arg, j);
}

/* Stop whatever the job is doing: no callback comes for it after. */
static void
job_halt(struct remote_job_state *st)
{
	if (st->dns_id != 0)
		(void)dns_cancel(st->job->r->dns, st->dns_id);
	st->dns_id = 0;
	if (st->ev_free != NULL)
		event_del(st->ev_free);
	if (st->conn != NULL) {
		conn_note(st);
		rconn_free(&st->conn);
	}
}

/* smtp_client_job_timeout: the open recipients are deferred. */
static void
job_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct remote_job_state *st = arg;

	(void)fd;
	(void)what;
	job_halt(st);
	log_msg(LOG_NOTICE, NULL, st->job->env.id, "event=delivery-timeout "
	    "dest=%s peer=%s", st->job->dest, st->peer[0] ? st->peer : "-");
	job_fail(st, "4.4.2", "delivery to %s took longer than %lld s%s%s",
	    st->job->dest, (long long)st->job->r->cfg->smtp_client_job_timeout,
	    st->last[0] ? "; last: " : "", st->last);
}

void
remote_job_free(struct remote_job **jp)
{
	struct remote_job *j = *jp;
	struct remote_job_state *st;

	if (j == NULL)
		return;
	st = j->st;
	if (st->dns_id != 0)
		(void)dns_cancel(j->r->dns, st->dns_id);
	rconn_free(&st->conn);
	if (st->ev_free != NULL)
		event_free(st->ev_free);
	if (st->ev_deadline != NULL)
		event_free(st->ev_deadline);
	hosts_clear(st, 0);
	tlsa_clear(st);
	for (size_t i = 0; i < st->nstrs; i++)
		free(st->strs[i]);
	free(st->strs);
	free(st->srcpts);
	free(st->map);
	free(st->accepted);
	free(st->toomany);
	free(st->body.win);
	free(st);
	for (size_t i = 0; i < j->n; i++)
		queue_due_clear(&j->rcpts[i]);
	free(j->rcpts);
	free(j->v);
	queue_envelope_clear(&j->env);
	free(j);
	*jp = NULL;
}

void
remote_destination(const struct config *cfg, const char *route,
    const char *address, char *out, size_t size)
{
	const char *at = strrchr(address, '@'), *domain = at ? at + 1 : "",
	    *relay;

	if (route != NULL && strncmp(route, "relay:", 6) == 0)
		snprintf(out, size, "%s", route);
	else if ((relay = config_list_lookup(&cfg->relay_domains, domain,
	    strlen(domain))) != NULL)
		snprintf(out, size, "relay:%s", relay);
	else if (cfg->relay_default[0] != '\0')
		snprintf(out, size, "relay:%s", cfg->relay_default);
	else
		snprintf(out, size, "%s", domain);
	for (char *p = out; *p; p++)
		*p = (char)ascii_lower((unsigned char)*p);
}

static size_t
jobs_for(const struct remote *r, const char *dest)
{
	size_t n = 0;

	for (const struct remote_job_state *st = r->jobs; st != NULL;
	    st = st->next)
		n += strcmp(st->job->dest, dest) == 0;
	return n;
}

/*
 * Connections kept for reuse count in both limits. A kept one to dest
 * is reused (no new connection); one kept elsewhere gives its place up
 * (remote_start() closes it).
 */
bool
remote_can_start(const struct remote *r, const char *dest)
{
	size_t kept = rpool_count(r->pool, NULL);
	size_t kept_dest = rpool_count(r->pool, dest);

	if (kept_dest > 0)
		return true;
	if (jobs_for(r, dest) >=
	    (size_t)r->cfg->smtp_client_max_per_destination)
		return false;
	return r->njobs + kept < (size_t)r->cfg->smtp_client_max_connections ||
	    (kept > 0 && r->njobs < (size_t)r->cfg->smtp_client_max_connections);
}

/* The envelope, and where the body is (it is read in pieces). */
static int
job_read(struct remote_job_state *st, struct db *queue,
    const char *message_id)
{
	struct remote_job *j = st->job;
	const char *e;

	if (db_queue_envelope_get(queue, message_id, &j->env, &e) != QUEUE_OK ||
	    j->env.held || db_queue_body_locate(queue, message_id,
	    &st->body.row, &st->body.size, &e) != QUEUE_OK)
		return -1;
	st->body.db = queue;
	st->body.qid = j->env.id;
	return 0;
}

/* A relay destination: its host, as a name or an address. */
static void
job_start_relay(struct remote_job_state *st, const char *name)
{
	struct remote *r = st->job->r;
	const struct relay *rl = relay_list_find(&r->cfg->relay, name);
	struct dns_addr a;
	struct host *h;

	if (rl == NULL) {
		job_fail(st, "4.3.5", "no relay named %s in sluice.conf", name);
		return;
	}
	st->relay = rl;
	st->cred = remote_creds_get(r->creds, (size_t)(rl - r->cfg->relay.v));
	host_add(st, rl->host, 0);
	st->dnssec = "insecure";
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET6, rl->host, &a.u.v6) == 1)
		a.family = AF_INET6;
	else if (inet_pton(AF_INET, rl->host, &a.u.v4) == 1)
		a.family = AF_INET;
	if (a.family != 0) {
		h = &st->hosts[0];
		str_copy(a.text, rl->host, sizeof(a.text));
		h->addrs = xmalloc(sizeof(*h->addrs));
		h->addrs[0] = a;
		h->naddrs = 1;
		h->resolved = true;
	}
	job_resolve_next(st);
}

/* From the start: the relay's host, or the domain's MX. */
static void
job_resolve(struct remote_job_state *st)
{
	struct remote *r = st->job->r;
	const char *dest = st->job->dest;

	hosts_clear(st, 0);
	tlsa_clear(st);
	st->ri = st->hi = st->ai = st->tlsa_for = 0;
	if (strncmp(dest, "relay:", 6) == 0)
		job_start_relay(st, dest + 6);
	else
		st->dns_id = dns_lookup_mx(r->dns, dest, on_mx, st);
}

/* Send on a kept connection to the same destination; -1: none. */
static int
job_reuse(struct remote_job_state *st)
{
	struct rpool_conn k;
	struct rconn_callbacks cb = { st, on_rcpt_done, on_msg_done,
	    on_closed };

	if (!rpool_take(st->job->r->pool, st->job->dest, &k))
		return -1;
	st->conn = k.conn;
	host_add(st, k.host, 0);
	str_copy(st->peer, k.peer, sizeof(st->peer));
	str_copy(st->ip, k.ip, sizeof(st->ip));
	st->dnssec = k.dnssec;
	st->relay = k.relay;
	st->cred = k.cred;
	st->reused = true;
	rconn_set_callbacks(st->conn, &cb);
	job_message(st);
	st->conn_noted = false;
	if (rconn_send(st->conn, &st->msg) == -1) {
		rconn_free(&st->conn);
		st->reused = false;
		return -1;
	}
	log_msg(LOG_DEBUG, NULL, st->job->env.id, "event=connection-reused "
	    "peer=%s", st->peer);
	return 0;
}

static void
job_free_unstarted(struct remote_job *j)
{
	queue_envelope_clear(&j->env);
	free(j->st);
	free(j);
}

int
remote_start(struct remote *r, const char *message_id, const char *dest,
    struct queue_due *rcpts, size_t n, time_t now)
{
	struct remote_job *j = xcalloc(1, sizeof(*j));
	struct remote_job_state *st = xcalloc(1, sizeof(*st));
	struct timeval tv = { (time_t)r->cfg->smtp_client_job_timeout, 0 };

	(void)now;
	j->r = r;
	j->st = st;
	st->job = j;
	if (job_read(st, r->queue, message_id) == -1) {
		job_free_unstarted(j);
		return -1;
	}
	j->rcpts = xcalloc(n, sizeof(*j->rcpts));
	memcpy(j->rcpts, rcpts, n * sizeof(*rcpts));
	memset(rcpts, 0, n * sizeof(*rcpts));
	j->n = n;
	j->v = xcalloc(n, sizeof(*j->v));
	st->srcpts = xcalloc(n, sizeof(*st->srcpts));
	st->map = xcalloc(n, sizeof(*st->map));
	st->accepted = xcalloc(n, sizeof(*st->accepted));
	st->toomany = xcalloc(n, sizeof(*st->toomany));
	str_copy(j->dest, dest, sizeof(j->dest));
	clock_gettime(CLOCK_MONOTONIC, &st->t0);
	st->ev_deadline = evtimer_new(r->base, job_deadline, st);
	evtimer_add(st->ev_deadline, &tv);
	st->next = r->jobs;
	r->jobs = st;
	r->njobs++;
	if (job_reuse(st) == 0)
		return 0;
	if (r->njobs + rpool_count(r->pool, NULL) >
	    (size_t)r->cfg->smtp_client_max_connections)
		rpool_evict(r->pool);
	job_resolve(st);
	return 0;
}

/*
 * Stopping: every job ends now. The recipients already settled go to
 * the owner to be recorded (a delivered one is never sent twice); the
 * others stay due in queue.db for the next start.
 */
void
remote_stop(struct remote *r)
{
	while (r->jobs != NULL) {
		struct remote_job_state *st = r->jobs;
		struct remote_job *j = st->job;
		size_t k = 0;

		job_halt(st);
		for (size_t i = 0; i < j->n; i++) {
			if (!settled(j, i)) {
				queue_due_clear(&j->rcpts[i]);
				continue;
			}
			j->rcpts[k] = j->rcpts[i];
			j->v[k++] = j->v[i];
		}
		j->n = k;
		job_finish(st);
	}
	rpool_free(&r->pool);
	r->pool = rpool_new(r->base);
}

/* ---- the transport ----------------------------------------------------- */

static void
ours_load(struct remote *r)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
		    i->ifa_addr->sa_family != AF_INET6))
			continue;
		r->ours = xreallocarray(r->ours, r->nours + 1,
		    sizeof(*r->ours));
		memset(&r->ours[r->nours], 0, sizeof(*r->ours));
		memcpy(&r->ours[r->nours++], i->ifa_addr,
		    i->ifa_addr->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	}
	freeifaddrs(ifa);
}

static struct dns_resolver *
remote_dns(struct event_base *base, const struct config *cfg,
    const char **error_r)
{
	struct dns_config dc = {
	    .trust_anchor_file = cfg->dns_trust_anchor,
	    .root_hints_file = cfg->dns_root_hints[0] != '\0' ?
	    cfg->dns_root_hints : NULL,
	    .forwarders = (const char *const *)cfg->dns_forwarders.v,
	    .nforwarders = cfg->dns_forwarders.n,
	    .stubs = (const char *const *)cfg->dns_stub_zones.v,
	    .nstubs = cfg->dns_stub_zones.n,
	    .use_resolv_conf = cfg->dns_resolv_conf,
	    .timeout_secs = (int)cfg->dns_timeout };

	return dns_resolver_new(base, &dc, error_r);
}

struct remote *
remote_new(struct event_base *base, const struct config *cfg,
    struct remote_creds *creds, remote_record_fn *record, void *arg,
    const char **error_r)
{
	struct remote *r = xcalloc(1, sizeof(*r));
	char *path;
	int rc;

	r->base = base;
	r->cfg = cfg;
	r->creds = creds != NULL ? creds : remote_creds_load(cfg);
	r->pool = rpool_new(base);
	r->record = record;
	r->arg = arg;
	path = xasprintf("%s/queue.db", cfg->state_dir);
	rc = db_open(path, "queue", DB_READONLY, &r->queue, error_r);
	free(path);
	if (rc == -1 || (r->dns = remote_dns(base, cfg, error_r)) == NULL ||
	    (r->tls = tls_client_ctx_new(cfg->smtp_client_ca_file[0] != '\0' ?
	    cfg->smtp_client_ca_file : NULL, cfg->tls_min_version,
	    error_r)) == NULL) {
		remote_free(&r);
		return NULL;
	}
	ours_load(r);
	return r;
}

void
remote_free(struct remote **rp)
{
	struct remote *r = *rp;

	if (r == NULL)
		return;
	while (r->jobs != NULL) {
		struct remote_job *j = r->jobs->job;

		r->jobs = r->jobs->next;
		remote_job_free(&j);
	}
	rpool_free(&r->pool);
	dns_resolver_free(&r->dns);
	if (r->tls != NULL)
		SSL_CTX_free(r->tls);
	db_close(&r->queue);
	remote_creds_free(&r->creds);
	free(r->ours);
	free(r);
	*rp = NULL;
}
