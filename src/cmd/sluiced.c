/*
 * sluiced: the SMTP gateway's master process. It reads the configuration,
 * binds the listening sockets and loads the TLS keys while it may (root),
 * then forks the SMTP workers (src/smtpd/server.c), which drop privileges
 * at once. It supervises them: a worker that dies is restarted (with a
 * pause if it keeps dying), SIGHUP starts a new generation of workers
 * with the re-read configuration and certificates while the old one
 * finishes its sessions, SIGTERM stops everything gracefully.
 *
 * The master runs no event loop: it waits for signals with sigtimedwait(),
 * so nothing of its own can block or be re-entered.
 */
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "counters.h"
#include "db.h"
#include "log.h"
#include "policy.h"
#include "qid.h"
#include "qmgr.h"
#include "remote.h"
#include "server.h"
#include "tls.h"
#include "util.h"

#define MAX_WORKERS		64
#define GRACE_SECS		30	/* SIGTERM: transactions may finish */
#define RESTART_PAUSE_MAX	60	/* seconds between restarts at worst */
#define QUICK_DEATH_SECS	5	/* died this soon: back off */
#define QUICK_KILLS_FREE	50	/* SIGKILLed this often: at once */

enum worker_kind {
	WORKER_SMTP,
	WORKER_QUEUE,
};

struct worker_slot {
	pid_t		 pid;		/* 0: empty */
	enum worker_kind kind;
	unsigned	 node;		/* qid node, unique among live workers */
	unsigned	 generation;
	time_t		 started;
	time_t		 restart_at;	/* empty slot waiting to be refilled */
	unsigned	 pause;		/* current restart pause */
	unsigned	 quick_kills;	/* SIGKILLs in a row, each soon */
};

/* What one generation of workers is started with. */
struct generation {
	unsigned		 number;
	struct config		 cfg;
	struct smtpd_socket	*sockets;
	size_t			 nsockets;
	SSL_CTX			*tls;
	struct policy		*policy;
	uid_t			 uid;
	gid_t			 gid;
	bool			 drop;
};

struct master {
	const char		*config_path;
	bool			 foreground;
	struct generation	 gen;
	struct worker_slot	 slots[(MAX_WORKERS + 1) * 2];
	unsigned		 nworkers;
	unsigned		 next_node;
	char			*pidfile;
	pid_t			 master_pid;
};

/* Is path a unix socket the generation keep still listens on? */
static bool
generation_has_path(const struct generation *keep, const char *path)
{
	for (size_t i = 0; keep != NULL && i < keep->nsockets; i++) {
		const struct listener *l = keep->sockets[i].listener;

		if (l->family == AF_UNIX && strcmp(l->path, path) == 0)
			return true;
	}
	return false;
}

/* Release the master's copies; keep: the generation replacing this one. */
static void
generation_close(struct generation *g, const struct generation *keep)
{
	for (size_t i = 0; i < g->nsockets; i++) {
		const struct listener *l = g->sockets[i].listener;

		close(g->sockets[i].fd);
		if (l->family == AF_UNIX && !generation_has_path(keep, l->path))
			unlink(l->path);
	}
	free(g->sockets);
	g->sockets = NULL;
	g->nsockets = 0;
	tls_ctx_free(&g->tls);
	policy_free(&g->policy);
	config_free(&g->cfg);
}

/* A socket of the old generation bound where l wants to listen. */
static int
generation_reuse(const struct generation *old, const struct listener *l)
{
	for (size_t i = 0; old != NULL && i < old->nsockets; i++)
		if (listener_same_address(old->sockets[i].listener, l) &&
		    old->sockets[i].listener->backlog == l->backlog)
			return dup(old->sockets[i].fd);
	return -1;
}

