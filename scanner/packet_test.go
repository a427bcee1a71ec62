package scanner

import (
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func testCrafter() *crafter {
	return &crafter{sport: 45678, seqBase: 0x11223344, ackBase: 0x55667788, icmpID: 0x4242,
		rng: rand.New(rand.NewPCG(1, 2)), links: map[netip.Addr]link{}}
}

var (
	src4 = netip.MustParseAddr("10.79.0.1")
	dst4 = netip.MustParseAddr("10.79.0.2")
	src6 = netip.MustParseAddr("fd79::1")
	dst6 = netip.MustParseAddr("fd79::2")
)

// one builds a single packet and fails unless there is exactly one.
func one(t *testing.T, c *crafter, src, dst netip.Addr, sp spec, try int) []byte {
	t.Helper()
	out := c.build(nil, src, dst, sp, try)
	if len(out) != 1 {
		t.Fatalf("%d packets, want 1", len(out))
	}
	return out[0].data
}

// TestProbeLooksLikeNmap checks the fingerprint the sensor attributes to
// nmap, decoding our hand-made packets with gopacket.
func TestProbeLooksLikeNmap(t *testing.T) {
	c := testCrafter()
	for try := 0; try < 3; try++ {
		pkt := one(t, c, src4, dst4, spec{kind: kindTCP, port: 22, flags: FlagSYN}, try)
		p := gopacket.NewPacket(pkt, layers.LayerTypeIPv4, gopacket.Default)
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip.TTL < 37 || ip.TTL > 59 {
			t.Errorf("TTL %d not in 37-59", ip.TTL)
		}
		if ip.Flags&layers.IPv4DontFragment != 0 || ip.Id == 0 {
			t.Errorf("DF set or IP ID 0: %+v", ip)
		}
		if !tcp.SYN || tcp.ACK || tcp.RST || tcp.FIN || tcp.Window != 1024 {
			t.Errorf("flags/window: %+v", tcp)
		}
		if tcp.Seq != 0x11223344+uint32(try) || tcp.Ack != 0 {
			t.Errorf("try %d: seq %#x ack %#x", try, tcp.Seq, tcp.Ack)
		}
		if len(tcp.Options) != 1 || tcp.Options[0].OptionType != layers.TCPOptionKindMSS ||
			binary.BigEndian.Uint16(tcp.Options[0].OptionData) != 1460 {
			t.Errorf("options %v, want only MSS 1460", tcp.Options)
		}
		if tcp.SrcPort != 45678 || tcp.DstPort != 22 {
			t.Errorf("ports %d>%d", tcp.SrcPort, tcp.DstPort)
		}
		if err := p.ErrorLayer(); err != nil {
			t.Errorf("decode: %v", err.Error())
		}
		checkSums(t, p)
	}
	// Non-SYN probes carry no options; ACK probes carry the ack cookie.
	pkt := one(t, c, src6, dst6, spec{kind: kindTCP, port: 80, flags: FlagACK}, 1)
	p := gopacket.NewPacket(pkt, layers.LayerTypeIPv6, gopacket.Default)
	ip6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip6.HopLimit < 37 || ip6.HopLimit > 59 || len(tcp.Options) != 0 || !tcp.ACK || tcp.Ack != 0x55667789 {
		t.Errorf("ACK probe: hop limit %d, options %v, ack %#x", ip6.HopLimit, tcp.Options, tcp.Ack)
	}
	checkSums(t, p)
	// UDP probes to 53 carry a DNS query; try n comes from sport+n.
	pkt = one(t, c, src4, dst4, spec{kind: kindUDP, port: 53}, 2)
	p = gopacket.NewPacket(pkt, layers.LayerTypeIPv4, gopacket.Default)
	if dns := p.Layer(layers.LayerTypeDNS); dns == nil || len(dns.(*layers.DNS).Questions) != 1 {
		t.Errorf("UDP/53 probe has no DNS query: %v", p)
	}
	if u := p.Layer(layers.LayerTypeUDP).(*layers.UDP); u.SrcPort != 45680 {
		t.Errorf("UDP try 2 from port %d, want 45680", u.SrcPort)
	}
	checkSums(t, p)
}

// checkSums verifies the transport checksum of a decoded packet.
func checkSums(t *testing.T, p gopacket.Packet) {
	t.Helper()
	nl := p.NetworkLayer()
	switch l := p.TransportLayer().(type) {
	case *layers.TCP:
		_ = l.SetNetworkLayerForChecksum(nl)
		if sum, err := l.ComputeChecksum(); err != nil || sum != 0 {
			t.Errorf("TCP checksum does not verify: %#x %v", sum, err)
		}
	case *layers.UDP:
		src, dst := nl.NetworkFlow().Endpoints()
		s, _ := netip.AddrFromSlice(src.Raw())
		d, _ := netip.AddrFromSlice(dst.Raw())
		seg := append(append([]byte(nil), l.Contents...), l.Payload...)
		if sum := csumFold(csumAdd(pseudoSum(s, d, protoUDP, len(seg)), seg)); sum != 0 {
			t.Errorf("UDP checksum does not verify: %#x", sum)
		}
	}
}

// TestEvasionProbes: decoys, fragments, TTL, data length and bad sums.
func TestEvasionProbes(t *testing.T) {
	c := testCrafter()
	d1, d2 := netip.MustParseAddr("10.79.0.50"), netip.MustParseAddr("10.79.0.51")
	c.decoys, c.mePos, c.ttl, c.dataLen = []netip.Addr{d1, d2}, 1, 99, 12
	out := c.build(nil, src4, dst4, spec{kind: kindTCP, port: 22, flags: FlagSYN}, 0)
	if len(out) != 3 {
		t.Fatalf("%d packets, want 3 (two decoys and ours)", len(out))
	}
	var ids []uint16
	for i, want := range []netip.Addr{d1, src4, d2} {
		p := gopacket.NewPacket(out[i].data, layers.LayerTypeIPv4, gopacket.Default)
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if got, _ := netip.AddrFromSlice(ip.SrcIP); got != want || ip.TTL != 99 {
			t.Errorf("packet %d from %v ttl %d, want %v ttl 99", i, got, ip.TTL, want)
		}
		if tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP); len(tcp.Payload) != 12 {
			t.Errorf("payload %d bytes, want 12", len(tcp.Payload))
		}
		checkSums(t, p)
		ids = append(ids, ip.Id)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("decoy copies have IP IDs %v, want one", ids)
	}
	// -f: 8-byte fragments; the flags sit in the second.
	c = testCrafter()
	c.mtu = 8
	out = c.build(nil, src4, dst4, spec{kind: kindTCP, port: 22, flags: FlagSYN}, 0)
	if len(out) != 3 {
		t.Fatalf("-f: %d fragments, want 3 of a 24-byte TCP header", len(out))
	}
	var whole []byte
	for i, f := range out {
		frag := binary.BigEndian.Uint16(f.data[6:])
		if int(frag&0x1fff)*8 != len(whole) || (frag&0x2000 != 0) != (i < 2) {
			t.Errorf("fragment %d: field %#x", i, frag)
		}
		whole = append(whole, f.data[20:]...)
	}
	if whole[13] != FlagSYN || len(out[1].data) != 28 {
		t.Errorf("reassembled flags %#x", whole[13])
	}
	// IPv6 fragments carry a fragment header; the first holds the whole
	// TCP header (24 bytes), the 16 bytes of data follow in two.
	c.dataLen = 16
	out = c.build(nil, src6, dst6, spec{kind: kindTCP, port: 22, flags: FlagSYN}, 0)
	if len(out) != 3 || out[0].data[6] != protoIPv6Frag || out[0].data[40] != protoTCP || len(out[0].data) != 48+24 ||
		binary.BigEndian.Uint16(out[1].data[42:]) != 24|1 || binary.BigEndian.Uint16(out[2].data[42:]) != 32 {
		t.Errorf("IPv6 -f: %d packets, next header %d", len(out), out[0].data[6])
	}
	// --badsum.
	c = testCrafter()
	c.badsum = true
	p := gopacket.NewPacket(one(t, c, src4, dst4, spec{kind: kindTCP, port: 22, flags: FlagSYN}, 0), layers.LayerTypeIPv4, gopacket.Default)
	tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	_ = tcp.SetNetworkLayerForChecksum(p.NetworkLayer())
	if sum, _ := tcp.ComputeChecksum(); sum == 0 {
		t.Error("--badsum: the checksum verifies")
	}
}

