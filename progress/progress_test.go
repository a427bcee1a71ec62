package progress

import (
	"bufio"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/scanwatch/scanwatch/sensor"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		s       Snapshot
		elapsed time.Duration
		want    string
	}{
		{Snapshot{Read: 312_500_000, Size: 1_200_000_000, Packets: 4_101_220, Scans: 17}, 5 * time.Second,
			"312.5 MB of 1.2 GB (26%) · 4,101,220 packets · 820k packets/s · 17 scans · 0:14 left"},
		{Snapshot{Read: 0, Size: 1_000, Packets: 0}, 0, "0 B of 1.0 kB (0%) · 0 packets · 0 scans"},
		{Snapshot{Read: 999, Size: -1, Packets: 950, Scans: 1}, time.Second, "999 B · 950 packets · 950 packets/s · 1 scans"},
		{Snapshot{Read: 10_000_000, Size: 40_000_000_000, Packets: 31_000, Scans: 0}, 10 * time.Second,
			"10.0 MB of 40.0 GB (0%) · 31,000 packets · 3.1k packets/s · 0 scans · 11:06:30 left"},
		{Snapshot{Read: 5e9, Size: 5e9, Packets: 3_100_000, Scans: 2}, time.Second, "5.0 GB of 5.0 GB (100%) · 3,100,000 packets · 3.1M packets/s · 2 scans · 0:00 left"},
	} {
		if got := Line(tc.s, tc.elapsed); got != tc.want {
			t.Errorf("Line(%+v, %v)\n got %q\nwant %q", tc.s, tc.elapsed, got, tc.want)
		}
	}
}

// TestShowOnTerminal: on a terminal the line is drawn in place (carriage
// return, erase to the end) from the counters as they change, and erased
// at the end.
func TestShowOnTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if !IsTerminal(tty) {
		t.Fatal("a pty is not taken for a terminal")
	}
	old := Every
	Every = 10 * time.Millisecond
	defer func() { Every = old }()

	var frames atomic.Uint64
	stop := Show(tty, func() sensor.Counters {
		return sensor.Counters{Frames: frames.Add(1000), FileRead: 1000, FileSize: 4000}
	})
	out := make(chan string, 1)
	go func() {
		r := bufio.NewReader(ptmx)
		var b strings.Builder
		for !strings.Contains(b.String(), "3,000 packets") {
			c, err := r.ReadByte()
			if err != nil {
				break
			}
			b.WriteByte(c)
		}
		out <- b.String()
	}()
	var got string
	select {
	case got = <-out:
	case <-time.After(10 * time.Second):
		t.Fatal("no progress line on the terminal")
	}
	stop()
	if !strings.Contains(got, "\r1.0 kB of 4.0 kB (25%) · 1,000 packets · ") || !strings.Contains(got, "\x1b[K\r") {
		t.Errorf("terminal got %q", got)
	}
	ptmx.SetReadDeadline(time.Now().Add(2 * time.Second))
	tail := make([]byte, 256)
	n, _ := ptmx.Read(tail)
	if !strings.HasSuffix(string(tail[:n]), "\r\x1b[K") {
		t.Errorf("the line was not erased at the end: %q", tail[:n])
	}
}

// TestShowNotTerminal: to a pipe (a log, a file) nothing is written.
func TestShowNotTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	old := Every
	Every = time.Millisecond
	defer func() { Every = old }()
	stop := Show(w, func() sensor.Counters { return sensor.Counters{Frames: 1} })
	time.Sleep(30 * time.Millisecond)
	stop()
	w.Close()
	b := make([]byte, 64)
	if n, _ := r.Read(b); n != 0 {
		t.Errorf("wrote %q to a pipe", b[:n])
	}
}
