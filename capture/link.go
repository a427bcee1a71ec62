package capture

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// linkInfo is what a packet socket can learn of an interface by name, in
// the socket's own network namespace (packetSocket.link).
type linkInfo struct {
	index  int
	up     bool   // administratively up (IFF_UP): the kernel delivers packets again
	hwType uint16 // ARPHRD_* type: the kind of link header its frames have
}

// errPollError: poll(2) on the packet socket reported an error (POLLERR);
// the socket's pending error (SO_ERROR) says which.
var errPollError = errors.New("packet socket reported an error")

// linkGone reports whether a socket error means that the interface went
// down or away: the link flaps that a live capture waits out.
func linkGone(err error) bool {
	return errors.Is(err, unix.ENETDOWN) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO)
}

// errnoText says an errno with its name, for people who search for it:
// "ENETDOWN (network is down)".
func errnoText(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		if name := unix.ErrnoName(e); name != "" {
			return fmt.Sprintf("%s (%v)", name, err)
		}
	}
	return err.Error()
}

// linkState follows the interface that a live capture is bound to through
// link flaps. When the interface goes down the kernel takes the socket off
// it (and says ENETDOWN once); when it comes up again the kernel puts the
// socket back on its own. When the interface is deleted the socket is left
// unbound; an interface of the same name created later is a new one, and
// the socket must be bound to it. Neither needs a new socket: the ring, the
// filter attached to it and its flow state stay, and no privilege is needed.
//
// The fields without atomics belong to the reader (ReadPacket, under
// Live.mu); the counters are read by Stats from any goroutine.
type linkState struct {
	ifindex   int    // the interface the socket is bound to; 0 for "any"
	hwType    uint16 // its link type, which a re-created one must share
	nextCheck time.Time
	saidGone  bool // "is gone" was said in this gap
	saidErr   bool // a failed look-up was said in this gap
	rebound   bool // the socket was bound to a re-created interface in this gap

	downSince atomic.Int64  // unix nanoseconds the current gap began; 0 while up
	gaps      atomic.Uint64 // times the link went down or away
	rebinds   atomic.Uint64 // times the socket was bound to a re-created interface
	gapNanos  atomic.Int64  // time without the link, gaps that ended
}

// linkCheckEvery bounds how often the interface is looked up while it is
// down or away. Reads wait PollInterval for packets anyway, so this is
// about the pace of the look-ups, not of the reader.
const linkCheckEvery = PollInterval

// down reports whether the capture waits for its interface.
func (s *linkState) down() bool { return s.downSince.Load() != 0 }

// gapTime is the time without the link so far, the current gap included.
func (s *linkState) gapTime(now time.Time) time.Duration {
	d := time.Duration(s.gapNanos.Load())
	if since := s.downSince.Load(); since != 0 {
		d += now.Sub(time.Unix(0, since))
	}
	return d
}

// socketError handles a read that poll(2) ended with POLLERR: it reads the
// socket's pending error, which also clears it. A link that went down or
// away starts (or continues) a gap, and the read becomes ErrTimeout; any
// other error ends the capture, named.
func (l *Live) socketError() error {
	serr := l.sock.pendingError()
	if serr == nil {
		return fmt.Errorf("live: read from %s: poll reported an error, but the socket has none pending", l.name)
	}
	if l.link.ifindex == 0 || !linkGone(serr) {
		return fmt.Errorf("live: read from %s (ifindex %d): %s", l.name, l.link.ifindex, errnoText(serr))
	}
	now := time.Now()
	if !l.link.down() {
		l.link.downSince.Store(now.UnixNano())
		l.link.gaps.Add(1)
		l.link.saidGone, l.link.saidErr, l.link.rebound = false, false, false
		l.logf("%s went down (%s): waiting for it to come back", l.name, errnoText(serr))
	}
	l.link.nextCheck = time.Time{} // look now: a quick flap is already over
	if err := l.followLink(now); err != nil {
		return err
	}
	return ErrTimeout
}

// followLink looks the interface up by name while the link is down or away
// (at most every linkCheckEvery), binds the socket to a re-created
// interface, and ends the gap once the interface is up. It returns an error
// only when the capture cannot go on: the interface came back as another
// kind of link, or the socket cannot be bound to it.
func (l *Live) followLink(now time.Time) error {
	if now.Before(l.link.nextCheck) {
		return nil
	}
	l.link.nextCheck = now.Add(linkCheckEvery)
	info, err := l.sock.link(l.name)
	switch {
	case errors.Is(err, unix.ENODEV):
		if !l.link.saidGone {
			l.link.saidGone = true
			l.logf("%s is gone: waiting for an interface of that name", l.name)
		}
		return nil
	case err != nil:
		if !l.link.saidErr {
			l.link.saidErr = true
			l.logf("cannot look %s up, trying again: %s", l.name, errnoText(err))
		}
		return nil
	case info.hwType != l.link.hwType:
		return fmt.Errorf("live: %s came back as another kind of link (ARPHRD type %d, was %d): restart scanwatch live to capture on it",
			l.name, info.hwType, l.link.hwType)
	}
	if info.index != l.link.ifindex {
		if err := l.sock.bind(info.index); err != nil {
			if errors.Is(err, unix.ENODEV) {
				return nil // gone again already
			}
			return fmt.Errorf("live: bind the socket to the new %s (ifindex %d): %s", l.name, info.index, errnoText(err))
		}
		if l.promisc {
			if err := l.sock.setPromiscuous(info.index); err != nil {
				return fmt.Errorf("live: promiscuous mode on the new %s (ifindex %d): %s", l.name, info.index, errnoText(err))
			}
		}
		l.link.ifindex = info.index
		l.link.rebinds.Add(1)
		l.link.rebound = true
	}
	if !info.up {
		return nil
	}
	since := l.link.downSince.Swap(0)
	gap := now.Sub(time.Unix(0, since))
	l.link.gapNanos.Add(int64(gap))
	if l.link.rebound {
		l.logf("%s is back after %.1fs as a new interface (ifindex %d): the socket is bound to it, capturing again", l.name, gap.Seconds(), l.link.ifindex)
	} else {
		l.logf("%s is up again after %.1fs: capturing again", l.name, gap.Seconds())
	}
	return nil
}

func (l *Live) logf(format string, args ...any) {
	if l.logFn != nil {
		l.logFn(format, args...)
	}
}
