"""Self-test of sink.py: run directly, `python3 tests/world/test_sink.py`.

Starts sinks on 127.0.0.1 (free ports) with a self-signed certificate made
by the openssl command line, and talks to them with smtplib (and a raw
socket for what smtplib cannot do: BDAT, pipelining, STARTTLS injection,
SNI). Every wait is bounded; every sink is stopped; the whole run is under
an alarm. Exit status 0 when every test passed.
"""

import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sink import Sink, SinkError	# noqa: E402

HOST = "127.0.0.1"
NAME = "mx1.secure.test"
TIMEOUT = 10
OVERALL_TIMEOUT = 120
BODY = (b"From: a@x.test\r\nTo: good@x.test\r\nSubject: sink test\r\n\r\n"
    b".a line with a leading dot\r\n..two dots\r\n.\r\n8bit: \xc3\xa9\r\n"
    b"last line\r\n")


class Failure(Exception):
	pass


def check(cond, what):
	if not cond:
		raise Failure(what)


def make_cert(d):
	cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
	subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
	    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + NAME,
	    "-addext", "subjectAltName=DNS:%s,IP:%s" % (NAME, HOST)],
	    check=True, timeout=30, stdout=subprocess.DEVNULL,
	    stderr=subprocess.PIPE)
	return cert, key


def client(sink):
	return smtplib.SMTP(sink.host, sink.port, local_hostname="client.test",
	    timeout=TIMEOUT)


class Raw:
	"""A raw SMTP client socket reading whole replies."""

	def __init__(self, sink):
		self.sock = socket.create_connection((sink.host, sink.port),
		    timeout=TIMEOUT)
		self.buf = b""

	def send(self, data):
		self.sock.sendall(data)

	def reply(self):
		"""(code, lines) of the next reply, or (None, []) at EOF."""
		lines = []
		for _ in range(1000):
			while b"\r\n" not in self.buf:
				chunk = self.sock.recv(65536)
				if not chunk:
					return None, lines
				self.buf += chunk
			line, self.buf = self.buf.split(b"\r\n", 1)
			lines.append(line.decode())
			if len(line) < 4 or line[3:4] == b" ":
				return int(line[:3]), lines
		raise Failure("reply too long")

	def codes(self, n):
		return [self.reply()[0] for _ in range(n)]

	def close(self):
		self.sock.close()


def test_refusals(cert, key):
	for host in ("0.0.0.0", "192.0.2.1", "localhost", "::", "10.0.0.1"):
		try:
			Sink(host=host, port=0)
		except SinkError:
			continue
		raise Failure("Sink accepted host %s" % host)
	for kw in ({"starttls": "offer"}, {"implicit_tls": True},
	    {"behaviour": {"nonsense": 1}}, {"behaviour": {"mail": "hello"}},
	    {"require_auth": True}):
		try:
			Sink(host=HOST, port=0, **kw)
		except SinkError:
			continue
		raise Failure("Sink accepted %r" % kw)
	if os.geteuid() != 0:
		try:
			Sink(host=HOST, port=25)
		except SinkError:
			pass
		else:
			raise Failure("port 25 accepted without root")


