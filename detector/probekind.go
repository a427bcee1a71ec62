// Probe kinds: what a probe carried, for the techniques whose probes come
// in several kinds (an SCTP INIT or COOKIE ECHO; which service probe or
// script request a version or script scan sent). A Contact carries its
// kind, an episode counts them, and its evidence and tool are said from
// the counts.

package detector

import (
	"strconv"
	"strings"
)

// ProbeKind names what one probe carried; KindNone for techniques whose
// probes are all alike.
type ProbeKind uint8

const (
	KindNone ProbeKind = iota
	KindSCTPInit
	KindSCTPCookieEcho

	// Told from a connection's timing and handshake, not its bytes.
	KindNullWait     // nmap's NULL probe: connected, then silent for its banner wait
	KindBannerGrab   // a banner read, then closed without a request
	KindMasscanStack // masscan's own TCP stack completing the handshake of its crafted SYN
	KindCraftedStack // another crafted SYN whose handshake the scanner completed itself
	KindAfterNmapSYN // a connection to a port nmap's crafted SYNs had found open (nmap -sV scans first)
	KindAfterSYN     // ... another crafted SYN's

	// Idle scans.
	KindIdleSpoofed // at the target: a SYN in the name of a host that answered SYN-ACKs the target never sent
	KindIdleRead    // at the zombie: a SYN-ACK reading its IP ID (marks the flow; never a contact)
	KindIdleReply   // at the zombie: the victim's answer to a SYN sent in the zombie's name
	KindBackscatter // at the target: a RST for a connection it never had (marks the flow; never a contact)

	// FTP bounce scans.
	KindFTPControl    // an FTP control channel (marks the flow; never a contact)
	KindFTPListNoType // PORT, then LIST with no TYPE command ever sent (nmap -b)
	KindFTPTransfer   // PORT, then another transfer command (or after a TYPE)
	KindFTPPortOnly   // PORT with no transfer command after it

	// nmap's service probes (nmap-service-probes), by their exact bytes.
	KindGenericLines
	KindGetRequest
	KindHTTPOptions
	KindRTSPRequest
	KindRPCCheck
	KindDNSVersionBind
	KindDNSStatus
	KindHelp
	KindHello
	KindSMBProgNeg
	KindTerminalServerCookie
	KindTerminalServer
	KindKerberos
	KindX11
	KindFourOhFour
	KindLPDString
	KindLDAPSearch
	KindLDAPBind
	KindSIPOptions
	KindJavaRMI
	KindMSSQL
	KindOracleTNS
	KindMongoDB
	KindRedis
	KindMemcache
	KindDistCCD
	KindDocker
	KindMasscanHTTP // masscan --banners' HTTP request (its User-Agent)

	// Sent both by service detection and by scripts (nmap's shortport.ssl
	// sends the first two before any ssl script).
	KindTLSSessionReq
	KindSSLSessionReq
	KindSSLv23SessionReq
	KindAuthTLS

	// nmap scripting engine requests that version-category scripts (run by
	// -sV) make as well as others.
	KindNmapLowerCheck
	KindNSEUserAgent
	KindHNAP1
	KindEvoxAbout
	KindVMwareSDK
	KindWebLogicT3

	// Requests of default-category scripts (-sC, -A).
	KindGitHead
	KindRobots
	KindFavicon
	KindPropfind
	KindHTTPOptions11
	KindHTTPHead
	KindSSHHostkey
	KindFTPAnonymous

	numProbeKinds

	// withNmapUA marks a kind of HTTP request that carried the nmap
	// scripting engine's User-Agent; counting it counts KindNSEUserAgent
	// too.
	withNmapUA ProbeKind = 0x80
)

// kindGroup says which scan a kind of probe is evidence of.
type kindGroup uint8

const (
	grpNone       kindGroup = iota
	grpStack                // a crafted SYN's handshake completed by the scanner: banner grabbing (version)
	grpService              // service detection only (version)
	grpEither               // service detection or a script, whichever the source is doing
	grpNSEAny               // a script, or the version-category scripts that -sV runs
	grpNSEDefault           // a default-category script (script)
)

// kindInfo describes one kind: how the evidence names it, its group, how
// much one such probe says about its source (see appscan.go), and whether
// its bytes are nmap's own (then it names the tool).
type kindInfo struct {
	name   string
	group  kindGroup
	weight uint8
	tool   tool
}

