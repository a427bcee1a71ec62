package selftest

import (
	"os/exec"
	"time"

	"github.com/scanwatch/scanwatch/technique"
)

// check is one row of the report: a scan (three, for the distributed
// scan) from a source address of its own, and what the sensor must make of
// it. Each check also scans targets of its own (layout), so that no two
// checks meet in the sensor: it keeps scanners apart by source, and links
// sources that scan one target's ports in the same period into a
// distributed group, which two checks on one target could fake.
type check struct {
	label string
	nmap  bool     // run the real nmap, for what the built-in scanner refuses (-sV)
	args  []string // scan arguments before the targets
	want  string   // the scan.type the sensor must report
	open  bool     // compare open ports: the sensor sees the target's answers
	v6    bool     // IPv6 source and targets
	on    layout
	hosts int // sweeps: addresses scanned
	held  int // offLink sweeps: how many of them the target holds (and answers for)
	// split, for a distributed scan: one port list per source, each scan
	// sent with -S from its own address.
	split  []string
	decoys decoyKind
	// verify makes the check's own assertion (decoys, group, slow, shape,
	// fragments): the text of the CHECK column and any problems.
	verify func(*checkRun, *attribution) (string, []string)
	// skip, when set, says why the check cannot run here, with the
	// sensor's capture mode (ebpf, cbpf); "" when it can.
	skip func(capture string) string
}

// layout says which targets a check scans.
type layout int

const (
	ownHost     layout = iota // one target address of its own, on the link
	primaryHost               // the target's first address: the UDP services answer from it
	offLink                   // a /24 of its own routed via the target, which holds `held` of its hosts
	onLink                    // addresses on the link that nobody holds (ARP and ND sweeps)
	overlay                   // the target's address in a VXLAN over the link, from the attacker's (overlay.go)
)

// decoyKind says where -D's decoys are.
type decoyKind int

const (
	noDecoys      decoyKind = iota
	decoysAbsent            // addresses nobody holds: the target's answers to them never leave
	decoysPresent           // addresses the attacker holds: its kernel resets the target's SYN-ACKs to each
)

// Port lists: every service and enough closed ports, small, so that every
// check takes a second or two.
const (
	tcpPorts     = "1-100,443,8080" // services 22, 80, 443, 8080
	udpPorts     = "1-100,161"      // services 53, 161
	sctpPorts    = "1-100,2905"     // the SCTP responder's open port
	blockPorts   = "20-25,80,443"   // the block scan's ports
	protoList    = "1-40"           // -sO: IP protocol numbers
	slowPorts    = "1-6"            // closed ports, one a second
	versionPorts = "2022"           // -sV: bannerPort
	timing       = "-T4"            // nmap's aggressive timing: small RTT bounds, quick retries
)

const (
	sctpOpen   = 2905        // the SCTP responder's open port (M3UA)
	slowDelay  = time.Second // the slow check's --scan-delay
	numDecoys  = 3           // -D: decoys besides the real scanner
	sweepHosts = 32          // horizontal sweep: hosts, one port
	sweepHeld  = 24
	blockHosts = 16 // block scan: hosts × blockPorts
	blockHeld  = 8
	pingHosts  = 16 // -sn over ICMP: at least 10 must answer
	pingHeld   = 12
	arpHosts   = 32 // ARP and ND sweeps (the arp threshold is 16 hosts)

	// maxParallel is how many checks run at once: each from its own
	// sources to its own targets, so the sensor keeps them apart.
	maxParallel = 4
)

// distributedPorts are the ports of the distributed scan, a third per source.
var distributedPorts = []string{"1-100", "101-200", "201-300"}

// scan is a port scan of ports with the technique options: no host
// discovery (-Pn: its ping probes would be a sweep of their own), -T4.
func scan(ports string, technique ...string) []string {
	return append(technique, "-Pn", timing, "-p", ports)
}

// The sweeps send no retries (--max-retries 0), so that their unanswered
// probes (to the hosts the target does not hold) stay single. `scanwatch
// scan` retransmits a SYN from the same
// source port with the next sequence number, which the sensor takes for a
// connection moving on (benign), so those hosts would drop out of the
// scan's targets; nmap retransmits from a new source port, which the
// sensor counts.

