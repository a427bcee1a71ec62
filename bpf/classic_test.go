package bpf

import (
	"testing"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// The classic filter is checked in golang.org/x/net/bpf's VM, which runs
// classic BPF like the kernel (out-of-bounds loads drop the packet). The VM
// has no SKF_AD extensions, so the cooked variant is covered by the live
// end-to-end test instead.
func TestClassicFilter(t *testing.T) {
	raw, err := ClassicFilter(testPatterns, 200)
	if err != nil {
		t.Fatal(err)
	}
	ins := make([]bpf.Instruction, len(raw))
	for i, r := range raw {
		ins[i] = r.Disassemble()
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("vm: %v (program: %v)", err, ins)
	}
	tcp := func(s seg) []byte { return tcpFrame(t, s) }
	for _, c := range []struct {
		name  string
		frame []byte
		pass  bool
	}{
		{"SYN", tcp(seg{sport: 1, dport: 80, flags: fSYN}), true},
		{"SYN-ACK", tcp(seg{sport: 1, dport: 80, flags: fSYN | fACK, reverse: true}), true},
		{"RST", tcp(seg{sport: 1, dport: 80, flags: fRST}), true},
		{"FIN", tcp(seg{sport: 1, dport: 80, flags: fFIN}), true},
		{"NULL", tcp(seg{sport: 1, dport: 80}), true},
		{"Xmas", tcp(seg{sport: 1, dport: 80, flags: fFIN | fPSH | fURG}), true},
		{"ACK probe (no options, no payload)", tcp(seg{sport: 1, dport: 80, flags: fACK}), true},
		{"bulk ACK with timestamps", tcp(seg{sport: 1, dport: 80, flags: fACK, options: true}), false},
		{"bulk data", tcp(seg{sport: 1, dport: 80, flags: fACK | fPSH, payload: 1000, options: true}), false},
		{"bulk data, no options", tcp(seg{sport: 1, dport: 80, flags: fACK, payload: 1000}), false},
		{"URG-ACK (no pattern)", tcp(seg{sport: 1, dport: 80, flags: fURG | fACK}), false},
		{"VLAN SYN", tcp(seg{vlans: []uint16{5}, sport: 1, dport: 80, flags: fSYN}), true},
		{"VLAN bulk", tcp(seg{vlans: []uint16{5}, sport: 1, dport: 80, flags: fACK, payload: 1000, options: true}), false},
		{"QinQ SYN", tcp(seg{vlans: []uint16{5, 6}, sport: 1, dport: 80, flags: fSYN}), true},
		{"QinQ bulk", tcp(seg{vlans: []uint16{5, 6}, sport: 1, dport: 80, flags: fACK, payload: 1000, options: true}), false},
		{"IPv6 SYN", tcp(seg{v6: true, sport: 1, dport: 80, flags: fSYN}), true},
		{"IPv6 bulk", tcp(seg{v6: true, sport: 1, dport: 80, flags: fACK, payload: 1000, options: true}), false},
		{"IPv6 ACK probe", tcp(seg{v6: true, sport: 1, dport: 80, flags: fACK}), true},
		{"IPv4 fragment", tcp(seg{sport: 1, dport: 80, flags: fACK, payload: 100, options: true, fragment: true}), true},
		{"UDP", udpFrame(t, seg{sport: 1, dport: 53}), true},
		{"ICMP unreachable", icmp4Frame(t, 3, 3), true},
		{"ICMPv6 echo", icmp6Frame(t, 128, 0), true},
		{"SCTP INIT", sctpFrame(t, seg{sport: 1, dport: 80}, 1), true},
		{"ARP", arpFrame(t), true},
		{"LLDP", serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeLinkLayerDiscovery}, gopacketPayload(40)), false},
	} {
		got, err := vm.Run(c.frame)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (got != 0) != c.pass {
			t.Errorf("%s: kept %d, want pass=%v", c.name, got, c.pass)
		}
		if got > 200 {
			t.Errorf("%s: kept %d > snaplen", c.name, got)
		}
	}
}

func TestClassicFilterLimits(t *testing.T) {
	many := make([]Pattern, MaxClassicPatterns)
	for i := range many {
		many[i] = Pattern{Mask: 0xff, Value: tcpflags.Flags(i)}
	}
	if _, err := ClassicFilter(many, 256); err != nil {
		t.Errorf("%d patterns: %v", len(many), err)
	}
	if _, err := ClassicFilterCooked(many, 256); err != nil {
		t.Errorf("cooked, %d patterns: %v", len(many), err)
	}
	if _, err := ClassicFilter(append(many, Pattern{}), 256); err == nil {
		t.Error("too many patterns accepted")
	}
	if _, err := ClassicFilter([]Pattern{{Mask: 1, Value: 2}}, 256); err == nil {
		t.Error("unmatchable pattern accepted")
	}
}

// The kernel's classic BPF checker is stricter than the VM (for one, every
// scratch load needs a store before it on all paths); attaching to a socket
// needs no privilege.
func TestClassicFilterKernelAccepts(t *testing.T) {
	for _, cooked := range []bool{false, true} {
		raw, err := classicFilter(testPatterns, 256, cooked)
		if err != nil {
			t.Fatal(err)
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		prog := unix.SockFprog{Len: uint16(len(raw)), Filter: (*unix.SockFilter)(unsafe.Pointer(&raw[0]))}
		err = unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog)
		unix.Close(fd)
		if err != nil {
			t.Errorf("cooked=%v: kernel rejects the classic filter: %v", cooked, err)
		}
	}
}
