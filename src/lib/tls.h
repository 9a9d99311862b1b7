/*
 * tls: the server-side OpenSSL 3 context every Sluice listener that speaks
 * TLS shares (STARTTLS on 25/587/143/110, implicit TLS on 465/993/995),
 * and the few helpers around it.
 *
 * Contract:
 * - tls_server_ctx_new() returns a context ready for SSL_new(), or NULL
 *   with a message in *error_r that names the file and carries the
 *   OpenSSL error queue text. The message lives in a per-thread buffer
 *   and stays valid until the next tls_* call in the same thread. It
 *   never prompts: an encrypted key file is an error, not a passphrase
 *   question on a daemon's terminal.
 * - Settings (not configurable on purpose, so every listener is alike):
 *   TLS 1.2 minimum (1.3 when configured); for TLS 1.2 only ECDHE key
 *   exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305), in the
 *   server's order; TLS 1.3 suites are OpenSSL's defaults, also in the
 *   server's order; groups X25519, P-256, P-384; no compression; no
 *   renegotiation of any kind; SSL_MODE_RELEASE_BUFFERS, so an idle
 *   session holds no 34 KiB read/write buffers (DESIGN.md budgets a few
 *   tens of KiB per idle session).
 * - Resumption: session tickets (stateless, the path TLS 1.3 clients use)
 *   and a per-process server session cache for TLS 1.2 clients that only
 *   know session ids; TLS_SESSION_TIMEOUT seconds either way. Callers
 *   must SSL_shutdown() (once, without waiting for the peer) before
 *   SSL_free(): OpenSSL takes a session freed without it out of the cache
 *   as if the connection had failed.
 *
 * Several workers: OpenSSL 3 draws the ticket keys (name, HMAC and AES
 * keys) at random in SSL_CTX_new() and never rotates them by itself. So
 * the master creates the context before it forks, and every worker
 * inherits a copy of the same keys: a ticket issued by one worker is
 * accepted by any other (tests/unit/test_tls.c proves it across a fork).
 * Workers that each create their own context cannot resume each other's
 * sessions. The session-id cache stays per process whatever is done, so
 * id-only TLS 1.2 clients resume only when they hit the same worker; that
 * is acceptable, since a failed resumption is merely a full handshake.
 * SSL_CTX_set_tlsext_ticket_key_evp_cb() with keys made in the master
 * would work too and is the way to add rotation later; it is not needed
 * while the keys live as long as the master (a restart rotates them).
 *
 * Reload (SIGHUP): tls_server_ctx_reload() builds a fresh context from
 * the files and, only when that works, copies the ticket keys of the old
 * one into it and returns it; the caller swaps it in and frees the old
 * with tls_ctx_free(). OpenSSL counts references: SSL objects already
 * made from the old context keep it alive until they are freed, so live
 * sessions are never disturbed. Because the keys are carried over,
 * tickets issued before the reload still resume, and workers that reload
 * independently still agree with each other.
 */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

/* Lifetime of a resumable session and of its ticket, in seconds. */
#define TLS_SESSION_TIMEOUT	3600
/* Sessions kept per process for id-based (TLS 1.2) resumption. */
#define TLS_SESSION_CACHE_SIZE	4096
/* The session id context: resumption only within Sluice's servers. */
#define TLS_SESSION_ID_CONTEXT	"sluice"
/* TLS 1.2 ciphers: forward secret and authenticated only. */
#define TLS_CIPHERS_TLS12						\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"	\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
#define TLS_GROUPS		"X25519:P-256:P-384"
/* Room for tls_session_info() strings, NUL included. */
#define TLS_VERSION_SIZE	16
#define TLS_CIPHER_SIZE		64

/*
 * A server context from a PEM certificate chain (leaf first, then the
 * intermediates) and a PEM private key, checked to belong together.
 */
SSL_CTX	*tls_server_ctx_new(const char *cert_file, const char *key_file,
	    enum config_tls_version min, const char **error_r);

/*
 * A new server context as tls_server_ctx_new() builds it, carrying over
 * old's session ticket keys (old may be NULL: nothing to carry). Returns
 * NULL with *error_r set, and old untouched, when the files do not load.
 */
SSL_CTX	*tls_server_ctx_reload(SSL_CTX *old, const char *cert_file,
	    const char *key_file, enum config_tls_version min,
	    const char **error_r);

/* Drop the caller's reference and set *ctxp to NULL; accepts NULL. */
void	 tls_ctx_free(SSL_CTX **ctxp);

/*
 * The negotiated protocol ("TLSv1.3") and cipher, by its OpenSSL name as
 * Postfix and Dovecot log it ("TLS_AES_256_GCM_SHA384",
 * "ECDHE-RSA-AES256-GCM-SHA384"), for the queue record and the Received
 * header. Both are "" before a handshake has completed. Truncated to
 * fit; TLS_VERSION_SIZE and TLS_CIPHER_SIZE are always enough.
 */
void	 tls_session_info(const SSL *ssl, char *version, size_t vsize,
	    char *cipher, size_t csize);

/*
 * Drain this thread's OpenSSL error queue into buf as one line, entries
 * joined by "; ", each with its detail text when OpenSSL has some
 * (e.g. the file it failed to open). "no OpenSSL error" when the queue
 * is empty. Returns buf; size 0 only empties the queue.
 */
const char *tls_error_string(char *buf, size_t size);

#endif
