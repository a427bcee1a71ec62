package detector

import (
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// A source's first contact waits in probation; what is seen of its episode
// before the second (a probe sent again, a host's echo reply, an open port
// of an OS probe) is in the report as if it had had a tracker all along.
func TestProbationKeepsFirstContact(t *testing.T) {
	t.Run("reprobe", func(t *testing.T) {
		b := newBook(t, rules.Default())
		b.add(closed(scanner, target, 1))
		if st := b.s.Stats(); st.Probation != 1 || st.Trackers != 0 || !b.s.scanning(scanner, technique.Syn) {
			t.Fatalf("first contact: stats %+v", st)
		}
		b.s.reprobe(scanner, technique.Syn)
		b.s.reprobe(scanner, technique.Syn)
		for port := uint16(2); port <= 15; port++ {
			b.add(closed(scanner, target, port))
		}
		// The sequential test alerts at the 4th failed port: 4 contacts
		// and the 2 probes sent again while the first waited.
		if a := b.kinds("alert"); len(a) != 1 || a[0].Scan.Probes != 6 || a[0].Scan.PortCount != 4 {
			t.Fatalf("alerts %+v, want one of 4 ports and 6 probes", a)
		}
	})
	t.Run("echo reply", func(t *testing.T) {
		b := newBook(t, rules.Default())
		ping := func(i int) Contact {
			return Contact{Scanner: scanner, Target: host(i), Technique: technique.Ping, Outcome: OutSent}
		}
		b.add(ping(1))
		b.s.alive(scanner, technique.Ping)
		if !b.s.probedOverIP(scanner, host(1)) || b.s.probedOverIP(scanner, host(2)) {
			t.Error("probedOverIP of a source in probation")
		}
		for i := 2; i <= 10; i++ {
			b.add(ping(i))
		}
		if a := b.kinds("alert"); len(a) != 1 || !strings.Contains(a[0].Scan.Evidence, "1 replies") {
			t.Fatalf("alerts %+v, want one with the reply seen in probation", a)
		}
	})
	t.Run("episode ended in probation", func(t *testing.T) {
		r := rules.Default()
		r.Slow.Enabled = false // episodes end after their window
		b := newBook(t, r)
		b.add(closed(scanner, target, 1))
		b.wait(61 * time.Second)
		if b.s.scanning(scanner, technique.Syn) || b.s.OpenEpisodes() != 0 {
			t.Fatal("the probe's episode outlived its window")
		}
		b.wait(time.Minute) // past the idle timeout too: forgotten
		if st := b.s.Stats(); st.Probation != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("a contact that alerts alone", func(t *testing.T) {
		r := rules.Default()
		r.Detect[technique.Syn] = rules.Threshold{Ports: 1, Window: time.Minute}
		b := newBook(t, r)
		b.add(closed(scanner, target, 1))
		if len(b.kinds("alert")) != 1 {
			t.Fatalf("a threshold of one must alert at once: %+v", b.events)
		}
	})
}
