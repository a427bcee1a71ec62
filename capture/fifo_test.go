package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

// cancelSoon cancels a context after d and returns when it did.
func cancelSoon(d time.Duration) (context.Context, func() time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	at := make(chan time.Time, 1)
	go func() {
		time.Sleep(d)
		at <- time.Now()
		cancel()
	}()
	return ctx, func() time.Time { return <-at }
}

// TestFIFONoWriter: opening a FIFO nobody writes to waits for a writer, and
// ending the context ends the wait at once.
func TestFIFONoWriter(t *testing.T) {
	path := mkfifo(t)
	ctx, canceled := cancelSoon(200 * time.Millisecond)
	_, err := Opener{}.Open(ctx, path)
	took := time.Since(canceled())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if took > time.Second {
		t.Errorf("returned %v after the cancel", took)
	}
}

// TestFIFOStalledWriter: a writer that sends a header and three packets,
// then half a record, and stalls: the three packets are read, and ending
// the context ends the read that waits for the rest.
func TestFIFOStalledWriter(t *testing.T) {
	path := mkfifo(t)
	pkts := genPackets(4, 51, true)
	b, offs := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
	stall := make(chan struct{})
	defer close(stall)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		w.Write(b[:offs[3]+7])
		<-stall
	}()
	ctx, canceled := cancelSoon(300 * time.Millisecond)
	src, err := Opener{}.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(src)
	took := time.Since(canceled())
	checkPackets(t, got, pkts[:3])
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if took > time.Second {
		t.Errorf("returned %v after the cancel", took)
	}
}

// TestFIFOWriterDone: a writer that writes the whole capture and closes:
// every packet, then io.EOF, as for a file.
func TestFIFOWriterDone(t *testing.T) {
	path := mkfifo(t)
	pkts := genPackets(30, 52, true)
	b, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		for len(b) > 0 { // in pieces, with pauses
			n := min(len(b), 100)
			w.Write(b[:n])
			b = b[n:]
			time.Sleep(time.Millisecond)
		}
		w.Close()
	}()
	src, err := Opener{}.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(src)
	if err != io.EOF {
		t.Fatal(err)
	}
	checkPackets(t, got, pkts)
}
