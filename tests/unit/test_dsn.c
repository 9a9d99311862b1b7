/* Tests for src/queue/dsn.c: RFC 3464 delivery status notifications. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "buf.h"
#include "../../src/queue/dsn.h"

#define T0	1700000000	/* Tue, 14 Nov 2023 22:13:20 +0000 */

static const char golden_bounce[] =
	"From: Mail Delivery System <MAILER-DAEMON@mail.sluice.example>\r\n"
	"To: <alice@sluice.example>\r\n"
	"Subject: Undelivered Mail Returned to Sender\r\n"
	"Date: Tue, 14 Nov 2023 23:13:20 +0000\r\n"
	"Message-ID: <dsn.0ABCDEFGHJKM@mail.sluice.example>\r\n"
	"Auto-Submitted: auto-replied\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/report; report-type=delivery-status;\r\n"
	" boundary=\"=_sluice_dsn_0ABCDEFGHJKM_0\"\r\n"
	"Content-Transfer-Encoding: 7bit\r\n"
	"\r\n"
	"This is a MIME-encapsulated message.\r\n"
	"\r\n"
	"--=_sluice_dsn_0ABCDEFGHJKM_0\r\n"
	"Content-Type: text/plain; charset=us-ascii\r\n"
	"\r\n"
	"This is the mail system at host mail.sluice.example.\r\n"
	"\r\n"
	"I'm sorry to have to tell you that your message could not be delivered to\r\n"
	"one or more recipients. The details are below.\r\n"
	"\r\n"
	"Queue id: 0ABCDEFGHJKM\r\n"
	"\r\n"
	"<bob@example.org>:\r\n"
	"    The message could not be delivered to this recipient.\r\n"
	"    Status: 5.1.1\r\n"
	"    The server mx.example.org replied:\r\n"
	"      550-5.1.1 The email account that you tried to reach does 550 5.1.1 not\r\n"
	"      exist.\r\n"
	"\r\n"
	"<carol@example.net>:\r\n"
	"    The message could not be delivered to this recipient.\r\n"
	"    Status: 5.2.2\r\n"
	"    Reason:\r\n"
	"      552 5.2.2 mailbox full\r\n"
	"\r\n"
	"The header of your original message is attached.\r\n"
	"\r\n"
	"--=_sluice_dsn_0ABCDEFGHJKM_0\r\n"
	"Content-Type: message/delivery-status\r\n"
	"\r\n"
	"Reporting-MTA: dns;mail.sluice.example\r\n"
	"Original-Envelope-Id: env-1\r\n"
	"X-Sluice-Queue-ID: 0ABCDEFGHJKM\r\n"
	"Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	"\r\n"
	"Original-Recipient: rfc822;bob@alias.example\r\n"
	"Final-Recipient: rfc822;bob@example.org\r\n"
	"Action: failed\r\n"
	"Status: 5.1.1\r\n"
	"Remote-MTA: dns;mx.example.org\r\n"
	"Diagnostic-Code: smtp;550-5.1.1 The email account that you tried to reach\r\n"
	" does 550 5.1.1 not exist.\r\n"
	"Last-Attempt-Date: Tue, 14 Nov 2023 22:15:00 +0000\r\n"
	"\r\n"
	"Final-Recipient: rfc822;carol@example.net\r\n"
	"Action: failed\r\n"
	"Status: 5.2.2\r\n"
	"Diagnostic-Code: smtp;552 5.2.2 mailbox full\r\n"
	"Last-Attempt-Date: Tue, 14 Nov 2023 22:16:40 +0000\r\n"
	"\r\n"
	"--=_sluice_dsn_0ABCDEFGHJKM_0\r\n"
	"Content-Type: text/rfc822-headers\r\n"
	"\r\n"
	"Subject: hi\r\n"
	"From: alice@sluice.example\r\n"
	"\r\n"
	"--=_sluice_dsn_0ABCDEFGHJKM_0--\r\n"
	;

static const char orig_msg[] =
    "Subject: hi\r\nFrom: alice@sluice.example\r\n\r\nbody\r\n";

