/*
 * Unit tests for the SMTP session state machine, driven from buffers with
 * fake services: no sockets, no databases.
 */
#include <criterion/criterion.h>
#include <stdarg.h>

#include "db_queue.h"
#include "session.h"
#include "buf.h"
#include "log.h"
#include "util.h"

struct fake {
	struct config		 cfg;
	struct listener		 listener;
	struct smtpd_services	 svc;
	struct smtpd_env	 env;
	struct smtpd_session	*s;
	struct buf		 out;
	bool			 closed, starttls;
	int			 resumed;
	unsigned		 qids;
	char			 auth_user[300], auth_pass[300];
	int			 auth_calls;
	struct queue_msg	*queued;
	int			 queue_calls;
	struct policy		*policy;
	int			 policy_calls[POLICY_STAGE_COUNT];
	int			 counted[POLICY_EVENT_COUNT];
};

static struct fake F;

/* The real default.policy, with facts from a small fake directory. */
static enum dir_domain_kind
fake_domain(void *impl, const char *domain)
{
	(void)impl;
	if (strcmp(domain, "example.org") == 0)
		return DIR_DOMAIN_LOCAL;
	if (strcmp(domain, "partner.example") == 0)
		return DIR_DOMAIN_RELAY;
	return DIR_DOMAIN_NONE;
}

static bool
fake_exists(void *impl, const char *address)
{
	(void)impl;
	return strcmp(address, "alice@example.org") == 0 ||
	    strcmp(address, "team@example.org") == 0;
}

static bool
fake_owned(void *impl, const char *user, const char *address)
{
	(void)impl;
	return strcmp(user, address) == 0;
}

static void
fake_policy(void *impl, const struct policy_input *in,
    struct policy_decision *d)
{
	struct policy_facts f = { NULL, fake_domain, fake_exists, fake_owned,
	    NULL, NULL, NULL, 1790000000 };

	(void)impl;
	F.policy_calls[in->stage]++;
	policy_evaluate(F.policy, in, &f, d);
}

static void
fake_count(void *impl, enum policy_event ev, const struct policy_input *in)
{
	(void)impl;
	(void)in;
	F.counted[ev]++;
}

static int
fake_auth(void *impl, uint64_t sid, const char *user, const char *pass)
{
	(void)impl;
	(void)sid;
	str_copy(F.auth_user, user, sizeof(F.auth_user));
	str_copy(F.auth_pass, pass, sizeof(F.auth_pass));
	F.auth_calls++;
	return 0;
}

static int
fake_queue(void *impl, uint64_t sid, struct queue_msg *m)
{
	(void)impl;
	(void)sid;
	queue_msg_free(&F.queued);
	F.queued = m;
	F.queue_calls++;
	return 0;
}

static void
fake_qid(void *impl, char out[QID_LEN + 1])
{
	(void)impl;
	snprintf(out, QID_LEN + 1, "0000000000%02u", ++F.qids);
}

static time_t
fake_now(void *impl)
{
	(void)impl;
	return 1790000000;
}

/* "alice" is full for messages over 1000 octets; nobody else is. */
static bool
fake_quota_full(void *impl, const char *address, uint64_t size)
{
	(void)impl;
	return strcmp(address, "alice@example.org") == 0 && size > 1000;
}

static void
io_write(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	buf_append(&F.out, data, len);
}

static int
io_starttls(void *ctx)
{
	(void)ctx;
	F.starttls = true;
	return 0;
}

static void
io_close(void *ctx)
{
	(void)ctx;
	F.closed = true;
}

static void
io_resume(void *ctx)
{
	(void)ctx;
	F.resumed++;
}

static void
load_default_policy(void)
{
	const char *top = getenv("top_srcdir"), *err = NULL;
	char *path = xasprintf("%s/policy/default.policy", top ? top : ".");

	cr_assert_eq(policy_load(path, &F.policy, &err), 0, "%s", err);
	free(path);
}

