#!/usr/bin/env python3
"""The resolver (src/dns) against a private DNS world on loopback
(tests/world): each answer's class (secure, insecure, bogus) and status
(ok, nodata, nxdomain, tempfail), the MX order of RFC 5321 5.1 with
shuffled ties, null MX, implicit MX, AAAA before A, CNAMEs, TLSA, a
lookup that times out, cancelled and abandoned lookups, and dnsq's
refusal to run with anything that could leave the machine.

dnsq is $DNSQ, else $top_builddir/tests/world/dnsq. Every query goes to
the world's nsd on 127.0.53.53; where strace is installed, one batch runs
under it and every address dnsq sent to is checked to be loopback."""
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "world"))
import sluice_harness as H
from sluice_harness import check, check_eq
import world as W

DNSQ = os.environ.get("DNSQ") or os.path.join(
    os.environ.get("top_builddir", "."), "tests", "world", "dnsq")
RUN_TIMEOUT = 60	# seconds for one dnsq run (its own deadline is less)

LINE = re.compile(r'^(mx|addrs|tlsa) (\S+) (.*?)(?: reason="((?:[^"\\]|'
    r'\\.)*)")?$')


def parse(out):
	"""{(kind, name): [fields, ...]} from dnsq's output lines."""
	res = {}
	for line in out.splitlines():
		m = LINE.match(line)
		if not m:
			continue
		f = dict(kv.split("=", 1) for kv in m.group(3).split())
		f["reason"] = m.group(4)
		res.setdefault((m.group(1), m.group(2)), []).append(f)
	return res


class Dnsq:
	def __init__(self, world, tmp):
		self.w = world
		self.tmp = tmp

	def args(self, extra=()):
		return [DNSQ, "--trust-anchor", self.w.trust_anchor_path] + \
		    self.w.stub_args() + list(extra)

	def run(self, queries, extra=(), prefix=(), env=None, expect_rc=0):
		r = subprocess.run(list(prefix) + self.args(extra) +
		    list(queries), capture_output=True, text=True,
		    timeout=RUN_TIMEOUT, env=env)
		if r.returncode != expect_rc or "error:" in r.stdout:
			print(r.stdout + r.stderr)
		check_eq(r.returncode, expect_rc, "dnsq %s exits %d" %
		    (" ".join(queries)[:60], expect_rc))
		check("error:" not in r.stdout, "dnsq reports no error")
		return parse(r.stdout), r

	def one(self, kind, name, extra=()):
		q = "%s:%s" % (kind, name)
		res, _ = self.run([q], extra)
		check_eq(len(res.get((kind, name), [])), 1, "one line for " + q)
		return res[(kind, name)][0]


def make_cert(tmp):
	key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
	subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
	    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
	    cert, "-days", "2", "-subj", "/CN=mx1.secure.test"], check=True,
	    capture_output=True, timeout=60)
	return cert


def test_classes(q):
	f = q.one("mx", "secure.test")
	check_eq((f["status"], f["sec"]), ("ok", "secure"), "secure MX")
	check_eq(f["mx"], "10:mx1.secure.test,20:mx2.secure.test",
	    "MX in preference order")
	check_eq(f["null_mx"] + f["implicit_mx"], "00", "neither null nor "
	    "implicit")

	f = q.one("mx", "insecure.test")
	check_eq((f["status"], f["sec"]), ("ok", "insecure"),
	    "unsigned delegation: insecure")
	check_eq(f["mx"], "10:mx.insecure.test", "insecure MX data")

	for name, why in (("bogus.test", "signature"),
	    ("expired.test", "expired")):
		f = q.one("mx", name)
		check_eq((f["status"], f["sec"]), ("tempfail", "bogus"),
		    name + ": bogus, deferred")
		check_eq(f["mx"], "", name + ": no data handed out")
		check(f["reason"] and why in f["reason"], "%s: reason says %s "
		    "(%s)" % (name, why, f["reason"]))
	f = q.one("addrs", "mx.bogus.test")
	check_eq((f["status"], f["sec"], f["addrs"]),
	    ("tempfail", "bogus", ""), "bogus addresses withheld")


