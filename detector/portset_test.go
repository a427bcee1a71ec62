package detector

import "testing"

// TestPortSetBytes: a set that starts inline grows, and is charged, as a
// slice made by append on the heap would be (budget.go's accounting, and
// so which trackers a tight budget evicts, depend on it).
func TestPortSetBytes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		frozen bool
	}{
		{"empty", 0, false},
		{"one", 1, false},
		{"inline full", 4, false},
		{"grown", 5, false},
		{"small full", smallMax, false},
		{"bitmap", smallMax + 1, false},
		{"frozen past small", smallMax + 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s portSet
			s.frozen = tc.frozen
			refSlice = nil // on the heap, as a portSet's slice was
			ref := &refSlice
			for i := range tc.n {
				p := uint16(1000 + 7*i)
				if !s.add(p) {
					t.Fatalf("port %d: not new", p)
				}
				if len(*ref) < smallMax {
					*ref = append(*ref, p)
				}
				if s.bits == nil && s.bytes() != cap(*ref)*2 {
					t.Fatalf("after %d ports: %d bytes, a heap slice %d", i+1, s.bytes(), cap(*ref)*2)
				}
				if stored := !tc.frozen || i < smallMax; stored == s.add(p) {
					t.Fatalf("port %d: new again is %v, stored %v", p, !stored, stored)
				}
			}
			if want := tc.n + max(0, tc.n-smallMax)*btoi(tc.frozen); s.len() != want {
				t.Fatalf("len %d, want %d (a frozen set counts a port it lacks each time)", s.len(), want)
			}
			for i := range min(tc.n, smallMax) {
				if !s.has(uint16(1000 + 7*i)) {
					t.Fatalf("lost port %d", 1000+7*i)
				}
			}
		})
	}
}

// refSlice is the heap slice TestPortSetBytes compares with: a local one
// may start in a buffer on the stack, with another capacity.
var refSlice []uint16

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
