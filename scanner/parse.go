package scanner

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// ParsePorts parses nmap's port syntax: "22", "22,80,443", "1000-2000",
// "-" (1-65535, from -p-), "-1024" (1-1024), "60000-" (60000-65535), and
// protocol prefixes "T:22,80,U:53" (all protocols' ports are returned; see
// ParsePortsFor). The result is sorted and without duplicates.
func ParsePorts(spec string) ([]uint16, error) {
	return parsePorts(spec, "")
}

// ParsePortsFor is ParsePorts for one protocol ("tcp" or "udp"): ports
// after "U:" count only for udp, after "T:" only for tcp; unprefixed ports
// count for both.
func ParsePortsFor(spec, proto string) ([]uint16, error) {
	ports, err := parsePorts(spec, proto)
	if err == nil && len(ports) == 0 {
		return nil, fmt.Errorf("port spec %q has no %s ports", spec, proto)
	}
	return ports, err
}

func parsePorts(spec, proto string) ([]uint16, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty port spec")
	}
	var set [65536]bool
	cur := "" // current protocol prefix: "", "tcp", "udp", "sctp"
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if len(item) >= 2 && item[1] == ':' {
			switch strings.ToUpper(item[:1]) {
			case "T":
				cur = "tcp"
			case "U":
				cur = "udp"
			case "S":
				cur = "sctp"
			default:
				return nil, fmt.Errorf("port spec %q: unknown protocol prefix %q (want T:, U: or S:)", spec, item[:2])
			}
			item = item[2:]
		}
		if item == "" {
			return nil, fmt.Errorf("port spec %q: empty item", spec)
		}
		lo, hi, err := parsePortRange(item)
		if err != nil {
			return nil, fmt.Errorf("port spec %q: %w", spec, err)
		}
		if proto != "" && cur != "" && cur != proto {
			continue
		}
		for p := lo; p <= hi; p++ {
			set[p] = true
		}
	}
	var ports []uint16
	for p := 1; p < len(set); p++ {
		if set[p] {
			ports = append(ports, uint16(p))
		}
	}
	return ports, nil
}

func parsePortRange(item string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(item, "-")
	if !isRange {
		p, err := parsePort(a)
		return p, p, err
	}
	lo, hi = 1, 65535
	if a != "" {
		if lo, err = parsePort(a); err != nil {
			return 0, 0, err
		}
	}
	if b != "" {
		if hi, err = parsePort(b); err != nil {
			return 0, 0, err
		}
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("range %q is backwards", item)
	}
	return lo, hi, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d out of range 1-65535", n)
	}
	return n, nil
}

// ParseScanFlags parses nmap's --scanflags: flag names run together in any
// order and case ("URGACKPSHRSTSYNFIN", "synfin", also ECE and CWR), or a
// number (decimal, or hex with 0x) giving byte 13 of the TCP header. It
// takes every spelling tcpflags.Parse reads ("SYN|FIN" too).
func ParseScanFlags(s string) (uint8, error) {
	f, err := tcpflags.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("--scanflags %q is not a flag set (names such as SYNFIN, or a number 0-255): %w", s, err)
	}
	return uint8(f), nil
}

// FlagString spells TCP flags like nmap's --scanflags ("SYNFIN"), "NONE" for none.
func FlagString(f uint8) string {
	return strings.ReplaceAll(tcpflags.Flags(f).String(), "|", "")
}

// ParseTargets expands targets: IPv4 and IPv6 addresses, CIDR blocks
// ("10.0.0.0/24", "fd00::/120"; like nmap, network and broadcast addresses
// are included), ranges of the last part ("10.0.0.1-20", "fd00::1-ff") or of
// whole addresses ("10.0.0.250-10.0.1.5"), and host names (resolved with the
// system resolver). More than MaxHosts addresses in all is an error.
// Duplicates are dropped; order is kept. Any bad target fails the whole
// list; ExpandTargets skips them instead.
func ParseTargets(specs []string) ([]netip.Addr, error) {
	addrs, skipped, err := ExpandTargets(context.Background(), specs, nil)
	if err == nil && len(skipped) > 0 {
		err = skipped[0]
	}
	if err != nil {
		return nil, err
	}
	return addrs, nil
}

