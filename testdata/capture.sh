#!/usr/bin/env bash
# capture.sh: make the golden test captures in testdata/ from REAL scanners and benign clients.
#
#   sudo testdata/capture.sh                 # make every capture
#   sudo testdata/capture.sh nmap_sS masscan # (re)make only these (names without .pcap)
#   testdata/capture.sh --list               # print the capture names
#   SWCAP_OUT=/tmp/try sudo testdata/capture.sh   # write somewhere else (trial run)
#
# Needs root and: nmap masscan hping3 tcpdump iproute2 socat curl python3 (Debian 12:
#   apt-get install -y nmap masscan hping3 tcpdump iproute2 ethtool socat ncat curl python3);
#   zmap_sweep also needs zmap, arp_scan arp-scan, windows_like_* nft (apt-get install -y zmap
#   arp-scan nftables).
#
# Network (nothing else is reachable: no default routes, only these on-link subnets):
#
#   netns swcap-atk                          netns swcap-tgt
#   swcap-a 02:77:00:00:00:02  <-- veth -->  swcap-t 02:77:00:00:00:10
#   10.77.0.2/24  fd77::2/64                 10.77.0.10/24 fd77::10/64
#                                            10.77.0.11 .. 10.77.0.40 (/32 extras, same iface)
#
# Target services: TCP 22 (SSH banner), 80 + 8080 (python http.server, all addresses),
# 443 (socat, answers a line); UDP 53 (DNS-ish responder), 161 (UDP echo); SCTP 9999
# (kernel SCTP via ncat if the kernel has it, else a userspace raw-socket responder that
# answers INIT with INIT-ACK on 9999 and ABORT elsewhere).
# Each capture is taken on the TARGET side (swcap-t) with tcpdump -s 128 -U, ARP included;
# neighbour caches are flushed before each capture so each one starts with ARP/ND.
set -euo pipefail

ATK=swcap-atk TGT=swcap-tgt
VA=swcap-a VT=swcap-t
MAC_A=02:77:00:00:00:02 MAC_T=02:77:00:00:00:10
IP_A=10.77.0.2 IP_T=10.77.0.10 IP6_A=fd77::2 IP6_T=fd77::10
SNAPLEN=128
SETTLE=${SETTLE:-2}            # seconds to keep capturing after the tool exits
ICMP_RATELIMIT_MS=${ICMP_RATELIMIT_MS:-1000}   # target's net.ipv4.icmp_ratelimit (Linux default 1000)
PY=/usr/bin/python3

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${SWCAP_OUT:-$HERE}     # SWCAP_OUT=/some/dir: write the captures there instead (trial runs)
HELPERS=$HERE/capture_helpers.py
LOGDIR=$OUT/capture_logs    # what each tool printed (nmap's port table etc.), for the README

ALL=(
  nmap_sS nmap_sT nmap_sF nmap_sN nmap_sX nmap_sA nmap_sW nmap_sM nmap_sU nmap_sO nmap_sY
  nmap_sn nmap_sS6 nmap_scanflags nmap_horizontal
  masscan
  hping3_syn hping3_fin hping3_scan
  benign_http benign_dns benign_closed_retry benign_midstream benign_services
  nmap_decoy nmap_distributed nmap_frag nmap_mtu16 nmap_srcport53 nmap_sU_srcport53 nmap_O
  arp_sweep arp_scan masscan_sweep zmap_sweep connect_loop windows_like_fin windows_like_xmas
  nmap_T1_short nd_sweep6
)
# extra attacker addresses for nmap_distributed (added for that capture only)
IP_A2=10.77.0.3 IP_A3=10.77.0.4
# nmap -D decoys: inside 10.77.0.0/24, assigned to nobody
DECOYS=10.77.0.50,10.77.0.51,ME,10.77.0.52
# 40 distinct open TCP services for benign_services (none of them used by the base services)
SERVICE_PORTS=(21 23 25 110 111 135 139 143 389 445 465 587 993 995 1433 1521 1723 2049 2181
  3000 3306 3389 5000 5432 5672 5900 6379 6443 7001 8000 8081 8443 8888 9000 9090 9092 9200
  9300 11211 27017)
STREAM_PORTS=(5001 5002 5003 5004 5005 5006 5007 5008 5009 5010)

