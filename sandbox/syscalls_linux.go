//go:build linux && (amd64 || arm64)

package sandbox

import "golang.org/x/sys/unix"

// The system calls `scanwatch live` makes once it runs: found with strace
// (-f) on live runs with a scan, a rules reload (SIGHUP), a metrics scrape,
// --out reopened, link flaps (down and up, deleted and re-created) and a
// shutdown, and from the kernel's log of denied calls over the end-to-end
// tests (a full disk, a fleet), plus what the Go runtime and the standard library may call on
// paths those runs did not take (a new thread, a signal, a DNS look-up for
// a fleet connection). Start-up calls (execve, loading the eBPF program,
// opening packet sockets, setting up the ring) are not here: by the time
// the filter is installed they are done.
//
// A call missing here fails with EPERM and is logged by the kernel (audit
// type 1326, "syscall=N"): add it here, with the reason, after checking
// with `--seccomp log` that it is the only one.
func allowedCalls(pid int) []rule {
	rs := allow(
		// The Go runtime: threads, memory, scheduling, signals, timers.
		unix.SYS_FUTEX, unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_SCHED_YIELD,
		unix.SYS_SCHED_GETAFFINITY, unix.SYS_GETPID, unix.SYS_GETTID,
		unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGRETURN, unix.SYS_SIGALTSTACK,
		unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MADVISE, unix.SYS_EXIT, unix.SYS_EXIT_GROUP,
		unix.SYS_CLOCK_GETTIME, unix.SYS_GETTIMEOFDAY, unix.SYS_GETRANDOM, unix.SYS_RESTART_SYSCALL,
		// The network poller and its wake-ups.
		unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2, unix.SYS_EPOLL_CTL, unix.SYS_EPOLL_CREATE1,
		unix.SYS_EVENTFD2, unix.SYS_PIPE2,
		// Files: --out (written, reopened and locked), the rules file read
		// on a reload, /proc/self read by the metrics' process collector.
		unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV, unix.SYS_PREAD64,
		unix.SYS_PWRITE64, unix.SYS_OPENAT, unix.SYS_CLOSE, unix.SYS_FCNTL, unix.SYS_LSEEK,
		unix.SYS_FSTAT, unix.SYS_NEWFSTATAT, unix.SYS_STATX, unix.SYS_STATFS, unix.SYS_FSTATFS,
		unix.SYS_GETDENTS64, unix.SYS_READLINKAT, unix.SYS_FLOCK, unix.SYS_FSYNC, unix.SYS_FDATASYNC,
		unix.SYS_FTRUNCATE, // --out on a full disk: a torn last line is cut off
		// Uptime and memory totals (the NATS server package, linked for
		// `correlate`, samples them every second in every process).
		unix.SYS_SYSINFO,
		// Sockets: the packet socket (poll, statistics, SO_ERROR, a bind to
		// a re-created interface, promiscuous membership), the metrics
		// server, systemd's notification socket, fleet connections.
		unix.SYS_PPOLL, unix.SYS_GETSOCKOPT, unix.SYS_SETSOCKOPT, unix.SYS_BIND, unix.SYS_CONNECT,
		unix.SYS_ACCEPT4, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME, unix.SYS_SENDTO,
		unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG, unix.SYS_SHUTDOWN,
		// Who we are (log lines, error messages).
		unix.SYS_GETUID, unix.SYS_GETEUID, unix.SYS_GETGID, unix.SYS_GETEGID,
	)
	rs = append(rs, allow(archCalls...)...)
	return append(rs,
		// New sockets of the kinds above, never a packet socket: the
		// capture keeps the one it has through link flaps.
		allowArg(unix.SYS_SOCKET, 0, unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK),
		// eBPF: only reading and writing the maps already open (the
		// counters, the rules' patterns on a reload); no program loads.
		allowArg(unix.SYS_BPF, 0, unix.BPF_MAP_LOOKUP_ELEM, unix.BPF_MAP_UPDATE_ELEM),
		// Interface look-ups on the packet socket while a link is away.
		allowArg(unix.SYS_IOCTL, 1, unix.SIOCGIFINDEX, unix.SIOCGIFFLAGS, unix.SIOCGIFHWADDR),
		// New threads, never new processes.
		allowBits(unix.SYS_CLONE, 0, unix.CLONE_THREAD),
		refuse(unix.SYS_CLONE3, unix.ENOSYS),
		// Signals to ourselves only (the runtime preempts its threads with
		// tgkill); as uid 0 without capabilities, kill(2) would still
		// reach every other root process.
		allowArg(unix.SYS_KILL, 0, uint32(pid)),
		allowArg(unix.SYS_TGKILL, 0, uint32(pid)),
	)
}
