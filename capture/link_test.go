package capture

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"golang.org/x/sys/unix"
)

// flapSocket is a fakeSocket whose interface can go down, away and come
// back: a read returns errPollError while sockErr is set, and link answers
// from iface (nil: no interface of that name).
type flapSocket struct {
	fakeSocket
	sockErr   error // pending: the next read fails with errPollError
	iface     *linkInfo
	lookupErr error
	bindErr   error
	bound     []int // bind calls
	promisc   []int // setPromiscuous calls
}

func (f *flapSocket) read() ([]byte, gopacket.CaptureInfo, error) {
	if f.sockErr != nil {
		return nil, gopacket.CaptureInfo{}, errPollError
	}
	return f.fakeSocket.read()
}

func (f *flapSocket) pendingError() error {
	err := f.sockErr
	f.sockErr = nil
	if err == errNothingPending {
		return nil
	}
	return err
}

func (f *flapSocket) link(string) (linkInfo, error) {
	switch {
	case f.lookupErr != nil:
		return linkInfo{}, f.lookupErr
	case f.iface == nil:
		return linkInfo{}, unix.ENODEV
	}
	return *f.iface, nil
}

func (f *flapSocket) bind(ifindex int) error {
	if f.bindErr != nil {
		return f.bindErr
	}
	f.bound = append(f.bound, ifindex)
	return nil
}

func (f *flapSocket) setPromiscuous(ifindex int) error {
	f.promisc = append(f.promisc, ifindex)
	return nil
}

// flapStep is one change to the fake interface, then one read.
type flapStep struct {
	sockErr   error
	iface     *linkInfo // nil: gone
	lookupErr error
	want      error  // what the read returns (errors.Is)
	wantErr   string // or: the read fails with an error saying this
	down      bool   // the capture waits for its link after the read
}

