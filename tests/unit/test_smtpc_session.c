/*
 * Unit tests for the SMTP client state machine, driven from buffers with
 * a fake connection: no sockets, no TLS library. The "server" is the
 * test: it reads what the session wrote and feeds replies back.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>

#include "buf.h"
#include "log.h"
#include "smtpc.h"
#include "util.h"

#define MAX_OUTCOMES 16

struct seen {
	size_t			 index;
	enum smtpc_stage	 stage;
	enum smtpc_verdict	 verdict;
	bool			 remote;
	int			 code;
	char			 status[SMTPC_STATUS_MAX];
	char			 text[SMTPC_TEXT_MAX + 4];
};

struct fake {
	struct smtpc_session	*s;
	struct smtpc_params	 params;
	struct buf		 out;		/* everything written */
	size_t			 seen_out;	/* what the test has read */
	int			 writes;
	bool			 closed;
	int			 starttls_calls;
	int			 starttls_rv;
	struct seen		 rcpt[MAX_OUTCOMES];
	size_t			 nrcpt;
	struct seen		 msg;
	int			 msg_done;
	/* the message */
	struct smtpc_rcpt	 rcpts[4];
	struct smtpc_message	 m;
	struct smtpc_message	 m2;		/* sent from msg_done */
	bool			 send_m2;
	bool			 try_in_rcpt;
	int			 rcpt_next_rv;
	const char		*body;
	size_t			 body_len;
	bool			 body_fail;
	FILE			*log;
};

static struct fake F;

static void
io_write(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	cr_assert_not(F.closed, "no write after close");
	buf_append(&F.out, data, len);
	F.writes++;
}

static int
io_starttls(void *ctx)
{
	(void)ctx;
	F.starttls_calls++;
	return F.starttls_rv;
}

static void
io_close(void *ctx)
{
	(void)ctx;
	F.closed = true;
}

static void
record(struct seen *w, size_t index, const struct smtpc_outcome *o)
{
	w->index = index;
	w->stage = o->stage;
	w->verdict = o->verdict;
	w->remote = o->remote;
	w->code = o->code;
	str_copy(w->status, o->status, sizeof(w->status));
	str_copy(w->text, o->text, sizeof(w->text));
}

static void
cb_rcpt(void *ctx, const struct smtpc_message *m, size_t index,
    const struct smtpc_outcome *o)
{
	(void)ctx;
	(void)m;
	cr_assert_lt(F.nrcpt, MAX_OUTCOMES);
	record(&F.rcpt[F.nrcpt++], index, o);
	if (F.try_in_rcpt)
		F.rcpt_next_rv = smtpc_session_next_message(F.s, &F.m2);
}

static void
cb_msg(void *ctx, const struct smtpc_message *m, const struct smtpc_outcome *o)
{
	(void)ctx;
	(void)m;
	F.msg_done++;
	record(&F.msg, 0, o);
	if (F.send_m2) {
		F.send_m2 = false;
		cr_assert_eq(smtpc_session_next_message(F.s, &F.m2), 0);
	}
}

static ssize_t
body_read(void *ctx, uint64_t off, void *out, size_t len)
{
	(void)ctx;
	if (F.body_fail)
		return -1;
	if (off >= F.body_len)
		return 0;
	if (len > F.body_len - off)
		len = F.body_len - (size_t)off;
	memcpy(out, F.body + off, len);
	return (ssize_t)len;
}

static void
message(const char *sender, size_t nrcpts, const char *body)
{
	static const char *const addrs[] = { "a@remote.example",
	    "b@remote.example", "c@remote.example", "d@remote.example" };

	for (size_t i = 0; i < ARRAY_SIZE(F.rcpts); i++)
		F.rcpts[i] = (struct smtpc_rcpt){ addrs[i], 0, NULL };
	F.body = body;
	F.body_len = strlen(body);
	F.m = (struct smtpc_message){ "QID1", sender, F.rcpts, nrcpts,
	    F.body_len, false, false, NULL, NULL, NULL, body_read };
}

static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	F.log = tmpfile();
	log_open_stream("test", F.log, LOG_DEBUG);
	buf_init(&F.out, 0);
	F.params.helo_name = "client.example";
	F.params.peer = "mx.remote.example[192.0.2.25]";
	F.params.tls = SMTPC_TLS_MAY;
	message("s@example.org", 2, "Subject: x\r\n\r\nhello\r\n");
}

static void
teardown(void)
{
	smtpc_session_free(&F.s);
	buf_release(&F.out);
	log_close();
	if (F.log != NULL)
		fclose(F.log);
}

static void
start(void)
{
	struct smtpc_io io = { NULL, io_write, io_starttls, io_close };
	struct smtpc_callbacks cb = { NULL, cb_rcpt, cb_msg };

	F.s = smtpc_session_new(&F.params, &io, &cb, 7);
}

/* What the session wrote since the last call. */
static const char *
sent(void)
{
	static char *last;

	free(last);
	last = xstrndup(F.out.data ? F.out.data + F.seen_out : "",
	    F.out.len - F.seen_out);
	F.seen_out = F.out.len;
	return last;
}

