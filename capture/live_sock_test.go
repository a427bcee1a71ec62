package capture

import (
	"errors"
	"io"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	xbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/linktype"
)

// fakeSocket is a packetSocket in memory: it hands out its packets, then
// ErrTimeout, and records what Live did to it.
type fakeSocket struct {
	packets  [][]byte
	classic  [][]xbpf.RawInstruction // every classic program attached
	passed   uint64
	lost     uint64
	isClosed bool
}

func (f *fakeSocket) read() ([]byte, gopacket.CaptureInfo, error) {
	if len(f.packets) == 0 {
		return nil, gopacket.CaptureInfo{}, ErrTimeout
	}
	p := f.packets[0]
	f.packets = f.packets[1:]
	return p, gopacket.CaptureInfo{Timestamp: t0, CaptureLength: len(p), Length: len(p) + 1000}, nil
}
func (f *fakeSocket) attachEBPF(fd int) error { return errors.New("fake: no eBPF") }
func (f *fakeSocket) attachClassic(prog []xbpf.RawInstruction) error {
	f.classic = append(f.classic, prog)
	return nil
}
func (f *fakeSocket) setPromiscuous(int) error                { return nil }
func (f *fakeSocket) stats() (passed, lost uint64, err error) { return f.passed, f.lost, nil }
func (f *fakeSocket) pendingError() error                     { return nil }
func (f *fakeSocket) link(string) (linkInfo, error)           { return linkInfo{}, unix.ENODEV }
func (f *fakeSocket) bind(int) error                          { return unix.ENODEV }
func (f *fakeSocket) close()                                  { f.isClosed = true }

// TestLiveOnFakeSocket checks what Live does above the socket: cooked
// packets get an SLL header, ModeNone packets are cut to the snap length,
// the counters come from the socket, SetPatterns reaches it, and Close
// closes it once and ends reading.
func TestLiveOnFakeSocket(t *testing.T) {
	ipv4 := append([]byte{0x45}, make([]byte, 99)...)
	for _, tc := range []struct {
		name    string
		mode    string
		cooked  bool
		wantLen int
		wantLT  layers.LinkType
	}{
		{"raw", ModeCBPF, false, 100, layers.LinkTypeEthernet},
		{"cooked", ModeCBPF, true, sllLen + 100, layers.LinkTypeLinuxSLL},
		{"none-cut", ModeNone, false, 64, layers.LinkTypeEthernet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := &fakeSocket{packets: [][]byte{ipv4}, passed: 7, lost: 2}
			l := &Live{name: "fake0", mode: tc.mode, snaplen: 64, cooked: tc.cooked, linkType: linktype.LinkType(tc.wantLT), sock: sock}
			if tc.mode != ModeNone {
				l.snaplen = 256
			}
			p, err := l.ReadPacket()
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Data) != tc.wantLen || p.LinkType != linktype.LinkType(tc.wantLT) || !p.Time.Equal(t0) {
				t.Errorf("packet: %d bytes, %v, %v; want %d bytes, %v", len(p.Data), p.LinkType, p.Time, tc.wantLen, tc.wantLT)
			}
			if tc.cooked && (p.Data[14] != 0x08 || p.Data[15] != 0x00) {
				t.Errorf("SLL protocol %#x, want IPv4", p.Data[14:16])
			}
			if _, err := l.ReadPacket(); !errors.Is(err, ErrTimeout) {
				t.Errorf("idle read: %v, want ErrTimeout", err)
			}

			err = l.SetPatterns([]bpf.Pattern{{Mask: 0x3f, Value: 0x28}})
			switch {
			case err != nil:
				t.Errorf("SetPatterns: %v", err)
			case tc.mode == ModeCBPF && len(sock.classic) != 1:
				t.Errorf("SetPatterns attached %d classic programs, want 1", len(sock.classic))
			case tc.mode == ModeNone && len(sock.classic) != 0:
				t.Errorf("SetPatterns attached a program in ModeNone")
			}
			if err := l.SetPatterns([]bpf.Pattern{{Mask: 0x01, Value: 0x02}}); tc.mode == ModeCBPF && err == nil {
				t.Errorf("SetPatterns took a pattern that can never match")
			}

			want := Stats{Received: 1, KernelPassed: 7, RingLost: 2}
			if s := l.Stats(); s != want {
				t.Errorf("Stats = %+v, want %+v", s, want)
			}
			l.Close()
			l.Close()
			if !sock.isClosed {
				t.Error("Close did not close the socket")
			}
			if _, err := l.ReadPacket(); err != io.EOF {
				t.Errorf("read after Close: %v, want io.EOF", err)
			}
			if s := l.Stats(); s != want {
				t.Errorf("Stats after Close = %+v, want %+v", s, want)
			}
		})
	}
}
