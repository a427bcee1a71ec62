//go:build linux

package scanner

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
)

// maxGroupProbes bounds the probes kept in memory at once: targets are
// scanned in host groups of at most this many host×port probes.
const maxGroupProbes = 1 << 20

// maxGroupHosts bounds a host group (nmap's --max-hostgroup default is 100000;
// fewer keeps each engine pass over its hosts cheap).
const maxGroupHosts = 4096

// rawSession is what a raw phase needs: the sockets, the sources and the
// probe builder.
type rawSession struct {
	send    *rawSender
	recv    *rawReceiver
	sources map[netip.Addr]netip.Addr
	craft   *crafter
	tries   int // UDP source ports reserved: one per try
}

func newRNG() *rand.Rand {
	seed := [32]byte{}
	for i := range seed {
		seed[i] = byte(rand.Uint32())
	}
	return rand.New(rand.NewChaCha8(seed))
}

// openSession routes every target (those without a route go to res with
// their error), picks the source port, and opens the sockets. It returns
// the routable targets.
func openSession(ph *phase, kinds []probeKind, arp bool, res *Result) (*rawSession, []netip.Addr, error) {
	rng := newRNG()
	s := &rawSession{sources: make(map[netip.Addr]netip.Addr, len(ph.Targets)), tries: ph.Timing.MaxRetries + 1}
	var v4, v6 bool
	var routable []netip.Addr
	for _, t := range ph.Targets {
		src, err := sourceFor(t)
		if err != nil {
			res.Hosts = append(res.Hosts, HostResult{Addr: t, Error: err.Error()})
			continue
		}
		if ph.Evasion.Spoof.IsValid() && ph.Evasion.Spoof.Is4() == t.Is4() {
			src = ph.Evasion.Spoof
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
		return nil, nil, nil
	}
	udp := false
	for _, k := range kinds {
		udp = udp || k == kindUDP
	}
	ev := ph.Evasion
	c := &crafter{fixed: ph.SourcePort != 0, sport: ph.SourcePort, seqBase: rng.Uint32(), ackBase: rng.Uint32(),
		icmpID: uint16(rng.Uint32()), ttl: ev.TTL, payload: ev.Data, dataLen: ev.DataLength, badsum: ev.BadSum,
		mtu: ev.MTU, decoys: ev.Decoys, mePos: min(ev.MePos, len(ev.Decoys)), rng: rng, links: map[netip.Addr]link{}}
	if c.sport == 0 {
		span := 1
		if udp {
			span = s.tries
		}
		c.sport = pickPort(rng.IntN, udp, span)
	}
	s.craft = c
	res.Source = s.sources[routable[0]].String()
	hi := c.sport
	if udp && !c.fixed {
		hi += uint16(s.tries - 1)
	}
	var err error
	if s.recv, err = openReceiver(filterSpec{portLo: c.sport, portHi: hi, all: ph.Technique == IPProto}, ph.Interface); err != nil {
		return nil, nil, err
	}
	if s.send, err = openSender(v4, v6, arp, ph.Interface); err != nil {
		s.recv.Close()
		return nil, nil, err
	}
	return s, routable, nil
}

func (s *rawSession) Close() {
	s.send.Close()
	s.recv.Close()
}

// receive reads replies until stop is set and hands them to the current
// engine.
func (s *rawSession) receive(pr *prober, cur *atomic.Pointer[engine], stop *atomic.Bool) error {
	buf := make([]byte, 65536)
	for !stop.Load() {
		n, eth, ok, err := s.recv.read(buf)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		r, ok := decodePacket(buf[:n], eth)
		if !ok {
			continue
		}
		v, ok := pr.classify(&r)
		if !ok {
			continue
		}
		if e := cur.Load(); e != nil {
			e.onReply(v, &r, e.now())
		}
	}
	return nil
}

// runEngines runs the prober over targets in host groups, handing each
// finished group to collect. It returns the context's error when
// interrupted (the group in progress is collected with what it has).
func (s *rawSession) runEngines(ctx context.Context, ph *phase, pr *prober, targets []netip.Addr, noReply PortState,
	collect func(e *engine)) error {
	rng := newRNG()
	order := make([]int32, len(pr.specs))
	for i := range order {
		order[i] = int32(i)
	}
	if !ph.Sequential {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	var cur atomic.Pointer[engine]
	var stop atomic.Bool
	recvErr := make(chan error, 1)
	go func() { recvErr <- s.receive(pr, &cur, &stop) }()
	defer func() {
		stop.Store(true)
		<-recvErr
	}()
	perGroup := max(1, min(maxGroupHosts, maxGroupProbes/max(1, len(pr.specs))))
	for start := 0; start < len(targets); start += perGroup {
		group := targets[start:min(len(targets), start+perGroup)]
		e := newEngine(ph.Timing, pr, order, group, s.sources, noReply)
		for _, h := range e.hosts {
			if r, ok := ph.rtts[h.addr]; ok {
				h.rtt = r
				e.rtt.sample(r.srtt)
			}
		}
		cur.Store(e)
		err := e.run(ctx, s.send, func(h *hostState, err error) error {
			if !isDestErr(err) {
				return err
			}
			e.mu.Lock()
			if h.sendErr == "" {
				h.sendErr = errors.Unwrap(err).Error()
			}
			e.mu.Unlock()
			return nil
		})
		cur.Store(nil)
		e.mu.Lock()
		collect(e)
		e.mu.Unlock()
		if err != nil {
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

// runRaw runs one raw port-scan phase.
func runRaw(ctx context.Context, ph phase, res *Result) error {
	specs := portSpecs(&ph)
	s, targets, err := openSession(&ph, []probeKind{specs[0].kind}, false, res)
	if err != nil || s == nil {
		return err
	}
	defer s.Close()
	pr := newProber(ph.Technique, false, specs, s.craft, s.tries)
	proto := ph.Technique.Proto()
	return s.runEngines(ctx, &ph, pr, targets, ph.Technique.noReplyState(), func(e *engine) {
		for _, h := range e.hosts {
			hr := HostResult{Addr: h.addr, Up: h.up, Reason: h.upReason, Ports: make([]PortResult, 0, len(specs))}
			for i, sp := range specs {
				p := &h.probes[i]
				if p.status != stDone {
					continue // interrupted before an answer
				}
				hr.Ports = append(hr.Ports, PortResult{Port: sp.port, Proto: proto, State: p.state,
					Reason: e.reasons[p.reason], TTL: p.ttl, Service: serviceFor(proto, sp.port)})
			}
			res.Hosts = append(res.Hosts, hr)
		}
		res.ProbesSent += e.sent
		res.Retransmits += e.retrans
		res.Replies += e.replies
		res.SendErrors += e.sendErrors
	})
}

// portSpecs lists a phase's probes.
func portSpecs(ph *phase) []spec {
	kind := map[Technique]probeKind{UDP: kindUDP, SCTPInit: kindSCTPInit, SCTPCookie: kindSCTPCookie, IPProto: kindIPProto}[ph.Technique]
	if kind == 0 {
		kind = kindTCP
	}
	specs := make([]spec, len(ph.Ports))
	for i, p := range ph.Ports {
		specs[i] = spec{kind: kind, port: p, flags: ph.Flags}
	}
	return specs
}
