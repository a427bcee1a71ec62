package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/internal/buildinfo"
	"github.com/scanwatch/scanwatch/lock"
	"github.com/scanwatch/scanwatch/metrics"
	"github.com/scanwatch/scanwatch/outfile"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/sensor"
)

// cmdLive runs the sensor on a network interface until SIGINT/SIGTERM, then
// closes every open episode with its summary and exits 0 (1 when a record
// could not be written: on a full disk records are kept, in a bounded
// buffer, until space returns). SIGHUP reopens --out (log rotation) and
// reloads the rules file (kernel patterns included) without losing any
// state; a bad file is reported and the old rules stay. Once it captures
// it tells systemd (READY=1 to $NOTIFY_SOCKET, for Type=notify units and
// tests). --metrics serves Prometheus metrics.
func cmdLive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("live", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iface := fs.String("i", "any", "interface to capture on, or any")
	rulesPath := fs.String("rules", "", "rules file (default: the embedded rules)")
	outPath := fs.String("out", "", "append JSON lines to this file instead of stdout")
	mode := fs.String("capture", capture.ModeEBPF, "kernel filter: ebpf, or cbpf for kernels without eBPF")
	promisc := fs.Bool("promisc", false, "promiscuous mode (a mirror/SPAN port)")
	name := fs.String("sensor", hostname(), "sensor name, the \"host\" of every record")
	ff := addFleetFlags(fs, name)
	statsEvery := fs.Duration("stats-every", sensor.DefaultStatsEvery, "interval of stats records (and of the metrics' counters)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. :9477)")
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
	r, err := loadRulesContext(ctx, *rulesPath)
	if err != nil {
		return err
	}
	// One sensor per interface and per output file, or every alert is
	// doubled: a second one is refused before it attaches anything.
	ifLock, err := lock.LockInterface(*iface)
	if err != nil {
		return err
	}
	defer ifLock.Close()
	out, err := liveOutput(*outPath, stdout, stderr)
	if err != nil {
		return err
	}
	defer out.Close()
	src, err := sensor.OpenLive(*iface, r, capture.LiveOptions{Mode: *mode, Promisc: *promisc,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "scanwatch live: "+format+"\n", a...) }})
	if err != nil {
		if errors.Is(err, bpf.ErrNoEBPF) {
			return fmt.Errorf("%w (try --capture cbpf)", err)
		}
		return err
	}
	defer src.Close()

	contacts, stopFleet, err := ff.start("live", stderr)
	if err != nil {
		return err
	}
	defer stopFleet()
	// Live output is unbuffered: each record is one write, seen at once.
	w := eve.NewWriter(out, eve.Options{Host: *name, InIface: *iface})
	s := sensor.New(sensor.Options{Rules: r, Sink: sensor.EVE{W: w}, StatsEvery: *statsEvery, Contacts: contacts, Ready: func() {
		fmt.Fprintf(stderr, "scanwatch live: capturing on %s (%s filter)\n", *iface, *mode)
		if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
			fmt.Fprintf(stderr, "scanwatch live: telling systemd we are ready: %v\n", err)
		}
	}})
	if *metricsAddr != "" {
		srv, err := metrics.Serve(*metricsAddr, metrics.Sources{Counters: s.LastCounters, Reloads: s.Reloads,
			Output: out.Stats, Build: buildinfo.Read()}, log.New(stderr, "scanwatch live: metrics: ", 0))
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	// The reloader outlives Live only until the process exits; a SIGHUP
	// after Live returned is answered with sensor.ErrStopped.
	go func() {
		for range hup {
			if *outPath != "" && out.Reopen() == nil {
				fmt.Fprintf(stderr, "scanwatch live: reopened %s\n", *outPath)
			}
			if err := s.ReloadFrom(ctx, func() (*rules.Rules, error) { return loadRules(*rulesPath) }); err != nil {
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
	closeErr := out.Close() // a last try for records kept on a full disk
	s.WriteSummary(stderr)
	fmt.Fprintln(stderr, "counters:", s.LastCounters())
	fmt.Fprintln(stderr, "output:", out.Stats())
	warnings(stderr, s)
	return errors.Join(err, closeErr)
}

// liveOutput is live's output: the --out file, reopened on SIGHUP, or
// stdout. Records it cannot write are kept and retried; its trouble is
// said on stderr, and a record lost fails the run (Close).
func liveOutput(path string, stdout, stderr io.Writer) (*outfile.File, error) {
	opts := outfile.Options{Logf: func(format string, a ...any) {
		fmt.Fprintf(stderr, "scanwatch live: "+format+"\n", a...)
	}}
	if path == "" {
		return outfile.New(stdout, opts), nil
	}
	return outfile.Open(path, opts)
}
