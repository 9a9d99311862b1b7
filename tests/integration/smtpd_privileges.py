#!/usr/bin/env python3
"""sluiced as root in a state and run directory that the unprivileged
daemon account can write: the root master follows no link planted there.
A symlink at the pid file or at the unix socket path does not make root
write or chown its target, and the state check runs as the daemon user.
Skipped when not run as root."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq


def run():
	if os.geteuid() != 0:
		H.skip("needs root")
	with H.Sluice("smtpd_privileges", workers=1) as s:
		check(s.stop() == 0, "first start and stop")
		victim = s.path("victim")
		with open(victim, "w") as f:
			f.write("precious\n")
		os.chmod(victim, 0o600)
		pidfile = os.path.join(s.run_dir, "sluiced.pid")
		for path in (pidfile, s.sock_path):
			if os.path.lexists(path):
				os.unlink(path)
			os.symlink(victim, path)
		check(s.start(), "sluiced starts with links planted")
		st = os.stat(victim)
		check_eq(open(victim).read(), "precious\n",
		    "the pid file link was not followed")
		check_eq((st.st_uid, st.st_mode & 0o777), (0, 0o600),
		    "nothing chowned or chmodded the link's target")
		check(not os.path.islink(s.sock_path),
		    "the socket path is a socket again")
		check(s.wait_log(r"event=pidfile-failed"), "the refusal is logged")
		r = s.raw("mx")
		check_eq(r.cmd("EHLO client.example").code, 250, "still serving")
		r.quit()


H.main(run)
