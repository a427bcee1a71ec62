package bpf

import (
	"encoding/binary"
	"net"
	"testing"
)

// withIPv4Options adds 4 bytes of IPv4 options (NOP NOP NOP EOL) to an
// untagged IPv4 frame, which sends it past the filter's fast path.
func withIPv4Options(frame []byte) []byte {
	const l3 = 14
	out := append([]byte(nil), frame[:l3+20]...)
	out[l3] = 0x46 // IHL 6
	binary.BigEndian.PutUint16(out[l3+2:], binary.BigEndian.Uint16(out[l3+2:])+4)
	out = append(out, 1, 1, 1, 0)
	return append(out, frame[l3+20:]...)
}

// withIPv4Addrs rewrites the addresses of an untagged IPv4 frame (the
// filter checks no checksum).
func withIPv4Addrs(frame []byte, src, dst net.IP) []byte {
	out := append([]byte(nil), frame...)
	copy(out[14+12:], src.To4())
	copy(out[14+16:], dst.To4())
	return out
}

// TestFastAndSlowPathsAgree: the frames the fast path reads (untagged TCP
// and UDP over IPv4 without options or IPv6 without extension headers) and
// the ones only the general parser reads (IP options, hop-by-hop headers,
// VLAN tags, frames too short for the fast path's read) decide on the same
// flow state, with the same bytes kept.
func TestFastAndSlowPathsAgree(t *testing.T) {
	f := loadTest(t, Options{Patterns: testPatterns})
	tcp := func(v6 bool, sport uint16, flags uint8, payload int, reverse bool) []byte {
		return tcpFrame(t, seg{v6: v6, sport: sport, dport: 80, flags: flags, payload: payload, reverse: reverse})
	}
	udp := func(sport uint16, payload int, reverse bool) []byte {
		return udpFrame(t, seg{sport: sport, dport: 53, payload: payload, reverse: reverse})
	}
	// 10.0.0.2 < 11.0.0.1 as numbers, but not as the little-endian words
	// the program compares: both directions must still find one flow.
	lo, hi := net.IPv4(10, 0, 0, 2), net.IPv4(11, 0, 0, 1)
	crossed := func(flags uint8, payload int, reverse bool) []byte {
		src, dst := lo, hi
		if reverse {
			src, dst = hi, lo
		}
		return withIPv4Addrs(tcp(false, 8005, flags, payload, reverse), src, dst)
	}
	runSteps(t, f, false, []step{
		{name: "IPv4 options: first data (general parser)", frame: withIPv4Options(tcp(false, 8001, fACK|fPSH, 500, false)), pass: true, keep: 14 + 24 + 20 + 96},
		{name: "no options: second data (fast path)", frame: tcp(false, 8001, fACK|fPSH, 500, false), pass: false},
		{name: "no options: first data back", frame: tcp(false, 8001, fACK, 300, true), pass: true, keep: 14 + 20 + 20 + 96},
		{name: "IPv4 options: second data back", frame: withIPv4Options(tcp(false, 8001, fACK, 300, true)), pass: false},
		{name: "fast path: first data", frame: tcp(false, 8002, fACK|fPSH, 500, false), pass: true},
		{name: "VLAN: second data", frame: tcpFrame(t, seg{vlans: []uint16{10}, sport: 8002, dport: 80, flags: fACK | fPSH, payload: 500}), pass: false},
		{name: "IPv4 options: a pattern still passes", frame: withIPv4Options(tcp(false, 8002, 0, 0, false)), pass: true},
		{name: "hop-by-hop: first data", frame: withHopByHop(tcp(true, 8003, fACK|fPSH, 500, false)), pass: true, keep: 14 + 40 + 8 + 20 + 96},
		{name: "IPv6 fast path: second data", frame: tcp(true, 8003, fACK|fPSH, 500, false), pass: false},
		{name: "IPv6 fast path: first data back", frame: tcp(true, 8003, fACK, 100, true), pass: true, keep: 14 + 40 + 20 + 96},
		{name: "hop-by-hop: second data back", frame: withHopByHop(tcp(true, 8003, fACK, 100, true)), pass: false},
		{name: "short UDP (general parser): first", frame: udp(8004, 0, false), pass: true, keep: 14 + 20 + 8 + 32},
		{name: "UDP (fast path): second, same way", frame: udp(8004, 100, false), pass: false},
		{name: "UDP (fast path): reply", frame: udp(8004, 100, true), pass: true, keep: 14 + 20 + 8 + 32},
		{name: "short UDP: second reply", frame: udp(8004, 0, true), pass: false},
		{name: "crossed addresses: first data", frame: crossed(fACK|fPSH, 500, false), pass: true},
		{name: "crossed addresses: pure ACK back", frame: crossed(fACK, 0, true), pass: false},
		{name: "crossed addresses: first data back", frame: crossed(fACK, 200, true), pass: true},
		{name: "crossed addresses: second data back", frame: crossed(fACK, 200, true), pass: false},
		{name: "crossed addresses: second data", frame: crossed(fACK|fPSH, 500, false), pass: false},
		// IPv4 and IPv6 flows live in separate maps: the same ports are
		// another flow.
		{name: "IPv6 flow with an IPv4 flow's ports: first data", frame: tcp(true, 8001, fACK|fPSH, 500, false), pass: true},
	})

	// A TCP header cut short is an error on either path: passed, counted.
	before, _ := f.Counters()
	for _, short := range [][]byte{
		tcp(false, 8006, fACK, 0, false)[:14+20+12],
		tcp(true, 8006, fACK, 0, false)[:14+40+12],
	} {
		if run(t, f, false, short) == 0 {
			t.Errorf("%d-byte frame with a cut TCP header dropped, want pass (fail open)", len(short))
		}
	}
	if after, _ := f.Counters(); after.Errors != before.Errors+2 {
		t.Errorf("errors %d -> %d, want +2", before.Errors, after.Errors)
	}
}

// TestFlowMapsSized: FlowEntries sizes the IPv4 and the IPv6 flow map
// alike, so each family has the room one map had before the split.
func TestFlowMapsSized(t *testing.T) {
	f := loadTest(t, Options{FlowEntries: 1000})
	for name, m := range map[string]interface{ MaxEntries() uint32 }{"IPv4": f.objs.Flow4Map, "IPv6": f.objs.FlowMap} {
		if got := m.MaxEntries(); got != 1000 {
			t.Errorf("%s flow map: %d entries, want 1000", name, got)
		}
	}
}
