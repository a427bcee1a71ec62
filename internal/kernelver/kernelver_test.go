package kernelver

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		err  bool
	}{
		{"5.2", Version{5, 2, 0}, false},
		{"6.18.44-fc-v669", Version{6, 18, 44}, false},
		{"5.15.0-91-generic", Version{5, 15, 0}, false},
		{"4.19.0-0.bpo.6-amd64", Version{4, 19, 0}, false},
		{"6.1\n", Version{6, 1, 0}, false},
		{"6", Version{}, true},
		{"6.", Version{}, true},
		{"", Version{}, true},
		{"linux-5.2", Version{}, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestLess(t *testing.T) {
	for _, tc := range []struct {
		v, w string
		less bool
	}{
		{"4.19", "5.2", true},
		{"5.1.99", "5.2", true},
		{"5.2", "5.2", false},
		{"5.2.1", "5.2", false},
		{"5.10", "5.2", false}, // numbers, not strings
		{"6.0", "5.19", false},
	} {
		v, _ := Parse(tc.v)
		w, _ := Parse(tc.w)
		if got := v.Less(w); got != tc.less {
			t.Errorf("%s < %s = %v, want %v", tc.v, tc.w, got, tc.less)
		}
	}
}

// TestSkipOnOldKernel checks both ways on this machine's kernel: a feature
// from a kernel not yet released skips, one from the first Linux does not.
func TestSkipOnOldKernel(t *testing.T) {
	if _, _, err := Running(); err != nil {
		t.Skipf("skipped: not Linux: %v", err)
	}
	for _, tc := range []struct {
		min  string
		skip bool
	}{
		{"999.0", true},
		{"1.0", false},
	} {
		var skipped bool
		t.Run(tc.min, func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			SkipOnOldKernel(t, tc.min, "a feature")
		})
		if skipped != tc.skip {
			t.Errorf("minimum %s: skipped = %v, want %v", tc.min, skipped, tc.skip)
		}
	}
}
