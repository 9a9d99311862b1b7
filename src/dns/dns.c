/* dns: see dns.h. */
#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>

#include "dns.h"
#include "util.h"

#define DNS_BUCKETS	64
#define DNS_QUERIES_MAX	2	/* AAAA and A */

enum dns_kind {
	DNS_KIND_MX,
	DNS_KIND_ADDRS,
	DNS_KIND_TLSA,
};

/* One libunbound query of a lookup. */
struct dns_query {
	struct dns_lookup	*lookup;
	uint16_t		 qtype;
	int			 ub_id;
	bool			 running;	/* its callback is due */
	enum dns_rcode_class	 status;
	enum dns_sec		 sec;
	char			*reason;
	char			*canonical;
	union {
		struct dns_mx	*mx;
		struct dns_addr	*addr;
		struct dns_tlsa	*tlsa;
	} rr;
	size_t			 nrr;
	const char		*parse_error;	/* from the rdata callbacks */
};

struct dns_lookup {
	struct dns_lookup	*next;		/* in a hash bucket */
	struct dns_resolver	*r;
	uint64_t		 id;
	enum dns_kind		 kind;
	char			*name;		/* as the caller gave it */
	char			*qname;		/* as asked */
	unsigned int		 port;
	union {
		dns_mx_cb	*mx;
		dns_addrs_cb	*addrs;
		dns_tlsa_cb	*tlsa;
	} cb;
	void			*arg;
	struct dns_query	 q[DNS_QUERIES_MAX];
	size_t			 nq;
	size_t			 pending;	/* queries not answered */
	struct event		*ev;		/* timeout; delivery */
};

struct dns_resolver {
	struct event_base	*base;
	struct ub_ctx		*ctx;
	struct timeval		 timeout;
	uint64_t		 next_id;
	size_t			 nlookups;
	dns_random_fn		*rnd;
	void			*rnd_arg;
	struct dns_lookup	*buckets[DNS_BUCKETS];
};

/* Default local zones of unbound that would shadow test zones; the real
 * root answers NXDOMAIN for both anyway. */
static const char *const dns_unshadowed[] = { "test.", "invalid." };

static _Thread_local char dns_errbuf[512];

static const char *
dns_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

static const char *
dns_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dns_errbuf, sizeof(dns_errbuf), fmt, ap);
	va_end(ap);
	return dns_errbuf;
}

const char *
dns_sec_name(enum dns_sec sec)
{
	switch (sec) {
	case DNS_SEC_SECURE:
		return "secure";
	case DNS_SEC_BOGUS:
		return "bogus";
	default:
		return "insecure";
	}
}

const char *
dns_status_name(enum dns_rcode_class status)
{
	switch (status) {
	case DNS_R_OK:
		return "ok";
	case DNS_R_NODATA:
		return "nodata";
	case DNS_R_NXDOMAIN:
		return "nxdomain";
	default:
		return "tempfail";
	}
}

static uint32_t
dns_random_default(uint32_t upper, void *arg)
{
	(void)arg;
	return arc4random_uniform(upper);
}

/* ---- configuration ------------------------------------------------- */

