#!/usr/bin/python3
"""Traffic helpers for the issue-9 captures (run by capture_issue9.sh inside the namespaces).

Stdlib only, except where a subcommand says scapy (python3-scapy) or pyftpdlib
(python3-pyftpdlib), both from Debian 12.

  dns-auth ADDR...                 authoritative DNS on ADDR:53 each (AA, A records, NODATA else)
  dns-stub SERVER NAME...          ask SERVER:53 (a resolver) for each NAME, in parallel
  quic-server ADDR...              UDP 443 on each ADDR: answers a QUIC-like handshake
  quic-client ADDR...              one QUIC-like connection (own socket) to each ADDR:443
  lan-chatter SECS ADDR...         LLMNR/NetBIOS/mDNS chatter of the hosts ADDR... (all on one
                                   interface), answering the queries of the others
  ftp-server ADDR PORT ROOT [bounce]  pyftpdlib, anonymous read-only; "bounce" lets PORT name
                                   any host and port (permit_foreign_addresses, privileged ports)
  ftp-active HOST N                ftplib client in ACTIVE mode (PORT): N LIST/RETR transfers
  zombie IFACE ADDR                idle-scan zombie: RSTs unsolicited SYN-ACK/ACK, RST-ACKs SYNs,
                                   every packet with the next value of ONE global IP ID counter
  esp HOST... (scapy)              real ESP (AES-CBC + HMAC-SHA256-128) from a static SA per host
  unicorn MODE HOST PORTS (scapy)  unicornscan -W1 style flag probes with its TCP options
  v6frag SRC DST PORTS (scapy)     OS-like (Linux) full-option SYNs, each in two IPv6 fragments
  tunnel KIND DEV LOCAL REMOTE     userspace tunnel endpoint: tun/tap DEV <-> encapsulation
                                   (gre, erspan2, erspan3, geneve) to REMOTE
"""
import os
import random
import select
import socket
import struct
import sys
import threading
import time


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- DNS
def _qname_end(data, i=12):
    while i < len(data) and data[i] != 0:
        i += data[i] + 1
    return i + 1


def _name(data, i=12):
    labels = []
    while i < len(data) and data[i] != 0:
        labels.append(data[i + 1:i + 1 + data[i]].decode(errors="replace"))
        i += data[i] + 1
    return ".".join(labels).lower()


def _encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def dns_auth(*addrs):
    """One socket per address, so each answer leaves from the address that was asked."""
    socks = []
    for a in addrs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a, 53))
        socks.append(s)
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            data, peer = s.recvfrom(4096)
            if len(data) < 17:
                continue
            qid, flags, qd = struct.unpack("!HHH", data[:6])
            if qd != 1 or flags & 0x8000:
                continue
            end = _qname_end(data)
            qtype, qclass = struct.unpack("!HH", data[end:end + 4])
            question = data[12:end + 4]
            zone = ".".join(_name(data).split(".")[-2:])
            own = s.getsockname()[0]
            answers, auth = [], []
            if qtype == 1:  # A
                answers.append(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) +
                               socket.inet_aton("10.77.0.10"))
            elif qtype == 2:  # NS
                answers.append(b"\xc0\x0c" + struct.pack("!HHI", 2, 1, 3600) +
                               struct.pack("!H", len(_encode_name("ns." + zone))) +
                               _encode_name("ns." + zone))
            else:  # NODATA: SOA in the authority section
                rdata = (_encode_name("ns." + zone) + _encode_name("hostmaster." + zone) +
                         struct.pack("!IIIII", 2024010101, 3600, 600, 86400, 300))
                auth.append(_encode_name(zone) + struct.pack("!HHIH", 6, 1, 300, len(rdata)) +
                            rdata)
            # echo the OPT record if the query had one (EDNS0, as a real server does)
            opt = b""
            if struct.unpack("!H", data[10:12])[0] >= 1:
                opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
            hdr = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100), 1, len(answers),
                              len(auth), 1 if opt else 0)
            s.sendto(hdr + question + b"".join(answers) + b"".join(auth) + opt, peer)
            del own, qclass


