package selftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/sensor"
)

// liveSensor is the pipeline of `scanwatch live` on the target's veth,
// running in this process and writing its JSON lines to the session's
// sensor output file.
type liveSensor struct {
	s      *sensor.Sensor
	src    sensor.LiveSource
	out    *os.File
	cancel context.CancelFunc
	done   chan struct{} // closed when Live has returned
	err    error         // Live's, once done is closed
	closed sync.Once
}

// startSensor opens the capture in the target's namespace with the
// self-test's rules (the defaults and one override: rules.go), as
// `scanwatch live -i VETH --rules FILE` would, starts the sensor, and waits
// until it captures.
func (st *session) startSensor(ctx context.Context) (*liveSensor, error) {
	out, err := os.Create(st.sensorOut)
	if err != nil {
		return nil, err
	}
	r, err := selftestRules()
	if err != nil {
		out.Close()
		return nil, err
	}
	tgt := st.pair.B
	var src sensor.LiveSource
	err = st.pair.Do(tgt.NS, func() (err error) {
		src, err = sensor.OpenLive(tgt.Veth, r, capture.LiveOptions{Mode: st.mode})
		return err
	})
	if err != nil {
		out.Close()
		if errors.Is(err, bpf.ErrNoEBPF) {
			return nil, fmt.Errorf("%w (try --capture cbpf)", err)
		}
		return nil, err
	}
	ready := make(chan struct{})
	ls := &liveSensor{src: src, out: out, done: make(chan struct{})}
	// Live output is unbuffered: each record is one write, read by
	// allAlerted while the sensor runs.
	ls.s = sensor.New(sensor.Options{Rules: r, Sink: sensor.EVE{W: eve.NewWriter(out, eve.Options{InIface: tgt.Veth})}, Ready: func() { close(ready) }})
	var sctx context.Context
	sctx, ls.cancel = context.WithCancel(context.Background()) // ended by stop or cleanup
	go func() {
		ls.err = ls.s.Live(sctx, src)
		close(ls.done)
	}()
	st.mu.Lock()
	if st.closed { // cleanup ran meanwhile: it did not see this sensor
		st.mu.Unlock()
		ls.close()
		return nil, context.Canceled
	}
	st.sensor = ls
	st.mu.Unlock()
	select {
	case <-ready:
	case <-ls.done:
		return nil, fmt.Errorf("sensor ended before it captured: %v", ls.err)
	case <-time.After(stepTimeout):
		return nil, fmt.Errorf("sensor not capturing after %v", stepTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	st.logf("sensor: capturing on %s (%s filter); rules: the defaults, detect.syn.window %v", tgt.Veth, st.mode, synWindow)
	return ls, nil
}

// stop ends the sensor as SIGINT ends `scanwatch live`: it drains what the
// kernel passed, closes every open episode with its scan record and writes
// its last stats record.
func (ls *liveSensor) stop() error {
	ls.cancel()
	select {
	case <-ls.done:
	case <-time.After(sensorStopTimeout):
		ls.close()
		return fmt.Errorf("did not stop within %v", sensorStopTimeout)
	}
	ls.close()
	return ls.err
}

// close stops the sensor if it runs, waiting a little, and closes its
// capture and output (a Live still reading sees the capture end). Safe to
// call more than once.
func (ls *liveSensor) close() {
	ls.closed.Do(func() {
		ls.cancel()
		select {
		case <-ls.done:
		case <-time.After(3 * time.Second):
		}
		ls.src.Close()
		ls.out.Close()
	})
}

// summary is what `scanwatch live` prints on stderr at exit: the scans
// table and any warnings. Only after stop.
func (ls *liveSensor) summary() string {
	var b bytes.Buffer
	ls.s.WriteSummary(&b)
	for _, w := range ls.s.Warnings() {
		fmt.Fprintln(&b, "warning:", w)
	}
	return b.String()
}