static int
dns_readable(const char *what, const char *path, const char **error_r)
{
	if (access(path, R_OK) == -1) {
		*error_r = dns_error("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
dns_ub_check(int rc, const char *what, const char *value,
    const char **error_r)
{
	if (rc == 0)
		return 0;
	*error_r = dns_error("%s \"%s\": %s", what, value, ub_strerror(rc));
	return -1;
}

static int
dns_set_stub(struct ub_ctx *ctx, const char *spec, const char **error_r)
{
	const char *eq = strchr(spec, '=');
	char *zone;
	int rc;

	if (eq == NULL || eq == spec || eq[1] == '\0') {
		*error_r = dns_error("stub \"%s\": not zone=address[@port]",
		    spec);
		return -1;
	}
	zone = xstrndup(spec, (size_t)(eq - spec));
	rc = ub_ctx_set_stub(ctx, zone, eq + 1, 0);
	free(zone);
	return dns_ub_check(rc, "stub", spec, error_r);
}

static int
dns_configure(struct ub_ctx *ctx, const struct dns_config *cfg,
    const char **error_r)
{
	const char *ta = cfg->trust_anchor_file != NULL ?
	    cfg->trust_anchor_file : DNS_TRUST_ANCHOR_DEFAULT;
	char *opt;
	size_t i;

	if (cfg->unbound_config_file != NULL &&
	    (dns_readable("unbound config", cfg->unbound_config_file,
	    error_r) == -1 || dns_ub_check(ub_ctx_config(ctx,
	    cfg->unbound_config_file), "unbound config",
	    cfg->unbound_config_file, error_r) == -1))
		return -1;
	/* Loopback stubs and forwarders are normal here (tests, a local
	 * cache); unbound refuses to query 127/8 and ::1 by default. */
	if (dns_ub_check(ub_ctx_set_option(ctx, "do-not-query-localhost:",
	    "no"), "option", "do-not-query-localhost", error_r) == -1)
		return -1;
	for (i = 0; i < ARRAY_SIZE(dns_unshadowed); i++) {
		opt = xasprintf("%s nodefault", dns_unshadowed[i]);
		/* Best effort: dns_resolver_new() removes them anyway. */
		(void)ub_ctx_set_option(ctx, "local-zone:", opt);
		free(opt);
	}
	if (*ta != '\0' && (dns_readable("trust anchor", ta, error_r) == -1 ||
	    dns_ub_check(ub_ctx_add_ta_file(ctx, ta), "trust anchor", ta,
	    error_r) == -1))
		return -1;
	if (cfg->root_hints_file != NULL &&
	    (dns_readable("root hints", cfg->root_hints_file, error_r) == -1 ||
	    dns_ub_check(ub_ctx_set_option(ctx, "root-hints:",
	    cfg->root_hints_file), "root hints", cfg->root_hints_file,
	    error_r) == -1))
		return -1;
	for (i = 0; i < cfg->nforwarders; i++)
		if (dns_ub_check(ub_ctx_set_fwd(ctx, cfg->forwarders[i]),
		    "forwarder", cfg->forwarders[i], error_r) == -1)
			return -1;
	for (i = 0; i < cfg->nstubs; i++)
		if (dns_set_stub(ctx, cfg->stubs[i], error_r) == -1)
			return -1;
	if (cfg->use_resolv_conf && dns_ub_check(ub_ctx_resolvconf(ctx, NULL),
	    "resolv.conf", "/etc/resolv.conf", error_r) == -1)
		return -1;
	/* The first zone change finalizes the context: errors show now. */
	for (i = 0; i < ARRAY_SIZE(dns_unshadowed); i++)
		if (dns_ub_check(ub_ctx_zone_remove(ctx, dns_unshadowed[i]),
		    "setting up; local zone", dns_unshadowed[i], error_r) == -1)
			return -1;
	return 0;
}

struct dns_resolver *
dns_resolver_new(struct event_base *base, const struct dns_config *cfg,
    const char **error_r)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));

	r->base = base;
	r->timeout.tv_sec = cfg->timeout_secs > 0 ? cfg->timeout_secs :
	    DNS_TIMEOUT_DEFAULT;
	r->next_id = 1;
	r->rnd = dns_random_default;
	if ((r->ctx = ub_ctx_create_event(base)) == NULL) {
		*error_r = "cannot create the unbound context";
		free(r);
		return NULL;
	}
	if (dns_configure(r->ctx, cfg, error_r) == -1) {
		ub_ctx_delete(r->ctx);
		free(r);
		return NULL;
	}
	return r;
}

void
dns_resolver_set_random(struct dns_resolver *r, dns_random_fn *rnd,
    void *arg)
{
	r->rnd = rnd != NULL ? rnd : dns_random_default;
	r->rnd_arg = rnd != NULL ? arg : NULL;
}

