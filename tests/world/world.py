"""world: a private DNS world on loopback for Sluice's integration tests.

A World owns a scratch directory. Zones are added (and changed) before
start(); start() then generates ECDSAP256SHA256 keys with ldns-keygen,
signs the zones with ldns-signzone, builds the root zone "." with a
delegation (and, for signed children, a DS record) for every zone whose
closest added ancestor is the root, does the same in any added parent
zone, and runs a private nsd on server_address:port serving all of them.
The root's KSK DS is the trust anchor (trust_anchor_path).

Nothing in a world points off this machine: every A record must be in
127.0.0.0/8 and every AAAA record ::1 (add_zone() refuses anything else),
nsd listens on one loopback address, and the resolver settings handed
out (stubs, unbound_conf_path) name only that address. Because nsd runs
on a port other than 53 and glue cannot carry a port, the resolver must
be given a stub for "." and one for every zone (stubs, stub_args()); the
root hints file (root_hints_path) is only usable when port is 53.

	with World() as w:
		w.add_standard_zones(cert_pem="cert.pem")
		w.start()
		... run the resolver with w.trust_anchor_path and w.stubs ...

stop() (also on leaving the with block, at interpreter exit, and, via
PR_SET_PDEATHSIG, when the test process dies) stops nsd. Every wait here
is bounded. Standard library only; needs nsd and ldnsutils.
"""

import atexit
import base64
import ctypes
import hashlib
import ipaddress
import os
import random
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time

NSD = shutil.which("nsd", path=os.environ.get("PATH", "") +
    ":/usr/sbin:/sbin") or "/usr/sbin/nsd"
LDNS_KEYGEN = "ldns-keygen"
LDNS_SIGNZONE = "ldns-signzone"
LDNS_KEY2DS = "ldns-key2ds"

ALGORITHM = "ECDSAP256SHA256"
DEFAULT_ADDRESS = "127.0.53.53"	# not 127.0.0.53, a systemd-resolved stub
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
TTL = 300

TYPE_A, TYPE_NS, TYPE_SOA, TYPE_MX, TYPE_AAAA = 1, 2, 6, 15, 28
TYPE_TLSA = 52


class WorldError(Exception):
	pass


def _fqdn(name):
	name = name.strip()
	if name in ("", "."):
		return "."
	return name.rstrip(".").lower() + "."


def _parent_of(name, names):
	"""The longest of names that is a proper ancestor of name, or '.'."""
	best = "."
	for n in names:
		if n != name and n != "." and name.endswith("." + n) and \
		    len(n) > len(best):
			best = n
	return best


def _check_address(rtype, value):
	"""Refuse any address that is not on this machine's loopback."""
	try:
		ip = ipaddress.ip_address(value)
	except ValueError:
		raise WorldError("%s record with bad address %r" %
		    (rtype, value))
	if rtype == "A" and (ip.version != 4 or not ip.is_loopback):
		raise WorldError("A record %s is not in 127.0.0.0/8" % value)
	if rtype == "AAAA" and (ip.version != 6 or ip != ipaddress.ip_address(
	    "::1")):
		raise WorldError("AAAA record %s is not ::1" % value)


def spki_sha256(pem_path):
	"""SHA-256 of a PEM certificate's SubjectPublicKeyInfo (for TLSA 3 1 1
	and 2 1 1), with a minimal DER walk: standard library only."""
	with open(pem_path) as f:
		der = ssl.PEM_cert_to_DER_cert(f.read())
	return hashlib.sha256(_spki_der(der)).hexdigest()


def cert_sha256(pem_path):
	"""SHA-256 of the whole certificate (TLSA x 0 1)."""
	with open(pem_path) as f:
		der = ssl.PEM_cert_to_DER_cert(f.read())
	return hashlib.sha256(der).hexdigest()


def _der_item(d, off):
	"""(tag, header length, content length) of the DER item at off."""
	if off + 2 > len(d):
		raise WorldError("truncated certificate")
	tag, n = d[off], d[off + 1]
	hl = 2
	if n & 0x80:
		k = n & 0x7f
		if k == 0 or k > 4 or off + 2 + k > len(d):
			raise WorldError("bad DER length")
		n = int.from_bytes(d[off + 2:off + 2 + k], "big")
		hl += k
	if off + hl + n > len(d):
		raise WorldError("truncated certificate")
	return tag, hl, n


