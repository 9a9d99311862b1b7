#!/usr/bin/env python3
"""policy/default.policy with real sessions: mx takes mail for existing
local users and aliases (routed local) and for relay domains, nothing
else; submission and submissions relay for logged-in users who send as an
address they own (their own, an alias of theirs, a grant added with
sluicectl while the daemon runs) in MAIL FROM and in From:; the local
socket reaches anyone; limits on connections, failed logins, messages and
recipients (per-user values with sluicectl limit). Every refusal names
its rule in the log; then queue.db holds exactly the accepted messages,
byte-exact, with the routes the policy chose."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

CAROL = "carol@example.org"		# another user: not alice's to use
DAVE = "dave@example.org"		# for the per-user limits


def setup(s):
	s.ctl("user", "add", CAROL, input=b"carol password\n")
	s.ctl("user", "add", DAVE, input=(H.PASSWORD + "\n").encode())


def refused(s, r, line, code, status, what):
	"""Send line; the reply must be code status, and the log must name
	the rule that decided it."""
	mark = len(s.log())
	x = r.cmd(line)
	check(x.is_(code, status), "%s: %d %s (%r)" % (what, code, status, x))
	s.check_refusal(r, x, mark, what)
	return x


def refused_data(s, r, body, code, status, what):
	check_eq(r.cmd("DATA").code, 354, "%s: DATA" % what)
	mark = len(s.log())
	r.send(H.dot_stuff(body))
	x = r.reply()
	check(x.is_(code, status), "%s: %d %s at end of data (%r)" % (what,
	    code, status, x))
	d = s.check_refusal(r, x, mark, what)
	check_eq(d["stage"], "data", "%s: decided at the data stage" % what)


def routes(s, qid):
	with s.db() as con:
		return {a: rt for a, rt in con.execute("SELECT address, route "
		    "FROM recipients WHERE message_id = ?", (qid,))}


def test_mx(s):
	r = s.raw("mx")
	r.cmd("EHLO client.example")
	check_eq(r.cmd("MAIL FROM:<>").code, 250, "mx: the null sender is "
	    "accepted (bounces)")
	check_eq(r.cmd("RSET").code, 250, "mx: RSET")
	check_eq(r.cmd("MAIL FROM:<someone@remote.example>").code, 250,
	    "mx: MAIL from a stranger")
	refused(s, r, "RCPT TO:<nosuch@example.org>", 550, "5.1.1",
	    "mx: unknown local user")
	refused(s, r, "RCPT TO:<%s>" % H.DISABLED_USER, 550, "5.1.1",
	    "mx: disabled user")
	refused(s, r, "RCPT TO:<nosuch+tag@example.org>", 550, "5.1.1",
	    "mx: unknown user with a detail")
	refused(s, r, "RCPT TO:<someone@remote.example>", 554, "5.7.1",
	    "mx: foreign domain (relay)")
	refused(s, r, "RCPT TO:<alice%remote.example@example.org>", 553,
	    "5.7.1", "mx: percent hack")
	rcpts = ["alice@example.org", H.ALIAS, "alice+news@example.org",
	    "anyone@" + H.RELAY_DOMAIN]
	for a in rcpts:
		x = r.cmd("RCPT TO:<%s>" % a)
		check(x.is_(250, "2.1.5"), "mx: RCPT %s accepted (%r)" % (a, x))
	check_eq(r.cmd("DATA").code, 354, "mx: DATA")
	body = H.message("mx inbound", "For our users.\r\n")
	r.send(H.dot_stuff(body))
	qid = s.accepted(r.reply(), "mx", "someone@remote.example", rcpts,
	    body)
	r.quit()
	check_eq(routes(s, qid), {"alice@example.org": "local",
	    H.ALIAS: "local", "alice+news@example.org": "local",
	    "anyone@" + H.RELAY_DOMAIN: None}, "mx: local users and aliases "
	    "routed local, the relay domain by its domain")


def test_submission_needs_auth(s):
	for role in ("submission", "submissions"):
		r = s.raw_tls(role)
		x = r.cmd("MAIL FROM:<alice@example.org>")
		check(x.is_(530, "5.7.0"), "%s: MAIL without AUTH: 530 5.7.0 "
		    "(%r)" % (role, x))
		r.quit()


def test_sender_ownership(s):
	r = s.raw_auth("submission")
	what = "submission as alice"
	refused(s, r, "MAIL FROM:<someone@remote.example>", 553, "5.7.1",
	    what + ": foreign sender")
	refused(s, r, "MAIL FROM:<%s>" % CAROL, 553, "5.7.1", what +
	    ": another user's address")
	refused(s, r, "MAIL FROM:<>", 553, "5.7.1", what + ": null sender")
	refused(s, r, "MAIL FROM:<support@example.org>", 553, "5.7.1", what +
	    ": support@ before the grant")
	refused(s, r, "MAIL FROM:<app@apps.example>", 553, "5.7.1", what +
	    ": app@apps.example before the domain grant")
	refused(s, r, "MAIL FROM:<alice@example.org.evil.test>", 553, "5.7.1",
	    what + ": own address with a suffixed domain")
	refused(s, r, "MAIL FROM:<alice%remote.example@example.org>", 553,
	    "5.7.1", what + ": own address as a percent hack")
	# Grants take effect without a reload.
	s.ctl("grant", "add", H.USER, "support@example.org")
	s.ctl("grant", "add", H.USER, "@apps.example")
	refused(s, r, "MAIL FROM:<\"alice@example.org\"@remote.example>", 553,
	    "5.7.1", what + ": own address quoted as a local part")
	for sender in ("alice@example.org", "ALICE@Example.ORG", H.ALIAS,
	    "\"alice\"@example.org", "alice@example.org.", "TEAM@example.org",
	    "support@example.org", "app@apps.example", "other@APPS.example"):
		x = r.cmd("MAIL FROM:<%s>" % sender)
		check(x.is_(250, "2.1.0"), "%s: owned sender %s (%r)" % (what,
		    sender, x))
		check(r.cmd("RSET").is_(250, "2.0.0"), "RSET")
	refused(s, r, "MAIL FROM:<app@sub.apps.example>", 553, "5.7.1", what +
	    ": a sub-domain of the granted domain")
	refused(s, r, "MAIL FROM:<app@apps.example.evil.test>", 553, "5.7.1",
	    what + ": the granted domain as a prefix")
	# Relay anywhere, except the tricks.
	body = H.message("submission relay", "To the world.\r\n")
	qid = H.send_mail(s, r, "submission", "alice@example.org",
	    ["friend@remote.example", "carol@example.org"], body,
	    what + ": relay", auth_user=H.USER, tls=True)
	check_eq(routes(s, qid), {"friend@remote.example": None,
	    CAROL: "local"}, what + ": a foreign recipient routed by its "
	    "domain, a local one local")
	check_eq(r.cmd("MAIL FROM:<alice@example.org>").code, 250, "MAIL")
	refused(s, r, "RCPT TO:<friend%remote.example@example.org>", 553,
	    "5.7.1", what + ": routing syntax even when logged in")
	refused(s, r, "RCPT TO:<friend@[192.0.2.1]>", 553, "5.7.1", what +
	    ": address literal even when logged in")
	refused(s, r, "RCPT TO:<nosuch@example.org>", 550, "5.1.1", what +
	    ": unknown local user")
	r.cmd("RSET")
	r.quit()
	# The same on 465 with the alias as sender.
	r = s.raw_auth("submissions")
	refused(s, r, "MAIL FROM:<someone@remote.example>", 553, "5.7.1",
	    "submissions: foreign sender")
	body = H.message_from("submissions alias", "Team <team@example.org>")
	H.send_mail(s, r, "submissions", H.ALIAS, ["friend@remote.example"],
	    body, "submissions: alias as sender, relay", auth_user=H.USER,
	    tls=True)
	r.quit()


def test_from_header(s):
	r = s.raw_auth("submission")
	cases = [
	    ("Mallory <carol@example.org>", "another user in From:"),
	    ("someone@remote.example", "a foreign address in From:"),
	    ("alice@example.org, someone@remote.example", "two From: "
	     "addresses, one foreign"),
	    ("\"alice@example.org\" <someone@remote.example>", "own address "
	     "only as the display name"),
	    ("alice@example.org <someone@remote.example>", "own address as "
	     "an unquoted display name"),
	    (None, "no From: at all"),
	    ("alice@example.org\r\nFrom: someone@remote.example", "a second "
	     "From: field, foreign"),
	    ("someone@remote.example\r\nFrom: alice@example.org", "a foreign "
	     "From: field, then her own"),
	    ("Alice\r\n <alice@example.org>,\r\n someone@remote.example",
	     "folded, the foreign address on a continuation line"),
	    ("friends: alice@example.org, someone@remote.example;", "a group "
	     "with a foreign member"),
	    ("undisclosed:;", "an empty group"),
	    ("<@example.org:someone@remote.example>", "a source route to a "
	     "foreign address"),
	    ("alice%remote.example@example.org", "a percent hack"),
	    ("alice@[127.0.0.1]", "an address literal"),
	    ("<alice@example.org", "an unterminated angle address"),
	    (", ".join(["alice@example.org"] * 16 + ["someone@remote.example"]),
	     "a foreign address 17th in the list"),
	]
	for header, what in cases:
		check_eq(r.cmd("MAIL FROM:<alice@example.org>").code, 250, "MAIL")
		check_eq(r.cmd("RCPT TO:<friend@remote.example>").code, 250,
		    "RCPT")
		refused_data(s, r, H.message_from("from " + what, header), 550,
		    "5.7.1", "submission: " + what)
	for header, what in [("Alice <ALICE@EXAMPLE.ORG>", "own, upper case"),
	    ("The Team <team@example.org>", "the alias"),
	    ("Support <support@example.org>", "the granted address"),
	    ("alice@example.org, app@apps.example", "own and a granted "
	     "domain"),
	    ("\"someone@remote.example\" <alice@example.org>", "a foreign "
	     "address only as the display name"),
	    ("alice@example.org (someone@remote.example)", "a foreign address "
	     "only in a comment"),
	    ("\r\n alice@example.org", "folded"),
	    ("\"alice\"@example.org", "a quoted local part"),
	    ("=?utf-8?q?Alice?= <alice@example.org>", "an encoded-word "
	     "display name")]:
		body = H.message_from("from " + what, header)
		H.send_mail(s, r, "submission", "alice@example.org",
		    ["friend@remote.example"], body, "submission: From: " + what,
		    auth_user=H.USER, tls=True)
	r.quit()


def test_local_socket(s):
	r = s.raw("local")
	r.cmd("EHLO localhost")
	body = H.message("local", "From a program.\r\n")
	H.send_mail(s, r, "local", "root@" + H.HOSTNAME,
	    ["friend@remote.example"], body, "local: any recipient")
	check_eq(r.cmd("MAIL FROM:<root@%s>" % H.HOSTNAME).code, 250, "MAIL")
	refused(s, r, "RCPT TO:<friend%remote.example@example.org>", 553,
	    "5.7.1", "local: routing syntax")
	refused(s, r, "RCPT TO:<friend@[192.0.2.1]>", 553, "5.7.1",
	    "local: address literal")
	r.quit()


def test_connection_limit(s):
	"""client_connections = 60 per 1m by client: the 61st is refused, by
	address (another address is still welcome)."""
	src = "127.0.0.77"
	H.wait_window(60, 3)
	for i in range(60):
		r = s.raw("mx", greet=False, source=src)
		g = r.reply()
		if g.code != 220:
			raise H.TestFailure("connection %d from %s: %r" % (i + 1,
			    src, g))
		r.quit()
	check(True, "60 connections from %s in a minute greeted" % src)
	r = s.raw("mx", greet=False, source=src)
	mark = 0
	g = r.reply()
	check(g.is_(421, "4.7.0") and "client_connections" in g.lines[-1],
	    "the 61st: 421 4.7.0 naming client_connections (%r)" % g)
	check(r.closed(), "and closed")
	d = s.check_refusal(r, g, mark, "connection 61")
	check_eq(d["stage"], "connect", "refused at the connect stage")
	r.close()
	r = s.raw("mx", greet=False, source="127.0.0.78")
	check_eq(r.reply().code, 220, "another address is greeted")
	r.quit()


def test_auth_failure_limit(s):
	"""client_auth_failures = 10 per 1h by client: after 10 failed
	logins the client is turned away at connect."""
	src = "127.0.0.88"
	r = s.raw_tls("submission", source=src)
	for i in range(10):
		x = r.cmd(H.auth_plain(H.USER, "wrong %d" % i))
		check(x.is_(535, "5.7.8"), "failed AUTH %d from %s: 535 (%r)" %
		    (i + 1, src, x))
	r.quit()
	r = s.raw("submission", greet=False, source=src)
	g = r.reply()
	check(g.is_(421, "4.7.0") and "client_auth_failures" in g.lines[-1],
	    "after 10 failures: 421 4.7.0 naming client_auth_failures (%r)" %
	    g)
	d = s.check_refusal(r, g, 0, "connection after 10 failed logins")
	check_eq(d["stage"], "connect", "refused at the connect stage")
	r.close()
	r = s.raw_auth("submission", source="127.0.0.89")
	check(True, "another address still logs in")
	r.quit()


def test_user_limits(s):
	"""Per-user values from directory.db, read at every decision."""
	s.ctl("limit", "set", DAVE, "user_messages", "2")
	s.ctl("limit", "set", DAVE, "user_recipients", "3")
	r = s.raw_auth("submission", user=DAVE)
	for i in range(2):
		body = H.message_from("dave %d" % i, DAVE)
		H.send_mail(s, r, "submission", DAVE, ["friend@remote.example"],
		    body, "dave message %d of 2" % (i + 1), auth_user=DAVE,
		    tls=True)
	x = refused(s, r, "MAIL FROM:<%s>" % DAVE, 450, "4.7.1", "dave: the "
	    "third message in the hour")
	check("user_messages" in x.lines[-1], "the reply names user_messages")
	s.ctl("limit", "set", DAVE, "user_messages", "3")
	x = r.cmd("MAIL FROM:<%s>" % DAVE)
	check(x.is_(250, "2.1.0"), "dave: with the value raised to 3, MAIL "
	    "is accepted at once (%r)" % x)
	# Two recipients were counted; the third is the last allowed.
	check_eq(r.cmd("RCPT TO:<a@remote.example>").code, 250, "recipient 3")
	x = refused(s, r, "RCPT TO:<b@remote.example>", 452, "4.7.1",
	    "dave: the fourth recipient in the hour")
	check("user_recipients" in x.lines[-1], "the reply names "
	    "user_recipients")
	s.ctl("limit", "del", DAVE, "user_recipients")
	check_eq(r.cmd("RCPT TO:<b@remote.example>").code, 250, "dave: with "
	    "the value deleted, the file's 5000 applies")
	check_eq(r.cmd("DATA").code, 354, "DATA")
	body = H.message_from("dave 3", DAVE)
	r.send(H.dot_stuff(body))
	s.accepted(r.reply(), "submission", DAVE, ["a@remote.example",
	    "b@remote.example"], body, auth_user=DAVE, tls=True)
	refused(s, r, "MAIL FROM:<%s>" % DAVE, 450, "4.7.1", "dave: over 3 "
	    "messages again")
	r.quit()
	# Alice's count is her own.
	r = s.raw_auth("submission")
	check_eq(r.cmd("MAIL FROM:<alice@example.org>").code, 250, "alice is "
	    "not limited by dave's count")
	r.quit()


def run():
	conf = {"recipient_delimiter": "+", "auth_max_failures": "1000",
	    "smtp_max_errors": "1000"}
	H.wait_window(3600, 10)	# the hourly limits below must be exact
	with H.Sluice("policy_default", extra_conf=conf, setup=setup) as s:
		test_mx(s)
		test_submission_needs_auth(s)
		test_sender_ownership(s)
		test_from_header(s)
		test_local_socket(s)
		test_user_limits(s)
		test_connection_limit(s)
		test_auth_failure_limit(s)
		s.check_refusals_name_rules("policy_default")
		s.verify_queue()


H.main(run)
