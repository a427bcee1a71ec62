package bpf

import "testing"

// TestDataSegments: a passed segment with payload keeps DATA_KEEP bytes of
// it (service probes are told by their first bytes), and an FTP control
// channel passes every segment with payload (a bounce scan's PORT commands
// come after the first).
func TestDataSegments(t *testing.T) {
	f := loadTest(t, Options{Patterns: testPatterns})
	const hdr = 14 + 20 + 20
	s := func(sport, dport uint16, flags uint8, payload int, reverse bool) []byte {
		return tcpFrame(t, seg{sport: sport, dport: dport, flags: flags, payload: payload, reverse: reverse})
	}
	runSteps(t, f, false, []step{
		{name: "request on a new flow keeps 96 bytes of it", frame: s(5001, 80, fACK|fPSH, 400, false), pass: true, keep: hdr + 96},
		{name: "its second segment", frame: s(5001, 80, fACK|fPSH, 400, false), pass: false},
		{name: "FTP: USER", frame: s(5002, 21, fACK|fPSH, 16, false), pass: true, keep: hdr + 96},
		{name: "FTP: reply", frame: s(5002, 21, fACK|fPSH, 33, true), pass: true, keep: hdr + 96},
		{name: "FTP: PORT, a later command", frame: s(5002, 21, fACK|fPSH, 22, false), pass: true},
		{name: "FTP: LIST", frame: s(5002, 21, fACK|fPSH, 6, false), pass: true},
		{name: "FTP: its reply", frame: s(5002, 21, fACK|fPSH, 41, true), pass: true},
		// FTP segments skip the flow map, so its first pure ACK is the
		// flow's first packet there.
		{name: "FTP: a pure ACK", frame: s(5002, 21, fACK, 0, false), pass: true},
		{name: "FTP: another pure ACK", frame: s(5002, 21, fACK, 0, false), pass: false},
		{name: "SYN keeps only 32 bytes after its header", frame: s(5003, 80, fSYN, 400, false), pass: true, keep: hdr + 32},
	})
}
