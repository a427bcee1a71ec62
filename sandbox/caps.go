package sandbox

import (
	"math/bits"
	"strconv"
	"strings"
)

// Caps is a set of Linux capabilities, bit n for capability n
// (unix.CAP_NET_RAW, ...).
type Caps uint64

// CapsOf returns the set of the given capabilities.
func CapsOf(caps ...int) Caps {
	var c Caps
	for _, n := range caps {
		c |= 1 << uint(n)
	}
	return c
}

// Has reports whether c holds capability n.
func (c Caps) Has(n int) bool { return c&(1<<uint(n)) != 0 }

// capNames are the capabilities' names, as capabilities(7) spells them.
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// String lists the capabilities by name ("CAP_BPF, CAP_NET_RAW"), or says
// "none".
func (c Caps) String() string {
	if c == 0 {
		return "none"
	}
	var names []string
	for n := 0; n < 64; n++ {
		if !c.Has(n) {
			continue
		}
		if n < len(capNames) {
			names = append(names, capNames[n])
		} else {
			names = append(names, "CAP_"+strconv.Itoa(n))
		}
	}
	return strings.Join(names, ", ")
}

// Len is the number of capabilities in c.
func (c Caps) Len() int { return bits.OnesCount64(uint64(c)) }
