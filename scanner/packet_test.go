package scanner

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func testCrafter(udp bool, flags uint8) *crafter {
	return &crafter{udp: udp, flags: flags, sport: 45678, seqBase: 0x11223344, ackBase: 0x55667788,
		rng: rand.New(rand.NewPCG(1, 2))}
}

var (
	src4 = netip.MustParseAddr("10.79.0.1")
	dst4 = netip.MustParseAddr("10.79.0.2")
	src6 = netip.MustParseAddr("fd79::1")
	dst6 = netip.MustParseAddr("fd79::2")
)

// TestProbeLooksLikeNmap checks the fingerprint the sensor attributes to nmap.
func TestProbeLooksLikeNmap(t *testing.T) {
	c := testCrafter(false, FlagSYN)
	for try := 0; try < 3; try++ {
		pkt, err := c.build(src4, dst4, 22, try)
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(pkt, layers.LayerTypeIPv4, gopacket.Default)
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip.TTL < 37 || ip.TTL > 59 {
			t.Errorf("TTL %d not in 37-59", ip.TTL)
		}
		if ip.Flags&layers.IPv4DontFragment != 0 {
			t.Error("DF set")
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
		// The checksum must verify: summed with itself it folds to zero.
		tcp.SetNetworkLayerForChecksum(ip)
		if csum, err := tcp.ComputeChecksum(); err != nil || csum != 0 {
			t.Errorf("checksum %#x does not verify (%#x, %v)", tcp.Checksum, csum, err)
		}
	}
	// Non-SYN probes carry no options; ACK probes carry the ack cookie.
	c = testCrafter(false, FlagACK)
	pkt, _ := c.build(src6, dst6, 80, 1)
	p := gopacket.NewPacket(pkt, layers.LayerTypeIPv6, gopacket.Default)
	ip6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip6.HopLimit < 37 || ip6.HopLimit > 59 || len(tcp.Options) != 0 || !tcp.ACK || tcp.Ack != 0x55667789 {
		t.Errorf("ACK probe: hop limit %d, options %v, ack %#x", ip6.HopLimit, tcp.Options, tcp.Ack)
	}
	// UDP probes to 53 carry a DNS query.
	c = testCrafter(true, 0)
	pkt, _ = c.build(src4, dst4, 53, 0)
	p = gopacket.NewPacket(pkt, layers.LayerTypeIPv4, gopacket.Default)
	if dns := p.Layer(layers.LayerTypeDNS); dns == nil || len(dns.(*layers.DNS).Questions) != 1 {
		t.Errorf("UDP/53 probe has no DNS query: %v", p)
	}
}

// craftReply serializes a reply packet the way the target's stack would.
func craftReply(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeReplies(t *testing.T) {
	d := newDecoder()
	ip4 := func(proto layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.IP(dst4.AsSlice()), DstIP: net.IP(src4.AsSlice())}
	}
	// A RST-ACK from a closed port.
	tcp := &layers.TCP{SrcPort: 23, DstPort: 45678, Ack: 0x11223345, RST: true, ACK: true}
	ip := ip4(layers.IPProtocolTCP)
	tcp.SetNetworkLayerForChecksum(ip)
	r, ok := d.decode(craftReply(t, ip, tcp))
	if !ok || r.kind != replyTCP || r.from != dst4 || r.sport != 23 || r.dport != 45678 || r.flags != FlagRST|FlagACK || r.ack != 0x11223345 {
		t.Fatalf("RST-ACK decoded as %+v ok=%v", r, ok)
	}
	if st, why := tcpVerdict(SYN, &r); st != Closed || why != "reset" {
		t.Errorf("SYN scan, RST: %v %s", st, why)
	}
	if st, _ := tcpVerdict(ACK, &r); st != Unfiltered {
		t.Errorf("ACK scan, RST: %v", st)
	}
	r.window = 0
	if st, _ := tcpVerdict(Window, &r); st != Closed {
		t.Errorf("window scan, window 0: %v", st)
	}
	r.window = 512
	if st, _ := tcpVerdict(Window, &r); st != Open {
		t.Errorf("window scan, window 512: %v", st)
	}

	// An ICMP admin-prohibited quoting our SYN probe.
	c := testCrafter(false, FlagSYN)
	probe, _ := c.build(src4, dst4, 82, 1)
	quoted := append([]byte(nil), probe[:28]...)
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 13)}
	r, ok = d.decode(craftReply(t, ip4(layers.IPProtocolICMPv4), icmp, gopacket.Payload(quoted)))
	if !ok || r.kind != replyICMP || r.qdst != dst4 || r.qsrc != src4 || r.sport != 82 || r.dport != 45678 || r.qseq != 0x11223345 || r.icmpCode != 13 {
		t.Fatalf("ICMP decoded as %+v ok=%v", r, ok)
	}
	if st, why, ok := icmpVerdict(false, false, 13); st != Filtered || why != "admin-prohibited" || !ok {
		t.Errorf("TCP, 3/13: %v %s", st, why)
	}

	// An ICMPv6 port unreachable quoting a UDP probe: closed for -sU.
	c = testCrafter(true, 0)
	probe, _ = c.build(src6, dst6, 1000, 0)
	ip6 := &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolICMPv6, HopLimit: 64, SrcIP: net.IP(dst6.AsSlice()), DstIP: net.IP(src6.AsSlice())}
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(1, 4)}
	icmp6.SetNetworkLayerForChecksum(ip6)
	r, ok = d.decode(craftReply(t, ip6, icmp6, gopacket.Payload(append([]byte{0, 0, 0, 0}, probe...))))
	if !ok || r.kind != replyICMP || !r.v6 || r.qdst != dst6 || r.qproto != 17 || r.sport != 1000 || r.dport != 45678 || r.icmpCode != 4 {
		t.Fatalf("ICMPv6 decoded as %+v ok=%v", r, ok)
	}
	if st, why, _ := icmpVerdict(true, true, 4); st != Closed || why != "port-unreach" {
		t.Errorf("UDP, v6 1/4: %v %s", st, why)
	}
	if st, _, _ := icmpVerdict(true, false, 4); st != Filtered {
		t.Errorf("TCP, v6 1/4: %v", st)
	}
	for _, code := range []uint8{0, 1, 2, 9, 10, 13} {
		if st, _, ok := icmpVerdict(false, true, code); st != Filtered || !ok {
			t.Errorf("UDP, 3/%d: %v", code, st)
		}
	}
	if st, _, _ := icmpVerdict(false, true, 3); st != Closed {
		t.Errorf("UDP, 3/3: %v", st)
	}
	if _, _, ok := icmpVerdict(false, true, 4); ok {
		t.Error("3/4 (fragmentation needed) should say nothing about the port")
	}
}
