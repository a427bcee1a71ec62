package scanner

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var serializeOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

// craftReply serializes a reply packet the way the target's stack would.
func craftReply(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func replyIP4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.IP(dst4.AsSlice()), DstIP: net.IP(src4.AsSlice())}
}

func replyIP6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, NextHeader: next, HopLimit: 64, SrcIP: net.IP(dst6.AsSlice()), DstIP: net.IP(src6.AsSlice())}
}

// TestClassify decodes replies made by gopacket and checks what each says
// about which probe.
func TestClassify(t *testing.T) {
	c := testCrafter()
	tcpReply := func(flags uint8, ack, seq uint32, sport uint16) []byte {
		ip := replyIP4(layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 45678, Ack: ack, Seq: seq, Window: 512,
			SYN: flags&FlagSYN != 0, ACK: flags&FlagACK != 0, RST: flags&FlagRST != 0}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		return craftReply(t, ip, tcp)
	}
	// icmpQuote is an unreachable from the target quoting our probe.
	icmpQuote := func(code uint8, probe []byte) []byte {
		return craftReply(t, replyIP4(layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, code)},
			gopacket.Payload(probe[:min(len(probe), 28)]))
	}
	udpProbe := func(try int) []byte { return one(t, c, src4, dst4, spec{kind: kindUDP, port: 1000}, try) }
	tcpProbe := func(try int) []byte {
		return one(t, c, src4, dst4, spec{kind: kindTCP, port: 82, flags: FlagSYN}, try)
	}
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(1, 4)}
	ip6 := replyIP6(layers.IPProtocolICMPv6)
	_ = icmp6.SetNetworkLayerForChecksum(ip6)
	probe6 := one(t, c, src6, dst6, spec{kind: kindUDP, port: 1000}, 1)
	sctp := func(chunk byte, vtag uint32) []byte {
		b := make([]byte, 16)
		b[0], b[1], b[2], b[3] = 0x0b, 0x59, 0xb2, 0x6e // 2905 -> 45678
		b[4], b[5], b[6], b[7] = byte(vtag>>24), byte(vtag>>16), byte(vtag>>8), byte(vtag)
		b[12] = chunk
		return craftReply(t, replyIP4(layers.IPProtocolSCTP), gopacket.Payload(b))
	}
	echo := craftReply(t, replyIP4(layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: 0x4242, Seq: 1})
	arp := craftReply(t, &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6,
		ProtAddressSize: 4, Operation: 2, SourceHwAddress: make([]byte, 6), SourceProtAddress: dst4.AsSlice(),
		DstHwAddress: make([]byte, 6), DstProtAddress: src4.AsSlice()})
	padded := testCrafter()
	padded.dataLen = 20
	for _, tc := range []struct {
		name      string
		tech      Technique
		discovery bool
		specs     []spec
		pkt       []byte
		eth       uint16
		want      PortState
		reason    string
		try       int
		ok        bool
	}{
		{"syn-ack", SYN, false, []spec{{kindTCP, 23, FlagSYN}}, tcpReply(FlagSYN|FlagACK, 0x11223345, 0, 23), ethIPv4, Open, "syn-ack", 0, true},
		{"syn-ack to try 1", SYN, false, []spec{{kindTCP, 23, FlagSYN}}, tcpReply(FlagSYN|FlagACK, 0x11223346, 0, 23), ethIPv4, Open, "syn-ack", 1, true},
		{"rst-ack", SYN, false, []spec{{kindTCP, 23, FlagSYN}}, tcpReply(FlagRST|FlagACK, 0x11223345, 0, 23), ethIPv4, Closed, "reset", 0, true},
		{"rst-ack acknowledging 20 bytes of data", SYN, false, []spec{{kindTCP, 23, FlagSYN}}, tcpReply(FlagRST|FlagACK, 0x11223345+20+1, 0, 23), ethIPv4, Closed, "reset", 1, true},
		{"rst to fin", FIN, false, []spec{{kindTCP, 23, FlagFIN}}, tcpReply(FlagRST|FlagACK, 0x11223345, 0, 23), ethIPv4, Closed, "reset", 0, true},
		{"rst to ack", ACK, false, []spec{{kindTCP, 23, FlagACK}}, tcpReply(FlagRST, 0, 0x55667789, 23), ethIPv4, Unfiltered, "reset", 1, true},
		{"window scan, window 512", Window, false, []spec{{kindTCP, 23, FlagACK}}, tcpReply(FlagRST, 0, 0x55667788, 23), ethIPv4, Open, "reset", 0, true},
		{"syn-ack to an unscanned port", SYN, false, []spec{{kindTCP, 23, FlagSYN}}, tcpReply(FlagSYN|FlagACK, 0x11223345, 0, 24), ethIPv4, 0, "", 0, false},
		{"udp reply to try 0", UDP, false, []spec{{kindUDP, 53, 0}}, udpReply(t), ethIPv4, Open, "udp-response", 0, true},
		{"port unreachable quoting udp try 2", UDP, false, []spec{{kindUDP, 1000, 0}}, icmpQuote(3, udpProbe(2)), ethIPv4, Closed, "port-unreach", 2, true},
		{"admin-prohibited quoting a syn", SYN, false, []spec{{kindTCP, 82, FlagSYN}}, icmpQuote(13, tcpProbe(1)), ethIPv4, Filtered, "admin-prohibited", 1, true},
		{"fragmentation needed says nothing", SYN, false, []spec{{kindTCP, 82, FlagSYN}}, icmpQuote(4, tcpProbe(0)), ethIPv4, 0, "", 0, false},
		{"icmpv6 port unreachable", UDP, false, []spec{{kindUDP, 1000, 0}},
			craftReply(t, ip6, icmp6, gopacket.Payload(append([]byte{0, 0, 0, 0}, probe6...))), ethIPv6, Closed, "port-unreach", 1, true},
		{"init-ack", SCTPInit, false, []spec{{kindSCTPInit, 2905, 0}}, sctp(2, 0x11223344), ethIPv4, Open, "init-ack", 0, true},
		{"abort", SCTPInit, false, []spec{{kindSCTPInit, 2905, 0}}, sctp(6, 0x11223345), ethIPv4, Closed, "abort", 1, true},
		{"abort to a cookie echo", SCTPCookie, false, []spec{{kindSCTPCookie, 2905, 0}}, sctp(6, 0x11223344), ethIPv4, Closed, "abort", 0, true},
		{"proto unreachable", IPProto, false, []spec{{kindIPProto, 47, 0}},
			icmpQuote(2, one(t, c, src4, dst4, spec{kind: kindIPProto, port: 47}, 0)), ethIPv4, Closed, "proto-unreach", -1, true},
		{"port unreachable means the protocol is there", IPProto, false, []spec{{kindIPProto, 17, 0}},
			icmpQuote(3, one(t, c, src4, dst4, spec{kind: kindIPProto, port: 17}, 0)), ethIPv4, Open, "port-unreach", -1, true},
		{"echo reply", 0, true, []spec{{kindEcho, 0, 0}, {kindTCP, 443, FlagSYN}}, echo, ethIPv4, 0, "echo-reply", 1, true},
		{"rst to a ping", 0, true, []spec{{kindEcho, 0, 0}, {kindTCP, 80, FlagACK}}, tcpReply(FlagRST, 0, 0x55667788, 80), ethIPv4, 0, "reset", 0, true},
		{"arp reply", 0, true, []spec{{kind: kindNeighbor}}, arp, ethARP, 0, "arp-response", -1, true},
	} {
		r, ok := decodePacket(tc.pkt, tc.eth)
		if !ok {
			t.Errorf("%s: not decoded", tc.name)
			continue
		}
		cr := c
		if strings.Contains(tc.name, "data") {
			cr = padded
		}
		pr := newProber(tc.tech, tc.discovery, tc.specs, cr, 3)
		v, ok := pr.classify(&r)
		if ok != tc.ok {
			t.Errorf("%s: ok=%v, want %v (%+v)", tc.name, ok, tc.ok, v)
			continue
		}
		if !ok {
			continue
		}
		if v.state != tc.want || v.reason != tc.reason || v.try != tc.try || v.spec < 0 {
			t.Errorf("%s: %v %q try %d spec %d; want %v %q try %d", tc.name, v.state, v.reason, v.try, v.spec, tc.want, tc.reason, tc.try)
		}
		if want := dst4; tc.eth == ethIPv6 {
			if v.host != dst6 {
				t.Errorf("%s: host %v", tc.name, v.host)
			}
		} else if v.host != want {
			t.Errorf("%s: host %v, want %v", tc.name, v.host, want)
		}
	}
}

