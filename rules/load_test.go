package rules_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // the whole error text, one issue per line
	}{
		{"empty", "", "rules.yaml:1:1: empty file"},
		{"only comments", "# nothing\n\n", "rules.yaml:1:1: empty file"},
		{"empty document", "---\n", "rules.yaml:1:1: empty file"},
		{"top not mapping", "- a\n- b\n", "rules.yaml:1:1: top level: expected a mapping, got a sequence"},
		{"syntax", "allow: {\nstate: 1\n", "rules.yaml:2:1: syntax error: did not find expected ',' or '}'"},
		{"syntax colon", "state:\n  max_flows: 1\n  max_trackers 2\n  x: 1\n", "rules.yaml:3:1: syntax error: could not find expected ':'"},
		{"tab", "state:\n\tmax_flows: 1\n", "rules.yaml:2:1: syntax error: found character that cannot start any token"},
		{"unknown anchor", "state:\n  max_flows: *cap\n", "rules.yaml:2:14: syntax error: unknown anchor 'cap' referenced"},
		{"two documents", "state: {max_flows: 1}\n---\nslow: {alarm: 5}\n", "rules.yaml:2:1: more than one YAML document; a rules file holds one"},
		{"unknown top key", "stat:\n  max_flows: 1\n",
			`rules.yaml:1:1: unknown key "stat" at top level (known: home_networks, allow, state, timeouts, tcp_flags, detect, slow, memory, alerts)`},
		{"unknown detect key", "detect:\n  syn:\n    ports: 3\n    thresold: 5\n",
			`rules.yaml:4:5: unknown key "thresold" in detect.syn (known: ports, hosts, window)`},
		{"unknown technique", "detect:\n  synn: {ports: 3}\n",
			`rules.yaml:2:3: unknown technique "synn" in detect (known: syn, fin, null, xmas, maimon, ack, custom, udp, sctp, ipproto, ping, arp, osprobe, version, script, idle, ftpbounce)`},
		{"duplicate key", "state:\n  max_flows: 10\n  max_flows: 20\n",
			`rules.yaml:3:3: duplicate key "max_flows" in state (first at 2:3)`},
		{"duplicate top key", "slow: {}\nslow: {}\n", `rules.yaml:2:1: duplicate key "slow" at top level (first at 1:1)`},
		{"non-scalar key", "state:\n  [a]: 1\n", `rules.yaml:2:3: state: keys must be plain strings, got a sequence`},
		{"section not mapping", "state: 5\n", `rules.yaml:1:8: state: expected a mapping, got "5"`},
		{"list not sequence", "home_networks: 10.0.0.0/8\n", `rules.yaml:1:16: home_networks: expected a sequence, got "10.0.0.0/8"`},
		{"bad CIDR", "home_networks:\n  - 10.0.0.0/8\nallow:\n  scanners:\n    - 10.0.0.0/33\n",
			`rules.yaml:5:7: bad CIDR "10.0.0.0/33": prefix length out of range`},
		{"bad address", "allow:\n  targets: [10.0.0.256]\n",
			`rules.yaml:2:13: bad address "10.0.0.256": IPv4 field has value >255`},
		{"zone", "allow:\n  targets: [\"fe80::1%eth0\"]\n", `rules.yaml:2:13: bad address "fe80::1%eth0": zones are not allowed`},
		{"address not string", "allow:\n  targets: [{a: 1}]\n", `rules.yaml:2:13: allow.targets[0]: expected a string, got a mapping`},
		{"port range reversed", "allow:\n  ports: [22, \"90-80\"]\n", `rules.yaml:2:15: bad port range "90-80": 90 > 80`},
		{"port too big", "allow:\n  ports: [65536]\n", `rules.yaml:2:11: bad port 65536: out of range 0..65535`},
		{"port negative", "allow:\n  ports: [-1]\n", `rules.yaml:2:11: bad port range "-1": want a port or a "lo-hi" range`},
		{"port range too big", "allow:\n  ports: [1-65536]\n", `rules.yaml:2:11: bad port range "1-65536": 65536 out of range 0..65535`},
		{"port garbage", "allow:\n  ports: [ssh]\n", `rules.yaml:2:11: bad port "ssh": want a port or a "lo-hi" range`},
		{"port mapping", "allow:\n  ports: [{a: 1}]\n", `rules.yaml:2:11: allow.ports[0]: expected a port or a "lo-hi" range, got a mapping`},
		{"zero cap", "state:\n  max_trackers: 0\n", `rules.yaml:2:17: state.max_trackers: must be positive, got 0`},
		{"negative cap", "state:\n  max_fragments: -5\n", `rules.yaml:2:18: state.max_fragments: must be positive, got -5`},
		{"cap not int", "state:\n  max_flows: lots\n", `rules.yaml:2:14: state.max_flows: expected an integer, got "lots"`},
		{"cap float", "state:\n  max_flows: 1.5\n", `rules.yaml:2:14: state.max_flows: expected an integer, got "1.5"`},
		{"cap quoted", "state:\n  max_flows: \"10\"\n", `rules.yaml:2:14: state.max_flows: expected an integer, got "10"`},
		{"cap null", "state:\n  max_flows:\n", `rules.yaml:2:13: state.max_flows: expected an integer, got null`},
		{"duration no unit", "timeouts:\n  reply: 5\n", `rules.yaml:2:10: timeouts.reply: bad duration "5" (want Go syntax such as 5s, 2m, 24h)`},
		{"duration days", "slow:\n  memory: 1d\n", `rules.yaml:2:11: slow.memory: bad duration "1d" (want Go syntax such as 5s, 2m, 24h)`},
		{"duration zero", "timeouts:\n  idle: 0s\n", `rules.yaml:2:9: timeouts.idle: must be positive, got 0s`},
		{"duration negative", "detect:\n  fin: {window: -1m}\n", `rules.yaml:2:17: detect.fin.window: must be positive, got -1m`},
		{"duration mapping", "timeouts:\n  idle: {a: 1}\n", `rules.yaml:2:9: timeouts.idle: expected a duration, got a mapping`},
		{"negative threshold", "detect:\n  udp: {ports: -1}\n", `rules.yaml:2:16: detect.udp.ports: must not be negative, got -1`},
		{"theta order", "slow:\n  theta0: 0.2\n  theta1: 0.8\n",
			`rules.yaml:2:11: slow: theta0 (0.2) must be greater than theta1 (0.8): a benign host succeeds more often than a scanner`},
		{"theta order equal", "slow:\n  theta1: 0.8\n",
			`rules.yaml:2:11: slow: theta0 (0.8) must be greater than theta1 (0.8): a benign host succeeds more often than a scanner`},
		{"theta one", "slow:\n  theta0: 1\n", `rules.yaml:2:11: slow.theta0: must be between 0 and 1 (exclusive), got 1`},
		{"theta zero", "slow:\n  theta1: 0\n", `rules.yaml:2:11: slow.theta1: must be between 0 and 1 (exclusive), got 0`},
		{"theta nan", "slow:\n  theta1: .nan\n", `rules.yaml:2:11: slow.theta1: must be between 0 and 1 (exclusive), got .nan`},
		{"theta string", "slow:\n  theta1: low\n", `rules.yaml:2:11: slow.theta1: expected a number, got "low"`},
		{"alarm one", "slow:\n  alarm: 1\n", `rules.yaml:2:10: slow.alarm: must be a finite number greater than 1, got 1`},
		{"alarm inf", "slow:\n  alarm: .inf\n", `rules.yaml:2:10: slow.alarm: must be a finite number greater than 1, got .inf`},
		{"enabled yes", "slow:\n  enabled: yes\n", `rules.yaml:2:12: slow.enabled: expected true or false, got "yes"`},
		{"min_ports negative", "slow:\n  min_ports: -2\n", `rules.yaml:2:14: slow.min_ports: must not be negative, got -2`},
		{"mask too big", "tcp_flags:\n  - {type: syn, mask: 256, value: SYN}\n", `rules.yaml:2:23: tcp_flags[0].mask: 256 out of range 0..255`},
		{"value negative", "tcp_flags:\n  - {type: syn, value: -1}\n", `rules.yaml:2:24: tcp_flags[0].value: -1 out of range 0..255`},
		{"value string number too big", "tcp_flags:\n  - {type: syn, value: \"0x100\"}\n", `rules.yaml:2:24: tcp_flags[0].value: 0x100 out of range 0..255`},
		{"value outside mask", "tcp_flags:\n  - {type: custom, name: syn-ack, mask: 0x0f, value: SYN|ACK}\n",
			`rules.yaml:2:54: tcp_flags[0]: value 0x12 has bits outside mask 0x0f, so it never matches`},
		{"unknown flag", "tcp_flags:\n  - {type: custom, value: SYN|FINN}\n",
			`rules.yaml:2:27: tcp_flags[0].value: unknown flag "FINN" in "SYN|FINN" (known: FIN SYN RST PSH ACK URG ECE CWR)`},
		{"empty flag", "tcp_flags:\n  - {type: custom, value: \"SYN|\"}\n",
			`rules.yaml:2:27: tcp_flags[0].value: unknown flag "" in "SYN|" (known: FIN SYN RST PSH ACK URG ECE CWR)`},
		{"unknown probe type", "tcp_flags:\n  - {type: synn, mask: 0x3f, value: SYN}\n",
			`rules.yaml:2:12: unknown probe type "synn" in tcp_flags[0] (known: syn, fin, null, xmas, maimon, ack, custom)`},
		{"probe type not scalar", "tcp_flags:\n  - {type: [syn], value: SYN}\n", `rules.yaml:2:12: tcp_flags[0].type: expected a probe type, got a sequence`},
		{"probe missing type", "tcp_flags:\n  - {mask: 0x3f, value: SYN}\n", `rules.yaml:2:5: tcp_flags[0]: missing key "type"`},
		{"probe missing value", "tcp_flags:\n  - type: syn\n    mask: 0x3f\n", `rules.yaml:2:5: tcp_flags[0]: missing key "value" (mask defaults to 0xff)`},
		{"probe not mapping", "tcp_flags:\n  - syn\n", `rules.yaml:2:5: tcp_flags[0]: expected a mapping, got "syn"`},
		{"probe unknown key", "tcp_flags:\n  - {type: syn, value: SYN, flags: 2}\n",
			`rules.yaml:2:29: unknown key "flags" in tcp_flags[0] (known: type, name, mask, value)`},
		{"shadowed pattern", "tcp_flags:\n  - {type: syn, mask: 0x02, value: SYN}\n  - {type: custom, name: syn-fin, value: SYN|FIN}\n",
			`rules.yaml:3:12: tcp_flags[1] (syn-fin): never matches: every flags byte it matches is taken by an earlier pattern`},
		{"merge key", "base: &b {ports: 1}\n", `rules.yaml:1:1: unknown key "base" at top level (known: home_networks, allow, state, timeouts, tcp_flags, detect, slow, memory, alerts)`},
		{"several, sorted", "slow:\n  alarm: 0\nstate:\n  max_flows: 0\nallow:\n  ports: [\"5-1\"]\n  scanner: []\n",
			"rules.yaml:2:10: slow.alarm: must be a finite number greater than 1, got 0\n" +
				"rules.yaml:4:14: state.max_flows: must be positive, got 0\n" +
				"rules.yaml:6:11: bad port range \"5-1\": 5 > 1\n" +
				"rules.yaml:7:3: unknown key \"scanner\" in allow (known: scanners, targets, ports)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rules.Parse("rules.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error\n%s", tt.in, r, tt.want)
			}
			if r != nil {
				t.Errorf("Parse returned rules along with an error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q) error:\n got: %s\nwant: %s", tt.in, got, tt.want)
			}
			var e *rules.Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *rules.Error", err)
			}
			if n := strings.Count(tt.want, "\n") + 1; len(e.Issues) != n {
				t.Errorf("%d issues, want %d", len(e.Issues), n)
			}
			for _, is := range e.Issues {
				if is.File != "rules.yaml" || is.Line < 1 || is.Col < 1 || is.Msg == "" {
					t.Errorf("bad issue %+v", is)
				}
			}
		})
	}
}

func TestTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("allow:\n  ports:\n")
	for i := range 80 {
		fmt.Fprintf(&b, "    - %d-1\n", 100+i)
	}
	_, err := rules.Parse("r.yaml", []byte(b.String()))
	var e *rules.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	if len(e.Issues) != 50 {
		t.Fatalf("%d issues, want 50", len(e.Issues))
	}
	if last := e.Issues[49].String(); last != "r.yaml:52:7: too many errors (31 more not shown)" {
		t.Errorf("last issue %q", last)
	}
}

// wantDefault is default.yaml spelled out in Go.
var wantDefault = &rules.Rules{
	HomeNetworks: []netip.Prefix{},
	Allow: rules.Allow{
		Scanners: []netip.Prefix{},
		Targets:  []netip.Prefix{},
		Ports:    []rules.PortRange{},
	},
	State:    rules.State{MaxTrackers: 65536, MaxFlows: 1048576, MaxFragments: 8192},
	Timeouts: rules.Timeouts{Reply: 5 * time.Second, Idle: 120 * time.Second},
	TCPFlags: []rules.FlagPattern{
		{Type: technique.Syn, Name: "syn", Pattern: tcpflags.Pattern{Mask: 0x3f, Value: 0x02}},
		{Type: technique.Fin, Name: "fin", Pattern: tcpflags.Pattern{Mask: 0x3f, Value: 0x01}},
		{Type: technique.Null, Name: "null", Pattern: tcpflags.Pattern{Mask: 0xff, Value: 0x00}},
		{Type: technique.Xmas, Name: "xmas", Pattern: tcpflags.Pattern{Mask: 0x3f, Value: 0x29}},
		{Type: technique.Maimon, Name: "maimon", Pattern: tcpflags.Pattern{Mask: 0x3f, Value: 0x11}},
		{Type: technique.Ack, Name: "ack", Pattern: tcpflags.Pattern{Mask: 0x3f, Value: 0x10}},
	},
	Detect: map[technique.Technique]rules.Threshold{
		technique.Syn:     {Ports: 15, Hosts: 15, Window: time.Minute},
		technique.Fin:     {Ports: 8, Hosts: 8, Window: time.Minute},
		technique.Null:    {Ports: 8, Hosts: 8, Window: time.Minute},
		technique.Xmas:    {Ports: 8, Hosts: 8, Window: time.Minute},
		technique.Maimon:  {Ports: 8, Hosts: 8, Window: time.Minute},
		technique.Ack:     {Ports: 10, Hosts: 10, Window: time.Minute},
		technique.Custom:  {Ports: 8, Hosts: 8, Window: time.Minute},
		technique.UDP:     {Ports: 15, Hosts: 15, Window: time.Minute},
		technique.SCTP:    {Ports: 8, Hosts: 8, Window: time.Minute},
		technique.IPProto: {Ports: 8, Hosts: 0, Window: time.Minute},
		technique.Ping:    {Ports: 0, Hosts: 10, Window: time.Minute},
		technique.ARP:     {Ports: 0, Hosts: 16, Window: time.Minute},
		technique.OSProbe: {Ports: 2, Hosts: 0, Window: 30 * time.Second},
		technique.Version: {Ports: 1, Hosts: 1, Window: time.Minute},
		technique.Script:  {Ports: 1, Hosts: 1, Window: time.Minute},
		technique.Idle:    {Ports: 5, Hosts: 5, Window: time.Minute},

		technique.FTPBounce: {Ports: 5, Hosts: 5, Window: 5 * time.Minute},
	},
	Slow:   rules.Slow{Enabled: true, Theta0: 0.8, Theta1: 0.2, Alarm: 99, Memory: 24 * time.Hour, MinPorts: 4},
	Memory: 256 << 20,
	Alerts: rules.AlertLimit{Rate: 5, Burst: 50},
}

