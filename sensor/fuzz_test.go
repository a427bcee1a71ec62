package sensor

import (
	"context"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/rules"
)

// sliceSource hands out packets from a slice, as a capture file would.
type sliceSource struct {
	pks  []capture.Packet
	read int
}

func (s *sliceSource) ReadPacket() (capture.Packet, error) {
	if s.read == len(s.pks) {
		return capture.Packet{}, io.EOF
	}
	s.read++
	return s.pks[s.read-1], nil
}

func (s *sliceSource) Stats() capture.Stats { return capture.Stats{Received: uint64(s.read)} }
func (s *sliceSource) Close() error         { return nil }

// mirror returns a raw IP frame with its addresses and ports swapped, as a
// reply would come; other frames come back unchanged.
func mirror(frame []byte) []byte {
	m := append([]byte(nil), frame...)
	swap := func(a, b, n int) {
		if b+n > len(m) {
			return
		}
		for i := range n {
			m[a+i], m[b+i] = m[b+i], m[a+i]
		}
	}
	switch {
	case len(m) >= 20 && m[0]>>4 == 4:
		ihl := int(m[0]&0x0f) * 4
		swap(12, 16, 4)
		swap(ihl, ihl+2, 2)
	case len(m) >= 40 && m[0]>>4 == 6:
		swap(8, 24, 16)
		swap(40, 42, 2)
	}
	return m
}

// pairingSink writes EVE records (to nowhere) and counts the episodes that
// alerted and have not yet ended.
type pairingSink struct {
	EVE
	t    *testing.T
	open int
}

func (p *pairingSink) Event(ev detector.Event) {
	p.EVE.Event(ev)
	switch ev.Kind {
	case "alert":
		p.open++
	case "scan":
		p.open--
	}
	if p.open < 0 {
		p.t.Fatalf("a scan record without its alert: %+v", ev.Scan)
	}
}

// FuzzPipeline feeds arbitrary raw IP frames, with arbitrary and even
// backward timestamps, each followed by its mirror image (a reply), through
// the whole pipeline (decoder, detector, EVE writer) with tiny tables: no
// input may panic it, and when Replay returns every episode that alerted
// has been closed with its scan record (one alert, one scan record each).
func FuzzPipeline(f *testing.F) {
	// A SYN to port 80 and its RST-ACK, as seeds.
	syn := []byte{0x45, 0, 0, 44, 0, 1, 0, 0, 44, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 10,
		0x9c, 0x40, 0, 80, 0, 0, 3, 0xe8, 0, 0, 0, 0, 0x60, 0x02, 4, 0, 0, 0, 0, 0, 2, 4, 5, 0xb4}
	f.Add(append(binary.BigEndian.AppendUint32(nil, 5), syn...), 3)
	f.Add([]byte{0x60, 0, 0, 0, 0, 8, 58, 255}, 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		r := rules.Default()
		r.State.MaxFlows, r.State.MaxTrackers, r.State.MaxFragments = 16, 4, 4
		src := &sliceSource{}
		t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
		// Split data into frames: each starts with a 1-byte length and a
		// 1-byte time step (which may go backwards).
		for i := 0; len(data) > 2 && i < 256; i++ {
			l, step := int(data[0]), int8(data[1])
			data = data[2:]
			l = min(l, len(data))
			frame := data[:l]
			data = data[l:]
			t0 = t0.Add(time.Duration(step) * time.Duration(1+n%1000) * time.Millisecond)
			for _, d := range [][]byte{frame, mirror(frame)} {
				src.pks = append(src.pks, capture.Packet{Data: d, Time: t0, LinkType: linktype.Raw, Length: len(d)})
			}
		}
		sink := &pairingSink{EVE: EVE{eve.NewWriter(io.Discard, eve.Options{})}, t: t}
		s := New(Options{Rules: r, Sink: sink})
		if err := s.Replay(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		if sink.open != 0 {
			t.Fatalf("%d alerted episodes survived the end of the replay", sink.open)
		}
		if s.Packets() != uint64(len(src.pks)) {
			t.Fatalf("read %d of %d packets", s.Packets(), len(src.pks))
		}
	})
}
