package sandbox

import "golang.org/x/sys/unix"

// auditArch is the ABI the filter accepts calls of.
const (
	auditArch = unix.AUDIT_ARCH_AARCH64
	abiMask   = 0
)

// archCalls are the allowed calls only this architecture has.
var archCalls = []uintptr{}