log() { printf '[capture] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

atk() { ip netns exec "$ATK" "$@"; }
tgt() { ip netns exec "$TGT" "$@"; }

TMP=""
declare -A CAP_PIDS=()  # capture name -> its tcpdump pid (several may run at once)
EXTRA_PIDS=()
EXTRA_NS=()             # more namespaces (capture_issue9.sh adds its own), removed on exit

kill_ns_procs() { # kill the processes living in one of OUR namespaces (all started by us)
  local ns=$1 pids
  ip netns list 2>/dev/null | grep -qw "^$ns" || return 0
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill $pids 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] || return 0
    sleep 0.2
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

teardown() {
  local ns
  for ns in "$ATK" "$TGT" "${EXTRA_NS[@]}"; do
    kill_ns_procs "$ns"
    if ip netns list 2>/dev/null | grep -qw "^$ns"; then ip netns del "$ns" || true; fi
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  teardown
  [ -n "$TMP" ] && rm -rf "$TMP"
  rm -f "$OUT"/.*.pcap.tmp "$OUT"/issue9/.*.pcap.tmp
  if [ $rc -ne 0 ]; then log "failed (exit $rc); namespaces removed"; fi
  exit $rc
}

setup() {
  teardown # idempotent: remove leftovers of an earlier (interrupted) run
  TMP=$(mktemp -d /tmp/swcap.XXXXXX)
  chmod 755 "$TMP"
  ip netns add "$ATK"
  ip netns add "$TGT"
  for ns in "$ATK" "$TGT"; do
    ip -n "$ns" link set lo up
    # quiet, deterministic links: no router solicitations, no IPv6 autoconf surprises
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
      net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
  done
  ip link add "$VA" netns "$ATK" address "$MAC_A" type veth peer name "$VT" netns "$TGT" address "$MAC_T"
  ip netns exec "$TGT" sysctl -qw net.ipv4.icmp_ratelimit="$ICMP_RATELIMIT_MS"
  ip -n "$ATK" addr add "$IP_A/24" dev "$VA"
  ip -n "$ATK" addr add "$IP6_A/64" dev "$VA" nodad
  ip -n "$TGT" addr add "$IP_T/24" dev "$VT"
  ip -n "$TGT" addr add "$IP6_T/64" dev "$VT" nodad
  for i in $(seq 11 40); do ip -n "$TGT" addr add "10.77.0.$i/32" dev "$VT"; done
  # no checksum/segmentation offload: the capture must look like the wire (correct
  # checksums, no >MTU GSO/GRO super-packets)
  ip netns exec "$ATK" ethtool -K "$VA" tx off tso off gso off gro off >/dev/null 2>&1 || die "ethtool -K $VA failed"
  ip netns exec "$TGT" ethtool -K "$VT" tx off tso off gso off gro off >/dev/null 2>&1 || die "ethtool -K $VT failed"
  ip -n "$ATK" link set "$VA" up
  ip -n "$TGT" link set "$VT" up
  # guard: no route leads anywhere but the capture subnets
  if ip -n "$ATK" route show default | grep -q . || ip -n "$TGT" route show default | grep -q .; then
    die "unexpected default route in a capture namespace"
  fi

  # --- target services
  mkdir -p "$TMP/www/static"
  printf '<html><head><title>scanwatch test</title></head><body><h1>It works</h1></body></html>\n' >"$TMP/www/index.html"
  printf 'body { font-family: sans-serif; }\n' >"$TMP/www/static/style.css"
  printf '{"status":"ok","items":[1,2,3]}\n' >"$TMP/www/data.json"
  head -c 3000 /dev/zero | tr '\0' 'a' >"$TMP/www/static/big.txt"
  ip netns exec "$TGT" socat TCP6-LISTEN:22,fork,reuseaddr,ipv6only=0 SYSTEM:"printf 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'; sleep 1" >"$TMP/ssh.log" 2>&1 &
  ip netns exec "$TGT" socat TCP6-LISTEN:443,fork,reuseaddr,ipv6only=0 SYSTEM:"read -t 2 l; printf 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'" >"$TMP/443.log" 2>&1 &
  ip netns exec "$TGT" "$PY" -m http.server 80 --bind :: --directory "$TMP/www" >"$TMP/http80.log" 2>&1 &
  ip netns exec "$TGT" "$PY" -m http.server 8080 --bind :: --directory "$TMP/www" >"$TMP/http8080.log" 2>&1 &
  ip netns exec "$TGT" "$PY" "$HELPERS" dns-server "$IP_T" 53 >"$TMP/dns.log" 2>&1 &
  ip netns exec "$TGT" "$PY" "$HELPERS" udp-echo "$IP_T" 161 >"$TMP/snmp.log" 2>&1 &
  if tgt "$PY" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)' 2>/dev/null; then
    SCTP_MODE="kernel SCTP (ncat --sctp -l -k 9999)"
    ip netns exec "$TGT" ncat --sctp -l -k 9999 --sh-exec 'echo sctp-hello' >"$TMP/sctp.log" 2>&1 &
  else
    SCTP_MODE="userspace responder (kernel has no SCTP)"
    ip netns exec "$TGT" "$PY" "$HELPERS" sctp-responder "$IP_T" 9999 >"$TMP/sctp.log" 2>&1 &
  fi
  log "SCTP on target: $SCTP_MODE"
  for p in 22 80 443 8080; do wait_port "$IP_T" "$p"; done
  atk curl -s -o /dev/null --max-time 3 "http://$IP_T/" || die "attacker cannot reach target"
  atk curl -s -o /dev/null --max-time 3 "http://[$IP6_T]/" || die "attacker cannot reach target over IPv6"
  sleep 2 # let link-up chatter (MLD reports, link-local DAD) pass before the first capture
}

