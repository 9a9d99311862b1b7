#!/usr/bin/env python3
"""New-mail notification for sluice-mboxd: a process that binds a datagram
socket in run_dir/notify/ hears of each message delivered to a mailbox
within one second of the 250 (measured here over 20 messages), the
datagram names the mailbox ("MAILBOX_ID OWNER" lines), and by the time it
arrives mail.db already has the message. A socket nobody listens on any
more is removed by the next delivery."""
import contextlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

ROUNDS = 20
LIMIT = 1.0


def listen(s, name):
	path = s.path("run", "notify", name)
	sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	sock.bind(path)
	# The queue worker runs as the daemon's user.
	os.chmod(path, 0o666)
	sock.settimeout(LIMIT * 3)
	return sock, path


def send_one(s, i):
	r = s.raw("mx")
	check_eq(r.cmd("EHLO client.example").code, 250, "EHLO")
	check_eq(r.cmd("MAIL FROM:<n@remote.example>").code, 250, "MAIL")
	check_eq(r.cmd("RCPT TO:<alice@example.org>").code, 250, "RCPT")
	check_eq(r.cmd("DATA").code, 354, "DATA")
	r.send(H.dot_stuff(H.message("notify %d" % i)))
	x = r.reply()
	t = time.monotonic()
	check(x.is_(250), "queued (%r)" % x)
	r.quit()
	return t


def run():
	with H.Sluice("delivery_notify", workers=1) as s:
		sock, path = listen(s, "test.sock")
		with contextlib.closing(s.mail_db()) as db:
			inbox = None
			worst = 0.0
			for i in range(ROUNDS):
				t0 = send_one(s, i)
				data = sock.recv(4096)
				dt = time.monotonic() - t0
				worst = max(worst, dt)
				mid, owner = data.decode().split("\n")[0].split(" ", 1)
				check_eq(owner, "alice@example.org", "the datagram names "
				    "the owner")
				inbox = inbox or db.execute("SELECT id FROM mailboxes "
				    "WHERE owner = ? AND name = 'INBOX'",
				    (owner,)).fetchone()[0]
				check_eq(int(mid), inbox, "and alice's INBOX")
				n = db.execute("SELECT count(*) FROM messages m JOIN "
				    "body_info i ON i.body_id = m.body_id WHERE "
				    "m.mailbox_id = ? AND i.subject = ?",
				    (inbox, "notify %d" % i)).fetchone()[0]
				check_eq(n, 1, "message %d is in mail.db when the "
				    "notification arrives" % i)
		print("# worst notification latency %.3fs over %d messages" %
		    (worst, ROUNDS), flush=True)
		check(worst < LIMIT, "notified within %.1fs (worst %.3fs)" %
		    (LIMIT, worst))
		# A listener gone away: its socket is cleaned up.
		sock.close()
		send_one(s, ROUNDS)
		for _ in range(100):
			if not os.path.exists(path):
				break
			time.sleep(0.05)
		check(not os.path.exists(path), "a dead listener's socket is "
		    "removed")


if __name__ == "__main__":
	H.main(run)
