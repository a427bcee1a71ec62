package detector

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// spoofed is the i-th of many one-packet sources.
func spoofed(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)})
}

// perEntry measures the heap that n more entries take: grow(lo, hi) adds
// entries lo..hi-1 to a structure that already holds entries 0..lo-1, so
// fixed costs fall out.
func perEntry(lo, hi int, grow func(lo, hi int)) float64 {
	grow(0, lo)
	before := heapAlloc()
	grow(lo, hi)
	after := heapAlloc()
	runtime.KeepAlive(grow) // and what it holds
	return (float64(after) - float64(before)) / float64(hi-lo)
}

// TestEntrySizes holds the bytes per entry the memory budget divides by to
// the heap they take: each constant is an upper bound of the measurement,
// and not a loose one, so a struct that grows fails here first.
func TestEntrySizes(t *testing.T) {
	check := func(what string, measured float64, constant int) {
		t.Helper()
		t.Logf("%s: %.0f B measured, %d B budgeted", what, measured, constant)
		if measured > float64(constant)*1.05 || measured < float64(constant)*0.7 {
			t.Errorf("%s: %.0f B measured, %d B budgeted", what, measured, constant)
		}
	}
	check("pending flow", measureFlows(), flowBytes)
	probe := func(s *Episodes, i int) { s.Add(oneContact(i, technique.Syn, 80)) }
	track := func(s *Episodes, i int) {
		s.Add(oneContact(i, technique.Syn, 80))
		s.Add(oneContact(i, technique.Syn, 81))
	}
	check("probation entry", measureEpisodes(nil, probe), probeBytes)
	check("tracker with one episode", measureEpisodes(nil, track), trackerBytes+episodeBytes)
	var accounted float64
	check("second episode", measureEpisodes(track, func(s *Episodes, i int) {
		s.Add(oneContact(i, technique.UDP, 80))
		accounted = float64(s.used) / float64(i+1)
	}), episodeBytes)
	check("its accounting", accounted, trackerBytes+2*episodeBytes)
	check("target", measureTargets(0, 4000, maxEpisodeTargets), targetBytes)
	check("overflow target", measureTargets(maxEpisodeTargets, maxEpisodeTargets, maxEpisodeTargets+40_000), overflowBytes)
}

// entrySizeRules lift every cap but the ones measured.
func entrySizeRules() *rules.Rules {
	r := rules.Default()
	r.State.MaxFlows, r.State.MaxTrackers, r.Memory = 1<<24, 1<<24, 1<<40
	return r
}

func measureFlows() float64 {
	// UDP probes with IP ID 0, which the decoy signatures leave aside
	// (they have their own share).
	d := New(entrySizeRules(), func(Event) {})
	p := udpP(spoofed(0), target, 40000, 53, 0)
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	return perEntry(30_000, 60_000, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			p.Src, p.Time = spoofed(i), t0.Add(time.Duration(i)*time.Microsecond)
			d.Process(&p)
		}
	})
}

func oneContact(i int, tech technique.Technique, port uint16) Contact {
	return Contact{Time: int64(i), First: int64(i), Scanner: spoofed(i), Target: target, Port: port, Probes: 1, Technique: tech}
}

// measureEpisodes measures what add(s, i) takes per source i, after
// setup(s, i) (if not nil) for every source.
func measureEpisodes(setup, add func(s *Episodes, i int)) float64 {
	s := NewEpisodes(entrySizeRules(), func(Event) {})
	const lo, hi = 10_000, 30_000
	for i := range hi {
		if setup != nil {
			setup(s, i)
		}
	}
	return perEntry(lo, hi, func(a, b int) {
		for i := a; i < b; i++ {
			add(s, i)
		}
	})
}

// measureTargets measures the targets lo..hi of one scanner's episode,
// before its alert, after the first skip ones.
func measureTargets(skip, lo, hi int) float64 {
	r := entrySizeRules()
	r.Detect = map[technique.Technique]rules.Threshold{technique.Syn: {Ports: 1 << 20, Hosts: 1 << 20, Window: time.Hour}}
	r.Slow.Enabled = false
	s := NewEpisodes(r, func(Event) {})
	add := func(a, b int) {
		for i := a; i < b; i++ {
			c := oneContact(i, technique.Syn, 80)
			c.Scanner, c.Target = scanner, spoofed(i)
			s.Add(c)
		}
	}
	add(0, skip)
	return perEntry(lo, hi, func(a, b int) {
		if a == 0 {
			a = skip
		}
		add(a, b)
	})
}

