#!/usr/bin/env python3
"""A smarthost with implicit TLS (RFC 8314, like port 465), end to end on
loopback: the relays' names are in a signed zone of the private DNS world
(tests/world/world.py), each relay is an implicit-TLS sink
(tests/world/sink.py) with AUTH, and sluice.conf's smtp_client_ca_file is
a private CA made here with openssl.

- relay_default `good` (policy verify, AUTH from a mode-0600 file): the
  certificate is the CA's, for the relay's name. The sink gets the
  message over TLS from the first byte, with SNI and the AUTH user;
  queue.db says relayed, with the relay as the MX and the TLS version and
  cipher the sink saw.
- `selfsigned` and `wrongname` (policy verify): a self-signed certificate,
  and one of the CA's for another name. Not one SMTP command goes over
  the connection (no EHLO, no AUTH, no MAIL); the recipient is deferred
  with status 4.7.5 and a reason that names the certificate, and the
  message stays queued.
- `lax` (policy encrypt): the same self-signed certificate is taken, and
  the message relayed.

The password never appears in the daemon's log."""
import base64
import contextlib
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "world"))
import sluice_harness as H
from sluice_harness import check, check_eq
import world
from sink import Sink
from remote_lib import attempts, free_port_everywhere, wait_state
import remote_lib

RELAY_USER = "relay-user"
RELAY_PASS = "s3cret relay pass"
# Sink addresses and the names that resolve to them (isp.test, signed).
GOOD, SELFSIGNED, WRONGNAME, LAX = ("127.0.0.40", "127.0.0.41",
    "127.0.0.42", "127.0.0.43")
HOSTS = {GOOD: "relay.isp.test", SELFSIGNED: "selfsigned.isp.test",
    WRONGNAME: "wrongname.isp.test", LAX: "lax.isp.test"}


def openssl(*args):
	subprocess.run(["openssl"] + list(args), check=True,
	    capture_output=True, timeout=60)


def make_ca(d):
	"""A private CA: (cert, key) paths."""
	cert, key = os.path.join(d, "ca.pem"), os.path.join(d, "ca-key.pem")
	openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
	    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
	    cert, "-days", "2", "-subj", "/CN=Sluice Test CA",
	    "-addext", "basicConstraints=critical,CA:TRUE",
	    "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	return cert, key


def issue(d, ca, name, serial):
	"""A server certificate for name, signed by the CA: (cert, key)."""
	cert = os.path.join(d, "%s.pem" % name)
	key = os.path.join(d, "%s-key.pem" % name)
	csr = os.path.join(d, "%s.csr" % name)
	ext = os.path.join(d, "%s.ext" % name)
	with open(ext, "w") as f:
		f.write("basicConstraints = critical, CA:FALSE\n"
		    "keyUsage = critical, digitalSignature\n"
		    "extendedKeyUsage = serverAuth\n"
		    "subjectAltName = DNS:%s\n" % name)
	openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
	    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
	    csr, "-subj", "/CN=" + name)
	openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
	    "-set_serial", str(serial), "-days", "2", "-extfile", ext,
	    "-out", cert)
	return cert, key


def self_signed(d, name):
	cert = os.path.join(d, "self-%s.pem" % name)
	key = os.path.join(d, "self-%s-key.pem" % name)
	openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
	    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
	    cert, "-days", "2", "-subj", "/CN=" + name,
	    "-addext", "subjectAltName=DNS:" + name)
	return cert, key


def check_chain(ca, cert, name, want_ok):
	"""The test's own certificates are what they should be (openssl
	verify), so that a result below is the product's."""
	r = subprocess.run(["openssl", "verify", "-CAfile", ca, "-verify_hostname",
	    name, cert], capture_output=True, timeout=60)
	check_eq(r.returncode == 0, want_ok, "openssl verify of %s for %s" %
	    (os.path.basename(cert), name))


def auth_file(d):
	"""The relay credentials, mode 0600, owned by whoever runs the test
	(root in CI): the queue worker reads them before it drops its
	privileges, so they need not be readable by the daemon's user."""
	path = os.path.join(d, "isp.auth")
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
	with os.fdopen(fd, "w") as f:
		f.write("%s\n%s\n" % (RELAY_USER, RELAY_PASS))
	return path


def send(s, rcpt, subject):
	return remote_lib.send(s, [rcpt], subject, "smarthost TLS test\r\n")


