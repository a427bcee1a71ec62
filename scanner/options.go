package scanner

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Options is a parsed "scanwatch scan" command line: nmap's options, the
// subset scanwatch implements (see Usage for the list).
type Options struct {
	Config               // what to scan and how (Targets is filled by Run)
	TargetSpecs []string // targets as given on the command line and in -iL files
	Exclude     []string // --exclude and --excludefile entries
	Display     Display  // --open, --reason, -v
	JSON        bool     // --json: the Result as JSON on stdout instead of the report
	Normal      string   // -oN file ("-": stdout)
	XML         string   // -oX file
	Grepable    string   // -oG file
	IPv6        bool     // -6: targets must be IPv6
	ListOnly    bool     // -sL: list the targets, scan nothing
	Args        []string // the command line, for the reports' headers
	portSpec    string   // -p
	topPorts    int      // --top-ports, -F; 0: not given
	excludePort string   // --exclude-ports
	customFlags string   // --scanflags
	timing      []func(*Timing)
	template    int
	arpPing     bool // -PR
}

// ErrHelp is returned by ParseArgs for -h: print Usage() and succeed.
var ErrHelp = errors.New("help requested")

// errNotSupported marks an nmap option scanwatch does not implement.
var errNotSupported = errors.New("not supported")

// ParseArgs parses nmap-style arguments: options and targets in any order,
// values attached or separate (-p22, -p 22, --top-ports=100), scan types
// run together (-sSU). An nmap option scanwatch lacks gives "<option>: not
// supported"; anything else unknown gives "<option>: unknown option".
func ParseArgs(args []string) (*Options, error) {
	p := &argParser{args: args, opts: &Options{template: 3, Args: slices.Clone(args)}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	if err := p.opts.finish(); err != nil {
		return nil, err
	}
	return p.opts, nil
}

// argParser walks the command line.
type argParser struct {
	args []string
	i    int
	opts *Options
}

func (p *argParser) parse() error {
	for p.i = 0; p.i < len(p.args); p.i++ {
		a := p.args[p.i]
		switch {
		case a == "--":
			p.opts.TargetSpecs = append(p.opts.TargetSpecs, p.args[p.i+1:]...)
			return nil
		case len(a) < 2 || a[0] != '-':
			p.opts.TargetSpecs = append(p.opts.TargetSpecs, a)
			continue
		}
		spec, name, val, hasVal, err := lookupOption(a)
		if err != nil {
			return err
		}
		if spec.set == nil {
			return fmt.Errorf("%s: %w", name, errNotSupported)
		}
		if spec.arg != "" && !spec.optionalArg && !hasVal {
			if p.i+1 >= len(p.args) {
				return fmt.Errorf("%s needs a value %s", name, spec.arg)
			}
			p.i++
			val, hasVal = p.args[p.i], true
		}
		if spec.arg == "" && hasVal && !spec.repeatable {
			return fmt.Errorf("%s takes no value (got %q)", name, val)
		}
		if err := spec.set(p.opts, val); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// lookupOption finds the spec of one argument starting with "-". It returns
// the option's canonical name (for messages) and its attached value.
func lookupOption(a string) (spec *optSpec, name, val string, hasVal bool, err error) {
	if strings.HasPrefix(a, "--") {
		n, v, eq := strings.Cut(a, "=")
		if s := findOption(n); s != nil {
			return s, n, v, eq, nil
		}
		return nil, n, "", false, unknownOption(n)
	}
	// Exact names first: "-sS", "-Pn", and long options with one dash
	// ("-open"), which nmap accepts too.
	if s := findOption(a); s != nil {
		return s, a, "", false, nil
	}
	n, v, eq := strings.Cut(a, "=")
	if s := findOption("-" + n); s != nil && len(n) > 2 {
		return s, "-" + n, v, eq, nil
	}
	// Repeated flags: -vvv, -ff; a count: -v3.
	if s := findOption(a[:2]); s != nil && s.repeatable && len(a) > 2 {
		if strings.Trim(a[1:], a[1:2]) == "" {
			return s, a[:2], fmt.Sprint(len(a) - 1), true, nil
		}
		if strings.Trim(a[2:], "0123456789") == "" {
			return s, a[:2], a[2:], true, nil
		}
	}
	// Scan types run together: -sSU.
	if len(a) > 3 && a[1] == 's' {
		return &optSpec{arg: "<types>", set: setScanTypes}, "-s", a[2:], true, nil
	}
	// A value attached to a short option: -p22, -T4, -PS22,80, -oNfile.
	for _, l := range []int{3, 2} {
		if len(a) > l {
			if s := findOption(a[:l]); s != nil && s.arg != "" {
				return s, a[:l], a[l:], true, nil
			}
		}
	}
	return nil, a, "", false, unknownOption(a)
}

func unknownOption(name string) error {
	if isNmapOption(name) {
		return fmt.Errorf("%s: %w (see scanwatch scan -h for the options scanwatch has)", name, errNotSupported)
	}
	return fmt.Errorf("%s: unknown option (see scanwatch scan -h)", name)
}

// IsNotSupported reports whether err names an nmap option scanwatch lacks.
func IsNotSupported(err error) bool { return errors.Is(err, errNotSupported) }

// setScanTypes takes the letters of -sSU, one scan type each.
func setScanTypes(o *Options, letters string) error {
	for _, c := range letters {
		s := findOption("-s" + string(c))
		if s == nil {
			return unknownOption("-s" + string(c))
		}
		if s.set == nil {
			return fmt.Errorf("-s%c: %w", c, errNotSupported)
		}
		if err := s.set(o, ""); err != nil {
			return err
		}
	}
	return nil
}

// addTechnique records a scan type once, in the order given.
func (o *Options) addTechnique(t Technique) error {
	if !slices.Contains(o.Techniques, t) {
		o.Techniques = append(o.Techniques, t)
	}
	return nil
}

// finish checks the combination and fills the Config.
func (o *Options) finish() error {
	if len(o.TargetSpecs) == 0 {
		return errors.New("no target given (there is no default target)")
	}
	if o.arpPing && len(o.Discovery.Probes) == 0 {
		o.Discovery.OnlyARP = true
	}
	if o.Discovery.Only && o.Discovery.Skip {
		return errors.New("-sn with -Pn would do nothing")
	}
	if o.Discovery.Only || o.ListOnly {
		if len(o.Techniques) > 0 || o.portSpec != "" || o.topPorts != 0 {
			return errors.New("-sn and -sL scan no ports: drop the scan types and port options")
		}
		return o.finishTiming()
	}
	if len(o.Techniques) == 0 {
		if o.customFlags != "" || os.Geteuid() == 0 {
			o.Techniques = []Technique{SYN}
		} else {
			o.Techniques = []Technique{Connect}
		}
	}
	tcp := 0
	for _, t := range o.Techniques {
		if t.Proto() == "tcp" {
			tcp++
		}
	}
	if tcp > 1 {
		var opts []string
		for _, t := range o.Techniques {
			if t.Proto() == "tcp" {
				opts = append(opts, t.Option())
			}
		}
		return fmt.Errorf("%s: one TCP scan type at a time (nmap allows one TCP type with -sU)", strings.Join(opts, " "))
	}
	if slices.Contains(o.Techniques, SCTPInit) && slices.Contains(o.Techniques, SCTPCookie) {
		return errors.New("-sY -sZ: one SCTP scan type at a time")
	}
	if o.Evasion.MTU > 0 && slices.Contains(o.Techniques, Connect) {
		return errors.New("-f/--mtu need raw probes, not -sT")
	}
	if o.customFlags != "" {
		if tcp == 0 || slices.Contains(o.Techniques, Connect) {
			return errors.New("--scanflags needs a raw TCP technique (-sS, -sA, -sF, ...), not -sT or only -sU")
		}
		f, err := ParseScanFlags(o.customFlags)
		if err != nil {
			return err
		}
		o.ScanFlags, o.CustomFlags = f, true
	}
	if err := o.choosePorts(); err != nil {
		return err
	}
	return o.finishTiming()
}

// finishTiming applies -T and then the single timing options.
func (o *Options) finishTiming() error {
	t, err := TimingTemplate(o.template)
	if err != nil {
		return err
	}
	for _, f := range o.timing {
		f(&t)
	}
	if err := t.normalize(); err != nil {
		return err
	}
	o.Timing = t
	return nil
}

// choosePorts fills Config.Ports from -p, --top-ports/-F or nmap's default
// (the 1000 most common ports of each protocol scanned).
func (o *Options) choosePorts() error {
	if o.portSpec != "" && o.topPorts != 0 {
		return errors.New("-p cannot be combined with --top-ports or -F")
	}
	var exclude []uint16
	if o.excludePort != "" {
		var err error
		if exclude, err = ParsePorts(o.excludePort); err != nil {
			return fmt.Errorf("--exclude-ports: %w", err)
		}
	}
	if o.portSpec != "" && !slices.Contains(o.Techniques, IPProto) {
		if err := checkPrefixes(o.portSpec, o.Techniques); err != nil {
			return err
		}
	}
	for _, t := range o.Techniques {
		proto := t.Proto()
		var ports []uint16
		var err error
		switch {
		case proto == "ip" && o.portSpec != "":
			if ports, err = parseProtocols(o.portSpec); err != nil {
				return fmt.Errorf("-p: %w", err)
			}
		case proto == "ip":
			ports, _ = parseProtocols("0-255")
		case o.portSpec != "":
			if ports, err = parsePorts(o.portSpec, proto); err != nil {
				return fmt.Errorf("-p: %w", err)
			}
		case o.topPorts != 0:
			ports, _ = TopPorts(proto, o.topPorts)
		default:
			ports, _ = TopPorts(proto, DefaultPorts)
		}
		if proto != "ip" {
			ports = slices.DeleteFunc(ports, func(p uint16) bool { return slices.Contains(exclude, p) })
		}
		if len(ports) == 0 {
			return fmt.Errorf("no %s ports left to scan for %s (prefix them with %s: in -p)", proto, t.Option(), protoPrefix(proto))
		}
		switch proto {
		case "tcp":
			o.Ports.TCP = ports
		case "udp":
			o.Ports.UDP = ports
		case "sctp":
			o.Ports.SCTP = ports
		case "ip":
			o.Ports.Protocols = ports
		}
	}
	return nil
}

func protoPrefix(proto string) string { return strings.ToUpper(proto[:1]) }

// checkPrefixes refuses ports for a protocol no scan covers ("-sS -p U:53"),
// which nmap only warns about and then drops.
func checkPrefixes(spec string, techs []Technique) error {
	for _, proto := range []string{"tcp", "udp", "sctp"} {
		has := slices.ContainsFunc(techs, func(t Technique) bool { return t.Proto() == proto })
		if has {
			continue
		}
		for _, item := range strings.Split(spec, ",") {
			item = strings.TrimSpace(item)
			if len(item) >= 2 && item[1] == ':' && strings.EqualFold(item[:1], protoPrefix(proto)) {
				return fmt.Errorf("-p %s names %s ports, but no %s scan is given (add %s)", spec, proto, proto, scanFor(proto))
			}
		}
	}
	return nil
}

func scanFor(proto string) string {
	switch proto {
	case "udp":
		return "-sU"
	case "sctp":
		return "-sY or -sZ"
	}
	return "-sS"
}