/* The server says input (whole); returns what the client sent back. */
static const char *
srv(const char *input)
{
	size_t used = smtpc_session_input(F.s, input, strlen(input));

	cr_assert_eq(used, strlen(input), "all consumed: %zu of [%s]", used,
	    input);
	return sent();
}

/* The same, one byte at a time, keeping the unconsumed rest. */
static const char *
srv_bytes(const char *input)
{
	struct buf pending = BUF_INIT;

	for (size_t i = 0; input[i] != '\0'; i++) {
		buf_append(&pending, input + i, 1);
		buf_consume(&pending, smtpc_session_input(F.s, pending.data,
		    pending.len));
	}
	cr_assert_eq(pending.len, 0, "everything consumed in the end");
	buf_release(&pending);
	return sent();
}

/* Let the body flow out as the glue's buffer drains. */
static const char *
drain(void)
{
	for (int i = 0; i < 1000 && smtpc_session_wants_output(F.s); i++)
		smtpc_session_output_drained(F.s);
	cr_assert_not(smtpc_session_wants_output(F.s));
	return sent();
}

#define expect(got, want) cr_assert_str_eq((got), (want))

static const char ehlo_plain[] = "250-mx.remote.example\r\n250-SIZE 100000\r\n"
    "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
static const char ehlo_pipe[] = "250-mx.remote.example\r\n250-PIPELINING\r\n"
    "250-SIZE 100000\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
    "250 ENHANCEDSTATUSCODES\r\n";

/* Banner and EHLO, with the message already given. */
static void
greet(const char *ehlo_reply)
{
	start();
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	cr_assert_eq(smtpc_session_stage(F.s), SMTPC_STAGE_BANNER);
	expect(sent(), "");
	expect(srv("220 mx.remote.example ESMTP\r\n"),
	    "EHLO client.example\r\n");
	/* What the session answers is left for the test to read. */
	cr_assert_eq(smtpc_session_input(F.s, ehlo_reply, strlen(ehlo_reply)),
	    strlen(ehlo_reply));
}

TestSuite(smtpc, .init = setup, .fini = teardown);

Test(smtpc, happy_path_without_pipelining)
{
	start();
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	expect(srv("220 mx.remote.example ESMTP\r\n"),
	    "EHLO client.example\r\n");
	expect(srv(ehlo_plain), "MAIL FROM:<s@example.org> SIZE=21\r\n");
	cr_assert_eq(smtpc_session_caps(F.s)->size, 100000);
	expect(srv("250 2.1.0 Ok\r\n"), "RCPT TO:<a@remote.example>\r\n");
	expect(srv("250 2.1.5 Ok\r\n"), "RCPT TO:<b@remote.example>\r\n");
	expect(srv("250 2.1.5 Ok\r\n"), "DATA\r\n");
	expect(srv("354 go ahead\r\n"), "Subject: x\r\n\r\nhello\r\n.\r\n");
	cr_assert_eq(smtpc_session_stage(F.s), SMTPC_STAGE_DOT);
	cr_assert_eq(F.nrcpt, 0, "nothing settled before the final reply");
	expect(srv("250 2.0.0 Ok: queued as X\r\n"), "");
	cr_assert_eq(F.nrcpt, 2);
	cr_assert_eq(F.msg_done, 1);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(F.rcpt[i].index, i);
		cr_assert_eq(F.rcpt[i].verdict, SMTPC_OK);
		cr_assert_eq(F.rcpt[i].stage, SMTPC_STAGE_DOT);
		cr_assert_eq(F.rcpt[i].code, 250);
		cr_assert_str_eq(F.rcpt[i].status, "2.0.0");
		cr_assert_str_eq(F.rcpt[i].text, "Ok: queued as X");
	}
	cr_assert(smtpc_session_reusable(F.s));
	cr_assert_eq(smtpc_session_messages(F.s), 1);
	smtpc_session_quit(F.s);
	expect(sent(), "QUIT\r\n");
	expect(srv("221 bye\r\n"), "");
	cr_assert(F.closed);
	cr_assert_null(smtpc_session_error(F.s));
}

Test(smtpc, happy_path_with_pipelining_is_one_write)
{
	greet(ehlo_pipe);
	expect(sent(), "MAIL FROM:<s@example.org> SIZE=21\r\n"
	    "RCPT TO:<a@remote.example>\r\nRCPT TO:<b@remote.example>\r\n"
	    "DATA\r\n");
	cr_assert_eq(F.writes, 2, "EHLO, then the whole group at once");
	expect(srv("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
	    "Subject: x\r\n\r\nhello\r\n.\r\n");
	expect(srv("250 queued\r\n"), "");
	cr_assert_eq(F.nrcpt, 2);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_OK);
	cr_assert_eq(F.rcpt[1].verdict, SMTPC_OK);
	cr_assert_eq(F.msg.verdict, SMTPC_OK);
}

