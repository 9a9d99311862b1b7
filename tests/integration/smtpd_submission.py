#!/usr/bin/env python3
"""sluiced submission (587, STARTTLS) and submissions (465, implicit TLS):
AUTH PLAIN and LOGIN with smtplib, AUTH refused before TLS, MAIL without
AUTH, bad passwords and the throttle, Message-ID and Date added; then
queue.db holds exactly the accepted messages, byte-exact."""
import base64
import os
import smtplib
import socket
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_harness as H
from sluice_harness import check, check_eq

MAX_FAILURES = 3


def b64(s):
	return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def ehlo_keywords(reply):
	return [l.split()[0].upper() for l in reply.lines[1:]]


def smtplib_send(s, smtp, sender, rcpts, body):
	code, _ = smtp.mail(sender)
	check_eq(code, 250, "smtplib MAIL")
	for r in rcpts:
		code, _ = smtp.rcpt(r)
		check_eq(code, 250, "smtplib RCPT %s" % r)
	code, text = smtp.data(body)
	return H.Reply(code, [text.decode()])


def test_before_tls(s):
	r = s.raw("submission")
	e = r.cmd("EHLO client.example")
	kw = ehlo_keywords(e)
	check("STARTTLS" in kw, "587: STARTTLS offered in plaintext")
	check("AUTH" not in kw, "587: AUTH not advertised before TLS")
	for k in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
	    "CHUNKING", "DSN", "SIZE"):
		check(k in kw, "587: EHLO advertises %s" % k)
	a = r.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (H.USER, H.PASSWORD)))
	check(a.is_(538, "5.7.11"), "AUTH before TLS refused 538 5.7.11 "
	    "(RFC 4954 6) (%r)" % a)
	m = r.cmd("MAIL FROM:<alice@example.org>")
	check(m.is_(530, "5.7.0"), "MAIL without AUTH in plaintext: 530 5.7.0 "
	    "(%r)" % m)
	r.quit()
	check("event=auth " not in s.log(), "no successful AUTH logged yet")


def test_plain_smtplib(s):
	ctx = s.ssl_context()
	with smtplib.SMTP("127.0.0.1", s.ports["submission"],
	    local_hostname="client.example", timeout=H.IO_TIMEOUT) as smtp:
		smtp.ehlo()
		smtp.starttls(context=ctx)
		smtp.ehlo()
		check("auth" in smtp.esmtp_features and "PLAIN" in
		    smtp.esmtp_features["auth"].upper(), "AUTH PLAIN offered "
		    "after STARTTLS")
		check("starttls" not in smtp.esmtp_features, "STARTTLS not "
		    "offered again after TLS")
		code, _ = smtp.mail("alice@example.org")
		check_eq(code, 530, "MAIL after TLS but without AUTH: 530")
		smtp.rset()
		smtp.user, smtp.password = H.USER, H.PASSWORD
		code, text = smtp.auth("PLAIN", smtp.auth_plain)
		check_eq(code, 235, "AUTH PLAIN with initial response: 235")
		again = smtp.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (H.USER,
		    H.PASSWORD)))
		check_eq(again[0], 503, "second AUTH: 503")
		body = H.message("plain over starttls", "Line one.\r\n"
		    ".dot at the start\r\n..two dots\r\n.\r\n")
		rcpts = ["someone@foreign.example", "team@example.org"]
		rep = smtplib_send(s, smtp, "alice@example.org", rcpts, body)
		s.accepted(rep, "submission", "alice@example.org", rcpts, body,
		    auth_user=H.USER, tls=True, helo="client.example")
		check(True, "message over 587 STARTTLS + AUTH PLAIN queued")