wait_port() { # host port: wait until a TCP listener answers (probe from the target itself)
  local i
  for i in $(seq 1 50); do
    if tgt bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "service $1:$2 did not come up"
}

flush_neigh() {
  ip -n "$ATK" neigh flush dev "$VA" 2>/dev/null || true
  ip -n "$TGT" neigh flush dev "$VT" 2>/dev/null || true
}

pcap_dir() { # name: where a capture goes (issue-9 captures live in issue9/, out of the golden globs)
  if [[ " ${ISSUE9[*]:-} ${ISSUE9_SIDE[*]:-} " == *" $1 "* ]]; then echo "$OUT/issue9"; else echo "$OUT"; fi
}

start_capture() { # name [netns iface snaplen]: default the target's side of the A-T link
  local name=$1 ns=${2:-$TGT} ifc=${3:-$VT} snap=${4:-$SNAPLEN} dir i
  dir=$(pcap_dir "$name")
  flush_neigh
  rm -f "$dir/.$name.pcap.tmp"
  ip netns exec "$ns" tcpdump -i "$ifc" -n -s "$snap" -U -Z root -w "$dir/.$name.pcap.tmp" >"$TMP/tcpdump.$name.log" 2>&1 &
  CAP_PIDS[$name]=$!
  for i in $(seq 1 50); do
    grep -q 'listening on' "$TMP/tcpdump.$name.log" 2>/dev/null && break
    kill -0 "${CAP_PIDS[$name]}" 2>/dev/null || die "tcpdump failed: $(cat "$TMP/tcpdump.$name.log")"
    sleep 0.1
  done
  sleep 0.5
}

stop_capture() { # name...: stop these captures (SETTLE s after the tool) and move them in place
  local name dir
  sleep "$SETTLE"
  for name in "$@"; do
    kill -INT "${CAP_PIDS[$name]}"
    wait "${CAP_PIDS[$name]}" || true
    unset "CAP_PIDS[$name]"
    dir=$(pcap_dir "$name")
    mv -f "$dir/.$name.pcap.tmp" "$dir/$name.pcap"
    if [ -f "$TMP/$name.txt" ]; then mv -f "$TMP/$name.txt" "$dir/capture_logs/$name.txt"; fi
    log "$name.pcap: $(tcpdump -nr "$dir/$name.pcap" 2>/dev/null | wc -l) packets, $(stat -c %s "$dir/$name.pcap") bytes"
  done
}

capture() { # name cmd... : run cmd in the attacker namespace while capturing
  local name=$1; shift
  log "$name: $*"
  start_capture "$name"
  { printf '$'; printf ' %q' "$@"; printf '\n'; } >"$TMP/$name.txt"
  # run in the background and wait, so a signal to this script is handled at once
  ip netns exec "$ATK" "$@" >>"$TMP/$name.txt" 2>&1 &
  local rc=0
  wait $! || rc=$?
  if [ $rc -gt 128 ]; then exit $rc; fi # the tool died of a signal (Ctrl-C): just clean up
  if [ $rc -ne 0 ]; then cat "$TMP/$name.txt" >&2; die "$name: command failed (exit $rc)"; fi
  stop_capture "$name"
}

