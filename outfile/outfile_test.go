package outfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
