module github.com/scanwatch/scanwatch

go 1.26.8

require github.com/gopacket/gopacket v1.7.7

require (
	github.com/cilium/ebpf v0.22.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/rs/zerolog v1.35.1 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
)

tool github.com/cilium/ebpf/cmd/bpf2go
