#!/usr/bin/env python3
"""sluiced limits: command line length, error count, recipients per
message, SIZE declared and actual, Received loop detection, bodies that
spill to a file, connections per client address, timeouts; then queue.db
holds exactly the accepted messages, byte-exact."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

SIZE_LIMIT = 65536
MAX_ERRORS = 5
MAX_RCPT = 100
PER_IP = 3
TIMEOUT = 2


def session(s, role="mx"):
	r = s.raw(role)
	check_eq(r.cmd("EHLO client.example").code, 250, "EHLO")
	return r


def body_of_size(n, subject):
	"""A message of exactly n octets: lines of 800 octets or fewer, none
	starting with a dot, CRLF line ends."""
	head = H.message(subject, b"")
	left = n - len(head)
	sizes = [800] * (left // 800) + ([left % 800] if left % 800 else [])
	if sizes and sizes[-1] < 2:	# a line is at least "x" CRLF
		sizes[-2] -= 1
		sizes[-1] += 1
	data = head + b"".join(b"x" * (k - 2) + b"\r\n" for k in sizes)
	assert len(data) == n, (len(data), n)
	return data


def test_line_length(s):
	r = session(s)
	ok = "NOOP " + "x" * (512 - 2 - 5)
	check(r.cmd(ok).is_(250, "2.0.0"), "a 512-octet command line (CRLF "
	    "included) is accepted")
	x = r.cmd(ok + "x")
	check(x.is_(500, "5.5.2"), "513 octets: 500 5.5.2 (%r)" % x)
	check(r.cmd("NOOP").is_(250, "2.0.0"), "in step after it")
	r.send("NOOP " + "y" * 100000 + "\r\nNOOP\r\n")
	x = r.reply()
	check(x.is_(500, "5.5.2"), "a 100000-octet line: 500 5.5.2 (%r)" % x)
	check(r.reply().is_(250, "2.0.0"), "the pipelined NOOP after it is "
	    "answered: still in step")
	x = r.cmd("MAIL FROM:<" + "a" * 600 + "@remote.example>")
	check(x.is_(500, "5.5.2"), "an overlong MAIL: 500 5.5.2 (%r)" % x)
	check(r.cmd("NOOP").is_(250, "2.0.0"), "in step after it")
	r.quit()


def test_errors(s):
	r = session(s)
	r.send(b"BOGUS\r\n" * (MAX_ERRORS + 5))
	codes = []
	for _ in range(MAX_ERRORS + 5):
		try:
			x = r.reply()
		except EOFError:
			break
		codes.append((x.code, x.status))
		if x.code == 421:
			break
	check(codes and codes[-1] == (421, "4.7.0"), "a session that keeps "
	    "erring gets 421 4.7.0 (%r)" % codes)
	check(r.closed(), "and is disconnected")
	n = len(codes) - 1
	check(n in (MAX_ERRORS, MAX_ERRORS + 1) and
	    all(c == (500, "5.5.2") for c in codes[:-1]), "after %d errors "
	    "(smtp_max_errors = %d)" % (n, MAX_ERRORS))
	r.close()


def test_recipients(s):
	r = session(s)
	rcpts = ["r%03d@%s" % (i, H.RELAY_DOMAIN) for i in range(MAX_RCPT + 1)]
	r.send("MAIL FROM:<many@remote.example>\r\n" + "".join(
	    "RCPT TO:<%s>\r\n" % a for a in rcpts))
	check(r.reply().is_(250, "2.1.0"), "MAIL")
	got = [r.reply() for _ in rcpts]
	check(all(x.is_(250, "2.1.5") for x in got[:MAX_RCPT]), "%d "
	    "recipients accepted" % MAX_RCPT)
	check(got[-1].is_(452, "4.5.3"), "recipient %d: 452 4.5.3 (%r)" %
	    (MAX_RCPT + 1, got[-1]))
	check_eq(r.cmd("DATA").code, 354, "DATA")
	body = H.message("many", "To a hundred.\r\n")
	r.send(H.dot_stuff(body))
	s.accepted(r.reply(), "mx", "many@remote.example", rcpts[:MAX_RCPT],
	    body)
	check(True, "message to %d recipients queued" % MAX_RCPT)
	r.quit()


def test_size(s):
	r = session(s)
	e = r.cmd("EHLO client.example")
	check("SIZE %d" % SIZE_LIMIT in e.lines, "EHLO: SIZE %d" % SIZE_LIMIT)
	x = r.cmd("MAIL FROM:<big@remote.example> SIZE=%d" % (SIZE_LIMIT + 1))
	check(x.is_(552, "5.3.4"), "declared SIZE over the limit: 552 5.3.4 "
	    "(%r)" % x)
	x = r.cmd("MAIL FROM:<big@remote.example> SIZE=%d" % SIZE_LIMIT)
	check(x.is_(250, "2.1.0"), "declared SIZE at the limit: 250 (%r)" % x)
	r.cmd("RCPT TO:<alice@example.org>")
	check_eq(r.cmd("DATA").code, 354, "DATA")
	body = body_of_size(SIZE_LIMIT, "exactly the limit")
	r.send(H.dot_stuff(body))
	s.accepted(r.reply(), "mx", "big@remote.example",
	    ["alice@example.org"], body)
	check(True, "a body of exactly message_size_limit octets queued "
	    "(spilled to a file: smtp_memory_body_limit is 4K)")
	r.cmd("MAIL FROM:<big@remote.example>")
	r.cmd("RCPT TO:<alice@example.org>")
	check_eq(r.cmd("DATA").code, 354, "DATA")
	r.send(H.dot_stuff(body_of_size(SIZE_LIMIT + 1, "one over")))
	x = r.reply()
	check(x.is_(552, "5.3.4"), "actual size one over the limit: 552 5.3.4 "
	    "(%r)" % x)
	check(r.cmd("NOOP").is_(250, "2.0.0"), "in step after it")
	# Far over the limit, in BDAT chunks.
	r.cmd("MAIL FROM:<big@remote.example>")
	r.cmd("RCPT TO:<alice@example.org>")
	chunk = b"z" * 40000 + b"\r\n"
	r.send(b"BDAT %d\r\n%s" % (len(chunk), chunk))
	check_eq(r.reply().code, 250, "BDAT chunk under the limit")
	r.send(b"BDAT %d LAST\r\n%s" % (len(chunk), chunk))
	x = r.reply()
	check(x.is_(552, "5.3.4"), "BDAT over the limit: 552 5.3.4 (%r)" % x)
	check(r.cmd("NOOP").is_(250, "2.0.0"), "in step after it")
	r.quit()
	left = os.listdir(s.path("state", "tmp"))
	check_eq(left, [], "no spill file left behind")


def test_loop(s):
	r = session(s)
	hops = b"".join(b"Received: from hop%d.example by x; Mon, 1 Jan 2024 "
	    b"00:00:00 +0000\r\n" % i for i in range(101))
	r.cmd("MAIL FROM:<loop@remote.example>")
	r.cmd("RCPT TO:<alice@example.org>")
	r.cmd("DATA")
	r.send(H.dot_stuff(hops + H.message("looping")))
	x = r.reply()
	check(x.is_(554, "5.4.6"), "101 Received fields: 554 5.4.6 (%r)" % x)
	r.cmd("MAIL FROM:<loop@remote.example>")
	r.cmd("RCPT TO:<alice@example.org>")
	r.cmd("DATA")
	body = hops[hops.index(b"\r\n") + 2:] + H.message("not looping")
	r.send(H.dot_stuff(body))
	s.accepted(r.reply(), "mx", "loop@remote.example",
	    ["alice@example.org"], body)
	check(True, "100 Received fields: queued (smtp_max_received = 100)")
	r.quit()


def test_per_ip(s):
	conns = [s.raw("mx") for _ in range(PER_IP - 1)] + [s.raw("submission")]
	check(True, "%d connections from 127.0.0.1 greeted" % PER_IP)
	# On 465 the refusal comes over TLS, like everything there.
	for role in ("mx", "submission", "submissions"):
		r = s.raw(role, greet=False)
		x = r.reply()
		check(x.is_(421, "4.7.0"), "connection %d on %s: 421 4.7.0 (%r)"
		    % (PER_IP + 1, role, x))
		check(r.closed(), "and closed")
		r.close()
	conns.pop(0).quit()
	r = s.raw("mx")
	check(True, "after one closed, a new connection is greeted")
	r.quit()
	for c in conns:
		c.quit()


def test_timeouts(s):
	t0 = time.monotonic()
	idle = s.raw("mx")
	data = session(s)
	data.cmd("MAIL FROM:<slow@remote.example>")
	data.cmd("RCPT TO:<alice@example.org>")
	check_eq(data.cmd("DATA").code, 354, "DATA")
	data.send(b"Subject: slow\r\n\r\npart")
	for r, what in ((idle, "command"), (data, "data")):
		x = r.reply()
		check(x.is_(421, "4.4.2"), "%s timeout: 421 4.4.2 (%r)" % (what, x))
		check(r.closed(), "and closed")
		r.close()
	took = time.monotonic() - t0
	check(TIMEOUT - 0.5 <= took <= TIMEOUT + 5, "after about %ds (%.1fs)"
	    % (TIMEOUT, took))


def run():
	with H.Sluice("smtpd_limits", workers=1, extra_conf={
	    "message_size_limit": "64K",
	    "smtp_max_errors": MAX_ERRORS,
	    "smtp_max_recipients": MAX_RCPT,
	    "smtp_max_connections_per_ip": PER_IP,
	    "smtp_memory_body_limit": "4K",
	    "smtp_command_timeout": "%ds" % TIMEOUT,
	    "smtp_data_timeout": "%ds" % TIMEOUT}) as s:
		test_line_length(s)
		test_errors(s)
		test_recipients(s)
		test_size(s)
		test_loop(s)
		test_per_ip(s)
		test_timeouts(s)
		s.verify_queue()


H.main(run)
