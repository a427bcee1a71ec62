package rules_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/rules"
)

// TestLimits: every value is checked against the limit of where it is
// used, with its position; a cap the kernel's 32-bit map size would
// truncate is refused.
func TestLimits(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"max_flows beyond 32 bits", "state:\n  max_flows: 4294967297\n", "r.yaml:2:14: state.max_flows: 4294967297 is more than the limit 16777216"},
		{"max_flows", "state:\n  max_flows: 16777217\n", "r.yaml:2:14: state.max_flows: 16777217 is more than the limit 16777216"},
		{"max_trackers", "state: {max_trackers: 99999999}\n", "r.yaml:1:23: state.max_trackers: 99999999 is more than the limit 16777216"},
		{"max_fragments", "state: {max_fragments: 2000000}\n", "r.yaml:1:24: state.max_fragments: 2000000 is more than the limit 1048576"},
		{"int64 overflow", "state: {max_flows: 99999999999999999999}\n", `r.yaml:1:20: state.max_flows: expected an integer, got "99999999999999999999"`},
		{"ports", "detect: {syn: {ports: 70000}}\n", "r.yaml:1:23: detect.syn.ports: 70000 is more than the limit 65536"},
		{"hosts", "detect: {ping: {hosts: 20000000}}\n", "r.yaml:1:24: detect.ping.hosts: 20000000 is more than the limit 16777216"},
		{"window", "detect: {syn: {window: 25h}}\n", "r.yaml:1:24: detect.syn.window: 25h is longer than the limit 24h0m0s"},
		{"reply", "timeouts: {reply: 1h}\n", "r.yaml:1:19: timeouts.reply: 1h is longer than the limit 10m0s"},
		{"idle", "timeouts: {idle: 48h}\n", "r.yaml:1:18: timeouts.idle: 48h is longer than the limit 24h0m0s"},
		{"slow memory", "slow: {memory: 1000h}\n", "r.yaml:1:16: slow.memory: 1000h is longer than the limit 720h0m0s"},
		{"min_ports", "slow: {min_ports: 65537}\n", "r.yaml:1:19: slow.min_ports: 65537 is more than the limit 65536"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Parse("r.yaml", []byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
	// The limits themselves pass.
	in := "state: {max_flows: 16777216, max_trackers: 16777216, max_fragments: 1048576}\n" +
		"detect: {syn: {ports: 65536, hosts: 16777216, window: 24h}}\ntimeouts: {reply: 10m, idle: 24h}\nslow: {memory: 720h, min_ports: 65536}\n"
	if r, err := rules.Parse("r.yaml", []byte(in)); err != nil || r.State.MaxFlows != rules.MaxFlows {
		t.Errorf("values at the limits: %v", err)
	}
}

// TestListSize: a list longer than MaxListEntries is refused at its node.
func TestListSize(t *testing.T) {
	var b strings.Builder
	b.WriteString("allow:\n  scanners: [")
	for i := range rules.MaxListEntries + 1 {
		fmt.Fprintf(&b, "10.%d.%d.%d,", i>>16, i>>8&0xff, i&0xff)
	}
	b.WriteString("]\n")
	_, err := rules.Parse("r.yaml", []byte(b.String()))
	if want := "r.yaml:2:13: allow.scanners: 100001 entries, at most 100000"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestBadInputExcerpt: a huge bad value is quoted by a short excerpt, not
// echoed whole into the error line.
func TestBadInputExcerpt(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	for _, in := range []string{
		"allow:\n  scanners: [\"1.2.3." + big + "\"]\n",
		"allow:\n  scanners: [\"1.2.3.4/" + big + "\"]\n",
		"allow:\n  ports: [\"" + big + "\"]\n",
		"state: {max_flows: " + big + "}\n",
		"timeouts: {reply: " + big + "}\n",
		"tcp_flags: [{type: custom, value: \"SYN|" + big + "\"}]\n",
		"tcp_flags: [{type: " + big + ", value: SYN}]\n",
		big + ": 1\n",
	} {
		_, err := rules.Parse("r.yaml", []byte(in))
		if err == nil {
			t.Fatalf("%.40q accepted", in)
		}
		if msg := err.Error(); len(msg) > 600 {
			t.Errorf("%.40q: error of %d bytes: %.200s", in, len(msg), msg)
		}
	}
}

// TestFileSize: a file larger than MaxFileSize is refused, and Load reads
// no more than that of an endless file.
func TestFileSize(t *testing.T) {
	_, err := rules.Parse("r.yaml", make([]byte, rules.MaxFileSize+1))
	var e *rules.Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "r.yaml:1:1: file larger than 4 MiB") {
		t.Errorf("oversized data: %v", err)
	}
	start := time.Now()
	_, err = rules.Load("/dev/zero")
	if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "/dev/zero:1:1: file larger than") {
		t.Errorf("Load(/dev/zero): %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Load(/dev/zero) took %v", d)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, append([]byte("# padding\n"), make([]byte, rules.MaxFileSize)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := rules.Load(path); !errors.As(err, &e) {
		t.Errorf("Load(big file): %v", err)
	}
}

// TestAddrSetMatchesLinear holds the sorted-range lookup to the linear
// scan it replaced, on random prefixes of both families (nested,
// overlapping and adjacent ones included) and random addresses near them.
func TestAddrSetMatchesLinear(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	randAddr := func(v6 bool) netip.Addr {
		if !v6 {
			return netip.AddrFrom4([4]byte{10, byte(rnd.IntN(4)), byte(rnd.IntN(256)), byte(rnd.IntN(256))})
		}
		var b [16]byte
		b[0], b[1], b[15] = 0x20, 0x01, byte(rnd.IntN(256))
		b[2] = byte(rnd.IntN(4))
		b[7] = byte(rnd.IntN(256))
		return netip.AddrFrom16(b)
	}
	for round := range 200 {
		var list []string
		for range rnd.IntN(40) {
			v6 := rnd.IntN(2) == 0
			a := randAddr(v6)
			bits := 8 + rnd.IntN(25)
			if v6 {
				bits = rnd.IntN(129)
			}
			list = append(list, `"`+netip.PrefixFrom(a, bits).Masked().String()+`"`)
		}
		if round == 0 {
			list = append(list, `"0.0.0.0/0"`, `"::/0"`)
		}
		yml := "allow:\n  scanners: [" + strings.Join(list, ", ") + "]\n"
		r, err := rules.Parse("r.yaml", []byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		// The same lists in a hand-made copy take the linear path.
		h := &rules.Rules{Allow: rules.Allow{Scanners: r.Allow.Scanners}}
		for range 500 {
			a := randAddr(rnd.IntN(2) == 0)
			if rnd.IntN(4) == 0 && a.Is4() {
				a = netip.AddrFrom16(a.As16()) // IPv4-mapped
			}
			if got, want := r.AllowedScanner(a), h.AllowedScanner(a); got != want {
				t.Fatalf("%s in %v: got %v, want %v", a, list, got, want)
			}
		}
	}
}

// BenchmarkAllowList10k: the lookup of a probe's source and destination in
// allow lists of 10,000 entries each.
func BenchmarkAllowList10k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("allow:\n  scanners: [")
	for i := range 10000 {
		fmt.Fprintf(&sb, "172.%d.%d.%d,", 16+i%16, i>>8&0xff, i&0xff)
	}
	sb.WriteString("]\n  targets: [")
	for i := range 10000 {
		fmt.Fprintf(&sb, "192.168.%d.%d,", i>>8&0xff, i&0xff)
	}
	sb.WriteString("]\n")
	r, err := rules.Parse("r.yaml", []byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	hand := &rules.Rules{Allow: r.Allow}
	src, dst := netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("10.1.2.3")
	for _, bb := range []struct {
		name string
		r    *rules.Rules
	}{{"sorted-ranges", r}, {"linear", hand}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				_ = bb.r.AllowedScanner(src) || bb.r.AllowedTarget(dst)
			}
		})
	}
}

