package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/fleet"
)

// cmdCorrelate runs the fleet's correlator until SIGINT/SIGTERM. With
// --listen it embeds a NATS server with JetStream in --store (one machine,
// nothing else to install); with --nats it joins existing servers, where
// several correlators split the partitions.
func cmdCorrelate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("correlate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "embed a NATS server listening on `ADDR` (host:port)")
	store := fs.String("store", "", "the embedded server's JetStream `DIR`")
	serverConf := fs.String("server-config", "", "nats-server config `FILE` for the embedded server (users, permissions, TLS, cluster)")
	url := fs.String("nats", "", "NATS server `URL`s to join (with --listen: how to reach the embedded one, e.g. with credentials)")
	rulesPath := fs.String("rules", "", "rules file (default: the embedded rules)")
	outPath := fs.String("out", "", "append JSON lines to this file instead of stdout")
	id := fs.String("id", "", "this correlator's name, unique among those sharing the cluster")
	lateness := fs.Duration("lateness", 5*time.Second, "how long contacts wait for slower sensors")
	replicas := fs.Int("replicas", 1, "servers that keep each contact (3 in a cluster)")
	conn := connFlags(fs, "")
	if rest, err := parseInterleaved(fs, args); err != nil {
		return usageError{err}
	} else if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *listen == "" && *url == "" || (*listen == "") != (*store == "") {
		return usagef("correlate needs --listen ADDR --store DIR, or --nats URL")
	}
	r, err := loadRules(*rulesPath)
	if err != nil {
		return err
	}
	if *listen != "" {
		srv, err := fleet.Serve(ctx, *listen, *store, fleet.ServeOptions{ConfigFile: *serverConf})
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		fmt.Fprintf(stderr, "scanwatch correlate: NATS server with JetStream on %s, store %s\n", srv.Addr(), *store)
		if *url == "" {
			*url = srv.URL()
		}
		if *id == "" {
			*id = fleet.HostID() // one correlator per store: a restart takes its partitions back at once
		}
	}
	out := stdout
	if *outPath != "" {
		f, err := os.OpenFile(*outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	c, err := fleet.NewCorrelator(ctx, fleet.CorrelatorConfig{
		URL: *url, Conn: *conn, ID: *id, Lateness: *lateness, Engine: fleet.DetectorEngine(r, hostname()),
		Stream: fleet.StreamConfig{Replicas: *replicas},
		Sink:   func(o fleet.Output) error { _, err := out.Write(o.Record); return err },
		Logf:   func(format string, a ...any) { fmt.Fprintf(stderr, "scanwatch correlate: "+format+"\n", a...) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "scanwatch correlate: %s consuming %s\n", c.ID(), fleet.Redact(*url))
	err = c.Run(ctx)
	fmt.Fprintf(stderr, "scanwatch correlate: %v\n", c.Stats())
	return err
}

// connFlags are the access options of a connection to the fleet.
func connFlags(fs *flag.FlagSet, prefix string) *fleet.ConnOptions {
	o := &fleet.ConnOptions{}
	fs.StringVar(&o.CredsFile, prefix+"creds", "", "NATS credentials `FILE` (JWT and nkey seed); user:password can ride in the URL")
	fs.StringVar(&o.NKeyFile, prefix+"nkey", "", "NATS nkey seed `FILE`")
	fs.StringVar(&o.CAFile, prefix+"ca", "", "CA `FILE` that signed the NATS servers' TLS certificates")
	return o
}

// fleetFlags are live's and replay's --fleet options.
type fleetFlags struct {
	url, sensor *string
	conn        *fleet.ConnOptions
}

// addFleetFlags adds --fleet and its access options; the sensor's name
// (--sensor) is its name in the fleet too.
func addFleetFlags(fs *flag.FlagSet, sensor *string) *fleetFlags {
	return &fleetFlags{
		url:    fs.String("fleet", "", "also publish contacts to the fleet's NATS servers at `URL`"),
		sensor: sensor,
		conn:   connFlags(fs, "fleet-"),
	}
}

// start connects the publisher (in the background: a fleet that is away
// never holds the sensor up). It returns the pipeline's contact hook and
// a function that sends what is buffered and reports the counts.
func (f *fleetFlags) start(cmd string, stderr io.Writer) (func(detector.Contact), func(), error) {
	if *f.url == "" {
		return nil, func() {}, nil
	}
	p, err := fleet.NewPublisher(fleet.PublisherConfig{URL: *f.url, Sensor: *f.sensor, Conn: *f.conn,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "scanwatch "+cmd+": "+format+"\n", a...) }})
	if err != nil {
		return nil, nil, usageError{err}
	}
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := p.Close(ctx)
		st := p.Stats()
		fmt.Fprintf(stderr, "scanwatch %s: fleet: %d contacts published as %s, %d dropped\n", cmd, st.Published, *f.sensor, st.Dropped)
		if err != nil {
			fmt.Fprintf(stderr, "scanwatch %s: fleet: %v\n", cmd, err)
		}
	}
	return p.AddDetector, stop, nil
}
