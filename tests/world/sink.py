"""sink: a receiving SMTP server on loopback for Sluice's outbound tests.

A Sink plays a remote MX (or a smarthost) for Sluice's delivery code. It
speaks enough of RFC 5321 server side for a real MTA client: EHLO/HELO,
STARTTLS (RFC 3207, a real TLS upgrade), AUTH PLAIN and LOGIN (RFC 4954),
MAIL/RCPT with SIZE, BODY, SMTPUTF8 and DSN parameters, DATA with
dot-unstuffing, BDAT (RFC 3030, when CHUNKING is switched on), RSET, NOOP,
QUIT, pipelined input (answered in order), and a command line length
limit. Its asyncio loop runs in a background thread, so a test uses it as
a context manager:

	with Sink(host="127.0.0.2", port=2525, tls_cert=c, tls_key=k,
	    behaviour={"rcpt": {"bad@x.test": "550 5.1.1 no such user"}}) as s:
		... make Sluice deliver to 127.0.0.2:2525 ...
		m = s.wait_messages(1, timeout=20)[0]
		assert m.tls is not None and m.recipients == ["good@x.test"]

It binds only to a loopback address (127.0.0.0/8 or ::1; anything else
raises SinkError), and to a port below 1024 (25) only when running as root.
port=0 picks a free port (read it back from .port after start()).

Behaviour (a dict, changeable later with set_behaviour()); every "reply"
is a string "CODE [x.y.z] text" ("\\n" separates the lines of a multi-line
reply), a list of such strings (used in turn, one per use, the last one
repeating; None in a list means the normal reply), or a function returning
a string or None (None: the normal reply):
  greeting        reply instead of "220 NAME ESMTP"; a 421 closes the
                  connection, any other non-2xx leaves it up answering
                  "503" to everything but QUIT (RFC 5321 3.1)
  greeting_delay  seconds to wait before the greeting
  ehlo, helo      replies for EHLO / HELO (function of the argument)
  mail            reply for MAIL (function of address, params)
  rcpt            per-recipient replies: a dict {address: reply} (case
                  insensitive; key "*" for every other one), or one reply
                  for all (function of address, params)
  data_command    reply for the DATA verb itself instead of 354 (function
                  of the Transaction)
  data            reply at the end of DATA / BDAT LAST (function of the
                  Transaction)
  fail_first      fail the first N transactions (across connections)
                  with fail_reply, then behave normally
  fail_reply      default "451 4.3.0 Temporary failure, try again later"
  fail_at         where fail_first fails: "DATA_END" (default), "MAIL" or
                  "RCPT" (every RCPT of the failing transaction)
  max_rcpts       answer "452 4.5.3 Too many recipients" past N
  drop_after      a verb (EHLO, HELO, STARTTLS, AUTH, MAIL, RCPT, DATA,
                  BDAT, RSET, NOOP, QUIT, ...), "DATA_END" (after the body
                  has been read), "CONNECT" (before the greeting) or
                  "GREETING": close the connection when it is received,
                  without a reply
  drop_after_reply  True: send that command's reply first, then close
  drop_times      drop only the first N times (across connections)
  delays          {verb or "DATA_END": seconds} to wait before replying
  trickle         {verb, "GREETING" or "DATA_END": seconds}: send that
                  reply (every reply to the verb: AUTH's 334 challenges
                  too) one byte at a time, this many seconds between
                  bytes (after any delay), for testing that a client's
                  per-stage deadline is absolute and not re-armed by each
                  byte. Bounded: it stops when the client closes or the
                  sink stops (then the session ends, "trickle cut"), and
                  each byte's write waits at most idle_timeout.
                  Connection.trickles records each one.

A reply with code 421 always closes the connection after being sent.

Records (all thread-safe copies): messages() lists every accepted Message
(envelope with parameters, data bytes as received after dot-unstuffing,
TLS facts, AUTH user, connection number); transactions() lists every
Transaction (each MAIL command, accepted or not, with its outcome
"accepted", "rejected", "aborted" or "dropped"); sessions() lists every
Connection (peer, HELO, TLS, AUTH, a transcript); connections counts the
connections. wait_messages(), wait_transactions() and wait_connections()
wait, bounded, for a count. Every wait here is bounded; standard library
only.

Manual run:
	python3 tests/world/sink.py --listen 127.0.0.2:2525 [--cert C --key K]
"""

import argparse
import asyncio
import base64
import binascii
import ipaddress
import os
import re
import signal
import ssl
import sys
import threading
import time

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
IDLE_TIMEOUT = 60.0		# per read from a client
HANDSHAKE_TIMEOUT = 10.0
BROKEN_TLS_WAIT = 2.0		# "broken": wait this long for the ClientHello
DEFAULT_SIZE = 52428800
UNLIMITED_SIZE = 128 * 1024 * 1024	# hard cap on a message with "SIZE 0"
LINE_LIMIT = 1000		# command lines, CRLF included
TEXT_LINE_LIMIT = 1000		# RFC 5321 4.5.3.1.6, only counted
STREAM_LIMIT = 65536
TRANSCRIPT_LIMIT = 5000

DEFAULT_EXTENSIONS = (
	("PIPELINING", True),
	("SIZE", DEFAULT_SIZE),
	("8BITMIME", True),
	("SMTPUTF8", True),
	("DSN", True),
	("ENHANCEDSTATUSCODES", True),
	("CHUNKING", False),
	("BINARYMIME", False),
	("STARTTLS", True),	# advertised only when offered and not active
	("AUTH", True),		# advertised only when auth is configured
)

STARTTLS_MODES = ("offer", "require", "none", "refuse", "broken",
    "broken-close")

BEHAVIOUR_KEYS = ("greeting", "greeting_delay", "ehlo", "helo", "mail",
    "rcpt", "data_command", "data", "fail_first", "fail_reply", "fail_at",
    "max_rcpts", "drop_after", "drop_after_reply", "drop_times", "delays",
    "trickle")

FAIL_REPLY = "451 4.3.0 Temporary failure, try again later"

_REPLY_RE = re.compile(r"^([2-5][0-9][0-9])(?:[ -]|$)")
_ENH_RE = re.compile(r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}(?: |$)")


class SinkError(Exception):
	pass


class _Closed(Exception):
	"""End of a session (reason in args[0])."""


def _format_reply(text, strip_enhanced=False):
	"""(code, wire bytes) of a reply written as "CODE text" lines."""
	if not isinstance(text, str):
		raise SinkError("reply %r is not a string" % (text,))
	lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
	m = _REPLY_RE.match(lines[0])
	if not m:
		raise SinkError("reply %r does not start with a code" % text)
	code = m.group(1)
	out = []
	for i, line in enumerate(lines):
		if re.match(r"^[0-9]{3}(?:[ -]|$)", line):
			line = line[4:]
		if strip_enhanced:
			line = _ENH_RE.sub("", line)
		if "\r" in line:
			raise SinkError("reply %r contains a CR" % text)
		out.append(code + ("-" if i < len(lines) - 1 else " ") + line)
	return code, ("\r\n".join(out) + "\r\n").encode("utf-8")


def _check_spec(key, spec):
	if spec is None or callable(spec):
		return spec
	if isinstance(spec, str):
		_format_reply(spec)
		return spec
	if isinstance(spec, (list, tuple)):
		if not spec:
			raise SinkError("behaviour %s: empty list" % key)
		for s in spec:
			if s is not None:
				_check_spec(key, s)
		return list(spec)
	raise SinkError("behaviour %s: bad reply %r" % (key, spec))


