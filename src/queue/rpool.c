/* rpool: see rpool.h. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "rpool.h"
#include "util.h"

struct idle {
	struct idle		*next;
	struct rpool		*p;
	struct rpool_conn	 c;
	char			 dest[256];
	struct event		*ev_expire, *ev_free;
	bool			 gone;		/* closing: not counted */
};

struct rpool {
	struct event_base	*base;
	struct idle		*list;		/* newest first */
};

struct rpool *
rpool_new(struct event_base *base)
{
	struct rpool *p = xcalloc(1, sizeof(*p));

	p->base = base;
	return p;
}

static void
idle_unlink(struct rpool *p, struct idle *i)
{
	for (struct idle **pp = &p->list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == i) {
			*pp = i->next;
			return;
		}
}

static void
idle_free(struct idle *i)
{
	rconn_free(&i->c.conn);
	if (i->ev_expire != NULL)
		event_free(i->ev_expire);
	if (i->ev_free != NULL)
		event_free(i->ev_free);
	free(i);
}

void
rpool_free(struct rpool **pp)
{
	struct rpool *p = *pp;

	if (p == NULL)
		return;
	while (p->list != NULL) {
		struct idle *i = p->list;

		p->list = i->next;
		idle_free(i);
	}
	free(p);
	*pp = NULL;
}

/* Closed: free it from the loop, not inside its callback. */
static void
idle_gone(evutil_socket_t fd, short what, void *arg)
{
	struct idle *i = arg;

	(void)fd;
	(void)what;
	idle_unlink(i->p, i);
	idle_free(i);
}

/* QUIT; closed() then frees it. */
static void
idle_close(struct idle *i)
{
	i->gone = true;
	rconn_quit(i->c.conn);
}

static void
idle_expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	idle_close(arg);
}

static void
idle_rcpt_done(void *ctx, const struct smtpc_message *m, size_t index,
    const struct smtpc_outcome *o)
{
	(void)ctx;
	(void)m;
	(void)index;
	(void)o;
}

static void
idle_msg_done(void *ctx, const struct smtpc_message *m,
    const struct smtpc_outcome *o)
{
	(void)ctx;
	(void)m;
	(void)o;
}

static void
idle_closed(void *ctx, const char *why)
{
	struct idle *i = ctx;

	(void)why;
	i->gone = true;
	event_active(i->ev_free, EV_TIMEOUT, 0);
}

void
rpool_keep(struct rpool *p, const char *dest, const struct rpool_conn *c,
    unsigned secs)
{
	struct idle *i = xcalloc(1, sizeof(*i));
	struct rconn_callbacks cb = { i, idle_rcpt_done, idle_msg_done,
	    idle_closed };
	struct timeval tv = { (time_t)secs, 0 };

	i->p = p;
	i->c = *c;
	str_copy(i->dest, dest, sizeof(i->dest));
	i->ev_expire = evtimer_new(p->base, idle_expire, i);
	i->ev_free = event_new(p->base, -1, 0, idle_gone, i);
	rconn_set_callbacks(i->c.conn, &cb);
	evtimer_add(i->ev_expire, &tv);
	i->next = p->list;
	p->list = i;
}

bool
rpool_take(struct rpool *p, const char *dest, struct rpool_conn *out)
{
	for (struct idle *i = p->list; i != NULL; i = i->next)
		if (!i->gone && strcmp(i->dest, dest) == 0 &&
		    rconn_reusable(i->c.conn)) {
			idle_unlink(p, i);
			*out = i->c;
			i->c.conn = NULL;
			idle_free(i);
			return true;
		}
	return false;
}

size_t
rpool_count(const struct rpool *p, const char *dest)
{
	size_t n = 0;

	for (const struct idle *i = p->list; i != NULL; i = i->next)
		n += !i->gone && (dest == NULL || strcmp(i->dest, dest) == 0);
	return n;
}

void
rpool_evict(struct rpool *p)
{
	struct idle *last = NULL;

	for (struct idle *i = p->list; i != NULL; i = i->next)
		if (!i->gone)
			last = i;
	if (last != NULL)
		idle_close(last);
}