NMAP=(nmap -n -T4 -e "$VA")

cap_nmap_sS()        { capture nmap_sS "${NMAP[@]}" -sS -p 1-1024 "$IP_T"; }
cap_nmap_sT()        { capture nmap_sT "${NMAP[@]}" -sT -p 1-1024 "$IP_T"; }
cap_nmap_sF()        { capture nmap_sF "${NMAP[@]}" -sF -p 1-1024 "$IP_T"; }
cap_nmap_sN()        { capture nmap_sN "${NMAP[@]}" -sN -p 1-1024 "$IP_T"; }
cap_nmap_sX()        { capture nmap_sX "${NMAP[@]}" -sX -p 1-1024 "$IP_T"; }
cap_nmap_sA()        { capture nmap_sA "${NMAP[@]}" -sA -p 1-1024 "$IP_T"; }
cap_nmap_sW()        { capture nmap_sW "${NMAP[@]}" -sW -p 1-1024 "$IP_T"; }
cap_nmap_sM()        { capture nmap_sM "${NMAP[@]}" -sM -p 1-1024 "$IP_T"; }
cap_nmap_sU()        { capture nmap_sU "${NMAP[@]}" -sU --top-ports 100 "$IP_T"; }
cap_nmap_sO()        { capture nmap_sO "${NMAP[@]}" -sO "$IP_T"; }
cap_nmap_sY()        { capture nmap_sY "${NMAP[@]}" -sY -p 1-1024,9999 "$IP_T"; }
cap_nmap_sn()        { capture nmap_sn "${NMAP[@]}" -sn --disable-arp-ping 10.77.0.10-40; }
cap_nmap_sS6()       { capture nmap_sS6 "${NMAP[@]}" -6 -sS -p 1-1024 "$IP6_T"; }
cap_nmap_scanflags() { capture nmap_scanflags "${NMAP[@]}" --scanflags SYNFIN -p 1-1024 "$IP_T"; }
cap_nmap_horizontal(){ capture nmap_horizontal "${NMAP[@]}" -sS -Pn -p 22,80 10.77.0.10-40; }

run_masscan() { # name masscan-args... : masscan bounded by a timeout, run from $TMP
  # masscan 1.3.2 sometimes never exits after its --wait (receive thread stuck, "waiting
  # -N-secs"): bound it. The scan itself takes ~0.5 s + 3 s wait. Run from $TMP so a
  # stopped masscan cannot leave paused.conf in the caller's directory.
  local name=$1; shift
  capture "$name" bash -c 'cd "$1" && shift && timeout -s INT -k 3 20 "$@"; rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo "(masscan did not exit by itself: stopped after 20 s)"; rc=0; fi
    exit $rc' masscan-wrapper "$TMP" \
    masscan "$@" --wait 3 \
    --adapter "$VA" --adapter-ip "$IP_A" --adapter-mac "$MAC_A" --router-mac "$MAC_T"
}

cap_masscan()       { run_masscan masscan "$IP_T" -p1-1000 --rate 2000; }
cap_masscan_sweep() { run_masscan masscan_sweep 10.77.0.10-10.77.0.40 -p80,443 --rate 1000; }

cap_hping3_syn()  { capture hping3_syn  hping3 -I "$VA" -S -p ++1 -c 200 -i u5000 "$IP_T"; }
cap_hping3_fin()  { capture hping3_fin  hping3 -I "$VA" -F -p ++1 -c 200 -i u5000 "$IP_T"; }
cap_hping3_scan() { capture hping3_scan hping3 -I "$VA" --scan 1-200 -S "$IP_T"; }

cap_benign_http() {
  capture benign_http bash -c '
    paths=(/ /index.html /static/style.css /data.json /static/big.txt /missing.html)
    for i in $(seq 0 99); do
      p=${paths[$((i % 6))]}
      curl -s -o /dev/null "http://10.77.0.10$p"
      curl -s -o /dev/null "http://10.77.0.10:8080$p"
      curl -s -o /dev/null "http://10.77.0.11$p"
    done'
}

cap_benign_dns() { capture benign_dns "$PY" "$HELPERS" dns-client "$IP_T" 53 300; }

cap_benign_closed_retry() {
  capture benign_closed_retry bash -c '
    for i in $(seq 1 60); do curl -s --max-time 2 -o /dev/null http://10.77.0.10:81/ || true; sleep 0.1; done'
}

