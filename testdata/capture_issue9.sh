# capture_issue9.sh: the captures issue 9 needs, sourced by capture.sh (same run, same
# cleanup). They go to testdata/issue9/ (logs in issue9/capture_logs/), out of the golden
# tests' testdata/*.pcap glob; testdata/expected_issue9.yaml says what each must give.
#
# Besides the A-T link of capture.sh, some need more hosts. They are built on demand and
# removed on exit with the rest (EXTRA_NS):
#
#   LAN (lan_up), one bridge in netns swcap-lan, 10.78.0.0/24:
#     swcap-atk  swcap-a2 02:78:00:00:00:02 10.78.0.2     scanner
#     swcap-tgt  swcap-t2 02:78:00:00:00:10 10.78.0.10    target (same services as 10.77.0.10)
#     swcap-zmb  swcap-z  02:78:00:00:00:20 10.78.0.20    idle-scan zombie (global IP ID)
#     swcap-ftp  swcap-f  02:78:00:00:00:21 10.78.0.21    FTP server that allows bounces
#     swcap-dcy  swcap-d  02:78:00:00:00:50 10.78.0.50-52 live decoy hosts
#   Routed path (routed_up), for traceroute: A -> r1 -> r2 -> T, no default routes
#     swcap-atk swcap-a3 10.79.1.2 | swcap-r1 10.79.1.1, 10.79.2.1 | swcap-r2 10.79.2.2,
#     10.79.3.1 | swcap-tgt swcap-t3 10.79.3.10
#   Tunnels over the A-T link (underlay 10.77.0.2 <-> 10.77.0.10, fd77::2 <-> fd77::10),
#   inner 10.90.K.2 <-> 10.90.K.10 on device swcap-tun in both namespaces.

ISSUE9=(
  traceroute_udp traceroute_icmp traceroute_tcp mtr_udp
  ntp_pool resolver_dead_auth snmp_poller quic_client lan_chatter esp_oneside
  health_checker ftp_active
  nmap_sV nmap_sC nmap_A masscan_banners nmap_sZ nmap_idle nmap_ftpbounce
  unicorn_null unicorn_xmas unicorn_all v6frag_oslike
  decoy_after_scans decoy_live small_syn10 small_syn10x3
  tunnel_vxlan tunnel_gre tunnel_erspan2 tunnel_erspan3 tunnel_ip6erspan tunnel_geneve
)
ALL+=("${ISSUE9[@]}")
ISSUE9_SIDE=(traceroute_udp_target nmap_idle_zombie) # second captures taken with another one
EXTRA_NS+=(swcap-lan swcap-zmb swcap-ftp swcap-dcy swcap-r1 swcap-r2)
HELPERS9=$HERE/capture_issue9.py
POOL=(10.77.0.{11..30}) # 20 servers on the target side (all addresses of swcap-tgt)

issue9_check_tools() { # names...: the tools the asked-for issue-9 captures need
  local n c missing=()
  for n in "$@"; do
    case $n in
      traceroute_*) c=traceroute ;; mtr_*) c=mtr ;; ntp_*) c=chronyd ;;
      resolver_*) c=unbound ;; snmp_*) c="snmpd snmpwalk" ;; decoy_after_scans) c=masscan ;;
      esp_*|unicorn_*|v6frag_*) c=scapy ;; ftp_*|nmap_ftpbounce|nmap_s[VC]|nmap_A) c=pyftpdlib ;;
      *) continue ;;
    esac
    for c in $c; do
      case $c in
        scapy|pyftpdlib) "$PY" -c "import $c" 2>/dev/null || missing+=("$c") ;;
        *) command -v "$c" >/dev/null || missing+=("$c") ;;
      esac
    done
  done
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: apt-get install -y traceroute mtr-tiny chrony unbound snmp snmpd python3-scapy python3-pyftpdlib"
}