def _spki_der(der):
	_, hl, _ = _der_item(der, 0)		# Certificate
	off = hl
	_, hl, _ = _der_item(der, off)		# tbsCertificate
	off += hl
	tag, hl, n = _der_item(der, off)
	if tag == 0xa0:				# [0] version
		off += hl + n
	# serialNumber, signature, issuer, validity, subject
	for _ in range(5):
		_, hl, n = _der_item(der, off)
		off += hl + n
	tag, hl, n = _der_item(der, off)
	if tag != 0x30:
		raise WorldError("no SubjectPublicKeyInfo")
	return der[off:off + hl + n]


class Zone:
	"""One zone: records are zone file lines relative to the origin."""

	def __init__(self, name, records, signed, bogus, ttl):
		self.name = name
		self.records = []
		self.signed = signed
		self.bogus = bogus
		self.ttl = ttl
		self.ds = []		# DS lines, once signed
		self.file = None
		for r in records:
			self.add(r)

	def add(self, record):
		"""Add one record, e.g. "@ MX 10 mx1" or "mx1 A 127.0.0.11"
		(owner first, then optional TTL and class, type, data)."""
		f = record.split(";", 1)[0].split()
		i = 1
		while i < len(f) and (f[i].isdigit() or f[i].upper() == "IN"):
			i += 1
		if len(f) < 2 or i + 1 >= len(f):
			raise WorldError("record needs owner, type, data: %r" %
			    record)
		rtype = f[i].upper()
		if rtype in ("A", "AAAA"):
			_check_address(rtype, f[i + 1])
		elif rtype in ("NS", "DNAME", "SOA"):
			raise WorldError("%s records are the world's job: %r" %
			    (rtype, record))
		self.records.append(record)


