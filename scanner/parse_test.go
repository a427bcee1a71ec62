package scanner

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParsePorts(t *testing.T) {
	all := func(lo, hi int) []uint16 {
		var p []uint16
		for i := lo; i <= hi; i++ {
			p = append(p, uint16(i))
		}
		return p
	}
	tests := []struct {
		spec    string
		want    []uint16
		wantErr string
	}{
		{spec: "22", want: []uint16{22}},
		{spec: "22,80,443", want: []uint16{22, 80, 443}},
		{spec: "80,22,80", want: []uint16{22, 80}},
		{spec: "1000-1003", want: []uint16{1000, 1001, 1002, 1003}},
		{spec: " 22 , 25-26 ", want: []uint16{22, 25, 26}},
		{spec: "-", want: all(1, 65535)},
		{spec: "-3", want: []uint16{1, 2, 3}},
		{spec: "65533-", want: []uint16{65533, 65534, 65535}},
		{spec: "T:22,80,U:53", want: []uint16{22, 53, 80}},
		{spec: "", wantErr: "empty port spec"},
		{spec: "0", wantErr: "out of range"},
		{spec: "65536", wantErr: "out of range"},
		{spec: "ssh", wantErr: "not a port number"},
		{spec: "20-10", wantErr: "backwards"},
		{spec: "22,,80", wantErr: "empty item"},
		{spec: "X:22", wantErr: "unknown protocol prefix"},
		{spec: "1-2-3", wantErr: "not a port number"},
	}
	for _, tt := range tests {
		got, err := ParsePorts(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePorts(%q) error = %v, want one containing %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParsePorts(%q) = %v (%d ports), %v; want %d ports", tt.spec, head(got), len(got), err, len(tt.want))
		}
	}
}

func head(p []uint16) []uint16 { return p[:min(len(p), 8)] }

func TestParsePortsFor(t *testing.T) {
	tcp, err := ParsePortsFor("T:22,80,U:53,161", "tcp")
	if err != nil || !slices.Equal(tcp, []uint16{22, 80}) {
		t.Errorf("tcp = %v, %v", tcp, err)
	}
	udp, err := ParsePortsFor("T:22,80,U:53,161", "udp")
	if err != nil || !slices.Equal(udp, []uint16{53, 161}) {
		t.Errorf("udp = %v, %v", udp, err)
	}
	both, err := ParsePortsFor("443,U:53", "tcp")
	if err != nil || !slices.Equal(both, []uint16{443}) {
		t.Errorf("unprefixed = %v, %v", both, err)
	}
	if _, err := ParsePortsFor("U:53", "tcp"); err == nil || !strings.Contains(err.Error(), "no tcp ports") {
		t.Errorf("U:53 for tcp: err = %v", err)
	}
}

func TestParseTargets(t *testing.T) {
	addrs := func(s ...string) []netip.Addr {
		var a []netip.Addr
		for _, x := range s {
			a = append(a, netip.MustParseAddr(x))
		}
		return a
	}
	tests := []struct {
		specs   []string
		want    []netip.Addr
		count   int
		wantErr string
	}{
		{specs: []string{"10.0.0.1"}, want: addrs("10.0.0.1")},
		{specs: []string{"fd79::2"}, want: addrs("fd79::2")},
		{specs: []string{"::ffff:10.0.0.1"}, want: addrs("10.0.0.1")},
		{specs: []string{"10.0.0.1-3"}, want: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3")},
		{specs: []string{"10.0.0.254-10.0.1.1"}, want: addrs("10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1")},
		{specs: []string{"fd79::1-3"}, want: addrs("fd79::1", "fd79::2", "fd79::3")},
		{specs: []string{"10.0.0.0/30"}, want: addrs("10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3")},
		{specs: []string{"10.0.0.5/30"}, want: addrs("10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7")},
		{specs: []string{"fd79::/126"}, want: addrs("fd79::", "fd79::1", "fd79::2", "fd79::3")},
		{specs: []string{"10.0.0.1", "10.0.0.0/31"}, want: addrs("10.0.0.1", "10.0.0.0")},
		{specs: []string{"10.0.0.0/16"}, count: 65536},
		{specs: []string{"255.255.255.254/31"}, want: addrs("255.255.255.254", "255.255.255.255")},
		{specs: []string{"10.0.0.0/15"}, wantErr: "more than 65536"},
		{specs: []string{"fd79::/64"}, wantErr: "more than 65536"},
		{specs: []string{"10.0.0.0/16", "10.1.0.1"}, wantErr: "more than 65536"},
		{specs: []string{"10.0.0.0-10.1.0.0"}, wantErr: "more than 65536"},
		{specs: []string{"10.0.0.9-3"}, wantErr: "backwards"},
		{specs: []string{"10.0.0.1-300"}, wantErr: "octet 0-255"},
		{specs: []string{"10.0.0.1-fd79::1"}, wantErr: "mixes IPv4 and IPv6"},
		{specs: []string{"10.0.0.0/33"}, wantErr: "bad CIDR"},
		{specs: []string{""}, wantErr: "empty target"},
		{specs: nil, wantErr: "no targets"},
		{specs: []string{"fe80::1%eth0"}, wantErr: "zoned"},
	}
	for _, tt := range tests {
		got, err := ParseTargets(tt.specs)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTargets(%q) error = %v, want one containing %q", tt.specs, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTargets(%q): %v", tt.specs, err)
			continue
		}
		if tt.want != nil && !slices.Equal(got, tt.want) {
			t.Errorf("ParseTargets(%q) = %v, want %v", tt.specs, got, tt.want)
		}
		if tt.count != 0 && len(got) != tt.count {
			t.Errorf("ParseTargets(%q) gave %d addresses, want %d", tt.specs, len(got), tt.count)
		}
	}
}

