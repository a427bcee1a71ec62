#!/usr/bin/python3
"""Small traffic helpers used by testdata/capture.sh (run inside the capture namespaces).

Subcommands (all stdlib only):
  dns-server ADDR PORT            UDP DNS-ish responder: answers every query with an A record
  udp-echo ADDR PORT              UDP echo (stands in for SNMP/161)
  sctp-responder ADDR OPEN_PORT   userspace SCTP: INIT -> INIT-ACK on OPEN_PORT, ABORT elsewhere;
                                  COOKIE ECHO -> ABORT (T bit) except on OPEN_PORT
                                  (only used when the kernel has no SCTP)
  line-server ADDR PORT...        TCP: read one line, answer "<banner> <line>", close
  stream-server ADDR PORT...      TCP: stream a numbered line every INTERVAL s until the peer closes
  stream-client HOST SECS PORT... TCP: connect to each PORT, read the stream, send a line now and
                                  then, close all (FIN) after SECS
  services-client HOST PORT...    TCP: one connection per port in turn: send a request, read reply
  dns-client HOST PORT COUNT      COUNT DNS queries, each from a fresh socket (new source port)
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


# ---------------------------------------------------------------- DNS / UDP
def dns_server(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    while True:
        data, peer = s.recvfrom(2048)
        if len(data) < 12:
            s.sendto(data, peer)  # not DNS: echo it back
            continue
        qid, flags, qd = struct.unpack("!HHH", data[:6])
        # find end of the first question
        i = 12
        while i < len(data) and data[i] != 0:
            i += data[i] + 1
        q = data[12:i + 5] if qd else b""
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1 if qd else 0,
                          1 if qd else 0, 0, 0)
        ans = b""
        if qd:
            ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton("10.77.0.10")
        s.sendto(hdr + q + ans, peer)


def udp_echo(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data or b"\n", peer)


def dns_client(host, port, count):
    names = ["www", "mail", "api", "cdn", "db", "ns1", "git", "wiki", "vpn", "intranet"]
    zones = ["example.com", "example.org", "corp.test", "lab.test"]
    ok = 0
    for n in range(int(count)):
        name = "%s%d.%s" % (random.choice(names), n % 17, random.choice(zones))
        qid = random.getrandbits(16)
        q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
        for label in name.split("."):
            q += bytes([len(label)]) + label.encode()
        q += b"\x00" + struct.pack("!HH", random.choice([1, 1, 1, 28]), 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        s.sendto(q, (host, int(port)))
        try:
            s.recvfrom(2048)
            ok += 1
        except socket.timeout:
            pass
        s.close()
        time.sleep(0.01)
    log("dns-client: %d/%s answered" % (ok, count))


# ---------------------------------------------------------------- SCTP (userspace)
def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC = _crc32c_table()


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = _CRC[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def sctp_packet(sport, dport, vtag, chunks):
    p = struct.pack("!HHII", sport, dport, vtag, 0) + chunks
    c = crc32c(p)
    return p[:8] + struct.pack("<I", c) + p[12:]


def sctp_responder(addr, open_port):
    open_port = int(open_port)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
    while True:
        pkt, peer = s.recvfrom(4096)
        ihl = (pkt[0] & 0x0F) * 4
        if socket.inet_ntoa(pkt[16:20]) != addr and addr != "0.0.0.0":
            continue
        sc = pkt[ihl:]
        if len(sc) < 16:
            continue
        sport, dport, vtag = struct.unpack("!HHI", sc[:8])
        ctype = sc[12]
        if ctype == 10 and dport != open_port:
            # COOKIE ECHO with no association (nmap -sZ): out of the blue, so ABORT with the
            # T bit set and the packet's own tag reflected (RFC 9260 8.4); on the open port
            # the cookie is not ours and the packet is dropped silently, as Linux does
            s.sendto(sctp_packet(dport, sport, vtag, struct.pack("!BBH", 6, 1, 4)), (peer[0], 0))
            continue
        if ctype != 1 or vtag != 0 or len(sc) < 32:  # otherwise only answer INIT
            continue
        itag, = struct.unpack("!I", sc[16:20])
        if dport == open_port:
            cookie = os.urandom(32)
            param = struct.pack("!HH", 7, 4 + len(cookie)) + cookie
            body = struct.pack("!IIHHI", random.getrandbits(32) or 1, 106496, 10, 10,
                               random.getrandbits(32)) + param
            chunk = struct.pack("!BBH", 2, 0, 4 + len(body)) + body
        else:
            chunk = struct.pack("!BBH", 6, 0, 4)  # ABORT, T bit clear
        s.sendto(sctp_packet(dport, sport, itag, chunk), (peer[0], 0))


# ---------------------------------------------------------------- TCP
def _listen(addr, port):
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, int(port)))
    l.listen(64)
    return l


def _serve_forever(addr, ports, handler):
    ls = [_listen(addr, p) for p in ports]
    while True:
        r, _, _ = select.select(ls, [], [])
        for l in r:
            c, peer = l.accept()
            threading.Thread(target=handler, args=(c, l.getsockname()[1]), daemon=True).start()


BANNERS = {21: "220 ftp ready", 23: "login:", 25: "220 mail ESMTP", 110: "+OK POP3 ready",
           143: "* OK IMAP4rev1", 3306: "5.7.42-mysql", 6379: "+PONG", 5432: "postgres"}


def line_server(addr, *ports):
    def handle(c, port):
        try:
            c.settimeout(5)
            f = c.makefile("rb")
            line = f.readline(512).strip().decode(errors="replace")
            c.sendall(("%s port=%d you-said=%s\r\n" % (BANNERS.get(port, "OK service"), port,
                                                       line)).encode())
        except OSError:
            pass
        finally:
            c.close()
    _serve_forever(addr, ports, handle)


def stream_server(addr, *ports):
    interval = float(os.environ.get("INTERVAL", "0.1"))

    def handle(c, port):
        n = 0
        c.setblocking(False)
        try:
            while True:
                r, _, _ = select.select([c], [], [], interval)
                if r:
                    d = c.recv(4096)
                    if not d:
                        break
                c.sendall(b"port %d tick %08d %s\n" % (port, n, b"x" * 40))
                n += 1
        except OSError:
            pass
        finally:
            c.close()
    _serve_forever(addr, ports, handle)


def stream_client(host, secs, *ports):
    conns = []
    for p in ports:
        c = socket.create_connection((host, int(p)), timeout=5)
        c.setblocking(False)
        conns.append(c)
    end = time.time() + float(secs)
    nxt = time.time()
    got = 0
    while time.time() < end:
        r, _, _ = select.select(conns, [], [], 0.05)
        for c in r:
            got += len(c.recv(65536))
        if time.time() >= nxt:  # client chatter: a small keepalive-ish line every 0.5 s
            for c in conns:
                c.send(b"ack %d\n" % got)
            nxt = time.time() + 0.5
    for c in conns:
        c.shutdown(socket.SHUT_WR)  # FIN from the client first
    deadline = time.time() + 2
    open_ = list(conns)
    while open_ and time.time() < deadline:
        r, _, _ = select.select(open_, [], [], 0.1)
        for c in r:
            if not c.recv(65536):
                open_.remove(c)
    for c in conns:
        c.close()
    log("stream-client: %d bytes on %d connections" % (got, len(conns)))


def services_client(host, *ports):
    ok = 0
    for p in ports:
        c = socket.create_connection((host, int(p)), timeout=5)
        c.sendall(b"HELLO from client, request %s\r\n" % p.encode())
        data = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            data += d
        c.close()
        ok += bool(data)
        time.sleep(0.05)
    log("services-client: %d/%d answered" % (ok, len(ports)))


def main():
    cmds = {
        "dns-server": dns_server, "udp-echo": udp_echo, "dns-client": dns_client,
        "sctp-responder": sctp_responder, "line-server": line_server,
        "stream-server": stream_server, "stream-client": stream_client,
        "services-client": services_client,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
