#!/usr/bin/env bash
# Fresh-machine check: do the README's two commands work on a Debian 12 machine that has never
# seen pollbench? Builds a minimal Debian 12 root filesystem with debootstrap (once, cached),
# copies it, clones this repository's HEAD into the copy and, chrooted there, runs
#   ./pollbench test && ./pollbench run --quick
# exactly as a new user would. Needs root and access to Debian's package mirror; takes
# 10-20 minutes, so CI does not run it. The transcript goes to <workdir>/transcript.log.
#
# Usage: sudo tools/fresh-machine-check.sh [WORKDIR]   (default /var/tmp/pollbench-fresh)
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
WORK="${1:-/var/tmp/pollbench-fresh}"
BASE="$WORK/base"
ROOTFS="$WORK/rootfs"
LOG="$WORK/transcript.log"

die() { echo "fresh-machine-check: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot)"
mkdir -p "$WORK"

if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap \
    || die "cannot install debootstrap"
fi
if [ ! -x "$BASE/usr/bin/dpkg" ]; then
  echo "fresh-machine-check: debootstrap bookworm (minbase) into $BASE"
  debootstrap --variant=minbase bookworm "$BASE" http://deb.debian.org/debian >"$WORK/debootstrap.log" \
    || die "debootstrap failed (see $WORK/debootstrap.log)"
fi

cleanup() {
  for m in dev/pts dev sys proc; do umount -l "$ROOTFS/$m" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "fresh-machine-check: fresh copy of the base system in $ROOTFS"
cleanup
rm -rf "$ROOTFS"
cp -a "$BASE" "$ROOTFS"
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
git clone -q "$REPO" "$ROOTFS/root/pollbench"
mount -t proc proc "$ROOTFS/proc"
mount -t sysfs sys "$ROOTFS/sys"
mount --bind /dev "$ROOTFS/dev"
mount --bind /dev/pts "$ROOTFS/dev/pts"

echo "fresh-machine-check: running the README's commands in the chroot (transcript: $LOG)"
set +e
chroot "$ROOTFS" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  TERM=dumb /bin/bash -c 'cd /root/pollbench && ./pollbench test && ./pollbench run --quick' \
  >"$LOG" 2>&1
rc=$?
set -e
tail -n 25 "$LOG"
echo "fresh-machine-check: exit status $rc"
exit "$rc"
