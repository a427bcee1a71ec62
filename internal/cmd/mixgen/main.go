// Command mixgen writes the deterministic benchmark captures of package
// internal/mixgen (benign traffic mixes with one nmap-like SYN scan in
// them, and a spoofed-source SYN flood), as pcap or pcapng:
//
//	go run ./internal/cmd/mixgen -o bench.pcap -n 2000000 [-mix short] [-format pcapng]
//
// The same flags give the same bytes on every run.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/scanwatch/scanwatch/internal/mixgen"
)

func main() {
	var o mixgen.Options
	var out string
	flag.StringVar(&out, "o", "", "output pcap file (required)")
	flag.IntVar(&o.Packets, "n", 2_000_000, "number of packets")
	flag.Uint64Var(&o.Seed, "seed", 1, "random seed")
	flag.IntVar(&o.Snaplen, "snaplen", 128, "bytes stored per packet (the wire length is kept)")
	flag.StringVar((*string)(&o.Mix), "mix", string(mixgen.MixDefault), "traffic mix: default, short, syn, v6vlan or spoof")
	flag.StringVar((*string)(&o.Format), "format", string(mixgen.FormatPcap), "file format: pcap or pcapng")
	flag.Parse()
	if out == "" || flag.NArg() != 0 || o.Packets <= 0 || o.Snaplen < 64 || o.Snaplen > 65535 {
		fmt.Fprintln(os.Stderr, "usage: mixgen -o FILE [-n PACKETS] [-seed N] [-snaplen BYTES (64-65535)] [-mix MIX] [-format pcap|pcapng]")
		os.Exit(2)
	}
	if err := run(out, o); err != nil {
		fmt.Fprintln(os.Stderr, "mixgen:", err)
		os.Exit(1)
	}
}

func run(path string, o mixgen.Options) error {
	start := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	sum, err := mixgen.Generate(w, o)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mixgen: %s (%s, %s): %d packets, %.1f s of traffic, %d MB, scan of %d ports from %s at +%.2f s for %.2f s; took %.2f s\n",
		path, o.Mix, o.Format, sum.Packets, sum.Duration.Seconds(), fi.Size()>>20, sum.ScanPorts, sum.Scanner,
		sum.ScanStart.Seconds(), sum.ScanDuration.Seconds(), time.Since(start).Seconds())
	return nil
}
