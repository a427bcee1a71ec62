package rules

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// The keys each section of a rules file takes; the loader methods below
// walk each section onto Rules.
var (
	topKeys     = []string{"home_networks", "allow", "state", "timeouts", "tcp_flags", "detect", "slow", "memory", "alerts"}
	allowKeys   = []string{"scanners", "targets", "ports"}
	stateKeys   = []string{"max_trackers", "max_flows", "max_fragments"}
	timeoutKeys = []string{"reply", "idle"}
	patternKeys = []string{"type", "name", "mask", "value"}
	detectKeys  = []string{"ports", "hosts", "window"}
	slowKeys    = []string{"enabled", "theta0", "theta1", "alarm", "memory", "min_ports"}
	alertKeys   = []string{"rate", "burst"}
)

// ProbeTypes are the values allowed for FlagPattern.Type, in tcp_flags:
// the techniques told apart by TCP flags (technique.ByFlags).
var ProbeTypes = probeTypes()

// Techniques are the keys allowed under detect: every technique but
// connect, which counts against syn's threshold. They come in the order the
// embedded default lists them, the order users read and messages name them
// (TestTechniquesInDefaultOrder holds the two together: a list here, not a
// parse of the default at start, which every command would pay for).
var Techniques = []technique.Technique{
	technique.Syn, technique.Fin, technique.Null, technique.Xmas, technique.Maimon,
	technique.Ack, technique.Custom, technique.UDP, technique.SCTP, technique.IPProto,
	technique.Ping, technique.ARP, technique.OSProbe, technique.Version, technique.Script,
	technique.Idle, technique.FTPBounce,
}

func probeTypes() []technique.Technique {
	var out []technique.Technique
	for t := range technique.Count {
		if t.ByFlags() {
			out = append(out, t)
		}
	}
	return out
}

// names spells techniques for messages.
func names(ts []technique.Technique) []string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return s
}

func (l *loader) top(n *yaml.Node) {
	l.mapping(n, "", "key", topKeys, func(key string, v *yaml.Node) {
		switch key {
		case "home_networks":
			if ps, ok := l.prefixes(v, key); ok {
				l.r.HomeNetworks = ps
			}
		case "allow":
			l.allow(v)
		case "state":
			l.state(v)
		case "timeouts":
			l.timeouts(v)
		case "tcp_flags":
			l.tcpFlags(v)
		case "detect":
			l.detect(v)
		case "slow":
			l.slow(v)
		case "memory":
			l.memory(v)
		case "alerts":
			l.alerts(v)
		}
	})
}

// alerts reads the alert budget.
func (l *loader) alerts(n *yaml.Node) {
	l.mapping(n, "alerts", "key", alertKeys, func(key string, v *yaml.Node) {
		path := "alerts." + key
		switch key {
		case "rate":
			f, ok := l.float(v, path)
			if !ok {
				return
			}
			if !(f > 0 && f <= MaxAlertRate) {
				l.errorf(v, "%s: must be more than 0 and at most %d alerts a second, got %s", path, MaxAlertRate, excerpt(v.Value))
				return
			}
			l.r.Alerts.Rate = f
		case "burst":
			if c, ok := l.positive(v, path); ok && l.atMost(v, path, c, MaxAlertBurst) {
				l.r.Alerts.Burst = c
			}
		}
	})
}

// memory reads the byte budget: bytes, or a size such as 256MiB.
func (l *loader) memory(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errorf(n, "memory: expected a size such as 256MiB, got %s", describe(n))
		return
	}
	v, err := ParseBytes(n.Value)
	if err != nil {
		l.errorf(n, "memory: %v", err)
		return
	}
	if v < MinMemory || v > MaxMemory {
		l.errorf(n, "memory: %s is outside %s..%s", excerpt(n.Value), FormatBytes(MinMemory), FormatBytes(MaxMemory))
		return
	}
	l.r.Memory = v
}

