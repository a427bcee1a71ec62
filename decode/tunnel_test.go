package decode

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// underlay wraps payload in an Ethernet + IPv4 header from 192.0.2.1 to
// 192.0.2.2 carrying IP protocol proto: the mirror or overlay network.
func underlay(proto uint8, payload []byte) []byte {
	ip := []byte{
		0x45, 0x00, 0, 0, 0x12, 0x34, 0x40, 0x00, 64, proto, 0, 0,
		192, 0, 2, 1, 192, 0, 2, 2,
	}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	eth := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
	return cat(eth, ip, payload)
}

// udpTo is a UDP header to port dst followed by payload.
func udpTo(dst uint16, payload []byte) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h, 40000)
	binary.BigEndian.PutUint16(h[2:], dst)
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	return cat(h, payload)
}

func TestTunnels(t *testing.T) {
	vxlan := []byte{0x08, 0, 0, 0, 0, 0, 42, 0}
	geneveEth := []byte{0x00, 0x00, 0x65, 0x58, 0, 0, 42, 0}
	geneveOpt := []byte{0x01, 0x00, 0x65, 0x58, 0, 0, 42, 0, 0x01, 0x02, 0x80, 0x00} // one 4-byte option
	geneveIP := []byte{0x00, 0x00, 0x08, 0x00, 0, 0, 42, 0}
	greIP := []byte{0x00, 0x00, 0x08, 0x00}
	greTEB := []byte{0x20, 0x00, 0x65, 0x58, 0, 0, 0, 7}                 // key 7
	greCsum := []byte{0x80, 0x00, 0x08, 0x00, 0, 0, 0, 0}                // checksum present
	erspan1 := []byte{0x00, 0x00, 0x88, 0xbe}                            // type I: no sequence, no header
	erspan2 := []byte{0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1}                // sequence 1
	erspan2Hdr := []byte{0x10, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00} // ver 1, session 5
	erspan3 := []byte{0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1}
	erspan3Hdr := []byte{0x20, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0} // ver 2, no subheader
	erspan3Sub := []byte{0x20, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 1} // O: 8-byte platform subheader
	sub := make([]byte, 8)

	cases := []struct {
		name   string
		frame  []byte
		tunnel Tunnel
	}{
		{"gre/ipv4", underlay(protoGRE, cat(greIP, ipOf(ethSYN))), TunnelGRE},
		{"gre checksum/ipv4", underlay(protoGRE, cat(greCsum, ipOf(ethSYN))), TunnelGRE},
		{"gretap key/ethernet", underlay(protoGRE, cat(greTEB, ethSYN)), TunnelGRE},
		{"erspan type I", underlay(protoGRE, cat(erspan1, ethSYN)), TunnelERSPAN},
		{"erspan type II", underlay(protoGRE, cat(erspan2, erspan2Hdr, ethSYN)), TunnelERSPAN},
		{"erspan type III", underlay(protoGRE, cat(erspan3, erspan3Hdr, ethSYN)), TunnelERSPAN},
		{"erspan type III subheader", underlay(protoGRE, cat(erspan3, erspan3Sub, sub, ethSYN)), TunnelERSPAN},
		{"vxlan 4789", underlay(protoUDP, udpTo(4789, cat(vxlan, ethSYN))), TunnelVXLAN},
		{"vxlan 8472 (linux)", underlay(protoUDP, udpTo(8472, cat(vxlan, ethSYN))), TunnelVXLAN},
		{"vxlan vlan-tagged inner", underlay(protoUDP, udpTo(4789, cat(vxlan, withTags(ethSYN, 100)))), TunnelVXLAN},
		{"geneve ethernet", underlay(protoUDP, udpTo(6081, cat(geneveEth, ethSYN))), TunnelGeneve},
		{"geneve option", underlay(protoUDP, udpTo(6081, cat(geneveOpt, ethSYN))), TunnelGeneve},
		{"geneve ipv4", underlay(protoUDP, udpTo(6081, cat(geneveIP, ipOf(ethSYN)))), TunnelGeneve},
		{"vxlan in gre", underlay(protoGRE, cat(greIP, ipOf(underlay(protoUDP, udpTo(4789, cat(vxlan, ethSYN)))))), TunnelGRE},
	}
	for _, c := range cases {
		d := NewDecoder(0)
		var p Packet
		ok, err := d.Decode(linktype.Ethernet, c.frame, time.Unix(1, 0), &p)
		if !ok || err != nil {
			t.Errorf("%s: Decode = %v, %v", c.name, ok, err)
			continue
		}
		if p.Kind != KindTCP || p.Flags != tcpflags.SYN || p.Src != a("10.81.0.1") || p.Dst != a("10.81.0.2") || p.DstPort != 22 {
			t.Errorf("%s: got %v %v %v -> %v:%d, want the inner SYN 10.81.0.1 -> 10.81.0.2:22", c.name, p.Kind, p.Flags, p.Src, p.Dst, p.DstPort)
		}
		if p.Tunnel != c.tunnel || p.Time != time.Unix(1, 0) {
			t.Errorf("%s: tunnel %v time %v, want %v at the frame's time", c.name, p.Tunnel, p.Time, c.tunnel)
		}
		if d.Stats().Tunnels[c.tunnel] == 0 {
			t.Errorf("%s: tunnel not counted", c.name)
		}
	}
}