// ExpandTargets is ParseTargets that goes on past a target it cannot use (a
// name that does not resolve, a malformed range), as nmap does: those come
// back in skipped, one error each. Addresses matching an exclude spec
// (same syntax) are left out. err is set only when the list as a whole is
// unusable: more than MaxHosts addresses, a bad exclude spec, or no
// target left.
func ExpandTargets(ctx context.Context, specs, exclude []string) (addrs []netip.Addr, skipped []error, err error) {
	var excl []addrRange
	for _, spec := range exclude {
		r, err := resolveRange(ctx, strings.TrimSpace(spec), false)
		if err != nil {
			return nil, nil, fmt.Errorf("exclude %q: %w", spec, err)
		}
		excl = append(excl, r)
	}
	seen := make(map[netip.Addr]bool)
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			skipped = append(skipped, errors.New("empty target"))
			continue
		}
		r, err := resolveRange(ctx, spec, true)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("target %q: %w", spec, err))
			continue
		}
		for a := r.lo; ; a = a.Next() {
			a = a.Unmap()
			if !seen[a] && !slices.ContainsFunc(excl, func(e addrRange) bool { return e.contains(a) }) {
				if len(addrs) >= MaxHosts {
					return nil, skipped, fmt.Errorf("target %q: more than %d target addresses", spec, MaxHosts)
				}
				seen[a] = true
				addrs = append(addrs, a)
			}
			if a == r.hi.Unmap() {
				break
			}
		}
	}
	if len(addrs) == 0 {
		if len(skipped) == len(specs) && len(specs) > 0 {
			return nil, skipped, skipped[0]
		}
		return nil, skipped, errors.New("no targets")
	}
	return addrs, skipped, nil
}

// addrRange is an inclusive range of addresses of one family.
type addrRange struct{ lo, hi netip.Addr }

func (r addrRange) contains(a netip.Addr) bool {
	return a.Is4() == r.lo.Unmap().Is4() && !a.Less(r.lo.Unmap()) && !r.hi.Unmap().Less(a)
}

// resolveRange reads one target spec as a range of addresses; with limit,
// of at most MaxHosts.
func resolveRange(ctx context.Context, spec string, limit bool) (addrRange, error) {
	if a, err := netip.ParseAddr(spec); err == nil {
		if a.Zone() != "" {
			return addrRange{}, errors.New("zoned addresses are not supported")
		}
		return addrRange{a.Unmap(), a.Unmap()}, nil
	}
	if strings.Contains(spec, "/") {
		p, err := netip.ParsePrefix(spec)
		if err != nil {
			return addrRange{}, fmt.Errorf("bad CIDR block: %w", err)
		}
		p = p.Masked()
		hostBits := p.Addr().BitLen() - p.Bits()
		if hostBits > 16 && limit {
			return addrRange{}, fmt.Errorf("/%d has 2^%d addresses, more than %d", p.Bits(), hostBits, MaxHosts)
		}
		return addrRange{p.Addr(), lastOf(p)}, nil
	}
	if first, last, ok := strings.Cut(spec, "-"); ok {
		lo, err := netip.ParseAddr(first)
		if err != nil {
			return addrRange{}, fmt.Errorf("bad range start: %w", err)
		}
		hi, err := netip.ParseAddr(last)
		if err != nil {
			// The last part only: "10.0.0.1-20" or "fd00::1-ff".
			hi, err = rangeEnd(lo, last)
			if err != nil {
				return addrRange{}, err
			}
		}
		lo, hi = lo.Unmap(), hi.Unmap()
		if lo.Is4() != hi.Is4() {
			return addrRange{}, errors.New("range mixes IPv4 and IPv6")
		}
		if hi.Less(lo) {
			return addrRange{}, errors.New("range is backwards")
		}
		n := new(big.Int).Sub(new(big.Int).SetBytes(hi.AsSlice()), new(big.Int).SetBytes(lo.AsSlice()))
		if n.Cmp(big.NewInt(MaxHosts)) >= 0 && limit {
			return addrRange{}, fmt.Errorf("range has more than %d addresses", MaxHosts)
		}
		return addrRange{lo, hi}, nil
	}
	// A host name.
	if !isHostName(spec) {
		return addrRange{}, errors.New("not an address, CIDR block, range or host name")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", spec)
	if err != nil {
		return addrRange{}, fmt.Errorf("failed to resolve: %w", err)
	}
	// nmap scans the first address of a name.
	a := addrs[0].Unmap()
	return addrRange{a, a}, nil
}

// lastOf returns the last address of a prefix.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// rangeEnd builds the end of a "last part" range: for IPv4 the last octet
// (decimal), for IPv6 the last 16-bit group (hex).
func rangeEnd(lo netip.Addr, last string) (netip.Addr, error) {
	b := lo.AsSlice()
	if lo.Is4() {
		n, err := strconv.ParseUint(last, 10, 8)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("range end %q is not an address or an octet 0-255", last)
		}
		b[3] = byte(n)
	} else {
		n, err := strconv.ParseUint(last, 16, 16)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("range end %q is not an address or a hex group 0-ffff", last)
		}
		b[14], b[15] = byte(n>>8), byte(n)
	}
	a, _ := netip.AddrFromSlice(b)
	return a, nil
}

// isHostName reports whether s can be a DNS name (letters, digits, hyphens,
// underscores, dots), so that garbage is refused without a lookup.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func cutRange(item string) (a, b string, isRange bool) { return strings.Cut(item, "-") }

func atoiRange(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a number %d-%d", s, lo, hi)
	}
	return n, nil
}
