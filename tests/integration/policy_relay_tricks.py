#!/usr/bin/env python3
"""Issue 4: every classic relay trick, over a real SMTP session on the mx
listener (port 25's role) from a client that is neither authenticated nor
trusted, is refused with a 5xx, under each shipped policy; each refusal
the policy made is logged with the rule (file:line) that made it; DATA is
sent anyway and refused, and at the end queue.db holds nothing from the
tricks sessions (only a control message that proves the server does take
legitimate mail)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

LOCAL = "example.org"		# a local domain of the harness
# Where the reply must come from: the policy (a logged rule) or the SMTP
# parser (syntax). Both must be 5xx; the policy ones have a fixed class.
ROUTING, LITERAL, FOREIGN, SYNTAX = "routing", "literal", "foreign", \
    "syntax"

# (RCPT argument, as sent; what; expected origin)
CASES = [
    # percent hack, bang path, source routes, quoted @
    ("<user%remote.example@example.org>", "percent hack", ROUTING),
    ("<alice%remote.example@example.org>", "percent hack on a real user",
     ROUTING),
    ("<user%remote.example@mx.example.org>", "percent hack to our host "
     "name", ROUTING),
    ("<user%remote.example@[127.0.0.1]>", "percent hack to our literal",
     ROUTING),
    ('<"user%remote"@example.org>', "quoted percent hack", ROUTING),
    ("<remote.example!user@example.org>", "bang path", ROUTING),
    ("<remote.example!alice@example.org>", "bang path to a real user "
     "name", ROUTING),
    ("<@example.org:user@remote.example>", "source route via a local "
     "domain", ROUTING),
    ("<@mx.example.org,@example.org:user@remote.example>",
     "two-hop source route", ROUTING),
    ("<@remote.example:alice@example.org>", "source route ending at a "
     "real local user", ROUTING),
    ('<"user@remote.example"@example.org>', "quoted @ in the local part",
     ROUTING),
    ('<"alice@remote.example"@example.org>', "quoted @, real user name",
     ROUTING),
    # address literals, including our own address
    ("<user@[192.0.2.1]>", "IPv4 literal", LITERAL),
    ("<user@[IPv6:2001:db8::1]>", "IPv6 literal", LITERAL),
    ("<alice@[127.0.0.1]>", "our own IPv4 literal", LITERAL),
    ("<postmaster@[127.0.0.1]>", "postmaster at our own literal", LITERAL),
    ("<alice@[IPv6:::1]>", "our own IPv6 literal", LITERAL),
    ("<alice@[IPv6:::ffff:127.0.0.1]>", "IPv4-mapped literal", LITERAL),
    # foreign domains in disguise
    ("<user@REMOTE.EXAMPLE>", "foreign domain, upper case", FOREIGN),
    ("<user@remote.example.>", "foreign domain, trailing dot", FOREIGN),
    ("<User@Remote.Example.>", "foreign domain, mixed case and dot",
     FOREIGN),
    ("<alice@example.org.evil.test>", "local domain as a prefix",
     FOREIGN),
    ("<ALICE@EXAMPLE.ORG.EVIL.TEST.>", "local domain as a prefix, upper "
     "case, trailing dot", FOREIGN),
    ("<alice@evilexample.org>", "local domain as a suffix", FOREIGN),
    ("<alice@example.orgx>", "local domain plus a letter", FOREIGN),
    ("<alice@sub.example.org>", "sub-domain of a local domain", FOREIGN),
    ("<anyone@partner.example.evil.test>", "relay domain as a prefix",
     FOREIGN),
    ("<anyone@evilpartner.example>", "relay domain as a suffix", FOREIGN),
    ("<alice@mx.example.org>", "our host name (not a local domain)",
     FOREIGN),
    ("<alice@localhost>", "localhost", FOREIGN),
    ('<"alice"@remote.example>', "quoted plain local part, foreign",
     FOREIGN),
    # two @, empty and malformed addresses
    ("<user@remote.example@example.org>", "user@remote@local", SYNTAX),
    ("<alice@example.org@remote.example>", "user@local@remote", SYNTAX),
    ("<>", "null recipient", SYNTAX),
    ("<@>", "only an @", SYNTAX),
    ("<alice@>", "no domain", SYNTAX),
    ("<@example.org>", "no local part", SYNTAX),
    ("<alice@@example.org>", "double @", SYNTAX),
    ("<alice@example.org..>", "two trailing dots", SYNTAX),
    ("<alice@.example.org>", "leading dot in the domain", SYNTAX),
    ("<alice@example..org>", "empty domain label", SYNTAX),
    ("<alice@-example.org>", "label starting with a hyphen", SYNTAX),
    ("<alice@exa mple.org>", "space in the domain", SYNTAX),
    ("<alice@127.0.0.1>", "bare IP address as domain", SYNTAX),
    ("<alice%[192.0.2.1]@example.org>", "literal inside a percent hack",
     SYNTAX),
    ("<alice@example.org:remote>", "colon after the domain", SYNTAX),
    ("user@remote.example", "no angle brackets", SYNTAX),
    ("<user@remote.example", "no closing bracket", SYNTAX),
    ("<user>", "unqualified local part", SYNTAX),
    ("<remote.example!user>", "bare bang path", SYNTAX),
    ("<alice@example.org>x", "junk after the path", SYNTAX),
    # 8-bit junk (no SMTPUTF8 in this transaction)
    (b"<us\xe9r@remote.example>", "Latin-1 byte in the local part",
     SYNTAX),
    (b"<alice@ex\xffample.org>", "0xff in the domain", SYNTAX),
    (b"<\xff\xfe@example.org>", "only 8-bit junk as local part", SYNTAX),
    ("<jörg@remote.example>", "UTF-8 without SMTPUTF8", SYNTAX),
    ("<alice@exämple.org>", "UTF-8 domain without SMTPUTF8", SYNTAX),
    (b"<alice\x01@example.org>", "control character", SYNTAX),
]

# A second transaction of the same session, with SMTPUTF8: the tricks in
# UTF-8 dress, and 8-bit bytes that are not UTF-8.
UTF8_CASES = [
    ("<jörg@remote.example>", "UTF-8 local part, foreign domain", FOREIGN),
    ("<alice@exämple.org>", "UTF-8 look-alike of the local domain",
     FOREIGN),
    ("<jörg%remote.example@example.org>", "UTF-8 percent hack", ROUTING),
    ("<alice@[192.0.2.1]>", "literal with SMTPUTF8", LITERAL),
    (b"<j\xf6rg@example.org>", "Latin-1 byte (not UTF-8)", SYNTAX),
    (b"<alice@\xc3\x28example.org>", "malformed UTF-8 in the domain",
     SYNTAX),
]

SENDER = "someone@remote.example"


def as_bytes(x):
	return x if isinstance(x, bytes) else x.encode()


def expect_refused(s, r, arg, what, origin, label):
	mark = len(s.log())
	x = r.cmd(b"RCPT TO:" + as_bytes(arg))
	name = "%s: %s %r" % (label, what, arg)
	check(500 <= x.code <= 559 and x.status.startswith("5."), "%s: "
	    "refused with a 5xx (%r)" % (name, x))
	if origin in (ROUTING, LITERAL):
		check(x.is_(553, "5.7.1"), "%s: 553 5.7.1" % name)
	elif origin == FOREIGN:
		check(x.is_(554, "5.7.1"), "%s: 554 5.7.1 relay denied" % name)
	if origin != SYNTAX:
		d = s.check_refusal(r, x, mark, name)
		check_eq(d["stage"], "rcpt", "%s: refused at the rcpt stage" %
		    name)
	return x


def run_tricks(s, label, role="mx", source=None):
	"""All the cases in one session; DATA anyway. Returns how many RCPT
	were accepted (must be 0)."""
	r = s.raw(role, source=source)
	check_eq(r.cmd("EHLO client.example").code, 250, "%s: EHLO" % label)
	x = r.cmd("MAIL FROM:<%s>" % SENDER)
	check(x.is_(250, "2.1.0"), "%s: MAIL (%r)" % (label, x))
	accepted = 0
	for arg, what, origin in CASES:
		accepted += expect_refused(s, r, arg, what, origin,
		    label).code == 250
	# Whatever happened, try to get a message in.
	d = r.cmd("DATA")
	if d.code == 354:
		r.send(H.dot_stuff(H.message("relayed", "Open relay!\r\n")))
		d = r.reply()
	check(d.code >= 500, "%s: DATA after the tricks refused (%r)" %
	    (label, d))
	check(r.cmd("RSET").is_(250, "2.0.0"), "%s: RSET" % label)
	x = r.cmd("MAIL FROM:<%s> SMTPUTF8" % SENDER)
	check(x.is_(250, "2.1.0"), "%s: MAIL SMTPUTF8 (%r)" % (label, x))
	for arg, what, origin in UTF8_CASES:
		accepted += expect_refused(s, r, arg, what, origin,
		    label + " SMTPUTF8").code == 250
	r.send(b"DATA\r\n")
	d = r.reply()
	if d.code == 354:
		r.send(H.dot_stuff(H.message("relayed utf8", "Open relay!\r\n")))
		d = r.reply()
	check(d.code >= 500, "%s: DATA after the SMTPUTF8 tricks refused "
	    "(%r)" % (label, d))
	r.quit()
	return accepted


def control(s, label, source=None):
	"""The server does accept legitimate mail for a local user."""
	r = s.raw("mx", source=source)
	r.cmd("EHLO client.example")
	check_eq(r.cmd("MAIL FROM:<%s>" % SENDER).code, 250, "%s: control "
	    "MAIL" % label)
	check(r.cmd("RCPT TO:<alice@example.org>").is_(250, "2.1.5"),
	    "%s: control RCPT alice@example.org accepted" % label)
	check_eq(r.cmd("DATA").code, 354, "%s: control DATA" % label)
	body = H.message("control " + label, "Legitimate.\r\n")
	r.send(H.dot_stuff(body))
	s.accepted(r.reply(), "mx", SENDER, ["alice@example.org"], body)
	r.quit()


def nothing_queued_but_control(s, label):
	check_eq(s.count(), len(s.expected), "%s: queue.db holds only the "
	    "control message" % label)
	with s.db() as con:
		rcpts = sorted(set(x[0] for x in con.execute("SELECT address "
		    "FROM recipients")))
	check_eq(rcpts, ["alice@example.org"], "%s: no recipient of a trick "
	    "in queue.db" % label)
	s.check_refusals_name_rules(label)
	s.verify_queue()


def one_policy(name, label, edit=None, source=None, ipv6=False):
	conf = {"smtp_max_errors": "1000"}
	with H.Sluice("policy_tricks", policy=name, policy_edit=edit,
	    extra_conf=conf, ipv6=ipv6) as s:
		n = run_tricks(s, label, source=source)
		if ipv6 and "mx6" in s.ports:
			n += run_tricks(s, label + " [::1]", role="mx6")
		check_eq(n, 0, "%s: no RCPT accepted in the tricks sessions" %
		    label)
		check_eq(s.count(), 0, "%s: queue.db is empty after the tricks"
		    % label)
		control(s, label, source=source)
		nothing_queued_but_control(s, label)


def smarthost_untrusted(text):
	"""smarthost.policy trusts all of 127.0.0.0/8; trust only 127.0.0.1
	so that a client from 127.0.0.2 is a stranger."""
	new, n = re.subn(r"(?m)^list internal = .*$",
	    "list internal = 127.0.0.1/32", text)
	if n != 1:
		raise H.TestFailure("smarthost.policy: no `list internal` line")
	return new


def run():
	check(len(CASES) + len(UTF8_CASES) >= 30, "at least 30 cases (%d)" %
	    (len(CASES) + len(UTF8_CASES)))
	one_policy("default.policy", "default", ipv6=True)
	one_policy("corporate-relay.policy", "corporate-relay")
	one_policy("isp-submission.policy", "isp-submission")
	one_policy("smarthost.policy", "smarthost (untrusted 127.0.0.2)",
	    edit=smarthost_untrusted, source="127.0.0.2")


H.main(run)
