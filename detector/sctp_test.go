package detector

import (
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/technique"
)

// TestSCTPCookieEcho: nmap -sZ sends COOKIE ECHO chunks with no
// association; closed ports ABORT, open ones drop them silently.
func TestSCTPCookieEcho(t *testing.T) {
	runCases(t, []protoCase{{
		name: "nmap -sZ",
		run: func(w *wire) {
			for port := uint16(1); port <= 20; port++ {
				w.send(sctpP(scanner, target, 40000, port, 10))
				if port == 9 {
					w.send(sctpP(scanner, target, 40000, port, 10)) // tried twice
					continue
				}
				w.send(sctpP(target, scanner, port, 40000, 6))
			}
		},
		want: []want{{scanner: scanner, typ: technique.SCTP, shape: "vertical", proto: "SCTP", ports: 20,
			evidence: []string{"21 SCTP COOKIE ECHO (no association), 19 ABORT, 1 unanswered"}}},
	}, {
		// Associations whose INIT/INIT-ACK went before the capture began:
		// the COOKIE ECHO is answered by COOKIE ACK.
		name: "associations set up before the capture",
		run: func(w *wire) {
			for port := uint16(1); port <= 20; port++ {
				w.send(sctpP(scanner, target, 40000+port, port, 10))
				w.send(sctpP(target, scanner, port, 40000+port, 11))
			}
			w.wait(time.Minute)
		},
	}})
}
