package scanner

import (
	"fmt"
	"time"
)

// Timing is how fast a scan goes and how long it waits, as nmap's timing
// options set it. TimingTemplate gives nmap's values for -T0..-T5; the
// options (--max-retries, --min-rate, ...) override single fields.
type Timing struct {
	Template          int           `json:"template"`            // 0-5, nmap's -T
	MinRTTTimeout     time.Duration `json:"min_rtt_timeout"`     // floor of the adaptive probe timeout
	MaxRTTTimeout     time.Duration `json:"max_rtt_timeout"`     // its ceiling
	InitialRTTTimeout time.Duration `json:"initial_rtt_timeout"` // before any reply was timed
	MaxRetries        int           `json:"max_retries"`         // retransmissions of a probe, at most
	ScanDelay         time.Duration `json:"scan_delay"`          // least time between probes to one host
	MaxScanDelay      time.Duration `json:"max_scan_delay"`      // most the delay grows to when replies are lost (TCP, SCTP)
	MaxUDPScanDelay   time.Duration `json:"max_udp_scan_delay"`  // the same for UDP (templates leave it at 1 s)
	MinRate           float64       `json:"min_rate"`            // probes per second, at least (0: no floor)
	MaxRate           float64       `json:"max_rate"`            // probes per second, at most (0: no ceiling)
	MinParallelism    int           `json:"min_parallelism"`     // probes in flight, at least (0: 1)
	MaxParallelism    int           `json:"max_parallelism"`     // probes in flight, at most (0: 300 per host)
	HostTimeout       time.Duration `json:"host_timeout"`        // give up a host after this long (0: never)
}

// TimingTemplate returns nmap's timing template n (-T0 paranoid ... -T5
// insane), with the values nmap's reference guide gives: T0 and T1 wait 5
// minutes and 15 seconds between probes, T2 0.4 seconds, and all three send
// one probe at a time; T4 is --max-rtt-timeout 1250ms --min-rtt-timeout
// 100ms --initial-rtt-timeout 500ms --max-retries 6 with a scan delay of at
// most 10 ms; T5 is 300ms/50ms/250ms, --max-retries 2, a 15-minute host
// timeout and at most 5 ms of scan delay. T3 is the default.
func TimingTemplate(n int) (Timing, error) {
	t := Timing{
		Template:          n,
		MinRTTTimeout:     100 * time.Millisecond,
		MaxRTTTimeout:     10 * time.Second,
		InitialRTTTimeout: time.Second,
		MaxRetries:        10,
		MaxScanDelay:      time.Second,
		MaxUDPScanDelay:   time.Second,
	}
	switch n {
	case 0:
		t.ScanDelay, t.InitialRTTTimeout, t.MaxParallelism = 5*time.Minute, 5*time.Minute, 1
		t.MaxScanDelay, t.MaxRTTTimeout = t.ScanDelay, t.InitialRTTTimeout
	case 1:
		t.ScanDelay, t.InitialRTTTimeout, t.MaxParallelism = 15*time.Second, 15*time.Second, 1
		t.MaxScanDelay, t.MaxRTTTimeout = t.ScanDelay, t.InitialRTTTimeout
	case 2:
		t.ScanDelay, t.MaxParallelism = 400*time.Millisecond, 1
	case 3:
	case 4:
		t.MinRTTTimeout, t.MaxRTTTimeout, t.InitialRTTTimeout = 100*time.Millisecond, 1250*time.Millisecond, 500*time.Millisecond
		t.MaxRetries, t.MaxScanDelay = 6, 10*time.Millisecond
	case 5:
		t.MinRTTTimeout, t.MaxRTTTimeout, t.InitialRTTTimeout = 50*time.Millisecond, 300*time.Millisecond, 250*time.Millisecond
		t.MaxRetries, t.MaxScanDelay, t.HostTimeout = 2, 5*time.Millisecond, 15*time.Minute
	default:
		return Timing{}, fmt.Errorf("timing template %d: want 0-5", n)
	}
	return t, nil
}

// templateNames are nmap's names for -T0..-T5 (-T accepts either).
var templateNames = [...]string{"paranoid", "sneaky", "polite", "normal", "aggressive", "insane"}

// normalize fills a zero Timing with the default template and clamps the
// timeouts into a consistent order.
func (t *Timing) normalize() error {
	if *t == (Timing{}) {
		*t, _ = TimingTemplate(3)
		return nil
	}
	def, err := TimingTemplate(t.Template)
	if err != nil {
		return err
	}
	if t.MinRTTTimeout <= 0 {
		t.MinRTTTimeout = def.MinRTTTimeout
	}
	if t.MaxRTTTimeout <= 0 {
		t.MaxRTTTimeout = def.MaxRTTTimeout
	}
	if t.InitialRTTTimeout <= 0 {
		t.InitialRTTTimeout = def.InitialRTTTimeout
	}
	if t.MaxScanDelay <= 0 {
		t.MaxScanDelay = def.MaxScanDelay
	}
	if t.MaxUDPScanDelay <= 0 {
		t.MaxUDPScanDelay = def.MaxUDPScanDelay
	}
	switch {
	case t.MaxRetries < 0:
		return fmt.Errorf("max retries %d: must not be negative", t.MaxRetries)
	case t.MinRTTTimeout > t.MaxRTTTimeout:
		return fmt.Errorf("min RTT timeout %v is more than the max RTT timeout %v", t.MinRTTTimeout, t.MaxRTTTimeout)
	case t.MinRate < 0 || t.MaxRate < 0:
		return fmt.Errorf("rates must not be negative")
	case t.MaxRate > 0 && t.MinRate > t.MaxRate:
		return fmt.Errorf("--min-rate %g is more than --max-rate %g", t.MinRate, t.MaxRate)
	case t.MinParallelism < 0 || t.MaxParallelism < 0:
		return fmt.Errorf("parallelism must not be negative")
	case t.MaxParallelism > 0 && t.MinParallelism > t.MaxParallelism:
		return fmt.Errorf("--min-parallelism %d is more than --max-parallelism %d", t.MinParallelism, t.MaxParallelism)
	}
	t.InitialRTTTimeout = min(max(t.InitialRTTTimeout, t.MinRTTTimeout), t.MaxRTTTimeout)
	t.MaxScanDelay = max(t.MaxScanDelay, t.ScanDelay)
	t.MaxUDPScanDelay = max(t.MaxUDPScanDelay, t.ScanDelay)
	return nil
}