/* ---- lookups ------------------------------------------------------- */

static void
dns_query_clear(struct dns_query *q)
{
	size_t i;

	for (i = 0; i < q->nrr; i++) {
		if (q->qtype == DNS_TYPE_MX)
			dns_mx_clear(&q->rr.mx[i]);
		else if (q->qtype == DNS_TYPE_TLSA)
			dns_tlsa_clear(&q->rr.tlsa[i]);
	}
	/* Any member: they share the storage. */
	free(q->rr.mx);
	q->rr.mx = NULL;
	q->nrr = 0;
	free(q->reason);
	q->reason = NULL;
	free(q->canonical);
	q->canonical = NULL;
}

static void
dns_query_fail(struct dns_query *q, enum dns_sec sec, const char *reason)
{
	dns_query_clear(q);
	q->status = DNS_R_TEMPFAIL;
	q->sec = sec;
	q->reason = xstrdup(reason);
}

static void
dns_lookup_free(struct dns_lookup *lk)
{
	size_t i;

	for (i = 0; i < lk->nq; i++)
		dns_query_clear(&lk->q[i]);
	if (lk->ev != NULL)
		event_free(lk->ev);
	free(lk->name);
	free(lk->qname);
	free(lk);
}

static void
dns_lookup_link(struct dns_resolver *r, struct dns_lookup *lk)
{
	struct dns_lookup **b = &r->buckets[lk->id % DNS_BUCKETS];

	lk->next = *b;
	*b = lk;
	r->nlookups++;
}

static struct dns_lookup *
dns_lookup_unlink(struct dns_resolver *r, uint64_t id)
{
	struct dns_lookup **pp, *lk;

	for (pp = &r->buckets[id % DNS_BUCKETS]; (lk = *pp) != NULL;
	    pp = &lk->next) {
		if (lk->id == id) {
			*pp = lk->next;
			lk->next = NULL;
			r->nlookups--;
			return lk;
		}
	}
	return NULL;
}

/* Stop the queries still running: their callbacks will not come. */
static void
dns_lookup_stop(struct dns_lookup *lk)
{
	size_t i;

	for (i = 0; i < lk->nq; i++) {
		if (!lk->q[i].running)
			continue;
		(void)ub_cancel(lk->r->ctx, lk->q[i].ub_id);
		lk->q[i].running = false;
		dns_query_fail(&lk->q[i], DNS_SEC_INSECURE, "timeout");
	}
	lk->pending = 0;
}

static int
dns_add_mx(const uint8_t *rdata, size_t len, void *arg)
{
	struct dns_query *q = arg;
	struct dns_mx mx;

	if (dns_rr_mx_parse(rdata, len, &mx, &q->parse_error) == -1)
		return -1;
	q->rr.mx = xreallocarray(q->rr.mx, q->nrr + 1, sizeof(*q->rr.mx));
	q->rr.mx[q->nrr++] = mx;
	return 0;
}

static int
dns_add_addr(const uint8_t *rdata, size_t len, void *arg)
{
	struct dns_query *q = arg;
	struct dns_addr a;

	if (dns_rr_addr_parse(q->qtype, rdata, len, &a, &q->parse_error) ==
	    -1)
		return -1;
	q->rr.addr = xreallocarray(q->rr.addr, q->nrr + 1,
	    sizeof(*q->rr.addr));
	q->rr.addr[q->nrr++] = a;
	return 0;
}

static int
dns_add_tlsa(const uint8_t *rdata, size_t len, void *arg)
{
	struct dns_query *q = arg;
	struct dns_tlsa t;

	if (dns_rr_tlsa_parse(rdata, len, &t, &q->parse_error) == -1)
		return -1;
	q->rr.tlsa = xreallocarray(q->rr.tlsa, q->nrr + 1,
	    sizeof(*q->rr.tlsa));
	q->rr.tlsa[q->nrr++] = t;
	return 0;
}