def test_mx_shapes(q):
	f = q.one("mx", "nullmx.test")
	check_eq((f["status"], f["sec"], f["null_mx"], f["mx"]),
	    ("ok", "secure", "1", ""), "null MX flagged, no hosts")

	f = q.one("mx", "nomx.test")
	check_eq((f["status"], f["sec"], f["implicit_mx"]),
	    ("nodata", "secure", "1"), "no MX: implicit MX")
	f = q.one("addrs", "nomx.test")
	check_eq((f["status"], f["addrs"], f["aaaa"], f["a"]),
	    ("ok", "127.0.0.15", "nodata", "ok"), "the domain's own A")

	f = q.one("mx", "nosuch.test")
	check_eq((f["status"], f["sec"]), ("nxdomain", "secure"),
	    "NXDOMAIN, proven")
	f = q.one("addrs", "nosuch.secure.test")
	check_eq((f["status"], f["sec"]), ("nxdomain", "secure"),
	    "NXDOMAIN for a host")

	# Ties shuffled, preference order kept: 12 lookups of one RRset.
	res, _ = q.run(["mx:equal.test"] * 12)
	lines = res.get(("mx", "equal.test"), [])
	check_eq(len(lines), 12, "12 answers")
	orders = set()
	for f in lines:
		hosts = f["mx"].split(",")
		check_eq(hosts[0], "5:first.equal.test", "lowest preference "
		    "first")
		check_eq(sorted(hosts[1:]), ["10:a.equal.test",
		    "10:b.equal.test", "10:c.equal.test"], "the tie, complete")
		orders.add(f["mx"])
	check(len(orders) > 1, "equal preferences in %d orders" % len(orders))


def test_addrs_tlsa(q, cert):
	f = q.one("addrs", "dual.secure.test")
	check_eq((f["status"], f["sec"], f["addrs"]),
	    ("ok", "secure", "::1,127.0.0.18"), "AAAA first, then A")
	f = q.one("addrs", "alias.secure.test")
	check_eq((f["status"], f["canonical"], f["addrs"]),
	    ("ok", "mx1.secure.test", "127.0.0.11"), "CNAME followed")

	spki = W.spki_sha256(cert)
	f = q.one("tlsa", "mx1.secure.test")
	check_eq((f["status"], f["sec"], f["port"]), ("ok", "secure", "25"),
	    "TLSA secure")
	check_eq(f["tlsa"], "3:1:1:" + spki, "TLSA 3 1 1 of the certificate")
	f = q.one("tlsa", "mx.insecure.test")
	check_eq((f["status"], f["sec"]), ("ok", "insecure"),
	    "TLSA in an unsigned zone is insecure (DANE must ignore it)")
	f = q.one("tlsa", "mx.danebad.test")
	check_eq((f["sec"], f["tlsa"]), ("secure", "3:1:1:" + "00" * 32),
	    "mismatching TLSA, secure")
	f = q.one("tlsa", "mx2.secure.test")
	check_eq((f["status"], f["sec"]), ("nxdomain", "secure"),
	    "no TLSA (no such name): a secure denial")
	# The unbound config file the world writes works on its own too.
	f = q.one("mx", "secure.test", ["--config", q.w.unbound_conf_path])
	check_eq(f["sec"], "secure", "with the world's unbound.conf")


def test_failures(q):
	# A server that never answers: the lookup's own timeout.
	hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	try:
		hole.bind(("127.0.0.1", 0))
		stub = "dead.test=127.0.0.1@%d" % hole.getsockname()[1]
		res, _ = q.run(["mx:dead.test", "addrs:dead.test",
		    "drop:dead.test", "mx:secure.test", "cancel:secure.test",
		    "cancel:bogus.test"], ["--stub", stub, "--timeout", "2"])
	finally:
		hole.close()
	f = res[("mx", "dead.test")][0]
	check_eq((f["status"], f["reason"]), ("tempfail", "timeout"),
	    "no answer: tempfail after the timeout")
	f = res[("addrs", "dead.test")][0]
	check_eq((f["status"], f["aaaa"], f["a"]),
	    ("tempfail", "tempfail", "tempfail"), "both families time out")
	check_eq(len(res[("mx", "secure.test")]), 1,
	    "a cancelled lookup never calls back; the other one does")


