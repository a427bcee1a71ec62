package capture

import (
	"context"
	"encoding/binary"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TestClockJumps: a packet dated further than MaxJump from the one before
// it is reported; an outlier (the packets around it agree with each other)
// is read at the time before it, a move the next packet confirms (a pause,
// a clock set back) is read as it is. For each format and read path.
func TestClockJumps(t *testing.T) {
	const maxJump = time.Minute
	decade := 10 * 365 * 24 * time.Hour
	shift := func(from int, d time.Duration) func([]testPkt) {
		return func(p []testPkt) {
			for i := from; i < len(p); i++ {
				p[i].ts = p[i].ts.Add(d)
			}
		}
	}
	one := func(i int, d time.Duration) func([]testPkt) {
		return func(p []testPkt) { p[i].ts = p[i].ts.Add(d) }
	}
	type jump struct {
		packet uint64
		kind   JumpKind
	}
	sparse := func(p []testPkt) {
		// One packet every five minutes (a slow scan's unanswered
		// probes): time passing, not outliers.
		for i := range p {
			p[i].ts = p[0].ts.Add(time.Duration(i) * 5 * time.Minute)
		}
	}
	for _, tc := range []struct {
		name   string
		change func([]testPkt)
		jumps  []jump
		readAt map[int]int // packet index: read at the time of this packet's (original) time
	}{
		{"steady", func([]testPkt) {}, nil, nil},
		{"just-under", shift(5, maxJump-10*time.Millisecond), nil, nil},
		{"outlier-ahead", one(5, decade), []jump{{6, JumpOutlier}}, map[int]int{5: 4}},
		{"outlier-behind", one(5, -decade), []jump{{6, JumpOutlier}}, map[int]int{5: 4}},
		{"outlier-ahead-by-an-hour", one(5, time.Hour), []jump{{6, JumpOutlier}}, map[int]int{5: 4}},
		{"first-outlier", one(0, decade), []jump{{1, JumpOutlier}}, map[int]int{0: 1}},
		{"first-far-behind", one(0, -decade), []jump{{2, JumpAhead}}, nil}, // the second a long time after the first: time passed
		{"last-ahead", one(11, 48*time.Hour), []jump{{12, JumpAhead}}, nil},
		{"last-behind", one(11, -48*time.Hour), []jump{{12, JumpOutlier}}, map[int]int{11: 10}},
		{"two-outliers", func(p []testPkt) { p[3].ts = p[3].ts.Add(decade); p[8].ts = p[8].ts.Add(-decade) }, []jump{{4, JumpOutlier}, {9, JumpOutlier}}, map[int]int{3: 2, 8: 7}},
		{"pause", shift(5, 2*time.Hour), []jump{{6, JumpAhead}}, nil},
		{"set-back", shift(5, -time.Hour), []jump{{6, JumpBack}}, nil},
		{"sparse", sparse, []jump{{2, JumpAhead}, {3, JumpAhead}, {4, JumpAhead}, {5, JumpAhead}, {6, JumpAhead}, {7, JumpAhead}, {8, JumpAhead}, {9, JumpAhead}, {10, JumpAhead}, {11, JumpAhead}, {12, JumpAhead}}, nil},
	} {
		pkts := genPackets(12, 31, true)
		tc.change(pkts)
		want := slices.Clone(pkts)
		for i, j := range tc.readAt {
			want[i].ts = pkts[j].ts
		}
		// Packet data that a look ahead must not overwrite: distinct bytes.
		for i := range pkts {
			pkts[i].data = append(pkts[i].data, byte(i), 0xee)
			want[i].data = pkts[i].data
		}
		pcapFile, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
		ng := &ngBuilder{order: binary.BigEndian}
		ng.shb()
		ng.idb(layers.LinkTypeEthernet, 6)
		for i, p := range pkts {
			if i == 4 {
				// Blocks between packets, so that the look ahead
				// reads past them.
				ng.idb(layers.LinkTypeRaw, 9)
				ng.isb(0)
			}
			ng.epb(p)
		}
		for _, f := range []struct {
			name string
			b    []byte
		}{
			{"pcap", pcapFile}, {"pcap.gz", gzipBytes(pcapFile)}, {"pcapng", ng.b}, {"pcapng.gz", gzipBytes(ng.b)},
		} {
			t.Run(tc.name+"/"+f.name, func(t *testing.T) {
				var jumps []*ClockJump
				o := Opener{MaxJump: maxJump, Warn: func(err error) { jumps = append(jumps, err.(*ClockJump)) }}
				src, err := o.Open(context.Background(), writeTemp(t, "f", f.b))
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				got, err := readAll(src)
				if err != io.EOF {
					t.Fatal(err)
				}
				checkPackets(t, got, want)
				if len(jumps) != len(tc.jumps) {
					t.Fatalf("jumps %v, want %v", jumps, tc.jumps)
				}
				for i, j := range jumps {
					if j.Packet != tc.jumps[i].packet || j.Kind != tc.jumps[i].kind || !j.Stamp.Equal(pkts[j.Packet-1].ts) {
						t.Errorf("jump %d: %+v, want %+v", i, j, tc.jumps[i])
					}
					t.Log(j)
				}
				if n := src.Stats().ClockJumps; n != uint64(len(jumps)) {
					t.Errorf("Stats.ClockJumps = %d", n)
				}
			})
		}
	}
}

// TestOutlierDoesNotHoldTheMerge: one frame dated ten years ahead must not
// keep its file's later packets behind every other file's.
func TestOutlierDoesNotHoldTheMerge(t *testing.T) {
	a := genPackets(10, 41, true)
	b := genPackets(10, 42, true)
	for i := range b {
		b[i].ts = a[i].ts.Add(time.Microsecond) // interleaved
	}
	stamp := a[3].ts
	a[3].ts = a[3].ts.Add(10 * 365 * 24 * time.Hour)
	ab, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, a)
	bb, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, b)
	src, err := Opener{MaxJump: time.Minute}.Open(context.Background(), writeTemp(t, "a", ab), writeTemp(t, "b", bb))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(src)
	if err != io.EOF || len(got) != 20 {
		t.Fatalf("%d packets, %v", len(got), err)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.Before(got[i-1].Time) || got[i].Time.After(stamp.Add(time.Second)) {
			t.Fatalf("packet %d at %v after %v", i, got[i].Time, got[i-1].Time)
		}
	}
}
