package detector

// family groups probes that make up one kind of scan. SYN probes split by
// who made them: crafted SYNs (raw-socket scanners) and SYNs with an OS
// stack's full options (connect()), so a SYN scan and a connect scan from
// one source stay two scans. The replies have the last word on the type.
type family uint8

const (
	famSyn family = iota
	famConnect
	famFin
	famNull
	famXmas
	famMaimon
	famAck
	famCustom
	famUDP
	famIPProto
	famSCTP
	famPing
	famARP
	famOSProbe
	numFamilies
)

var famNames = [numFamilies]string{"syn", "connect", "fin", "null", "xmas", "maimon", "ack", "custom", "udp", "ipproto", "sctp", "ping", "arp", "osprobe"}

func (f family) String() string { return famNames[f] }

// synLike families probe with SYN and follow the handshake.
func (f family) synLike() bool { return f == famSyn || f == famConnect }

func familyOf(name string) (family, bool) {
	for i, n := range famNames {
		if n == name {
			return family(i), true
		}
	}
	return 0, false
}

// signature gives each scan type its EVE signature id, text and severity.
// TODO(issue 8, phase B): delete signature, signatures and Signature; eve
// has its own table now (eve/signature.go) and nothing calls these.
type signature struct {
	id       int
	text     string
	severity int
}

var signatures = map[string]signature{
	"syn":     {9000001, "scanwatch: TCP SYN port scan", 2},
	"connect": {9000002, "scanwatch: TCP connect port scan", 2},
	"fin":     {9000003, "scanwatch: TCP FIN scan", 2},
	"null":    {9000004, "scanwatch: TCP NULL scan", 2},
	"xmas":    {9000005, "scanwatch: TCP Xmas scan", 2},
	"maimon":  {9000006, "scanwatch: TCP Maimon scan", 2},
	"ack":     {9000007, "scanwatch: TCP ACK scan", 2},
	"custom":  {9000008, "scanwatch: TCP scan with unusual flags", 2},
	"udp":     {9000009, "scanwatch: UDP port scan", 2},
	"ipproto": {9000010, "scanwatch: IP protocol scan", 2},
	"sctp":    {9000011, "scanwatch: SCTP INIT scan", 2},
	"ping":    {9000012, "scanwatch: host discovery sweep", 3},
	"arp":     {9000013, "scanwatch: ARP/neighbour discovery sweep", 3},
	"osprobe": {9000014, "scanwatch: OS fingerprinting probes", 2},
}

// Signature returns the EVE signature fields of a scan type.
func Signature(scanType string) (id int, text string, severity int) {
	s, ok := signatures[scanType]
	if !ok {
		return 9000099, "scanwatch: network scan", 2
	}
	return s.id, s.text, s.severity
}
