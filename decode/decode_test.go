package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/tcpflags"
)

var t0 = time.Date(2026, 11, 21, 1, 7, 9, 0, time.UTC)

func a(s string) netip.Addr { return netip.MustParseAddr(s) }

var (
	hostA  = a("10.81.0.1")
	hostB  = a("10.81.0.2")
	hostA6 = a("fd81::1")
	hostB6 = a("fd81::2")
)

// Link header rewrites of the captured Ethernet frames.

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// ipOf strips the 14-byte Ethernet header.
func ipOf(eth []byte) []byte { return eth[14:] }

// withTags inserts VLAN tags (ethertype, TCI pairs) after the MAC addresses.
func withTags(eth []byte, tags ...uint16) []byte {
	b := append([]byte(nil), eth[:12]...)
	for i := 0; i+1 < len(tags); i += 2 {
		b = binary.BigEndian.AppendUint16(b, tags[i])
		b = binary.BigEndian.AppendUint16(b, tags[i+1])
	}
	return append(b, eth[12:]...)
}

func nullHdr(family uint32, bigEndian bool) []byte {
	if bigEndian {
		return binary.BigEndian.AppendUint32(nil, family)
	}
	return binary.LittleEndian.AppendUint32(nil, family)
}

// sllHdr builds a Linux cooked v1 header for protocol et.
func sllHdr(et uint16) []byte {
	return []byte{0x00, 0x04, 0x00, 0x01, 0x00, 0x06, 0x4a, 0x28, 0x83, 0x00, 0x5e, 0x05, 0x00, 0x00, byte(et >> 8), byte(et)}
}

// sll2Hdr builds a Linux cooked v2 header for protocol et.
func sll2Hdr(et uint16) []byte {
	return []byte{byte(et >> 8), byte(et), 0, 0, 0, 0, 0, 2, 0x00, 0x01, 0x04, 0x06, 0x4a, 0x28, 0x83, 0x00, 0x5e, 0x05, 0, 0}
}

var (
	synWant = Packet{
		Kind: KindTCP, Src: hostA, Dst: hostB, Proto: 6, TTL: 52, IPID: 4379, IPLen: 44,
		SrcPort: 52510, DstPort: 22, Flags: tcpflags.SYN, Seq: 2397061141, Window: 1024,
		Options: []byte{0x02, 0x04, 0x05, 0xb4},
	}
	syn6Want = Packet{
		Kind: KindTCP, IPv6: true, Src: hostA6, Dst: hostB6, Proto: 6, TTL: 255, IPLen: 64,
		SrcPort: 48781, DstPort: 22, Flags: tcpflags.SYN, Seq: 4013708521, Window: 1024,
		Options: []byte{0x02, 0x04, 0x05, 0xb4},
	}
)

type frameCase struct {
	name string
	lt   layers.LinkType
	data []byte
	want Packet
	// hdr is the number of bytes the headers take: every shorter prefix
	// must fail, every longer one must decode to want (ICMP errors: with
	// less of Inner).
	hdr int
}

