//go:build !linux

package selftest

import "errors"

// startSCTPResponder: the self-test needs Linux (see sctp_linux.go).
func startSCTPResponder(uint16) (string, error) {
	return "", errors.New("the SCTP responder needs Linux")
}