def dns_stub(server, *names):
    res = {}

    def ask(name):
        q = struct.pack("!HHHHHH", random.getrandbits(16), 0x0100, 1, 0, 0, 0)
        q += _encode_name(name) + struct.pack("!HH", 1, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(15)
        s.sendto(q, (server, 53))
        try:
            d, _ = s.recvfrom(4096)
            res[name] = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN"}.get(d[3] & 15, d[3] & 15)
        except socket.timeout:
            res[name] = "timeout"
        s.close()
    ts = []
    for n in names:
        t = threading.Thread(target=ask, args=(n,))
        t.start()
        ts.append(t)
        time.sleep(0.05)
    for t in ts:
        t.join()
    for n in names:
        print("%-28s %s" % (n, res.get(n)))


# ---------------------------------------------------------------- QUIC-like
def _quic_long(ptype, dcid, scid, size):
    """A QUIC v1 long-header packet (RFC 9000 17.2) with a random (encrypted-looking) body."""
    first = 0xC0 | (ptype << 4) | 0x01  # long header, fixed bit, type, pn length 2
    hdr = bytes([first]) + struct.pack("!I", 1) + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
    if ptype == 0:
        hdr += b"\x00"  # token length 0 (Initial only)
    body = os.urandom(max(size - len(hdr) - 2, 20))
    return hdr + struct.pack("!H", 0x4000 | len(body)) + body


def _quic_short(dcid, size):
    return bytes([0x40 | 0x01]) + dcid + os.urandom(size)


def quic_server(*addrs):
    socks = []
    for a in addrs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a, 443))
        socks.append(s)
    conns = {}
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            data, peer = s.recvfrom(2048)
            if not data:
                continue
            key = (s.getsockname()[0], peer)
            if data[0] & 0x80 and (data[0] >> 4) & 3 == 0:  # client Initial
                dlen = data[5]
                scid_len = data[6 + dlen]
                client_cid = data[7 + dlen:7 + dlen + scid_len]
                my_cid = os.urandom(8)
                conns[key] = (client_cid, my_cid)
                # server Initial (ServerHello) + Handshake coalesced, then more Handshake
                s.sendto(_quic_long(0, client_cid, my_cid, 1200), peer)
                s.sendto(_quic_long(2, client_cid, my_cid, 900), peer)
            elif key in conns:
                client_cid, _ = conns[key]
                if data[0] & 0x80:  # client Handshake (Finished): answer HANDSHAKE_DONE + data
                    s.sendto(_quic_short(client_cid, 60), peer)
                else:  # 1-RTT request: the response, then the end of it
                    s.sendto(_quic_short(client_cid, 1100), peer)
                    s.sendto(_quic_short(client_cid, 400), peer)


def quic_client(*addrs):
    ok = 0
    for a in addrs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        dcid, scid = os.urandom(8), os.urandom(8)
        s.connect((a, 443))
        s.send(_quic_long(0, dcid, scid, 1200))  # Initial, padded to 1200 as RFC 9000 asks
        try:
            got = 0
            while got < 2:
                s.recv(2048)
                got += 1
            s.send(_quic_long(2, dcid, scid, 100))  # Handshake (Finished)
            s.recv(2048)
            s.send(_quic_short(dcid, 80))  # 1-RTT: the request
            s.recv(2048)
            s.recv(2048)
            s.send(_quic_short(dcid, 30))  # ACK
            ok += 1
        except socket.timeout:
            pass
        s.close()
        time.sleep(0.1)
    log("quic-client: %d/%d connections answered" % (ok, len(addrs)))


# ---------------------------------------------------------------- LLMNR / NetBIOS / mDNS
LLMNR_GRP, MDNS_GRP = "224.0.0.252", "224.0.0.251"


