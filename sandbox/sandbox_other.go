//go:build !linux

package sandbox

import "errors"

// Enter needs Linux (capabilities, no_new_privs, seccomp).
func Enter(o Options) (Report, error) {
	return Report{}, errors.New("sandbox: needs Linux")
}