def _verb_name(v):
	v = str(v).strip().upper()
	return "DATA_END" if v in (".", "DATA-END", "END") else v


def _check_behaviour(b):
	if b is None:
		return {}
	if not isinstance(b, dict):
		raise SinkError("behaviour must be a dict")
	out = {}
	for key, val in b.items():
		if key not in BEHAVIOUR_KEYS:
			raise SinkError("unknown behaviour %r" % (key,))
		if key in ("greeting", "ehlo", "helo", "mail", "data_command",
		    "data", "fail_reply"):
			val = _check_spec(key, val)
		elif key == "rcpt":
			if isinstance(val, dict):
				val = {str(k).strip().strip("<>").lower():
				    _check_spec("rcpt", v) for k, v in val.items()}
			else:
				val = _check_spec(key, val)
		elif key in ("greeting_delay",):
			val = float(val or 0)
			if val < 0 or val > 600:
				raise SinkError("%s out of range" % key)
		elif key in ("fail_first", "max_rcpts", "drop_times"):
			if val is not None:
				val = int(val)
				if val < 0:
					raise SinkError("%s < 0" % key)
		elif key == "fail_at":
			val = _verb_name(val)
			if val not in ("MAIL", "RCPT", "DATA_END"):
				raise SinkError("fail_at must be MAIL, RCPT or DATA_END")
		elif key == "drop_after":
			val = _verb_name(val) if val is not None else None
		elif key == "drop_after_reply":
			val = bool(val)
		elif key in ("delays", "trickle"):
			d = {}
			for k, v in (val or {}).items():
				v = float(v)
				if v < 0 or v > 600:
					raise SinkError("%s for %s out of range" % (key, k))
				d[_verb_name(k)] = v
			val = d
		out[key] = val
	return out


def _check_extensions(ext):
	table = dict(DEFAULT_EXTENSIONS)
	if ext is None:
		return table
	if isinstance(ext, dict):
		for k, v in ext.items():
			k = str(k).upper()
			if k == "SIZE" and v is True:
				v = DEFAULT_SIZE
			table[k] = v
		return table
	if isinstance(ext, str):
		ext = ext.split()
	names = {str(k).upper() for k in ext}
	for k in table:
		if k in ("STARTTLS", "AUTH"):
			continue
		if k not in names:
			table[k] = False
	for k in names:
		if table.get(k) in (None, False):
			table[k] = DEFAULT_SIZE if k == "SIZE" else True
	return table


def _check_host(host):
	try:
		ip = ipaddress.ip_address(str(host).strip("[]"))
	except ValueError:
		raise SinkError("sink host %r is not an IP address" % (host,))
	if ip.version == 4 and ip.is_loopback:
		return str(ip)
	if ip.version == 6 and ip == ipaddress.ip_address("::1"):
		return str(ip)
	raise SinkError("sink host %s is not a loopback address "
	    "(127.0.0.0/8 or ::1)" % ip)


class TLSInfo:
	"""TLS facts of a connection: version ("TLSv1.3"), cipher, bits, sni
	(the server name the client sent, or None), implicit (TLS from the
	first byte rather than STARTTLS)."""

	__slots__ = ("version", "cipher", "bits", "sni", "implicit")

	def __init__(self, version, cipher, bits, sni, implicit):
		self.version = version
		self.cipher = cipher
		self.bits = bits
		self.sni = sni
		self.implicit = implicit

	def __repr__(self):
		return "TLSInfo(%s, %s, sni=%r%s)" % (self.version, self.cipher,
		    self.sni, ", implicit" if self.implicit else "")


class Rcpt:
	"""One RCPT TO: address, params (dict, upper-case keys, value str or
	True), reply (the reply sent), accepted (2xx)."""

	__slots__ = ("address", "params", "reply")

	def __init__(self, address, params, reply):
		self.address = address
		self.params = params
		self.reply = reply

	@property
	def accepted(self):
		return self.reply.startswith("2")

	def __repr__(self):
		return "Rcpt(%r, %r, %r)" % (self.address, self.params, self.reply)


class Message:
	"""An accepted message. Attributes: queue_id, connection (number,
	from 1), peer, helo, esmtp, mail_from, mail_params (dict), rcpts (the
	accepted Rcpt list), data (bytes, after dot-unstuffing, CRLFs as
	received), chunked (came by BDAT), tls (TLSInfo or None), auth_user,
	bare_lf / bare_cr / long_lines (counts of odd lines in DATA),
	received (time.time())."""

	def __init__(self, **kw):
		self.__dict__.update(kw)

	@property
	def recipients(self):
		return [r.address for r in self.rcpts]

	@property
	def tls_version(self):
		return self.tls.version if self.tls else None

	@property
	def tls_cipher(self):
		return self.tls.cipher if self.tls else None

	def __repr__(self):
		return ("Message(%s conn=%d from=%r to=%r %d bytes tls=%s auth=%r)"
		    % (self.queue_id, self.connection, self.mail_from,
		    self.recipients, len(self.data), self.tls_version,
		    self.auth_user))


class Transaction:
	"""A MAIL command and what followed. Attributes: connection, peer,
	helo, tls, auth_user, mail_from, mail_params, mail_reply, rcpts (every
	Rcpt, with its reply), data_command_reply, data_reply, data (bytes or
	None), chunked, outcome ("accepted", "rejected", "aborted" by RSET /
	EHLO / QUIT / end of connection, "dropped" by behaviour), message (the
	Message, when accepted)."""

	def __init__(self, **kw):
		self.rcpts = []
		self.data_command_reply = None
		self.data_reply = None
		self.data = None
		self.chunked = False
		self.outcome = None
		self.message = None
		self.failing = None
		self.too_big = False
		self.__dict__.update(kw)

	@property
	def accepted_rcpts(self):
		return [r for r in self.rcpts if r.accepted]

	def __repr__(self):
		return "Transaction(conn=%d from=%r rcpts=%r %s data=%r)" % (
		    self.connection, self.mail_from,
		    [(r.address, r.reply[:3]) for r in self.rcpts], self.outcome,
		    self.data_reply)


class Trickle:
	"""A reply sent one byte at a time (behaviour "trickle"): verb, pause
	(seconds between bytes), total (bytes in the reply), sent (bytes
	written so far), started and ended (time.monotonic(); ended None
	while it runs), cut (True when the client closed, or the sink
	stopped, before the last byte)."""

	__slots__ = ("verb", "pause", "total", "sent", "started", "ended",
	    "cut")

	def __init__(self, verb, pause, total):
		self.verb = verb
		self.pause = pause
		self.total = total
		self.sent = 0
		self.started = time.monotonic()
		self.ended = None
		self.cut = False

	def __repr__(self):
		return "Trickle(%s %d/%d bytes every %gs%s)" % (self.verb,
		    self.sent, self.total, self.pause, ", cut" if self.cut else "")


class Connection:
	"""One client connection: number, peer, started, helo, esmtp, tls
	(TLSInfo once active), tls_error, starttls_leftover (bytes the client
	pipelined after STARTTLS, discarded), auth_attempts (list of (mech,
	user, ok)), auth_user, transcript (list of ("C"|"S"|"*", text)),
	trickles (list of Trickle, one per reply sent by "trickle"), closed
	(reason, None while open)."""

	def __init__(self, number, peer):
		self.number = number
		self.peer = peer
		self.started = time.time()
		self.helo = None
		self.esmtp = False
		self.tls = None
		self.tls_error = None
		self.starttls_leftover = b""
		self.auth_attempts = []
		self.auth_user = None
		self.transcript = []
		self.trickles = []
		self.closed = None

	def __repr__(self):
		return "Connection(%d %s helo=%r tls=%s closed=%r)" % (self.number,
		    self.peer, self.helo, self.tls, self.closed)


