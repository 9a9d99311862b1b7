#!/bin/sh
# demo.sh: install what Sluice needs, build it, and set up a demo in ./demo:
# a configuration on loopback high ports, a self-signed certificate, the
# databases with the domain demo.example and the user demo@demo.example
# (password "demo"). Everything lives in ./demo; remove it to start over.
#
#   contrib/demo.sh          set up (again) and start what is built
#   contrib/demo.sh stop     stop the demo daemons
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
demo="$top/demo"
build="$top/build"

demo_stop() {
	for pid in "$demo"/run/*.pid; do
		[ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
	done
	# Wait (bounded) for the daemons to go.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		ls "$demo"/run/*.pid >/dev/null 2>&1 || break
		sleep 1
	done
	rm -f "$demo"/run/*.pid
}

if [ "${1:-}" = stop ]; then
	demo_stop
	exit 0
fi

command -v autoreconf >/dev/null 2>&1 && pkg-config --exists libunbound criterion 2>/dev/null ||
	sh "$top/contrib/install-deps.sh"
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
mkdir -p "$build"
(cd "$build" && { [ -f Makefile ] || "$top/configure"; } && make -j2)

demo_stop
mkdir -p "$demo/state" "$demo/run" "$demo/tls"
# Workers never run as root: as root, the demo runs them as nobody.
if [ "$(id -u)" -eq 0 ]; then
	run_user=nobody
	run_group=$(id -gn nobody 2>/dev/null || echo nogroup)
else
	run_user=$(id -un)
	run_group=$(id -gn)
fi
if [ ! -f "$demo/tls/cert.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$demo/tls/key.pem" -out "$demo/tls/cert.pem" 2>/dev/null
	chmod 600 "$demo/tls/key.pem"
fi
cat >"$demo/sluice.conf" <<CONF
# Demo configuration written by contrib/demo.sh: loopback only, high ports.
hostname = localhost
state_dir = $demo/state
run_dir = $demo/run
user = $run_user
group = $run_group
log = stderr
tls_cert = $demo/tls/cert.pem
tls_key = $demo/tls/key.pem
policy_file = $top/policy/default.policy
listen = mx 127.0.0.1:2525
listen = submission 127.0.0.1:2587
listen = submissions 127.0.0.1:2465
listen = local $demo/run/smtp.sock
listen = imap 127.0.0.1:2143
listen = imaps 127.0.0.1:2993
listen = pop3 127.0.0.1:2110
listen = pop3s 127.0.0.1:2995
# The demo never looks anything up past this machine: "." goes to a
# loopback port where nothing answers, so mail for other domains is
# deferred with a DNS error. Remove these lines to deliver for real.
dns_stub_zones = .=127.0.0.1@9
CONF

ctl() { "$build/sluicectl" -c "$demo/sluice.conf" "$@"; }
ctl init >/dev/null
ctl domain list | grep -q '^demo.example ' || ctl domain add demo.example local
ctl user list demo.example | grep -q '^demo@demo.example ' ||
	echo demo | ctl user add demo@demo.example

[ "$(id -u)" -eq 0 ] && chown -R "$run_user:$run_group" "$demo/state" "$demo/run"
started=""
for daemon in sluiced sluice-mboxd; do
	if [ -x "$build/$daemon" ]; then
		# The daemons write their own pid files into run/.
		"$build/$daemon" -c "$demo/sluice.conf" -d >"$demo/$daemon.log" 2>&1 &
		started="$started $daemon"
	fi
done
# Wait (bounded) until sluiced answers on the submission port.
if [ -x "$build/sluiced" ]; then
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		python3 -c 'import socket; socket.create_connection(("127.0.0.1", 2587), 1).close()' \
			2>/dev/null && break
		sleep 1
	done
fi

cat <<MSG

Sluice demo in $demo
  configuration: $demo/sluice.conf
  databases:     $demo/state (try: sqlite3 $demo/state/directory.db 'select * from user_overview')
  user:          demo@demo.example, password "demo"
  listeners:     mx 127.0.0.1:2525, submission 2587, submissions 2465,
                 imap 2143, imaps 2993, pop3 2110, pop3s 2995
MSG
if [ -n "$started" ]; then
	echo "  started:      $started (logs in $demo/*.log; stop with: contrib/demo.sh stop)"
else
	echo "  daemons:       not built yet: this stage of Sluice has sluicectl and the"
	echo "                 databases; sluiced and sluice-mboxd arrive with the next issues."
fi
