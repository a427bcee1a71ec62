package bpf

import (
	"strings"

	"golang.org/x/sys/unix"
)

// effectiveCaps returns the calling thread's effective capabilities (bit n
// for capability n), and whether it could read them.
func effectiveCaps() (uint64, bool) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, false
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, true
}

// missingToLoad names the capabilities among CAP_BPF and CAP_PERFMON that
// caps lacks (CAP_SYS_ADMIN stands for both), or "" when none is missing.
func missingToLoad(caps uint64) string {
	has := func(c int) bool { return caps&(1<<uint(c)) != 0 }
	if has(unix.CAP_SYS_ADMIN) {
		return ""
	}
	var m []string
	if !has(unix.CAP_BPF) {
		m = append(m, "CAP_BPF")
	}
	if !has(unix.CAP_PERFMON) {
		m = append(m, "CAP_PERFMON")
	}
	if len(m) == 0 {
		return ""
	}
	return strings.Join(m, " and ") + " (or CAP_SYS_ADMIN)"
}