static struct dsn_rcpt two_rcpts[2];

static void
msg_init(struct dsn_msg *m)
{
	memset(two_rcpts, 0, sizeof(two_rcpts));
	two_rcpts[0].final_rcpt = "bob@example.org";
	two_rcpts[0].orcpt = "rfc822;bob@alias.example";
	two_rcpts[0].action = DSN_ACTION_FAILED;
	two_rcpts[0].status = "5.1.1";
	two_rcpts[0].remote_mta = "mx.example.org";
	two_rcpts[0].diagnostic = "550-5.1.1 The email account that you "
	    "tried to reach does\r\n550 5.1.1 not exist.";
	two_rcpts[0].last_attempt = T0 + 100;
	two_rcpts[1].final_rcpt = "carol@example.net";
	two_rcpts[1].action = DSN_ACTION_FAILED;
	two_rcpts[1].status = "5.2.2";
	two_rcpts[1].diagnostic = "552 5.2.2 mailbox full";
	two_rcpts[1].last_attempt = T0 + 200;

	memset(m, 0, sizeof(*m));
	m->reporting_mta = "mail.sluice.example";
	m->queue_id = "0ABCDEFGHJKM";
	m->sender = "alice@sluice.example";
	m->envid = "env-1";
	m->arrival = T0;
	m->ret = DSN_RET_HDRS;
	m->body = orig_msg;
	m->body_len = strlen(orig_msg);
	m->date = T0 + 3600;
	m->message_id = "dsn.0ABCDEFGHJKM@mail.sluice.example";
	m->rcpts = two_rcpts;
	m->nrcpts = 2;
}

/* Every line ends in CRLF, none is over 998 octets, no bare CR or LF. */
static void
assert_wellformed(const struct buf *b)
{
	size_t i, col = 0;

	cr_assert(b->len >= 2);
	cr_assert(b->data[b->len - 2] == '\r' && b->data[b->len - 1] == '\n');
	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\r') {
			cr_assert(i + 1 < b->len && b->data[i + 1] == '\n',
			    "bare CR at %zu", i);
			i++;
			col = 0;
			continue;
		}
		cr_assert(b->data[i] != '\n', "bare LF at %zu", i);
		col++;
		cr_assert(col <= 998, "line over 998 at %zu", i);
	}
}

/* The unfolded value of the first "name:" line after offset 0. */
static char *
field_get(const char *doc, const char *name)
{
	char *pat = xasprintf("\r\n%s: ", name);
	const char *p = strstr(doc, pat), *e;
	struct buf v = BUF_INIT;

	if (p == NULL) {
		free(pat);
		return NULL;
	}
	p += strlen(pat);
	free(pat);
	for (;;) {
		e = strstr(p, "\r\n");
		buf_append(&v, p, (size_t)(e - p));
		if (e[2] != ' ' && e[2] != '\t')
			break;
		p = e + 2;
	}
	if (v.data == NULL)
		buf_append(&v, "", 0);
	return buf_steal(&v);
}

static int
write_ok(const struct dsn_msg *m, struct buf *b, struct dsn_info *info)
{
	const char *error = NULL;
	int rc;

	buf_init(b, 0);
	rc = dsn_report_write(m, b, info, &error);
	cr_assert_eq(rc, DSN_OK, "rc %d: %s", rc, error ? error : "");
	assert_wellformed(b);
	return rc;
}

static void
assert_field(const char *doc, const char *name, const char *want)
{
	char *v = field_get(doc, name);

	if (want == NULL) {
		cr_assert_null(v, "%s unexpectedly present: %s", name, v);
		return;
	}
	cr_assert_not_null(v, "%s missing", name);
	cr_assert_str_eq(v, want, "%s", name);
	free(v);
}

Test(dsn, bounce_two_rcpts_golden)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;

	msg_init(&m);
	write_ok(&m, &b, &info);
	cr_assert_str_eq(b.data, golden_bounce);
	cr_assert_str_eq(info.env_sender, "");
	cr_assert_str_eq(info.env_rcpt, "alice@sluice.example");
	cr_assert_eq(info.smtputf8, 0);
	cr_assert_eq(info.eightbit, 0);
	buf_release(&b);
}

