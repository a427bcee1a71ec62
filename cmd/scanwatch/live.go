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

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/sensor"
)

// cmdLive runs the sensor on a network interface until SIGINT/SIGTERM, then
// closes every open episode with its summary and exits 0. SIGHUP reloads
// the rules file (kernel patterns included) without losing any state; a
// bad file is reported and the old rules stay. Once it captures it tells
// systemd (READY=1 to $NOTIFY_SOCKET, for Type=notify units and tests).
func cmdLive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("live", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iface := fs.String("i", "any", "interface to capture on, or any")
	rulesPath := fs.String("rules", "", "rules file (default: the embedded rules)")
	outPath := fs.String("out", "", "append JSON lines to this file instead of stdout")
	mode := fs.String("capture", capture.ModeEBPF, "kernel filter: ebpf, or cbpf for kernels without eBPF")
	promisc := fs.Bool("promisc", false, "promiscuous mode (a mirror/SPAN port)")
	name := fs.String("sensor", hostname(), "sensor name, the \"host\" of every record")
	sandboxed := addSandboxFlags(fs)
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
	src, err := sensor.OpenLive(*iface, r, capture.LiveOptions{Mode: *mode, Promisc: *promisc,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "scanwatch live: "+format+"\n", a...) }})
	if err != nil {
		if errors.Is(err, bpf.ErrNoEBPF) {
			return fmt.Errorf("%w (try --capture cbpf)", err)
		}
		return err
	}
	defer src.Close()
	out := stdout
	if *outPath != "" {
		f, err := os.OpenFile(*outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}

	// Live output is unbuffered: each record is one write, seen at once.
	w := eve.NewWriter(out, eve.Options{Host: *name, InIface: *iface})
	s := sensor.New(sensor.Options{Rules: r, Sink: sensor.EVE{W: w}, Ready: func() {
		fmt.Fprintf(stderr, "scanwatch live: capturing on %s (%s filter)\n", *iface, *mode)
		if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
			fmt.Fprintf(stderr, "scanwatch live: telling systemd we are ready: %v\n", err)
		}
	}})
	// The reloader outlives Live only until the process exits; a SIGHUP
	// after Live returned is answered with sensor.ErrStopped.
	go func() {
		for range hup {
			r, err := loadRules(*rulesPath)
			if err == nil {
				err = s.Reload(ctx, r)
			}
			if err != nil {
				fmt.Fprintf(stderr, "scanwatch live: rules not reloaded, the old ones stay: %v\n", err)
			} else {
				fmt.Fprintln(stderr, "scanwatch live: rules reloaded")
			}
		}
	}()
	// Set up: from here on it runs with the least it needs.
	if err := enterSandbox(sandboxed, src.Exercise, stderr); err != nil {
		return err
	}
	err = s.Live(ctx, src)
	s.WriteSummary(stderr)
	fmt.Fprintln(stderr, "counters:", s.LastCounters())
	warnings(stderr, s)
	return err
}
