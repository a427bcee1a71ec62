package sensor

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/internal/mixgen"
	"github.com/scanwatch/scanwatch/rules"
)

// peekSource reads LastCounters on the packet loop's goroutine when the
// frame numbered at has been read: what a progress line sees then.
type peekSource struct {
	capture.Source
	s    *Sensor
	n    int
	at   int
	seen Counters
}

func (p *peekSource) ReadPacket() (capture.Packet, error) {
	p.n++
	if p.n == p.at {
		p.seen = p.s.LastCounters()
	}
	return p.Source.ReadPacket()
}

// Progress is what the sensor asks a file source (peekSource hides it).
func (p *peekSource) Progress() (int64, int64) {
	return p.Source.(interface{ Progress() (int64, int64) }).Progress()
}

// TestReplayPublishesCounters: a replay makes its counters readable by
// LastCounters as it goes (every 65536 frames: frames, bytes of the file
// read and its size, alerts) and at its end, and another goroutine may
// read them all along (go test -race checks that).
func TestReplayPublishesCounters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mix.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const packets = 140_000
	if _, err := mixgen.Generate(f, mixgen.Options{Packets: packets, Seed: 1, Snaplen: 96}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(path)
	src, err := capture.OpenFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	s := New(Options{Rules: rules.Default(), Sink: EventFunc(func(detector.Event) {})})
	peek := &peekSource{Source: src, s: s, at: 135_000}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a progress line's ticker
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				_ = s.LastCounters()
			}
		}
	}()
	if err := s.Replay(context.Background(), peek); err != nil {
		t.Fatal(err)
	}
	close(done)
	wg.Wait()

	mid := peek.seen
	if mid.Frames != 131072 || mid.FileSize != fi.Size() || mid.FileRead <= 0 || mid.FileRead >= fi.Size() {
		t.Errorf("mid-replay counters: frames %d, file %d of %d; want 131072 frames and part of %d bytes", mid.Frames, mid.FileRead, mid.FileSize, fi.Size())
	}
	end := s.LastCounters()
	if end.Frames != packets || end.FileRead != fi.Size() || end.Detector.Alerts == 0 {
		t.Errorf("final counters: frames %d, file %d of %d, alerts %d", end.Frames, end.FileRead, end.FileSize, end.Detector.Alerts)
	}
}