static const char *
dns_rcode_text(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR",
	    "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };

	if (rcode >= 0 && (size_t)rcode < ARRAY_SIZE(names))
		return names[rcode];
	return "error rcode";
}

/* Turn a validated reply into the query's status, class and records. */
static void
dns_query_classify(struct dns_query *q, const uint8_t *pkt, size_t len,
    enum dns_sec sec)
{
	uint8_t canon[DNS_NAME_WIRE_MAX];
	char text[DNS_NAME_TEXT_MAX];
	struct dns_packet p;
	dns_rdata_fn *fn;
	const char *err = NULL;
	size_t clen;
	int n;

	if (dns_packet_parse(pkt, len, &p, &err) == -1 ||
	    p.qtype != q->qtype) {
		dns_query_fail(q, sec, err != NULL ? err :
		    "answer to another question");
		return;
	}
	q->sec = sec;
	if (p.rcode == DNS_RCODE_NXDOMAIN) {
		q->status = DNS_R_NXDOMAIN;
		return;
	}
	if (p.rcode != DNS_RCODE_NOERROR) {
		dns_query_fail(q, sec, dns_rcode_text(p.rcode));
		return;
	}
	fn = q->qtype == DNS_TYPE_MX ? dns_add_mx : q->qtype == DNS_TYPE_TLSA ?
	    dns_add_tlsa : dns_add_addr;
	if ((n = dns_packet_answers(&p, q->qtype, fn, q, canon, &clen,
	    &err)) == -1) {
		char *why = xasprintf("malformed answer: %s",
		    q->parse_error != NULL ? q->parse_error : err);

		dns_query_fail(q, sec, why);
		free(why);
		return;
	}
	q->status = n > 0 ? DNS_R_OK : DNS_R_NODATA;
	if (dns_name_to_text(canon, clen, text, sizeof(text)) != -1)
		q->canonical = xstrdup(text);
}

static void
dns_lookup_query_done(struct dns_lookup *lk)
{
	struct timeval now = { 0, 0 };

	if (lk->pending == 0 || --lk->pending > 0)
		return;
	/* Deliver from the loop, never inside ub_resolve_event(). */
	event_del(lk->ev);
	event_add(lk->ev, &now);
}

static void
dns_query_done(void *arg, int rcode, void *packet, int len, int sec,
    char *why_bogus, int was_ratelimited)
{
	struct dns_query *q = arg;

	(void)was_ratelimited;
	q->running = false;
	if (rcode != 0)
		dns_query_fail(q, DNS_SEC_INSECURE, dns_rcode_text(rcode));
	else if (sec == 1)
		/* Checked before anything is read from the packet. */
		dns_query_fail(q, DNS_SEC_BOGUS, why_bogus != NULL ?
		    why_bogus : "DNSSEC validation failed");
	else if (packet == NULL || len <= 0)
		dns_query_fail(q, DNS_SEC_INSECURE, "empty answer");
	else
		dns_query_classify(q, packet, (size_t)len, sec == 2 ?
		    DNS_SEC_SECURE : DNS_SEC_INSECURE);
	dns_lookup_query_done(q->lookup);
}

static void dns_lookup_fire(evutil_socket_t fd, short what, void *arg);

static uint64_t
dns_lookup_start(struct dns_resolver *r, struct dns_lookup *lk,
    const uint16_t *types, size_t ntypes)
{
	struct dns_query *q;
	size_t i;
	int rc;

	lk->r = r;
	lk->id = r->next_id++;
	if ((lk->ev = evtimer_new(r->base, dns_lookup_fire, lk)) == NULL)
		fatal("dns: cannot create an event");
	event_add(lk->ev, &r->timeout);
	dns_lookup_link(r, lk);
	lk->nq = ntypes;
	lk->pending = ntypes;
	for (i = 0; i < ntypes; i++) {
		q = &lk->q[i];
		q->lookup = lk;
		q->qtype = types[i];
		q->running = true;
		/* The callback may run before this returns (cache, local
		 * data): it then clears running. */
		rc = ub_resolve_event(r->ctx, lk->qname, q->qtype,
		    DNS_CLASS_IN, q, dns_query_done, &q->ub_id);
		if (rc != 0) {
			q->running = false;
			dns_query_fail(q, DNS_SEC_INSECURE, rc == UB_SYNTAX ?
			    "invalid domain name" : ub_strerror(rc));
			dns_lookup_query_done(lk);
		}
	}
	return lk->id;
}

