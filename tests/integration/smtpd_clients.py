#!/usr/bin/env python3
"""Real SMTP clients against sluiced: swaks (submission with STARTTLS and
AUTH, implicit TLS, mx with pipelining, the local socket) and curl
(smtp:// with --ssl-reqd, smtps://, mx); each leads to exactly the
expected rows in queue.db, body byte-exact. With submission_hide_client
the Received field of submitted mail has no client address. Skips a
client that is not installed (contrib/install-deps.sh installs both)."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

CLIENT_TIMEOUT = 30


def message_file(s, name):
	"""A message file with CRLF line ends and lines starting with dots,
	which the clients must stuff and sluiced unstuff."""
	data = H.message(name, b"Sent by %s.\r\n.one dot\r\n..two dots\r\n"
	    b".\r\nlast line\r\n" % name.encode())
	path = s.path(re.sub(r"\W", "_", name) + ".eml")
	with open(path, "wb") as f:
		f.write(data)
	return path, data


def run_client(args, what):
	r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
	    timeout=CLIENT_TIMEOUT)
	out = r.stdout.decode(errors="replace") + r.stderr.decode(
	    errors="replace")
	# swaks: "<-  250" (plaintext), "<~  250" (TLS); curl: "< 250".
	ids = re.findall(r"^<[~-]? +250 2\.0\.0 Ok: queued as (\S+)", out,
	    re.M)
	if len(ids) != 1:
		print(out)
	check_eq(len(ids), 1, "%s: one 'queued as' reply" % what)
	return r.returncode, ids[0], out


def accepted(s, qid, *args, **kw):
	s.accepted(H.Reply(250, ["2.0.0 Ok: queued as %s" % qid]), *args, **kw)


def swaks(s):
	base = ["swaks", "--ehlo", "client.example", "--server", "127.0.0.1",
	    "--from", "alice@example.org"]
	auth = ["--auth-user", H.USER, "--auth-password", H.PASSWORD]
	tls = ["--tls-verify", "--tls-ca-path", s.cert, "--tls-sni",
	    H.HOSTNAME]

	# submission: STARTTLS, AUTH PLAIN
	path, data = message_file(s, "swaks starttls")
	rc, qid, out = run_client(base + ["--port", str(s.ports["submission"]),
	    "--to", "x@foreign.example", "--tls", "--auth", "PLAIN",
	    "--data", "@" + path] + auth + tls, "swaks 587 STARTTLS AUTH PLAIN")
	check("235 2.7.0" in out, "swaks 587: authenticated")
	# swaks appends CRLF "." CRLF to the data whatever its end.
	accepted(s, qid, "submission", "alice@example.org",
	    ["x@foreign.example"], data + b"\r\n", auth_user=H.USER, tls=True)
	# (Exit status 6 here was the 221 lost after STARTTLS.)
	check_eq(rc, 0, "swaks 587: exit status 0")

	# submissions: implicit TLS, AUTH LOGIN
	path, data = message_file(s, "swaks implicit tls")
	rc, qid, out = run_client(base + ["--port",
	    str(s.ports["submissions"]), "--to", "y@" + H.RELAY_DOMAIN,
	    "--tls-on-connect", "--auth", "LOGIN", "--data", "@" + path] +
	    auth + tls, "swaks 465 AUTH LOGIN")
	check_eq(rc, 0, "swaks 465: exit status 0")
	accepted(s, qid, "submissions", "alice@example.org",
	    ["y@" + H.RELAY_DOMAIN], data + b"\r\n", auth_user=H.USER,
	    tls=True)

	# mx: plaintext, pipelined, two recipients
	path, data = message_file(s, "swaks mx")
	rc, qid, out = run_client(["swaks", "--ehlo", "client.example",
	    "--server", "127.0.0.1", "--port", str(s.ports["mx"]), "--from",
	    "sender@remote.example", "--to", "alice@example.org,team@example.org",
	    "--pipeline", "--data", "@" + path], "swaks 25 pipelined")
	check_eq(rc, 0, "swaks 25: exit status 0")
	accepted(s, qid, "mx", "sender@remote.example",
	    ["alice@example.org", "team@example.org"], data + b"\r\n")

	# mx: a refused recipient, nothing queued
	rc = subprocess.run(["swaks", "--ehlo", "client.example", "--server",
	    "127.0.0.1", "--port", str(s.ports["mx"]), "--from",
	    "sender@remote.example", "--to", "nosuch@example.org"],
	    stdin=subprocess.DEVNULL, capture_output=True,
	    timeout=CLIENT_TIMEOUT)
	check("550 5.1.1" in rc.stdout.decode() and rc.returncode != 0,
	    "swaks 25 to an unknown user: 550 5.1.1, swaks fails")

	# the local socket, as sluice-sendmail will use it
	path, data = message_file(s, "swaks local")
	rc, qid, out = run_client(["swaks", "--ehlo", "localhost", "--socket",
	    s.sock_path, "--from", "root@" + H.HOSTNAME, "--to",
	    "z@foreign.example", "--data", "@" + path], "swaks local socket")
	check_eq(rc, 0, "swaks local: exit status 0")
	accepted(s, qid, "local", "root@" + H.HOSTNAME, ["z@foreign.example"],
	    data + b"\r\n")


def curl(s):
	base = ["curl", "--silent", "--show-error", "--verbose", "--max-time",
	    str(CLIENT_TIMEOUT), "--mail-from", "alice@example.org"]
	auth = ["-u", "%s:%s" % (H.USER, H.PASSWORD), "--cacert", s.cert]

	path, data = message_file(s, "curl starttls")
	rc, qid, out = run_client(base + ["--ssl-reqd", "smtp://127.0.0.1:%d/"
	    "client.example" % s.ports["submission"], "--mail-rcpt",
	    "a@foreign.example", "--mail-rcpt", "alice@example.org",
	    "--upload-file", path] + auth, "curl smtp:// --ssl-reqd")
	check_eq(rc, 0, "curl 587: exit status 0")
	accepted(s, qid, "submission", "alice@example.org",
	    ["a@foreign.example", "alice@example.org"], data,
	    auth_user=H.USER, tls=True)

	path, data = message_file(s, "curl smtps")
	rc, qid, out = run_client(base + ["smtps://127.0.0.1:%d/client.example"
	    % s.ports["submissions"], "--mail-rcpt", "b@foreign.example",
	    "--upload-file", path] + auth, "curl smtps://")
	check_eq(rc, 0, "curl 465: exit status 0")
	accepted(s, qid, "submissions", "alice@example.org",
	    ["b@foreign.example"], data, auth_user=H.USER, tls=True)

	path, data = message_file(s, "curl mx")
	rc, qid, out = run_client(["curl", "--silent", "--show-error",
	    "--verbose", "--max-time", str(CLIENT_TIMEOUT), "--mail-from",
	    "sender@remote.example", "smtp://127.0.0.1:%d/client.example" %
	    s.ports["mx"], "--mail-rcpt", H.ALIAS, "--upload-file", path],
	    "curl mx plaintext")
	check_eq(rc, 0, "curl 25: exit status 0")
	accepted(s, qid, "mx", "sender@remote.example", [H.ALIAS], data)

	# Without credentials submission refuses MAIL.
	path, _ = message_file(s, "curl no auth")
	r = subprocess.run(base + ["--ssl-reqd", "--cacert", s.cert,
	    "smtp://127.0.0.1:%d/client.example" % s.ports["submission"],
	    "--mail-rcpt", "c@foreign.example", "--upload-file", path],
	    stdin=subprocess.DEVNULL, capture_output=True,
	    timeout=CLIENT_TIMEOUT)
	check(r.returncode != 0 and "530 5.7.0" in r.stderr.decode(),
	    "curl 587 without -u: 530 5.7.0, curl fails")


def check_hide_client(s):
	"""submission_hide_client: the client address is left out of the
	Received field on submission listeners only."""
	for qid, e in sorted(s.expected.items()):
		first = s.body(qid).split(b"\r\n", 1)[0]
		if e.listener in ("submission", "submissions"):
			check(b"127.0.0.1" not in first and first ==
			    b"Received: from client.example", "%s: Received without "
			    "the client address (%r)" % (qid, first))
		elif e.listener == "mx":
			check(first.endswith(b"(unknown [127.0.0.1])"), "%s: mx "
			    "Received keeps the client address (%r)" % (qid, first))


def run():
	have = {c: shutil.which(c) is not None for c in ("swaks", "curl")}
	if not any(have.values()):
		H.skip("neither swaks nor curl is installed")
	with H.Sluice("smtpd_clients", extra_conf={
	    "submission_hide_client": "yes"}) as s:
		if have["swaks"]:
			swaks(s)
		else:
			print("# swaks not installed: skipped")
		if have["curl"]:
			curl(s)
		else:
			print("# curl not installed: skipped")
		s.verify_queue()
		check_hide_client(s)


H.main(run)
