/* msgbody: see msgbody.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "msgbody.h"
#include "util.h"

struct msgbody {
	size_t		 mem_limit;
	char		*spill_dir;
	struct buf	 mem;		/* the content, until spilled */
	int		 fd;		/* -1 until spilled */
	uint64_t	 size;		/* octets appended */
	uint64_t	 on_disk;	/* of which written to fd */
	char		*wbuf;		/* after a spill: octets on_disk.. */
	size_t		 wlen;
	bool		 broken;
	char		 error[512];
};

struct msgbody *
msgbody_new(size_t mem_limit, const char *spill_dir)
{
	struct msgbody *b = xcalloc(1, sizeof(*b));

	b->mem_limit = mem_limit;
	b->spill_dir = xstrdup(spill_dir != NULL ? spill_dir : "/tmp");
	buf_init(&b->mem, 0);
	b->fd = -1;
	return b;
}

static int
msgbody_fail(struct msgbody *b, const char *what, int err,
    const char **error_r)
{
	snprintf(b->error, sizeof(b->error), "temporary file in %s: %s: %s",
	    b->spill_dir, what, strerror(err));
	b->broken = true;
	*error_r = b->error;
	return -1;
}

/*
 * A nameless file: O_TMPFILE never gives it a name; older kernels and
 * file systems without it get a mkstemp() name that is removed at once.
 */
static int
msgbody_open(struct msgbody *b, const char **error_r)
{
	char *tmpl;
	int fd, err;

	fd = open(b->spill_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1)
		return fd;
	tmpl = xasprintf("%s/sluice-body-XXXXXX", b->spill_dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	err = errno;
	if (fd != -1 && unlink(tmpl) == -1) {
		err = errno;
		close(fd);
		fd = -1;
	}
	free(tmpl);
	if (fd == -1)
		return msgbody_fail(b, "cannot create", err, error_r);
	/* mkstemp() makes 0600 already; say so in case the libc differs. */
	(void)fchmod(fd, 0600);
	return fd;
}

static int
msgbody_write(struct msgbody *b, const char *p, size_t len,
    const char **error_r)
{
	ssize_t n;

	while (len > 0) {
		n = write(b->fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return msgbody_fail(b, "cannot write", errno, error_r);
		p += n;
		len -= (size_t)n;
		b->on_disk += (uint64_t)n;
	}
	return 0;
}

static int
msgbody_flush(struct msgbody *b, const char **error_r)
{
	size_t len = b->wlen;

	b->wlen = 0;
	return msgbody_write(b, b->wbuf, len, error_r);
}

/* Move the in-memory content into a new temporary file. */
static int
msgbody_spill(struct msgbody *b, const char **error_r)
{
	if ((b->fd = msgbody_open(b, error_r)) == -1)
		return -1;
	if (msgbody_write(b, b->mem.data, b->mem.len, error_r) == -1)
		return -1;
	buf_release(&b->mem);
	b->wbuf = xmalloc(MSGBODY_WBUF_SIZE);
	return 0;
}

int
msgbody_append(struct msgbody *b, const void *data, size_t len,
    const char **error_r)
{
	if (b->broken) {
		*error_r = b->error;
		return -1;
	}
	if (len == 0)
		return 0;
	if (b->fd == -1 && len <= b->mem_limit - b->mem.len) {
		buf_append(&b->mem, data, len);
		b->size += len;
		return 0;
	}
	if (b->fd == -1 && msgbody_spill(b, error_r) == -1)
		return -1;
	if (len > MSGBODY_WBUF_SIZE - b->wlen &&
	    msgbody_flush(b, error_r) == -1)
		return -1;
	if (len >= MSGBODY_WBUF_SIZE) {
		/* Already a big write: copying it first would gain nothing. */
		if (msgbody_write(b, data, len, error_r) == -1)
			return -1;
	} else {
		memcpy(b->wbuf + b->wlen, data, len);
		b->wlen += len;
	}
	b->size += len;
	return 0;
}

uint64_t
msgbody_size(const struct msgbody *b)
{
	return b->size;
}

bool
msgbody_spilled(const struct msgbody *b)
{
	return b->fd != -1;
}

/* Read [offset, offset + len) from the part already in the file. */
static int
msgbody_pread(const struct msgbody *b, uint64_t offset, char *out,
    size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = pread(b->fd, out, len, (off_t)offset);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			/* Shorter than what was written: someone truncated it. */
			errno = EIO;
			return -1;
		}
		out += n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
msgbody_read(const struct msgbody *b, uint64_t offset, void *out, size_t len)
{
	size_t from_file = 0;

	if (b->broken) {
		errno = EIO;
		return -1;
	}
	if (offset >= b->size)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (len > b->size - offset)
		len = (size_t)(b->size - offset);
	if (b->fd == -1) {
		memcpy(out, b->mem.data + offset, len);
		return (ssize_t)len;
	}
	if (offset < b->on_disk) {
		from_file = len;
		if (from_file > b->on_disk - offset)
			from_file = (size_t)(b->on_disk - offset);
		if (msgbody_pread(b, offset, out, from_file) == -1)
			return -1;
	}
	if (from_file < len)
		memcpy((char *)out + from_file,
		    b->wbuf + (offset + from_file - b->on_disk),
		    len - from_file);
	return (ssize_t)len;
}

void
msgbody_destroy(struct msgbody **bp)
{
	struct msgbody *b;

	if (bp == NULL || (b = *bp) == NULL)
		return;
	if (b->fd != -1)
		close(b->fd);
	buf_release(&b->mem);
	free(b->wbuf);
	free(b->spill_dir);
	free(b);
	*bp = NULL;
}
