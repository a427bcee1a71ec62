package eve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The rules below are read from Suricata's EVE schema, etc/schema.json, in
// the newest copy the project could read: the main branch after Suricata 8.0
// (it has alert.context, alert.engine, the mdns and llmnr objects), at
// commit 49fac8af8e44 of the adaki4/suricata fork. It is the first version
// with alert.context ("Extra context data created by keywords such as
// dataset with JSON", additionalProperties true) and an open alert.metadata;
// in 7.0 metadata allowed only its ten ET keys and there was no context.
// The file is not copied here: each table lists the keys of one object
// that matter to scanwatch, with their types. An object the schema closes
// (additionalProperties false) is closed here too, and a key the tables
// leave out fails even where the schema would allow it, so the check is
// never looser than the schema.
const schemaSource = "Suricata etc/schema.json, main after 8.0 (adaki4/suricata@49fac8af8e44)"

// kind is a JSON schema type.
type kind int

const (
	kString kind = iota
	kInteger
	kNumber
	kBoolean
	kObject
	kArray
)

func (k kind) String() string {
	return [...]string{"string", "integer", "number", "boolean", "object", "array"}[k]
}

// field is one property's rules.
type field struct {
	kind     kind
	pattern  *regexp.Regexp   // strings
	props    map[string]field // objects: the known properties
	open     bool             // objects: additionalProperties true
	required []string         // objects
	items    *field           // arrays
	minItems int              // arrays
	enum     []string         // strings
}

var (
	str     = field{kind: kString}
	integer = field{kind: kInteger}
	boolean = field{kind: kBoolean}
)

func closed(props map[string]field, required ...string) field {
	return field{kind: kObject, props: props, required: required}
}

func arrayOf(items field, minItems int) field {
	return field{kind: kArray, items: &items, minItems: minItems}
}

