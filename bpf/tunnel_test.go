package bpf

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Tunnels: the filter judges a VXLAN, Geneve or GRE packet by the packet it
// carries, as the decoder unwraps it, so that a scan inside an overlay
// passes and the overlay's bulk is dropped.

// udpBodyFrame is a UDP datagram from A to B carrying body.
func udpBodyFrame(t testing.TB, s seg, body []byte) []byte {
	t.Helper()
	nl, nw, et := ip(s, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(s.sport), DstPort: layers.UDPPort(s.dport)}
	if err := udp.SetNetworkLayerForChecksum(nw); err != nil {
		t.Fatal(err)
	}
	return serialize(t, append(link(s, et), nl, udp, gopacket.Payload(body))...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// The encapsulations, each around an inner Ethernet frame or IP packet.
var (
	vxlanHdr    = []byte{0x08, 0, 0, 0, 0, 0, 42, 0}
	geneveTEB   = []byte{0x02, 0, 0x65, 0x58, 0, 0, 42, 0, 0x01, 0x02, 0x80, 0x01, 0, 0, 0, 0} // 8 bytes of options
	geneveIPv4  = []byte{0x00, 0, 0x08, 0x00, 0, 0, 42, 0}
	greIPv4     = []byte{0x00, 0x00, 0x08, 0x00}
	greTEBKey   = []byte{0x20, 0x00, 0x65, 0x58, 0, 0, 0, 7}
	erspan2     = []byte{0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x01, 0, 0, 0, 0, 0, 0}
	erspan3     = []byte{0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	pptpGRE     = []byte{0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 1}
	vxlanNoFlag = []byte{0x00, 0, 0, 0, 0, 0, 42, 0}
)

// tunnel wraps inner frames (from tcpFrame or udpFrame) in one encapsulation.
type tunnel struct {
	name  string
	outer uint32                    // bytes before the inner packet, link header not counted
	wrap  func(inner []byte) []byte // inner is an Ethernet frame
	ip    bool                      // the inner packet is IP without its Ethernet header
	v6    bool                      // inner IPv6
}

func tunnels(t *testing.T) []tunnel {
	udpTo := func(port uint16, v6 bool, hdr []byte) func([]byte) []byte {
		return func(inner []byte) []byte {
			return udpBodyFrame(t, seg{v6: v6, sport: 51000, dport: port}, cat(hdr, inner))
		}
	}
	gre := func(hdr []byte) func([]byte) []byte {
		return func(inner []byte) []byte { return rawIPFrame(t, seg{}, layers.IPProtocolGRE, cat(hdr, inner)) }
	}
	return []tunnel{
		{name: "vxlan", outer: 20 + 8 + 8, wrap: udpTo(4789, false, vxlanHdr)},
		{name: "vxlan over IPv6, inner IPv6", outer: 40 + 8 + 8, wrap: udpTo(4789, true, vxlanHdr), v6: true},
		{name: "vxlan on Linux's port", outer: 20 + 8 + 8, wrap: udpTo(8472, false, vxlanHdr)},
		{name: "geneve with options", outer: 20 + 8 + 16, wrap: udpTo(6081, false, geneveTEB)},
		{name: "geneve of IPv4", outer: 20 + 8 + 8, wrap: udpTo(6081, false, geneveIPv4), ip: true},
		{name: "gre of IPv4", outer: 20 + 4, wrap: gre(greIPv4), ip: true},
		{name: "gre of Ethernet with a key", outer: 20 + 8, wrap: gre(greTEBKey)},
		{name: "erspan II", outer: 20 + 16, wrap: gre(erspan2)},
		{name: "erspan III", outer: 20 + 20, wrap: gre(erspan3)},
	}
}

func TestTunnels(t *testing.T) {
	for _, mode := range filterModes {
		for i, tu := range tunnels(t) {
			t.Run(mode.name+"/"+tu.name, func(t *testing.T) {
				f := loadTest(t, Options{Patterns: testPatterns, Cooked: mode.cooked})
				base := uint16(1000 * (i + 1))
				in := func(sport uint16, flags uint8, payload int, reverse bool) []byte {
					fr := tcpFrame(t, seg{v6: tu.v6, sport: sport, dport: 80, flags: flags, payload: payload, reverse: reverse})
					if tu.ip {
						fr = fr[14:]
					}
					return tu.wrap(fr)
				}
				ipLen := uint32(20)
				if tu.v6 {
					ipLen = 40
				}
				innerLink := uint32(14)
				if tu.ip {
					innerLink = 0
				}
				keep := mode.hdr + tu.outer + innerLink + ipLen + 20 + 32
				before, _ := f.Counters()
				steps := []step{
					{name: "inner SYN", frame: in(base+1, fSYN, 0, false), pass: true, keep: keep},
					{name: "inner SYN-ACK", frame: in(base+1, fSYN|fACK, 0, true), pass: true, keep: keep},
					{name: "inner RST", frame: in(base+2, fRST, 0, false), pass: true},
					{name: "inner first ACK+payload", frame: in(base+3, fACK|fPSH, 1000, false), pass: true},
					{name: "inner second ACK+payload (bulk)", frame: in(base+3, fACK|fPSH, 1000, false), pass: false},
					{name: "inner pure ACK back", frame: in(base+3, fACK, 0, true), pass: false},
					{name: "inner first payload back", frame: in(base+3, fACK, 500, true), pass: true},
					{name: "inner second payload back (bulk)", frame: in(base+3, fACK, 500, true), pass: false},
					{name: "inner NULL on a known flow", frame: in(base+3, 0, 0, false), pass: true},
					{name: "inner FIN-ACK", frame: in(base+3, fFIN|fACK, 0, false), pass: true},
				}
				runSteps(t, f, mode.cooked, steps)
				after, _ := f.Counters()
				n := uint64(len(steps))
				if after.Seen-before.Seen != n || after.Passed+after.Dropped-before.Passed-before.Dropped != n {
					t.Errorf("seen +%d, passed+dropped +%d; want +%d each (one verdict a frame)", after.Seen-before.Seen,
						after.Passed+after.Dropped-before.Passed-before.Dropped, n)
				}
				reasons := after.Errors + after.TCPControl + after.TCPPattern + after.TCPFirst + after.TCPData + after.UDPFirst + after.ICMP + after.SCTP + after.ARP + after.OtherFirst + after.Fragment
				if reasons != after.Passed {
					t.Errorf("pass reasons add up to %d, passed %d: %+v", reasons, after.Passed, after)
				}
				if after.Errors != 0 {
					t.Errorf("errors = %d, want 0", after.Errors)
				}
			})
		}
	}
}

// TestNotTunnels: what the decoder does not unwrap, the filter judges as
// the outer packet; a tunnel in a tunnel is unwrapped once; a damaged inner
// frame passes (fail open).
func TestNotTunnels(t *testing.T) {
	f := loadTest(t, Options{Patterns: testPatterns})
	syn := tcpFrame(t, seg{sport: 7001, dport: 80, flags: fSYN})
	vx := func(sport uint16, body []byte) []byte { return udpBodyFrame(t, seg{sport: sport, dport: 4789}, body) }
	nested := vx(51001, cat(vxlanHdr, vx(52000, cat(vxlanHdr, syn))))
	runSteps(t, f, false, []step{
		{name: "UDP to 4789 without the VXLAN flag, first", frame: vx(51002, cat(vxlanNoFlag, syn)), pass: true, keep: 14 + 20 + 8 + 32},
		{name: "UDP to 4789 without the VXLAN flag, second", frame: vx(51002, cat(vxlanNoFlag, syn)), pass: false},
		{name: "GRE version 1 (PPTP), first", frame: rawIPFrame(t, seg{}, layers.IPProtocolGRE, cat(pptpGRE, syn[14:])), pass: true},
		{name: "GRE version 1 (PPTP), second", frame: rawIPFrame(t, seg{}, layers.IPProtocolGRE, cat(pptpGRE, syn[14:])), pass: false},
		// Unwrapped once: the inner packet is a UDP datagram to 4789.
		{name: "VXLAN in VXLAN, first", frame: nested, pass: true, keep: 14 + 20 + 8 + 8 + 14 + 20 + 8 + 32},
		{name: "VXLAN in VXLAN, second", frame: nested, pass: false},
	})
	before, _ := f.Counters()
	if run(t, f, false, vx(51003, cat(vxlanHdr, syn[:10]))) == 0 {
		t.Error("VXLAN with a truncated inner frame dropped, want pass (fail open)")
	}
	after, _ := f.Counters()
	if after.Errors != before.Errors+1 {
		t.Errorf("errors %d -> %d, want +1", before.Errors, after.Errors)
	}
}
