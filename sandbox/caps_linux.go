package sandbox

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// threadCaps are one thread's capability sets.
type threadCaps struct{ effective, permitted, inheritable Caps }

// readCaps reads the calling thread's capability sets.
func readCaps() (threadCaps, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return threadCaps{}, fmt.Errorf("capget: %w", err)
	}
	join := func(lo, hi uint32) Caps { return Caps(lo) | Caps(hi)<<32 }
	return threadCaps{
		effective:   join(data[0].Effective, data[1].Effective),
		permitted:   join(data[0].Permitted, data[1].Permitted),
		inheritable: join(data[0].Inheritable, data[1].Inheritable),
	}, nil
}

func (t threadCaps) data() [2]unix.CapUserData {
	return [2]unix.CapUserData{
		{Effective: uint32(t.effective), Permitted: uint32(t.permitted), Inheritable: uint32(t.inheritable)},
		{Effective: uint32(t.effective >> 32), Permitted: uint32(t.permitted >> 32), Inheritable: uint32(t.inheritable >> 32)},
	}
}

// setThreadCaps sets the calling thread's capability sets, and only its.
func setThreadCaps(t threadCaps) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := t.data()
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// setAllThreadsCaps sets the capability sets of every thread of the
// process: capset(2) changes the calling thread's only, and the Go runtime
// runs goroutines on many.
func setAllThreadsCaps(t threadCaps) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := t.data()
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	if e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}

// allThreadsPrctl runs prctl(2) on every thread.
func allThreadsPrctl(option, arg2, arg3 uintptr) error {
	if _, _, e := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, option, arg2, arg3, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// lastCap is the highest capability number the kernel knows.
func lastCap() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n < 64 {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}

// boundingSet reads the process's capability bounding set.
func boundingSet() Caps {
	var c Caps
	for n := 0; n <= lastCap(); n++ {
		if r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0); err == nil && r == 1 {
			c |= 1 << uint(n)
		}
	}
	return c
}

// tryWithCaps runs fn on a thread of its own whose effective set is eff
// (a subset of the permitted set, which is not touched), and puts the
// thread's sets back afterwards. Other threads are not affected: the
// kernel checks the calling thread's capabilities.
func tryWithCaps(eff Caps, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		was, err := readCaps()
		if err != nil {
			errc <- err
			return // the locked thread ends with the goroutine
		}
		try := was
		try.effective = eff
		if err := setThreadCaps(try); err != nil {
			errc <- err
			return
		}
		err = fn()
		if setThreadCaps(was) != nil {
			errc <- err
			return // never hand a thread with other sets back to the runtime
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// fewestCaps finds the capabilities that needs succeeds with: none if it
// can, else CAP_BPF (eBPF map access on kernels before 6.5 when
// unprivileged eBPF is off), else CAP_SYS_ADMIN (the same before 5.8, which
// has no CAP_BPF), else everything held. Only capabilities in held are
// tried.
func fewestCaps(held Caps, needs func() error) (Caps, error) {
	candidates := []Caps{0, CapsOf(unix.CAP_BPF), CapsOf(unix.CAP_SYS_ADMIN), held}
	var first error
	for _, c := range candidates {
		if c&^held != 0 {
			continue
		}
		err := tryWithCaps(c, needs)
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return 0, fmt.Errorf("what the run needs fails even with every capability held (%v): %w", held, first)
}