func TestParseScanFlags(t *testing.T) {
	tests := []struct {
		in      string
		want    uint8
		wantErr string
	}{
		{in: "SYN", want: FlagSYN},
		{in: "SYNFIN", want: FlagSYN | FlagFIN},
		{in: "finsyn", want: FlagSYN | FlagFIN},
		{in: "URGACKPSHRSTSYNFIN", want: 0x3f},
		{in: "ECECWR", want: FlagECE | FlagCWR},
		{in: "9", want: FlagPSH | FlagFIN},
		{in: "0x29", want: FlagURG | FlagPSH | FlagFIN},
		{in: "0", want: 0},
		{in: "255", want: 255},
		{in: "", wantErr: "empty"},
		{in: "256", wantErr: "0-255"},
		{in: "SYNX", wantErr: `unknown flag "SYNX"`},
		{in: "FOO", wantErr: `"FOO" is not a flag`},
		{in: "12abc", wantErr: "0-255"},
	}
	for _, tt := range tests {
		got, err := ParseScanFlags(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseScanFlags(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseScanFlags(%q) = %#x, %v; want %#x", tt.in, got, err, tt.want)
		}
	}
	if s := FlagString(FlagSYN | FlagFIN); s != "SYNFIN" {
		t.Errorf("FlagString = %q", s)
	}
	if s := FlagString(0); s != "NONE" {
		t.Errorf("FlagString(0) = %q", s)
	}
}

func TestTechniqueNames(t *testing.T) {
	for tech := SYN; tech <= UDP; tech++ {
		got, ok := TechniqueFromOption(tech.Option())
		if !ok || got != tech {
			t.Errorf("TechniqueFromOption(%q) = %v, %v", tech.Option(), got, ok)
		}
		var u Technique
		if err := u.UnmarshalText([]byte(tech.String())); err != nil || u != tech {
			t.Errorf("UnmarshalText(%q) = %v, %v", tech, u, err)
		}
	}
	if _, ok := TechniqueFromOption("-sV"); ok {
		t.Error("-sV accepted")
	}
	for _, s := range []PortState{Open, Closed, Filtered, Unfiltered, OpenFiltered, ClosedFiltered} {
		if got, err := ParsePortState(s.String()); err != nil || got != s {
			t.Errorf("ParsePortState(%q) = %v, %v", s, got, err)
		}
	}
	if OpenFiltered.String() != "open|filtered" {
		t.Errorf("OpenFiltered = %q", OpenFiltered)
	}
}

// TestExpandTargetsSkips: a bad target is reported and skipped, the others
// kept; excluded addresses are left out.
func TestExpandTargetsSkips(t *testing.T) {
	addrs, skipped, err := ExpandTargets(context.Background(),
		[]string{"10.0.0.1", "not!a!host", "10.0.0.0/29", "10.0.0.1-300"}, []string{"10.0.0.4/30", "10.0.0.2"})
	want := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.0.0.3")}
	if err != nil || !slices.Equal(addrs, want) || len(skipped) != 2 {
		t.Errorf("addrs %v, skipped %v, err %v; want %v and 2 skipped", addrs, skipped, err, want)
	}
	if _, _, err := ExpandTargets(context.Background(), []string{"not!a!host"}, nil); err == nil {
		t.Error("no usable target: no error")
	}
	if _, _, err := ExpandTargets(context.Background(), []string{"10.0.0.1"}, []string{"10.0.0.0/8"}); err == nil || !strings.Contains(err.Error(), "no targets") {
		t.Errorf("all excluded: err %v", err)
	}
}
