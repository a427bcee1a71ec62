//go:build linux

package scanner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// maxGroupProbes bounds the probes kept in memory at once: targets are
// scanned in host groups of at most this many host×port probes.
const maxGroupProbes = 1 << 20

// probe is the state of one (host, port) probe in the current group.
type probe struct {
	sentAt time.Time // last transmission
	tries  uint8     // transmissions so far
	done   bool
	state  PortState
	reason string
}

// pending is a transmission awaiting its reply or timeout, in send order.
type pending struct {
	idx int32
	try uint8
	at  time.Time
}

type rawScan struct {
	cfg     phase
	craft   crafter
	send    *rawSender
	recv    *rawReceiver
	sources map[netip.Addr]netip.Addr
	rtt     rttEstimator
	limiter *limiter

	mu         sync.Mutex
	hosts      []netip.Addr
	hostIdx    map[netip.Addr]int32
	portIdx    []int32 // port -> index in cfg.Ports, -1 if not scanned
	probes     []probe // host-major: hostIdx*len(ports)+portIdx
	up         []bool
	replies    int
	sent       int
	retrans    int
	sendErrors int
	deadline   time.Time // zero: none
}

func runRaw(ctx context.Context, cfg phase, res *Result) error {
	seed := [32]byte{}
	for i := range seed {
		seed[i] = byte(rand.Uint32())
	}
	rng := rand.New(rand.NewChaCha8(seed))
	s := &rawScan{
		cfg:     cfg,
		sources: make(map[netip.Addr]netip.Addr, len(cfg.Targets)),
		limiter: newLimiter(cfg.rate()),
		portIdx: make([]int32, 65536),
	}
	s.rtt.init(cfg.Timing)
	for i := range s.portIdx {
		s.portIdx[i] = -1
	}
	for i, p := range cfg.Ports {
		s.portIdx[p] = int32(i)
	}
	var v4, v6 bool
	routable := cfg.Targets[:0:0]
	for _, t := range cfg.Targets {
		src, err := sourceFor(t)
		if err != nil {
			// Reported with the results; the other targets are scanned.
			res.Hosts = append(res.Hosts, HostResult{Addr: t, Error: err.Error()})
			continue
		}
		routable = append(routable, t)
		s.sources[t] = src
		if t.Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	if len(routable) == 0 {
		return nil
	}
	cfg.Targets = routable
	s.cfg.Targets = routable
	sport := cfg.SourcePort
	if sport == 0 {
		sport = pickPort(rng.IntN, cfg.Technique == UDP)
	}
	s.craft = crafter{
		udp:     cfg.Technique == UDP,
		flags:   cfg.Flags,
		sport:   sport,
		seqBase: rng.Uint32(),
		ackBase: rng.Uint32(),
		rng:     rng,
	}
	res.Source = s.sources[routable[0]].String()

	var err error
	if s.recv, err = openReceiver(sport, cfg.Interface); err != nil {
		return err
	}
	defer s.recv.Close()
	if s.send, err = openSender(v4, v6); err != nil {
		return err
	}
	defer s.send.Close()

	var stop atomic.Bool
	recvErr := make(chan error, 1)
	go func() { recvErr <- s.receive(&stop) }()
	defer func() {
		stop.Store(true)
		<-recvErr
	}()

	if cfg.Timing.HostTimeout > 0 {
		s.deadline = time.Now().Add(cfg.Timing.HostTimeout)
	}
	perGroup := max(1, maxGroupProbes/len(cfg.Ports))
	for start := 0; start < len(cfg.Targets); start += perGroup {
		group := cfg.Targets[start:min(len(cfg.Targets), start+perGroup)]
		if err := s.scanGroup(ctx, group, rng, res); err != nil {
			return err
		}
		select {
		case err := <-recvErr:
			recvErr <- err
			if err != nil {
				return err
			}
		default:
		}
	}
	return nil
}

// scanGroup sends every probe of a group of hosts, retransmits unanswered
// ones after the adaptive timeout, and records the results in res.
func (s *rawScan) scanGroup(ctx context.Context, group []netip.Addr, rng *rand.Rand, res *Result) error {
	np := len(s.cfg.Ports)
	s.mu.Lock()
	s.hosts = group
	s.hostIdx = make(map[netip.Addr]int32, len(group))
	for i, h := range group {
		s.hostIdx[h] = int32(i)
	}
	s.probes = make([]probe, len(group)*np)
	s.up = make([]bool, len(group))
	s.mu.Unlock()

	// Ports in random order (like nmap), each port to every host of the group in turn.
	order := rng.Perm(np)
	next := 0 // next first transmission: order[next/len(group)], host next%len(group)
	total := np * len(group)
	var queue []pending
	timedOut := false
	var stopErr error // the context's: what is unanswered is left out
	for {
		if stopErr = ctx.Err(); stopErr != nil {
			break
		}
		if !s.deadline.IsZero() && time.Now().After(s.deadline) {
			timedOut = true
			break
		}
		if stopErr = s.limiter.wait(ctx); stopErr != nil {
			break
		}
		now := time.Now()
		timeout := s.rtt.timeout()
		s.mu.Lock()
		idx, try := int32(-1), uint8(0)
		var wait time.Duration
		for len(queue) > 0 {
			e := queue[0]
			pr := &s.probes[e.idx]
			if pr.done || pr.tries != e.try+1 {
				queue = queue[1:] // answered, or superseded by a retransmission
				continue
			}
			if d := e.at.Add(timeout).Sub(now); d > 0 {
				wait = d
				break
			}
			queue = queue[1:]
			if int(pr.tries) > s.cfg.Timing.MaxRetries {
				pr.done, pr.state, pr.reason = true, s.cfg.Technique.noReplyState(), "no-response"
				continue
			}
			idx, try = e.idx, pr.tries
			break
		}
		if idx < 0 && next < total {
			h, p := next%len(group), order[next/len(group)]
			idx = int32(h*np + p)
			next++
		}
		if idx < 0 {
			s.mu.Unlock()
			s.limiter.refund()
			if len(queue) == 0 {
				break
			}
			time.Sleep(min(wait, 5*time.Millisecond))
			continue
		}
		pr := &s.probes[idx]
		pr.tries++
		pr.sentAt = now
		queue = append(queue, pending{idx: idx, try: try, at: now})
		s.sent++
		if try > 0 {
			s.retrans++
		}
		dst := s.hosts[int(idx)/np]
		port := s.cfg.Ports[int(idx)%np]
		s.mu.Unlock()

		pkt, err := s.craft.build(s.sources[dst], dst, port, int(try))
		if err != nil {
			return fmt.Errorf("build probe to %s port %d: %w", dst, port, err)
		}
		if err := s.send.send(pkt, dst); err != nil {
			// Per-destination refusals (no neighbour, local firewall) leave
			// the probe unanswered, as nmap does; anything else stops the scan.
			if !errors.Is(err, unix.EHOSTUNREACH) && !errors.Is(err, unix.ENETUNREACH) &&
				!errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EHOSTDOWN) {
				return err
			}
			s.mu.Lock()
			s.sendErrors++
			s.mu.Unlock()
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for h, addr := range group {
		hr := HostResult{Addr: addr, Up: s.up[h], Ports: make([]PortResult, 0, np)}
		for i, port := range s.cfg.Ports {
			pr := s.probes[h*np+i]
			if !pr.done && stopErr != nil {
				continue
			}
			if !pr.done {
				pr.state, pr.reason = s.cfg.Technique.noReplyState(), "no-response"
				if timedOut {
					pr.reason = "scan-timeout"
				}
			}
			hr.Ports = append(hr.Ports, PortResult{Port: port, Proto: s.cfg.Technique.Proto(), State: pr.state, Reason: pr.reason,
				Service: Service(s.cfg.Technique.Proto(), port)})
		}
		res.Hosts = append(res.Hosts, hr)
	}
	res.ProbesSent, res.Retransmits, res.Replies, res.SendErrors = s.sent, s.retrans, s.replies, s.sendErrors
	if stopErr != nil {
		return stopErr
	}
	if timedOut {
		return fmt.Errorf("scan timeout after %s: unfinished ports reported with reason scan-timeout", s.cfg.Timing.HostTimeout)
	}
	return nil
}

// receive reads replies until stop is set.
func (s *rawScan) receive(stop *atomic.Bool) error {
	buf := make([]byte, 65536)
	d := newDecoder()
	for !stop.Load() {
		n, ok, err := s.recv.read(buf)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		r, ok := d.decode(buf[:n])
		if !ok {
			continue
		}
		s.handle(&r, time.Now())
	}
	return nil
}

// handle matches a reply to its probe and settles the port's state.
func (s *rawScan) handle(r *reply, now time.Time) {
	udp := s.cfg.Technique == UDP
	target := r.from
	if r.kind == replyICMP {
		target = r.qdst
		if r.qsrc != s.sources[target] {
			return
		}
		if (r.qproto == 17) != udp {
			return
		}
	} else if (r.kind == replyUDP) != udp {
		return
	}
	if r.dport != s.craft.sport {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hi, ok := s.hostIdx[target]
	if !ok {
		return
	}
	pi := s.portIdx[r.sport]
	if pi < 0 {
		return
	}
	pr := &s.probes[int(hi)*len(s.cfg.Ports)+int(pi)]
	if pr.tries == 0 {
		return
	}
	try := -1 // which transmission this answers, when the reply tells
	switch r.kind {
	case replyTCP:
		if r.flags&FlagACK != 0 {
			// The reply acknowledges our sequence number (+1 for SYN or FIN).
			off := r.ack - s.craft.seqBase
			if s.craft.flags&FlagSYN != 0 {
				off--
			}
			if s.craft.flags&FlagFIN != 0 {
				off--
			}
			try = int(off)
		} else if r.flags&FlagRST != 0 && s.craft.flags&FlagACK != 0 {
			// A RST to a segment with ACK takes its sequence number from our ack.
			try = int(r.seq - s.craft.ackBase)
		} else {
			try = int(pr.tries) - 1
		}
		if try < 0 || try >= int(pr.tries) {
			return // not an answer to our probe
		}
	case replyICMP:
		if r.qproto == 6 {
			try = int(r.qseq - s.craft.seqBase)
			if try < 0 || try >= int(pr.tries) {
				return
			}
		}
	}
	if pr.done {
		return
	}
	var state PortState
	var reason string
	switch r.kind {
	case replyTCP:
		state, reason = tcpVerdict(s.cfg.Technique, r)
	case replyUDP:
		state, reason = Open, "udp-response"
	case replyICMP:
		var ok bool
		state, reason, ok = icmpVerdict(r.v6, udp, r.icmpCode)
		if !ok {
			return
		}
	}
	if state == StateUnknown {
		return
	}
	pr.done, pr.state, pr.reason = true, state, reason
	s.up[hi] = true
	s.replies++
	if try == int(pr.tries)-1 || (try < 0 && pr.tries == 1) {
		s.rtt.sample(now.Sub(pr.sentAt))
	}
}

// tcpVerdict reads a TCP reply the way nmap's reference guide says the
// technique does. StateUnknown means the reply says nothing.
func tcpVerdict(t Technique, r *reply) (PortState, string) {
	rst := r.flags&FlagRST != 0
	switch t {
	case SYN:
		if r.flags&FlagSYN != 0 && !rst {
			if r.flags&FlagACK != 0 {
				return Open, "syn-ack"
			}
			return Open, "split-handshake-syn"
		}
		if rst {
			return Closed, "reset"
		}
	case FIN, Null, Xmas, Maimon:
		if rst {
			return Closed, "reset"
		}
	case ACK:
		if rst {
			return Unfiltered, "reset"
		}
	case Window:
		if rst {
			if r.window > 0 {
				return Open, "reset"
			}
			return Closed, "reset"
		}
	}
	return StateUnknown, ""
}