static int
socket_bind(const struct listener *l, uid_t uid, gid_t gid,
    const char **error_r)
{
	static char err[512];
	struct sockaddr_storage ss = l->addr;
	socklen_t len = l->addr_len;
	int fd, on = 1, off = 0, family = l->family, rc;
	mode_t old_umask = 0;

	if (family == AF_UNSPEC) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		memset(&ss, 0, sizeof(ss));
		in6->sin6_family = family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons(l->port);
		len = sizeof(*in6);
	}
	if (family == AF_UNIX)
		unlink(l->path);
	if ((fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		goto fail;
	/* The socket file gets its mode at bind time: no chmod by path. */
	if (family == AF_UNIX)
		old_umask = umask(~l->mode & 0777);
	if (family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, l->family ==
		    AF_UNSPEC ? &off : &on, sizeof(on));
	rc = bind(fd, (struct sockaddr *)&ss, len);
	if (family == AF_UNIX)
		umask(old_umask);
	if (rc == -1 || listen(fd, l->backlog) == -1)
		goto fail;
	/* A link put in its place is changed itself, never its target. */
	if (family == AF_UNIX && uid != (uid_t)-1 && fchownat(AT_FDCWD,
	    l->path, uid, gid, AT_SYMLINK_NOFOLLOW) == -1)
		log_msg(LOG_WARNING, NULL, NULL, "event=chown-failed path=%s",
		    l->path);
	return fd;
fail:
	snprintf(err, sizeof(err), "cannot listen on %s (%s): %s",
	    l->name, l->path ? l->path : "network", strerror(errno));
	if (fd != -1)
		close(fd);
	*error_r = err;
	return -1;
}

static bool
listener_needs_tls(const struct config *cfg, bool *required_r)
{
	bool any = false;

	*required_r = false;
	for (size_t i = 0; i < cfg->listen.n; i++) {
		const struct listener *l = &cfg->listen.v[i];

		if (!listener_role_is_smtp(l->role))
			continue;
		if (l->role == LISTENER_SUBMISSIONS)
			*required_r = true;
		if (l->role != LISTENER_LOCAL)
			any = true;
	}
	return any;
}

static int
generation_tls(struct generation *g, const struct generation *old,
    const char **error_r)
{
	bool required;

	if (!listener_needs_tls(&g->cfg, &required))
		return 0;
	if (!required && access(g->cfg.tls_cert, R_OK) == -1 &&
	    errno == ENOENT) {
		log_msg(LOG_WARNING, NULL, NULL, "event=no-tls cert=%s "
		    "note=\"STARTTLS is not offered\"", g->cfg.tls_cert);
		return 0;
	}
	/* A reload keeps the session-ticket keys: tickets stay valid. */
	if (old != NULL && old->tls != NULL)
		g->tls = tls_server_ctx_reload(old->tls, g->cfg.tls_cert,
		    g->cfg.tls_key, g->cfg.tls_min_version, error_r);
	else
		g->tls = tls_server_ctx_new(g->cfg.tls_cert, g->cfg.tls_key,
		    g->cfg.tls_min_version, error_r);
	return g->tls == NULL ? -1 : 0;
}

static int
generation_account(struct generation *g, const char **error_r)
{
	static char err[256];
	const struct passwd *pw;
	const struct group *gr;

	g->drop = geteuid() == 0;
	if (!g->drop)
		return 0;
	if ((pw = getpwnam(g->cfg.user)) == NULL ||
	    (gr = getgrnam(g->cfg.group)) == NULL) {
		snprintf(err, sizeof(err), "user %s or group %s does not exist",
		    g->cfg.user, g->cfg.group);
		*error_r = err;
		return -1;
	}
	g->uid = pw->pw_uid;
	g->gid = gr->gr_gid;
	/* A run directory we make ourselves is the daemon's, as
	 * systemd/sluice.tmpfiles would make it. */
	if (mkdir(g->cfg.run_dir, 0755) == 0 &&
	    chown(g->cfg.run_dir, g->uid, g->gid) == -1)
		log_msg(LOG_WARNING, NULL, NULL, "event=chown-failed path=%s",
		    g->cfg.run_dir);
	if (g->uid == 0) {
		snprintf(err, sizeof(err), "user %s is root: workers must not "
		    "run as root", g->cfg.user);
		*error_r = err;
		return -1;
	}
	return 0;
}

static void worker_drop_privileges(const struct generation *g);

/*
 * The shared rate counters: kept when the file is usable, so counts
 * survive reloads and restarts; made anew otherwise.
 */
static int
state_counters(const struct generation *g, const char **error_r)
{
	char *path = xasprintf("%s/counters", g->cfg.run_dir);
	struct counters *c;

	mkdir(g->cfg.run_dir, 0755);
	if ((c = counters_open(path, false, error_r)) == NULL)
		c = counters_create(path, COUNTERS_SLOTS_DEFAULT, (uid_t)-1,
		    (gid_t)-1, error_r);
	free(path);
	if (c == NULL)
		return -1;
	counters_close(&c);
	return 0;
}

/* In the child: databases at this build's schema, spill directory there. */
static int
state_check(const struct generation *g, const char **error_r)
{
	static const char *const names[] = { "directory", "queue", "mail" };
	char *path;
	struct db *db;
	int rc = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names) && rc == 0; i++) {
		path = xasprintf("%s/%s.db", g->cfg.state_dir, names[i]);
		rc = db_open(path, names[i], DB_READONLY, &db, error_r);
		db_close(&db);
		free(path);
	}
	path = xasprintf("%s/tmp", g->cfg.state_dir);
	if (rc == 0 && mkdir(path, 0700) == -1 && errno != EEXIST) {
		*error_r = "cannot create the spill directory state_dir/tmp";
		rc = -1;
	}
	free(path);
	/* Where sluice-mboxd's processes bind their new-mail sockets. */
	path = xasprintf("%s/notify", g->cfg.run_dir);
	mkdir(g->cfg.run_dir, 0755);
	if (rc == 0 && mkdir(path, 0770) == -1 && errno != EEXIST) {
		*error_r = "cannot create the directory run_dir/notify";
		rc = -1;
	}
	free(path);
	return rc == 0 ? state_counters(g, error_r) : rc;
}

