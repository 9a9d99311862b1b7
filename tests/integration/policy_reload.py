#!/usr/bin/env python3
"""SIGHUP and the rule files: a changed file (here through a new include)
takes effect for new sessions, and its refusals name the included file
and line; a file with an error (in the included file, in the main file,
a missing include, an include cycle) is refused with a log line that
names file:line, and the rules in force stay; the rate counters survive
every reload (a limit reached before the SIGHUP, by user and by client
address, is still reached after it), except for a limit whose window
changed, which starts afresh as sluice.policy(5) says. Sessions opened
before a reload are not dropped. queue.db holds exactly the accepted
messages."""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

WORKERS = 2
DAVE = "dave@example.org"
GUESSER = "127.0.0.33"		# reaches client_auth_failures (10 an hour)
ALICE = "alice@example.org"

EXTRA = """# extra.policy: included by the test's default.policy
# closes one mailbox
at rcpt: rcpt in [alice@example.org] =>
    reject 550 5.2.1 "Mailbox closed by the new rules"
"""
EXTRA_RULE_LINE = 3


def setup(s):
	s.ctl("user", "add", DAVE, input=(H.PASSWORD + "\n").encode())
	s.ctl("limit", "set", DAVE, "user_messages", "2")


def with_include(text, name="extra.policy"):
	"""The file with an include line before its rcpt section."""
	new, n = re.subn(r"(?m)^(# ---- rcpt -+)$", 'include "%s"\n\\1' % name,
	    text)
	if n != 1:
		raise H.TestFailure("default.policy: no rcpt section marker")
	return new


def line_of(text, pattern):
	for i, line in enumerate(text.split("\n"), 1):
		if re.search(pattern, line):
			return i
	raise H.TestFailure("no line matches %r" % pattern)


def reload(s, what):
	"""SIGHUP; wait until a new generation of workers runs and the old one
	has stopped taking connections."""
	mark = len(s.log())
	s.signal(signal.SIGHUP)
	check(s.wait_log(r"event=reload\b", 5, mark), "%s: the master logs "
	    "the reload" % what)
	ok = s.wait_log(r"(?s)(event=worker-started.*){%d}" % WORKERS, 10,
	    mark) and s.wait_log(r"(?s)(event=worker-retiring.*){%d}" %
	    WORKERS, 10, mark)
	check(ok, "%s: a new generation of %d workers took over" % (what,
	    WORKERS))


def reload_refused(s, what, ref):
	"""SIGHUP with a broken file: refused with file:line, nothing
	replaced."""
	mark = len(s.log())
	s.signal(signal.SIGHUP)
	m = s.wait_log(r"event=reload-failed error=(.*)$", 5, mark)
	check(m, "%s: the master logs event=reload-failed" % what)
	check(ref in m.group(1), "%s: the log line names %s (%s)" % (what,
	    ref, m.group(1)))
	check(s.alive(), "%s: sluiced still runs" % what)
	check("event=worker-started" not in s.log()[mark:] and
	    "event=worker-retiring" not in s.log()[mark:], "%s: the workers "
	    "were not replaced" % what)


def rcpt(s, addr, source=None):
	"""RCPT in a new mx session: (reply, session) with MAIL done."""
	r = s.raw("mx", source=source)
	r.cmd("EHLO client.example")
	r.cmd("MAIL FROM:<someone@remote.example>")
	mark = len(s.log())
	return r.cmd("RCPT TO:<%s>" % addr), r, mark


def alice_open(s, what):
	x, r, _ = rcpt(s, ALICE)
	check(x.is_(250, "2.1.5"), "%s: RCPT alice accepted (%r)" % (what, x))
	r.quit()


def alice_closed(s, what, extra_path):
	x, r, mark = rcpt(s, ALICE)
	check(x.is_(550, "5.2.1"), "%s: RCPT alice refused by the new rule "
	    "(%r)" % (what, x))
	d = s.check_refusal(r, x, mark, what)
	check_eq(d["rule"], "%s:%d" % (os.path.realpath(extra_path),
	    EXTRA_RULE_LINE), "%s: the rule is the included file's" % what)
	r.quit()
	x, r, _ = rcpt(s, H.ALIAS)
	check(x.is_(250, "2.1.5"), "%s: the alias is still accepted" % what)
	r.quit()


def dave_limited(s, what, line):
	r = s.raw_auth("submission", user=DAVE)
	mark = len(s.log())
	x = r.cmd("MAIL FROM:<%s>" % DAVE)
	check(x.is_(450, "4.7.1") and "user_messages" in x.lines[-1],
	    "%s: dave is still over user_messages (%r)" % (what, x))
	d = s.check_refusal(r, x, mark, what)
	check_eq(d["rule"], "%s:%d" % (s.policy_path, line), "%s: the "
	    "user_messages rule decided" % what)
	r.quit()


