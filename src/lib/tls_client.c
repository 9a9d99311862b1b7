/* tls_client: see tls_client.h. */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tls_client.h"
#include "util.h"

static const char *const policy_names[] = {
	[TLS_POLICY_NONE] = "none",
	[TLS_POLICY_MAY] = "may",
	[TLS_POLICY_ENCRYPT] = "encrypt",
	[TLS_POLICY_VERIFY] = "verify",
	[TLS_POLICY_DANE] = "dane",
};

int
tls_policy_parse(const char *s, enum tls_policy *policy_r)
{
	for (size_t i = 0; i < ARRAY_SIZE(policy_names); i++)
		if (strcmp(s, policy_names[i]) == 0) {
			*policy_r = (enum tls_policy)i;
			return 0;
		}
	return -1;
}

const char *
tls_policy_name(enum tls_policy policy)
{
	return (size_t)policy < ARRAY_SIZE(policy_names) ?
	    policy_names[policy] : "?";
}

bool
tls_policy_allows_plaintext(enum tls_policy policy)
{
	return policy == TLS_POLICY_NONE || policy == TLS_POLICY_MAY;
}

/* The OpenSSL error queue as one line, into a thread's own buffer. */
static const char *
client_error(const char *what)
{
	static _Thread_local char msg[256];
	unsigned long e = ERR_get_error();
	char detail[160];

	ERR_error_string_n(e, detail, sizeof(detail));
	snprintf(msg, sizeof(msg), "%s: %s", what, e ? detail : "failed");
	ERR_clear_error();
	return msg;
}

SSL_CTX *
tls_client_ctx_new(const char *ca_file, enum config_tls_version min,
    const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok;

	if (ctx == NULL) {
		*error_r = client_error("SSL_CTX_new");
		return NULL;
	}
	ok = SSL_CTX_set_min_proto_version(ctx, min == CONFIG_TLS_1_3 ?
	    TLS1_3_VERSION : TLS1_2_VERSION) == 1 &&
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_TLS12) == 1 &&
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) == 1 &&
	    (ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file,
	    NULL) : SSL_CTX_set_default_verify_paths(ctx)) == 1 &&
	    SSL_CTX_dane_enable(ctx) > 0;
	if (!ok) {
		*error_r = client_error("TLS client context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* The verdict is ours, after the handshake: tls_client_check(). */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* RFC 7672 3.1.1: DANE-EE(3) binds the key, not a name. */
	SSL_CTX_dane_set_flags(ctx, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	return ctx;
}

/* Add the usable records; how many were usable, -1 on error. */
static int
client_tlsa_add(SSL *ssl, const struct tls_tlsa *tlsa, size_t n)
{
	int usable = 0;

	for (size_t i = 0; i < n; i++) {
		int rc;

		if (tlsa[i].usage != 2 && tlsa[i].usage != 3)
			continue;	/* PKIX-* are not for SMTP */
		rc = SSL_dane_tlsa_add(ssl, tlsa[i].usage, tlsa[i].selector,
		    tlsa[i].mtype, tlsa[i].data, tlsa[i].len);
		if (rc < 0)
			return -1;
		usable += rc > 0;
	}
	return usable;
}

SSL *
tls_client_new(SSL_CTX *ctx, const char *host, enum tls_policy policy,
    const struct tls_tlsa *tlsa, size_t ntlsa, bool *dane_r,
    const char **error_r)
{
	SSL *ssl = SSL_new(ctx);
	unsigned char ip[16];
	bool literal = inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1;
	int usable = 0;

	*dane_r = false;
	/* No address as a server name (RFC 6066 3). */
	if (ssl == NULL || (!literal &&
	    SSL_set_tlsext_host_name(ssl, host) != 1)) {
		*error_r = client_error("SSL_new");
		SSL_free(ssl);
		return NULL;
	}
	if (ntlsa > 0) {
		if (SSL_dane_enable(ssl, host) <= 0 ||
		    (usable = client_tlsa_add(ssl, tlsa, ntlsa)) < 0) {
			*error_r = client_error("DANE");
			SSL_free(ssl);
			return NULL;
		}
		*dane_r = usable > 0;
	} else if (policy == TLS_POLICY_VERIFY && (literal ?
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1 :
	    SSL_set1_host(ssl, host) != 1)) {
		*error_r = client_error("SSL_set1_host");
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

static void
client_session_info(SSL *ssl, struct tls_client_result *r)
{
	const char *v = SSL_get_version(ssl);
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);

	str_copy(r->version, v != NULL ? v : "", sizeof(r->version));
	str_copy(r->cipher, c != NULL ? SSL_CIPHER_get_name(c) : "",
	    sizeof(r->cipher));
}

void
tls_client_check(SSL *ssl, enum tls_policy policy, bool dane,
    struct tls_client_result *r)
{
	long verify = SSL_get_verify_result(ssl);

	memset(r, 0, sizeof(*r));
	client_session_info(ssl, r);
	r->dane = "none";
	r->ok = true;
	if (dane) {
		if (verify == X509_V_OK &&
		    SSL_get0_dane_authority(ssl, NULL, NULL) >= 0) {
			r->dane = "verified";
			return;
		}
		r->dane = "failed";
		r->ok = false;
		snprintf(r->reason, sizeof(r->reason), "DANE: no TLSA record "
		    "matches the certificate (%s)",
		    X509_verify_cert_error_string(verify));
		return;
	}
	if (policy == TLS_POLICY_DANE) {
		/* dane required, and no usable TLSA record to check. */
		r->ok = false;
		r->dane = "failed";
		snprintf(r->reason, sizeof(r->reason), "DANE required but no "
		    "usable secure TLSA record");
		return;
	}
	if (policy == TLS_POLICY_VERIFY && verify != X509_V_OK) {
		r->ok = false;
		snprintf(r->reason, sizeof(r->reason), "certificate not "
		    "verified: %s", X509_verify_cert_error_string(verify));
	}
}
