package scanner

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// The option values' parsers.

// setDecoys reads -D: addresses, ME for our place, RND or RND:n for
// random addresses (never sent to: they only stand as sources).
func setDecoys(o *Options, v string) error {
	me := -1
	for _, item := range splitList(v) {
		switch {
		case strings.EqualFold(item, "ME"):
			me = len(o.Evasion.Decoys)
		case strings.EqualFold(item, "RND") || strings.HasPrefix(strings.ToUpper(item), "RND:"):
			n := 1
			if _, num, ok := strings.Cut(item, ":"); ok {
				var err error
				if n, err = strconv.Atoi(num); err != nil || n < 1 || n > 128 {
					return fmt.Errorf("%q: want RND:1-128", item)
				}
			}
			for range n {
				o.Evasion.Decoys = append(o.Evasion.Decoys, randomDecoy())
			}
		default:
			a, err := netip.ParseAddr(item)
			if err != nil {
				return fmt.Errorf("decoy %q: %w", item, err)
			}
			o.Evasion.Decoys = append(o.Evasion.Decoys, a.Unmap())
		}
	}
	if me < 0 {
		// nmap puts the real source at a random position when ME is not given.
		me = rand.IntN(len(o.Evasion.Decoys) + 1)
	}
	o.Evasion.MePos = me
	return nil
}

func ping(letter byte) func(*Options, string) error {
	return func(o *Options, v string) error {
		p, err := ParsePing(letter, v)
		if err != nil {
			return err
		}
		o.Discovery.Probes = append(o.Discovery.Probes, p)
		return nil
	}
}

func tech(t Technique) func(*Options, string) error {
	return func(o *Options, _ string) error { return o.addTechnique(t) }
}

func setTemplate(o *Options, v string) error {
	for i, n := range templateNames {
		if strings.EqualFold(v, n) || v == strconv.Itoa(i) {
			o.template = i
			return nil
		}
	}
	return fmt.Errorf("%q: want 0-5 or paranoid|sneaky|polite|normal|aggressive|insane", v)
}

func timingDuration(f func(*Timing, time.Duration)) func(*Options, string) error {
	return func(o *Options, v string) error {
		d, err := ParseTime(v)
		if err != nil {
			return err
		}
		o.timing = append(o.timing, func(t *Timing) { f(t, d) })
		return nil
	}
}

func timingCount(f func(*Timing, int)) func(*Options, string) error {
	return func(o *Options, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%q: want a number, 1 or more", v)
		}
		o.timing = append(o.timing, func(t *Timing) { f(t, n) })
		return nil
	}
}

func timingRate(f func(*Timing, float64)) func(*Options, string) error {
	return func(o *Options, v string) error {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("%q: want a positive number of probes per second", v)
		}
		o.timing = append(o.timing, func(t *Timing) { f(t, r) })
		return nil
	}
}

// ParseTime parses nmap's <time>: a number of seconds ("1.5"), or a number
// with a unit: ms, s, m or h ("500ms", "2m").
func ParseTime(v string) (time.Duration, error) {
	num, unit := v, time.Second
	for _, u := range []struct {
		suffix string
		d      time.Duration
	}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}} {
		if strings.HasSuffix(v, u.suffix) {
			num, unit = strings.TrimSuffix(v, u.suffix), u.d
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		// Go's spelling too ("1m30s"), as Duration.String writes it.
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			return d, nil
		}
		return 0, fmt.Errorf("%q is not a time (want e.g. 500ms, 2s, 1.5, 3m, 1h)", v)
	}
	return time.Duration(f * float64(unit)), nil
}

func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

func setInputList(o *Options, v string) error {
	specs, err := readTargetFile(v)
	o.TargetSpecs = append(o.TargetSpecs, specs...)
	return err
}

// readTargetFile reads targets separated by spaces, tabs or newlines; # starts
// a comment. "-" is stdin.
func readTargetFile(name string) ([]string, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		line, _, _ = strings.Cut(line, "#")
		out = append(out, strings.Fields(line)...)
	}
	return out, nil
}
