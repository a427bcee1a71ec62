package capture

import (
	"container/heap"
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// Opener opens capture files to be read as one stream in packet time.
type Opener struct {
	// MaxJump is the largest step in packet time between two packets of
	// one file that is taken as time passing; a larger one is a clock jump
	// (see ClockJump). 0 turns the check off.
	MaxJump time.Duration
	// Warn, if set, is told on the reading goroutine of what does not end
	// a file: a *ClockJump, or a *FileError wrapping ErrRecordTooLong.
	Warn func(error)
}

// OpenFiles opens capture files with the zero Opener: no clock check, no
// warnings (both still counted in Stats).
func OpenFiles(paths ...string) (Source, error) {
	return Opener{}.Open(context.Background(), paths...)
}

// Open returns a Source that reads the given capture files merged in packet
// time, as mergecap does: a k-way merge by each file's next packet, so that
// files given in any order (a shell glob sorts by name) read as the network
// saw them. Each may be pcap (either byte order, micro- or nanosecond
// timestamps, versions 2.0 to 2.4) or pcapng (several sections, a link type
// per interface), and each may be gzip-compressed (recognised by its magic
// bytes, not its name). Errors about file contents are *FileError.
//
// A single file that cannot be opened is Open's error. Of several, each
// that cannot be opened, or fails later, is an error from ReadPacket and
// the others read on: ReadPacket returns io.EOF only when every file has
// ended. Ending ctx ends every blocking step: a FIFO waiting for its
// writer, a read from a writer that stalls.
func (o Opener) Open(ctx context.Context, paths ...string) (Source, error) {
	if len(paths) == 0 {
		return nil, errors.New("no capture files given")
	}
	s := &fileSource{names: paths, warn: o.Warn}
	if s.warn == nil {
		s.warn = func(error) {}
	}
	for i, p := range paths {
		in := &input{index: i}
		s.inputs = append(s.inputs, in)
		fr, err := openFile(ctx, p)
		if err != nil {
			if len(paths) == 1 {
				return nil, err
			}
			s.pending = append(s.pending, err)
			continue
		}
		fr.warn, fr.counts = s.warn, &s.counts
		fr.clock.check(o.MaxJump)
		in.fr = fr
		s.stale = append(s.stale, in)
	}
	if in := s.inputs[0]; len(paths) == 1 && in.fr.mm != nil {
		s.fast = in.fr
	}
	return s, nil
}

// OpenReader returns a Source that reads one capture (pcap or pcapng,
// optionally gzip'd) from r, such as standard input. name is used in errors.
// Closing the Source closes r if it is an io.Closer.
func OpenReader(name string, r io.Reader) (Source, error) {
	fr, err := newFileReader(name, r, -1)
	if err != nil {
		return nil, err
	}
	if c, ok := r.(io.Closer); ok {
		fr.closer = c
	}
	s := &fileSource{names: []string{name}, inputs: []*input{{fr: fr}}}
	fr.counts = &s.counts
	return s, nil
}

// openFile opens one capture file. A FIFO (or other non-regular file) is
// opened without waiting for its writer and read so that ctx ends any wait.
func openFile(ctx context.Context, path string) (*fileReader, error) {
	f, err := openCancelable(ctx, path)
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	var r io.ReadCloser = f
	fi, err := f.Stat()
	if err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	} else {
		r = newCancelReader(ctx, f, err == nil && fi.Mode()&os.ModeNamedPipe != 0)
	}
	fr, err := newFileReader(path, r, size)
	if err != nil {
		r.Close()
		return nil, err
	}
	fr.closer = r
	fr.mapFile(f, size)
	return fr, nil
}

// input is one file of a fileSource.
type input struct {
	index int
	fr    *fileReader // nil once the file has ended
	head  Packet      // its next packet, while it waits in the merge
	at    int64       // head.Time.UnixNano(): the merge's key
}

// fileSource reads files merged in packet time. Each file's next packet
// waits in a heap ordered by time (ties: the file given first); the file
// whose packet was handed out last is read again only at the next call, as
// its packet's data lives in that file's buffer until then.
type fileSource struct {
	names   []string
	inputs  []*input
	pending []error       // files that could not be opened, reported first
	stale   []*input      // files whose next packet is to be read
	merge   inputHeap     // files with a packet waiting
	current int           // index of the file the last packet came from
	fast    *fileReader   // the one file, memory-mapped: the hot path
	ended   []*fileReader // mapped files read to their end, unmapped at Close
	warn    func(error)
	closed  bool

	received atomic.Uint64
	// fastReceived counts the frames NextFrame handed out, apart from
	// received: an atomic add per frame is a locked instruction, which
	// waits for every store before it (the decoded packets).
	fastReceived uint64
	counts       fileCounts
}

// fileCounts are what the file readers of a source count for its Stats.
type fileCounts struct {
	jumps, cut atomic.Uint64
}

