package bpf

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// tcpdumpFlagsFilter is tcpdump's classic program for 'tcp[13] & 7 != 0'
// on Ethernet (tcpdump -d), written the way the kernel runs a classic socket
// filter: bpf_convert_filter turns it into eBPF with A in R0, X in R7, the
// skb in R6 and the packet loads as LD_ABS/LD_IND. So BPF_PROG_TEST_RUN on
// it measures what a classic filter doing only the flags test costs.
//
//	(000) ldh      [12]
//	(001) jeq      #0x800           jt 2	jf 10
//	(002) ldb      [23]
//	(003) jeq      #0x6             jt 4	jf 10
//	(004) ldh      [20]
//	(005) jset     #0x1fff          jt 10	jf 6
//	(006) ldxb     4*([14]&0xf)
//	(007) ldb      [x + 27]
//	(008) jset     #0x7             jt 9	jf 10
//	(009) ret      #262144
//	(010) ret      #0
var tcpdumpFlagsFilter = asm.Instructions{
	asm.Mov.Reg(asm.R6, asm.R1),
	asm.Mov.Imm(asm.R0, 0),
	asm.Mov.Imm(asm.R7, 0),
	asm.LoadAbs(12, asm.Half),
	asm.JNE.Imm(asm.R0, 0x800, "drop"),
	asm.LoadAbs(23, asm.Byte),
	asm.JNE.Imm(asm.R0, 6, "drop"),
	asm.LoadAbs(20, asm.Half),
	asm.JSet.Imm(asm.R0, 0x1fff, "drop"),
	asm.Mov.Reg(asm.R8, asm.R0), // ldxb 4*([14]&0xf), as the kernel converts it
	asm.LoadAbs(14, asm.Byte),
	asm.And.Imm(asm.R0, 0xf),
	asm.LSh.Imm(asm.R0, 2),
	asm.Mov.Reg(asm.R7, asm.R0),
	asm.Mov.Reg(asm.R0, asm.R8),
	asm.LoadInd(asm.R0, asm.R7, 27, asm.Byte),
	asm.JSet.Imm(asm.R0, 7, "pass"),
	asm.Ja.Label("drop"),
	asm.Mov.Imm(asm.R0, 262144).WithSymbol("pass"),
	asm.Return(),
	asm.Mov.Imm(asm.R0, 0).WithSymbol("drop"),
	asm.Return(),
}

// BenchmarkFilterVsClassic is the kernel-filter figure of make bench: the
// eBPF filter's cost per dropped bulk segment (a known flow's full data
// segment, as BenchmarkFilter's bulk-data-ipv4) next to the classic
// 'tcp[13] & 7 != 0' filter's on the same frame, and their ratio (goal:
// at most 1.5).
func BenchmarkFilterVsClassic(b *testing.B) {
	f := loadTest(b, Options{Patterns: testPatterns})
	frame := tcpFrame(b, seg{sport: 40000, dport: 443, flags: fACK | fPSH, payload: 1448, options: true})
	data := append(make([]byte, 14), frame...)
	run(b, f, false, frame) // the flow is now known
	if run(b, f, false, frame) != 0 {
		b.Fatal("the eBPF filter passes a bulk segment of a flow it has seen")
	}
	classic, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SocketFilter, Instructions: tcpdumpFlagsFilter, License: "GPL"})
	if err != nil {
		b.Fatalf("load the classic filter's equivalent: %v", err)
	}
	defer classic.Close()
	if ret, err := classic.Run(&ebpf.RunOptions{Data: data}); err != nil || ret != 0 {
		b.Fatalf("classic filter on a bulk segment: %d, %v (want a drop)", ret, err)
	}
	syn := append(make([]byte, 14), tcpFrame(b, seg{sport: 40001, dport: 22, flags: fSYN})...)
	if ret, err := classic.Run(&ebpf.RunOptions{Data: syn}); err != nil || ret == 0 {
		b.Fatalf("classic filter on a SYN: %d, %v (want a pass)", ret, err)
	}
	// Interleaved rounds, medians: the two are measured side by side.
	const rounds, perRound = 7, 200000
	var e, c []float64
	for range rounds {
		_, pe, err := f.objs.ScanwatchFilter.Benchmark(data, perRound, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, pc, err := classic.Benchmark(data, perRound, nil)
		if err != nil {
			b.Fatal(err)
		}
		e, c = append(e, float64(pe.Nanoseconds())), append(c, float64(pc.Nanoseconds()))
	}
	for b.Loop() {
	}
	me, mc := median(e), median(c)
	b.ReportMetric(me, "ebpf-ns/pkt")
	b.ReportMetric(mc, "classic-ns/pkt")
	b.ReportMetric(me/mc, "ratio")
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