def test_plain(cert, key):
	with Sink(host=HOST, port=0, name=NAME) as s:
		check(s.port > 0, "no port")
		with client(s) as c:
			code, text = c.ehlo()
			check(code == 250 and text.startswith(NAME.encode()),
			    "EHLO %r" % text)
			for ext in ("pipelining", "size", "8bitmime", "smtputf8", "dsn",
			    "enhancedstatuscodes"):
				check(c.has_extn(ext), "no %s" % ext)
			for ext in ("chunking", "starttls", "auth"):
				check(not c.has_extn(ext), "%s advertised" % ext)
			check(c.noop()[0] == 250, "NOOP")
			check(c.rset()[0] == 250, "RSET")
			check(c.docmd("MAIL FROM:<a@x.test> FOO=1")[0] == 555,
			    "unknown MAIL parameter")
			check(c.docmd("RCPT TO:<a@x.test>")[0] == 503, "RCPT first")
			check(c.docmd("DATA")[0] == 503, "DATA first")
			check(c.docmd("FROBNICATE")[0] == 500, "unknown verb")
			check(c.docmd("MAIL FROM:a@x.test")[0] == 501, "bad MAIL")
			check(c.docmd("X" * 1200)[0] == 500, "long line")
			refused = c.sendmail("a@x.test", ["good@x.test"], BODY,
			    mail_options=["BODY=8BITMIME", "RET=HDRS", "ENVID=e1"],
			    rcpt_options=["NOTIFY=SUCCESS,FAILURE",
			    "ORCPT=rfc822;good@x.test"])
			check(refused == {}, "refused %r" % refused)
		m = s.wait_messages(1, TIMEOUT)[0]
		check(m.data == BODY, "data %r" % m.data)
		check(m.mail_from == "a@x.test", "from")
		check(m.mail_params == {"BODY": "8BITMIME", "RET": "HDRS",
		    "ENVID": "e1", "SIZE": str(len(BODY))}, "params %r" %
		    m.mail_params)
		check(m.recipients == ["good@x.test"], "rcpts")
		check(m.rcpts[0].params == {"NOTIFY": "SUCCESS,FAILURE",
		    "ORCPT": "rfc822;good@x.test"}, "rcpt params")
		check(m.tls is None and m.auth_user is None, "tls/auth")
		check(m.helo == "client.test" and m.esmtp, "helo")
		check(m.connection == 1 and s.connections == 1, "connections")
		check(not m.chunked and m.bare_lf == 0, "flags")
		check([t.outcome for t in s.transactions()] == ["rejected",
		    "accepted"], "transactions %r" % s.transactions())


def test_starttls(cert, key):
	ctx = ssl.create_default_context(cafile=cert)
	with Sink(host=HOST, port=0, name=NAME, tls_cert=cert,
	    tls_key=key) as s:
		with client(s) as c:
			c.ehlo()
			check(c.has_extn("starttls"), "STARTTLS not offered")
			check(c.docmd("MAIL FROM:<a@x.test>")[0] == 250, "MAIL plain")
			c.starttls(context=ctx)
			c.ehlo()
			check(not c.has_extn("starttls"), "STARTTLS offered twice")
			check(c.docmd("STARTTLS")[0] == 503, "second STARTTLS")
			c.sendmail("a@x.test", ["good@x.test"], BODY)
		m = s.wait_messages(1, TIMEOUT)[0]
		check(m.tls is not None, "TLS not recorded")
		check(m.tls.version in ("TLSv1.2", "TLSv1.3"), "version %r" %
		    m.tls.version)
		check(m.tls_cipher and m.tls.bits and m.tls.bits >= 128,
		    "cipher %r" % (m.tls,))
		check(not m.tls.implicit, "implicit")
		check(m.data == BODY, "data")
		check(s.transactions()[0].outcome == "aborted",
		    "transaction before STARTTLS %r" % s.transactions())
		# SNI, and plaintext pipelined after STARTTLS (discarded)
		r = Raw(s)
		try:
			check(r.reply()[0] == 220, "greeting")
			r.send(b"EHLO raw.test\r\n")
			check(r.reply()[0] == 250, "EHLO")
			r.send(b"STARTTLS\r\nRSET\r\n")
			check(r.reply()[0] == 220, "STARTTLS")
			tls = ctx.wrap_socket(r.sock, server_hostname=NAME)
			tls.sendall(b"QUIT\r\n")
			data = b""
			for _ in range(100):
				chunk = tls.recv(4096)
				if not chunk:
					break
				data += chunk
			check(data.startswith(b"221 "), "after TLS %r" % data)
			tls.close()
		finally:
			r.close()
		s.wait_connections(2, TIMEOUT)
		conn = s.sessions()[1]
		for _ in range(100):
			if conn.closed is not None:
				break
			time.sleep(0.05)
		check(conn.tls and conn.tls.sni == NAME, "SNI %r" % (conn.tls,))
		check(conn.starttls_leftover == b"RSET\r\n", "leftover %r" %
		    conn.starttls_leftover)
		check(not any(t[1] == "RSET" for t in conn.transcript),
		    "RSET after STARTTLS obeyed")


