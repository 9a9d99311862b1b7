"""sluice_harness: run the real sluiced on loopback for integration tests.

A Sluice instance owns a scratch directory under $SLUICE_TEST_TMP with a
self-signed certificate, a sluice.conf whose listeners sit on free
loopback ports (and a unix socket), a state directory prepared with
sluicectl (domains example.org and partner.example, users, an alias), and
a running `sluiced -d` whose output goes to daemon.log.

Used as a context manager it always stops the daemon (SIGTERM, a bounded
wait, then SIGKILL) and removes the scratch directory, unless
SLUICE_KEEP_TMP is set; on failure it prints the daemon log. Every wait
here is bounded in time and every loop in count.

Test scripts record each message that got "250 ... queued as ID" with
Sluice.accepted(), and finish with Sluice.verify_queue(), which checks that
queue.db holds exactly those messages, envelope and body byte-exact.

Run as root, the workers switch to nobody:nogroup (the state directory is
chowned to them) so the privilege drop is exercised; otherwise the daemon
runs as the current user.

The policy file in force is policy/default.policy unless the instance is
given another (policy="smarthost.policy", a name in policy/ or a path);
with policy_edit (a function of the file's text) or policy_copy=True the
instance runs on its own copy in the scratch directory, which
write_policy() replaces (for a SIGHUP). setup (a function of the
instance) runs after the standard directory.db data is in place and before
the daemon starts, to add users, networks, grants and limits with ctl().
Clients may bind a source address (source="127.0.0.2": any address of
127.0.0.0/8 reaches a 127.0.0.1 listener), so tests can be several
clients, or an untrusted one.
"""

import base64
import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

TOP_BUILDDIR = os.environ.get("top_builddir", ".")
TOP_SRCDIR = os.environ.get("top_srcdir", os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))
SLUICED = os.path.join(TOP_BUILDDIR, "sluiced")
SLUICECTL = os.path.join(TOP_BUILDDIR, "sluicectl")

HOSTNAME = "mx.example.org"
PASSWORD = "correct horse battery staple"
USER = "alice@example.org"
DISABLED_USER = "bob@example.org"
ALIAS = "team@example.org"
RELAY_DOMAIN = "partner.example"

IO_TIMEOUT = 10.0	# seconds any single read from the daemon may take
START_TIMEOUT = 10.0	# until every TCP listener greets
STOP_TIMEOUT = 15.0	# SIGTERM to exit, before SIGKILL

_checks = 0


class TestFailure(Exception):
	pass


def check(cond, what):
	"""One assertion: print a TAP-like line, raise on failure."""
	global _checks
	if not cond:
		raise TestFailure(what)
	_checks += 1
	print("ok %d - %s" % (_checks, what), flush=True)


def check_eq(actual, expected, what):
	if actual != expected:
		raise TestFailure("%s: expected %r, got %r" % (what, expected, actual))
	check(True, what)


def skip(why):
	print("SKIP: %s" % why, flush=True)
	sys.exit(77)


def main(fn):
	"""Run fn() and exit the way automake's harness expects."""
	try:
		fn()
	except TestFailure as e:
		print("FAIL: %s" % e, flush=True)
		sys.exit(1)
	except Exception:
		traceback.print_exc()
		print("FAIL: unexpected exception", flush=True)
		sys.exit(1)
	print("# %d checks passed" % _checks, flush=True)
	sys.exit(0)


def free_port(family=socket.AF_INET, host="127.0.0.1"):
	"""A port the kernel just gave us (it may be taken again: we retry)."""
	s = socket.socket(family, socket.SOCK_STREAM)
	try:
		s.bind((host, 0))
		return s.getsockname()[1]
	finally:
		s.close()


def ipv6_loopback():
	try:
		s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
		try:
			s.bind(("::1", 0))
		finally:
			s.close()
		return True
	except OSError:
		return False


class Reply:
	"""A (possibly multi-line) SMTP reply."""

	def __init__(self, code, lines):
		self.code = code
		self.lines = lines	# text after "NNN-" / "NNN "

	@property
	def status(self):
		"""The enhanced status code of the last line, or ''."""
		m = re.match(r"([245]\.\d{1,3}\.\d{1,3})\b", self.lines[-1])
		return m.group(1) if m else ""

	def is_(self, code, status=None):
		return self.code == code and (status is None or
		    self.status == status)

	def __repr__(self):
		return "%d %s" % (self.code, " | ".join(self.lines))


