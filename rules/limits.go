package rules

import "time"

// Limits of the values a rules file may give, each checked where it is
// read, with the file:line:col of the value. They keep every value within
// what its user can take: the kernel's flow map counts its entries in 32
// bits (4294967297 once became a one-entry map that passed bulk traffic),
// and a list is matched on every probe.
const (
	MaxListEntries = 100_000 // entries of one list (home_networks, allow.*, tcp_flags)
	MaxTrackers    = 1 << 24 // state.max_trackers
	MaxFlows       = 1 << 24 // state.max_flows; also the eBPF flow map's entries
	MaxFragments   = 1 << 20 // state.max_fragments
	MaxHosts       = 1 << 24 // detect.*.hosts
	MaxPorts       = 65536   // detect.*.ports, slow.min_ports: there are no more distinct ports
	MaxWindow      = 24 * time.Hour
	MaxReply       = 10 * time.Minute
	MaxIdle        = 24 * time.Hour
	MaxSlowMemory  = 30 * 24 * time.Hour
	MaxAlertRate   = 1_000_000 // alerts.rate, a second
	MaxAlertBurst  = 1_000_000 // alerts.burst
)
