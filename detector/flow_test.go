package detector

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"unsafe"
)

// The flow table against a plain map, through inserts, LRU evictions and
// removals, with few distinct addresses so probe runs collide and wrap.
func TestFlowTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ft := newFlowTable(500)
	ref := map[flowKey]*flow{}
	key := func() flowKey {
		a := netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.IntN(8))})
		b := netip.AddrFrom4([4]byte{10, 0, 1, byte(rng.IntN(8))})
		k, _ := makeKey(a, b, uint16(rng.IntN(40)), uint16(rng.IntN(40)), 6)
		return k
	}
	for i := 0; i < 200000; i++ {
		k := key()
		switch f := ft.get(k); {
		case f != ref[k]:
			t.Fatalf("step %d: get %v, map has %v", i, f, ref[k])
		case f == nil:
			ft.insert(k, func(old *flow) { delete(ref, old.key) })
			ref[k] = ft.get(k)
		case rng.IntN(3) == 0:
			ft.remove(f)
			delete(ref, k)
		default:
			ft.touch(f)
		}
		if ft.len() != len(ref) || ft.len() > 500 {
			t.Fatalf("step %d: len %d, map %d", i, ft.len(), len(ref))
		}
	}
	for k, f := range ref {
		if ft.get(k) != f {
			t.Fatal("lost a flow")
		}
	}
}

func TestMakeKeyBothDirections(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")
	k1, aFirst := makeKey(a, b, 1000, 80, 6)
	k2, bFirst := makeKey(b, a, 80, 1000, 6)
	if k1 != k2 || aFirst == bFirst {
		t.Fatalf("directions differ: %v %v %v %v", k1, k2, aFirst, bFirst)
	}
}

// A sweep of a /16 (keys that differ only in the last two address bytes)
// must not build long probe runs: every lookup would walk them.
func TestFlowTableSpreadsSweeps(t *testing.T) {
	ft := newFlowTable(1 << 17)
	src := netip.MustParseAddr("10.1.2.3")
	for i := 0; i < 1<<16; i++ {
		k, _ := makeKey(src, netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), 40000, 80, 6)
		ft.insert(k, func(*flow) {})
	}
	longest, run := 0, 0
	for _, f := range ft.slots {
		if f.id == 0 {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	if longest > 64 {
		t.Fatalf("longest probe run %d slots for %d flows in %d slots", longest, ft.len(), len(ft.slots))
	}
}

// A flow is two cache lines in the slab, with what a packet of a known flow
// reads and writes in the first, and holds no pointer (the garbage
// collector would scan the whole slab).
func TestFlowLayout(t *testing.T) {
	var f flow
	if n := unsafe.Sizeof(f); n != 128 {
		t.Errorf("flow is %d bytes, want 128", n)
	}
	if n := unsafe.Sizeof(flowChunk{}) % 128; n != 0 {
		t.Errorf("a chunk's size is not a multiple of 128: %d over", n)
	}
	hot := map[string]uintptr{"key": unsafe.Offsetof(f.key) + unsafe.Sizeof(f.key), "state": unsafe.Offsetof(f.state),
		"initIsA": unsafe.Offsetof(f.initIsA), "kind": unsafe.Offsetof(f.kind), "kept": unsafe.Offsetof(f.kept),
		"tech": unsafe.Offsetof(f.tech), "flags": unsafe.Offsetof(f.flags), "last": unsafe.Offsetof(f.last) + 8,
		"touched": unsafe.Offsetof(f.touched) + 8}
	for name, end := range hot {
		if end > 64 {
			t.Errorf("%s ends at byte %d, past the first cache line", name, end)
		}
	}
	var pointers func(reflect.Type) bool
	pointers = func(t reflect.Type) bool {
		switch t.Kind() {
		case reflect.Struct:
			for i := range t.NumField() {
				if pointers(t.Field(i).Type) {
					return true
				}
			}
			return false
		case reflect.Array:
			return pointers(t.Elem())
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
			return false
		}
		return true
	}
	if pointers(reflect.TypeOf(flowChunk{})) {
		t.Error("a flow chunk holds a pointer")
	}
}

// A reference to a flow stops matching when the flow goes, also after its
// place holds another flow.
func TestPendingRefGeneration(t *testing.T) {
	ft := newFlowTable(2)
	k1, _ := makeKey(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 1, 2, 6)
	k2, _ := makeKey(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 1, 3, 6)
	f := ft.insert(k1, func(*flow) {})
	r := ft.ref(f, 0)
	if ft.deref(r) != f {
		t.Fatal("a live flow's reference does not match")
	}
	ft.remove(f)
	if ft.deref(r) != nil {
		t.Fatal("a removed flow's reference matches")
	}
	if g := ft.insert(k2, func(*flow) {}); g != f || ft.deref(r) != nil {
		t.Fatalf("the place was not reused (%v) or the old reference matches its new flow", g != f)
	}
}

// ip128Of gives the words of As16's bytes for every kind of address, and
// addrOf128 gives the address back; it allocates nothing (AsSlice's bytes
// stay on the stack only while it is inlined).
func TestIP128Of(t *testing.T) {
	for _, a := range []string{"10.1.2.3", "255.254.253.252", "0.0.0.0", "::ffff:1.2.3.4", "2001:db8::1", "::",
		"fe80::1%eth0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", ""} {
		var x netip.Addr
		if a != "" {
			x = netip.MustParseAddr(a)
		}
		b := x.As16()
		want := ip128{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])}
		back := x.Unmap().WithZone("")
		if !x.IsValid() {
			back = netip.IPv6Unspecified()
		}
		if got := ip128Of(x); got != want || addrOf128(got) != back {
			t.Errorf("%q: %x, want %x (back %v)", a, got, want, addrOf128(got))
		}
	}
	v6 := netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(100, func() { sinkWords += ip128Of(v6).lo }); n != 0 {
		t.Errorf("ip128Of allocates %v times per IPv6 address", n)
	}
}

var sinkWords uint64
