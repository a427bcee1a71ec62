//go:build !linux

package netns

import (
	"errors"
	"runtime"
)

// Do needs Linux (setns(2)).
func (p *Pair) Do(ns string, fn func() error) error {
	return errors.New("netns: entering a network namespace needs Linux, not " + runtime.GOOS)
}