/* A session on a listener described like a `listen =` value. */
static void
start(const char *spec, bool tls_available, bool tls_active)
{
	const char *err;
	struct smtpd_client client = { .addr = "192.0.2.7",
	    .net = "192.0.2.7/32", .name = "unknown", .port = 4000 };
	struct smtpd_io io = { NULL, io_write, io_starttls, io_close,
	    io_resume };

	memset(&F, 0, sizeof(F));
	log_open_stream("test", fopen("/dev/null", "w"), LOG_DEBUG);
	config_init(&F.cfg);
	free(F.cfg.hostname);
	F.cfg.hostname = xstrdup("mx.example.org");
	cr_assert_eq(listener_parse(spec, strlen(spec), &F.listener, &err), 0,
	    "%s", err);
	F.svc = (struct smtpd_services){ NULL, fake_policy, fake_count,
	    fake_auth, fake_queue, fake_qid, fake_now, fake_quota_full };
	load_default_policy();
	F.env = (struct smtpd_env){ &F.cfg, &F.svc, tls_available, "/tmp",
	    NULL, NULL };
	if (tls_active) {
		client.tls = true;
		str_copy(client.tls_version, "TLSv1.3",
		    sizeof(client.tls_version));
		str_copy(client.tls_cipher, "TLS_AES_128_GCM_SHA256",
		    sizeof(client.tls_cipher));
	}
	buf_init(&F.out, 0);
	F.s = smtpd_session_new(&F.env, &F.listener, &client, &io, 42);
	smtpd_session_start(F.s, NULL);
}

static void
finish(void)
{
	smtpd_session_free(&F.s);
	queue_msg_free(&F.queued);
	listener_clear(&F.listener);
	policy_free(&F.policy);
	config_free(&F.cfg);
	buf_release(&F.out);
}

/* Feed input whole; return (and forget) what the session answered. */
static const char *
say(const char *input)
{
	static char *last;
	size_t len = strlen(input), used;

	free(last);
	buf_reset(&F.out);
	used = smtpd_session_input(F.s, input, len);
	(void)used;
	last = xstrdup(buf_cstr(&F.out));
	return last;
}

/*
 * Feed input one byte at a time, keeping what the session leaves
 * unconsumed as the server's buffer would; the answers must be the same.
 */
static const char *
say_bytes(const char *input)
{
	static char *last;
	struct buf pending = BUF_INIT;

	free(last);
	buf_reset(&F.out);
	for (size_t i = 0; input[i] != '\0'; i++) {
		buf_append(&pending, input + i, 1);
		buf_consume(&pending, smtpd_session_input(F.s, pending.data,
		    pending.len));
	}
	cr_assert_eq(pending.len, 0, "everything consumed in the end");
	buf_release(&pending);
	last = xstrdup(buf_cstr(&F.out));
	return last;
}

#define expect(out, prefix) \
	cr_assert(strncmp((out), (prefix), strlen(prefix)) == 0, \
	    "expected [%s] got [%s]", (prefix), (out))

TestSuite(session, .fini = finish);

Test(session, greeting_and_ehlo_on_mx)
{
	const char *r;

	start("mx 127.0.0.1:25", true, false);
	cr_assert_str_eq(buf_cstr(&F.out), "220 mx.example.org ESMTP Sluice\r\n");
	r = say("EHLO client.example\r\n");
	expect(r, "250-mx.example.org\r\n");
	cr_assert(strstr(r, "250-PIPELINING\r\n") && strstr(r, "250-STARTTLS"));
	cr_assert(strstr(r, "250-SIZE 26214400\r\n") && strstr(r, "CHUNKING"));
	cr_assert(strstr(r, "SMTPUTF8") && strstr(r, "250-DSN\r\n"));
	cr_assert_null(strstr(r, "AUTH"), "no AUTH on mx");
	cr_assert(strstr(r, "250 HELP\r\n") != NULL);
}

