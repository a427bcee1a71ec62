// Package progress draws a replay's progress line on a terminal: bytes and
// packets read, packets per second, scans so far and the time left,
// redrawn in place about twice a second. It reads the sensor's published
// counters from its own goroutine (sensor.LastCounters), so that the packet
// loop never waits for it; and it draws nothing at all when its output is
// not a terminal, so that logs and pipes get no control characters.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/scanwatch/scanwatch/sensor"
)

// Every is how often the line is redrawn.
var Every = 500 * time.Millisecond

// Snapshot is where a replay stands.
type Snapshot struct {
	Read, Size int64 // bytes of the capture files consumed, their total (Size < 0: unknown)
	Packets    uint64
	Scans      uint64 // scans recognised (alerts)
}

// FromCounters takes a snapshot from the sensor's counters.
func FromCounters(c sensor.Counters) Snapshot {
	return Snapshot{Read: c.FileRead, Size: c.FileSize, Packets: c.Frames, Scans: c.Detector.Alerts}
}

// IsTerminal says whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// Show draws the progress of a replay on w, a terminal, from the
// sensor's counters, until the returned stop is called; stop erases the
// line, so that what follows starts clean. When w is not a terminal, Show
// does nothing (and stop neither).
func Show(w io.Writer, counters func() sensor.Counters) (stop func()) {
	if !IsTerminal(w) {
		return func() {}
	}
	return Start(w, Every, func() Snapshot { return FromCounters(counters()) })
}

// Start redraws Line(read(), elapsed) on w every interval until stop is
// called, which erases it.
func Start(w io.Writer, every time.Duration, read func() Snapshot) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		drawn := false
		for {
			select {
			case <-quit:
				if drawn {
					io.WriteString(w, "\r\x1b[K")
				}
				return
			case <-tick.C:
				io.WriteString(w, "\r"+Line(read(), time.Since(start))+"\x1b[K")
				drawn = true
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			wg.Wait()
		})
	}
}

// Line is the progress line for a snapshot taken elapsed after the start:
//
//	312.5 MB of 1.2 GB (26%) · 4,101,220 packets · 812k packets/s · 17 scans · 0:42 left
func Line(s Snapshot, elapsed time.Duration) string {
	var parts []string
	switch {
	case s.Size > 0:
		pct := min(100*s.Read/s.Size, 100)
		parts = append(parts, fmt.Sprintf("%s of %s (%d%%)", bytes(s.Read), bytes(s.Size), pct))
	default:
		parts = append(parts, bytes(s.Read))
	}
	parts = append(parts, count(s.Packets)+" packets")
	secs := elapsed.Seconds()
	if secs > 0 {
		parts = append(parts, si(float64(s.Packets)/secs)+" packets/s")
	}
	parts = append(parts, count(s.Scans)+" scans")
	if s.Size > 0 && s.Read > 0 && secs >= 1 {
		left := time.Duration(float64(s.Size-s.Read) / (float64(s.Read) / secs) * float64(time.Second))
		parts = append(parts, clock(left)+" left")
	}
	return strings.Join(parts, " · ")
}

// bytes writes n in decimal units: 812 B, 14.2 kB, 312.5 MB, 1.2 GB.
func bytes(n int64) string {
	const units = "kMGTPE"
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1000, 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, units[i])
}

// si writes a rate: 950, 12.4k, 812k, 3.1M.
func si(v float64) string {
	switch {
	case v < 1000:
		return fmt.Sprintf("%.0f", v)
	case v < 100e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v < 1e6:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.1fM", v/1e6)
}

// count writes n with commas: 4,101,220.
func count(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// clock writes a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
