#!/usr/bin/python3
"""craft_issue9.py: the small crafted files issue 9 needs, made from the real captures.

  testdata/craft_issue9.py        # (re)writes testdata/issue9/crafted_*.pcap (deterministic)

Each output is a real capture of this directory with ONE property changed, so its content
is still what the tools sent; only the file-level detail under test is artificial:

  crafted_pcap_v21.pcap          hping3_syn.pcap, header version 2.1 instead of 2.4 (old
                                 writers; libpcap reads it, treating caplen/len as maybe swapped)
  crafted_caplen_over_snaplen.pcap  nmap_O.pcap with the header's snaplen lowered to 96: the
                                 records of 128 bytes (echo requests/replies, U1 probe and its
                                 unreachable) exceed it; libpcap reads them (cut to 96)
  crafted_order_a.pcap           hping3_syn.pcap unchanged
  crafted_order_b_older.pcap     hping3_fin.pcap moved to start exactly 1 day BEFORE
                                 crafted_order_a.pcap (replay a b: b is older)
  crafted_future_frame.pcap      hping3_syn.pcap with the middle record (a probe or reply)
                                 dated 3652 days (10 years) ahead; the rest unchanged
  crafted_no_decodable.pcap      a valid Ethernet pcap of 20 frames of ethertype 0x88B5
                                 (IEEE local experimental): nothing a scan detector decodes
  crafted_unreadable.pcap        not a pcap at all (text), for "one bad file among several"

Stdlib only. The inputs are little-endian microsecond pcaps (what tcpdump -w writes here).
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "issue9")
TEN_YEARS = 3652 * 86400


def read_pcap(name):
    with open(os.path.join(HERE, name), "rb") as f:
        data = f.read()
    magic, vmaj, vmin, tz, sig, snap, link = struct.unpack("<IHHiIII", data[:24])
    if magic != 0xA1B2C3D4:
        sys.exit("%s: not a little-endian microsecond pcap" % name)
    recs, off = [], 24
    while off < len(data):
        sec, usec, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        recs.append([sec, usec, caplen, wirelen, data[off + 16:off + 16 + caplen]])
        off += 16 + caplen
    return {"version": (vmaj, vmin), "snaplen": snap, "linktype": link, "records": recs}


def write_pcap(name, p):
    vmaj, vmin = p["version"]
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, vmaj, vmin, 0, 0, p["snaplen"], p["linktype"])]
    for sec, usec, caplen, wirelen, body in p["records"]:
        out.append(struct.pack("<IIII", sec, usec, caplen, wirelen) + body)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(b"".join(out))
    print("%-36s %5d records" % (name, len(p["records"])))


def main():
    os.makedirs(OUT, exist_ok=True)

    p = read_pcap("hping3_syn.pcap")
    p["version"] = (2, 1)
    write_pcap("crafted_pcap_v21.pcap", p)

    p = read_pcap("nmap_O.pcap")
    p["snaplen"] = 96
    over = sum(1 for r in p["records"] if r[2] > 96)
    write_pcap("crafted_caplen_over_snaplen.pcap", p)
    print("  %d records have caplen > snaplen 96" % over)

    a = read_pcap("hping3_syn.pcap")
    write_pcap("crafted_order_a.pcap", a)
    b = read_pcap("hping3_fin.pcap")
    shift = (b["records"][0][0] - a["records"][0][0]) + 86400
    for r in b["records"]:
        r[0] -= shift
    write_pcap("crafted_order_b_older.pcap", b)

    p = read_pcap("hping3_syn.pcap")
    mid = len(p["records"]) // 2
    p["records"][mid][0] += TEN_YEARS
    write_pcap("crafted_future_frame.pcap", p)
    print("  record %d (of %d) dated +3652 days" % (mid + 1, len(p["records"])))

    t0 = a["records"][0][0]
    recs = []
    for i in range(20):
        frame = (b"\xff" * 6 + bytes.fromhex("027700000002") + b"\x88\xb5" +
                 b"scanwatch crafted frame %02d" % i + b"\x00" * 20)
        recs.append([t0 + i, 0, len(frame), len(frame), frame])
    write_pcap("crafted_no_decodable.pcap", {"version": (2, 4), "snaplen": 128,
                                             "linktype": 1, "records": recs})

    with open(os.path.join(OUT, "crafted_unreadable.pcap"), "wb") as f:
        f.write(b"this is not a capture file: it was saved from a web page by mistake\n" * 4)
    print("crafted_unreadable.pcap              (text)")


if __name__ == "__main__":
    main()
