// Package outfile is the sensor's output: JSON lines appended to a file
// (or written to stdout). Reopen opens the path anew, for log rotation:
// after `mv eve.json eve.json.1` and SIGHUP, records go to a new eve.json.
//
// Each Write must be one whole record (eve.Writer writes one per call).
package outfile

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// Options tune a File. The zero value is the defaults.
type Options struct {
	// Logf, if set, is told when a reopen fails.
	Logf func(format string, args ...any)
}

// Stats are the output's counters.
type Stats struct {
	Records     uint64 // records given to Write
	Written     uint64 // records written whole
	WriteErrors uint64 // failed writes
	Reopens     uint64 // successful reopens
	ReopenFails uint64 // failed reopens: records kept going to the old file
}

// String is the counters in one line for people.
func (s Stats) String() string {
	return fmt.Sprintf("records %d, written %d, write errors %d, reopened %d (failed %d)",
		s.Records, s.Written, s.WriteErrors, s.Reopens, s.ReopenFails)
}

// File is the output. Its methods are safe for concurrent use (the sensor
// writes, a signal handler reopens, a metrics scrape reads Stats).
type File struct {
	opts Options
	path string // "" for a writer that cannot be reopened (stdout)

	mu     sync.Mutex
	w      io.Writer
	f      *os.File // w, when it is a file this package opened
	closed bool
	stats  Stats
}

// Open opens path for appending (creating it) and returns the output.
func Open(path string, opts Options) (*File, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	o := newFile(f, opts)
	o.path, o.f = path, f
	return o, nil
}

// New writes to w, a stream this package does not own (stdout): it cannot
// be reopened, and Close does not close w.
func New(w io.Writer, opts Options) *File { return newFile(w, opts) }

func newFile(w io.Writer, opts Options) *File {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	return &File{opts: opts, w: w}
}

func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// Write takes one whole record.
func (o *File) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stats.Records++
	n, err := o.w.Write(p)
	if err != nil {
		o.stats.WriteErrors++
		return n, err
	}
	o.stats.Written++
	return n, nil
}

// Reopen opens the path again and writes to the new file from now on, for
// log rotation: the old file is closed once the new one is open. When the
// path cannot be opened, records keep going to the old file and the error
// is returned. A File made with New has nothing to reopen: Reopen does
// nothing.
func (o *File) Reopen() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.path == "" || o.closed {
		return nil
	}
	f, err := openAppend(o.path)
	if err != nil {
		o.stats.ReopenFails++
		err = fmt.Errorf("reopen %s (records keep going to the old file): %w", o.path, err)
		o.opts.Logf("%v", err)
		return err
	}
	old := o.f
	o.f, o.w = f, f
	o.stats.Reopens++
	return old.Close()
}

// Stats returns the counters.
func (o *File) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

// Close closes the file (not a writer given to New).
func (o *File) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.f == nil {
		o.closed = true
		return nil
	}
	o.closed = true
	return o.f.Close()
}
