/* buf: see buf.h. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "buf.h"

static const char buf_empty[1] = "";

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

struct buf *
buf_new(size_t max)
{
	struct buf *b = xmalloc(sizeof(*b));

	buf_init(b, max);
	return b;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_destroy(struct buf **bp)
{
	if (bp == NULL || *bp == NULL)
		return;
	buf_release(*bp);
	free(*bp);
	*bp = NULL;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, cap;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + n + 1;
	if (b->max != 0 && b->len + n > b->max)
		return -1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) == -1)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_append_byte(struct buf *b, uint8_t c)
{
	return buf_append(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	char probe[1];
	int n;

	va_copy(copy, ap);
	n = vsnprintf(probe, sizeof(probe), fmt, copy);
	va_end(copy);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
buf_steal(struct buf *b)
{
	char *s = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return s;
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data ? b->data : buf_empty;
}

int
buf_read_file(struct buf *b, const char *path, size_t max,
    const char **error_r)
{
	static _Thread_local char err[128];
	struct stat sb;
	ssize_t r = 0;
	int fd;

	buf_init(b, max + 1);	/* one byte more tells full from too long */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, sizeof(err), "cannot open: %s", strerror(errno));
		*error_r = err;
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		*error_r = "not a regular file";
		return -1;
	}
	while (b->len < b->max) {
		size_t room = b->max - b->len;

		room = room > 65536 ? 65536 : room;
		buf_reserve(b, room);
		r = read(fd, b->data + b->len, room);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		b->len += (size_t)r;
		b->data[b->len] = '\0';
	}
	if (r == -1)
		snprintf(err, sizeof(err), "cannot read: %s", strerror(errno));
	else if (b->len > max)
		snprintf(err, sizeof(err), "larger than %zu KiB", max / 1024);
	close(fd);
	if (r == -1 || b->len > max) {
		buf_release(b);
		*error_r = err;
		return -1;
	}
	return 0;
}
