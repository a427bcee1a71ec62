package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// Small state caps: probes whose flow is evicted before the answer count
// as unanswered, and a scanner in an alerted episode keeps its tracker
// while other sources come and go.
func TestEvictionUnderSmallCaps(t *testing.T) {
	other := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 88, byte(i >> 8), byte(i)}) }
	runCases(t, []protoCase{{
		// Only the last four probes still have a flow when the port
		// unreachables arrive.
		name:  "udp with 4 flows",
		rules: func(r *rules.Rules) { r.State.MaxFlows = 4 },
		run: func(w *wire) {
			for port := uint16(1); port <= 40; port++ {
				w.send(udpP(scanner, target, 41000, port, 0))
			}
			for port := uint16(1); port <= 40; port++ {
				w.send(unreachP(target, scanner, 3, decode.Quoted{Src: scanner, Dst: target, Proto: 17, SrcPort: 41000, DstPort: port}))
			}
			if st := w.d.Stats(); st.Flows > 4 || st.FlowsEvicted < 36 {
				w.t.Errorf("stats %+v", st)
			}
		},
		want: []want{{scanner: scanner, typ: technique.UDP, ports: 40, evidence: []string{"4 ICMP port unreachable, 36 unanswered"}}},
	}, {
		// The scanner pauses after its alert while 50 other sources send a
		// probe each: they wait in probation (4 places), so the scanner
		// keeps its tracker and its scan is one.
		name:  "4 trackers",
		rules: func(r *rules.Rules) { r.State.MaxTrackers = 4 },
		run: func(w *wire) {
			for port := uint16(1); port <= 40; port++ {
				w.send(nmapSYNP(scanner, target, 40000, port, 1, 0))
				w.send(tcpP(target, scanner, port, 40000, rstack, 0, 2))
				if port == 20 {
					for i := 0; i < 50; i++ {
						w.send(nmapSYNP(other(i), target, 40000, 80, 1, 0))
						w.send(tcpP(target, other(i), 80, 40000, rstack, 0, 2))
					}
				}
			}
			if st := w.d.Stats(); st.Trackers != 1 || st.Probation > 4 || st.ProbationEvicted < 46 {
				w.t.Errorf("stats %+v", st)
			}
		},
		want: []want{{scanner: scanner, typ: technique.Syn, ports: 40}},
	}})
}

// TestEvictionKeepsCredit: a client's record of answered requests outlives
// the eviction of its tracker (its successes go back to the credit) or of
// its probe in probation (the credit kept them all along), as a scanner's
// failures do: its next refusals are weighed against it, and four of them
// are no scan.
func TestEvictionKeepsCredit(t *testing.T) {
	refused := func(src netip.Addr, port uint16) Contact {
		return Contact{Scanner: src, Target: target, Port: port, Technique: technique.Connect, Outcome: OutClosed}
	}
	answered := func(src netip.Addr, i int) Contact {
		return Contact{Scanner: src, Target: host(200 + i), Port: 443, Technique: technique.Connect, Outcome: OutBenign}
	}
	for _, tc := range []struct {
		name    string
		prepare func(b *book, client netip.Addr)
		each    int // refusals of each other source that push the client out
	}{{
		// Two refusals make it a tracker; its successes then outweigh them.
		name: "tracker",
		prepare: func(b *book, client netip.Addr) {
			b.add(refused(client, 1))
			b.add(refused(client, 2))
			for i := range 7 {
				b.add(answered(client, i))
			}
		},
		each: 2,
	}, {
		// One refusal makes it a probe; its successes outweigh it there.
		name: "probe",
		prepare: func(b *book, client netip.Addr) {
			b.add(refused(client, 1))
			for i := range 7 {
				b.add(answered(client, i))
			}
		},
		each: 1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := *rules.Default()
			r.State.MaxTrackers = 2 // two trackers, two probes
			b := newBook(t, &r)
			client := host(10)
			tc.prepare(b, client)
			// Others' refusals push the client out.
			for i := range 4 {
				for port := range uint16(tc.each) {
					b.add(refused(host(20+i), 1+port))
				}
			}
			if b.s.trackers.get(client) != nil || b.s.prob.get(client) != nil {
				t.Fatalf("the client is still followed: stats %+v", b.s.Stats())
			}
			for port := uint16(10); port < 14; port++ {
				b.add(refused(client, port))
			}
			b.wait(time.Minute)
			for _, a := range b.kinds("alert") {
				if a.Scan.Scanner == client {
					t.Fatalf("four refusals after a record of seven answered requests alerted: %+v", a.Scan)
				}
			}
		})
	}
}
