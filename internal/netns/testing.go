package netns

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"sync"
)

// TB is the part of testing.TB that New needs. It is an interface of its
// own so that the library does not link package testing into the binary
// (the self-test uses it); pass a *testing.T, *testing.B or testing.TB.
type TB interface {
	Helper()
	Cleanup(func())
	Failed() bool
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Skip(args ...any)
	Skipf(format string, args ...any)
}

// Require skips the test when it cannot build namespaces: not root, or no ip
// command. It never lets such a test pass silently.
func Require(t TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (creates network namespaces and veths); run the tests with sudo")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: needs iproute2's ip command (apt-get install iproute2)")
	}
}

// New builds the pair for a test and removes it at the test's Cleanup. It
// skips the test (see Require) when namespaces cannot be made, and fails it
// when a setup step fails. Every method of the pair it returns fails the
// test on error too, so test code may ignore the errors they return.
func New(t TB, cfg Config) *Pair {
	t.Helper()
	Require(t)
	p, err := Create(cfg)
	if errors.Is(err, ErrNotPermitted) {
		t.Skipf("skipped: %v", err)
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	p.t = t
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("netns: cleanup: %v", err)
		}
	})
	return p
}

// Run runs argv in ns to completion and fails the test, with the command's
// output, if it fails. It returns the combined output. Only for a pair made
// by New.
func (p *Pair) Run(ns string, argv ...string) string {
	p.mustTest().Helper()
	out, err := p.Output(ns, argv...)
	if err != nil {
		p.t.Fatalf("netns: %v\n%s", err, out)
	}
	return out
}

// Start starts argv in ns in the background and returns it. Its combined
// output is kept and logged if the test fails. Close kills it if it still
// runs. Wait for it yourself if you need its exit status. Only for a pair
// made by New.
func (p *Pair) Start(ns string, argv ...string) *exec.Cmd {
	p.mustTest().Helper()
	cmd := p.Exec(ns, argv...)
	buf := &bytes.Buffer{}
	w := &lockedWriter{w: buf}
	cmd.Stdout, cmd.Stderr = w, w
	p.fail(p.start(cmd, buf))
	return cmd
}

func (p *Pair) mustTest() TB {
	if p.t == nil {
		panic("netns: Run and Start fail a test: use them on a pair made by New")
	}
	return p.t
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
