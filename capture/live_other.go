//go:build !linux

package capture

import (
	"errors"
	"time"

	"github.com/scanwatch/scanwatch/bpf"
)

// ErrTimeout is returned by a live source's ReadPacket when no packet arrived
// within PollInterval.
var ErrTimeout = errors.New("capture: no packet within the poll interval")

// ErrNoInterface: the interface to capture on does not exist.
var ErrNoInterface = errors.New("interface not found")

// PollInterval is how long a live ReadPacket waits before returning ErrTimeout.
const PollInterval = 200 * time.Millisecond

// Capture modes for LiveOptions.Mode.
const (
	ModeEBPF = "ebpf"
	ModeCBPF = "cbpf"
	ModeNone = "none"
)

// LiveOptions configure OpenLive.
type LiveOptions struct {
	Mode        string
	Patterns    []bpf.Pattern
	Snaplen     int
	FlowEntries int
	Promisc     bool
}

// OpenLive needs Linux (AF_PACKET).
func OpenLive(iface string, opts LiveOptions) (Source, error) {
	return nil, errors.New("live: capture needs Linux (AF_PACKET)")
}