def wait_closed(sink, timeout=10):
	"""Every connection the sink saw has ended (bounded)."""
	for _ in range(int(timeout * 20)):
		conns = sink.sessions()
		if conns and all(c.closed is not None for c in conns):
			return conns
		time.sleep(0.05)
	raise H.TestFailure("sink %s: connections still open: %r" %
	    (sink.host, sink.sessions()))


def good_relay(s, sinks, port):
	"""(a) The CA's certificate for the relay's name: relayed."""
	rcpt = "dora@far.example"
	qid, body = send(s, rcpt, "implicit TLS, good certificate")
	st = wait_state(s, qid, rcpt, ("relayed",))
	check(st[1].startswith("2."), "good relay: status %r" % (st,))
	sink = sinks[GOOD]
	m = sink.wait_messages(1, 10)[-1]
	check_eq(m.recipients, [rcpt], "good relay: the sink got the "
	    "recipient")
	check(m.data.endswith(body), "good relay: the body arrived whole")
	check(m.tls is not None and m.tls.implicit, "good relay: over TLS "
	    "from the first byte (%r)" % (m.tls,))
	check(m.tls.version in ("TLSv1.3", "TLSv1.2"), "good relay: TLS "
	    "1.2 or later (%s)" % m.tls.version)
	check_eq(m.tls.sni, HOSTS[GOOD], "good relay: SNI is the relay's name")
	check_eq(m.auth_user, RELAY_USER, "good relay: logged in as the "
	    "auth file's user")
	conn = [c for c in sink.sessions() if c.number == m.connection][0]
	check_eq([(u, ok) for _, u, ok in conn.auth_attempts],
	    [(RELAY_USER, True)], "good relay: one AUTH, accepted")
	check_eq(conn.starttls_leftover, b"", "good relay: no STARTTLS")
	a = attempts(s, qid, rcpt)[-1]
	check_eq((a["result"], a["mx"], a["ip"], a["port"]),
	    ("relayed", HOSTS[GOOD], GOOD, port),
	    "good relay: the attempt names the relay (result, mx, ip, port)")
	check_eq((a["tls_version"], a["tls_cipher"]),
	    (m.tls.version, m.tls.cipher), "good relay: the attempt records "
	    "the TLS version and cipher the relay saw")
	check_eq(a["dane"], "none", "good relay: no DANE")
	check(m.queue_id in (a["reply"] or ""), "good relay: the attempt keeps "
	    "the relay's reply (%r)" % a["reply"])
	return qid


def bad_relay(s, sinks, which, rcpt, why_re):
	"""(b) A certificate that fails verify: not one SMTP command."""
	what = "%s relay" % HOSTS[which]
	mark = len(s.log())
	qid, _ = send(s, rcpt, "implicit TLS, bad certificate of %s" %
	    HOSTS[which])
	st = wait_state(s, qid, rcpt, ("deferred",))
	check_eq(st[1], "4.7.5", "%s: deferred 4.7.5, a cryptographic "
	    "failure (%r)" % (what, st))
	check(re.search(why_re, st[2] or ""), "%s: the diagnostic says why "
	    "(%r)" % (what, st[2]))
	a = attempts(s, qid, rcpt)[-1]
	check_eq((a["result"], a["mx"], a["ip"]), ("deferred",
	    HOSTS[sinks[which].host], sinks[which].host), "%s: the attempt "
	    "names the relay" % what)
	check(re.search(why_re, a["reply"] or ""), "%s: so does the attempt "
	    "(%r)" % (what, a["reply"]))
	sink = sinks[which]
	conns = wait_closed(sink)
	check(len(conns) >= 1, "%s: the sink saw a connection" % what)
	for c in conns:
		check(c.tls is not None or c.tls_error is not None, "%s: "
		    "connection %d was TLS from the first byte (%r)" % (what,
		    c.number, c))
		said = [t for who, t in c.transcript if who == "C"]
		check_eq(said, [], "%s: connection %d: the client sent no SMTP "
		    "command" % (what, c.number))
		check_eq((c.helo, c.auth_attempts), (None, []), "%s: connection "
		    "%d: no EHLO, no AUTH" % (what, c.number))
	check_eq((sink.transactions(), sink.messages()), ([], []),
	    "%s: no MAIL, no message" % what)
	check(qid in s.messages(), "%s: the message is still queued" % what)
	check(s.wait_log(r"event=tls-refused peer=%s\[%s\]:\d+ reason=" %
	    (re.escape(HOSTS[sink.host]), re.escape(sink.host)), 5, mark),
	    "%s: the log says the TLS peer was refused" % what)
	return qid


