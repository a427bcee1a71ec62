package capture

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestProgress: the bytes read grow with the packets and end at the total
// size of the files, plain (mapped) or gzip'd alike; a stream has no total.
func TestProgress(t *testing.T) {
	plain := "../testdata/nmap_sS.pcap"
	b, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	gzPath := filepath.Join(t.TempDir(), "sS.pcap.gz")
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := OpenFiles(plain, gzPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p := src.(interface{ Progress() (int64, int64) })
	want := int64(len(b) + gz.Len())
	var last int64
	inGz := false
	for {
		_, err := src.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		read, total := p.Progress()
		if total != want || read < last || read > total {
			t.Fatalf("progress %d of %d after %d, want a total of %d", read, total, last, want)
		}
		inGz = inGz || read > int64(len(b))
		last = read
	}
	if read, total := p.Progress(); read != total {
		t.Errorf("at the end: %d of %d", read, total)
	}
	if !inGz {
		t.Error("the gzip'd file never moved the count")
	}

	stream, err := OpenReader("stdin", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, total := stream.(interface{ Progress() (int64, int64) }).Progress(); total != -1 {
		t.Errorf("a stream's total is %d, want -1", total)
	}
}
