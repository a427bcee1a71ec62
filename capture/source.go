// Package capture provides packet sources: capture files (pcap, pcapng, gzip)
// and live AF_PACKET sockets filtered in the kernel. A source knows nothing of
// what reads it; it hands out raw frames with their link type and timestamp.
package capture

import (
	"time"

	"github.com/scanwatch/scanwatch/linktype"
)

// Packet is one captured frame. Data is only valid until the next call to
// ReadPacket: sources reuse their buffers so the steady state allocates nothing.
type Packet struct {
	Data     []byte
	Time     time.Time
	LinkType linktype.LinkType
	Length   int // length on the wire; len(Data) may be shorter (snaplen)
}

// Source yields packets in capture order. ReadPacket returns io.EOF at the
// clean end of a source; any other error says what failed and where. A
// source of capture files (Files) goes on after an error with what remains
// (its other files): read it until io.EOF.
type Source interface {
	ReadPacket() (Packet, error)
	Stats() Stats
	Close() error
}

// Stats are a source's counters, so that loss is never silent.
type Stats struct {
	Received uint64 // packets handed to the reader
	// Capture files only.
	ClockJumps uint64 // packets dated too far from the one before (see ClockJump)
	RecordsCut uint64 // records longer than MaxRecord, cut to it
	// Live sources only.
	KernelSeen    uint64 // packets the kernel program looked at
	KernelPassed  uint64 // passed to user space by the filter
	KernelDropped uint64 // dropped by the filter (bulk traffic)
	RingLost      uint64 // lost between kernel and user space (ring full)
	// Link flaps of a live capture on one interface (not "any"): the times
	// the interface went down or away, the time without it (the gap in
	// progress included), and the times it came back as a new interface
	// of the same name, which the socket was bound to.
	LinkGaps    uint64
	LinkGapTime time.Duration
	LinkRebinds uint64
}
