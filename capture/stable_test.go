package capture

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestStableFrames: a mapped pcap file says its frames stay valid until
// Close, and they do, after its end too (the sensor's replay reads them on
// another goroutine, behind the reader); a stream says nothing.
func TestStableFrames(t *testing.T) {
	const path = "../testdata/nmap_sS.pcap"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		open   func() (Source, error)
		stable bool
	}{
		{"mapped file", func() (Source, error) { return OpenFiles(path) }, true},
		{"stream", func() (Source, error) { return OpenReader(path, bytes.NewReader(b)) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := tc.open()
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			st, ok := src.(Stable)
			if got := ok && st.StableFrames(); got != tc.stable {
				t.Fatalf("StableFrames %v, want %v", got, tc.stable)
			}
			var frames, copies [][]byte
			for {
				pk, err := src.ReadPacket()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				frames, copies = append(frames, pk.Data), append(copies, bytes.Clone(pk.Data))
			}
			if len(frames) < 100 {
				t.Fatalf("%d frames", len(frames))
			}
			if !tc.stable {
				return
			}
			for i := range frames {
				if !bytes.Equal(frames[i], copies[i]) {
					t.Fatalf("frame %d changed after the end of the file", i)
				}
			}
		})
	}
}
