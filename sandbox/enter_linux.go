package sandbox

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Enter sheds the process's privileges as the package says, in an order
// where each step still has what it needs: the capabilities to keep are
// found first, the bounding set is cleared while CAP_SETPCAP is still
// held, the user switched while CAP_SETUID is, the capabilities dropped,
// then no_new_privs, then the filter. An error says which step failed;
// steps before it stay done.
func Enter(o Options) (Report, error) {
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_GETPID, 0, 0, 0); e == unix.ENOTSUP {
		return Report{}, ErrCgo
	}
	r := Report{Seccomp: o.Seccomp}
	if r.Seccomp == "" {
		r.Seccomp = SeccompEnforce
	}
	var prog []bpf.RawInstruction
	if r.Seccomp != SeccompOff {
		deny := map[string]uint32{SeccompEnforce: retEPERM, SeccompLog: retLog}[r.Seccomp]
		if deny == 0 {
			return r, fmt.Errorf("sandbox: seccomp mode %q: want %s, %s or %s", o.Seccomp, SeccompEnforce, SeccompLog, SeccompOff)
		}
		rules := allowedCalls(os.Getpid())
		var err error
		if prog, err = assemble(rules, deny); err != nil {
			return r, fmt.Errorf("sandbox: seccomp filter: %w (run with --seccomp off)", err)
		}
		r.Allowed = len(rules)
	}

	now, err := readCaps()
	if err != nil {
		return r, fmt.Errorf("sandbox: %w", err)
	}
	r.Held = now.permitted
	if r.Held != 0 && o.Needs != nil {
		if r.Kept, err = fewestCaps(r.Held, o.Needs); err != nil {
			return r, fmt.Errorf("sandbox: %w", err)
		}
	}

	if now.effective.Has(unix.CAP_SETPCAP) {
		for n := 0; n <= lastCap(); n++ {
			if r.Kept.Has(n) {
				continue
			}
			if err := allThreadsPrctl(unix.PR_CAPBSET_DROP, uintptr(n), 0); err != nil && !errors.Is(err, unix.EINVAL) {
				return r, fmt.Errorf("sandbox: drop %v from the bounding set: %w", CapsOf(n), err)
			}
		}
	}
	r.Bounding = boundingSet()

	if u := o.User; u != nil {
		if err := switchUser(u, r.Kept != 0); err != nil {
			return r, fmt.Errorf("sandbox: switch to user %s: %w", u.Name, err)
		}
		r.User = fmt.Sprintf("%s (uid %d, gid %d)", u.Name, u.UID, u.GID)
	}

	if err := setAllThreadsCaps(threadCaps{effective: r.Kept, permitted: r.Kept}); err != nil {
		return r, fmt.Errorf("sandbox: drop capabilities: %w", err)
	}
	// Lowering the permitted and inheritable sets clears the ambient set
	// too; this only says so on kernels that have one (4.3+).
	if err := allThreadsPrctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return r, fmt.Errorf("sandbox: clear the ambient capabilities: %w", err)
	}
	if err := allThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return r, fmt.Errorf("sandbox: set no_new_privs: %w", err)
	}
	if prog != nil {
		if err := installFilter(prog, true); err != nil {
			return r, fmt.Errorf("sandbox: %w (run with --seccomp off)", err)
		}
	}
	return r, nil
}

// switchUser sets the process's groups, gid and uid (Go's syscall package
// does each on every thread). With keepCaps the permitted capabilities
// survive the change of uid (PR_SET_KEEPCAPS); Enter then sets them.
func switchUser(u *Credentials, keepCaps bool) error {
	if keepCaps {
		if err := allThreadsPrctl(unix.PR_SET_KEEPCAPS, 1, 0); err != nil {
			return fmt.Errorf("keep capabilities: %w", err)
		}
	}
	groups := u.Groups
	if groups == nil {
		groups = []int{}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(u.GID); err != nil {
		return fmt.Errorf("setgid %d: %w", u.GID, err)
	}
	if err := syscall.Setuid(u.UID); err != nil {
		return fmt.Errorf("setuid %d: %w", u.UID, err)
	}
	return nil
}