run_in() { # name netns cmd...: run cmd in netns, its output appended to the capture's log
  local name=$1 ns=$2; shift 2
  { printf '$'; printf ' %q' "$@"; printf '\n'; } >>"$TMP/$name.txt"
  ip netns exec "$ns" "$@" >>"$TMP/$name.txt" 2>&1 &
  local rc=0
  wait $! || rc=$?
  if [ $rc -gt 128 ]; then exit $rc; fi
  if [ $rc -ne 0 ]; then cat "$TMP/$name.txt" >&2; die "$name: command failed (exit $rc)"; fi
}

bg_in() { # logname netns cmd...: start a daemon in netns, killed at exit (or by stop_bg)
  local logname=$1 ns=$2; shift 2
  ip netns exec "$ns" "$@" >"$TMP/$logname.log" 2>&1 &
  EXTRA_PIDS+=($!)
  BG_LAST=$!
}

stop_bg() { kill "$@" 2>/dev/null || true; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }

quiet_ns() { # netns: same sysctls as capture.sh's namespaces
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
    net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
}

no_offload() { ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || die "ethtool -K $2 in $1 failed"; }

link_pair() { # ns1 if1 mac1 ns2 if2 [mac2]: a veth pair, offloads off, both up
  if [ -n "${6:-}" ]; then
    ip link add "$2" netns "$1" address "$3" type veth peer name "$5" netns "$4" address "$6"
  else
    ip link add "$2" netns "$1" address "$3" type veth peer name "$5" netns "$4"
  fi
  no_offload "$1" "$2"; no_offload "$4" "$5"
  # no IPv6 on these links (no link-local MLD/ND/RS chatter in the captures)
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  ip netns exec "$4" sysctl -qw "net.ipv6.conf.$5.disable_ipv6=1"
  ip -n "$1" link set "$2" up; ip -n "$4" link set "$5" up
}

LAN_UP=""
lan_up() {
  [ -z "$LAN_UP" ] || return 0
  local ns
  for ns in swcap-lan swcap-zmb swcap-ftp swcap-dcy; do ip netns add "$ns"; quiet_ns "$ns"; done
  ip -n swcap-lan link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ip netns exec swcap-lan sysctl -qw net.ipv6.conf.br0.disable_ipv6=1
  ip -n swcap-lan link set br0 up
  lan_port() { # ns iface mac portname
    link_pair "$1" "$2" "$3" swcap-lan "$4"
    ip -n swcap-lan link set "$4" master br0
  }
  lan_port "$ATK" swcap-a2 02:78:00:00:00:02 swcap-lA
  lan_port "$TGT" swcap-t2 02:78:00:00:00:10 swcap-lT
  lan_port swcap-zmb swcap-z 02:78:00:00:00:20 swcap-lZ
  lan_port swcap-ftp swcap-f 02:78:00:00:00:21 swcap-lF
  lan_port swcap-dcy swcap-d 02:78:00:00:00:50 swcap-lD
  ip -n "$ATK" addr add 10.78.0.2/24 dev swcap-a2
  ip -n "$TGT" addr add 10.78.0.10/24 dev swcap-t2
  ip -n swcap-zmb addr add 10.78.0.20/24 dev swcap-z
  ip -n swcap-ftp addr add 10.78.0.21/24 dev swcap-f
  ip -n swcap-dcy addr add 10.78.0.50/24 dev swcap-d
  ip -n swcap-dcy addr add 10.78.0.51/32 dev swcap-d
  ip -n swcap-dcy addr add 10.78.0.52/32 dev swcap-d
  LAN_UP=1
  sleep 1
}