func TestDefault(t *testing.T) {
	d := rules.Default()
	if !rules.Same(d, wantDefault) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", d, wantDefault)
	}
	// Every technique and probe type has its entry.
	for _, k := range rules.Techniques {
		if _, ok := d.Detect[k]; !ok {
			t.Errorf("default has no detect.%s", k)
		}
	}
	// Parsing the default text as a user file changes nothing.
	r, err := rules.Parse("default.yaml", rules.DefaultYAML())
	if err != nil {
		t.Fatal(err)
	}
	if !rules.Same(r, d) {
		t.Errorf("Parse(DefaultYAML()) = %+v, want %+v", r, d)
	}
	// Default returns independent copies.
	d.Detect[technique.Syn] = rules.Threshold{}
	d.TCPFlags[0].Value = 0
	if e := rules.Default(); !rules.Same(e, wantDefault) {
		t.Errorf("modifying one Default() changed the next")
	}
}

// TestDefaultMatchesYAML decodes default.yaml generically, by another path
// than the loader, and checks the loaded values against it.
func TestDefaultMatchesYAML(t *testing.T) {
	var y struct {
		State    map[string]int
		Timeouts map[string]string
		TCPFlags []struct {
			Type  string `yaml:"type"`
			Mask  int    `yaml:"mask"`
			Value string `yaml:"value"`
		} `yaml:"tcp_flags"`
		Detect map[any]struct { // a plain `null` key decodes as nil
			Ports, Hosts int
			Window       string
		}
		Slow struct {
			Enabled        bool
			Theta0, Theta1 float64
			Alarm          float64
			Memory         string
			MinPorts       int `yaml:"min_ports"`
		}
	}
	if err := yaml.Unmarshal(rules.DefaultYAML(), &y); err != nil {
		t.Fatal(err)
	}
	d := rules.Default()
	dur := func(s string) time.Duration {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := map[string]int{"max_trackers": d.State.MaxTrackers, "max_flows": d.State.MaxFlows, "max_fragments": d.State.MaxFragments}; !reflect.DeepEqual(got, y.State) {
		t.Errorf("state %v, yaml %v", got, y.State)
	}
	if d.Timeouts.Reply != dur(y.Timeouts["reply"]) || d.Timeouts.Idle != dur(y.Timeouts["idle"]) {
		t.Errorf("timeouts %+v, yaml %v", d.Timeouts, y.Timeouts)
	}
	if len(d.TCPFlags) != len(y.TCPFlags) {
		t.Fatalf("%d patterns, yaml %d", len(d.TCPFlags), len(y.TCPFlags))
	}
	for i, p := range y.TCPFlags {
		typ := p.Type
		if typ == "" { // plain `null` decodes to ""
			typ = "null"
		}
		tech, err := technique.Parse(typ)
		if err != nil {
			t.Fatal(err)
		}
		v, err := tcpflags.Parse(p.Value)
		if err != nil {
			t.Fatal(err)
		}
		if want := (rules.FlagPattern{Type: tech, Name: typ, Pattern: tcpflags.Pattern{Mask: tcpflags.Flags(p.Mask), Value: v}}); d.TCPFlags[i] != want {
			t.Errorf("tcp_flags[%d] = %+v, yaml %+v", i, d.TCPFlags[i], want)
		}
	}
	if len(d.Detect) != len(y.Detect) {
		t.Errorf("%d techniques, yaml %d", len(d.Detect), len(y.Detect))
	}
	for key, v := range y.Detect {
		k := "null"
		if key != nil {
			k = key.(string)
		}
		tech, err := technique.Parse(k)
		if err != nil {
			t.Fatal(err)
		}
		if want := (rules.Threshold{Ports: v.Ports, Hosts: v.Hosts, Window: dur(v.Window)}); d.Threshold(tech) != want {
			t.Errorf("detect.%s = %+v, yaml %+v", k, d.Threshold(tech), want)
		}
	}
	s := y.Slow
	if want := (rules.Slow{Enabled: s.Enabled, Theta0: s.Theta0, Theta1: s.Theta1, Alarm: s.Alarm, Memory: dur(s.Memory), MinPorts: s.MinPorts}); d.Slow != want {
		t.Errorf("slow = %+v, yaml %+v", d.Slow, want)
	}
}

func TestOverride(t *testing.T) {
	r, err := rules.Parse("r.yaml", []byte("allow: {scanners: [10.0.5.20/32]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := rules.Default()
	want.Allow.Scanners = []netip.Prefix{netip.MustParsePrefix("10.0.5.20/32")}
	if !rules.Same(r, want) {
		t.Errorf("got %+v\nwant %+v", r, want)
	}

	r, err = rules.Parse("r.yaml", []byte(`
home_networks: [10.0.0.0/8, "2001:db8::/32", 192.168.1.7, "::ffff:172.16.0.0/108", 10.1.2.3/16]
detect:
  syn: {ports: 30}        # hosts and window keep their defaults
  udp: {window: 5m}
  null: {hosts: 3}
tcp_flags:                # replaces the whole list
  - {type: custom, name: syn-fin, value: SYN|FIN}
  - {type: syn, mask: 0x3F, value: syn}
  - {type: null, value: 0}
  - {type: ack, mask: 0b00111111, value: 0x10}
state: {max_flows: 1000}
slow: {enabled: false, theta1: 0.3}
timeouts:
  idle: 1h30m
allow:
  ports: [53, "6000-6063", 0]
`))
	if err != nil {
		t.Fatal(err)
	}
	d := rules.Default()
	want = d.Clone()
	want.HomeNetworks = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("10.1.0.0/16"),
	}
	want.Detect[technique.Syn] = rules.Threshold{Ports: 30, Hosts: 15, Window: time.Minute}
	want.Detect[technique.UDP] = rules.Threshold{Ports: 15, Hosts: 15, Window: 5 * time.Minute}
	want.Detect[technique.Null] = rules.Threshold{Ports: 8, Hosts: 3, Window: time.Minute}
	want.TCPFlags = []rules.FlagPattern{
		{Type: technique.Custom, Name: "syn-fin", Pattern: tcpflags.Pattern{Mask: 0xff, Value: 0x03}},
		{Type: technique.Syn, Name: "syn", Pattern: tcpflags.Pattern{Mask: 0x3f, Value: 0x02}},
		{Type: technique.Null, Name: "null", Pattern: tcpflags.Pattern{Mask: 0xff, Value: 0}},
		{Type: technique.Ack, Name: "ack", Pattern: tcpflags.Pattern{Mask: 0x3f, Value: 0x10}},
	}
	want.State.MaxFlows = 1000
	want.Slow.Enabled = false
	want.Slow.Theta1 = 0.3
	want.Timeouts.Idle = 90 * time.Minute
	want.Allow.Ports = []rules.PortRange{{53, 53}, {6000, 6063}, {0, 0}}
	if !rules.Same(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
	if !rules.Same(rules.Default(), d) {
		t.Errorf("Parse changed the default")
	}

	// Null and empty values: an empty list replaces, a null section keeps.
	r, err = rules.Parse("r.yaml", []byte("home_networks:\nallow:\nstate: {}\ntcp_flags: []\ndetect: {syn: {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want = rules.Default()
	want.TCPFlags = []rules.FlagPattern{}
	want.HomeNetworks = []netip.Prefix{}
	if !rules.Same(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}

	// Anchors and aliases resolve.
	r, err = rules.Parse("r.yaml", []byte("detect:\n  fin: &t {ports: 4, hosts: 5, window: 10s}\n  null: *t\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Threshold(technique.Null) != (rules.Threshold{Ports: 4, Hosts: 5, Window: 10 * time.Second}) {
		t.Errorf("alias: null = %+v", r.Threshold(technique.Null))
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte("state:\n  max_flows: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := rules.Load(path)
	if want := path + ":2:14: state.max_flows: must be positive, got 0"; err == nil || err.Error() != want {
		t.Errorf("Load error %v, want %s", err, want)
	}
	if err := os.WriteFile(path, []byte("slow: {alarm: 20}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := rules.Load(path)
	if err != nil || r.Slow.Alarm != 20 {
		t.Errorf("Load = %+v, %v", r, err)
	}
	_, err = rules.Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load missing file: %v, want ErrNotExist", err)
	}
}

func TestHelpers(t *testing.T) {
	r, err := rules.Parse("r.yaml", []byte(`
home_networks: [10.0.0.0/8, "2001:db8::/32"]
allow:
  scanners: [10.0.5.20]
  targets: [10.9.0.0/16, "2001:db8:1::1"]
  ports: [53, 6000-6063]
`))
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	for _, tt := range []struct {
		addr                     string
		home, scanner, allowedTo bool
	}{
		{"10.1.2.3", true, false, false},
		{"::ffff:10.1.2.3", true, false, false},
		{"10.0.5.20", true, true, false},
		{"::ffff:10.0.5.20", true, true, false},
		{"10.0.5.21", true, false, false},
		{"10.9.200.1", true, false, true},
		{"11.0.0.1", false, false, false},
		{"2001:db8::5", true, false, false},
		{"2001:db8:1::1", true, false, true},
		{"fe80::1%eth0", false, false, false},
		{"2001:db8:1::1%eth0", true, false, true},
	} {
		x := a(tt.addr)
		if got := r.IsHome(x); got != tt.home {
			t.Errorf("IsHome(%s) = %v", x, got)
		}
		if got := r.AllowedScanner(x); got != tt.scanner {
			t.Errorf("AllowedScanner(%s) = %v", x, got)
		}
		if got := r.AllowedTarget(x); got != tt.allowedTo {
			t.Errorf("AllowedTarget(%s) = %v", x, got)
		}
	}
	if d := rules.Default(); !d.IsHome(a("8.8.8.8")) || !d.IsHome(netip.Addr{}) || d.AllowedScanner(a("8.8.8.8")) || d.AllowedTarget(a("8.8.8.8")) || d.AllowedPort(53) {
		t.Errorf("default: empty home means every address is home; empty allow lists allow nothing")
	}
	for p, want := range map[uint16]bool{52: false, 53: true, 54: false, 5999: false, 6000: true, 6030: true, 6063: true, 6064: false, 0: false, 65535: false} {
		if got := r.AllowedPort(p); got != want {
			t.Errorf("AllowedPort(%d) = %v", p, got)
		}
	}
	const (
		FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = tcpflags.FIN, tcpflags.SYN, tcpflags.RST, tcpflags.PSH, tcpflags.ACK, tcpflags.URG, tcpflags.ECE, tcpflags.CWR
	)
	for _, tt := range []struct {
		flags tcpflags.Flags
		want  string // "" for no match
	}{
		{SYN, "syn"}, {SYN | ECE | CWR, "syn"}, {FIN, "fin"}, {0, "null"},
		{FIN | PSH | URG, "xmas"}, {FIN | ACK, "maimon"}, {ACK, "ack"}, {ACK | CWR, "ack"},
		{SYN | ACK, ""}, {RST, ""}, {SYN | FIN, ""}, {CWR, ""}, {0xff, ""}, {PSH | ACK, ""},
	} {
		p, ok := r.ProbeType(tt.flags)
		if got := map[bool]string{true: p.Name}[ok]; got != tt.want {
			t.Errorf("ProbeType(%s) = %q, %v; want %q", tt.flags, p.Name, ok, tt.want)
		}
	}
	if r.Threshold(technique.Connect) != r.Threshold(technique.Syn) || r.Threshold(technique.Count) != (rules.Threshold{}) {
		t.Errorf("Threshold fallbacks")
	}
	// Hand-built rules work too.
	h := &rules.Rules{Allow: rules.Allow{Ports: []rules.PortRange{{10, 20}}}}
	if !h.AllowedPort(15) || h.AllowedPort(21) || !h.IsHome(a("1.2.3.4")) {
		t.Errorf("hand-built rules")
	}
	allocs := testing.AllocsPerRun(100, func() {
		r.IsHome(a("::ffff:10.1.2.3"))
		r.AllowedScanner(a("10.0.5.20"))
		r.AllowedTarget(a("2001:db8:1::1"))
		r.AllowedPort(6001)
		r.ProbeType(SYN)
		r.Threshold(technique.Syn)
	})
	if allocs != 0 {
		t.Errorf("helpers allocate %v times per call", allocs)
	}
}

// TestFlagSpellings: mask and value take every spelling tcpflags.Parse
// reads, YAML integers included.
func TestFlagSpellings(t *testing.T) {
	for in, want := range map[string]tcpflags.Flags{
		"SYN": 2, "syn|ack": 0x12, "FIN | PSH | URG": 0x29, "ECE|CWR": 0xc0, "0": 0, "0x3f": 0x3f, "255": 255, "0b11": 3,
		"SYNFIN": 3, `"FIN,PSH,URG"`: 0x29, "\"0x12\"": 0x12, "NONE": 0,
	} {
		r, err := rules.Parse("r.yaml", []byte("tcp_flags:\n  - {type: custom, value: "+in+"}\n"))
		if err != nil || r.TCPFlags[0].Value != want {
			t.Errorf("value: %s = %+v, %v; want %#x", in, r, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(rules.DefaultYAML())
	for _, s := range []string{
		"", "allow: {scanners: [10.0.5.20/32]}\n", "x: &a [*a]\n", "detect: {syn: {ports: 3}}\n",
		"tcp_flags:\n  - {type: custom, mask: 0x0f, value: SYN|ACK}\n", "slow: {theta0: 0.1}\n",
		"allow:\n  ports: [1-2, \"90-80\", 70000]\n", "a: 1\n---\nb: 2\n", "home_networks: *b\n",
		"detect:\n  fin: &t {ports: 4}\n  null: *t\n  syn: *t\n", "state: {max_flows: 0x10}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := rules.Parse("f.yaml", data)
		if err != nil {
			var e *rules.Error
			if r != nil || !errors.As(err, &e) || len(e.Issues) == 0 {
				t.Fatalf("Parse: rules %v, error %T %v", r, err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yaml:") {
					t.Fatalf("error line %q lacks the file:line:col prefix", line)
				}
			}
			return
		}
		// Whatever validates satisfies the invariants the detector relies on.
		if r.State.MaxTrackers <= 0 || r.State.MaxFlows <= 0 || r.State.MaxFragments <= 0 ||
			r.Timeouts.Reply <= 0 || r.Timeouts.Idle <= 0 || r.Slow.Memory <= 0 ||
			!(r.Slow.Theta1 > 0 && r.Slow.Theta1 < r.Slow.Theta0 && r.Slow.Theta0 < 1) || !(r.Slow.Alarm > 1) {
			t.Fatalf("invalid rules accepted: %+v", r)
		}
		for _, k := range rules.Techniques {
			th, ok := r.Detect[k]
			if !ok || th.Ports < 0 || th.Hosts < 0 || th.Window <= 0 {
				t.Fatalf("detect.%s = %+v, %v", k, th, ok)
			}
		}
		for _, p := range r.TCPFlags {
			if p.Validate() != nil || p.Name == "" {
				t.Fatalf("bad pattern %+v", p)
			}
		}
		for _, pr := range r.Allow.Ports {
			if pr.Lo > pr.Hi {
				t.Fatalf("bad port range %+v", pr)
			}
		}
	})
}

func BenchmarkHelpers(b *testing.B) {
	r, err := rules.Parse("r.yaml", []byte("home_networks: [10.0.0.0/8, 192.168.0.0/16, \"2001:db8::/32\"]\nallow: {scanners: [10.0.5.20], targets: [10.9.0.0/16], ports: [53, 6000-6063]}\n"))
	if err != nil {
		b.Fatal(err)
	}
	src, dst := netip.MustParseAddr("::ffff:192.168.7.7"), netip.MustParseAddr("10.1.2.3")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = r.IsHome(dst) && !r.AllowedScanner(src) && !r.AllowedTarget(dst) && !r.AllowedPort(uint16(i))
		r.ProbeType(tcpflags.Flags(i))
		r.Threshold(technique.Syn)
	}
}