class Raw:
	"""A raw SMTP connection: bytes out exactly as given, replies parsed."""

	def __init__(self, family, addr, timeout=IO_TIMEOUT, source=None):
		self.sock = socket.socket(family, socket.SOCK_STREAM)
		self.sock.settimeout(timeout)
		try:
			if source is not None:
				self.sock.bind((source, 0))
			self.sock.connect(addr)
		except BaseException:
			self.sock.close()
			raise
		self.buf = b""
		self.timeout = timeout

	def send(self, data):
		if isinstance(data, str):
			data = data.encode()
		self.sock.sendall(data)

	def _fill(self, deadline):
		if time.monotonic() > deadline:
			raise TestFailure("no reply within %.0fs (have %r)" %
			    (self.timeout, self.buf[:200]))
		chunk = self.sock.recv(65536)
		if not chunk:
			raise EOFError("connection closed (have %r)" % self.buf[:200])
		self.buf += chunk

	def line(self):
		deadline = time.monotonic() + self.timeout
		while b"\r\n" not in self.buf:
			if len(self.buf) > 4096:
				raise TestFailure("reply line too long: %r" %
				    self.buf[:200])
			self._fill(deadline)
		line, self.buf = self.buf.split(b"\r\n", 1)
		return line.decode("utf-8", "replace")

	def reply(self):
		lines = []
		for _ in range(100):
			line = self.line()
			m = re.match(r"(\d{3})([ -])(.*)$", line)
			if not m:
				raise TestFailure("malformed reply line %r" % line)
			lines.append(m.group(3))
			if m.group(2) == " ":
				return Reply(int(m.group(1)), lines)
		raise TestFailure("reply longer than 100 lines")

	def cmd(self, line):
		self.send(line.encode() + b"\r\n" if isinstance(line, str)
		    else line + b"\r\n")
		return self.reply()

	def closed(self, wait=IO_TIMEOUT):
		"""True if the server closes the connection within wait seconds
		(after any buffered replies)."""
		deadline = time.monotonic() + wait
		try:
			for _ in range(10000):
				left = deadline - time.monotonic()
				if left <= 0:
					break
				self.sock.settimeout(min(0.5, left))
				try:
					chunk = self.sock.recv(65536)
				except socket.timeout:
					continue
				except (ConnectionResetError, ssl.SSLError):
					return True
				if not chunk:
					return True
				self.buf += chunk
			return False
		finally:
			self.sock.settimeout(self.timeout)

	def starttls(self, ctx, server_hostname=HOSTNAME):
		self.sock = ctx.wrap_socket(self.sock,
		    server_hostname=server_hostname)
		if self.buf:
			raise TestFailure("plaintext left over after STARTTLS: %r"
			    % self.buf)

	def quit(self):
		"""QUIT, and wait until the server has closed (so that per-address
		connection counts are settled before the next test)."""
		try:
			self.send(b"QUIT\r\n")
			self.closed(5)
		except (OSError, EOFError):
			pass
		self.close()

	def close(self):
		try:
			self.sock.close()
		except OSError:
			pass


def queued_id(reply):
	m = re.search(r"queued as (\S+)", reply.lines[-1])
	return m.group(1) if m else None


class Expected:
	"""What one accepted message must look like in queue.db."""

	def __init__(self, qid, listener, sender, recipients, body,
	    auth_user=None, tls=False, smtputf8=0, helo=None, added=()):
		self.qid = qid
		self.listener = listener
		self.sender = sender
		self.recipients = list(recipients)
		self.body = body
		self.auth_user = auth_user
		self.tls = tls
		self.smtputf8 = smtputf8
		self.helo = helo
		self.added = added	# header names sluiced adds after Received


RECEIVED_RE = re.compile(
    rb"Received: from [^\r\n]+\r\n"
    rb"\tby " + re.escape(HOSTNAME.encode()) + rb" \(Sluice\) with "
    rb"(?P<proto>[A-Z0-9]+) id (?P<qid>[A-Za-z0-9]+)"
    rb"(?:\r\n\t\(using (?P<tlsv>\S+) with cipher \S+\))?"
    rb"(?:\r\n\tfor <[^>\r\n]+>)?"
    rb";\r\n\t[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000\r\n")


