/*
 * msgbody: the body of a message being received, kept in memory while it
 * is small and moved to an unlinked temporary file once it passes a
 * threshold (smtp_memory_body_limit), so a large message never sits in a
 * worker's memory.
 *
 * Contract:
 * - A body is appended to by one thread (the session on the loop), then
 *   handed on (to the queue writer) and only read from then on. Reading
 *   takes a const body and uses pread(), so it is safe from another thread
 *   once appending has finished; appending while another thread reads is
 *   not.
 * - The content stays in memory while its size is at most mem_limit; the
 *   append that would pass it creates the file in spill_dir (O_TMPFILE
 *   where the file system has it, else mkstemp() and unlink(); mode 0600,
 *   close-on-exec) and moves everything there. mem_limit 0 spills on the
 *   first non-empty append. The file has no name, so nothing is left
 *   behind by a crash.
 * - Writes to the file go through a 64 KiB buffer, so appending line by
 *   line costs a write() per 64 KiB, not per line. The buffered tail is
 *   part of the body: msgbody_read() serves it from memory, so no flush
 *   step is needed before reading.
 * - An I/O failure (no such spill directory, ENOSPC, EFBIG) makes
 *   msgbody_append() return -1 with a message; the body is then broken
 *   for good (every later append fails the same way, reads fail with
 *   EIO) and the session answers 451 4.3.0 and destroys it.
 */
#ifndef SLUICE_MSGBODY_H
#define SLUICE_MSGBODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Size of the write buffer of a spilled body. */
#define MSGBODY_WBUF_SIZE	(64 * 1024)

struct msgbody;

/* spill_dir NULL means "/tmp". Opens no file yet: that waits for a spill. */
struct msgbody *msgbody_new(size_t mem_limit, const char *spill_dir);

/*
 * Append len octets. Returns 0, or -1 with a message in *error_r (valid
 * while b lives) when the spill file cannot be created or written.
 */
int	 msgbody_append(struct msgbody *b, const void *data, size_t len,
	    const char **error_r);

/* Octets appended so far. */
uint64_t msgbody_size(const struct msgbody *b);

/* True once the content lives in a temporary file. */
bool	 msgbody_spilled(const struct msgbody *b);

/*
 * Copy up to len octets starting at offset into out. Returns the number
 * copied, which is less than len only at the end of the body (0 at or
 * past it), or -1 with errno set (EIO for a broken body).
 */
ssize_t	 msgbody_read(const struct msgbody *b, uint64_t offset, void *out,
	    size_t len);

/* Frees b, closing its file; accepts NULL and a NULL *bp. */
void	 msgbody_destroy(struct msgbody **bp);

#endif
