# scanwatch: `make run` shows it at work, `make test` passes the tests.
# Both install what they need on a fresh Debian machine (as root): the
# Debian packages that are missing, and the Go toolchain go.mod asks for
# (.ci/go fetches it from the Go module proxy when this machine has none
# that new, and checks it against the SHA-256 pinned in .ci/go.sha256).

GO      ?= $(CURDIR)/.ci/go
GOFMT    = $(shell $(GO) env GOROOT)/bin/gofmt
APT     := .ci/apt-missing
BIN     := bin/scanwatch
# PACKAGE=PROBE: a package is installed when its probe (a command in PATH,
# or a file) is missing, and only then.
RUN_PKGS  := iproute2=ip git=git
TEST_PKGS := $(RUN_PKGS) nmap=nmap masscan=masscan hping3=hping3 zmap=zmap \
	arp-scan=arp-scan tcpdump=tcpdump ethtool=ethtool socat=socat ncat=ncat curl=curl \
	python3=python3 nftables=nft bc=bc time=/usr/bin/time clang=clang llvm=llvm-strip \
	libbpf-dev=/usr/include/bpf/bpf_helpers.h
BENCH_N ?= 2000000
BENCH_PCAP := testdata/bench/mixed-$(BENCH_N).pcap

.PHONY: all build run demo test deps run-deps toolchain vet bench fuzz generate check-generated \
	captures clean package package-test unit-check

all: build

# toolchain: the go command the build uses, fetched when missing or too old.
toolchain:
	@$(GO) version

build:
	$(GO) build -o $(BIN) ./cmd/scanwatch

# run-deps: what `make run` needs besides Go: ip for the namespaces, git
# for the commit go build stamps into the binary.
run-deps:
	@$(APT) "for make run: ip builds the selftest's network namespaces, go build reads the commit with git" $(RUN_PKGS)
	@$(GO) version

# deps: the real scanners and tools the tests drive, clang and libbpf for
# the eBPF object, git for the staleness checks; then the Go modules.
deps:
	@$(APT) "for make test: the scanners and tools the tests drive, clang/libbpf for the eBPF object, git" $(TEST_PKGS)
	$(GO) mod download

# run: the one-command demo. Two throwaway namespaces, the live sensor in
# one, every technique of the built-in scanner from the other (root).
run: run-deps build
	$(BIN) selftest

# demo replays committed captures of real scanners (no root needed).
demo: build
	$(BIN) replay testdata/nmap_sS.pcap testdata/nmap_sU.pcap testdata/masscan.pcap testdata/benign_http.pcap

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@test -z "$$($(GOFMT) -l $$(git ls-files '*.go'))" || { $(GOFMT) -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

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
	$(GO) test -run '^$$' -bench . -benchmem ./decode ./capture ./detector ./bpf ./scanner

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