Test(smtpc, replies_split_byte_by_byte)
{
	start();
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	expect(srv_bytes("220 mx ESMTP\r\n"), "EHLO client.example\r\n");
	expect(srv_bytes(ehlo_pipe), "MAIL FROM:<s@example.org> SIZE=21\r\n"
	    "RCPT TO:<a@remote.example>\r\nRCPT TO:<b@remote.example>\r\n"
	    "DATA\r\n");
	expect(srv_bytes("250-2.1.0 sender\r\n250 2.1.0 ok\r\n250 ok\r\n"
	    "550-5.1.1 no such\r\n550 5.1.1 user\r\n354 go\r\n"),
	    "Subject: x\r\n\r\nhello\r\n.\r\n");
	expect(srv_bytes("250 queued\r\n"), "");
	cr_assert_eq(F.nrcpt, 2);
	cr_assert_eq(F.rcpt[0].index, 1);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_PERM);
	cr_assert_str_eq(F.rcpt[0].text, "no such user");
	cr_assert_eq(F.rcpt[1].index, 0);
	cr_assert_eq(F.rcpt[1].verdict, SMTPC_OK);
}

Test(smtpc, ehlo_refused_falls_back_to_helo)
{
	start();
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	srv("220 old.example SMTP\r\n");
	expect(srv("502 5.5.1 what?\r\n"), "HELO client.example\r\n");
	/* No extensions: no SIZE=, no pipelining. */
	expect(srv("250 old.example\r\n"), "MAIL FROM:<s@example.org>\r\n");
	cr_assert_eq(smtpc_session_caps(F.s)->flags, 0);
}

Test(smtpc, ehlo_temporary_failure_fails_the_host)
{
	start();
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	srv("220 mx\r\n");
	expect(srv("421 4.3.2 shutting down\r\n"), "");
	cr_assert(F.closed);
	cr_assert_eq(F.nrcpt, 2);
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_EHLO);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_eq(F.msg_done, 1);
}

Test(smtpc, banner_refusal_is_perm_or_temp_by_code)
{
	start();
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	expect(srv("554 5.7.1 go away\r\n"), "QUIT\r\n");
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_BANNER);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_PERM);
	cr_assert_eq(F.rcpt[0].code, 554);
	cr_assert(F.rcpt[0].remote);
	cr_assert_eq(smtpc_session_error(F.s)->code, 554);
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), -1);
	srv("221 bye\r\n");
	cr_assert(F.closed);
	teardown();

	setup();
	start();
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	expect(srv("450 busy\r\n"), "QUIT\r\n");
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_str_eq(F.rcpt[0].status, "4.0.0");
}

Test(smtpc, starttls_required_but_not_offered)
{
	F.params.tls = SMTPC_TLS_VERIFY;
	greet(ehlo_pipe);
	expect(sent(), "QUIT\r\n");
	cr_assert_eq(F.starttls_calls, 0);
	cr_assert_eq(F.nrcpt, 2);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_str_eq(F.rcpt[0].status, "4.7.4");
	cr_assert_not(F.rcpt[0].remote);
	cr_assert(strstr(F.rcpt[0].text, "TLS is required") != NULL);
	cr_assert_eq(F.msg_done, 1);
	cr_assert_null(strstr(F.out.data, "MAIL"));
}

static const char ehlo_tls[] = "250-mx.remote.example\r\n250-PIPELINING\r\n"
    "250-STARTTLS\r\n250 8BITMIME\r\n";

Test(smtpc, starttls_handshake_failure_never_falls_back)
{
	greet(ehlo_tls);
	expect(sent(), "STARTTLS\r\n");
	expect(srv("220 2.0.0 go ahead\r\n"), "");
	cr_assert_eq(F.starttls_calls, 1);
	cr_assert_eq(smtpc_session_stage(F.s), SMTPC_STAGE_STARTTLS);
	/* Paused: nothing is read until the handshake ends. */
	cr_assert_eq(smtpc_session_input(F.s, "250 x\r\n", 7), 0);
	smtpc_session_tls_done(F.s, false, NULL, NULL, "mismatch");
	cr_assert(F.closed);
	expect(sent(), "");
	cr_assert_null(strstr(F.out.data, "MAIL"));
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_STARTTLS);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_str_eq(F.rcpt[0].status, "4.7.5");
	cr_assert(strstr(F.rcpt[0].text, "dane: mismatch") != NULL);
	cr_assert_not(smtpc_session_reusable(F.s));
}

Test(smtpc, starttls_then_ehlo_again)
{
	const struct smtpc_tls_info *tls;

	greet(ehlo_tls);
	expect(sent(), "STARTTLS\r\n");
	srv("220 go ahead\r\n");
	smtpc_session_tls_done(F.s, true, "TLSv1.3", "TLS_AES_256_GCM_SHA384",
	    "match");
	expect(sent(), "EHLO client.example\r\n");
	cr_assert_eq(smtpc_session_caps(F.s)->flags, 0, "caps forgotten");
	/* The second EHLO no longer offers STARTTLS: fine, TLS is on. */
	expect(srv("250-mx\r\n250 SIZE 10\r\n"), "");
	cr_assert_eq(F.msg.status[0], '5', "21 octets > SIZE 10");
	tls = smtpc_session_tls(F.s);
	cr_assert(tls->active);
	cr_assert_str_eq(tls->version, "TLSv1.3");
	cr_assert_str_eq(tls->dane, "match");
}

