package rules

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

//go:embed default.yaml
var defaultYAML []byte

// defaultRules parses the embedded default once. The default is parsed onto
// an empty Rules, so it must spell out every key; TestDefault checks that.
var defaultRules = sync.OnceValue(func() *Rules {
	r, err := parse("default.yaml", defaultYAML, &Rules{Detect: map[technique.Technique]Threshold{}})
	if err != nil {
		panic("rules: embedded default.yaml is invalid:\n" + err.Error())
	}
	return r
})

// Default returns the embedded default rules. The file is parsed once; each
// call returns a fresh deep copy, so callers may modify it.
func Default() *Rules { return defaultRules().Clone() }

// DefaultYAML returns a copy of the embedded default rules file, comments
// included: a starting point for a user's own file.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Load reads and validates a rules file. Keys the file does not give keep
// their default values (see Parse). A read failure is returned wrapped; a
// file that does not validate yields an *Error.
func Load(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	return Parse(path, data)
}

// Parse validates the rules in data; name is the file name used in error
// positions. The file overrides the embedded default: a key not given keeps
// its default value; a technique under detect replaces only the fields it
// gives; a list (home_networks, allow.*, tcp_flags) given replaces the whole
// list. Every problem found is reported as an *Error whose lines read
// "name:line:col: message".
func Parse(name string, data []byte) (*Rules, error) {
	return parse(name, data, defaultRules().Clone())
}

// Issue is one problem in a rules file, at a 1-based line and column.
type Issue struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (i Issue) String() string { return fmt.Sprintf("%s:%d:%d: %s", i.File, i.Line, i.Col, i.Msg) }

// Error lists every problem found in a rules file, sorted by position.
type Error struct {
	Issues []Issue
}

// Error prints one issue per line, each as "file:line:col: message".
func (e *Error) Error() string {
	var b strings.Builder
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(is.String())
	}
	return b.String()
}

// maxIssues bounds how many problems one file reports.
const maxIssues = 50

// ProbeTypes are the values allowed for FlagPattern.Type, in tcp_flags:
// the techniques told apart by TCP flags (technique.ByFlags).
var ProbeTypes = probeTypes()

// Techniques are the keys allowed under detect: every technique but
// connect, which counts against syn's threshold. They come in the order the
// embedded default lists them, the order users read and messages name them.
var Techniques = detectOrder(defaultYAML)

func probeTypes() []technique.Technique {
	var out []technique.Technique
	for t := range technique.Count {
		if t.ByFlags() {
			out = append(out, t)
		}
	}
	return out
}

// detectOrder returns the keys of the detect section of a rules file, in
// file order; it panics on the embedded default only.
func detectOrder(data []byte) []technique.Technique {
	var doc struct{ Detect yaml.Node }
	if err := yaml.Unmarshal(data, &doc); err != nil {
		panic("rules: embedded default.yaml: " + err.Error())
	}
	var out []technique.Technique
	for i := 0; i+1 < len(doc.Detect.Content); i += 2 {
		t, err := technique.Parse(doc.Detect.Content[i].Value)
		if err != nil || t == technique.Connect {
			panic(fmt.Sprintf("rules: embedded default.yaml: detect.%s is not a technique with its own threshold", doc.Detect.Content[i].Value))
		}
		out = append(out, t)
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

var (
	topKeys     = []string{"home_networks", "allow", "state", "timeouts", "tcp_flags", "detect", "slow"}
	allowKeys   = []string{"scanners", "targets", "ports"}
	stateKeys   = []string{"max_trackers", "max_flows", "max_fragments"}
	timeoutKeys = []string{"reply", "idle"}
	patternKeys = []string{"type", "name", "mask", "value"}
	detectKeys  = []string{"ports", "hosts", "window"}
	slowKeys    = []string{"enabled", "theta0", "theta1", "alarm", "memory", "min_ports"}
)

// loader walks the YAML node tree onto a Rules value, collecting issues.
type loader struct {
	file   string
	issues []Issue
	r      *Rules
	// value nodes of slow.theta0/theta1 when given, for the cross check.
	theta0, theta1 *yaml.Node
	// value nodes of each tcp_flags entry's type, for the shadow check.
	patternNodes []*yaml.Node
}

func parse(name string, data []byte, base *Rules) (*Rules, error) {
	l := &loader{file: name, r: base}
	if doc := l.decode(data); doc != nil {
		l.top(doc)
		l.crossCheck()
	}
	if len(l.issues) > 0 {
		slices.SortStableFunc(l.issues, func(a, b Issue) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		if len(l.issues) > maxIssues {
			last := l.issues[maxIssues-1]
			l.issues = append(l.issues[:maxIssues-1], Issue{File: name, Line: last.Line, Col: last.Col,
				Msg: fmt.Sprintf("too many errors (%d more not shown)", len(l.issues)-maxIssues+1)})
		}
		return nil, &Error{Issues: l.issues}
	}
	return l.r, nil
}

func (l *loader) add(line, col int, format string, a ...any) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	l.issues = append(l.issues, Issue{File: l.file, Line: line, Col: col, Msg: fmt.Sprintf(format, a...)})
}

func (l *loader) errorf(n *yaml.Node, format string, a ...any) {
	l.add(n.Line, n.Column, format, a...)
}

var (
	yamlLineRE      = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)
	unknownAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// decode parses data into a node tree and returns the top-level mapping, or
// nil after recording why there is none.
func (l *loader) decode(data []byte) (top *yaml.Node) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := safeDecode(dec, &doc)
	if err == io.EOF {
		l.add(1, 1, "empty file")
		return nil
	}
	if err != nil {
		l.syntaxError(data, err)
		return nil
	}
	var extra yaml.Node
	switch err := safeDecode(dec, &extra); {
	case err == io.EOF:
	case err != nil:
		l.syntaxError(data, err)
		return nil
	default:
		l.errorf(&extra, "more than one YAML document; a rules file holds one")
		return nil
	}
	n := &doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			l.add(1, 1, "empty file")
			return nil
		}
		n = n.Content[0]
	}
	n = deref(n)
	if isNull(n) {
		l.add(1, 1, "empty file")
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "top level: expected a mapping, got %s", describe(n))
		return nil
	}
	return n
}

