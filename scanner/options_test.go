package scanner

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	top := func(proto string, n int) []uint16 {
		p, err := TopPorts(proto, n)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		args    []string
		check   func(t *testing.T, o *Options)
		wantErr string
	}{
		{args: []string{"-sS", "-p", "22,80", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Techniques, []Technique{SYN}) || !slices.Equal(o.Ports.TCP, []uint16{22, 80}) ||
				!slices.Equal(o.TargetSpecs, []string{"10.79.0.2"}) {
				t.Errorf("opts = %+v", o.Config)
			}
			if def, _ := TimingTemplate(3); o.Timing != def {
				t.Errorf("timing %+v, want -T3's", o.Timing)
			}
		}},
		// nmap's default: the 1000 most common ports.
		{args: []string{"-sS", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Ports.TCP, top("tcp", 1000)) || o.Ports.UDP != nil {
				t.Errorf("%d tcp %d udp ports", len(o.Ports.TCP), len(o.Ports.UDP))
			}
		}},
		{args: []string{"-sU", "-F", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Techniques, []Technique{UDP}) || !slices.Equal(o.Ports.UDP, top("udp", 100)) || o.Ports.TCP != nil {
				t.Errorf("opts = %v %d udp ports", o.Techniques, len(o.Ports.UDP))
			}
		}},
		{args: []string{"-sS", "-sU", "--top-ports=20", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Techniques, []Technique{SYN, UDP}) || !slices.Equal(o.Ports.TCP, top("tcp", 20)) || !slices.Equal(o.Ports.UDP, top("udp", 20)) {
				t.Errorf("opts = %v tcp %v udp %v", o.Techniques, o.Ports.TCP, o.Ports.UDP)
			}
		}},
		// Scan types run together, prefixed ports split by protocol.
		{args: []string{"-sSU", "-p", "T:22,80,U:53", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Techniques, []Technique{SYN, UDP}) || !slices.Equal(o.Ports.TCP, []uint16{22, 80}) || !slices.Equal(o.Ports.UDP, []uint16{53}) {
				t.Errorf("opts = %v tcp %v udp %v", o.Techniques, o.Ports.TCP, o.Ports.UDP)
			}
		}},
		{args: []string{"-sU", "-p-", "--max-retries", "0", "-T4", "--json", "fd79::2"}, check: func(t *testing.T, o *Options) {
			if len(o.Ports.UDP) != 65535 || o.Timing.MaxRetries != 0 || o.Timing.MaxRTTTimeout != 1250*time.Millisecond || !o.JSON {
				t.Errorf("opts = %+v", o)
			}
		}},
		// Options after the targets, values attached, single-dash long options.
		{args: []string{"10.79.0.1-2", "-sA", "-p80", "-Pn", "-n", "-open", "-vv", "-v3", "-Taggressive"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Techniques, []Technique{ACK}) || len(o.TargetSpecs) != 1 || !slices.Equal(o.Ports.TCP, []uint16{80}) ||
				!o.Display.Open || o.Display.Verbose != 5 || o.Timing.Template != 4 {
				t.Errorf("opts = %+v", o)
			}
		}},
		{args: []string{"--scanflags", "SYNFIN", "-p", "T:22", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Techniques, []Technique{SYN}) || o.ScanFlags != FlagSYN|FlagFIN || !o.CustomFlags {
				t.Errorf("opts = %+v", o.Config)
			}
		}},
		{args: []string{"-sF", "--scanflags", "0", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if o.Techniques[0] != FIN || o.ScanFlags != 0 || !o.CustomFlags {
				t.Errorf("opts = %+v", o.Config)
			}
		}},
		{args: []string{"-sS", "--exclude-ports", "1-100", "--max-rate", "500.5", "--host-timeout", "2m", "-g53", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if slices.ContainsFunc(o.Ports.TCP, func(p uint16) bool { return p <= 100 }) || len(o.Ports.TCP) == 0 ||
				o.Timing.MaxRate != 500.5 || o.Timing.HostTimeout != 2*time.Minute || o.SourcePort != 53 {
				t.Errorf("opts = %+v", o.Config)
			}
		}},
		{args: []string{"-sS", "--exclude", "10.0.0.5,10.0.0.6", "10.0.0.0/29", "--", "-x"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Exclude, []string{"10.0.0.5", "10.0.0.6"}) || !slices.Equal(o.TargetSpecs, []string{"10.0.0.0/29", "-x"}) {
				t.Errorf("exclude %q targets %q", o.Exclude, o.TargetSpecs)
			}
		}},
		{args: []string{"-T2", "--min-rate", "100", "--max-rate", "200", "--scan-delay", "10ms", "--max-parallelism", "5", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			tm := o.Timing
			if tm.Template != 2 || tm.MinRate != 100 || tm.MaxRate != 200 || tm.ScanDelay != 10*time.Millisecond || tm.MaxParallelism != 5 {
				t.Errorf("timing %+v", tm)
			}
		}},
		{args: []string{"--min-rate", "300", "--max-rate", "200", "10.79.0.2"}, wantErr: "more than --max-rate"},
		{args: []string{"-sS", "-sY", "-p", "T:80,S:2905,3868", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Ports.TCP, []uint16{80}) || !slices.Equal(o.Ports.SCTP, []uint16{2905, 3868}) {
				t.Errorf("tcp %v sctp %v", o.Ports.TCP, o.Ports.SCTP)
			}
		}},
		{args: []string{"-sZ", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if all, _ := TopPorts("sctp", 1000); !slices.Equal(o.Ports.SCTP, all) || len(all) != 52 {
				t.Errorf("sctp %d ports", len(o.Ports.SCTP))
			}
		}},
		{args: []string{"-sO", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if len(o.Ports.Protocols) != 256 {
				t.Errorf("%d protocols", len(o.Ports.Protocols))
			}
		}},
		{args: []string{"-sO", "-p", "1,6,17,47", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Ports.Protocols, []uint16{1, 6, 17, 47}) {
				t.Errorf("protocols %v", o.Ports.Protocols)
			}
		}},
		{args: []string{"-D", "10.0.0.7,ME,10.0.0.9", "-S", "10.0.0.1", "-ff", "--ttl", "33", "--data-length", "20", "--badsum", "-g", "53", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			ev := o.Evasion
			if len(ev.Decoys) != 2 || ev.MePos != 1 || ev.Spoof != netip.MustParseAddr("10.0.0.1") || ev.MTU != 16 || ev.TTL != 33 ||
				ev.DataLength != 20 || !ev.BadSum || o.SourcePort != 53 {
				t.Errorf("evasion %+v", ev)
			}
		}},
		{args: []string{"--data", "\\xde\\xad", "--mtu", "24", "10.79.0.2"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Evasion.Data, []byte{0xde, 0xad}) || o.Evasion.MTU != 24 {
				t.Errorf("evasion %+v", o.Evasion)
			}
		}},
		{args: []string{"--mtu", "20", "10.79.0.2"}, wantErr: "multiple of 8"},
		{args: []string{"-sT", "-f", "10.79.0.2"}, wantErr: "not -sT"},
		{args: []string{"-sY", "-sZ", "10.79.0.2"}, wantErr: "one SCTP scan type"},
		{args: []string{"-sS", "-p", "22"}, wantErr: "no target"},
		{args: nil, wantErr: "no target"},
		{args: []string{"-sS", "-sT", "10.79.0.2"}, wantErr: "one TCP scan type"},
		{args: []string{"-sS", "-p", "U:53", "10.79.0.2"}, wantErr: "no udp scan"},
		{args: []string{"-sS", "-sU", "-p", "U:53", "10.79.0.2"}, wantErr: "no tcp ports"},
		{args: []string{"-sU", "--scanflags", "SYN", "10.79.0.2"}, wantErr: "needs a raw TCP technique"},
		{args: []string{"--scanflags", "BOGUS", "10.79.0.2"}, wantErr: "is not a flag"},
		{args: []string{"-p", "0-10", "10.79.0.2"}, wantErr: "out of range"},
		{args: []string{"-p", "ssh", "10.79.0.2"}, wantErr: "not a port number"},
		{args: []string{"-p", "22", "-F", "10.79.0.2"}, wantErr: "cannot be combined"},
		{args: []string{"--top-ports", "0", "10.79.0.2"}, wantErr: "1 or more"},
		{args: []string{"-T6", "10.79.0.2"}, wantErr: "want 0-5"},
		{args: []string{"--max-retries", "-1", "10.79.0.2"}, wantErr: "want 0 or more"},
		{args: []string{"--min-rtt-timeout", "2s", "--max-rtt-timeout", "1s", "10.79.0.2"}, wantErr: "more than the max"},
		{args: []string{"--host-timeout", "soon", "10.79.0.2"}, wantErr: "is not a time"},
		{args: []string{"-p"}, wantErr: "needs a value"},
		{args: []string{"-sV", "10.79.0.2"}, wantErr: "-sV: not supported"},
		{args: []string{"-sSV", "10.79.0.2"}, wantErr: "-sV: not supported"},
		{args: []string{"--script=vuln", "10.79.0.2"}, wantErr: "--script: not supported"},
		{args: []string{"-O", "10.79.0.2"}, wantErr: "-O: not supported"},
		{args: []string{"-sQ", "10.79.0.2"}, wantErr: "-sQ: unknown option"},
		{args: []string{"--bogus", "10.79.0.2"}, wantErr: "--bogus: unknown option"},
	}
	for _, tt := range tests {
		o, err := ParseArgs(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error = %v, want one containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		tt.check(t, o)
	}
}