func (l *loader) allow(n *yaml.Node) {
	l.mapping(n, "allow", "key", allowKeys, func(key string, v *yaml.Node) {
		path := "allow." + key
		switch key {
		case "scanners":
			if ps, ok := l.prefixes(v, path); ok {
				l.r.Allow.Scanners = ps
			}
		case "targets":
			if ps, ok := l.prefixes(v, path); ok {
				l.r.Allow.Targets = ps
			}
		case "ports":
			if prs, ok := l.ports(v, path); ok {
				l.r.Allow.Ports = prs
			}
		}
	})
}

// prefixes parses a list of CIDR prefixes or bare addresses.
func (l *loader) prefixes(n *yaml.Node, path string) ([]netip.Prefix, bool) {
	items, ok := l.sequence(n, path)
	if !ok {
		return nil, false
	}
	out := []netip.Prefix{}
	for i, it := range items {
		s, sok := l.str(it, fmt.Sprintf("%s[%d]", path, i))
		if !sok {
			ok = false
			continue
		}
		p, err := ParsePrefix(s)
		if err != nil {
			l.errorf(it, "%v", err)
			ok = false
			continue
		}
		out = append(out, p)
	}
	return out, ok
}

// ParsePrefix parses a CIDR prefix or a bare address (a /32 or /128). It
// masks host bits and turns IPv4-mapped IPv6 prefixes into IPv4 ones.
func ParsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad address %q: %s", excerpt(s), shorten(strings.TrimPrefix(err.Error(), "ParseAddr("+strconv.Quote(s)+"): ")))
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("bad address %q: zones are not allowed", excerpt(s))
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad CIDR %q: %s", excerpt(s), shorten(strings.TrimPrefix(err.Error(), "netip.ParsePrefix("+strconv.Quote(s)+"): ")))
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// ports parses a list of ports (ints) and "lo-hi" ranges.
func (l *loader) ports(n *yaml.Node, path string) ([]PortRange, bool) {
	items, ok := l.sequence(n, path)
	if !ok {
		return nil, false
	}
	out := []PortRange{}
	for i, it := range items {
		if it.Kind != yaml.ScalarNode || isNull(it) {
			l.errorf(it, "%s[%d]: expected a port or a \"lo-hi\" range, got %s", path, i, describe(it))
			ok = false
			continue
		}
		pr, err := ParsePortRange(it.Value)
		if err != nil {
			l.errorf(it, "%v", err)
			ok = false
			continue
		}
		out = append(out, pr)
	}
	return out, ok
}

// ParsePortRange parses "80" or "6000-6063" (inclusive, 0..65535, lo <= hi).
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		p, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return PortRange{}, fmt.Errorf("bad port %q: want a port or a \"lo-hi\" range", excerpt(s))
		}
		if p < 0 || p > 65535 {
			return PortRange{}, fmt.Errorf("bad port %d: out of range 0..65535", p)
		}
		return PortRange{uint16(p), uint16(p)}, nil
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case err1 != nil || err2 != nil:
		return PortRange{}, fmt.Errorf("bad port range %q: want a port or a \"lo-hi\" range", excerpt(s))
	case a < 0 || a > 65535:
		return PortRange{}, fmt.Errorf("bad port range %q: %d out of range 0..65535", excerpt(s), a)
	case b < 0 || b > 65535:
		return PortRange{}, fmt.Errorf("bad port range %q: %d out of range 0..65535", excerpt(s), b)
	case a > b:
		return PortRange{}, fmt.Errorf("bad port range %q: %d > %d", excerpt(s), a, b)
	}
	return PortRange{uint16(a), uint16(b)}, nil
}

