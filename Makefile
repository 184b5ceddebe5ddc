# docker live — build, test, bench, lint, install.
SHELL := /bin/bash
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN       := bin/docker-live
# E2E tests share one Engine; run packages one at a time.
TESTFLAGS ?= -race -count=1 -p 1 -timeout 40m

.PHONY: build test unit e2e fuzz bench lint install uninstall clean stress

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/docker-live

# Unit tests, a short fuzz run of the protocol decoder, then e2e tests
# against the real Engine through the real docker CLI.
test: lint unit fuzz e2e

unit:
	$(GO) test $(TESTFLAGS) $$($(GO) list ./... | grep -v /e2e)

fuzz:
	@if grep -qs '^func FuzzDecodeRequest' stream/server/*_test.go; then \
		$(GO) test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime 10s ./stream/server; \
	fi

e2e:
	$(GO) test $(TESTFLAGS) -v ./e2e/... 2>&1 | tee e2e.out | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|\s+\S+_test.go)' ; test $${PIPESTATUS[0]} -eq 0

# The unit suite (-race -count=10), then the e2e foundation, fault and
# security tests three times, all on a host kept busy by CPU burner
# containers and docker stats streams (scripts/stress.sh; knobs there).
stress:
	GO=$(GO) ./scripts/stress.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./stream/... ./output/...
	DOCKER_LIVE_BENCH=1 $(GO) test -count=1 -p 1 -timeout 30m -run '^TestBench' -v ./e2e/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

install:
	./install.sh

uninstall:
	./install.sh --uninstall

clean:
	rm -rf bin e2e/.build e2e.out stress.out
