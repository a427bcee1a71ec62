package detector

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// floodPackets is a spoofed-source SYN flood against one web server, with
// a port scan of a second host from one source woven in, n packets at
// 100,000 a second.
func floodPackets(n int) []decode.Packet {
	rng := rand.New(rand.NewPCG(7, 9))
	web, scanned, scanner := v4(10), v4(20), netip.MustParseAddr("198.51.100.7")
	start := time.Unix(1773478800, 0)
	pkts := make([]decode.Packet, n)
	for i := range pkts {
		var p decode.Packet
		if i%50 == 0 {
			p = nmapSYNP(scanner, scanned, 40000, uint16(1+i/50), 0x1234, 0x4321)
		} else {
			src := netip.AddrFrom4([4]byte{byte(rng.IntN(223) + 1), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
			p = tcpP(src, web, uint16(rng.Uint32()), 80, tcpflags.SYN, rng.Uint32(), 0)
			p.IPID = uint32(rng.IntN(1 << 16))
		}
		p.Time = start.Add(time.Duration(i) * 10 * time.Microsecond)
		pkts[i] = p
	}
	return pkts
}

// TestPrefetchChangesNothing: a flood under a tight budget (the flow
// table, the probation space and the evidence all evict) gives the same
// events whether or not each packet's lines were asked for two packets
// ahead, Prefetch called on a fresh detector included.
func TestPrefetchChangesNothing(t *testing.T) {
	pkts := floodPackets(60_000)
	run := func(ahead bool) []Event {
		r := rules.Default()
		r.Memory = 4 << 20
		r.State.MaxFlows = 3000
		var events []Event
		d := New(r, func(e Event) { events = append(events, e) })
		for i := range pkts {
			if ahead && i+2 < len(pkts) {
				d.Prefetch(&pkts[i+2], nil)
			}
			d.Process(&pkts[i])
		}
		d.Flush()
		return events
	}
	plain, ahead := run(false), run(true)
	if len(plain) == 0 {
		t.Fatal("no events: the flood's scanner was not reported")
	}
	if !reflect.DeepEqual(plain, ahead) {
		t.Errorf("events differ with Prefetch: %d without, %d with", len(plain), len(ahead))
	}
}

// TestWarmingChangesNothing: asking for what admit and the next eviction
// will read (Expect, warmEviction) leaves the probation space, the
// evidence and the credit as they were, at every stage of a flood that
// fills and churns them.
func TestWarmingChangesNothing(t *testing.T) {
	r := rules.Default()
	r.Memory = 4 << 20
	s := NewEpisodes(r, func(Event) {})
	rng := rand.New(rand.NewPCG(3, 5))
	start := int64(1773478800e9)
	type state struct {
		ents        []probe
		free        []int32
		index       []uint64
		once, twice [generations][]uint64
		credit      []uint64
	}
	snap := func() state {
		st := state{ents: slices.Clone(s.prob.ents), index: slices.Clone(s.prob.index.slots), credit: slices.Clone(s.credit.inUse[:])}
		st.free = slices.Clone(s.prob.free)
		for g := range generations {
			st.once[g], st.twice[g] = slices.Clone(s.ev.once.gens[g]), slices.Clone(s.ev.twice.gens[g])
		}
		return st
	}
	for i := range 40_000 {
		c := Contact{Time: start + int64(i)*10_000, First: start + int64(i)*10_000,
			Scanner: netip.AddrFrom4([4]byte{byte(rng.IntN(223) + 1), byte(rng.Uint32()), 0, byte(rng.IntN(8))}),
			Target:  v4(10), Port: 80, Probes: 1, Technique: technique.Syn, Outcome: OutNone}
		if i%5000 == 0 {
			before, head, tail, n := snap(), s.prob.head, s.prob.tail, s.prob.len()
			s.Expect(c.Scanner)
			s.warmEviction()
			if after := snap(); !reflect.DeepEqual(before, after) || s.prob.head != head || s.prob.tail != tail || s.prob.len() != n {
				t.Fatalf("contact %d: warming changed the state", i)
			}
		}
		s.Advance(c.Time)
		s.Add(c)
	}
	if s.prob.evicted == 0 {
		t.Fatal("the probation space never evicted: the test does not reach eviction")
	}
}
