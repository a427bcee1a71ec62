package outfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/lock"
)

// record is the i-th test record: one JSON line.
func record(i int) []byte {
	return fmt.Appendf(nil, "{\"n\":%d,\"pad\":%q}\n", i, strings.Repeat("x", 100+i%50))
}

// checkLines asserts that b is exactly records from..to-1, in order.
func checkLines(t *testing.T, b []byte, from, to int) {
	t.Helper()
	var want bytes.Buffer
	for i := from; i < to; i++ {
		want.Write(record(i))
	}
	if !bytes.Equal(b, want.Bytes()) {
		t.Errorf("output is %d bytes, want records %d..%d (%d bytes); last 200 bytes:\n%s", len(b), from, to-1, want.Len(), tail(b))
	}
}

func tail(b []byte) []byte { return b[max(0, len(b)-200):] }

// flaky is a writer that fails while broken is set, after writing part of
// the record when partial is set.
type flaky struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	broken  bool
	partial int
	calls   int
}

func (f *flaky) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if !f.broken {
		return f.buf.Write(p)
	}
	n := min(f.partial, len(p))
	f.buf.Write(p[:n])
	return n, syscall.ENOSPC
}

func (f *flaky) set(broken bool, partial int) {
	f.mu.Lock()
	f.broken, f.partial = broken, partial
	f.mu.Unlock()
}

func (f *flaky) bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.buf.Bytes())
}

// TestKeepAndRetry: records that cannot be written are kept, in order,
// and written (the torn one completed) when writing works again, by the
// next record or by the retry timer alone.
func TestKeepAndRetry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		partial int  // bytes a failing write still writes
		timer   bool // recover by the timer, not by a new record
	}{
		{"nothing written", 0, false},
		{"torn record", 37, false},
		{"torn record, timer", 37, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &flaky{}
			var logs []string
			var logMu sync.Mutex
			o := New(w, Options{RetryEvery: 5 * time.Millisecond, Logf: func(f string, a ...any) {
				logMu.Lock()
				logs = append(logs, fmt.Sprintf(f, a...))
				logMu.Unlock()
			}})
			o.Write(record(0))
			w.set(true, tc.partial)
			for i := 1; i < 10; i++ {
				o.Write(record(i))
			}
			st := o.Stats()
			if st.Pending != 9 || st.Written != 1 || st.WriteErrors == 0 || st.Dropped != 0 {
				t.Fatalf("while broken: %v, want 9 pending, 1 written, write errors, none dropped", st)
			}
			w.set(false, 0)
			if tc.timer {
				deadline := time.Now().Add(5 * time.Second)
				for o.Stats().Pending > 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
			} else {
				o.Write(record(10))
			}
			n := 10
			if !tc.timer {
				n = 11
			}
			if err := o.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			checkLines(t, w.bytes(), 0, n)
			st = o.Stats()
			if st.Written != uint64(n) || st.Records != uint64(n) || st.Lost() != 0 {
				t.Errorf("after recovery: %v, want %d written, none lost", st, n)
			}
			logMu.Lock()
			defer logMu.Unlock()
			if len(logs) != 2 || !strings.Contains(logs[0], "no space left") || !strings.Contains(logs[1], "works again") {
				t.Errorf("log lines %q, want one on failure (naming the cause) and one on recovery", logs)
			}
		})
	}
}

// TestBufferBound: beyond the buffer, records are dropped and counted, and
// Close reports them and those still pending as lost.
func TestBufferBound(t *testing.T) {
	w := &flaky{broken: true}
	o := New(w, Options{Buffer: 1000, RetryEvery: time.Hour})
	for i := range 20 {
		o.Write(record(i))
	}
	st := o.Stats()
	if st.Pending == 0 || st.Dropped == 0 || st.Pending+int(st.Dropped) != 20 {
		t.Fatalf("%v: want some pending, the rest dropped", st)
	}
	kept := st.Pending
	err := o.Close()
	if !errors.Is(err, ErrLost) {
		t.Fatalf("Close: %v, want ErrLost", err)
	}
	if want := "20 of 20 records not written"; !strings.Contains(err.Error(), want) {
		t.Errorf("Close: %q does not say %q", err, want)
	}
	// Writing works again: Close's last try writes what was kept, the
	// dropped ones stay lost.
	w2 := &flaky{broken: true}
	o2 := New(w2, Options{Buffer: 1000, RetryEvery: time.Hour})
	for i := range 20 {
		o2.Write(record(i))
	}
	w2.set(false, 0)
	err = o2.Close()
	if !errors.Is(err, ErrLost) || !strings.Contains(err.Error(), fmt.Sprintf("%d of 20", 20-kept)) {
		t.Errorf("Close after recovery: %v, want %d lost", err, 20-kept)
	}
	checkLines(t, w2.bytes(), 0, kept)
}

// TestReopen: after the file is renamed, records go to the old file until
// Reopen, then to a new file at the path; none is lost.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	o, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		o.Write(record(i))
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	o.Write(record(5)) // before the HUP: still the old file
	if err := o.Reopen(); err != nil {
		t.Fatal(err)
	}
	for i := 6; i < 10; i++ {
		o.Write(record(i))
	}
	// The new file is locked, the old one free.
	if _, err := Open(path, Options{}); !errors.Is(err, lock.ErrHeld) {
		t.Errorf("a second Open of the new file: %v, want lock.ErrHeld", err)
	}
	if o2, err := Open(path+".1", Options{}); err != nil {
		t.Errorf("the rotated file is still locked: %v", err)
	} else {
		o2.Close()
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	checkLines(t, old, 0, 6)
	checkLines(t, cur, 6, 10)
	if st := o.Stats(); st.Reopens != 1 || st.Written != 10 {
		t.Errorf("%v: want 1 reopen, 10 written", st)
	}
}

// TestReopenNotMoved: a HUP when the file was not rotated keeps writing to
// it (it used to fail on the sensor's own lock).
func TestReopenNotMoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	o, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o.Write(record(0))
	if err := o.Reopen(); err != nil {
		t.Fatalf("Reopen of a file that was not moved: %v", err)
	}
	o.Write(record(1))
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	cur, _ := os.ReadFile(path)
	checkLines(t, cur, 0, 2)
	if st := o.Stats(); st.ReopenFails != 0 {
		t.Errorf("%v: want no failed reopen", st)
	}
}

// TestReopenFails: when the path cannot be opened, records keep going to
// the old file.
func TestReopenFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	os.Mkdir(dir, 0o755)
	path := filepath.Join(dir, "eve.json")
	o, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o.Write(record(0))
	os.Rename(dir, dir+".gone")
	if err := o.Reopen(); err == nil {
		t.Fatal("Reopen in a directory that is gone: no error")
	}
	o.Write(record(1))
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir+".gone", "eve.json"))
	checkLines(t, b, 0, 2)
	if st := o.Stats(); st.ReopenFails != 1 {
		t.Errorf("%v: want 1 failed reopen", st)
	}
}

// TestOpenLocked: a second writer of one file is refused.
func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	o, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, lock.ErrHeld) {
		t.Fatalf("second Open: %v, want lock.ErrHeld", err)
	}
}
