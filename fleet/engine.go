package fleet

// Engine is the episode logic of one partition, the detector's part of the
// correlator: contacts go in, in event-time order, and what it decides
// comes out through the emit function its factory was given. The
// correlator calls it from one goroutine per partition.
type Engine interface {
	// Contact feeds one first contact of any sensor.
	Contact(c *Contact)
	// Advance moves the engine's clock (event time, Unix ns; never
	// backwards): episodes that went idle end.
	Advance(t int64)
}

// EngineFactory makes the engine of one partition.
type EngineFactory func(partition int, emit func(Output)) Engine

// Output is one record an engine decides to write (an alert, a scan's
// closing totals). ID must be deterministic, a function of the contacts
// that made the record (for a scan: scanner, technique, first contact
// time): an owner that rebuilds a partition from the stream after a crash
// or a takeover emits the same outputs again, and the correlator writes
// only those whose ID no earlier owner wrote.
type Output struct {
	ID     string
	Record []byte
}