def test_auth(cert, key):
	with Sink(host=HOST, port=0, name=NAME, auth={"alice": "s3cret"},
	    require_auth=True) as s:
		with client(s) as c:
			c.ehlo()
			check(c.has_extn("auth"), "AUTH not offered")
			check(c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"],
			    "mechanisms %r" % c.esmtp_features["auth"])
			check(c.docmd("MAIL FROM:<a@x.test>")[0] == 530,
			    "MAIL before AUTH")
			try:
				c.login("alice", "wrong")
			except smtplib.SMTPAuthenticationError as e:
				check(e.smtp_code == 535, "code %r" % e.smtp_code)
			else:
				raise Failure("wrong password accepted")
			c.login("alice", "s3cret")
			c.sendmail("a@x.test", ["good@x.test"], BODY)
		with client(s) as c:
			c.ehlo()
			c.user, c.password = "alice", "s3cret"
			code, _ = c.auth("LOGIN", c.auth_login,
			    initial_response_ok=False)
			check(code == 235, "LOGIN %r" % code)
			check(c.docmd("AUTH PLAIN")[0] == 503, "second AUTH")
			c.quit()
		m = s.wait_messages(1, TIMEOUT)[0]
		check(m.auth_user == "alice", "auth user %r" % m.auth_user)
		check(m.data == BODY, "data")
		sess = s.sessions()
		check(sess[0].auth_attempts[-1] == ("PLAIN", "alice", True),
		    "attempts %r" % sess[0].auth_attempts)
		check(("PLAIN", "alice", False) in sess[0].auth_attempts,
		    "failed attempt %r" % sess[0].auth_attempts)
		check(sess[1].auth_attempts == [("LOGIN", "alice", True)],
		    "LOGIN attempts %r" % sess[1].auth_attempts)


def test_rcpt_overrides(cert, key):
	b = {"rcpt": {"bad@x.test": "550 5.1.1 no such user",
	    "Later@X.test": ["450 4.2.1 try later", None]}}
	with Sink(host=HOST, port=0, name=NAME, behaviour=b) as s:
		with client(s) as c:
			refused = c.sendmail("a@x.test", ["good@x.test", "bad@x.test"],
			    BODY)
			check(refused == {"bad@x.test": (550, b"5.1.1 no such user")},
			    "refused %r" % refused)
			try:
				c.sendmail("a@x.test", ["later@x.test"], BODY)
			except smtplib.SMTPRecipientsRefused as e:
				check(e.recipients["later@x.test"][0] == 450, "450")
			else:
				raise Failure("450 not given")
			c.sendmail("a@x.test", ["later@x.test"], BODY)
		msgs = s.wait_messages(2, TIMEOUT)
		check(msgs[0].recipients == ["good@x.test"], "rcpts %r" %
		    msgs[0].recipients)
		check(msgs[1].recipients == ["later@x.test"], "second")
		t = s.wait_transactions(3, TIMEOUT)
		check([(r.address, r.reply[:3]) for r in t[0].rcpts] ==
		    [("good@x.test", "250"), ("bad@x.test", "550")],
		    "transaction %r" % t[0])
		check([x.outcome for x in t] == ["accepted", "aborted",
		    "accepted"], "outcomes %r" % t)