var kinds = [numProbeKinds]kindInfo{
	KindNone:           {"", grpNone, 0, toolUnknown},
	KindSCTPInit:       {"SCTP INIT", grpNone, 0, toolUnknown},
	KindSCTPCookieEcho: {"SCTP COOKIE ECHO (no association)", grpNone, 0, toolUnknown},

	KindNullWait:     {"NULL probe (silent >=5 s for a banner)", grpService, 1, toolUnknown},
	KindBannerGrab:   {"banner read and closed without a request", grpService, 0, toolUnknown},
	KindMasscanStack: {"masscan's own TCP stack completing the handshake of its crafted SYN (TTL>128, window 1024, no options)", grpStack, 3, toolMasscan},
	KindCraftedStack: {"a crafted SYN's handshake completed by the scanner's own TCP stack", grpStack, 3, toolUnknown},
	KindAfterNmapSYN: {"connections to ports its nmap SYN probes had found open", grpService, 0, toolNmap},
	KindAfterSYN:     {"connections to ports its crafted SYN probes had found open", grpService, 0, toolUnknown},

	KindIdleSpoofed: {"SYN in the zombie's name", grpNone, 0, toolUnknown},
	KindIdleRead:    {"SYN-ACK reading the zombie's IP ID", grpNone, 0, toolUnknown},
	KindIdleReply:   {"the victim's reply to the zombie", grpNone, 0, toolUnknown},
	KindBackscatter: {"RST for a connection never opened", grpNone, 0, toolUnknown},

	KindFTPControl:    {"FTP control channel", grpNone, 0, toolUnknown},
	KindFTPListNoType: {"PORT then LIST, no TYPE command", grpNone, 0, toolUnknown},
	KindFTPTransfer:   {"PORT then a transfer command", grpNone, 0, toolUnknown},
	KindFTPPortOnly:   {"PORT with no transfer after it", grpNone, 0, toolUnknown},

	KindGenericLines:         {"GenericLines (\\r\\n\\r\\n)", grpService, 1, toolUnknown},
	KindGetRequest:           {"GetRequest (GET / HTTP/1.0)", grpService, 1, toolUnknown},
	KindHTTPOptions:          {"HTTPOptions (OPTIONS / HTTP/1.0)", grpService, 1, toolUnknown},
	KindRTSPRequest:          {"RTSPRequest (OPTIONS / RTSP/1.0)", grpService, 1, toolUnknown},
	KindRPCCheck:             {"RPCCheck", grpService, 2, toolNmap},
	KindDNSVersionBind:       {"DNSVersionBindReqTCP", grpService, 2, toolNmap},
	KindDNSStatus:            {"DNSStatusRequestTCP", grpService, 2, toolNmap},
	KindHelp:                 {"Help (HELP)", grpService, 1, toolUnknown},
	KindHello:                {"Hello (EHLO)", grpService, 1, toolUnknown},
	KindSMBProgNeg:           {"SMBProgNeg", grpService, 2, toolNmap},
	KindTerminalServerCookie: {"TerminalServerCookie (mstshash=nmap)", grpService, 2, toolNmap},
	KindTerminalServer:       {"TerminalServer", grpService, 2, toolNmap},
	KindKerberos:             {"Kerberos", grpService, 2, toolNmap},
	KindX11:                  {"X11Probe", grpService, 1, toolUnknown},
	KindFourOhFour:           {"FourOhFourRequest (GET /nice%20ports%2C/Tri%6Eity.txt%2ebak)", grpService, 2, toolNmap},
	KindLPDString:            {"LPDString", grpService, 1, toolUnknown},
	KindLDAPSearch:           {"LDAPSearchReq", grpService, 2, toolNmap},
	KindLDAPBind:             {"LDAPBindReq", grpService, 2, toolNmap},
	KindSIPOptions:           {"SIPOptions (OPTIONS sip:nm)", grpService, 2, toolNmap},
	KindJavaRMI:              {"JavaRMI", grpService, 1, toolUnknown},
	KindMSSQL:                {"ms-sql-s prelogin", grpService, 2, toolNmap},
	KindOracleTNS:            {"oracle-tns", grpService, 2, toolNmap},
	KindMongoDB:              {"mongodb", grpService, 2, toolNmap},
	KindRedis:                {"redis-server (INFO)", grpService, 1, toolUnknown},
	KindMemcache:             {"Memcache (stats)", grpService, 1, toolUnknown},
	KindDistCCD:              {"DistCCD", grpService, 2, toolNmap},
	KindDocker:               {"docker (GET /version)", grpService, 1, toolUnknown},
	KindMasscanHTTP:          {"masscan's HTTP request (User-Agent masscan)", grpService, 2, toolMasscan},

	KindTLSSessionReq:    {"TLSSessionReq", grpEither, 2, toolNmap},
	KindSSLSessionReq:    {"SSLSessionReq", grpEither, 2, toolNmap},
	KindSSLv23SessionReq: {"SSLv23SessionReq", grpEither, 2, toolNmap},
	KindAuthTLS:          {"AUTH TLS", grpEither, 0, toolUnknown},

	KindNmapLowerCheck: {"GET /nmaplowercheck<digits>", grpNSEAny, 2, toolNmap},
	KindNSEUserAgent:   {"requests with the Nmap Scripting Engine User-Agent", grpNSEAny, 2, toolNmap},
	KindHNAP1:          {"GET /HNAP1", grpNSEAny, 1, toolUnknown},
	KindEvoxAbout:      {"GET /evox/about", grpNSEAny, 1, toolUnknown},
	KindVMwareSDK:      {"POST /sdk", grpNSEAny, 1, toolUnknown},
	KindWebLogicT3:     {"WebLogic T3 handshake (t3 12.1.2)", grpNSEAny, 2, toolNmap},

	KindGitHead:       {"GET /.git/HEAD", grpNSEDefault, 1, toolUnknown},
	KindRobots:        {"GET /robots.txt", grpNSEDefault, 0, toolUnknown},
	KindFavicon:       {"GET /favicon.ico", grpNSEDefault, 0, toolUnknown},
	KindPropfind:      {"PROPFIND /", grpNSEDefault, 1, toolUnknown},
	KindHTTPOptions11: {"OPTIONS / HTTP/1.1", grpNSEDefault, 0, toolUnknown},
	KindHTTPHead:      {"HEAD / HTTP/1.1", grpNSEDefault, 0, toolUnknown},
	KindSSHHostkey:    {"SSH client banner SSH-2.0-Nmap-SSH2-Hostkey (or SSH1)", grpNSEDefault, 2, toolNmap},
	KindFTPAnonymous:  {"FTP anonymous login (USER anonymous)", grpNSEDefault, 0, toolUnknown},
}

