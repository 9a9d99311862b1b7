# lib.sh: helpers for integration scripts (sourced, POSIX sh).
# Each script gets its own scratch directory under $SLUICE_TEST_TMP, removed
# on exit, and fails with a message on the first broken expectation.
set -eu
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
SQLITE3=${SQLITE3:-sqlite3}
SLUICECTL="$top_builddir/sluicectl"
name=$(basename "$0" .sh)
mkdir -p "${SLUICE_TEST_TMP:-/tmp}"
T=$(mktemp -d "${SLUICE_TEST_TMP:-/tmp}/$name.XXXXXX")
trap 'rm -rf "$T"' EXIT
checks=0

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	checks=$((checks + 1))
	echo "ok $checks - $*"
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: expected [$2], got [$1]"
	ok "$3"
}

# expect_status STATUS WHAT COMMAND...: run COMMAND, compare exit status.
expect_status() {
	want=$1
	what=$2
	shift 2
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want; stderr: $(cat "$T/err")"
	ok "$what"
}

# expect_match FILE PATTERN WHAT: grep -E PATTERN in FILE.
expect_match() {
	grep -Eq -- "$2" "$1" || fail "$3: /$2/ not in $(cat "$1")"
	ok "$3"
}

sql() {
	"$SQLITE3" -batch -noheader "$@"
}
