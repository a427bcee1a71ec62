package sensor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/rules"
)

// Replay and its time. Capture files are read merged in packet time
// (capture.Opener), each file on its own timeline: a packet dated far from
// the packets around it is read at their time, a pause or a clock set back
// is read as it is (see capture.ClockJump). The detector's clock never goes
// back, so when packet time does go back by more than MaxJump (a clock set
// back in a file, two captures glued into one) the detector's timeline
// ends: every open episode is closed with its own times, and a new detector
// starts from the earlier time. Stamping the later packets with the earlier
// timeline's now would lie about every alert after it.

// MaxJump is the clock jump bound of a replay with rules r: the longest
// span any rule looks back over (the idle timeout, every detection window,
// the reply timeout). A step in time larger than that leaves nothing for
// the detector to join across it.
func MaxJump(r *rules.Rules) time.Duration {
	d := max(r.Timeouts.Idle, r.Timeouts.Reply)
	for _, th := range r.Detect {
		d = max(d, th.Window)
	}
	return d
}

// maxWarnLines bounds the warning lines of each kind, so that a file of a
// million wild timestamps cannot flood the terminal; the rest are counted.
const maxWarnLines = 10

// OpenFiles opens capture files for Replay (see capture.Opener): merged in
// packet time, clock jumps beyond the sensor's MaxJump judged and reported
// in Warnings, records cut at capture.MaxRecord reported in Replay's error,
// and every blocking read (a FIFO without its writer) ended by ctx. A single
// file that cannot be opened is its error; of several, Replay reports each
// that fails and reads on.
func (s *Sensor) OpenFiles(ctx context.Context, paths ...string) (capture.Source, error) {
	o := capture.Opener{MaxJump: s.maxJump, Warn: s.note}
	src, err := o.Open(ctx, paths...)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return src, err
}

// note takes what a source reports on the way: clock jumps are warnings,
// records cut short are errors (part of a file was not read).
func (s *Sensor) note(err error) {
	var j *capture.ClockJump
	if !errors.As(err, &j) {
		s.errs = append(s.errs, err)
		return
	}
	s.jumps[j.Kind]++
	switch j.Kind {
	case capture.JumpAhead:
		// A pause is normal on a quiet link: one line per file, the
		// longest (see Warnings).
		if p := s.pauses[j.Path]; p == nil || j.Stamp.Sub(j.Prev) > p.Stamp.Sub(p.Prev) {
			s.pauses[j.Path] = j
		}
		s.pauseCount[j.Path]++
	default:
		if len(s.jumpLines) < maxWarnLines {
			s.jumpLines = append(s.jumpLines, j.Error())
		}
	}
}

// Replay reads src to its end on packet time, then closes every open
// episode (each with its scan record): two runs over the same source report
// the same events. Everything read before an error has been processed and
// reported. It returns nil at a clean end, ctx's error when ctx ended first,
// and otherwise what went wrong: the source's error; for a source of
// capture files (capture.Files) every file that could not be read in full
// or held no frame that could be decoded, each reported after the others
// were read (a *FilesError when there is more than one).
func (s *Sensor) Replay(ctx context.Context, src capture.Source) error {
	s.file, _ = src.(namedSource)
	err := s.replay(ctx, src)
	s.det.Flush()
	s.publish(src)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	s.errs = append(s.errs, s.emptyFiles(src)...)
	switch len(s.errs) {
	case 0:
		return nil
	case 1:
		return s.errs[0]
	}
	n := 0
	if fs, ok := src.(capture.Files); ok {
		n = len(fs.Names())
	}
	return &FilesError{Errs: s.errs, Files: n}
}

func (s *Sensor) replay(ctx context.Context, src capture.Source) error {
	if files, ok := src.(capture.Files); ok {
		s.perFile = make([]fileCount, len(files.Names()))
		return s.replayFiles(ctx, src, files) // on two cores (readahead.go)
	}
	// Any other source (a test's) on this goroutine alone.
	for {
		pk, err := src.ReadPacket()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case ctx.Err() != nil:
				return ctx.Err()
			}
			return err
		}
		if s.clockBack(pk.Time) {
			s.newTimeline()
		}
		s.handle(pk)
		if s.n&0xffff == 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.publish(src) // counters for a progress line
		}
	}
}

