//go:build !linux

package bpf

func effectiveCaps() (uint64, bool) { return 0, false }

func missingToLoad(uint64) string { return "" }
