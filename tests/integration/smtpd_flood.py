#!/usr/bin/env python3
"""sluiced under a client that sends commands without ever reading the
replies, in plaintext and inside STARTTLS: the worker stops reading once
its reply buffers are full, so its memory stays bounded, and other
sessions are still served meanwhile."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check

CHUNK = b"EHLO flood.example\r\n" * 2000		# 40 KB a write
MAX_BYTES = 32 * 1024 * 1024			# never send more than this
RSS_LIMIT_KB = 64 * 1024			# far below what 32 MB of replies need


def rss_kb(pid):
	with open("/proc/%d/status" % pid) as f:
		for line in f:
			if line.startswith("VmRSS:"):
				return int(line.split()[1])
	return 0


def flood(sock_send, deadline):
	"""Send until the server stops taking bytes (or a bound); bytes sent."""
	sent = 0
	while sent < MAX_BYTES and time.monotonic() < deadline:
		try:
			sent += sock_send(CHUNK)
		except (socket.timeout, TimeoutError, BlockingIOError):
			break
		except OSError:
			break
	return sent


def run():
	# Under AddressSanitizer freed memory sits in a quarantine (256 MB by
	# default), which would count as growth here: keep it small.
	opts = os.environ.get("ASAN_OPTIONS", "")
	os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
	    "quarantine_size_mb=1"
	with H.Sluice("smtpd_flood", workers=1) as s:
		worker = s.worker_pids()[0]
		before = rss_kb(worker)
		plain = s.raw("mx")
		plain.sock.settimeout(2)
		sent = flood(plain.sock.send, time.monotonic() + 20)
		check(sent < MAX_BYTES, "plaintext: the server stopped reading "
		    "after %d KB" % (sent // 1024))
		tls = s.raw_tls("mx")
		tls.sock.settimeout(2)
		sent = flood(tls.sock.send, time.monotonic() + 20)
		check(sent < MAX_BYTES, "TLS: the server stopped reading after "
		    "%d KB" % (sent // 1024))
		grown = rss_kb(worker) - before
		check(grown < RSS_LIMIT_KB, "worker memory grew by %d KB only"
		    % grown)
		other = s.raw("mx")
		check(other.cmd("EHLO other.example").code == 250,
		    "another session is still served")
		other.quit()
		plain.close()
		tls.close()


H.main(run)