cap_benign_midstream() {
  local srv cli
  INTERVAL=0.05 ip netns exec "$TGT" "$PY" "$HELPERS" stream-server "$IP_T" "${STREAM_PORTS[@]}" >"$TMP/stream-srv.log" 2>&1 &
  srv=$!; EXTRA_PIDS+=("$srv")
  wait_port "$IP_T" "${STREAM_PORTS[-1]}"
  log "benign_midstream: 10 streams to ${STREAM_PORTS[*]}, capture starts 2 s after they begin"
  ip netns exec "$ATK" "$PY" "$HELPERS" stream-client "$IP_T" 7 "${STREAM_PORTS[@]}" >"$TMP/stream-cli.log" 2>&1 &
  cli=$!
  sleep 2
  start_capture benign_midstream
  wait "$cli" || die "stream client failed: $(cat "$TMP/stream-cli.log")"
  cp "$TMP/stream-cli.log" "$TMP/benign_midstream.txt"
  stop_capture benign_midstream
  kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true
}

cap_benign_services() {
  local srv
  ip netns exec "$TGT" "$PY" "$HELPERS" line-server "$IP_T" "${SERVICE_PORTS[@]}" >"$TMP/line-srv.log" 2>&1 &
  srv=$!; EXTRA_PIDS+=("$srv")
  wait_port "$IP_T" "${SERVICE_PORTS[-1]}"
  capture benign_services "$PY" "$HELPERS" services-client "$IP_T" "${SERVICE_PORTS[@]}"
  kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true
}

# ---------------------------------------------------------------- evasions and other tools
cap_nmap_decoy() {
  capture nmap_decoy "${NMAP[@]}" -sS -Pn -D "$DECOYS" -p 1-300 "$IP_T"
  # The target answered the decoys' SYNs to its open ports with SYN-ACKs it can never deliver
  # (nobody answers ARP for a decoy) and would retransmit them, re-ARPing for the decoys, for
  # ~1 min: "who-has 10.77.0.5x" would leak into the next captures. Drop those half-open
  # connections now (SOCK_DESTROY; needs CONFIG_INET_DIAG_DESTROY, else wait them out).
  if ! tgt ss -K -n state syn-recv '( dst 10.77.0.50 or dst 10.77.0.51 or dst 10.77.0.52 )' >/dev/null 2>&1 ||
     tgt ss -H -n state syn-recv | grep -q .; then
    log "nmap_decoy: cannot destroy the half-open decoy connections: waiting 65 s for them to expire"
    sleep 65
  fi
}

cap_nmap_distributed() {
  # three scanners (10.77.0.2, .3, .4 on the attacker's interface) split 1-3000, in parallel
  ip -n "$ATK" addr add "$IP_A2/24" dev "$VA"
  ip -n "$ATK" addr add "$IP_A3/24" dev "$VA"
  capture nmap_distributed bash -c '
    d=$(mktemp -d)
    "$@" -S 10.77.0.2 -p 1-1000    10.77.0.10 >"$d/1" 2>&1 & a=$!
    "$@" -S 10.77.0.3 -p 1001-2000 10.77.0.10 >"$d/2" 2>&1 & b=$!
    "$@" -S 10.77.0.4 -p 2001-3000 10.77.0.10 >"$d/3" 2>&1 & c=$!
    rc=0; wait $a || rc=1; wait $b || rc=1; wait $c || rc=1
    for i in 1 2 3; do echo "=== scanner $i"; cat "$d/$i"; done; rm -rf "$d"; exit $rc
  ' distributed "${NMAP[@]}" -sS -Pn
  ip -n "$ATK" addr del "$IP_A2/24" dev "$VA"
  ip -n "$ATK" addr del "$IP_A3/24" dev "$VA"
}

cap_nmap_frag()  { capture nmap_frag  "${NMAP[@]}" -sS -Pn -f -p 1-300 "$IP_T"; }
cap_nmap_mtu16() { capture nmap_mtu16 "${NMAP[@]}" -sS -Pn --mtu 16 -p 1-300 "$IP_T"; }
cap_nmap_srcport53() { capture nmap_srcport53 "${NMAP[@]}" -sS -Pn --source-port 53 -p 1-300 "$IP_T"; }
cap_nmap_sU_srcport53() {
  # no ICMP rate limit on the target for this one: every closed port gets its unreachable
  tgt sysctl -qw net.ipv4.icmp_ratelimit=0
  capture nmap_sU_srcport53 "${NMAP[@]}" -sU -Pn --source-port 53 --top-ports 50 "$IP_T"
  tgt sysctl -qw net.ipv4.icmp_ratelimit="$ICMP_RATELIMIT_MS"
}
cap_nmap_O() { capture nmap_O "${NMAP[@]}" -O -Pn -p 22,81 "$IP_T"; }

