#!/usr/bin/env python3
"""Regression test (issue 4): the log line of a
refused reload is not a well-formed key=value line when the error holds
a double quote.

sluiced.c master_reload() logs `event=reload-failed error="%s" note=...`
with the raw error text, where every other field that carries outside
text goes through log_quote_str(). Policy errors quote file names and
words of the file, e.g.

  error="/etc/sluice/policy/default.policy:53: include "missing.policy":
  No such file or directory" note="the running configuration stays"

so a log parser (or fail2ban-style tooling) cuts the error at
`include ` and misreads the rest. Expected: error="... include
\\"missing.policy\\": No such file or directory".

Run: top_builddir=build top_srcdir=. python3 tests/integration/\
policy_reload_log.py"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check


def run():
	with H.Sluice("policy_reload_log", policy_copy=True) as s:
		text = open(s.policy_path).read()
		s.write_policy('include "missing.policy"\n' + text)
		mark = len(s.log())
		s.signal(signal.SIGHUP)
		m = s.wait_log(r"event=reload-failed .*$", 5, mark)
		check(m, "the refused reload is logged")
		print("# %s" % m.group(0))
		check(s.wait_log(r'event=reload-failed error="(?:[^"\\]|\\.)*" '
		    r'note="the running configuration stays"$', 0, mark),
		    "the error field is one quoted value, inner quotes escaped")


H.main(run)
