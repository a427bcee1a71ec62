// Package outfile is the sensor's output: JSON lines appended to a file
// (or written to stdout) so that no record is lost without being counted
// and said.
//
//   - A record that cannot be written (a full disk, an I/O error) is kept
//     in a bounded buffer, in order, and written when writing works again:
//     at the next record, and every RetryEvery until then. Records beyond
//     the buffer are dropped and counted; Close reports every record lost.
//   - Reopen opens the path anew, for log rotation: after `mv eve.json
//     eve.json.1` and SIGHUP, records go to a new eve.json.
//   - The file is locked (flock) while it is written, so that a second
//     sensor writing the same file is refused.
//
// Each Write must be one whole record (eve.Writer writes one per call): a
// record is kept or dropped whole, and a record written in part is
// completed before the next one, so the file never holds a torn line.
package outfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/scanwatch/scanwatch/lock"
)

// Defaults for Options.
const (
	DefaultBuffer     = 4 << 20 // bytes: some 2,500 alert records
	DefaultRetryEvery = time.Second
)

// Options tune a File. The zero value is the defaults.
type Options struct {
	// Buffer is how many bytes of records are kept while writing fails
	// (DefaultBuffer when zero).
	Buffer int
	// RetryEvery is how often kept records are tried again when no new
	// record comes (DefaultRetryEvery when zero).
	RetryEvery time.Duration
	// Logf, if set, is told when writing starts failing, when it works
	// again, when records are first dropped and when a reopen fails: one
	// line each, never one per record.
	Logf func(format string, args ...any)
}

// Stats are the output's counters.
type Stats struct {
	Records     uint64 // records given to Write
	Written     uint64 // records written whole
	WriteErrors uint64 // failed writes (each retry of a kept record counts)
	Dropped     uint64 // records dropped: the buffer was full
	Pending     int    // records kept, not written yet
	Reopens     uint64 // successful reopens
	ReopenFails uint64 // failed reopens: records kept going to the old file
}

// Lost is the number of records that will never be written: those dropped
// and those still pending.
func (s Stats) Lost() uint64 { return s.Dropped + uint64(s.Pending) }

// String is the counters in one line for people.
func (s Stats) String() string {
	return fmt.Sprintf("records %d, written %d, write errors %d, dropped %d, pending %d, reopened %d (failed %d)",
		s.Records, s.Written, s.WriteErrors, s.Dropped, s.Pending, s.Reopens, s.ReopenFails)
}

// File is the output. Its methods are safe for concurrent use (the sensor
// writes, a signal handler reopens, a metrics scrape reads Stats).
type File struct {
	opts Options
	path string // "" for a writer that cannot be reopened (stdout)

	mu       sync.Mutex
	w        io.Writer
	f        *os.File // w, when it is a file this package opened
	pending  [][]byte // kept records, whole, oldest first
	done     int      // bytes of pending[0] already in the file: a torn line
	buffered int      // bytes in pending
	failing  bool     // the last write failed
	retrying bool     // a retry is scheduled
	closed   bool
	stats    Stats
}

// Open opens path for appending (creating it), takes its lock and returns
// the output. It fails, with an error wrapping lock.ErrHeld, when another
// process holds the file's lock.
func Open(path string, opts Options) (*File, error) {
	f, err := openLocked(path)
	if err != nil {
		return nil, err
	}
	o := newFile(f, opts)
	o.path, o.f = path, f
	return o, nil
}

// New writes to w, a stream this package does not own (stdout): it keeps
// and retries records as a file does, cannot be reopened, and Close does
// not close w.
func New(w io.Writer, opts Options) *File { return newFile(w, opts) }

func newFile(w io.Writer, opts Options) *File {
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = DefaultRetryEvery
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	return &File{opts: opts, w: w}
}

