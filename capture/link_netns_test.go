//go:build linux

package capture

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestLiveLinkFlapNetns flaps B's veth under a live capture, in both filter
// modes: set down and up, then deleted and created again (a new interface
// of the same name). Probes sent before, between and after must all arrive,
// reads must keep returning within a poll interval or two while the link
// is away, and Stats must count both gaps and the one rebind.
func TestLiveLinkFlapNetns(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		promisc bool
	}{{ModeEBPF, false}, {ModeCBPF, true}} {
		t.Run(fmt.Sprintf("%s-promisc=%v", tc.mode, tc.promisc), func(t *testing.T) {
			p := setupNetns(t)
			var logMu sync.Mutex
			var logs []string
			src := openInB(t, p, p.B.Veth, LiveOptions{Mode: tc.mode, Patterns: livePatterns, Promisc: tc.promisc,
				Logf: func(format string, args ...any) {
					logMu.Lock()
					defer logMu.Unlock()
					logs = append(logs, fmt.Sprintf(format, args...))
				}})

			// phase sends SYN probes to ports lo..hi and reads until all
			// arrived (or 5 s).
			phase := func(name string, lo, hi uint16) {
				t.Helper()
				var ps []probe
				for port := lo; port <= hi; port++ {
					ps = append(ps, probe{port, 0x02})
				}
				sendProbes(t, p, ps)
				got := map[uint16]bool{}
				for deadline := time.Now().Add(5 * time.Second); len(got) < len(ps) && time.Now().Before(deadline); {
					pk, err := src.ReadPacket()
					if errors.Is(err, ErrTimeout) {
						continue
					}
					if err != nil {
						t.Fatalf("%s: read: %v", name, err)
					}
					pkt := gopacket.NewPacket(pk.Data, layers.LayerTypeEthernet, gopacket.NoCopy)
					if tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); tcp != nil && tcp.SrcPort == probeSrcPort && tcp.SYN && !tcp.ACK {
						got[uint16(tcp.DstPort)] = true
					}
				}
				if len(got) != len(ps) {
					t.Fatalf("%s: %d of %d probes arrived", name, len(got), len(ps))
				}
			}
			// away reads for d while the link is down or gone: every read
			// must be ErrTimeout, within five poll intervals (a read takes
			// one; the rest is room for a loaded machine: a read that waited
			// for the link would never return, since the link comes back
			// only after away).
			away := func(name string, d time.Duration) {
				t.Helper()
				for end := time.Now().Add(d); time.Now().Before(end); {
					start := time.Now()
					_, err := src.ReadPacket()
					if took := time.Since(start); took > 5*PollInterval {
						t.Errorf("%s: a read took %v", name, took)
					}
					if err != nil && !errors.Is(err, ErrTimeout) {
						t.Fatalf("%s: read: %v, want ErrTimeout", name, err)
					}
				}
			}

			phase("before", 2001, 2010)
			p.SetLinkUp(p.B.NS, false)
			away("down", time.Second)
			if st := src.Stats(); st.LinkGaps != 1 || st.LinkGapTime < 500*time.Millisecond {
				t.Errorf("while down: %d gaps, %v without the link; want 1, about 1 s", st.LinkGaps, st.LinkGapTime)
			}
			p.SetLinkUp(p.B.NS, true)
			away("coming up", 3*PollInterval)
			phase("after up", 2011, 2020)

			p.DeleteVeth()
			away("deleted", time.Second)
			p.CreateVeth()
			away("re-created", 3*PollInterval)
			phase("after re-creation", 2021, 2030)
			if tc.promisc {
				// A packet socket's membership counts in promiscuity, which
				// only the details show (not the PROMISC flag).
				if out := p.Run(p.B.NS, "ip", "-d", "link", "show", p.B.Veth); !strings.Contains(out, "promiscuity 1") {
					t.Errorf("the re-created interface is not promiscuous: %s", out)
				}
			}

			st := src.Stats()
			if st.LinkGaps != 2 || st.LinkRebinds != 1 || st.LinkGapTime < 1500*time.Millisecond || st.LinkGapTime > 5*time.Second {
				t.Errorf("Stats: %d gaps, %d rebinds, %v without the link; want 2, 1, about 2 s", st.LinkGaps, st.LinkRebinds, st.LinkGapTime)
			}
			logMu.Lock()
			all := strings.Join(logs, "\n")
			logMu.Unlock()
			t.Logf("log:\n%s\nstats: %+v", all, st)
			for _, want := range []string{"went down (ENETDOWN", "is up again after", "is gone", "is back after", "as a new interface (ifindex"} {
				if !strings.Contains(all, want) {
					t.Errorf("log lacks %q", want)
				}
			}
		})
	}
}
