package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/technique"
)

// craftedSynAck is nmap's SYN-ACK reading a zombie's IP ID: window 1024,
// MSS only, no DF, a low TTL.
func craftedSynAck(src, dst netip.Addr, sport, dport uint16) decode.Packet {
	return decode.Packet{Kind: decode.KindTCP, Src: src, Dst: dst, Proto: 6, TTL: 47, IPID: uint32(sport) * 7,
		SrcPort: sport, DstPort: dport, Flags: synack, Seq: 1246498697, Ack: 166681017, Window: 1024, Options: mssOnly}
}

func rstP(src, dst netip.Addr, sport, dport uint16, ipid uint32) decode.Packet {
	return decode.Packet{Kind: decode.KindTCP, Src: src, Dst: dst, Proto: 6, TTL: 128, IPID: ipid,
		SrcPort: sport, DstPort: dport, Flags: rst, Seq: 166681017}
}

func TestIdleScan(t *testing.T) {
	zombie, prober := v4(20), v4(2)
	// nmap's check of its zombie, seen at the target: SYN-ACKs spoofed
	// from the target make the zombie send it RSTs.
	spoofTest := func(w *wire) {
		for i := range 4 {
			w.send(rstP(zombie, target, 80, 52989, uint32(15738+i)))
		}
	}
	// The SYNs in the zombie's name: 8 closed ports, 2 open ones whose
	// SYN-ACKs the zombie resets.
	synsFromZombie := func(w *wire) {
		id := uint32(15742)
		for port := uint16(20); port < 30; port++ {
			w.send(nmapSYNP(zombie, target, 80, port, 2977601821, 1000+uint32(port)))
			if port == 22 || port == 25 {
				w.tcp(target, zombie, port, 80, synack, 5000, 2977601822, 0, mssOnly)
				w.send(rstP(zombie, target, 80, port, id))
				id += 3
			} else {
				w.tcp(target, zombie, port, 80, rstack, 0, 2977601822, 0, nil)
			}
		}
	}
	// At the zombie: the prober reads its IP ID, each read from a new
	// port, and the victim answers SYNs the zombie never sent.
	reads := func(w *wire, n int) {
		for i := range n {
			w.send(craftedSynAck(prober, zombie, uint16(52990+i), 80))
			w.send(rstP(zombie, prober, 80, uint16(52990+i), uint32(15732+i)))
		}
	}
	replies := func(w *wire) {
		for port := uint16(20); port < 30; port++ {
			if port == 22 || port == 25 {
				// The victim's kernel: DF, TTL 64, the MSS it was offered.
				w.send(decode.Packet{Kind: decode.KindTCP, Src: target, Dst: zombie, Proto: 6, TTL: 64, DF: true,
					SrcPort: port, DstPort: 80, Flags: synack, Seq: 5000, Ack: 2977601822, Window: 64240, Options: mssOnly})
			} else {
				w.tcp(target, zombie, port, 80, rstack, 0, 2977601822, 0, nil)
			}
			if port%3 == 0 {
				reads(w, 1)
			}
		}
	}
	runCases(t, []protoCase{{
		name: "at the target",
		run:  func(w *wire) { spoofTest(w); synsFromZombie(w) },
		want: []want{{scanner: zombie, typ: technique.Idle, shape: "vertical", ports: 10, open: []uint16{22, 25}, tool: "nmap",
			evidence: []string{"10 SYN in 10.77.0.20's name", "a scanner hides behind 10.77.0.20", "4 RSTs from 10.77.0.20 answered SYN-ACKs 10.77.0.10 never sent",
				"one incrementing IP ID"}}},
	}, {
		// The same SYNs with no backscatter before: a SYN scan like any
		// other (the sequential test decides it at its 4th failure).
		name: "at the target, no zombie test",
		run:  synsFromZombie,
		want: []want{{scanner: zombie, typ: technique.Syn, ports: 10, open: []uint16{22, 25}, tool: "nmap"}},
	}, {
		name: "at the zombie",
		run:  func(w *wire) { reads(w, 6); replies(w) },
		want: []want{{scanner: prober, typ: technique.Idle, shape: "vertical", ports: 10, open: []uint16{22, 25}, tool: "nmap",
			evidence: []string{"10 replies from the victim to 10.77.0.20", "10.77.0.2 is using 10.77.0.20 as an idle-scan zombie against 10.77.0.10",
				"unsolicited SYN-ACKs from 10.77.0.2 to 10.77.0.20:80"}}},
	}, {
		// Backscatter of a SYN flood in the zombie's name, with no one
		// reading its IP ID: nothing.
		name: "at the zombie, no prober",
		run: func(w *wire) {
			reads(w, 2)
			w.wait(time.Second)
			replies(w)
		},
	}})
}