Test(dsn, bounce_two_rcpts_fields)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;
	const char *r2;

	msg_init(&m);
	write_ok(&m, &b, &info);
	assert_field(b.data, "Auto-Submitted", "auto-replied");
	assert_field(b.data, "Reporting-MTA", "dns;mail.sluice.example");
	assert_field(b.data, "Original-Envelope-Id", "env-1");
	assert_field(b.data, "Arrival-Date", "Tue, 14 Nov 2023 22:13:20 +0000");
	assert_field(b.data, "Original-Recipient", "rfc822;bob@alias.example");
	assert_field(b.data, "Final-Recipient", "rfc822;bob@example.org");
	assert_field(b.data, "Remote-MTA", "dns;mx.example.org");
	assert_field(b.data, "Diagnostic-Code", "smtp;550-5.1.1 The email "
	    "account that you tried to reach does 550 5.1.1 not exist.");
	/* The second recipient block: no ORCPT, no Remote-MTA. */
	r2 = strstr(b.data, "\r\n\r\nFinal-Recipient: rfc822;carol");
	cr_assert_not_null(r2);
	assert_field(r2, "Final-Recipient", "rfc822;carol@example.net");
	assert_field(r2, "Action", "failed");
	assert_field(r2, "Status", "5.2.2");
	assert_field(r2, "Remote-MTA", NULL);
	assert_field(r2, "Original-Recipient", NULL);
	assert_field(r2, "Will-Retry-Until", NULL);
	assert_field(r2, "Last-Attempt-Date",
	    "Tue, 14 Nov 2023 22:16:40 +0000");
	buf_release(&b);
}

Test(dsn, null_sender_refused)
{
	static const char *const senders[] = { "", NULL };
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b = BUF_INIT;
	const char *error = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(senders); i++) {
		msg_init(&m);
		m.sender = senders[i];
		buf_append_str(&b, "keep");
		cr_assert_eq(dsn_report_write(&m, &b, &info, &error),
		    DSN_NO_SEND);
		cr_assert_str_eq(b.data, "keep");
		buf_reset(&b);
	}
	buf_release(&b);
}

Test(dsn, delay_notice)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;

	msg_init(&m);
	m.nrcpts = 1;
	m.ret = DSN_RET_FULL;	/* ignored: delays return headers */
	two_rcpts[0].action = DSN_ACTION_DELAYED;
	two_rcpts[0].status = "4.4.1";
	two_rcpts[0].diagnostic = "421 4.4.1 try later";
	two_rcpts[0].retry_until = T0 + 5 * 86400;
	write_ok(&m, &b, &info);
	assert_field(b.data, "Subject", "Delayed Mail (still being retried)");
	assert_field(b.data, "Action", "delayed");
	assert_field(b.data, "Status", "4.4.1");
	assert_field(b.data, "Will-Retry-Until",
	    "Sun, 19 Nov 2023 22:13:20 +0000");
	cr_assert_not_null(strstr(b.data, "Content-Type: text/rfc822-headers"));
	cr_assert_null(strstr(b.data, "\r\nbody\r\n"));
	cr_assert_not_null(strstr(b.data, "keep trying"));
	buf_release(&b);
}

Test(dsn, success_notice)
{
	static const enum dsn_action acts[] = {
		DSN_ACTION_DELIVERED, DSN_ACTION_RELAYED, DSN_ACTION_EXPANDED,
	};
	static const char *const names[] = {
		"delivered", "relayed", "expanded",
	};
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(acts); i++) {
		msg_init(&m);
		m.nrcpts = 1;
		m.ret = DSN_RET_FULL;
		two_rcpts[0].action = acts[i];
		two_rcpts[0].status = "5.1.1";	/* wrong class: replaced */
		two_rcpts[0].retry_until = T0;	/* not for success */
		write_ok(&m, &b, &info);
		assert_field(b.data, "Subject",
		    "Successful Mail Delivery Report");
		assert_field(b.data, "Action", names[i]);
		assert_field(b.data, "Status", "2.0.0");
		assert_field(b.data, "Will-Retry-Until", NULL);
		cr_assert_null(strstr(b.data, "message/rfc822"));
		buf_release(&b);
	}
}

