#!/usr/bin/env python3
"""sluiced as a process: workers drop privileges (as root), a killed
worker is restarted, SIGHUP reloads configuration and certificate (and a
broken file changes nothing), SIGTERM lets a message in flight finish and
answers 421 4.3.2 to idle sessions; then queue.db holds exactly the
accepted messages, byte-exact."""
import hashlib
import os
import pwd
import grp
import re
import signal
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

WORKERS = 2


def wait_for(pred, timeout, step=0.05):
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		v = pred()
		if v:
			return v
		time.sleep(step)
	return pred()


def live_workers(s):
	# A worker that has just been forked may not have dropped privileges
	# yet; only count those that logged "worker-started".
	log = s.log()
	return [p for p in s.worker_pids()
	    if "event=worker-started worker=" in log and
	    re.search(r"worker-started worker=\d+ pid=%d\b" % p, log)]


def send_message(s, r, subject, **kw):
	body = H.message(subject, "About %s.\r\n" % subject)
	check_eq(r.cmd("MAIL FROM:<p@remote.example>").code, 250, "MAIL")
	check_eq(r.cmd("RCPT TO:<alice@example.org>").code, 250, "RCPT")
	check_eq(r.cmd("DATA").code, 354, "DATA")
	r.send(H.dot_stuff(body))
	return s.accepted(r.reply(), "mx", "p@remote.example",
	    ["alice@example.org"], body, **kw)


def test_privileges(s):
	workers = wait_for(lambda: len(live_workers(s)) == WORKERS and
	    live_workers(s), 10)
	check(workers and len(workers) == WORKERS, "%d workers running (%r)" %
	    (WORKERS, workers))
	if os.geteuid() != 0:
		print("# not root: privilege dropping not exercised")
		return
	uid = pwd.getpwnam(s.user).pw_uid
	gid = grp.getgrnam(s.group).gr_gid
	check_eq(H.proc_uid(s.pid), [0, 0], "the master stays root")
	for w in workers:
		check_eq(H.proc_uid(w), [uid, uid], "worker %d runs as %s" % (w,
		    s.user))
		with open("/proc/%d/status" % w) as f:
			st = f.read()
		g = re.search(r"^Gid:\s+(\d+)\s+(\d+)", st, re.M)
		check_eq([int(g.group(1)), int(g.group(2))], [gid, gid],
		    "worker %d has group %s" % (w, s.group))
		groups = re.search(r"^Groups:\s*(.*)$", st, re.M).group(1).split()
		check(all(int(x) == gid for x in groups), "worker %d has no "
		    "supplementary groups of root (%r)" % (w, groups))


def test_kill_worker(s):
	before = live_workers(s)
	victim = before[0]
	os.kill(victim, signal.SIGKILL)
	check(s.wait_log(r"event=worker-died pid=%d signal=9" % victim, 5),
	    "the master logs that worker %d died of signal 9" % victim)
	after = wait_for(lambda: (lambda w: len(w) == WORKERS and victim not in
	    w and w)(live_workers(s)), 10)
	check(after and victim not in after, "the master restarted it (%r -> "
	    "%r)" % (before, after))
	check(s.alive(), "the master is still running")
	# New sessions work, whichever worker takes them.
	rs = [s.raw("mx") for _ in range(6)]
	for i, r in enumerate(rs):
		r.cmd("EHLO client.example")
		send_message(s, r, "after restart %d" % i)
	check(True, "sessions after the restart work")
	for r in rs:
		r.quit()


def cert_digest(s):
	r = s.raw("submissions", greet=False)
	try:
		return hashlib.sha256(r.sock.getpeercert(True)).hexdigest()
	finally:
		r.close()


