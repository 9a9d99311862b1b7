/*
 * tls_client: the TLS side of Sluice's SMTP client (RFC 3207 STARTTLS to
 * other MTAs, implicit TLS or STARTTLS to smarthosts), with DANE (RFC 6698,
 * 7671, 7672) through OpenSSL's own DANE support.
 *
 * Policies, per destination (sluice.conf(5)):
 *   none     no TLS, even when offered
 *   may      opportunistic: TLS when offered, any certificate; plaintext
 *            only when STARTTLS is not offered (the caller's decision)
 *   encrypt  TLS required, any certificate
 *   verify   TLS required, a certificate valid for the host name under
 *            the system's CAs (or ca_file)
 *   dane     TLS required and the certificate must match a usable secure
 *            TLSA record
 * Whatever the configured policy, usable TLSA records obtained securely
 * make it dane (RFC 7672 2.2): the caller passes them and this module
 * enforces them. Only DANE-TA(2) and DANE-EE(3) records are usable for
 * SMTP (RFC 7672 3.1.3); PKIX-TA(0)/PKIX-EE(1) ones are ignored. If the
 * TLSA RRset holds no usable record, TLS is still required, without
 * authentication (RFC 7672 2.2). DANE-EE(3) matches skip name checks
 * (RFC 7672 3.1.1); DANE-TA(2) checks the name against the MX host name.
 *
 * The handshake never fails for a bad certificate by itself (verify mode
 * NONE): after it, tls_client_check() says whether the peer passed the
 * policy, and why not, so the caller can log it, record it in the attempt
 * and close without sending mail.
 */
#ifndef SLUICE_TLS_CLIENT_H
#define SLUICE_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "config.h"

enum tls_policy {
	TLS_POLICY_NONE,
	TLS_POLICY_MAY,
	TLS_POLICY_ENCRYPT,
	TLS_POLICY_VERIFY,
	TLS_POLICY_DANE,
};

/* One TLSA record (RFC 6698 2.1). */
struct tls_tlsa {
	uint8_t		 usage, selector, mtype;
	const uint8_t	*data;
	size_t		 len;
};

/* After the handshake. */
struct tls_client_result {
	bool		 ok;		/* the peer passed the policy */
	const char	*dane;		/* "none", "verified", "failed" */
	char		 reason[160];	/* when !ok: why, for logs */
	char		 version[16];	/* e.g. TLSv1.3 */
	char		 cipher[64];
};

/* "none" ... "dane" to a policy; -1 when unknown. */
int	 tls_policy_parse(const char *s, enum tls_policy *policy_r);
const char *tls_policy_name(enum tls_policy policy);
/* Does the policy allow mail to go without TLS? */
bool	 tls_policy_allows_plaintext(enum tls_policy policy);

/*
 * A client context: TLS 1.2 minimum (or min), the system's CA store (or
 * ca_file when not NULL), DANE enabled, SSL_MODE_RELEASE_BUFFERS.
 */
SSL_CTX	*tls_client_ctx_new(const char *ca_file, enum config_tls_version min,
	    const char **error_r);

/*
 * A connection to host (SNI, name checks) under policy, with the TLSA
 * records tlsa[0..ntlsa) (obtained through DNSSEC; none: NULL, 0), which
 * make it a DANE connection. Returns NULL with *error_r on failure.
 * *dane_r tells whether DANE is in force (a usable record was added).
 */
SSL	*tls_client_new(SSL_CTX *ctx, const char *host, enum tls_policy policy,
	    const struct tls_tlsa *tlsa, size_t ntlsa, bool *dane_r,
	    const char **error_r);

/* Judge a finished handshake against the policy (dane: as tls_client_new
 * said). */
void	 tls_client_check(SSL *ssl, enum tls_policy policy, bool dane,
	    struct tls_client_result *r);

#endif