class Sluice:
	def __init__(self, name, extra_conf=None, workers=None, ipv6=False,
	    plain_submission=False, worker_deaths_ok=False, policy=None,
	    policy_edit=None, policy_copy=False, setup=None):
		self.name = name
		self.extra_conf = dict(extra_conf or {})
		if workers is not None:
			self.extra_conf["smtp_workers"] = str(workers)
		self.want_ipv6 = ipv6 and ipv6_loopback()
		# A second submission listener with auth-plaintext, "plainsub".
		self.plain_submission = plain_submission
		self.worker_deaths_ok = worker_deaths_ok
		policy = policy or "default.policy"
		self.policy_source = policy if os.path.isabs(policy) else \
		    os.path.join(TOP_SRCDIR, "policy", policy)
		self.policy_edit = policy_edit
		self.policy_copy = policy_copy or policy_edit is not None
		self.policy_path = self.policy_source
		self.setup = setup
		self.extra_addrs = {}	# name: (family, address) for raw()
		self.proc = None
		self.logf = None
		self.dir = None
		self.expected = {}
		self.root = os.geteuid() == 0
		self.failed = False

	# ---- set-up --------------------------------------------------------
	def __enter__(self):
		base = os.environ.get("SLUICE_TEST_TMP") or tempfile.gettempdir()
		os.makedirs(base, exist_ok=True)
		self.dir = tempfile.mkdtemp(prefix=self.name + ".", dir=base)
		try:
			self._prepare()
			self._start_with_retries()
		except BaseException:
			self.__exit__(*sys.exc_info())
			raise
		return self

	def __exit__(self, exc_type, exc, tb):
		problem = None
		try:
			status = self.stop()
			problem = self.problems(status)
			if exc_type is not None or problem:
				self.failed = True
		finally:
			if self.failed:
				self.dump_log()
			if self.logf is not None:
				self.logf.close()
				self.logf = None
			if os.environ.get("SLUICE_KEEP_TMP"):
				print("# kept %s" % self.dir, flush=True)
			elif self.dir is not None:
				shutil.rmtree(self.dir, ignore_errors=True)
		if problem and exc_type is None:
			raise TestFailure(problem)
		return False

	def problems(self, status):
		"""What went wrong in the daemon whatever the clients saw: a bad
		exit, a sanitizer report, a worker that died unasked."""
		log = self.log()
		for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
		    "UndefinedBehaviorSanitizer", "event=worker-failed"):
			if mark in log:
				return "the daemon log has %r" % mark
		if "event=worker-died" in log and not self.worker_deaths_ok:
			return "a worker died"
		if status not in (0, None):
			return "sluiced exited with status %s" % status
		return None

	def path(self, *parts):
		return os.path.join(self.dir, *parts)

	def _run(self, args, input=None):
		r = subprocess.run(args, input=input, capture_output=True,
		    timeout=60)
		if r.returncode != 0:
			raise TestFailure("%s failed (%d): %s" % (" ".join(args),
			    r.returncode, r.stderr.decode(errors="replace")))
		return r.stdout

	def ctl(self, *args, input=None):
		return self._run([SLUICECTL, "-c", self.conf] + list(args),
		    input=input)

	def _prepare(self):
		self.state = self.path("state")
		self.run_dir = self.path("run")
		self.cert = self.path("cert.pem")
		self.key = self.path("key.pem")
		self.conf = self.path("sluice.conf")
		self.log_path = self.path("daemon.log")
		self.sock_path = self.path("run", "smtp.sock")
		os.mkdir(self.state)
		os.mkdir(self.run_dir)
		if self.policy_copy:
			with open(self.policy_source) as f:
				text = f.read()
			if self.policy_edit is not None:
				text = self.policy_edit(text)
			os.mkdir(self.path("policy"))
			self.policy_path = self.path("policy",
			    os.path.basename(self.policy_source))
			self.write_policy(text)
		self._run(["openssl", "req", "-x509", "-newkey", "ec",
		    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		    "-keyout", self.key, "-out", self.cert, "-days", "2",
		    "-subj", "/CN=" + HOSTNAME,
		    "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % HOSTNAME])
		if self.root:
			self.user, self.group = "nobody", "nogroup"
		else:
			self.user = pwd.getpwuid(os.geteuid()).pw_name
			self.group = grp.getgrgid(os.getegid()).gr_name
		self._write_conf(self._pick_ports())
		self.ctl("init")
		self.ctl("domain", "add", "example.org", "local")
		self.ctl("domain", "add", RELAY_DOMAIN, "relay")
		self.ctl("user", "add", USER, input=(PASSWORD + "\n").encode())
		self.ctl("user", "add", DISABLED_USER, input=b"bob secret\n")
		self.ctl("user", "disable", DISABLED_USER)
		self.ctl("alias", "add", ALIAS, USER)
		if self.setup is not None:
			self.setup(self)
		if self.root:
			uid = pwd.getpwnam(self.user).pw_uid
			gid = grp.getgrnam(self.group).gr_gid
			# The workers need the scratch path and the state.
			os.chmod(self.dir, 0o755)
			for d, _, files in os.walk(self.state):
				os.chown(d, uid, gid)
				for f in files:
					os.chown(os.path.join(d, f), uid, gid)
			# As systemd/sluice.tmpfiles makes /run/sluice.
			os.chown(self.run_dir, uid, gid)

	def _pick_ports(self):
		roles = ["mx", "submission", "submissions"]
		roles += ["mx6"] if self.want_ipv6 else []
		roles += ["plainsub"] if self.plain_submission else []
		ports = {}
		for role in roles:
			for _ in range(20):
				p = (free_port(socket.AF_INET6, "::1") if role == "mx6"
				    else free_port())
				if p not in ports.values():
					ports[role] = p
					break
			else:
				raise TestFailure("no free port for %s" % role)
		return ports

	def _write_conf(self, ports, extra=None):
		self.ports = ports
		conf = dict(self.extra_conf)
		conf.update(extra or {})
		lines = [
		    "hostname = " + HOSTNAME,
		    "state_dir = " + self.state,
		    "run_dir = " + self.run_dir,
		    "user = " + self.user,
		    "group = " + self.group,
		    "log = stderr",
		    "log_level = debug",
		    "tls_cert = " + self.cert,
		    "tls_key = " + self.key,
		    "policy_file = " + self.policy_path,
		    "listen = mx 127.0.0.1:%d" % ports["mx"],
		    "listen = submission 127.0.0.1:%d" % ports["submission"],
		    "listen = submissions 127.0.0.1:%d" % ports["submissions"],
		    "listen = local %s mode=0666" % self.sock_path,
		]
		if "dns_stub_zones" not in conf:
			# The resolver never reaches past loopback: "." goes to a
			# port where nothing answers (tests of remote delivery
			# give their own DNS world instead).
			lines.append("dns_stub_zones = .=127.0.0.1@9")
		if "mx6" in ports:
			lines.append("listen = mx [::1]:%d name=mx6" % ports["mx6"])
		if "plainsub" in ports:
			lines.append("listen = submission 127.0.0.1:%d auth-plaintext "
			    "name=plainsub" % ports["plainsub"])
		for k, v in conf.items():
			# A list value: one line per item.
			lines += ["%s = %s" % (k, x) for x in
			    (v if isinstance(v, (list, tuple)) else [v])]
		tmp = self.conf + ".new"
		with open(tmp, "w") as f:
			f.write("\n".join(lines) + "\n")
		os.rename(tmp, self.conf)

	def write_policy(self, text, name=None):
		"""Replace (atomically) the instance's copy of the policy file, or
		write another file (name) next to it, for includes."""
		if not self.policy_copy:
			raise TestFailure("write_policy needs policy_copy")
		path = self.policy_path if name is None else \
		    os.path.join(os.path.dirname(self.policy_path), name)
		with open(path + ".new", "w") as f:
			f.write(text)
		os.rename(path + ".new", path)
		return path

	def set_conf(self, **extra):
		"""Rewrite sluice.conf with these keys changed (same ports)."""
		self.extra_conf.update({k: str(v) for k, v in extra.items()})
		self._write_conf(self.ports)

	# ---- the daemon ----------------------------------------------------
	def _start_with_retries(self):
		# A port picked above may be taken by someone else meanwhile.
		for attempt in range(3):
			if attempt > 0:
				self._write_conf(self._pick_ports())
			if self.start():
				return
			self.stop()
			if "Address already in use" not in self.log():
				break
		raise TestFailure("sluiced did not start:\n" + self.log())

	def start(self):
		self.logf = self.logf or open(self.log_path, "ab")
		self.proc = subprocess.Popen([SLUICED, "-c", self.conf, "-d"],
		    stdin=subprocess.DEVNULL, stdout=self.logf,
		    stderr=subprocess.STDOUT)
		deadline = time.monotonic() + START_TIMEOUT
		# A greeting on each TCP listener proves it is bound and a worker
		# serves it. Each probe waits for the server's close, so that
		# per-address connection counts are settled afterwards.
		for role in ("mx", "submission", "submissions"):
			if not self._greets(role, deadline):
				return False
		return True

	def _greets(self, role, deadline):
		for _ in range(1000):
			if time.monotonic() > deadline or self.proc.poll() is not None:
				return False
			try:
				r = self.raw(role, greet=False, timeout=max(0.5,
				    deadline - time.monotonic()))
				g = r.reply()
				r.quit()
				return g.code == 220
			except (OSError, EOFError, TestFailure):
				time.sleep(0.05)
		return False

	@property
	def pid(self):
		return self.proc.pid

	def alive(self):
		return self.proc is not None and self.proc.poll() is None

	def signal(self, sig):
		self.proc.send_signal(sig)

	def wait_exit(self, timeout):
		"""The exit status, or None if still running after timeout."""
		try:
			return self.proc.wait(timeout)
		except subprocess.TimeoutExpired:
			return None

	def stop(self):
		"""SIGTERM, a bounded wait, SIGKILL. Returns the exit status, or
		None if there was nothing to stop."""
		if self.proc is None:
			return None
		if self.proc.poll() is None:
			self.proc.send_signal(signal.SIGTERM)
			if self.wait_exit(STOP_TIMEOUT) is None:
				print("# sluiced ignored SIGTERM: SIGKILL", flush=True)
				self.failed = True
				self._kill_group()
		status = self.proc.returncode
		self.proc = None
		return status

	def _kill_group(self):
		workers = self.worker_pids()
		self.proc.kill()
		for w in workers:
			try:
				os.kill(w, signal.SIGKILL)
			except ProcessLookupError:
				pass
		self.wait_exit(5)

	def worker_pids(self):
		"""Children of the master, from /proc (bounded by /proc size)."""
		if self.proc is None:
			return []
		return children_of(self.proc.pid)

	def smtp_workers(self):
		"""Pids of the running smtp workers of the current generation
		(started, not retired by a reload, still children of the
		master)."""
		log = self.log()
		kids = set(self.worker_pids())
		retired = set(int(p) for p in re.findall(r"sluiced\[(\d+)\]: \w+: "
		    r"event=worker-retiring ", log))
		started = [int(p) for p in re.findall(r"event=worker-started "
		    r"worker=\d+ pid=(\d+)", log)]
		return sorted(p for p in set(started) if p in kids and p not in
		    retired)

	@contextlib.contextmanager
	def only_worker(self, pid):
		"""Within the block, only worker pid takes new connections: the
		other smtp workers are stopped (SIGSTOP) and continued after it,
		whatever happens. For tests that need sessions on given workers
		(the kernel alone may hand every connection to one)."""
		stopped = []
		try:
			for p in self.smtp_workers():
				if p != pid:
					os.kill(p, signal.SIGSTOP)
					stopped.append(p)
			for p in stopped:
				for _ in range(200):
					if proc_state(p) in ("T", None):
						break
					time.sleep(0.01)
				else:
					raise TestFailure("worker %d did not stop" % p)
			yield
		finally:
			for p in stopped:
				try:
					os.kill(p, signal.SIGCONT)
				except ProcessLookupError:
					pass

	def queue_worker(self):
		"""Pid of the running queue worker (comm sluiced-queue), or
		None."""
		for p in self.worker_pids():
			try:
				with open("/proc/%d/comm" % p) as f:
					if f.read().strip() == "sluiced-queue":
						return p
			except OSError:
				pass
		return None

	def mail_db(self):
		"""A read-only connection to mail.db, as an operator would open
		it."""
		return sqlite3.connect("file:%s?mode=ro" % self.path("state",
		    "mail.db"), uri=True, timeout=10)

	def rcpt_states(self, qid):
		"""{address: (state, status, diagnostic)} of a queued message."""
		with contextlib.closing(self.db()) as db:
			return {a: (st, status, diag) for a, st, status, diag in
			    db.execute("SELECT address, state, status, diagnostic "
			    "FROM recipients WHERE message_id = ?", (qid,))}

	def wait_final(self, qids, timeout=30.0, states=("delivered",
	    "relayed", "failed"), local_only=False):
		"""Wait until every recipient of each of qids is in one of
		states (or, with "deferred" among them, tried at least once);
		local_only: the recipients of example.org only."""
		deadline = time.monotonic() + timeout
		marks = ",".join("?" * len(states))
		only = " AND address LIKE '%@example.org'" if local_only else ""
		for _ in range(int(timeout * 20) + 1):
			with contextlib.closing(self.db()) as db:
				left = 0
				for i in range(0, len(qids), 500):
					part = list(qids[i:i + 500])
					left += db.execute("SELECT count(*) FROM recipients "
					    "WHERE message_id IN (%s) AND NOT (state IN (%s) "
					    "AND attempts > 0)%s" % (",".join("?" * len(part)),
					    marks, only), part + list(states)).fetchone()[0]
			if left == 0:
				return
			if time.monotonic() > deadline:
				break
			time.sleep(0.05)
		raise TestFailure("%d recipients of %d messages not final after "
		    "%.0fs" % (left, len(qids), timeout))

	def mailbox(self, owner, name="INBOX"):
		"""[(uid, size, body)] of a mailbox, the stored copy as a client
		sees it (prefix and shared body)."""
		with contextlib.closing(self.mail_db()) as db:
			rows = db.execute("SELECT m.uid, m.size, m.prefix, b.data "
			    "FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id "
			    "JOIN bodies b ON b.id = m.body_id WHERE x.owner = ? AND "
			    "x.name = ? ORDER BY m.uid", (owner, name)).fetchall()
		return [(uid, size, (prefix or "").encode() + bytes(data))
		    for uid, size, prefix, data in rows]

	def log(self):
		try:
			with open(self.log_path, "rb") as f:
				return f.read().decode("utf-8", "replace")
		except OSError:
			return ""

	def wait_log(self, pattern, timeout=5.0, start=0):
		"""Wait until the daemon log matches pattern (after offset start)."""
		deadline = time.monotonic() + timeout
		while True:
			m = re.search(pattern, self.log()[start:], re.M)
			if m or time.monotonic() > deadline:
				return m
			time.sleep(0.05)

	def policy_lines(self, start=0, action=None):
		"""The event=policy log lines after offset start, as dicts (stage,
		action, rule, client, why, pid, sid), optionally of one action."""
		out = []
		for m in re.finditer(r"^\S+ sluiced\[(\d+)\]: \w+: sid=([0-9a-f]+) "
		    r"(?:qid=\S* )?event=policy stage=(\w+) action=(\w+) "
		    r"rule=(\S+)(?: client=(\S+) why=(\"(?:[^\"\\]|\\.)*\"|\S+))?$",
		    self.log()[start:], re.M):
			d = dict(pid=int(m.group(1)), sid=m.group(2),
			    stage=m.group(3), action=m.group(4), rule=m.group(5),
			    client=m.group(6), why=m.group(7))
			if action is None or d["action"] == action:
				out.append(d)
		return out

	def check_refusals_name_rules(self, what):
		"""Every policy refusal in the whole log names a rule as
		FILE:LINE, and its why starts with the same reference. Returns how
		many there were."""
		raw = [l for l in self.log().splitlines() if " event=policy " in l
		    and " action=accept " not in l]
		lines = [d for d in self.policy_lines() if d["action"] != "accept"]
		check_eq(len(lines), len(raw), "%s: every event=policy refusal "
		    "line has the stage, action, rule, client, why fields" % what)
		bad = [d for d in lines if not re.match(r"/\S+:\d+$", d["rule"])
		    or not (d["why"] or "").startswith('"rule %s matched: ' %
		    d["rule"])]
		check_eq(bad, [], "%s: all %d policy refusals in the log name "
		    "their rule as file:line" % (what, len(lines)))
		return len(lines)

	def session_of(self, r):
		"""(worker pid, sid) of the session that serves raw session r,
		from the event=connect line that names its client port (on the
		local socket, which has no port: the last local session to
		connect, so use it with one local session at a time)."""
		if r.sock.family == socket.AF_UNIX:
			m = re.findall(r"^\S+ sluiced\[(\d+)\]: \w+: sid=([0-9a-f]+) "
			    r"event=connect client=local ", self.log(), re.M)
			if not m:
				raise TestFailure("no event=connect line for the "
				    "local socket")
			return int(m[-1][0]), m[-1][1]
		# Ports are reused: the last connect from this address and port
		# is this session's (its line comes before any reply).
		addr, port = r.sock.getsockname()[:2]
		pattern = re.compile(r"^\S+ sluiced\[(\d+)\]: \w+: "
		    r"sid=([0-9a-f]+) event=connect client=%s port=%d " %
		    (re.escape(addr), port), re.M)
		deadline = time.monotonic() + 5
		while True:
			m = pattern.findall(self.log())
			if m:
				return int(m[-1][0]), m[-1][1]
			if time.monotonic() > deadline:
				raise TestFailure("no event=connect line for %s port %d"
				    % (addr, port))
			time.sleep(0.05)

	def worker_of(self, r):
		return self.session_of(r)[0]

	def check_refusal(self, r, reply, start, what):
		"""The last policy refusal logged for session r after log offset
		start names a rule (file:line) of the rule set in force whose
		decision is the reply that r got (code, status and text)."""
		_, sid = self.session_of(r)
		lines = [d for d in self.policy_lines(start) if d["sid"] == sid and
		    d["action"] != "accept"]
		check(lines, "%s: the log has an event=policy refusal line" % what)
		d = lines[-1]
		stmt = rule_statement(d["rule"])
		check(stmt is not None and stmt.startswith("at "), "%s: the log "
		    "names rule %s, a rule of the file (%r)" % (what, d["rule"],
		    stmt))
		want = "%d %s \"%s\"" % (reply.code, reply.status,
		    " ".join(reply.lines).split(" ", 1)[1])
		check(stmt.endswith(want), "%s: rule %s decides %s" % (what,
		    d["rule"], want))
		return d

	def dump_log(self):
		print("---- daemon log (%s) ----" % self.log_path, flush=True)
		text = self.log()
		if len(text) > 200000:
			text = "[...]\n" + text[-200000:]
		print(text, flush=True)
		print("---- end of daemon log ----", flush=True)

	# ---- clients -------------------------------------------------------
	def addr(self, role):
		if role in self.extra_addrs:	# listeners a test added itself
			return self.extra_addrs[role]
		if role == "local":
			return socket.AF_UNIX, self.sock_path
		if role == "mx6":
			return socket.AF_INET6, ("::1", self.ports["mx6"])
		if role == "plainsub":
			return socket.AF_INET, ("127.0.0.1", self.ports["plainsub"])
		return socket.AF_INET, ("127.0.0.1", self.ports[role])

	def raw(self, role, greet=True, timeout=IO_TIMEOUT, source=None):
		family, addr = self.addr(role)
		r = Raw(family, addr, timeout, source)
		if role == "submissions":
			r.starttls(self.ssl_context())
		if greet:
			g = r.reply()
			if g.code != 220:
				raise TestFailure("greeting on %s: %r" % (role, g))
		return r

	def ssl_context(self):
		ctx = ssl.create_default_context(cafile=self.cert)
		ctx.check_hostname = True
		return ctx

	def raw_tls(self, role="submission", ehlo="client.example", source=None):
		"""Raw session after EHLO, STARTTLS, EHLO (TLS on 465 already)."""
		r = self.raw(role, source=source)
		if role != "submissions":
			r.cmd("EHLO " + ehlo)
			rr = r.cmd("STARTTLS")
			if rr.code != 220:
				raise TestFailure("STARTTLS: %r" % rr)
			r.starttls(self.ssl_context())
		e = r.cmd("EHLO " + ehlo)
		if e.code != 250:
			raise TestFailure("EHLO after TLS: %r" % e)
		return r

	def raw_auth(self, role="submission", user=USER, password=PASSWORD,
	    source=None):
		r = self.raw_tls(role, source=source)
		tok = base64.b64encode(b"\0" + user.encode() + b"\0" +
		    password.encode()).decode()
		a = r.cmd("AUTH PLAIN " + tok)
		if a.code != 235:
			raise TestFailure("AUTH PLAIN: %r" % a)
		return r

	# ---- the queue -----------------------------------------------------
	def accepted(self, reply, listener, sender, recipients, body, **kw):
		"""Record a message the daemon said it queued; returns its id."""
		qid = queued_id(reply)
		if not reply.is_(250, "2.0.0") or qid is None:
			raise TestFailure("expected 250 2.0.0 queued as ID, got %r"
			    % reply)
		if qid in self.expected:
			raise TestFailure("queue id %s given twice" % qid)
		self.expected[qid] = Expected(qid, listener, sender, recipients,
		    body, **kw)
		return qid

	def db(self):
		con = sqlite3.connect("file:%s?mode=ro" % self.path("state",
		    "queue.db"), uri=True, timeout=10)
		con.row_factory = sqlite3.Row
		return con

	def messages(self):
		"""The messages clients sent (not the notices Sluice made)."""
		with contextlib.closing(self.db()) as con:
			return {r["id"]: dict(r) for r in
			    con.execute("SELECT * FROM messages WHERE kind = 'mail'")}

	def body(self, qid):
		with self.db() as con:
			row = con.execute("SELECT data FROM bodies WHERE "
			    "message_id = ?", (qid,)).fetchone()
		return None if row is None else bytes(row[0])

	def recipients(self, qid):
		with self.db() as con:
			return [r[0] for r in con.execute("SELECT address FROM "
			    "recipients WHERE message_id = ? ORDER BY id", (qid,))]

	def count(self):
		with self.db() as con:
			return con.execute("SELECT count(*) FROM messages"
			    ).fetchone()[0]

	def split_body(self, qid, data):
		"""(Received header, headers added after it, rest) of a stored
		body, checking the Received header's shape."""
		m = RECEIVED_RE.match(data)
		if m is None:
			raise TestFailure("%s: stored body does not start with a "
			    "Received header: %r" % (qid, data[:400]))
		if m.group("qid").decode() != qid:
			raise TestFailure("%s: Received header names id %r" %
			    (qid, m.group("qid")))
		return m, data[m.end():]

	def verify_queue(self):
		"""queue.db holds exactly the accepted messages, byte-exact
		(besides the notices the queue worker made about them)."""
		msgs = self.messages()
		check_eq(sorted(msgs), sorted(self.expected),
		    "queue.db holds exactly the %d accepted messages" %
		    len(self.expected))
		# What an operator sees with the sqlite3 shell, too.
		out = subprocess.run([os.environ.get("SQLITE3") or "sqlite3",
		    "-readonly", "-batch", "-noheader",
		    self.path("state", "queue.db"),
		    "SELECT id FROM queue_overview WHERE kind = 'mail' ORDER BY id"],
		    capture_output=True, text=True, timeout=30)
		check_eq(out.stdout.split(), sorted(self.expected),
		    "sqlite3 shell: queue_overview lists the same ids")
		log = self.log()
		for qid, e in sorted(self.expected.items()):
			self.verify_message(msgs[qid], e)
			check(re.search(r"qid=%s event=queued\b" % qid, log),
			    "%s: the log has its event=queued line" % qid)

	def verify_message(self, row, e):
		qid = e.qid
		got = {
		    "listener": row["listener"], "auth_user": row["auth_user"],
		    "sender": row["sender"], "smtputf8": row["smtputf8"],
		    "tls": row["tls_version"] is not None,
		    "recipients": self.recipients(qid),
		}
		want = {
		    "listener": e.listener, "auth_user": e.auth_user,
		    "sender": e.sender, "smtputf8": e.smtputf8, "tls": e.tls,
		    "recipients": e.recipients,
		}
		check_eq(got, want, "%s: envelope" % qid)
		if e.tls:
			check(re.match(r"TLSv1\.[23]$", row["tls_version"] or ""),
			    "%s: TLS version %s is 1.2 or later" % (qid,
			    row["tls_version"]))
		if e.helo is not None:
			check_eq(row["helo"], e.helo, "%s: helo" % qid)
		data = self.body(qid)
		check(data is not None, "%s: has a body" % qid)
		check_eq(row["size"], len(data), "%s: size is the body's length"
		    % qid)
		m, rest = self.split_body(qid, data)
		proto = m.group("proto").decode()
		want_proto = ("UTF8SMTP" if e.smtputf8 else "ESMTP") + \
		    ("S" if e.tls else "") + ("A" if e.auth_user else "")
		check_eq(proto, want_proto, "%s: Received ... with %s" % (qid,
		    want_proto))
		for name in e.added:
			hm = re.match(rb"%s: [^\r\n]+\r\n" % name.encode(), rest)
			check(hm is not None, "%s: %s header added" % (qid, name))
			rest = rest[hm.end():]
		check_eq(rest, e.body, "%s: body byte-exact after the added "
		    "header fields" % qid)


def rule_statement(ref):
	"""The text of the rule at ref ("FILE:LINE"), continuation lines
	joined with single spaces and comments dropped; None if there is
	none."""
	path, _, line = ref.rpartition(":")
	if not path or not line.isdigit():
		return None
	try:
		with open(path) as f:
			lines = f.read().split("\n")
	except OSError:
		return None
	n = int(line) - 1
	words = []
	while 0 <= n < len(lines) and len(words) < 1000:
		text = re.sub(r"(^|\s)#.*$", "", lines[n]).strip()
		words.append(text)
		if not re.search(r"(,|\[|\band|=>)$", text):
			break
		n += 1
	return " ".join(w for w in words if w) or None


def wait_window(secs, need):
	"""Rate counters count in fixed windows of secs seconds aligned to the
	epoch, the previous window weighted down (src/lib/counters.h): a
	burst that straddles a window edge counts one less. Before a test
	that must see a limit reached exactly and takes up to need seconds,
	wait (at most need seconds) for a window to start if this one ends
	too soon."""
	left = secs - time.time() % secs
	if left < need:
		time.sleep(left + 0.05)


def children_of(ppid):
	pids = []
	for name in os.listdir("/proc")[:100000]:
		if not name.isdigit():
			continue
		try:
			with open("/proc/%s/stat" % name) as f:
				stat = f.read()
		except OSError:
			continue
		# pid (comm) state ppid ...: comm may hold spaces or parens.
		fields = stat[stat.rfind(")") + 2:].split()
		if len(fields) > 1 and int(fields[1]) == ppid:
			pids.append(int(name))
	return sorted(pids)


def proc_state(pid):
	"""The state letter of pid from /proc/PID/stat (R, S, T...), or None
	if it is gone."""
	try:
		with open("/proc/%d/stat" % pid) as f:
			stat = f.read()
	except OSError:
		return None
	fields = stat[stat.rfind(")") + 2:].split()
	return fields[0] if fields else None


def proc_uid(pid):
	"""Real, effective uids of pid from /proc/PID/status."""
	with open("/proc/%d/status" % pid) as f:
		for line in f:
			if line.startswith("Uid:"):
				return [int(x) for x in line.split()[1:3]]
	return None


def message(subject, text="Hello.\r\n", extra_headers=b""):
	"""A small RFC 5322 message with Date and Message-ID (so sluiced adds
	nothing but Received), CRLF line ends."""
	if isinstance(text, str):
		text = text.encode()
	return (b"From: Alice <alice@example.org>\r\n"
	    b"To: Team <team@example.org>\r\n"
	    b"Subject: " + subject.encode() + b"\r\n"
	    b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
	    b"Message-ID: <" + re.sub(r"\W", "-", subject).encode() +
	    b"@example.org>\r\n" + extra_headers + b"\r\n" + text)


def message_from(subject, from_header, text="Hello.\r\n"):
	"""message() with another From: field (None: no From: at all)."""
	m = message(subject, text)
	head = b"" if from_header is None else b"From: " + (from_header if
	    isinstance(from_header, bytes) else from_header.encode()) + b"\r\n"
	return head + m.split(b"\r\n", 1)[1]


def auth_plain(user, password=PASSWORD):
	"""The AUTH PLAIN command with an initial response."""
	return "AUTH PLAIN " + base64.b64encode(b"\0" + user.encode() +
	    b"\0" + password.encode()).decode()


def send_mail(s, r, listener, sender, rcpts, body, what, **kw):
	"""MAIL, each RCPT, DATA on session r, each checked to succeed; the
	message is recorded as accepted (kw as for Sluice.accepted). Returns
	its queue id."""
	x = r.cmd("MAIL FROM:<%s>" % sender)
	check(x.is_(250, "2.1.0"), "%s: MAIL FROM:<%s> (%r)" % (what, sender,
	    x))
	for a in rcpts:
		x = r.cmd("RCPT TO:<%s>" % a)
		check(x.is_(250, "2.1.5"), "%s: RCPT TO:<%s> (%r)" % (what, a, x))
	x = r.cmd("DATA")
	check_eq(x.code, 354, "%s: DATA" % what)
	r.send(dot_stuff(body))
	qid = s.accepted(r.reply(), listener, sender, rcpts, body, **kw)
	check(True, "%s: queued as %s" % (what, qid))
	return qid


def dot_stuff(body):
	"""What an SMTP client sends for body after DATA (body ends in CRLF)."""
	out = re.sub(rb"(?m)^\.", b"..", body)
	return out + b".\r\n"
