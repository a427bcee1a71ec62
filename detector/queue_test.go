package detector

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// TestSpentReferences: a probe's reference in the queue of waiting probes
// is marked spent when its flow stops waiting, and a reference not spent
// whose flow is still there points at a waiting flow that knows its place.
// Checked after every packet of random conversations (unanswered,
// refused, half-open and completed handshakes, UDP with and without
// reply) through a table of 64 flows, where flows are evicted and the
// queue is compacted.
func TestSpentReferences(t *testing.T) {
	r := rules.Default()
	r.State.MaxFlows = 64
	w := newWire(t)
	w.d = New(r, func(Event) {})
	d := w.d
	rng := rand.New(rand.NewPCG(7, 13))
	spent, compacted, shifted := 0, false, false
	before := 0
	check := func() {
		t.Helper()
		compacted = compacted || before >= 2*d.flows.max && d.pendHead == 0
		before = len(d.pending) - d.pendHead
		for i := d.pendHead; i < len(d.pending); i++ {
			if d.pending[i].id == 0 {
				spent++
				continue
			}
			f := d.flows.deref(d.pending[i])
			if f == nil {
				continue
			}
			if f.state != stPending && f.state != stSynAck {
				t.Fatalf("reference %d of %d points at a flow in state %d", i, len(d.pending), f.state)
			}
			if int(f.qpos-d.pendBase) != i {
				t.Fatalf("reference %d: its flow says place %d", i, int(f.qpos-d.pendBase))
			}
		}
		shifted = shifted || d.pendBase != 0
	}
	const S, SA, A, R, F = tcpflags.SYN, tcpflags.SYN | tcpflags.ACK, tcpflags.ACK, tcpflags.RST, tcpflags.FIN | tcpflags.ACK
	for i := 0; i < 20000; i++ {
		src := netip.AddrFrom4([4]byte{10, 1, 0, byte(rng.IntN(40))})
		dst := netip.AddrFrom4([4]byte{10, 2, 0, byte(rng.IntN(40))})
		sport, dport := uint16(30000+rng.IntN(20000)), uint16(1+rng.IntN(1024))
		w.now = w.now.Add(time.Duration(rng.IntN(300)) * time.Millisecond / time.Duration(1+i/5000%2*99))
		if rng.IntN(4) == 0 {
			w.send(udpP(src, dst, sport, dport, 20))
			check()
			if rng.IntN(2) == 0 {
				w.send(udpP(dst, src, dport, sport, 40))
				check()
			}
			continue
		}
		seq := rng.Uint32()
		w.tcp(src, dst, sport, dport, S, seq, 0, 0, osOpts)
		check()
		switch rng.IntN(5) {
		case 1:
			w.tcp(dst, src, dport, sport, R|A, 0, seq+1, 0, nil)
		case 2:
			w.tcp(dst, src, dport, sport, SA, 77, seq+1, 0, nil)
			check()
			w.tcp(src, dst, sport, dport, R, seq+1, 0, 0, nil)
		case 3, 4:
			w.tcp(dst, src, dport, sport, SA, 77, seq+1, 0, nil)
			check()
			w.tcp(src, dst, sport, dport, A, seq+1, 78, 0, nil)
			check()
			w.tcp(src, dst, sport, dport, F, seq+1, 78, 0, nil)
		}
		check()
	}
	if spent == 0 || !compacted || !shifted {
		t.Errorf("spent references seen %d times, queue compacted %v, shifted %v: the test did not reach the cases", spent, compacted, shifted)
	}
}
