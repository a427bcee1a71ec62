package bpf

// filter.c is compiled for little-endian targets (amd64, arm64, ...) only; the
// output (filter_bpfel.go, filter_bpfel.o) is committed so that building needs
// no clang. Rebuild with `go generate ./bpf` (needs clang, llvm-strip and the
// libbpf headers: apt-get install clang llvm libbpf-dev).
//
//go:generate go tool bpf2go -target bpfel -type counters -type flag_table -type flow_key -type flow4_key filter filter.c -- -O2 -g -Wall -Werror
