package detector

import (
	"reflect"
	"testing"
)

// TestEpisodeLayout: what a contact counted before reads of its episode
// lies in the first six cache lines, a TCP probe's tool votes right
// after, and the episode stays in the 640-byte size class (632 bytes and
// the 8-byte malloc header).
func TestEpisodeLayout(t *testing.T) {
	ty := reflect.TypeFor[episode]()
	if ty.Size() > 632 {
		t.Errorf("episode is %d bytes: past 632, its size class is 704", ty.Size())
	}
	for _, name := range []string{"tech", "alerted", "decoyed", "full", "sport", "first", "last", "probes", "bytes",
		"targets", "open", "outcomes", "ttl", "kinds", "via", "craftedSY", "osSY"} {
		f, ok := ty.FieldByName(name)
		if !ok {
			t.Fatalf("no field %s", name)
		}
		if end := f.Offset + f.Type.Size(); end > 384 {
			t.Errorf("%s ends at byte %d, past the first six cache lines", name, end)
		}
	}
	if f, _ := ty.FieldByName("tools"); f.Offset > 384 {
		t.Errorf("a TCP probe's tool votes start at byte %d, not next to what every contact reads", f.Offset)
	}
}
