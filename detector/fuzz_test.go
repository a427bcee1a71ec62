package detector

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
)

// FuzzPipeline feeds arbitrary frames, with arbitrary and even backward
// timestamps, through the decoder and the detector: no input may panic it,
// and a flush must always leave it empty of open episodes.
func FuzzPipeline(f *testing.F) {
	// A SYN to port 80 and its RST-ACK, as seeds.
	syn := []byte{0x45, 0, 0, 44, 0, 1, 0, 0, 44, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 10,
		0x9c, 0x40, 0, 80, 0, 0, 3, 0xe8, 0, 0, 0, 0, 0x60, 0x02, 4, 0, 0, 0, 0, 0, 2, 4, 5, 0xb4}
	f.Add(append(binary.BigEndian.AppendUint32(nil, 5), syn...), 3)
	f.Add([]byte{0x60, 0, 0, 0, 0, 8, 58, 255}, 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		r := rules.Default()
		r.State.MaxFlows, r.State.MaxTrackers = 16, 4
		d := New(r, func(Event) {})
		dec := decode.NewDecoder(4)
		var p decode.Packet
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
			if ok, err := dec.Decode(layers.LinkTypeRaw, frame, t0, &p); ok && err == nil {
				d.Process(&p)
				// Replay the same frame mirrored, as a reply would come.
				p.Src, p.Dst = p.Dst, p.Src
				p.SrcPort, p.DstPort = p.DstPort, p.SrcPort
				d.Process(&p)
			}
		}
		st := d.Stats()
		if st.Trackers > r.State.MaxTrackers || st.Probation > r.State.MaxTrackers || st.Flows > r.State.MaxFlows || st.TrackerBytes < 0 {
			t.Fatalf("caps exceeded: %+v", st)
		}
		d.Flush()
		if n := d.OpenEpisodes(); n != 0 {
			t.Fatalf("%d episodes open after Flush", n)
		}
		for _, tr := range d.trackers {
			for _, e := range tr.eps {
				if e != nil {
					t.Fatal("an episode survived Flush")
				}
			}
		}
	})
}