// safeDecode guards against the few internal panics the yaml package raises
// on malformed input instead of returning an error.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("yaml: %v", v)
		}
	}()
	return dec.Decode(n)
}

// syntaxError converts the yaml package's "yaml: line N: msg" to an issue;
// the package does not expose the column, so it is 1.
func (l *loader) syntaxError(data []byte, err error) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = "yaml: " + te.Errors[0]
	}
	line := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	col := 1
	if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil {
		// The parser gives no position; the first use of the alias is it.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
			col = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		}
	}
	l.add(line, col, "syntax error: %s", msg)
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; i < 100 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a sequence"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	case isNull(n):
		return "null"
	default:
		return strconv.Quote(n.Value)
	}
}

// where names a path in messages: "in allow", "at top level".
func where(path string) string {
	if path == "" {
		return "at top level"
	}
	return "in " + path
}

// mapping walks the key/value pairs of n (a mapping, or null for none),
// reporting duplicate keys and keys not in known (named what: "key",
// "technique"), and calls fn for each known key with its value dereferenced.
func (l *loader) mapping(n *yaml.Node, path, what string, known []string, fn func(key string, v *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s: expected a mapping, got %s", path, describe(n))
		return
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, "%s: keys must be plain strings, got %s", path, describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.errorf(k, "duplicate key %q %s (first at %d:%d)", k.Value, where(path), first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		if !slices.Contains(known, k.Value) {
			l.errorf(k, "unknown %s %q %s (known: %s)", what, k.Value, where(path), strings.Join(known, ", "))
			continue
		}
		fn(k.Value, deref(v))
	}
}

// sequence returns the items of n (null counts as an empty list).
func (l *loader) sequence(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "%s: expected a sequence, got %s", path, describe(n))
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		items[i] = deref(it)
	}
	return items, true
}

func (l *loader) integer(n *yaml.Node, path string) (int, bool) {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || int64(int(v)) != v {
		l.errorf(n, "%s: expected an integer, got %s", path, describe(n))
		return 0, false
	}
	return int(v), true
}

func (l *loader) float(n *yaml.Node, path string) (float64, bool) {
	var v float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&v) != nil {
		l.errorf(n, "%s: expected a number, got %s", path, describe(n))
		return 0, false
	}
	return v, true
}

func (l *loader) boolean(n *yaml.Node, path string) (bool, bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		l.errorf(n, "%s: expected true or false, got %s", path, describe(n))
		return false, false
	}
	return v, true
}

func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errorf(n, "%s: expected a string, got %s", path, describe(n))
		return "", false
	}
	return n.Value, true
}

// duration parses a positive Go duration (5s, 2m, 24h).
func (l *loader) duration(n *yaml.Node, path string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errorf(n, "%s: expected a duration, got %s", path, describe(n))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		l.errorf(n, "%s: bad duration %q (want Go syntax such as 5s, 2m, 24h)", path, n.Value)
		return 0, false
	}
	if d <= 0 {
		l.errorf(n, "%s: must be positive, got %s", path, n.Value)
		return 0, false
	}
	return d, true
}

func (l *loader) positive(n *yaml.Node, path string) (int, bool) {
	v, ok := l.integer(n, path)
	if ok && v <= 0 {
		l.errorf(n, "%s: must be positive, got %d", path, v)
		return 0, false
	}
	return v, ok
}

