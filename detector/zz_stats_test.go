package detector

import (
	"fmt"
	"os"
	"testing"

	"github.com/scanwatch/scanwatch/rules"
)

func TestZZStats(t *testing.T) {
	f := os.Getenv("ZZFILE")
	if f == "" {
		t.Skip()
	}
	pkts := decodeFile(&testing.B{}, f, 2000000)
	d := New(rules.Default(), func(Event) {})
	for i := range pkts {
		d.Process(&pkts[i])
	}
	fmt.Printf("pkts %d stats %+v sigs %d lim %+v\n", len(pkts), d.episodes.Stats(), d.episodes.sigs.len(), d.episodes.lim)
}
