/*
 * ctl_queue: the sluicectl queue commands: list the messages waiting (or
 * all), show one with its recipients, flush (retry now), hold, release
 * and delete. Changes that make mail due wake the queue worker through
 * its socket (notify.h), so they take effect at once when sluiced runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "db_queue.h"
#include "notify.h"
#include "qid.h"
#include "util.h"

static int
queue_open(struct ctl *ctl, struct db **db_r)
{
	char *path = xasprintf("%s/queue.db", ctl->cfg.state_dir);
	const char *err = NULL;
	int rc = db_open(path, "queue", 0, db_r, &err);

	free(path);
	if (rc == -1) {
		ctl_error("%s", err);
		return EX_UNAVAILABLE;
	}
	return EX_OK;
}

/* Tell a running queue worker to look now; quiet when none runs. */
static void
queue_wake(struct ctl *ctl)
{
	char *path = xasprintf("%s/queue.wake", ctl->cfg.run_dir);
	int fd = notify_sender();

	/* "f": rows already read are due again: read them all. */
	(void)notify_send(fd, path, "f", 1);
	if (fd != -1)
		close(fd);
	free(path);
}

static int
queue_id_arg(const char *s)
{
	if (!qid_valid(s, strlen(s))) {
		ctl_error("\"%s\" is not a queue id", s);
		return -1;
	}
	return 0;
}

static int
status_of(int rc, const char *id, const char *err)
{
	if (rc == QUEUE_NOTFOUND) {
		ctl_error("no message %s in the queue", id);
		return EX_DATAERR;
	}
	if (rc != QUEUE_OK) {
		ctl_error("%s", err);
		return EX_SOFTWARE;
	}
	return EX_OK;
}

static int
print_summary(const struct queue_summary *q, void *arg)
{
	(void)arg;
	printf("%s  %s  %-8s %8" PRId64 "  %s%s  waiting %" PRId64
	    " (deferred %" PRId64 "), delivered %" PRId64 ", failed %" PRId64
	    "\n", q->id, q->arrived_at, q->kind, q->size, q->sender,
	    q->held ? "  [held]" : "", q->queued + q->deferred, q->deferred,
	    q->delivered, q->failed);
	return 0;
}

static int
queue_list(struct ctl *ctl, int argc, char **argv)
{
	bool all = argc == 2 && strcmp(argv[1], "--all") == 0;
	const char *err = NULL;
	struct db *db;
	int status, rc;

	if (argc > 2 || (argc == 2 && !all)) {
		ctl_error("usage: queue list [--all]");
		return EX_USAGE;
	}
	if ((status = queue_open(ctl, &db)) != EX_OK)
		return status;
	rc = db_queue_list(db, all, print_summary, NULL, &err);
	db_close(&db);
	return status_of(rc, "", err);
}

static int
print_rcpt(const struct queue_rcpt_row *r, void *arg)
{
	(void)arg;
	printf("  %s  %s  attempts %" PRId64, r->address, r->state,
	    r->attempts);
	if (strcmp(r->state, "queued") == 0 || strcmp(r->state,
	    "deferred") == 0)
		printf("  next %s", r->next_attempt_at);
	if (r->status[0] != '\0')
		printf("  %s %s", r->status, r->diagnostic);
	printf("\n");
	return 0;
}

static int
queue_show(struct ctl *ctl, int argc, char **argv)
{
	const char *err = NULL;
	struct db *db;
	int status, rc;

	if (argc != 2) {
		ctl_error("usage: queue show ID");
		return EX_USAGE;
	}
	if (queue_id_arg(argv[1]) == -1)
		return EX_DATAERR;
	if ((status = queue_open(ctl, &db)) != EX_OK)
		return status;
	printf("%s\n", argv[1]);
	rc = db_queue_recipients(db, argv[1], print_rcpt, NULL, &err);
	db_close(&db);
	return status_of(rc, argv[1], err);
}

static int
queue_flush(struct ctl *ctl, int argc, char **argv)
{
	const char *id = argc == 2 ? argv[1] : NULL, *err = NULL;
	struct db *db;
	size_t n = 0;
	int status, rc;

	if (argc > 2) {
		ctl_error("usage: queue flush [ID]");
		return EX_USAGE;
	}
	if (id != NULL && queue_id_arg(id) == -1)
		return EX_DATAERR;
	if ((status = queue_open(ctl, &db)) != EX_OK)
		return status;
	rc = db_queue_flush(db, id, (int64_t)time(NULL), &n, &err);
	db_close(&db);
	if ((status = status_of(rc, id ? id : "", err)) != EX_OK)
		return status;
	queue_wake(ctl);
	printf("%zu recipients due now\n", n);
	return EX_OK;
}

/* hold, release and delete: one message each. */
static int
queue_one(struct ctl *ctl, int argc, char **argv)
{
	const char *err = NULL, *done;
	struct db *db;
	int status, rc;

	if (argc != 2) {
		ctl_error("usage: queue %s ID", argv[0]);
		return EX_USAGE;
	}
	if (queue_id_arg(argv[1]) == -1)
		return EX_DATAERR;
	if ((status = queue_open(ctl, &db)) != EX_OK)
		return status;
	if (strcmp(argv[0], "delete") == 0) {
		rc = db_queue_delete(db, argv[1], &err);
		done = "deleted";
	} else {
		rc = db_queue_hold(db, argv[1], strcmp(argv[0], "hold") == 0,
		    &err);
		done = strcmp(argv[0], "hold") == 0 ? "held" : "released";
	}
	db_close(&db);
	if ((status = status_of(rc, argv[1], err)) != EX_OK)
		return status;
	if (strcmp(argv[0], "release") == 0)
		queue_wake(ctl);
	printf("%s %s\n", done, argv[1]);
	return EX_OK;
}

static const struct ctl_command queue_commands[] = {
	{ "list", "[--all]", "List the messages with recipients still "
	    "waiting (--all: every message queue.db keeps).", queue_list, NULL },
	{ "show", "ID", "Show a message's recipients: state, attempts, next "
	    "attempt, last status and reason.", queue_show, NULL },
	{ "flush", "[ID]", "Make every waiting recipient (of one message) due "
	    "now, and wake the queue worker.", queue_flush, NULL },
	{ "hold", "ID", "Keep a message from delivery until released.",
	    queue_one, NULL },
	{ "release", "ID", "Let a held message be delivered again.",
	    queue_one, NULL },
	{ "delete", "ID", "Remove a message from the queue for good, without "
	    "a bounce.", queue_one, NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct ctl_group ctl_queue_group = { "queue", queue_commands };
