#!/usr/bin/env python3
"""sluiced storage failure: while another process holds queue.db locked
longer than the busy timeout, a message gets 451 4.3.0 and nothing of it
is written; once the lock is gone the next message is queued. The 250 is
never given for a message that is not in queue.db."""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq


def send(s, subject):
	body = H.message(subject, "storage test\r\n")
	r = s.raw("mx")
	check_eq(r.cmd("EHLO client.example").code, 250, "EHLO")
	check_eq(r.cmd("MAIL FROM:<p@remote.example>").code, 250, "MAIL")
	check_eq(r.cmd("RCPT TO:<alice@example.org>").code, 250, "RCPT")
	check_eq(r.cmd("DATA").code, 354, "DATA")
	r.send(H.dot_stuff(body))
	return r, body


def run():
	with H.Sluice("smtpd_storage", workers=1) as s:
		lock = sqlite3.connect(s.path("state", "queue.db"), timeout=1,
		    isolation_level=None)
		lock.execute("BEGIN EXCLUSIVE")
		started = time.time()
		r, _ = send(s, "while locked")
		x = r.reply()
		waited = time.time() - started
		lock.execute("ROLLBACK")
		lock.close()
		check(x.is_(451, "4.3.0"), "locked queue.db: 451 4.3.0 (%r)" % x)
		check(waited >= 4.0, "the writer waited for the busy timeout "
		    "(%.1fs)" % waited)
		check_eq(s.count(), 0, "nothing of the refused message in queue.db")
		check(s.wait_log(r"event=queue-failed"), "the failure is logged")
		check_eq(r.cmd("NOOP").code, 250, "the session goes on")
		r.quit()

		r, body = send(s, "after the lock")
		s.accepted(r.reply(), "mx", "p@remote.example",
		    ["alice@example.org"], body)
		r.quit()
		s.verify_queue()


H.main(run)
