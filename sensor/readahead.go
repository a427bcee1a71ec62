package sensor

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/linktype"
)

// A replay of capture files runs on two goroutines, so on two cores. The
// reader (readAhead) reads each frame, decodes it, and keeps every count
// that is about frames or files: frames and bytes read, decode errors, the
// decoder's own counters, the per-file counts (the source's Current file is
// only right just after the read), the source's errors and warnings in
// their order, and the clock check that decides where a timeline ends
// (packet times alone decide it). The detector's side (detect) runs on the
// caller's goroutine and owns everything that holds detector state or
// reports: the detector (Process, a new timeline, Flush), the sink, the
// scans and alert counts, and the Contacts callback. The split is there
// because on the benign mixes reading plus decoding and detecting each take
// about half of the time, and decoding needs no detector state.
//
// The reader takes each frame of a memory-mapped file from NextFrame
// (capture.Frames): its bytes, time and link type in registers, no
// capture.Packet built and copied, no error returned, no atomic count; and
// ReadPacket for whatever NextFrame leaves (other blocks, damage, clock
// jumps, the end). Its loop (fill) holds only the per-frame work.
//
// The reader hands over batches of decoded packets, recycled through a free
// list: no channel send and no allocation per packet. A decoded packet's
// Options and Data alias the frame (or the decoder's reassembly buffer),
// which the next read may overwrite, so they are copied into the batch's
// arena (at most 40 + decode.MaxData bytes a packet), unless the source
// says its frames stay valid until Close (capture.Stable: a memory-mapped
// file) and the packet was not reassembled. The copy reads the payload's
// cache lines, which the detector mostly never touches: it costs about a
// tenth of the reader's time on the default mix.
//
// The two sides are not always equal: on captures of many short flows the
// detector is the slower one, two to three times over. While it is behind
// (two batches or more wait for it), the reader also computes each
// packet's flow key and hash (detector.Key), about a sixth of the
// detector's instructions on such a capture; while the reader is the
// slower side, the detector computes them itself.
// Output is the same as that of one goroutine, in the same order: the
// detector sees the same packets in the same order, with the timeline ends
// where they were.

const (
	// batchSize is how many frames a batch holds: large enough that a
	// handover (two channel operations, and often a goroutine to wake on
	// the other side) is nothing per packet, small enough that a batch
	// (about 600 KB) stays in a core's L2 cache. 512 cost 15-20 ns a
	// packet more CPU in wake-ups on the default mix (a context switch
	// every batch or so); 4096 and 8192 gained no more.
	batchSize = 2048
	// batches is how many batches there are at most: one being filled,
	// one being detected, and two for the slack between the two sides.
	batches = 4
)

// entry is one frame a batch hands over: a packet for the detector, or a
// frame that only ended a timeline, or both.
type entry struct {
	pkt      decode.Packet
	file     int32 // index in the source's Names of the file the frame came from
	timeline bool  // packet time went back beyond MaxJump: a new detector before this packet
	ok       bool  // pkt holds a packet for the detector
	keyed    bool  // the batch's keys hold pkt's flow key (the detector is the slower side)
}

// batch is a run of frames from the reader to the detector.
type batch struct {
	n    int // entries in use
	ents [batchSize]entry
	// keys[i] is ents[i]'s flow key when ents[i].keyed: apart from the
	// entries, so that a batch without keys does not spread its packets
	// over more cache lines.
	keys  [batchSize]detector.Key
	arena []byte // copies of the entries' Options and Data
	// publish: after this batch the detector side publishes counters,
	// those of the reader as of its last frame (frames) with its own.
	publish bool
	frames  Counters
}

// keep copies the bytes p points to (the frame's, or the decoder's) into
// the batch, so that they outlive the next read. An append that grows the
// arena leaves the earlier copies where they were, still valid.
func (b *batch) keep(p *decode.Packet) {
	if p.Options != nil {
		p.Options = b.copy(p.Options)
	}
	if p.Data != nil {
		p.Data = b.copy(p.Data)
	}
}

func (b *batch) copy(x []byte) []byte {
	off := len(b.arena)
	b.arena = append(b.arena, x...)
	return b.arena[off:len(b.arena):len(b.arena)]
}

// handover carries full batches to the detector and empty ones back.
type handover struct {
	full, free chan *batch
	made       int // batches allocated (the reader's count)
}

func newHandover() *handover {
	return &handover{full: make(chan *batch, batches), free: make(chan *batch, batches)}
}

// get is an empty batch for the reader: a recycled one, or a new one while
// there are fewer than batches, or else the next the detector gives back.
// A replay of a few packets allocates one.
func (h *handover) get() *batch {
	select {
	case b := <-h.free:
		return b
	default:
	}
	if h.made < batches {
		h.made++
		return &batch{arena: make([]byte, 0, batchSize*64)}
	}
	return <-h.free
}

// replayFiles is replay for a source of capture files: the reader on a
// goroutine of its own, the detector on the caller's (see above).
func (s *Sensor) replayFiles(ctx context.Context, src capture.Source, files capture.Files) error {
	// The sink names the capture file of each event: the file of the
	// packet being detected, which the reader has left behind by then.
	var at *fileCursor
	if s.file != nil {
		at = &fileCursor{names: files.Names()}
		s.file = at
	}
	h := newHandover()
	var err error
	go func() {
		err = s.readAhead(ctx, src, files, h)
		close(h.full)
	}()
	s.detect(h, at)
	// The reader has ended (h.full is closed): its counters are ours.
	if at != nil {
		at.at = int32(files.Current()) // the last frame's, for Flush
	}
	return err
}