def test_fail_then_accept(cert, key):
	with Sink(host=HOST, port=0, name=NAME,
	    behaviour={"fail_first": 1}) as s:
		with client(s) as c:
			try:
				c.sendmail("a@x.test", ["good@x.test"], BODY)
			except smtplib.SMTPDataError as e:
				check(e.smtp_code == 451, "code %r" % e.smtp_code)
			else:
				raise Failure("first transaction accepted")
			check(s.messages() == [], "message recorded on 451")
			c.sendmail("a@x.test", ["good@x.test"], BODY)
		s.wait_messages(1, TIMEOUT)
		t = s.transactions()
		check([x.outcome for x in t] == ["rejected", "accepted"],
		    "outcomes %r" % t)
		check(t[0].data_reply.startswith("451 4.3.0") and
		    t[0].data == BODY, "rejected transaction %r" % t[0])


def test_broken_starttls(cert, key):
	ctx = ssl.create_default_context(cafile=cert)
	for mode in ("broken", "broken-close"):
		with Sink(host=HOST, port=0, name=NAME, starttls=mode) as s:
			with client(s) as c:
				c.ehlo()
				check(c.has_extn("starttls"), "%s: not offered" % mode)
				try:
					c.starttls(context=ctx)
				except (ssl.SSLError, smtplib.SMTPException, OSError):
					pass
				else:
					raise Failure("%s: STARTTLS worked" % mode)
				try:
					c.close()
				except OSError:
					pass
			check(s.messages() == [] and s.connections == 1,
			    "%s: records" % mode)


def test_raw_bdat_pipelining(cert, key):
	with Sink(host=HOST, port=0, name=NAME,
	    extensions={"CHUNKING": True}) as s:
		r = Raw(s)
		try:
			check(r.reply()[0] == 220, "greeting")
			r.send(b"EHLO raw.test\r\n")
			code, lines = r.reply()
			check("CHUNKING" in lines[-1] or any(l[4:] == "CHUNKING"
			    for l in lines), "CHUNKING %r" % lines)
			r.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\n"
			    b"RCPT TO:<c@x.test> NOTIFY=NEVER\r\nBDAT 5\r\nhello"
			    b"BDAT 8 LAST\r\n world\r\nMAIL FROM:<d@x.test>\r\n"
			    b"RCPT TO:<e@x.test>\r\nDATA\r\n")
			check(r.codes(7) == [250] * 7, "batch")
			check(r.reply()[0] == 354, "DATA")
			r.send(b"..dot\r\n.\r\nQUIT\r\n")
			check(r.codes(2) == [250, 221], "end")
			check(r.reply()[0] is None, "not closed")
		finally:
			r.close()
		msgs = s.wait_messages(2, TIMEOUT)
		check(msgs[0].data == b"hello world\r\n" and msgs[0].chunked,
		    "BDAT %r" % msgs[0])
		check(msgs[0].rcpts[1].params == {"NOTIFY": "NEVER"}, "NOTIFY")
		check(msgs[1].data == b".dot\r\n" and not msgs[1].chunked,
		    "DATA %r" % msgs[1].data)


def test_greeting_and_drop(cert, key):
	with Sink(host=HOST, port=0, name=NAME,
	    behaviour={"greeting": "421 4.3.2 go away"}) as s:
		try:
			client(s)
		except smtplib.SMTPConnectError as e:
			check(e.smtp_code == 421, "code")
		else:
			raise Failure("421 greeting ignored")
	with Sink(host=HOST, port=0, name=NAME,
	    behaviour={"greeting": "554 5.7.1 no", "greeting_delay": 0.2}) as s:
		t0 = time.monotonic()
		try:
			client(s)
		except smtplib.SMTPConnectError as e:
			check(e.smtp_code == 554, "code")
		check(time.monotonic() - t0 >= 0.2, "greeting delay")
	with Sink(host=HOST, port=0, name=NAME,
	    behaviour={"drop_after": "RCPT", "drop_times": 1}) as s:
		with client(s) as c:
			try:
				c.sendmail("a@x.test", ["good@x.test"], BODY)
			except smtplib.SMTPServerDisconnected:
				pass
			else:
				raise Failure("not dropped")
		with client(s) as c:
			c.sendmail("a@x.test", ["good@x.test"], BODY)
		s.wait_messages(1, TIMEOUT)
		t = s.transactions()
		check([x.outcome for x in t] == ["dropped", "accepted"],
		    "outcomes %r" % t)


