//go:build linux

package scanner

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/internal/netns"
)

// The test network: two namespaces joined by a veth pair (internal/netns,
// names swscan-<id>-a and -b, private to each test): the attacker (A) and
// the target (B). Nothing here touches any other namespace or address.
var (
	attacker4 = netip.MustParseAddr("10.79.0.1")
	target4   = netip.MustParseAddr("10.79.0.2")
	attacker6 = netip.MustParseAddr("fd79::1")
	target6   = netip.MustParseAddr("fd79::2")
)

// What the target offers.
var (
	openTCP   = []uint16{22, 80, 443, 8080, 31337, 65000}
	openUDP   = []uint16{53, 161}
	dropTCP   = uint16(81)  // nft drop: filtered
	rejectTCP = uint16(82)  // nft reject admin-prohibited: filtered
	dropUDP   = uint16(162) // open|filtered
	rejectUDP = uint16(163) // filtered
)

// testNet is the running namespace pair.
type testNet struct {
	*netns.Pair
	firewall bool
}

// needRoot skips the test unless it runs as root with ip and the given tools.
func needRoot(tb testing.TB, tools ...string) {
	tb.Helper()
	netns.Require(tb)
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("needs %s in PATH: %v", tool, err)
		}
	}
}

// setupNet creates the namespaces, the services and the firewall, and
// removes everything when the test ends (also when it fails).
func setupNet(tb testing.TB) *testNet {
	tb.Helper()
	p := netns.New(tb, netns.Config{
		Prefix:  "swscan",
		Subnet:  netip.PrefixFrom(attacker4, 24).Masked(),
		Subnet6: netip.PrefixFrom(attacker6, 64).Masked(),
		// The scans see what TCP sends; its segment sizes do not matter.
		KeepOffloads: true,
	})
	if p.A.Addr != attacker4 || p.B.Addr != target4 || p.A.Addr6 != attacker6 || p.B.Addr6 != target6 {
		tb.Fatalf("netns addresses %v %v %v %v, want %v %v %v %v", p.A.Addr, p.B.Addr, p.A.Addr6, p.B.Addr6, attacker4, target4, attacker6, target6)
	}
	// Linux rate-limits ICMP errors; -sU and the reject rule need them all.
	for _, kv := range []string{"net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_msgs_per_sec=1000000",
		"net.ipv4.icmp_msgs_burst=1000000", "net.ipv6.icmp.ratelimit=0"} {
		if out, err := p.Output(p.B.NS, "sysctl", "-q", "-w", kv); err != nil {
			tb.Logf("sysctl %s in %s: %v %s (UDP results may be rate limited)", kv, p.B.NS, err, out)
		}
	}
	tn := &testNet{Pair: p}
	if _, err := exec.LookPath("nft"); err == nil {
		rules := fmt.Sprintf(`table inet swscan {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport %d drop
		tcp dport %d reject with icmpx type admin-prohibited
		udp dport %d drop
		udp dport %d reject with icmpx type admin-prohibited
	}
}
`, dropTCP, rejectTCP, dropUDP, rejectUDP)
		cmd := p.Exec(p.B.NS, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(rules)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("nft in %s: %v\n%s", p.B.NS, err, out)
		}
		tn.firewall = true
	} else {
		tb.Logf("nft not installed: no filtered ports in the target (apt-get install -y nftables)")
	}
	tn.startServices(tb)
	// Wait for both address families to be usable (nodad makes this quick).
	time.Sleep(200 * time.Millisecond)
	return tn
}

