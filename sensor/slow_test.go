package sensor

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// stretch rewrites a real nmap SYN scan into a slow one: the first n ports
// probed, one every interval, each reply kept at its original delay after
// its probe. This is nmap -T1 / --scan-delay on the wire, without the wait.
func stretch(t *testing.T, in string, n int, interval time.Duration) string {
	t.Helper()
	src, err := capture.OpenFiles(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), "slow.pcap")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	dec := decode.NewDecoder(0)
	slot := map[uint16]int{}          // target port -> probe index
	probeAt := map[uint16]time.Time{} // original probe time
	base := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for {
		pk, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var p decode.Packet
		if ok, _ := dec.Decode(pk.LinkType, pk.Data, pk.Time, &p); !ok || p.Kind != decode.KindTCP {
			continue
		}
		port := p.DstPort
		if p.Src.String() != "10.77.0.2" {
			port = p.SrcPort
		}
		i, seen := slot[port]
		if !seen {
			if p.Flags != tcpflags.SYN || len(slot) == n {
				continue
			}
			i = len(slot)
			slot[port], probeAt[port] = i, pk.Time
		}
		ts := base.Add(time.Duration(i)*interval + pk.Time.Sub(probeAt[port]))
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(pk.Data), Length: pk.Length}
		if err := w.WritePacket(ci, pk.Data); err != nil {
			t.Fatal(err)
		}
	}
	if len(slot) != n {
		t.Fatalf("only %d ports in %s", len(slot), in)
	}
	return out
}

func TestSlowScans(t *testing.T) {
	for _, interval := range []time.Duration{15 * time.Second, time.Minute, 5 * time.Minute} {
		t.Run(interval.String(), func(t *testing.T) {
			slow := stretch(t, "../testdata/nmap_sS.pcap", 30, interval)
			recs, _, _, err := replayFiles(t, slow)
			if err != nil {
				t.Fatal(err)
			}
			var alert, scan *eve.Record
			for i := range recs {
				switch recs[i].EventType {
				case eve.EventAlert:
					if alert != nil {
						t.Fatalf("more than one alert: %+v", recs)
					}
					alert = &recs[i]
				case eve.EventFlow:
					scan = &recs[i]
				}
			}
			if alert == nil || scan == nil {
				t.Fatalf("slow scan at one probe per %v not alerted: %+v", interval, recs)
			}
			if alert.SrcIP != "10.77.0.2" || alert.Scan().Type != "syn" {
				t.Errorf("alert %+v", alert.Scan())
			}
			// Alerted before the scan ended, and the summary covers all of it.
			end := 29 * interval
			if got := alert.Scan().DurationS; got >= end.Seconds() {
				t.Errorf("alerted after %.0fs, the scan ended at %.0fs", got, end.Seconds())
			}
			if scan.Scan().PortCount != 30 || scan.Scan().DurationS < end.Seconds()-1 {
				t.Errorf("summary: %d ports over %.0fs, want 30 over %.0fs", scan.Scan().PortCount, scan.Scan().DurationS, end.Seconds())
			}
			t.Logf("one probe per %v: alerted after %.0fs and %d probes (slow=%v)", interval, alert.Scan().DurationS, alert.Scan().Probes, alert.Scan().Slow)
		})
	}
}