/*
 * Is the state directory ready? Checked by a child that has dropped to
 * the daemon's account first: the files there are that account's to
 * write, so root never parses them or follows links inside.
 */
static int
generation_check_state(struct generation *g, const char **error_r)
{
	static char error[1024];
	const char *err = "";
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) == -1 || (pid = fork()) == -1) {
		*error_r = "cannot fork to check the state directory";
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		worker_drop_privileges(g);
		status = state_check(g, &err);
		if (status != 0 && write(fds[1], err, strlen(err)) == -1)
			_exit(2);
		_exit(status == 0 ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], error, sizeof(error) - 1);
	close(fds[0]);
	error[n > 0 ? n : 0] = '\0';
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	*error_r = error[0] ? error : "the state directory check failed";
	return -1;
}

/* Everything a generation needs, or nothing (and an error). */
static int
generation_open(struct generation *g, const struct generation *old,
    const char *path, unsigned number, const char **error_r)
{
	static char error[1024];

	memset(g, 0, sizeof(*g));
	g->number = number;
	config_init(&g->cfg);
	if (config_load_file(&g->cfg, path, error_r) == -1 ||
	    generation_account(g, error_r) == -1 ||
	    generation_check_state(g, error_r) == -1 ||
	    generation_tls(g, old, error_r) == -1 ||
	    policy_load(g->cfg.policy_file, &g->policy, error_r) == -1)
		goto fail;
	g->sockets = xcalloc(g->cfg.listen.n, sizeof(*g->sockets));
	for (size_t i = 0; i < g->cfg.listen.n; i++) {
		const struct listener *l = &g->cfg.listen.v[i];
		int fd;

		if (!listener_role_is_smtp(l->role))
			continue;
		/* A reload keeps listening sockets, so no connection is lost. */
		if ((fd = generation_reuse(old, l)) == -1 &&
		    (fd = socket_bind(l, g->drop ? g->uid : (uid_t)-1,
		    g->drop ? g->gid : (gid_t)-1, error_r)) == -1)
			goto fail;
		g->sockets[g->nsockets].fd = fd;
		g->sockets[g->nsockets++].listener = l;
	}
	return 0;
fail:
	/* The message may live in g->cfg, which is about to go. */
	str_copy(error, *error_r, sizeof(error));
	*error_r = error;
	generation_close(g, old);
	return -1;
}

