/* Tests for tls: a throwaway PKI (root, intermediate, leaf) made with the
 * OpenSSL 3 API in a temporary directory, then real handshakes between a
 * client and a server SSL over a memory BIO pair: versions, ciphers,
 * groups, resumption (also across a fork, as between workers), reload,
 * and the error messages. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tls_client.h"
#include "util.h"

#define HOST	"mail.example.test"

/* The files every test may use; made by pki_setup(). */
static struct {
	char	 dir[64];
	char	 root[128];	/* root CA certificate: the client's trust */
	char	 chain[128];	/* leaf, then intermediate */
	char	 leaf_only[128];
	char	 key[128];	/* the leaf's key */
	char	 other_key[128];	/* a key that matches nothing */
	char	 enc_key[128];	/* the leaf's key under a passphrase */
	char	 garbage[128];
	char	 empty[128];
	char	 missing[128];
	char	 rsa_cert[128];
	char	 rsa_key[128];
} pki;

static long serial = 1;

static void
add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, v3, nid, value);

	cr_assert_not_null(ext, "extension %s", value);
	cr_assert(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
}

/* A certificate for key, signed by issuer_key (self-signed when issuer
 * is NULL). */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    bool ca)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;

	cr_assert_not_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (ca) {
		add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, &v3, NID_subject_alt_name, "DNS:" HOST);
	}
	cr_assert(X509_sign(x, issuer_key != NULL ? issuer_key : key,
	    EVP_sha256()) > 0);
	return x;
}

static void
write_pem(const char *path, X509 *c1, X509 *c2, EVP_PKEY *key,
    const char *pass)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	if (c1 != NULL)
		cr_assert(PEM_write_X509(fp, c1));
	if (c2 != NULL)
		cr_assert(PEM_write_X509(fp, c2));
	if (key != NULL)
		cr_assert(PEM_write_PrivateKey(fp, key,
		    pass != NULL ? EVP_aes_256_cbc() : NULL,
		    (const unsigned char *)pass, pass != NULL ?
		    (int)strlen(pass) : 0, NULL, NULL));
	cr_assert_eq(fclose(fp), 0);
}

static void
write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp);
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
}

static void
path_set(char *out, size_t size, const char *name)
{
	cr_assert_lt((size_t)snprintf(out, size, "%s/%s", pki.dir, name),
	    size);
}

static void
pki_setup(void)
{
	EVP_PKEY *root_key, *int_key, *leaf_key, *other, *rsa;
	X509 *root, *inter, *leaf, *rsa_leaf;

	str_copy(pki.dir, "/tmp/sluice-tls-XXXXXX", sizeof(pki.dir));
	cr_assert_not_null(mkdtemp(pki.dir));
	path_set(pki.root, sizeof(pki.root), "root.pem");
	path_set(pki.chain, sizeof(pki.chain), "chain.pem");
	path_set(pki.leaf_only, sizeof(pki.leaf_only), "leaf.pem");
	path_set(pki.key, sizeof(pki.key), "key.pem");
	path_set(pki.other_key, sizeof(pki.other_key), "other-key.pem");
	path_set(pki.enc_key, sizeof(pki.enc_key), "enc-key.pem");
	path_set(pki.garbage, sizeof(pki.garbage), "garbage.pem");
	path_set(pki.empty, sizeof(pki.empty), "empty.pem");
	path_set(pki.missing, sizeof(pki.missing), "missing.pem");
	path_set(pki.rsa_cert, sizeof(pki.rsa_cert), "rsa-cert.pem");
	path_set(pki.rsa_key, sizeof(pki.rsa_key), "rsa-key.pem");

	root_key = EVP_EC_gen("P-256");
	int_key = EVP_EC_gen("P-256");
	leaf_key = EVP_EC_gen("P-256");
	other = EVP_EC_gen("P-256");
	rsa = EVP_RSA_gen(2048);
	cr_assert(root_key && int_key && leaf_key && other && rsa);
	root = make_cert(root_key, "Sluice Test Root", NULL, NULL, true);
	inter = make_cert(int_key, "Sluice Test Intermediate", root, root_key,
	    true);
	leaf = make_cert(leaf_key, HOST, inter, int_key, false);
	rsa_leaf = make_cert(rsa, HOST, inter, int_key, false);

	write_pem(pki.root, root, NULL, NULL, NULL);
	write_pem(pki.chain, leaf, inter, NULL, NULL);
	write_pem(pki.leaf_only, leaf, NULL, NULL, NULL);
	write_pem(pki.key, NULL, NULL, leaf_key, NULL);
	write_pem(pki.other_key, NULL, NULL, other, NULL);
	write_pem(pki.enc_key, NULL, NULL, leaf_key, "secret");
	write_pem(pki.rsa_cert, rsa_leaf, inter, NULL, NULL);
	write_pem(pki.rsa_key, NULL, NULL, rsa, NULL);
	write_text(pki.garbage, "-----BEGIN CERTIFICATE-----\nnot base64"
	    "\n-----END CERTIFICATE-----\n");
	write_text(pki.empty, "");

	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	X509_free(rsa_leaf);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(int_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other);
	EVP_PKEY_free(rsa);
}