Test(smtpc, plaintext_after_the_starttls_reply_is_an_attack)
{
	greet(ehlo_tls);
	sent();
	cr_assert_eq(smtpc_session_input(F.s, "220 go\r\n250 injected\r\n", 23),
	    8);
	cr_assert_eq(F.starttls_calls, 0);
	cr_assert(F.closed);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
}

Test(smtpc, starttls_refused_may_goes_on_required_fails)
{
	greet(ehlo_tls);
	sent();
	expect(srv("454 4.7.0 TLS not available\r\n"),
	    "MAIL FROM:<s@example.org>\r\nRCPT TO:<a@remote.example>\r\n"
	    "RCPT TO:<b@remote.example>\r\nDATA\r\n");
	teardown();

	setup();
	F.params.tls = SMTPC_TLS_ENCRYPT;
	greet(ehlo_tls);
	sent();
	expect(srv("454 4.7.0 TLS not available\r\n"), "QUIT\r\n");
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_eq(F.rcpt[0].code, 454);
}

Test(smtpc, starttls_policy_none_ignores_the_offer)
{
	F.params.tls = SMTPC_TLS_NONE;
	greet(ehlo_tls);
	cr_assert(strncmp(sent(), "MAIL FROM:", 10) == 0);
}

Test(smtpc, size_refused_before_mail)
{
	message("s@example.org", 2, "Subject: x\r\n\r\nhello\r\n");
	F.m.size = 100001;
	greet(ehlo_pipe);
	expect(sent(), "");
	cr_assert_eq(F.nrcpt, 2);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_PERM);
	cr_assert_str_eq(F.rcpt[0].status, "5.3.4");
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_MAIL);
	cr_assert_eq(F.msg_done, 1);
	cr_assert(smtpc_session_reusable(F.s), "nothing was sent");
	/* A smaller one goes, without RSET: nothing needed resetting. */
	F.m.size = 100000;
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	cr_assert(strncmp(sent(), "MAIL FROM:<s@example.org> SIZE=100000\r\n",
	    39) == 0);
}

Test(smtpc, eightbit_and_smtputf8)
{
	/* 8BITMIME offered: BODY=8BITMIME; SMTPUTF8 not needed. */
	F.m.eightbit = true;
	greet(ehlo_plain);
	expect(sent(), "MAIL FROM:<s@example.org> SIZE=21 BODY=8BITMIME\r\n");
	teardown();

	/* SMTPUTF8 needed (a UTF-8 recipient), not offered: 5.6.7. */
	setup();
	F.rcpts[1].address = "j\xc3\xb8rn@remote.example";
	greet(ehlo_plain);
	expect(sent(), "");
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_PERM);
	cr_assert_str_eq(F.rcpt[0].status, "5.6.7");
	cr_assert_eq(F.nrcpt, 2);
	teardown();

	/* Offered: the parameter is sent. */
	setup();
	F.m.smtputf8 = true;
	greet(ehlo_pipe);
	cr_assert(strncmp(sent(), "MAIL FROM:<s@example.org> SIZE=21 "
	    "SMTPUTF8\r\n", 44) == 0);
	teardown();

	/* 8-bit message to a server without 8BITMIME: 5.6.3. */
	setup();
	F.m.eightbit = true;
	greet("250-mx\r\n250 PIPELINING\r\n");
	expect(sent(), "");
	cr_assert_str_eq(F.rcpt[0].status, "5.6.3");
}

Test(smtpc, mixed_recipient_results)
{
	message("s@example.org", 3, "hi\r\n");
	greet(ehlo_plain);
	expect(sent(), "MAIL FROM:<s@example.org> SIZE=4\r\n");
	srv("250 ok\r\n");
	expect(srv("250 2.1.5 ok\r\n"), "RCPT TO:<b@remote.example>\r\n");
	expect(srv("450 4.2.1 try later\r\n"),
	    "RCPT TO:<c@remote.example>\r\n");
	cr_assert_eq(F.nrcpt, 1, "the 450 is settled at once");
	expect(srv("550 5.1.1 unknown\r\n"), "DATA\r\n");
	expect(srv("354 go\r\n"), "hi\r\n.\r\n");
	srv("250 2.0.0 queued\r\n");
	cr_assert_eq(F.nrcpt, 3);
	cr_assert_eq(F.rcpt[0].index, 1);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_RCPT);
	cr_assert_eq(F.rcpt[0].code, 450);
	cr_assert_str_eq(F.rcpt[0].status, "4.2.1");
	cr_assert_eq(F.rcpt[1].index, 2);
	cr_assert_eq(F.rcpt[1].verdict, SMTPC_PERM);
	cr_assert_str_eq(F.rcpt[1].text, "unknown");
	cr_assert_eq(F.rcpt[2].index, 0);
	cr_assert_eq(F.rcpt[2].verdict, SMTPC_OK);
	cr_assert_eq(F.rcpt[2].stage, SMTPC_STAGE_DOT);
}

Test(smtpc, all_recipients_refused_no_data)
{
	message("s@example.org", 2, "hi\r\n");
	greet(ehlo_plain);
	sent();
	srv("250 ok\r\n");
	srv("550 5.1.1 no\r\n");
	expect(srv("551 5.1.6 moved\r\n"), "");
	cr_assert_eq(F.msg_done, 1);
	cr_assert_eq(F.msg.code, 551);
	cr_assert(smtpc_session_reusable(F.s));
}