Test(dsn, mixed_actions_worst_wins)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;

	msg_init(&m);
	two_rcpts[0].action = DSN_ACTION_DELIVERED;
	two_rcpts[0].status = "2.0.0";
	write_ok(&m, &b, &info);
	assert_field(b.data, "Subject", "Undelivered Mail Returned to Sender");
	buf_release(&b);
}

Test(dsn, status_fallbacks)
{
	static const struct {
		enum dsn_action	 action;
		const char	*status;
		const char	*want;
	} cases[] = {
		{ DSN_ACTION_FAILED, "5.1.1", "5.1.1" },
		{ DSN_ACTION_FAILED, "4.4.7", "4.4.7" },	/* expired */
		{ DSN_ACTION_FAILED, "5.123.456", "5.123.456" },
		{ DSN_ACTION_FAILED, "5.1234.1", "5.0.0" },
		{ DSN_ACTION_FAILED, "5.1.1234", "5.0.0" },
		{ DSN_ACTION_FAILED, "5.1.", "5.0.0" },
		{ DSN_ACTION_FAILED, "3.1.1", "5.0.0" },
		{ DSN_ACTION_FAILED, "5.1.1\r\nX: y", "5.0.0" },
		{ DSN_ACTION_FAILED, "2.0.0", "5.0.0" },
		{ DSN_ACTION_FAILED, NULL, "5.0.0" },
		{ DSN_ACTION_FAILED, "", "5.0.0" },
		{ DSN_ACTION_DELAYED, "x", "4.0.0" },
		{ DSN_ACTION_DELIVERED, "2.1.5", "2.1.5" },
	};
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		msg_init(&m);
		m.nrcpts = 1;
		two_rcpts[0].action = cases[i].action;
		two_rcpts[0].status = cases[i].status;
		write_ok(&m, &b, &info);
		assert_field(b.data, "Status", cases[i].want);
		buf_release(&b);
	}
}

Test(dsn, ret_full_vs_hdrs)
{
	static const struct {
		enum dsn_ret	 ret;
		const char	*type;
	} cases[] = {
		{ DSN_RET_FULL, "message/rfc822" },
		{ DSN_RET_HDRS, "text/rfc822-headers" },
		{ DSN_RET_UNSET, "text/rfc822-headers" },
	};
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;
	size_t i;
	int full;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		msg_init(&m);
		m.ret = cases[i].ret;
		write_ok(&m, &b, &info);
		full = cases[i].ret == DSN_RET_FULL;
		assert_field(b.data, "Content-Type", "multipart/report; "
		    "report-type=delivery-status; "
		    "boundary=\"=_sluice_dsn_0ABCDEFGHJKM_0\"");
		cr_assert_not_null(strstr(b.data, cases[i].type));
		cr_assert_eq(strstr(b.data, "\r\n\r\nbody\r\n") != NULL, full);
		cr_assert_not_null(strstr(b.data, full ?
		    "Your original message is attached." :
		    "The header of your original message is attached."));
		buf_release(&b);
	}
}

Test(dsn, size_cap)
{
	static const struct {
		size_t		 cap;
		const char	*type;
		const char	*text;
	} cases[] = {
		{ 0, "message/rfc822", "Your original message is attached." },
		{ sizeof(orig_msg) - 1, "message/rfc822",
		    "Your original message is attached." },
		{ sizeof(orig_msg) - 2, "text/rfc822-headers",
		    "too large to return in full" },
		{ 41, "text/rfc822-headers", "too large to return in full" },
		{ 40, NULL, "could not be attached" },
		{ 1, NULL, "could not be attached" },
	};
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		msg_init(&m);
		m.ret = DSN_RET_FULL;
		m.body_max = cases[i].cap;
		write_ok(&m, &b, &info);
		cr_assert_not_null(strstr(b.data, cases[i].text), "case %zu", i);
		if (cases[i].type != NULL)
			cr_assert_not_null(strstr(b.data, cases[i].type));
		else
			cr_assert_null(strstr(b.data, "From: alice@"));
		buf_release(&b);
	}
}