static void
worker_drop_privileges(const struct generation *g)
{
	if (!g->drop)
		return;
	if (setgroups(1, &g->gid) == -1 || setgid(g->gid) == -1 ||
	    setuid(g->uid) == -1 || setuid(0) != -1)
		fatal("cannot drop privileges to %s: %s", g->cfg.user,
		    strerror(errno));
}

static void
worker_child(struct master *m, struct worker_slot *slot)
{
	struct smtpd_worker_args a = {
		.cfg = &m->gen.cfg, .index = slot->node,
		.nworkers = m->nworkers, .sockets = m->gen.sockets,
		.nsockets = m->gen.nsockets, .tls = m->gen.tls,
		.policy = m->gen.policy,
		.grace_secs = GRACE_SECS,
	};
	/* The signals stay blocked until the worker's loop handles them
	 * (smtpd_worker_run); these are not for workers at all. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
#ifdef __linux__
	/* A worker whose master is gone stops too: nobody would supervise
	 * or reload it. (Checked again after the call: the master may have
	 * died before it.) */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != m->master_pid)
		exit(0);
#endif
	if (slot->kind == WORKER_QUEUE) {
		/* The relays' passwords may be root's alone. */
		struct qmgr_args qa = { .cfg = &m->gen.cfg, .node = slot->node,
		    .creds = remote_creds_load(&m->gen.cfg) };

		worker_drop_privileges(&m->gen);
#ifdef __linux__
		prctl(PR_SET_NAME, "sluiced-queue");
#endif
		exit(qmgr_run(&qa));
	}
	worker_drop_privileges(&m->gen);
#ifdef __linux__
	prctl(PR_SET_NAME, "sluiced-smtp");
#endif
	exit(smtpd_worker_run(&a));
}

static unsigned
node_allocate(struct master *m)
{
	for (;;) {
		unsigned node = m->next_node++ % (QID_NODE_MAX + 1);
		bool used = false;

		for (size_t i = 0; i < ARRAY_SIZE(m->slots); i++)
			if (m->slots[i].pid != 0 && m->slots[i].node == node)
				used = true;
		if (!used)
			return node;
	}
}

static void
worker_spawn(struct master *m, struct worker_slot *slot)
{
	pid_t pid;

	slot->node = node_allocate(m);
	slot->generation = m->gen.number;
	slot->started = time(NULL);
	slot->restart_at = 0;
	if ((pid = fork()) == -1) {
		log_msg(LOG_ERR, NULL, NULL, "event=fork-failed error=%s",
		    log_quote_err(strerror(errno)));
		slot->restart_at = time(NULL) + 1;
		return;
	}
	if (pid == 0)
		worker_child(m, slot);
	slot->pid = pid;
}

static struct worker_slot *
slot_free(struct master *m)
{
	for (size_t i = 0; i < ARRAY_SIZE(m->slots); i++)
		if (m->slots[i].pid == 0 && m->slots[i].restart_at == 0)
			return &m->slots[i];
	return NULL;
}