func (k ProbeKind) String() string {
	if b := k &^ withNmapUA; b < numProbeKinds {
		if k&withNmapUA != 0 {
			return kinds[b].name + " (nmap User-Agent)"
		}
		return kinds[b].name
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

func (k ProbeKind) info() kindInfo {
	if b := k &^ withNmapUA; b < numProbeKinds {
		return kinds[b]
	}
	return kindInfo{}
}

// kindCounts counts an episode's probes by kind. Episodes of techniques
// whose probes are all alike never allocate one.
type kindCounts [numProbeKinds]uint32

// note records what contact c says beyond its outcome: its kind and the
// host it went through.
func (e *episode) note(c Contact) {
	e.countKind(c.Kind)
	if c.Via.IsValid() && !e.via.IsValid() {
		e.via = c.Via
	}
}

// countKind adds one probe of kind k to e.
func (e *episode) countKind(k ProbeKind) {
	b := k &^ withNmapUA
	if b == KindNone || b >= numProbeKinds {
		return
	}
	if e.kinds == nil {
		e.kinds = new(kindCounts)
	}
	e.kinds[b]++
	if k&withNmapUA != 0 && b != KindNSEUserAgent {
		e.kinds[KindNSEUserAgent]++
	}
}

// probeLabel is what e's probes were, for its evidence: def (the
// technique's probe) when no kind was counted, else the kinds seen ("SCTP
// COOKIE ECHO (no association)", "SCTP INIT and SCTP COOKIE ECHO ...").
func (e *episode) probeLabel(def string) string {
	if e.kinds == nil {
		return def
	}
	var names []string
	for k, n := range e.kinds {
		if n > 0 {
			names = append(names, kinds[k].name)
		}
	}
	if len(names) == 0 {
		return def
	}
	return strings.Join(names, " and ")
}

// sctpProbeKind is the probe an SCTP packet's first chunk makes when no
// association is known: INIT opens one (nmap -sY); a COOKIE ECHO with no
// association (nmap -sZ) is answered by ABORT on a closed port and dropped
// on an open one (RFC 9260 8.4).
func sctpProbeKind(chunk uint8) ProbeKind {
	switch chunk {
	case 1:
		return KindSCTPInit
	case 10:
		return KindSCTPCookieEcho
	}
	return KindNone
}