def test_refusals(q):
	for args, what in (
	    (["--trust-anchor", q.w.trust_anchor_path, "mx:secure.test"],
		"no root given"),
	    (["--trust-anchor", q.w.trust_anchor_path, "--stub",
		".=192.0.2.1", "mx:secure.test"], "a root off loopback"),
	    (["--trust-anchor", q.w.trust_anchor_path, "--stub",
		".=127.0.53.53", "--forward", "192.0.2.1@53",
		"mx:secure.test"], "a forwarder off loopback")):
		r = subprocess.run([DNSQ] + args, capture_output=True,
		    text=True, timeout=RUN_TIMEOUT)
		check(r.returncode != 0 and r.stdout == "",
		    "dnsq refuses: " + what)
	hints = os.path.join(q.tmp, "bad.hints")
	with open(hints, "w") as f:
		f.write(". NS a.\na. A 198.51.100.1\n")
	r = subprocess.run([DNSQ, "--trust-anchor", q.w.trust_anchor_path,
	    "--root-hints", hints, "mx:secure.test"], capture_output=True,
	    text=True, timeout=RUN_TIMEOUT)
	check(r.returncode != 0 and r.stdout == "",
	    "dnsq refuses root hints off loopback")
	r = subprocess.run([DNSQ, "--trust-anchor", "/nonexistent/root.ds"] +
	    q.w.stub_args() + ["mx:secure.test"], capture_output=True,
	    text=True, timeout=RUN_TIMEOUT)
	check(r.returncode != 0 and "trust anchor" in r.stderr,
	    "a missing trust anchor fails at start")


def test_loopback_only(q):
	"""Under strace: every address dnsq sent to or bound is loopback."""
	strace = shutil.which("strace")
	if strace is None:
		print("# strace not installed: loopback check skipped")
		return
	log = os.path.join(q.tmp, "strace.log")
	env = dict(os.environ)
	env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
	q.run(["mx:secure.test", "mx:bogus.test", "addrs:dual.secure.test",
	    "tlsa:mx1.secure.test", "mx:nosuch.test", "mx:insecure.test"],
	    prefix=[strace, "-f", "-qq", "-o", log, "-e",
	    "trace=connect,sendto,sendmsg,sendmmsg,bind"], env=env)
	with open(log) as f:
		text = f.read()
	addrs = set(re.findall(r'inet_addr\("([0-9.]+)"\)', text))
	addrs |= set(re.findall(r'inet_pton\(AF_INET6, "([0-9a-f:.]+)"', text))
	check(addrs, "strace saw the queries")
	bad = [a for a in addrs if not ipaddress.ip_address(a).is_loopback and
	    a != "0.0.0.0"]
	check_eq(bad, [], "every address dnsq used is loopback")


def run():
	if not os.access(DNSQ, os.X_OK):
		H.skip("dnsq not built (%s)" % DNSQ)
	for tool in ("ldns-keygen", "ldns-signzone", "ldns-key2ds", "openssl"):
		if shutil.which(tool) is None:
			H.skip("%s not installed" % tool)
	if not os.access(W.NSD, os.X_OK):
		H.skip("nsd not installed")
	base = os.environ.get("SLUICE_TEST_TMP") or tempfile.gettempdir()
	os.makedirs(base, exist_ok=True)
	tmp = tempfile.mkdtemp(prefix="dns_resolver.", dir=base)
	ok = False
	try:
		cert = make_cert(tmp)
		with W.World(os.path.join(tmp, "world")) as w:
			w.add_standard_zones(cert_pem=cert)
			w.start()
			q = Dnsq(w, tmp)
			test_classes(q)
			test_mx_shapes(q)
			test_addrs_tlsa(q, cert)
			test_failures(q)
			test_refusals(q)
			test_loopback_only(q)
		ok = True
	finally:
		if ok and not os.environ.get("SLUICE_KEEP_TMP"):
			shutil.rmtree(tmp, ignore_errors=True)
		else:
			print("# scratch directory kept: %s" % tmp)


if __name__ == "__main__":
	H.main(run)
