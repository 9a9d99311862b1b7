#!/usr/bin/env python3
"""policy/smarthost.policy with real sessions. As shipped, its trusted
list is 127.0.0.0/8 and ::1, so every loopback client is trusted: mx
(IPv4 and IPv6) and the local socket relay without AUTH, and the tricks
are refused all the same. Then with the list narrowed to 127.0.0.1 (the
only edit), a client from 127.0.0.2 is a stranger: no relay, only the
local and relay domains, until the named network `internal` of
directory.db takes it in (sluicectl network add, no reload), and out
again (network del). Each decision names its rule in the log; queue.db
holds exactly the accepted messages."""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

SENDER = "cron@host.internal.example"
FOREIGN = "ops@remote.example"


def decision(s, r, start, what):
	"""The last policy decision logged for session r after start, and the
	text of its rule."""
	_, sid = s.session_of(r)
	lines = [d for d in s.policy_lines(start) if d["sid"] == sid]
	check(lines, "%s: a policy decision is logged" % what)
	return lines[-1], H.rule_statement(lines[-1]["rule"]) or ""


def relays(s, role, what, source=None, listener=None):
	"""A session on role relays a message to a foreign recipient; the
	rule that accepted it is one of the file's trusted-client rules."""
	r = s.raw(role, source=source)
	r.cmd("EHLO host.internal.example")
	check_eq(r.cmd("MAIL FROM:<%s>" % SENDER).code, 250, what + ": MAIL")
	mark = len(s.log())
	x = r.cmd("RCPT TO:<%s>" % FOREIGN)
	check(x.is_(250, "2.1.5"), "%s: relay to %s without AUTH (%r)" %
	    (what, FOREIGN, x))
	d, stmt = decision(s, r, mark, what)
	check(d["action"] == "accept" and d["stage"] == "rcpt" and
	    re.match(r"at rcpt: listener (mx and (client in \$internal|"
	    r"network internal)|local) => accept$", stmt), "%s: accepted by "
	    "%s (%r)" % (what, d["rule"], stmt))
	check_eq(r.cmd("DATA").code, 354, what + ": DATA")
	body = H.message("smarthost " + what, "Cron output.\r\n")
	r.send(H.dot_stuff(body))
	s.accepted(r.reply(), listener or role, SENDER, [FOREIGN], body)
	r.quit()
	return stmt


def refused_relay(s, role, what, source=None):
	r = s.raw(role, source=source)
	r.cmd("EHLO stranger.example")
	check_eq(r.cmd("MAIL FROM:<%s>" % SENDER).code, 250, what + ": MAIL")
	mark = len(s.log())
	x = r.cmd("RCPT TO:<%s>" % FOREIGN)
	check(x.is_(554, "5.7.1"), "%s: no relay (%r)" % (what, x))
	s.check_refusal(r, x, mark, what)
	r.quit()


def tricks_refused_trusted(s):
	"""Trusted clients relay, but not with routing syntax or literals."""
	for role, src in (("mx", None), ("local", None)):
		r = s.raw(role, source=src)
		r.cmd("EHLO host.internal.example")
		r.cmd("MAIL FROM:<%s>" % SENDER)
		for a in ("ops%remote.example@example.org",
		    "remote.example!ops@example.org",
		    "@example.org:ops@remote.example",
		    "\"ops@remote.example\"@example.org", "ops@[192.0.2.1]",
		    "ops@[IPv6:2001:db8::1]"):
			mark = len(s.log())
			x = r.cmd("RCPT TO:<%s>" % a)
			check(x.is_(553, "5.7.1"), "trusted %s: <%s> refused (%r)" %
			    (role, a, x))
			s.check_refusal(r, x, mark, "trusted %s: <%s>" % (role, a))
		mark = len(s.log())
		x = r.cmd("RCPT TO:<nosuch@example.org>")
		check(x.is_(550, "5.1.1"), "trusted %s: unknown local user "
		    "still refused (%r)" % (role, x))
		s.check_refusal(r, x, mark, "trusted %s: unknown user" % role)
		r.cmd("RSET")
		r.quit()


