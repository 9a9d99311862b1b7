/*
 * dnsq: look names up through src/dns and print one line per lookup, for
 * the integration tests (tests/integration/dns_resolver.py) and by hand
 * against a test world (tests/world/README.md).
 *
 *	dnsq --trust-anchor root.ds --stub .=127.0.53.53@5353 \
 *	    [--stub zone=addr[@port]]... [--root-hints file] \
 *	    [--forward addr[@port]]... [--config unbound.conf] \
 *	    [--timeout secs] [--no-validate] query...
 *
 * A query is mx:DOMAIN, addrs:HOST, tlsa:HOST[:PORT], cancel:DOMAIN (an
 * MX lookup cancelled at once, which must never call back) or drop:DOMAIN
 * (an MX lookup nobody waits for: if it is still running when the others
 * are done, dns_resolver_free() drops it). All run at once; each prints
 * when it completes:
 *
 *	mx secure.test status=ok sec=secure null_mx=0 implicit_mx=0
 *	    mx=10:mx1.secure.test,20:mx2.secure.test
 *	addrs dual.secure.test status=ok sec=secure aaaa=ok a=ok
 *	    canonical=dual.secure.test addrs=::1,127.0.0.18
 *	tlsa mx1.secure.test port=25 status=ok sec=secure tlsa=3:1:1:<hex>
 *	mx bogus.test status=tempfail sec=bogus ... reason="..."
 *
 * (each on one line; reason, when present, comes last, quoted).
 *
 * A test tool must never send a query off this machine, so dnsq refuses
 * to run unless a stub for ".", root hints or a forwarder is given, and
 * every stub, forwarder and root hint address is loopback. It also adds
 * unbound settings that send from 127.0.0.1 only and never over IPv6.
 * It never reads resolv.conf.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "dns.h"
#include "util.h"

#define DNSQ_MAX_LIST	64

struct dnsq {
	struct event_base	*base;
	struct dns_resolver	*r;
	size_t			 outstanding;
	int			 failures;
	bool			 starting;	/* in dns_lookup_*() */
	size_t			 ndrop;		/* dropped, unanswered */
	struct dnsq_query	*drops[DNSQ_MAX_LIST];
	size_t			 ndrops;
};

struct dnsq_query {
	struct dnsq	*q;
	const char	*name;
	bool		 cancelled;
	bool		 dropped;
};

static void usage(void) NORETURN;

static void
usage(void)
{
	fprintf(stderr, "usage: dnsq [--trust-anchor file | --no-validate] "
	    "[--stub zone=addr[@port]]...\n"
	    "\t[--root-hints file] [--forward addr[@port]]... "
	    "[--config file] [--timeout secs]\n"
	    "\tmx:DOMAIN | addrs:HOST | tlsa:HOST[:PORT] | cancel:DOMAIN "
	    "...\n");
	exit(1);
}

