package detector

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

func TestClassifyRequest(t *testing.T) {
	for _, tc := range []struct {
		data string
		n    int // 0: len(data)
		want ProbeKind
		ua   bool
	}{
		{data: "GET / HTTP/1.0\r\n\r\n", want: KindGetRequest},
		{data: "GET / HTTP/1.0\r\n\r\n", n: 40, want: KindNone}, // a longer request: not the probe
		{data: "OPTIONS / HTTP/1.0\r\n\r\n", want: KindHTTPOptions},
		{data: "\r\n\r\n", want: KindGenericLines},
		{data: "HELP\r\n", want: KindHelp},
		{data: "\x16\x03\x00\x00S\x01\x00\x00O\x03\x00?G\xd7\xf7\xba,\xee\xea\xb2`~\xf3", n: 88, want: KindSSLSessionReq},
		{data: "\x16\x03\x00\x00i\x01\x00\x00e\x03\x03U\x1c\xa7\xe4random1", n: 110, want: KindTLSSessionReq},
		{data: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", n: 517, want: KindNone}, // a real TLS client
		{data: "\x00\x00\x00\xa4\xffSMBr\x00", n: 168, want: KindNone},                 // too little captured to tell
		{data: "\x00\x00\x00\xa4\xffSMBr\x00\x00\x00\x00\x08\x01@\x00", n: 168, want: KindSMBProgNeg},
		{data: "GET /nmaplowercheck1796175555 HTTP/1.1\r\nUser-Agent: Mozilla/5.", want: KindNmapLowerCheck},
		{data: "GET /nmaplowercheck HTTP/1.1\r\n", want: KindNone},
		{data: "GET /HNAP1 HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (compatible; Nmap", want: KindHNAP1, ua: true},
		{data: "GET /robots.txt HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl", want: KindRobots},
		{data: "GET /index.html HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (compatible; Nmap Scri", want: KindNSEUserAgent, ua: true},
		{data: "GET /index.html HTTP/1.1\r\nHost: 10.77.0.10\r\n", want: KindNone},
		{data: "POST /sdk HTTP/1.1\r\n", want: KindVMwareSDK},
		{data: "PROPFIND / HTTP/1.1\r\nDepth: 0\r\n", want: KindPropfind},
		{data: "SSH-2.0-Nmap-SSH2-Hostkey\r\n", want: KindSSHHostkey},
		{data: "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", want: KindNone},
		{data: "USER anonymous\r\n", want: KindFTPAnonymous},
		{data: "USER alice\r\n", want: KindNone},
		{data: "GET / HTTP/1.0\r\nUser-Agent: masscan/1.3 (https://github.com/robertdavidgraham/masscan)\r\n", want: KindMasscanHTTP},
	} {
		n := tc.n
		if n == 0 {
			n = len(tc.data)
		}
		data := []byte(tc.data)
		k, ua := classifyRequest(data, n)
		if k != tc.want || ua != tc.ua {
			t.Errorf("%q (%d bytes): %v, ua %v; want %v, ua %v", tc.data, n, k, ua, tc.want, tc.ua)
		}
		// It runs on every connection's first request: no allocation.
		if a := testing.AllocsPerRun(10, func() { classifyRequest(data, n) }); a != 0 {
			t.Errorf("%q: %v allocations", tc.data, a)
		}
	}
}

// conn plays one client connection through the wire: handshake (SYN with
// opts), the server's banner if any, the client's first request (data,
// after wait) or none, and the client's close (the server's first when
// srvFirst).
type conn struct {
	src, dst     netip.Addr
	sport, dport uint16
	opts         []byte // the SYN's options: osOpts for connect(), mssOnly for nmap's crafted SYN
	banner       int
	wait         time.Duration
	data         string
	srvFirst     bool
}

func (w *wire) conn(c conn) {
	const isn, risn = 7000, 9000
	w.tcp(c.src, c.dst, c.sport, c.dport, syn, isn, 0, 0, c.opts)
	w.tcp(c.dst, c.src, c.dport, c.sport, synack, risn, isn+1, 0, osOpts)
	w.tcp(c.src, c.dst, c.sport, c.dport, ack, isn+1, risn+1, 0, nil)
	if c.banner > 0 {
		w.tcp(c.dst, c.src, c.dport, c.sport, pshack, risn+1, isn+1, c.banner, nil)
	}
	w.now = w.now.Add(c.wait)
	seq := uint32(isn + 1)
	if c.data != "" {
		w.now = w.now.Add(time.Millisecond)
		p := decode.Packet{Time: w.now, Kind: decode.KindTCP, Src: c.src, Dst: c.dst, Proto: 6, TTL: 64, DF: true,
			SrcPort: c.sport, DstPort: c.dport, Flags: pshack, Seq: seq, Ack: risn + 1, Window: 502,
			Payload: len(c.data), Data: []byte(c.data)}
		w.d.Process(&p)
		seq += uint32(len(c.data))
	}
	if c.srvFirst {
		w.tcp(c.dst, c.src, c.dport, c.sport, finack, risn+1, seq, 0, nil)
	}
	w.tcp(c.src, c.dst, c.sport, c.dport, finack, seq, risn+2, 0, nil)
}

func TestAppScans(t *testing.T) {
	lb := netip.MustParseAddr("10.77.0.5")
	runCases(t, []protoCase{{
		// nmap -sV on two ports: its SYN scan finds them open, then the
		// NULL probe reads the SSH banner and hangs up, and on the web
		// port waits for a banner, then sends GetRequest.
		name: "nmap -sV",
		run: func(w *wire) {
			for _, port := range []uint16{22, 80} {
				w.tcp(scanner, target, 40000, port, syn, 1000, 0, 0, mssOnly)
				w.tcp(target, scanner, port, 40000, synack, 5000, 1001, 0, osOpts)
				w.tcp(scanner, target, 40000, port, rst, 1001, 0, 0, nil)
			}
			w.conn(conn{src: scanner, dst: target, sport: 50001, dport: 22, opts: osOpts, banner: 21})
			w.conn(conn{src: scanner, dst: target, sport: 50002, dport: 80, opts: osOpts, wait: 6 * time.Second, data: "GET / HTTP/1.0\r\n\r\n"})
			w.conn(conn{src: scanner, dst: target, sport: 50003, dport: 80, opts: osOpts, data: "GET /nmaplowercheck1796175555 HTTP/1.1\r\n"})
		},
		want: []want{{scanner: scanner, typ: technique.Version, shape: "vertical", proto: "TCP", ports: 2, open: []uint16{22, 80}, tool: "nmap",
			evidence: []string{"2 open ports probed", "banner read and closed", "NULL probe", "GetRequest", "nmap SYN probes had found open x2", "GET /nmaplowercheck<digits>"}}},
	}, {
		// The same probes from a source that scanned nothing first, one
		// port: the NULL wait and two probes are enough.
		name: "service probes on one port",
		run: func(w *wire) {
			w.conn(conn{src: scanner, dst: target, sport: 50001, dport: 21, opts: osOpts, banner: 20, wait: 6 * time.Second, data: "\r\n\r\n"})
			w.conn(conn{src: scanner, dst: target, sport: 50002, dport: 21, opts: osOpts, banner: 20, data: "HELP\r\n"})
		},
		want: []want{{scanner: scanner, typ: technique.Version, ports: 1, open: []uint16{21}, evidence: []string{"NULL probe", "GenericLines", "Help"}}},
	}, {
		// One nmap script request names the scanner.
		name: "nmap script request",
		run: func(w *wire) {
			w.conn(conn{src: scanner, dst: target, sport: 50001, dport: 8080, opts: osOpts, data: "GET /nmaplowercheck1796175555 HTTP/1.1\r\n"})
			w.conn(conn{src: scanner, dst: target, sport: 50002, dport: 8080, opts: osOpts, data: "GET /robots.txt HTTP/1.1\r\nHost: x\r\n"})
		},
		want: []want{{scanner: scanner, typ: technique.Script, ports: 1, open: []uint16{8080}, tool: "nmap",
			evidence: []string{"GET /nmaplowercheck<digits>", "GET /robots.txt"}}},
	}, {
		// masscan --banners: its crafted SYN, then its own stack's ACK.
		name: "masscan --banners",
		run: func(w *wire) {
			masscan := netip.MustParseAddr("10.77.0.200")
			for _, port := range []uint16{21, 80} {
				seq := uint32(0x5000 + uint32(port))
				tgt := target.As4()
				ipid := uint32(uint16((uint32(tgt[0])<<24 | uint32(tgt[1])<<16 | uint32(tgt[2])<<8 | uint32(tgt[3])) ^ uint32(port) ^ seq))
				p := decode.Packet{Time: w.now, Kind: decode.KindTCP, Src: masscan, Dst: target, Proto: 6, TTL: 255, IPID: ipid,
					SrcPort: 61000, DstPort: port, Flags: syn, Seq: seq, Window: 1024}
				w.send(p)
				w.tcp(target, masscan, port, 61000, synack, 9000, seq+1, 0, mssOnly)
				w.tcp(masscan, target, 61000, port, ack, seq+1, 9001, 0, nil)
			}
		},
		want: []want{{scanner: netip.MustParseAddr("10.77.0.200"), typ: technique.Version, ports: 2, open: []uint16{21, 80}, tool: "masscan",
			evidence: []string{"masscan's own TCP stack"}}},
	}, {
		// A load balancer's health checks: OPTIONS / HTTP/1.0 and GET /
		// HTTP/1.0 to its web backends, banner checks of its mail ones.
		name: "health checks",
		run: func(w *wire) {
			for round := range 3 {
				for i := range 6 {
					dst := v4(20 + i)
					sport := uint16(40000 + 100*round + i)
					switch i % 3 {
					case 0:
						w.conn(conn{src: lb, dst: dst, sport: sport, dport: 80, opts: osOpts, data: "OPTIONS / HTTP/1.0\r\n\r\n"})
					case 1:
						w.conn(conn{src: lb, dst: dst, sport: sport, dport: 8080, opts: osOpts, data: "GET / HTTP/1.0\r\n\r\n"})
					case 2:
						w.conn(conn{src: lb, dst: dst, sport: sport, dport: 25, opts: osOpts, banner: 30})
					}
				}
				w.wait(2 * time.Second)
			}
		},
	}, {
		// Someone checking a mail server by hand: telnet, the banner, a
		// pause, HELP; then the same with EHLO and a name.
		name: "telnet by hand",
		run: func(w *wire) {
			w.conn(conn{src: scanner, dst: target, sport: 50001, dport: 25, opts: osOpts, banner: 40, wait: 8 * time.Second, data: "HELP\r\n"})
			w.conn(conn{src: scanner, dst: target, sport: 50002, dport: 25, opts: osOpts, banner: 40, wait: 6 * time.Second, data: "EHLO me\r\n"})
		},
	}, {
		// A browser: favicon, robots, OPTIONS preflights, HEAD.
		name: "browser",
		run: func(w *wire) {
			for i, req := range []string{"GET /favicon.ico HTTP/1.1\r\n", "GET /robots.txt HTTP/1.1\r\n", "OPTIONS / HTTP/1.1\r\nAccess-Control", "HEAD / HTTP/1.1\r\n"} {
				w.conn(conn{src: scanner, dst: target, sport: uint16(50000 + i), dport: 443, opts: osOpts, data: req})
			}
		},
	}, {
		// FTP passive data connections after a SYN scan of the control
		// port: the server sends the listing and closes first.
		name: "ftp data connections",
		run: func(w *wire) {
			w.tcp(scanner, target, 40000, 21, syn, 1000, 0, 0, mssOnly)
			w.tcp(target, scanner, 21, 40000, synack, 5000, 1001, 0, osOpts)
			w.tcp(scanner, target, 40000, 21, rst, 1001, 0, 0, nil)
			for i := range 3 {
				w.conn(conn{src: scanner, dst: target, sport: uint16(50000 + i), dport: uint16(60000 + i), opts: osOpts, banner: 390, srvFirst: true})
			}
			w.conn(conn{src: scanner, dst: target, sport: 50010, dport: 21, opts: osOpts, banner: 24, data: "USER anonymous\r\n"})
		},
	}})
}

// BenchmarkConnections: short client connections (handshake, a request,
// the answer, the close), whose first request is read for service probes
// and script requests.
func BenchmarkConnections(b *testing.B) {
	d := New(rules.Default(), func(Event) {})
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	reqs := [][]byte{[]byte("GET /index.html HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: curl/8"),
		[]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xdaK\xaa'\xb2C\x9b\x17K\x9eV\xec"), []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")}
	client := decode.Packet{Kind: decode.KindTCP, Proto: 6, TTL: 64, DF: true, Dst: target, Window: 502}
	server := decode.Packet{Kind: decode.KindTCP, Proto: 6, TTL: 64, DF: true, Src: target, Window: 502}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		src := netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)})
		sport, dport := uint16(20000+i%40000), []uint16{80, 443, 22}[i%3]
		step := func(p *decode.Packet, fromClient bool, flags tcpflags.Flags, data []byte) {
			n++
			p.Time = t0.Add(time.Duration(n) * time.Microsecond)
			p.Flags, p.Data, p.Payload = flags, data, len(data)
			if fromClient {
				p.Src, p.SrcPort, p.DstPort = src, sport, dport
			} else {
				p.Dst, p.SrcPort, p.DstPort = src, dport, sport
			}
			d.Process(p)
		}
		client.Options = osOpts
		step(&client, true, syn, nil)
		client.Options = nil
		step(&server, false, synack, nil)
		step(&client, true, ack, nil)
		step(&client, true, pshack, reqs[i%3])
		step(&server, false, pshack, reqs[0][:40])
		step(&client, true, finack, nil)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkClassifyRequest: the cost added to each client flow's first
// request.
func BenchmarkClassifyRequest(b *testing.B) {
	reqs := [][]byte{[]byte("GET /index.html HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)"),
		[]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xdaK\xaa'\xb2C\x9b\x17K\x9eV\xec"), []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")}
	for i := 0; b.Loop(); i++ {
		r := reqs[i%3]
		classifyRequest(r, len(r)+100)
	}
}

// TestFlowSize: the technique files' fields fill the flow's padding, and
// the sweep's bookkeeping (its kept run) adds one word; a million flows
// must not grow further unnoticed.
func TestFlowSize(t *testing.T) {
	if n := unsafe.Sizeof(flow{}); n > 144 {
		t.Errorf("flow is %d bytes, want at most 144", n)
	}
}