// startServices listens on the open TCP and UDP ports in the target, on
// IPv4 and IPv6. TCP connections are closed at once; UDP datagrams of any
// size (empty too) get a reply.
func (tn *testNet) startServices(tb testing.TB) {
	tb.Helper()
	var closers []func() error
	// Registered first, so that listeners opened before a failure close too.
	tb.Cleanup(func() {
		for _, c := range closers {
			_ = c()
		}
	})
	err := tn.Do(tn.B.NS, func() error {
		for _, p := range openTCP {
			for _, nw := range []string{"tcp4", "tcp6"} {
				l, err := net.Listen(nw, fmt.Sprintf(":%d", p))
				if err != nil {
					return fmt.Errorf("listen %s %d: %w", nw, p, err)
				}
				closers = append(closers, l.Close)
				go func() {
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						c.Close()
					}
				}()
			}
		}
		for _, p := range openUDP {
			for _, nw := range []string{"udp4", "udp6"} {
				c, err := net.ListenPacket(nw, fmt.Sprintf(":%d", p))
				if err != nil {
					return fmt.Errorf("listen %s %d: %w", nw, p, err)
				}
				closers = append(closers, c.Close)
				go func() {
					buf := make([]byte, 2048)
					for {
						_, from, err := c.ReadFrom(buf)
						if err != nil {
							return
						}
						_, _ = c.WriteTo([]byte("scanwatch test service\n"), from)
					}
				}()
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// helperEnv names a file with a Config for the test binary re-executed in the attacker namespace.
const helperEnv = "SWSCAN_HELPER_CONFIG"

// TestScanHelperProcess is not a test: scanInNetns re-executes the test
// binary under "ip netns exec" to run one scan in the attacker namespace.
func TestScanHelperProcess(t *testing.T) {
	cfgFile := os.Getenv(helperEnv)
	if cfgFile == "" {
		t.Skip("helper process for the namespace tests")
	}
	var cfg Config
	cfgJSON, err := os.ReadFile(cfgFile)
	if err == nil {
		err = json.Unmarshal(cfgJSON, &cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper config:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	if d, err := time.ParseDuration(os.Getenv(helperEnv + "_CANCEL")); err == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		time.AfterFunc(d, cancel)
	}
	res, err := Run(ctx, cfg)
	out := helperOutput{Result: res}
	if err != nil {
		out.Error = err.Error()
	}
	data, _ := json.Marshal(out)
	if err := os.WriteFile(os.Getenv(helperEnv+"_OUT"), data, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(5)
	}
	os.Exit(0)
}

// helperOutput is what the helper process hands back.
type helperOutput struct {
	Result *Result `json:"result"`
	Error  string  `json:"error"`
}

// testConfig is a one-technique scan of ports at a probe-rate ceiling, with
// -T4's timeouts and two retries.
func testConfig(tech Technique, ports []uint16, rate float64, targets ...netip.Addr) Config {
	t, _ := TimingTemplate(4)
	t.MaxRetries, t.MaxRate = 2, rate
	c := Config{Techniques: []Technique{tech}, Targets: targets, Timing: t}
	if tech.Proto() == "udp" {
		c.Ports.UDP = ports
	} else {
		c.Ports.TCP = ports
	}
	return c
}

// scanResult is the part of Result the tests read back.
type scanResult struct {
	Seconds     float64      `json:"seconds"`
	ProbesSent  int          `json:"probes_sent"`
	Retransmits int          `json:"retransmits"`
	Hosts       []HostResult `json:"hosts"`
	Interrupted bool         `json:"interrupted"`
}

// scanInNetns runs the scanner package in the attacker namespace on one
// target and fails the test if the scan fails.
func (tn *testNet) scanInNetns(tb testing.TB, cfg Config) (map[uint16]PortState, scanResult) {
	tb.Helper()
	res, errText := tn.runInNetns(tb, cfg, 0)
	if errText != "" {
		tb.Fatalf("scan in %s: %s", tn.A.NS, errText)
	}
	if len(res.Hosts) != 1 {
		tb.Fatalf("want 1 host in result, got %d", len(res.Hosts))
	}
	return res.Hosts[0].States(cfg.Techniques[0].Proto()), res
}

// runInNetns runs Run in the attacker namespace (cancelled after cancel,
// if not zero) and returns its result and error text.
func (tn *testNet) runInNetns(tb testing.TB, cfg Config, cancel time.Duration) (scanResult, string) {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	outFile, cfgFile := filepath.Join(dir, "result.json"), filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgFile, cfgJSON, 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := tn.Exec(tn.A.NS, exe, "-test.run=^TestScanHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+cfgFile, helperEnv+"_OUT="+outFile)
	if cancel > 0 {
		cmd.Env = append(cmd.Env, helperEnv+"_CANCEL="+cancel.String())
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("scan helper in %s: %v\n%s", tn.A.NS, err, out)
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		tb.Fatal(err)
	}
	var out struct {
		Result scanResult `json:"result"`
		Error  string     `json:"error"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		tb.Fatalf("decode result: %v", err)
	}
	return out.Result, out.Error
}

// nmapXML is the part of nmap's -oX output the tests read.
type nmapXML struct {
	Hosts []struct {
		Ports struct {
			Extra []struct {
				State   string `xml:"state,attr"`
				Count   int    `xml:"count,attr"`
				Reasons []struct {
					Ports string `xml:"ports,attr"`
				} `xml:"extrareasons"`
			} `xml:"extraports"`
			Port []struct {
				Proto string `xml:"protocol,attr"`
				ID    uint16 `xml:"portid,attr"`
				State struct {
					State string `xml:"state,attr"`
				} `xml:"state"`
			} `xml:"port"`
		} `xml:"ports"`
	} `xml:"host"`
}

// nmapScan runs real nmap in the attacker namespace and returns every
// port's state and the wall time.
func (tn *testNet) nmapScan(tb testing.TB, ports []uint16, target netip.Addr, args ...string) (map[uint16]PortState, time.Duration) {
	tb.Helper()
	full := append([]string{"nmap", "-n", "-Pn", "-oX", "-"}, args...)
	if target.Is6() {
		full = append(full, "-6")
	}
	full = append(full, target.String())
	start := time.Now()
	var stderr bytes.Buffer
	cmd := tn.Exec(tn.A.NS, full...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		tb.Fatalf("nmap %v: %v\n%s", args, err, stderr.String())
	}
	var x nmapXML
	if err := xml.Unmarshal(out, &x); err != nil {
		tb.Fatalf("parse nmap XML: %v", err)
	}
	if len(x.Hosts) != 1 {
		tb.Fatalf("nmap reported %d hosts:\n%s", len(x.Hosts), out)
	}
	states := map[uint16]PortState{}
	h := x.Hosts[0]
	for _, p := range h.Ports.Port {
		s, err := ParsePortState(p.State.State)
		if err != nil {
			tb.Fatal(err)
		}
		states[p.ID] = s
	}
	var rest []PortState // extraports without a port list
	for _, e := range h.Ports.Extra {
		s, err := ParsePortState(e.State)
		if err != nil {
			tb.Fatal(err)
		}
		listed := false
		for _, r := range e.Reasons {
			if r.Ports == "" {
				continue
			}
			ps, err := ParsePorts(r.Ports)
			if err != nil {
				tb.Fatalf("nmap extrareasons ports %q: %v", r.Ports, err)
			}
			for _, p := range ps {
				states[p] = s
			}
			listed = true
		}
		if !listed {
			rest = append(rest, s)
		}
	}
	if len(rest) > 1 {
		tb.Fatalf("nmap XML has %d extraports without port lists", len(rest))
	}
	for _, p := range ports {
		if _, ok := states[p]; !ok && len(rest) == 1 {
			states[p] = rest[0]
		}
	}
	return states, took
}

func portSpec(ports []uint16) string {
	var b strings.Builder
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ports[i], ports[j])
		} else {
			b.WriteString(strconv.Itoa(int(ports[i])))
		}
		i = j + 1
	}
	return b.String()
}

// comparePorts reports every port where the two scans disagree and returns
// how many agree.
func comparePorts(tb testing.TB, what string, ports []uint16, ours, theirs map[uint16]PortState) int {
	tb.Helper()
	agree := 0
	var bad []string
	for _, p := range ports {
		o, ok1 := ours[p]
		n, ok2 := theirs[p]
		if ok1 && ok2 && o == n {
			agree++
			continue
		}
		bad = append(bad, fmt.Sprintf("%d: scanwatch %v, nmap %v", p, o, n))
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], fmt.Sprintf("... and %d more", len(bad)-20))
		}
		tb.Errorf("%s: %d of %d ports differ:\n  %s", what, len(ports)-agree, len(ports), strings.Join(bad, "\n  "))
	}
	return agree
}
