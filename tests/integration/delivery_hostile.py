#!/usr/bin/env python3
"""Remote delivery's MX rules, limits and hostile servers, in the private
world of tests/world (nsd on loopback under a private trust anchor, sinks
on 127.0.0.x). Each scenario checks what reached which server and what
queue.db says:

- backup MX: we are MX 20 behind an MX 10 that is down: deferred, never
  bounced, and the MX 30 behind us never tried (RFC 5321 5.1);
- best MX: we share the best preference with another host: a loop, 5.4.6,
  and that other host never tried;
- smtp_client_address_limit: seven addresses that all refuse at the
  greeting, five tried;
- smtp_client_session_limit: three MX hosts that greet and then refuse
  MAIL, two sessions;
- smtp_client_rcpt_limit and "452 too many recipients": five recipients
  in transactions of at most three, the 452s sent again at once on the
  same connection, all delivered;
- a greeting trickled in a byte at a time: the stage deadline holds
  (bytes do not re-arm it);
- secure TLSA records none of which is usable (RFC 7672 2.2): TLS is
  still required, so a server without STARTTLS gets nothing;
- a server that never answers the final dot: smtp_client_job_timeout
  ends the attempt; the same with the message deleted meanwhile
  (sluicectl queue delete) and a bounce due for a refused recipient: no
  notice, and the queue worker carries on;
- stopping sluiced while a job is under way: the recipient already
  refused is recorded (and bounced once), the one waiting stays queued
  and goes after the restart; nothing is sent twice;
- kept connections count in smtp_client_max_connections: with room for
  two, a third destination closes the kept connection unused longest;
- a backlog for one destination (300 messages, 10 connections at a
  time): the queue worker reads each due row about once, not once per
  finished job (the recipients wait in memory, in line, and each scan
  goes on from where the last one stopped).
"""
import contextlib
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "world"))
import sluice_harness as H
from sluice_harness import check, check_eq
import world
from sink import Sink
from remote_lib import attempts, free_port_everywhere, send, wait_state
import remote_lib

GREETING_TIMEOUT = 3
JOB_TIMEOUT = 8

BUSY = ["127.0.0.%d" % i for i in range(50, 57)]	# 421 at the greeting
PICKY = ["127.0.0.60", "127.0.0.61", "127.0.0.62"]	# refuse MAIL
SINKS = {
    "127.0.0.41": {},					# backup.test MX 30
    "127.0.0.42": {},					# bestself.test MX 10
    "127.0.0.63": dict(behaviour={"max_rcpts": 2}),	# few.test
    "127.0.0.65": dict(behaviour={"trickle": {"GREETING": 0.5}}),
    "127.0.0.66": dict(behaviour={"delays": {"DATA_END": 60}}),
    "127.0.0.67": dict(behaviour={"rcpt": {"s1@stop.test":
        "550 5.1.1 no such user"}, "delays": {"DATA_END": 60}}),
    "127.0.0.70": {}, "127.0.0.71": {}, "127.0.0.72": {},	# k1, k2, k3
    "127.0.0.68": dict(behaviour={"delays": {"MAIL": 0.05}}),	# backlog
    "127.0.0.64": dict(starttls="none"),		# unusable.test
    "127.0.0.69": dict(behaviour={"rcpt": {"x@gone.test":
        "550 5.1.1 no such user"}, "delays": {"DATA_END": 60}}),
}
for _a in BUSY:
	SINKS[_a] = dict(behaviour={"greeting": "421 4.3.2 busy"})
for _a in PICKY:
	SINKS[_a] = dict(behaviour={"fail_first": 1000, "fail_at": "MAIL",
	    "fail_reply": "451 4.3.0 not now"})

