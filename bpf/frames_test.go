package bpf

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Test frames are built with gopacket's layers, so each reads as what it is.

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xa}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xb}
	ip4A = net.IPv4(10, 78, 0, 1).To4()
	ip4B = net.IPv4(10, 78, 0, 2).To4()
	ip6A = net.ParseIP("fd78::1")
	ip6B = net.ParseIP("fd78::2")
)

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
	fURG = 0x20
	fECE = 0x40
	fCWR = 0x80
)

// seg describes a TCP segment or UDP datagram between A and B.
type seg struct {
	v6       bool
	reverse  bool     // from B to A
	vlans    []uint16 // 802.1Q tags, outermost first
	sport    uint16
	dport    uint16
	flags    uint8
	payload  int
	options  bool // add TCP options (MSS, timestamps) like an OS stack
	fragment bool
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// link returns the Ethernet (and VLAN) layers for a frame carrying et.
func link(s seg, et layers.EthernetType) []gopacket.SerializableLayer {
	src, dst := macA, macB
	if s.reverse {
		src, dst = dst, src
	}
	if len(s.vlans) == 0 {
		return []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: et}}
	}
	ls := []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeDot1Q}}
	for i, id := range s.vlans {
		next := layers.EthernetTypeDot1Q
		if i == len(s.vlans)-1 {
			next = et
		}
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: id, Type: next})
	}
	return ls
}

// ip returns the network layer for s and the layer to compute checksums with.
func ip(s seg, proto layers.IPProtocol) (gopacket.SerializableLayer, gopacket.NetworkLayer, layers.EthernetType) {
	if s.v6 {
		src, dst := ip6A, ip6B
		if s.reverse {
			src, dst = dst, src
		}
		l := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src, DstIP: dst}
		return l, l, layers.EthernetTypeIPv6
	}
	src, dst := ip4A, ip4B
	if s.reverse {
		src, dst = dst, src
	}
	l := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 1, Protocol: proto, SrcIP: src, DstIP: dst}
	if s.fragment {
		l.Flags = layers.IPv4MoreFragments
	}
	return l, l, layers.EthernetTypeIPv4
}

func tcpFrame(t testing.TB, s seg) []byte {
	t.Helper()
	nl, nw, et := ip(s, layers.IPProtocolTCP)
	sp, dp := s.sport, s.dport
	if s.reverse {
		sp, dp = dp, sp
	}
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: 1000, Window: 1024,
		FIN: s.flags&fFIN != 0, SYN: s.flags&fSYN != 0, RST: s.flags&fRST != 0, PSH: s.flags&fPSH != 0,
		ACK: s.flags&fACK != 0, URG: s.flags&fURG != 0, ECE: s.flags&fECE != 0, CWR: s.flags&fCWR != 0,
	}
	if s.flags&fACK != 0 {
		tcp.Ack = 2000
	}
	if s.options {
		tcp.Options = []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)},
		}
	}
	if err := tcp.SetNetworkLayerForChecksum(nw); err != nil {
		t.Fatal(err)
	}
	ls := append(link(s, et), nl, tcp, gopacket.Payload(make([]byte, s.payload)))
	return serialize(t, ls...)
}

func udpFrame(t testing.TB, s seg) []byte {
	t.Helper()
	nl, nw, et := ip(s, layers.IPProtocolUDP)
	sp, dp := s.sport, s.dport
	if s.reverse {
		sp, dp = dp, sp
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
	if err := udp.SetNetworkLayerForChecksum(nw); err != nil {
		t.Fatal(err)
	}
	ls := append(link(s, et), nl, udp, gopacket.Payload(make([]byte, s.payload)))
	return serialize(t, ls...)
}

// rawIPFrame carries body as protocol proto.
func rawIPFrame(t testing.TB, s seg, proto layers.IPProtocol, body []byte) []byte {
	t.Helper()
	nl, _, et := ip(s, proto)
	ls := append(link(s, et), nl, gopacket.Payload(body))
	return serialize(t, ls...)
}

func icmp4Frame(t testing.TB, typ, code uint8) []byte {
	t.Helper()
	body := []byte{typ, code, 0, 0, 0, 1, 0, 1}
	if typ == 3 { // quote an IPv4+UDP header
		body = append(body, make([]byte, 28)...)
		body[8] = 0x45
	}
	return rawIPFrame(t, seg{}, layers.IPProtocolICMPv4, body)
}

func icmp6Frame(t testing.TB, typ, code uint8) []byte {
	t.Helper()
	body := []byte{typ, code, 0, 0, 0, 1, 0, 1}
	if typ < 128 {
		body = append(body, make([]byte, 48)...)
		body[8] = 0x60
	}
	return rawIPFrame(t, seg{v6: true}, layers.IPProtocolICMPv6, body)
}

// sctpFrame is an SCTP packet whose first chunk has the given type.
func sctpFrame(t testing.TB, s seg, chunk uint8) []byte {
	t.Helper()
	sp, dp := s.sport, s.dport
	if s.reverse {
		sp, dp = dp, sp
	}
	b := make([]byte, 12+20)
	binary.BigEndian.PutUint16(b[0:], sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	b[12] = chunk
	binary.BigEndian.PutUint16(b[14:], 20)
	return rawIPFrame(t, s, layers.IPProtocolSCTP, b)
}

func arpFrame(t testing.TB) []byte {
	t.Helper()
	return serialize(t,
		&layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: ip4A,
			DstHwAddress: make([]byte, 6), DstProtAddress: ip4B})
}

// withHopByHop inserts an 8-byte IPv6 hop-by-hop header (PadN) in front of
// the transport header of an untagged IPv6 frame.
func withHopByHop(frame []byte) []byte {
	const l3 = 14
	out := append([]byte(nil), frame[:l3+40]...)
	next := out[l3+6]
	out[l3+6] = 0 // hop-by-hop
	binary.BigEndian.PutUint16(out[l3+4:], binary.BigEndian.Uint16(out[l3+4:])+8)
	out = append(out, next, 0, 1, 4, 0, 0, 0, 0)
	return append(out, frame[l3+40:]...)
}

func gopacketPayload(n int) gopacket.Payload { return gopacket.Payload(make([]byte, n)) }