static void
pki_teardown(void)
{
	const char *files[] = { pki.root, pki.chain, pki.leaf_only, pki.key,
	    pki.other_key, pki.enc_key, pki.garbage, pki.empty, pki.rsa_cert,
	    pki.rsa_key };

	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		unlink(files[i]);
	rmdir(pki.dir);
}

/* The server context every handshake test starts from. */
static SSL_CTX *
server_ctx(enum config_tls_version min)
{
	const char *error = NULL;
	SSL_CTX *ctx = tls_server_ctx_new(pki.chain, pki.key, min, &error);

	cr_assert_not_null(ctx, "%s", error);
	return ctx;
}

/* A client that verifies the server against the test root, limited to
 * [min, max] (0: no limit). Security level 0 so that it can really offer
 * TLS 1.0/1.1 and the refusal comes from the server. */
static SSL_CTX *
client_ctx(int min, int max)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	cr_assert_not_null(ctx);
	SSL_CTX_set_security_level(ctx, 0);
	cr_assert(SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0"));
	cr_assert(SSL_CTX_set_min_proto_version(ctx, min));
	cr_assert(SSL_CTX_set_max_proto_version(ctx, max));
	cr_assert(SSL_CTX_load_verify_locations(ctx, pki.root, NULL));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

struct conn {
	SSL	*c;
	SSL	*s;
	bool	 c_done;
	bool	 s_done;
	bool	 failed;
	unsigned long s_error;	/* first error on the server's queue */
};

/* Step one side; false when it failed for good. */
static bool
conn_step(SSL *ssl, bool *done)
{
	int rc, e;

	if (*done)
		return true;
	rc = SSL_do_handshake(ssl);
	if (rc == 1) {
		*done = true;
		return true;
	}
	e = SSL_get_error(ssl, rc);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* Handshake cc against sc; sess (may be NULL) is offered for
 * resumption. Returns whether both sides finished. */
static bool
conn_handshake(struct conn *k, SSL_CTX *cc, SSL_CTX *sc, SSL_SESSION *sess)
{
	BIO *cb, *sb;

	memset(k, 0, sizeof(*k));
	k->c = SSL_new(cc);
	k->s = SSL_new(sc);
	cr_assert(k->c && k->s);
	cr_assert(BIO_new_bio_pair(&cb, 0, &sb, 0));
	SSL_set_bio(k->c, cb, cb);
	SSL_set_bio(k->s, sb, sb);
	SSL_set_connect_state(k->c);
	SSL_set_accept_state(k->s);
	cr_assert(SSL_set1_host(k->c, HOST));
	if (sess != NULL)
		cr_assert(SSL_set_session(k->c, sess));
	ERR_clear_error();
	for (int i = 0; i < 50 && !(k->c_done && k->s_done); i++) {
		bool c_ok = conn_step(k->c, &k->c_done);
		bool s_ok = conn_step(k->s, &k->s_done);

		if (!s_ok && k->s_error == 0)
			k->s_error = ERR_peek_error();
		if (!c_ok || !s_ok) {
			k->failed = true;
			break;
		}
	}
	ERR_clear_error();
	return k->c_done && k->s_done && !k->failed;
}

/* After a TLS 1.3 handshake the ticket arrives after the Finished: let
 * the client read it, then take its session. */
static SSL_SESSION *
conn_session(struct conn *k)
{
	char byte;
	SSL_SESSION *sess;

	cr_assert_eq(SSL_read(k->c, &byte, 1), -1);
	cr_assert_eq(SSL_get_error(k->c, -1), SSL_ERROR_WANT_READ);
	sess = SSL_get1_session(k->c);
	cr_assert_not_null(sess);
	cr_assert(SSL_SESSION_is_resumable(sess));
	return sess;
}

/* Close as the daemon must: a session freed without SSL_shutdown() is
 * taken out of the cache and marked not resumable. */
static void
conn_free(struct conn *k)
{
	SSL_shutdown(k->c);
	SSL_shutdown(k->s);
	ERR_clear_error();
	SSL_free(k->c);
	SSL_free(k->s);
	k->c = k->s = NULL;
}

static void
expect_info(SSL *ssl, const char *version, const char *cipher)
{
	char v[TLS_VERSION_SIZE], c[TLS_CIPHER_SIZE];

	tls_session_info(ssl, v, sizeof(v), c, sizeof(c));
	cr_expect_str_eq(v, version);
	cr_expect_str_eq(c, cipher);
}

TestSuite(tls, .init = pki_setup, .fini = pki_teardown);

Test(tls, ctx_settings)
{
	SSL_CTX *ctx = server_ctx(CONFIG_TLS_1_2);
	uint64_t opts = SSL_CTX_get_options(ctx);

	cr_expect(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS);
	cr_expect(opts & SSL_OP_CIPHER_SERVER_PREFERENCE);
	cr_expect(opts & SSL_OP_NO_COMPRESSION);
	cr_expect(opts & SSL_OP_NO_RENEGOTIATION);
	cr_expect((opts & SSL_OP_NO_TICKET) == 0);
	cr_expect_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	cr_expect_eq(SSL_CTX_get_session_cache_mode(ctx),
	    SSL_SESS_CACHE_SERVER);
	cr_expect_eq(SSL_CTX_sess_get_cache_size(ctx), TLS_SESSION_CACHE_SIZE);
	cr_expect_eq(SSL_CTX_get_timeout(ctx), TLS_SESSION_TIMEOUT);
	tls_ctx_free(&ctx);
	cr_expect_null(ctx);

	ctx = server_ctx(CONFIG_TLS_1_3);
	cr_expect_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
	cr_expect(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS);
	tls_ctx_free(&ctx);
	tls_ctx_free(&ctx);
	tls_ctx_free(NULL);
}

/* Each bad pair fails with a message naming the guilty file and the
 * OpenSSL reason. */
Test(tls, load_errors)
{
	const struct {
		const char	*cert;
		const char	*key;
		const char	*named;		/* file the message names */
		const char	*reason;	/* part of the OpenSSL text */
	} cases[] = {
		{ pki.chain, pki.other_key, pki.other_key, "mismatch" },
		{ pki.missing, pki.key, pki.missing, "No such file" },
		{ pki.chain, pki.missing, pki.missing, "No such file" },
		{ pki.garbage, pki.key, pki.garbage, "error:" },
		{ pki.empty, pki.key, pki.empty, "no start line" },
		{ pki.chain, pki.empty, pki.empty, "error:" },
		/* A key under a passphrase fails instead of prompting. */
		{ pki.chain, pki.enc_key, pki.enc_key, "error:" },
		/* The key is not a certificate. */
		{ pki.key, pki.key, pki.key, "error:" },
		/* An EC key for an RSA certificate: OpenSSL files them in
		 * different slots, the final check catches it. */
		{ pki.rsa_cert, pki.key, pki.key, "does not match" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *error = NULL;
		SSL_CTX *ctx = tls_server_ctx_new(cases[i].cert, cases[i].key,
		    CONFIG_TLS_1_2, &error);

		cr_expect_null(ctx, "case %zu", i);
		cr_assert_not_null(error, "case %zu", i);
		cr_expect_not_null(strstr(error, cases[i].named),
		    "case %zu: %s", i, error);
		cr_expect_not_null(strstr(error, cases[i].reason),
		    "case %zu: %s", i, error);
		/* The queue was drained into the message. */
		cr_expect_eq(ERR_peek_error(), 0, "case %zu", i);
		SSL_CTX_free(ctx);
	}
}

Test(tls, handshake_tls13)
{
	SSL_CTX *sc = server_ctx(CONFIG_TLS_1_2), *cc = client_ctx(0, 0);
	struct conn k;

	/* The client prefers AES-128; the server's order wins. */
	cr_assert(SSL_CTX_set_ciphersuites(cc,
	    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"));
	cr_assert(conn_handshake(&k, cc, sc, NULL));
	/* The client verified the chain: the intermediate came from the
	 * chain file, the client only trusts the root. */
	cr_expect_eq(SSL_get_verify_result(k.c), X509_V_OK);
	expect_info(k.s, "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	expect_info(k.c, "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	cr_expect_eq(SSL_get_negotiated_group(k.s), NID_X25519);
	cr_expect_null(SSL_get_current_compression(k.s));
	cr_expect(SSL_get_mode(k.s) & SSL_MODE_RELEASE_BUFFERS);
	conn_free(&k);
	SSL_CTX_free(cc);
	tls_ctx_free(&sc);
}

Test(tls, handshake_tls12)
{
	SSL_CTX *sc = server_ctx(CONFIG_TLS_1_2);
	SSL_CTX *cc = client_ctx(0, TLS1_2_VERSION);
	struct conn k;

	cr_assert(SSL_CTX_set_cipher_list(cc, "ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-ECDSA-AES256-GCM-SHA384:@SECLEVEL=0"));
	cr_assert(conn_handshake(&k, cc, sc, NULL));
	cr_expect_eq(SSL_get_verify_result(k.c), X509_V_OK);
	expect_info(k.s, "TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384");
	conn_free(&k);
	SSL_CTX_free(cc);
	tls_ctx_free(&sc);
}

Test(tls, handshake_tls12_rsa)
{
	const char *error = NULL;
	SSL_CTX *sc = tls_server_ctx_new(pki.rsa_cert, pki.rsa_key,
	    CONFIG_TLS_1_2, &error);
	SSL_CTX *cc = client_ctx(0, TLS1_2_VERSION);
	struct conn k;

	cr_assert_not_null(sc, "%s", error);
	cr_assert(conn_handshake(&k, cc, sc, NULL));
	expect_info(k.s, "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384");
	conn_free(&k);
	SSL_CTX_free(cc);
	tls_ctx_free(&sc);
}

/* Old protocols are refused by the server itself, not by a client
 * that could not offer them. */
Test(tls, old_versions_refused)
{
	const struct {
		enum config_tls_version	min;
		int			client_max;
	} cases[] = {
		{ CONFIG_TLS_1_2, TLS1_1_VERSION },
		{ CONFIG_TLS_1_2, TLS1_VERSION },
		{ CONFIG_TLS_1_3, TLS1_2_VERSION },
		{ CONFIG_TLS_1_3, TLS1_1_VERSION },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		SSL_CTX *sc = server_ctx(cases[i].min);
		SSL_CTX *cc = client_ctx(0, cases[i].client_max);
		struct conn k;

		cr_expect_not(conn_handshake(&k, cc, sc, NULL), "case %zu", i);
		cr_expect_eq(ERR_GET_REASON(k.s_error),
		    SSL_R_UNSUPPORTED_PROTOCOL, "case %zu: %s", i,
		    ERR_reason_error_string(k.s_error));
		conn_free(&k);
		SSL_CTX_free(cc);
		tls_ctx_free(&sc);
	}
}

Test(tls, min_tls13_accepts_tls13)
{
	SSL_CTX *sc = server_ctx(CONFIG_TLS_1_3), *cc = client_ctx(0, 0);
	struct conn k;

	cr_assert(conn_handshake(&k, cc, sc, NULL));
	expect_info(k.s, "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	conn_free(&k);
	SSL_CTX_free(cc);
	tls_ctx_free(&sc);
}

/* TLS 1.2 without ECDHE or without AEAD finds nothing in common. */
Test(tls, weak_tls12_ciphers_refused)
{
	const char *lists[] = {
		"ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256",
		"AES256-GCM-SHA384:AES128-SHA",
		"DHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-NULL-SHA",
	};

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		SSL_CTX *sc = server_ctx(CONFIG_TLS_1_2);
		SSL_CTX *cc = client_ctx(0, TLS1_2_VERSION);
		struct conn k;

		cr_assert(SSL_CTX_set_cipher_list(cc, lists[i]), "%s",
		    lists[i]);
		cr_expect_not(conn_handshake(&k, cc, sc, NULL), "%s",
		    lists[i]);
		cr_expect_eq(ERR_GET_REASON(k.s_error), SSL_R_NO_SHARED_CIPHER,
		    "%s: %s", lists[i], ERR_reason_error_string(k.s_error));
		conn_free(&k);
		SSL_CTX_free(cc);
		tls_ctx_free(&sc);
	}
}

Test(tls, groups)
{
	/* TLS 1.3 takes the client's key share when the server allows its
	 * group (no extra round trip); TLS 1.2 takes the server's order. */
	const struct {
		int		 version;
		const char	*client;
		int		 nid;	/* 0: must fail */
	} cases[] = {
		{ TLS1_3_VERSION, "P-384", NID_secp384r1 },
		{ TLS1_3_VERSION, "P-256:X25519", NID_X9_62_prime256v1 },
		{ TLS1_3_VERSION, "X448:P-384", NID_secp384r1 },
		{ TLS1_3_VERSION, "X448", 0 },
		{ TLS1_3_VERSION, "P-521", 0 },
		/* TLS 1.2 clients must list the certificate's curve. */
		{ TLS1_2_VERSION, "P-384:X25519:P-256", NID_X25519 },
		{ TLS1_2_VERSION, "P-384:X25519", 0 },
		{ TLS1_2_VERSION, "P-384:P-256", NID_X9_62_prime256v1 },
		{ TLS1_2_VERSION, "P-521:X448", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		SSL_CTX *sc = server_ctx(CONFIG_TLS_1_2);
		SSL_CTX *cc = client_ctx(cases[i].version, cases[i].version);
		struct conn k;
		bool ok;

		cr_assert(SSL_CTX_set1_groups_list(cc, cases[i].client));
		ok = conn_handshake(&k, cc, sc, NULL);
		cr_expect_eq(ok, cases[i].nid != 0, "%s", cases[i].client);
		if (ok)
			cr_expect_eq(SSL_get_negotiated_group(k.s),
			    cases[i].nid, "%s: %d", cases[i].client,
			    (int)SSL_get_negotiated_group(k.s));
		conn_free(&k);
		SSL_CTX_free(cc);
		tls_ctx_free(&sc);
	}
}

/* Full handshake, then one offering its session: resumed, for TLS 1.3
 * tickets, TLS 1.2 tickets and TLS 1.2 session ids. */
Test(tls, resumption)
{
	const struct {
		int	 max;
		bool	 no_ticket;
	} cases[] = {
		{ 0, false },
		{ TLS1_2_VERSION, false },
		{ TLS1_2_VERSION, true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		SSL_CTX *sc = server_ctx(CONFIG_TLS_1_2);
		SSL_CTX *cc = client_ctx(0, cases[i].max);
		SSL_SESSION *sess;
		struct conn k;

		if (cases[i].no_ticket)
			SSL_CTX_set_options(cc, SSL_OP_NO_TICKET);
		cr_assert(conn_handshake(&k, cc, sc, NULL), "case %zu", i);
		cr_expect_not(SSL_session_reused(k.s));
		sess = conn_session(&k);
		conn_free(&k);

		cr_assert(conn_handshake(&k, cc, sc, sess), "case %zu", i);
		cr_expect(SSL_session_reused(k.s), "case %zu", i);
		cr_expect(SSL_session_reused(k.c), "case %zu", i);
		expect_info(k.s, cases[i].max == 0 ? "TLSv1.3" : "TLSv1.2",
		    cases[i].max == 0 ? "TLS_AES_256_GCM_SHA384" :
		    "ECDHE-ECDSA-AES256-GCM-SHA384");
		conn_free(&k);
		SSL_SESSION_free(sess);
		SSL_CTX_free(cc);
		tls_ctx_free(&sc);
	}
}

/* The session serialised by a child process (one worker) resumes in the
 * parent (another worker) when the context was made before the fork;
 * the parent's session cache never saw it, so the ticket did it. */
static SSL_SESSION *
session_from_child(SSL_CTX *sc, SSL_CTX *cc)
{
	unsigned char der[4096];
	const unsigned char *p = der;
	int fds[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct conn k;
		unsigned char *out = der;
		SSL_SESSION *sess;
		int len;

		close(fds[0]);
		if (!conn_handshake(&k, cc, sc, NULL))
			_exit(1);
		sess = conn_session(&k);
		len = i2d_SSL_SESSION(sess, NULL);
		if (len <= 0 || len > (int)sizeof(der) ||
		    i2d_SSL_SESSION(sess, &out) != len ||
		    write(fds[1], der, (size_t)len) != len)
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], der + got, sizeof(der) - (size_t)got)) > 0)
		got += n;
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return d2i_SSL_SESSION(NULL, &p, (long)got);
}

Test(tls, resumption_across_fork)
{
	const int maxes[] = { 0, TLS1_2_VERSION };

	for (size_t i = 0; i < ARRAY_SIZE(maxes); i++) {
		SSL_CTX *sc = server_ctx(CONFIG_TLS_1_2);
		SSL_CTX *cc = client_ctx(0, maxes[i]);
		SSL_CTX *other = server_ctx(CONFIG_TLS_1_2);
		SSL_SESSION *sess = session_from_child(sc, cc);
		struct conn k;

		cr_assert_not_null(sess);
		cr_assert(conn_handshake(&k, cc, sc, sess));
		cr_expect(SSL_session_reused(k.s), "max %d", maxes[i]);
		conn_free(&k);
		/* A context made on its own (a worker that built its own)
		 * has other ticket keys: full handshake. */
		cr_assert(conn_handshake(&k, cc, other, sess));
		cr_expect_not(SSL_session_reused(k.s), "max %d", maxes[i]);
		conn_free(&k);
		SSL_SESSION_free(sess);
		SSL_CTX_free(cc);
		tls_ctx_free(&other);
		tls_ctx_free(&sc);
	}
}

Test(tls, reload)
{
	SSL_CTX *old = server_ctx(CONFIG_TLS_1_2), *cc = client_ctx(0, 0);
	SSL_CTX *fresh, *bad;
	unsigned char k1[80], k2[80];
	const char *error = NULL;
	SSL_SESSION *sess;
	struct conn k;

	cr_assert(conn_handshake(&k, cc, old, NULL));
	sess = conn_session(&k);
	conn_free(&k);

	/* A failed reload says why and leaves the old context working. */
	bad = tls_server_ctx_reload(old, pki.chain, pki.missing,
	    CONFIG_TLS_1_2, &error);
	cr_expect_null(bad);
	cr_assert_not_null(error);
	cr_expect_not_null(strstr(error, pki.missing), "%s", error);
	cr_assert(conn_handshake(&k, cc, old, sess));
	cr_expect(SSL_session_reused(k.s));

	/* The new context (here with the RSA certificate) carries the
	 * ticket keys over, so the old session resumes on it. A session made
	 * from the old context survives the old context's last reference. */
	fresh = tls_server_ctx_reload(old, pki.rsa_cert, pki.rsa_key,
	    CONFIG_TLS_1_2, &error);
	cr_assert_not_null(fresh, "%s", error);
	cr_assert_eq(SSL_CTX_get_tlsext_ticket_keys(old, k1, sizeof(k1)), 1);
	cr_assert_eq(SSL_CTX_get_tlsext_ticket_keys(fresh, k2, sizeof(k2)), 1);
	cr_expect(memcmp(k1, k2, sizeof(k1)) == 0);
	tls_ctx_free(&old);
	cr_expect_eq(SSL_write(k.s, "hi", 2), 2);
	conn_free(&k);
	cr_assert(conn_handshake(&k, cc, fresh, sess));
	cr_expect(SSL_session_reused(k.s));
	conn_free(&k);
	SSL_SESSION_free(sess);

	/* Nothing to carry over: still a context. */
	bad = tls_server_ctx_reload(NULL, pki.chain, pki.key, CONFIG_TLS_1_3,
	    &error);
	cr_expect_not_null(bad, "%s", error);
	tls_ctx_free(&bad);
	tls_ctx_free(&fresh);
	SSL_CTX_free(cc);
}

/* A client asking to renegotiate a TLS 1.2 session gets nowhere. */
Test(tls, no_renegotiation)
{
	SSL_CTX *sc = server_ctx(CONFIG_TLS_1_2);
	SSL_CTX *cc = client_ctx(0, TLS1_2_VERSION);
	char buf[8];
	struct conn k;
	int rc;

	cr_assert(conn_handshake(&k, cc, sc, NULL));
	cr_assert(SSL_renegotiate(k.c));
	for (int i = 0; i < 10; i++) {
		SSL_do_handshake(k.c);
		SSL_read(k.s, buf, sizeof(buf));
	}
	cr_expect_eq(SSL_num_renegotiations(k.s), 0);
	/* The server never started a second handshake; the client either
	 * gave up or is still waiting, never done. */
	rc = SSL_do_handshake(k.c);
	cr_expect(rc != 1 || SSL_renegotiate_pending(k.c));
	/* The server refuses to start one itself too. */
	cr_expect_eq(SSL_renegotiate(k.s), 0);
	ERR_clear_error();
	conn_free(&k);
	SSL_CTX_free(cc);
	tls_ctx_free(&sc);
}

Test(tls, session_info_edges)
{
	SSL_CTX *sc = server_ctx(CONFIG_TLS_1_2), *cc = client_ctx(0, 0);
	char v[4], c[8];
	struct conn k;
	SSL *fresh = SSL_new(sc);

	/* Before a handshake: nothing, not the method's best version. */
	memset(v, 'X', sizeof(v));
	memset(c, 'X', sizeof(c));
	tls_session_info(fresh, v, sizeof(v), c, sizeof(c));
	cr_expect_str_eq(v, "");
	cr_expect_str_eq(c, "");
	SSL_free(fresh);

	/* Truncated, always terminated. */
	cr_assert(conn_handshake(&k, cc, sc, NULL));
	tls_session_info(k.s, v, sizeof(v), c, sizeof(c));
	cr_expect_str_eq(v, "TLS");
	cr_expect_str_eq(c, "TLS_AES");
	conn_free(&k);
	SSL_CTX_free(cc);
	tls_ctx_free(&sc);
}

Test(tls, error_string)
{
	char buf[512], tiny[8];

	ERR_clear_error();
	cr_expect_str_eq(tls_error_string(buf, sizeof(buf)),
	    "no OpenSSL error");

	ERR_raise(ERR_LIB_SSL, SSL_R_NO_SHARED_CIPHER);
	ERR_raise_data(ERR_LIB_SYS, ENOENT, "calling fopen(%s)", "/x/y");
	cr_assert_eq(tls_error_string(buf, sizeof(buf)), buf);
	cr_expect_not_null(strstr(buf, "no shared cipher"), "%s", buf);
	cr_expect_not_null(strstr(buf, "; "), "%s", buf);
	cr_expect_not_null(strstr(buf, "(calling fopen(/x/y))"), "%s", buf);
	cr_expect_eq(ERR_peek_error(), 0);

	/* Too small: cut, terminated, and the queue still drained. */
	for (int i = 0; i < 5; i++)
		ERR_raise(ERR_LIB_SSL, SSL_R_NO_SHARED_CIPHER);
	tls_error_string(tiny, sizeof(tiny));
	cr_expect_eq(strlen(tiny), sizeof(tiny) - 1);
	cr_expect_eq(ERR_peek_error(), 0);

	ERR_raise(ERR_LIB_SSL, SSL_R_NO_SHARED_CIPHER);
	tls_error_string(NULL, 0);
	cr_expect_eq(ERR_peek_error(), 0);
}

/* ---- the client side (tls_client.c): policies and DANE ---------------- */

/* The n-th certificate of a PEM file. */
static X509 *
pem_cert(const char *path, int n)
{
	FILE *fp = fopen(path, "r");
	X509 *x = NULL;

	cr_assert_not_null(fp);
	for (int i = 0; i <= n; i++) {
		X509_free(x);
		x = PEM_read_X509(fp, NULL, NULL, NULL);
		cr_assert_not_null(x);
	}
	fclose(fp);
	return x;
}

/* SHA-256 of a certificate's SubjectPublicKeyInfo: TLSA x 1 1. */
static void
spki_sha256(X509 *x, uint8_t out[32])
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	unsigned int n = 32;

	cr_assert_gt(len, 0);
	cr_assert(EVP_Digest(der, (size_t)len, out, &n, EVP_sha256(), NULL));
	OPENSSL_free(der);
}

/* Handshake a prepared client against the test server; then judge it. */
static bool
client_handshake(SSL *c, enum tls_policy policy, bool dane,
    struct tls_client_result *r)
{
	SSL_CTX *sc = server_ctx(CONFIG_TLS_1_2);
	struct conn k = { .c = c };
	BIO *cb, *sb;
	bool done;

	k.s = SSL_new(sc);
	cr_assert(BIO_new_bio_pair(&cb, 0, &sb, 0));
	SSL_set_bio(k.c, cb, cb);
	SSL_set_bio(k.s, sb, sb);
	SSL_set_connect_state(k.c);
	SSL_set_accept_state(k.s);
	for (int i = 0; i < 50 && !(k.c_done && k.s_done); i++)
		if (!conn_step(k.c, &k.c_done) || !conn_step(k.s, &k.s_done))
			break;
	done = k.c_done && k.s_done;
	if (done)
		tls_client_check(c, policy, dane, r);
	conn_free(&k);
	SSL_CTX_free(sc);
	return done;
}

/* Connect with policy and one TLSA record (usage < 0: none). */
static struct tls_client_result
client_try(const char *ca, const char *host, enum tls_policy policy,
    int usage, const uint8_t *digest, bool *dane_r)
{
	const char *err = NULL;
	SSL_CTX *cc = tls_client_ctx_new(ca, CONFIG_TLS_1_2, &err);
	struct tls_tlsa t = { (uint8_t)usage, 1, 1, digest, 32 };
	struct tls_client_result r;
	SSL *c;

	cr_assert_not_null(cc, "%s", err);
	c = tls_client_new(cc, host, policy, usage < 0 ? NULL : &t,
	    usage < 0 ? 0 : 1, dane_r, &err);
	cr_assert_not_null(c, "%s", err);
	memset(&r, 0, sizeof(r));
	cr_assert(client_handshake(c, policy, *dane_r, &r),
	    "the handshake completes whatever the certificate");
	SSL_CTX_free(cc);
	return r;
}

Test(tls, client_dane_ee_and_ta, .init = pki_setup, .fini = pki_teardown)
{
	X509 *leaf = pem_cert(pki.chain, 0), *inter = pem_cert(pki.chain, 1);
	uint8_t ee[32], ta[32], wrong[32];
	struct tls_client_result r;
	bool dane;

	spki_sha256(leaf, ee);
	spki_sha256(inter, ta);
	memset(wrong, 0x5a, sizeof(wrong));
	/* DANE-EE 3 1 1: the key matches; no CA, no name needed. */
	r = client_try(NULL, "other.example.test", TLS_POLICY_MAY, 3, ee,
	    &dane);
	cr_assert(dane);
	cr_assert(r.ok, "%s", r.reason);
	cr_assert_str_eq(r.dane, "verified");
	cr_assert_str_eq(r.version, "TLSv1.3");
	/* A record that matches nothing: the MX fails, whatever the policy. */
	r = client_try(NULL, HOST, TLS_POLICY_MAY, 3, wrong, &dane);
	cr_assert(dane);
	cr_assert(!r.ok);
	cr_assert_str_eq(r.dane, "failed");
	cr_assert(strstr(r.reason, "DANE") != NULL);
	/* DANE-TA 2 1 1 on the intermediate: chain and name checked. */
	r = client_try(NULL, HOST, TLS_POLICY_DANE, 2, ta, &dane);
	cr_assert(r.ok, "%s", r.reason);
	cr_assert_str_eq(r.dane, "verified");
	r = client_try(NULL, "other.example.test", TLS_POLICY_DANE, 2, ta,
	    &dane);
	cr_assert(!r.ok, "DANE-TA checks the MX host name");
	X509_free(leaf);
	X509_free(inter);
}

Test(tls, client_pkix_records_unusable, .init = pki_setup,
    .fini = pki_teardown)
{
	uint8_t digest[32];
	struct tls_client_result r;
	bool dane = true;

	memset(digest, 1, sizeof(digest));
	/* PKIX-EE(1) is not for SMTP (RFC 7672 3.1.3): no DANE in force,
	 * TLS without authentication. */
	r = client_try(NULL, HOST, TLS_POLICY_ENCRYPT, 1, digest, &dane);
	cr_assert(!dane);
	cr_assert(r.ok);
	cr_assert_str_eq(r.dane, "none");
}

Test(tls, client_verify_policy, .init = pki_setup, .fini = pki_teardown)
{
	struct tls_client_result r;
	bool dane;

	r = client_try(pki.root, HOST, TLS_POLICY_VERIFY, -1, NULL, &dane);
	cr_assert(r.ok, "%s", r.reason);
	r = client_try(pki.root, "other.example.test", TLS_POLICY_VERIFY, -1,
	    NULL, &dane);
	cr_assert(!r.ok, "the name must match");
	r = client_try(pki.rsa_cert, HOST, TLS_POLICY_VERIFY, -1, NULL,
	    &dane);
	cr_assert(!r.ok, "no path to a trusted root fails");
	/* encrypt: any certificate will do. */
	r = client_try(pki.rsa_cert, "x.example", TLS_POLICY_ENCRYPT, -1,
	    NULL, &dane);
	cr_assert(r.ok);
}

Test(tls, client_policy_names)
{
	enum tls_policy p;

	cr_assert_eq(tls_policy_parse("dane", &p), 0);
	cr_assert_eq(p, TLS_POLICY_DANE);
	cr_assert_str_eq(tls_policy_name(TLS_POLICY_VERIFY), "verify");
	cr_assert_eq(tls_policy_parse("DANE", &p), -1);
	cr_assert(tls_policy_allows_plaintext(TLS_POLICY_MAY));
	cr_assert(!tls_policy_allows_plaintext(TLS_POLICY_ENCRYPT));
}