// ReadPacket returns the next packet in time. Its Data is valid until the
// next call. After an error other than io.EOF, reading on continues with
// what remains (the other files, or the rest of the file).
func (s *fileSource) ReadPacket() (Packet, error) {
	if fr := s.fast; fr != nil && !fr.ahead.ok && fr.ngErr == nil {
		// The hot path of a replay: the next record of one mapped
		// file, on its timeline. (Each branch returns its own packet,
		// so that it stays in registers.)
		if fr.isPcap {
			if p, ok := fr.readMapped(); ok {
				if !fr.clock.onTime(p.Time) {
					p = fr.judge(p)
				}
				s.received.Add(1)
				return p, nil
			}
		} else if b, off, ok := fr.nextEnhanced(); ok {
			// readNgMapped, one call less.
			if p, ok := fr.ngPacket(int64(off), ngEnhancedPacket, b); ok {
				if !fr.clock.onTime(p.Time) {
					p = fr.judge(p)
				}
				s.received.Add(1)
				return p, nil
			}
		}
	}
	if len(s.pending) > 0 {
		err := s.pending[0]
		s.pending = s.pending[1:]
		return Packet{}, err
	}
	if len(s.inputs) == 1 {
		return s.readOne()
	}
	for len(s.stale) > 0 {
		in := s.stale[len(s.stale)-1]
		p, err := in.fr.read()
		if err != nil {
			s.stale = s.stale[:len(s.stale)-1]
			s.end(in)
			if err == io.EOF {
				continue
			}
			return Packet{}, err
		}
		s.stale = s.stale[:len(s.stale)-1]
		in.head, in.at = p, p.Time.UnixNano()
		if len(s.stale) == 0 && (len(s.merge) == 0 || in.before(s.merge[0])) {
			// Still the first in time (files made at different
			// times follow one another): no heap work.
			s.stale = append(s.stale, in)
			s.current = in.index
			s.received.Add(1)
			return in.head, nil
		}
		heap.Push(&s.merge, in)
	}
	if len(s.merge) == 0 {
		if s.closed {
			return Packet{}, errClosed
		}
		return Packet{}, io.EOF
	}
	in := heap.Pop(&s.merge).(*input)
	s.stale = append(s.stale, in)
	s.current = in.index
	s.received.Add(1)
	return in.head, nil
}

// readOne reads a source of one file: no merge.
func (s *fileSource) readOne() (Packet, error) {
	in := s.inputs[0]
	if in.fr == nil {
		if s.closed {
			return Packet{}, errClosed
		}
		return Packet{}, io.EOF
	}
	p, err := in.fr.read()
	if err != nil {
		s.end(in)
		return Packet{}, err
	}
	s.received.Add(1)
	return p, nil
}

var errClosed = errors.New("capture source closed")

// end closes a file that has ended. A mapped one stays mapped until Close,
// as the frames handed out point into it (Stable); its pages go back now.
func (s *fileSource) end(in *input) {
	if in.fr == s.fast {
		s.fast = nil
	}
	if in.fr.mm != nil {
		in.fr.release(len(in.fr.mm))
		s.ended = append(s.ended, in.fr)
	} else {
		in.fr.close()
	}
	in.fr = nil
}

// Stats are the source's counters. Ask on the goroutine that reads.
func (s *fileSource) Stats() Stats {
	return Stats{Received: s.received.Load() + s.fastReceived, ClockJumps: s.counts.jumps.Load(), RecordsCut: s.counts.cut.Load()}
}

// Names are the files, in the order given.
func (s *fileSource) Names() []string { return s.names }

// Current is the index in Names of the file the last packet came from.
func (s *fileSource) Current() int { return s.current }

// File names the capture file the last packet came from: what EVE records
// call pcap_filename.
func (s *fileSource) File() string {
	if s.current < 0 || s.current >= len(s.names) {
		return ""
	}
	return s.names[s.current]
}

// Close closes every file. Later reads return an error.
func (s *fileSource) Close() error {
	var err error
	for _, in := range s.inputs {
		if in.fr != nil {
			if e := in.fr.close(); err == nil {
				err = e
			}
			in.fr = nil
		}
	}
	for _, fr := range s.ended {
		fr.close()
	}
	s.fast, s.stale, s.ended, s.merge, s.pending, s.closed = nil, nil, nil, nil, nil, true
	return err
}

// inputHeap orders files by their next packet's time, then by their place
// on the command line, so that a merge is deterministic.
type inputHeap []*input

func (h inputHeap) Len() int           { return len(h) }
func (h inputHeap) Less(i, j int) bool { return h[i].before(h[j]) }

// before orders files by their next packet's time, then by their place on
// the command line.
func (in *input) before(o *input) bool {
	if in.at != o.at {
		return in.at < o.at
	}
	return in.index < o.index
}
func (h inputHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *inputHeap) Push(x any)   { *h = append(*h, x.(*input)) }
func (h *inputHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Files is implemented by the sources of Opener.Open, OpenFiles and
// OpenReader: which files they read, and which one the last packet came
// from, so that a reader can say what it found in each.
type Files interface {
	Names() []string
	Current() int
}

var _ Files = (*fileSource)(nil)