Test(smtpc, final_reply_decides_for_accepted_recipients)
{
	static const char *const finals[] = { "451 4.3.0 disk\r\n",
	    "554 5.6.0 bad content\r\n" };
	static const enum smtpc_verdict want[] = { SMTPC_TEMP, SMTPC_PERM };

	for (size_t k = 0; k < 2; k++) {
		if (k > 0) {
			teardown();
			setup();
		}
		greet(ehlo_pipe);
		sent();
		srv("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
		srv(finals[k]);
		cr_assert_eq(F.nrcpt, 2);
		cr_assert_eq(F.rcpt[0].verdict, want[k]);
		cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_DOT);
		cr_assert_eq(F.msg.verdict, want[k]);
		cr_assert(smtpc_session_reusable(F.s));
	}
}

Test(smtpc, data_command_refused)
{
	greet(ehlo_plain);
	sent();
	srv("250 ok\r\n250 ok\r\n");
	expect(srv("250 ok\r\n"), "DATA\r\n");
	expect(srv("554 5.5.1 no valid recipients\r\n"), "");
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_DATA);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_PERM);
}

Test(smtpc, pipelined_with_nobody_accepted_sends_an_empty_data)
{
	greet(ehlo_pipe);
	sent();
	expect(srv("250 ok\r\n550 no\r\n550 no\r\n354 go\r\n"), ".\r\n");
	cr_assert_eq(F.nrcpt, 2);
	cr_assert_eq(F.msg_done, 0);
	srv("554 no valid recipients\r\n");
	cr_assert_eq(F.msg_done, 1);
	cr_assert_eq(F.msg.code, 550, "the refusal, not the reply to '.'");
	cr_assert_eq(F.nrcpt, 2);
}

Test(smtpc, pipelined_mail_refused)
{
	greet(ehlo_pipe);
	sent();
	expect(srv("553 5.7.1 sender refused\r\n503 5.5.1 no MAIL\r\n"
	    "503 5.5.1 no MAIL\r\n554 5.5.1 no valid recipients\r\n"), "");
	cr_assert_eq(F.nrcpt, 2);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(F.rcpt[i].stage, SMTPC_STAGE_MAIL);
		cr_assert_eq(F.rcpt[i].code, 553);
	}
	cr_assert_eq(F.msg_done, 1);
	cr_assert(smtpc_session_reusable(F.s));
}

Test(smtpc, dsn_parameters_only_when_offered)
{
	F.rcpts[0].notify = SMTPC_NOTIFY_SUCCESS | SMTPC_NOTIFY_FAILURE;
	F.rcpts[0].orcpt = "rfc822;a+b=c@remote.example";
	F.rcpts[1].notify = SMTPC_NOTIFY_NEVER;
	F.rcpts[1].orcpt = "rfc822;b\xc3\xa9@remote.example";
	F.m.dsn_ret = "hdrs";
	F.m.dsn_envid = "id+1 x";
	greet(ehlo_pipe);
	expect(sent(), "MAIL FROM:<s@example.org> SIZE=21 RET=HDRS "
	    "ENVID=id+2B1+20x\r\n"
	    "RCPT TO:<a@remote.example> NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;a+2Bb+3Dc@remote.example\r\n"
	    "RCPT TO:<b@remote.example> NOTIFY=NEVER "
	    "ORCPT=utf-8;b\\x{E9}@remote.example\r\n"
	    "DATA\r\n");
	teardown();

	setup();
	F.rcpts[0].notify = SMTPC_NOTIFY_SUCCESS;
	F.rcpts[0].orcpt = "rfc822;a@remote.example";
	F.m.dsn_ret = "FULL";
	F.m.dsn_envid = "x";
	greet(ehlo_plain);
	expect(sent(), "MAIL FROM:<s@example.org> SIZE=21\r\n");
	expect(srv("250 ok\r\n"), "RCPT TO:<a@remote.example>\r\n");
}

static bool
log_contains(const char *needle)
{
	char line[4096];
	bool found = false;

	fflush(F.log);
	rewind(F.log);
	while (fgets(line, sizeof(line), F.log) != NULL)
		if (strstr(line, needle) != NULL)
			found = true;
	return found;
}

Test(smtpc, auth_plain_after_tls_and_no_secret_logged)
{
	F.params.tls_active = true;
	F.params.auth_user = "bob";
	F.params.auth_pass = "secret";
	greet("250-relay.example\r\n250-AUTH LOGIN PLAIN\r\n"
	    "250 PIPELINING\r\n");
	/* \0bob\0secret */
	expect(sent(), "AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n");
	cr_assert_eq(smtpc_session_stage(F.s), SMTPC_STAGE_AUTH);
	cr_assert(strncmp(srv("235 2.7.0 ok\r\n"), "MAIL FROM:", 10) == 0);
	cr_assert(log_contains("AUTH PLAIN <credentials>"));
	cr_assert_not(log_contains("AGJvYgBzZWNyZXQ"));
	cr_assert_not(log_contains("secret"));
}

