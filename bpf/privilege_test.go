//go:build linux

package bpf

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/scanwatch/scanwatch/internal/kernelver"
)

// withoutCaps runs fn on a thread of its own whose effective set lacks
// drop. The thread is never handed back to the runtime: it ends with the
// goroutine.
func withoutCaps(t *testing.T, drop []int, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- err
			return
		}
		for _, c := range drop {
			data[c/32].Effective &^= 1 << (c % 32)
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- err
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLoadPermissionErrors loads the filter without one capability or
// another and checks that the error names what is missing, and not the
// library's MEMLOCK hint (which is about kernels before 5.11 and a process
// that has the capabilities).
func TestLoadPermissionErrors(t *testing.T) {
	needRoot(t)
	kernelver.SkipOnOldKernel(t, "5.8", "CAP_BPF and CAP_PERFMON")
	for _, tc := range []struct {
		name string
		drop []int
		want string
	}{
		{"no CAP_BPF, no CAP_PERFMON", []int{unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_ADMIN}, "missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)"},
		{"no CAP_BPF", []int{unix.CAP_BPF, unix.CAP_SYS_ADMIN}, "missing CAP_BPF (or CAP_SYS_ADMIN)"},
		{"no CAP_PERFMON", []int{unix.CAP_PERFMON, unix.CAP_SYS_ADMIN}, "missing CAP_PERFMON (or CAP_SYS_ADMIN) (uid 0): the verifier refuses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withoutCaps(t, tc.drop, func() {
				f, err := Load(testPatterns, 0)
				if err == nil {
					f.Close()
					if tc.drop[0] == unix.CAP_BPF {
						// Unprivileged eBPF is allowed here
						// (kernel.unprivileged_bpf_disabled=0): nothing to say.
						return
					}
					t.Errorf("loaded without %v", tc.drop)
					return
				}
				msg := err.Error()
				if !errors.Is(err, ErrPermission) || !strings.Contains(msg, tc.want) || strings.Contains(msg, "MEMLOCK") {
					t.Errorf("error: %v\nwant ErrPermission saying %q, and no MEMLOCK hint", err, tc.want)
				}
			})
		})
	}
}

// TestVerifierRejectionAsRoot: a program the verifier refuses with EACCES
// to a loader that has every capability is the program's fault (or the
// kernel's age), not a missing privilege.
func TestVerifierRejectionAsRoot(t *testing.T) {
	needRoot(t)
	_, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:    ebpf.SocketFilter,
		License: "GPL",
		Instructions: asm.Instructions{
			asm.LoadMem(asm.R0, asm.RFP, 8, asm.DWord), // above the frame: invalid read from stack
			asm.Return(),
		},
	})
	if !errors.Is(err, unix.EACCES) {
		t.Fatalf("loading an invalid program: %v, want EACCES from the verifier", err)
	}
	got := classify("load", err)
	if errors.Is(got, ErrPermission) || !errors.Is(got, ErrNoEBPF) || !strings.Contains(got.Error(), "kernel rejected the program") {
		t.Errorf("classify = %v\nwant ErrNoEBPF (a rejection), not ErrPermission", got)
	}
	// The same rejection to a loader without CAP_PERFMON is the missing
	// capability.
	withoutCaps(t, []int{unix.CAP_PERFMON, unix.CAP_SYS_ADMIN}, func() {
		if got := classify("load", err); !errors.Is(got, ErrPermission) || !strings.Contains(got.Error(), "missing CAP_PERFMON") {
			t.Errorf("without CAP_PERFMON: classify = %v, want ErrPermission naming CAP_PERFMON", got)
		}
	})
}

func TestMissingToLoad(t *testing.T) {
	bit := func(cs ...int) uint64 {
		var b uint64
		for _, c := range cs {
			b |= 1 << uint(c)
		}
		return b
	}
	for _, tc := range []struct {
		caps uint64
		want string
	}{
		{bit(unix.CAP_SYS_ADMIN), ""},
		{bit(unix.CAP_BPF, unix.CAP_PERFMON), ""},
		{bit(unix.CAP_BPF, unix.CAP_NET_RAW), "CAP_PERFMON (or CAP_SYS_ADMIN)"},
		{bit(unix.CAP_PERFMON), "CAP_BPF (or CAP_SYS_ADMIN)"},
		{0, "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)"},
	} {
		if got := missingToLoad(tc.caps); got != tc.want {
			t.Errorf("missingToLoad(%#x) = %q, want %q", tc.caps, got, tc.want)
		}
	}
}
