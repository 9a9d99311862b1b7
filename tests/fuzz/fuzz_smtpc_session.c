/*
 * libFuzzer target for src/smtpc (session.c, transaction.c, reply.c): a
 * session with a fake connection sends a small message while the input
 * plays the server. Byte 0 picks the TLS policy and AUTH set-up, byte 1
 * the message's needs, byte 2 how the server's bytes are split; the rest
 * is what the server sends. Handshakes end as byte 0 says, the body flows
 * whenever the session wants, and the connection ends with EOF or a
 * timeout. Beyond "no crash, no leak": nothing is written after close,
 * close comes once, every recipient of every message given is settled
 * exactly once and then its message, and every outcome keeps its promises
 * (printable bounded text, a status whose class matches the verdict).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "smtpc.h"
#include "util.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NRCPTS	3

struct fz {
	struct smtpc_session	*s;
	bool			 closed;
	bool			 tls_asked;
	bool			 tls_ok;
	bool			 starttls_fails;
	bool			 reuse;
	bool			 body_fail;
	struct smtpc_rcpt	 rcpts[NRCPTS];
	struct smtpc_message	 m[2];
	unsigned char		 settled[2][NRCPTS];
	int			 done[2];
	int			 given;
	const char		*body;
	size_t			 body_len;
};

static struct fz Z;
static char big_body[100 * 1024];

static void
io_write(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	CHECK(!Z.closed && len > 0);
}

static int
io_starttls(void *ctx)
{
	(void)ctx;
	CHECK(!Z.closed && !Z.tls_asked);
	if (Z.starttls_fails)
		return -1;
	Z.tls_asked = true;
	return 0;
}

static void
io_close(void *ctx)
{
	(void)ctx;
	CHECK(!Z.closed);
	Z.closed = true;
}

static void
check_outcome(const struct smtpc_outcome *o)
{
	static const char cls[] = { [SMTPC_OK] = '2', [SMTPC_TEMP] = '4',
	    [SMTPC_PERM] = '5' };
	size_t n;

	CHECK(o->verdict <= SMTPC_PERM && o->stage <= SMTPC_STAGE_CLOSED);
	CHECK(o->status[0] == cls[o->verdict]);
	CHECK(o->text != NULL);
	n = strlen(o->text);
	CHECK(n <= SMTPC_TEXT_MAX + 3);
	for (size_t i = 0; i < n; i++)
		CHECK(o->text[i] >= 0x20 && o->text[i] <= 0x7e);
	if (o->remote)
		CHECK(o->code >= 200 && o->code <= 559);
	if (o->verdict == SMTPC_OK)
		CHECK(o->remote && o->code / 100 == 2);
}

static size_t
which(const struct smtpc_message *m)
{
	size_t k = (size_t)(m - Z.m);

	CHECK(m == &Z.m[0] || m == &Z.m[1]);
	CHECK((int)k < Z.given);
	return k;
}

static void
cb_rcpt(void *ctx, const struct smtpc_message *m, size_t index,
    const struct smtpc_outcome *o)
{
	size_t k = which(m);

	(void)ctx;
	CHECK(index < m->nrcpts && !Z.settled[k][index] && Z.done[k] == 0);
	Z.settled[k][index] = 1;
	check_outcome(o);
}

static void
cb_msg(void *ctx, const struct smtpc_message *m, const struct smtpc_outcome *o)
{
	size_t k = which(m);

	(void)ctx;
	CHECK(Z.done[k] == 0);
	for (size_t i = 0; i < m->nrcpts; i++)
		CHECK(Z.settled[k][i]);
	Z.done[k]++;
	check_outcome(o);
	/* Counted first: a refusal may settle it before the call returns. */
	if (k == 0 && Z.reuse && Z.given++ == 1 &&
	    smtpc_session_next_message(Z.s, &Z.m[1]) == -1)
		Z.given--;
}

static ssize_t
body_read(void *ctx, uint64_t off, void *out, size_t len)
{
	(void)ctx;
	if (Z.body_fail)
		return -1;
	if (off >= Z.body_len)
		return 0;
	if (len > Z.body_len - off)
		len = Z.body_len - (size_t)off;
	memcpy(out, Z.body + off, len);
	return (ssize_t)len;
}

/* Lines of 61 octets, every one dot-stuffed. */
static void
body_fill(char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		size_t k = i % 61;

		b[i] = k == 60 ? '\n' : k == 59 ? '\r' : k == 0 ? '.' : 'x';
	}
}