// clockBack reports whether packet time t goes back further than the
// detector's windows, so that a new timeline starts (see above).
func (s *Sensor) clockBack(t time.Time) bool {
	if t := t.UnixNano(); t < s.latest-int64(s.maxJump) {
		s.latest = t
		return true
	} else if t > s.latest {
		s.latest = t
	}
	return false
}

// fileCount is what Replay found in one capture file.
type fileCount struct {
	frames, decoded uint64
	failed          bool // an error was reported for it
}

// newTimeline ends the detector's timeline: its episodes close and a new
// detector starts, with the same rules and sink.
func (s *Sensor) newTimeline() {
	s.det.Flush()
	s.prior = s.detStats()
	s.det = s.newDetector()
	s.timelines++
}

// clockWarnings say what happened to packet time: outliers and steps back
// one line each (the first few), pauses one line per file.
func (s *Sensor) clockWarnings() []string {
	w := slices.Clone(s.jumpLines)
	if n := s.jumps[capture.JumpOutlier] + s.jumps[capture.JumpBack]; n > uint64(len(w)) {
		w = append(w, fmt.Sprintf("... and %d more clock jumps", n-uint64(len(w))))
	}
	paths := slices.Sorted(maps.Keys(s.pauses))
	for i, p := range paths {
		if i == maxWarnLines {
			w = append(w, fmt.Sprintf("... and pauses in %d more files", len(paths)-i))
			break
		}
		j := s.pauses[p]
		w = append(w, fmt.Sprintf("%s: %d pauses longer than %v in packet time, the longest %v before packet %d (read as time passing)",
			p, s.pauseCount[p], s.maxJump, j.Stamp.Sub(j.Prev).Round(time.Millisecond), j.Packet))
	}
	if s.timelines > 0 {
		w = append(w, fmt.Sprintf("packet time went back by more than %v %d times: each time every open episode was closed and detection started again from the earlier time", s.maxJump, s.timelines))
	}
	return w
}

// ClockJumps counts the clock jumps of a replay by kind: outliers read at
// the time around them, steps back, pauses.
func (s *Sensor) ClockJumps() (outliers, back, pauses uint64) {
	return s.jumps[capture.JumpOutlier], s.jumps[capture.JumpBack], s.jumps[capture.JumpAhead]
}

// emptyFiles are the errors for capture files with no frame the decoder
// could read (no packets at all, or only frames of a kind it skips): their
// replay saw nothing, which must not pass for "no scan".
func (s *Sensor) emptyFiles(src capture.Source) []error {
	files, ok := src.(capture.Files)
	if !ok {
		return nil
	}
	names := files.Names()
	var errs []error
	for i, c := range s.perFile {
		if c.failed || c.decoded > 0 {
			continue
		}
		frames := c.frames
		if len(names) == 1 {
			frames = s.n
		}
		errs = append(errs, &EmptyFileError{Path: names[i], Frames: frames})
	}
	return errs
}

// failedFile is the index in names of the file err is about, or -1.
func failedFile(err error, names []string) int {
	var path string
	var fe *capture.FileError
	var pe *fs.PathError
	switch {
	case errors.As(err, &fe):
		path = fe.Path
	case errors.As(err, &pe):
		path = pe.Path
	default:
		return -1
	}
	for i, n := range names {
		if n == path {
			return i
		}
	}
	return -1
}

// EmptyFileError: a capture file in which no frame could be decoded.
type EmptyFileError struct {
	Path   string
	Frames uint64 // frames it holds
}

func (e *EmptyFileError) Error() string {
	if e.Frames == 0 {
		return e.Path + ": holds no packets"
	}
	return fmt.Sprintf("%s: none of its %d frames could be decoded (nothing was analysed)", e.Path, e.Frames)
}

// FilesError gathers what went wrong with several capture files of one
// replay, which read on past each.
type FilesError struct {
	Errs  []error
	Files int // files given
}

func (e *FilesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems with the capture files", len(e.Errs))
	if e.Files > 0 {
		fmt.Fprintf(&b, " (%d files given)", e.Files)
	}
	b.WriteString(":")
	for _, err := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *FilesError) Unwrap() []error { return e.Errs }