class World:
	def __init__(self, tmpdir=None, address=DEFAULT_ADDRESS, port=None,
	    keep=None):
		ip = ipaddress.ip_address(address)
		if ip.version != 4 or not ip.is_loopback:
			raise WorldError("the server must be on 127.0.0.0/8")
		# Given a directory, the world uses it and leaves it; otherwise
		# it makes one under $SLUICE_TEST_TMP (or the system's) and
		# removes it at stop() unless keep or $SLUICE_KEEP_TMP.
		self._own_tmp = tmpdir is None
		if tmpdir is None:
			base = os.environ.get("SLUICE_TEST_TMP") or \
			    tempfile.gettempdir()
			os.makedirs(base, exist_ok=True)
			tmpdir = tempfile.mkdtemp(prefix="world.", dir=base)
		self.dir = tmpdir
		os.makedirs(self.dir, exist_ok=True)
		self.server_address = address
		self.port = port
		self.keep = keep if keep is not None else \
		    bool(os.environ.get("SLUICE_KEEP_TMP"))
		self.zones = {".": Zone(".", [], True, False, TTL)}
		self.proc = None
		self.trust_anchor_path = os.path.join(self.dir, "root.ds")
		self.root_hints_path = os.path.join(self.dir, "root.hints")
		self.unbound_conf_path = os.path.join(self.dir, "unbound.conf")
		self.safety_conf_path = os.path.join(self.dir,
		    "unbound-loopback.conf")
		self.nsd_conf_path = os.path.join(self.dir, "nsd.conf")
		self.log_path = os.path.join(self.dir, "nsd.log")
		atexit.register(self.stop)

	# ---- building ---------------------------------------------------

	@property
	def root(self):
		return self.zones["."]

	def add_zone(self, name, records=(), signed=True, bogus=False,
	    ttl=TTL):
		"""Add a zone. bogus: True signs it and then breaks every
		signature but the DNSKEY set's; "expired" signs it with
		signatures that expired three days ago. A bogus zone is
		signed."""
		if self.proc is not None:
			raise WorldError("add zones before start()")
		name = _fqdn(name)
		if name == ".":
			for r in records:
				self.root.add(r)
			return self.root
		if bogus not in (False, True, "expired"):
			raise WorldError("bogus is False, True or 'expired'")
		z = Zone(name, records, signed or bool(bogus), bogus, ttl)
		self.zones[name] = z
		return z

	def zone(self, name):
		return self.zones[_fqdn(name)]

	def add_tlsa(self, zone, host, pem_path=None, port=25, usage=3,
	    selector=1, mtype=1, data=None):
		"""A TLSA record at _port._tcp.host (host relative to zone, or
		absolute with a trailing dot). data defaults to the SHA-256 of
		the certificate's SPKI (selector 1) or the whole certificate
		(selector 0) from pem_path."""
		if data is None:
			if mtype != 1:
				raise WorldError("give data for mtype %d" %
				    mtype)
			data = spki_sha256(pem_path) if selector == 1 else \
			    cert_sha256(pem_path)
		owner = "_%d._tcp.%s" % (port, host)
		self.zone(zone).add("%s TLSA %d %d %d %s" % (owner, usage,
		    selector, mtype, data))

	def add_standard_zones(self, cert_pem=None):
		"""The scenarios' zones (README.md lists them)."""
		self.add_zone("secure.test", [
		    "@ MX 10 mx1", "@ MX 20 mx2",
		    "mx1 A 127.0.0.11", "mx2 A 127.0.0.12",
		    "dual A 127.0.0.18", "dual AAAA ::1",
		    "alias CNAME mx1"])
		self.add_zone("insecure.test", [
		    "@ MX 10 mx", "mx A 127.0.0.13"], signed=False)
		self.add_zone("bogus.test", [
		    "@ MX 10 mx", "mx A 127.0.0.14"], bogus=True)
		self.add_zone("expired.test", [
		    "@ MX 10 mx", "mx A 127.0.0.14"], bogus="expired")
		self.add_zone("nullmx.test", ["@ MX 0 ."])
		self.add_zone("nomx.test", ["@ A 127.0.0.15"])
		self.add_zone("equal.test", [
		    "@ MX 10 a", "@ MX 10 b", "@ MX 10 c", "@ MX 5 first",
		    "a A 127.0.0.21", "b A 127.0.0.22", "c A 127.0.0.23",
		    "first A 127.0.0.20"])
		self.add_zone("dane.test", [
		    "@ MX 10 mx", "mx A 127.0.0.16"])
		self.add_zone("danebad.test", [
		    "@ MX 10 mx", "mx A 127.0.0.17",
		    "_25._tcp.mx TLSA 3 1 1 " + "00" * 32])
		if cert_pem is not None:
			self.add_tlsa("secure.test", "mx1", cert_pem)
			self.add_tlsa("dane.test", "mx", cert_pem)
			self.add_tlsa("insecure.test", "mx", cert_pem)

	# ---- resolver settings ------------------------------------------

	def addr_port(self):
		return "%s@%d" % (self.server_address, self.port)

	@property
	def stubs(self):
		"""["zone=addr@port", ...]: "." first, then every zone."""
		return ["%s=%s" % (n, self.addr_port()) for n in
		    sorted(self.zones, key=lambda n: (n != ".", n))]

	def stub_args(self, flag="--stub"):
		out = []
		for s in self.stubs:
			out += [flag, s]
		return out

	# ---- start and stop ---------------------------------------------

	def start(self):
		if self.proc is not None:
			return self
		for tool in (LDNS_KEYGEN, LDNS_SIGNZONE, LDNS_KEY2DS):
			if shutil.which(tool) is None:
				raise WorldError("%s not found (apt-get "
				    "install ldnsutils)" % tool)
		if not os.access(NSD, os.X_OK):
			raise WorldError("nsd not found (apt-get install nsd)")
		self.keys_dir = os.path.join(self.dir, "keys")
		self.zones_dir = os.path.join(self.dir, "zones")
		os.makedirs(self.keys_dir, exist_ok=True)
		os.makedirs(self.zones_dir, exist_ok=True)
		self._build_zones()
		for attempt in range(5):
			if self.port is None or attempt > 0:
				self.port = _free_port(self.server_address)
			self._write_nsd_conf()
			if self._run_nsd():
				break
		else:
			raise WorldError("nsd did not start; log:\n" +
			    self.log_text())
		self._write_resolver_files()
		return self

	def stop(self):
		p, self.proc = self.proc, None
		if p is not None and p.poll() is None:
			_signal_group(p, signal.SIGTERM)
			try:
				p.wait(STOP_TIMEOUT)
			except subprocess.TimeoutExpired:
				_signal_group(p, signal.SIGKILL)
				p.wait(STOP_TIMEOUT)
		if self._own_tmp and not self.keep and os.path.isdir(self.dir):
			shutil.rmtree(self.dir, ignore_errors=True)

	def __enter__(self):
		return self

	def __exit__(self, *exc):
		self.stop()
		return False

	def log_text(self):
		try:
			with open(self.log_path, errors="replace") as f:
				return f.read()[-4000:]
		except OSError:
			return ""

	# ---- zones ------------------------------------------------------

	def _build_zones(self):
		names = sorted(self.zones)
		# Delegations: each zone in its closest added ancestor.
		for z in self.zones.values():
			z.children = []
		for n in names:
			if n != ".":
				parent = self.zones[_parent_of(n, names)]
				parent.children.append(n)
		# Deepest first, so a parent is signed with its children's DS.
		for n in sorted(names, key=lambda n: -n.count(".")
		    if n != "." else 0):
			self._build_zone(self.zones[n])

	def _zone_text(self, z):
		serial = int(time.time())
		lines = ["$ORIGIN %s" % z.name, "$TTL %d" % z.ttl,
		    "@ SOA ns. hostmaster.%s %d 3600 600 86400 %d" %
		    (z.name if z.name != "." else "", serial, z.ttl),
		    "@ NS ns."]
		if z.name == ".":
			lines.append("ns. A %s" % self.server_address)
		lines += z.records
		for c in z.children:
			child = self.zones[c]
			lines.append("%s NS ns." % c)
			lines += child.ds
		return "\n".join(lines) + "\n"

	def _keygen(self, z, ksk):
		args = [LDNS_KEYGEN, "-a", ALGORITHM] + \
		    (["-k"] if ksk else []) + [z.name]
		out = subprocess.run(args, cwd=self.keys_dir, check=True,
		    capture_output=True, text=True, timeout=60).stdout.strip()
		return os.path.join(self.keys_dir, out.splitlines()[-1])

	def _build_zone(self, z):
		base = "root" if z.name == "." else z.name.rstrip(".")
		plain = os.path.join(self.zones_dir, base + ".zone")
		with open(plain, "w") as f:
			f.write(self._zone_text(z))
		if not z.signed:
			z.file = plain
			z.ds = []
			return
		ksk = self._keygen(z, True)
		zsk = self._keygen(z, False)
		now = int(time.time())
		if z.bogus == "expired":
			# Beyond unbound's largest clock skew allowance (1 day).
			inception = now - 40 * 86400
			expiration = now - 3 * 86400
		else:
			inception, expiration = now - 3600, now + 30 * 86400
		signed = plain + ".signed"
		subprocess.run([LDNS_SIGNZONE, "-o", z.name, "-f", signed,
		    "-i", _stamp(inception), "-e", _stamp(expiration), plain,
		    ksk, zsk], check=True, capture_output=True, timeout=60)
		if z.bogus is True:
			_break_signatures(signed)
		ds = subprocess.run([LDNS_KEY2DS, "-n", "-2", ksk + ".key"],
		    check=True, capture_output=True, text=True,
		    timeout=60).stdout.strip()
		z.ds = [l for l in ds.splitlines() if l.strip()]
		z.file = signed
		if z.name == ".":
			with open(self.trust_anchor_path, "w") as f:
				f.write("\n".join(z.ds) + "\n")

	# ---- nsd --------------------------------------------------------

	def _write_nsd_conf(self):
		d = self.dir
		lines = ["server:",
		    "\tip-address: %s@%d" % (self.server_address, self.port),
		    "\tport: %d" % self.port,
		    "\tdo-ip4: yes", "\tdo-ip6: no",
		    "\tusername: \"\"", "\tchroot: \"\"",
		    "\tzonesdir: \"%s\"" % self.zones_dir,
		    "\tdatabase: \"\"",
		    "\tpidfile: \"%s/nsd.pid\"" % d,
		    "\txfrdfile: \"%s/xfrd.state\"" % d,
		    "\tzonelistfile: \"%s/zone.list\"" % d,
		    "\txfrdir: \"%s/xfr\"" % d,
		    "\tlogfile: \"%s\"" % self.log_path,
		    "\tserver-count: 1",
		    "\ttcp-count: 32",
		    "\treuseport: no",
		    "\thide-version: yes",
		    "\tidentity: \"sluice-test-world\"",
		    "\tverbosity: 1",
		    "\tzonefiles-write: 0",
		    "remote-control:", "\tcontrol-enable: no"]
		for z in self.zones.values():
			lines += ["zone:", "\tname: \"%s\"" % z.name,
			    "\tzonefile: \"%s\"" % z.file]
		with open(self.nsd_conf_path, "w") as f:
			f.write("\n".join(lines) + "\n")

	def _run_nsd(self):
		check = subprocess.run(["nsd-checkconf", self.nsd_conf_path],
		    capture_output=True, text=True, timeout=30)
		if check.returncode != 0:
			raise WorldError("nsd-checkconf: %s" %
			    (check.stderr + check.stdout))
		log = open(os.path.join(self.dir, "nsd.stderr"), "ab")
		try:
			self.proc = subprocess.Popen([NSD, "-d", "-c",
			    self.nsd_conf_path], stdin=subprocess.DEVNULL,
			    stdout=log, stderr=log, start_new_session=True,
			    preexec_fn=_die_with_parent)
		finally:
			log.close()
		deadline = time.monotonic() + START_TIMEOUT
		pending = set(self.zones)
		for _ in range(int(START_TIMEOUT / 0.05) + 1):
			if self.proc.poll() is not None:
				# Most likely the port was taken meanwhile.
				self.proc = None
				return False
			for n in list(pending):
				r = self.query(n, TYPE_SOA, timeout=0.2)
				if r is not None and r["aa"] and \
				    r["rcode"] == 0 and r["ancount"] > 0:
					pending.discard(n)
			if not pending:
				return True
			if time.monotonic() > deadline:
				break
			time.sleep(0.05)
		self.stop_nsd_only()
		raise WorldError("nsd did not serve %s within %.0fs; log:\n%s"
		    % (", ".join(sorted(pending)), START_TIMEOUT,
		    self.log_text()))

	def stop_nsd_only(self):
		"""Stop nsd but keep the directory (for a restart test)."""
		keep, self.keep = self.keep, True
		try:
			self.stop()
		finally:
			self.keep = keep

	def _write_resolver_files(self):
		with open(self.root_hints_path, "w") as f:
			f.write(". 3600000 IN NS ns.\nns. 3600000 IN A %s\n" %
			    self.server_address)
		safety = ["server:",
		    "\t# Never leave the machine: send from loopback only.",
		    "\toutgoing-interface: 127.0.0.1",
		    "\tdo-ip6: no",
		    "\tdo-not-query-localhost: no",
		    "\tlocal-zone: \"test.\" nodefault",
		    "\tlocal-zone: \"invalid.\" nodefault"]
		with open(self.safety_conf_path, "w") as f:
			f.write("\n".join(safety) + "\n")
		full = safety + ["\ttrust-anchor-file: \"%s\"" %
		    self.trust_anchor_path]
		for n in sorted(self.zones, key=lambda n: (n != ".", n)):
			full += ["stub-zone:", "\tname: \"%s\"" % n,
			    "\tstub-addr: %s" % self.addr_port(),
			    "\tstub-prime: no"]
		with open(self.unbound_conf_path, "w") as f:
			f.write("\n".join(full) + "\n")

	# ---- a tiny DNS client (readiness, and tests' own checks) --------

	def query(self, name, qtype, timeout=1.0):
		"""Ask nsd directly (no recursion, no validation). Returns a
		dict rcode, aa, ancount, or None without an answer."""
		qid = random.randrange(65536)
		msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + \
		    _wire_name(name) + struct.pack("!HH", qtype, 1)
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		try:
			s.settimeout(timeout)
			s.sendto(msg, (self.server_address, self.port))
			data = s.recv(65535)
		except OSError:
			return None
		finally:
			s.close()
		if len(data) < 12:
			return None
		rid, flags, _, an, ns, _ = struct.unpack("!HHHHHH", data[:12])
		if rid != qid:
			return None
		return {"rcode": flags & 0xf, "aa": bool(flags & 0x0400),
		    "ancount": an, "nscount": ns}


