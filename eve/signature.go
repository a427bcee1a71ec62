package eve

import "github.com/scanwatch/scanwatch/technique"

// Signature is the rule an alert names, in Suricata's terms: its
// signature_id, its text and its severity (1 is the most severe).
type Signature struct {
	ID       int
	Text     string
	Severity int
}

// signatures gives each technique its own signature; a test fails when a
// technique has none.
var signatures = [technique.Count]Signature{
	technique.Syn:     {9000001, "scanwatch: TCP SYN port scan", 2},
	technique.Connect: {9000002, "scanwatch: TCP connect port scan", 2},
	technique.Fin:     {9000003, "scanwatch: TCP FIN scan", 2},
	technique.Null:    {9000004, "scanwatch: TCP NULL scan", 2},
	technique.Xmas:    {9000005, "scanwatch: TCP Xmas scan", 2},
	technique.Maimon:  {9000006, "scanwatch: TCP Maimon scan", 2},
	technique.Ack:     {9000007, "scanwatch: TCP ACK scan", 2},
	technique.Custom:  {9000008, "scanwatch: TCP scan with unusual flags", 2},
	technique.UDP:     {9000009, "scanwatch: UDP port scan", 2},
	technique.IPProto: {9000010, "scanwatch: IP protocol scan", 2},
	technique.SCTP:    {9000011, "scanwatch: SCTP INIT scan", 2},
	technique.Ping:    {9000012, "scanwatch: host discovery sweep", 3},
	technique.ARP:     {9000013, "scanwatch: ARP/neighbour discovery sweep", 3},
	technique.OSProbe: {9000014, "scanwatch: OS fingerprinting probes", 2},
}

// unknownSignature is the signature of an alert whose scan type names no
// technique.
var unknownSignature = Signature{9000099, "scanwatch: network scan", 2}

// SignatureOf returns t's signature (the generic one for a value that is
// not a technique).
func SignatureOf(t technique.Technique) Signature {
	if !t.Valid() {
		return unknownSignature
	}
	return signatures[t]
}

// signatureFor returns the signature of a scan type as an event spells it.
func signatureFor(scanType string) Signature {
	t, err := technique.Parse(scanType)
	if err != nil {
		return unknownSignature
	}
	return SignatureOf(t)
}
