package decode

import (
	"net/netip"
	"runtime"
	"testing"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestFragmentEntryBytes measures a full fragment table on the heap: the
// constant the memory budget divides by is an upper bound of it, and not
// a loose one.
func TestFragmentEntryBytes(t *testing.T) {
	for _, n := range []int{3000, 20000, 70000} {
		before := heapInUse()
		var tab fragTable
		tab.init(n)
		var st FragStats
		for i := range n + n/2 { // past the cap: entries are recycled
			k := fragKey{src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), dst: netip.AddrFrom4([4]byte{10, 1, 0, 1}), id: uint32(i), proto: 6}
			j := tab.alloc(&st)
			tab.index[k] = j
			tab.ents[j].key = k
		}
		per := float64(heapInUse()-before) / float64(n)
		runtime.KeepAlive(&tab)
		t.Logf("%d entries: %.0f B each (constant %d)", n, per, fragEntryBytes)
		if per > fragEntryBytes || per < fragEntryBytes*0.6 {
			t.Errorf("%d entries: %.0f B each, constant %d", n, per, fragEntryBytes)
		}
	}
	if got := FragmentsFor(256<<20/100, 8192); got != 256<<20/100/fragEntryBytes {
		t.Errorf("FragmentsFor(1%% of 256 MiB, 8192) = %d", got)
	}
	if got := FragmentsFor(1<<40, 8192); got != 8192 {
		t.Errorf("count cap: %d", got)
	}
	if got := FragmentsFor(100, 0); got != 16 {
		t.Errorf("floor: %d", got)
	}
}