def _nb_encode(name):
    """NetBIOS first-level encoding (RFC 1001 14.1) of a 15-char name + suffix 0x00."""
    raw = name.upper().ljust(15)[:15].encode() + b"\x00"
    enc = b"".join(bytes([0x41 + (c >> 4), 0x41 + (c & 15)]) for c in raw)
    return b"\x20" + enc + b"\x00"


def _hostname(addr):
    return "host-%s" % addr.split(".")[-1]


def lan_chatter(secs, *addrs):
    """Every ADDR is a Windows-ish host: it asks LLMNR (5355, multicast), NetBIOS (137
    broadcast) and mDNS (5353 multicast) for the names of the other hosts, announces itself
    to the browser service (138 broadcast), and answers queries for its own name: unicast
    from 5355 / 137, mDNS answers to the group (unicast when the QU bit asks for it)."""
    secs = float(secs)
    mine = {_hostname(a): a for a in addrs}
    bcast = ".".join(addrs[0].split(".")[:3]) + ".255"
    primary = addrs[0]

    def udp(bind_addr, port, group=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255 if port == 5353 else 1)
        s.bind((bind_addr, port))
        if group:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                         socket.inet_aton(group) + socket.inet_aton(primary))
        return s
    # wildcard listeners (multicast / broadcast) and one sender per own address and port
    listen = {5355: udp("0.0.0.0", 5355, LLMNR_GRP), 137: udp("0.0.0.0", 137),
              138: udp("0.0.0.0", 138), 5353: udp("0.0.0.0", 5353, MDNS_GRP)}
    send = {}
    for a in addrs:
        for p in (5355, 137, 138, 5353):
            s = udp(a, p)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a))
            send[(a, p)] = s
    # LLMNR queriers use an ephemeral port (like Windows' dnscache): one per address
    eph = {}
    for a in addrs:
        s = udp(a, 0)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a))
        eph[a] = s
    socks = list(listen.values()) + list(send.values()) + list(eph.values())
    others = ["host-%d" % i for i in list(range(11, 31)) + [2] if "host-%d" % i not in mine]
    stats = {"asked": 0, "answered": 0}

    def ask(a):
        name = random.choice(others)
        qid = random.getrandbits(16)
        kind = random.choice(["llmnr", "llmnr", "nbns", "mdns"])
        if kind == "llmnr":
            q = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + _encode_name(name) + struct.pack("!HH", 1, 1)
            eph[a].sendto(q, (LLMNR_GRP, 5355))
        elif kind == "nbns":  # name query, broadcast + recursion desired
            q = struct.pack("!HHHHHH", qid, 0x0110, 1, 0, 0, 0) + _nb_encode(name) + struct.pack("!HH", 0x20, 1)
            send[(a, 137)].sendto(q, (bcast, 137))
        else:  # mDNS, QU bit on half of them
            qclass = 0x8001 if random.random() < 0.5 else 1
            q = struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0) + _encode_name(name + ".local") + struct.pack("!HH", 1, qclass)
            send[(a, 5353)].sendto(q, (MDNS_GRP, 5353))
        stats["asked"] += 1

    def announce(a):  # browser Host Announcement, a direct_group datagram (RFC 1002 4.4.1)
        src, dst = _nb_encode(_hostname(a)), _nb_encode("WORKGROUP")
        smb = b"\xffSMB%" + os.urandom(24) + b"\x11\x00" + b"\\MAILSLOT\\BROWSE\x00" + b"\x01" + _hostname(a).upper().encode().ljust(16, b"\x00")
        body = src + dst + smb
        hdr = struct.pack("!BBH4sHHH", 0x11, 0x02, random.getrandbits(16), socket.inet_aton(a), 138,
                          len(body), 0)
        send[(a, 138)].sendto(hdr + body, (bcast, 138))

    def handle(s, data, peer):
        port = s.getsockname()[1]
        if port in (5355, 5353) or s in eph.values():
            port = 5353 if port == 5353 else 5355
        if len(data) < 12 or peer[0] in addrs:
            return
        qid, flags, qd = struct.unpack("!HHH", data[:6])
        if flags & 0x8000 or qd != 1:
            return
        if port == 137:
            raw = data[13:13 + 32]
            name = bytes(((raw[i] - 0x41) << 4) | (raw[i + 1] - 0x41) for i in range(0, 32, 2))
            name = name[:15].decode(errors="replace").strip().lower()
        else:
            name = _name(data).split(".")[0]
        if name not in mine:
            return
        a = mine[name]
        end = _qname_end(data)
        q = data[12:end + 4]
        if port == 5355:  # unicast reply from 5355 to the querier's port
            r = struct.pack("!HHHHHH", qid, 0x8000, 1, 1, 0, 0) + q + b"\xc0\x0c" + \
                struct.pack("!HHIH", 1, 1, 30, 4) + socket.inet_aton(a)
            send[(a, 5355)].sendto(r, peer)
        elif port == 137:  # positive name query response, unicast to the querier
            r = struct.pack("!HHHHHH", qid, 0x8500, 0, 1, 0, 0) + data[12:12 + 34] + \
                struct.pack("!HHIHH", 0x20, 1, 300000, 6, 0) + socket.inet_aton(a)
            send[(a, 137)].sendto(r, (peer[0], 137))
        else:  # mDNS answer: to the group, or unicast to the querier if it set QU
            qclass = struct.unpack("!H", data[end + 2:end + 4])[0]
            r = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0) + data[12:end] + \
                struct.pack("!HHIH", 1, 0x8001, 120, 4) + socket.inet_aton(a)
            send[(a, 5353)].sendto(r, peer if qclass & 0x8000 else (MDNS_GRP, 5353))
        stats["answered"] += 1

    end = time.time() + secs
    nxt_ask = {a: time.time() + random.uniform(0, 1.5) for a in addrs}
    nxt_ann = {a: time.time() + random.uniform(0, 3) for a in addrs}
    while time.time() < end:
        r, _, _ = select.select(socks, [], [], 0.05)
        for s in r:
            data, peer = s.recvfrom(2048)
            handle(s, data, peer)
        now = time.time()
        for a in addrs:
            if now >= nxt_ask[a]:
                ask(a)
                nxt_ask[a] = now + random.uniform(1.0, 2.5)
            if now >= nxt_ann[a]:
                announce(a)
                nxt_ann[a] = now + 4.0
    log("lan-chatter %s: asked %d, answered %d" % (addrs[0], stats["asked"], stats["answered"]))