static struct dns_lookup *
dns_lookup_new(enum dns_kind kind, const char *name, void *arg)
{
	struct dns_lookup *lk = xcalloc(1, sizeof(*lk));

	lk->kind = kind;
	lk->name = xstrdup(name);
	lk->arg = arg;
	return lk;
}

uint64_t
dns_lookup_mx(struct dns_resolver *r, const char *domain, dns_mx_cb *cb,
    void *arg)
{
	static const uint16_t types[] = { DNS_TYPE_MX };
	struct dns_lookup *lk = dns_lookup_new(DNS_KIND_MX, domain, arg);

	lk->cb.mx = cb;
	lk->qname = xstrdup(domain);
	return dns_lookup_start(r, lk, types, ARRAY_SIZE(types));
}

uint64_t
dns_lookup_addrs(struct dns_resolver *r, const char *host, dns_addrs_cb *cb,
    void *arg)
{
	static const uint16_t types[] = { DNS_TYPE_AAAA, DNS_TYPE_A };
	struct dns_lookup *lk = dns_lookup_new(DNS_KIND_ADDRS, host, arg);

	lk->cb.addrs = cb;
	lk->qname = xstrdup(host);
	return dns_lookup_start(r, lk, types, ARRAY_SIZE(types));
}

uint64_t
dns_lookup_tlsa(struct dns_resolver *r, unsigned int port, const char *host,
    dns_tlsa_cb *cb, void *arg)
{
	static const uint16_t types[] = { DNS_TYPE_TLSA };
	struct dns_lookup *lk = dns_lookup_new(DNS_KIND_TLSA, host, arg);

	lk->cb.tlsa = cb;
	lk->port = port;
	lk->qname = xasprintf("_%u._tcp.%s", port, host);
	return dns_lookup_start(r, lk, types, ARRAY_SIZE(types));
}

/* ---- delivery ------------------------------------------------------ */

static void
dns_deliver_mx(struct dns_resolver *r, struct dns_lookup *lk)
{
	struct dns_query *q = &lk->q[0];
	struct dns_mx_result res = {
		.id = lk->id, .domain = lk->name, .status = q->status,
		.sec = q->sec, .reason = q->reason,
	};

	if (q->status == DNS_R_OK) {
		q->nrr = dns_mx_prepare(q->rr.mx, q->nrr, &res.null_mx,
		    r->rnd, r->rnd_arg);
		res.mx = q->rr.mx;
		res.nmx = q->nrr;
	}
	res.implicit_mx = q->status == DNS_R_NODATA;
	lk->cb.mx(&res, lk->arg);
}

