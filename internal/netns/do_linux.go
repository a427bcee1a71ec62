package netns

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn in this goroutine on its OS thread switched into namespace ns
// (unix.Setns), and switches the thread back afterwards. Sockets that fn
// opens stay in ns; goroutines that fn starts run on other threads, in the
// caller's own namespace. The thread is locked meanwhile, so nothing else
// runs on it in ns; it is switched back also when fn panics or calls
// runtime.Goexit. Should switching back fail, the thread stays locked and is
// thrown away with the goroutine. Do returns fn's error, or the error of
// switching.
//
// Do never fails a test itself (no t.Fatal), so any goroutine may call it.
func (p *Pair) Do(ns string, fn func() error) error {
	if _, err := p.endOf(ns); err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	target, err := os.Open(nsPath(ns))
	if err != nil {
		return err
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	var backErr error
	func() {
		// Deferred, so that the thread is switched back even when fn
		// panics or calls runtime.Goexit (t.Fatal).
		defer func() {
			if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
				backErr = fmt.Errorf("setns back from %s: %w", ns, err)
				return // the thread stays locked: it dies with the goroutine
			}
			runtime.UnlockOSThread()
		}()
		err = fn()
	}()
	if backErr != nil {
		return backErr
	}
	return err
}

// nsPath is where `ip netns` keeps namespace ns.
func nsPath(ns string) string {
	return "/var/run/netns/" + ns
}
