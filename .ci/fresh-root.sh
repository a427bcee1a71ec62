#!/usr/bin/env bash
# fresh-root.sh: the README's set-up on a fresh Debian 12, for real.
#
# Makes a new Debian 12 root with debootstrap (the default variant: no make,
# no git, no curl, no Go), clones this repository's HEAD into /root/scanwatch
# (a clean clone: what is not committed is not there), and in a chroot, as
# root with a fresh login's environment, runs what the README says:
#
#   apt-get update && apt-get install -y make
#   make run
#   make test
#
# and prints how long each step took. It needs root on a Debian-like machine
# that reaches a Debian mirror and the Go module proxy. The chroot shares
# this machine's kernel, /proc, /sys and /dev (the tests load eBPF programs
# and make network namespaces); all of it is unmounted, and the root
# removed, on exit (KEEP=1 keeps the root). See chroot-lib.sh for MIRROR,
# FRESH_DIR and FRESH_BASE.
#
#   sudo .ci/fresh-root.sh                 # make run, then make test
#   sudo .ci/fresh-root.sh 'make run'      # other steps, run in order
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/chroot-lib.sh"
root_enter_ns "$0" "$@"

[ "$(id -u)" = 0 ] || { echo "fresh-root.sh: run as root (debootstrap, chroot, mounts)" >&2; exit 1; }
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=("make run" "make test")

root=$(mktemp -d "${FRESH_DIR:-/var/tmp}/scanwatch-fresh.XXXXXX")
chmod 0755 "$root"
trap 'root_cleanup "$root"' EXIT
times=()
t0=$SECONDS
root_make "$root"
times+=("debootstrap (or copy): $((SECONDS - t0)) s")

git clone -q --no-local "$repo" "$root/root/scanwatch"
git -C "$root/root/scanwatch" checkout -q --detach "$(git -C "$repo" rev-parse HEAD)"
echo "== cloned $(git -C "$repo" rev-parse --short HEAD) into $root/root/scanwatch"
root_mount "$root"

run_step() {
	local t=$SECONDS rc=0
	echo "== [fresh root] $1"
	root_run "$root" "cd /root/scanwatch && $1" || rc=$?
	times+=("$1: $((SECONDS - t)) s (exit $rc)")
	return $rc
}

status=0
run_step "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make >/dev/null" || status=1
for s in "${steps[@]}"; do
	[ $status = 0 ] || break
	run_step "$s" || status=1
done
echo "== times"
printf '   %s\n' "${times[@]}"
exit $status