ROUTED_UP=""
routed_up() {
  [ -z "$ROUTED_UP" ] || return 0
  local ns
  for ns in swcap-r1 swcap-r2; do
    ip netns add "$ns"; quiet_ns "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  done
  link_pair "$ATK" swcap-a3 02:79:01:00:00:02 swcap-r1 swcap-r1a 02:79:01:00:00:01
  link_pair swcap-r1 swcap-r1b 02:79:02:00:00:01 swcap-r2 swcap-r2a 02:79:02:00:00:02
  link_pair swcap-r2 swcap-r2b 02:79:03:00:00:01 "$TGT" swcap-t3 02:79:03:00:00:10
  ip -n "$ATK" addr add 10.79.1.2/24 dev swcap-a3
  ip -n swcap-r1 addr add 10.79.1.1/24 dev swcap-r1a
  ip -n swcap-r1 addr add 10.79.2.1/24 dev swcap-r1b
  ip -n swcap-r2 addr add 10.79.2.2/24 dev swcap-r2a
  ip -n swcap-r2 addr add 10.79.3.1/24 dev swcap-r2b
  ip -n "$TGT" addr add 10.79.3.10/24 dev swcap-t3
  ip -n "$ATK" route add 10.79.0.0/16 via 10.79.1.1
  ip -n swcap-r1 route add 10.79.3.0/24 via 10.79.2.2
  ip -n swcap-r2 route add 10.79.1.0/24 via 10.79.2.1
  ip -n "$TGT" route add 10.79.0.0/16 via 10.79.3.1
  for ns in "$ATK" "$TGT" swcap-r1 swcap-r2; do
    if ip -n "$ns" route show default | grep -q .; then die "unexpected default route in $ns"; fi
  done
  atk curl -s -o /dev/null --max-time 3 http://10.79.3.10/ || die "routed path A -> T does not work"
  ROUTED_UP=1
  sleep 1
}

flush_all_neigh() {
  local ns
  for ns in "$ATK" "$TGT" "${EXTRA_NS[@]}"; do
    ip netns list | grep -qw "^$ns" && ip -n "$ns" neigh flush all 2>/dev/null || true
  done
}

# ------------------------------------------------------------------ benign look-alikes
# traceroute / mtr: sensor on A's uplink (r1's interface facing A: the probes with every TTL,
# the routers' time-exceeded, the final port unreachable); traceroute_udp is also captured at
# the target (only the probes that got there, with their remaining TTL).
trace_capture() { # name cmd...
  local name=$1; shift
  routed_up
  flush_all_neigh
  start_capture "$name" swcap-r1 swcap-r1a
  [ "$name" = traceroute_udp ] && start_capture traceroute_udp_target "$TGT" swcap-t3
  run_in "$name" "$ATK" "$@"
  if [ "$name" = traceroute_udp ]; then stop_capture "$name" traceroute_udp_target; else stop_capture "$name"; fi
}
cap_traceroute_udp()  { trace_capture traceroute_udp traceroute -n 10.79.3.10; }
cap_traceroute_icmp() { trace_capture traceroute_icmp traceroute -n -I 10.79.3.10; }
cap_traceroute_tcp()  { trace_capture traceroute_tcp traceroute -n -T -p 80 10.79.3.10; }
# mtr 0.95 here sometimes prints its report and then waits minutes for mtr-packet: bound it
cap_mtr_udp() {
  trace_capture mtr_udp bash -c 'timeout -k 2 20 mtr -n -u -r -c 5 10.79.3.10; rc=$?
    if [ $rc -eq 124 ]; then echo "(mtr did not exit after its report: stopped)"; rc=0; fi; exit $rc'
}

cap_ntp_pool() {
  # chronyd on the target serves time on all its addresses (local clock, stratum 8; -x: it
  # never touches this machine's clock); the client is chronyd -Q (measure, print, exit:
  # like ntpdate -q) against 20 servers with iburst.
  local d=$TMP/ntp srv s
  mkdir -p "$d"; chmod 777 "$d"
  printf 'local stratum 8\nallow all\ncmdport 0\nbindcmdaddress /\npidfile %s/srv.pid\ndriftfile %s/srv.drift\n' "$d" "$d" >"$d/server.conf"
  { for s in "${POOL[@]}"; do echo "server $s iburst"; done
    printf 'cmdport 0\nbindcmdaddress /\npidfile %s/cli.pid\n' "$d"; } >"$d/client.conf"
  bg_in chronyd-server "$TGT" chronyd -x -d -u root -f "$d/server.conf"; srv=$BG_LAST
  sleep 2
  start_capture ntp_pool
  run_in ntp_pool "$ATK" timeout 60 chronyd -Q -u root -f "$d/client.conf"
  stop_capture ntp_pool
  stop_bg "$srv"
}