def test_reload(s):
	"""SIGHUP: sessions opened before it go on undisturbed, whatever
	their state (issue 3: "without dropping sessions")."""
	idle = s.raw("mx")
	idle.cmd("EHLO client.example")
	txn = s.raw("mx")
	txn.cmd("EHLO client.example")
	txn.cmd("MAIL FROM:<p@remote.example>")
	txn.cmd("RCPT TO:<alice@example.org>")
	# A session in the middle of DATA across the reload.
	a = s.raw("mx")
	a.cmd("EHLO client.example")
	a.cmd("MAIL FROM:<p@remote.example>")
	a.cmd("RCPT TO:<alice@example.org>")
	check_eq(a.cmd("DATA").code, 354, "DATA before the reload")
	body = H.message("across reload", "First half, ")
	a.send(body)
	old_cert = cert_digest(s)
	old_workers = live_workers(s)
	# New limit and a new certificate at the same paths.
	s.set_conf(message_size_limit="10M")
	os.rename(s.cert, s.cert + ".old")
	os.rename(s.key, s.key + ".old")
	s._run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
	    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", s.key, "-out",
	    s.cert, "-days", "2", "-subj", "/CN=" + H.HOSTNAME, "-addext",
	    "subjectAltName=DNS:%s,IP:127.0.0.1" % H.HOSTNAME])
	both = s.path("both.pem")
	with open(both, "wb") as f:
		for p in (s.cert, s.cert + ".old"):
			with open(p, "rb") as c:
				f.write(c.read())
	s.ssl_context = lambda: ssl.create_default_context(cafile=both)
	mark = len(s.log())
	s.signal(signal.SIGHUP)
	check(s.wait_log(r"event=reload\b", 5, mark), "SIGHUP: the master "
	    "logs a reload")
	new_workers = wait_for(lambda: (lambda w: len(set(w) -
	    set(old_workers)) >= WORKERS and w)(live_workers(s)), 10)
	check(new_workers, "a new generation of workers started (%r -> %r)" %
	    (old_workers, new_workers))
	c = s.raw("mx")
	e = c.cmd("EHLO client.example")
	check("SIZE 10485760" in e.lines, "a new session sees the new SIZE "
	    "(%r)" % e.lines)
	x = c.cmd("MAIL FROM:<p@remote.example> SIZE=10485761")
	check(x.is_(552, "5.3.4"), "and the new limit applies (%r)" % x)
	c.quit()
	check(cert_digest(s) != old_cert, "a new TLS session gets the "
	    "new certificate")
	# The session that was in DATA finishes its message.
	a.send(b"second half.\r\n.\r\n")
	s.accepted(a.reply(), "mx", "p@remote.example", ["alice@example.org"],
	    body + b"second half.\r\n")
	check(True, "the message in flight across the reload is queued")
	a.close()
	x = idle.cmd("NOOP")
	check(x.is_(250, "2.0.0"), "an idle session from before the reload "
	    "still works (%r)" % x)
	send_message(s, idle, "idle across reload")
	idle.quit()
	x = txn.cmd("DATA")
	check_eq(x.code, 354, "a session between RCPT and DATA at the reload: "
	    "DATA")
	body = H.message("txn across reload", "Begun before.\r\n")
	txn.send(H.dot_stuff(body))
	s.accepted(txn.reply(), "mx", "p@remote.example",
	    ["alice@example.org"], body)
	check(True, "and its message is queued")
	txn.quit()
	workers = wait_for(lambda: (lambda w: len(w) == WORKERS and w)(
	    live_workers(s)), 10)
	check(workers, "the old generation exits once its session is over")
	# A broken file: the reload fails and nothing changes.
	with open(s.conf, "a") as f:
		f.write("bogus_key = 1\n")
	mark = len(s.log())
	s.signal(signal.SIGHUP)
	check(s.wait_log(r"event=reload-failed", 5, mark), "a broken file: "
	    "reload-failed is logged")
	c = s.raw("mx")
	e = c.cmd("EHLO client.example")
	check("SIZE 10485760" in e.lines, "and the running settings stay")
	send_message(s, c, "after failed reload")
	c.quit()
	check(s.alive() and set(workers) <= set(s.worker_pids()), "the "
	    "daemon and its workers keep running")
	s.set_conf()		# a clean file again


def test_sigterm(s):
	# a: in DATA with half a body; b: idle after EHLO.
	a = s.raw("mx")
	a.cmd("EHLO client.example")
	a.cmd("MAIL FROM:<p@remote.example>")
	a.cmd("RCPT TO:<alice@example.org>")
	check_eq(a.cmd("DATA").code, 354, "DATA")
	body = H.message("in flight at SIGTERM", "First half, ")
	a.send(body)
	b = s.raw("mx")
	b.cmd("EHLO client.example")
	time.sleep(0.2)		# both sessions are in their states
	t0 = time.monotonic()
	s.signal(signal.SIGTERM)
	x = b.reply()
	check(x.is_(421, "4.3.2"), "SIGTERM: the idle session gets 421 4.3.2 "
	    "(%r)" % x)
	check(b.closed(), "and is closed")
	b.close()
	a.send(b"second half.\r\n.\r\n")
	s.accepted(a.reply(), "mx", "p@remote.example", ["alice@example.org"],
	    body + b"second half.\r\n")
	check(True, "the message in flight is still queued")
	x = a.reply()
	check(x.is_(421, "4.3.2"), "then its session gets 421 4.3.2 (%r)" % x)
	check(a.closed(), "and is closed")
	a.close()
	status = s.wait_exit(10)
	check_eq(status, 0, "sluiced exits with status 0")
	took = time.monotonic() - t0
	check(took < 10, "within 10 s of SIGTERM (%.1fs)" % took)
	check(s.wait_log(r"event=stopped", 1), "and logs that it stopped")
	check(not os.path.exists(s.path("run", "sluiced.pid")), "the pid file "
	    "is removed")
	check(not os.path.exists(s.sock_path), "the unix socket is removed")


def run():
	with H.Sluice("smtpd_process", workers=WORKERS,
	    worker_deaths_ok=True) as s:
		check(os.path.exists(s.path("run", "sluiced.pid")) and
		    open(s.path("run", "sluiced.pid")).read().strip() ==
		    str(s.pid), "the pid file holds the master's pid")
		test_privileges(s)
		test_kill_worker(s)
		test_reload(s)
		test_sigterm(s)
		s.verify_queue()


H.main(run)