Test(smtpc, auth_login)
{
	F.params.tls_active = true;
	F.params.auth_user = "bob";
	F.params.auth_pass = "secret";
	greet("250-relay.example\r\n250 AUTH=LOGIN\r\n");
	expect(sent(), "AUTH LOGIN\r\n");
	expect(srv("334 VXNlcm5hbWU6\r\n"), "Ym9i\r\n");
	expect(srv("334 UGFzc3dvcmQ6\r\n"), "c2VjcmV0\r\n");
	cr_assert(strncmp(srv("235 2.7.0 ok\r\n"), "MAIL FROM:", 10) == 0);
	cr_assert_not(log_contains("c2VjcmV0"));
	cr_assert_not(log_contains("Ym9i"));
}

Test(smtpc, auth_failure_is_temporary)
{
	F.params.tls_active = true;
	F.params.auth_user = "bob";
	F.params.auth_pass = "wrong";
	greet("250-relay.example\r\n250 AUTH PLAIN\r\n");
	sent();
	expect(srv("535 5.7.8 bad credentials\r\n"), "QUIT\r\n");
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_AUTH);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP, "never bounce on AUTH");
	cr_assert_eq(F.rcpt[0].code, 535);
	cr_assert_str_eq(F.rcpt[0].status, "4.7.8");
}

Test(smtpc, auth_needs_tls_unless_allowed)
{
	F.params.auth_user = "bob";
	F.params.auth_pass = "secret";
	greet("250-relay.example\r\n250 AUTH PLAIN\r\n");
	expect(sent(), "QUIT\r\n");
	cr_assert_str_eq(F.rcpt[0].status, "4.7.0");
	teardown();

	setup();
	F.params.auth_user = "bob";
	F.params.auth_pass = "secret";
	F.params.auth_plaintext = true;
	greet("250-relay.example\r\n250 AUTH PLAIN\r\n");
	expect(sent(), "AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n");
	teardown();

	setup();
	F.params.tls_active = true;
	F.params.auth_user = "bob";
	F.params.auth_pass = "secret";
	greet("250-relay.example\r\n250 AUTH CRAM-MD5\r\n");
	expect(sent(), "QUIT\r\n");
	cr_assert(strstr(F.rcpt[0].text, "no AUTH mechanism") != NULL);
}

Test(smtpc, multiline_reply_with_a_bad_continuation)
{
	start();
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	srv("220 mx\r\n");
	sent();
	/* CVE-2020-8794: "25" must not be read as part of a reply. */
	smtpc_session_input(F.s, "250-mx\r\n25\r\n250 PIPELINING\r\n", 28);
	expect(sent(), "");
	cr_assert(F.closed, "dropped, not even QUIT");
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_str_eq(F.rcpt[0].status, "4.5.0");
	cr_assert(strstr(F.rcpt[0].text, "short reply line") != NULL);
	cr_assert_null(strstr(F.out.data, "MAIL"));
}

Test(smtpc, reuse_with_rset)
{
	greet(ehlo_pipe);
	sent();
	srv("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	srv("250 queued\r\n");
	cr_assert(smtpc_session_reusable(F.s));
	message("t@example.org", 1, "second\r\n");
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), -1, "busy");
	expect(sent(), "RSET\r\n");
	cr_assert_eq(smtpc_session_stage(F.s), SMTPC_STAGE_RSET);
	expect(srv("250 2.0.0 ok\r\n"), "MAIL FROM:<t@example.org> SIZE=8\r\n"
	    "RCPT TO:<a@remote.example>\r\nDATA\r\n");
	expect(srv("250 ok\r\n250 ok\r\n354 go\r\n"), "second\r\n.\r\n");
	srv("250 queued\r\n");
	cr_assert_eq(smtpc_session_messages(F.s), 2);
	cr_assert_eq(F.msg_done, 2);
}

