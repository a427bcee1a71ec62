package selftest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

type sensor struct {
	proc   *proc
	errBuf *syncBuffer
}

func (s *sensor) stderr() string { return s.errBuf.String() }

// startSensor runs `scanwatch live` on the target's veth and waits until it
// captures.
func (st *session) startSensor(ctx context.Context) (*sensor, error) {
	cmd := nsExec(st.tgtNS, st.exe, "live", "-i", st.tgtVeth, "--capture", st.mode, "--out", st.sensorOut)
	s := &sensor{errBuf: &syncBuffer{}}
	cmd.Stderr = s.errBuf
	var err error
	if s.proc, err = st.start(cmd); err != nil {
		return nil, err
	}
	deadline := time.After(stepTimeout)
	for !strings.Contains(s.errBuf.String(), "capturing on") {
		select {
		case <-s.proc.done:
			return nil, fmt.Errorf("sensor exited (%v):\n%s", s.proc.err, s.stderr())
		case <-deadline:
			return nil, fmt.Errorf("sensor not capturing after %v:\n%s", stepTimeout, s.stderr())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	st.logf("sensor: %s", strings.TrimSpace(strings.TrimPrefix(firstLine(s.stderr(), "capturing on"), "scanwatch live: ")))
	return s, nil
}

// stop sends SIGINT, as a user would, and waits for the sensor to write its
// summaries and exit.
func (s *sensor) stop() error {
	if err := s.proc.cmd.Process.Signal(os.Interrupt); err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	select {
	case <-s.proc.done:
		if s.proc.err != nil {
			return fmt.Errorf("exited with %w", s.proc.err)
		}
		return nil
	case <-time.After(sensorStopTimeout):
		s.proc.kill()
		return fmt.Errorf("did not stop within %v of SIGINT", sensorStopTimeout)
	}
}