// TestMemory: the budget takes bytes or a size with a unit, within its
// limits, and its shares leave headroom.
func TestMemory(t *testing.T) {
	for in, want := range map[string]int64{
		"268435456": 256 << 20, "256MiB": 256 << 20, "1GiB": 1 << 30, "1.5 GiB": 3 << 29, "300MB": 300e6, "16MiB": 16 << 20, "1TiB": 1 << 40,
	} {
		r, err := rules.Parse("r.yaml", []byte("memory: "+in+"\n"))
		if err != nil || r.Memory != want {
			t.Errorf("memory: %s = %v, %v; want %d", in, r, err, want)
		}
	}
	for in, want := range map[string]string{
		"8MiB":    "r.yaml:1:9: memory: 8MiB is outside 16MiB..1TiB",
		"2TiB":    "r.yaml:1:9: memory: 2TiB is outside 16MiB..1TiB",
		"256 mb":  `r.yaml:1:9: memory: bad size "256 mb" (want bytes, or a number with B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)`,
		"-1":      `r.yaml:1:9: memory: bad size "-1" (want bytes, or a number with B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)`,
		"[1]":     `r.yaml:1:9: memory: expected a size such as 256MiB, got a sequence`,
		"1e30GiB": `r.yaml:1:9: memory: bad size "1e30GiB" (want bytes, or a number with B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)`,
	} {
		if _, err := rules.Parse("r.yaml", []byte("memory: "+in+"\n")); err == nil || err.Error() != want {
			t.Errorf("memory: %s: got %v\nwant %s", in, err, want)
		}
	}
	r := rules.Default()
	var sum int64
	for tab := rules.FlowTable; tab <= rules.FragmentTable; tab++ {
		if r.MemoryFor(tab) <= 0 {
			t.Errorf("table %d has no share", tab)
		}
		sum += r.MemoryFor(tab)
	}
	if sum > r.Memory*85/100 || sum < r.Memory/2 {
		t.Errorf("shares sum to %d of %d", sum, r.Memory)
	}
}

// TestAlerts: the alert budget's rate and burst, within their limits.
func TestAlerts(t *testing.T) {
	r, err := rules.Parse("r.yaml", []byte("alerts: {rate: 0.5, burst: 20}\n"))
	if err != nil || r.Alerts != (rules.AlertLimit{Rate: 0.5, Burst: 20}) {
		t.Errorf("alerts: %+v, %v", r, err)
	}
	for in, want := range map[string]string{
		"alerts: {rate: 0}\n":            "r.yaml:1:16: alerts.rate: must be more than 0 and at most 1000000 alerts a second, got 0",
		"alerts: {rate: 2e6}\n":          "r.yaml:1:16: alerts.rate: must be more than 0 and at most 1000000 alerts a second, got 2e6",
		"alerts: {burst: 0}\n":           "r.yaml:1:17: alerts.burst: must be positive, got 0",
		"alerts: {burst: 9999999}\n":     "r.yaml:1:17: alerts.burst: 9999999 is more than the limit 1000000",
		"alerts: {rate: 1, bursts: 2}\n": `r.yaml:1:19: unknown key "bursts" in alerts (known: rate, burst)`,
	} {
		if _, err := rules.Parse("r.yaml", []byte(in)); err == nil || err.Error() != want {
			t.Errorf("%q: got %v\nwant %s", in, err, want)
		}
	}
}