// readAhead is the reader's side of replayFiles: it reads src to its end
// (or ctx's), decodes, and hands the packets over in batches.
func (s *Sensor) readAhead(ctx context.Context, src capture.Source, files capture.Files, h *handover) error {
	r := frameReader{ctx: ctx, src: src, files: files}
	r.frames, _ = src.(capture.Frames)
	if st, ok := src.(capture.Stable); ok {
		r.stable = st.StableFrames()
	}
	for {
		b := h.get()
		end, err := s.fill(&r, b)
		if !end && ctx.Err() != nil {
			end, err = true, ctx.Err()
		}
		h.full <- b
		if end {
			return err
		}
		// Two batches or more waiting: the detector is the slower side,
		// and the next batch's packets come with their flow keys.
		r.keying = len(h.full) >= 2
	}
}

// frameReader is what readAhead reads frames with.
type frameReader struct {
	ctx    context.Context
	src    capture.Source
	frames capture.Frames // nil if src has no NextFrame
	files  capture.Files
	stable bool  // frames stay valid until Close (capture.Stable)
	keying bool  // compute each packet's flow key (detector.Key)
	cur    int32 // files.Current() as of the last ReadPacket
}

// fill reads frames into b until it is full, or counters are due for a
// progress line (after every 65536th frame, when b.publish is set), or src
// has ended (end, with the error that ended it: nil at io.EOF). The loop
// is the reader's per-frame cost; what is rare is in other functions.
func (s *Sensor) fill(r *frameReader, b *batch) (end bool, err error) {
	perFile := s.perFile
	for b.n < batchSize {
		// The next frame: in place from a mapped file (NextFrame), or
		// else, and for whatever NextFrame leaves, from ReadPacket.
		var (
			data []byte
			t    time.Time
			link linktype.LinkType
			ok   bool
		)
		if r.frames != nil {
			data, t, link, ok = r.frames.NextFrame()
		}
		if !ok {
			pk, err := r.src.ReadPacket()
			if err != nil {
				if end, err := s.readFailed(r, err); end {
					return true, err
				}
				continue
			}
			data, t, link = pk.Data, pk.Time, pk.LinkType
			r.cur = int32(r.files.Current())
		}
		e := &b.ents[b.n]
		e.timeline = s.clockBack(t)
		ok = s.decodeData(link, data, t, &e.pkt)
		if len(perFile) > 1 {
			c := &perFile[r.cur]
			c.frames++
			if ok {
				c.decoded++
			}
		} else if ok && perFile != nil {
			perFile[0].decoded++
		}
		if ok || e.timeline {
			e.ok, e.file, e.keyed = ok, r.cur, ok && r.keying
			if ok && (!r.stable || e.pkt.Fragment) {
				b.keep(&e.pkt)
			}
			if e.keyed {
				b.keys[b.n].Set(&e.pkt)
			}
			b.n++
		}
		if s.n&0xffff == 0 {
			// Counters for a progress line, published once the
			// detector has seen this frame.
			b.publish, b.frames = true, s.frameCounters(r.src)
			return false, nil
		}
	}
	return false, nil
}

// readFailed takes an error from ReadPacket: the end of src (end, with
// nil at io.EOF, or ctx's error), or an error to report and read on from.
func (s *Sensor) readFailed(r *frameReader, err error) (end bool, _ error) {
	switch {
	case errors.Is(err, io.EOF):
		return true, nil
	case r.ctx.Err() != nil:
		return true, r.ctx.Err()
	}
	s.errs = append(s.errs, err)
	if f := failedFile(err, r.files.Names()); f >= 0 {
		s.perFile[f].failed = true
	}
	return false, nil
}

// detect is the detector's side of replayFiles: it feeds each batch to the
// detector and gives it back, until the reader has ended.
func (s *Sensor) detect(h *handover, at *fileCursor) {
	for b := range h.full {
		for i := range b.n {
			e := &b.ents[i]
			if at != nil {
				at.at = e.file
			}
			if e.timeline {
				s.newTimeline()
			}
			if j := i + 2; j < b.n && b.ents[j].ok {
				// A first contact's flow slot: a likely miss under a flood.
				if a := &b.ents[j]; a.keyed {
					s.det.Prefetch(&a.pkt, &b.keys[j])
				} else {
					s.det.Prefetch(&a.pkt, nil)
				}
			}
			switch {
			case e.keyed:
				s.det.ProcessKey(&e.pkt, &b.keys[i])
			case e.ok:
				s.det.Process(&e.pkt)
			}
		}
		if b.publish {
			c := b.frames
			c.Detector, c.AlertsBy = s.detStats(), s.alertsBy
			s.last.Store(&c)
		}
		b.n, b.publish, b.arena = 0, false, b.arena[:0]
		h.free <- b
	}
}

// fileCursor names the capture file of the packet the detector is at, for
// the sink (namedSource).
type fileCursor struct {
	names []string
	at    int32
}

func (f *fileCursor) File() string {
	if f.at < 0 || int(f.at) >= len(f.names) {
		return ""
	}
	return f.names[f.at]
}
