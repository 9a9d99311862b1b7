#!/usr/bin/env python3
"""SMTP smuggling (2023): a "." line ended or preceded by a bare CR or LF
is never the end of data. On mx (bare-lf=reject) such a message is
refused with 550 5.5.2 after the real CRLF.CRLF and nothing is queued; on
submission and local (normalise) exactly one message is queued, with CRLF
everywhere and the smuggled commands as body text. Dot-stuffing is
undone exactly. Every variant is sent in one write, and split at the fake
terminator; one is sent byte by byte."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

FAKE_ENDS = [
    b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\n.\n",
    b"\r.\r\n", b"\n.\r", b"\r\n.\r\r\n", b"\r\n.\n\r\n",
]
SMUGGLED = (b"MAIL FROM:<evil@attacker.example>\r\n"
    b"RCPT TO:<alice@example.org>\r\nDATA\r\n"
    b"From: ceo@example.org\r\nSubject: smuggled\r\n\r\n"
    b"smuggled text\r\n")


def model(data):
	"""What data.h promises for the bytes after 354 (terminator included):
	lines split at LF; the end is "." + CRLF after a CRLF line (or first);
	a line starting with "." and holding more loses that dot; every bare
	CR and bare LF becomes CRLF."""
	out, pos, prev_crlf = b"", 0, True
	while pos < len(data):
		nl = data.find(b"\n", pos)
		if nl == -1:
			raise H.TestFailure("model: no terminator in %r" % data)
		line, pos = data[pos:nl + 1], nl + 1
		crlf = line.endswith(b"\r\n")
		content = line[:-2] if crlf else line[:-1]
		if content == b"." and crlf and prev_crlf:
			if pos != len(data):
				raise H.TestFailure("model: data after the end")
			return out
		if content.startswith(b".") and len(content) > 1:
			content = content[1:]
		out += content.replace(b"\r", b"\r\n") + b"\r\n"
		prev_crlf = crlf
	raise H.TestFailure("model: no terminator in %r" % data)


def payload(fake, n):
	head = H.message("smuggle %d" % n, b"")
	return head + b"hello" + fake + SMUGGLED, b".\r\n"


def open_session(s, role):
	if role == "submission":
		r = s.raw_auth("submission")
	else:
		r = s.raw(role)
		r.cmd("EHLO client.example")
	if role != "local":
		r.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
	return r


def transaction(r, role):
	sender = "alice@example.org" if role == "submission" else \
	    "someone@remote.example"
	check_eq(r.cmd("MAIL FROM:<%s>" % sender).code, 250, "MAIL")
	check_eq(r.cmd("RCPT TO:<alice@example.org>").code, 250, "RCPT")
	check_eq(r.cmd("DATA").code, 354, "DATA")
	return sender


def send(r, first, rest, mode):
	if mode == "one write":
		r.send(first + rest)
	elif mode == "split":
		r.send(first)
		time.sleep(0.02)
		r.send(rest)
	else:
		for i in range(len(first + rest)):
			r.send((first + rest)[i:i + 1])


def in_step(r, what):
	"""The next replies answer NOOP and HELP: nothing smuggled between."""
	r.send(b"NOOP\r\nHELP\r\n")
	x, y = r.reply(), r.reply()
	check(x.is_(250, "2.0.0") and y.code == 214, "%s: NOOP and HELP "
	    "answered next, nothing in between (%r, %r)" % (what, x, y))


def test_reject(s, role="mx"):
	n0 = s.count()
	for i, fake in enumerate(FAKE_ENDS):
		# A refused message counts as an error (smtp_max_errors): a
		# session per variant.
		r = open_session(s, role)
		for mode in ("one write", "split") + (("bytes",) if i == 0 else ()):
			what = "%s %r %s" % (role, fake, mode)
			transaction(r, role)
			first, rest = payload(fake, i)
			send(r, first, rest, mode)
			x = r.reply()
			check(x.is_(550, "5.5.2"), "%s: 550 5.5.2 after the real "
			    "end (%r)" % (what, x))
			in_step(r, what)
		r.quit()
	# A bare LF or CR anywhere, not only near a dot, is refused too.
	r = open_session(s, role)
	for bare in (b"a\nb\r\n", b"a\rb\r\n", b"end with LF\n"):
		transaction(r, role)
		r.send(H.message("bare", bare) + b"\r\n.\r\n")
		x = r.reply()
		check(x.is_(550, "5.5.2"), "%s: bare in %r: 550 5.5.2 (%r)" %
		    (role, bare, x))
	r.quit()
	check_eq(s.count(), n0, "%s: nothing queued by any variant" % role)


def test_normalise(s, role):
	listener = role
	for i, fake in enumerate(FAKE_ENDS):
		for mode in ("one write", "split"):
			what = "%s %r %s" % (role, fake, mode)
			n0 = s.count()
			r = open_session(s, role)
			sender = transaction(r, role)
			first, rest = payload(fake, i)
			send(r, first, rest, mode)
			want = model(first + rest)
			kw = {"auth_user": H.USER, "tls": True} if \
			    role == "submission" else {}
			qid = s.accepted(r.reply(), listener, sender,
			    ["alice@example.org"], want, **kw)
			in_step(r, what)
			r.quit()
			check_eq(s.count(), n0 + 1, "%s: exactly one message "
			    "queued" % what)
			data = s.body(qid)
			check(b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in
			    data.replace(b"\r\n", b""), "%s: stored with CRLF "
			    "everywhere" % what)
			check(b"\r\nMAIL FROM:<evil@attacker.example>\r\n" in data and
			    b"smuggled text\r\n" in data, "%s: the smuggled "
			    "commands are body text" % what)


def test_dot_stuffing(s, role):
	r = open_session(s, role)
	sender = transaction(r, role)
	body = H.message("dots", b".\r\n..\r\n...\r\n. \r\n.x\r\nx.\r\n"
	    b"a\r\n.\r\n\r\n.\r\n")
	r.send(H.dot_stuff(body))
	kw = {"auth_user": H.USER, "tls": True} if role == "submission" else {}
	s.accepted(r.reply(), role, sender, ["alice@example.org"], body, **kw)
	check(True, "%s: dot-stuffed body queued" % role)
	# A client that does not stuff: ".x" loses its dot, "." ends data.
	transaction(r, role)
	raw = H.message("unstuffed", b"") + b".x\r\n..y\r\nz\r\n.\r\n"
	want = H.message("unstuffed", b"") + b"x\r\n.y\r\nz\r\n"
	check_eq(model(raw), want, "model agrees")
	r.send(raw)
	s.accepted(r.reply(), role, sender, ["alice@example.org"], want, **kw)
	check(True, "%s: unstuffed body queued" % role)
	r.quit()


def run():
	with H.Sluice("smtpd_smuggling", workers=1) as s:
		test_reject(s, "mx")
		test_normalise(s, "submission")
		test_normalise(s, "local")
		test_dot_stuffing(s, "mx")
		test_dot_stuffing(s, "submission")
		s.verify_queue()
		check("evil@attacker.example" not in
		    "".join(r["sender"] for r in s.messages().values()),
		    "no queued message has the smuggled sender")


H.main(run)