def lax_relay(s, sinks):
	"""(c) policy encrypt takes the self-signed certificate."""
	rcpt = "lou@lax.example"
	qid, body = send(s, rcpt, "implicit TLS, encrypt only")
	wait_state(s, qid, rcpt, ("relayed",))
	m = sinks[LAX].wait_messages(1, 10)[-1]
	check(m.data.endswith(body) and m.recipients == [rcpt],
	    "lax relay: the sink got the message")
	check(m.tls is not None and m.tls.implicit and m.auth_user ==
	    RELAY_USER, "lax relay: over implicit TLS, with AUTH")
	a = attempts(s, qid, rcpt)[-1]
	check_eq((a["result"], a["mx"], a["tls_version"], a["tls_cipher"]),
	    ("relayed", HOSTS[LAX], m.tls.version, m.tls.cipher),
	    "lax relay: the attempt (result, mx, tls version, cipher)")
	return qid


def scenarios(s, sinks, port):
	good_relay(s, sinks, port)
	deferred = [
	    bad_relay(s, sinks, SELFSIGNED, "sam@self.example",
	        r"(?i)certificate.*(self[- ]signed|unable to get local issuer)"),
	    bad_relay(s, sinks, WRONGNAME, "wes@wrong.example",
	        r"(?i)certificate.*hostname mismatch"),
	]
	lax_relay(s, sinks)
	# The deferred ones are still there, untouched, after the rest.
	msgs = s.messages()
	for qid in deferred:
		st = list(s.rcpt_states(qid).values())
		check(qid in msgs and [x[0] for x in st] == ["deferred"],
		    "%s is still queued and deferred" % qid)
	log = s.log()
	check("event=relay-auth" not in log, "the auth file was read "
	    "without complaint")
	plain = base64.b64encode(("\0%s\0%s" % (RELAY_USER,
	    RELAY_PASS)).encode()).decode()
	check(RELAY_PASS not in log and plain not in log and
	    base64.b64encode(RELAY_PASS.encode()).decode() not in log,
	    "the relay password is not in the log")
	s.verify_queue()


def run():
	with world.World(tmpdir=None) as w:
		ca = make_ca(w.dir)
		certs = {GOOD: issue(w.dir, ca, HOSTS[GOOD], 1),
		    WRONGNAME: issue(w.dir, ca, "other.isp.test", 2),
		    SELFSIGNED: self_signed(w.dir, HOSTS[SELFSIGNED])}
		certs[LAX] = certs[SELFSIGNED]
		check_chain(ca[0], certs[GOOD][0], HOSTS[GOOD], True)
		check_chain(ca[0], certs[SELFSIGNED][0], HOSTS[SELFSIGNED], False)
		check_chain(ca[0], certs[WRONGNAME][0], HOSTS[WRONGNAME], False)
		w.add_zone("isp.test", ["%s A %s" % (h.split(".")[0], a) for a, h
		    in sorted(HOSTS.items())])
		w.start()
		# sluiced's workers run as nobody when the test is root.
		os.chmod(w.dir, 0o755)
		os.chmod(w.trust_anchor_path, 0o644)
		os.chmod(ca[0], 0o644)
		secret = auth_file(w.dir)
		port = free_port_everywhere(sorted(HOSTS))
		with contextlib.ExitStack() as stack:
			sinks = {}
			for a in sorted(HOSTS):
				sinks[a] = stack.enter_context(Sink(host=a, port=port,
				    name=HOSTS[a], tls_cert=certs[a][0],
				    tls_key=certs[a][1], implicit_tls=True,
				    starttls="none", auth={RELAY_USER: RELAY_PASS},
				    require_auth=True, auth_tls_only=True))
			relay = "%%s %%s:%d tls=implicit auth=%s policy=%%s" % (
			    port, secret)
			conf = remote_lib.world_conf(w, port)
			conf.update({
			    "smtp_client_ca_file": ca[0],
			    "relay": [
			        relay % ("good", HOSTS[GOOD], "verify"),
			        relay % ("selfsigned", HOSTS[SELFSIGNED], "verify"),
			        relay % ("wrongname", HOSTS[WRONGNAME], "verify"),
			        relay % ("lax", HOSTS[LAX], "encrypt")],
			    "relay_default": "good",
			    "relay_domains": "self.example=selfsigned, "
			        "wrong.example=wrongname, lax.example=lax",
			})
			with H.Sluice("delivery_smarthost_tls", extra_conf=conf,
			    workers=1) as s:
				scenarios(s, sinks, port)


if __name__ == "__main__":
	H.main(run)
