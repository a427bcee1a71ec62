package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// The sequential test decides every technique with reply evidence at its
// fourth failed first contact (4^4 = 256 > 99), however fast: not one
// earlier, not slow. Ping and ARP sweeps, whose answers are not awaited,
// keep their counts (six pings to one host are no sweep); OS probes have
// their own count of two kinds (TestThresholds).
func TestSequentialDecidesFast(t *testing.T) {
	for tech := range technique.Count {
		if tech == technique.OSProbe || contentTechnique(tech) {
			continue // decided by their own evidence (TestThresholds, appscan, idle and ftp tests)
		}
		t.Run(tech.String(), func(t *testing.T) {
			b := newBook(t, rules.Default())
			for i := 1; i <= 6; i++ {
				c := Contact{Scanner: scanner, Target: target, Port: uint16(140 + i), Technique: tech, Outcome: OutClosed,
					Print: Print{Flags: tcpflags.SYN | tcpflags.FIN}}
				if !replyTechnique(tech) {
					c.Outcome = OutSent
				}
				b.add(c)
				b.wait(10 * time.Millisecond)
				got := len(b.kinds("alert"))
				switch {
				case !replyTechnique(tech) && got != 0:
					t.Fatalf("%d contacts without reply evidence alerted", i)
				case replyTechnique(tech) && (i < 4 && got != 0 || i >= 4 && got != 1):
					t.Fatalf("after %d failed contacts: %d alerts, want one from the 4th on", i, got)
				}
			}
			if a := b.kinds("alert"); replyTechnique(tech) && (a[0].Scan.PortCount != 4 || a[0].Scan.Slow || a[0].Scan.Type != tech.String()) {
				t.Fatalf("alert %+v, want %s at 4 ports, not slow", a[0].Scan, tech)
			}
		})
	}
}

