#!/usr/bin/env python3
"""Local delivery end to end: messages submitted through sluiced land in
mail.db for local users, once per user, the body stored once; aliases fan
out (to local users and to a remote address, which becomes a recipient of
its own), +detail reaches the user, loops and dead ends bounce with RFC
3464 reports delivered back to the local sender, quota defers with 4.2.2
and the mx listener then refuses that user at RCPT with 452 4.2.2. What an
operator sees with the sqlite3 shell agrees."""
import base64
import contextlib
import os
import signal
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

USERS = ["carol@example.org", "dave@example.org", "tiny@example.org"]
SUBJECT = "Grüße aus Köln"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 3


def setup(s):
	for u in USERS:
		quota = ["--quota", "6000"] if u.startswith("tiny") else []
		s.ctl("user", "add", u, *quota, input=b"secret password\n")
	s.ctl("alias", "add", "crew@example.org", "alice@example.org")
	s.ctl("alias", "add", "crew@example.org", "carol@example.org")
	s.ctl("alias", "add", "crew@example.org", "dave@example.org")
	s.ctl("alias", "add", "fwd@example.org", "carol@example.org")
	s.ctl("alias", "add", "fwd@example.org", "friend@partner.example")
	s.ctl("alias", "add", "loop1@example.org", "loop2@example.org")
	s.ctl("alias", "add", "loop2@example.org", "loop1@example.org")
	s.ctl("alias", "add", "gone@example.org", "carol@example.org")
	s.ctl("alias", "add", "dead@example.org", H.DISABLED_USER)


def multipart():
	"""A multipart/mixed message with a quoted-printable text part, a
	base64 PDF attachment and an RFC 2047 subject; its exact
	BODYSTRUCTURE, computed here from the parts' bytes."""
	subj = "=?UTF-8?B?" + base64.b64encode(SUBJECT.encode()).decode() + "?="
	text = b"Hallo =C3=BC, the report is attached."
	b64 = base64.encodebytes(PDF).replace(b"\n", b"\r\n")
	b64_body = b64[:-2]	# the last CRLF belongs to the delimiter
	msg = (b"From: Alice <alice@example.org>\r\n"
	    b"To: Crew <crew@example.org>\r\n"
	    b"Subject: " + subj.encode() + b"\r\n"
	    b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
	    b"Message-ID: <fanout@example.org>\r\n"
	    b"MIME-Version: 1.0\r\n"
	    b"Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n"
	    b"\r\n"
	    b"--XyZ\r\n"
	    b"Content-Type: text/plain; charset=utf-8\r\n"
	    b"Content-Transfer-Encoding: quoted-printable\r\n"
	    b"\r\n" + text + b"\r\n"
	    b"--XyZ\r\n"
	    b"Content-Type: application/pdf; name=\"report.pdf\"\r\n"
	    b"Content-Transfer-Encoding: base64\r\n"
	    b"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
	    b"\r\n" + b64 +
	    b"--XyZ--\r\n")
	bs = ('(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" '
	    '%d 1 NIL NIL NIL NIL)("application" "pdf" ("name" "report.pdf") '
	    'NIL NIL "base64" %d NIL ("attachment" ("filename" "report.pdf")) '
	    'NIL NIL) "mixed" ("boundary" "XyZ") NIL NIL NIL)' %
	    (len(text), len(b64_body)))
	return msg, bs


def submit(s, sender, rcpts, body, rcpt_options=()):
	"""Send through port 587 with STARTTLS and AUTH (smtplib); the queue
	id from the 250 reply."""
	c = smtplib.SMTP("127.0.0.1", s.ports["submission"], timeout=10)
	try:
		c.starttls(context=s.ssl_context())
		c.login(H.USER, H.PASSWORD)
		c.mail(sender)
		for r in rcpts:
			code, _ = c.rcpt(r, list(rcpt_options))
			check_eq(code, 250, "RCPT %s" % r)
		code, reply = c.data(body)
		check_eq(code, 250, "DATA")
		qid = reply.decode().split()[-1]
		s.accepted(H.Reply(code, [reply.decode()]), "submission", sender,
		    rcpts, body, auth_user=H.USER, tls=True)
		return qid
	finally:
		c.quit()


