/* rcreds: the relays' credentials (remote.h). */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "buf.h"
#include "log.h"
#include "relay.h"
#include "remote.h"
#include "util.h"

struct remote_creds {
	struct remote_cred	*v;	/* per cfg->relay.v[i] */
	size_t			 n;
};

/* A relay's credentials: user name on line 1, password on line 2. */
static void
cred_load(const struct relay *rl, struct remote_cred *c)
{
	struct buf b = BUF_INIT;
	struct stat sb;
	const char *err;
	char *nl;

	if (rl->auth_file == NULL)
		return;
	if (stat(rl->auth_file, &sb) == 0 && (sb.st_mode & 077) != 0)
		log_msg(LOG_WARNING, NULL, NULL, "event=relay-auth-file-open "
		    "relay=%s file=%s mode=%04o note=\"others may read the "
		    "password: chmod 600\"", rl->name, rl->auth_file,
		    (unsigned)(sb.st_mode & 07777));
	buf_init(&b, 0);
	if (buf_read_file(&b, rl->auth_file, 4096, &err) == -1 ||
	    (nl = strchr(b.data, '\n')) == NULL) {
		log_msg(LOG_ERR, NULL, NULL, "event=relay-auth-unreadable "
		    "relay=%s file=%s", rl->name, rl->auth_file);
		buf_release(&b);
		return;
	}
	*nl = '\0';
	c->user = xstrdup(b.data);
	c->pass = xstrndup(nl + 1, strcspn(nl + 1, "\r\n"));
	mem_wipe(b.data, b.len);
	buf_release(&b);
}

struct remote_creds *
remote_creds_load(const struct config *cfg)
{
	struct remote_creds *c = xcalloc(1, sizeof(*c));

	c->n = cfg->relay.n;
	c->v = xcalloc(c->n + 1, sizeof(*c->v));
	for (size_t i = 0; i < c->n; i++)
		cred_load(&cfg->relay.v[i], &c->v[i]);
	return c;
}

void
remote_creds_free(struct remote_creds **cp)
{
	struct remote_creds *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].pass != NULL)
			mem_wipe(c->v[i].pass, strlen(c->v[i].pass));
		free(c->v[i].user);
		free(c->v[i].pass);
	}
	free(c->v);
	free(c);
	*cp = NULL;
}

const struct remote_cred *
remote_creds_get(const struct remote_creds *c, size_t i)
{
	return i < c->n ? &c->v[i] : NULL;
}
