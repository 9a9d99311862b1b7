/*
 * listener: one socket a daemon listens on, as written on a `listen =` line
 * of sluice.conf: `ROLE ADDRESS [OPTION ...]`.
 *
 * Contract: listener_parse() is pure. It reads only the bytes it is given,
 * resolves addresses with inet_pton() alone (never DNS), and on success
 * hands back a listener whose every option is resolved (no "default"
 * left for the daemon to work out), with a sockaddr ready for bind().
 * Its error strings are static and say what is wrong without repeating
 * the spec; callers quote the spec themselves. listener_format() gives the
 * canonical spec, which listener_parse() turns back into an equal listener.
 * A struct listener owns its strings: release them with listener_clear().
 */
#ifndef SLUICE_LISTENER_H
#define SLUICE_LISTENER_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum listener_role {
	LISTENER_MX,		/* SMTP from the world, port 25 */
	LISTENER_SUBMISSION,	/* SMTP with STARTTLS and AUTH, port 587 */
	LISTENER_SUBMISSIONS,	/* SMTP over implicit TLS, port 465 */
	LISTENER_LOCAL,		/* SMTP from sluice-sendmail */
	LISTENER_IMAP,
	LISTENER_IMAPS,
	LISTENER_POP3,
	LISTENER_POP3S,
	LISTENER_ROLE_COUNT
};

enum listener_bare_lf {
	LISTENER_BARE_LF_REJECT,	/* refuse a message with a lone LF */
	LISTENER_BARE_LF_NORMALISE	/* turn a lone LF into CRLF */
};

/* flags */
#define LISTENER_AUTH_PLAINTEXT	0x01u	/* AUTH/LOGIN allowed without TLS */

#define LISTENER_BACKLOG_DEFAULT	511
#define LISTENER_BACKLOG_MIN		16
#define LISTENER_BACKLOG_MAX		65535
#define LISTENER_MODE_DEFAULT		0660
#define LISTENER_NAME_MAX		32

struct listener {
	enum listener_role role;
	char		*name;		/* for logs and policy; default: role */
	/*
	 * AF_INET or AF_INET6: addr holds address and port.
	 * AF_UNSPEC: "*", every address of both families; addr is empty.
	 * AF_UNIX: addr is a sockaddr_un for path.
	 */
	int		 family;
	struct sockaddr_storage addr;
	socklen_t	 addr_len;	/* 0 for AF_UNSPEC */
	uint16_t	 port;		/* 0 for AF_UNIX */
	char		*path;		/* AF_UNIX only, else NULL */
	unsigned int	 flags;
	enum listener_bare_lf bare_lf;	/* resolved for the role */
	int		 backlog;
	mode_t		 mode;		/* AF_UNIX only, else 0 */
};

/* A growable array of listeners; owns each element. */
struct listener_list {
	struct listener	*v;
	size_t		 n;
};

/*
 * Parse spec[0..len). On success fill *l_r and return 0; on failure return
 * -1 with a static message in *error_r, leaving nothing in *l_r to free.
 */
int	 listener_parse(const char *spec, size_t len, struct listener *l_r,
	    const char **error_r);
/* The canonical spec for l, as a new string the caller frees. */
char	*listener_format(const struct listener *l);
/* The address part alone: "*:25", "192.0.2.1:25", "[::1]:25", or a path. */
char	*listener_address_format(const struct listener *l);

void	 listener_clear(struct listener *l);
void	 listener_copy(struct listener *dst, const struct listener *src);
bool	 listener_equal(const struct listener *a, const struct listener *b);
/* True when both would bind the same address and port, or the same path. */
bool	 listener_same_address(const struct listener *a,
	    const struct listener *b);
/* Loopback means 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104. */
bool	 listener_is_loopback(const struct listener *l);

const char *listener_role_name(enum listener_role role);
/* Returns 0 and sets *role_r, or -1 for an unknown name. */
int	 listener_role_from_name(const char *name, size_t len,
	    enum listener_role *role_r);
/* mx, submission, submissions and local speak SMTP. */
bool	 listener_role_is_smtp(enum listener_role role);
/* submissions, imaps and pop3s start TLS before the first byte. */
bool	 listener_role_is_implicit_tls(enum listener_role role);

/* Takes ownership of *l (leaves it zeroed). */
void	 listener_list_append(struct listener_list *list, struct listener *l);
void	 listener_list_clear(struct listener_list *list);
void	 listener_list_copy(struct listener_list *dst,
	    const struct listener_list *src);
bool	 listener_list_equal(const struct listener_list *a,
	    const struct listener_list *b);

#endif
