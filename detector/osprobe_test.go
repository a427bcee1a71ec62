package detector

import (
	"testing"

	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// nmap -O sends a fixed set of odd probes; their kinds stand in for ports,
// and a SYN-ACK to one of them shows an open port.
func TestOSProbes(t *testing.T) {
	tsMax := []byte{1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 5, 0xb4}
	probes := func(w *wire) {
		seq := tcpP(scanner, target, 40001, 22, syn, 1, 0) // SEQ
		seq.Options = tsMax
		w.send(seq)
		w.send(tcpP(target, scanner, 22, 40001, synack, 9, 2))
		t2 := tcpP(scanner, target, 40002, 22, 0, 1, 0) // T2: no flags, options
		t2.Options = tsMax
		w.send(t2)
		w.send(tcpP(scanner, target, 40003, 81, syn|tcpflags.FIN|tcpflags.PSH|tcpflags.URG, 1, 0)) // T3
		w.send(icmpP(scanner, target, 8, 9))                                                       // IE
		u1 := udpP(scanner, target, 40004, 81, 300)                                                // U1
		u1.IPID = 0x1042
		w.send(u1)
	}
	runCases(t, []protoCase{{
		name: "nmap -O",
		run:  probes,
		want: []want{{scanner: scanner, typ: technique.OSProbe, shape: "vertical", ports: 5, open: []uint16{22}, tool: "nmap",
			toolWhy: "nmap -O probe values: SEQ,T2,T3,IE,U1"}},
	}})
}
