#!/usr/bin/env python3
"""sluiced mx (25) and local (unix socket): the built-in recipient rule,
command order, VRFY and EXPN, pipelining, BDAT, SMTPUTF8, STARTTLS and
the CVE-2011-0411 injection, IPv6; then queue.db holds exactly the
accepted messages, byte-exact."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq


def ehlo_keywords(reply):
	return [l.split()[0].upper() for l in reply.lines[1:]]


def send_message(s, r, sender, rcpts, body, listener="mx", **kw):
	"""MAIL, RCPT..., DATA on an open session; records the message."""
	m = r.cmd("MAIL FROM:<%s>" % sender)
	check(m.is_(250, "2.1.0"), "MAIL FROM:<%s> (%r)" % (sender, m))
	for a in rcpts:
		x = r.cmd("RCPT TO:<%s>" % a)
		check(x.is_(250, "2.1.5"), "RCPT TO:<%s> (%r)" % (a, x))
	d = r.cmd("DATA")
	check_eq(d.code, 354, "DATA: 354")
	r.send(H.dot_stuff(body))
	rep = r.reply()
	return s.accepted(rep, listener, sender, rcpts, body, **kw)


def test_greeting_and_ehlo(s):
	r = s.raw("mx", greet=False)
	g = r.reply()
	check(g.code == 220 and g.lines[0].startswith(H.HOSTNAME + " "),
	    "greeting 220 with the host name (%r)" % g)
	x = r.cmd("MAIL FROM:<a@b.example>")
	check(x.is_(503, "5.5.1"), "MAIL before EHLO: 503 5.5.1 (%r)" % x)
	x = r.cmd("NOOP")
	check(x.is_(250, "2.0.0"), "NOOP before EHLO: 250")
	e = r.cmd("EHLO client.example")
	check(e.code == 250 and e.lines[0] == H.HOSTNAME, "EHLO: 250 and "
	    "the host name first (%r)" % e)
	kw = ehlo_keywords(e)
	for k in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
	    "CHUNKING", "DSN", "SIZE", "STARTTLS"):
		check(k in kw, "mx EHLO advertises %s" % k)
	check("AUTH" not in kw, "mx EHLO does not advertise AUTH")
	check("SIZE 26214400" in e.lines, "SIZE is the default 25M")
	x = r.cmd("AUTH PLAIN AGFsaWNlAHg=")
	check(x.is_(503, "5.5.1"), "AUTH on mx: 503 5.5.1 (%r)" % x)
	x = r.cmd("RCPT TO:<alice@example.org>")
	check(x.is_(503, "5.5.1"), "RCPT before MAIL: 503 5.5.1 (%r)" % x)
	x = r.cmd("DATA")
	check(x.is_(503, "5.5.1"), "DATA before MAIL: 503 5.5.1 (%r)" % x)
	check_eq(r.cmd("MAIL FROM:<>").code, 250, "MAIL FROM:<> (null sender)")
	x = r.cmd("MAIL FROM:<a@b.example>")
	check(x.is_(503, "5.5.1"), "nested MAIL: 503 5.5.1 (%r)" % x)
	x = r.cmd("DATA")
	check(x.is_(503, "5.5.1"), "DATA before RCPT: 503 5.5.1 (%r)" % x)
	x = r.cmd("FROBNICATE")
	check(x.is_(500, "5.5.2"), "unknown command: 500 5.5.2 (%r)" % x)
	check(r.cmd("RSET").is_(250, "2.0.0"), "RSET: 250")
	x = r.cmd("VRFY alice@example.org")
	check(x.is_(252, "2.5.2"), "VRFY existing user: 252 (%r)" % x)
	y = r.cmd("VRFY nobody-here@example.org")
	check(y.is_(252, "2.5.2") and y.lines == x.lines, "VRFY unknown user: "
	    "the same 252 (%r)" % y)
	x = r.cmd("EXPN team@example.org")
	check(x.is_(502, "5.5.1"), "EXPN: 502 (%r)" % x)
	check(r.cmd("HELP").code == 214, "HELP: 214")
	x = r.cmd("QUIT")
	check(x.is_(221, "2.0.0"), "QUIT: 221 2.0.0 (%r)" % x)
	check(r.closed(), "QUIT closes")
	r.close()


def test_recipient_rule(s):
	r = s.raw("mx")
	r.cmd("EHLO client.example")
	check_eq(r.cmd("MAIL FROM:<sender@remote.example>").code, 250, "MAIL")
	cases = [
	    ("nosuch@example.org", 550, "5.1.1", "unknown local user"),
	    ("someone@foreign.example", 554, "5.7.1", "foreign domain (relay)"),
	    (H.DISABLED_USER, 550, None, "disabled user"),
	    ("alice@example.org", 250, "2.1.5", "local user"),
	    ("ALICE@Example.ORG", 250, "2.1.5", "local user, other case"),
	    (H.ALIAS, 250, "2.1.5", "alias"),
	    ("anyone@" + H.RELAY_DOMAIN, 250, "2.1.5", "relay domain"),
	    ("postmaster", 250, "2.1.5", "bare postmaster (RFC 5321 4.5.1)"),
	]
	for addr, code, status, what in cases:
		x = r.cmd("RCPT TO:<%s>" % addr)
		check(x.is_(code, status), "RCPT %s: %d %s (%r)" % (what, code,
		    status or "", x))
	check_eq(r.cmd("DATA").code, 354, "DATA")
	body = H.message("rule", "To several recipients.\r\n")
	r.send(H.dot_stuff(body))
	# The domain is normalised; ALICE@ is alice@ again and stored once.
	rcpts = ["alice@example.org", H.ALIAS,
	    "anyone@" + H.RELAY_DOMAIN, "postmaster@" + H.HOSTNAME]
	s.accepted(r.reply(), "mx", "sender@remote.example", rcpts, body,
	    helo="client.example")
	check(True, "message to the accepted recipients queued")
	r.quit()


def test_pipelining(s):
	"""A whole transaction and more in one write: replies in order."""
	r = s.raw("mx")
	body = H.message("pipelined", "One write.\r\n.leading dot\r\n")
	r.send(b"EHLO client.example\r\nMAIL FROM:<p@remote.example>\r\n"
	    b"RCPT TO:<nosuch@example.org>\r\nRCPT TO:<alice@example.org>\r\n"
	    b"DATA\r\n" + H.dot_stuff(body) + b"NOOP\r\nMAIL FROM:<>\r\n"
	    b"RCPT TO:<team@example.org>\r\nRSET\r\nVRFY x\r\nQUIT\r\n")
	got = []
	e = r.reply()
	check_eq(e.code, 250, "pipelined EHLO")
	for _ in range(4):
		got.append(r.reply())
	check_eq([x.code for x in got], [250, 550, 250, 354], "pipelined "
	    "MAIL, RCPT (unknown), RCPT, DATA answered in order")
	s.accepted(r.reply(), "mx", "p@remote.example", ["alice@example.org"],
	    body)
	rest = [r.reply() for _ in range(6)]
	check_eq([(x.code, x.status) for x in rest], [(250, "2.0.0"),
	    (250, "2.1.0"), (250, "2.1.5"), (250, "2.0.0"), (252, "2.5.2"),
	    (221, "2.0.0")], "pipelined NOOP, MAIL, RCPT, RSET, VRFY, QUIT "
	    "answered in order after the message")
	check(r.closed() and r.buf == b"", "nothing more after QUIT")
	r.close()


def test_bdat(s):
	r = s.raw("mx")
	r.cmd("EHLO client.example")
	r.cmd("MAIL FROM:<chunky@remote.example>")
	r.cmd("RCPT TO:<alice@example.org>")
	# CR at the end of one chunk and LF at the start of the next make one
	# CRLF; a leading dot is data, not stuffing; binary-ish 8-bit octets.
	chunks = [H.message("bdat", "first part\r"), b"\n.not unstuffed\r\n..",
	    b"two dots\r\n\xc3\xa9t\xc3\xa9\r\n", b"end\r\n"]
	for i, c in enumerate(chunks[:-1]):
		r.send(b"BDAT %d\r\n" % len(c) + c)
		x = r.reply()
		check(x.is_(250, "2.0.0"), "BDAT chunk %d: 250 (%r)" % (i, x))
	r.send(b"BDAT %d LAST\r\n" % len(chunks[-1]) + chunks[-1])
	body = b"".join(chunks)
	s.accepted(r.reply(), "mx", "chunky@remote.example",
	    ["alice@example.org"], body)
	check(True, "BDAT LAST queued the message")
	# Pipelined: every chunk and command in one write, and BDAT 0 LAST.
	c1, c2 = H.message("bdat pipelined", "x" * 3000 + "\r\n"), b"tail\r\n"
	r.send(b"MAIL FROM:<chunky@remote.example>\r\n"
	    b"RCPT TO:<team@example.org>\r\nBDAT %d\r\n%sBDAT %d\r\n%s"
	    b"BDAT 0 LAST\r\nNOOP\r\n" % (len(c1), c1, len(c2), c2))
	codes = [r.reply().code for _ in range(4)]
	check_eq(codes, [250, 250, 250, 250], "pipelined MAIL, RCPT, BDAT, "
	    "BDAT")
	s.accepted(r.reply(), "mx", "chunky@remote.example",
	    ["team@example.org"], c1 + c2)
	check(r.reply().is_(250, "2.0.0"), "NOOP after BDAT 0 LAST")
	# DATA inside a BDAT transaction, and BDAT without a transaction.
	r.cmd("MAIL FROM:<chunky@remote.example>")
	r.cmd("RCPT TO:<alice@example.org>")
	r.send(b"BDAT 3\r\nabc")
	check_eq(r.reply().code, 250, "BDAT 3")
	x = r.cmd("DATA")
	check(x.is_(503, "5.5.1"), "DATA after BDAT: 503 (%r)" % x)
	check(r.cmd("RSET").is_(250, "2.0.0"), "RSET drops the BDAT message")
	r.send(b"BDAT 5 LAST\r\nhello")
	x = r.reply()
	check(x.is_(503, "5.5.1"), "BDAT without MAIL: chunk swallowed, 503 "
	    "(%r)" % x)
	check(r.cmd("NOOP").is_(250, "2.0.0"), "in step after the swallowed "
	    "chunk")
	r.quit()


def test_smtputf8(s):
	r = s.raw("mx")
	r.cmd("EHLO client.example")
	sender = "jörg@bücher.example"
	x = r.cmd("MAIL FROM:<%s>" % sender)
	check(x.is_(553, "5.6.7"), "UTF-8 sender without SMTPUTF8: 553 5.6.7 "
	    "(%r)" % x)
	check_eq(r.cmd("MAIL FROM:<a@remote.example>").code, 250, "MAIL ASCII")
	x = r.cmd("RCPT TO:<jörg@%s>" % H.RELAY_DOMAIN)
	check(x.is_(553, "5.6.7"), "UTF-8 recipient without SMTPUTF8: 553 "
	    "5.6.7 (%r)" % x)
	r.cmd("RSET")
	x = r.cmd("MAIL FROM:<%s> SMTPUTF8 BODY=8BITMIME" % sender)
	check(x.is_(250, "2.1.0"), "UTF-8 sender with SMTPUTF8: 250 (%r)" % x)
	rcpts = ["jörg@" + H.RELAY_DOMAIN, "alice@example.org"]
	for a in rcpts:
		x = r.cmd("RCPT TO:<%s>" % a)
		check(x.is_(250, "2.1.5"), "RCPT %s: 250 (%r)" % (a, x))
	check_eq(r.cmd("DATA").code, 354, "DATA")
	body = H.message("smtputf8", "Grüße\r\n".encode(),
	    extra_headers="X-Name: Jörg\r\n".encode())
	r.send(H.dot_stuff(body))
	s.accepted(r.reply(), "mx", sender, rcpts, body, smtputf8=1)
	check(True, "SMTPUTF8 message queued")
	r.quit()


def test_starttls_injection(s, role="mx"):
	"""CVE-2011-0411: what follows STARTTLS in the same packet is dropped,
	and after the handshake the session starts afresh."""
	r = s.raw(role)
	r.cmd("EHLO client.example")
	r.send(b"STARTTLS\r\nRSET\r\n")
	x = r.reply()
	check(x.is_(220, "2.0.0"), "%s: STARTTLS 220 (%r)" % (role, x))
	check(r.buf == b"", "%s: no reply to the injected RSET before the "
	    "handshake" % role)
	r.starttls(s.ssl_context())
	r.send(b"EHLO after.example\r\n")
	x = r.reply()
	check(x.code == 250 and x.lines[0] == H.HOSTNAME and len(x.lines) > 1,
	    "%s: first reply after the handshake answers EHLO, not the "
	    "injected RSET (%r)" % (role, x))
	check("STARTTLS" not in ehlo_keywords(x), "%s: no STARTTLS after TLS"
	    % role)
	x = r.cmd("STARTTLS")
	check(x.code == 503, "%s: second STARTTLS: 503 (%r)" % (role, x))
	r.close()
	# State is reset by the handshake: EHLO is needed again.
	r = s.raw(role)
	r.cmd("EHLO client.example")
	check_eq(r.cmd("STARTTLS").code, 220, "%s: STARTTLS" % role)
	r.starttls(s.ssl_context())
	x = r.cmd("MAIL FROM:<a@remote.example>")
	check(x.is_(503, "5.5.1"), "%s: MAIL before the new EHLO: 503 (%r)" %
	    (role, x))
	r.cmd("EHLO client.example")
	if role == "mx":
		body = H.message("mx over starttls", "Encrypted.\r\n")
		send_message(s, r, "tls@remote.example", ["alice@example.org"],
		    body, tls=True)
		check(True, "mx: message over STARTTLS queued")
	# The last reply before the server closes is flushed through TLS.
	x = r.cmd("QUIT")
	check(x.is_(221, "2.0.0"), "%s: QUIT after STARTTLS: 221 (%r)" %
	    (role, x))
	check(r.closed(), "%s: and closed" % role)
	r.close()


def test_dsn(s):
	"""RFC 3461 parameters are stored for the delivery side."""
	r = s.raw("mx")
	r.cmd("EHLO client.example")
	x = r.cmd("MAIL FROM:<dsn@remote.example> RET=HDRS ENVID=env+2Bid "
	    "BODY=8BITMIME")
	check(x.is_(250, "2.1.0"), "MAIL with RET, ENVID, BODY (%r)" % x)
	x = r.cmd("RCPT TO:<alice@example.org> NOTIFY=SUCCESS,DELAY "
	    "ORCPT=rfc822;Alice+2B1@example.org")
	check(x.is_(250, "2.1.5"), "RCPT with NOTIFY, ORCPT (%r)" % x)
	x = r.cmd("RCPT TO:<team@example.org> NOTIFY=NEVER")
	check(x.is_(250, "2.1.5"), "RCPT NOTIFY=NEVER (%r)" % x)
	x = r.cmd("RCPT TO:<alice@example.org> NOTIFY=NEVER,SUCCESS")
	check(x.code == 501, "NOTIFY=NEVER with others: 501 (%r)" % x)
	check_eq(r.cmd("DATA").code, 354, "DATA")
	body = H.message("dsn", "8-bit: \xe2\x82\xac\r\n".encode(
	    "latin-1"))
	r.send(H.dot_stuff(body))
	qid = s.accepted(r.reply(), "mx", "dsn@remote.example",
	    ["alice@example.org", "team@example.org"], body)
	r.quit()
	row = s.messages()[qid]
	check_eq((row["dsn_ret"], row["dsn_envid"], row["body_type"]),
	    ("HDRS", "env+id", "8BITMIME"), "RET, ENVID (xtext decoded) and "
	    "BODY stored")
	with s.db() as con:
		rows = [tuple(x) for x in con.execute("SELECT address, notify, "
		    "orcpt FROM recipients WHERE message_id = ? ORDER BY id",
		    (qid,))]
	check_eq(rows, [("alice@example.org", "SUCCESS,DELAY",
	    "rfc822;Alice+1@example.org"), ("team@example.org", "NEVER",
	    None)], "NOTIFY and ORCPT stored per recipient")


def test_concurrent(s, sessions=16, per_session=5):
	"""Many sessions at once (group commit): every 250 is in queue.db."""
	results, lock = [], threading.Lock()

	def client(n):
		try:
			r = s.raw("mx")
			r.cmd("EHLO c%d.example" % n)
			for i in range(per_session):
				body = H.message("concurrent %d.%d" % (n, i), b"x\r\n")
				r.send(b"MAIL FROM:<c%d@remote.example>\r\n"
				    b"RCPT TO:<alice@example.org>\r\nDATA\r\n" % n)
				codes = [r.reply().code for _ in range(3)]
				r.send(H.dot_stuff(body))
				rep = r.reply()
				with lock:
					results.append((n, codes, rep, body))
			r.quit()
		except Exception as e:	# reported below, in the main thread
			with lock:
				results.append((n, None, e, None))

	threads = [threading.Thread(target=client, args=(n,))
	    for n in range(sessions)]
	for t in threads:
		t.start()
	for t in threads:
		t.join(60)
	check(not any(t.is_alive() for t in threads), "all client threads "
	    "finished")
	bad = [x for x in results if x[1] != [250, 250, 354]]
	check_eq(bad, [], "every concurrent MAIL, RCPT, DATA answered")
	for n, _, rep, body in results:
		s.accepted(rep, "mx", "c%d@remote.example" % n,
		    ["alice@example.org"], body)
	check_eq(len(results), sessions * per_session, "%d messages from %d "
	    "concurrent sessions queued" % (sessions * per_session, sessions))


def test_starttls_in_transaction(s):
	r = s.raw("mx")
	r.cmd("EHLO client.example")
	r.cmd("MAIL FROM:<a@remote.example>")
	x = r.cmd("STARTTLS")
	check(x.is_(503, "5.5.1"), "STARTTLS inside a transaction: 503 (%r)"
	    % x)
	r.quit()


def test_ipv6(s):
	if "mx6" not in s.ports:
		print("# no IPv6 loopback: skipping the [::1] listener test")
		return
	r = s.raw("mx6")
	r.cmd("EHLO client.example")
	body = H.message("ipv6", "Over ::1.\r\n")
	qid = send_message(s, r, "v6@remote.example", ["alice@example.org"],
	    body, listener="mx6")
	r.quit()
	check_eq(s.messages()[qid]["client_addr"], "::1", "client_addr ::1")


def test_local_socket(s):
	r = s.raw("local")
	e = r.cmd("EHLO localhost")
	check("STARTTLS" not in ehlo_keywords(e), "local: no STARTTLS")
	check("AUTH" not in ehlo_keywords(e), "local: no AUTH")
	# No Date, no Message-ID: added as on submission; foreign recipient.
	body = b"Subject: from sendmail\r\n\r\nlocal\r\n"
	qid = send_message(s, r, "root@" + H.HOSTNAME,
	    ["someone@foreign.example"], body, listener="local",
	    added=("Message-ID", "Date"))
	r.quit()
	data = s.body(qid)
	check(b"(local submission)" in data.split(b"\r\n")[0], "local: "
	    "Received says local submission")
	check(s.messages()[qid]["client_addr"] is None, "local: no client "
	    "address")


def run():
	with H.Sluice("smtpd_mx", ipv6=True) as s:
		test_greeting_and_ehlo(s)
		test_recipient_rule(s)
		test_pipelining(s)
		test_bdat(s)
		test_smtputf8(s)
		test_starttls_injection(s, "mx")
		test_starttls_injection(s, "submission")
		test_starttls_in_transaction(s)
		test_ipv6(s)
		test_local_socket(s)
		test_dsn(s)
		test_concurrent(s)
		s.verify_queue()


H.main(run)
