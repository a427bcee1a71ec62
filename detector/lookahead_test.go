package detector

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// lookaheadTraffic is a mix of scans, their answers and ordinary flows of
// every kind the flow table keys, with ICMP and ARP between them.
func lookaheadTraffic() []decode.Packet {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	var pkts []decode.Packet
	add := func(p decode.Packet) {
		p.Time = t0.Add(time.Duration(len(pkts)) * 50 * time.Microsecond)
		pkts = append(pkts, p)
	}
	tcp := func(src, dst netip.Addr, sport, dport uint16, flags tcpflags.Flags, seq, ack uint32, payload int) decode.Packet {
		return decode.Packet{Kind: decode.KindTCP, Src: src, Dst: dst, Proto: 6, TTL: 64, SrcPort: sport, DstPort: dport,
			Flags: flags, Seq: seq, Ack: ack, Window: 1024, Options: mssOnly, Payload: payload}
	}
	for i := range 6000 {
		scanner := netip.AddrFrom4([4]byte{10, 9, byte(i % 7), 1})
		target := netip.AddrFrom4([4]byte{10, 77, 0, byte(rng.IntN(4))})
		client := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		port := uint16(1 + rng.IntN(2000))
		add(tcp(scanner, target, 40000, port, syn, 1000, 0, 0))
		switch rng.IntN(3) {
		case 0:
			add(tcp(target, scanner, port, 40000, rstack, 0, 1001, 0))
		case 1:
			add(tcp(target, scanner, port, 40000, synack, 5000, 1001, 0))
			add(tcp(scanner, target, 40000, port, rst, 1001, 0, 0))
		}
		add(udpP(client, target, uint16(30000+i), 53, 40))
		add(udpP(target, client, 53, uint16(30000+i), 80))
		add(tcp(client, target, uint16(20000+i), 443, pshack, uint32(i), 7, 100))
		switch rng.IntN(8) {
		case 0:
			add(udpP(scanner, target, 41000, port, 0))
		case 1:
			add(sctpP(scanner, target, 41000, port, 1))
		case 2:
			add(ipP(scanner, target, uint8(rng.IntN(140))))
		case 3:
			add(icmpP(scanner, target, 8, 0))
		case 4:
			add(arpP(client, target, 1))
		}
	}
	return pkts
}

// TestPrefetchSameEvents: a look-ahead, right or wrong, never changes what
// the detector reports.
func TestPrefetchSameEvents(t *testing.T) {
	// hint tells d of the packets of batch from i on, before i is processed.
	type hint func(d *Detector, batch []decode.Packet, i int)
	run := func(pkts []decode.Packet, h hint) []string {
		var out []string
		d := New(rules.Default(), func(e Event) { out = append(out, fmt.Sprintf("%+v", e)) })
		d.ahead.minFlows = 0
		for i := 0; i < len(pkts); i += 512 {
			batch := pkts[i:min(len(pkts), i+512)]
			for j := range batch {
				if h != nil {
					h(d, batch, j)
				}
				d.Process(&batch[j])
			}
		}
		d.Flush()
		return out
	}
	chunks := func(n int) hint {
		return func(d *Detector, b []decode.Packet, i int) {
			if i%n == 0 {
				c := b[i:min(len(b), i+n)]
				d.Prefetch(len(c), func(k int) *decode.Packet { return &c[k] })
			}
		}
	}
	pkts := lookaheadTraffic()
	want := run(pkts, nil)
	alerts := 0
	for _, e := range want {
		if len(e) > 11 && e[:11] == "{Kind:alert" {
			alerts++
		}
	}
	if alerts == 0 {
		t.Fatalf("the traffic raises no alert: %d events", len(want))
	}
	for _, tc := range []struct {
		name string
		h    hint
	}{
		{"batch", chunks(512)},
		{"chunks of 16", chunks(16)},
		{"chunks of 1", chunks(1)},
		{"some left out of the run", func(d *Detector, b []decode.Packet, i int) {
			if i == 0 {
				d.Prefetch(len(b), func(k int) *decode.Packet {
					if k%5 == 3 {
						return nil
					}
					return &b[k]
				})
			}
		}},
		{"the run is the next batch", func(d *Detector, b []decode.Packet, i int) {
			if i == 0 {
				d.Prefetch(len(b)-1, func(k int) *decode.Packet { return &b[k+1] })
			}
		}},
		{"every packet told twice", func(d *Detector, b []decode.Packet, i int) {
			d.Prefetch(2, func(int) *decode.Packet { return &b[i] })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := run(pkts, tc.h)
			if len(got) != len(want) {
				t.Fatalf("%d events, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("event %d:\n got %s\nwant %s", i, got[i], want[i])
				}
			}
		})
	}
}

// TestPrefetchRun: Process takes the keys of the run's packets in order,
// and drops the rest of the run at a packet out of its order.
func TestPrefetchRun(t *testing.T) {
	pkts := lookaheadTraffic()[:64]
	d := New(rules.Default(), func(Event) {})
	d.ahead.minFlows = 0
	d.Prefetch(32, func(k int) *decode.Packet { return &pkts[k] })
	for i := range 8 {
		d.Process(&pkts[i])
		if d.ahead.next != i+1 || d.ahead.n != 32 {
			t.Fatalf("after packet %d: next %d of %d", i, d.ahead.next, d.ahead.n)
		}
	}
	d.Process(&pkts[9]) // 8 left out
	if d.ahead.n != 0 || d.ahead.cur != -1 {
		t.Fatalf("out of order: run of %d, at %d", d.ahead.n, d.ahead.cur)
	}
}

// TestPrefetchSmallTable: a table that fits in the core's cache is not
// read ahead.
func TestPrefetchSmallTable(t *testing.T) {
	pkts := lookaheadTraffic()[:512]
	d := New(rules.Default(), func(Event) {})
	d.Prefetch(len(pkts), func(k int) *decode.Packet { return &pkts[k] })
	if d.ahead.n != 0 {
		t.Errorf("run of %d packets over a table of %d flows", d.ahead.n, d.flows.len())
	}
}
