//go:build linux

package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLiveLinkFlap: the sensor's interface is set down and up, and later
// deleted and created again (a new interface of the same name), while
// `scanwatch live` runs. A real scan before, between and after each must be
// alerted; stderr must say each gap, and the counters at the end must count
// two gaps, their time and one re-created interface.
func TestLiveLinkFlap(t *testing.T) {
	needTools(t, "nmap")
	tb := newTestbed(t, "swlflap")
	s := startSensor(t, tb.Pair)
	before := nmapStep("-sS", srcSyn, "syn", "1-100", []uint16{22, 80})
	afterUp := nmapStep("-sS", srcFin, "syn", "1-100", []uint16{22, 80})
	afterNew := nmapStep("-sS", srcNull, "syn", "1-100", []uint16{22, 80})
	steps := []scanStep{before, afterUp, afterNew}

	waitStderr := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.Stderr(), want); {
			if time.Now().After(deadline) {
				t.Fatalf("no %q on stderr:\n%s", want, s.Stderr())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	runSteps(t, tb.Pair, steps[:1])
	if !s.waitAlerts(wantKeys(steps[:1]), 15*time.Second) {
		t.Fatalf("no alert for the scan before the flaps")
	}

	tb.SetLinkUp(tb.B.NS, false)
	waitStderr("went down (ENETDOWN")
	time.Sleep(time.Second)
	tb.SetLinkUp(tb.B.NS, true)
	waitStderr("is up again after")
	runSteps(t, tb.Pair, steps[1:2])
	if !s.waitAlerts(wantKeys(steps[:2]), 15*time.Second) {
		t.Fatalf("no alert for the scan after the link came up again")
	}

	tb.DeleteVeth()
	waitStderr("is gone: waiting for an interface of that name")
	time.Sleep(time.Second)
	tb.CreateVeth()
	waitStderr("as a new interface")
	runSteps(t, tb.Pair, steps[2:])
	s.waitAlerts(wantKeys(steps), 15*time.Second)

	rs := s.stop()
	checkAlerts(t, rs, steps)
	stderr := s.Stderr()
	m := regexp.MustCompile(`link down (\d+) times, ([0-9.]+)s in all, re-created (\d+) times`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("the counters line does not count the link flaps:\n%s", stderr)
	}
	gaps, _ := strconv.Atoi(m[1])
	secs, _ := strconv.ParseFloat(m[2], 64)
	rebinds, _ := strconv.Atoi(m[3])
	if gaps != 2 || rebinds != 1 || secs < 2 || secs > 20 {
		t.Errorf("counters: link down %d times, %.1fs, re-created %d times; want 2, 2-20 s, 1", gaps, secs, rebinds)
	}
	t.Logf("%s", m[0])
}

// TestLiveLinkGoneSignal: while the sensor waits for a deleted interface,
// SIGTERM still ends it at once, cleanly (exit 0, the summary written).
func TestLiveLinkGoneSignal(t *testing.T) {
	needTools(t)
	tb := newTestbed(t, "swlgone")
	s := startSensor(t, tb.Pair)
	tb.DeleteVeth()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.Stderr(), "is gone"); {
		if time.Now().After(deadline) {
			t.Fatalf("no \"is gone\" on stderr:\n%s", s.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("scanwatch live still running 5 s after SIGTERM:\n%s", s.Stderr())
	}
	took := time.Since(start)
	if s.err != nil {
		t.Fatalf("scanwatch live: %v\n%s", s.err, s.Stderr())
	}
	// The drain after a stop reads for up to a second.
	if took > 2*time.Second {
		t.Errorf("SIGTERM took %v to end the sensor", took)
	}
	if !strings.Contains(s.Stderr(), "link down 1 times") {
		t.Errorf("the counters line does not count the gap:\n%s", s.Stderr())
	}
	t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
}