def shipped():
	with H.Sluice("policy_smarthost", policy="smarthost.policy",
	    ipv6=True) as s:
		stmt = relays(s, "mx", "mx from 127.0.0.1")
		check("client in $internal" in stmt, "the list decided")
		relays(s, "mx", "mx from 127.0.0.42", source="127.0.0.42")
		if "mx6" in s.ports:
			relays(s, "mx6", "mx from ::1")
		stmt = relays(s, "local", "local socket")
		check("listener local" in stmt, "the local socket rule decided")
		tricks_refused_trusted(s)
		# Submission still wants a login, and relays after one.
		r = s.raw_tls("submission")
		x = r.cmd("MAIL FROM:<%s>" % H.USER)
		check(x.is_(530, "5.7.0"), "submission without AUTH: 530 (%r)" %
		    x)
		r.quit()
		r = s.raw_auth("submission")
		H.send_mail(s, r, "submission", H.USER, [FOREIGN],
		    H.message("smarthost submission", "Logged in.\r\n"),
		    "submission with AUTH relays", auth_user=H.USER, tls=True)
		r.quit()
		s.check_refusals_name_rules("policy_smarthost")
		s.verify_queue()


def narrowed(text):
	new, n = re.subn(r"(?m)^list internal = .*$",
	    "list internal = 127.0.0.1/32", text)
	if n != 1:
		raise H.TestFailure("smarthost.policy: no `list internal` line")
	return new


def named_network():
	# A dual-stack listener (*:PORT) sees IPv4 clients as ::ffff:a.b.c.d;
	# lists and named networks must still match them as IPv4.
	conf = {}
	if H.ipv6_loopback():
		any_port = H.free_port(socket.AF_INET6, "::")
		conf["listen"] = "mx *:%d name=mxany" % any_port
	with H.Sluice("policy_smarthost", policy="smarthost.policy",
	    policy_edit=narrowed, ipv6=True, extra_conf=conf) as s:
		dual = "listen" in conf
		if dual:
			s.extra_addrs["mxany"] = (socket.AF_INET, ("127.0.0.1",
			    any_port))
			relays(s, "mxany", "dual-stack: 127.0.0.1 (in the list)")
			refused_relay(s, "mxany", "dual-stack: 127.0.0.2",
			    source="127.0.0.2")
		relays(s, "mx", "narrowed: mx from 127.0.0.1 (in the list)")
		refused_relay(s, "mx", "narrowed: mx from 127.0.0.2",
		    source="127.0.0.2")
		# A stranger still reaches our users and relay domains.
		r = s.raw("mx", source="127.0.0.2")
		r.cmd("EHLO stranger.example")
		rcpts = ["alice@example.org", "anyone@" + H.RELAY_DOMAIN]
		H.send_mail(s, r, "mx", "someone@remote.example", rcpts,
		    H.message("stranger inbound", "Hello.\r\n"),
		    "narrowed: stranger to local and relay domains")
		r.quit()
		if "mx6" in s.ports:
			refused_relay(s, "mx6", "narrowed: mx from ::1")
		relays(s, "local", "narrowed: local socket")
		# The named network, changed while the daemon runs.
		s.ctl("network", "add", "internal", "127.0.0.2/32",
		    "127.0.5.0/24")
		stmt = relays(s, "mx", "network internal: 127.0.0.2",
		    source="127.0.0.2")
		check("network internal" in stmt, "the named network decided")
		relays(s, "mx", "network internal: 127.0.5.9",
		    source="127.0.5.9")
		if dual:
			relays(s, "mxany", "dual-stack, network internal: "
			    "127.0.0.2", source="127.0.0.2")
			relays(s, "mxany", "dual-stack, network internal: "
			    "127.0.5.9", source="127.0.5.9")
		refused_relay(s, "mx", "network internal: 127.0.0.3 is not in it",
		    source="127.0.0.3")
		refused_relay(s, "mx", "network internal: 127.0.6.1 is not in it",
		    source="127.0.6.1")
		if "mx6" in s.ports:
			s.ctl("network", "add", "internal", "::1/128")
			relays(s, "mx6", "network internal: ::1")
		# Another network's name does not count.
		s.ctl("network", "add", "office", "127.0.0.4/32")
		refused_relay(s, "mx", "network office is not internal",
		    source="127.0.0.4")
		s.ctl("network", "del", "internal", "127.0.0.2/32")
		refused_relay(s, "mx", "network del: 127.0.0.2 is out again",
		    source="127.0.0.2")
		relays(s, "mx", "network del: 127.0.5.9 is still in",
		    source="127.0.5.9")
		s.check_refusals_name_rules("policy_smarthost")
		s.verify_queue()


def run():
	shipped()
	named_network()


H.main(run)