def check_fanout(s):
	msg, bs = multipart()
	qid = submit(s, H.USER, ["crew@example.org"], msg)
	s.wait_final([qid])
	check_eq(s.rcpt_states(qid)["crew@example.org"][0], "delivered",
	    "alias recipient delivered")
	with contextlib.closing(s.mail_db()) as db:
		rows = db.execute("SELECT x.owner, m.body_id, i.bodystructure, "
		    "i.subject, m.prefix FROM messages m "
		    "JOIN mailboxes x ON x.id = m.mailbox_id "
		    "JOIN body_info i ON i.body_id = m.body_id "
		    "JOIN deliveries d ON d.message_id = m.id "
		    "WHERE d.queue_id = ? ORDER BY x.owner", (qid,)).fetchall()
		owners = [r[0] for r in rows]
		check_eq(owners, sorted(["alice@example.org", "carol@example.org",
		    "dave@example.org"]), "one copy in each of the 3 mailboxes")
		check_eq(len(set(r[1] for r in rows)), 1, "one body for the 3")
		refs = db.execute("SELECT refs FROM bodies WHERE id = ?",
		    (rows[0][1],)).fetchone()[0]
		check_eq(refs, 3, "the body counts its 3 users")
		for r in rows:
			check_eq(r[2], bs, "BODYSTRUCTURE of %s's copy" % r[0])
			check_eq(r[3], SUBJECT, "decoded Subject")
			check(("Delivered-To: %s\r\n" % r[0]) in r[4] and
			    "Return-Path: <alice@example.org>\r\n" in r[4],
			    "per-copy Return-Path and Delivered-To (%r)" % r[4])
	# The stored copy is what was queued, after the per-copy prefix.
	inbox = s.mailbox("carol@example.org")
	check(any(data.endswith(msg) for _, _, data in inbox),
	    "carol's copy ends with the message as sent")
	# The operator's view, through the sqlite3 shell.
	out = subprocess.run([os.environ.get("SQLITE3") or "sqlite3",
	    "-readonly", "-batch", "-noheader", s.path("state", "mail.db"),
	    "SELECT owner, name, messages FROM mailbox_overview "
	    "WHERE name = 'INBOX' AND owner = 'dave@example.org'"],
	    capture_output=True, text=True, timeout=30)
	check_eq(out.stdout.strip(), "dave@example.org|INBOX|1",
	    "sqlite3 shell: mailbox_overview shows dave's message")
	out = subprocess.run([os.environ.get("SQLITE3") or "sqlite3",
	    "-readonly", "-batch", "-noheader", s.path("state", "mail.db"),
	    "SELECT count(*) FROM mailbox_messages WHERE subject = '%s'" %
	    SUBJECT], capture_output=True, text=True, timeout=30)
	check_eq(out.stdout.strip(), "3", "sqlite3 shell: mailbox_messages")
	# Special-use mailboxes came with the user.
	with contextlib.closing(s.mail_db()) as db:
		uses = db.execute("SELECT name, special_use FROM mailboxes WHERE "
		    "owner = 'dave@example.org' ORDER BY name").fetchall()
	check_eq(uses, [("Archive", "\\Archive"), ("Drafts", "\\Drafts"),
	    ("INBOX", None), ("Junk", "\\Junk"), ("Sent", "\\Sent"),
	    ("Trash", "\\Trash")], "INBOX and the special-use mailboxes")