// timestampPattern is the schema's pattern for timestamp.
var timestampPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+[+\-]\d+$`)

// stringList is a metadata value: the schema's listed metadata keys are
// arrays of at least one string, and rule metadata of any key is such a
// list; scanwatch's own keys are held to the same rule.
var stringList = arrayOf(str, 1)

// alertSchema is the schema's alert object (closed): every key it has.
var alertSchema = closed(map[string]field{
	"action":   str,
	"category": str,
	// context is open: "Extra context data created by keywords such
	// as dataset with JSON". scanwatch's scan lives here.
	"context": {kind: kObject, open: true},
	"engine":  {kind: kString, enum: []string{"fw", "td"}},
	"gid":     integer,
	// metadata is open; its listed keys are string lists, and so must
	// every key be (checked in check).
	"metadata":     {kind: kObject, open: true},
	"references":   arrayOf(str, 1),
	"rev":          integer,
	"rule":         str,
	"severity":     integer,
	"signature":    str,
	"signature_id": integer,
	"source":       closed(map[string]field{"ip": str, "port": integer}),
	"target":       closed(map[string]field{"ip": str, "port": integer}),
	"xff":          str,
})

// flowSchema is the schema's flow object (closed): every key it has.
var flowSchema = closed(map[string]field{
	"action": str, "age": integer, "alerted": boolean, "bypass": str,
	"bypassed":       closed(map[string]field{"bytes_toclient": integer, "bytes_toserver": integer, "pkts_toclient": integer, "pkts_toserver": integer}),
	"bytes_toclient": integer, "bytes_toserver": integer, "dest_ip": str, "dest_port": integer,
	"elephant": boolean, "elephant_direction": {kind: kArray}, "emergency": boolean, "end": str,
	"exception_policy": {kind: kArray}, "pkts_toclient": integer, "pkts_toserver": integer, "reason": str,
	"src_ip": str, "src_port": integer, "start": str, "state": str, "tx_cnt": integer, "wrong_thread": boolean,
})

// statsSchema is the schema's stats object (closed), with the counters of
// its capture, decoder, detect and flow objects (each closed) that are
// plain integers; the schema's other stats objects are left out.
var statsSchema = closed(map[string]field{
	"uptime":  integer,
	"capture": closed(ints("errors", "kernel_drops", "kernel_ifdrops", "kernel_packets")),
	"decoder": closed(ints("arp", "avg_pkt_size", "bytes", "chdlc", "erspan", "esp", "etag", "ethernet", "geneve", "gre",
		"icmpv4", "icmpv6", "ieee8021ah", "igmp", "invalid", "ipv4", "ipv4_in_ipv4", "ipv4_in_ipv6", "ipv6", "ipv6_in_ipv4",
		"ipv6_in_ipv6", "max_mac_addrs_dst", "max_mac_addrs_src", "max_pkt_size", "mpls", "nsh", "null", "pkts", "ppp",
		"pppoe", "raw", "sctp", "sll", "sll2", "tcp", "teredo", "too_many_layers", "udp", "unknown_ethertype", "vlan",
		"vlan_qinq", "vlan_qinqinq", "vntag", "vxlan")),
	"detect": closed(ints("alert", "alert_queue_overflow", "alerts_suppressed", "match_list", "mpm_list")),
	"flow": closed(ints("active", "elephant", "elephant_toclient", "elephant_toserver", "emerg_mode_entered",
		"emerg_mode_over", "get_used", "get_used_eval", "get_used_eval_busy", "get_used_eval_reject", "get_used_failed",
		"icmpv4", "icmpv6", "memcap", "memuse", "spare", "tcp", "tcp_reuse", "total", "udp")),
})

func ints(names ...string) map[string]field {
	m := make(map[string]field, len(names))
	for _, n := range names {
		m[n] = integer
	}
	return m
}

// recordSchema is the top level (closed; event_type and timestamp
// required): the schema's scalar keys and the objects scanwatch writes.
var recordSchema = closed(map[string]field{
	"timestamp": {kind: kString, pattern: timestampPattern},
	"flow_id":   integer, "parent_id": integer, "event_type": str, "host": str, "in_iface": str,
	"src_ip": str, "src_port": integer, "dest_ip": str, "dest_port": integer, "proto": str, "ip_v": integer,
	"pkt_src": str, "pcap_cnt": integer, "pcap_filename": str, "capture_file": str, "community_id": str,
	"icmp_type": integer, "icmp_code": integer, "response_icmp_type": integer, "response_icmp_code": integer,
	"vlan": arrayOf(field{kind: kNumber}, 1), "direction": str, "tx_id": integer, "app_proto": str,
	"log_level": str, "stream": integer, "spi": integer, "packet": str, "payload": str, "payload_printable": str,
	"alert": alertSchema, "flow": flowSchema, "stats": statsSchema,
}, "event_type", "timestamp")

// ValidateRecord checks one JSON line against the schema's rules above; it
// returns every violation, each naming its path.
func ValidateRecord(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	var errs []error
	check("", v, recordSchema, &errs)
	if m, ok := v.(map[string]any); ok {
		if a, ok := m["alert"].(map[string]any); ok {
			if md, ok := a["metadata"].(map[string]any); ok {
				for _, k := range sortedKeys(md) {
					check("alert.metadata."+k, md[k], stringList, &errs)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func check(path string, v any, f field, errs *[]error) {
	fail := func(format string, a ...any) {
		p := path
		if p == "" {
			p = "(record)"
		}
		*errs = append(*errs, fmt.Errorf("%s: "+format, append([]any{p}, a...)...))
	}
	switch f.kind {
	case kString:
		s, ok := v.(string)
		switch {
		case !ok:
			fail("want a string, got %T", v)
		case f.pattern != nil && !f.pattern.MatchString(s):
			fail("%q does not match %s", s, f.pattern)
		case f.enum != nil && !contains(f.enum, s):
			fail("%q is not one of %q", s, f.enum)
		}
	case kInteger:
		n, ok := v.(json.Number)
		if !ok || strings.ContainsAny(n.String(), ".eE") {
			fail("want an integer, got %v", v)
		}
	case kNumber:
		if _, ok := v.(json.Number); !ok {
			fail("want a number, got %T", v)
		}
	case kBoolean:
		if _, ok := v.(bool); !ok {
			fail("want a boolean, got %T", v)
		}
	case kArray:
		a, ok := v.([]any)
		if !ok {
			fail("want an array, got %T", v)
			return
		}
		if len(a) < f.minItems {
			fail("%d items, want at least %d", len(a), f.minItems)
		}
		if f.items != nil {
			for i, x := range a {
				check(fmt.Sprintf("%s[%d]", path, i), x, *f.items, errs)
			}
		}
	case kObject:
		m, ok := v.(map[string]any)
		if !ok {
			fail("want an object, got %T", v)
			return
		}
		for _, r := range f.required {
			if _, ok := m[r]; !ok {
				fail("required key %q missing", r)
			}
		}
		for _, k := range sortedKeys(m) {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if pf, ok := f.props[k]; ok {
				check(sub, m[k], pf, errs)
			} else if !f.open {
				*errs = append(*errs, fmt.Errorf("%s: not in the schema (additionalProperties is false)", sub))
			}
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestGoldenRecordsValidate: every record kind the writer makes, with every
// optional field, validates.
func TestGoldenRecordsValidate(t *testing.T) {
	kinds := map[string]int{}
	lines := bytes.Split(bytes.TrimSpace(writeGolden()), []byte("\n"))
	for _, line := range lines {
		if err := ValidateRecord(line); err != nil {
			t.Errorf("%s\n%v", line, err)
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		kinds[r.EventType]++
	}
	if kinds[EventAlert] == 0 || kinds[EventFlow] == 0 || kinds[EventStats] == 0 {
		t.Fatalf("golden records lack a kind: %v", kinds)
	}
	t.Logf("%d records %v valid against %s", len(lines), kinds, schemaSource)
}

// TestValidateRecordFails: the check catches what the schema forbids,
// starting with the shape scanwatch wrote before (a top-level "scan").
func TestValidateRecordFails(t *testing.T) {
	lines := bytes.Split(bytes.TrimSpace(writeGolden()), []byte("\n"))
	alert, flow, stats := lines[0], lines[1], lines[len(lines)-1]
	for _, tc := range []struct {
		name   string
		line   []byte
		mutate func(m map[string]any)
		want   string
	}{
		{"top-level scan", alert, func(m map[string]any) { m["scan"] = map[string]any{"type": "syn"} }, "scan: not in the schema"},
		{"alert key", alert, func(m map[string]any) { obj(m, "alert")["bogus"] = 1 }, "alert.bogus: not in the schema"},
		{"metadata not a list", alert, func(m map[string]any) { obj(m, "alert", "metadata")["scan_type"] = "syn" }, "alert.metadata.scan_type: want an array"},
		{"metadata empty list", alert, func(m map[string]any) { obj(m, "alert", "metadata")["scan_tool"] = []any{} }, "alert.metadata.scan_tool: 0 items"},
		{"gid a string", alert, func(m map[string]any) { obj(m, "alert")["gid"] = "1" }, "alert.gid: want an integer"},
		{"flow_id not an integer", alert, func(m map[string]any) { m["flow_id"] = 1.5 }, "flow_id: want an integer"},
		{"timestamp with Z", alert, func(m map[string]any) { m["timestamp"] = "2026-11-21T00:14:04.123456Z" }, "timestamp: \"2026-11-21T00:14:04.123456Z\" does not match"},
		{"timestamp without fraction", alert, func(m map[string]any) { m["timestamp"] = "2026-11-21T00:14:04+0000" }, "does not match"},
		{"no event_type", alert, func(m map[string]any) { delete(m, "event_type") }, "required key \"event_type\" missing"},
		{"flow key", flow, func(m map[string]any) { obj(m, "flow")["probes"] = 6 }, "flow.probes: not in the schema"},
		{"stats key", stats, func(m map[string]any) { obj(m, "stats")["alerts"] = 4 }, "stats.alerts: not in the schema"},
		{"stats counter", stats, func(m map[string]any) { obj(m, "stats", "capture")["ring_lost"] = 0 }, "stats.capture.ring_lost: not in the schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(tc.line, &m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(m)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			err = ValidateRecord(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// obj walks m down the given keys of nested objects.
func obj(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}