Test(session, order_of_commands_is_enforced)
{
	start("mx 127.0.0.1:25", false, false);
	expect(say("MAIL FROM:<a@b.example>\r\n"), "503 5.5.1");
	expect(say("HELO client.example\r\n"), "250 mx.example.org");
	expect(say("RCPT TO:<alice@example.org>\r\n"), "503 5.5.1");
	expect(say("DATA\r\n"), "503 5.5.1");
	expect(say("MAIL FROM:<a@b.example>\r\n"), "250 2.1.0");
	expect(say("MAIL FROM:<a@b.example>\r\n"), "503 5.5.1 Nested");
	expect(say("DATA\r\n"), "503 5.5.1 Need RCPT");
	expect(say("STARTTLS\r\n"), "503 5.5.1 Send EHLO first");
	expect(say("VRFY alice\r\n"), "252 2.5.2");
	expect(say("EXPN staff\r\n"), "502 5.5.1");
	expect(say("HELP\r\n"), "214 2.0.0");
	expect(say("NOOP\r\n"), "250 2.0.0");
	expect(say("RSET\r\n"), "250 2.0.0");
	expect(say("FROB\r\n"), "500 5.5.2");
	expect(say("QUIT\r\n"), "221 2.0.0");
	cr_assert(F.closed);
}

static void
transaction_to_queue(const char *body)
{
	expect(say("EHLO c.example\r\n"), "250-");
	expect(say("MAIL FROM:<bob@remote.example> SIZE=100\r\n"), "250 2.1.0");
	expect(say("RCPT TO:<Alice@Example.ORG>\r\n"), "250 2.1.5");
	expect(say("DATA\r\n"), "354 ");
	cr_assert_str_eq(say(body), "", "no reply before the commit");
}

Test(session, mx_transaction_is_durable_before_250)
{
	char stored[4096];
	ssize_t n;

	start("mx 127.0.0.1:25", false, false);
	transaction_to_queue("Subject: hi\r\n\r\n..dots\r\nbody\r\n.\r\n");
	cr_assert_eq(F.queue_calls, 1);
	cr_assert(smtpd_session_paused(F.s), "paused until durable");
	cr_assert_eq(smtpd_session_input(F.s, "NOOP\r\n", 6), 0);
	cr_assert_str_eq(F.queued->id, "000000000001");
	cr_assert_str_eq(F.queued->sender, "bob@remote.example");
	cr_assert_eq(F.queued->nrcpts, 1);
	cr_assert_str_eq(F.queued->listener, "mx");
	cr_assert(strstr(buf_cstr(&F.queued->prefix), "Received: from c.example "
	    "(unknown [192.0.2.7])\r\n\tby mx.example.org (Sluice) with ESMTP "
	    "id 000000000001\r\n") != NULL, "%s", buf_cstr(&F.queued->prefix));
	cr_assert_null(strstr(buf_cstr(&F.queued->prefix), "Message-ID"),
	    "mx does not add Message-ID");
	static const char want[] = "Subject: hi\r\n\r\n.dots\r\nbody\r\n";
	n = msgbody_read(F.queued->body, 0, stored, sizeof(stored));
	cr_assert_eq(n, (ssize_t)sizeof(want) - 1);
	cr_assert_eq(memcmp(stored, want, sizeof(want) - 1), 0,
	    "dot-stuffing undone exactly");
	smtpd_session_queue_done(F.s, true, NULL);
	cr_assert_str_eq(buf_cstr(&F.out), "250 2.0.0 Ok: queued as "
	    "000000000001\r\n");
	cr_assert_eq(F.resumed, 1);
	expect(say("MAIL FROM:<>\r\n"), "250 2.1.0");
}

Test(session, queue_failure_is_451_and_forgets_the_transaction)
{
	start("mx 127.0.0.1:25", false, false);
	transaction_to_queue("x\r\n.\r\n");
	smtpd_session_queue_done(F.s, false, "disk full");
	expect(buf_cstr(&F.out), "451 4.3.0");
	expect(say("RCPT TO:<alice@example.org>\r\n"), "503 5.5.1");
}