func (l *loader) nonNegative(n *yaml.Node, path string) (int, bool) {
	v, ok := l.integer(n, path)
	if ok && v < 0 {
		l.errorf(n, "%s: must not be negative, got %d", path, v)
		return 0, false
	}
	return v, ok
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
		}
	})
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
			return netip.Prefix{}, fmt.Errorf("bad address %q: %s", s, strings.TrimPrefix(err.Error(), "ParseAddr("+strconv.Quote(s)+"): "))
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("bad address %q: zones are not allowed", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad CIDR %q: %s", s, strings.TrimPrefix(err.Error(), "netip.ParsePrefix("+strconv.Quote(s)+"): "))
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
			return PortRange{}, fmt.Errorf("bad port %q: want a port or a \"lo-hi\" range", s)
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
		return PortRange{}, fmt.Errorf("bad port range %q: want a port or a \"lo-hi\" range", s)
	case a < 0 || a > 65535:
		return PortRange{}, fmt.Errorf("bad port range %q: %d out of range 0..65535", s, a)
	case b < 0 || b > 65535:
		return PortRange{}, fmt.Errorf("bad port range %q: %d out of range 0..65535", s, b)
	case a > b:
		return PortRange{}, fmt.Errorf("bad port range %q: %d > %d", s, a, b)
	}
	return PortRange{uint16(a), uint16(b)}, nil
}

func (l *loader) state(n *yaml.Node) {
	l.mapping(n, "state", "key", stateKeys, func(key string, v *yaml.Node) {
		c, ok := l.positive(v, "state."+key)
		if !ok {
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
		if !ok {
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
					l.errorf(v, "unknown probe type %q in %s (known: %s)", s, path, strings.Join(names(ProbeTypes), ", "))
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
		l.errorf(n, "%s: %v", path, err)
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
				if c, ok := l.nonNegative(v, path+"."+key); ok {
					t.Ports, changed = c, true
				}
			case "hosts":
				if c, ok := l.nonNegative(v, path+"."+key); ok {
					t.Hosts, changed = c, true
				}
			case "window":
				if d, ok := l.duration(v, path+"."+key); ok {
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
				l.errorf(v, "%s: must be between 0 and 1 (exclusive), got %s", path, v.Value)
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
				l.errorf(v, "%s: must be a finite number greater than 1, got %s", path, v.Value)
				return
			}
			l.r.Slow.Alarm = f
		case "memory":
			if d, ok := l.duration(v, path); ok {
				l.r.Slow.Memory = d
			}
		case "min_ports":
			if c, ok := l.nonNegative(v, path); ok {
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

// Clone returns a deep copy of r.
func (r *Rules) Clone() *Rules {
	c := *r
	c.HomeNetworks = slices.Clone(r.HomeNetworks)
	c.Allow.Scanners = slices.Clone(r.Allow.Scanners)
	c.Allow.Targets = slices.Clone(r.Allow.Targets)
	c.Allow.Ports = slices.Clone(r.Allow.Ports)
	c.TCPFlags = slices.Clone(r.TCPFlags)
	c.Detect = maps.Clone(r.Detect)
	return &c
}

// IsHome reports whether a is in the home networks (always true when there
// are none). IPv4-mapped IPv6 addresses match as IPv4.
func (r *Rules) IsHome(a netip.Addr) bool {
	return len(r.HomeNetworks) == 0 || containsAddr(r.HomeNetworks, a)
}

// AllowedScanner reports whether a is an allowed scanner, never reported.
func (r *Rules) AllowedScanner(a netip.Addr) bool { return containsAddr(r.Allow.Scanners, a) }

// AllowedTarget reports whether a is an allowed target, never counted.
func (r *Rules) AllowedTarget(a netip.Addr) bool { return containsAddr(r.Allow.Targets, a) }

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	if len(ps) == 0 {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AllowedPort reports whether destination port p is never counted.
func (r *Rules) AllowedPort(p uint16) bool {
	for _, pr := range r.Allow.Ports {
		if p >= pr.Lo && p <= pr.Hi {
			return true
		}
	}
	return false
}

// ProbeType returns the first tcp_flags pattern that the tcp[13] byte
// matches; false when none does (a "custom" probe if no connection owns it).
func (r *Rules) ProbeType(flags tcpflags.Flags) (FlagPattern, bool) {
	for _, p := range r.TCPFlags {
		if p.Match(flags) {
			return p, true
		}
	}
	return FlagPattern{}, false
}

// Threshold returns the threshold for a technique (see Rules.Detect).
// Connect uses syn's unless Detect has its own. A technique Detect lacks
// gets the zero Threshold, which never fires.
func (r *Rules) Threshold(t technique.Technique) Threshold {
	if th, ok := r.Detect[t]; ok {
		return th
	}
	if t == technique.Connect {
		return r.Detect[technique.Syn]
	}
	return Threshold{}
}
