#!/usr/bin/env python3
"""policy/corporate-relay.policy with real sessions, as its header
describes it: on 587 and 465, TLS first (even where the listener would
take a password in plaintext), then a login; an employee sends anywhere
but only as an address they own (their own, an alias, a shared grant
such as support@ given to two people, a whole domain granted to an
application account), in MAIL FROM and in From:; submission-only
accounts of a domain that is not local here; mx takes the company's
domains only and never relays; the local socket reaches anyone; password
guessers are shut out per address (10 an hour) and per /24 (50 an
hour). Every refusal names its rule in the log; queue.db holds exactly
the accepted messages."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

POLICY = "corporate-relay.policy"
CAROL = "carol@example.org"
ZOE = "zoe@branch.example"	# submission only: her mailbox is elsewhere
APP = "app@example.org"		# an application account
FOREIGN = "customer@remote.example"


def setup(s):
	for u in (CAROL, APP):
		s.ctl("user", "add", u, input=(H.PASSWORD + "\n").encode())
	s.ctl("user", "add", ZOE, "--no-mailbox",
	    input=(H.PASSWORD + "\n").encode())
	for u in (H.USER, CAROL):
		s.ctl("grant", "add", u, "support@example.org")
	s.ctl("grant", "add", APP, "@notify.example")


def refused(s, r, line, code, status, what):
	mark = len(s.log())
	x = r.cmd(line)
	check(x.is_(code, status), "%s: %d %s (%r)" % (what, code, status, x))
	s.check_refusal(r, x, mark, what)
	return x


def test_tls_first(s):
	r = s.raw("plainsub")
	r.cmd("EHLO client.example")
	check_eq(r.cmd(H.auth_plain(H.USER)).code, 235, "plainsub: AUTH "
	    "in plaintext (the listener allows it)")
	x = refused(s, r, "MAIL FROM:<%s>" % H.USER, 530, "5.7.0",
	    "plainsub: MAIL without TLS")
	check("STARTTLS" in x.lines[-1], "the reply asks for STARTTLS")
	r.quit()
	for role in ("submission", "submissions"):
		r = s.raw_tls(role)
		x = r.cmd("MAIL FROM:<%s>" % H.USER)
		check(x.is_(530, "5.7.0"), "%s: TLS but no login: 530 5.7.0 "
		    "(%r)" % (role, x))
		r.quit()


def send_as(s, role, user, sender, from_header, what):
	r = s.raw_auth(role, user=user)
	body = H.message_from("corporate " + what, from_header)
	H.send_mail(s, r, role, sender, [FOREIGN, "alice@example.org"], body,
	    what, auth_user=user, tls=True)
	r.quit()


def test_senders(s):
	send_as(s, "submission", H.USER, H.USER, "Alice <alice@example.org>",
	    "alice as herself")
	send_as(s, "submissions", H.USER, H.ALIAS, "team@example.org",
	    "alice as her alias team@")
	send_as(s, "submission", H.USER, "support@example.org",
	    "Support <support@example.org>", "alice as the shared support@")
	send_as(s, "submissions", CAROL, "support@example.org",
	    "Support <support@example.org>", "carol as the shared support@")
	send_as(s, "submission", ZOE, ZOE, "Zoe <zoe@branch.example>",
	    "zoe, submission only, as herself")
	send_as(s, "submission", APP, "alerts@notify.example",
	    "Alerts <alerts@notify.example>", "the application account as "
	    "its granted domain")
	cases = [
	    (H.USER, "ceo@example.org", "alice as the CEO"),
	    (H.USER, CAROL, "alice as carol"),
	    (H.USER, FOREIGN, "alice as a foreign address"),
	    (CAROL, H.ALIAS, "carol as alice's alias"),
	    (ZOE, "boss@branch.example", "zoe as another of her domain"),
	    (APP, "x@sub.notify.example", "the application account as a "
	     "sub-domain of its grant"),
	    (APP, "x@notify.example.evil.test", "the application account as "
	     "its grant with a suffix"),
	]
	for user, sender, what in cases:
		r = s.raw_auth("submission", user=user)
		refused(s, r, "MAIL FROM:<%s>" % sender, 553, "5.7.1", what)
		r.quit()
	r = s.raw_auth("submission")
	refused(s, r, "MAIL FROM:<>", 553, "5.7.1", "alice with the null "
	    "sender")
	# From: too.
	for header, what in (("The CEO <ceo@example.org>", "From: the CEO"),
	    ("Carol <carol@example.org>", "From: carol"),
	    ("Support <support@example.org>, ceo@example.org", "From: "
	     "support@ and the CEO")):
		check_eq(r.cmd("MAIL FROM:<%s>" % H.USER).code, 250, "MAIL")
		check_eq(r.cmd("RCPT TO:<%s>" % FOREIGN).code, 250, "RCPT")
		check_eq(r.cmd("DATA").code, 354, "DATA")
		mark = len(s.log())
		r.send(H.dot_stuff(H.message_from(what, header)))
		x = r.reply()
		check(x.is_(550, "5.7.1"), "alice, %s: 550 5.7.1 (%r)" % (what,
		    x))
		s.check_refusal(r, x, mark, "alice, " + what)
	r.quit()


def test_mx(s):
	r = s.raw("mx")
	r.cmd("EHLO partner.example")
	check_eq(r.cmd("MAIL FROM:<%s>" % FOREIGN).code, 250, "mx: MAIL")
	refused(s, r, "RCPT TO:<friend@remote.example>", 554, "5.7.1",
	    "mx: never relays")
	refused(s, r, "RCPT TO:<%s>" % ZOE, 554, "5.7.1", "mx: a "
	    "submission-only account's domain is not ours")
	refused(s, r, "RCPT TO:<ceo@example.org>", 550, "5.1.1",
	    "mx: unknown user of a local domain")
	refused(s, r, "RCPT TO:<support%remote.example@example.org>", 553,
	    "5.7.1", "mx: percent hack")
	rcpts = ["alice@example.org", H.ALIAS, "boss@" + H.RELAY_DOMAIN]
	body = H.message("corporate inbound", "Order.\r\n")
	r.cmd("RSET")
	H.send_mail(s, r, "mx", FOREIGN, rcpts, body, "mx: inbound for the "
	    "company's users, aliases and relay domains")
	r.quit()


def test_local(s):
	r = s.raw("local")
	r.cmd("EHLO localhost")
	H.send_mail(s, r, "local", "root@" + H.HOSTNAME, [FOREIGN],
	    H.message("corporate local", "Report.\r\n"), "local: anyone")
	r.quit()


def fail_logins(s, src, n):
	r = s.raw_tls("submission", source=src)
	for i in range(n):
		x = r.cmd(H.auth_plain(H.USER, "guess %d" % i))
		if x.code != 535:
			raise H.TestFailure("failed login from %s: %r" % (src, x))
	r.quit()


def turned_away(s, src, limit, what):
	r = s.raw("submission", greet=False, source=src)
	g = r.reply()
	check(g.is_(421, "4.7.0") and limit in g.lines[-1], "%s: 421 4.7.0 "
	    "naming %s (%r)" % (what, limit, g))
	s.check_refusal(r, g, 0, what)
	r.close()


def greeted(s, src, what):
	r = s.raw("submission", greet=False, source=src)
	check_eq(r.reply().code, 220, what)
	return r


def test_guessers(s):
	# Per address: 10 an hour.
	fail_logins(s, "127.0.2.1", 9)
	r = greeted(s, "127.0.2.1", "after 9 failed logins, still greeted")
	r.quit()
	fail_logins(s, "127.0.2.1", 1)
	turned_away(s, "127.0.2.1", "client_auth_failures", "after 10 failed "
	    "logins from 127.0.2.1")
	greeted(s, "127.0.2.2", "127.0.2.2 is still greeted").quit()
	# Per /24: 50 an hour, spread so that no address reaches its 10.
	for i in range(5):
		fail_logins(s, "127.0.3.%d" % (i + 1), 9)
	fail_logins(s, "127.0.3.6", 4)
	greeted(s, "127.0.3.7", "after 49 failed logins from 127.0.3.0/24, "
	    "a fresh address is greeted").quit()
	fail_logins(s, "127.0.3.7", 1)
	turned_away(s, "127.0.3.8", "net_auth_failures", "after 50 failed "
	    "logins from 127.0.3.0/24, a fresh address in it")
	greeted(s, "127.0.4.1", "another /24 is still greeted").quit()
	r = s.raw_auth("submission", source="127.0.4.2")
	check(True, "and logs in")
	r.quit()


def run():
	H.wait_window(3600, 10)	# the hourly limits below must be exact
	conf = {"auth_max_failures": "10000", "smtp_max_errors": "1000"}
	with H.Sluice("policy_corporate", policy=POLICY, plain_submission=True,
	    extra_conf=conf, setup=setup) as s:
		test_tls_first(s)
		test_senders(s)
		test_mx(s)
		test_local(s)
		test_guessers(s)
		s.check_refusals_name_rules("policy_corporate")
		s.verify_queue()


H.main(run)