Test(dsn, default_cap_one_mib)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b, big = BUF_INIT;
	size_t i;

	buf_append_str(&big, "Subject: big\r\n\r\n");
	for (i = 0; big.len < DSN_BODY_MAX + 1; i++)
		buf_append_str(&big, "0123456789012345678901234567890123456"
		    "789012345678901234567890123456789012345678\r\n");
	msg_init(&m);
	m.ret = DSN_RET_FULL;
	m.body = big.data;
	m.body_len = big.len;
	write_ok(&m, &b, &info);
	cr_assert_not_null(strstr(b.data, "too large to return in full"));
	cr_assert_lt(b.len, 8192);
	buf_release(&b);
	m.body_len = DSN_BODY_MAX;	/* exactly the cap: cut mid-line */
	write_ok(&m, &b, &info);
	cr_assert_not_null(strstr(b.data, "message/rfc822"));
	cr_assert_gt(b.len, (size_t)DSN_BODY_MAX);
	buf_release(&b);
	buf_release(&big);
}

Test(dsn, long_lines_and_bare_line_ends)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b, body = BUF_INIT;
	size_t i;

	buf_append_str(&body, "Subject: x\nX-A: 1\r\rbody\n");
	msg_init(&m);
	m.ret = DSN_RET_FULL;
	m.body = body.data;
	m.body_len = body.len;
	write_ok(&m, &b, &info);	/* bare CR/LF made CRLF */
	cr_assert_not_null(strstr(b.data, "Subject: x\r\nX-A: 1\r\n\r\nbody"));
	buf_release(&b);
	for (i = 0; i < 999; i++)
		buf_append_byte(&body, 'a');
	m.body = body.data;
	m.body_len = body.len;
	write_ok(&m, &b, &info);
	cr_assert_not_null(strstr(b.data, "text/rfc822-headers"));
	buf_release(&b);
	buf_release(&body);
}

Test(dsn, diagnostic_injection_sanitised)
{
	static const char *const evil[] = {
		"550 no\r\n\r\n--=_sluice_dsn_0ABCDEFGHJKM_0\r\n"
		    "Content-Type: text/html\r\n\r\n<b>x</b>",
		"550 a\rFinal-Recipient: rfc822;evil@x\nAction: delivered",
		"550 nul\0hidden",
		"550 \x1b[31mred\x7f \xff\xfe bytes",
	};
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(evil); i++) {
		msg_init(&m);
		m.nrcpts = 1;
		two_rcpts[0].diagnostic = evil[i];
		two_rcpts[0].remote_mta = "mx\r\nX-Evil: 1";
		m.envid = "e\r\nX-Evil: 2";
		write_ok(&m, &b, &info);
		cr_assert_null(strstr(b.data, "\r\nContent-Type: text/html"));
		cr_assert_null(strstr(b.data, "\r\nFinal-Recipient: rfc822;evil"));
		cr_assert_null(strstr(b.data, "\r\nAction: delivered"));
		cr_assert_null(strstr(b.data, "\r\nX-Evil"));
		cr_assert_null(strstr(b.data, "hidden"));
		cr_assert_null(strchr(b.data, 0x1b));
		cr_assert_null(strchr(b.data, 0x7f));
		cr_assert_null(strchr(b.data, '\xff'));
		assert_field(b.data, "Remote-MTA", "dns;mx X-Evil: 1");
		buf_release(&b);
	}
	/* The quoted boundary pushed the generator to the next one. */
	msg_init(&m);
	two_rcpts[0].diagnostic = evil[0];
	write_ok(&m, &b, &info);
	cr_assert_not_null(strstr(b.data, "boundary=\"=_sluice_dsn_0ABCDEFGHJKM_1\""));
	cr_assert_not_null(strstr(b.data, "\r\n--=_sluice_dsn_0ABCDEFGHJKM_1--\r\n"));
	buf_release(&b);
}

