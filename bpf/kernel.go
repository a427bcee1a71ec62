package bpf

// MinKernel is the oldest Linux release that runs the eBPF filter. The
// newest kernel feature the program needs is read-only global variables
// (cfg_snaplen, cfg_cooked: a .rodata map created with BPF_F_RDONLY_PROG and
// frozen), which arrived in 5.2; cilium/ebpf refuses them before ("requires
// >= v5.2"). The rest came earlier: socket filters (3.19), bpf_skb_load_bytes
// (4.5), per-CPU arrays (4.6), LRU hash maps (4.10), and BPF_PROG_TEST_RUN
// for the tests (4.12). Loops are unrolled, so bounded loops (5.3) are not
// needed.
//
// The eBPF tests skip on older kernels and fail on this one or newer: there,
// a verifier rejection is a bug in filter.c, not an old kernel.
const MinKernel = "5.2"
