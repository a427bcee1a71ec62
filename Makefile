# scanwatch: `make run` shows it at work, `make test` passes the tests.
# Both install what they need on a fresh Debian machine (as root).

GO      ?= go
BIN     := bin/scanwatch
PKGS    := nmap masscan hping3 zmap arp-scan tcpdump iproute2 ethtool socat ncat curl python3 nftables bc time clang llvm libbpf-dev
# The tools each package provides, checked before calling apt-get.
TOOLS   := nmap masscan hping3 zmap arp-scan tcpdump ip ethtool socat ncat curl python3 nft bc clang llvm-strip
BPF_HDR := /usr/include/bpf/bpf_helpers.h
BENCH_N ?= 2000000
BENCH_PCAP := testdata/bench/mixed-$(BENCH_N).pcap

.PHONY: all build run demo test deps vet bench fuzz generate check-generated captures clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/scanwatch

# deps installs the real scanners and tools the tests drive, when missing.
deps:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	test -f $(BPF_HDR) || missing="$$missing libbpf-dev"; \
	test -x /usr/bin/time || missing="$$missing time"; \
	if [ -n "$$missing" ]; then \
		echo "installing (missing:$$missing): $(PKGS)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PKGS) >/dev/null; \
	fi
	$(GO) mod download

# run: the one-command demo. Two throwaway namespaces, the live sensor in
# one, every technique of the built-in scanner from the other (root).
run: deps build
	$(BIN) selftest

# demo replays committed captures of real scanners (no root needed).
demo: build
	$(BIN) replay testdata/nmap_sS.pcap testdata/nmap_sU.pcap testdata/masscan.pcap testdata/benign_http.pcap

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

test: deps vet check-generated
	$(GO) test -count=1 -timeout 12m ./...

# generate rebuilds the eBPF object and its Go bindings from bpf/filter.c.
generate:
	$(GO) generate ./bpf

# check-generated fails when the committed eBPF output is stale.
check-generated: generate
	@git diff --exit-code --stat -- bpf/ || { echo "bpf/: generated files are stale: run 'make generate' and commit"; exit 1; }

# bench: replay throughput on a generated 2M-packet capture, side by side
# with tcpdump reading the same file with the classic scan filter.
bench: deps build $(BENCH_PCAP)
	@echo "== replay of $(BENCH_PCAP) ($(BENCH_N) packets)"
	@sh testdata/bench.sh $(BIN) $(BENCH_PCAP)
	$(GO) test -run '^$$' -bench . -benchmem ./decode ./capture ./detector ./bpf ./scanner ./internal/flood

$(BENCH_PCAP):
	@mkdir -p testdata/bench
	$(GO) run ./testdata/gen -n $(BENCH_N) -o $@

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s -fuzzminimizetime 3s ./decode
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s -fuzzminimizetime 3s ./rules
	$(GO) test -run '^$$' -fuzz FuzzOpenFiles -fuzztime 60s -fuzzminimizetime 3s ./capture
	$(GO) test -run '^$$' -fuzz FuzzPipeline -fuzztime 60s -fuzzminimizetime 3s ./detector

# captures remakes testdata/*.pcap from real scanners (root; namespaces only).
captures:
	bash testdata/capture.sh

clean:
	rm -rf bin testdata/bench
