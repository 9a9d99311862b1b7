#!/usr/bin/env python3
"""Remote delivery end to end in a private world on loopback: nsd serving
signed, unsigned and broken zones under a private trust anchor
(tests/world/world.py), receiving SMTP servers on 127.0.0.x
(tests/world/sink.py), and sluiced resolving through libunbound stubbed
to that nsd only. Each scenario checks what arrived where and what
queue.db says (state, status, and the attempt's MX, address, DNSSEC
class, TLS and DANE result)."""
import contextlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "world"))
import sluice_harness as H
from sluice_harness import check, check_eq
import world
from sink import Sink
from remote_lib import attempts, free_port_everywhere, wait_state
import remote_lib

CERT_HOSTS = ["mx1.secure.test", "mx.dane.test", "mx.danebad.test",
    "mx.broken.test", "relay.isp.test"]


def send(s, rcpts, subject):
	return remote_lib.send(s, rcpts, subject)


def scenarios(s, sinks, auth_file):
	# Secure MX with a matching TLSA record: DANE verified.
	qid, _ = send(s, ["bob@secure.test"], "secure")
	st = wait_state(s, qid, "bob@secure.test", ("relayed",))
	a = attempts(s, qid, "bob@secure.test")[-1]
	check_eq((a["mx"], a["ip"], a["dnssec"], a["dane"]),
	    ("mx1.secure.test", "127.0.0.11", "secure", "verified"),
	    "secure MX: attempt record (mx, ip, dnssec, dane)")
	check(a["tls_version"] in ("TLSv1.3", "TLSv1.2"), "over TLS")
	m = sinks["127.0.0.11"].wait_messages(1, 10)[-1]
	check(m.tls and m.recipients == ["bob@secure.test"],
	    "mx1 received it over TLS")
	# Unsigned domain: insecure, its TLSA ignored, delivered.
	qid, _ = send(s, ["carl@insecure.test"], "insecure")
	wait_state(s, qid, "carl@insecure.test", ("relayed",))
	a = attempts(s, qid, "carl@insecure.test")[-1]
	check_eq((a["dnssec"], a["dane"]), ("insecure", "none"),
	    "insecure domain: no DANE")
	# Bogus signatures: deferred with the reason, nothing delivered.
	qid, _ = send(s, ["dan@bogus.test"], "bogus")
	st = wait_state(s, qid, "dan@bogus.test", ("deferred",))
	check_eq(st[1], "4.7.5", "bogus: deferred 4.7.5 (%r)" % (st,))
	check(sinks["127.0.0.14"].connections == 0,
	    "nothing connected to the bogus domain's MX")
	# Null MX: bounced at once, the bounce delivered to alice.
	qid, _ = send(s, ["eve@nullmx.test"], "nullmx")
	st = wait_state(s, qid, "eve@nullmx.test", ("failed",))
	check_eq(st[1], "5.1.10", "null MX: 5.1.10")
	# No MX: the domain's own address.
	qid, _ = send(s, ["fay@nomx.test"], "nomx")
	wait_state(s, qid, "fay@nomx.test", ("relayed",))
	check(sinks["127.0.0.15"].messages(), "implicit MX delivered")
	# DANE mismatch: not delivered, the attempt says why.
	qid, _ = send(s, ["gus@danebad.test"], "danebad")
	st = wait_state(s, qid, "gus@danebad.test", ("deferred",))
	check(not sinks["127.0.0.17"].messages(), "nothing delivered on a "
	    "DANE mismatch")
	a = attempts(s, qid, "gus@danebad.test")[-1]
	check_eq((a["dane"], a["dnssec"], a["mx"]), ("failed", "secure",
	    "mx.danebad.test"), "the attempt says DANE failed (%r)" % a)
	# First MX down (nothing on 127.0.0.20), the next one up.
	qid, _ = send(s, ["hal@equal.test"], "equal")
	wait_state(s, qid, "hal@equal.test", ("relayed",))
	got = [a for a in ("127.0.0.21", "127.0.0.22", "127.0.0.23") if
	    sinks[a].messages()]
	check_eq(len(got), 1, "delivered to one of the second-preference MXs")
	# Permanent failure: bounced; temporary then success after a flush.
	qid, _ = send(s, ["nobody@perm.test", "later@perm.test"], "perm")
	st = wait_state(s, qid, "nobody@perm.test", ("failed",))
	check_eq(st[1], "5.1.1", "550 5.1.1 bounces")
	st = wait_state(s, qid, "later@perm.test", ("deferred",))
	check(st[1].startswith("4."), "450 defers (%r)" % (st,))
	s.ctl("queue", "flush")
	wait_state(s, qid, "later@perm.test", ("relayed",))
	# STARTTLS offered but broken: no plaintext fallback.
	qid, _ = send(s, ["ivy@broken.test"], "broken")
	wait_state(s, qid, "ivy@broken.test", ("deferred",))
	check(not sinks["127.0.0.25"].messages(), "no plaintext after a "
	    "failed handshake")
	# Smarthost with AUTH over STARTTLS.
	qid, _ = send(s, ["joe@smart.test"], "smarthost")
	wait_state(s, qid, "joe@smart.test", ("relayed",))
	m = sinks["127.0.0.30"].wait_messages(1, 10)[-1]
	check_eq((m.auth_user, bool(m.tls)), ("relay-user", True),
	    "the smarthost got it with AUTH, over TLS")
	# One message for three domains, split by destination.
	before = {a: len(sinks[a].messages()) for a in sinks}
	qid, _ = send(s, ["k1@secure.test", "k2@insecure.test", "k3@nomx.test"],
	    "three domains")
	for r in ("k1@secure.test", "k2@insecure.test", "k3@nomx.test"):
		wait_state(s, qid, r, ("relayed",))
	for a, r in (("127.0.0.11", "k1@secure.test"),
	    ("127.0.0.13", "k2@insecure.test"), ("127.0.0.15", "k3@nomx.test")):
		new = sinks[a].messages()[before[a]:]
		check(any(m.recipients == [r] for m in new),
		    "%s received only %s" % (a, r))
	more_scenarios(s, sinks)
	# The bounce for the null MX and the 550 reached alice.
	for _ in range(100):
		reports = [d for _, _, d in s.mailbox(H.USER)
		    if b"multipart/report" in d]
		if len(reports) >= 2:
			break
		time.sleep(0.05)
	check(len(reports) >= 2, "the bounces reached the local sender")
	perm = [d for d in reports if b"nobody@perm.test" in d]
	check(perm and b"Remote-MTA: dns;mx.perm.test" in perm[0] and
	    b"Status: 5.1.1" in perm[0], "the 550 bounce names the remote MTA "
	    "and its status")