// TestEveryOptionIsHandled: each implemented option parses and shows in
// -h; each nmap option scanwatch lacks is refused as "not supported" and
// listed as such.
func TestEveryOptionIsHandled(t *testing.T) {
	usage := Usage()
	values := map[string]string{"<ports>": "22", "<0-5>": "4", "<number>": "10", "<tries>": "1", "<port>": "53",
		"<flags>": "SYN", "<probes>": "4", "<basename>": "/dev/null/x", "<bytes>": "16", "<value>": "64", "<decoy,...[,ME]>": "10.0.0.7,ME,RND:2", "<address>": "10.0.0.8", "<hex>": "0xdead", "<string>": "hi", "<iface>": "lo", "<hosts>": "10.0.0.9", "<time>": "1s"}
	dir := t.TempDir()
	list := filepath.Join(dir, "targets")
	if err := os.WriteFile(list, []byte("10.0.0.1 # a comment\n10.0.0.2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	values["<file>"] = list
	for _, o := range options {
		for _, name := range o.names {
			args := []string{name}
			if o.arg != "" && !o.optionalArg {
				v, ok := values[o.arg]
				if !ok && o.set != nil {
					t.Errorf("%s: no test value for %s", name, o.arg)
					continue
				}
				if !ok {
					v = "x"
				}
				args = append(args, v)
			}
			args = append(args, "10.0.0.3")
			_, err := ParseArgs(args)
			switch {
			case o.set == nil:
				if !IsNotSupported(err) || !strings.HasPrefix(err.Error(), name+": not supported") {
					t.Errorf("%q: error %v, want %q", args, err, name+": not supported")
				}
				if !strings.Contains(usage, " "+name) {
					t.Errorf("-h does not list unsupported %s", name)
				}
			case errors.Is(err, ErrHelp):
			case err != nil:
				t.Errorf("%q: %v", args, err)
			}
			if o.set != nil && !strings.Contains(usage, name) {
				t.Errorf("-h does not list %s", name)
			}
		}
	}
	o, err := ParseArgs([]string{"-iL", list, "-sS"})
	if err != nil || !slices.Equal(o.TargetSpecs, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("-iL: %q, %v", o.TargetSpecs, err)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Duration{"1": time.Second, "1.5": 1500 * time.Millisecond, "250ms": 250 * time.Millisecond,
		"2s": 2 * time.Second, "3m": 3 * time.Minute, "1h": time.Hour, "1m30s": 90 * time.Second} {
		if got, err := ParseTime(in); err != nil || got != want {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "5d"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) succeeded", bad)
		}
	}
}

// TestTopPorts checks the generated lists against facts of nmap-services
// (the nmap tests compare whole lists with real nmap).
func TestTopPorts(t *testing.T) {
	tcp, _ := TopPorts("tcp", 3)
	udp, _ := TopPorts("udp", 3)
	if !slices.Equal(tcp, []uint16{23, 80, 443}) || !slices.Equal(udp, []uint16{137, 161, 631}) {
		t.Errorf("top 3: tcp %v udp %v", tcp, udp)
	}
	for _, proto := range []string{"tcp", "udp"} {
		p, _ := TopPorts(proto, 1000)
		if len(p) != 1000 || !slices.IsSorted(p) {
			t.Errorf("%s top 1000: %d ports, sorted %v", proto, len(p), slices.IsSorted(p))
		}
	}
	if s := Service("tcp", 22); s != "ssh" {
		t.Errorf("22/tcp is %q", s)
	}
	if s := Service("udp", 53); s != "domain" {
		t.Errorf("53/udp is %q", s)
	}
	if s := Service("tcp", 31337); s != "Elite" {
		t.Errorf("31337/tcp is %q", s)
	}
	if s := Service("tcp", 65000); s != "unknown" {
		t.Errorf("65000/tcp is %q", s)
	}
}
