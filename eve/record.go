package eve

import "time"

// Record is one line scanwatch writes, as a reader sees it: alert, scan and
// stats records all unmarshal into it (encoding/json), so tests, the
// self-test and tools share one description of the format instead of each
// keeping a partial copy. Fields a record kind does not carry stay zero:
// Alert is set only on alerts, Scan on alerts and scans, Stats on stats.
type Record struct {
	Timestamp string            `json:"timestamp"` // TimeFormat; see ParseTime
	EventType string            `json:"event_type"`
	SrcIP     string            `json:"src_ip,omitempty"` // always the scanner
	DestIP    string            `json:"dest_ip,omitempty"`
	Proto     string            `json:"proto,omitempty"`
	Alert     *RecordAlert      `json:"alert,omitempty"`
	Scan      *RecordScan       `json:"scan,omitempty"`
	Stats     map[string]uint64 `json:"stats,omitempty"` // counters by name, see Writer.Stats
}

// RecordAlert is the "alert" object of an alert record (Suricata's names).
type RecordAlert struct {
	Action      string `json:"action"`
	GID         int    `json:"gid"`
	SignatureID int    `json:"signature_id"`
	Rev         int    `json:"rev"`
	Signature   string `json:"signature"`
	Category    string `json:"category"`
	Severity    int    `json:"severity"`
}

// RecordScan is the "scan" object of alert and scan records: the episode as
// it stood at the alert, or its totals when it ended.
type RecordScan struct {
	Type         string   `json:"type"`
	Flags        string   `json:"flags,omitempty"` // custom probes: the flag mix
	Shape        string   `json:"shape"`
	Scanner      string   `json:"scanner"`
	Targets      []string `json:"targets"`
	TargetCount  int      `json:"target_count"`
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
	Sensors      []string `json:"sensors,omitempty"`
	Tool         string   `json:"tool"`
	ToolEvidence string   `json:"tool_evidence,omitempty"`
	Evidence     string   `json:"evidence"`
}

// ParseTime parses a record's timestamp (TimeFormat).
func ParseTime(s string) (time.Time, error) {
	return time.Parse(TimeFormat, s)
}