cap_resolver_dead_auth() {
  # unbound on A (listening on its loopback) resolves names in 20 stub zones,
  # zoneNN.example.net (not .test: unbound answers .test itself, RFC 6761), served by 10.77.0.NN (a small authoritative server, capture_issue9.py dns-auth); the
  # servers of zone28-30 are dead (nft drops their queries: asked, never answered).
  local d=$TMP/unbound z names=() dead="10.77.0.28, 10.77.0.29, 10.77.0.30" auth srv
  mkdir -p "$d"; chmod 777 "$d"
  cat >"$d/unbound.conf" <<EOF
server:
  interface: 127.0.0.1
  port: 53
  access-control: 127.0.0.0/8 allow
  outgoing-interface: $IP_A
  do-ip6: no
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 1
  username: ""
  chroot: ""
  directory: "$d"
  pidfile: "$d/unbound.pid"
  module-config: "iterator"
  num-threads: 1
  so-reuseport: no
EOF
  for z in {11..30}; do printf 'stub-zone:\n  name: "zone%s.example.net"\n  stub-addr: 10.77.0.%s\n' "$z" "$z" >>"$d/unbound.conf"; done
  for z in {11..27}; do names+=("www.zone$z.example.net" "mail.zone$z.example.net" "zone$z.example.net"); done
  names+=(www.zone28.example.net www.zone29.example.net www.zone30.example.net)
  tgt nft -f - <<EOF
table inet swcap_deadauth {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr { $dead } udp dport 53 drop
  }
}
EOF
  bg_in dns-auth "$TGT" "$PY" "$HELPERS9" dns-auth "${POOL[@]}"; auth=$BG_LAST
  bg_in unbound "$ATK" unbound -d -c "$d/unbound.conf"; srv=$BG_LAST
  sleep 1.5
  start_capture resolver_dead_auth
  run_in resolver_dead_auth "$ATK" "$PY" "$HELPERS9" dns-stub 127.0.0.1 "${names[@]}"
  stop_capture resolver_dead_auth
  stop_bg "$srv" "$auth"
  tgt nft delete table inet swcap_deadauth
}

cap_snmp_poller() {
  # net-snmp's snmpd on 20 target addresses; the poller walks the system group of each
  # agent (snmpwalk -v2c, sysDescr..sysORLastChange), then polls sysUpTime + sysName with
  # snmpget twice, 3 s apart.
  local d=$TMP/snmp agents="" s srv
  mkdir -p "$d"
  for s in "${POOL[@]}"; do agents+="${agents:+,}udp:$s:161"; done
  printf 'agentAddress %s\nrocommunity public default\nsysLocation rack 7\nsysContact ops@example.test\n' "$agents" >"$d/snmpd.conf"
  SNMP_PERSISTENT_DIR=$d bg_in snmpd "$TGT" env SNMP_PERSISTENT_DIR="$d" snmpd -f -Lo -C -c "$d/snmpd.conf" -p "$d/snmpd.pid"; srv=$BG_LAST
  sleep 1.5
  start_capture snmp_poller
  run_in snmp_poller "$ATK" env SNMP_PERSISTENT_DIR="$d" bash -c '
    for h in "$@"; do snmpwalk -v2c -c public -On -t 1 -r 1 -CE 1.3.6.1.2.1.1.9 "$h" 1.3.6.1.2.1.1; done
    sleep 3
    for h in "$@"; do snmpget -v2c -c public -On -t 1 -r 1 "$h" 1.3.6.1.2.1.1.3.0 1.3.6.1.2.1.1.5.0; done
    sleep 3
    for h in "$@"; do snmpget -v2c -c public -On -t 1 -r 1 "$h" 1.3.6.1.2.1.1.3.0 1.3.6.1.2.1.1.5.0; done
    ' poller "${POOL[@]}"
  stop_capture snmp_poller
  stop_bg "$srv"
}