def test_login_smtplib(s):
	ctx = s.ssl_context()
	with smtplib.SMTP("127.0.0.1", s.ports["submission"],
	    local_hostname="client.example", timeout=H.IO_TIMEOUT) as smtp:
		smtp.starttls(context=ctx)
		smtp.ehlo()
		smtp.user, smtp.password = "Alice@Example.ORG", H.PASSWORD
		code, _ = smtp.auth("LOGIN", smtp.auth_login,
		    initial_response_ok=False)
		check_eq(code, 235, "AUTH LOGIN (334 user, 334 password): 235, "
		    "login case-insensitive")
		# No Message-ID, no Date: RFC 6409 8 says the server adds them.
		body = (b"From: alice@example.org\r\nTo: x@foreign.example\r\n"
		    b"Subject: login\r\n\r\nbody\r\n")
		rep = smtplib_send(s, smtp, "alice@example.org",
		    ["x@foreign.example"], body)
		s.accepted(rep, "submission", "alice@example.org",
		    ["x@foreign.example"], body, auth_user=H.USER, tls=True,
		    added=("Message-ID", "Date"))
		check(True, "message over AUTH LOGIN queued")
	# LOGIN with the user in the initial response.
	with smtplib.SMTP("127.0.0.1", s.ports["submission"],
	    local_hostname="client.example", timeout=H.IO_TIMEOUT) as smtp:
		smtp.starttls(context=ctx)
		smtp.ehlo()
		code, _ = smtp.docmd("AUTH", "LOGIN " + b64(H.USER))
		check_eq(code, 334, "AUTH LOGIN with initial response: 334")
		code, _ = smtp.docmd(b64(H.PASSWORD))
		check_eq(code, 235, "AUTH LOGIN with initial response: 235")
	# PLAIN without an initial response: 334 and an empty challenge.
	r = s.raw_tls("submission")
	c = r.cmd("AUTH PLAIN")
	check(c.code == 334 and c.lines == [""], "AUTH PLAIN: 334 empty "
	    "challenge (%r)" % c)
	a = r.cmd(b64("\0%s\0%s" % (H.USER, H.PASSWORD)))
	check(a.is_(235, "2.7.0"), "AUTH PLAIN continuation: 235 2.7.0")
	r.quit()
	# "*" cancels an exchange, and it is not a failure.
	r = s.raw_tls("submission")
	check_eq(r.cmd("AUTH LOGIN").code, 334, "AUTH LOGIN: 334")
	c = r.cmd("*")
	check(c.is_(501, "5.0.0"), "'*' cancels AUTH: 501 5.0.0 (%r)" % c)
	r.quit()


def test_implicit_tls(s):
	ctx = s.ssl_context()
	with smtplib.SMTP_SSL("127.0.0.1", s.ports["submissions"],
	    local_hostname="client.example", context=ctx,
	    timeout=H.IO_TIMEOUT) as smtp:
		code, _ = smtp.ehlo()
		check_eq(code, 250, "465: EHLO over implicit TLS")
		check("starttls" not in smtp.esmtp_features, "465: no STARTTLS")
		check("auth" in smtp.esmtp_features, "465: AUTH offered")
		check(smtp.sock.version() in ("TLSv1.2", "TLSv1.3"), "465: TLS "
		    "1.2 or later (%s)" % smtp.sock.version())
		smtp.login(H.USER, H.PASSWORD)
		check(True, "465: login")
		body = H.message("implicit tls", "Over port 465.\r\n")
		rep = smtplib_send(s, smtp, "alice@example.org",
		    ["bob@partner.example"], body)
		s.accepted(rep, "submissions", "alice@example.org",
		    ["bob@partner.example"], body, auth_user=H.USER, tls=True)
		check(True, "465: message queued")
	# A TLS 1.1 client is refused (TLS 1.2 minimum).
	old = H.ssl.SSLContext(H.ssl.PROTOCOL_TLS_CLIENT)
	old.load_verify_locations(s.cert)
	try:
		old.minimum_version = H.ssl.TLSVersion.TLSv1_1
		old.maximum_version = H.ssl.TLSVersion.TLSv1_1
		old.set_ciphers("ALL:@SECLEVEL=0")
	except (ValueError, H.ssl.SSLError):
		old = None
	if old is not None:
		refused = False
		try:
			sk = socket.create_connection(("127.0.0.1",
			    s.ports["submissions"]), H.IO_TIMEOUT)
			old.wrap_socket(sk, server_hostname=H.HOSTNAME).close()
		except (H.ssl.SSLError, OSError):
			refused = True
		check(refused, "465: TLS 1.1 handshake refused")