def check_detail_and_remote(s):
	body = H.message("detail and forward")
	qid = submit(s, H.USER, ["dave+lists@example.org", "fwd@example.org"],
	    body)
	s.wait_final([qid], local_only=True)
	states = s.rcpt_states(qid)
	check_eq(states["dave+lists@example.org"][0], "delivered",
	    "+detail delivered")
	check(any(d.endswith(body) for _, _, d in
	    s.mailbox("dave@example.org")), "dave got the +lists message")
	check(any(d.endswith(body) for _, _, d in
	    s.mailbox("carol@example.org")), "carol got it through fwd")
	check_eq(states.get("friend@partner.example", (None,))[0], "queued",
	    "the remote alias target is a queued recipient of its own")
	with contextlib.closing(s.db()) as db:
		parent = db.execute("SELECT p.address FROM recipients r JOIN "
		    "recipients p ON p.id = r.expanded_from WHERE r.message_id = ? "
		    "AND r.address = 'friend@partner.example'", (qid,)).fetchone()
	check_eq(parent[0], "fwd@example.org", "expanded_from names the alias")


def bounces_for(s, qid):
	"""The bounces alice got about qid: (status lines, body)."""
	found = []
	for _, _, data in s.mailbox("alice@example.org"):
		if b"Content-Type: multipart/report" in data and \
		    qid.encode() in data:
			found.append(data)
	return found


def check_bounces(s):
	# An alias deleted between RCPT and delivery: the queue worker is
	# stopped meanwhile.
	qw = s.queue_worker()
	check(qw is not None, "a queue worker runs (comm sluiced-queue)")
	os.kill(qw, signal.SIGSTOP)
	try:
		qid = submit(s, H.USER, ["gone@example.org", "loop1@example.org",
		    "dead@example.org", "carol@example.org"],
		    H.message("bounce cases"))
		s.ctl("alias", "del", "gone@example.org")
	finally:
		os.kill(qw, signal.SIGCONT)
	s.wait_final([qid])
	states = s.rcpt_states(qid)
	check_eq(states["gone@example.org"][:2], ("failed", "5.1.1"),
	    "deleted alias: 5.1.1")
	check_eq(states["loop1@example.org"][:2], ("failed", "5.4.6"),
	    "alias loop: 5.4.6")
	check_eq(states["dead@example.org"][:2], ("failed", "5.2.1"),
	    "alias to a disabled user: 5.2.1")
	check_eq(states["carol@example.org"][0], "delivered",
	    "the good recipient is delivered")
	with contextlib.closing(s.db()) as db:
		notices = db.execute("SELECT id FROM messages WHERE kind = "
		    "'bounce' AND sender = ''").fetchall()
	check_eq(len(notices), 1, "one bounce for the three failures")
	s.wait_final([notices[0][0]])
	got = []
	for _ in range(100):
		got = bounces_for(s, qid)
		if got:
			break
		time.sleep(0.05)
	check_eq(len(got), 1, "the bounce reached alice's INBOX")
	b = got[0]
	for a, st in (("gone@example.org", "5.1.1"), ("loop1@example.org",
	    "5.4.6"), ("dead@example.org", "5.2.1")):
		check(("Final-Recipient: rfc822;%s" % a).encode() in b and
		    ("Status: %s" % st).encode() in b,
		    "the report names %s with %s" % (a, st))
	check(b"carol@example.org" not in b.split(b"message/delivery-status",
	    1)[1].split(b"--", 1)[0], "the delivered recipient is not in it")


def check_success_notice(s):
	"""NOTIFY=SUCCESS: the sender hears of the delivery (RFC 3461), once,
	as an RFC 3464 report with action delivered."""
	qid = submit(s, H.USER, ["dave@example.org"], H.message("notify me"),
	    rcpt_options=["NOTIFY=SUCCESS", "ORCPT=rfc822;dave@example.org"])
	s.wait_final([qid])
	found = []
	for _ in range(100):
		found = bounces_for(s, qid)
		if found:
			break
		time.sleep(0.05)
	check_eq(len(found), 1, "one success notice reached alice")
	check(b"Action: delivered" in found[0] and b"Status: 2.0.0" in
	    found[0] and b"Original-Recipient: rfc822;dave@example.org" in
	    found[0], "it says delivered, 2.0.0, with the ORCPT")


