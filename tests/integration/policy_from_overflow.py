#!/usr/bin/env python3
"""Regression test (issue 4): `from owned` can be
bypassed with a long header section.

A logged-in user on submission (default.policy: `at data: auth and not
from owned => reject 550 5.7.1`) sends

  From: alice@example.org
  X-Filler: 0
  ... (999 or more header lines)
  From: Mallory <mallory@remote.example>

With 10 filler lines the message is refused (two From: fields: nothing
is owned), as it must be. With 999 or more the message is queued, with
the foreign From: in it. The header scan of the DATA reader stops after
DATA_HEADER_LINES (1000) lines or DATA_HEADER_SIZE (1 MiB)
(data_result.header_overflow), and message_from() in
src/smtpd/message.c parses only the part scanned (up to header_end), so
it sees one From: field, alice's. Expected: when the scan overflowed
(or the From: field is cut), nothing is owned (n = 0), so the rule
refuses; or the whole header section is parsed.

Run: top_builddir=build top_srcdir=. python3 tests/integration/\
policy_from_overflow.py"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check


def attempt(s, r, filler):
	fill = b"".join(b"X-Filler: %d\r\n" % i for i in range(filler))
	body = (b"From: alice@example.org\r\n" + fill + b"From: Mallory "
	    b"<mallory@remote.example>\r\nSubject: two From fields\r\n"
	    b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
	    b"Message-ID: <two-from-%d@example.org>\r\n\r\nx\r\n" % filler)
	check(r.cmd("MAIL FROM:<alice@example.org>").code == 250, "MAIL")
	check(r.cmd("RCPT TO:<x@remote.example>").code == 250, "RCPT")
	check(r.cmd("DATA").code == 354, "DATA")
	r.send(H.dot_stuff(body))
	return r.reply()


def run():
	with H.Sluice("policy_from_overflow") as s:
		r = s.raw_auth("submission")
		for filler in (10, 999, 1500):
			x = attempt(s, r, filler)
			check(x.is_(550, "5.7.1"), "From: alice, %d header lines, "
			    "From: mallory: refused 550 5.7.1 (%r)" % (filler, x))
		r.quit()
		check(s.count() == 0, "nothing queued")


H.main(run)