func frameCases() []frameCase {
	eth := layers.LinkTypeEthernet
	return []frameCase{
		{"nmap SYN", eth, ethSYN, synWant, 58},
		{"RST-ACK reply", eth, ethRSTACK, Packet{
			Kind: KindTCP, Src: hostB, Dst: hostA, Proto: 6, TTL: 64, DF: true, IPLen: 40,
			SrcPort: 22, DstPort: 52510, Flags: tcpflags.RST | tcpflags.ACK, Ack: 2397061142,
		}, 54},
		{"nmap FIN", eth, ethFIN, Packet{
			Kind: KindTCP, Src: hostA, Dst: hostB, Proto: 6, TTL: 58, IPID: 12017, IPLen: 40,
			SrcPort: 49960, DstPort: 23, Flags: tcpflags.FIN, Seq: 3753812709, Window: 1024,
		}, 54},
		{"nmap Xmas", eth, ethXmas, Packet{
			Kind: KindTCP, Src: hostA, Dst: hostB, Proto: 6, TTL: 44, IPID: 47156, IPLen: 40,
			SrcPort: 33872, DstPort: 24, Flags: tcpflags.FIN | tcpflags.PSH | tcpflags.URG, Seq: 1875373558, Window: 1024,
		}, 54},
		{"nmap NULL", eth, ethNull, Packet{
			Kind: KindTCP, Src: hostA, Dst: hostB, Proto: 6, TTL: 43, IPID: 44555, IPLen: 40,
			SrcPort: 58179, DstPort: 25, Flags: 0, Seq: 2738513860, Window: 1024,
		}, 54},
		{"hping3 SYN", eth, ethHping3SYN, Packet{
			Kind: KindTCP, Src: hostA, Dst: hostB, Proto: 6, TTL: 64, IPID: 13090, IPLen: 40,
			SrcPort: 2012, DstPort: 81, Flags: tcpflags.SYN, Seq: 462655139, Ack: binary.BigEndian.Uint32(ethHping3SYN[42:]), Window: 512,
		}, 54},
		{"nmap UDP", eth, ethUDP, Packet{
			Kind: KindUDP, Src: hostA, Dst: hostB, Proto: 17, TTL: 47, IPID: 19262, IPLen: 40,
			SrcPort: 48438, DstPort: 53, Payload: 12,
		}, 42},
		{"ICMP port unreachable quoting UDP", eth, ethICMPPortUnreachUDP, Packet{
			Kind: KindICMP, Src: hostB, Dst: hostA, Proto: 1, TTL: 64, IPID: 10140, IPLen: 68,
			ICMPType: 3, ICMPCode: 3, Payload: 40,
			Inner: Quoted{Valid: true, Src: hostA, Dst: hostB, Proto: 17, HasPorts: true, SrcPort: 48438, DstPort: 53},
		}, 42},
		{"ICMP host unreachable quoting TCP", eth, ethICMPHostUnreachTCP, Packet{
			Kind: KindICMP, Src: hostB, Dst: hostA, Proto: 1, TTL: 64, IPID: 10181, IPLen: 72,
			ICMPType: 3, ICMPCode: 1, Payload: 44,
			Inner: Quoted{Valid: true, Src: hostA, Dst: a("10.81.1.5"), Proto: 6, HasPorts: true, SrcPort: 62947, DstPort: 80},
		}, 42},
		{"SCTP INIT", eth, ethSCTPInit, Packet{
			Kind: KindSCTP, Src: hostA, Dst: hostB, Proto: 132, TTL: 55, IPID: 28573, IPLen: 52,
			SrcPort: 52012, DstPort: 80, SCTPChunk: 1, Payload: 20,
		}, 50},
		{"ICMP protocol unreachable quoting SCTP", eth, ethICMPProtoUnreachSCTP, Packet{
			Kind: KindICMP, Src: hostB, Dst: hostA, Proto: 1, TTL: 64, IPID: 10154, IPLen: 80,
			ICMPType: 3, ICMPCode: 2, Payload: 52,
			Inner: Quoted{Valid: true, Src: hostA, Dst: hostB, Proto: 132, HasPorts: true, SrcPort: 52012, DstPort: 80},
		}, 42},
		{"nmap -sO GRE", eth, ethGRE, Packet{
			Kind: KindOther, Src: hostA, Dst: hostB, Proto: 47, TTL: 52, IPID: 14454, IPLen: 20,
		}, 34},
		{"ICMP echo", eth, ethICMPEcho, Packet{
			Kind: KindICMP, Src: hostA, Dst: hostB, Proto: 1, TTL: 48, IPID: 64683, IPLen: 28,
			ICMPType: 8, ICMPID: 47945,
		}, 42},
		{"ARP request", eth, ethARPRequest, Packet{Kind: KindARP, Src: hostA, Dst: hostB, ARPOp: 1, LinkGroup: true}, 42},
		{"ARP reply", eth, ethARPReply, Packet{Kind: KindARP, Src: hostB, Dst: hostA, ARPOp: 2}, 42},
		{"IPv6 SYN", eth, ethIPv6SYN, syn6Want, 78},
		{"ICMPv6 port unreachable quoting UDP", eth, ethICMPv6PortUnreachUDP, Packet{
			Kind: KindICMP, IPv6: true, Src: hostB6, Dst: hostA6, Proto: 58, TTL: 64, IPLen: 108,
			ICMPType: 1, ICMPCode: 4, Payload: 60,
			Inner: Quoted{Valid: true, Src: hostA6, Dst: hostB6, Proto: 17, HasPorts: true, SrcPort: 39958, DstPort: 53},
		}, 62},
		{"ICMPv6 unreachable quoting hop-by-hop + destination options + UDP", eth, ethICMPv6UnreachQuotingExt, Packet{
			Kind: KindICMP, IPv6: true, Src: hostB6, Dst: hostA6, Proto: 58, TTL: 64, IPLen: 117,
			ICMPType: 1, ICMPCode: 4, Payload: 69,
			Inner: Quoted{Valid: true, Src: hostA6, Dst: hostB6, Proto: 17, HasPorts: true, SrcPort: 59885, DstPort: 9999},
		}, 62},
		{"ICMPv6 echo", eth, ethICMPv6Echo, Packet{
			Kind: KindICMP, IPv6: true, Src: hostA6, Dst: hostB6, Proto: 58, TTL: 255, IPLen: 48,
			ICMPType: 128, ICMPID: 23821,
		}, 62},
		{"IPv6 hop-by-hop + destination options + UDP", eth, ethIPv6HBHDstOptsUDP, Packet{
			Kind: KindUDP, IPv6: true, Src: hostA6, Dst: hostB6, Proto: 17, TTL: 64, IPLen: 69,
			SrcPort: 59885, DstPort: 9999, Payload: 5,
		}, 78},
		{"MLDv2 report behind hop-by-hop", eth, ethMLDv2HBH, Packet{
			Kind: KindICMP, IPv6: true, Src: a("fe80::40f7:3aff:fee7:4553"), Dst: a("ff02::16"), Proto: 58, TTL: 1, IPLen: 96,
			ICMPType: 143, Payload: 40, LinkGroup: true,
		}, 70},
		{"IPv6 ESP stops the walk", eth, ipv6With(50, nil), Packet{
			Kind: KindOther, IPv6: true, Src: hostA6, Dst: hostB6, Proto: 50, TTL: 255, IPLen: 64, Payload: 24,
		}, 54},
		{"IPv6 AH + routing + TCP", eth, ipv6With(51, cat(
			[]byte{43, 4, 0, 0, 1, 2, 3, 4, 0, 0, 0, 1}, make([]byte, 12), // AH: (4+2)*4 = 24 bytes
			[]byte{6, 0, 0, 0, 0, 0, 0, 0}, // routing, 8 bytes
		)), func() Packet { p := syn6Want; p.IPLen += 32; return p }(), 78 + 32},
		// Link types.
		{"SLL SYN (captured)", layers.LinkTypeLinuxSLL, sllSYN, synWant, 60},
		{"SLL2 SYN (captured)", layers.LinkTypeLinuxSLL2, sll2SYN, synWant, 64},
		{"SLL ARP", layers.LinkTypeLinuxSLL, cat(sllHdr(0x0806), ipOf(ethARPRequest)),
			Packet{Kind: KindARP, Src: hostA, Dst: hostB, ARPOp: 1}, 44},
		{"SLL2 IPv6", layers.LinkTypeLinuxSLL2, cat(sll2Hdr(0x86dd), ipOf(ethIPv6SYN)), syn6Want, 84},
		{"SLL with VLAN tag", layers.LinkTypeLinuxSLL, cat(sllHdr(0x8100), []byte{0, 7, 8, 0}, ipOf(ethSYN)), synWant, 64},
		{"raw IPv4 (101)", layers.LinkTypeRaw, ipOf(ethSYN), synWant, 44},
		{"raw IPv6 (101)", layers.LinkTypeRaw, ipOf(ethIPv6SYN), syn6Want, 64},
		{"LINKTYPE_IPV4 (228)", layers.LinkTypeIPv4, ipOf(ethSYN), synWant, 44},
		{"LINKTYPE_IPV6 (229)", layers.LinkTypeIPv6, ipOf(ethIPv6SYN), syn6Want, 64},
		{"DLT_RAW 12", 12, ipOf(ethSYN), synWant, 44},
		{"DLT_RAW 14", 14, ipOf(ethIPv6SYN), syn6Want, 64},
		{"NULL AF_INET little endian", layers.LinkTypeNull, cat(nullHdr(2, false), ipOf(ethSYN)), synWant, 48},
		{"NULL AF_INET big endian", layers.LinkTypeNull, cat(nullHdr(2, true), ipOf(ethSYN)), synWant, 48},
		{"NULL AF_INET6=24", layers.LinkTypeNull, cat(nullHdr(24, false), ipOf(ethIPv6SYN)), syn6Want, 68},
		{"NULL AF_INET6=28", layers.LinkTypeNull, cat(nullHdr(28, false), ipOf(ethIPv6SYN)), syn6Want, 68},
		{"NULL AF_INET6=30 big endian", layers.LinkTypeNull, cat(nullHdr(30, true), ipOf(ethIPv6SYN)), syn6Want, 68},
		{"LOOP AF_INET", layers.LinkTypeLoop, cat(nullHdr(2, true), ipOf(ethSYN)), synWant, 48},
		{"LOOP AF_INET6", layers.LinkTypeLoop, cat(nullHdr(24, true), ipOf(ethIPv6SYN)), syn6Want, 68},
		{"802.1Q", eth, withTags(ethSYN, 0x8100, 0x0064), synWant, 62},
		{"QinQ 802.1ad + 802.1Q", eth, withTags(ethSYN, 0x88a8, 0x00c8, 0x8100, 0x0064), synWant, 66},
		{"QinQ 0x9100 + 802.1Q + IPv6", eth, withTags(ethIPv6SYN, 0x9100, 1, 0x8100, 2), syn6Want, 86},
		{"VLAN ARP", eth, withTags(ethARPReply, 0x8100, 5), Packet{Kind: KindARP, Src: hostB, Dst: hostA, ARPOp: 2}, 46},
		{"MPLS two labels", eth, cat(ethSYN[:12], []byte{0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40}, ipOf(ethSYN)), synWant, 66},
		{"PPPoE session", eth, cat(ethSYN[:12], []byte{0x88, 0x64, 0x11, 0x00, 0x00, 0x01, 0x00, 0x2e, 0x00, 0x21}, ipOf(ethSYN)), synWant, 66},
	}
}