ZONES = {
    "backup.test": ["@ MX 10 mx1", "@ MX 20 self", "@ MX 30 mx3",
        "mx1 A 127.0.0.40", "self A 127.0.0.1", "mx3 A 127.0.0.41"],
    "bestself.test": ["@ MX 10 self", "@ MX 10 other", "self A 127.0.0.1",
        "other A 127.0.0.42"],
    "many.test": ["@ MX 10 mx"] + ["mx A %s" % a for a in BUSY],
    "sessions.test": ["@ MX 10 a", "@ MX 20 b", "@ MX 30 c",
        "a A 127.0.0.60", "b A 127.0.0.61", "c A 127.0.0.62"],
    "few.test": ["@ MX 10 mx", "mx A 127.0.0.63"],
    "slow.test": ["@ MX 10 mx", "mx A 127.0.0.65"],
    "hang.test": ["@ MX 10 mx", "mx A 127.0.0.66"],
    "stop.test": ["@ MX 10 mx", "mx A 127.0.0.67"],
    "backlog.test": ["@ MX 10 mx", "mx A 127.0.0.68"],
    "gone.test": ["@ MX 10 mx", "mx A 127.0.0.69"],
    # Secure TLSA records, none usable (PKIX-TA): TLS still required.
    "unusable.test": ["@ MX 10 mx", "mx A 127.0.0.64",
        "_25._tcp.mx TLSA 0 0 1 " + "ab" * 32],
    "k1.test": ["@ MX 10 mx", "mx A 127.0.0.70"],
    "k2.test": ["@ MX 10 mx", "mx A 127.0.0.71"],
    "k3.test": ["@ MX 10 mx", "mx A 127.0.0.72"],
}


def connections(sinks, addrs):
	return sum(sinks[a].connections for a in addrs)


def mx_rules(s, sinks, q):
	st = wait_state(s, q["backup"], "b@backup.test", ("deferred",))
	check_eq(st[1], "4.4.1", "backup MX, the better one down: deferred, "
	    "not bounced (%r)" % (st,))
	a = attempts(s, q["backup"], "b@backup.test")[-1]
	check_eq((a["mx"], a["ip"]), ("mx1.backup.test", "127.0.0.40"),
	    "the attempt names the MX preferred to us")
	check_eq(sinks["127.0.0.41"].connections, 0, "the MX 30 behind us "
	    "was never tried")
	check("event=backup-mx" in s.log(), "the log says we are a backup MX")
	st = wait_state(s, q["bestself"], "b@bestself.test", ("failed",))
	check_eq(st[1], "5.4.6", "we are a best MX: a loop, bounced (%r)" %
	    (st,))
	check_eq(sinks["127.0.0.42"].connections, 0, "the other MX of our "
	    "preference was never tried")


def limits(s, sinks, q):
	st = wait_state(s, q["many"], "m@many.test", ("deferred",))
	check(st[1].startswith("4."), "seven busy addresses: deferred (%r)" %
	    (st,))
	check_eq(connections(sinks, BUSY), 5, "smtp_client_address_limit: "
	    "five addresses tried of seven")
	st = wait_state(s, q["sessions"], "p@sessions.test", ("deferred",))
	check_eq(st[1], "4.3.0", "MAIL refused everywhere: deferred with the "
	    "server's status (%r)" % (st,))
	check_eq(connections(sinks, PICKY), 2, "smtp_client_session_limit: "
	    "two sessions")
	check_eq(sinks["127.0.0.62"].connections, 0, "the third MX untried")


def too_many(s, sinks, q):
	rcpts = ["f%d@few.test" % i for i in range(1, 6)]
	for r in rcpts:
		wait_state(s, q["few"], r, ("relayed",))
	sink = sinks["127.0.0.63"]
	txns = [t for t in sink.transactions() if t.mail_from == H.USER]
	check(all(len(t.rcpts) <= 3 for t in txns), "smtp_client_rcpt_limit: "
	    "at most 3 RCPTs a transaction (%r)" % (txns,))
	refused = [t for t in txns if any(r.reply.startswith("452")
	    for r in t.rcpts)]
	check(refused, "the server said 452 too many recipients")
	got = sorted(r for m in sink.messages() for r in m.recipients
	    if r.endswith("@few.test"))
	check_eq(got, rcpts, "every recipient delivered once")
	for t in refused:
		for r in t.rcpts:
			if not r.reply.startswith("452"):
				continue
			later = [m for m in sink.messages() if r.address in
			    m.recipients]
			check(later and later[0].connection == t.connection,
			    "%s sent again at once on the same connection" %
			    r.address)


