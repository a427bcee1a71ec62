package rules

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"unsafe"
)

// addrSet answers "is this address in one of these prefixes" in
// O(log n): the prefixes become disjoint, sorted ranges of integers, IPv4
// and IPv6 apart, searched by bisection. A linear scan of a 10,000-entry
// allow list on every probe made a flood replay 14 times slower.
type addrSet struct {
	v4 []span4
	v6 []span6
}

type span4 struct{ lo, hi uint32 }

type span6 struct{ lo, hi u128 }

// u128 is an IPv6 address as an integer.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next is a+1, and whether it did not wrap.
func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	return u128{a.hi + 1, 0}, a.hi != ^uint64(0)
}

func newAddrSet(ps []netip.Prefix) addrSet {
	var s addrSet
	for _, p := range ps {
		p = p.Masked()
		a := p.Addr()
		if a.Is4() {
			b := a.As4()
			lo := binary.BigEndian.Uint32(b[:])
			s.v4 = append(s.v4, span4{lo, lo | uint32(uint64(1)<<(32-p.Bits())-1)})
			continue
		}
		b := a.As16()
		lo := u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
		hi := lo
		switch n := 128 - p.Bits(); {
		case n >= 64:
			hi.lo = ^uint64(0)
			hi.hi |= uint64(1)<<(n-64) - 1
			if n == 128 {
				hi.hi = ^uint64(0)
			}
		default:
			hi.lo |= uint64(1)<<n - 1
		}
		s.v6 = append(s.v6, span6{lo, hi})
	}
	slices.SortFunc(s.v4, func(a, b span4) int { return cmp.Compare(a.lo, b.lo) })
	slices.SortFunc(s.v6, func(a, b span6) int { return a.lo.cmp(b.lo) })
	s.v4 = merge(s.v4, func(a, b span4) bool { return b.lo <= a.hi || b.lo == a.hi+1 && a.hi != ^uint32(0) },
		func(a, b span4) span4 { return span4{a.lo, max(a.hi, b.hi)} })
	s.v6 = merge(s.v6, func(a, b span6) bool {
		n, ok := a.hi.next()
		return b.lo.cmp(a.hi) <= 0 || ok && b.lo == n
	}, func(a, b span6) span6 {
		if b.hi.cmp(a.hi) > 0 {
			a.hi = b.hi
		}
		return a
	})
	return s
}

// merge joins neighbours of a sorted list that touch or overlap.
func merge[S any](s []S, touch func(a, b S) bool, join func(a, b S) S) []S {
	out := s[:0]
	for _, x := range s {
		if n := len(out); n > 0 && touch(out[n-1], x) {
			out[n-1] = join(out[n-1], x)
			continue
		}
		out = append(out, x)
	}
	return slices.Clip(out)
}

func (s *addrSet) contains(a netip.Addr) bool {
	if a.Is4() {
		b := a.As4()
		v := binary.BigEndian.Uint32(b[:])
		i, _ := slices.BinarySearchFunc(s.v4, v, func(r span4, v uint32) int { return cmp.Compare(r.lo, v) })
		// s.v4[i-1] is the last range starting at or below v (or i is an exact hit).
		if i < len(s.v4) && s.v4[i].lo == v {
			return true
		}
		return i > 0 && v <= s.v4[i-1].hi
	}
	if !a.Is6() {
		return false
	}
	b := a.As16()
	v := u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
	i, found := slices.BinarySearchFunc(s.v6, v, func(r span6, v u128) int { return r.lo.cmp(v) })
	return found || i > 0 && v.cmp(s.v6[i-1].hi) <= 0
}

// portSet is a bitmap of the 65536 ports.
type portSet [1024]uint64

func newPortSet(prs []PortRange) *portSet {
	var s portSet
	for _, pr := range prs {
		for p := uint32(pr.Lo); p <= uint32(pr.Hi); p++ {
			s[p>>6] |= 1 << (p & 63)
		}
	}
	return &s
}

func (s *portSet) has(p uint16) bool { return s[p>>6]&(1<<(p&63)) != 0 }

// index holds the lookup structures of a Rules value's lists, with the
// identity of the slices they were built from: a Rules value is immutable
// once built, but tests change lists of a copy by hand, and then the
// helpers fall back to a linear scan of the lists as they are.
type index struct {
	home, scanners, targets addrSet
	ports                   *portSet
	from                    [4]sliceID
}

type sliceID struct {
	p unsafe.Pointer
	n int
}

func idOf[S any](s []S) sliceID { return sliceID{unsafe.Pointer(unsafe.SliceData(s)), len(s)} }

func (r *Rules) ids() [4]sliceID {
	return [4]sliceID{idOf(r.HomeNetworks), idOf(r.Allow.Scanners), idOf(r.Allow.Targets), idOf(r.Allow.Ports)}
}

// buildIndex makes r's lookup structures for its lists as they are now.
func (r *Rules) buildIndex() {
	r.idx = &index{
		home:     newAddrSet(r.HomeNetworks),
		scanners: newAddrSet(r.Allow.Scanners),
		targets:  newAddrSet(r.Allow.Targets),
		ports:    newPortSet(r.Allow.Ports),
		from:     r.ids(),
	}
}

// index returns r's lookup structures, or nil when r's lists are not the
// ones they were built from.
func (r *Rules) index() *index {
	if r.idx == nil || r.idx.from != r.ids() {
		return nil
	}
	return r.idx
}
