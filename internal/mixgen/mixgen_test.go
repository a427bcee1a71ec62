package mixgen

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	o := Options{Packets: 5000, Seed: 3, Snaplen: 128}
	if _, err := Generate(&a, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(&b, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two runs with the same seed differ")
	}
	var c bytes.Buffer
	o.Seed = 4
	Generate(&c, o)
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("different seeds give the same file")
	}
}

// flowKey is a TCP connection, client (the SYN's sender) first.
type flowKey struct{ a, b netip.AddrPort }

type flowState struct {
	next    [2]uint32 // next sequence number expected from client, server
	started [2]bool
	acked   [2]uint32
	hasAck  [2]bool
	packets int
	data    int
	fin     bool
	rst     bool
	handsh  bool
}

// sumBytes adds b to a ones'-complement checksum sum; foldOK says whether a
// sum over an IPv4 header, or a transport segment with its pseudo-header,
// including the checksum field, verifies.
func sumBytes(b []byte, acc uint32) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

func foldOK(acc uint32) bool {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return acc == 0xffff
}

func TestGenerate(t *testing.T) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("MIXGEN_TEST_PACKETS")); err == nil {
		n = v // a full-size check: MIXGEN_TEST_PACKETS=2000000 go test -run TestGenerate ./internal/mixgen
	}
	var buf bytes.Buffer
	sum, err := Generate(&buf, Options{Packets: n, Seed: 1, Snaplen: 128})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != 128 {
		t.Fatalf("link type %v snaplen %d", r.LinkType(), r.Snaplen())
	}

	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		udp     layers.UDP
		icmp4   layers.ICMPv4
		icmp6   layers.ICMPv6
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &udp, &icmp4, &icmp6, &payload)
	parser.IgnoreUnsupported = true
	var decoded []gopacket.LayerType

	scanner := netip.MustParseAddr("203.0.113.66")
	flows := map[flowKey]*flowState{}
	var (
		count, v6, udpN, icmpN, full         int
		last                                 time.Time
		probes, rstAcks, synAcks, scannerRst int
		probePorts                           = map[uint16]bool{}
		synTargets                           = map[[2]netip.Addr]map[uint16]bool{}
	)
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
		if !ci.Timestamp.After(last) {
			t.Fatalf("packet %d: timestamp %v not after %v", count, ci.Timestamp, last)
		}
		last = ci.Timestamp
		if ci.CaptureLength > 128 || ci.Length < ci.CaptureLength {
			t.Fatalf("packet %d: caplen %d len %d", count, ci.CaptureLength, ci.Length)
		}
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			t.Fatalf("packet %d: %v", count, err)
		}
		var src, dst netip.Addr
		var ipPayload int // transport bytes on the wire
		var pseudo uint32
		var transport []byte
		var df bool
		var ttl uint8
		complete := ci.CaptureLength == ci.Length
		if complete {
			full++
		}
		for _, lt := range decoded {
			switch lt {
			case layers.LayerTypeIPv4:
				src, _ = netip.AddrFromSlice(ip4.SrcIP.To4())
				dst, _ = netip.AddrFromSlice(ip4.DstIP.To4())
				ipPayload = int(ip4.Length) - 20
				df, ttl = ip4.Flags&layers.IPv4DontFragment != 0, ip4.TTL
				if int(ip4.Length)+14 != ci.Length {
					t.Fatalf("packet %d: IP length %d, wire length %d", count, ip4.Length, ci.Length)
				}
				if !foldOK(sumBytes(data[14:34], 0)) {
					t.Fatalf("packet %d: bad IPv4 header checksum", count)
				}
				pseudo = sumBytes(data[26:34], 0) + uint32(ip4.Protocol) + uint32(ipPayload)
				transport = data[34:]
			case layers.LayerTypeIPv6:
				v6++
				src, _ = netip.AddrFromSlice(ip6.SrcIP)
				dst, _ = netip.AddrFromSlice(ip6.DstIP)
				ipPayload = int(ip6.Length)
				ttl = ip6.HopLimit
				pseudo = sumBytes(data[22:54], 0) + uint32(ip6.NextHeader) + uint32(ipPayload)
				transport = data[54:]
			case layers.LayerTypeUDP:
				udpN++
			case layers.LayerTypeICMPv4:
				icmpN++
				pseudo = 0
			case layers.LayerTypeICMPv6:
				icmpN++
			}
		}
		if complete && transport != nil && !foldOK(sumBytes(transport, pseudo)) {
			t.Fatalf("packet %d: bad transport checksum (%v)", count, decoded)
		}
		if !contains(decoded, layers.LayerTypeTCP) {
			continue
		}
		plen := ipPayload - int(tcp.DataOffset)*4
		flags := uint8(data[14+ipPayload0(decoded)+13])
		sp := netip.AddrPortFrom(src, uint16(tcp.SrcPort))
		dp := netip.AddrPortFrom(dst, uint16(tcp.DstPort))

		if src == scanner || dst == scanner {
			switch {
			case src == scanner && tcp.SYN:
				probes++
				probePorts[uint16(tcp.DstPort)] = true
				if tcp.Window != 1024 || df || ttl < 37 || ttl > 59 || len(tcp.Options) != 1 || tcp.Options[0].OptionType != layers.TCPOptionKindMSS {
					t.Fatalf("packet %d: probe is not nmap-like: win %d df %v ttl %d opts %v", count, tcp.Window, df, ttl, tcp.Options)
				}
			case src == scanner && tcp.RST:
				scannerRst++
			case tcp.RST && tcp.ACK:
				rstAcks++
			case tcp.SYN && tcp.ACK:
				synAcks++
			}
			continue
		}
		if tcp.SYN && !tcp.ACK {
			pair := [2]netip.Addr{src, dst}
			if synTargets[pair] == nil {
				synTargets[pair] = map[uint16]bool{}
			}
			synTargets[pair][dp.Port()] = true
		}

		// Sequence arithmetic: every segment's seq is what the sender's
		// previous segments promise; acks never run ahead of the data.
		key, dir := flowKey{a: sp, b: dp}, 0
		if _, ok := flows[key]; !ok {
			if rk := (flowKey{a: dp, b: sp}); flows[rk] != nil {
				key, dir = rk, 1
			}
		}
		f := flows[key]
		if f == nil {
			if flags != fSYN {
				continue // began before the capture (the start of the file)
			}
			f = &flowState{}
			flows[key] = f
		}
		f.packets++
		if dir == 1 && !f.started[1] {
			if !tcp.SYN && !tcp.RST {
				t.Fatalf("packet %d: server's first segment has flags %#x", count, flags)
			}
			if tcp.Ack != f.next[0] {
				t.Fatalf("packet %d: answer to SYN acks %d, want %d", count, tcp.Ack, f.next[0])
			}
			f.started[1] = true
			if tcp.RST {
				f.rst = true
				continue
			}
			f.next[1] = tcp.Seq
		} else if f.started[dir] && tcp.Seq != f.next[dir] {
			t.Fatalf("packet %d (%v > %v flags %#x): seq %d, want %d", count, sp, dp, flags, tcp.Seq, f.next[dir])
		}
		if !f.started[dir] {
			f.started[dir] = true
			f.next[dir] = tcp.Seq
		}
		if tcp.ACK {
			other := 1 - dir
			if !f.started[other] || seqGT(tcp.Ack, f.next[other]) || (f.hasAck[dir] && seqGT(f.acked[dir], tcp.Ack)) {
				t.Fatalf("packet %d: ack %d outside [%d, %d]", count, tcp.Ack, f.acked[dir], f.next[other])
			}
			f.acked[dir], f.hasAck[dir] = tcp.Ack, true
		}
		f.next[dir] += uint32(plen)
		if tcp.SYN || tcp.FIN {
			f.next[dir]++
		}
		if tcp.SYN && tcp.ACK {
			f.handsh = true
		}
		f.data += plen
		f.fin = f.fin || tcp.FIN
		f.rst = f.rst || tcp.RST
	}
	if count != n {
		t.Fatalf("%d packets, want %d", count, n)
	}

	// The one scan.
	if probes != 1000 || len(probePorts) != 1000 || rstAcks != 997 || synAcks != 3 || scannerRst != 3 {
		t.Errorf("scan: %d probes to %d ports, %d RST-ACK, %d SYN-ACK, %d RST from the scanner", probes, len(probePorts), rstAcks, synAcks, scannerRst)
	}
	if sum.Scanner != scanner || sum.ScanPorts != 1000 {
		t.Errorf("summary %+v", sum)
	}
	// No benign host looks like a scanner: at most the 3 services and the 5
	// closed ports of any one server.
	for pair, ports := range synTargets {
		if len(ports) > 8 {
			t.Errorf("benign host %v sent SYNs to %d ports of %v", pair[0], len(ports), pair[1])
		}
	}

	// Enough of everything.
	var complete, withData, finClosed, rstClosed, refused int
	for _, f := range flows {
		if f.handsh {
			complete++
		}
		if f.data > 10*1448 {
			withData++
		}
		if f.fin {
			finClosed++
		}
		if f.rst && f.handsh {
			rstClosed++
		}
		if f.rst && !f.handsh {
			refused++
		}
	}
	t.Logf("%d packets, %d IPv6, %d UDP, %d ICMP, %d whole; %d handshakes, %d bulk, %d FIN, %d RST closes, %d refused; scan %+v",
		count, v6, udpN, icmpN, full, complete, withData, finClosed, rstClosed, refused, sum)
	for what, got := range map[string]int{"handshakes": complete, "bulk flows": withData, "FIN closes": finClosed,
		"RST closes": rstClosed, "refused": refused, "IPv6": v6, "UDP": udpN, "ICMP": icmpN} {
		if got < 1 {
			t.Errorf("only %d %s", got, what)
		}
	}
}

func seqGT(a, b uint32) bool { return int32(a-b) > 0 }

func contains(ls []gopacket.LayerType, l gopacket.LayerType) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

// ipPayload0 is the length of the IP header in a decoded frame.
func ipPayload0(ls []gopacket.LayerType) int {
	if contains(ls, layers.LayerTypeIPv6) {
		return 40
	}
	return 20
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(io.Discard, Options{Packets: 200_000, Seed: 1, Snaplen: 128}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(200_000*b.N)/b.Elapsed().Seconds(), "packets/s")
}