static void
setup(uint8_t cfg, uint8_t cfg2, struct smtpc_params *p)
{
	static const char *const addrs[NRCPTS] = { "a@remote.example",
	    "b\xc3\xa9@remote.example", "c@remote.example" };
	bool dsn = cfg2 & 0x04;

	memset(&Z, 0, sizeof(Z));
	memset(p, 0, sizeof(*p));
	p->helo_name = "client.example";
	p->peer = "mx.remote.example[192.0.2.25]";
	p->tls = (enum smtpc_tls_policy)(cfg % 5);
	p->tls_active = cfg & 0x08;
	if (cfg & 0x10) {
		p->auth_user = "bob";
		p->auth_pass = "secret";
	}
	p->auth_plaintext = cfg & 0x20;
	Z.tls_ok = cfg & 0x40;
	Z.reuse = cfg & 0x80;
	Z.starttls_fails = (cfg & 0xc0) == 0x80;
	Z.body_fail = (cfg2 & 0x18) == 0x18;
	if (cfg2 & 0x80) {
		if (big_body[0] == '\0')
			body_fill(big_body, sizeof(big_body));
		Z.body = big_body;
		Z.body_len = sizeof(big_body);
	} else {
		Z.body = "Subject: x\r\n\r\n.hello\r\nbare\n.\nend";
		Z.body_len = strlen(Z.body);
	}
	for (size_t i = 0; i < NRCPTS; i++)
		Z.rcpts[i] = (struct smtpc_rcpt){ addrs[i],
		    dsn ? SMTPC_NOTIFY_SUCCESS | SMTPC_NOTIFY_DELAY : 0,
		    !dsn ? NULL : (cfg2 & 0x08) ? "utf-8;x\xc3\xa9+y@r.ex" :
		    "rfc822;x+y=z@remote.example" };
	Z.m[0] = (struct smtpc_message){ "QID1", "s@example.org", Z.rcpts,
	    1 + (cfg2 >> 5) % NRCPTS, Z.body_len, cfg2 & 0x01, cfg2 & 0x02,
	    dsn ? "FULL" : NULL, dsn ? "env+id" : NULL, NULL, body_read };
	Z.m[1] = Z.m[0];
	Z.m[1].qid = "QID2";
	Z.m[1].sender = "";
	Z.m[1].nrcpts = NRCPTS;
}

/* What the glue does after each read. */
static void
glue_step(struct buf *pending)
{
	if (Z.tls_asked) {
		Z.tls_asked = false;
		/* Plaintext after the 220 is thrown away. */
		buf_reset(pending);
		smtpc_session_tls_done(Z.s, Z.tls_ok, "TLSv1.3",
		    "TLS_AES_128_GCM_SHA256", Z.tls_ok ? "" : "mismatch");
	}
	for (int i = 0; i < 100 && smtpc_session_wants_output(Z.s); i++)
		smtpc_session_output_drained(Z.s);
	CHECK(!smtpc_session_wants_output(Z.s) || Z.closed);
	/* What the glue asks between reads. */
	CHECK(smtpc_session_timeout_secs(Z.s) > 0);
	CHECK(smtpc_session_stage(Z.s) <= SMTPC_STAGE_CLOSED);
	CHECK(smtpc_session_state_name(Z.s) != NULL);
	CHECK(!smtpc_session_reusable(Z.s) || (!Z.closed &&
	    smtpc_session_stage(Z.s) == SMTPC_STAGE_IDLE));
	if (smtpc_session_closed(Z.s))
		CHECK(Z.closed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpc_io io = { NULL, io_write, io_starttls, io_close };
	struct smtpc_callbacks cb = { NULL, cb_rcpt, cb_msg };
	struct smtpc_params p;
	struct buf pending = BUF_INIT;
	size_t chunk, off = 3, n;

	if (size < 3)
		return 0;
	log_set_level(LOG_EMERG);
	setup(data[0], data[1], &p);
	chunk = data[2] % 32 == 0 ? size : data[2] % 32;
	Z.s = smtpc_session_new(&p, &io, &cb, 1);
	Z.given = 1;
	CHECK(smtpc_session_next_message(Z.s, &Z.m[0]) == 0);
	while (off < size && !Z.closed) {
		n = size - off < chunk ? size - off : chunk;
		buf_append(&pending, data + off, n);
		off += n;
		buf_consume(&pending, smtpc_session_input(Z.s, pending.data,
		    pending.len));
		glue_step(&pending);
		/* The reader never holds more than a line back. */
		CHECK(Z.closed || pending.len <= SMTPC_REPLY_LINE_MAX + 2);
	}
	if (data[1] & 0x40)
		smtpc_session_timeout(Z.s);
	smtpc_session_eof(Z.s);
	CHECK(Z.closed && smtpc_session_closed(Z.s));
	CHECK(!smtpc_session_reusable(Z.s));
	for (int k = 0; k < Z.given; k++)
		CHECK(Z.done[k] == 1);
	smtpc_session_free(&Z.s);
	buf_release(&pending);
	return 0;
}
