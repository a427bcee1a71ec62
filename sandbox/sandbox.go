// Package sandbox sheds a process's privileges once it has set up what
// needed them. `scanwatch live` needs root, or CAP_BPF, CAP_PERFMON and
// CAP_NET_RAW, to load its eBPF filter and open its packet socket; after
// that it reads packets from the socket it has, reads and writes the eBPF
// maps it has, re-reads its rules file and writes its output. Enter then
//
//   - drops every capability the rest of the run does not need (found by
//     trying: none on current kernels), from every thread, and clears the
//     bounding and ambient sets;
//   - optionally switches to another user (--user), keeping only those;
//   - sets no_new_privs, so nothing it could execute gains privileges;
//   - installs a seccomp filter that allows only the system calls the
//     running sensor makes (syscalls_linux.go), with a few of them limited
//     by argument: no packet sockets, no eBPF program loads, no new
//     processes, signals only to itself.
//
// Denied calls fail with EPERM rather than kill the process: a call the
// list missed on a rare path (a reload, a fleet reconnect, a newer Go
// runtime) then fails that one operation with an error the sensor reports,
// instead of ending the capture, while a compromised process gains no more
// from an EPERM than from being killed. The filter is installed with
// SECCOMP_FILTER_FLAG_LOG, so the kernel logs each denied call (audit type
// 1326, with its number): the trace that a missing entry leaves. Calls of
// another ABI (32-bit or x32 on amd64) kill the process: nothing legitimate
// makes them.
//
// Changing every thread's credentials needs syscall.AllThreadsSyscall,
// which works only in binaries without cgo (CGO_ENABLED=0, as `make build`
// and `make package` build them); Enter returns ErrCgo otherwise, having
// changed nothing.
package sandbox

import (
	"errors"
	"fmt"
	"strings"
)

// Seccomp modes for Options.Seccomp.
const (
	SeccompEnforce = "enforce" // calls not allowed fail with EPERM and are logged by the kernel
	SeccompLog     = "log"     // calls not allowed are made, and logged: to find what is missing
	SeccompOff     = "off"     // no filter (debugging)
)

// ErrCgo: the binary uses cgo, so the privileges of every thread cannot be
// changed from Go.
var ErrCgo = errors.New("this binary is built with cgo, which keeps Go from changing the privileges of every thread: build it with CGO_ENABLED=0 (make build and make package do)")

// Options say what to keep and what to install.
type Options struct {
	// Needs makes those kernel calls of the rest of the run whose
	// privilege depends on the kernel and its settings (eBPF map access:
	// free from Linux 6.5 on, CAP_BPF before when unprivileged eBPF is
	// off). The capabilities kept are the fewest it succeeds with. Nil
	// keeps none.
	Needs func() error
	// User, when not nil, is the user to run as from now on.
	User *Credentials
	// Seccomp is SeccompEnforce (the default when empty), SeccompLog or
	// SeccompOff.
	Seccomp string
}

// Credentials are a user to switch to: its ids and its groups.
type Credentials struct {
	Name     string
	UID, GID int
	Groups   []int // supplementary groups
}

// Report says what Enter did.
type Report struct {
	Held, Kept Caps   // permitted capabilities before, and those kept
	Bounding   Caps   // the bounding set after
	User       string // the user switched to, or ""
	Seccomp    string // the filter's mode
	Allowed    int    // system calls the filter allows
}

// String is the report in one line for people.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "capabilities kept: %v", r.Kept)
	if dropped := r.Held &^ r.Kept; dropped != 0 {
		fmt.Fprintf(&b, " (dropped %d)", dropped.Len())
	}
	if r.Bounding&^r.Kept != 0 {
		fmt.Fprintf(&b, "; bounding set left as it was (no CAP_SETPCAP; no_new_privs makes it moot)")
	}
	if r.User != "" {
		fmt.Fprintf(&b, "; running as %s", r.User)
	}
	b.WriteString("; no_new_privs")
	switch r.Seccomp {
	case SeccompOff:
		b.WriteString("; no seccomp filter (--seccomp off)")
	case SeccompLog:
		fmt.Fprintf(&b, "; seccomp: %d system calls allowed, others logged but allowed (--seccomp log)", r.Allowed)
	default:
		fmt.Fprintf(&b, "; seccomp: %d system calls allowed, others fail with EPERM", r.Allowed)
	}
	return b.String()
}
