// Package lock keeps two sensors from doing the same work twice: two
// captures of one interface, or two writers of one output file, would
// double every alert downstream. The second one is refused with a message
// that names what holds the lock, so an operator can find it.
//
// An interface lock is an abstract unix socket (@scanwatch/live/IFACE).
// Abstract names live in the network namespace, as interface names do, so
// eth0 in one namespace and eth0 in another are two locks; they need no
// writable directory (a sandboxed service has none in /run), and the
// kernel drops them when the process dies, however it dies. A file lock is
// flock(2) on the file itself, so it follows the file through a rename.
package lock

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrHeld is wrapped by the errors of a lock that another process holds.
var ErrHeld = errors.New("refusing to run a second one")

// AnyInterface is the interface name of a capture of every interface. It
// conflicts with a capture of any one interface, both ways.
const AnyInterface = "any"

// namePrefix starts every interface lock's abstract socket name.
const namePrefix = "@scanwatch/live/"

// Interface is the lock of a live capture on one interface.
type Interface struct {
	ln *net.UnixListener
}

// LockInterface takes the lock of a capture on iface in this network
// namespace. It fails with ErrHeld when another capture of iface holds it,
// or, for AnyInterface, when a capture of one interface runs (and for one
// interface, when a capture of AnyInterface runs). Close releases it.
func LockInterface(iface string) (*Interface, error) {
	name := namePrefix + iface
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
	if err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			return nil, fmt.Errorf("%s is already captured by scanwatch%s: %w", iface, holder(name), ErrHeld)
		}
		return nil, fmt.Errorf("lock interface %s: %w", iface, err)
	}
	l := &Interface{ln: ln}
	// Whoever connects (a sensor asking who holds the lock) learns our pid
	// from the connection; close it at once so that the backlog never fills.
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := l.conflicts(iface); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// conflicts reports a capture of every interface when iface is one of
// them, and a capture of any one interface when iface is AnyInterface.
func (l *Interface) conflicts(iface string) error {
	if iface != AnyInterface {
		name := namePrefix + AnyInterface
		if pid, ok := peerPID(name); ok {
			return fmt.Errorf("%s is already captured by a scanwatch on %q (pid %d): %w", iface, AnyInterface, pid, ErrHeld)
		}
		return nil
	}
	others, err := boundNames(namePrefix)
	if err != nil {
		return nil // no /proc: the exact-name lock still holds
	}
	for _, n := range others {
		if other := strings.TrimPrefix(n, namePrefix); other != AnyInterface {
			return fmt.Errorf("a scanwatch already captures %s%s, which %q includes: %w", other, holder(n), AnyInterface, ErrHeld)
		}
	}
	return nil
}

// Close releases the lock.
func (l *Interface) Close() error { return l.ln.Close() }

// holder is " (pid N)" for the process listening on the abstract name,
// or "" when it cannot be told.
func holder(name string) string {
	if pid, ok := peerPID(name); ok {
		return fmt.Sprintf(" (pid %d)", pid)
	}
	return ""
}

// peerPID connects to the abstract name and returns the pid of the process
// that listens on it (SO_PEERCRED of a connected stream socket is the
// listener's).
func peerPID(name string) (int, bool) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: name, Net: "unix"})
	if err != nil {
		return 0, false
	}
	defer c.Close()
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return 0, false
	}
	return int(cred.Pid), true
}

// boundNames lists the abstract unix socket names of this thread's network
// namespace that start with prefix (from /proc/thread-self/net/unix, where
// an abstract name is shown with a leading @; /proc/net is the main
// thread's).
func boundNames(prefix string) ([]string, error) {
	f, err := os.Open("/proc/thread-self/net/unix")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 {
			continue
		}
		n := fields[len(fields)-1]
		if strings.HasPrefix(n, prefix) && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names, sc.Err()
}
