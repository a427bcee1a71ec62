package bpf

import (
	"os"
	"strings"
	"testing"

	"github.com/scanwatch/scanwatch/internal/kernelver"
)

// TestMinKernelDocumented keeps MinKernel, which the tests skip by, and the
// loader's documentation (and its error for a rejected program) in step.
func TestMinKernelDocumented(t *testing.T) {
	if _, err := kernelver.Parse(MinKernel); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("filter.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Kernel needed: Linux " + MinKernel + " or later", "older than " + MinKernel + "?"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("filter.go does not say %q", want)
		}
	}
}