Test(dsn, huge_diagnostic_capped)
{
	static const char *const fill = "x ";
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b, diag = BUF_INIT;
	char *v;
	size_t k;

	for (k = 0; k < 2; k++) {
		buf_reset(&diag);
		buf_append_str(&diag, "550 ");
		while (diag.len < 5000)
			buf_append_str(&diag, k == 0 ? "y" : fill);
		msg_init(&m);
		two_rcpts[0].diagnostic = diag.data;
		write_ok(&m, &b, &info);
		v = field_get(b.data, "Diagnostic-Code");
		cr_assert_not_null(v);
		cr_assert_leq(strlen(v), strlen("smtp;") + DSN_TEXT_MAX + 3);
		cr_assert_str_eq(v + strlen(v) - 3, "...");
		free(v);
		buf_release(&b);
	}
	buf_release(&diag);
}

Test(dsn, non_ascii_addresses)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;

	msg_init(&m);
	m.nrcpts = 1;
	two_rcpts[0].final_rcpt = "jos\xc3\xa9+x@example.org";
	two_rcpts[0].orcpt = "utf-8;jos\xc3\xa9=@example.org";
	two_rcpts[0].diagnostic = "550 5.1.1 jos\xc3\xa9 unknown";
	write_ok(&m, &b, &info);
	cr_assert_eq(info.smtputf8, 1);
	cr_assert_eq(info.eightbit, 1);
	assert_field(b.data, "Final-Recipient",
	    "utf-8;jos\xc3\xa9\\x{2B}x@example.org");
	assert_field(b.data, "Original-Recipient",
	    "utf-8;jos\xc3\xa9\\x{3D}@example.org");
	assert_field(b.data, "Diagnostic-Code",
	    "smtp;550 5.1.1 jos\xc3\xa9 unknown");
	cr_assert_not_null(strstr(b.data, "message/global-delivery-status"));
	cr_assert_not_null(strstr(b.data, "message/global-headers"));
	cr_assert_not_null(strstr(b.data, "charset=utf-8"));
	buf_release(&b);

	/* An ASCII notice keeps non-ASCII diagnostics out. */
	msg_init(&m);
	two_rcpts[0].diagnostic = "550 jos\xc3\xa9";
	write_ok(&m, &b, &info);
	cr_assert_eq(info.smtputf8, 0);
	assert_field(b.data, "Diagnostic-Code", "smtp;550 jos??");
	buf_release(&b);

	/* A UTF-8 sender alone makes the notice need SMTPUTF8. */
	msg_init(&m);
	m.sender = "\xe7\x94\xa8\xe6\x88\xb7@example.cn";
	write_ok(&m, &b, &info);
	cr_assert_eq(info.smtputf8, 1);
	assert_field(b.data, "To", "<\xe7\x94\xa8\xe6\x88\xb7@example.cn>");
	assert_field(b.data, "Final-Recipient", "rfc822;bob@example.org");
	buf_release(&b);
}