// Small scans and the benign clients around them, packet by packet.
func TestSmallScans(t *testing.T) {
	closedSYNs := func(w *wire, src netip.Addr, ports ...uint16) {
		for _, port := range ports {
			w.send(nmapSYNP(src, target, 45000, port, 777, uint32(port)))
			w.send(tcpP(target, src, port, 45000, rstack, 0, 778))
		}
	}
	portsFrom := func(first uint16, n int) []uint16 {
		var ps []uint16
		for i := range n {
			ps = append(ps, first+uint16(i))
		}
		return ps
	}
	// fetch is an HTTP exchange: handshake, request, answer, close.
	fetch := func(w *wire, srv netip.Addr, sport, port uint16) {
		w.tcp(scanner, srv, sport, port, syn, 100, 0, 0, osOpts)
		w.tcp(srv, scanner, port, sport, synack, 900, 101, 0, osOpts)
		w.tcp(scanner, srv, sport, port, ack, 101, 901, 0, nil)
		w.tcp(scanner, srv, sport, port, pshack, 101, 901, 80, nil)
		w.tcp(srv, scanner, port, sport, pshack, 901, 181, 600, nil)
		w.tcp(scanner, srv, sport, port, finack, 181, 1501, 0, nil)
	}
	// refused is a connection refused by a host that is down.
	refused := func(w *wire, srv netip.Addr, sport, port uint16) {
		w.tcp(scanner, srv, sport, port, syn, 100, 0, 0, osOpts)
		w.tcp(srv, scanner, port, sport, rstack, 0, 101, 0, nil)
	}
	runCases(t, []protoCase{{
		name: "10-port SYN scan",
		run:  func(w *wire) { closedSYNs(w, scanner, portsFrom(1, 10)...) },
		want: []want{{scanner: scanner, typ: technique.Syn, ports: 10, tool: "nmap", evidence: []string{"10 SYN, 10 RST-ACK"}}},
	}, {
		// Three sources, 10 ports each, one target: three scans, one
		// distributed group.
		name: "three sources of 10 ports",
		run: func(w *wire) {
			for i, src := range []netip.Addr{scanner, scanner2, v4(4)} {
				closedSYNs(w, src, portsFrom(uint16(1+10*i), 10)...)
			}
		},
		want: []want{{scanner: scanner, typ: technique.Syn, ports: 10, group: true}, {scanner: scanner2, typ: technique.Syn, ports: 10, group: true},
			{scanner: v4(4), typ: technique.Syn, ports: 10, group: true}},
	}, {
		// Three ports are not yet a scan.
		name: "3-port SYN scan",
		run:  func(w *wire) { closedSYNs(w, scanner, 22, 80, 443) },
	}, {
		// A browser: 40 sites fetched, three of them down (refused),
		// one in between the others.
		name: "client with a few refusals",
		run: func(w *wire) {
			for i := range 40 {
				srv := v4(100 + i)
				if i%13 == 6 {
					refused(w, srv, uint16(50000+i), 443)
					continue
				}
				fetch(w, srv, uint16(50000+i), 443)
			}
			w.wait(time.Minute)
		},
	}, {
		// The same browser's successes come first, then five sites in a
		// row refuse (a blocked advertiser's servers): its record of
		// successes counts, although it had no tracker before the first
		// refusal.
		name: "client with a record, then refusals in a row",
		run: func(w *wire) {
			for i := range 30 {
				fetch(w, v4(100+i), uint16(50000+i), 443)
			}
			for i := range 5 {
				refused(w, v4(200+i), uint16(51000+i), 443)
			}
			w.wait(time.Minute)
		},
	}, {
		// With home networks set, the same record made with servers
		// outside them still counts, when the refusals come from hosts
		// inside: connections to the outside are never probes, but a
		// client's answered requests there tell it from a scanner.
		name:  "client with a record outside the home networks, then refusals at home",
		rules: homeIs("10.77.0.0/24"),
		run: func(w *wire) {
			outsideThenHome(w, fetch)
			w.wait(time.Minute)
		},
	}, {
		// The same with the requests out of sight (live capture's kernel
		// filter keeps data segments out): the close's sequence number
		// says a request was sent.
		name:  "client with a record outside the home networks seen only by its flags, then refusals at home",
		rules: homeIs("10.77.0.0/24"),
		run: func(w *wire) {
			outsideThenHome(w, func(w *wire, srv netip.Addr, sport, port uint16) {
				w.tcp(scanner, srv, sport, port, syn, 100, 0, 0, osOpts)
				w.tcp(srv, scanner, port, sport, synack, 900, 101, 0, osOpts)
				w.tcp(scanner, srv, sport, port, finack, 181, 1501, 0, nil)
			})
			w.wait(time.Minute)
		},
	}, {
		// Connections to the outside that were answered but carried no
		// request (the client closed at once) are no record.
		name:  "connects outside the home networks without a request, then refusals at home",
		rules: homeIs("10.77.0.0/24"),
		run: func(w *wire) {
			outsideThenHome(w, func(w *wire, srv netip.Addr, sport, port uint16) {
				w.tcp(scanner, srv, sport, port, syn, 100, 0, 0, osOpts)
				w.tcp(srv, scanner, port, sport, synack, 900, 101, 0, osOpts)
				w.tcp(scanner, srv, sport, port, ack, 101, 901, 0, nil)
				w.tcp(scanner, srv, sport, port, finack, 101, 901, 0, nil)
			})
		},
		want: []want{{scanner: scanner, typ: technique.Connect, shape: "horizontal", targets: 5}},
	}, {
		// Refusals outside the home networks are no probes at all.
		name:  "refusals outside the home networks",
		rules: homeIs("10.77.0.0/24"),
		run: func(w *wire) {
			for i := range 10 {
				refused(w, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), uint16(51000+i), 443)
			}
			w.wait(time.Minute)
		},
	}, {
		// Without that record, five refusals in a row are a scan.
		name: "refusals in a row",
		run: func(w *wire) {
			for i := range 5 {
				refused(w, v4(200+i), uint16(51000+i), 443)
			}
		},
		want: []want{{scanner: scanner, typ: technique.Connect, shape: "horizontal", targets: 5}},
	}, {
		// An HTTP health checker: GET on 20 backends every 2 s, two of
		// them down (RST).
		name: "HTTP health checks",
		run: func(w *wire) {
			sport := uint16(40000)
			for range 4 {
				for i := range 20 {
					sport++
					if i >= 18 {
						refused(w, v4(100+i), sport, 80)
					} else {
						fetch(w, v4(100+i), sport, 80)
					}
				}
				w.wait(2 * time.Second)
			}
			w.wait(time.Minute)
		},
	}, {
		// A load balancer's TCP checks (connect, then close at once, no
		// data) on 20 backends every 2 s.
		name: "TCP connect health checks",
		run: func(w *wire) {
			sport := uint16(40000)
			for range 4 {
				for i := range 20 {
					sport++
					srv := v4(100 + i)
					w.tcp(scanner, srv, sport, 80, syn, 100, 0, 0, osOpts)
					w.tcp(srv, scanner, 80, sport, synack, 900, 101, 0, osOpts)
					w.tcp(scanner, srv, sport, 80, ack, 101, 901, 0, nil)
					w.tcp(scanner, srv, sport, 80, rstack, 101, 901, 0, nil)
				}
				w.wait(2 * time.Second)
			}
			w.wait(time.Minute)
		},
	}, {
		// FTP in active mode: for each of 20 transfers the server opens a
		// data connection to the client's next port; most carry a file,
		// a few listings are empty (connect, then close without data).
		name: "FTP active mode",
		run: func(w *wire) {
			server, client := target, scanner
			for i := range 20 {
				cport := uint16(40000 + 2*i)
				w.tcp(server, client, 20, cport, syn, 100, 0, 0, osOpts)
				w.tcp(client, server, cport, 20, synack, 900, 101, 0, osOpts)
				w.tcp(server, client, 20, cport, ack, 101, 901, 0, nil)
				if i%5 != 4 {
					w.tcp(server, client, 20, cport, pshack, 101, 901, 1400, nil)
					w.tcp(server, client, 20, cport, finack, 1501, 901, 0, nil)
				} else {
					w.tcp(server, client, 20, cport, finack, 101, 901, 0, nil)
				}
				w.tcp(client, server, cport, 20, finack, 901, 102, 0, nil)
				w.wait(500 * time.Millisecond)
			}
			w.wait(time.Minute)
		},
	}})
}

