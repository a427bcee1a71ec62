package decode

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/scanwatch/scanwatch/linktype"
)

// testFrame is one frame to decode.
type testFrame struct {
	name string
	lt   layers.LinkType
	data []byte
	ts   time.Time
}

// resetFrames are every frame case, their prefixes cut inside a header
// (errors), the fragments and tunnels, and every frame of the committed
// captures: what Decode must leave no trace of in the Packet it decodes
// into next.
func resetFrames(t *testing.T) []testFrame {
	eth := layers.LinkTypeEthernet
	var fs []testFrame
	for _, tc := range frameCases() {
		fs = append(fs, testFrame{tc.name, tc.lt, tc.data, t0})
		fs = append(fs, testFrame{tc.name + " cut", tc.lt, tc.data[:tc.hdr-1], t0})
	}
	for i, f := range [][]byte{ethFrag1, ethFrag2, ethFrag3, ethMTU16Frag1, ethMTU16Frag2, ethIPv6UDPFrag1, ethIPv6UDPFrag2, ethIPv6UDPFrag3, ethUDPFrag1, ethUDPFrag2, ethUDPFrag3} {
		fs = append(fs, testFrame{"fragment", eth, f, t0.Add(time.Duration(i) * time.Millisecond)})
	}
	inner := ethICMPHostUnreachTCP
	fs = append(fs,
		testFrame{"vxlan icmp", eth, underlay(17, udpTo(4789, cat([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, inner))), t0},
		testFrame{"gre icmp", eth, underlay(47, cat([]byte{0x00, 0x00, 0x08, 0x00}, inner[14:])), t0},
		testFrame{"gre arp", eth, underlay(47, cat([]byte{0x20, 0x00, 0x65, 0x58, 0, 0, 0, 7}, ethARPReply)), t0},
	)
	paths, _ := filepath.Glob("../testdata/*.pcap")
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			f.Close()
			continue // not one pcapgo reads (the crafted ones)
		}
		for {
			data, ci, err := r.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				break
			}
			fs = append(fs, testFrame{filepath.Base(path), r.LinkType(), data, ci.Timestamp})
		}
		f.Close()
	}
	return fs
}

// fillGarbage sets every field of v to something that is not zero.
func fillGarbage(t *testing.T, v reflect.Value) {
	switch x := v.Addr().Interface().(type) {
	case *time.Time:
		*x = time.Date(2001, 2, 3, 4, 5, 6, 7, time.FixedZone("garbage", 3600))
		return
	case *netip.Addr:
		*x = netip.MustParseAddr("fe80::dead:beef%garbage")
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillGarbage(t, v.Field(i))
			}
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-99)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(0xa5)
	case reflect.Slice:
		v.Set(reflect.ValueOf([]byte{0xde, 0xad}))
	default:
		t.Fatalf("fillGarbage: a field of kind %v: teach it", v.Kind())
	}
}

// TestReset decodes every frame into a Packet whose every field is
// garbage, and into the Packet that decoded every frame case before it:
// the packet must be the one a zero Packet decodes to. (Decode resets all
// of the Packet; a cheaper reset, of the fields a frame may have set,
// must pass this too.)
func TestReset(t *testing.T) {
	frames := resetFrames(t)
	if len(frames) < 1000 {
		t.Fatalf("only %d frames", len(frames))
	}
	// Two decoders fed the same frames, so that fragments reassemble
	// alike: one into zero Packets, one into the Packet under test.
	fresh, reused := NewDecoder(64), NewDecoder(64)
	check := func(name string, f testFrame, p *Packet) {
		t.Helper()
		var want Packet
		wok, werr := fresh.Decode(linktype.LinkType(f.lt), f.data, f.ts, &want)
		ok, err := reused.Decode(linktype.LinkType(f.lt), f.data, f.ts, p)
		if ok != wok || (err == nil) != (werr == nil) {
			t.Fatalf("%s %s: %v %v, from zero %v %v", name, f.name, ok, err, wok, werr)
		}
		if !reflect.DeepEqual(*p, want) {
			t.Fatalf("%s %s:\n got %+v\nwant %+v", name, f.name, *p, want)
		}
	}
	var garbage Packet
	fillGarbage(t, reflect.ValueOf(&garbage).Elem())
	for _, f := range frames {
		p := garbage
		check("into garbage", f, &p)
	}
	var p Packet
	cases := frames[:2*len(frameCases())]
	for _, a := range cases {
		for _, f := range cases {
			check("", a, &p)
			check("after "+a.name, f, &p)
		}
	}
	for _, f := range frames {
		check("in turn", f, &p)
	}
}