// TestFloodStaysInBudget: 300,000 spoofed SYNs within one reply timeout
// (the pending-probe queue was uncapped, and the heap grew with the packet
// count) under a 16 MiB budget: every table stays within its share, the
// heap with them, and the scan inside the flood is alerted.
func TestFloodStaysInBudget(t *testing.T) {
	r := rules.Default()
	r.Memory = 16 << 20
	var alerts []Event
	d := New(r, func(e Event) {
		if e.Kind == "alert" {
			alerts = append(alerts, e)
		}
	})
	lim := limitsOf(r)
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	before := heapAlloc()
	p := nmapSYNP(spoofed(0), target, 40000, 80, 1, 0)
	const n = 300_000
	maxQueue := 0
	for i := range n {
		now := t0.Add(time.Duration(i) * 10 * time.Microsecond) // 100,000 a second: 3 s in all
		p.Src, p.Seq, p.Time = spoofed(i), uint32(i), now
		d.Process(&p)
		if i%1000 == 500 && i/1000 < 100 { // the scan: 100 ports, one every 10 ms
			port := uint16(i/1000 + 1)
			probe := nmapSYNP(scanner, target, 41000, port, 7, 0)
			probe.Time = now
			d.Process(&probe)
			reply := tcpP(target, scanner, port, 41000, rstack, 0, 8)
			reply.Time = now.Add(time.Microsecond)
			d.Process(&reply)
		}
		maxQueue = max(maxQueue, len(d.pending)-d.pendHead)
	}
	grown := int64(heapAlloc()) - int64(before)
	st := d.Stats()
	t.Logf("flows %d (cap %d), queue peak %d, trackers %d (%d B of %d), heap grew %d KiB", st.Flows, lim.flows, maxQueue, st.Trackers, d.episodes.used, lim.trackers, grown>>10)
	if st.Flows > lim.flows || maxQueue > 2*lim.flows+1 {
		t.Errorf("flows %d, queue %d: cap %d", st.Flows, maxQueue, lim.flows)
	}
	if d.episodes.used > lim.trackers {
		t.Errorf("trackers hold %d B, budget %d", d.episodes.used, lim.trackers)
	}
	if grown > r.Memory*7/10 {
		t.Errorf("heap grew by %d KiB under a %d KiB budget", grown>>10, r.Memory>>10)
	}
	if len(alerts) != 1 || alerts[0].Scan.Scanner != scanner {
		t.Errorf("alerts %+v, want the scan", alerts)
	}
	runtime.KeepAlive(d)
}

// TestEpisodeByteCap: a block scan whose port sets would outgrow the
// episode's share (200 hosts x 40 ports: a bitmap each) stops keeping
// them at the cap, and still reports every target and port.
func TestEpisodeByteCap(t *testing.T) {
	r := rules.Default()
	r.Memory = 16 << 20
	var last Event
	s := NewEpisodes(r, func(e Event) { last = e })
	const hosts, ports = 200, 40
	for h := range hosts {
		for p := range ports {
			i := h*ports + p
			s.Add(Contact{Time: int64(i) * 1000, First: int64(i) * 1000, Scanner: scanner, Target: spoofed(h), Port: uint16(p + 1),
				Probes: 1, Technique: technique.Syn, Outcome: OutClosed})
		}
	}
	e := s.trackers.get(scanner).eps[technique.Syn]
	if lim := s.lim.episode; int64(e.bytes) > 2*lim+8192 || !e.full {
		t.Errorf("episode holds %d B, cap %d (full %v)", e.bytes, lim, e.full)
	}
	s.Flush()
	if sc := last.Scan; sc.TargetCount != hosts || sc.PortCount != ports {
		t.Errorf("summary: %d targets, %d ports; want %d, %d", sc.TargetCount, sc.PortCount, hosts, ports)
	}
}

// TestDecoySetBound: spoofed copies of one probe from many sources make
// one decoy set of at most maxDecoys sources, not one of every source.
func TestDecoySetBound(t *testing.T) {
	s := NewEpisodes(rules.Default(), func(Event) {})
	sig := probeSig{target: target.As16(), port: 80, ipid: 7, sport: 40000, seq: 1, proto: 6}
	for i := range 1000 {
		s.noteProbe(sig, spoofed(i), toolNmap)
	}
	if ds := s.decoys[spoofed(0)]; ds == nil || len(ds.members) > maxDecoys || len(s.decoys) > maxDecoys {
		t.Errorf("decoy set of %d sources, %d in the map", len(ds.members), len(s.decoys))
	}
}
