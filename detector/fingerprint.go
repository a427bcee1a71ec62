package detector

import (
	"encoding/binary"
	"fmt"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// OptClass sums up a probe's TCP options, the strongest single tell between
// a crafted probe and one from an operating system's stack.
type OptClass uint8

const (
	OptNone    OptClass = iota // no options: masscan (before 1.3.3), hping3, nmap's FIN/NULL/Xmas/ACK
	OptMSSOnly                 // a lone MSS option: nmap's SYN probe
	OptFull                    // SACK-permitted, timestamps or window scale: an OS stack
	OptOther                   // anything else
)

// Print is what a probe's headers tell about the program that made it: the
// tool attribution reads it, and decoy copies of one probe share its IP ID,
// source port and sequence number. It is taken from the first probe of a
// flow and travels in its Contact.
type Print struct {
	Flags     tcpflags.Flags // tcp[13]
	V6        bool
	TTL       uint8 // IPv4 TTL or IPv6 hop limit
	DF        bool
	Options   OptClass
	MSS       uint16
	Window    uint16
	IPID      uint16
	AckNoFlag bool // non-zero acknowledgment number without the ACK flag (hping3)
	IDMatch   bool // IP ID == dst_ip ^ dst_port ^ seq (low 16 bits): masscan's stateless cookie
	SrcPort   uint16
	Seq       uint32
	// Frag: the TCP header came in IP fragments. No kernel fragments its
	// own SYN (60-odd bytes), so a fragmented SYN is crafted, whatever
	// options it carries.
	Frag bool
}

// osStackSYN reports a SYN as an operating system's connect() sends it:
// the full option set (SACK, timestamps, window scale), not fragmented.
func (fp Print) osStackSYN() bool { return fp.Options == OptFull && !fp.Frag }

func printOf(p *decode.Packet) Print {
	fp := Print{Flags: p.Flags, V6: p.IPv6, TTL: p.TTL, DF: p.DF, Window: p.Window, IPID: uint16(p.IPID), SrcPort: p.SrcPort, Seq: p.Seq, Frag: p.Fragment}
	fp.Options, fp.MSS = classifyOptions(p.Options)
	fp.AckNoFlag = p.Ack != 0 && p.Flags&tcpflags.ACK == 0
	if !p.IPv6 {
		d := p.Dst.As4()
		dst := binary.BigEndian.Uint32(d[:])
		fp.IDMatch = uint16(dst^uint32(p.DstPort)^p.Seq) == uint16(p.IPID)
	}
	return fp
}

func classifyOptions(opts []byte) (OptClass, uint16) {
	if len(opts) == 0 {
		return OptNone, 0
	}
	// An OS stack's SYN, in the layouts of Linux and Windows: one MSS,
	// first, then options of the full set and NOPs.
	if l := optLayout(opts); l == layoutLinuxSYN || l == layoutWinSYN {
		return OptFull, binary.BigEndian.Uint16(opts[2:])
	}
	return walkOptions(opts)
}

// walkOptions is classifyOptions by walking the options.
func walkOptions(opts []byte) (OptClass, uint16) {
	var mss uint16
	sawMSS, sawOS, sawOther := false, false, false
	for i := 0; i < len(opts); {
		kind := opts[i]
		if kind == 0 {
			break
		}
		if kind == 1 {
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			sawOther = true
			break
		}
		l := int(opts[i+1])
		switch kind {
		case 2:
			sawMSS = true
			if l == 4 {
				mss = binary.BigEndian.Uint16(opts[i+2:])
			}
		case 3, 4, 8:
			sawOS = true
		default:
			sawOther = true
		}
		i += l
	}
	switch {
	case sawOS:
		return OptFull, mss
	case sawOther:
		return OptOther, mss
	case sawMSS:
		return OptMSSOnly, mss
	}
	return OptNone, 0
}

// tool is a scanner program recognised from its probes.
type tool uint8

const (
	toolUnknown tool = iota
	toolNmap
	toolMasscan
	toolZmap
	toolHping3
	toolOS // a probe from an operating system's own stack (connect(), a client program)
	numTools
)

var toolNames = [numTools]string{"unknown", "nmap", "masscan", "zmap", "hping3", "os-stack"}

// toolOf names the tool whose fingerprint one TCP probe matches. TTLs are
// compared as upper bounds, since routers only lower them; IPv6 has no DF
// bit and nmap leaves its hop limit alone.
func toolOf(fp Print) tool {
	syn := fp.Flags&tcpflags.SYN != 0
	nmapIP := fp.V6 || !fp.DF && fp.TTL <= 59
	switch {
	case fp.IPID == 54321 && fp.Window == 65535 && fp.TTL > 128:
		return toolZmap
	case fp.Window == 1024 && fp.TTL > 128 && fp.IDMatch:
		return toolMasscan
	case fp.Window == 512 && fp.Options == OptNone && (fp.AckNoFlag || !syn):
		return toolHping3
	case isNmapWindow(fp.Window) && nmapIP && (syn && fp.Options == OptMSSOnly && fp.MSS == 1460 || !syn && fp.Options == OptNone):
		return toolNmap
	case syn && fp.osStackSYN():
		return toolOS
	}
	return toolUnknown
}

// toolEvidence says which features of fp matched tool t.
func toolEvidence(t tool, fp Print) string {
	switch t {
	case toolZmap:
		return "IP ID 54321, window 65535, TTL>128"
	case toolMasscan:
		return "window 1024, TTL>128, IP ID = dst^port^seq"
	case toolHping3:
		return "window 512, no options"
	case toolNmap:
		s := "window " + itoa(int(fp.Window)) + ", no options"
		if fp.Options == OptMSSOnly {
			s = "window " + itoa(int(fp.Window)) + ", MSS-only option"
		}
		if !fp.V6 {
			s += ", no DF, TTL<=59"
		}
		return s
	case toolOS:
		return "OS-stack SYN options"
	}
	return ""
}

func isNmapWindow(w uint16) bool { return w == 1024 || w == 2048 || w == 3072 || w == 4096 }

// toolVotes counts, per tool, the probes whose fingerprint matched it.
type toolVotes struct {
	n        [numTools]int
	evidence [numTools]string
	total    int
}

func (v *toolVotes) add(fp Print) {
	t := toolOf(fp)
	if v.n[t] == 0 {
		v.evidence[t] = toolEvidence(t, fp)
	}
	v.n[t]++
	v.total++
}

// leader is the tool most probes matched so far (not the OS stack).
func (v *toolVotes) leader() tool {
	best := toolUnknown
	for t := toolNmap; t < toolOS; t++ {
		if v.n[t] > v.n[best] {
			best = t
		}
	}
	return best
}

// verdict names a tool only when at least 80% of probes agree on it;
// "unknown" is better than a wrong name.
func (v *toolVotes) verdict() (string, string) {
	if v.total == 0 {
		return "unknown", ""
	}
	best := v.leader()
	if best == toolUnknown || v.n[best]*5 < v.total*4 {
		return "unknown", ""
	}
	return toolNames[best], fmt.Sprintf("%d/%d probes: %s", v.n[best], v.total, v.evidence[best])
}

// ttlSpread follows the IPv4 TTLs of an episode's probes. An OS stack
// sends every packet with one TTL; nmap draws a new one (37-59) for every
// raw probe, whatever the protocol. Many TTLs within that span, and never
// DF, name nmap however many hops away it is.
type ttlSpread struct {
	seen   [4]uint64 // bitset of TTL values
	n      int       // distinct values
	lo, hi uint8
	df     bool
	probes int
}

func (t *ttlSpread) add(fp Print) {
	if fp.V6 {
		return
	}
	t.probes++
	t.df = t.df || fp.DF
	w, b := fp.TTL>>6, uint64(1)<<(fp.TTL&63)
	if t.seen[w]&b == 0 {
		t.seen[w] |= b
		if t.n == 0 || fp.TTL < t.lo {
			t.lo = fp.TTL
		}
		t.hi = max(t.hi, fp.TTL)
		t.n++
	}
}

// nmap reports nmap's randomised TTL: at least 4 distinct values, all
// within nmap's 23-value span and at most 59, and no DF.
func (t *ttlSpread) nmap() (bool, string) {
	if t.n < 4 || t.df || t.hi > 59 || t.hi-t.lo > 22 {
		return false, ""
	}
	return true, fmt.Sprintf("TTL randomised per probe (%d values in %d-%d), no DF", t.n, t.lo, t.hi)
}
