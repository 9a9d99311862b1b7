#!/bin/sh
# install-deps.sh: install every Debian package Sluice needs to build, test
# and fuzz. Run as root (or through sudo) on Debian 12 or newer.
set -eu
PACKAGES="
	build-essential autoconf automake libtool pkg-config
	libssl-dev libevent-dev libunbound-dev libsqlite3-dev libcrypt-dev
	libcriterion-dev
	clang libclang-rt-dev
	sqlite3 python3 swaks openssl curl
	nsd ldnsutils dns-root-data
"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo "$0" "$@"
	fi
	echo "install-deps.sh: run me as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# nsd is for the tests' private DNS world: its system instance stays off.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
fi
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $PACKAGES
