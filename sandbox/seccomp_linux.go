package sandbox

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// rule allows one system call: with any arguments, or only when one of its
// arguments is one of a few values or has certain bits set.
type rule struct {
	nr     uintptr
	arg    int      // the argument checked; -1: none
	values []uint32 // allowed values of the argument (its upper 32 bits zero)
	bitsOn uint32   // or: allowed when the argument has these bits set
	errno  unix.Errno
}

func allow(nrs ...uintptr) []rule {
	rs := make([]rule, len(nrs))
	for i, nr := range nrs {
		rs[i] = rule{nr: nr, arg: -1}
	}
	return rs
}

// allowArg allows nr when argument arg is one of values.
func allowArg(nr uintptr, arg int, values ...uint32) rule {
	return rule{nr: nr, arg: arg, values: values}
}

// allowBits allows nr when argument arg has every bit of mask set.
func allowBits(nr uintptr, arg int, mask uint32) rule {
	return rule{nr: nr, arg: arg, bitsOn: mask}
}

// refuse makes nr fail with errno without it being logged as a violation:
// for calls that callers expect to fail and fall back from (clone3 gets
// ENOSYS, so that a caller uses clone, whose flags a filter can read).
func refuse(nr uintptr, errno unix.Errno) rule {
	return rule{nr: nr, arg: -1, errno: errno}
}

// seccomp_data offsets (linux/seccomp.h).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// Return values of the filter.
const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retKill  = unix.SECCOMP_RET_KILL_PROCESS
	retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retLog   = unix.SECCOMP_RET_LOG
)

// assemble builds the filter (program) in the kernel's form.
func assemble(rules []rule, deny uint32) ([]bpf.RawInstruction, error) {
	prog, err := program(rules, deny)
	if err != nil {
		return nil, err
	}
	return bpf.Assemble(prog)
}

// program is the filter: a call from another ABI (another audit
// architecture, or x32 on amd64) kills the process (no legitimate caller
// makes one, and an errno there could be taken for a different call's);
// the rules' calls are allowed; every other call gets deny.
func program(rules []rule, deny uint32) ([]bpf.Instruction, error) {
	if auditArch == 0 {
		return nil, fmt.Errorf("no system-call filter for %s yet", runtime.GOARCH)
	}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: auditArch, SkipTrue: 1},
		bpf.RetConstant{Val: retKill},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	if abiMask != 0 {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: abiMask, SkipFalse: 1},
			bpf.RetConstant{Val: retKill})
	}
	// Each rule's test is followed by its own returns, so that every jump
	// is short (classic BPF jumps at most 255 instructions) and the
	// accumulator is reloaded only inside a rule's own block.
	for _, r := range rules {
		block := r.block(deny)
		if len(block) > 255 {
			return nil, fmt.Errorf("system call %d: rule too long", r.nr)
		}
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(r.nr), SkipFalse: uint8(len(block))})
		prog = append(prog, block...)
	}
	return append(prog, bpf.RetConstant{Val: deny}), nil
}

// block is what follows a match of the rule's system call: its returns.
// Inside it the accumulator may be reloaded, since every path returns.
func (r rule) block(deny uint32) []bpf.Instruction {
	switch {
	case r.errno != 0:
		return []bpf.Instruction{bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(r.errno)}}
	case r.arg < 0:
		return []bpf.Instruction{bpf.RetConstant{Val: retAllow}}
	}
	lo, hi := uint32(offArgs+8*r.arg), uint32(offArgs+8*r.arg+4) // little-endian
	if r.bitsOn != 0 {
		return []bpf.Instruction{
			bpf.LoadAbsolute{Off: lo, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: r.bitsOn, SkipTrue: 1},
			bpf.RetConstant{Val: deny},
			bpf.RetConstant{Val: retAllow},
		}
	}
	n := len(r.values)
	b := []bpf.Instruction{
		bpf.LoadAbsolute{Off: hi, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipFalse: uint8(n + 1)}, // to the deny
		bpf.LoadAbsolute{Off: lo, Size: 4},
	}
	for i, v := range r.values {
		b = append(b, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipTrue: uint8(n - i)}) // to the allow
	}
	return append(b, bpf.RetConstant{Val: deny}, bpf.RetConstant{Val: retAllow})
}

// installFilter installs prog on every thread of the process (TSYNC). The
// calling thread must have no_new_privs. With logDenied the kernel logs
// every call the filter does not allow (audit type 1326, in the kernel log),
// which is how a missing entry shows.
func installFilter(prog []bpf.RawInstruction, logDenied bool) error {
	if len(prog) == 0 {
		return errors.New("empty filter")
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_TSYNC)
	if logDenied {
		flags |= unix.SECCOMP_FILTER_FLAG_LOG
	}
	r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	switch {
	case e != 0:
		return fmt.Errorf("seccomp: %w", e)
	case r != 0:
		return fmt.Errorf("seccomp: thread %d cannot take the filter", r)
	}
	return nil
}