# ---------------------------------------------------------------- FTP
def ftp_server(addr, port, root, mode=""):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer
    auth = DummyAuthorizer()
    auth.add_anonymous(root)
    class Handler(FTPHandler):
        """pyftpdlib answers LIST after a failed PORT with 150 and waits for a data
        connection that will never come (nmap -b then waits 10 s per closed port); vsftpd
        and wu-ftpd answer 425 at once. Do that."""
        port_failed = False

        def respond(self, resp, logfun=None):
            if resp.startswith("425 Can't connect"):
                self.port_failed = True
            return FTPHandler.respond(self, resp, logfun) if logfun else FTPHandler.respond(self, resp)

        def ftp_PORT(self, line):
            self.port_failed = False
            return FTPHandler.ftp_PORT(self, line)

        def push_dtp_data(self, data, isproducer=False, file=None, cmd=None):
            if self.port_failed and self.data_channel is None:
                if file:
                    file.close()
                self.respond("425 Can't open data connection.")
                return
            return FTPHandler.push_dtp_data(self, data, isproducer, file, cmd)
    h = Handler
    h.authorizer = auth
    h.banner = "220 (vsFTPd 3.0.3)"
    if mode == "bounce":  # the misconfiguration nmap -b needs: PORT may name any host/port
        h.permit_foreign_addresses = True
        h.permit_privileged_ports = True
    srv = FTPServer((addr, int(port)), h)
    srv.serve_forever()


