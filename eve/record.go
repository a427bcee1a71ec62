package eve

import "time"

// Record is one line scanwatch writes, as a reader sees it: alert, flow and
// stats records all unmarshal into it (encoding/json), so tests, the
// self-test and tools share one description of the format instead of each
// keeping a partial copy. Fields a record kind does not carry stay zero:
// Alert is set on alert and flow records, Flow on flow records, Stats on
// stats records. Scan returns the scan of an alert or flow record.
type Record struct {
	Timestamp string `json:"timestamp"` // TimeFormat; see ParseTime
	// FlowID links a scan's alert and its flow record.
	FlowID    uint64       `json:"flow_id,omitempty"`
	InIface   string       `json:"in_iface,omitempty"` // live only
	EventType string       `json:"event_type"`         // EventAlert, EventFlow or EventStats
	SrcIP     string       `json:"src_ip,omitempty"`   // always the scanner
	SrcPort   uint16       `json:"src_port,omitempty"` // when all its probes came from one port
	DestIP    string       `json:"dest_ip,omitempty"`  // the first target; Scan().TargetCount says how many
	DestPort  uint16       `json:"dest_port,omitempty"`
	Proto     string       `json:"proto,omitempty"` // Suricata's spelling: TCP, UDP, SCTP, ICMP, IPv6-ICMP
	IPVersion int          `json:"ip_v,omitempty"`
	PktSrc    string       `json:"pkt_src,omitempty"` // alerts: PktSrc
	Flow      *RecordFlow  `json:"flow,omitempty"`
	Alert     *RecordAlert `json:"alert,omitempty"`
	Stats     *Stats       `json:"stats,omitempty"`
	Host      string       `json:"host,omitempty"`          // the sensor's name
	PcapFile  string       `json:"pcap_filename,omitempty"` // replay: the capture file
}

// Scan returns the scan of an alert or flow record (alert.context.scan), or
// nil.
func (r *Record) Scan() *RecordScan {
	if r.Alert == nil || r.Alert.Context == nil {
		return nil
	}
	return r.Alert.Context.Scan
}

// RecordAlert is the "alert" object (Suricata's names).
type RecordAlert struct {
	Action      string              `json:"action"`
	GID         int                 `json:"gid"`
	SignatureID int                 `json:"signature_id"`
	Rev         int                 `json:"rev"`
	Signature   string              `json:"signature"`
	Category    string              `json:"category"`
	Severity    int                 `json:"severity"`
	Metadata    map[string][]string `json:"metadata"` // mitre_*, scan_type, scan_shape, scan_tool, signature_severity
	Context     *RecordContext      `json:"context"`
}

// RecordContext is alert.context.
type RecordContext struct {
	Scan *RecordScan `json:"scan"`
}

// RecordFlow is the "flow" object of a flow record: the scan's probes and
// times, in Suricata's flow names.
type RecordFlow struct {
	PktsToServer int    `json:"pkts_toserver"` // probes
	Start        string `json:"start"`         // TimeFormat: first probe
	End          string `json:"end"`           // last probe
	Age          int64  `json:"age"`           // seconds from start to end
	State        string `json:"state"`         // "closed"
	Alerted      bool   `json:"alerted"`
}

// RecordScan is alert.context.scan: the episode as it stood at the alert,
// or its totals when it ended.
type RecordScan struct {
	Type         string   `json:"type"`
	Flags        string   `json:"flags,omitempty"` // custom probes: the flag mix
	Shape        string   `json:"shape"`
	Scanner      string   `json:"scanner"`
	Targets      []string `json:"targets"`
	TargetCount  int      `json:"target_count"`
	Summary      string   `json:"summary"`              // one line for people (Summary)
	PortCount    int      `json:"port_count,omitempty"` // absent for scans without ports (ping, arp)
	Ports        string   `json:"ports,omitempty"`
	Probes       int      `json:"probes"`
	OpenPorts    []uint16 `json:"open_ports,omitempty"`
	FirstSeen    string   `json:"first_seen"` // TimeFormat
	LastSeen     string   `json:"last_seen"`
	DurationS    float64  `json:"duration_s"`
	Slow         bool     `json:"slow,omitempty"`
	Decoys       []string `json:"decoys,omitempty"`
	Group        string   `json:"group,omitempty"`
	Zombie       string   `json:"zombie,omitempty"` // idle scans: the host whose IP ID was read
	Relay        string   `json:"relay,omitempty"`  // FTP bounce scans: the FTP server that connected for the scanner
	Sensors      []string `json:"sensors,omitempty"`
	Tool         string   `json:"tool"`
	ToolEvidence string   `json:"tool_evidence,omitempty"`
	Evidence     string   `json:"evidence"`
}

// ParseTime parses a record's timestamp (TimeFormat).
func ParseTime(s string) (time.Time, error) {
	return time.Parse(TimeFormat, s)
}