/* The smtp workers and one queue worker. */
static void
workers_start(struct master *m)
{
	for (unsigned i = 0; i <= m->nworkers; i++) {
		struct worker_slot *slot = slot_free(m);

		if (slot == NULL) {
			/* Old generations still finishing sessions hold them. */
			log_msg(LOG_ERR, NULL, NULL, "event=no-worker-slot "
			    "started=%u wanted=%u", i, m->nworkers);
			break;
		}
		memset(slot, 0, sizeof(*slot));
		slot->kind = i < m->nworkers ? WORKER_SMTP : WORKER_QUEUE;
		worker_spawn(m, slot);
	}
}

static void
workers_signal(struct master *m, int sig, bool old_only)
{
	for (size_t i = 0; i < ARRAY_SIZE(m->slots); i++) {
		struct worker_slot *slot = &m->slots[i];

		if (old_only && slot->generation == m->gen.number)
			continue;
		if (slot->pid != 0)
			kill(slot->pid, sig);
		if (old_only)
			slot->restart_at = 0;
	}
}

static size_t
workers_alive(const struct master *m)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(m->slots); i++)
		if (m->slots[i].pid != 0)
			n++;
	return n;
}

/* A worker ended: log why, and plan its restart if it was current. */
static void
worker_reaped(struct master *m, pid_t pid, int status, bool stopping)
{
	struct worker_slot *slot = NULL;
	time_t now = time(NULL);

	for (size_t i = 0; i < ARRAY_SIZE(m->slots); i++)
		if (m->slots[i].pid == pid)
			slot = &m->slots[i];
	if (slot == NULL)
		return;
	slot->pid = 0;
	if (WIFSIGNALED(status))
		log_msg(LOG_ERR, NULL, NULL, "event=worker-died pid=%d "
		    "signal=%d", (int)pid, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		log_msg(LOG_ERR, NULL, NULL, "event=worker-died pid=%d "
		    "status=%d", (int)pid, WEXITSTATUS(status));
	else
		log_msg(LOG_INFO, NULL, NULL, "event=worker-exited pid=%d",
		    (int)pid);
	if (stopping || slot->generation != m->gen.number ||
	    (WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		slot->restart_at = 0;
		return;
	}
	/* A worker that dies right after starting would die again: pause.
	 * Not one killed from outside (an operator, the OOM killer): it
	 * did nothing wrong, and mail waits while it is away; unless that
	 * keeps happening (the OOM killer on the same large message). */
	if (now - slot->started >= QUICK_DEATH_SECS)
		slot->quick_kills = 0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
	    ++slot->quick_kills <= QUICK_KILLS_FREE)
		slot->pause = 0;
	else if (now - slot->started < QUICK_DEATH_SECS)
		slot->pause = slot->pause ? slot->pause * 2 : 1;
	else
		slot->pause = 0;
	if (slot->pause > RESTART_PAUSE_MAX)
		slot->pause = RESTART_PAUSE_MAX;
	slot->restart_at = now + slot->pause;
	log_msg(LOG_NOTICE, NULL, NULL, "event=worker-restart in=%us",
	    slot->pause);
}

static void
workers_restart_due(struct master *m)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < ARRAY_SIZE(m->slots); i++) {
		struct worker_slot *slot = &m->slots[i];

		if (slot->pid == 0 && slot->restart_at != 0 &&
		    slot->restart_at <= now)
			worker_spawn(m, slot);
	}
}

static unsigned
worker_count(const struct config *cfg)
{
	long n = cfg->smtp_workers ? cfg->smtp_workers :
	    sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

static void
master_reload(struct master *m)
{
	struct generation next;
	const char *err;

	log_msg(LOG_INFO, NULL, NULL, "event=reload");
	if (generation_open(&next, &m->gen, m->config_path,
	    m->gen.number + 1, &err) == -1) {
		log_msg(LOG_ERR, NULL, NULL, "event=reload-failed error=%s "
		    "note=\"the running configuration stays\"", log_quote_err(err));
		return;
	}
	generation_close(&m->gen, &next);
	m->gen = next;
	m->nworkers = worker_count(&m->gen.cfg);
	/* The old generation finishes its sessions undisturbed and exits. */
	workers_signal(m, SIGUSR1, true);
	workers_start(m);
}

static void
master_reap(struct master *m, bool stopping)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		worker_reaped(m, pid, status, stopping);
}

