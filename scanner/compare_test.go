//go:build linux

package scanner

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// compareCase is one technique scanned by both tools.
type compareCase struct {
	name      string
	tech      Technique
	scanflags string   // --scanflags, if any
	nmapArgs  []string // technique options for nmap
	// expect: states the namespace setup guarantees (checked for both tools).
	expect map[uint16]PortState
}

func compareCases() []compareCase {
	tcpOpen := func(st PortState, m map[uint16]PortState) map[uint16]PortState {
		for _, p := range openTCP {
			m[p] = st
		}
		return m
	}
	return []compareCase{
		{"sS", SYN, "", []string{"-sS"}, tcpOpen(Open, map[uint16]PortState{1: Closed, dropTCP: Filtered, rejectTCP: Filtered})},
		{"sT", Connect, "", []string{"-sT"}, tcpOpen(Open, map[uint16]PortState{1: Closed, dropTCP: Filtered, rejectTCP: Filtered})},
		{"sF", FIN, "", []string{"-sF"}, tcpOpen(OpenFiltered, map[uint16]PortState{1: Closed, dropTCP: OpenFiltered, rejectTCP: Filtered})},
		{"sN", Null, "", []string{"-sN"}, tcpOpen(OpenFiltered, map[uint16]PortState{1: Closed, dropTCP: OpenFiltered, rejectTCP: Filtered})},
		{"sX", Xmas, "", []string{"-sX"}, tcpOpen(OpenFiltered, map[uint16]PortState{1: Closed, dropTCP: OpenFiltered, rejectTCP: Filtered})},
		{"sA", ACK, "", []string{"-sA"}, tcpOpen(Unfiltered, map[uint16]PortState{1: Unfiltered, dropTCP: Filtered, rejectTCP: Filtered})},
		// Linux sends RSTs with window 0: the window scan calls everything closed.
		{"sW", Window, "", []string{"-sW"}, tcpOpen(Closed, map[uint16]PortState{1: Closed, dropTCP: Filtered, rejectTCP: Filtered})},
		{"sM", Maimon, "", []string{"-sM"}, map[uint16]PortState{1: Closed, dropTCP: OpenFiltered, rejectTCP: Filtered}},
		{"sU", UDP, "", []string{"-sU"}, map[uint16]PortState{53: Open, 161: Open, 1: Closed, dropUDP: OpenFiltered, rejectUDP: Filtered}},
		// Linux ignores SYN+FIN on a listening socket: open ports look filtered.
		{"scanflags-SYNFIN", SYN, "SYNFIN", []string{"-sS", "--scanflags", "SYNFIN"}, tcpOpen(Filtered, map[uint16]PortState{1: Closed, dropTCP: Filtered, rejectTCP: Filtered})},
		{"scanflags-ACKPSH-sA", ACK, "ACKPSH", []string{"-sA", "--scanflags", "ACKPSH"}, tcpOpen(Unfiltered, map[uint16]PortState{1: Unfiltered, dropTCP: Filtered, rejectTCP: Filtered})},
	}
}

// comparePortList is 1-1024 plus the open services above 1024.
func comparePortList(tech Technique) []uint16 {
	ports, _ := ParsePorts("1-1024")
	if tech != UDP {
		for _, p := range openTCP {
			if p > 1024 {
				ports = append(ports, p)
			}
		}
	}
	slices.Sort(ports)
	return ports
}

// TestCompareWithNmap runs every technique with scanwatch's scanner and with
// real nmap against the same namespace target, over ports 1-1024 plus the
// open services, on IPv4 (and some on IPv6), and requires the same state
// for every port.
func TestCompareWithNmap(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a network namespace with scanwatch and nmap; skipped with -short")
	}
	needRoot(t, "nmap")
	tn := setupNet(t)
	// Over IPv6 a few techniques cover the other code paths (the tests
	// of the evasions scan IPv6 too): every one would double the run.
	six := []string{"sS", "sU", "sA"}
	for _, target := range []netip.Addr{target4, target6} {
		for _, c := range compareCases() {
			if target.Is6() && !slices.Contains(six, c.name) {
				continue
			}
			t.Run(c.name+"/"+map[bool]string{true: "ipv4", false: "ipv6"}[target.Is4()], func(t *testing.T) {
				ports := comparePortList(c.tech)
				cfg := testConfig(c.tech, ports, 0, target)
				if c.scanflags != "" {
					f, err := ParseScanFlags(c.scanflags)
					if err != nil {
						t.Fatal(err)
					}
					cfg.ScanFlags, cfg.CustomFlags = f, true
				}
				args := append(slices.Clone(c.nmapArgs), "-T4", "--max-retries", "2", "-p", portSpec(ports))
				var ours, theirs map[uint16]PortState
				var res scanResult
				var took time.Duration
				var agree int
				// On a loaded machine either tool can lose a reply; a
				// disagreement must survive a second run of both to fail.
				for attempt := 1; ; attempt++ {
					ours, res = tn.scanInNetns(t, cfg)
					theirs, took = tn.nmapScan(t, ports, target, args...)
					if attempt == 2 {
						agree = comparePorts(t, c.name, ports, ours, theirs)
						break
					}
					if agree = countAgree(ports, ours, theirs); agree == len(ports) {
						break
					}
					t.Logf("%s: %d ports differ on the first run; running both again", c.name, len(ports)-agree)
				}
				t.Logf("%s %s: %d/%d ports agree (scanwatch %.2fs, %d probes, %d retransmits; nmap %.2fs)",
					c.name, target, agree, len(ports), res.Seconds, res.ProbesSent, res.Retransmits, took.Seconds())
				if !tn.firewall {
					return
				}
				for p, want := range c.expect {
					if got := ours[p]; got != want {
						t.Errorf("scanwatch: port %d is %v, want %v", p, got, want)
					}
					if got := theirs[p]; got != want {
						t.Errorf("nmap: port %d is %v, want %v (the namespace setup is not what the test thinks)", p, got, want)
					}
				}
			})
		}
	}
}

func countAgree(ports []uint16, a, b map[uint16]PortState) int {
	n := 0
	for _, p := range ports {
		if x, ok := a[p]; ok && x == b[p] {
			n++
		}
	}
	return n
}
