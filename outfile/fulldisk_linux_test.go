package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tinyDisk mounts a 64 KiB tmpfs in a test-made directory (root only) and
// unmounts it at the end.
func tinyDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to mount a tmpfs; run the tests with sudo")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount a 64k tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// fill writes a file until the disk is full and returns its path.
func fill(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// TestFullDisk: on a disk that fills up, records are kept and written, in
// order, when space returns (by the retry timer alone); beyond the buffer
// they are dropped, counted, and Close reports them; the file never ends
// in a torn line.
func TestFullDisk(t *testing.T) {
	dir := tinyDisk(t)
	path := filepath.Join(dir, "eve.json")
	o, err := Open(path, Options{Buffer: 8 << 10, RetryEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	write := func(k int) {
		for range k {
			o.Write(record(n))
			n++
		}
	}
	write(20)
	filler := fill(t, dir, "filler")
	write(20) // some fit in the file's last page, then the disk is full
	st := o.Stats()
	if st.WriteErrors == 0 || st.Pending == 0 || st.Dropped != 0 {
		t.Fatalf("disk full: %v, want write errors and records pending, none dropped", st)
	}
	t.Logf("disk full: %v", st)

	os.Remove(filler) // space returns: the timer writes what was kept
	deadline := time.Now().Add(5 * time.Second)
	for o.Stats().Pending > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	checkLines(t, b, 0, n)
	if st := o.Stats(); st.Written != uint64(n) || st.Lost() != 0 {
		t.Fatalf("after space returned: %v, want %d written, none lost", st, n)
	}

	// Full again, and more records than the buffer holds.
	fill(t, dir, "filler2")
	write(200)
	st = o.Stats()
	if st.Dropped == 0 {
		t.Fatalf("%v: want records dropped beyond the 8 KiB buffer", st)
	}
	err = o.Close()
	if !errors.Is(err, ErrLost) {
		t.Fatalf("Close on a full disk: %v, want ErrLost", err)
	}
	t.Logf("Close: %v", err)
	b, _ = os.ReadFile(path)
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Errorf("the file ends in a torn line: %q", tail(b))
	}
	written := o.Stats().Written
	checkLines(t, b, 0, int(written))
}