Test(session, builtin_recipient_rule_on_mx)
{
	start("mx 127.0.0.1:25", false, false);
	say("EHLO c.example\r\nMAIL FROM:<x@remote.example>\r\n");
	expect(say("RCPT TO:<nobody@example.org>\r\n"), "550 5.1.1");
	expect(say("RCPT TO:<off@example.org>\r\n"), "550 5.1.1");
	expect(say("RCPT TO:<someone@elsewhere.example>\r\n"), "554 5.7.1");
	expect(say("RCPT TO:<alice%elsewhere.example@example.org>\r\n"),
	    "553 5.7.1");
	expect(say("RCPT TO:<user@[192.0.2.1]>\r\n"), "553 5.7.1");
	expect(say("RCPT TO:<anyone@partner.example>\r\n"), "250 2.1.5");
	expect(say("RCPT TO:<team@example.org>\r\n"), "250 2.1.5");
	expect(say("RCPT TO:<Postmaster>\r\n"), "250 2.1.5");
}

Test(session, over_quota_is_452_at_rcpt_on_mx_only)
{
	start("mx 127.0.0.1:25", false, false);
	say("EHLO c.example\r\nMAIL FROM:<x@remote.example> SIZE=5000\r\n");
	expect(say("RCPT TO:<alice@example.org>\r\n"), "452 4.2.2");
	expect(say("RCPT TO:<team@example.org>\r\n"), "250 2.1.5");
	say("RSET\r\nMAIL FROM:<x@remote.example> SIZE=500\r\n");
	expect(say("RCPT TO:<alice@example.org>\r\n"), "250 2.1.5");
}