cap_quic_client() {
  local srv
  bg_in quic-server "$TGT" "$PY" "$HELPERS9" quic-server "${POOL[@]}"; srv=$BG_LAST
  sleep 1
  start_capture quic_client
  run_in quic_client "$ATK" "$PY" "$HELPERS9" quic-client "${POOL[@]}"
  stop_capture quic_client
  stop_bg "$srv"
}

cap_lan_chatter() {
  # A (10.77.0.2, "host-2") and 20 target-side hosts (10.77.0.11-30, "host-11".."host-30")
  # chat for 12 s: LLMNR/NetBIOS/mDNS queries for each other's names, browser announcements,
  # and the owners' answers (unicast from 5355 and 137, mDNS to the group or unicast).
  local a t
  ip -n "$ATK" route add 224.0.0.0/4 dev "$VA"
  ip -n "$TGT" route add 224.0.0.0/4 dev "$VT"
  start_capture lan_chatter
  ip netns exec "$TGT" "$PY" "$HELPERS9" lan-chatter 12 "${POOL[@]}" >"$TMP/chatter-t.log" 2>&1 & t=$!
  run_in lan_chatter "$ATK" "$PY" "$HELPERS9" lan-chatter 12 "$IP_A"
  wait "$t" || die "lan-chatter on the target failed: $(cat "$TMP/chatter-t.log")"
  cat "$TMP/chatter-t.log" >>"$TMP/lan_chatter.txt"
  stop_capture lan_chatter
  ip -n "$ATK" route del 224.0.0.0/4 dev "$VA"
  ip -n "$TGT" route del 224.0.0.0/4 dev "$VT"
}

cap_esp_oneside() {
  # ESP from A to six hosts that have no SA for it: they drop it (this kernel has no ESP
  # at all and would send protocol-unreachable instead: nft drops ESP like a host with
  # IPsec and no matching SA does)
  tgt nft -f - <<'EOF'
table inet swcap_esp {
  chain input {
    type filter hook input priority 0; policy accept;
    meta l4proto esp drop
  }
}
EOF
  start_capture esp_oneside
  run_in esp_oneside "$ATK" "$PY" "$HELPERS9" esp 10.77.0.{11..16}
  stop_capture esp_oneside
  tgt nft delete table inet swcap_esp
}

cap_health_checker() {
  # a load balancer's HTTP checks: every 2 s, GET /index.html on 20 backends (curl, a new
  # connection each); two backends (10.77.0.29, .30) are down: RST on their port 80
  tgt nft -f - <<'EOF'
table inet swcap_hc {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr { 10.77.0.29, 10.77.0.30 } tcp dport 80 reject with tcp reset
  }
}
EOF
  start_capture health_checker
  run_in health_checker "$ATK" bash -c '
    for round in 1 2 3 4; do
      for h in "$@"; do
        curl -s -o /dev/null -m 1 -A "lb-healthcheck/1.0" -w "%{http_code} $h\n" "http://$h/index.html" || true
      done
      [ $round = 4 ] || sleep 2
    done' hc "${POOL[@]}"
  stop_capture health_checker
  tgt nft delete table inet swcap_hc
}

ftp_root() { # a small tree for the FTP servers
  mkdir -p "$TMP/ftproot/pub"
  local i
  for i in 1 2 3 4 5; do head -c $((i * 700)) /dev/zero | tr '\0' 'x' >"$TMP/ftproot/file$i.txt"; done
  printf 'hello\n' >"$TMP/ftproot/pub/README"
  chmod -R a+rX "$TMP/ftproot"
}