Test(smtpc, next_message_from_the_done_callback)
{
	static struct smtpc_rcpt r2 = { "z@remote.example", 0, NULL };

	F.m2 = (struct smtpc_message){ "QID2", "", &r2, 1, 0, false, false,
	    NULL, NULL, NULL, NULL };
	F.send_m2 = true;
	greet(ehlo_pipe);
	sent();
	expect(srv("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
	    "Subject: x\r\n\r\nhello\r\n.\r\n");
	expect(srv("250 queued\r\n"), "RSET\r\n");
	expect(srv("250 ok\r\n"), "MAIL FROM:<> SIZE=0\r\n"
	    "RCPT TO:<z@remote.example>\r\nDATA\r\n");
	/* An empty body is just the dot. */
	expect(srv("250 ok\r\n250 ok\r\n354 go\r\n"), ".\r\n");
	srv("250 ok\r\n");
	cr_assert_eq(F.msg_done, 2);
}

Test(smtpc, no_new_message_from_a_recipient_callback)
{
	static struct smtpc_rcpt r2 = { "z@remote.example", 0, NULL };

	F.m2 = (struct smtpc_message){ "QID2", "", &r2, 1, 0, false, false,
	    NULL, NULL, NULL, NULL };
	F.try_in_rcpt = true;
	F.m.size = 1000000;
	F.send_m2 = true;
	/* Refused locally (SIZE): rcpt_done may not start m2, msg_done
	 * may, and m2 goes out at once. */
	greet(ehlo_plain);
	cr_assert_eq(F.rcpt_next_rv, -1);
	cr_assert_eq(F.msg_done, 1);
	expect(sent(), "MAIL FROM:<> SIZE=0\r\n");
}

Test(smtpc, server_closes_early)
{
	greet(ehlo_plain);
	sent();
	srv("250 ok\r\n");
	smtpc_session_eof(F.s);
	cr_assert(F.closed);
	cr_assert_eq(F.nrcpt, 2);
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_RCPT);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_str_eq(F.rcpt[0].status, "4.4.2");
	cr_assert(strstr(F.rcpt[0].text, "lost connection") != NULL);
	cr_assert_eq(F.msg_done, 1);
	teardown();

	/* 421 in the middle: temporary, closed without QUIT. */
	setup();
	greet(ehlo_plain);
	sent();
	expect(srv("421 4.7.0 too busy\r\n"), "");
	cr_assert(F.closed);
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_MAIL);
	cr_assert_eq(F.rcpt[0].code, 421);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	teardown();

	/* A cached connection the server dropped: no message involved. */
	setup();
	start();
	srv("220 mx\r\n");
	srv(ehlo_plain);
	cr_assert(smtpc_session_reusable(F.s));
	smtpc_session_eof(F.s);
	cr_assert(F.closed);
	cr_assert_not(smtpc_session_reusable(F.s));
	cr_assert_eq(F.msg_done, 0);
}

Test(smtpc, unexpected_replies_drop_the_connection)
{
	start();
	srv("220 mx\r\n");
	srv(ehlo_plain);
	expect(srv("250 surprise\r\n"), "");
	cr_assert(F.closed);
	cr_assert_not_null(smtpc_session_error(F.s));
	teardown();

	/* A 354 where none is due. */
	setup();
	greet(ehlo_plain);
	sent();
	expect(srv("354 go\r\n"), "");
	cr_assert(F.closed);
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
}

Test(smtpc, no_final_reply_before_the_body_is_sent)
{
	greet(ehlo_pipe);
	sent();
	cr_assert_eq(smtpc_session_input(F.s, "250 ok\r\n250 ok\r\n250 ok\r\n"
	    "354 go\r\n250 2.0.0 queued\r\n", 46), 32);
	cr_assert(F.closed);
	cr_assert_null(strstr(F.out.data, "hello"), "no body sent");
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_eq(F.msg.verdict, SMTPC_TEMP);
}

Test(smtpc, dot_stuffing_and_line_ends)
{
	message("s@example.org", 1, "a\r\n.b\r\n..\r\n.\r\nend");
	greet(ehlo_plain);
	sent();
	srv("250 ok\r\n");
	srv("250 ok\r\n");
	expect(srv("354 go\r\n"), "a\r\n..b\r\n...\r\n..\r\nend\r\n.\r\n");
	teardown();

	/* A bare LF never lets a "." line through. */
	setup();
	message("s@example.org", 1, "x\n.\ny");
	greet(ehlo_plain);
	sent();
	srv("250 ok\r\n");
	srv("250 ok\r\n");
	expect(srv("354 go\r\n"), "x\r\n..\r\ny\r\n.\r\n");
	teardown();

	setup();
	message("s@example.org", 1, ".\r\n");
	greet(ehlo_plain);
	sent();
	srv("250 ok\r\n");
	srv("250 ok\r\n");
	expect(srv("354 go\r\n"), "..\r\n.\r\n");
}

Test(smtpc, big_body_flows_as_output_drains)
{
	struct buf body = BUF_INIT, want = BUF_INIT;
	const char *out;

	for (int i = 0; i < 20000; i++) {
		buf_printf(&body, "%sline %d\r\n", i % 7 == 0 ? "." : "", i);
		buf_printf(&want, "%sline %d\r\n", i % 7 == 0 ? ".." : "", i);
	}
	buf_append_str(&want, ".\r\n");
	message("s@example.org", 1, buf_cstr(&body));
	greet("250-mx\r\n250 SIZE 0\r\n");
	sent();
	srv("250 ok\r\n");
	srv("250 ok\r\n");
	out = srv("354 go\r\n");
	cr_assert_lt(strlen(out), body.len, "not all at once");
	cr_assert(smtpc_session_wants_output(F.s));
	cr_assert_eq(smtpc_session_stage(F.s), SMTPC_STAGE_BODY);
	cr_assert_eq(smtpc_session_timeout_secs(F.s), 180);
	{
		char *first = xstrdup(out);
		struct buf all = BUF_INIT;

		buf_append_str(&all, first);
		buf_append_str(&all, drain());
		cr_assert_eq(all.len, want.len);
		cr_assert(memcmp(all.data, want.data, want.len) == 0);
		free(first);
		buf_release(&all);
	}
	cr_assert_eq(smtpc_session_timeout_secs(F.s), 600);
	srv("250 ok\r\n");
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_OK);
	buf_release(&body);
	buf_release(&want);
}