func (l *loader) state(n *yaml.Node) {
	l.mapping(n, "state", "key", stateKeys, func(key string, v *yaml.Node) {
		c, ok := l.positive(v, "state."+key)
		if !ok || !l.atMost(v, "state."+key, c, map[string]int{"max_trackers": MaxTrackers, "max_flows": MaxFlows, "max_fragments": MaxFragments}[key]) {
			return
		}
		switch key {
		case "max_trackers":
			l.r.State.MaxTrackers = c
		case "max_flows":
			l.r.State.MaxFlows = c
		case "max_fragments":
			l.r.State.MaxFragments = c
		}
	})
}

func (l *loader) timeouts(n *yaml.Node) {
	l.mapping(n, "timeouts", "key", timeoutKeys, func(key string, v *yaml.Node) {
		d, ok := l.duration(v, "timeouts."+key)
		if !ok || !l.shorter(v, "timeouts."+key, d, map[string]time.Duration{"reply": MaxReply, "idle": MaxIdle}[key]) {
			return
		}
		switch key {
		case "reply":
			l.r.Timeouts.Reply = d
		case "idle":
			l.r.Timeouts.Idle = d
		}
	})
}

func (l *loader) tcpFlags(n *yaml.Node) {
	items, ok := l.sequence(n, "tcp_flags")
	if !ok {
		return
	}
	out := []FlagPattern{}
	var nodes []*yaml.Node
	for i, it := range items {
		path := fmt.Sprintf("tcp_flags[%d]", i)
		if it.Kind != yaml.MappingNode {
			l.errorf(it, "%s: expected a mapping, got %s", path, describe(it))
			ok = false
			continue
		}
		p := FlagPattern{Pattern: tcpflags.Pattern{Mask: 0xff}}
		var typeNode, valueNode *yaml.Node
		good := true
		l.mapping(it, path, "key", patternKeys, func(key string, v *yaml.Node) {
			switch key {
			case "type":
				typeNode = v
				// Plain `null` resolves to YAML null; here it is the probe type.
				s, sok := v.Value, v.Kind == yaml.ScalarNode && v.Value != ""
				if !sok {
					l.errorf(v, "%s.type: expected a probe type, got %s", path, describe(v))
					good = false
				} else if t, err := technique.Parse(s); err != nil || !t.ByFlags() {
					l.errorf(v, "unknown probe type %q in %s (known: %s)", excerpt(s), path, strings.Join(names(ProbeTypes), ", "))
					good = false
				} else {
					p.Type = t
				}
			case "name":
				s, sok := l.str(v, path+".name")
				good = good && sok
				p.Name = s
			case "mask":
				m, mok := l.flags(v, path+".mask")
				good = good && mok
				p.Mask = m
			case "value":
				valueNode = v
				m, mok := l.flags(v, path+".value")
				good = good && mok
				p.Value = m
			}
		})
		if typeNode == nil {
			l.errorf(it, "%s: missing key \"type\"", path)
			good = false
		}
		if valueNode == nil {
			l.errorf(it, "%s: missing key \"value\" (mask defaults to 0xff)", path)
			good = false
		}
		if good {
			if err := p.Validate(); err != nil {
				l.errorf(valueNode, "%s: %v", path, err)
				good = false
			}
		}
		if !good {
			ok = false
			continue
		}
		if p.Name == "" {
			p.Name = p.Type.String()
		}
		out = append(out, p)
		nodes = append(nodes, typeNode)
	}
	if ok {
		l.r.TCPFlags = out
		l.patternNodes = nodes
	}
}

// flags parses a tcp[13] byte: an integer 0..255 (0x3f works) or flag
// names joined by "|" (FIN SYN RST PSH ACK URG ECE CWR, any case); see
// tcpflags.Parse for every spelling.
func (l *loader) flags(n *yaml.Node, path string) (tcpflags.Flags, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errorf(n, "%s: expected a number 0..255 or flag names joined by \"|\", got %s", path, describe(n))
		return 0, false
	}
	v, err := tcpflags.Parse(n.Value)
	if err != nil {
		l.errorf(n, "%s: %s", path, shorten(err.Error()))
		return 0, false
	}
	return v, true
}

