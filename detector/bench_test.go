package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// BenchmarkEstablished is the hot path: data segments of known flows.
func BenchmarkEstablished(b *testing.B) {
	d := New(rules.Default(), func(Event) {})
	const flows = 4096
	pk := make([]decode.Packet, flows)
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for i := range pk {
		pk[i] = decode.Packet{Kind: decode.KindTCP, Proto: 6, TTL: 64,
			Src: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Dst: netip.MustParseAddr("10.2.0.10"),
			SrcPort: uint16(30000 + i), DstPort: 443, Flags: tcpflags.ACK | tcpflags.PSH, Payload: 1448}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &pk[i%flows]
		p.Time = t0.Add(time.Duration(i) * time.Microsecond)
		d.Process(p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkSYNScan: probes and replies of a vertical SYN scan.
func BenchmarkSYNScan(b *testing.B) {
	d := New(rules.Default(), func(Event) {})
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	probe := decode.Packet{Kind: decode.KindTCP, Proto: 6, TTL: 44, Src: scanner, Dst: target,
		SrcPort: 40000, Flags: tcpflags.SYN, Seq: 1000, Window: 1024, Options: mssOnly}
	reply := decode.Packet{Kind: decode.KindTCP, Proto: 6, TTL: 64, Src: target, Dst: scanner,
		DstPort: 40000, Flags: tcpflags.RST | tcpflags.ACK, Ack: 1001}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		port := uint16(i%65535 + 1)
		if i%65535 == 0 {
			probe.Src = netip.AddrFrom4([4]byte{192, 0, 2, byte(i / 65535)})
			reply.Dst = probe.Src
		}
		probe.DstPort, reply.SrcPort = port, port
		probe.Time = t0.Add(time.Duration(i) * time.Microsecond)
		reply.Time = probe.Time
		d.Process(&probe)
		d.Process(&reply)
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "packets/s")
}
