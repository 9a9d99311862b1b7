#!/bin/sh
# tests/run.sh: build Sluice and run the whole test suite, from a fresh
# clone or an existing build. Installs missing Debian packages first when
# run as root.
#
#   SLUICE_BUILD_DIR         build directory (default: build)
#   SLUICE_CONFIGURE_FLAGS   extra configure flags (e.g. --enable-sanitizers)
#
# The last line printed is "tests: N passed, N failed", counting every
# Criterion test case and every integration script.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${SLUICE_BUILD_DIR:-build}
case $builddir in /*) ;; *) builddir="$top/$builddir" ;; esac

need_deps=no
for tool in autoreconf pkg-config sqlite3 swaks; do
	command -v "$tool" >/dev/null 2>&1 || need_deps=yes
done
pkg-config --exists criterion libevent_openssl libunbound 2>/dev/null || need_deps=yes
if [ "$need_deps" = yes ]; then
	sh "$top/contrib/install-deps.sh"
fi

[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
mkdir -p "$builddir"
cd "$builddir"
if [ ! -f Makefile ]; then
	# shellcheck disable=SC2086
	"$top/configure" --enable-werror ${SLUICE_CONFIGURE_FLAGS:-}
fi
make -j2
status=0
make -j2 check || status=$?

# Count what ran: Criterion's synthesis line per unit test program, and
# one result per integration script.
passed=0
failed=0
for log in tests/unit/*.log; do
	[ -f "$log" ] || continue
	line=$(grep -a 'Synthesis:' "$log" | tail -n 1 || true)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		continue
	fi
	p=$(printf '%s\n' "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(printf '%s\n' "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(printf '%s\n' "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	passed=$((passed + p))
	failed=$((failed + f + c))
done
for trs in tests/integration/*.trs; do
	[ -f "$trs" ] || continue
	case $(sed -n 's/^:test-result: //p' "$trs") in
	PASS|XFAIL) passed=$((passed + 1)) ;;
	SKIP) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
if [ "$status" -ne 0 ]; then
	cat test-suite.log 2>/dev/null | tail -n 60
	[ "$failed" -gt 0 ] || failed=1
fi
echo "tests: $passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
