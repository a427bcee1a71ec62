package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scanwatch/scanwatch/scanner"
)

const scanUsage = `usage: scanwatch scan [-sS|-sT|-sF|-sN|-sX|-sA|-sW|-sM|-sU] [--scanflags FLAGS]
                     [-p PORTS] [--rate PPS] [--max-retries N] [--json] TARGET...

  TARGET     address, CIDR block (10.0.0.0/24) or range (10.0.0.1-20); IPv4 or IPv6
  -p PORTS   22,80,1000-2000 | -p- (all) | T:22,U:53   (default 1-1024)
  technique  default -sS as root, -sT otherwise; --scanflags alone means -sS replies
`

// scanArgs is the parsed command line of "scanwatch scan".
type scanArgs struct {
	cfg  scanner.Config
	json bool
}

// cmdScan runs the active scanner: an nmap-like table (or --json) on stdout.
func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sa, err := parseScanArgs(args, stderr)
	if err != nil {
		return err
	}
	cfg := sa.cfg
	fmt.Fprintf(stderr, "scanwatch: %s scan (%s) of %d port(s) on %d host(s) at %d probes/s\n",
		cfg.Technique, cfg.Technique.Option(), len(cfg.Ports), len(cfg.Targets), cfg.Rate)
	res, runErr := scanner.Run(ctx, cfg)
	if res != nil {
		if sa.json {
			if err := json.NewEncoder(stdout).Encode(res); err != nil {
				return fmt.Errorf("write result: %w", err)
			}
		} else if err := res.WriteTable(stdout); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	}
	return runErr
}

// parseScanArgs parses nmap-style arguments. A pre-pass takes what the flag
// package cannot: -sS and friends, -p- and -p80, and flags after targets.
func parseScanArgs(args []string, stderr io.Writer) (*scanArgs, error) {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		ports       = fs.String("p", "", "ports")
		scanflags   = fs.String("scanflags", "", "TCP flags: URGACKPSHRSTSYNFIN names or a number")
		rate        = fs.Int("rate", scanner.DefaultRate, "probes per second")
		maxRetries  = fs.Int("max-retries", scanner.DefaultMaxRetries, "retransmissions per probe")
		timeout     = fs.Duration("max-rtt-timeout", scanner.DefaultTimeout, "longest wait for a reply to one probe")
		scanTimeout = fs.Duration("host-timeout", 0, "give up the scan after this long (0: never)")
		jsonOut     = fs.Bool("json", false, "JSON result on stdout instead of the table")
		only6       = fs.Bool("6", false, "IPv6 targets only")
		iface       = fs.String("e", "", "read replies from this interface only")
		sport       = fs.Uint("g", 0, "fixed source port (0: random)")
		_           = fs.Bool("Pn", true, "accepted for nmap compatibility: hosts are never pinged")
		_           = fs.Bool("n", true, "accepted for nmap compatibility: no reverse DNS")
	)
	fs.DurationVar(timeout, "timeout", scanner.DefaultTimeout, "alias of --max-rtt-timeout")
	fs.StringVar(iface, "interface", "", "alias of -e")
	fs.UintVar(sport, "source-port", 0, "alias of -g")

	var techniques []scanner.Technique
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "-s") && len(a) == 3:
			t, ok := scanner.TechniqueFromOption(a)
			if !ok {
				return nil, usagef("unknown scan technique %s (want -sS -sT -sF -sN -sX -sA -sW -sM -sU)", a)
			}
			techniques = append(techniques, t)
		case a == "-p-":
			rest = append(rest, "-p", "-")
		case strings.HasPrefix(a, "-p") && len(a) > 2 && !strings.HasPrefix(a, "-p="):
			rest = append(rest, "-p", a[2:])
		case a == "-h" || a == "--help" || a == "-help":
			fmt.Fprint(stderr, scanUsage)
			return nil, flag.ErrHelp
		default:
			rest = append(rest, a)
		}
	}
	var targetSpecs []string
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, usagef("%v\n%s", err, scanUsage)
		}
		if fs.NArg() == 0 {
			break
		}
		targetSpecs = append(targetSpecs, fs.Arg(0))
		rest = fs.Args()[1:]
	}

	sa := &scanArgs{json: *jsonOut}
	cfg := &sa.cfg
	if len(techniques) > 1 {
		return nil, usagef("one scan technique at a time (got %d)", len(techniques))
	}
	if len(techniques) == 1 {
		cfg.Technique = techniques[0]
	} else if *scanflags != "" || os.Geteuid() == 0 {
		cfg.Technique = scanner.SYN
	} else {
		cfg.Technique = scanner.Connect
	}
	if *scanflags != "" {
		if cfg.Technique == scanner.Connect || cfg.Technique == scanner.UDP {
			return nil, usagef("--scanflags needs a raw TCP technique, not %s", cfg.Technique.Option())
		}
		f, err := scanner.ParseScanFlags(*scanflags)
		if err != nil {
			return nil, usagef("%v", err)
		}
		cfg.ScanFlags, cfg.CustomFlags = f, true
	}
	if len(targetSpecs) == 0 {
		return nil, usagef("no target given (there is no default target)\n%s", scanUsage)
	}
	spec := *ports
	if spec == "" {
		spec = "1-1024"
	}
	var err error
	if cfg.Ports, err = scanner.ParsePortsFor(spec, cfg.Technique.Proto()); err != nil {
		return nil, usagef("-p: %v", err)
	}
	if cfg.Targets, err = scanner.ParseTargets(targetSpecs); err != nil {
		return nil, usagef("%v", err)
	}
	if *only6 {
		for _, t := range cfg.Targets {
			if t.Is4() {
				return nil, usagef("-6 given but target %s is IPv4", t)
			}
		}
	}
	if *rate <= 0 {
		return nil, usagef("--rate must be positive")
	}
	if *maxRetries < 0 {
		return nil, usagef("--max-retries must be 0 or more")
	}
	if *timeout <= 0 {
		return nil, usagef("--max-rtt-timeout must be positive")
	}
	if *scanTimeout < 0 {
		return nil, usagef("--host-timeout must not be negative")
	}
	if *sport > 65535 {
		return nil, usagef("-g: source port %d out of range", *sport)
	}
	cfg.Rate, cfg.MaxRetries, cfg.Timeout, cfg.ScanTimeout = *rate, *maxRetries, *timeout, *scanTimeout
	cfg.Interface, cfg.SourcePort = *iface, uint16(*sport)
	return sa, nil
}