cap_ftp_active() {
  # one client, active mode (PORT): 20 transfers = 20 data connections from the server
  # (10.77.0.10, source port 20? no: pyftpdlib uses an ephemeral one) to the client's ports
  local srv
  ftp_root
  bg_in ftpd "$TGT" "$PY" "$HELPERS9" ftp-server "$IP_T" 21 "$TMP/ftproot"; srv=$BG_LAST
  wait_port "$IP_T" 21
  start_capture ftp_active
  run_in ftp_active "$ATK" "$PY" "$HELPERS9" ftp-active "$IP_T" 20
  stop_capture ftp_active
  stop_bg "$srv"
}

# ------------------------------------------------------------------ scans
with_ftp_on_target() { # run "$@" while an anonymous FTP server listens on 10.77.0.10:21
  local srv
  ftp_root
  bg_in ftpd "$TGT" "$PY" "$HELPERS9" ftp-server "$IP_T" 21 "$TMP/ftproot"; srv=$BG_LAST
  wait_port "$IP_T" 21
  "$@"
  stop_bg "$srv"
}
cap_nmap_sV() { with_ftp_on_target capture nmap_sV "${NMAP[@]}" -sV -Pn -p 21,22,80 "$IP_T"; }
cap_nmap_sC() { with_ftp_on_target capture nmap_sC "${NMAP[@]}" -sC -Pn -p 21,22,80 "$IP_T"; }
cap_nmap_A()  { with_ftp_on_target capture nmap_A  "${NMAP[@]}" -A -Pn -p 21,22,80 "$IP_T"; }

cap_masscan_banners() {
  # masscan grabs banners with its own TCP stack, so its source address must be one the
  # kernel does not own (else the kernel RSTs masscan's connections): 10.77.0.200, for which
  # masscan answers ARP itself (its documented --source-ip setup)
  local srv
  ftp_root
  bg_in ftpd "$TGT" "$PY" "$HELPERS9" ftp-server "$IP_T" 21 "$TMP/ftproot"; srv=$BG_LAST
  wait_port "$IP_T" 21
  capture masscan_banners bash -c 'cd "$1" && timeout -s INT -k 3 30 masscan 10.77.0.10 -p21,22,80 --banners \
      --rate 100 --wait 5 --adapter swcap-a --adapter-ip 10.77.0.200 --adapter-mac 02:77:00:00:00:02 \
      --router-mac 02:77:00:00:00:10; rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo "(masscan did not exit by itself: stopped)"; rc=0; fi
    exit $rc' masscan-wrapper "$TMP"
  stop_bg "$srv"
}

cap_nmap_sZ() { capture nmap_sZ "${NMAP[@]}" -sZ -Pn -p 1-300,9999 "$IP_T"; }

cap_nmap_idle() {
  # nmap -sI through the zombie 10.78.0.20; captured at the target (nmap_idle) and at the
  # zombie (nmap_idle_zombie) at the same time
  local z
  lan_up
  ip netns exec swcap-zmb nft -f - <<'EOF'
table inet swcap_zombie {
  chain input {
    type filter hook input priority 0; policy accept;
    meta l4proto tcp drop
  }
}
EOF
  bg_in zombie swcap-zmb "$PY" "$HELPERS9" zombie swcap-z 10.78.0.20; z=$BG_LAST
  sleep 1
  flush_all_neigh
  start_capture nmap_idle "$TGT" swcap-t2
  start_capture nmap_idle_zombie swcap-zmb swcap-z
  run_in nmap_idle "$ATK" nmap -n -T4 -e swcap-a2 -Pn -sI 10.78.0.20:80 -p 1-100 10.78.0.10
  cp "$TMP/nmap_idle.txt" "$TMP/nmap_idle_zombie.txt"
  stop_capture nmap_idle nmap_idle_zombie
  stop_bg "$z"
  cat "$TMP/zombie.log" >>"$OUT/issue9/capture_logs/nmap_idle_zombie.txt"
  ip netns exec swcap-zmb nft delete table inet swcap_zombie
}