func TestLiveLinkFlap(t *testing.T) {
	eth := func(index int, up bool) *linkInfo {
		return &linkInfo{index: index, up: up, hwType: unix.ARPHRD_ETHER}
	}
	for _, tc := range []struct {
		name        string
		any         bool // the capture is on "any" (ifindex 0)
		promisc     bool
		bindErr     error
		steps       []flapStep
		gaps        uint64
		rebinds     uint64
		bound       []int
		logs        []string // each must be in the log, in order
		wantPromisc []int
	}{
		{
			name: "down and up",
			steps: []flapStep{
				{sockErr: unix.ENETDOWN, iface: eth(3, false), want: ErrTimeout, down: true},
				{iface: eth(3, false), want: ErrTimeout, down: true},
				{iface: eth(3, true), want: ErrTimeout},
				{iface: eth(3, true), want: ErrTimeout},
			},
			gaps: 1,
			logs: []string{"veth0 went down (ENETDOWN (network is down))", "veth0 is up again after"},
		},
		{
			name: "a flap already over when seen",
			steps: []flapStep{
				{sockErr: unix.ENETDOWN, iface: eth(3, true), want: ErrTimeout},
				{sockErr: unix.ENETDOWN, iface: eth(3, true), want: ErrTimeout},
			},
			gaps: 2,
		},
		{
			name:    "deleted and re-created",
			promisc: true,
			steps: []flapStep{
				{sockErr: unix.ENETDOWN, iface: nil, want: ErrTimeout, down: true},
				{iface: nil, want: ErrTimeout, down: true},
				{lookupErr: unix.EPERM, want: ErrTimeout, down: true},
				{iface: eth(9, false), want: ErrTimeout, down: true},
				// The bind to a down interface leaves ENETDOWN pending.
				{sockErr: unix.ENETDOWN, iface: eth(9, false), want: ErrTimeout, down: true},
				{iface: eth(9, true), want: ErrTimeout},
			},
			gaps: 1, rebinds: 1, bound: []int{9}, wantPromisc: []int{9},
			logs: []string{"veth0 went down", "veth0 is gone: waiting for an interface of that name",
				"cannot look veth0 up, trying again: EPERM", "veth0 is back after", "as a new interface (ifindex 9): the socket is bound to it"},
		},
		{
			name: "re-created as another kind of link",
			steps: []flapStep{
				{sockErr: unix.ENETDOWN, iface: nil, want: ErrTimeout, down: true},
				{iface: &linkInfo{index: 9, up: true, hwType: unix.ARPHRD_NONE}, wantErr: "veth0 came back as another kind of link"},
			},
			gaps: 1,
		},
		{
			name:    "bind refused",
			bindErr: unix.EPERM,
			steps: []flapStep{
				{sockErr: unix.ENETDOWN, iface: eth(9, true), wantErr: "bind the socket to the new veth0 (ifindex 9): EPERM"},
			},
			gaps: 1,
		},
		{
			name:  "any: not a link flap",
			any:   true,
			steps: []flapStep{{sockErr: unix.ENETDOWN, wantErr: "read from any (ifindex 0): ENETDOWN (network is down)"}},
		},
		{
			name:  "another socket error",
			steps: []flapStep{{sockErr: unix.ENOBUFS, iface: eth(3, true), wantErr: "read from veth0 (ifindex 3): ENOBUFS"}},
		},
		{
			name:  "poll error with nothing pending",
			steps: []flapStep{{sockErr: errNothingPending, iface: eth(3, true), wantErr: "read from veth0: poll reported an error, but the socket has none pending"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := &flapSocket{bindErr: tc.bindErr}
			var logs []string
			l := &Live{name: "veth0", mode: ModeCBPF, snaplen: 256, sock: sock, promisc: tc.promisc,
				logFn: func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }}
			l.link.ifindex, l.link.hwType = 3, unix.ARPHRD_ETHER
			if tc.any {
				l.name, l.link.ifindex = "any", 0
			}
			waited := false // a step left the capture waiting: the gaps took time
			for i, st := range tc.steps {
				waited = waited || st.down
				sock.sockErr, sock.iface, sock.lookupErr = st.sockErr, st.iface, st.lookupErr
				l.link.nextCheck = time.Time{} // no waiting between look-ups here
				_, err := l.ReadPacket()
				switch {
				case st.wantErr != "":
					if err == nil || !strings.Contains(err.Error(), st.wantErr) {
						t.Fatalf("step %d: read: %v, want an error saying %q", i, err, st.wantErr)
					}
				case !errors.Is(err, st.want):
					t.Fatalf("step %d: read: %v, want %v", i, err, st.want)
				}
				if l.link.down() != st.down && st.wantErr == "" {
					t.Fatalf("step %d: waiting for the link: %v, want %v", i, l.link.down(), st.down)
				}
				time.Sleep(time.Millisecond) // every gap takes some time
			}
			s := l.Stats()
			if s.LinkGaps != tc.gaps || s.LinkRebinds != tc.rebinds {
				t.Errorf("Stats: %d gaps, %d rebinds; want %d, %d", s.LinkGaps, s.LinkRebinds, tc.gaps, tc.rebinds)
			}
			if waited && s.LinkGapTime <= 0 {
				t.Errorf("Stats: gap time %v after %d gaps", s.LinkGapTime, s.LinkGaps)
			}
			if fmt.Sprint(sock.bound) != fmt.Sprint(tc.bound) || fmt.Sprint(sock.promisc) != fmt.Sprint(tc.wantPromisc) {
				t.Errorf("bound to %v, promiscuous on %v; want %v, %v", sock.bound, sock.promisc, tc.bound, tc.wantPromisc)
			}
			all := strings.Join(logs, "\n")
			rest := all
			for _, want := range tc.logs {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Errorf("log lacks %q (in order):\n%s", want, all)
					break
				}
				rest = rest[i+len(want):]
			}
		})
	}
}

// errNothingPending makes flapSocket's read fail with errPollError while
// pendingError then returns nil.
var errNothingPending = errors.New("nothing pending")