// A source's successes before it has a tracker count when it gets one, as
// long as they are recent (slow.memory): a benign record takes 7 failures
// in a row to overcome (the test's floor, -ln 99, then +ln 99), a record a
// day old none.
func TestCreditOfSuccesses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before time.Duration // between the successes and the failures
		alerts []int         // alerts after each of 8 failures
	}{
		{"recent record", time.Minute, []int{0, 0, 0, 0, 0, 0, 1, 1}},
		{"record older than memory", 25 * time.Hour, []int{0, 0, 0, 1, 1, 1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBook(t, rules.Default())
			for i := range 30 {
				b.add(Contact{Scanner: scanner, Target: host(i), Port: 443, Technique: technique.Connect, Outcome: OutBenign})
			}
			b.wait(tc.before)
			for i, want := range tc.alerts {
				b.add(closed(scanner, target, uint16(1+i)))
				if got := len(b.kinds("alert")); got != want {
					t.Fatalf("after %d failures: %d alerts, want %d", i+1, got, want)
				}
			}
		})
	}
}

// contentTechnique: scans recognised by what the probes carry or whom they
// are sent in the name of (version, script, idle, ftpbounce), decided by
// their own evidence rather than by a count of failed contacts.
func contentTechnique(t technique.Technique) bool {
	switch t {
	case technique.Version, technique.Script, technique.Idle, technique.FTPBounce:
		return true
	}
	return false
}

// outsideThenHome is 30 exchanges of scanner with servers outside
// 10.77.0.0/24 (198.51.100.0/24, port 443), each made by exchange, then
// five connections refused by hosts inside it.
func outsideThenHome(w *wire, exchange func(w *wire, srv netip.Addr, sport, port uint16)) {
	for i := range 30 {
		exchange(w, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), uint16(50000+i), 443)
	}
	for i := range 5 {
		w.tcp(scanner, v4(200+i), uint16(51000+i), 443, syn, 100, 0, 0, osOpts)
		w.tcp(v4(200+i), scanner, 443, uint16(51000+i), rstack, 0, 101, 0, nil)
	}
}

// homeIs sets the rules' home networks to prefixes.
func homeIs(prefixes ...string) func(*rules.Rules) {
	return func(r *rules.Rules) {
		r.HomeNetworks = nil
		for _, p := range prefixes {
			r.HomeNetworks = append(r.HomeNetworks, netip.MustParsePrefix(p))
		}
	}
}