// checks is every row of the report, in the order printed.
var checks = []check{
	{label: "-sS", args: scan(tcpPorts, "-sS"), want: "syn", open: true},
	{label: "-sT", args: scan(tcpPorts, "-sT"), want: "connect", open: true},
	{label: "-sF", args: scan(tcpPorts, "-sF"), want: "fin"},
	{label: "-sN", args: scan(tcpPorts, "-sN"), want: "null"},
	{label: "-sX", args: scan(tcpPorts, "-sX"), want: "xmas"},
	{label: "-sA", args: scan(tcpPorts, "-sA"), want: "ack"},
	{label: "-sW", args: scan(tcpPorts, "-sW"), want: "ack"},
	{label: "-sM", args: scan(tcpPorts, "-sM"), want: "maimon"},
	{label: "-sU", args: scan(udpPorts, "-sU"), want: "udp", open: true, on: primaryHost},
	{label: "-sY", args: scan(sctpPorts, "-sY"), want: "sctp", open: true, verify: verifyChunk("SCTP INIT")},
	{label: "-sZ", args: scan(sctpPorts, "-sZ"), want: "sctp", verify: verifyChunk("COOKIE ECHO")},
	{label: "-sO", args: scan(protoList, "-sO"), want: "ipproto"},
	{label: "--scanflags SYNFIN", args: scan(tcpPorts, "--scanflags", "SYNFIN"), want: "custom"},
	{label: "-D", args: scan(tcpPorts, "-sS"), want: "syn", open: true, decoys: decoysAbsent, verify: verifyDecoys},
	{label: "-D (decoys on link)", args: scan(tcpPorts, "-sS"), want: "syn", open: true, decoys: decoysPresent, verify: verifyDecoys},
	{label: "-f", args: scan(tcpPorts, "-sS", "-f"), want: "syn", open: true, verify: verifyFragments},
	{label: "-6", args: scan(tcpPorts, "-sS", "-6"), want: "syn", open: true, v6: true},
	{label: "-sn", args: []string{"-sn", timing}, want: "ping", on: offLink, hosts: pingHosts, held: pingHeld, verify: verifySweep},
	{label: "-sn (ARP)", args: []string{"-sn", timing}, want: "arp", on: onLink, hosts: arpHosts, verify: verifySweep},
	{label: "-sn -6 (ND)", args: []string{"-sn", "-6", timing}, want: "arp", on: onLink, v6: true, hosts: arpHosts, verify: verifySweep},
	{label: "horizontal", args: scan("80", "-sS", "--max-retries", "0"), want: "syn", open: true, on: offLink, hosts: sweepHosts, held: sweepHeld, verify: verifyShape("horizontal")},
	{label: "block", args: scan(blockPorts, "-sS", "--max-retries", "0"), want: "syn", open: true, on: offLink, hosts: blockHosts, held: blockHeld, verify: verifyShape("block")},
	{label: "distributed", args: []string{"-sS", "-Pn", timing}, want: "syn", open: true, split: distributedPorts, verify: verifyGroup},
	// Default timing (-T4 caps the scan delay at 10 ms), no retries: one
	// probe a second.
	{label: "slow", args: []string{"-sS", "-Pn", "--max-retries", "0", "--scan-delay", slowDelay.String(), "-p", slowPorts}, want: "syn", verify: verifySlow},
	// A scan inside a VXLAN overlay, the sensor on the underlay: the kernel
	// filter and the decoder unwrap it.
	{label: "VXLAN", args: scan(tcpPorts, "-sS"), want: "syn", open: true, on: overlay, verify: verifyOverlay},
	// The built-in scanner refuses -sV: real nmap, with its SYN scan of
	// the one port (too few failed contacts for a SYN scan alert of its
	// own), then its NULL probe, which reads the greeting.
	{label: "-sV (nmap)", nmap: true, args: scan(versionPorts, "-sV"), want: "version", open: true, skip: versionSkip, verify: verifyVersion},
}

// versionSkip says why the -sV check cannot run: a sensor without the
// version technique, a capture that passes no TCP payload (the classic
// BPF fallback), or no nmap.
func versionSkip(capture string) string {
	if _, err := technique.Parse("version"); err != nil {
		return "skipped: the sensor does not detect version probing"
	}
	if capture == "cbpf" {
		return "skipped: the classic-BPF capture passes no TCP payload"
	}
	if _, err := exec.LookPath("nmap"); err != nil {
		return "skipped: nmap is not installed"
	}
	return ""
}

// cost is a rough rank of how long a check runs, so that the longest
// start first.
func (c *check) cost() int {
	switch {
	case c.verify != nil && c.label == "slow":
		return 4
	case c.on == onLink || c.nmap:
		return 3
	case c.decoys != noDecoys || len(c.split) > 0:
		return 2
	}
	return 1
}