func (l *loader) detect(n *yaml.Node) {
	l.mapping(n, "detect", "technique", names(Techniques), func(name string, v *yaml.Node) {
		path := "detect." + name
		tech, _ := technique.Parse(name) // known names parse
		t := l.r.Detect[tech]
		changed := false
		l.mapping(v, path, "key", detectKeys, func(key string, v *yaml.Node) {
			switch key {
			case "ports":
				if c, ok := l.nonNegative(v, path+"."+key); ok && l.atMost(v, path+"."+key, c, MaxPorts) {
					t.Ports, changed = c, true
				}
			case "hosts":
				if c, ok := l.nonNegative(v, path+"."+key); ok && l.atMost(v, path+"."+key, c, MaxHosts) {
					t.Hosts, changed = c, true
				}
			case "window":
				if d, ok := l.duration(v, path+"."+key); ok && l.shorter(v, path+"."+key, d, MaxWindow) {
					t.Window, changed = d, true
				}
			}
		})
		if _, had := l.r.Detect[tech]; changed || !had {
			l.r.Detect[tech] = t
		}
	})
}

func (l *loader) slow(n *yaml.Node) {
	l.mapping(n, "slow", "key", slowKeys, func(key string, v *yaml.Node) {
		path := "slow." + key
		switch key {
		case "enabled":
			if b, ok := l.boolean(v, path); ok {
				l.r.Slow.Enabled = b
			}
		case "theta0", "theta1":
			f, ok := l.float(v, path)
			if !ok {
				return
			}
			if !(f > 0 && f < 1) {
				l.errorf(v, "%s: must be between 0 and 1 (exclusive), got %s", path, excerpt(v.Value))
				return
			}
			if key == "theta0" {
				l.r.Slow.Theta0, l.theta0 = f, v
			} else {
				l.r.Slow.Theta1, l.theta1 = f, v
			}
		case "alarm":
			f, ok := l.float(v, path)
			if !ok {
				return
			}
			if !(f > 1) || math.IsInf(f, 0) {
				l.errorf(v, "%s: must be a finite number greater than 1, got %s", path, excerpt(v.Value))
				return
			}
			l.r.Slow.Alarm = f
		case "memory":
			if d, ok := l.duration(v, path); ok && l.shorter(v, path, d, MaxSlowMemory) {
				l.r.Slow.Memory = d
			}
		case "min_ports":
			if c, ok := l.nonNegative(v, path); ok && l.atMost(v, path, c, MaxPorts) {
				l.r.Slow.MinPorts = c
			}
		}
	})
}

// crossCheck validates relations between fields, after the merge with the
// defaults, and reports them at a node the file gave.
func (l *loader) crossCheck() {
	s := l.r.Slow
	if at := cmp.Or(l.theta0, l.theta1); at != nil && s.Theta0 <= s.Theta1 {
		l.errorf(at, "slow: theta0 (%g) must be greater than theta1 (%g): a benign host succeeds more often than a scanner", s.Theta0, s.Theta1)
	}
	// A pattern every flags byte of which an earlier one takes never matches.
	if l.patternNodes != nil {
		live := make([]bool, len(l.r.TCPFlags))
		for f := range 256 {
			for i, p := range l.r.TCPFlags {
				if p.Match(tcpflags.Flags(f)) {
					live[i] = true
					break
				}
			}
		}
		for i, p := range l.r.TCPFlags {
			if !live[i] {
				l.errorf(l.patternNodes[i], "tcp_flags[%d] (%s): never matches: every flags byte it matches is taken by an earlier pattern", i, p.Name)
			}
		}
	}
}

// shorten cuts a library's error text, which may quote the input, to a
// few times an excerpt.
func shorten(msg string) string {
	if len(msg) <= 3*maxExcerpt {
		return msg
	}
	return strings.ToValidUTF8(msg[:3*maxExcerpt], "") + "..."
}