def slow(s, sinks, q):
	st = wait_state(s, q["slow"], "t@slow.test", ("deferred",), timeout=20)
	check("timeout" in st[2] and "banner" in st[2], "a trickled greeting "
	    "times out (%r)" % (st,))
	check_eq(sinks["127.0.0.65"].messages(), [], "nothing sent")
	for _ in range(60):	# the sink sees the close within ~50 ms
		tr = [t for c in sinks["127.0.0.65"].sessions()
		    for t in c.trickles]
		if tr and tr[0].ended is not None:
			break
		time.sleep(0.05)
	check(tr and tr[0].cut and tr[0].sent < tr[0].total,
	    "the client gave up mid-greeting (%r)" % (tr,))
	took = tr[0].ended - tr[0].started
	check(took < GREETING_TIMEOUT + 3, "after about the greeting "
	    "timeout, not the trickle's %.0f s (%.1f s)" % (tr[0].total * 0.5,
	    took))


def hang(s, sinks, q):
	st = wait_state(s, q["hang"], "h@hang.test", ("deferred",),
	    timeout=JOB_TIMEOUT + 15)
	check_eq(st[1], "4.4.2", "a final dot never answered: deferred 4.4.2 "
	    "(%r)" % (st,))
	check("took longer than %d s" % JOB_TIMEOUT in st[2],
	    "smtp_client_job_timeout ended it (%r)" % (st[2],))
	check("event=delivery-timeout" in s.log(), "logged")


def unusable_tlsa(s, sinks, qid):
	st = wait_state(s, qid, "u@unusable.test", ("deferred",))
	check_eq(st[1], "4.7.4", "unusable TLSA records, no STARTTLS offered: "
	    "deferred 4.7.4 (%r)" % (st,))
	check_eq(sinks["127.0.0.64"].messages(), [], "nothing sent in "
	    "plaintext")


def gone(s, sinks, qid):
	sink = sinks["127.0.0.69"]
	for _ in range(200):
		if any(len(t.rcpts) == 2 for t in sink.transactions()):
			break
		time.sleep(0.05)
	s.ctl("queue", "delete", qid)
	for _ in range(int((JOB_TIMEOUT + 10) * 20)):
		if "event=notice-skipped" in s.log():
			break
		time.sleep(0.05)
	check("event=notice-skipped" in s.log(), "no bounce for a deleted "
	    "message, and no crash")
	check(s.queue_worker() is not None, "the queue worker runs on")


def stop_midway(s, sinks):
	"""SIGTERM while a job waits for the final dot's reply: s1 (refused
	at RCPT) is recorded before the exit; s2 stays due, goes after the
	restart, and s1 is never offered again."""
	sink = sinks["127.0.0.67"]
	qid, _ = send(s, ["s1@stop.test", "s2@stop.test"], "stop")
	for _ in range(200):
		if any(t.data is not None or t.rcpts and len(t.rcpts) == 2
		    for t in sink.transactions()):
			break
		time.sleep(0.05)
	time.sleep(0.5)	# the DATA went out; the dot waits 60 s
	s.stop()
	st = s.rcpt_states(qid)
	check_eq(st["s1@stop.test"][:2], ("failed", "5.1.1"), "the refused "
	    "recipient was recorded before the exit (%r)" % (st,))
	check_eq(len(attempts(s, qid, "s1@stop.test")), 1, "one attempt "
	    "for it")
	check(st["s2@stop.test"][0] not in ("relayed", "delivered", "failed"),
	    "the one waiting for the dot stays queued (%r)" % (st,))
	sink.set_behaviour(replace=True)
	check(s.start(), "sluiced started again")
	wait_state(s, qid, "s2@stop.test", ("relayed",))
	offered = [r.address for t in sink.transactions() for r in t.rcpts]
	check_eq(offered.count("s1@stop.test"), 1, "s1 never offered again")
	check(any(m.recipients == ["s2@stop.test"] for m in sink.messages()),
	    "s2 delivered after the restart")