Test(smtpc, body_read_error_drops_the_connection)
{
	message("s@example.org", 1, "x\r\n");
	F.body_fail = true;
	greet(ehlo_plain);
	sent();
	srv("250 ok\r\n");
	srv("250 ok\r\n");
	expect(srv("354 go\r\n"), "");
	cr_assert(F.closed, "no dot: the server must drop the message");
	cr_assert_eq(F.rcpt[0].verdict, SMTPC_TEMP);
	cr_assert_str_eq(F.rcpt[0].status, "4.3.0");
}

Test(smtpc, addresses_that_could_inject_commands)
{
	F.rcpts[0].address = "a@remote.example>\r\nRSET";
	greet(ehlo_plain);
	expect(sent(), "MAIL FROM:<s@example.org> SIZE=21\r\n");
	cr_assert_eq(F.nrcpt, 1);
	cr_assert_eq(F.rcpt[0].index, 0);
	cr_assert_str_eq(F.rcpt[0].status, "5.1.3");
	expect(srv("250 ok\r\n"), "RCPT TO:<b@remote.example>\r\n");
	teardown();

	setup();
	message("s@example.org\r\nRSET", 2, "x\r\n");
	greet(ehlo_plain);
	expect(sent(), "");
	cr_assert_eq(F.nrcpt, 2);
	cr_assert_str_eq(F.rcpt[0].status, "5.1.7");
}

Test(smtpc, timeouts_per_stage)
{
	struct smtpc_limits l;

	start();
	cr_assert_eq(smtpc_session_timeout_secs(F.s), 300);
	smtpc_session_free(&F.s);
	smtpc_limits_default(&l);
	cr_assert_eq(l.mail, 300);
	cr_assert_eq(l.rcpt, 300);
	cr_assert_eq(l.data_init, 120);
	cr_assert_eq(l.data_block, 180);
	cr_assert_eq(l.data_done, 600);
	memset(&l, 0, sizeof(l));
	l.data_init = 7;
	F.params.limits = &l;
	greet(ehlo_plain);
	cr_assert_eq(smtpc_session_timeout_secs(F.s), 300, "MAIL: default");
	srv("250 ok\r\n250 ok\r\n250 ok\r\n");
	cr_assert_eq(smtpc_session_stage(F.s), SMTPC_STAGE_DATA);
	cr_assert_eq(smtpc_session_timeout_secs(F.s), 7);
	smtpc_session_timeout(F.s);
	cr_assert(F.closed);
	cr_assert_eq(F.rcpt[0].stage, SMTPC_STAGE_DATA);
	cr_assert(strstr(F.rcpt[0].text, "timeout") != NULL);
}

Test(smtpc, quit_before_ready_waits_for_the_handshake)
{
	start();
	smtpc_session_quit(F.s);
	expect(srv("220 mx\r\n"), "EHLO client.example\r\n");
	expect(srv(ehlo_plain), "QUIT\r\n");
	srv("221 bye\r\n");
	cr_assert(F.closed);
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), -1);
}

Test(smtpc, names_and_policies)
{
	enum smtpc_tls_policy p;

	cr_assert_eq(smtpc_tls_policy_parse("DANE", &p), 0);
	cr_assert_eq(p, SMTPC_TLS_DANE);
	cr_assert_eq(smtpc_tls_policy_parse("secure", &p), -1);
	cr_assert_str_eq(smtpc_tls_policy_name(SMTPC_TLS_MAY), "may");
	cr_assert_str_eq(smtpc_stage_name(SMTPC_STAGE_RCPT), "rcpt");
}

/* The glue's deadlines run from progress: a reply trickled in byte by
 * byte moves it only when the reply is whole. */
Test(smtpc, progress_moves_on_replies_not_bytes)
{
	static const char banner[] = "220 mx.remote.example ESMTP\r\n";
	struct buf pending = BUF_INIT;
	unsigned p;

	start();
	cr_assert_eq(smtpc_session_next_message(F.s, &F.m), 0);
	p = smtpc_session_progress(F.s);
	for (size_t i = 0; i + 1 < sizeof(banner) - 1; i++) {
		buf_append(&pending, banner + i, 1);
		buf_consume(&pending, smtpc_session_input(F.s, pending.data,
		    pending.len));
		cr_assert_eq(smtpc_session_progress(F.s), p,
		    "byte %zu of the banner moved it", i);
	}
	cr_assert_not(smtpc_session_greeted(F.s));
	buf_append(&pending, "\n", 1);
	buf_consume(&pending, smtpc_session_input(F.s, pending.data,
	    pending.len));
	cr_assert_eq(pending.len, 0);
	buf_release(&pending);
	expect(sent(), "EHLO client.example\r\n");
	cr_assert_neq(smtpc_session_progress(F.s), p);
	p = smtpc_session_progress(F.s);
	expect(srv("250-mx.remote.example\r\n"), "");
	cr_assert_eq(smtpc_session_progress(F.s), p, "half an EHLO reply");
	expect(srv("250-SIZE 100000\r\n250 8BITMIME\r\n"),
	    "MAIL FROM:<s@example.org> SIZE=21\r\n");
	cr_assert_neq(smtpc_session_progress(F.s), p);
	cr_assert(smtpc_session_greeted(F.s));
}
