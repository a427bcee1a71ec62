package detector

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/internal/mixgen"
	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// TestSweepSkipsKeptRunExactly runs generated mixes through two detectors:
// one as it is, whose sweeps skip the run of flows they kept before, and
// one whose sweep state is made dirty before every packet, so that every
// sweep walks every quiet flow (what sweepFlows did before the skip). Both
// must report the same events and end with the same flows. Packet time is
// also stretched, so that flows reach flowIdle and kept runs expire.
func TestSweepSkipsKeptRunExactly(t *testing.T) {
	t.Run("idle", sweepIdle)
	for _, c := range []struct {
		mix     mixgen.Mix
		stretch int64
	}{
		{mixgen.MixShort, 12},
		{mixgen.MixShort, 500},
		{mixgen.MixSYN, 40},
		{mixgen.MixSYN, 250},
		{mixgen.MixDefault, 600},
	} {
		t.Run(fmt.Sprintf("%s×%d", c.mix, c.stretch), func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := mixgen.Generate(&buf, mixgen.Options{Packets: 60_000, Seed: 7, Snaplen: 128, Mix: c.mix}); err != nil {
				t.Fatal(err)
			}
			r, err := pcapgo.NewReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			skip := New(rules.Default(), func(ev Event) { got = append(got, fmt.Sprintf("%+v", ev)) })
			full := New(rules.Default(), func(ev Event) { want = append(want, fmt.Sprintf("%+v", ev)) })
			dec := decode.NewDecoder(64)
			var p decode.Packet
			var start time.Time
			skipped := 0
			for {
				data, ci, err := r.ZeroCopyReadPacketData()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if start.IsZero() {
					start = ci.Timestamp
				}
				ts := start.Add(time.Duration(c.stretch) * ci.Timestamp.Sub(start))
				if ok, err := dec.Decode(linktype.LinkType(r.LinkType()), data, ts, &p); err != nil || !ok {
					continue
				}
				if skip.flows.sweep.top != 0 && !skip.flows.sweep.dirty {
					skipped++
				}
				skip.Process(&p)
				full.flows.sweep.dirty = true
				full.Process(&p)
			}
			skip.Flush()
			full.Flush()
			if skipped == 0 {
				t.Error("no sweep skipped a kept run: the test does not test the skip")
			}
			if skip.flows.len() != full.flows.len() {
				t.Errorf("%d flows left, want %d", skip.flows.len(), full.flows.len())
			}
			if len(got) != len(want) {
				t.Fatalf("%d events, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("event %d:\n got %s\nwant %s", i, got[i], want[i])
				}
			}
			if len(want) == 0 {
				t.Error("no events: the scan in the mix was not reported")
			}
		})
	}
}

// sweepIdle: short TCP connections that ended benign, then only a
// keep-alive every second for six minutes. The connections stay in the kept
// run, untouched, until flowIdle; both detectors must forget them at the
// same packet.
func sweepIdle(t *testing.T) {
	skip := New(rules.Default(), func(Event) {})
	full := New(rules.Default(), func(Event) {})
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	srv := netip.MustParseAddr("10.2.0.11")
	var pkts []decode.Packet
	tcp := func(at time.Duration, src, dst netip.Addr, sp, dp uint16, flags uint8, seq uint32, payload int) {
		pkts = append(pkts, decode.Packet{Time: t0.Add(at), Kind: decode.KindTCP, Src: src, Dst: dst, Proto: 6, TTL: 64,
			SrcPort: sp, DstPort: dp, Flags: tcpflags.Flags(flags), Seq: seq, Window: 502, Payload: payload, IPLen: 40 + payload})
	}
	for i := range 200 {
		cl := netip.AddrFrom4([4]byte{10, 1, byte(i / 200), byte(1 + i%200)})
		at := time.Duration(i) * time.Millisecond
		tcp(at, cl, srv, 40000, 443, 0x02, 100, 0)                      // SYN
		tcp(at+time.Microsecond, srv, cl, 443, 40000, 0x12, 500, 0)     // SYN-ACK
		tcp(at+2*time.Microsecond, cl, srv, 40000, 443, 0x10, 101, 0)   // ACK
		tcp(at+3*time.Microsecond, cl, srv, 40000, 443, 0x18, 101, 100) // data
	}
	a, b := netip.MustParseAddr("10.1.9.1"), netip.MustParseAddr("10.1.9.2")
	for s := range 400 {
		tcp(time.Second+time.Duration(s)*time.Second, a, b, 50000, 22, 0x18, uint32(1000+s), 10)
	}
	dropped := false
	for i := range pkts {
		skip.Process(&pkts[i])
		full.flows.sweep.dirty = true
		full.Process(&pkts[i])
		if skip.flows.len() != full.flows.len() {
			t.Fatalf("packet %d at %v: %d flows, want %d", i, pkts[i].Time.Sub(t0), skip.flows.len(), full.flows.len())
		}
		dropped = dropped || full.flows.len() < 10
	}
	if !dropped {
		t.Error("the idle connections were never forgotten: the test does not reach flowIdle")
	}
}