def test_implicit_tls_and_stop(cert, key):
	ctx = ssl.create_default_context(cafile=cert)
	s = Sink(host=HOST, port=0, name=NAME, tls_cert=cert, tls_key=key,
	    implicit_tls=True)
	s.start()
	idle = None
	try:
		with smtplib.SMTP_SSL(HOST, s.port, context=ctx,
		    timeout=TIMEOUT) as c:
			c.sendmail("a@x.test", ["good@x.test"], BODY)
		m = s.wait_messages(1, TIMEOUT)[0]
		check(m.tls and m.tls.implicit and m.data == BODY, "%r" % m.tls)
		idle = socket.create_connection((HOST, s.port), timeout=TIMEOUT)
		s.wait_connections(2, TIMEOUT)
	finally:
		t0 = time.monotonic()
		s.stop()
		took = time.monotonic() - t0
	try:
		check(took < 3, "stop took %.1fs with a client connected" % took)
		check(idle.recv(10) == b"", "idle client not disconnected")
	except ConnectionResetError:
		pass
	finally:
		idle.close()
	try:
		socket.create_connection((HOST, s.port), timeout=2).close()
	except OSError:
		pass
	else:
		raise Failure("still listening after stop()")


def read_timed(sock, want, limit):
	"""Read until want bytes came or limit seconds passed: (data, the
	time.monotonic() of each recv that returned data)."""
	data, times = b"", []
	deadline = time.monotonic() + limit
	while len(data) < want and time.monotonic() < deadline:
		sock.settimeout(max(0.05, deadline - time.monotonic()))
		try:
			chunk = sock.recv(want - len(data))
		except socket.timeout:
			break
		if not chunk:
			break
		data += chunk
		times.append(time.monotonic())
	return data, times


def wait_closed(s, n):
	for _ in range(200):
		conns = s.sessions()
		if len(conns) >= n and conns[n - 1].closed is not None:
			return conns[n - 1]
		time.sleep(0.05)
	raise Failure("connection %d not closed: %r" % (n, s.sessions()))