static void
master_stop(struct master *m, const sigset_t *set)
{
	struct timespec tick = { 1, 0 };
	time_t deadline = time(NULL) + GRACE_SECS + 15;

	log_msg(LOG_INFO, NULL, NULL, "event=stopping workers=%zu",
	    workers_alive(m));
	workers_signal(m, SIGTERM, false);
	while (workers_alive(m) > 0 && time(NULL) < deadline) {
		sigtimedwait(set, NULL, &tick);
		master_reap(m, true);
	}
	if (workers_alive(m) > 0) {
		workers_signal(m, SIGKILL, false);
		sleep(1);
		master_reap(m, true);
	}
}

static int
master_loop(struct master *m)
{
	struct timespec tick = { 1, 0 };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);	/* for workers; blocked until theirs */
	sigprocmask(SIG_BLOCK, &set, NULL);
	workers_start(m);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			master_reload(m);
		master_reap(m, false);
		workers_restart_due(m);
	}
	master_stop(m, &set);
	log_msg(LOG_INFO, NULL, NULL, "event=stopped");
	return 0;
}

static void
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid == -1)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	setsid();
	if (chdir("/") == -1)
		fatal("chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static void
pidfile_write(struct master *m)
{
	FILE *fp = NULL;
	int fd;

	mkdir(m->gen.cfg.run_dir, 0755);
	m->pidfile = xasprintf("%s/sluiced.pid", m->gen.cfg.run_dir);
	if ((fd = open(m->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		log_msg(LOG_WARNING, NULL, NULL, "event=pidfile-failed path=%s",
		    m->pidfile);
		return;
	}
	fprintf(fp, "%d\n", (int)getpid());
	fclose(fp);
}

static void
usage(void)
{
	fprintf(stderr, "usage: sluiced [-d] [-c FILE]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -d       stay in the foreground and log to standard error\n",
	    config_default_path());
	exit(EX_USAGE);
}

int
main(int argc, char **argv)
{
	struct master m = { .config_path = config_default_path() };
	const char *err;
	int ch, status;

	while ((ch = getopt(argc, argv, "c:dh")) != -1) {
		switch (ch) {
		case 'c':
			m.config_path = optarg;
			break;
		case 'd':
			m.foreground = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_open("sluiced", m.foreground ? LOG_DEST_STDERR : LOG_DEST_SYSLOG,
	    LOG_INFO);
	if (generation_open(&m.gen, NULL, m.config_path, 1, &err) == -1) {
		log_msg(LOG_ERR, NULL, NULL, "event=startup-failed error=%s",
		    log_quote_err(err));
		fprintf(stderr, "sluiced: %s\n", err);
		return EX_CONFIG;
	}
	if (!m.foreground)
		log_open("sluiced", m.gen.cfg.log == CONFIG_LOG_STDERR ?
		    LOG_DEST_STDERR : LOG_DEST_SYSLOG,
		    config_log_priority(&m.gen.cfg));
	else
		log_set_level(config_log_priority(&m.gen.cfg));
	if (!m.foreground)
		daemonize();
	pidfile_write(&m);
	m.master_pid = getpid();
	m.nworkers = worker_count(&m.gen.cfg);
	log_msg(LOG_INFO, NULL, NULL, "event=started pid=%d workers=%u "
	    "listeners=%zu tls=%s policy=%s rules=%zu", (int)getpid(),
	    m.nworkers, m.gen.nsockets, m.gen.tls ? "yes" : "no",
	    m.gen.cfg.policy_file, policy_rule_count(m.gen.policy));
	status = master_loop(&m);
	generation_close(&m.gen, NULL);
	if (m.pidfile != NULL)
		unlink(m.pidfile);
	free(m.pidfile);
	return status;
}
