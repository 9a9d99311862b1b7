#!/usr/bin/env python3
"""Exactly-once local delivery under SIGKILL: a burst of 500 messages, each
for alice and for an alias fanning out to carol and dave, while the queue
worker is killed with SIGKILL at random moments (the master restarts it).
Afterwards each of the 500 messages is in each of the three INBOXes
exactly once, queue.db says every recipient was delivered, and no body is
stored twice. Done for several rounds, each with its own kill times."""
import contextlib
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

ROUNDS = int(os.environ.get("SLUICE_KILL_ROUNDS", "3"))
MESSAGES = 500
SENDERS = 4
OWNERS = ["alice@example.org", "carol@example.org", "dave@example.org"]


def setup(s):
	for u in OWNERS[1:]:
		s.ctl("user", "add", u, input=b"secret password\n")
	s.ctl("alias", "add", "pair@example.org", "carol@example.org")
	s.ctl("alias", "add", "pair@example.org", "dave@example.org")


def sender(s, round_no, index, count, qids, errors):
	"""One mx client sending count messages in one session."""
	try:
		r = s.raw("mx")
		check_eq(r.cmd("EHLO client%d.example" % index).code, 250, "EHLO")
		for i in range(count):
			subject = "r%d-c%d-m%d" % (round_no, index, i)
			body = H.message(subject, "kill test\r\n")
			check_eq(r.cmd("MAIL FROM:<k@remote.example>").code, 250,
			    "MAIL")
			check_eq(r.cmd("RCPT TO:<alice@example.org>").code, 250,
			    "RCPT")
			check_eq(r.cmd("RCPT TO:<pair@example.org>").code, 250,
			    "RCPT")
			check_eq(r.cmd("DATA").code, 354, "DATA")
			r.send(H.dot_stuff(body))
			x = r.reply()
			check(x.is_(250), "queued (%r)" % x)
			qids.append((H.queued_id(x), subject))
		r.quit()
	except Exception as e:	# reported by the main thread
		errors.append(e)


def delivered_count(s, ids):
	with contextlib.closing(s.db()) as db:
		n = 0
		for i in range(0, len(ids), 500):
			part = ids[i:i + 500]
			n += db.execute("SELECT count(*) FROM recipients WHERE "
			    "message_id IN (%s) AND state = 'delivered'" %
			    ",".join("?" * len(part)), part).fetchone()[0]
		return n


def kill_during_delivery(s, rng, ids):
	"""Let the stopped queue worker go, then SIGKILL each queue worker
	(the master starts a new one at once) a random 5 to 120 ms after it
	appears, until everything is delivered (at most 12 kills: sluiced
	restarts a worker killed 50 times in a row without a pause). Returns
	how many kills hit a burst still being delivered."""
	total = 3 * len(ids)
	mid_burst = 0
	last = None
	for _ in range(12):
		pid = None
		for _ in range(400):
			pid = s.queue_worker()
			if pid is not None and pid != last:
				break
			time.sleep(0.01)
		else:
			raise H.TestFailure("no new queue worker within 4s")
		os.kill(pid, signal.SIGCONT)
		time.sleep(rng.uniform(0.005, 0.12))
		before = delivered_count(s, ids)
		if before >= total:
			break
		try:
			os.kill(pid, signal.SIGKILL)
		except ProcessLookupError:
			pass
		last = pid
		mid_burst += 1
	return mid_burst


def wait_worker(s, timeout=10.0):
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		if s.queue_worker() is not None:
			return
		time.sleep(0.05)
	raise H.TestFailure("no queue worker %.0fs after the last kill" %
	    timeout)


def check_round(s, round_no, qids):
	want = {subject for _, subject in qids}
	with contextlib.closing(s.mail_db()) as db:
		for owner in OWNERS:
			rows = db.execute("SELECT i.subject, count(*) FROM messages m "
			    "JOIN mailboxes x ON x.id = m.mailbox_id "
			    "JOIN body_info i ON i.body_id = m.body_id "
			    "WHERE x.owner = ? AND x.name = 'INBOX' AND "
			    "i.subject LIKE ? GROUP BY i.subject",
			    (owner, "r%d-%%" % round_no)).fetchall()
			got = {subj: n for subj, n in rows}
			check_eq(set(got), want, "round %d: %s has every message" %
			    (round_no, owner))
			dups = [subj for subj, n in got.items() if n != 1]
			check_eq(dups, [], "round %d: %s has each exactly once" %
			    (round_no, owner))
		bodies = db.execute("SELECT count(*) FROM bodies b JOIN body_info i "
		    "ON i.body_id = b.id WHERE i.subject LIKE ?",
		    ("r%d-%%" % round_no,)).fetchone()[0]
		check_eq(bodies, MESSAGES, "round %d: one body per message" %
		    round_no)
	with contextlib.closing(s.db()) as db:
		ids = [q for q, _ in qids]
		bad = 0
		for i in range(0, len(ids), 500):
			part = ids[i:i + 500]
			bad += db.execute("SELECT count(*) FROM recipients WHERE "
			    "message_id IN (%s) AND state != 'delivered'" %
			    ",".join("?" * len(part)), part).fetchone()[0]
	check_eq(bad, 0, "round %d: queue.db has every recipient delivered" %
	    round_no)


def run_round(s, round_no, rng):
	qids, errors = [], []
	qw = s.queue_worker()
	check(qw is not None, "round %d: a queue worker runs" % round_no)
	# The burst waits in the queue, then goes at once: every kill lands
	# in the middle of it.
	os.kill(qw, signal.SIGSTOP)
	threads = [threading.Thread(target=sender, args=(s, round_no, i,
	    MESSAGES // SENDERS, qids, errors)) for i in range(SENDERS)]
	try:
		for t in threads:
			t.start()
		for t in threads:
			t.join(120)
	finally:
		os.kill(qw, signal.SIGCONT)
	check(not errors, "round %d: senders: %r" % (round_no, errors[:3]))
	check_eq(len(qids), MESSAGES, "round %d: all queued" % round_no)
	ids = [q for q, _ in qids]
	os.kill(qw, signal.SIGSTOP)
	kills = kill_during_delivery(s, rng, ids)
	wait_worker(s)
	s.wait_final(ids, timeout=120)
	check(kills >= 2, "round %d: the queue worker was killed %d times "
	    "during the burst" % (round_no, kills))
	check_round(s, round_no, qids)


def run():
	seed = int(os.environ.get("SLUICE_KILL_SEED", str(int(time.time()))))
	print("# seed %d" % seed, flush=True)
	rng = random.Random(seed)
	with H.Sluice("delivery_kill", setup=setup, workers=2,
	    worker_deaths_ok=True) as s:
		for n in range(ROUNDS):
			run_round(s, n, rng)
		log = s.log()
		check("event=worker-died" in log and "signal=9" in log,
		    "the log shows the kills")
		# Kills between the mail.db and the queue.db commits: the next
		# attempt found the copy and stored nothing twice.
		print("# %d deliveries found already stored after a kill" %
		    log.count("event=duplicate-skipped"), flush=True)


if __name__ == "__main__":
	H.main(run)