// ipv6With rewrites the captured IPv6 SYN to carry extension headers ext
// (whose chain ends in TCP) after a first next header nh.
func ipv6With(nh uint8, ext []byte) []byte {
	f := cat(ethIPv6SYN[:14+40], ext, ethIPv6SYN[14+40:])
	f[14+6] = nh
	binary.BigEndian.PutUint16(f[14+4:], uint16(len(f)-14-40))
	return f
}

func samePacket(t *testing.T, name string, got, want *Packet) {
	t.Helper()
	g, w := *got, *want
	if !bytes.Equal(g.Options, w.Options) {
		t.Errorf("%s: Options = % x, want % x", name, g.Options, w.Options)
	}
	g.Options, w.Options = nil, nil
	g.LinkUnicast, w.LinkUnicast = false, false // TestLinkGroup
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", name, g, w)
	}
}

func TestDecodeFrames(t *testing.T) {
	for _, tc := range frameCases() {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(16)
			var p Packet
			ok, err := d.Decode(linktype.LinkType(tc.lt), tc.data, t0, &p)
			if err != nil || !ok {
				t.Fatalf("Decode = %v, %v", ok, err)
			}
			want := tc.want
			want.Time = t0
			samePacket(t, tc.name, &p, &want)
			if s := d.Stats(); s.Frames != 1 || s.ByKind[tc.want.Kind] != 1 || s.Decoded() != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestTruncated decodes every prefix of every test frame: shorter than the
// headers it must fail (error or false), never panic; longer (the payload
// cut, as with a snap length) it must decode to the same packet.
func TestTruncated(t *testing.T) {
	for _, tc := range frameCases() {
		d := NewDecoder(16)
		var p Packet
		for n := 0; n < len(tc.data); n++ {
			ok, err := d.Decode(linktype.LinkType(tc.lt), tc.data[:n:n], t0, &p)
			if n < tc.hdr {
				if ok {
					t.Errorf("%s: prefix %d of %d (headers %d) decoded: %+v", tc.name, n, len(tc.data), tc.hdr, p)
				}
				continue
			}
			if !ok || err != nil {
				t.Errorf("%s: prefix %d of %d (headers %d): %v, %v", tc.name, n, len(tc.data), tc.hdr, ok, err)
				continue
			}
			want := tc.want
			want.Time = t0
			if p.Inner.Valid != want.Inner.Valid || p.Inner.HasPorts != want.Inner.HasPorts {
				// A cut quote: what is there must match.
				// (A quote that ends inside IPv6 extension headers gives
				// the last one reached as Proto.)
				if p.Inner.Valid && (p.Inner.Src != want.Inner.Src || p.Inner.Dst != want.Inner.Dst ||
					p.Inner.Proto != want.Inner.Proto && !isIPv6Ext(p.Inner.Proto)) {
					t.Errorf("%s: prefix %d: Inner %+v, want %+v", tc.name, n, p.Inner, want.Inner)
				}
				p.Inner = want.Inner
			}
			samePacket(t, tc.name, &p, &want)
		}
	}
}

func TestErrors(t *testing.T) {
	ip := append([]byte(nil), ipOf(ethSYN)...)
	ip[0] = 0x43 // IHL 3
	badDoff := append([]byte(nil), ipOf(ethSYN)...)
	badDoff[20+12] = 0x40
	v5 := append([]byte(nil), ipOf(ethSYN)...)
	v5[0] = 0x55
	shortTL := append([]byte(nil), ipOf(ethSYN)...)
	shortTL[3] = 42 // total length 42 < 20 + data offset 24
	shortUDP := append([]byte(nil), ipOf(ethUDP)...)
	shortUDP[3] = 24
	tests := []struct {
		name     string
		lt       layers.LinkType
		data     []byte
		layer    Layer
		sentinel error
		msg      string
	}{
		{"ihl", layers.LinkTypeRaw, ip, LayerIPv4, ErrMalformed, "ipv4: header length 12 < 20"},
		{"tcp data offset", layers.LinkTypeRaw, badDoff, LayerTCP, ErrMalformed, "tcp: data offset 16 < 20"},
		{"ip version", layers.LinkTypeRaw, v5, LayerRawIP, ErrMalformed, "raw: IP version 5"},
		{"ip version in ethernet", layers.LinkTypeEthernet, cat(ethSYN[:14], v5), LayerIPv4, ErrMalformed, "ipv4: version 5 != 4"},
		{"ip length below tcp header", layers.LinkTypeRaw, shortTL, LayerTCP, ErrMalformed, "tcp: IP length leaves 22 bytes < data offset 24"},
		{"ip length below udp header", layers.LinkTypeRaw, shortUDP, LayerUDP, ErrMalformed, "udp: IP length leaves 4 bytes < 8"},
		{"short ethernet", layers.LinkTypeEthernet, ethSYN[:10], LayerEthernet, ErrTruncated, "ethernet: truncated: 10 bytes < 14"},
		{"short tcp", layers.LinkTypeEthernet, ethSYN[:50], LayerTCP, ErrTruncated, "tcp: truncated: 16 bytes < 20"},
		{"cut tcp options", layers.LinkTypeEthernet, ethSYN[:56], LayerTCP, ErrTruncated, "tcp: truncated: 22 bytes < data offset 24"},
		{"unsupported link", layers.LinkTypeIEEE802_11, ethSYN, LayerLink, ErrUnsupportedLink, "link: unsupported link type 105"},
		{"too many tags", layers.LinkTypeEthernet, withTags(ethSYN, 0x8100, 1, 0x8100, 1, 0x8100, 1, 0x8100, 1, 0x8100, 1, 0x8100, 1, 0x8100, 1, 0x8100, 1, 0x8100, 1, 0x8100, 1), LayerVLAN, ErrMalformed, "vlan: more than 8 tags"},
	}
	for _, tc := range tests {
		d := NewDecoder(4)
		var p Packet
		ok, err := d.Decode(linktype.LinkType(tc.lt), tc.data, t0, &p)
		if ok || err == nil {
			t.Errorf("%s: Decode = %v, %v; want error", tc.name, ok, err)
			continue
		}
		var de *Error
		if !errors.As(err, &de) || de.Layer != tc.layer || !errors.Is(err, tc.sentinel) || err.Error() != tc.msg {
			t.Errorf("%s: error %q (%#v), want %q at %v", tc.name, err, err, tc.msg, tc.layer)
		}
		if s := d.Stats(); s.Errors[tc.layer] != 1 || s.ErrorCount() != 1 {
			t.Errorf("%s: Errors %v", tc.name, s.Errors)
		}
	}
}

// TestNotIP: frames of other ethertypes are skipped and counted, so a
// capture of an encapsulation we do not decode is visible in Stats.
func TestNotIP(t *testing.T) {
	d := NewDecoder(4)
	var p Packet
	unknown := cat(ethSYN[:12], []byte{0x88, 0xe5}, ipOf(ethSYN)) // MACsec
	llc := cat(ethSYN[:12], []byte{0x00, 0x26, 0x42, 0x42, 0x03}, make([]byte, 40))
	for i := range 93 {
		ok, err := d.Decode(linktype.Ethernet, unknown, t0, &p)
		if ok || err != nil {
			t.Fatalf("frame %d: %v, %v", i, ok, err)
		}
	}
	for _, f := range [][]byte{ethSYN, ethSYN, ethSYN, ethSYN, llc, cat(nullHdr(7, false), ipOf(ethSYN))} {
		lt := layers.LinkTypeEthernet
		if len(f) == 48 {
			lt = layers.LinkTypeNull
		}
		d.Decode(linktype.LinkType(lt), f, t0, &p)
	}
	d.Decode(linktype.Ethernet, withTags(unknown, 0x8100, 3), t0, &p) // behind a VLAN tag too
	s := d.Stats()
	if s.Frames != 100 || s.NotIP != 95 || s.ByKind[KindTCP] != 4 || s.UnknownFamily != 1 {
		t.Fatalf("stats %+v", s)
	}
	if len(s.EtherTypes) != 2 || s.EtherTypes[0] != (EtherTypeCount{0x88e5, 94}) || s.EtherTypes[1] != (EtherTypeCount{0, 1}) {
		t.Fatalf("EtherTypes %+v", s.EtherTypes)
	}
	w := s.Warning(0.5)
	if want := "94% of frames (94 of 100) had ethertype 0x88e5 that was not decoded"; w != want {
		t.Fatalf("Warning = %q, want %q", w, want)
	}
	if w := s.Warning(0.95); w != "" {
		t.Fatalf("Warning(0.95) = %q", w)
	}
}

func TestUnsupportedLinkWarning(t *testing.T) {
	d := NewDecoder(4)
	var p Packet
	for range 3 {
		if _, err := d.Decode(linktype.LinkType(layers.LinkTypePPP), ethSYN, t0, &p); !errors.Is(err, ErrUnsupportedLink) {
			t.Fatalf("err %v", err)
		}
	}
	s := d.Stats()
	if s.UnsupportedLink != 3 || s.LastUnsupportedLink != linktype.LinkType(layers.LinkTypePPP) ||
		!strings.Contains(s.Warning(0.5), "100% of frames (3 of 3) had unsupported link type 9") {
		t.Fatalf("stats %+v warning %q", s, s.Warning(0.5))
	}
}

func TestEtherTypeTableOverflow(t *testing.T) {
	d := NewDecoder(4)
	var p Packet
	f := append([]byte(nil), ethSYN...)
	for i := range maxEtherTypes + 5 {
		binary.BigEndian.PutUint16(f[12:], uint16(0x9000+i))
		d.Decode(linktype.Ethernet, f, t0, &p)
	}
	s := d.Stats()
	if len(s.EtherTypes) != maxEtherTypes || s.OtherEtherTypes != 5 || s.NotIP != maxEtherTypes+5 {
		t.Fatalf("stats %+v", s)
	}
}

// Allocation and speed.

func TestDecodeAllocs(t *testing.T) {
	d := NewDecoder(64)
	var p Packet
	frames := [][]byte{ethSYN, ethHTTPGet, ethIPv6SYN, ethICMPHostUnreachTCP, ethICMPv6PortUnreachUDP, ethARPRequest, withTags(ethSYN, 0x88a8, 1, 0x8100, 2)}
	// Warm up the fragment table (its entries and map grow once).
	ts := t0
	frag := func() {
		ts = ts.Add(time.Millisecond)
		for _, f := range [][]byte{ethFrag1, ethFrag2, ethFrag3} {
			d.Decode(linktype.Ethernet, f, ts, &p)
		}
		ts = ts.Add(FragTimeout + time.Second) // let it expire, so it is created again
	}
	frag()
	frag()
	n := testing.AllocsPerRun(1000, func() {
		for _, f := range frames {
			if ok, err := d.Decode(linktype.Ethernet, f, ts, &p); !ok || err != nil {
				t.Fatalf("Decode: %v, %v", ok, err)
			}
		}
		frag()
	})
	if n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	d := NewDecoder(DefaultMaxFragments)
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(ethSYN)))
	for b.Loop() {
		if ok, _ := d.Decode(linktype.Ethernet, ethSYN, t0, &p); !ok {
			b.Fatal("not decoded")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

func BenchmarkDecodeIPv6VLAN(b *testing.B) {
	d := NewDecoder(DefaultMaxFragments)
	var p Packet
	f := withTags(ethIPv6SYN, 0x8100, 100)
	b.ReportAllocs()
	for b.Loop() {
		d.Decode(linktype.Ethernet, f, t0, &p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// FuzzDecode: no input may panic, and a decoded packet is consistent.
func FuzzDecode(f *testing.F) {
	for _, tc := range frameCases() {
		f.Add(uint16(tc.lt), tc.data)
	}
	for _, fr := range [][]byte{ethFrag1, ethFrag2, ethFrag3, ethMTU16Frag1, ethMTU16Frag2, ethIPv6UDPFrag1, ethIPv6UDPFrag3, ethUDPFrag1} {
		f.Add(uint16(layers.LinkTypeEthernet), fr)
	}
	d := NewDecoder(8) // shared, so fragments of different inputs meet
	var p Packet
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		ok, err := d.Decode(linktype.LinkType(layers.LinkType(lt)), data, t0, &p)
		if ok && err != nil {
			t.Fatalf("ok with error %v", err)
		}
		if err != nil {
			var de *Error
			if !errors.As(err, &de) || de.Error() == "" {
				t.Fatalf("error %v is not a *Error", err)
			}
		}
		if ok && p.Kind != KindARP && (!p.Src.IsValid() || p.Src.Is6() != p.IPv6) {
			t.Fatalf("bad packet %+v", p)
		}
	})
}

// TestLinkGroup: frames to a link-layer broadcast or multicast address say
// so, whatever follows; unicast and link types without that knowledge do
// not.
func TestLinkGroup(t *testing.T) {
	withDst := func(mac ...byte) []byte { return cat(mac, ethSYN[6:]) }
	sll := func(pktType byte) []byte { h := sllHdr(0x0800); h[1] = pktType; return cat(h, ipOf(ethSYN)) }
	sll2 := func(pktType byte) []byte { h := sll2Hdr(0x0800); h[10] = pktType; return cat(h, ipOf(ethSYN)) }
	eth := layers.LinkTypeEthernet
	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		data []byte
		want bool
		uni  bool // LinkUnicast: the link says the frame went to one station
	}{
		{"ethernet unicast", eth, ethSYN, false, true},
		{"ethernet unicast, general path", eth, withTags(ethSYN, 0x8100, 7), false, true},
		{"ethernet broadcast", eth, withDst(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), true, false},
		{"ethernet IPv4 multicast", eth, withDst(0x01, 0x00, 0x5e, 0x00, 0x00, 0xfc), true, false},
		{"ethernet broadcast behind a VLAN tag", eth, withTags(withDst(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 0x8100, 7), true, false},
		{"SLL to us", layers.LinkTypeLinuxSLL, sll(0), false, true},
		{"SLL to another host", layers.LinkTypeLinuxSLL, sll(3), false, true},
		{"SLL broadcast", layers.LinkTypeLinuxSLL, sll(1), true, false},
		{"SLL2 multicast", layers.LinkTypeLinuxSLL2, sll2(2), true, false},
		{"SLL2 outgoing", layers.LinkTypeLinuxSLL2, sll2(4), false, false},
		{"raw IPv4", layers.LinkTypeRaw, ipOf(ethSYN), false, false},
	} {
		var p Packet
		ok, err := NewDecoder(0).Decode(linktype.LinkType(tc.lt), tc.data, t0, &p)
		if !ok || err != nil || p.LinkGroup != tc.want || p.LinkUnicast != tc.uni || p.DstPort != 22 {
			t.Errorf("%s: ok %v err %v LinkGroup %v LinkUnicast %v, want %v %v", tc.name, ok, err, p.LinkGroup, p.LinkUnicast, tc.want, tc.uni)
		}
	}
}
