"""Shared by the remote delivery tests (delivery_remote.py,
delivery_smarthost_tls.py, delivery_hostile.py): sending through
submission, waiting for a recipient's state, reading its attempts, and a
port free on every sink address. Not a test by itself."""
import contextlib
import socket
import subprocess
import os
import time

import sluice_harness as H


def make_cert(dirname, hosts, cn=None):
	"""A self-signed EC certificate for hosts (subjectAltName)."""
	cert = os.path.join(dirname, "mx-cert.pem")
	key = os.path.join(dirname, "mx-key.pem")
	san = ",".join("DNS:" + h for h in hosts)
	subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
	    key, "-out", cert, "-days", "2", "-subj", "/CN=%s" % (cn or
	    hosts[0]), "-addext", "subjectAltName=" + san], check=True,
	    capture_output=True, timeout=60)
	return cert, key


def free_port_everywhere(addrs):
	"""A port free on every address (bounded tries)."""
	for _ in range(50):
		p = H.free_port()
		ok = True
		for a in addrs:
			s = socket.socket()
			try:
				s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
				s.bind((a, p))
			except OSError:
				ok = False
			finally:
				s.close()
		if ok:
			return p
	raise H.TestFailure("no port free on every sink address")


def world_conf(w, port):
	"""sluice.conf keys for delivering into world w (resolver stubbed to
	its nsd, its trust anchor) with sinks on port."""
	return {
	    # Zone names without their final dot, as sluice.conf writes them.
	    "dns_stub_zones": [z if z.startswith(".=") else
	        z.replace(".=", "=", 1) for z in w.stubs],
	    "dns_trust_anchor": w.trust_anchor_path,
	    "dns_timeout": "5s",
	    "remote_port": str(port),
	    "smtp_client_connect_timeout": "3s",
	}


def attempts(s, qid, rcpt):
	"""queue.db's attempts for one recipient, oldest first."""
	with contextlib.closing(s.db()) as db:
		return [dict(r) for r in db.execute("SELECT a.* FROM attempts a "
		    "JOIN recipients r ON r.id = a.recipient_id WHERE "
		    "r.message_id = ? AND r.address = ? ORDER BY a.id",
		    (qid, rcpt))]


def send(s, rcpts, subject, text="remote test\r\n"):
	"""Submit one message for rcpts as the harness's user, over TLS;
	(queue id, message)."""
	r = s.raw_auth()
	body = H.message(subject, text)
	qid = H.send_mail(s, r, "submission", H.USER, rcpts, body, subject,
	    auth_user=H.USER, tls=True)
	r.quit()
	return qid, body


def wait_state(s, qid, rcpt, states, timeout=30):
	"""Wait (bounded) until rcpt is in one of states with an attempt
	recorded; its (state, status, diagnostic)."""
	for _ in range(int(timeout * 20)):
		st = s.rcpt_states(qid).get(rcpt)
		if st is not None and st[0] in states and attempts(s, qid, rcpt):
			return st
		time.sleep(0.05)
	raise H.TestFailure("%s for %s not in %s after %ds: %r" % (qid, rcpt,
	    states, timeout, s.rcpt_states(qid)))
