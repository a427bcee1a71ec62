package selftest

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runCheck runs a check's scans (a distributed check's three at once) from
// the attacker and records what each found.
func (st *session) runCheck(ctx context.Context, cr *checkRun) {
	c, p := cr.check, &cr.plan
	before := int64(-1)
	if c.verify != nil && slices.Contains(c.args, "-f") {
		before = st.reassembled()
	}
	cr.scans = make([]scanRun, len(p.sources))
	var wg sync.WaitGroup
	for k, src := range p.sources {
		args := slices.Clone(c.args)
		if len(c.split) > 0 {
			args = append(args, "-p", c.split[k], "-S", src.String(), "-e", st.pair.A.Veth)
		}
		if len(p.decoys) > 0 {
			args = append(args, "-D", joinAddrs(p.decoys, ","))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cr.scans[k] = st.runScan(ctx, c, src, args, p.spec)
		}()
	}
	wg.Wait()
	if before >= 0 {
		if after := st.reassembled(); after >= 0 {
			cr.reassembled = after - before
		}
	}
}

// runScan runs one scan, `scanwatch scan` (or nmap) in the attacker's
// namespace, and reads its result.
func (st *session) runScan(ctx context.Context, c *check, src netip.Addr, args []string, spec string) scanRun {
	r := scanRun{src: src, start: time.Now()}
	var argv []string
	if c.nmap {
		argv = append(append([]string{"nmap"}, args...), "-n", "-oX", "-", "--host-timeout", hostTimeout(), spec)
	} else {
		argv = append(append([]string{st.exe, "scan"}, args...), "--json", "--host-timeout", hostTimeout(), spec)
	}
	cmd := st.pair.Exec(st.pair.A.NS, argv...)
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	p, err := st.start(cmd)
	if err != nil {
		r.err, r.end = err, time.Now()
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
		fmt.Fprintf(st.stderr, "--- %s from %s: %s\n%s%s---\n", c.label, src, strings.Join(argv, " "), errOut.String(), out.String())
	}
	if err != nil {
		r.err = fmt.Errorf("%s: %w: %s", strings.Join(argv[1:], " "), err, strings.TrimSpace(errOut.String()))
		return r
	}
	if c.nmap {
		r.err = parseNmapXML(out.Bytes(), &r)
	} else {
		r.err = parseScanJSON(out.Bytes(), &r)
	}
	return r
}

func hostTimeout() string { return (scanTimeout - 5*time.Second).String() }

// parseScanJSON reads `scanwatch scan --json`.
func parseScanJSON(b []byte, r *scanRun) error {
	var res struct {
		Source     string `json:"source"`
		ProbesSent int    `json:"probes_sent"`
		Hosts      []struct {
			Addr  netip.Addr `json:"addr"`
			Up    bool       `json:"up"`
			Error string     `json:"error"`
			Ports []struct {
				Port  uint16 `json:"port"`
				State string `json:"state"`
			} `json:"ports"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("scan result: %w", err)
	}
	if res.Source != "" && res.Source != r.src.String() {
		return fmt.Errorf("scanned from %s, not %s", res.Source, r.src)
	}
	r.probes = res.ProbesSent
	for _, h := range res.Hosts {
		if h.Error != "" {
			return fmt.Errorf("%s: %s", h.Addr, h.Error)
		}
		hr := hostResult{addr: h.Addr, up: h.Up}
		for _, p := range h.Ports {
			if p.State == "open" {
				hr.open = append(hr.open, p.Port)
			}
		}
		slices.Sort(hr.open)
		r.hosts = append(r.hosts, hr)
	}
	return nil
}

// parseNmapXML reads nmap's -oX output: hosts, whether up, open ports.
func parseNmapXML(b []byte, r *scanRun) error {
	var run struct {
		Hosts []struct {
			Status struct {
				State string `xml:"state,attr"`
			} `xml:"status"`
			Address []struct {
				Addr string `xml:"addr,attr"`
				Type string `xml:"addrtype,attr"`
			} `xml:"address"`
			Ports []struct {
				Port  string `xml:"portid,attr"`
				State struct {
					State string `xml:"state,attr"`
				} `xml:"state"`
				Service struct {
					Name    string `xml:"name,attr"`
					Product string `xml:"product,attr"`
				} `xml:"service"`
			} `xml:"ports>port"`
		} `xml:"host"`
	}
	if err := xml.Unmarshal(b, &run); err != nil {
		return fmt.Errorf("nmap XML: %w", err)
	}
	for _, h := range run.Hosts {
		var hr hostResult
		for _, a := range h.Address {
			if a.Type == "ipv4" || a.Type == "ipv6" {
				hr.addr, _ = netip.ParseAddr(a.Addr)
			}
		}
		hr.up = h.Status.State == "up"
		for _, p := range h.Ports {
			n, err := strconv.ParseUint(p.Port, 10, 16)
			if err == nil && p.State.State == "open" {
				hr.open = append(hr.open, uint16(n))
				if p.Service.Name != "" {
					hr.services = append(hr.services, strings.TrimSpace(p.Service.Name+" "+p.Service.Product))
				}
			}
		}
		slices.Sort(hr.open)
		r.hosts = append(r.hosts, hr)
	}
	return nil
}

// reassembled reads how many IPv4 datagrams the target has reassembled
// from fragments (Ip: ReasmOKs in its /proc/net/snmp), or -1.
func (st *session) reassembled() int64 {
	out, err := st.pair.Output(st.pair.B.NS, "cat", "/proc/net/snmp")
	if err != nil {
		return -1
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Ip:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "ReasmOKs" && i < len(f) {
				v, err := strconv.ParseInt(f[i], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

func joinAddrs(addrs []netip.Addr, sep string) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, sep)
}
