/* tls: see tls.h. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"
#include "util.h"

/* OpenSSL 3 ticket keys: 16 bytes of name, 32 of HMAC key, 32 of AES
 * key; SSL_CTX_get_tlsext_ticket_keys() refuses any other length. */
#define TLS_TICKET_KEYS_LEN	80

/* Backs the *error_r strings; per thread, so workers with a TLS thread
 * never share it. */
static _Thread_local char tls_error_buf[1024];

/* Never ask for a passphrase: a daemon has no one to answer. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* Set *error_r to "what FILE: <OpenSSL errors>"; returns NULL. */
static SSL_CTX *
tls_fail(SSL_CTX *ctx, const char *what, const char *file,
    const char **error_r)
{
	char queue[768];

	tls_error_string(queue, sizeof(queue));
	if (file != NULL)
		snprintf(tls_error_buf, sizeof(tls_error_buf), "%s %s: %s",
		    what, file, queue);
	else
		snprintf(tls_error_buf, sizeof(tls_error_buf), "%s: %s", what,
		    queue);
	*error_r = tls_error_buf;
	SSL_CTX_free(ctx);
	return NULL;
}

/* Everything that does not depend on the files. */
static int
tls_ctx_configure(SSL_CTX *ctx, enum config_tls_version min,
    const char **what_r)
{
	static const unsigned char sid_ctx[] = TLS_SESSION_ID_CONTEXT;

	*what_r = "cannot set the TLS protocol versions";
	if (!SSL_CTX_set_min_proto_version(ctx,
	    min == CONFIG_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, 0))
		return -1;
	/* Server order: a client preferring a weak suite cannot get it. */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	*what_r = "cannot set the TLS 1.2 cipher list";
	if (!SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_TLS12))
		return -1;
	*what_r = "cannot set the TLS key exchange groups";
	if (!SSL_CTX_set1_groups_list(ctx, TLS_GROUPS))
		return -1;
	*what_r = "cannot set the TLS session id context";
	if (!SSL_CTX_set_session_id_context(ctx, sid_ctx,
	    sizeof(sid_ctx) - 1))
		return -1;
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, TLS_SESSION_CACHE_SIZE);
	SSL_CTX_set_timeout(ctx, TLS_SESSION_TIMEOUT);
	/* One TLS 1.3 ticket per handshake: SMTP clients reconnect one at a
	 * time, and each ticket costs an encryption on the server. */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
	return 0;
}

SSL_CTX *
tls_server_ctx_new(const char *cert_file, const char *key_file,
    enum config_tls_version min, const char **error_r)
{
	SSL_CTX *ctx;
	const char *what;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return tls_fail(NULL, "cannot create a TLS context", NULL,
		    error_r);
	if (tls_ctx_configure(ctx, min, &what) != 0)
		return tls_fail(ctx, what, NULL, error_r);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
		return tls_fail(ctx, "cannot load the certificate chain from",
		    cert_file, error_r);
	/* This also fails when the key does not match the certificate. */
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1)
		return tls_fail(ctx, "cannot load the private key from",
		    key_file, error_r);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail(ctx, "the certificate does not match the key in",
		    key_file, error_r);
	return ctx;
}

SSL_CTX *
tls_server_ctx_reload(SSL_CTX *old, const char *cert_file,
    const char *key_file, enum config_tls_version min, const char **error_r)
{
	unsigned char keys[TLS_TICKET_KEYS_LEN];
	SSL_CTX *ctx;
	bool ok;

	if ((ctx = tls_server_ctx_new(cert_file, key_file, min,
	    error_r)) == NULL || old == NULL)
		return ctx;
	ok = SSL_CTX_get_tlsext_ticket_keys(old, keys, sizeof(keys)) == 1 &&
	    SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof(keys)) == 1;
	mem_wipe(keys, sizeof(keys));
	if (!ok)
		return tls_fail(ctx, "cannot carry over the session ticket keys",
		    NULL, error_r);
	return ctx;
}

void
tls_ctx_free(SSL_CTX **ctxp)
{
	if (ctxp == NULL || *ctxp == NULL)
		return;
	SSL_CTX_free(*ctxp);
	*ctxp = NULL;
}

void
tls_session_info(const SSL *ssl, char *version, size_t vsize, char *cipher,
    size_t csize)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const char *name;

	/* Before the handshake SSL_get_version() names the method's highest
	 * version, which was not negotiated: say nothing instead. */
	if (c == NULL || !SSL_is_init_finished(ssl)) {
		str_copy(version, "", vsize);
		str_copy(cipher, "", csize);
		return;
	}
	str_copy(version, SSL_get_version(ssl), vsize);
	name = SSL_CIPHER_get_name(c);
	str_copy(cipher, name != NULL ? name : "", csize);
}

const char *
tls_error_string(char *buf, size_t size)
{
	char one[256];
	const char *data;
	unsigned long e;
	size_t len = 0;
	int flags;

	/* Idempotent; makes sure the SSL reason texts are loaded even when
	 * no context was made yet. */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	if (size > 0)
		buf[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data,
	    &flags)) != 0) {
		if (size == 0 || len + 1 >= size)
			continue;	/* keep draining */
		ERR_error_string_n(e, one, sizeof(one));
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		    len > 0 ? "; " : "", one);
		if (len < size && (flags & ERR_TXT_STRING) && data != NULL &&
		    *data != '\0')
			len += (size_t)snprintf(buf + len, size - len, " (%s)",
			    data);
		if (len >= size)
			len = size - 1;
	}
	if (size > 0 && len == 0)
		str_copy(buf, "no OpenSSL error", size);
	return buf;
}