Test(dsn, bad_input_refused)
{
	static const struct {
		const char *sender, *rcpt, *mta, *msgid;
	} cases[] = {
		{ "a@x", "b@y\r\nBcc: z", "h.example", "id@h" },
		{ "a@x\n", "b@y", "h.example", "id@h" },
		{ "a@x", "jos\xc3@y", "h.example", "id@h" },	/* bad UTF-8 */
		{ "a@x", "\xed\xa0\x80@y", "h.example", "id@h" },	/* surrogate */
		{ "a@x", "\xc0\xaf@y", "h.example", "id@h" },	/* overlong */
		{ "a@x", "", "h.example", "id@h" },
		{ "a@x", NULL, "h.example", "id@h" },
		{ "a@x", "b@y", "h example", "id@h" },
		{ "a@x", "b@y", "", "id@h" },
		{ "a@x", "b@y", NULL, "id@h" },
		{ "a@x", "b@y", "h.example", "<id@h>" },
		{ "a@x", "b@y", "h.example", "id@h\r\nX: y" },
		{ "a@x", "b@y", "h.example", "" },
		{ "a@x", "b@y", "h.example", NULL },
	};
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b = BUF_INIT;
	const char *error;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		msg_init(&m);
		m.sender = cases[i].sender;
		two_rcpts[0].final_rcpt = cases[i].rcpt;
		m.reporting_mta = cases[i].mta;
		m.message_id = cases[i].msgid;
		error = NULL;
		cr_assert_eq(dsn_report_write(&m, &b, &info, &error),
		    DSN_ERROR, "case %zu", i);
		cr_assert_not_null(error);
		cr_assert_eq(b.len, 0);
	}
	msg_init(&m);
	m.nrcpts = 0;
	cr_assert_eq(dsn_report_write(&m, &b, &info, &error), DSN_ERROR);
	msg_init(&m);
	two_rcpts[1].action = (enum dsn_action)99;
	cr_assert_eq(dsn_report_write(&m, &b, &info, &error), DSN_ERROR);
}

Test(dsn, address_length_edges)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b = BUF_INIT, addr = BUF_INIT;
	const char *error;

	while (addr.len < DSN_ADDR_MAX - 2)
		buf_append_byte(&addr, 'a');
	buf_append_str(&addr, "@x");
	msg_init(&m);
	two_rcpts[0].final_rcpt = addr.data;
	write_ok(&m, &b, &info);
	buf_release(&b);
	buf_append_byte(&addr, 'y');
	two_rcpts[0].final_rcpt = addr.data;
	cr_assert_eq(dsn_report_write(&m, &b, &info, &error), DSN_ERROR);
	buf_release(&addr);
}

Test(dsn, output_max_restores_buffer)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;
	const char *error = NULL;

	msg_init(&m);
	buf_init(&b, 300);
	buf_append_str(&b, "prefix");
	cr_assert_eq(dsn_report_write(&m, &b, &info, &error), DSN_ERROR);
	cr_assert_not_null(error);
	cr_assert_str_eq(b.data, "prefix");
	b.max = sizeof(golden_bounce) - 1 + 6;
	cr_assert_eq(dsn_report_write(&m, &b, &info, &error), DSN_OK);
	cr_assert_str_eq(b.data + 6, golden_bounce);
	buf_release(&b);
}

Test(dsn, no_original_and_no_optional_fields)
{
	struct dsn_msg m;
	struct dsn_info info;
	struct buf b;

	msg_init(&m);
	m.body = NULL;
	m.envid = NULL;
	m.arrival = 0;
	m.nrcpts = 1;
	two_rcpts[0].orcpt = "no-semicolon";
	two_rcpts[0].remote_mta = NULL;
	two_rcpts[0].diagnostic = NULL;
	two_rcpts[0].last_attempt = 0;
	write_ok(&m, &b, &info);
	cr_assert_not_null(strstr(b.data, "not attached"));
	assert_field(b.data, "Original-Envelope-Id", NULL);
	assert_field(b.data, "Arrival-Date", NULL);
	assert_field(b.data, "Original-Recipient", NULL);
	assert_field(b.data, "Diagnostic-Code", NULL);
	assert_field(b.data, "Last-Attempt-Date", NULL);
	cr_assert_null(strstr(b.data, "rfc822-headers"));
	buf_release(&b);
}

Test(dsn, date_format)
{
	static const struct {
		time_t		 t;
		const char	*want;
	} cases[] = {
		{ 0, "Thu, 01 Jan 1970 00:00:00 +0000" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 +0000" },
		{ 4102444799, "Thu, 31 Dec 2099 23:59:59 +0000" },
		{ -1, "Wed, 31 Dec 1969 23:59:59 +0000" },
	};
	char out[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		dsn_date_format(cases[i].t, out, sizeof(out));
		cr_assert_str_eq(out, cases[i].want);
	}
}