def test_auth_plaintext(s):
	"""auth-plaintext: AUTH without TLS, on loopback listeners only."""
	r = s.raw("plainsub")
	e = r.cmd("EHLO client.example")
	check("AUTH" in ehlo_keywords(e), "auth-plaintext: AUTH advertised "
	    "without TLS")
	a = r.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (H.USER, H.PASSWORD)))
	check(a.is_(235, "2.7.0"), "auth-plaintext: AUTH PLAIN in plaintext "
	    "(%r)" % a)
	body = H.message("plaintext auth", "No TLS.\r\n")
	check_eq(r.cmd("MAIL FROM:<alice@example.org>").code, 250, "MAIL")
	check_eq(r.cmd("RCPT TO:<q@foreign.example>").code, 250, "RCPT")
	check_eq(r.cmd("DATA").code, 354, "DATA")
	r.send(H.dot_stuff(body))
	s.accepted(r.reply(), "plainsub", "alice@example.org",
	    ["q@foreign.example"], body, auth_user=H.USER)
	r.quit()
	# Anywhere but loopback the option is a configuration error.
	conf = s.path("bad.conf")
	with open(conf, "w") as f:
		f.write("listen = submission 192.0.2.1:587 auth-plaintext\n")
	r = H.subprocess.run([H.SLUICECTL, "-c", conf, "config"],
	    capture_output=True, timeout=30)
	check(r.returncode == 78 and b"auth-plaintext" in r.stderr,
	    "auth-plaintext on a public address: configuration error (%d %r)"
	    % (r.returncode, r.stderr))


def test_authzid(s):
	# PLAIN's authorisation identity must be empty or the login itself.
	r = s.raw_tls("submission")
	a = r.cmd("AUTH PLAIN " + b64("%s\0%s\0%s" % (H.USER, H.USER,
	    H.PASSWORD)))
	check(a.is_(235, "2.7.0"), "authzid equal to the login: 235 (%r)" % a)
	r.quit()
	r = s.raw_tls("submission")
	a = r.cmd("AUTH PLAIN " + b64("bob@example.org\0%s\0%s" % (H.USER,
	    H.PASSWORD)))
	check(a.is_(535, "5.7.8"), "authzid of another user: 535 5.7.8 (%r)"
	    % a)
	r.quit()


def test_bad_password_throttle(s):
	"""Failure 1 was test_authzid's. Failures are counted per client
	address: the third gets 421 4.7.0 and a disconnect."""
	r = s.raw_tls("submission")
	a = r.cmd("AUTH PLAIN " + b64("\0%s\0wrong password" % H.USER))
	check(a.is_(535, "5.7.8"), "bad password: 535 5.7.8 (%r)" % a)
	a = r.cmd("AUTH LOGIN " + b64("nosuchuser@example.org"))
	check_eq(a.code, 334, "AUTH LOGIN unknown user: 334 for the password")
	a = r.cmd(b64("whatever"))
	check(a.is_(535, "5.7.8"), "unknown user: the same 535 5.7.8 (%r)" % a)
	# That was failure number MAX_FAILURES from this address: cut off,
	# at once or at the next attempt.
	if r.closed(1.0) and not r.buf:
		check(False, "closed without a 421")
	if not r.buf:
		r.send("AUTH PLAIN " + b64("\0%s\0%s" % (H.USER, H.PASSWORD)) +
		    "\r\n")
	t = r.reply()
	check(t.is_(421, "4.7.0"), "after %d failures: 421 4.7.0 (%r)" %
	    (MAX_FAILURES, t))
	check(r.closed(), "and disconnected")
	r.close()
	# A new connection from the same address with the right password is
	# refused too while the window lasts, on every listener.
	r = s.raw_tls("submissions")
	a = r.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (H.USER, H.PASSWORD)))
	check(a.is_(421, "4.7.0"), "throttled address, right password: "
	    "421 4.7.0 (%r)" % a)
	check(r.closed(), "and disconnected")
	r.close()
	log = s.log()
	fails = [l for l in log.splitlines() if "event=auth-failed" in l]
	check_eq(len(fails), MAX_FAILURES, "one auth-failed log line per "
	    "failure")
	check(all("client=127.0.0.1" in l for l in fails), "auth-failed lines "
	    "name the client address")
	check(H.PASSWORD not in log and "wrong password" not in log,
	    "no password in the log")


def run():
	with H.Sluice("smtpd_submission", workers=1, plain_submission=True,
	    extra_conf={
	    "auth_max_failures": MAX_FAILURES,
	    "auth_failure_window": "10m"}) as s:
		test_before_tls(s)
		test_plain_smtplib(s)
		test_login_smtplib(s)
		test_implicit_tls(s)
		test_auth_plaintext(s)
		test_authzid(s)
		test_bad_password_throttle(s)
		s.verify_queue()


H.main(run)
