/*
 * buf: a growable byte buffer.
 *
 * Contract: data is always NUL-terminated one past len (so text can be
 * handed to C string functions) but may hold NUL bytes of its own. Growth
 * never fails (it aborts on exhaustion). A buffer may carry a maximum; an
 * append that would exceed it fails with -1 and leaves the buffer as it
 * was, so protocol code can bound what a peer makes it hold.
 */
#ifndef SLUICE_BUF_H
#define SLUICE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct buf {
	char	*data;	/* len bytes, then a NUL */
	size_t	 len;
	size_t	 cap;	/* allocated, including the NUL */
	size_t	 max;	/* 0: unbounded */
};

#define BUF_INIT { NULL, 0, 0, 0 }

void	 buf_init(struct buf *b, size_t max);
struct buf *buf_new(size_t max);
/* buf_release: release storage of an embedded buffer, leave it empty. */
void	 buf_release(struct buf *b);
/* buf_destroy: free a buffer from buf_new() and set *bp to NULL. */
void	 buf_destroy(struct buf **bp);

/* Returns 0, or -1 when the result would pass b->max (b unchanged). */
int	 buf_append(struct buf *b, const void *data, size_t len);
int	 buf_append_str(struct buf *b, const char *s);
int	 buf_append_byte(struct buf *b, uint8_t c);
int	 buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
int	 buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	    PRINTF_LIKE(2, 0);

/* Make room for n more bytes without changing len. */
int	 buf_reserve(struct buf *b, size_t n);
/* Remove the first n bytes (all when n >= len). */
void	 buf_consume(struct buf *b, size_t n);
void	 buf_truncate(struct buf *b, size_t len);
void	 buf_reset(struct buf *b);
/*
 * Read a regular file of at most max bytes into b (which it initialises).
 * Returns 0, or -1 with a reason in *error_r ("cannot open: ...", "not a
 * regular file", "larger than N KiB"; valid until the next call in the
 * thread), b released.
 */
int	 buf_read_file(struct buf *b, const char *path, size_t max,
	    const char **error_r);
/* Hand the storage to the caller as a NUL-terminated string. */
char	*buf_steal(struct buf *b);
const char *buf_cstr(const struct buf *b);

#endif