class Sink:
	"""A receiving SMTP server on a loopback address (see the module
	docstring). Constructor arguments:
	host, port       loopback address; port 0 = a free one (see .port)
	name             the server's name in the greeting and EHLO reply
	tls_cert, tls_key  PEM files for STARTTLS / implicit TLS
	ssl_context      a ready server ssl.SSLContext instead of cert/key
	starttls         "offer" (default when a certificate is given), "none"
	                 (default without), "require" (offer, and refuse MAIL
	                 before TLS with 530), "refuse" (advertise, answer
	                 454), "broken" (advertise, answer 220, then send
	                 garbage instead of a handshake and close),
	                 "broken-close" (answer 220, then just close)
	extensions       dict {KEYWORD: True/False/value} changing the EHLO
	                 defaults (PIPELINING, SIZE 52428800, 8BITMIME,
	                 SMTPUTF8, DSN, ENHANCEDSTATUSCODES on; CHUNKING and
	                 BINARYMIME off; "STARTTLS"/"AUTH": False hides them
	                 while the commands keep working; any other keyword is
	                 advertised as given), or a list of the keywords to
	                 keep on
	auth             None or {user: password}: AUTH PLAIN LOGIN
	require_auth     refuse MAIL before AUTH (530 5.7.0)
	auth_tls_only    advertise/accept AUTH only under TLS
	implicit_tls     TLS from the first byte (like port 465); a failed
	                 handshake is still a counted Connection (tls_error)
	behaviour        scripted replies, see the module docstring
	line_limit       longest command line accepted, CRLF included
	idle_timeout     seconds a client may stay silent
	on_message       function(Message) called (in the sink's thread) for
	                 each accepted message
	verbose          print the dialogue to stderr
	"""

	def __init__(self, host="127.0.0.1", port=0, name="mx1.secure.test",
	    tls_cert=None, tls_key=None, starttls=None, extensions=None,
	    auth=None, require_auth=False, implicit_tls=False, behaviour=None,
	    ssl_context=None, auth_tls_only=False, line_limit=LINE_LIMIT,
	    idle_timeout=IDLE_TIMEOUT, on_message=None, verbose=False):
		self.host = _check_host(host)
		port = int(port)
		if port < 0 or port > 65535:
			raise SinkError("bad port %d" % port)
		if 0 < port < 1024 and os.geteuid() != 0:
			raise SinkError("port %d needs root" % port)
		self.port = port
		self.name = str(name)
		if ssl_context is None and (tls_cert or tls_key):
			ssl_context = self._make_context(tls_cert,
			    tls_key or tls_cert)
		self.ssl_context = ssl_context
		if starttls is None:
			starttls = "offer" if ssl_context is not None else "none"
		if starttls not in STARTTLS_MODES:
			raise SinkError("starttls must be one of %s" %
			    ", ".join(STARTTLS_MODES))
		if starttls in ("offer", "require") and ssl_context is None:
			raise SinkError("starttls=%r needs tls_cert and tls_key" %
			    starttls)
		if implicit_tls and ssl_context is None:
			raise SinkError("implicit_tls needs tls_cert and tls_key")
		self.starttls = starttls
		self.implicit_tls = bool(implicit_tls)
		self.extensions = _check_extensions(extensions)
		if auth is not None and not isinstance(auth, dict):
			raise SinkError("auth must be None or {user: password}")
		self.auth = dict(auth) if auth else None
		self.require_auth = bool(require_auth)
		if self.require_auth and not self.auth:
			raise SinkError("require_auth needs auth")
		self.auth_tls_only = bool(auth_tls_only)
		self.line_limit = int(line_limit)
		self.idle_timeout = float(idle_timeout)
		self.on_message = on_message
		self.verbose = verbose

		self._lock = threading.Lock()
		self._cond = threading.Condition(self._lock)
		self._behaviour = _check_behaviour(behaviour)
		self._counters = {}
		self._messages = []
		self._transactions = []
		self._sessions = []
		self._connections = 0
		self._queue_seq = 0
		self._loop_errors = []

		self._thread = None
		self._loop = None
		self._ready = None
		self._start_error = None
		self._stop_event = None
		self._tasks = set()
		self._live = set()

	# -- set-up ----------------------------------------------------------

	@staticmethod
	def _make_context(cert, key):
		ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
		try:
			ctx.load_cert_chain(cert, key)
		except (OSError, ssl.SSLError) as e:
			raise SinkError("cannot load %s / %s: %s" % (cert, key, e))

		def sni(sslobj, server_name, context):
			try:
				sslobj._sink_sni = server_name
			except AttributeError:
				pass
			return None
		ctx.sni_callback = sni
		return ctx

	def __enter__(self):
		self.start()
		return self

	def __exit__(self, *exc):
		self.stop()
		return False

	@property
	def address(self):
		return (self.host, self.port)

	def start(self):
		"""Start listening; returns once the socket is bound (bounded)."""
		if self._thread is not None:
			raise SinkError("sink already started")
		self._ready = threading.Event()
		self._start_error = None
		self._thread = threading.Thread(target=self._thread_main,
		    name="sink-%s-%d" % (self.host, self.port), daemon=True)
		self._thread.start()
		if not self._ready.wait(START_TIMEOUT):
			self.stop()
			raise SinkError("sink on %s:%d did not start within %gs" % (
			    self.host, self.port, START_TIMEOUT))
		if self._start_error is not None:
			err = self._start_error
			self._thread.join(STOP_TIMEOUT)
			self._thread = None
			raise SinkError("sink cannot listen on %s:%d: %s" % (
			    self.host, self.port, err)) from err
		return self

	def stop(self):
		"""Close the listener and every connection; join the thread
		(bounded). Safe to call more than once."""
		thread, loop = self._thread, self._loop
		if thread is None:
			return
		if loop is not None and self._stop_event is not None:
			try:
				loop.call_soon_threadsafe(self._stop_event.set)
			except RuntimeError:
				pass	# loop already closed
		thread.join(STOP_TIMEOUT + 3)
		if thread.is_alive():
			sys.stderr.write("sink: thread did not stop in time\n")
		self._thread = None

	def _thread_main(self):
		loop = asyncio.new_event_loop()
		self._loop = loop
		try:
			asyncio.set_event_loop(loop)
			loop.run_until_complete(self._serve())
		except BaseException as e:	# noqa: anything, never hang start()
			if not self._ready.is_set():
				self._start_error = e
		finally:
			self._ready.set()
			try:
				loop.run_until_complete(loop.shutdown_asyncgens())
			finally:
				loop.close()

	async def _serve(self):
		loop = asyncio.get_running_loop()
		loop.set_exception_handler(self._loop_exception)
		self._stop_event = asyncio.Event()
		try:
			# implicit TLS too: the session starts it, so that a failed
			# handshake is a recorded connection which stop() can close
			server = await asyncio.start_server(self._client,
			    host=self.host, port=self.port, reuse_address=True,
			    limit=STREAM_LIMIT)
		except Exception as e:
			self._start_error = e
			self._ready.set()
			return
		self.port = server.sockets[0].getsockname()[1]
		self._ready.set()
		try:
			await self._stop_event.wait()
		finally:
			server.close()
			for sess in list(self._live):
				sess._abort()
			tasks = list(self._tasks)
			for t in tasks:
				t.cancel()
			if tasks:
				await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
			await asyncio.sleep(0.05)	# let closing transports finish
			try:
				await asyncio.wait_for(server.wait_closed(),
				    STOP_TIMEOUT)
			except (asyncio.TimeoutError, OSError):
				pass

	def _loop_exception(self, loop, context):
		msg = context.get("message", "")
		exc = context.get("exception")
		text = "%s%s" % (msg, (": %r" % exc) if exc else "")
		with self._lock:
			if len(self._loop_errors) < 1000:
				self._loop_errors.append(text)
		if self.verbose:
			sys.stderr.write("sink: loop: %s\n" % text)

	async def _client(self, reader, writer):
		task = asyncio.current_task()
		self._tasks.add(task)
		sess = None
		try:
			peer = writer.get_extra_info("peername")
			with self._cond:
				self._connections += 1
				conn = Connection(self._connections, peer)
				self._sessions.append(conn)
				self._cond.notify_all()
			sess = _Session(self, reader, writer, conn)
			self._live.add(sess)
			await sess.run()
		except asyncio.CancelledError:
			pass	# stop(): the session is closed and recorded
		finally:
			self._live.discard(sess)
			self._tasks.discard(task)

	# -- behaviour and counters (any thread) -----------------------------

	@property
	def behaviour(self):
		with self._lock:
			return dict(self._behaviour)

	def set_behaviour(self, replace=False, **changes):
		"""Change behaviour keys (replace=True: start from nothing);
		use counters of the changed keys restart from zero."""
		new = _check_behaviour(changes)
		with self._lock:
			b = {} if replace else dict(self._behaviour)
			b.update(new)
			self._behaviour = b
			if replace:
				self._counters = {}
			else:
				for k in list(self._counters):
					if k[0] in new or (k[0] == "fail" and
					    "fail_first" in new) or (k[0] == "drop"
					    and ("drop_times" in new or
					    "drop_after" in new)):
						del self._counters[k]

	def _b(self, key, default=None):
		with self._lock:
			return self._behaviour.get(key, default)

	def _take(self, key, limit):
		"""True for the first `limit` calls with key (None: always)."""
		with self._lock:
			n = self._counters.get(key, 0)
			if limit is not None and n >= limit:
				return False
			self._counters[key] = n + 1
			return True

	def _take_fail(self):
		"""True while fail_first transactions are still to fail."""
		n = self._b("fail_first")
		return bool(n) and self._take(("fail",), n)

	def _pick(self, key, spec, *args):
		"""The reply text a behaviour spec gives, or None (normal)."""
		if spec is None:
			return None
		if callable(spec):
			r = spec(*args)
			if r is not None:
				_format_reply(r)
			return r
		if isinstance(spec, list):
			with self._lock:
				n = self._counters.get(key, 0)
				self._counters[key] = n + 1
			return spec[min(n, len(spec) - 1)]
		return spec

	def _next_queue_id(self):
		with self._lock:
			self._queue_seq += 1
			return "S%06d" % self._queue_seq

	def _record_transaction(self, txn):
		with self._cond:
			self._transactions.append(txn)
			if txn.message is not None:
				self._messages.append(txn.message)
			self._cond.notify_all()
		if txn.message is not None and self.on_message is not None:
			try:
				self.on_message(txn.message)
			except Exception as e:	# noqa: a callback must not kill us
				sys.stderr.write("sink: on_message: %r\n" % e)

	# -- records (any thread) --------------------------------------------

	def messages(self):
		"""Every accepted Message so far (a new list)."""
		with self._lock:
			return list(self._messages)

	def transactions(self):
		"""Every finished Transaction so far, rejected ones included."""
		with self._lock:
			return list(self._transactions)

	def sessions(self):
		"""Every Connection so far (open ones too)."""
		with self._lock:
			return list(self._sessions)

	@property
	def connections(self):
		"""How many connections were accepted."""
		with self._lock:
			return self._connections

	@property
	def loop_errors(self):
		with self._lock:
			return list(self._loop_errors)

	def clear(self):
		"""Forget the messages, transactions and sessions recorded so far
		(the connection count and behaviour counters stay)."""
		with self._lock:
			self._messages = []
			self._transactions = []
			self._sessions = []

	def _wait_for(self, what, get, n, timeout):
		deadline = time.monotonic() + float(timeout)
		with self._cond:
			while True:
				items = get()
				if (len(items) if not isinstance(items, int)
				    else items) >= n:
					return items
				left = deadline - time.monotonic()
				if left <= 0:
					raise SinkError("waited %gs for %d %s, have %d" % (
					    timeout, n, what, len(items) if not
					    isinstance(items, int) else items))
				self._cond.wait(min(left, 1.0))

	def wait_messages(self, n=1, timeout=10.0):
		"""Wait (at most timeout seconds) until n messages were accepted;
		returns messages(), raises SinkError on timeout."""
		return self._wait_for("messages", lambda: list(self._messages), n,
		    timeout)

	def wait_transactions(self, n=1, timeout=10.0):
		return self._wait_for("transactions",
		    lambda: list(self._transactions), n, timeout)

	def wait_connections(self, n=1, timeout=10.0):
		return self._wait_for("connections", lambda: self._connections, n,
		    timeout)