// TestSCTPProbes: INIT and COOKIE ECHO with CRC32c that verifies.
func TestSCTPProbes(t *testing.T) {
	c := testCrafter()
	for _, k := range []probeKind{kindSCTPInit, kindSCTPCookie} {
		pkt := one(t, c, src4, dst4, spec{kind: k, port: 2905}, 1)
		if pkt[9] != protoSCTP {
			t.Fatalf("protocol %d", pkt[9])
		}
		l4 := append([]byte(nil), pkt[20:]...)
		sum := binary.LittleEndian.Uint32(l4[8:])
		clear(l4[8:12])
		if crc32.Checksum(l4, crc32.MakeTable(crc32.Castagnoli)) != sum {
			t.Errorf("kind %d: CRC32c does not verify", k)
		}
		tag, chunk := binary.BigEndian.Uint32(l4[4:]), l4[12]
		switch k {
		case kindSCTPInit:
			if tag != 0 || chunk != 1 || binary.BigEndian.Uint32(l4[16:]) != 0x11223345 {
				t.Errorf("INIT: tag %#x chunk %d", tag, chunk)
			}
		case kindSCTPCookie:
			if tag != 0x11223345 || chunk != 10 {
				t.Errorf("COOKIE ECHO: tag %#x chunk %d", tag, chunk)
			}
		}
	}
}

