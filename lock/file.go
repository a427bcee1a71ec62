package lock

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// File takes an exclusive flock(2) on f, without waiting: it fails with
// ErrHeld when another open file description holds one. Closing f (or the
// last descriptor of it) releases the lock. The lock is advisory: it keeps
// out another scanwatch, not a process that does not ask.
func File(f *os.File) error {
	raw, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	var flockErr error
	if err := raw.Control(func(fd uintptr) {
		for {
			flockErr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
			if !errors.Is(flockErr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	switch {
	case flockErr == nil:
		return nil
	case errors.Is(flockErr, unix.EWOULDBLOCK):
		who := ""
		if pid, ok := filePID(f); ok {
			who = fmt.Sprintf(" (pid %d)", pid)
		}
		return fmt.Errorf("%s is already written by another scanwatch%s: %w", f.Name(), who, ErrHeld)
	default:
		return fmt.Errorf("lock %s: %w", f.Name(), flockErr)
	}
}

// filePID finds, in /proc/locks, the process that holds a flock on f's
// inode ("1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"). Best effort:
// a lock taken in another pid namespace shows a pid of 0 or none.
func filePID(f *os.File) (int, bool) {
	fi, err := f.Stat()
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	pl, err := os.Open("/proc/locks")
	if err != nil {
		return 0, false
	}
	defer pl.Close()
	sc := bufio.NewScanner(pl)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// Blocked waiters are shown as "1: -> FLOCK ..."; skip them.
		if len(fs) < 6 || fs[1] != "FLOCK" || fs[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(fs[4]); err == nil && pid > 0 {
			return pid, true
		}
	}
	return 0, false
}