def ftp_active(host, n):
    import ftplib
    f = ftplib.FTP()
    f.connect(host, 21, timeout=5)
    f.login()
    f.set_pasv(False)  # active mode: PORT, the server connects back to us
    names = []
    f.retrlines("LIST", names.append)
    files = sorted(x.split()[-1] for x in names if not x.startswith("d"))
    done = 1
    while done < int(n):
        name = files[done % len(files)]
        f.retrbinary("RETR " + name, lambda b: None)
        done += 1
        if done < int(n):
            f.retrlines("LIST", lambda line: None)
            done += 1
        time.sleep(0.1)
    f.quit()
    log("ftp-active: %d transfers" % done)


# ---------------------------------------------------------------- idle-scan zombie
def _csum(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def zombie(iface, addr):
    """An idle host whose IP ID is one global counter (+1 per packet it sends), as old
    Windows/BSD stacks and many printers have. Linux uses per-destination, randomly bumped
    IDs, so the kernel must not answer: capture_issue9.sh drops inbound TCP in the zombie's
    namespace with nftables, and this responder (AF_PACKET sees frames before netfilter)
    answers instead, through an IP_HDRINCL raw socket."""
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    rx.bind((iface, 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    me = socket.inet_aton(addr)
    ipid = random.randint(1000, 30000)
    sent = 0
    while True:
        frame, meta = rx.recvfrom(2048)
        if meta[2] == socket.PACKET_OUTGOING:
            continue
        ip = frame[14:]
        if len(ip) < 40 or ip[9] != 6 or ip[16:20] != me:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", tcp[:14])
        if flags & 0x04:
            continue  # never answer a RST
        if flags & 0x10:  # SYN-ACK or ACK we never asked for: RST, seq = their ack
            rseq, rack, rflags = ack, 0, 0x04
        elif flags & 0x02:  # SYN to a closed port: RST-ACK
            rseq, rack, rflags = 0, (seq + 1) & 0xFFFFFFFF, 0x14
        else:
            continue
        ipid = (ipid + 1) & 0xFFFF or 1
        src, dst = ip[16:20], ip[12:16]
        th = struct.pack("!HHIIBBHHH", dport, sport, rseq, rack, 5 << 4, rflags, 0, 0, 0)
        th = th[:16] + struct.pack("!H", _csum(src + dst + struct.pack("!BBH", 0, 6, 20) + th)) + th[18:]
        ih = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, ipid, 0, 128, 6, 0, src, dst)
        ih = ih[:10] + struct.pack("!H", _csum(ih)) + ih[12:]
        tx.sendto(ih + th, (socket.inet_ntoa(dst), 0))
        sent += 1
        log("zombie: %s:%d flags %#x -> RST, ipid %d" % (socket.inet_ntoa(dst), sport, flags, ipid))


# ---------------------------------------------------------------- scapy generators
def esp(*hosts):
    """One-sided IPsec: the sender has a static outbound SA per host (transport mode,
    AES-CBC-128 + HMAC-SHA256-128, what `ip xfrm state add ... enc 'cbc(aes)' ... auth-trunc
    'hmac(sha256)' ... 128` makes; this kernel has no ESP, so scapy does the same
    transform), pings each host through it 5 times; the hosts have no SA and drop it."""
    from scapy.all import IP, ICMP, Raw, send, conf
    from scapy.layers.ipsec import SecurityAssociation, ESP
    conf.verb = 0
    for i, h in enumerate(hosts):
        sa = SecurityAssociation(ESP, spi=0xC0DE0100 + i, crypt_algo="AES-CBC",
                                 crypt_key=bytes(range(16)), auth_algo="SHA2-256-128",
                                 auth_key=bytes(range(32)))
        for n in range(5):
            p = IP(src=os.environ.get("SRC", "10.77.0.2"), dst=h, ttl=64, flags="DF") / \
                ICMP(type=8, id=0x4242 + i, seq=n + 1) / Raw(os.urandom(48))
            send(sa.encrypt(p, seq_num=n + 1))
            time.sleep(0.05)
    log("esp: 5 packets to each of %d hosts" % len(hosts))


# unicornscan's -W 1 fingerprint ("OpenBSD 3.0-3.4" from p0f): TTL 64, DF, window 16384,
# options M(mtu-64),N,N,S,N,W0,N,N,T(tsval, 0) = 24 bytes; the TSval is drawn once per scan.
UNICORN_FLAGS = {"null": 0x000, "xmas": 0x029, "all": 0x0FF}


def unicorn(mode, host, ports):
    from scapy.all import IP, TCP, conf
    conf.verb = 0
    lo, hi = (int(x) for x in ports.split("-"))
    tsval = random.getrandbits(32)
    opts = [("MSS", 1500 - 64), ("NOP", None), ("NOP", None), ("SAckOK", b""), ("NOP", None),
            ("WScale", 0), ("NOP", None), ("NOP", None), ("Timestamp", (tsval, 0))]
    pkts = []
    for p in random.sample(range(lo, hi + 1), hi - lo + 1):  # unicornscan shuffles its ports
        pkts.append(IP(dst=host, ttl=64, flags="DF", id=random.getrandbits(16)) /
                    TCP(sport=random.randint(1025, 65535), dport=p, seq=random.getrandbits(32),
                        flags=UNICORN_FLAGS[mode], window=16384, options=opts))
    sock = conf.L3socket()  # one socket: send() would open one per packet (~30 ms each)
    t0 = time.time()
    for i, pk in enumerate(pkts):  # unicornscan's default rate: 300 packets/s
        sock.send(pk)
        time.sleep(max(0, t0 + (i + 1) / 300 - time.time()))
    sock.close()
    log("unicorn %s: %d probes to %s" % (mode, len(pkts), host))


def v6frag(src, dst, ports):
    """A Linux-like SYN (hop limit 64, window 64800, MSS 1440, SACK-permitted, timestamps,
    window scale 7: what connect() on this kernel sends) from a fresh source port and ISN per
    port, each sent as two IPv6 fragments (first: 8 bytes of TCP after the fragment header
    would not be enough for Linux, which drops first fragments without the whole TCP
    header (RFC 7112), so the cut is after the 20-byte TCP header: options in the second)."""
    from scapy.all import IPv6, IPv6ExtHdrFragment, TCP, Raw, send, conf
    conf.verb = 0
    lo, hi = (int(x) for x in ports.split("-"))
    ts0 = random.getrandbits(32)
    for n, p in enumerate(range(lo, hi + 1)):
        t = TCP(sport=random.randint(32768, 60999), dport=p, seq=random.getrandbits(32),
                flags="S", window=64800,
                options=[("MSS", 1440), ("SAckOK", b""), ("Timestamp", (ts0 + n * 7, 0)),
                         ("NOP", None), ("WScale", 7)])
        ip = IPv6(src=src, dst=dst, hlim=64, fl=random.getrandbits(20)) / t
        raw = bytes(ip[TCP])  # with the checksum computed over the whole segment
        fid = random.getrandbits(32)
        h = IPv6(src=src, dst=dst, hlim=64, fl=ip.fl)
        send(h / IPv6ExtHdrFragment(nh=6, offset=0, m=1, id=fid) / Raw(raw[:24]))
        send(h / IPv6ExtHdrFragment(nh=6, offset=3, m=0, id=fid) / Raw(raw[24:]))
        time.sleep(0.01)
    log("v6frag: %d SYNs in 2 fragments each" % (hi - lo + 1))


# ---------------------------------------------------------------- userspace tunnels
TUNSETIFF, IFF_TUN, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0001, 0x0002, 0x1000


def tunnel(kind, dev, local, remote):
    """One end of a tunnel whose kernel module this machine lacks (no ip_gre, ip6_gre,
    geneve): frames from the tun/tap DEV go out encapsulated exactly as Linux's gre /
    erspan (erspan_ver 1 = type II, 2 = type III) / ip6erspan / geneve devices build them,
    and encapsulated packets from REMOTE come back out of DEV. Wire formats: GRE RFC 2784
    (+ sequence number RFC 2890 for ERSPAN), ERSPAN draft-foschiano-erspan-03, Geneve
    RFC 8926 (UDP 6081, source port from a hash of the inner flow, IPv4 UDP checksum 0 as
    Linux sends by default)."""
    import fcntl
    l3 = kind == "gre"
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), (IFF_TUN if l3 else IFF_TAP) | IFF_NO_PI))
    v6 = ":" in remote
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    if kind == "geneve":
        tx = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_UDP)
        rx = socket.socket(fam, socket.SOCK_DGRAM)
        rx.bind((local, 6081))
    else:
        tx = rx = socket.socket(fam, socket.SOCK_RAW, 47)
    tx.bind((local, 0))
    seq = 0
    session, hwid = 123, 7
    log("tunnel %s %s: %s <-> %s up" % (kind, dev, local, remote))
    while True:
        r, _, _ = select.select([fd, rx], [], [])
        if fd in r:
            inner = os.read(fd, 65536)
            if kind == "gre":
                pkt = struct.pack("!HH", 0, 0x0800) + inner
            elif kind in ("erspan2", "erspan3"):
                seq += 1
                if kind == "erspan2":  # GRE S bit, proto 0x88BE; ERSPAN II: ver 1, vlan 0, cos 0, en 0 (frame had no VLAN tag), t 0, session 123, index 0
                    gre = struct.pack("!HHI", 0x1000, 0x88BE, seq)
                    hdr = struct.pack("!HHI", (1 << 12) | 0, (0 << 13) | (0 << 11) | (0 << 10) | session, 0)
                else:  # proto 0x22EB; ERSPAN III: ver 2, timestamp in 100 us units, sgt 0, p 0, ft 0, hwid, d (0 ingress), gra 1 (100 us), o 0
                    gre = struct.pack("!HHI", 0x1000, 0x22EB, seq)
                    ts = int(time.time() * 10000) & 0xFFFFFFFF
                    hdr = struct.pack("!HHIHH", (2 << 12) | 0, session, ts, 0,
                                      (0 << 15) | (0 << 10) | (hwid << 4) | (0 << 3) | (1 << 1) | 0)
                pkt = gre + hdr + inner
            else:  # geneve: UDP header + 8-byte Geneve header (ver 0, no options, proto 0x6558, VNI)
                flow = inner[26:38] if len(inner) >= 38 else inner
                sport = 32768 + (hash(flow) & 0x7FFF) % 28232
                gen = struct.pack("!BBHI", 0, 0, 0x6558, 4242 << 8)
                pkt = struct.pack("!HHHH", sport, 6081, 8 + len(gen) + len(inner), 0) + gen + inner
            tx.sendto(pkt, (remote, 0))
        if rx in r:
            data, peer = rx.recvfrom(65536)
            if peer[0] != remote:
                continue
            if kind == "geneve":
                os.write(fd, data[8:])
                continue
            if not v6:
                data = data[(data[0] & 15) * 4:]  # raw IPv4 sockets hand over the IP header
            flags, proto = struct.unpack("!HH", data[:4])
            off = 4 + (4 if flags & 0x1000 else 0) + (4 if flags & 0x2000 else 0) + (4 if flags & 0x8000 else 0)
            if proto == 0x88BE:
                off += 8
            elif proto == 0x22EB:
                off += 12
            os.write(fd, data[off:])


def main():
    cmds = {
        "dns-auth": dns_auth, "dns-stub": dns_stub, "quic-server": quic_server,
        "quic-client": quic_client, "lan-chatter": lan_chatter, "ftp-server": ftp_server,
        "ftp-active": ftp_active, "zombie": zombie, "esp": esp, "unicorn": unicorn,
        "v6frag": v6frag, "tunnel": tunnel,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
