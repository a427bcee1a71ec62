#!/usr/bin/env bash
# package-test.sh DEB: installs scanwatch's .deb in a fresh Debian 12 root
# (debootstrap, see chroot-lib.sh) with dpkg -i, as an administrator would,
# and checks what it installed there:
#   - scanwatch rules check /etc/scanwatch/rules.yaml
#   - the binary is static (it runs in a root with no Go and no libc of its choosing)
#   - systemd-analyze verify scanwatch.service, man page lookup included
#     (man-db is installed in the root for that), and its security score
#   - logrotate rotates /var/log/scanwatch/eve.json, and `create` gives the
#     new file the old one's owner and mode
#   - dpkg -r removes it and keeps the conffiles; dpkg -P purges them
# Needs root. `make package-test` builds the .deb and runs this.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/chroot-lib.sh"
root_enter_ns "$0" "$@"

deb=${1:?usage: package-test.sh DEB}
[ -f "$deb" ] || { echo "$deb: no such file" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "package-test.sh: run as root (debootstrap, chroot)" >&2; exit 1; }

root=$(mktemp -d "${FRESH_DIR:-/var/tmp}/scanwatch-pkg.XXXXXX")
chmod 0755 "$root"
trap 'root_cleanup "$root"' EXIT
root_make "$root"
root_mount "$root"
cp "$deb" "$root/tmp/scanwatch.deb"

root_run "$root" '
set -eu
step() { echo "== [clean root] $*"; }
step "apt-get install man-db (so that systemd-analyze verify finds the man page)"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends man-db >/dev/null
command -v go >/dev/null && { echo "go in the clean root: not clean"; exit 1; } || true

step "dpkg -i scanwatch.deb"
dpkg -i /tmp/scanwatch.deb
dpkg -L scanwatch

step "scanwatch rules check /etc/scanwatch/rules.yaml"
scanwatch rules check /etc/scanwatch/rules.yaml

step "the binary is static"
if grep -q "/lib64/ld-linux\|/lib/ld-linux" /usr/bin/scanwatch; then echo "/usr/bin/scanwatch names a dynamic loader"; exit 1; fi
scanwatch rules default | cmp - /etc/scanwatch/rules.yaml

step "systemd-analyze verify scanwatch.service"
out=$(systemd-analyze verify scanwatch.service 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "$out"; exit 1; }
systemd-analyze security --offline=yes --threshold=25 /lib/systemd/system/scanwatch.service | tail -n 1

step "man -w scanwatch"
man -w scanwatch

step "logrotate /etc/logrotate.d/scanwatch, with the log directory as DynamicUser= lays it out"
mkdir -p -m 0700 /var/log/private && mkdir -p -m 0750 /var/log/private/scanwatch
ln -sfn private/scanwatch /var/log/scanwatch
echo "{\"event_type\":\"stats\"}" > /var/log/scanwatch/eve.json
chown -R nobody:nogroup /var/log/private/scanwatch && chmod 0640 /var/log/scanwatch/eve.json
logrotate -v -f -s /tmp/logrotate.state /etc/logrotate.d/scanwatch 2>&1 | grep -E "error|renaming /var/log/scanwatch/eve.json to|creating new|running postrotate" || true
! logrotate -d -f -s /tmp/logrotate.state /etc/logrotate.d/scanwatch 2>&1 | grep -i error
grep -q stats /var/log/scanwatch/eve.json.1
[ -e /var/log/scanwatch/eve.json ] && [ ! -s /var/log/scanwatch/eve.json ]
[ "$(stat -c "%U:%G %a" /var/log/scanwatch/eve.json)" = "nobody:nogroup 640" ]

step "dpkg -r keeps the conffiles, dpkg -P removes them"
dpkg -r scanwatch >/dev/null
[ ! -e /usr/bin/scanwatch ] && [ -e /etc/scanwatch/rules.yaml ]
dpkg -P scanwatch >/dev/null
[ ! -e /etc/scanwatch/rules.yaml ] && [ ! -e /lib/systemd/system/scanwatch.service ]
echo "package-test: ok"
'
