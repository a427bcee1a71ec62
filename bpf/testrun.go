package bpf

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// Verdict runs the loaded program on one Ethernet frame as the filter of a
// SOCK_RAW packet socket would run on it (BPF_PROG_TEST_RUN) and returns
// how many bytes of the frame it keeps, 0 for a drop. The flow map
// remembers the frame as it would live, so feeding a capture's frames in
// order shows offline what live capture passes of them: the tests compare
// replay of the filtered frames with replay of the whole capture. Only for
// a filter loaded for Ethernet (not Options.Cooked).
func (f *Filter) Verdict(frame []byte) (uint32, error) {
	// The kernel's test run pulls the first 14 bytes as a link header
	// (eth_type_trans) before the program runs, while a SOCK_RAW socket
	// shows the program the frame from its link header: a dummy header
	// makes the two agree.
	data := make([]byte, 14+len(frame))
	copy(data[14:], frame)
	ret, err := f.objs.ScanwatchFilter.Run(&ebpf.RunOptions{Data: data})
	if err != nil {
		return 0, fmt.Errorf("bpf: test run: %w", err)
	}
	return ret, nil
}
