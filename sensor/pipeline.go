package sensor

import (
	"context"
	"errors"
	"io"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/decode"
)

// A replay uses both cores: one goroutine reads and decodes frames into
// batches, the caller's goroutine runs the detector (and so the sink) over
// them, in order. Batches go round a ring of reusable ones, so the steady
// state allocates nothing and a channel operation is paid per batch, not
// per packet. The detector sees the same packets in the same order as a
// sequential loop would: the output is the same, byte for byte.
//
// A decoded packet aliases its frame only through Options (the TCP
// options; for a reassembled fragment, the decoder's buffer), and frames
// are only valid until the next read. So each batch copies the options of
// its packets into an arena of its own; everything else is a value.

const (
	batchSize = 256 // decoded packets per batch
	ringSize  = 8   // batches in flight (reader ahead of the detector)
	// maxOptions is the most TCP option bytes a packet can carry (a
	// 60-byte header less the fixed 20): the arena never grows.
	maxOptions = 40
)

// batch is a run of decoded packets and the file they came from.
type batch struct {
	pkts [batchSize]decode.Packet
	n    int
	opts [batchSize * maxOptions]byte
	used int    // bytes of opts in use
	file string // the capture file of these packets (namedSource only)
}

// decodeInto decodes one frame into the next slot of b, and counts it.
func (s *Sensor) decodeInto(b *batch, pk capture.Packet) {
	s.n++
	s.bytes += uint64(len(pk.Data))
	p := &b.pkts[b.n]
	ok, err := s.dec.Decode(pk.LinkType, pk.Data, pk.Time, p)
	if err != nil {
		s.bad++
		if s.first == nil {
			s.first = err
		}
		return
	}
	if !ok {
		return
	}
	if len(p.Options) > 0 {
		n := copy(b.opts[b.used:], p.Options)
		p.Options = b.opts[b.used : b.used+n : b.used+n]
		b.used += n
	}
	b.n++
}

// replayBatched is Replay's loop: reading and decoding on a goroutine of
// its own, detection here. It returns once every packet read has been
// processed.
func (s *Sensor) replayBatched(ctx context.Context, src capture.Source) error {
	free := make(chan *batch, ringSize)
	full := make(chan *batch, ringSize)
	for range ringSize {
		free <- new(batch)
	}
	done := make(chan error, 1)
	stop := make(chan struct{}) // closed when this side returns, even by a panic
	defer close(stop)
	go func() {
		defer close(full)
		done <- s.readBatches(ctx, src, free, full, stop)
	}()
	for b := range full {
		s.curFile = b.file
		for i := range b.n {
			s.det.Process(&b.pkts[i])
		}
		free <- b
	}
	err := <-done
	if s.file != nil {
		s.curFile = s.file.File() // the reader is done: the last file opened
	}
	return err
}

// readBatches reads src to its end (or an error, or ctx's end) into
// batches taken from free and handed to full. It returns early when stop
// is closed (the detector side ended).
func (s *Sensor) readBatches(ctx context.Context, src capture.Source, free <-chan *batch, full chan<- *batch, stop <-chan struct{}) error {
	var b *batch
	next := func() bool {
		select {
		case b = <-free:
			b.n, b.used = 0, 0
			return true
		case <-stop:
			return false
		}
	}
	hand := func() bool {
		select {
		case full <- b:
			return true
		case <-stop:
			return false
		}
	}
	send := func() bool { return hand() && next() }
	if !next() {
		return nil
	}
	for {
		pk, err := src.ReadPacket()
		if err != nil {
			hand()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if s.file != nil {
			if f := s.file.File(); f != b.file {
				// A new file: its packets start a batch of their own.
				if b.n > 0 && !send() {
					return nil
				}
				b.file = f
			}
		}
		s.decodeInto(b, pk)
		if b.n == batchSize && !send() {
			return nil
		}
		if s.n&0xffff == 0 && ctx.Err() != nil {
			hand()
			return ctx.Err()
		}
	}
}
