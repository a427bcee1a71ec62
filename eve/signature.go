package eve

import "github.com/scanwatch/scanwatch/technique"

// Category is the alert category of every scan: the text of Suricata's
// "network-scan" classification (classification.config).
const Category = "Detection of a Network Scan"

// Signature is the rule an alert names, in Suricata's terms, and the MITRE
// ATT&CK entries its metadata carries.
type Signature struct {
	ID       int    // signature_id, in the local range 1000000-1999999
	Rev      int    // rev: bumped when the meaning of the signature changes
	Text     string // signature
	Severity int    // 1 is the most severe
	// Technique and Tactic are the ATT&CK technique and tactic, as
	// Emerging Threats rules name theirs in mitre_technique_id/_name and
	// mitre_tactic_id/_name.
	Technique, Tactic Attack
}

// Attack is one MITRE ATT&CK entry, spelled as ET rule metadata spells it
// (underscores for spaces).
type Attack struct{ ID, Name string }

// The ATT&CK entries of network scans.
var (
	discovery = Attack{"TA0007", "Discovery"}
	// A port scan enumerates services.
	serviceDiscovery = Attack{"T1046", "Network_Service_Discovery"}
	// A ping or ARP sweep lists the hosts that are up.
	systemDiscovery = Attack{"T1018", "Remote_System_Discovery"}
)

// Signature ids: a block at the top of the local range, far from the
// 1000001.. where sites usually number their own local rules; ids above
// 1999999 would read as Emerging Threats rules in common consoles.
const (
	firstSID   = 1990001 // technique 0; each technique its own, in order
	unknownSID = 1990099
)

// signatures gives each technique its own signature; a test fails when a
// technique has none.
var signatures = [technique.Count]Signature{
	technique.Syn:     portScan(technique.Syn, "TCP SYN port scan"),
	technique.Connect: portScan(technique.Connect, "TCP connect port scan"),
	technique.Fin:     portScan(technique.Fin, "TCP FIN scan"),
	technique.Null:    portScan(technique.Null, "TCP NULL scan"),
	technique.Xmas:    portScan(technique.Xmas, "TCP Xmas scan"),
	technique.Maimon:  portScan(technique.Maimon, "TCP Maimon scan"),
	technique.Ack:     portScan(technique.Ack, "TCP ACK scan"),
	technique.Custom:  portScan(technique.Custom, "TCP scan with unusual flags"),
	technique.UDP:     portScan(technique.UDP, "UDP port scan"),
	technique.IPProto: portScan(technique.IPProto, "IP protocol scan"),
	technique.SCTP:    portScan(technique.SCTP, "SCTP INIT scan"),
	technique.Ping:    sweep(technique.Ping, "host discovery sweep"),
	technique.ARP:     sweep(technique.ARP, "ARP/neighbour discovery sweep"),
	technique.OSProbe: portScan(technique.OSProbe, "OS fingerprinting probes"),
}

func portScan(t technique.Technique, text string) Signature {
	return Signature{ID: firstSID + int(t), Rev: 1, Text: "scanwatch: " + text, Severity: 2, Technique: serviceDiscovery, Tactic: discovery}
}

func sweep(t technique.Technique, text string) Signature {
	return Signature{ID: firstSID + int(t), Rev: 1, Text: "scanwatch: " + text, Severity: 3, Technique: systemDiscovery, Tactic: discovery}
}

// unknownSignature is the signature of an alert whose scan type names no
// technique.
var unknownSignature = Signature{ID: unknownSID, Rev: 1, Text: "scanwatch: network scan", Severity: 2, Technique: serviceDiscovery, Tactic: discovery}

// SignatureOf returns t's signature (the generic one for a value that is
// not a technique).
func SignatureOf(t technique.Technique) Signature {
	if !t.Valid() {
		return unknownSignature
	}
	return signatures[t]
}

// Signatures lists every signature scanwatch may write, the generic one
// last: for documentation and for consoles that import rule lists.
func Signatures() []Signature {
	all := append([]Signature{}, signatures[:]...)
	return append(all, unknownSignature)
}

// SeverityName is the signature_severity word of ET rule metadata for the
// severity.
func (s Signature) SeverityName() string {
	switch s.Severity {
	case 1:
		return "Major"
	case 2:
		return "Minor"
	}
	return "Informational"
}

// signatureFor returns the signature of a scan type as an event spells it.
func signatureFor(scanType string) Signature {
	t, err := technique.Parse(scanType)
	if err != nil {
		return unknownSignature
	}
	return SignatureOf(t)
}
