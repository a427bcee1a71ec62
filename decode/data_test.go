package decode

import (
	"testing"

	"github.com/scanwatch/scanwatch/linktype"
)

// A client's first request (nmap -sV's GetRequest probe, testdata/issue9/nmap_sV.pcap).
//
// 01:38:52.745651 IP 10.77.0.2.52756 > 10.77.0.10.80: Flags [P.], seq 4199213140:4199213158, ack 3158416603, win 63, options [nop,nop,TS val 2979191715 ecr 1254749275], length 18: HTTP: GET / HTTP/1.0
//
//	0x0000:  0277 0000 0010 0277 0000 0002 0800 4500  .w.....w......E.
//	0x0010:  0046 04c2 4000 4006 214b 0a4d 0002 0a4d  .F..@.@.!K.M...M
//	0x0020:  000a ce14 0050 fa4a e854 bc41 9cdb 8018  .....P.J.T.A....
//	0x0030:  003f aca1 0000 0101 080a b192 dba3 4ac9  .?............J.
//	0x0040:  f45b 4745 5420 2f20 4854 5450 2f31 2e30  .[GET./.HTTP/1.0
//	0x0050:  0d0a 0d0a                                ....
var ethHTTPGet = []byte{
	0x02, 0x77, 0x00, 0x00, 0x00, 0x10, 0x02, 0x77, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
	0x00, 0x46, 0x04, 0xc2, 0x40, 0x00, 0x40, 0x06, 0x21, 0x4b, 0x0a, 0x4d, 0x00, 0x02, 0x0a, 0x4d,
	0x00, 0x0a, 0xce, 0x14, 0x00, 0x50, 0xfa, 0x4a, 0xe8, 0x54, 0xbc, 0x41, 0x9c, 0xdb, 0x80, 0x18,
	0x00, 0x3f, 0xac, 0xa1, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xb1, 0x92, 0xdb, 0xa3, 0x4a, 0xc9,
	0xf4, 0x5b, 0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x30,
	0x0d, 0x0a, 0x0d, 0x0a,
}

// TestData: Packet.Data is the captured start of the TCP payload, bounded
// by the IP length (Ethernet padding is not payload), by what the capture
// kept, and by MaxData; nil when no payload byte was captured.
func TestData(t *testing.T) {
	padded := append(append([]byte(nil), ethRSTACK...), make([]byte, 6)...) // padded to 60 bytes
	long := append([]byte(nil), ethHTTPGet[:66]...)
	for range 300 {
		long = append(long, 'A')
	}
	long[16], long[17] = byte((len(long)-14)>>8), byte(len(long)-14)
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"request", ethHTTPGet, "GET / HTTP/1.0\r\n\r\n"},
		{"cut by the snap length", ethHTTPGet[:72], "GET / "},
		{"headers only captured", ethHTTPGet[:66], ""},
		{"no payload, padded frame", padded, ""},
		{"no payload", ethSYN, ""},
		{"long payload", long, string(long[66 : 66+MaxData])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(4)
			var p Packet
			if ok, err := d.Decode(linktype.Ethernet, tc.frame, t0, &p); !ok || err != nil {
				t.Fatalf("Decode: %v, %v", ok, err)
			}
			if string(p.Data) != tc.want || (tc.want == "") != (p.Data == nil) {
				t.Fatalf("Data = %q, want %q", p.Data, tc.want)
			}
			if tc.name == "request" && p.Payload != 18 {
				t.Fatalf("Payload = %d, want 18", p.Payload)
			}
		})
	}
}
