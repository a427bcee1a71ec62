package sensor

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/linktype"
)

// BenchmarkReplay runs the whole pipeline (capture reader, decoder,
// detector, EVE writer to io.Discard) over captures held in memory, and
// reports packets per second: a committed capture of benign traffic with a
// scan, and a mix of every committed Ethernet capture one after another.
func BenchmarkReplay(b *testing.B) {
	http, err := os.ReadFile("../testdata/benign_http.pcap")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"benign_http", http},
		{"mix", mixCapture(b)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			benchReplay(b, func() (capture.Source, error) { return capture.OpenReader(bc.name, bytes.NewReader(bc.data)) })
		})
	}
}

// mixCapture concatenates the committed Ethernet captures into one pcap in
// memory, each shifted to start an hour after the previous one began, so
// that their scans stay episodes of their own.
func mixCapture(b *testing.B) []byte {
	b.Helper()
	files, _ := filepath.Glob("../testdata/*.pcap")
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	base := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for i, f := range files {
		src, err := capture.OpenFiles(f)
		if err != nil {
			b.Fatal(err)
		}
		start := base.Add(time.Duration(i) * time.Hour)
		var first time.Time
		for {
			pk, err := src.ReadPacket()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if pk.LinkType != linktype.Ethernet {
				break
			}
			if first.IsZero() {
				first = pk.Time
			}
			ci := gopacket.CaptureInfo{Timestamp: start.Add(pk.Time.Sub(first)), CaptureLength: len(pk.Data), Length: pk.Length}
			if err := w.WritePacket(ci, pk.Data); err != nil {
				b.Fatal(err)
			}
		}
		src.Close()
	}
	return buf.Bytes()
}