func openLocked(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lock.File(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Write takes one whole record. It never fails: a record that cannot be
// written now is kept (or dropped, when the buffer is full) and counted.
func (o *File) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stats.Records++
	if o.closed {
		o.drop()
		return len(p), nil
	}
	o.flushLocked()
	if len(o.pending) == 0 {
		n, err := o.w.Write(p)
		if err == nil {
			o.wrote()
			return len(p), nil
		}
		o.failed(err)
		if n > 0 { // the file holds the start of it: the rest must follow
			o.keep(p)
			o.done = n
			return len(p), nil
		}
	}
	if o.buffered+len(p) > o.opts.Buffer {
		o.drop()
		return len(p), nil
	}
	o.keep(p)
	return len(p), nil
}

// keep appends a copy of p (the caller reuses its buffer) to pending and
// makes sure a retry will come.
func (o *File) keep(p []byte) {
	o.pending = append(o.pending, append([]byte(nil), p...))
	o.buffered += len(p)
	o.stats.Pending = len(o.pending)
	if !o.retrying {
		o.retrying = true
		time.AfterFunc(o.opts.RetryEvery, o.retry)
	}
}

func (o *File) drop() {
	if o.stats.Dropped == 0 {
		o.opts.Logf("output buffer full (%d bytes): dropping records until writing works again", o.opts.Buffer)
	}
	o.stats.Dropped++
}

func (o *File) wrote() {
	o.stats.Written++
	if o.failing {
		o.failing = false
		o.opts.Logf("writing %s works again", o.name())
	}
}

func (o *File) failed(err error) {
	o.stats.WriteErrors++
	if !o.failing {
		o.failing = true
		o.opts.Logf("%v; keeping records (up to %d bytes) and retrying every %v", err, o.opts.Buffer, o.opts.RetryEvery)
	}
}

func (o *File) name() string {
	if o.path == "" {
		return "the output"
	}
	return o.path
}

// flushLocked writes pending records, oldest first, until one fails.
func (o *File) flushLocked() {
	for len(o.pending) > 0 {
		p := o.pending[0]
		n, err := o.w.Write(p[o.done:])
		if err != nil {
			o.failed(err)
			o.done += n
			return
		}
		o.buffered -= len(p)
		o.pending[0] = nil
		o.pending = o.pending[1:]
		o.done = 0
		o.stats.Pending = len(o.pending)
		o.wrote()
	}
}

// retry runs on a timer while records are pending.
func (o *File) retry() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retrying = false
	if o.closed {
		return
	}
	o.flushLocked()
	if len(o.pending) > 0 {
		o.retrying = true
		time.AfterFunc(o.opts.RetryEvery, o.retry)
	}
}

// Reopen opens the path again and writes to the new file from now on, for
// log rotation: the old file is closed (and its lock released) once the new
// one is open and locked. Kept records go to the new file. When the path cannot be opened, records keep
// going to the old file and the error is returned. A File made with New has nothing to reopen: Reopen does
// nothing.
func (o *File) Reopen() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.path == "" || o.closed {
		return nil
	}
	if o.f != nil {
		// A HUP with no rotation (a rules reload, or logrotate's
		// copytruncate): the path is still our file, which we hold
		// locked; opening it again would trip over our own lock.
		cur, err1 := o.f.Stat()
		named, err2 := os.Stat(o.path)
		if err1 == nil && err2 == nil && os.SameFile(cur, named) {
			return nil
		}
	}
	f, err := openLocked(o.path)
	if err != nil {
		o.stats.ReopenFails++
		err = fmt.Errorf("reopen %s (records keep going to the old file): %w", o.path, err)
		o.opts.Logf("%v", err)
		return err
	}
	o.flushLocked() // a torn line is finished where it began, if it can be
	var untearErr error
	if o.done > 0 {
		untearErr = o.untear() // or cut, and written whole to the new file
	}
	old := o.f
	o.f, o.w = f, f
	o.stats.Reopens++
	o.flushLocked()
	return errors.Join(untearErr, old.Close())
}

// Stats returns the counters.
func (o *File) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

// ErrLost is wrapped by Close's error when records were lost.
var ErrLost = errors.New("records lost")

// Close tries the kept records a last time, closes the file (not a
// writer given to New), and fails, wrapping ErrLost, when any record was
// lost: dropped, or still unwritten.
func (o *File) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.flushLocked()
	o.closed = true
	var err error
	if o.done > 0 && o.f != nil {
		err = o.untear()
	}
	if o.f != nil {
		if cerr := o.f.Close(); err == nil {
			err = cerr
		}
	}
	if lost := o.stats.Lost(); lost > 0 {
		err = errors.Join(fmt.Errorf("%d of %d records not written to %s (%d dropped when the buffer was full, %d still unwritten at exit): %w",
			lost, o.stats.Records, o.name(), o.stats.Dropped, o.stats.Pending, ErrLost), err)
	}
	return err
}

// untear cuts the start of a record written in part (pending[0]) from the
// end of the file, so that the file ends with a whole line; the record
// stays pending, whole. Cutting frees space, so it works on a full disk.
func (o *File) untear() error {
	fi, err := o.f.Stat()
	if err != nil {
		return fmt.Errorf("cut a torn record from %s: %w", o.path, err)
	}
	if err := o.f.Truncate(fi.Size() - int64(o.done)); err != nil {
		return fmt.Errorf("cut a torn record from %s: %w", o.path, err)
	}
	o.done = 0
	return nil
}
