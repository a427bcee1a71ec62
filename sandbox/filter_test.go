//go:build linux && (amd64 || arm64)

package sandbox

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// call is one system call as the filter sees it (struct seccomp_data).
type call struct {
	name string
	arch uint32
	nr   uintptr
	args [6]uint64
}

// data lays out seccomp_data as the kernel does on a little-endian
// machine, for x/net/bpf's VM, which loads words big-endian: each 32-bit
// word is written big-endian at the offset where the kernel has it, the
// low half of each argument first.
func (c call) data() []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[offNr:], uint32(c.nr))
	binary.BigEndian.PutUint32(b[offArch:], c.arch)
	for i, a := range c.args {
		binary.BigEndian.PutUint32(b[offArgs+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[offArgs+8*i+4:], uint32(a>>32))
	}
	return b
}

// TestFilterDecisions runs the filter in a BPF VM over the calls the
// sensor makes and ones it must not.
func TestFilterDecisions(t *testing.T) {
	const pid = 4242
	errno := func(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }
	c := func(name string, nr uintptr, args ...uint64) call {
		cl := call{name: name, arch: auditArch, nr: nr}
		copy(cl.args[:], args)
		return cl
	}
	cases := []struct {
		call call
		want uint32
	}{
		{c("read", unix.SYS_READ, 3, 0, 10), retAllow},
		{c("futex", unix.SYS_FUTEX), retAllow},
		{c("ppoll", unix.SYS_PPOLL), retAllow},
		{c("openat", unix.SYS_OPENAT), retAllow},
		{c("socket inet", unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM), retAllow},
		{c("socket unix", unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_DGRAM), retAllow},
		{c("socket packet", unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_RAW), retEPERM},
		{c("socket inet, upper bits set", unix.SYS_SOCKET, 1<<32|unix.AF_INET), retEPERM},
		{c("bpf map lookup", unix.SYS_BPF, unix.BPF_MAP_LOOKUP_ELEM), retAllow},
		{c("bpf map update", unix.SYS_BPF, unix.BPF_MAP_UPDATE_ELEM), retAllow},
		{c("bpf prog load", unix.SYS_BPF, unix.BPF_PROG_LOAD), retEPERM},
		{c("bpf map create", unix.SYS_BPF, unix.BPF_MAP_CREATE), retEPERM},
		{c("ioctl SIOCGIFFLAGS", unix.SYS_IOCTL, 9, unix.SIOCGIFFLAGS), retAllow},
		{c("ioctl SIOCSIFFLAGS", unix.SYS_IOCTL, 9, unix.SIOCSIFFLAGS), retEPERM},
		{c("ioctl TIOCSTI", unix.SYS_IOCTL, 0, unix.TIOCSTI), retEPERM},
		{c("clone thread", unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|unix.CLONE_SIGHAND|unix.CLONE_THREAD|unix.CLONE_SYSVSEM|unix.CLONE_SETTLS), retAllow},
		{c("clone process (fork)", unix.SYS_CLONE, uint64(unix.SIGCHLD)), retEPERM},
		{c("clone vfork", unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_VFORK|uint64(unix.SIGCHLD)), retEPERM},
		{c("clone3", unix.SYS_CLONE3), errno(unix.ENOSYS)},
		{c("kill self", unix.SYS_KILL, pid, 0), retAllow},
		{c("kill init", unix.SYS_KILL, 1, 9), retEPERM},
		{c("kill all", unix.SYS_KILL, 1<<32-1, 9), retEPERM},
		{c("tgkill own thread", unix.SYS_TGKILL, pid, 4243, uint64(unix.SIGURG)), retAllow},
		{c("tgkill other", unix.SYS_TGKILL, 1, 1, 9), retEPERM},
		{c("execve", unix.SYS_EXECVE), retEPERM},
		{c("ptrace", unix.SYS_PTRACE), retEPERM},
		{c("mprotect", unix.SYS_MPROTECT), retEPERM},
		{c("setuid", unix.SYS_SETUID), retEPERM},
		{c("prctl", unix.SYS_PRCTL), retEPERM},
		{c("unshare", unix.SYS_UNSHARE), retEPERM},
		{c("getppid (not needed)", unix.SYS_GETPPID), retEPERM},
		{call{name: "another ABI", arch: unix.AUDIT_ARCH_I386, nr: unix.SYS_READ}, retKill},
	}
	if abiMask != 0 {
		cases = append(cases, struct {
			call call
			want uint32
		}{c("x32 read", abiMask|unix.SYS_READ), retKill})
	}
	for _, mode := range []struct {
		name string
		deny uint32
	}{{SeccompEnforce, retEPERM}, {SeccompLog, retLog}} {
		prog, err := program(allowedCalls(pid), mode.deny)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bpf.Assemble(prog); err != nil {
			t.Fatalf("%s: assemble: %v", mode.name, err)
		}
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatalf("%s: %v", mode.name, err)
		}
		for _, tc := range cases {
			want := tc.want
			if want == retEPERM {
				want = mode.deny
			}
			got, err := vm.Run(tc.call.data())
			if err != nil {
				t.Fatalf("%s: %s: %v", mode.name, tc.call.name, err)
			}
			if uint32(got) != want {
				t.Errorf("%s: %s: %s, want %s", mode.name, tc.call.name, action(uint32(got)), action(want))
			}
		}
		t.Logf("%s: %d instructions, %d rules", mode.name, len(prog), len(allowedCalls(pid)))
	}
}

func action(r uint32) string {
	switch r & unix.SECCOMP_RET_ACTION_FULL {
	case retAllow:
		return "allow"
	case retKill:
		return "kill"
	case retLog:
		return "log"
	case unix.SECCOMP_RET_ERRNO:
		return "errno " + unix.ErrnoName(unix.Errno(r&unix.SECCOMP_RET_DATA))
	}
	return fmt.Sprintf("%#x", r)
}