Test(session, submission_requires_auth_and_tls)
{
	const char *r;

	start("submission 127.0.0.1:587", true, false);
	r = say("EHLO c.example\r\n");
	cr_assert_null(strstr(r, "AUTH"), "no AUTH before TLS");
	cr_assert_not_null(strstr(r, "STARTTLS"));
	expect(say("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), "538 5.7.11");
	expect(say("MAIL FROM:<alice@example.org>\r\n"), "530 5.7.0");
	cr_assert_eq(F.auth_calls, 0);
}

Test(session, starttls_drops_pipelined_plaintext_and_resets)
{
	size_t used;
	const char *in = "STARTTLS\r\nMAIL FROM:<evil@example.net>\r\n";

	start("submission 127.0.0.1:587", true, false);
	say("EHLO c.example\r\n");
	buf_reset(&F.out);
	used = smtpd_session_input(F.s, in, strlen(in));
	cr_assert_eq(used, 10, "nothing after STARTTLS is consumed");
	cr_assert_str_eq(buf_cstr(&F.out), "220 2.0.0 Ready to start TLS\r\n");
	cr_assert(F.starttls);
	smtpd_session_tls_done(F.s, true, "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	expect(say("MAIL FROM:<a@b.example>\r\n"), "503 5.5.1 Send EHLO");
	cr_assert_not_null(strstr(say("EHLO c.example\r\n"),
	    "250-AUTH PLAIN LOGIN"));
	expect(say("STARTTLS\r\n"), "503 5.5.1");
}

Test(session, auth_plain_then_submission_adds_headers)
{
	start("submission 127.0.0.1:587", true, true);
	say("EHLO c.example\r\n");
	/* \0alice@example.org\0secret */
	cr_assert_str_eq(say("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\n"
	    "MAIL FROM:<alice@example.org>\r\n"), "");
	cr_assert_eq(F.auth_calls, 1);
	cr_assert_str_eq(F.auth_user, "alice@example.org");
	cr_assert_str_eq(F.auth_pass, "secret");
	smtpd_session_auth_done(F.s, true);
	cr_assert_str_eq(buf_cstr(&F.out), "235 2.7.0 Authentication "
	    "successful\r\n");
	expect(say("MAIL FROM:<alice@example.org>\r\n"), "250 2.1.0");
	expect(say("RCPT TO:<friend@elsewhere.example>\r\n"), "250 2.1.5");
	expect(say("DATA\r\n"), "354");
	say("From: Alice <alice@example.org>\r\nSubject: x\r\n\r\nhello\r\n"
	    ".\r\n");
	cr_assert_not_null(F.queued);
	cr_assert_str_eq(F.queued->auth_user, "alice@example.org");
	cr_assert_str_eq(F.queued->tls_version, "TLSv1.3");
	cr_assert(strstr(buf_cstr(&F.queued->prefix), "with ESMTPSA") != NULL);
	cr_assert(strstr(buf_cstr(&F.queued->prefix), "\r\nMessage-ID: <") !=
	    NULL);
	cr_assert(strstr(buf_cstr(&F.queued->prefix), "\r\nDate: ") != NULL);
}

Test(session, auth_login_failure_is_535)
{
	start("submissions 127.0.0.1:465", false, true);
	say("EHLO c.example\r\n");
	expect(say("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6");
	expect(say("Ym9i\r\n"), "334 UGFzc3dvcmQ6");
	cr_assert_str_eq(say("d3Jvbmc=\r\n"), "");
	cr_assert_str_eq(F.auth_user, "bob");
	cr_assert_str_eq(F.auth_pass, "wrong");
	smtpd_session_auth_done(F.s, false);
	expect(buf_cstr(&F.out), "535 5.7.8");
	expect(say("AUTH LOGIN\r\n"), "334");
	expect(say("*\r\n"), "501 5.0.0");
	expect(say("AUTH PLAIN\r\n"), "334 ");
	expect(say("!!notbase64\r\n"), "501 5.5.2");
	expect(say("AUTH CRAM-MD5\r\n"), "504 5.5.4");
}

Test(session, pipelined_commands_answered_in_order)
{
	const char *r;

	start("mx 127.0.0.1:25", false, false);
	r = say("EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\nRCPT TO:<zz@example.org>\r\n"
	    "RSET\r\nNOOP\r\n");
	r = strstr(r, "250 HELP\r\n");
	cr_assert_not_null(r);
	cr_assert_str_eq(r, "250 HELP\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "550 5.1.1 Recipient address rejected: User unknown\r\n"
	    "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
}

Test(session, byte_at_a_time_gives_the_same_answers)
{
	const char *whole, *bytes;
	char *copy;

	start("mx 127.0.0.1:25", false, false);
	whole = say("EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\nRSET\r\n");
	copy = xstrdup(whole);
	bytes = say_bytes("EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\nRSET\r\n");
	cr_assert_str_eq(bytes, copy);
	free(copy);
}

Test(session, overlong_line_and_too_many_errors)
{
	char line[700];

	start("mx 127.0.0.1:25", false, false);
	memset(line, 'A', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	expect(say(line), "500 5.5.2");
	expect(say("NOOP\r\n"), "250");
	for (int i = 0; i < 10 && !F.closed; i++)
		say("BOGUS\r\n");
	cr_assert(F.closed, "dropped after too many errors");
	cr_assert(strstr(buf_cstr(&F.out), "421 4.7.0") != NULL);
}

Test(session, smuggling_is_not_end_of_data)
{
	start("mx 127.0.0.1:25", false, false);
	transaction_to_queue("Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@x>\r\n"
	    "\r\n.\r\r\nmore\r.\r\n");
	cr_assert_eq(F.queue_calls, 0, "no bare-LF dot ended the data");
	cr_assert_str_eq(say("\r\n.\r\n"), "550 5.5.2 Message contains bare CR "
	    "or LF characters\r\n");
	cr_assert_eq(F.queue_calls, 0);
}

Test(session, submission_normalises_bare_lf)
{
	char stored[256];
	ssize_t n;

	start("submission 127.0.0.1:587", false, true);
	say("EHLO c.example\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA=="
	    "\r\n");
	smtpd_session_auth_done(F.s, true);
	say("MAIL FROM:<alice@example.org>\r\nRCPT TO:<x@remote.example>\r\n"
	    "DATA\r\n");
	say("From: alice@example.org\n\na\nb\n.\nc\r\n.\r\n");
	cr_assert_eq(F.queue_calls, 1);
	n = msgbody_read(F.queued->body, 0, stored, sizeof(stored));
	cr_assert_eq(n, 39);
	cr_assert_eq(memcmp(stored, "From: alice@example.org\r\n\r\n"
	    "a\r\nb\r\n.\r\nc\r\n", 39), 0);
}

Test(session, bdat_chunks)
{
	char stored[64];

	start("mx 127.0.0.1:25", false, false);
	say("EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\n");
	expect(say("BDAT 7\r\nHello\r\n"), "250 2.0.0 7 octets");
	expect(say("DATA\r\n"), "503 5.5.1");
	cr_assert_str_eq(say("BDAT 6 LAST\r\nWorld!"), "");
	cr_assert_eq(F.queue_calls, 1);
	cr_assert_eq(msgbody_read(F.queued->body, 0, stored, sizeof(stored)),
	    13);
	cr_assert_eq(memcmp(stored, "Hello\r\nWorld!", 13), 0);
	smtpd_session_queue_done(F.s, true, NULL);
	expect(buf_cstr(&F.out), "250 2.0.0 Ok: queued");
	/* BDAT without a transaction: the chunk is swallowed, then 503. */
	expect(say("BDAT 5\r\nQUITX"), "503 5.5.1");
	expect(say("BDAT 0\r\n"), "503 5.5.1");
	expect(say("NOOP\r\n"), "250");
	/* An empty last chunk ends a message. */
	say("MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\n");
	expect(say("BDAT 3\r\nabc"), "250 2.0.0 3 octets");
	cr_assert_str_eq(say("BDAT 0 LAST\r\n"), "");
	cr_assert_eq(F.queue_calls, 2);
	smtpd_session_queue_done(F.s, true, NULL);
	expect(buf_cstr(&F.out), "250 2.0.0 Ok: queued");
}

Test(session, size_limits)
{
	start("mx 127.0.0.1:25", false, false);
	say("EHLO c.example\r\n");
	expect(say("MAIL FROM:<a@remote.example> SIZE=999999999\r\n"),
	    "552 5.3.4");
	F.cfg.message_size_limit = 10;
	say("MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\n"
	    "DATA\r\n");
	expect(say("0123456789abcdef\r\n.\r\n"), "552 5.3.4");
	cr_assert_eq(F.queue_calls, 0);
}

Test(session, loop_detection)
{
	struct buf b = BUF_INIT;

	start("mx 127.0.0.1:25", false, false);
	transaction_to_queue("");
	for (int i = 0; i <= F.cfg.smtp_max_received; i++)
		buf_append_str(&b, "Received: from x by y; date\r\n");
	buf_append_str(&b, "\r\nbody\r\n.\r\n");
	expect(say(buf_cstr(&b)), "554 5.4.6");
	cr_assert_eq(F.queue_calls, 0);
	buf_release(&b);
}

Test(session, recipient_limit)
{
	char cmd[64];

	start("mx 127.0.0.1:25", false, false);
	F.cfg.smtp_max_recipients = 2;
	say("EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\n");
	expect(say("RCPT TO:<alice@example.org>\r\n"), "250");
	/* A duplicate is merged, not counted. */
	expect(say("RCPT TO:<Alice@example.org>\r\n"), "250");
	expect(say("RCPT TO:<team@example.org>\r\n"), "250");
	snprintf(cmd, sizeof(cmd), "RCPT TO:<x@partner.example>\r\n");
	expect(say(cmd), "452 4.5.3");
	say("DATA\r\nx\r\n.\r\n");
	cr_assert_eq(F.queued->nrcpts, 2);
}

Test(session, shutdown_idle_and_in_transaction)
{
	start("mx 127.0.0.1:25", false, false);
	say("EHLO c.example\r\n");
	buf_reset(&F.out);
	cr_assert(smtpd_session_shutdown(F.s));
	expect(buf_cstr(&F.out), "421 4.3.2");
	cr_assert(F.closed);
	finish();

	start("mx 127.0.0.1:25", false, false);
	transaction_to_queue("x\r\n");
	cr_assert_not(smtpd_session_shutdown(F.s), "a transaction may end");
	cr_assert_not(F.closed);
	say(".\r\n");
	smtpd_session_queue_done(F.s, true, NULL);
	cr_assert(strstr(buf_cstr(&F.out), "250 2.0.0 Ok: queued") != NULL);
	cr_assert(strstr(buf_cstr(&F.out), "421 4.3.2") != NULL);
	cr_assert(F.closed);
}

Test(session, timeout_says_421)
{
	start("mx 127.0.0.1:25", false, false);
	cr_assert_eq(smtpd_session_timeout_secs(F.s), 300);
	buf_reset(&F.out);
	smtpd_session_timeout(F.s);
	expect(buf_cstr(&F.out), "421 4.4.2");
	cr_assert(F.closed);
}

Test(session, bdat_refused_chunks_are_swallowed_and_mail_kept)
{
	start("mx 127.0.0.1:25", false, false);
	/* Before EHLO: the chunk must not be read as commands. */
	expect(say("BDAT 6\r\nQUIT\r\n"), "503 5.5.1 Send EHLO first");
	cr_assert_not(F.closed);
	say("EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\n");
	expect(say("BDAT 6\r\nRSET\r\n"), "503 5.5.1 No valid transaction");
	/* The MAIL survived: a recipient and a chunk now work. */
	expect(say("RCPT TO:<alice@example.org>\r\n"), "250 2.1.5");
	cr_assert_str_eq(say("BDAT 2 LAST\r\nhi"), "");
	cr_assert_eq(F.queue_calls, 1);
	/* An unreadable BDAT line: the chunk cannot be found, so close. */
	smtpd_session_queue_done(F.s, true, NULL);
	say("BDAT 12x\r\n");
	cr_assert(F.closed);
}

Test(session, routing_syntax_is_not_relayed_into_relay_domains)
{
	start("mx 127.0.0.1:25", false, false);
	say("EHLO c.example\r\nMAIL FROM:<x@remote.example>\r\n");
	expect(say("RCPT TO:<victim%evil.example@partner.example>\r\n"),
	    "553 5.7.1");
	expect(say("RCPT TO:<evil.example!victim@partner.example>\r\n"),
	    "553 5.7.1");
	expect(say("RCPT TO:<\"a@evil.example\"@partner.example>\r\n"),
	    "553 5.7.1");
	expect(say("RCPT TO:<@partner.example:a@evil.example>\r\n"),
	    "553 5.7.1");
	expect(say("RCPT TO:<plain@partner.example>\r\n"), "250 2.1.5");
}

Test(session, local_role_relays_only_on_a_unix_socket)
{
	start("local /tmp/sluice-test.sock", false, false);
	say("HELO localhost\r\nMAIL FROM:<app@example.org>\r\n");
	expect(say("RCPT TO:<someone@elsewhere.example>\r\n"), "250 2.1.5");
}

Test(session, junk_commands_are_limited)
{
	start("mx 127.0.0.1:25", false, false);
	for (int i = 0; i < 100; i++)
		expect(say("NOOP\r\n"), "250");
	expect(say("NOOP\r\n"), "421 4.7.0");
	cr_assert(F.closed);
}

Test(session, overlong_auth_line_ends_the_exchange)
{
	struct buf b = BUF_INIT;

	start("submissions 127.0.0.1:465", false, true);
	say("EHLO c.example\r\n");
	expect(say("AUTH PLAIN\r\n"), "334");
	for (int i = 0; i < 13000; i++)
		buf_append_byte(&b, 'A');
	buf_append_str(&b, "\r\n");
	expect(say(buf_cstr(&b)), "500 5.5.6");
	expect(say("NOOP\r\n"), "250");
	buf_release(&b);
}

Test(session, no_421_while_a_message_is_being_committed)
{
	start("mx 127.0.0.1:25", false, false);
	transaction_to_queue("x\r\n.\r\n");
	buf_reset(&F.out);
	smtpd_session_timeout(F.s);
	smtpd_session_abort(F.s);
	cr_assert_str_eq(buf_cstr(&F.out), "", "nothing before the verdict");
	cr_assert_not(F.closed);
	smtpd_session_queue_done(F.s, true, NULL);
	cr_assert(strncmp(buf_cstr(&F.out), "250 2.0.0 Ok: queued", 20) == 0);
	cr_assert(strstr(buf_cstr(&F.out), "421 4.3.2") != NULL);
	cr_assert(F.closed);
}
