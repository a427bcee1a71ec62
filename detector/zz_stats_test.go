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
	pkts := decodeFile(&testing.B{}, f, 1000000)
	d := New(rules.Default(), func(Event) {})
	var pos [12]int
	d.OnContact(func(c Contact) {
		tr := d.episodes.trackers.get(c.Scanner)
		if tr == nil || c.Outcome == OutBenign {
			return
		}
		e := tr.eps[c.Technique]
		if e == nil {
			pos[11]++
			return
		}
		i := 0
		found := false
		for a := range e.targets.keys() {
			if a == c.Target {
				found = true
				break
			}
			i++
		}
		if !found {
			pos[10]++
			return
		}
		pos[min(i, 9)]++
	})
	for i := range pkts {
		d.Process(&pkts[i])
	}
	fmt.Println("pos", pos)
}
