# chroot-lib.sh: a fresh Debian 12 root in a folder, and commands run in it
# as root, for .ci/fresh-root.sh and .ci/package-test.sh (sourced, bash).
#
# The caller runs in a mount namespace of its own (root_enter_ns), so every
# mount made for the root, and every network namespace the tests bind under
# its /run/netns, goes away with it; root_cleanup unmounts them anyway and
# ends the processes still running in the root.
#
# Environment:
#   MIRROR       Debian mirror (default: the one this machine's apt uses)
#   FRESH_DIR    where roots are made (default /var/tmp)
#   FRESH_BASE   an untouched debootstrap root to copy instead of running
#                debootstrap again (reruns; the copy is as fresh)
#   KEEP=1       keep the root afterwards

# root_enter_ns "$0" "$@": re-runs the calling script in a new mount
# namespace whose mounts do not propagate back to this one.
root_enter_ns() {
	if [ -z "${SCANWATCH_CHROOT_NS:-}" ]; then
		export SCANWATCH_CHROOT_NS=1
		exec unshare --mount --propagation slave -- bash "$@"
	fi
}

# debian_mirror prints the Debian mirror in this machine's apt sources.
debian_mirror() {
	if [ -n "${MIRROR:-}" ]; then
		echo "$MIRROR"
		return
	fi
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' | grep -oE 'https?://[^[:space:]]+/debian/?' | head -n1 || true)
	echo "${m:-http://deb.debian.org/debian}"
}

# root_make DIR: debootstrap bookworm into DIR (the default variant: what a
# new Debian 12 install has, without make, git, curl or Go), or copy
# FRESH_BASE; apt sources as a real install has them (updates, security).
root_make() {
	local root=$1 mirror t0
	mirror=$(debian_mirror)
	mirror=${mirror%/}
	if [ -n "${FRESH_BASE:-}" ]; then
		echo "== copying $FRESH_BASE (a debootstrap root) to $root"
		cp -a "$FRESH_BASE/." "$root/"
	else
		command -v debootstrap >/dev/null || "$(dirname "${BASH_SOURCE[0]}")/apt-missing" "to make a fresh Debian root" debootstrap=debootstrap
		echo "== debootstrap bookworm $root $mirror"
		t0=$SECONDS
		debootstrap bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
			{ tail -n 20 "$root.debootstrap.log"; return 1; }
		echo "== debootstrap took $((SECONDS - t0)) s"
	fi
	{
		echo "deb $mirror bookworm main"
		echo "deb $mirror bookworm-updates main"
		case $mirror in */debian) echo "deb ${mirror}-security bookworm-security main" ;; esac
	} >"$root/etc/apt/sources.list"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	# The certificate authorities this machine's administrator added (a
	# network that inspects TLS needs them): the root's ca-certificates
	# package takes them in when it is installed, as it does on a new
	# machine of that network. None here: nothing is copied.
	if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
		mkdir -p "$root/usr/local/share/ca-certificates"
		cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
	fi
}

# root_mount DIR: DIR bound on itself, /proc, /sys and /dev from this machine (the tests load
# eBPF and make network namespaces and veths), an empty /run and /tmp.
root_mount() {
	local root=$1
	# The root is a mount point of its own: `ip -n NS` runs
	# `mount --make-rslave /`, which fails on a plain folder.
	mount --bind "$root" "$root"
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --make-rslave "$root/sys"
	mount --rbind /dev "$root/dev"
	mount --make-rslave "$root/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$root/run"
	# ip netns binds each namespace under /run/netns, a shared mount of its own.
	mkdir -p "$root/run/netns" "$root/run/lock"
	mount --bind "$root/run/netns" "$root/run/netns"
	mount --make-shared "$root/run/netns"
}

# root_run DIR COMMAND: runs COMMAND with bash in the root, as root, with the
# environment of a fresh login (nothing from this machine's Go or PATH).
root_run() {
	local root=$1
	shift
	env -i HOME=/root TERM=dumb LANG=C.UTF-8 USER=root LOGNAME=root SHELL=/bin/bash \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		chroot "$root" /bin/bash -c "$*"
}

# root_cleanup DIR: ends what still runs in the root, unmounts, removes it
# (unless KEEP=1).
root_cleanup() {
	local root=$1 p pids
	[ -d "$root" ] || return 0
	for sig in TERM KILL; do
		pids=""
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && pids="$pids ${p#/proc/}"
		done
		[ -z "$pids" ] && break
		kill -s "$sig" $pids 2>/dev/null || true
		sleep 1
	done
	if [ -d "$root/run/netns" ]; then
		for p in "$root"/run/netns/*; do
			[ -e "$p" ] && umount "$p" 2>/dev/null || true
		done
	fi
	if mountpoint -q "$root"; then
		umount -R "$root" 2>/dev/null || umount -R -l "$root" || true
	fi
	if [ "${KEEP:-}" = 1 ]; then
		echo "== kept $root"
	else
		rm -rf --one-file-system "$root" "$root.debootstrap.log"
	fi
}