cap_arp_sweep() { capture arp_sweep "${NMAP[@]}" -sn 10.77.0.0/24; }
cap_arp_scan()  { capture arp_scan arp-scan --interface "$VA" 10.77.0.0/24; }
# IPv6 host discovery on the link: one neighbour solicitation per address of the /120.
cap_nd_sweep6() { capture nd_sweep6 "${NMAP[@]}" -6 -sn fd77::/120; }

cap_zmap_sweep() {
  # zmap sends raw frames; the only interface in the attacker namespace is the veth, and the
  # allowlist holds exactly the 31 target addresses (the empty blocklist replaces zmap's
  # default one, which excludes 10/8). --max-targets 31 caps it again. (Checked with zmap -d,
  # the dry run: exactly 10.77.0.10-40.) Bounded by a timeout like masscan.
  local i
  : >"$TMP/zmap-blocklist"
  for i in $(seq 10 40); do echo "10.77.0.$i/32"; done >"$TMP/zmap-allowlist"
  capture zmap_sweep timeout -k 3 30 zmap -p 80 -i "$VA" -S "$IP_A" --source-mac "$MAC_A" -G "$MAC_T" \
    -w "$TMP/zmap-allowlist" -b "$TMP/zmap-blocklist" --max-targets 31 -r 1000 -c 3 \
    -o - --disable-syslog
}

cap_connect_loop() {
  capture connect_loop bash -c '
    for p in $(seq 1 200); do timeout 0.2 socat -u /dev/null TCP:10.77.0.10:$p,connect-timeout=0.2 2>/dev/null; done; true'
}

windows_like() { # name nmap-scan-flag: target RSTs every segment without SYN/ACK/RST, like Windows
  local name=$1 flag=$2
  tgt nft -f - <<'NFT'
table inet swcap_winlike {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp flags & (syn | ack | rst) == 0 reject with tcp reset
  }
}
NFT
  capture "$name" "${NMAP[@]}" "$flag" -Pn -p 1-300 "$IP_T"
  tgt nft delete table inet swcap_winlike
}
cap_windows_like_fin()  { windows_like windows_like_fin -sF; }
cap_windows_like_xmas() { windows_like windows_like_xmas -sX; }

cap_nmap_T1_short() { capture nmap_T1_short nmap -n -T1 -e "$VA" -sS -Pn -p 20-27 "$IP_T"; }

# captures for issue 9 (benign look-alikes, newer scan techniques, tunnels): their own file
# shellcheck source=capture_issue9.sh
. "$HERE/capture_issue9.sh"

main() {
  local want=() n
  if [ "${1:-}" = "--list" ]; then printf '%s\n' "${ALL[@]}"; exit 0; fi
  if [ $# -eq 0 ]; then want=("${ALL[@]}"); else
    for n in "$@"; do
      n=${n%.pcap}
      [[ " ${ALL[*]} " == *" $n "* ]] || die "unknown capture '$n' (try --list)"
      want+=("$n")
    done
  fi
  [ "$(id -u)" -eq 0 ] || die "must run as root"
  for c in ip ethtool tcpdump nmap masscan hping3 socat curl; do command -v "$c" >/dev/null || die "missing $c"; done
  [ -x "$PY" ] || die "missing $PY"
  for n in "${want[@]}"; do # tools only some captures need
    case $n in
      zmap_*) c=zmap ;; arp_scan) c=arp-scan ;; windows_like_*) c=nft ;; *) continue ;;
    esac
    command -v "$c" >/dev/null || die "$n needs $c (apt-get install -y zmap arp-scan nftables)"
  done
  issue9_check_tools "${want[@]}"

  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local t0=$SECONDS
  mkdir -p "$OUT" "$LOGDIR" "$OUT/issue9/capture_logs"
  OUT=$(cd "$OUT" && pwd) LOGDIR=$(cd "$LOGDIR" && pwd)
  setup
  for n in "${want[@]}"; do "cap_$n"; done
  log "done: ${#want[@]} captures in $((SECONDS - t0)) s"
}

main "$@"