def raw_send(s, mail_args, rcpt, rcpt_args, subject):
	r = s.raw_auth()
	check_eq(r.cmd("MAIL FROM:<%s>%s" % (H.USER, mail_args)).code, 250,
	    "%s: MAIL" % subject)
	check_eq(r.cmd("RCPT TO:<%s>%s" % (rcpt, rcpt_args)).code, 250,
	    "%s: RCPT" % subject)
	check_eq(r.cmd("DATA").code, 354, "%s: DATA" % subject)
	r.send(H.dot_stuff(H.message(subject)))
	x = r.reply()
	check(x.is_(250), "%s: queued (%r)" % (subject, x))
	r.quit()
	return H.queued_id(x)


def reports_about(s, qid):
	return [d for _, _, d in s.mailbox(H.USER) if b"multipart/report" in d
	    and qid.encode() in d]


def check_reuse(s, sinks):
	"""A connection that delivered is kept (smtp_client_reuse_time) and
	the next message to the same destination goes over it (RSET, MAIL),
	not over a new one."""
	sink = sinks["127.0.0.13"]
	qid, _ = send(s, ["r1@insecure.test"], "reuse one")
	wait_state(s, qid, "r1@insecure.test", ("relayed",))
	before = sink.connections
	qid, _ = send(s, ["r2@insecure.test"], "reuse two")
	wait_state(s, qid, "r2@insecure.test", ("relayed",))
	check_eq(sink.connections, before, "the second message came over the "
	    "kept connection")
	check("event=connection-reused" in s.log(), "the log says so")


