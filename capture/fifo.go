package capture

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Reading a FIFO (or a device) must never outlive the command's context:
// a FIFO with no writer blocks open(2) forever, and a writer that stalls
// blocks read(2). open(2) with O_NONBLOCK returns at once; the descriptor
// then lives in Go's poller, where a read deadline (set when ctx ends)
// wakes any wait.

// openCancelable opens path for reading without waiting for a FIFO's
// writer. (O_NONBLOCK means nothing to a regular file.)
func openCancelable(ctx context.Context, path string) (*os.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// cancelReader reads a non-regular file until ctx ends. A FIFO's reads wait
// for a writer first: without one, a non-blocking read says end of file.
type cancelReader struct {
	f     *os.File
	ctx   context.Context
	fifo  bool // still waiting for a FIFO's writer
	unreg func() bool
}

func newCancelReader(ctx context.Context, f *os.File, fifo bool) *cancelReader {
	r := &cancelReader{f: f, ctx: ctx, fifo: fifo}
	// Any time in the past wakes every read and every wait.
	r.unreg = context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	return r
}

func (r *cancelReader) Read(b []byte) (int, error) {
	if r.fifo {
		if err := r.waitWriter(); err != nil {
			return 0, r.cause(err)
		}
		r.fifo = false
	}
	n, err := r.f.Read(b)
	if err != nil && err != io.EOF {
		err = r.cause(err)
	}
	return n, err
}

// waitWriter waits in the poller until the FIFO has data, or a writer came
// and went (POLLHUP, which Linux reports only once a writer was seen).
func (r *cancelReader) waitWriter() error {
	rc, err := r.f.SyscallConn()
	if err != nil {
		return err
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		switch {
		case err == unix.EINTR:
			return false
		case err != nil:
			perr = err
			return true
		}
		return n > 0
	})
	if err != nil {
		return err
	}
	return perr
}

// cause is ctx's error for a read that its end interrupted.
func (r *cancelReader) cause(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) && r.ctx.Err() != nil {
		return r.ctx.Err()
	}
	return err
}

func (r *cancelReader) Close() error {
	r.unreg()
	return r.f.Close()
}