def _parse_path(s):
	"""Split "<address> params" into (address, params text)."""
	s = s.lstrip(" ")
	if not s.startswith("<"):
		raise ValueError("no <")
	i, inq = 1, False
	while i < len(s):
		c = s[i]
		if inq:
			if c == "\\":
				i += 1
			elif c == '"':
				inq = False
		elif c == '"':
			inq = True
		elif c == ">":
			break
		i += 1
	else:
		raise ValueError("no >")
	addr, rest = s[1:i], s[i + 1:]
	if rest and not rest.startswith(" "):
		raise ValueError("junk after >")
	if addr.startswith("@") and ":" in addr:	# source route
		addr = addr.split(":", 1)[1]
	return addr, rest.strip(" ")


def _parse_params(rest):
	params = {}
	for tok in rest.split():
		key, eq, val = tok.partition("=")
		key = key.upper()
		if not key or key in params or (eq and val == ""):
			raise ValueError(tok)
		params[key] = val if eq else True
	return params


class _Session:
	def __init__(self, sink, reader, writer, conn):
		self.sink = sink
		self.reader = reader
		self.writer = writer
		self.conn = conn
		self.verb = "CONNECT"
		self.helo = None
		self.esmtp = False
		self.tls = None
		self.auth_user = None
		self.txn = None
		self.no_service = False
		self.ext = sink.extensions

	# -- plumbing --------------------------------------------------------

	def log(self, who, text):
		t = self.conn.transcript
		if len(t) < TRANSCRIPT_LIMIT:
			t.append((who, text))
		if self.sink.verbose:
			sys.stderr.write("sink[%d] %s: %s\n" % (self.conn.number, who,
			    text.rstrip("\r\n")))

	async def _wait(self, aw):
		try:
			result = await asyncio.wait_for(aw, self.sink.idle_timeout)
		except asyncio.TimeoutError:
			try:
				self.writer.write(b"421 4.4.2 %s Error: timeout exceeded"
				    b"\r\n" % self.sink.name.encode())
			except Exception:	# noqa
				pass
			raise _Closed("timeout")
		# Python 3.11's wait_for swallows a cancellation that comes just
		# as the awaited thing completes: do not lose it (stop()).
		task = asyncio.current_task()
		if task is not None and task.cancelling():
			raise asyncio.CancelledError()
		return result

	async def readline(self, cap):
		"""(line with its LF, overlong); at most cap bytes are kept."""
		parts, total, overlong = [], 0, False
		while True:
			done = True
			try:
				chunk = await self._wait(self.reader.readuntil(b"\n"))
			except asyncio.LimitOverrunError as e:
				chunk = await self._wait(
				    self.reader.readexactly(max(e.consumed, 1)))
				done = False
			except asyncio.IncompleteReadError as e:
				if e.partial:
					self.log("*", "EOF after partial line %r" %
					    e.partial[:200])
				raise _Closed("eof")
			if total + len(chunk) > cap:
				overlong = True
				chunk = chunk[:max(cap - total, 0)]
			parts.append(chunk)
			total += len(chunk)
			if done:
				return b"".join(parts), overlong

	def _buffered(self):
		return len(getattr(self.reader, "_buffer", b""))

	def _discard_buffered(self):
		buf = getattr(self.reader, "_buffer", None)
		if not buf:
			return b""
		data = bytes(buf)
		buf.clear()
		return data

	async def reply(self, text, default=True):
		"""Send a reply (after the behaviour's delay for this verb)."""
		strip = default and not self.ext.get("ENHANCEDSTATUSCODES")
		code, data = _format_reply(text, strip_enhanced=strip)
		delay = (self.sink._b("delays") or {}).get(self.verb)
		if delay:
			await asyncio.sleep(delay)
		self.log("S", data.decode("utf-8", "replace").rstrip("\r\n"))
		pause = (self.sink._b("trickle") or {}).get(self.verb)
		if pause is not None:
			await self._trickle(data, pause)
		else:
			self.writer.write(data)
			await self._wait(self.writer.drain())
		if code == "421":
			raise _Closed("421 sent")
		return code

	def _client_gone(self):
		"""The client closed (EOF or a broken connection)."""
		r = self.reader
		return self.writer.is_closing() or r.exception() is not None or \
		    getattr(r, "_eof", False) or r.at_eof()

	async def _trickle(self, data, pause):
		"""Write data a byte at a time, pause seconds apart, until the
		client goes (then end the session)."""
		tr = Trickle(self.verb, pause, len(data))
		self.conn.trickles.append(tr)
		try:
			for i in range(len(data)):
				if i > 0:
					# In slices, so that a client that closes is seen
					# within 50ms whatever the pause.
					until = time.monotonic() + pause
					for _ in range(int(pause / 0.05) + 2):
						left = until - time.monotonic()
						if left <= 0 or self._client_gone():
							break
						await asyncio.sleep(min(left, 0.05))
				if self._client_gone():
					break
				self.writer.write(data[i:i + 1])
				try:
					await self._wait(self.writer.drain())
				except (ConnectionError, OSError):
					break
				tr.sent = i + 1
		finally:
			tr.ended = time.monotonic()
			tr.cut = tr.sent < tr.total
		if tr.cut:
			self.log("*", "trickle of the %s reply cut after %d of %d "
			    "bytes" % (tr.verb, tr.sent, tr.total))
			raise _Closed("trickle cut: client gone")

	async def answer(self, override, normal):
		"""Reply with override if any, else with the normal reply."""
		if override is not None:
			return await self.reply(override, default=False)
		return await self.reply(normal)

	def _dropping(self, verb):
		"""True when behaviour says to close at verb without a reply."""
		b = self.sink.behaviour
		if b.get("drop_after") != verb or b.get("drop_after_reply"):
			return False
		return self.sink._take(("drop",), b.get("drop_times"))

	def _dropping_after_reply(self, verb):
		b = self.sink.behaviour
		if b.get("drop_after") != verb or not b.get("drop_after_reply"):
			return False
		return self.sink._take(("drop",), b.get("drop_times"))

	def _tls_info(self, implicit):
		obj = self.writer.get_extra_info("ssl_object")
		if obj is None:
			return None
		cipher = obj.cipher() or (None, None, None)
		return TLSInfo(obj.version(), cipher[0], cipher[2],
		    getattr(obj, "_sink_sni", None), implicit)

	def _end_txn(self, outcome):
		txn, self.txn = self.txn, None
		if txn is None:
			return
		if txn.outcome is None:
			txn.outcome = outcome
		self.sink._record_transaction(txn)

	def _abort(self):
		try:
			self.writer.transport.abort()
		except Exception:	# noqa
			pass

	# -- session ---------------------------------------------------------

	async def run(self):
		reason = "closed"
		try:
			await self._session()
		except _Closed as e:
			reason = e.args[0] if e.args else "closed"
		except asyncio.CancelledError:
			reason = "sink stopped"
			self._finish(reason)
			raise
		except (ConnectionError, ssl.SSLError, OSError) as e:
			reason = "error: %r" % e
		self._finish(reason)

	def _finish(self, reason):
		if self.conn.closed is not None:
			return
		self.conn.closed = reason
		self.log("*", "closed: %s" % reason)
		self._end_txn("dropped" if reason.startswith("dropped") else
		    "aborted")
		try:
			if reason in ("sink stopped", "timeout") or \
			    reason.startswith("dropped") or \
			    reason.startswith("error"):
				self._abort()
			else:
				self.writer.close()
		except Exception:	# noqa
			self._abort()

	async def _session(self):
		sink = self.sink
		if self._dropping("CONNECT") or self._dropping("GREETING"):
			raise _Closed("dropped at connect")
		if sink.implicit_tls:
			await self._start_tls(implicit=True)
		self.verb = "GREETING"
		delay = sink._b("greeting_delay")
		if delay:
			await asyncio.sleep(delay)
		greeting = sink._pick(("greeting",), sink._b("greeting"))
		code = await self.answer(greeting, "220 %s ESMTP Sink" % sink.name)
		if not code.startswith("2"):
			self.no_service = True
		if self._dropping_after_reply("GREETING"):
			raise _Closed("dropped after greeting")
		while True:
			line, overlong = await self.readline(sink.line_limit)
			text = line.decode("utf-8", "surrogateescape")
			if text.endswith("\r\n"):
				text = text[:-2]
			else:
				text = text[:-1] if text.endswith("\n") else text
				if not overlong:
					self.log("*", "command line without CRLF")
			self.log("C", text.encode("utf-8", "surrogateescape").decode(
			    "utf-8", "replace"))
			self.verb = "LINE"
			if overlong:
				await self.reply("500 5.5.2 Error: line too long")
				continue
			verb, _, arg = text.partition(" ")
			verb = verb.upper()
			self.verb = verb or "EMPTY"
			if self._dropping(self.verb):
				raise _Closed("dropped at %s" % self.verb)
			await self._dispatch(verb, arg)
			if self._dropping_after_reply(self.verb):
				raise _Closed("dropped after %s" % self.verb)

	async def _dispatch(self, verb, arg):
		if self.no_service and verb != "QUIT":
			await self.reply("503 5.5.1 Error: no SMTP service here")
			return
		handler = getattr(self, "cmd_" + verb, None) if verb.isalpha() \
		    else None
		if handler is None:
			if verb == "":
				await self.reply("500 5.5.2 Error: bad syntax")
			else:
				await self.reply("500 5.5.2 Error: command not "
				    "recognized")
			return
		await handler(arg)

	# -- commands --------------------------------------------------------

	def _ehlo_lines(self, arg):
		lines = ["250-%s Hello %s" % (self.sink.name, arg)]
		for key, val in self.ext.items():
			if val is None or val is False:
				continue
			if key == "STARTTLS":
				if self.sink.starttls == "none" or self.tls:
					continue
				lines.append("STARTTLS")
			elif key == "AUTH":
				if not self.sink.auth or (self.sink.auth_tls_only and
				    not self.tls):
					continue
				lines.append("AUTH " + (val if isinstance(val, str)
				    else "PLAIN LOGIN"))
			elif key == "SIZE":
				lines.append("SIZE %d" % int(val))
			elif val is True:
				lines.append(key)
			else:
				lines.append("%s %s" % (key, val))
		return "\n".join(lines)

	def _reset_helo(self, helo, esmtp):
		self._end_txn("aborted")
		self.helo = helo
		self.esmtp = esmtp
		self.conn.helo = helo
		self.conn.esmtp = esmtp

	async def cmd_EHLO(self, arg):
		arg = arg.strip()
		if not arg:
			await self.reply("501 5.5.4 Syntax: EHLO hostname")
			return
		ov = self.sink._pick(("ehlo",), self.sink._b("ehlo"), arg)
		if ov is not None:
			code = await self.reply(ov, default=False)
			if code.startswith("2"):
				self._reset_helo(arg, True)
			return
		self._reset_helo(arg, True)
		await self.reply(self._ehlo_lines(arg))

	async def cmd_HELO(self, arg):
		arg = arg.strip()
		if not arg:
			await self.reply("501 5.5.4 Syntax: HELO hostname")
			return
		ov = self.sink._pick(("helo",), self.sink._b("helo"), arg)
		if ov is not None:
			code = await self.reply(ov, default=False)
			if code.startswith("2"):
				self._reset_helo(arg, False)
			return
		self._reset_helo(arg, False)
		await self.reply("250 %s" % self.sink.name)

	async def cmd_STARTTLS(self, arg):
		mode = self.sink.starttls
		if arg.strip():
			await self.reply("501 5.5.4 Syntax: STARTTLS")
			return
		if self.tls:
			await self.reply("503 5.5.1 Error: TLS already active")
			return
		if mode == "none":
			await self.reply("502 5.5.1 Error: command not implemented")
			return
		if mode == "refuse":
			await self.reply("454 4.7.0 TLS not available due to "
			    "temporary reason")
			return
		if self.helo is None:
			await self.reply("503 5.5.1 Error: send EHLO first")
			return
		# Plaintext the client pipelined after STARTTLS must not count
		# (RFC 3207 5); then stop reading so that the ClientHello stays
		# in the socket for the TLS layer (start_tls resumes reading).
		leftover = self._discard_buffered()
		if leftover:
			self.conn.starttls_leftover += leftover
			self.log("*", "discarded %d bytes pipelined after STARTTLS"
			    % len(leftover))
		self.writer.transport.pause_reading()
		await self.reply("220 2.0.0 Ready to start TLS")
		if mode == "broken-close":
			raise _Closed("dropped: broken STARTTLS (close)")
		if mode == "broken":
			self.writer.transport.resume_reading()
			try:
				await asyncio.wait_for(self.reader.read(4096),
				    BROKEN_TLS_WAIT)
			except (asyncio.TimeoutError, OSError):
				pass
			try:
				self.writer.write(b"\x00\xff** this is not TLS **\r\n"
				    b"HTTP/1.0 400 nonsense\r\n\r\n")
				await asyncio.wait_for(self.writer.drain(), 2.0)
			except (asyncio.TimeoutError, OSError):
				pass
			self.writer.close()
			raise _Closed("broken STARTTLS (garbage)")
		await self._start_tls(implicit=False)
		self._reset_helo(None, False)
		self.auth_user = None
		self.conn.auth_user = None

	async def _start_tls(self, implicit):
		try:
			await self.writer.start_tls(self.sink.ssl_context,
			    ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
		except (ssl.SSLError, OSError, asyncio.TimeoutError,
		    ConnectionError) as e:
			self.conn.tls_error = repr(e)
			raise _Closed("dropped: TLS handshake failed: %r" % e)
		self.tls = self._tls_info(implicit=implicit)
		self.conn.tls = self.tls
		self.log("*", "TLS: %r" % (self.tls,))

	async def _challenge(self, text):
		await self.reply("334 " + text)
		line, overlong = await self.readline(max(self.sink.line_limit,
		    16384))
		resp = line.decode("ascii", "replace").rstrip("\r\n")
		self.log("C", resp)
		if overlong:
			return None
		return resp

	async def cmd_AUTH(self, arg):
		sink = self.sink
		if not sink.auth:
			await self.reply("502 5.5.1 Error: authentication not "
			    "enabled")
			return
		if not self.esmtp:
			await self.reply("503 5.5.1 Error: send EHLO first")
			return
		if self.auth_user is not None:
			await self.reply("503 5.5.1 Error: already authenticated")
			return
		if self.txn is not None:
			await self.reply("503 5.5.1 Error: MAIL transaction in "
			    "progress")
			return
		if sink.auth_tls_only and not self.tls:
			await self.reply("538 5.7.11 Encryption required for "
			    "requested authentication mechanism")
			return
		parts = arg.split()
		if not parts or len(parts) > 2:
			await self.reply("501 5.5.4 Syntax: AUTH mechanism")
			return
		mech = parts[0].upper()
		initial = parts[1] if len(parts) > 1 else None
		ext = self.ext.get("AUTH")
		mechs = ext.upper().split() if isinstance(ext, str) else \
		    ["PLAIN", "LOGIN"]
		if mech not in mechs or mech not in ("PLAIN", "LOGIN"):
			await self.reply("504 5.5.4 Unrecognized authentication type")
			return

		def b64(s):
			if s is None:
				raise ValueError("overlong")
			if s == "=":
				return b""
			return base64.b64decode(s.encode("ascii"), validate=True)

		try:
			if mech == "PLAIN":
				resp = initial if initial is not None else \
				    await self._challenge("")
				if resp == "*":
					await self.reply("501 5.7.0 Authentication aborted")
					return
				fields = b64(resp).split(b"\0")
				if len(fields) != 3:
					raise ValueError("PLAIN needs 3 fields")
				authz, user, password = (f.decode("utf-8") for f in
				    fields)
			else:
				resp = initial if initial is not None else \
				    await self._challenge("VXNlcm5hbWU6")
				if resp == "*":
					await self.reply("501 5.7.0 Authentication aborted")
					return
				user = b64(resp).decode("utf-8")
				resp = await self._challenge("UGFzc3dvcmQ6")
				if resp == "*":
					await self.reply("501 5.7.0 Authentication aborted")
					return
				password = b64(resp).decode("utf-8")
				authz = ""
		except (ValueError, binascii.Error, UnicodeDecodeError):
			await self.reply("501 5.5.2 Error: cannot decode response")
			return
		ok = sink.auth.get(user) == password and authz in ("", user)
		self.conn.auth_attempts.append((mech, user, ok))
		if not ok:
			await self.reply("535 5.7.8 Error: authentication failed")
			return
		self.auth_user = user
		self.conn.auth_user = user
		await self.reply("235 2.7.0 Authentication successful")

	def _check_mail_params(self, params):
		ext = self.ext
		for key, val in params.items():
			if key == "SIZE" and ext.get("SIZE") not in (None, False):
				if val is True or not val.isdigit():
					return "501 5.5.4 Error: bad SIZE parameter"
				limit = int(ext["SIZE"])
				if limit and int(val) > limit:
					return "552 5.3.4 Error: message size exceeds " \
					    "fixed limit"
			elif key == "BODY":
				v = val.upper() if val is not True else ""
				if v == "7BIT" or (v == "8BITMIME" and
				    ext.get("8BITMIME")) or (v == "BINARYMIME" and
				    ext.get("BINARYMIME") and ext.get("CHUNKING")):
					continue
				return "501 5.5.4 Error: bad BODY parameter"
			elif key == "SMTPUTF8" and ext.get("SMTPUTF8"):
				if val is not True:
					return "501 5.5.4 Error: SMTPUTF8 takes no value"
			elif key == "RET" and ext.get("DSN"):
				if val is True or val.upper() not in ("FULL", "HDRS"):
					return "501 5.5.4 Error: bad RET parameter"
			elif key == "ENVID" and ext.get("DSN"):
				if val is True:
					return "501 5.5.4 Error: bad ENVID parameter"
			elif key == "AUTH" and self.sink.auth:
				if val is True:
					return "501 5.5.4 Error: bad AUTH parameter"
			else:
				return "555 5.5.4 Error: unsupported option: %s" % key
		return None

	def _check_rcpt_params(self, params):
		for key, val in params.items():
			if key == "NOTIFY" and self.ext.get("DSN"):
				if val is True:
					return "501 5.5.4 Error: bad NOTIFY parameter"
				items = val.upper().split(",")
				if "NEVER" in items and len(items) > 1 or not set(
				    items) <= {"NEVER", "SUCCESS", "FAILURE", "DELAY"}:
					return "501 5.5.4 Error: bad NOTIFY parameter"
			elif key == "ORCPT" and self.ext.get("DSN"):
				if val is True or ";" not in val:
					return "501 5.5.4 Error: bad ORCPT parameter"
			else:
				return "555 5.5.4 Error: unsupported option: %s" % key
		return None

	async def cmd_MAIL(self, arg):
		sink = self.sink
		if self.helo is None:
			await self.reply("503 5.5.1 Error: send HELO/EHLO first")
			return
		if self.txn is not None:
			await self.reply("503 5.5.1 Error: nested MAIL command")
			return
		if sink.starttls == "require" and not self.tls:
			await self.reply("530 5.7.0 Must issue a STARTTLS command "
			    "first")
			return
		if sink.require_auth and self.auth_user is None:
			await self.reply("530 5.7.0 Authentication required")
			return
		if arg[:5].upper() != "FROM:":
			await self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
			return
		try:
			addr, rest = _parse_path(arg[5:])
			params = _parse_params(rest)
		except ValueError:
			await self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
			return
		if params and not self.esmtp:
			await self.reply("555 5.5.4 Error: parameters need EHLO")
			return
		self.txn = Transaction(connection=self.conn.number,
		    peer=self.conn.peer, helo=self.helo, tls=self.tls,
		    auth_user=self.auth_user, mail_from=addr, mail_params=params)
		bad, default = self._check_mail_params(params), True
		if bad is None and not addr.isascii() and \
		    "SMTPUTF8" not in params:
			bad = "553 5.6.7 Error: address needs SMTPUTF8"
		if bad is None:
			bad = sink._pick(("mail",), sink._b("mail"), addr, params)
			if bad is None and sink._b("fail_at") == "MAIL" and \
			    sink._take_fail():
				bad = sink._b("fail_reply") or FAIL_REPLY
			default = bad is None
			if bad is not None and bad.startswith("2"):
				self.txn.mail_reply = bad
				await self.reply(bad, default=False)
				return
		if bad is not None:
			self.txn.mail_reply = bad
			self.txn.outcome = "rejected"
			self._end_txn("rejected")
			await self.reply(bad, default=default)
			return
		self.txn.mail_reply = "250 2.1.0 Ok"
		await self.reply(self.txn.mail_reply)

	async def cmd_RCPT(self, arg):
		sink = self.sink
		txn = self.txn
		if txn is None:
			await self.reply("503 5.5.1 Error: need MAIL command")
			return
		if arg[:3].upper() != "TO:":
			await self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
			return
		try:
			addr, rest = _parse_path(arg[3:])
			params = _parse_params(rest)
		except ValueError:
			await self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
			return
		if not addr:
			await self.reply("501 5.1.3 Error: empty recipient address")
			return
		reply, default = self._check_rcpt_params(params), True
		if reply is None and not addr.isascii() and \
		    "SMTPUTF8" not in txn.mail_params:
			reply = "553 5.6.7 Error: address needs SMTPUTF8"
		if reply is None and txn.chunked:
			reply = "503 5.5.1 Error: RCPT after BDAT"
		limit = sink._b("max_rcpts")
		if reply is None and limit is not None and \
		    len(txn.accepted_rcpts) >= limit:
			reply = "452 4.5.3 Error: too many recipients"
		if reply is None:
			spec = sink._b("rcpt")
			key = addr.lower()
			if isinstance(spec, dict):
				if key in spec:
					reply = sink._pick(("rcpt", key), spec[key], addr,
					    params)
				elif "*" in spec:
					reply = sink._pick(("rcpt", "*"), spec["*"], addr,
					    params)
			else:
				reply = sink._pick(("rcpt",), spec, addr, params)
			default = reply is None
		if reply is None and sink._b("fail_at") == "RCPT":
			if txn.failing is None:
				txn.failing = sink._take_fail()
			if txn.failing:
				reply = sink._b("fail_reply") or FAIL_REPLY
				default = False
		if reply is None:
			reply = "250 2.1.5 Ok"
		txn.rcpts.append(Rcpt(addr, params, reply))
		await self.reply(reply, default=default)

	async def cmd_DATA(self, arg):
		sink = self.sink
		txn = self.txn
		if arg.strip():
			await self.reply("501 5.5.4 Syntax: DATA")
			return
		if txn is None:
			await self.reply("503 5.5.1 Error: need MAIL command")
			return
		if txn.chunked:
			await self.reply("503 5.5.1 Error: DATA after BDAT")
			return
		if not txn.accepted_rcpts:
			txn.data_command_reply = "554 5.5.1 Error: no valid " \
			    "recipients"
			await self.reply(txn.data_command_reply)
			return
		ov = sink._pick(("data_command",), sink._b("data_command"), txn)
		if ov is not None and not ov.startswith("3"):
			txn.data_command_reply = ov
			self._end_txn("rejected")
			await self.reply(ov, default=False)
			return
		txn.data_command_reply = ov or "354 End data with <CR><LF>.<CR><LF>"
		await self.reply(txn.data_command_reply, default=ov is None)
		limit = int(self.ext.get("SIZE") or 0) or UNLIMITED_SIZE
		body, size, too_big = [], 0, False
		bare_lf = bare_cr = long_lines = 0
		while True:
			line, overlong = await self.readline(limit + 2)
			if line == b".\r\n":
				break
			if overlong:
				too_big = True
			if not line.endswith(b"\r\n"):
				bare_lf += 1
			if b"\r" in line.rstrip(b"\r\n") or line.endswith(b"\r\r\n"):
				bare_cr += 1
			if len(line) > TEXT_LINE_LIMIT:
				long_lines += 1
			if line.startswith(b"."):
				line = line[1:]
			size += len(line)
			if size > limit:
				too_big = True
			if not too_big:
				body.append(line)
		self.log("*", "DATA: %d bytes" % size)
		await self._finish_data(b"".join(body), too_big, bare_lf=bare_lf,
		    bare_cr=bare_cr, long_lines=long_lines)

	async def cmd_BDAT(self, arg):
		txn = self.txn
		if not self.ext.get("CHUNKING"):
			await self.reply("502 5.5.1 Error: command not implemented")
			return
		parts = arg.split()
		if not parts or len(parts) > 2 or not parts[0].isdigit() or (
		    len(parts) == 2 and parts[1].upper() != "LAST"):
			await self.reply("501 5.5.4 Syntax: BDAT size [LAST]")
			return
		size, last = int(parts[0]), len(parts) == 2
		limit = int(self.ext.get("SIZE") or 0) or UNLIMITED_SIZE
		have = len(txn.data or b"") if txn is not None else 0
		keep = txn is not None and txn.accepted_rcpts and \
		    have + size <= limit
		chunks, left = [], size
		while left > 0:
			n = min(left, 1 << 20)
			try:
				chunk = await self._wait(self.reader.readexactly(n))
			except asyncio.IncompleteReadError:
				raise _Closed("eof in BDAT")
			if keep:
				chunks.append(chunk)
			left -= n
		self.log("*", "BDAT: %d bytes%s" % (size, " LAST" if last else ""))
		if txn is None:
			await self.reply("503 5.5.1 Error: need MAIL command")
			return
		if not txn.accepted_rcpts:
			txn.data_command_reply = "554 5.5.1 Error: no valid " \
			    "recipients"
			self._end_txn("rejected")
			await self.reply(txn.data_command_reply)
			return
		txn.chunked = True
		txn.data = (txn.data or b"") + b"".join(chunks)
		too_big = not keep or txn.too_big
		txn.too_big = too_big
		if not last:
			await self.reply("250 2.0.0 Ok: %d octets received" % size)
			return
		await self._finish_data(txn.data, too_big)

	async def _finish_data(self, data, too_big, bare_lf=0, bare_cr=0,
	    long_lines=0):
		sink = self.sink
		txn = self.txn
		txn.data = data
		self.verb = "DATA_END"
		if self._dropping("DATA_END"):
			raise _Closed("dropped at DATA_END")
		reply, default = None, True
		if too_big:
			reply = "552 5.3.4 Error: message too big"
		elif sink._b("fail_at", "DATA_END") == "DATA_END" and \
		    sink._take_fail():
			reply, default = sink._b("fail_reply") or FAIL_REPLY, False
		else:
			reply = sink._pick(("data",), sink._b("data"), txn)
			default = reply is None
		queue_id = sink._next_queue_id()
		if reply is None:
			reply = "250 2.0.0 Ok: queued as %s" % queue_id
		txn.data_reply = reply
		if reply.startswith("2"):
			txn.message = Message(queue_id=queue_id,
			    connection=self.conn.number, peer=self.conn.peer,
			    helo=self.helo, esmtp=self.esmtp,
			    mail_from=txn.mail_from, mail_params=dict(txn.mail_params),
			    rcpts=txn.accepted_rcpts, data=data, chunked=txn.chunked,
			    tls=self.tls, auth_user=self.auth_user, bare_lf=bare_lf,
			    bare_cr=bare_cr, long_lines=long_lines,
			    received=time.time())
			txn.outcome = "accepted"
		else:
			txn.outcome = "rejected"
		self._end_txn(txn.outcome)
		await self.reply(reply, default=default)

	async def cmd_RSET(self, arg):
		if arg.strip():
			await self.reply("501 5.5.4 Syntax: RSET")
			return
		self._end_txn("aborted")
		await self.reply("250 2.0.0 Ok")

	async def cmd_NOOP(self, arg):
		await self.reply("250 2.0.0 Ok")

	async def cmd_QUIT(self, arg):
		self._end_txn("aborted")
		await self.reply("221 2.0.0 Bye")
		raise _Closed("quit")

	async def cmd_VRFY(self, arg):
		await self.reply("252 2.0.0 Cannot VRFY user")

	async def cmd_EXPN(self, arg):
		await self.reply("502 5.5.1 Error: command not implemented")

	async def cmd_HELP(self, arg):
		await self.reply("214 2.0.0 See RFC 5321")


def _parse_listen(s):
	m = re.match(r"^\[([^\]]+)\]:([0-9]+)$", s) or \
	    re.match(r"^([^:]+):([0-9]+)$", s)
	if not m:
		raise SystemExit("--listen wants ADDRESS:PORT or [::1]:PORT")
	return m.group(1), int(m.group(2))


def _print_message(m):
	out = sys.stdout
	out.write("=== %s connection %d from %s helo %r%s%s\n" % (m.queue_id,
	    m.connection, m.peer, m.helo, " tls=%s/%s" % (m.tls.version,
	    m.tls.cipher) if m.tls else "", " auth=%s" % m.auth_user if
	    m.auth_user else ""))
	out.write("MAIL FROM:<%s> %r\n" % (m.mail_from, m.mail_params))
	for r in m.rcpts:
		out.write("RCPT TO:<%s> %r\n" % (r.address, r.params))
	out.write(m.data.decode("utf-8", "replace"))
	if not m.data.endswith(b"\n"):
		out.write("\n")
	out.write("=== end of %s (%d bytes)\n" % (m.queue_id, len(m.data)))
	out.flush()


def main(argv=None):
	ap = argparse.ArgumentParser(description="A receiving SMTP sink on a "
	    "loopback address; prints each message it accepts.")
	ap.add_argument("--listen", default="127.0.0.1:2525",
	    help="ADDRESS:PORT (loopback only)")
	ap.add_argument("--name", default="mx1.secure.test")
	ap.add_argument("--cert")
	ap.add_argument("--key")
	ap.add_argument("--starttls", choices=STARTTLS_MODES)
	ap.add_argument("--implicit-tls", action="store_true")
	ap.add_argument("--auth", action="append", metavar="USER:PASSWORD")
	ap.add_argument("--require-auth", action="store_true")
	ap.add_argument("--chunking", action="store_true")
	ap.add_argument("--verbose", "-v", action="store_true")
	args = ap.parse_args(argv)
	host, port = _parse_listen(args.listen)
	auth = None
	if args.auth:
		auth = dict(a.split(":", 1) for a in args.auth)
	ext = {"CHUNKING": True} if args.chunking else None
	try:
		sink = Sink(host=host, port=port, name=args.name,
		    tls_cert=args.cert, tls_key=args.key, starttls=args.starttls,
		    implicit_tls=args.implicit_tls, auth=auth,
		    require_auth=args.require_auth, extensions=ext,
		    on_message=_print_message, verbose=args.verbose)
		sink.start()
	except SinkError as e:
		sys.stderr.write("sink: %s\n" % e)
		return 1
	sys.stderr.write("sink: listening on %s port %d (Ctrl-C to stop)\n" %
	    (sink.host, sink.port))
	signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
	try:
		while sink._thread is not None and sink._thread.is_alive():
			time.sleep(0.5)
	except KeyboardInterrupt:
		pass
	finally:
		sink.stop()
	return 0


if __name__ == "__main__":
	sys.exit(main())
