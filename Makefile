# lvsd — make targets. Tests that need root (namespaces, the IPVS VM) run as
# part of `make test`; run it as root (sudo make test).
SHELL    := /bin/bash
GO       ?= go
BIN      := bin/lvsd
PREFIX   ?= /usr/local
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)

.PHONY: all build test unit integration bench fuzz lint install demo demo-cluster clean man deb

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lvsd

# The whole suite: unit tests with the race detector, then the integration
# tests (network namespaces, keepalived as a peer, real IPVS in a VM).
test: lint unit integration

unit:
	$(GO) test -race -count=1 ./cmd/... ./internal/... ./hcl/... ./vrrp/... ./lvs/... ./checks/... ./examples/...

# The log's outline is printed as it runs; when a test fails, its digest
# follows (integration/failures.awk): each failed test with no failed
# subtest (the VM's scenarios are subtests) and the last lines it logged,
# then, at the very end, its name and its test files' lines, so a CI log
# that keeps only its end still names what failed and why. A failure with
# no such test (a panic, a build error) gets the log's last 60 lines.
integration: build
	$(GO) test -count=1 -timeout 40m -v ./integration/... 2>&1 | tee integration.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|^ +--- FAIL' ; \
	rc=$${PIPESTATUS[0]}; \
	if [ $$rc -ne 0 ]; then \
	  grep -qE '^ *--- FAIL: ' integration.log || { echo '== the end of integration.log:'; tail -n 60 integration.log | cut -c1-400; }; \
	  awk -f integration/failures.awk integration.log integration.log; \
	fi; \
	exit $$rc

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./hcl/... ./vrrp/... ./lvs/... ./checks/...
	LVSD_BENCH=1 $(GO) test -count=1 -timeout 30m -v -run 'Bench' ./integration/...
	LVSD_BENCH=1 LVSD_VM_RUN='^TestLvsdTakesOverDuringARepairPassAndScrapes$$' $(GO) test -count=1 -timeout 30m -v -run '^TestIPVSInVM$$' ./integration/

# Every native fuzz target, FUZZTIME each (seed corpora live in testdata/fuzz).
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.6.1
	$$( $(GO) env GOPATH )/bin/staticcheck ./...

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/lvsd
	install -D -m 0644 examples/lvsd.service $(DESTDIR)/etc/systemd/system/lvsd.service
	test -e $(DESTDIR)/etc/lvsd/lvsd.hcl || install -D -m 0644 examples/dr-pair.hcl $(DESTDIR)/etc/lvsd/lvsd.hcl

# The manual pages lvsd(8) and lvsd.hcl(5), rendered from docs/lvsd.md and
# docs/configuration.md (a test fails when docs/man/ is stale).
man:
	$(GO) run ./internal/manpage/genman -docs docs -out docs/man

# lvsd_VERSION_amd64.deb with dpkg-deb: /usr/sbin/lvsd, the unit, conffiles
# /etc/lvsd/lvsd.hcl and /etc/default/lvsd, man pages, bash completion and
# the dependencies' licences; installed disabled (packaging/deb/build.sh).
deb:
	GO=$(GO) packaging/deb/build.sh .

# A two-director DR pair, two real servers and a client in a VM (installs
# what it needs with apt-get); kills the master and shows the gap.
demo:
	sh scripts/demo.sh

# Three lvsd directors behind a BIRD 2 router's ECMP, each with its own IPVS
# table, in the VM (installs what it needs with apt-get): next hops, flows,
# kill -9, lvsd drain, SIGTERM, failing real servers (docs/cluster.md).
demo-cluster:
	sh scripts/demo-cluster.sh

clean:
	rm -rf bin integration.log