// A datagram to a tunnel port that is not a well-formed tunnel stays the
// datagram it is; GRE that carries no IP stays an IP-protocol-47 packet.
func TestNotTunnels(t *testing.T) {
	dnsLike := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	badInner := cat([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, ethSYN[:20]) // VXLAN header, inner frame cut
	cases := []struct {
		name  string
		frame []byte
		kind  Kind
		proto uint8
	}{
		{"udp 4789 not vxlan", underlay(protoUDP, udpTo(4789, dnsLike)), KindUDP, protoUDP},
		{"udp 6081 geneve version 1", underlay(protoUDP, udpTo(6081, []byte{0x40, 0, 0x65, 0x58, 0, 0, 0, 0})), KindUDP, protoUDP},
		{"vxlan with a damaged inner frame", underlay(protoUDP, udpTo(4789, badInner)), KindUDP, protoUDP},
		{"gre version 1 (pptp)", underlay(protoGRE, []byte{0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0}), KindOther, protoGRE},
		{"gre short", underlay(protoGRE, []byte{0x00}), KindOther, protoGRE},
	}
	for _, c := range cases {
		d := NewDecoder(0)
		var p Packet
		ok, err := d.Decode(linktype.Ethernet, c.frame, time.Unix(1, 0), &p)
		if !ok || err != nil || p.Kind != c.kind || p.Proto != c.proto || p.Tunnel != TunnelNone || p.Dst != a("192.0.2.2") {
			t.Errorf("%s: got ok=%v err=%v kind %v proto %d tunnel %v dst %v, want the outer packet", c.name, ok, err, p.Kind, p.Proto, p.Tunnel, p.Dst)
		}
	}
}

// Tunnels nested deeper than maxTunnels are not unwrapped further.
func TestTunnelDepth(t *testing.T) {
	greIP := []byte{0x00, 0x00, 0x08, 0x00}
	frame := ipOf(ethSYN)
	for range maxTunnels + 2 {
		frame = ipOf(underlay(protoGRE, cat(greIP, frame)))
	}
	d := NewDecoder(0)
	var p Packet
	ok, err := d.Decode(linktype.Ethernet, cat(ethSYN[:14], frame), time.Unix(1, 0), &p)
	if ok || err != nil {
		t.Fatalf("Decode = %v, %v; want a frame not for us", ok, err)
	}
	if n := d.Stats().Tunnels[TunnelGRE]; n != maxTunnels {
		t.Errorf("unwrapped %d tunnels, want %d", n, maxTunnels)
	}
}

func TestTunnelAllocs(t *testing.T) {
	frame := underlay(protoUDP, udpTo(4789, cat([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, ethSYN)))
	d := NewDecoder(0)
	var p Packet
	ts := time.Unix(1, 0)
	if n := testing.AllocsPerRun(100, func() { d.Decode(linktype.Ethernet, frame, ts, &p) }); n != 0 {
		t.Errorf("%v allocations per tunnelled frame, want 0", n)
	}
}