// TestEngineMatchesOnlyOurs: a reply from our target to a port we did not
// probe, or to an address we did not send from, settles nothing.
func TestEngineMatchesOnlyOurs(t *testing.T) {
	c := testCrafter()
	pr := newProber(SYN, false, []spec{{kindTCP, 22, FlagSYN}}, c, 3)
	tm, _ := TimingTemplate(3)
	e := newEngine(tm, pr, []int32{0}, []netip.Addr{dst4}, map[netip.Addr]netip.Addr{dst4: src4}, Filtered)
	h := e.hosts[0]
	e.take(h, 0)
	r := reply{kind: replyTCP, from: dst4, to: netip.MustParseAddr("10.79.0.99"), sport: 22, dport: 45678, flags: FlagSYN | FlagACK, ack: 0x11223345}
	v, ok := pr.classify(&r)
	if !ok {
		t.Fatal("not classified")
	}
	e.onReply(v, &r, 1000)
	if h.probes[0].status == stDone {
		t.Error("a reply to another local address was taken")
	}
	r.to = src4
	e.onReply(v, &r, 1000)
	if h.probes[0].status != stDone || h.probes[0].state != Open || !h.up || e.active != 0 {
		t.Errorf("probe %+v up %v active %d", h.probes[0], h.up, e.active)
	}
}

func udpReply(t *testing.T) []byte {
	ip := replyIP4(layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 53, DstPort: 45678}
	_ = u.SetNetworkLayerForChecksum(ip)
	return craftReply(t, ip, u)
}
