#!/usr/bin/env python3
"""SIGTERM lets a transaction that has begun (MAIL, RCPT, not yet DATA)
finish: DATA still gets 354 and the message is queued (issue 3: "lets
transactions in flight finish within a bound"). This started as the
script of open bugs found by the integration tests; each check prints
FIXED or OPEN."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H

results = []


def bug(name):
	def wrap(fn):
		def run(s):
			try:
				fn(s)
				results.append((name, None))
			except (H.TestFailure, EOFError, OSError) as e:
				results.append((name, e))
		run.__name__ = fn.__name__
		return run
	return wrap


@bug("SIGTERM: a transaction begun (MAIL, RCPT) but not yet in DATA is "
    "aborted with 421 4.3.2 instead of being allowed to finish")
def sigterm_txn(s):
	# session.h: "one inside a transaction may finish it"; issue 3: "lets
	# transactions in flight finish within a bound". session.c
	# smtpd_session_shutdown() spares only DATA, BDAT, commit, and READY
	# with a BDAT transaction; READY after MAIL/RCPT is aborted at once.
	txn = s.raw("mx")
	txn.cmd("EHLO client.example")
	txn.cmd("MAIL FROM:<p@remote.example>")
	txn.cmd("RCPT TO:<alice@example.org>")
	s.signal(signal.SIGTERM)
	time.sleep(0.3)
	x = txn.cmd("DATA")
	if x.code != 354:
		raise H.TestFailure("DATA after SIGTERM: %r" % x)
	body = H.message("after sigterm", "x\r\n")
	txn.send(H.dot_stuff(body))
	s.accepted(txn.reply(), "mx", "p@remote.example",
	    ["alice@example.org"], body)
	txn.close()


def run():
	with H.Sluice("smtpd_sigterm", workers=1) as s:
		sigterm_txn(s)		# it stops the daemon
		s.wait_exit(10)
	failed = 0
	for name, err in results:
		if err is None:
			print("FIXED: %s" % name)
		else:
			failed += 1
			print("OPEN: %s\n      %s" % (name, err))
	print("# %d of %d checks failed" % (failed, len(results)))
	sys.exit(1 if failed else 0)


try:
	run()
except Exception as e:
	print("FAIL: the bug checks could not run: %r" % e)
	sys.exit(99)