def guesser_refused(s, what):
	r = s.raw("submission", greet=False, source=GUESSER)
	g = r.reply()
	check(g.is_(421, "4.7.0") and "client_auth_failures" in g.lines[-1],
	    "%s: %s still over client_auth_failures (%r)" % (what, GUESSER, g))
	r.close()


def send_dave(s, n):
	r = s.raw_auth("submission", user=DAVE)
	H.send_mail(s, r, "submission", DAVE, ["friend@remote.example"],
	    H.message_from("dave %d" % n, DAVE), "dave message %d" % n,
	    auth_user=DAVE, tls=True)
	r.quit()


def run():
	H.wait_window(3600, 15)	# the hourly counts below must be exact
	conf = {"auth_max_failures": "10000", "smtp_max_errors": "1000"}
	with H.Sluice("policy_reload", policy="default.policy",
	    policy_copy=True, workers=WORKERS, extra_conf=conf,
	    setup=setup) as s:
		s.policy_path = os.path.realpath(s.policy_path)
		original = open(s.policy_path).read()
		extra = os.path.join(os.path.dirname(s.policy_path),
		    "extra.policy")
		mail_line = line_of(original, r"^at mail: over user_messages")

		# Before: alice open; dave and the guesser reach their limits.
		alice_open(s, "before any reload")
		for n in (1, 2):
			send_dave(s, n)
		dave_limited(s, "before any reload", mail_line)
		r = s.raw_tls("submission", source=GUESSER)
		for i in range(10):
			check_eq(r.cmd(H.auth_plain(H.USER, "guess")).code, 535,
			    "failed login %d from %s" % (i + 1, GUESSER))
		r.quit()
		guesser_refused(s, "before any reload")
		idle = s.raw("mx")
		check_eq(idle.cmd("EHLO idle.example").code, 250, "a session "
		    "opened before the reloads")

		# A changed file: new rules for new sessions, counters kept.
		s.write_policy(EXTRA, "extra.policy")
		changed = with_include(original)
		s.write_policy(changed)
		reload(s, "changed file")
		alice_closed(s, "after the reload", extra)
		dave_limited(s, "after the reload", line_of(changed,
		    r"^at mail: over user_messages"))
		guesser_refused(s, "after the reload")

		# Broken files: refused, the changed rules stay.
		s.write_policy(EXTRA.replace("rcpt in [alice@example.org]",
		    "rcpt frobnicated"), "extra.policy")
		reload_refused(s, "unknown condition in the included file",
		    "%s:%d:" % (extra, EXTRA_RULE_LINE))
		alice_closed(s, "after a refused reload", extra)
		s.write_policy(EXTRA, "extra.policy")
		bad = changed.replace('=>\n    defer 450 4.7.1 "Too many '
		    'messages', '=>\n    reject 450 4.7.1 "Too many messages', 1)
		check(bad != changed, "made a reject with a 4xx code")
		bad_line = line_of(bad, r"reject 450 4\.7\.1")
		s.write_policy(bad)
		reload_refused(s, "reject with a 4xx code in the main file",
		    "%s:%d:" % (s.policy_path, bad_line))
		missing = with_include(changed, "missing.policy")
		s.write_policy(missing)
		reload_refused(s, "include of a missing file", "%s:%d:" %
		    (s.policy_path, line_of(missing, r'^include "missing')))
		s.write_policy(EXTRA + 'include "default.policy"\n',
		    "extra.policy")
		s.write_policy(changed)
		reload_refused(s, "include cycle", "%s:%d:" % (extra,
		    EXTRA.count("\n") + 1))
		s.write_policy(EXTRA, "extra.policy")
		alice_closed(s, "after four refused reloads", extra)
		dave_limited(s, "after four refused reloads", line_of(changed,
		    r"^at mail: over user_messages"))
		guesser_refused(s, "after four refused reloads")

		# Back to the original, with user_messages over 2h: a limit whose
		# window changes starts afresh; the others keep their counts.
		s.write_policy(original.replace("user_messages = 1000 messages "
		    "per 1h", "user_messages = 1000 messages per 2h"))
		reload(s, "original rules, user_messages over 2h")
		alice_open(s, "after the last reload")
		guesser_refused(s, "after the last reload")
		send_dave(s, 3)
		send_dave(s, 4)
		dave_limited(s, "user_messages over 2h, two messages later",
		    mail_line)
		check(idle.cmd("NOOP").is_(250, "2.0.0"), "the session opened "
		    "before the reloads still answers")
		idle.quit()
		s.check_refusals_name_rules("policy_reload")
		s.verify_queue()


H.main(run)
