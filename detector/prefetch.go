//go:build amd64 || arm64

package detector

import "unsafe"

// prefetch asks the processor to bring p's cache line in, without waiting
// for it: a lookup that will miss in a table larger than the cache costs a
// memory latency when it is made, but next to nothing when its line was
// asked for earlier, while other work went on (warm.go). p is never read
// as Go memory; a bad address is ignored.
//
//go:noescape
func prefetch(p unsafe.Pointer)
