//go:build !amd64 && !arm64

package detector

import "unsafe"

// prefetch does nothing where no instruction for it is written
// (prefetch_amd64.s, prefetch_arm64.s): it only saves time.
func prefetch(unsafe.Pointer) {}