/* "addr[@port]" on 127.0.0.0/8 or ::1? */
static bool
loopback(const char *spec)
{
	char addr[64];
	const char *at = strchr(spec, '@');
	size_t n = at != NULL ? (size_t)(at - spec) : strlen(spec);
	struct in6_addr a6;
	struct in_addr a4;

	if (n >= sizeof(addr))
		return false;
	memcpy(addr, spec, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* Every A and AAAA record in a root hints file must be loopback. */
static bool
hints_loopback(const char *path)
{
	char line[512], *tok[8], *save, *p;
	bool ok = true;
	size_t n, i;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		if ((p = strchr(line, ';')) != NULL)
			*p = '\0';
		n = 0;
		for (p = strtok_r(line, " \t\r\n", &save); p != NULL &&
		    n < ARRAY_SIZE(tok); p = strtok_r(NULL, " \t\r\n", &save))
			tok[n++] = p;
		for (i = 1; i + 1 < n; i++) {
			if (strcasecmp(tok[i], "A") == 0 ||
			    strcasecmp(tok[i], "AAAA") == 0) {
				ok = loopback(tok[i + 1]);
				break;
			}
		}
	}
	fclose(f);
	return ok;
}

/* An unbound config that includes the caller's and pins us to lo. */
static char *
safety_config(const char *user_config)
{
	char *path = xstrdup("/tmp/dnsq-XXXXXX");
	struct buf b = BUF_INIT;
	int fd;

	if ((fd = mkstemp(path)) == -1)
		fatal("mkstemp: %s", strerror(errno));
	if (user_config != NULL)
		buf_printf(&b, "include: \"%s\"\n", user_config);
	buf_append_str(&b, "server:\n\toutgoing-interface: 127.0.0.1\n"
	    "\tdo-ip6: no\n");
	if (write(fd, b.data, b.len) != (ssize_t)b.len)
		fatal("write %s: %s", path, strerror(errno));
	close(fd);
	buf_release(&b);
	return path;
}

static void
print_quoted(struct buf *b, const char *s)
{
	buf_append_str(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_append_byte(b, c);
	}
	buf_append_str(b, "\"");
}

static void
finish(struct dnsq_query *dq, struct buf *b, const char *reason)
{
	struct dnsq *q = dq->q;

	if (q->starting) {
		printf("error: %s called back from inside its lookup call\n",
		    dq->name);
		q->failures++;
	}
	if (reason != NULL) {
		buf_append_str(b, " reason=");
		print_quoted(b, reason);
	}
	printf("%s\n", b->data);
	fflush(stdout);
	buf_release(b);
	if (dq->cancelled) {
		printf("error: a cancelled lookup of %s called back\n",
		    dq->name);
		q->failures++;
	} else if (dq->dropped)
		q->ndrop--;
	else
		q->outstanding--;
	if (!dq->dropped)
		free(dq);	/* the dropped ones are freed at the end */
	if (q->outstanding == 0)
		event_base_loopbreak(q->base);
}

static void
on_mx(const struct dns_mx_result *res, void *arg)
{
	struct dnsq_query *dq = arg;
	struct buf b = BUF_INIT;
	size_t i;

	buf_printf(&b, "mx %s status=%s sec=%s null_mx=%d implicit_mx=%d mx=",
	    res->domain, dns_status_name(res->status), dns_sec_name(res->sec),
	    res->null_mx, res->implicit_mx);
	for (i = 0; i < res->nmx; i++)
		buf_printf(&b, "%s%u:%s", i > 0 ? "," : "", res->mx[i].pref,
		    res->mx[i].host);
	finish(dq, &b, res->reason);
}

static void
on_addrs(const struct dns_addrs_result *res, void *arg)
{
	struct dnsq_query *dq = arg;
	struct buf b = BUF_INIT;
	size_t i;

	buf_printf(&b, "addrs %s status=%s sec=%s aaaa=%s a=%s canonical=%s "
	    "addrs=", res->host, dns_status_name(res->status),
	    dns_sec_name(res->sec), dns_status_name(res->status6),
	    dns_status_name(res->status4), res->canonical);
	for (i = 0; i < res->naddrs; i++)
		buf_printf(&b, "%s%s", i > 0 ? "," : "", res->addrs[i].text);
	finish(dq, &b, res->reason);
}

static void
on_tlsa(const struct dns_tlsa_result *res, void *arg)
{
	struct dnsq_query *dq = arg;
	struct buf b = BUF_INIT;
	size_t i, j;

	buf_printf(&b, "tlsa %s port=%u status=%s sec=%s tlsa=", res->host,
	    res->port, dns_status_name(res->status), dns_sec_name(res->sec));
	for (i = 0; i < res->ntlsa; i++) {
		buf_printf(&b, "%s%u:%u:%u:", i > 0 ? "," : "",
		    res->tlsa[i].usage, res->tlsa[i].selector,
		    res->tlsa[i].mtype);
		for (j = 0; j < res->tlsa[i].len; j++)
			buf_printf(&b, "%02x", res->tlsa[i].data[j]);
	}
	finish(dq, &b, res->reason);
}

static void
start(struct dnsq *q, const char *spec)
{
	struct dnsq_query *dq = xcalloc(1, sizeof(*dq));
	const char *colon = strchr(spec, ':');
	char *host, *p;
	unsigned long port = 25;

	if (colon == NULL || colon[1] == '\0')
		usage();
	dq->q = q;
	dq->name = colon + 1;
	q->outstanding++;
	if (strncmp(spec, "mx:", 3) == 0)
		(void)dns_lookup_mx(q->r, dq->name, on_mx, dq);
	else if (strncmp(spec, "addrs:", 6) == 0)
		(void)dns_lookup_addrs(q->r, dq->name, on_addrs, dq);
	else if (strncmp(spec, "tlsa:", 5) == 0) {
		host = xstrdup(dq->name);
		if ((p = strchr(host, ':')) != NULL) {
			*p++ = '\0';
			port = strtoul(p, NULL, 10);
			if (port == 0 || port > 65535)
				usage();
		}
		(void)dns_lookup_tlsa(q->r, (unsigned int)port, host, on_tlsa,
		    dq);
		free(host);
	} else if (strncmp(spec, "cancel:", 7) == 0) {
		uint64_t id = dns_lookup_mx(q->r, dq->name, on_mx, dq);

		q->outstanding--;
		dq->cancelled = true;
		if (dns_cancel(q->r, id) != 0 || dns_cancel(q->r, id) != -1) {
			printf("error: cancel of %s\n", dq->name);
			q->failures++;
		} else
			printf("cancel %s cancelled=1\n", dq->name);
		free(dq);
	} else if (strncmp(spec, "drop:", 5) == 0) {
		if (q->ndrops == DNSQ_MAX_LIST)
			usage();
		q->outstanding--;
		q->ndrop++;
		dq->dropped = true;
		q->drops[q->ndrops++] = dq;
		(void)dns_lookup_mx(q->r, dq->name, on_mx, dq);
	} else
		usage();
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct dnsq *q = arg;

	(void)fd;
	(void)what;
	printf("error: %zu lookups did not call back in time\n",
	    q->outstanding);
	q->failures++;
	event_base_loopbreak(q->base);
}

struct dnsq_opts {
	struct dns_config	 cfg;
	const char		*stubs[DNSQ_MAX_LIST];
	const char		*fwds[DNSQ_MAX_LIST];
	const char		*user_config;
	bool			 have_root;	/* loopback root given */
	bool			 no_validate;
};

static void
dnsq_option(struct dnsq_opts *o, int c)
{
	const char *eq;

	switch (c) {
	case 't':
		o->cfg.trust_anchor_file = optarg;
		break;
	case 'n':
		o->no_validate = true;
		break;
	case 'h':
		if (!hints_loopback(optarg))
			fatal("root hints %s: unreadable, or an address not "
			    "on loopback", optarg);
		o->cfg.root_hints_file = optarg;
		o->have_root = true;
		break;
	case 's':
		if (o->cfg.nstubs == DNSQ_MAX_LIST ||
		    (eq = strchr(optarg, '=')) == NULL)
			usage();
		if (!loopback(eq + 1))
			fatal("stub %s: not a loopback address", optarg);
		if (strncmp(optarg, ".=", 2) == 0)
			o->have_root = true;
		o->stubs[o->cfg.nstubs++] = optarg;
		break;
	case 'f':
		if (o->cfg.nforwarders == DNSQ_MAX_LIST)
			usage();
		if (!loopback(optarg))
			fatal("forwarder %s: not a loopback address", optarg);
		o->fwds[o->cfg.nforwarders++] = optarg;
		o->have_root = true;
		break;
	case 'c':
		o->user_config = optarg;
		break;
	case 'T':
		o->cfg.timeout_secs = atoi(optarg);
		break;
	default:
		usage();
	}
}

static void
dnsq_options(int argc, char **argv, struct dnsq_opts *o)
{
	static const struct option opts[] = {
		{ "trust-anchor", required_argument, NULL, 't' },
		{ "no-validate", no_argument, NULL, 'n' },
		{ "root-hints", required_argument, NULL, 'h' },
		{ "stub", required_argument, NULL, 's' },
		{ "forward", required_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		dnsq_option(o, c);
	if (optind == argc)
		usage();
	if (!o->have_root)
		fatal("refusing to run without a loopback root: give "
		    "--stub .=ADDR[@PORT], --root-hints or --forward");
	if (o->no_validate)
		o->cfg.trust_anchor_file = "";
	else if (o->cfg.trust_anchor_file == NULL)
		fatal("give --trust-anchor (a test world's) or --no-validate");
	o->cfg.stubs = o->stubs;
	o->cfg.forwarders = o->fwds;
}

int
main(int argc, char **argv)
{
	struct dnsq_opts o = { .have_root = false };
	struct dnsq q = { .outstanding = 0 };
	struct timeval deadline = { 0, 0 };
	const char *err = NULL;
	struct event *dl;
	char *safety;
	size_t i;

	dnsq_options(argc, argv, &o);
	safety = safety_config(o.user_config);
	o.cfg.unbound_config_file = safety;
	if ((q.base = event_base_new()) == NULL)
		fatal("event_base_new failed");
	q.r = dns_resolver_new(q.base, &o.cfg, &err);
	(void)unlink(safety);
	free(safety);
	if (q.r == NULL)
		fatal("resolver: %s", err);
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		q.starting = true;
		start(&q, argv[i]);
		q.starting = false;
	}
	deadline.tv_sec = (o.cfg.timeout_secs > 0 ? o.cfg.timeout_secs :
	    DNS_TIMEOUT_DEFAULT) + 10;
	dl = evtimer_new(q.base, on_deadline, &q);
	evtimer_add(dl, &deadline);
	if (q.outstanding > 0)
		event_base_dispatch(q.base);
	if (q.outstanding == 0 && dns_pending(q.r) != q.ndrop) {
		printf("error: %zu lookups pending, %zu dropped\n",
		    dns_pending(q.r), q.ndrop);
		q.failures++;
	}
	if (q.ndrop > 0)
		printf("dropped pending=%zu\n", q.ndrop);
	dns_resolver_free(&q.r);
	for (i = 0; i < q.ndrops; i++)
		free(q.drops[i]);
	event_free(dl);
	event_base_free(q.base);
	return q.failures == 0 ? 0 : 2;
}