def more_scenarios(s, sinks):
	check_reuse(s, sinks)
	# An MX that is one of our own listeners: a loop, bounced.
	qid, _ = send(s, ["lou@loop.test"], "loop")
	st = wait_state(s, qid, "lou@loop.test", ("failed",))
	check_eq(st[1], "5.4.6", "MX pointing back at us: 5.4.6 (%r)" % (st,))
	# A message that needs SMTPUTF8, to a server without it: bounced.
	qid = raw_send(s, " SMTPUTF8", "uma@utf8.test", "", "utf8")
	st = wait_state(s, qid, "uma@utf8.test", ("failed",))
	check_eq(st[1], "5.6.7", "SMTPUTF8 not offered: 5.6.7 (%r)" % (st,))
	check(not sinks["127.0.0.26"].messages(), "nothing sent downgraded")
	# NOTIFY=SUCCESS: a DSN-capable next hop reports by itself (the
	# request is passed on); one without DSN makes us say "relayed".
	qid1 = raw_send(s, "", "nia@secure.test", " NOTIFY=SUCCESS", "dsn1")
	qid2 = raw_send(s, "", "ned@nodsn.test", " NOTIFY=SUCCESS", "dsn2")
	wait_state(s, qid1, "nia@secure.test", ("relayed",))
	wait_state(s, qid2, "ned@nodsn.test", ("relayed",))
	m = [m for m in sinks["127.0.0.11"].messages() if m.recipients ==
	    ["nia@secure.test"]][-1]
	check(any("NOTIFY=SUCCESS" in p.upper() for r in m.rcpts for p in
	    (r.params if isinstance(r.params, (list, tuple)) else
	    ["%s=%s" % kv for kv in dict(r.params).items()])),
	    "NOTIFY passed on to the DSN-capable server (%r)" % (m.rcpts,))
	for _ in range(100):
		if reports_about(s, qid2):
			break
		time.sleep(0.05)
	got = reports_about(s, qid2)
	check(len(got) == 1 and b"Action: relayed" in got[0],
	    "a relayed notice for the server without DSN")
	check_eq(reports_about(s, qid1), [], "none for the DSN-capable one")


def run():
	base = os.environ.get("SLUICE_TEST_TMP") or None
	with world.World(tmpdir=None) as w:
		cert, key = remote_lib.make_cert(w.dir, CERT_HOSTS)
		w.add_standard_zones(cert_pem=cert)
		w.add_zone("perm.test", ["@ MX 10 mx", "mx A 127.0.0.24"])
		w.add_zone("broken.test", ["@ MX 10 mx", "mx A 127.0.0.25"])
		w.add_zone("loop.test", ["@ MX 10 mx", "mx A 127.0.0.1"])
		w.add_zone("utf8.test", ["@ MX 10 mx", "mx A 127.0.0.26"])
		w.add_zone("nodsn.test", ["@ MX 10 mx", "mx A 127.0.0.27"])
		w.start()
		# sluiced's workers run as nobody when the test is root.
		os.chmod(w.dir, 0o755)
		os.chmod(w.trust_anchor_path, 0o644)
		addrs = ["127.0.0.11", "127.0.0.13", "127.0.0.14", "127.0.0.15",
		    "127.0.0.17", "127.0.0.21", "127.0.0.22", "127.0.0.23",
		    "127.0.0.24", "127.0.0.25", "127.0.0.26", "127.0.0.27",
		    "127.0.0.30"]
		port = free_port_everywhere(addrs + ["127.0.0.1"])
		auth_file = os.path.join(w.dir, "isp.secret")
		with open(auth_file, "w") as f:
			f.write("relay-user\nrelay-pass\n")
		os.chmod(auth_file, 0o644)
		tls = dict(tls_cert=cert, tls_key=key)
		special = {
		    "127.0.0.24": dict(behaviour={"rcpt": {
		        "nobody@perm.test": "550 5.1.1 no such user",
		        "later@perm.test": ["450 4.2.1 try later",
		        "250 2.1.5 ok"]}}),
		    "127.0.0.25": dict(starttls="broken", **tls),
		    "127.0.0.30": dict(auth={"relay-user": "relay-pass"},
		        require_auth=True, starttls="require", **tls),
		    "127.0.0.13": {},
		    "127.0.0.26": dict(extensions={"SMTPUTF8": False}),
		    "127.0.0.27": dict(extensions={"DSN": False}),
		    "127.0.0.15": {},
		}
		with contextlib.ExitStack() as stack:
			sinks = {}
			for a in addrs:
				kw = special.get(a, tls)
				sinks[a] = stack.enter_context(Sink(host=a, port=port,
				    **kw))
			conf = remote_lib.world_conf(w, port)
			conf.update({
			    "relay": "isp 127.0.0.30:%d tls=starttls auth=%s "
			        "policy=encrypt" % (port, auth_file),
			    "relay_domains": "smart.test=isp",
			    # A listener on the remote port: loop.test's MX.
			    "listen": "mx 127.0.0.1:%d name=mxloop" % port,
			})
			with H.Sluice("delivery_remote", extra_conf=conf,
			    workers=1) as s:
				scenarios(s, sinks, auth_file)


if __name__ == "__main__":
	H.main(run)
