package sandbox

import "golang.org/x/sys/unix"

// auditArch is the ABI the filter accepts calls of; abiMask marks the x32
// ABI's calls (same architecture, other numbers), which it refuses too.
const (
	auditArch = unix.AUDIT_ARCH_X86_64
	abiMask   = 0x40000000 // __X32_SYSCALL_BIT
)

// archCalls are the allowed calls only this architecture has.
var archCalls = []uintptr{unix.SYS_POLL, unix.SYS_EPOLL_WAIT}
