package detector

import (
	"net/netip"
	"testing"

	"github.com/scanwatch/scanwatch/technique"
)

func TestOnePort(t *testing.T) {
	for _, tc := range []struct {
		ports []uint16
		want  uint16
	}{
		{nil, 0},
		{[]uint16{53}, 53},
		{[]uint16{53, 53, 53}, 53},
		{[]uint16{53, 54}, 0},
		{[]uint16{53, 54, 53}, 0}, // once mixed, always mixed
	} {
		var o onePort
		for _, p := range tc.ports {
			o.add(p)
		}
		if got := o.value(); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.ports, got, tc.want)
		}
	}
}

func TestEpisodeID(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	id := episodeID(a, technique.Syn, 1, 0)
	if id == 0 || id >= 1<<51 {
		t.Fatalf("id %d: want 1..2^51-1", id)
	}
	if episodeID(a, technique.Syn, 1, 0) != id {
		t.Error("not deterministic")
	}
	for _, other := range []uint64{episodeID(b, technique.Syn, 1, 0), episodeID(a, technique.Fin, 1, 0), episodeID(a, technique.Syn, 2, 0), episodeID(a, technique.Syn, 1, 1)} {
		if other == id {
			t.Errorf("two episodes share id %d", id)
		}
	}
}
