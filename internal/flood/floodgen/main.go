// Command floodgen writes a pcap of spoofed sources with a real scan
// hidden in it (see package flood), for replays of the built binary:
//
//	go run ./internal/flood/floodgen -kind syn -sources 5000000 -o /tmp/flood.pcap
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/scanwatch/scanwatch/internal/flood"
)

func main() {
	var c flood.Config
	kind := flag.String("kind", "syn", "spoofed packets: syn, ack or udp")
	out := flag.String("o", "", "output pcap (required)")
	flag.IntVar(&c.Sources, "sources", 1_000_000, "spoofed sources")
	flag.IntVar(&c.PerSource, "per-source", 1, "packets per spoofed source")
	flag.Float64Var(&c.Rate, "rate", 100_000, "spoofed packets per second of packet time")
	ttl := flag.Uint("ttl", 0, "TTL of the spoofed packets (0: one drawn per source)")
	flag.IntVar(&c.Scan.Ports, "scan-ports", 100, "ports probed by the hidden nmap -sS scan (0: none)")
	flag.DurationVar(&c.Scan.Gap, "scan-gap", time.Millisecond, "time between the scan's probes")
	flag.DurationVar(&c.Scan.At, "scan-at", time.Second, "first probe of the scan, after the start")
	flag.Uint64Var(&c.Seed, "seed", 1, "random seed")
	flag.Parse()
	k, err := flood.ParseKind(*kind)
	if err != nil || *out == "" || flag.NArg() != 0 || *ttl > 255 {
		fmt.Fprintln(os.Stderr, "usage: floodgen -o FILE [-kind syn|ack|udp] [-sources N] [-per-source N] [-rate PPS] [-ttl N] [-scan-ports N] [-scan-gap D] [-scan-at D]")
		os.Exit(2)
	}
	c.Kind, c.TTL = k, uint8(*ttl)
	c.Scan.Open = []uint16{22, 80}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floodgen:", err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	sum, err := flood.WritePcap(w, c)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floodgen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "floodgen: %s: %d packets (%d spoofed, %d scan probes) over %.1f s\n", *out, sum.Packets, sum.Spoofed, sum.ScanProbes, sum.Duration.Seconds())
}
