package mixgen

import (
	"encoding/binary"
)

// conn is one TCP connection; send writes its segments with the options
// and windows of a Linux or Windows stack.

type conn struct {
	g          *gen
	c, s       *host
	cp, sp     uint16
	cseq, sseq uint32 // the next sequence number each side sends
	ts         bool   // TCP timestamps negotiated
	ctsv, stsv uint32 // the last TS value each side sent
}

func (g *gen) newConn(cl *host, sv *server, port uint16) *conn {
	return &conn{g: g, c: cl, s: sv.host, cp: cl.ephemeral(g.rng), sp: port,
		cseq: g.rng.Uint32(), sseq: g.rng.Uint32(), ts: !cl.windows}
}

func (c *conn) mss() int {
	if c.c.ip.Is6() {
		return 1440
	}
	return 1460
}

// smssData is the payload of a full segment (either way).
func (c *conn) smssData() int {
	if c.ts {
		return c.mss() - 12
	}
	return c.mss()
}

func (c *conn) handshake(p *proc, rtt int64) {
	c.send(true, fSYN, 0, nil)
	p.sleep(rtt)
	c.send(false, fSYN|fACK, 0, nil)
	p.sleep(c.g.between(15*us, 80*us))
	c.send(true, fACK, 0, nil)
}

// data sends size bytes from one side in full segments, the first starting
// with head, with an ACK from the other side after every second segment and
// after the last.
func (c *conn) data(p *proc, fromClient bool, size int, head []byte, gap int64) {
	mss := c.smssData()
	for i := 0; size > 0; i++ {
		n := min(size, mss)
		size -= n
		flags := uint8(fACK)
		if size == 0 {
			flags |= fPSH
		}
		var text []byte
		if i == 0 {
			text = head
			n = max(n, len(head))
		}
		c.send(fromClient, flags, n, text)
		if i%2 == 1 || size == 0 {
			ackAfter := min(gap/2, 40*us)
			p.sleep(ackAfter)
			c.send(!fromClient, fACK, 0, nil)
			p.sleep(gap - ackAfter)
		} else {
			p.sleep(gap)
		}
	}
}

// rstAck is a closed port's answer to the SYN just sent.
func (c *conn) rstAck() {
	c.sseq = 0
	c.send(false, fRST|fACK, 0, nil)
}

func (c *conn) nmapSYN() {
	var opt [4]byte
	opt[0], opt[1] = 2, 4
	binary.BigEndian.PutUint16(opt[2:], 1460)
	c.g.tcp(c.c, c.s, c.cp, c.sp, c.cseq, 0, fSYN, 1024, opt[:], 0, nil, false)
	c.cseq++ // for the answer's ack; the next probe's conn starts again from the shared seq
}

// send writes one segment from the client (or the server) and advances its
// sequence number. plen is the payload length on the wire (at least
// len(text)).
func (c *conn) send(fromClient bool, flags uint8, plen int, text []byte) {
	g := c.g
	src, dst := c.s, c.c
	sport, dport := c.sp, c.cp
	seq, ack := &c.sseq, c.cseq
	tsv, tsecr := &c.stsv, c.ctsv
	if fromClient {
		src, dst, sport, dport = c.c, c.s, c.cp, c.sp
		seq, ack = &c.cseq, c.sseq
		tsv, tsecr = &c.ctsv, c.stsv
	}
	plen = max(plen, len(text))
	if flags&fACK == 0 {
		ack = 0
	}
	var optBuf [20]byte
	opts := optBuf[:0]
	win := uint16(502)
	if src.windows {
		win = 1026
	}
	tsval := src.tsOff + uint32(g.now/ms)
	*tsv = tsval
	mss := uint16(c.mss())
	switch {
	case flags&fSYN != 0 && src.windows:
		win = 64240
		opts = append(opts, 2, 4, byte(mss>>8), byte(mss), 1, 3, 3, 8, 1, 1, 4, 2)
	case flags&fSYN != 0 && flags&fACK != 0 && !c.ts && c.c.windows:
		win = 64240
		opts = append(opts, 2, 4, byte(mss>>8), byte(mss), 1, 1, 4, 2, 1, 3, 3, 7)
	case flags&fSYN != 0 && c.ts:
		win = 64240
		if flags&fACK != 0 {
			win = 65160
		} else {
			tsecr = 0
		}
		opts = append(opts, 2, 4, byte(mss>>8), byte(mss), 4, 2, 8, 10)
		opts = binary.BigEndian.AppendUint32(opts, tsval)
		opts = binary.BigEndian.AppendUint32(opts, tsecr)
		opts = append(opts, 1, 3, 3, 7)
	case flags&fSYN != 0:
		// A SYN-ACK to a SYN that offered only MSS (the scanner's).
		win = 64240
		opts = append(opts, 2, 4, byte(mss>>8), byte(mss))
	case flags&fRST != 0:
		win = 0
	case c.ts:
		opts = append(opts, 1, 1, 8, 10)
		opts = binary.BigEndian.AppendUint32(opts, tsval)
		opts = binary.BigEndian.AppendUint32(opts, tsecr)
	}
	// The stacks set DF (IPv4) on all their TCP segments.
	g.tcp(src, dst, sport, dport, *seq, ack, flags, win, opts, plen, text, true)
	*seq += uint32(plen)
	if flags&(fSYN|fFIN) != 0 {
		*seq++
	}
}
