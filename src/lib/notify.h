/*
 * notify: one-way wake-ups between Sluice's processes over unix datagram
 * sockets in the run directory.
 *
 * - The smtp workers wake the queue worker after each commit by sending
 *   "w" to <run_dir>/queue.wake, which the queue worker binds; sluicectl
 *   sends "f" after making old recipients due (flush, release), which
 *   asks for a scan of the whole queue, not only of what is new.
 * - Local delivery tells sluice-mboxd of new mail by sending to every
 *   socket in <run_dir>/notify/ (each mboxd process binds its own there),
 *   one datagram per delivered message: lines "MAILBOX_ID OWNER\n".
 *
 * A wake-up carries no state of its own: the receiver always rereads the
 * database, so a lost datagram (full socket buffer, receiver restarting)
 * only delays work until the receiver's own periodic check. Sending never
 * blocks and never fails loudly: nobody listening is normal.
 */
#ifndef SLUICE_NOTIFY_H
#define SLUICE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

/* Largest datagram a receiver reads. */
#define NOTIFY_DGRAM_MAX	4096

/*
 * Bind a non-blocking datagram socket at path, replacing a socket left
 * there by a dead process. Returns the fd, or -1 with *error_r.
 */
int	 notify_listen(const char *path, const char **error_r);
/* An unbound non-blocking datagram socket to send from, or -1. */
int	 notify_sender(void);
/* Send len octets to path. 0 sent, -1 not (no receiver, buffer full). */
int	 notify_send(int fd, const char *path, const void *data, size_t len);
/*
 * Send to every socket in dir. Sockets nobody is bound to any more
 * (ECONNREFUSED) are removed. Returns how many received it.
 */
int	 notify_send_dir(int fd, const char *dir, const void *data,
	    size_t len);
/* Read and discard every datagram waiting on fd; returns how many. */
int	 notify_drain(int fd);
/* The same, *saw_r telling whether one of them began with c. */
int	 notify_drain_saw(int fd, char c, bool *saw_r);

#endif