static void
dns_deliver_addrs(struct dns_lookup *lk)
{
	struct dns_query *q6 = &lk->q[0], *q4 = &lk->q[1];
	struct dns_addrs_result res = {
		.id = lk->id, .host = lk->name,
		.status6 = q6->status, .status4 = q4->status,
		.sec6 = q6->sec, .sec4 = q4->sec,
	};
	struct dns_addr *all = NULL;

	res.canonical = q4->canonical != NULL ? q4->canonical :
	    q6->canonical != NULL ? q6->canonical : lk->name;
	if (q6->sec == DNS_SEC_BOGUS || q4->sec == DNS_SEC_BOGUS) {
		res.sec = DNS_SEC_BOGUS;
		res.status = DNS_R_TEMPFAIL;
		res.reason = q6->sec == DNS_SEC_BOGUS ? q6->reason : q4->reason;
		res.status6 = q6->sec == DNS_SEC_BOGUS ? DNS_R_TEMPFAIL :
		    q6->status;
		res.status4 = q4->sec == DNS_SEC_BOGUS ? DNS_R_TEMPFAIL :
		    q4->status;
		lk->cb.addrs(&res, lk->arg);
		return;
	}
	res.sec = q6->sec == DNS_SEC_SECURE && q4->sec == DNS_SEC_SECURE ?
	    DNS_SEC_SECURE : DNS_SEC_INSECURE;
	res.n6 = q6->status == DNS_R_OK ? q6->nrr : 0;
	res.naddrs = res.n6 + (q4->status == DNS_R_OK ? q4->nrr : 0);
	if (res.naddrs > 0) {
		all = xreallocarray(NULL, res.naddrs, sizeof(*all));
		if (res.n6 > 0)
			memcpy(all, q6->rr.addr, res.n6 * sizeof(*all));
		if (res.naddrs > res.n6)
			memcpy(all + res.n6, q4->rr.addr,
			    (res.naddrs - res.n6) * sizeof(*all));
		res.addrs = all;
		res.status = DNS_R_OK;
	} else if (q6->status == DNS_R_TEMPFAIL ||
	    q4->status == DNS_R_TEMPFAIL) {
		res.status = DNS_R_TEMPFAIL;
		res.reason = q6->status == DNS_R_TEMPFAIL ? q6->reason :
		    q4->reason;
	} else if (q6->status == DNS_R_NXDOMAIN ||
	    q4->status == DNS_R_NXDOMAIN)
		res.status = DNS_R_NXDOMAIN;
	else
		res.status = DNS_R_NODATA;
	lk->cb.addrs(&res, lk->arg);
	free(all);
}

static void
dns_deliver_tlsa(struct dns_lookup *lk)
{
	struct dns_query *q = &lk->q[0];
	struct dns_tlsa_result res = {
		.id = lk->id, .host = lk->name, .port = lk->port,
		.qname = lk->qname, .status = q->status, .sec = q->sec,
		.reason = q->reason,
	};

	if (q->status == DNS_R_OK) {
		res.tlsa = q->rr.tlsa;
		res.ntlsa = q->nrr;
	}
	lk->cb.tlsa(&res, lk->arg);
}

/* The lookup's timer: all answers are in, or the time is up. */
static void
dns_lookup_fire(evutil_socket_t fd, short what, void *arg)
{
	struct dns_lookup *lk = arg;
	struct dns_resolver *r = lk->r;

	(void)fd;
	(void)what;
	if (lk->pending > 0)
		dns_lookup_stop(lk);
	(void)dns_lookup_unlink(r, lk->id);
	/* Nothing below touches r after the callback: it may free r. */
	switch (lk->kind) {
	case DNS_KIND_MX:
		dns_deliver_mx(r, lk);
		break;
	case DNS_KIND_ADDRS:
		dns_deliver_addrs(lk);
		break;
	case DNS_KIND_TLSA:
		dns_deliver_tlsa(lk);
		break;
	}
	dns_lookup_free(lk);
}

int
dns_cancel(struct dns_resolver *r, uint64_t id)
{
	struct dns_lookup *lk;

	if ((lk = dns_lookup_unlink(r, id)) == NULL)
		return -1;
	dns_lookup_stop(lk);
	dns_lookup_free(lk);
	return 0;
}

size_t
dns_pending(const struct dns_resolver *r)
{
	return r->nlookups;
}

void
dns_resolver_free(struct dns_resolver **rp)
{
	struct dns_resolver *r = *rp;
	struct dns_lookup *lk;
	size_t i;

	if (r == NULL)
		return;
	*rp = NULL;
	for (i = 0; i < DNS_BUCKETS; i++) {
		while ((lk = r->buckets[i]) != NULL) {
			r->buckets[i] = lk->next;
			dns_lookup_stop(lk);
			dns_lookup_free(lk);
		}
	}
	/* Cancelled queries are not called back by the deletion. */
	ub_ctx_delete(r->ctx);
	free(r);
}
