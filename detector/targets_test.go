package detector

import (
	"net/netip"
	"slices"
	"testing"
)

// TestTargetMap holds the target map (the first inline, a few in a list,
// the rest in a map) to a plain map, at each size around its changes.
func TestTargetMap(t *testing.T) {
	for _, n := range []int{0, 1, 2, fewTargets, fewTargets + 1, fewTargets + 2, 40} {
		var m targetMap
		ref := map[netip.Addr]uint16{}
		var order []netip.Addr
		for i := range n {
			a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
			if m.get(a) != nil {
				t.Fatalf("n %d: %v held before put", n, a)
			}
			m.put(a).add(uint16(i))
			ref[a] = uint16(i)
			order = append(order, a)
		}
		if m.len() != len(ref) {
			t.Fatalf("n %d: len %d", n, m.len())
		}
		for a, p := range ref {
			ps := m.get(a)
			if ps == nil || !ps.has(p) || ps.len() != 1 {
				t.Fatalf("n %d: %v lost its port %d", n, a, p)
			}
		}
		if m.get(netip.MustParseAddr("192.0.2.1")) != nil {
			t.Fatalf("n %d: an address never put is held", n)
		}
		keys := slices.Collect(m.keys())
		if k := min(n, 1+fewTargets); !slices.Equal(keys[:k], order[:k]) {
			t.Fatalf("n %d: keys begin %v, want the first and the few in order %v", n, keys[:k], order[:k])
		}
		slices.SortFunc(keys, netip.Addr.Compare)
		if !slices.Equal(keys, order) {
			t.Fatalf("n %d: keys %v", n, keys)
		}
	}
}