cap_nmap_ftpbounce() {
  # nmap -b: the FTP server 10.78.0.21 (pyftpdlib, PORT to any host allowed) scans the
  # target 10.78.0.10 for nmap; captured at the FTP server
  local srv
  lan_up
  ftp_root
  bg_in ftpd-bounce swcap-ftp "$PY" "$HELPERS9" ftp-server 10.78.0.21 21 "$TMP/ftproot" bounce; srv=$BG_LAST
  sleep 1
  flush_all_neigh
  start_capture nmap_ftpbounce swcap-ftp swcap-f
  run_in nmap_ftpbounce "$ATK" nmap -n -T4 -e swcap-a2 -Pn -b anonymous:guest@10.78.0.21:21 -p 1-100 10.78.0.10
  stop_capture nmap_ftpbounce
  stop_bg "$srv"
}

cap_unicorn_null() { capture unicorn_null "$PY" "$HELPERS9" unicorn null "$IP_T" 1-100; }
cap_unicorn_xmas() { capture unicorn_xmas "$PY" "$HELPERS9" unicorn xmas "$IP_T" 1-100; }
cap_unicorn_all()  { capture unicorn_all  "$PY" "$HELPERS9" unicorn all "$IP_T" 1-100; }

# (nmap -6 -f does not exist: nmap 7.93 says "fragmentation [is] not supported with IPv6")
cap_v6frag_oslike() { capture v6frag_oslike "$PY" "$HELPERS9" v6frag "$IP6_A" "$IP6_T" 1-100; }

forget_decoys() { # the target's half-open connections to (dead) decoys: see cap_nmap_decoy
  if ! tgt ss -K -n state syn-recv '( dst 10.77.0.50 or dst 10.77.0.51 or dst 10.77.0.52 )' >/dev/null 2>&1 ||
     tgt ss -H -n state syn-recv 2>/dev/null | grep -q .; then
    log "cannot destroy the half-open decoy connections: waiting 65 s for them to expire"
    sleep 65
  fi
}

cap_decoy_after_scans() {
  # one source, three scans 3 s apart: a plain nmap -sS, nmap with two (dead) decoys, masscan
  capture decoy_after_scans bash -c '
    cd "$1"; shift
    nmap -n -T4 -e swcap-a -sS -Pn -p 1-300 10.77.0.10; sleep 3
    nmap -n -T4 -e swcap-a -sS -Pn -D 10.77.0.50,10.77.0.51,ME -p 1-300 10.77.0.10; sleep 3
    timeout -s INT -k 3 20 masscan 10.77.0.10 -p1-300 --rate 2000 --wait 3 --adapter swcap-a \
      --adapter-ip 10.77.0.2 --adapter-mac 02:77:00:00:00:02 --router-mac 02:77:00:00:00:10
    rc=$?; [ $rc -eq 124 ] && rc=0; exit $rc' decoys "$TMP"
  forget_decoys
}

cap_decoy_live() {
  # decoys that are live hosts on the LAN (10.78.0.50-52, their own MAC): the target answers
  # every copy, and every member's kernel resets the SYN-ACKs it never asked for, alike
  lan_up
  flush_all_neigh
  start_capture decoy_live "$TGT" swcap-t2
  run_in decoy_live "$ATK" nmap -n -T4 -e swcap-a2 -sS -Pn -D 10.78.0.50,10.78.0.51,ME,10.78.0.52 -p 1-300 10.78.0.10
  stop_capture decoy_live
}

cap_small_syn10() { capture small_syn10 "${NMAP[@]}" -sS -Pn --top-ports 10 "$IP_T"; }
cap_small_syn10x3() {
  ip -n "$ATK" addr add "$IP_A2/24" dev "$VA"
  ip -n "$ATK" addr add "$IP_A3/24" dev "$VA"
  capture small_syn10x3 bash -c '
    "$@" -S 10.77.0.2 -p 1-10 10.77.0.10; sleep 1
    "$@" -S 10.77.0.3 -p 11-20 10.77.0.10; sleep 1
    "$@" -S 10.77.0.4 -p 21-30 10.77.0.10' small "${NMAP[@]}" -sS -Pn
  ip -n "$ATK" addr del "$IP_A2/24" dev "$VA"
  ip -n "$ATK" addr del "$IP_A3/24" dev "$VA"
}

