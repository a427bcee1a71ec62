package sensor

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/rules"
)

// tcpFrame is a raw IPv4 TCP segment (link type raw) with the given flags.
func tcpFrame(src, dst string, sport, dport uint16, flags byte) []byte {
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	// IP ID and sequence number differ per source and port: equal ones
	// from two sources would make them decoys of one scan.
	id := uint16(s[3])<<8 ^ dport
	b := []byte{0x45, 0, 0, 40, byte(id >> 8), byte(id), 0, 0, 64, 6, 0, 0}
	b = append(append(b, s[:]...), d[:]...)
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], uint32(s[3])<<24|uint32(dport)<<8)
	tcp[12], tcp[13] = 0x50, flags
	binary.BigEndian.PutUint16(tcp[14:], 1024)
	return append(b, tcp...)
}

// synScan is n SYN probes from src to ports 1..n of dst, one per
// millisecond from t0.
func synScan(src, dst string, n int, t0 time.Time) []capture.Packet {
	var pks []capture.Packet
	for i := range n {
		data := tcpFrame(src, dst, 40000, uint16(1+i), 0x02)
		pks = append(pks, capture.Packet{Data: data, Time: t0.Add(time.Duration(i) * time.Millisecond), LinkType: linktype.Raw, Length: len(data)})
	}
	return pks
}

// fakeLive is a live source without a kernel: packets pushed into it are
// read in order, and when none is queued ReadPacket waits a little and
// returns capture.ErrTimeout, as a quiet interface does.
type fakeLive struct {
	mu       sync.Mutex
	queue    []capture.Packet
	reads    int
	received uint64
	patterns [][]bpf.Pattern
	setErr   error // SetPatterns' answer

	reading atomic.Bool // inside ReadPacket
	overlap atomic.Bool // SetPatterns ran during a ReadPacket
}

func (f *fakeLive) push(pks ...capture.Packet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, pks...)
}

func (f *fakeLive) ReadPacket() (capture.Packet, error) {
	f.reading.Store(true)
	defer f.reading.Store(false)
	f.mu.Lock()
	f.reads++
	if len(f.queue) > 0 {
		pk := f.queue[0]
		f.queue = f.queue[1:]
		f.received++
		f.mu.Unlock()
		return pk, nil
	}
	f.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	return capture.Packet{}, capture.ErrTimeout
}

func (f *fakeLive) Stats() capture.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return capture.Stats{Received: f.received}
}

func (f *fakeLive) Close() error { return nil }

func (f *fakeLive) SetPatterns(p []bpf.Pattern) error {
	if f.reading.Load() {
		f.overlap.Store(true)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.setErr != nil {
		return f.setErr
	}
	f.patterns = append(f.patterns, p)
	return nil
}

func (f *fakeLive) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// recorder is a Sink that keeps everything, safe to read while Live runs.
type recorder struct {
	mu     sync.Mutex
	events []detector.Event
	stats  []Counters
}

func (r *recorder) Event(ev detector.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) Stats(_ time.Time, c Counters) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats = append(r.stats, c)
}

// has reports whether an event of kind from scanner was reported.
func (r *recorder) has(kind, scanner string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.Kind == kind && ev.Scan.Scanner.String() == scanner {
			return true
		}
	}
	return false
}

func (r *recorder) statsCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.stats)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustRules(t *testing.T, yaml string) *rules.Rules {
	t.Helper()
	r, err := rules.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return r
}