def test_trickle(cert, key):
	for bad in ({"EHLO": -1}, {"EHLO": 601}, {"EHLO": "x"}):
		try:
			Sink(host=HOST, port=0, behaviour={"trickle": bad})
		except (SinkError, ValueError):
			continue
		raise Failure("trickle %r accepted" % bad)
	greeting = ("220 %s ESMTP Sink\r\n" % NAME).encode()
	# Whole replies, a byte at a time, the pause between bytes.
	with Sink(host=HOST, port=0, name=NAME,
	    behaviour={"trickle": {"GREETING": 0.02, "NOOP": 0.02}}) as s:
		r = Raw(s)
		try:
			t0 = time.monotonic()
			data, times = read_timed(r.sock, len(greeting), TIMEOUT)
			check(data == greeting, "greeting %r" % data)
			check(times[-1] - t0 >= 0.02 * (len(greeting) - 1) * 0.9,
			    "greeting took %.2fs" % (times[-1] - t0))
			check(len(times) >= len(greeting) // 2, "greeting came in "
			    "%d reads" % len(times))
			r.send(b"EHLO raw.test\r\n")
			check(r.reply()[0] == 250, "EHLO not trickled")
			r.send(b"NOOP\r\n")
			want = b"250 2.0.0 Ok\r\n"
			data, times = read_timed(r.sock, len(want), TIMEOUT)
			check(data == want and len(times) > 1, "NOOP %r in %d reads"
			    % (data, len(times)))
			r.send(b"QUIT\r\n")
			check(r.reply()[0] == 221, "QUIT")
		finally:
			r.close()
		conn = wait_closed(s, 1)
		tr = conn.trickles
		check([(x.verb, x.sent, x.total, x.cut) for x in tr] ==
		    [("GREETING", len(greeting), len(greeting), False),
		    ("NOOP", len(want), len(want), False)], "trickles %r" % tr)
		check(conn.closed == "quit", "closed %r" % conn.closed)
	# The end of DATA, with smtplib: the message is taken.
	with Sink(host=HOST, port=0, name=NAME,
	    behaviour={"trickle": {".": 0.005}}) as s:
		with client(s) as c:
			c.sendmail("a@x.test", ["good@x.test"], BODY)
		m = s.wait_messages(1, TIMEOUT)[0]
		check(m.data == BODY, "data")
		conn = wait_closed(s, 1)
		check([(x.verb, x.cut) for x in conn.trickles] ==
		    [("DATA_END", False)] and conn.trickles[0].sent > 20,
		    "DATA_END trickle %r" % conn.trickles)
	# A client that gives up mid-reply: the trickle stops at once.
	with Sink(host=HOST, port=0, name=NAME,
	    behaviour={"trickle": {"GREETING": 0.3}}) as s:
		r = Raw(s)
		try:
			data, _ = read_timed(r.sock, 3, TIMEOUT)
			check(data == greeting[:3], "first bytes %r" % data)
		finally:
			r.close()
		closed_at = time.monotonic()
		conn = wait_closed(s, 1)
		tr = conn.trickles[0]
		check(tr.cut and 3 <= tr.sent < len(greeting), "cut %r" % tr)
		check(tr.ended - closed_at < 1.0, "trickle went on %.2fs after "
		    "the client closed" % (tr.ended - closed_at))
		check(conn.closed.startswith("trickle cut"), "closed %r" %
		    conn.closed)
		check(any("trickle of the GREETING reply cut" in x for _, x in
		    conn.transcript), "transcript %r" % conn.transcript)
	# stop() while a slow trickle runs: prompt, the trickle cut.
	s = Sink(host=HOST, port=0, name=NAME, tls_cert=cert, tls_key=key,
	    implicit_tls=True, behaviour={"trickle": {"GREETING": 5}})
	s.start()
	ctx = ssl.create_default_context(cafile=cert)
	tls = None
	try:
		tls = ctx.wrap_socket(socket.create_connection((HOST, s.port),
		    timeout=TIMEOUT), server_hostname=NAME)
		data, _ = read_timed(tls, 1, TIMEOUT)
		check(data == b"2", "first byte over TLS %r" % data)
	finally:
		t0 = time.monotonic()
		s.stop()
		took = time.monotonic() - t0
		if tls is not None:
			tls.close()
	check(took < 3, "stop took %.1fs during a trickle" % took)
	tr = s.sessions()[0].trickles[0]
	check(tr.cut and tr.sent == 1 and tr.ended is not None,
	    "trickle at stop %r" % tr)


TESTS = [test_refusals, test_plain, test_starttls, test_auth,
    test_rcpt_overrides, test_fail_then_accept, test_broken_starttls,
    test_raw_bdat_pipelining, test_greeting_and_drop,
    test_implicit_tls_and_stop, test_trickle]


def main():
	signal.alarm(OVERALL_TIMEOUT)
	if not shutil.which("openssl"):
		print("SKIP: no openssl")
		return 77
	d = tempfile.mkdtemp(prefix="sink-test.")
	failed = 0
	try:
		cert, key = make_cert(d)
		for t in TESTS:
			t0 = time.monotonic()
			try:
				t(cert, key)
			except Exception:	# noqa: report and go on
				failed += 1
				print("FAIL %s" % t.__name__)
				traceback.print_exc()
			else:
				print("ok   %s (%.2fs)" % (t.__name__,
				    time.monotonic() - t0))
	finally:
		shutil.rmtree(d, ignore_errors=True)
	print("%d of %d failed" % (failed, len(TESTS)) if failed else
	    "all %d passed" % len(TESTS))
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(main())