def _wire_name(name):
	out = b""
	for label in _fqdn(name).rstrip(".").split("."):
		if label:
			out += bytes([len(label)]) + label.encode()
	return out + b"\0"


def _stamp(t):
	return time.strftime("%Y%m%d%H%M%S", time.gmtime(t))


_RRSIG = re.compile(r"^(\S+\s+\d+\s+IN\s+RRSIG\s+)(\S+)(\s+.*\s)(\S+)$")


def _break_signatures(path):
	"""Flip one bit in every signature except over DNSKEY: the chain of
	trust holds, every answer from the zone fails to verify."""
	out = []
	with open(path) as f:
		for line in f:
			m = _RRSIG.match(line.rstrip("\n"))
			if m and m.group(2).upper() != "DNSKEY":
				sig = bytearray(base64.b64decode(m.group(4)))
				sig[len(sig) // 2] ^= 0x01
				line = m.group(1) + m.group(2) + m.group(3) + \
				    base64.b64encode(bytes(sig)).decode() + "\n"
			out.append(line)
	with open(path, "w") as f:
		f.writelines(out)


def _free_port(address):
	"""A port free for both UDP and TCP on address (it may be taken
	again before nsd binds it: start() retries)."""
	for _ in range(50):
		t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		try:
			t.bind((address, 0))
			port = t.getsockname()[1]
			try:
				u.bind((address, port))
			except OSError:
				continue
			return port
		finally:
			t.close()
			u.close()
	raise WorldError("no free port on %s" % address)


def _signal_group(p, sig):
	try:
		os.killpg(p.pid, sig)
	except (ProcessLookupError, PermissionError):
		pass


def _die_with_parent():
	"""In the child: SIGTERM when the test process dies, however."""
	try:
		libc = ctypes.CDLL(None, use_errno=True)
		libc.prctl(1, signal.SIGTERM)	# PR_SET_PDEATHSIG
	except (OSError, AttributeError):
		pass
