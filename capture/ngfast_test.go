package capture

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestNgFastMatchesPcapgo reads pcapng files both ways: through the source
// (whose enhanced packet blocks take the fast path where they can) and
// through pcapgo alone. Every packet must be the same: bytes, time to the
// nanosecond, link type and wire length. The files mix what the fast path
// takes with what it leaves to pcapgo: several interfaces of different link
// types and timestamp resolutions, interfaces added between packets,
// packets with options, odd capture lengths (padding), a second section.
func TestNgFastMatchesPcapgo(t *testing.T) {
	base := time.Date(2026, 3, 14, 9, 0, 0, 123456789, time.UTC)
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := w.AddInterface(pcapgo.NgInterface{Name: "raw", LinkType: layers.LinkTypeRaw, TimestampResolution: 6})
	if err != nil {
		t.Fatal(err)
	}
	write := func(i, intf int, opts bool) {
		data := bytes.Repeat([]byte{byte(i)}, 20+i%7)
		ci := gopacket.CaptureInfo{Timestamp: base.Add(time.Duration(i) * 1001 * time.Microsecond), CaptureLength: len(data), Length: len(data) + i, InterfaceIndex: intf}
		var o pcapgo.NgPacketOptions
		if opts {
			o.Comments = []string{"a comment"}
		}
		if err := w.WritePacketWithOptions(ci, data, o); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		write(i, i%2*raw, i%10 == 9)
		if i == 30 {
			if _, err := w.AddInterface(pcapgo.NgInterface{Name: "late", LinkType: layers.LinkTypeLinuxSLL, TimestampResolution: 9}); err != nil {
				t.Fatal(err)
			}
		}
		if i > 30 && i%3 == 0 {
			write(i, 2, false)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	// A second section: the file again, header included.
	file = append(file, buf.Bytes()...)

	src, err := OpenReader("test.pcapng", bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ref, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; ; n++ {
		got, err := src.ReadPacket()
		data, ci, rerr := ref.ReadPacketData()
		if errors.Is(rerr, io.EOF) {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("packet %d: pcapgo ended, the source gave %v", n, err)
			}
			break
		}
		if err != nil || rerr != nil {
			t.Fatalf("packet %d: %v, pcapgo: %v", n, err, rerr)
		}
		lt, _ := ci.AncillaryData[0].(layers.LinkType)
		if !bytes.Equal(got.Data, data) || !got.Time.Equal(ci.Timestamp) || got.Time.Location() != ci.Timestamp.Location() ||
			got.LinkType != lt || got.Length != ci.Length {
			t.Fatalf("packet %d: got %v %v %d % x, pcapgo %v %v %d % x", n, got.Time, got.LinkType, got.Length, got.Data,
				ci.Timestamp, lt, ci.Length, data)
		}
	}
	if n < 100 {
		t.Fatalf("only %d packets", n)
	}
}