# ------------------------------------------------------------------ tunnels
# The same nmap -sS -p 1-300 carried in a tunnel between A and T; captured on T's underlay
# veth with snaplen 200 (128 would cut the inner TCP header behind 50-80 bytes of outer
# headers). VXLAN is the kernel's device; this kernel has no gre/erspan/ip6erspan/geneve
# module, so those ends are capture_issue9.py tunnel (tun/tap + the same wire format).
tunnel_scan() { # name kind k: kind = vxlan|gre|erspan2|erspan3|ip6erspan|geneve, k = inner subnet 10.90.k.0/24
  local name=$1 kind=$2 k=$3 pa pt la=$IP_A lt=$IP_T pykind=$2
  if [ "$kind" = vxlan ]; then
    ip -n "$ATK" link add swcap-tun address 02:90:00:00:00:02 type vxlan id 4242 local "$IP_A" remote "$IP_T" dstport 4789 dev "$VA"
    ip -n "$TGT" link add swcap-tun address 02:90:00:00:00:10 type vxlan id 4242 local "$IP_T" remote "$IP_A" dstport 4789 dev "$VT"
  else
    [ "$kind" = ip6erspan ] && { la=$IP6_A lt=$IP6_T pykind=erspan3; }
    bg_in "tun-a-$name" "$ATK" "$PY" "$HELPERS9" tunnel "$pykind" swcap-tun "$la" "$lt"; pa=$BG_LAST
    bg_in "tun-t-$name" "$TGT" "$PY" "$HELPERS9" tunnel "$pykind" swcap-tun "$lt" "$la"; pt=$BG_LAST
    local i
    for i in $(seq 1 30); do
      ip -n "$ATK" link show swcap-tun >/dev/null 2>&1 && ip -n "$TGT" link show swcap-tun >/dev/null 2>&1 && break
      sleep 0.1
    done
    if [ "$kind" != gre ]; then
      ip -n "$ATK" link set swcap-tun address 02:90:00:00:00:02
      ip -n "$TGT" link set swcap-tun address 02:90:00:00:00:10
    fi
  fi
  local ns
  for ns in "$ATK" "$TGT"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.swcap-tun.disable_ipv6=1 2>/dev/null || true
    ip -n "$ns" link set swcap-tun mtu 1400
    ip netns exec "$ns" ethtool -K swcap-tun tx off tso off gso off gro off >/dev/null 2>&1 || true
  done
  ip -n "$ATK" addr add "10.90.$k.2/24" dev swcap-tun
  ip -n "$TGT" addr add "10.90.$k.10/24" dev swcap-tun
  ip -n "$ATK" link set swcap-tun up
  ip -n "$TGT" link set swcap-tun up
  sleep 1
  atk curl -s -o /dev/null --max-time 3 "http://10.90.$k.10/" || die "$name: tunnel does not carry traffic"
  start_capture "$name" "$TGT" "$VT" 200
  run_in "$name" "$ATK" nmap -n -T4 -e swcap-tun -sS -Pn -p 1-300 "10.90.$k.10"
  stop_capture "$name"
  ip -n "$ATK" link del swcap-tun 2>/dev/null || true
  ip -n "$TGT" link del swcap-tun 2>/dev/null || true
  [ "$kind" = vxlan ] || stop_bg "$pa" "$pt"
}
cap_tunnel_vxlan()     { tunnel_scan tunnel_vxlan vxlan 6; }
cap_tunnel_gre()       { tunnel_scan tunnel_gre gre 1; }
cap_tunnel_erspan2()   { tunnel_scan tunnel_erspan2 erspan2 2; }
cap_tunnel_erspan3()   { tunnel_scan tunnel_erspan3 erspan3 3; }
cap_tunnel_ip6erspan() { tunnel_scan tunnel_ip6erspan ip6erspan 4; }
cap_tunnel_geneve()    { tunnel_scan tunnel_geneve geneve 5; }
