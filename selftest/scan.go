package selftest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// scanRun is one scan as it ran.
type scanRun struct {
	tech       technique
	src        netip.Addr
	start, end time.Time // wall clock, around the scan process
	ports      int       // ports scanned
	open       []uint16  // ports the scanner found open
	err        error
}

// runScan scans the target from the attacker with technique i.
func (st *session) runScan(ctx context.Context, i int, tc technique) scanRun {
	r := scanRun{tech: tc, src: sourceAddr(i)}
	r.start = time.Now()
	defer func() {
		if r.end.IsZero() {
			r.end = time.Now()
		}
	}()
	// A host route to the target whose preferred source is this
	// technique's own address: raw and connect scans both take their
	// source from the routing table.
	att := st.pair.A
	if err := ipCmd(ctx, "-n", att.NS, "route", "replace", targetAddr+"/32", "dev", att.Veth, "src", r.src.String()); err != nil {
		r.err = err
		return r
	}
	args := append([]string{st.exe, "scan"}, tc.args...)
	args = append(args, "--json", "--host-timeout", (scanTimeout - 5*time.Second).String(), targetAddr)
	cmd := st.pair.Exec(att.NS, args...)
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	r.start = time.Now()
	p, err := st.start(cmd)
	if err != nil {
		r.err = err
		return r
	}
	select {
	case <-p.done:
		err = p.err
	case <-time.After(scanTimeout):
		p.kill()
		<-p.done
		err = fmt.Errorf("no result after %v", scanTimeout)
	case <-ctx.Done():
		p.kill()
		<-p.done
		err = ctx.Err()
	}
	r.end = time.Now()
	if st.verbose {
		fmt.Fprintf(st.stderr, "--- scan %s\n%s%s---\n", tc.label, errOut.String(), out.String())
	}
	if err != nil {
		r.err = fmt.Errorf("scanwatch %s: %w: %s", strings.Join(cmd.Args[5:], " "), err, strings.TrimSpace(errOut.String()))
		return r
	}
	var res struct {
		Source string `json:"source"`
		Hosts  []struct {
			Addr  string `json:"addr"`
			Ports []struct {
				Port  uint16 `json:"port"`
				State string `json:"state"`
			} `json:"ports"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		r.err = fmt.Errorf("scan result: %w", err)
		return r
	}
	if res.Source != "" && res.Source != r.src.String() {
		r.err = fmt.Errorf("scanned from %s, not %s", res.Source, r.src)
		return r
	}
	for _, h := range res.Hosts {
		for _, p := range h.Ports {
			r.ports++
			if p.State == "open" {
				r.open = append(r.open, p.Port)
			}
		}
	}
	slices.Sort(r.open)
	return r
}