def kept_count(s, sinks):
	"""smtp_client_max_connections = 2, connections kept 60 s: k1 and
	k2 stay open after delivering; k3 needs a place, and the one unused
	longest (k1's) gives it up."""
	k = {n: sinks["127.0.0.%d" % (69 + n)] for n in (1, 2, 3)}
	for n in (1, 2, 3):
		qid, _ = send(s, ["x@k%d.test" % n], "kept %d" % n)
		wait_state(s, qid, "x@k%d.test" % n, ("relayed",))
		time.sleep(0.2)
	for _ in range(100):
		if k[1].sessions()[0].closed is not None:
			break
		time.sleep(0.05)
	check(k[1].sessions()[0].closed is not None, "k1's kept connection "
	    "closed to make room (%r)" % (k[1].sessions(),))
	check(k[2].sessions()[0].closed is None and
	    k[3].sessions()[0].closed is None, "k2's and k3's still open: two "
	    "in all")
	check_eq([x.connections for x in k.values()], [1, 1, 1],
	    "one connection each")


BACKLOG = 300


def backlog(s, sinks):
	mark = len(s.log())
	r = s.raw_auth()
	for i in range(BACKLOG):
		ok = r.cmd("MAIL FROM:<%s>" % H.USER).code == 250
		ok = ok and r.cmd("RCPT TO:<q%d@backlog.test>" % i).code == 250
		ok = ok and r.cmd("DATA").code == 354
		if not ok:
			break
		r.send(H.dot_stuff(H.message("backlog %d" % i)))
		if not r.reply().is_(250):
			break
	r.quit()
	check_eq(i, BACKLOG - 1, "%d messages queued" % BACKLOG)
	for _ in range(1200):
		if len(sinks["127.0.0.68"].messages()) >= BACKLOG:
			break
		time.sleep(0.05)
	check_eq(len(sinks["127.0.0.68"].messages()), BACKLOG,
	    "every one delivered")
	rows = sum(int(x) for x in re.findall(r"event=scan rows=(\d+)",
	    s.log()[mark:]))
	check(BACKLOG <= rows <= 4 * BACKLOG, "due rows read %d times for %d "
	    "messages: each about once" % (rows, BACKLOG))


def scenarios(s, sinks):
	q = {}
	for name, rcpt in (("backup", "b@backup.test"),
	    ("bestself", "b@bestself.test"), ("many", "m@many.test"),
	    ("sessions", "p@sessions.test"), ("slow", "t@slow.test"),
	    ("hang", "h@hang.test")):
		q[name], _ = send(s, [rcpt], name)
	q["few"], _ = send(s, ["f%d@few.test" % i for i in range(1, 6)], "few")
	q["gone"], _ = send(s, ["g@gone.test", "x@gone.test"], "gone")
	q["unusable"], _ = send(s, ["u@unusable.test"], "unusable")
	mx_rules(s, sinks, q)
	limits(s, sinks, q)
	too_many(s, sinks, q)
	slow(s, sinks, q)
	unusable_tlsa(s, sinks, q["unusable"])
	gone(s, sinks, q["gone"])
	hang(s, sinks, q)
	backlog(s, sinks)
	stop_midway(s, sinks)


def run():
	with world.World(tmpdir=None) as w:
		for name, records in ZONES.items():
			w.add_zone(name, records)
		w.start()
		# sluiced's workers run as nobody when the test is root.
		os.chmod(w.dir, 0o755)
		os.chmod(w.trust_anchor_path, 0o644)
		port = free_port_everywhere(list(SINKS) + ["127.0.0.1"])
		with contextlib.ExitStack() as stack:
			sinks = {a: stack.enter_context(Sink(host=a, port=port,
			    **kw)) for a, kw in SINKS.items()}
			conf = remote_lib.world_conf(w, port)
			conf.update({
			    "smtp_client_greeting_timeout": "%ds" % GREETING_TIMEOUT,
			    "smtp_client_job_timeout": "%ds" % JOB_TIMEOUT,
			    "smtp_client_rcpt_limit": "3",
			    # We are 127.0.0.1 on the remote port: the MX "self".
			    "listen": "mx 127.0.0.1:%d name=mxself" % port,
			})
			with H.Sluice("delivery_hostile", extra_conf=conf,
			    workers=1) as s:
				scenarios(s, sinks)
			conf.update(smtp_client_max_connections="2",
			    smtp_client_max_per_destination="2",
			    smtp_client_reuse_time="60s")
			with H.Sluice("delivery_hostile_kept", extra_conf=conf,
			    workers=1) as s:
				kept_count(s, sinks)


if __name__ == "__main__":
	H.main(run)
