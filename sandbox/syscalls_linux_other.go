//go:build linux && !amd64 && !arm64

package sandbox

// No filter for this architecture yet: Enter says so unless --seccomp off.
const (
	auditArch = 0
	abiMask   = 0
)

var archCalls = []uintptr{}

func allowedCalls(pid int) []rule { return nil }
