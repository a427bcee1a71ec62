package lock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ifaceName is a name no other test or sensor uses: the locks are
// machine-wide within the network namespace.
func ifaceName(base string) string {
	return fmt.Sprintf("%s-%d-%d", base, os.Getpid(), time.Now().UnixNano())
}

func TestLockInterface(t *testing.T) {
	eth := ifaceName("eth")
	a, err := LockInterface(eth)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockInterface(eth)
	if !errors.Is(err, ErrHeld) {
		t.Fatalf("second lock of %s: %v, want ErrHeld", eth, err)
	}
	if want := fmt.Sprintf("%s is already captured by scanwatch (pid %d)", eth, os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	// Another interface is another lock.
	b, err := LockInterface(ifaceName("eth"))
	if err != nil {
		t.Fatalf("a lock of another interface: %v", err)
	}
	b.Close()
	a.Close()
	c, err := LockInterface(eth)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	c.Close()
}

// TestLockAny: a capture of every interface and one of a single interface
// conflict both ways. It runs in a network namespace of its own (root), so
// that a sensor on "any" on this machine does not disturb it.
func TestLockAny(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root for a network namespace of its own")
	}
	runtime.LockOSThread() // never unlocked: the thread ends with the test
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Fatalf("unshare a network namespace: %v", err)
	}
	eth := ifaceName("eth")
	one, err := LockInterface(eth)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockInterface(AnyInterface)
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), eth) {
		t.Fatalf("lock of any while %s is held: %v, want ErrHeld naming %s", eth, err, eth)
	}
	one.Close()
	all, err := LockInterface(AnyInterface)
	if err != nil {
		t.Fatalf("lock of any with no other: %v", err)
	}
	defer all.Close()
	_, err = LockInterface(eth)
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), `"any"`) {
		t.Fatalf("lock of %s while any is held: %v, want ErrHeld naming any", eth, err)
	}
}

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := open()
	if err := File(a); err != nil {
		t.Fatal(err)
	}
	b := open()
	defer b.Close()
	err := File(b)
	if !errors.Is(err, ErrHeld) {
		t.Fatalf("second lock: %v, want ErrHeld", err)
	}
	if want := fmt.Sprintf("%s is already written by another scanwatch (pid %d)", path, os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	// The lock follows the file through a rename: a new file at the
	// path is free.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	c := open()
	if err := File(c); err != nil {
		t.Errorf("lock of the new file after a rename: %v", err)
	}
	c.Close()
	a.Close()
	if err := File(b); err != nil {
		t.Errorf("lock after the holder closed: %v", err)
	}
}
