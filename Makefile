# onair — see README.md. `make run` and `make test` are the front door.
SHELL := /bin/bash
GO ?= go
BIN := bin/onair
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
LIBRARY ?= testmedia/library
DATA ?= data
FUZZTIME ?= 15s
GOLANGCI := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.6.2
GOFUMPT := mvdan.cc/gofumpt@v0.12.0
PREFIX ?= /usr/local

.PHONY: all run build test test-full lint fmt bench fuzz testmedia clean install install-service load-1000 tools browser-deps web

all: build

build: web
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/onair

## run: build, generate and scan the sample library when missing, start the server
run: build
	@if [ ! -f $(LIBRARY)/.complete ]; then ./$(BIN) testmedia --out $(LIBRARY) && touch $(LIBRARY)/.complete; fi
	./$(BIN) library scan --data $(DATA) --library $(LIBRARY)
	./$(BIN) serve --data $(DATA) --library $(LIBRARY)

testmedia: build
	./$(BIN) testmedia --out $(LIBRARY) && touch $(LIBRARY)/.complete

## test: every test, with the race detector; tests needing ffmpeg or Chromium skip when those are missing
test:
	$(GO) test -race -count=1 ./...

## test-full: install the test tools when missing, then run everything with no skip allowed
test-full: tools
	$(MAKE) browser-deps
	ONAIR_REQUIRE_TOOLS=1 $(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) lint

tools:
	./scripts/install-test-tools.sh

## browser-deps: the pinned npm packages of the browser tests (hls.js, playwright-core) into
## tests/browser/node_modules, from package-lock.json; never downloads a browser
browser-deps:
	@if [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then \
	  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund; \
	else echo "browser-deps: tests/browser/node_modules is up to date"; fi

## web: the web app's player libraries (hls.js, dash.js; pinned in api/web/package-lock.json) from npm
## into api/web/static/vendor, which go:embed puts in the binary. The copies are committed, so a build
## without npm uses them.
WEB_VENDOR := api/web/static/vendor
web:
	@if ! command -v npm >/dev/null 2>&1; then echo "web: npm not found; using the committed $(WEB_VENDOR)"; exit 0; fi; \
	if [ api/web/package-lock.json -nt api/web/node_modules/.package-lock.json ]; then \
	  npm ci --prefix api/web --no-audit --no-fund --ignore-scripts || { echo "web: npm ci failed; using the committed $(WEB_VENDOR)"; exit 0; }; \
	fi; \
	for f in hls.js/dist/hls.min.js:hls.min.js hls.js/LICENSE:hls.js.LICENSE dashjs/dist/modern/umd/dash.all.min.js:dash.all.min.js dashjs/LICENSE.md:dashjs.LICENSE.md; do \
	  src=api/web/node_modules/$${f%%:*}; dst=$(WEB_VENDOR)/$${f##*:}; \
	  cmp -s $$src $$dst || cp $$src $$dst; \
	done

lint:
	$(GO) mod tidy -diff
	$(GO) run $(GOLANGCI) run ./...
	$(GO) run ./cmd/onair channels check channels.d

fmt:
	$(GO) run $(GOFUMPT) -w .

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

## fuzz: run each fuzz target for FUZZTIME
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run="^$$" -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s $$pkg; \
	  done; \
	done

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/onair
	install -D -m 0644 docs/OPERATIONS.md $(DESTDIR)$(PREFIX)/share/doc/onair/OPERATIONS.md

## install-service: install, plus the systemd unit, /etc/onair (kept when present) and the onair user
install-service: install
	install -D -m 0644 packaging/onair.service $(DESTDIR)/etc/systemd/system/onair.service
	@if [ ! -f $(DESTDIR)/etc/onair/onair.yaml ]; then install -D -m 0644 packaging/onair.yaml $(DESTDIR)/etc/onair/onair.yaml; fi
	@if [ ! -d $(DESTDIR)/etc/onair/channels.d ]; then mkdir -p $(DESTDIR)/etc/onair/channels.d && cp channels.d/*.yaml $(DESTDIR)/etc/onair/channels.d/; fi
	@if [ -z "$(DESTDIR)" ]; then id onair >/dev/null 2>&1 || useradd --system --home /var/lib/onair onair; systemctl daemon-reload || true; fi

## load-1000: the long load run (1000 viewers, 100 channels, 10 minutes); not in CI
load-1000:
	./scripts/load-1000.sh

clean:
	rm -rf bin $(DATA) $(LIBRARY)
