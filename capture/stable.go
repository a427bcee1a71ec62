package capture

// Stable is a source that can say its frames stay valid until Close, not
// only until the next ReadPacket: a reader may then hand them to another
// goroutine without copying them (the sensor's replay does). Ask it before
// the first read.
type Stable interface {
	StableFrames() bool
}

// StableFrames: the one file of the hot path is memory-mapped, its frames
// are read in place, and a mapped file stays mapped until Close (end).
func (s *fileSource) StableFrames() bool { return s.fast != nil }
