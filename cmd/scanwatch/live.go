package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// statsEvery is how often live writes an EVE stats record.
const statsEvery = 60 * time.Second

// cmdLive runs the sensor on a network interface until SIGINT/SIGTERM, then
// closes every open episode with its summary and exits 0. SIGHUP reloads
// the rules file (kernel patterns included) without losing any state; a
// bad file is reported and the old rules stay.
func cmdLive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("live", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iface := fs.String("i", "any", "interface to capture on, or any")
	rulesPath := fs.String("rules", "", "rules file (default: the embedded rules)")
	outPath := fs.String("out", "", "append JSON lines to this file instead of stdout")
	mode := fs.String("capture", capture.ModeEBPF, "kernel filter: ebpf, or cbpf for kernels without eBPF")
	promisc := fs.Bool("promisc", false, "promiscuous mode (a mirror/SPAN port)")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err}
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *mode != capture.ModeEBPF && *mode != capture.ModeCBPF {
		return usagef("--capture must be ebpf or cbpf, not %q", *mode)
	}
	// SIGHUP means reload; catch it before anyone can see us running.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	r, err := loadRules(*rulesPath)
	if err != nil {
		return err
	}
	src, err := capture.OpenLive(*iface, capture.LiveOptions{
		Mode: *mode, Patterns: patterns(r), FlowEntries: r.State.MaxFlows, Promisc: *promisc,
	})
	if err != nil {
		if errors.Is(err, bpf.ErrNoEBPF) {
			return fmt.Errorf("%w (try --capture cbpf)", err)
		}
		return err
	}
	out := stdout
	if *outPath != "" {
		f, err := os.OpenFile(*outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			src.Close()
			return err
		}
		defer f.Close()
		out = f
	}
	fmt.Fprintf(stderr, "scanwatch live: capturing on %s (%s filter)\n", *iface, *mode)

	// Live output is unbuffered: each record is one write, seen at once.
	p := newPipeline(r, out)
	reload := func() {
		nr, err := loadRules(*rulesPath)
		if err == nil {
			if ps, ok := src.(interface{ SetPatterns([]bpf.Pattern) error }); ok {
				err = ps.SetPatterns(patterns(nr))
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "scanwatch live: rules not reloaded, the old ones stay: %v\n", err)
			return
		}
		p.det.SetRules(nr)
		rules.ApplyMemoryLimit(nr)
		fmt.Fprintf(stderr, "scanwatch live: rules reloaded\n")
	}
	err = p.runLive(ctx, src, hup, reload)
	p.det.Flush()
	p.writeStats(time.Now(), src)
	src.Close()
	p.summary(stderr)
	p.warnings(stderr)
	return err
}

// runLive reads until ctx ends. Quiet periods still advance the detector's
// clock so that probes time out and idle episodes end.
func (p *pipeline) runLive(ctx context.Context, src capture.Source, hup <-chan os.Signal, reload func()) error {
	nextStats := time.Now().Add(statsEvery)
	for ctx.Err() == nil {
		select {
		case <-hup:
			reload()
		default:
		}
		pk, err := src.ReadPacket()
		switch {
		case errors.Is(err, capture.ErrTimeout):
			p.det.Advance(time.Now())
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		default:
			p.handle(pk)
		}
		if now := time.Now(); now.After(nextStats) {
			p.writeStats(now, src)
			nextStats = now.Add(statsEvery)
		}
	}
	// Drain what the kernel already passed, so nothing seen is lost.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		pk, err := src.ReadPacket()
		if err != nil {
			break
		}
		p.handle(pk)
	}
	return nil
}

// writeStats writes the counters of every stage, so that loss is never silent.
func (p *pipeline) writeStats(t time.Time, src capture.Source) {
	cs, ds, dec := src.Stats(), p.det.Stats(), p.dec.Stats()
	p.out.Stats(t, []eve.Field{
		{Name: "kernel_seen", Value: cs.KernelSeen},
		{Name: "kernel_passed", Value: cs.KernelPassed},
		{Name: "kernel_dropped", Value: cs.KernelDropped},
		{Name: "ring_lost", Value: cs.RingLost},
		{Name: "received", Value: cs.Received},
		{Name: "decoded", Value: dec.Decoded()},
		{Name: "decode_errors", Value: p.bad},
		{Name: "probes", Value: ds.Probes},
		{Name: "flows", Value: uint64(ds.Flows)},
		{Name: "flows_evicted", Value: ds.FlowsEvicted},
		{Name: "trackers", Value: uint64(ds.Trackers)},
		{Name: "trackers_evicted", Value: ds.TrackersEvicted},
		{Name: "alerts", Value: ds.Alerts},
	})
}

// patterns converts the rules' probe patterns for the kernel filter.
// Patterns that require the ACK bit (ack, maimon) describe segments that
// look like any established connection's: passing them by flags alone
// would pass all bulk traffic. The kernel delivers them as the first packet
// of a flow it has not seen, which is exactly when they can be probes.
func patterns(r *rules.Rules) []bpf.Pattern {
	var out []bpf.Pattern
	for _, f := range r.TCPFlags {
		if f.Mask&f.Value&tcpflags.ACK != 0 {
			continue
		}
		out = append(out, bpf.Pattern{Mask: f.Mask, Value: f.Value})
	}
	return out
}
