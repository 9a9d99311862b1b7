#!/usr/bin/env python3
"""policy/isp-submission.policy with real sessions and two smtp workers:
no relay on port 25 at all; on 587 TLS and a login first; sender
ownership at MAIL (553 5.7.1: foreign, another customer's, the null
sender; 250: own, an alias, a sluicectl grant) and in From: (550 5.7.1);
the 50M size rule; rate limits that are exact across both workers
(messages per hour with a per-user value from sluicectl limit set,
raised and deleted while the daemon runs, recipients per hour,
connections per minute and failed logins per hour per client address).
Every refusal names its rule in the log; queue.db holds exactly the
accepted messages.

Each client connection comes from its own loopback address (127.0.0.N),
since the file allows only 20 connections a minute per address."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

POLICY = "isp-submission.policy"
CAROL = "carol@example.org"	# another customer
ERIN = "erin@example.org"	# for the message limit
FRANK = "frank@example.org"	# for the recipient limit
WORKERS = 2


class Sources:
	"""A fresh client address per connection: 127.0.0.100 and up."""

	def __init__(self):
		self.n = 99

	def next(self):
		self.n += 1
		if self.n > 254:
			raise H.TestFailure("out of loopback source addresses")
		return "127.0.0.%d" % self.n


SRC = Sources()


def setup(s):
	for u in (CAROL, ERIN, FRANK):
		s.ctl("user", "add", u, input=(H.PASSWORD + "\n").encode())


def refused(s, r, line, code, status, what, names=None):
	mark = len(s.log())
	x = r.cmd(line)
	check(x.is_(code, status), "%s: %d %s (%r)" % (what, code, status, x))
	s.check_refusal(r, x, mark, what)
	if names is not None:
		check(names in x.lines[-1], "%s: the reply names %s" % (what,
		    names))
	return x


def auth(s, user=H.USER, role="submission"):
	return s.raw_auth(role, user=user, source=SRC.next())


def test_mx(s):
	r = s.raw("mx", source=SRC.next())
	r.cmd("EHLO client.example")
	x = r.cmd(H.auth_plain(H.USER))
	check(x.is_(503, "5.5.1"), "mx: no AUTH on port 25 (%r)" % x)
	check_eq(r.cmd("MAIL FROM:<%s>" % H.USER).code, 250, "mx: MAIL")
	x = refused(s, r, "RCPT TO:<friend@remote.example>", 554, "5.7.1",
	    "mx: foreign recipient")
	check("587" in x.lines[-1], "mx: the refusal points to port 587")
	refused(s, r, "RCPT TO:<nosuch@example.org>", 550, "5.1.1",
	    "mx: unknown local user")
	rcpts = ["alice@example.org", H.ALIAS, "anyone@" + H.RELAY_DOMAIN]
	for a in rcpts:
		check(r.cmd("RCPT TO:<%s>" % a).is_(250, "2.1.5"), "mx: %s "
		    "accepted" % a)
	check_eq(r.cmd("DATA").code, 354, "mx: DATA")
	body = H.message("isp inbound", "For a customer.\r\n")
	r.send(H.dot_stuff(body))
	s.accepted(r.reply(), "mx", H.USER, rcpts, body)
	r.quit()


def test_tls_first(s):
	"""On a submission listener that allows AUTH in plaintext, the rule
	file still wants TLS before MAIL."""
	r = s.raw("plainsub", source=SRC.next())
	r.cmd("EHLO client.example")
	x = r.cmd(H.auth_plain(H.USER))
	check_eq(x.code, 235, "plainsub: AUTH without TLS (listener option)")
	refused(s, r, "MAIL FROM:<%s>" % H.USER, 530, "5.7.0", "plainsub: "
	    "MAIL without TLS")
	r.quit()
	r = s.raw_tls("submission", source=SRC.next())
	x = r.cmd("MAIL FROM:<%s>" % H.USER)
	check(x.is_(530, "5.7.0"), "submission: MAIL without AUTH (%r)" % x)
	r.quit()


def test_ownership(s):
	for role in ("submission", "submissions"):
		r = auth(s, role=role)
		what = role + " as alice"
		refused(s, r, "MAIL FROM:<friend@remote.example>", 553, "5.7.1",
		    what + ": foreign sender")
		refused(s, r, "MAIL FROM:<%s>" % CAROL, 553, "5.7.1", what +
		    ": another customer's address")
		refused(s, r, "MAIL FROM:<>", 553, "5.7.1", what +
		    ": null sender")
		if role == "submission":
			refused(s, r, "MAIL FROM:<news@example.org>", 553, "5.7.1",
			    what + ": news@ before the grant")
			s.ctl("grant", "add", H.USER, "news@example.org")
		for sender in (H.USER, "Alice@EXAMPLE.org", H.ALIAS,
		    "news@example.org"):
			x = r.cmd("MAIL FROM:<%s>" % sender)
			check(x.is_(250, "2.1.0"), "%s: owned sender %s (%r)" %
			    (what, sender, x))
			r.cmd("RSET")
		body = H.message_from("isp " + role, "The News "
		    "<news@example.org>")
		H.send_mail(s, r, role, "news@example.org",
		    ["friend@remote.example"], body, what + ": as the granted "
		    "address", auth_user=H.USER, tls=True)
		r.quit()
	# From: must be owned too.
	r = auth(s)
	for header in ("Carol <%s>" % CAROL, "friend@remote.example", None):
		check_eq(r.cmd("MAIL FROM:<%s>" % H.USER).code, 250, "MAIL")
		check_eq(r.cmd("RCPT TO:<friend@remote.example>").code, 250,
		    "RCPT")
		check_eq(r.cmd("DATA").code, 354, "DATA")
		mark = len(s.log())
		r.send(H.dot_stuff(H.message_from("isp from", header)))
		x = r.reply()
		check(x.is_(550, "5.7.1"), "From: %r: 550 5.7.1 (%r)" % (header,
		    x))
		s.check_refusal(r, x, mark, "From: %r" % header)
	r.quit()


def test_size(s):
	r = auth(s)
	x = r.cmd("MAIL FROM:<%s> SIZE=%d" % (H.USER, 50 * 1024 * 1024))
	check(x.is_(250, "2.1.0"), "SIZE=50M exactly: accepted (%r)" % x)
	r.cmd("RSET")
	refused(s, r, "MAIL FROM:<%s> SIZE=%d" % (H.USER, 50 * 1024 * 1024 +
	    1), 552, "5.3.4", "SIZE=50M+1")
	r.quit()


def sessions_on_both_workers(s, user, want=2):
	"""want logged-in sessions on each of the two workers: two lists."""
	workers = s.smtp_workers()
	check_eq(len(workers), WORKERS, "%d smtp workers run (%r)" % (WORKERS,
	    workers))
	out = []
	for w in workers:
		with s.only_worker(w):
			rs = [auth(s, user=user) for _ in range(want)]
		check_eq([s.worker_of(r) for r in rs], [w] * want, "%d sessions "
		    "of %s on worker %d" % (want, user, w))
		out.append(rs)
	return out


def send_one(s, r, user, n):
	body = H.message_from("limit %s %d" % (user, n), user)
	H.send_mail(s, r, "submission", user, ["friend@remote.example"], body,
	    "%s message %d (worker %d)" % (user, n, s.worker_of(r)),
	    auth_user=user, tls=True)


def test_message_limit(s):
	s.ctl("limit", "set", ERIN, "user_messages", "6")
	a, b = sessions_on_both_workers(s, ERIN)
	check(True, "erin has sessions on two workers (%d, %d)" %
	    (s.worker_of(a[0]), s.worker_of(b[0])))
	order = [a[0], b[0], a[1], b[1], a[0], b[0]]
	for n, r in enumerate(order, 1):
		send_one(s, r, ERIN, n)
	for r in (a[1], b[1]):
		refused(s, r, "MAIL FROM:<%s>" % ERIN, 450, "4.7.1", "erin, "
		    "worker %d: the 7th message in the hour with a value of 6" %
		    s.worker_of(r), names="user_messages")
	# Raised while the daemon runs: three more, exactly.
	s.ctl("limit", "set", ERIN, "user_messages", "9")
	for n, r in enumerate([b[1], a[1], b[0]], 7):
		send_one(s, r, ERIN, n)
	for r in (a[0], b[1]):
		refused(s, r, "MAIL FROM:<%s>" % ERIN, 450, "4.7.1", "erin, "
		    "worker %d: the 10th message with the value raised to 9" %
		    s.worker_of(r), names="user_messages")
	# Without a value of her own, the file's 100 applies.
	s.ctl("limit", "del", ERIN, "user_messages")
	send_one(s, a[0], ERIN, 10)
	for r in a + b:
		r.quit()


def test_recipient_limit(s):
	s.ctl("limit", "set", FRANK, "user_recipients", "5")
	a, b = sessions_on_both_workers(s, FRANK, want=1)
	fa, fb = a[0], b[0]
	check_eq(fa.cmd("MAIL FROM:<%s>" % FRANK).code, 250, "frank MAIL A")
	check_eq(fb.cmd("MAIL FROM:<%s>" % FRANK).code, 250, "frank MAIL B")
	got = {fa: [], fb: []}
	for i, r in enumerate([fa, fb, fa, fb, fa]):
		to = "r%d@remote.example" % i
		check(r.cmd("RCPT TO:<%s>" % to).is_(250, "2.1.5"), "frank "
		    "recipient %d of 5 (worker %d)" % (i + 1, s.worker_of(r)))
		got[r].append(to)
	for r in (fb, fa):
		refused(s, r, "RCPT TO:<r9@remote.example>", 452, "4.7.1",
		    "frank, worker %d: the 6th recipient in the hour" %
		    s.worker_of(r), names="user_recipients")
	for r in (fa, fb):
		check_eq(r.cmd("DATA").code, 354, "DATA")
		body = H.message_from("frank", FRANK)
		r.send(H.dot_stuff(body))
		s.accepted(r.reply(), "submission", FRANK, got[r], body,
		    auth_user=FRANK, tls=True)
		r.quit()


def test_connection_limit(s):
	"""client_connections = 20 per 1m by client, whichever worker takes
	the connections."""
	src = "127.0.0.50"
	workers = s.smtp_workers()
	H.wait_window(60, 3)
	for i in range(20):
		w = workers[i % len(workers)]
		with s.only_worker(w):
			r = s.raw("mx", greet=False, source=src)
			g = r.reply()
			if g.code != 220 or s.worker_of(r) != w:
				raise H.TestFailure("connection %d from %s to worker %d: "
				    "%r" % (i + 1, src, w, g))
			r.quit()
	check(True, "20 connections from %s greeted, by turns on workers %r"
	    % (src, workers))
	for w in workers:
		with s.only_worker(w):
			r = s.raw("mx", greet=False, source=src)
			g = r.reply()
			check(s.worker_of(r) == w, "connection 21 to worker %d" % w)
		check(g.is_(421, "4.7.0") and "client_connections" in g.lines[-1],
		    "worker %d: the 21st: 421 4.7.0 naming client_connections "
		    "(%r)" % (w, g))
		s.check_refusal(r, g, 0, "worker %d: the 21st connection" % w)
		r.close()


def test_auth_failures(s):
	"""client_auth_failures = 5 per 1h by client: one failure per
	connection, on whichever worker; the 6th connection is refused."""
	src = "127.0.0.60"
	workers = s.smtp_workers()
	for i in range(5):
		w = workers[i % len(workers)]
		with s.only_worker(w):
			r = s.raw_tls("submission", source=src)
		check_eq(s.worker_of(r), w, "session %d on worker %d" % (i + 1,
		    w))
		x = r.cmd(H.auth_plain(H.USER, "wrong"))
		check(x.is_(535, "5.7.8"), "failed login %d: 535 (%r)" % (i + 1,
		    x))
		r.quit()
	for w in workers:
		with s.only_worker(w):
			r = s.raw("submission", greet=False, source=src)
			g = r.reply()
		check(g.is_(421, "4.7.0") and "client_auth_failures" in
		    g.lines[-1], "worker %d, after 5 failed logins: 421 4.7.0 "
		    "naming client_auth_failures (%r)" % (w, g))
		s.check_refusal(r, g, 0, "worker %d: connection after 5 failed "
		    "logins" % w)
		r.close()


def test_local(s):
	r = s.raw("local")
	r.cmd("EHLO localhost")
	body = H.message("isp local", "From a program.\r\n")
	H.send_mail(s, r, "local", "root@" + H.HOSTNAME,
	    ["friend@remote.example"], body, "local socket relays")
	r.quit()


def run():
	conf = {"auth_max_failures": "1000", "smtp_max_errors": "1000",
	    "message_size_limit": "100M"}
	H.wait_window(3600, 10)	# the hourly limits below must be exact
	with H.Sluice("policy_isp", policy=POLICY, workers=WORKERS,
	    plain_submission=True, extra_conf=conf, setup=setup) as s:
		test_mx(s)
		test_tls_first(s)
		test_ownership(s)
		test_size(s)
		test_message_limit(s)
		test_recipient_limit(s)
		test_connection_limit(s)
		test_auth_failures(s)
		test_local(s)
		s.check_refusals_name_rules("policy_isp")
		s.verify_queue()


H.main(run)