// TestPingProbes: ICMP echo/timestamp/mask and ICMPv6 echo verify, and ARP.
func TestPingProbes(t *testing.T) {
	c := testCrafter()
	c.links[src4] = link{ifindex: 7, mac: []byte{2, 0, 0, 0, 0, 1}}
	for k, typ := range map[probeKind]layers.ICMPv4TypeCode{kindEcho: layers.CreateICMPv4TypeCode(8, 0),
		kindTimestamp: layers.CreateICMPv4TypeCode(13, 0), kindMask: layers.CreateICMPv4TypeCode(17, 0)} {
		p := gopacket.NewPacket(one(t, c, src4, dst4, spec{kind: k}, 1), layers.LayerTypeIPv4, gopacket.Default)
		icmp := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if icmp.TypeCode != typ || icmp.Id != 0x4242 || icmp.Seq != 1 {
			t.Errorf("kind %d: %v id %#x seq %d", k, icmp.TypeCode, icmp.Id, icmp.Seq)
		}
		if csumFold(csumAdd(0, icmp.Contents)) != 0 && csumFold(csumAdd(0, append(icmp.Contents, icmp.Payload...))) != 0 {
			t.Errorf("kind %d: checksum does not verify", k)
		}
	}
	pkt := one(t, c, src6, dst6, spec{kind: kindEcho}, 0)
	if csumFold(csumAdd(pseudoSum(src6, dst6, protoICMPv6, len(pkt)-40), pkt[40:])) != 0 || pkt[40] != 128 {
		t.Errorf("ICMPv6 echo: type %d, checksum does not verify", pkt[40])
	}
	out := c.build(nil, src4, dst4, spec{kind: kindNeighbor}, 0)
	if len(out) != 1 || !out[0].arp || out[0].ifindex != 7 {
		t.Fatalf("ARP: %+v", out)
	}
	arp := gopacket.NewPacket(out[0].data, layers.LayerTypeARP, gopacket.Default).Layer(layers.LayerTypeARP).(*layers.ARP)
	if arp.Operation != 1 || !net.IP(arp.DstProtAddress).Equal(net.IP(dst4.AsSlice())) || net.HardwareAddr(arp.SourceHwAddress).String() != "02:00:00:00:00:01" {
		t.Errorf("ARP request %+v", arp)
	}
}
