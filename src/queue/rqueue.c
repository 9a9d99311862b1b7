/* rqueue: see rqueue.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"
#include "rqueue.h"
#include "util.h"

#define BUCKETS		1024

/* One message's recipients for one destination: one job. */
struct rgroup {
	char		 id[QID_LEN + 1];
	struct queue_due *rcpts;
	size_t		 n;
};

/* A destination's line of groups. */
struct dline {
	struct dline	*hnext;		/* hash chain */
	char		 dest[256];
	struct rgroup	*g;		/* waiting: g[head..n) */
	size_t		 head, n, alloc;
	size_t		 count;		/* recipients waiting */
	bool		 listed;	/* in the round */
	bool		 overflow;	/* refused some: at its cap */
};

struct rqueue {
	const struct config *cfg;
	size_t		 max, count;
	size_t		 line_max;	/* one destination's share */
	bool		 overflow;	/* refused some: all full */
	bool		 room;		/* room again since a refusal */
	struct dline	*buckets[BUCKETS];
	/* The lines with groups, served in turn from next. */
	struct dline	**round;
	size_t		 nround, round_alloc, next;
};

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct dline *
line_get(struct rqueue *q, const char *dest)
{
	struct dline **b = &q->buckets[hash(dest) % BUCKETS], *l;

	for (l = *b; l != NULL; l = l->hnext)
		if (strcmp(l->dest, dest) == 0)
			return l;
	l = xcalloc(1, sizeof(*l));
	str_copy(l->dest, dest, sizeof(l->dest));
	l->hnext = *b;
	*b = l;
	return l;
}

static void
line_free(struct rqueue *q, struct dline *l)
{
	struct dline **b = &q->buckets[hash(l->dest) % BUCKETS];

	for (; *b != NULL; b = &(*b)->hnext)
		if (*b == l) {
			*b = l->hnext;
			break;
		}
	for (size_t i = l->head; i < l->n; i++) {
		for (size_t k = 0; k < l->g[i].n; k++)
			queue_due_clear(&l->g[i].rcpts[k]);
		free(l->g[i].rcpts);
	}
	free(l->g);
	free(l);
}

struct rqueue *
rqueue_new(const struct config *cfg, size_t max)
{
	struct rqueue *q = xcalloc(1, sizeof(*q));

	q->cfg = cfg;
	q->max = max;
	q->line_max = max / 4 > 0 ? max / 4 : 1;
	return q;
}

void
rqueue_free(struct rqueue **qp)
{
	struct rqueue *q = *qp;

	if (q == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		while (q->buckets[i] != NULL)
			line_free(q, q->buckets[i]);
	free(q->round);
	free(q);
	*qp = NULL;
}

bool
rqueue_take_room(struct rqueue *q)
{
	bool room = q->room;

	q->room = false;
	return room;
}

size_t
rqueue_count(const struct rqueue *q)
{
	return q->count;
}

/* The group d joins: the line's last one if it is d's message's and has
 * room, else a new one. */
static struct rgroup *
group_for(struct rqueue *q, struct dline *l, const char *id)
{
	size_t max = (size_t)q->cfg->smtp_client_rcpt_limit;
	struct rgroup *g;

	if (l->n > l->head) {
		g = &l->g[l->n - 1];
		if (g->n < max && strcmp(g->id, id) == 0)
			return g;
	}
	if (l->head > 0 && l->head == l->n)
		l->head = l->n = 0;
	if (l->n == l->alloc) {
		if (l->head > 0) {
			memmove(l->g, l->g + l->head, (l->n - l->head) *
			    sizeof(*l->g));
			l->n -= l->head;
			l->head = 0;
		} else {
			l->alloc = l->alloc ? l->alloc * 2 : 4;
			l->g = xreallocarray(l->g, l->alloc, sizeof(*l->g));
		}
	}
	g = &l->g[l->n++];
	memset(g, 0, sizeof(*g));
	str_copy(g->id, id, sizeof(g->id));
	return g;
}

bool
rqueue_add(struct rqueue *q, const struct queue_due *d)
{
	char dest[256];
	struct dline *l;
	struct rgroup *g;
	struct queue_due copy = *d;

	if (q->count >= q->max) {
		q->overflow = true;
		return false;
	}
	remote_destination(q->cfg, d->route, d->address, dest, sizeof(dest));
	l = line_get(q, dest);
	if (l->count >= q->line_max) {
		l->overflow = true;
		return false;
	}
	g = group_for(q, l, d->message_id);
	g->rcpts = xreallocarray(g->rcpts, g->n + 1, sizeof(*g->rcpts));
	copy.address = xstrdup(d->address);
	copy.orcpt = d->orcpt ? xstrdup(d->orcpt) : NULL;
	copy.route = d->route ? xstrdup(d->route) : NULL;
	g->rcpts[g->n++] = copy;
	q->count++;
	l->count++;
	if (!l->listed) {
		l->listed = true;
		if (q->nround == q->round_alloc) {
			q->round_alloc = q->round_alloc ? q->round_alloc * 2 : 16;
			q->round = xreallocarray(q->round, q->round_alloc,
			    sizeof(*q->round));
		}
		q->round[q->nround++] = l;
	}
	return true;
}

/* Start l's groups while can() says yes; how many started. */
static size_t
line_dispatch(struct rqueue *q, struct dline *l, rqueue_can_fn *can,
    rqueue_start_fn *start, void *arg)
{
	size_t started = 0;

	while (l->head < l->n && can(arg, l->dest)) {
		struct rgroup *g = &l->g[l->head++];

		q->count -= g->n;
		l->count -= g->n;
		start(arg, g->id, l->dest, g->rcpts, g->n);
		for (size_t k = 0; k < g->n; k++)
			queue_due_clear(&g->rcpts[k]);
		free(g->rcpts);
		memset(g, 0, sizeof(*g));
		started++;
	}
	if (l->overflow && l->count <= q->line_max / 2) {
		l->overflow = false;
		q->room = true;
	}
	return started;
}

/*
 * Each line in turn, from where the last round left off (the line after
 * the last one served), so that under the global limit no destination
 * waits behind the others for good. Emptied lines are dropped.
 */
void
rqueue_dispatch(struct rqueue *q, rqueue_can_fn *can, rqueue_start_fn *start,
    void *arg)
{
	size_t n = q->nround, first = n > 0 ? q->next % n : 0, k = 0;
	size_t resume = 0;
	struct dline **order;

	if (n == 0)
		return;
	order = xreallocarray(NULL, n, sizeof(*order));
	for (size_t i = 0; i < n; i++)
		order[i] = q->round[(first + i) % n];
	for (size_t i = 0; i < n; i++) {
		struct dline *l = order[i];
		bool served = line_dispatch(q, l, can, start, arg) > 0;

		if (l->head == l->n) {
			line_free(q, l);
			continue;
		}
		if (served)
			resume = k + 1;
		q->round[k++] = l;
	}
	free(order);
	q->nround = k;
	q->next = k > 0 ? resume % k : 0;
	if (q->overflow && q->count <= q->max / 2) {
		q->overflow = false;
		q->room = true;
	}
}
