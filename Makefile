# docker live — build, test, bench, lint, install.
SHELL := /bin/bash
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN       := bin/docker-live
# The streamer binary: the long-lived process, without docker/cli. The
# plugin finds it beside itself in bin/ (see README "Install").
STREAMER  := bin/docker-live-streamer
# E2E tests share one Engine; run packages one at a time.
TESTFLAGS ?= -race -count=1 -p 1 -timeout 40m

# The platforms a release is built for. Only Linux is tested end to end
# (the e2e suite needs a local Engine); the others build, vet and pass the
# unit tests that can run on Linux.
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
DIST      := dist

.PHONY: build test unit e2e fuzz bench lint cross vet-cross release install uninstall clean stress

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/docker-live
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(STREAMER) ./cmd/docker-live-streamer

# Unit tests, short fuzz runs of the protocol decoder and the history
# encoder, then e2e tests
# against the real Engine through the real docker CLI.
test: lint cross unit fuzz e2e

unit:
	$(GO) test $(TESTFLAGS) $$($(GO) list ./... | grep -v /e2e)

# Execution counts, not durations: with a duration, Go 1.26's fuzz
# coordinator can report its own deadline as a failure on a busy host
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
fuzz:
	@if grep -qs '^func FuzzDecodeRequest' stream/server/*_test.go; then \
		$(GO) test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime 100000x ./stream/server; \
	fi
	$(GO) test -run '^$$' -fuzz '^FuzzHistoryEncoder$$' -fuzztime 100000x ./stream/hub

e2e:
	$(GO) test $(TESTFLAGS) -v ./e2e/... 2>&1 | tee e2e.out | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|\s+\S+_test.go)' ; test $${PIPESTATUS[0]} -eq 0
	cd e2e/browser && $(GO) test $(TESTFLAGS) -v ./... 2>&1 | tee ../../e2e-browser.out | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|browser e2e|\s+\S+_test.go)' ; test $${PIPESTATUS[0]} -eq 0

# The unit suite (-race -count=10), then the e2e foundation, fault and
# security tests three times, all on a host kept busy by CPU burner
# containers and docker stats streams (scripts/stress.sh; knobs there).
stress:
	GO=$(GO) ./scripts/stress.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./stream/... ./output/... ./tui/...
	DOCKER_LIVE_BENCH=1 $(GO) test -count=1 -p 1 -timeout 30m -run '^TestBench' -v ./e2e/...
	cd e2e/browser && DOCKER_LIVE_BENCH=1 $(GO) test -count=1 -timeout 30m -run '^TestBenchPage' -v ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd e2e/browser && $(GO) vet ./...

# cross builds every platform into a temporary folder (and vets each GOOS,
# tests included, except the Linux-only e2e package); release keeps them.
cross: vet-cross
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory DIST="$$tmp" dist-binaries

vet-cross:
	@for os in $$(printf '%s\n' $(PLATFORMS) | cut -d/ -f1 | sort -u); do \
		echo "go vet GOOS=$$os"; \
		GOOS=$$os CGO_ENABLED=0 $(GO) vet $$(GOOS=$$os $(GO) list ./... | grep -v /e2e) || exit 1; \
	done

# release writes dist/docker-live-VERSION-OS-ARCH[.exe], the streamer
# binaries dist/docker-live-streamer-VERSION-OS-ARCH[.exe] (install each
# pair as README "Install" says), and SHA256SUMS.
release:
	rm -rf $(DIST)
	$(MAKE) --no-print-directory dist-binaries
	cd $(DIST) && sha256sum docker-live-* > SHA256SUMS && cat SHA256SUMS

dist-binaries:
	@mkdir -p $(DIST)
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		out=$(DIST)/docker-live-$(VERSION)-$$os-$$arch$$ext; \
		echo "build $$out"; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/docker-live || exit 1; \
		out=$(DIST)/docker-live-streamer-$(VERSION)-$$os-$$arch$$ext; \
		echo "build $$out"; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/docker-live-streamer || exit 1; \
	done

install:
	./install.sh

uninstall:
	./install.sh --uninstall

clean:
	rm -rf bin dist e2e/.build e2e.out e2e-browser.out e2e/browser/artifacts stress.out