def check_quota(s):
	small = H.message("small", "x" * 100 + "\r\n")
	qid = submit(s, H.USER, ["tiny@example.org"], small)
	s.wait_final([qid])
	check_eq(s.rcpt_states(qid)["tiny@example.org"][0], "delivered",
	    "under quota: delivered")
	big = H.message("big", ("y" * 70 + "\r\n") * 100)
	qid = submit(s, H.USER, ["tiny@example.org"], big)
	s.wait_final([qid], states=("deferred",))
	st = s.rcpt_states(qid)["tiny@example.org"]
	check_eq(st[:2], ("deferred", "4.2.2"), "over quota: deferred 4.2.2")
	check_eq(len(s.mailbox("tiny@example.org")), 1, "nothing more stored")
	check_queue_admin(s, qid)
	# The mx listener refuses at RCPT what cannot fit: a message whose
	# announced SIZE passes the quota; one of unknown size still gets in
	# while the user is under quota.
	r = s.raw("mx")
	check_eq(r.cmd("EHLO client.example").code, 250, "EHLO")
	check_eq(r.cmd("MAIL FROM:<x@remote.example> SIZE=%d" % len(big)).code,
	    250, "MAIL with SIZE")
	x = r.cmd("RCPT TO:<tiny@example.org>")
	check(x.is_(452, "4.2.2"), "RCPT to a user the message cannot fit: "
	    "452 4.2.2 (%r)" % x)
	x = r.cmd("RCPT TO:<tiny+x@example.org>")
	check(x.is_(452, "4.2.2"), "the same through +detail (%r)" % x)
	x = r.cmd("RCPT TO:<carol@example.org>")
	check(x.is_(250), "another user is still accepted (%r)" % x)
	check_eq(r.cmd("RSET").code, 250, "RSET")
	check_eq(r.cmd("MAIL FROM:<x@remote.example>").code, 250, "MAIL")
	x = r.cmd("RCPT TO:<tiny@example.org>")
	check(x.is_(250), "no SIZE, under quota: accepted (%r)" % x)
	r.quit()


def attempts(s, qid):
	with contextlib.closing(s.db()) as db:
		return db.execute("SELECT max(attempts) FROM recipients WHERE "
		    "message_id = ?", (qid,)).fetchone()[0]


def check_queue_admin(s, deferred_qid):
	"""sluicectl queue: list shows the deferred message, flush retries it
	at once (the queue worker is woken), hold keeps a message back until
	release, delete removes one."""
	out = s.ctl("queue", "list").decode()
	check(deferred_qid in out and "deferred 1" in out,
	    "queue list shows the deferred message (%r)" % out)
	out = s.ctl("queue", "show", deferred_qid).decode()
	check("tiny@example.org  deferred" in out and "4.2.2" in out,
	    "queue show gives its state and reason (%r)" % out)
	before = attempts(s, deferred_qid)
	s.ctl("queue", "flush")
	for _ in range(100):
		if attempts(s, deferred_qid) > before:
			break
		time.sleep(0.05)
	check(attempts(s, deferred_qid) > before, "flush: tried again at once")
	qw = s.queue_worker()
	os.kill(qw, signal.SIGSTOP)
	try:
		qid = submit(s, H.USER, ["carol@example.org"], H.message("held"))
		s.ctl("queue", "hold", qid)
	finally:
		os.kill(qw, signal.SIGCONT)
	time.sleep(0.5)
	check_eq(s.rcpt_states(qid)["carol@example.org"][0], "queued",
	    "a held message is not delivered")
	s.ctl("queue", "release", qid)
	s.wait_final([qid], timeout=10)
	check_eq(s.rcpt_states(qid)["carol@example.org"][0], "delivered",
	    "released: delivered at once")
	s.ctl("queue", "delete", qid)
	check(qid not in s.ctl("queue", "list", "--all").decode(),
	    "delete removes it")


def run():
	with H.Sluice("delivery_local", setup=setup, workers=1,
	    extra_conf={"recipient_delimiter": "+"}) as s:
		check_fanout(s)
		check_detail_and_remote(s)
		check_bounces(s)
		check_success_notice(s)
		check_quota(s)
		check(len(s.mailbox("alice@example.org")) >= 2,
		    "alice has the fan-out copy and a bounce")


if __name__ == "__main__":
	H.main(run)
