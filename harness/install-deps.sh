#!/bin/sh
# Install the Debian packages pnbench needs, or say exactly what is missing.
# Called by `make deps` (and so by `make check` and `make bench`).
set -eu

PKGS="build-essential libjansson-dev libgsl-dev libhwloc-dev hwloc
libtracefs-dev libtraceevent-dev libatf-dev atf-sh kyua gnuplot-nox
qemu-system-x86 busybox-static cpio e2fsprogs kmod nettle-dev
clang libclang-rt-14-dev
parallel python3-jsonschema python3-yaml lava-common"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "pnbench: missing Debian packages:$missing" >&2
	echo "pnbench: install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "pnbench: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
