// Command gen writes a deterministic benchmark capture: benign traffic (TCP
// handshakes, bulk transfers, HTTP-like exchanges, FIN and RST closes, DNS,
// ICMP echo, a few connections refused by closed ports) with exactly one
// nmap-like SYN scan in the middle of it.
//
//	go run ./testdata/gen -o bench.pcap -n 2000000
//
// The same flags give the same bytes on every run. Addresses are from the
// documentation ranges (10/8, 192.0.2/24, 198.51.100/24, 203.0.113/24,
// 2001:db8::/32). Payloads are stored up to -snaplen bytes per frame; the
// lengths on the wire and all checksums are those of the full packets.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var o options
	var out string
	flag.StringVar(&out, "o", "", "output pcap file (required)")
	flag.IntVar(&o.packets, "n", 2_000_000, "number of packets")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed")
	flag.IntVar(&o.snaplen, "snaplen", 128, "bytes stored per packet (the wire length is kept)")
	flag.Parse()
	if out == "" || flag.NArg() != 0 || o.packets <= 0 || o.snaplen < 64 || o.snaplen > 65535 {
		fmt.Fprintln(os.Stderr, "usage: gen -o FILE [-n PACKETS] [-seed N] [-snaplen BYTES (64-65535)]")
		os.Exit(2)
	}
	if err := run(out, o); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(path string, o options) error {
	start := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	sum, err := generate(w, o)
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
	fmt.Fprintf(os.Stderr, "gen: %s: %d packets, %.1f s of traffic, %d MB, scan of %d ports from %s at +%.2f s for %.2f s; took %.2f s\n",
		path, sum.Packets, sum.Duration.Seconds(), fi.Size()>>20, sum.ScanPorts, sum.Scanner,
		sum.ScanStart.Seconds(), sum.ScanDuration.Seconds(), time.Since(start).Seconds())
	return nil
}
