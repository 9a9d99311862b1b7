/*
 * policy load: the I/O side of the parser. Reads a rule file and its
 * includes from disk, each at most POLICY_FILE_MAX bytes, and hands the
 * text to the pure policy_parse().
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "policy.h"
#include "policy_int.h"
#include "util.h"

/*
 * Name every included file by its real path, so that two spellings of
 * one file are one file to the cycle check.
 */
static int
include_read(void *ctx, const char *from, const char *path,
    struct policy_text *t_r, const char **error_r)
{
	struct buf text = BUF_INIT;
	const char *slash = strrchr(from, '/');
	char *joined, *real;

	(void)ctx;
	if (path[0] == '/' || slash == NULL)
		joined = xstrdup(path);
	else
		joined = xasprintf("%.*s/%s", (int)(slash - from), from, path);
	real = realpath(joined, NULL);
	if (real == NULL) {
		*error_r = strerror(errno);
		free(joined);
		return -1;
	}
	free(joined);
	if (buf_read_file(&text, real, POLICY_FILE_MAX, error_r) == -1) {
		buf_release(&text);
		free(real);
		return -1;
	}
	t_r->name = xstrdup(real);
	free(real);
	t_r->len = text.len;
	t_r->data = buf_steal(&text);
	return 0;
}

int
policy_load(const char *path, struct policy **p_r, const char **error_r)
{
	struct policy_text top = { NULL, NULL, 0 };
	const char *error;
	int ret;

	*p_r = NULL;
	if (include_read(NULL, "", path, &top, &error) == -1) {
		*error_r = policy_error_set("%s: %s", path, error);
		return -1;
	}
	ret = policy_parse(top.name, top.data, top.len, include_read, NULL,
	    p_r, error_r);
	free(top.name);
	free(top.data);
	return ret;
}

