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
	libbpf-dev=/usr/include/bpf/bpf_helpers.h libxml2-utils=xmllint nats-server=nats-server chromium=chromium
BENCH_N ?= 2000000
BENCH_MIXES := default short syn v6vlan
BENCH_FILES := $(foreach m,$(BENCH_MIXES),testdata/bench/$(m)-$(BENCH_N).pcap testdata/bench/$(m)-$(BENCH_N).pcapng) \
	testdata/bench/spoof-1000000.pcap

.PHONY: all build run demo test deps run-deps toolchain vet bench fuzz generate check-generated \
	captures clean package package-test unit-check

all: build

# toolchain: the go command the build uses, fetched when missing or too old.
toolchain:
	@$(GO) version

# build: without cgo, so that `scanwatch live` can drop the privileges of
# every thread once it captures (package sandbox).
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/scanwatch

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

test: deps vet check-generated unit-check
	$(GO) test -count=1 -timeout 12m ./...

# generate rebuilds the eBPF object and its Go bindings from bpf/filter.c.
generate:
	$(GO) generate ./bpf

# check-generated fails when the committed eBPF output is stale.
check-generated: generate
	@git diff --exit-code --stat -- bpf/ || { echo "bpf/: generated files are stale: run 'make generate' and commit"; exit 1; }

# bench: the package benchmarks, then the ratio table of issue 13: replay
# of four 2M-packet mixes as pcap and pcapng next to tcpdump's filter-only
# read of the same files, the spoofed-source flood and the kernel filter,
# each with its goal. It fails when a ratio is over its goal.
bench: deps build $(BENCH_FILES)
	$(GO) test -run '^$$' -bench . -benchmem ./decode ./capture ./detector ./bpf ./scanner ./sensor ./fleet ./internal/flood
	SCANWATCH_FLEET_OVERHEAD=1 $(GO) test -count=1 -run TestFleetSensorOverhead -v ./e2e
	@echo "== replay of $(BENCH_N)-packet mixes next to tcpdump -r FILE -w /dev/null 'tcp[13] & 7 != 0' (medians of interleaved runs)"
	@GO=$(GO) bash testdata/bench.sh $(BIN) testdata/bench $(BENCH_N)

testdata/bench/%-$(BENCH_N).pcap:
	@mkdir -p testdata/bench
	$(GO) run ./internal/cmd/mixgen -n $(BENCH_N) -mix $* -o $@

testdata/bench/%-$(BENCH_N).pcapng:
	@mkdir -p testdata/bench
	$(GO) run ./internal/cmd/mixgen -n $(BENCH_N) -mix $* -format pcapng -o $@

testdata/bench/spoof-1000000.pcap:
	@mkdir -p testdata/bench
	$(GO) run ./internal/cmd/mixgen -n 1000000 -mix spoof -o $@

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s -fuzzminimizetime 3s ./decode
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s -fuzzminimizetime 3s ./rules
	$(GO) test -run '^$$' -fuzz FuzzOpenFiles -fuzztime 60s -fuzzminimizetime 3s ./capture
	$(GO) test -run '^$$' -fuzz FuzzPipeline -fuzztime 60s -fuzzminimizetime 3s ./sensor
	$(GO) test -run '^$$' -fuzz FuzzDecodeBatch -fuzztime 60s -fuzzminimizetime 3s ./fleet
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime 60s -fuzzminimizetime 3s ./report

# package: a static binary (no cgo) and a .deb with nfpm: the binary, the
# systemd unit, the default rules as /etc/scanwatch/rules.yaml, the
# logrotate file and the man page (dist/). Output in bin/package/.
NFPM        := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
PKG_DIR     := bin/package
PKG_VERSION ?= 0.0~git$(shell git log -1 --format=%cd.%h --date=format:%Y%m%d 2>/dev/null || echo 0)

package:
	rm -rf $(PKG_DIR) && mkdir -p $(PKG_DIR)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(PKG_DIR)/scanwatch ./cmd/scanwatch
	@$(GO) version -m $(PKG_DIR)/scanwatch | grep -q 'CGO_ENABLED=0' || { echo "$(PKG_DIR)/scanwatch: not a static build"; exit 1; }
	$(PKG_DIR)/scanwatch rules default > $(PKG_DIR)/rules.yaml
	$(PKG_DIR)/scanwatch rules check $(PKG_DIR)/rules.yaml
	gzip -9n < dist/scanwatch.1 > $(PKG_DIR)/scanwatch.1.gz
	SCANWATCH_VERSION='$(PKG_VERSION)' GOARCH=$$($(GO) env GOARCH) \
		$(GO) run $(NFPM) package --config dist/nfpm.yaml --packager deb --target $(PKG_DIR)/
	@ls -l $(PKG_DIR)/*.deb

# unit-check: systemd-analyze verify (which must say nothing: it exits 0 on
# unknown keys and bad values) and security on the shipped unit, with
# ExecStart pointed at the built binary (verify wants it to exist) and the
# man page left out (it is checked where the .deb installs it). The
# exposure score must stay at or under 2.5 (systemd-analyze counts tenths).
UNIT_EXPOSURE_MAX := 25
unit-check: build
	@$(APT) "to check the systemd unit" systemd=systemd-analyze
	@d=$$(mktemp -d) && trap 'rm -rf $$d' EXIT && \
	sed 's#^ExecStart=/usr/bin/scanwatch#ExecStart=$(CURDIR)/$(BIN)#' dist/scanwatch.service > $$d/scanwatch.service && \
	{ warn=$$(systemd-analyze verify --man=no $$d/scanwatch.service 2>&1) && [ -z "$$warn" ] || \
	  { echo "dist/scanwatch.service: $$warn"; exit 1; }; } && \
	{ out=$$(systemd-analyze security --offline=yes --threshold=$(UNIT_EXPOSURE_MAX) $$d/scanwatch.service); \
	  rc=$$?; echo "$$out" | tail -n 1; exit $$rc; }

# package-test: installs the .deb with dpkg -i in a fresh Debian 12 root
# (debootstrap; root) and checks the installed files there: the rules, the
# unit (systemd-analyze verify, man page included), the logrotate file.
package-test: package
	.ci/package-test.sh $(PKG_DIR)/*.deb

# captures remakes testdata/*.pcap from real scanners (root; namespaces only).
captures:
	bash testdata/capture.sh

clean:
	rm -rf bin testdata/bench
