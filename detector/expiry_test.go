package detector

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// TestSweepVisitsWhatTheWalkWould drives Episodes with a random mix of
// contacts and checks, after every sweep, what the full walk of every
// tracker and probe gave: nothing left that expire would end or forget,
// every tracker's account what it holds, and the due heap and LRU order
// intact. Small budgets make eviction and probation churn part of it.
func TestSweepVisitsWhatTheWalkWould(t *testing.T) {
	for _, tc := range []struct {
		name   string
		slow   bool
		memory int64
	}{
		{"slow test on", true, rules.MinMemory},
		{"slow test off", false, rules.MinMemory},
		{"large budget", true, 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rules.Default()
			r.Memory = tc.memory
			r.Timeouts.Idle = 3 * time.Second
			r.Slow.Enabled = tc.slow
			r.Slow.Memory = 5 * time.Second
			r.State.MaxTrackers = 300
			var alerts, scans int
			s := NewEpisodes(r, func(ev Event) {
				if ev.Kind == "alert" {
					alerts++
				} else {
					scans++
				}
			})
			rng := rand.New(rand.NewPCG(1, 2))
			techs := []technique.Technique{technique.Syn, technique.UDP, technique.Ping, technique.Fin}
			now := int64(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC).UnixNano())
			sweeps := 0
			for i := range 60_000 {
				now += rng.Int64N(int64(2 * time.Millisecond))
				src := netip.AddrFrom4([4]byte{10, 1, byte(rng.IntN(4)), byte(rng.IntN(40))})
				if i%7 == 0 { // a long tail of one-contact sources
					src = netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)})
				}
				c := Contact{Time: now, First: now - rng.Int64N(int64(time.Second)), Scanner: src,
					Target: netip.AddrFrom4([4]byte{192, 168, 0, byte(rng.IntN(64))}), Port: uint16(1 + rng.IntN(200)),
					Probes: 1, Technique: techs[rng.IntN(len(techs))], Outcome: Outcome(rng.IntN(int(OutSent) + 1))}
				if rng.IntN(10) == 0 {
					c.Outcome = OutBenign
				}
				if i%5000 == 0 {
					now += int64(4 * time.Second) // a lull: episodes end, trackers go
				}
				before := s.nextSweep
				s.Advance(now)
				if s.nextSweep != before {
					sweeps++
					checkSwept(t, s)
				}
				s.Add(c)
				if rng.IntN(50) == 0 {
					s.reprobe(c.Scanner, c.Technique)
				}
			}
			s.Flush()
			if sweeps < 50 || alerts == 0 || scans == 0 || s.evicted == 0 {
				t.Errorf("%d sweeps, %d alerts, %d scans, %d evicted: the mix did not exercise the sweep", sweeps, alerts, scans, s.evicted)
			}
		})
	}
}

// checkSwept holds s, just swept, to what the full walk left.
func checkSwept(t *testing.T, s *Episodes) {
	t.Helper()
	now, idle, memory := s.now, int64(s.r.Timeouts.Idle), s.slowMemory()
	var used int64
	for a, tr := range s.trackers.all() {
		keep := false
		for f, e := range tr.eps {
			if e == nil {
				continue
			}
			quiet := now - e.last
			if e.alerted && quiet > episodeIdle(e, idle) || !e.alerted && quiet > max(memory, int64(s.thresholds[f].Window)) {
				t.Fatalf("%v: its %v episode was due (quiet %v) and not ended", a, technique.Technique(f), time.Duration(quiet))
			}
			keep = true
		}
		if !keep && now-tr.last > max(memory, idle) {
			t.Fatalf("%v: quiet for %v, not forgotten", a, time.Duration(now-tr.last))
		}
		if tr.bytes != s.trackerCost(tr) {
			t.Fatalf("%v: charged %d B, holds %d B", a, tr.bytes, s.trackerCost(tr))
		}
		used += int64(tr.bytes)
		if tr.hidx == noHeap || s.dueHeap[tr.hidx].t != tr || s.dueHeap[tr.hidx].at > s.dueAt(tr) {
			t.Fatalf("%v: heap place %d, due later than %d", a, tr.hidx, s.dueAt(tr))
		}
	}
	if used != s.used || len(s.dueHeap) != s.trackers.len() {
		t.Fatalf("used %d B, the trackers hold %d B; heap %d, trackers %d", s.used, used, len(s.dueHeap), s.trackers.len())
	}
	var seq uint64
	listed := 0
	for tr := range s.byAge.fromOldest() {
		if tr.seq <= seq || s.trackers.get(tr.addr) != tr {
			t.Fatalf("LRU out of sequence order, or holding a forgotten tracker, at %v", tr.addr)
		}
		seq = tr.seq
		listed++
	}
	if listed != s.trackers.len() || s.byAge.n != listed {
		t.Fatalf("LRU lists %d trackers, counts %d, of %d", listed, s.byAge.n, s.trackers.len())
	}
	for i := s.prob.tail; i >= 0; i = s.prob.ents[i].prev {
		p := &s.prob.ents[i]
		if s.dropped(p) && now-p.last > max(memory, idle) {
			t.Fatalf("probe of %v due and not forgotten", addrOf(p.scanner, p.scanner6))
		}
	}
}

// TestSigTable holds the decoy-signature table to a map's answers,
// through clears and a change of cap, stored by set and by lookup+store.
func TestSigTable(t *testing.T) {
	if n := unsafe.Sizeof(sigEntry{}); n != 64 {
		t.Errorf("a signature entry takes %d B, not one cache line", n)
	}
	tab := newSigTable()
	tab.setCap(100)
	ref := map[probeSig]sigSeen{}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 20_000 {
		sig := probeSig{port: uint16(rng.IntN(300)), seq: uint32(rng.IntN(3)), proto: 6}
		sig.target[15] = byte(rng.IntN(2))
		if i == 10_000 {
			tab.setCap(37)
		}
		capNow := tab.cap
		got, ok := tab.get(sig)
		want, wok := ref[sig]
		if ok != wok || got != want {
			t.Fatalf("step %d: got %+v %v, want %+v %v", i, got, ok, want, wok)
		}
		switch {
		case ok && rng.IntN(2) == 0:
			tab.markCopied(sig)
			want.copied = true
			ref[sig] = want
		default:
			// Half the stores take the place lookup found (noteProbe's
			// one search), half search again.
			prev, at := tab.lookup(&sig)
			if (prev != nil) != ok {
				t.Fatalf("step %d: lookup found %v, get %v", i, prev != nil, ok)
			}
			if len(ref) >= capNow {
				clear(ref)
				tab.clear()
				at = sigPlace{ent: -2}
			}
			v := sigSeen{scanner: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), t: int64(i), tool: tool(i % 3)}
			if i%3 == 0 {
				v.scanner = netip.MustParseAddr("2001:db8::1")
			}
			if i%2 == 0 {
				tab.set(sig, v)
			} else {
				tab.store(at, &sig, v)
			}
			ref[sig] = v
		}
		if tab.len() != len(ref) {
			t.Fatalf("step %d: %d held, want %d", i, tab.len(), len(ref))
		}
	}
}
