# lanchat — build, test, benchmark.
# Every tool the targets need is fetched or installed here, never by hand.

GO            ?= go
BIN           := bin/lanchat
FUZZTIME      ?= 20s
PKGS          := ./...

# Release: what lanchat --version prints and the archives are named by.
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        ?= $(shell git rev-parse HEAD 2>/dev/null)
# the time of every archive entry: the commit's, so that a rebuild gives the same bytes
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
RELEASE_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64

.PHONY: all build run test test-short vet lint staticcheck cross dist dist-check fuzz bench bench-quick tools clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/lanchat

## run: build and start lanchat on its defaults (broadcasts on the real LAN!)
run: build
	./$(BIN) chat

## tools: what the tests need on a fresh machine: a C compiler (go test -race needs cgo),
## iproute2 for namespaces, tmux for terminal tests, zsh and fish to run their completion scripts,
## chromium + chromium-driver and firefox-esr for the web UI's browser tests. staticcheck is a tool dependency in
## go.mod (go tool staticcheck): it builds from the module cache, no network needed.
## nftables, avahi-daemon, avahi-utils, dbus-daemon: the lab's mDNS scenarios. Services the
## packages bring (avahi-daemon) are not started: policy-rc.d says no while apt runs, since
## avahi would speak mDNS on the real network; the lab tests start their own, in a namespace.
tools:
	@missing=""; \
	command -v "$$($(GO) env CC)" >/dev/null 2>&1 || missing="$$missing gcc libc6-dev"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v tmux >/dev/null 2>&1 || missing="$$missing tmux"; \
	command -v zsh >/dev/null 2>&1 || missing="$$missing zsh"; \
	command -v fish >/dev/null 2>&1 || missing="$$missing fish"; \
	command -v nft >/dev/null 2>&1 || missing="$$missing nftables"; \
	command -v avahi-daemon >/dev/null 2>&1 || missing="$$missing avahi-daemon"; \
	command -v avahi-browse >/dev/null 2>&1 || missing="$$missing avahi-utils"; \
	command -v dbus-daemon >/dev/null 2>&1 || missing="$$missing dbus-daemon"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	command -v firefox-esr >/dev/null 2>&1 || missing="$$missing firefox-esr"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    norc=""; [ -e /usr/sbin/policy-rc.d ] || { norc=1; printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing >/dev/null; \
	    [ -z "$$norc" ] || rm -f /usr/sbin/policy-rc.d; \
	  else echo "note: missing$$missing and cannot install them: go test -race needs a C compiler; tests that need ip/tmux/nft/avahi/dbus-daemon/zsh/fish/chromium skip"; fi; \
	fi

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l . | grep -v '^testdata/'); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

staticcheck:
	$(GO) tool staticcheck $(PKGS)

lint: vet staticcheck

## cross: every release target builds; vet and the test binaries also build for darwin and windows
## (which are compiled only: the tests run on Linux)
cross:
	@set -e; for t in $(RELEASE_TARGETS); do \
	  echo "go build $$t"; CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -trimpath $(PKGS); done
	@set -e; for os in darwin windows; do \
	  echo "go vet, go test -c $$os/amd64"; \
	  GOOS=$$os GOARCH=amd64 $(GO) vet $(PKGS); \
	  out=$$(GOOS=$$os GOARCH=amd64 $(GO) test -c -o /dev/null $(PKGS) 2>&1) || { echo "$$out"; exit 1; }; done

## dist: the release archives and SHA256SUMS in dist/, reproducibly (see cmd/lanchat-dist)
dist:
	rm -rf dist
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./cmd/lanchat-dist -out dist -version $(VERSION) -commit "$(COMMIT)"
	@echo; cat dist/SHA256SUMS

## dist-check: build every release target twice (the second time with an empty build cache)
## and compare the bytes; make test does this for linux/amd64 only
dist-check:
	LANCHAT_DIST_ALL=1 $(GO) test -count=1 -timeout 20m -run '^TestDistIsReproducible$$' -v ./cmd/lanchat-dist

## test: everything CI runs: vet, gofmt, staticcheck, the cross builds, the race-enabled tests (fuzz seeds included)
test: tools lint cross build
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

bench:
	$(GO) run ./cmd/lanchat-bench -out BENCHMARKS.md

bench-quick:
	$(GO) run ./cmd/lanchat-bench -quick

clean:
	rm -rf bin dist

.PHONY: demo demo-clean

## demo: alice, bob and carol on a LAN of network namespaces, one `lanchat chat` per tmux pane
## (needs root; the LAN lives in its own namespaces and never touches this machine's interfaces)
demo: tools build
	./scripts/demo.sh up $(BIN)

## demo-clean: remove the demo's tmux session, namespaces and data
demo-clean:
	./scripts/demo.sh down

.PHONY: man

## man: regenerate doc/lanchat.1 from the help texts (TestManPageCurrent fails until it is)
man:
	$(GO) run ./cmd/lanchat man > doc/lanchat.1


.PHONY: web-screenshot

## web-screenshot: regenerate docs/web-ui.png, the README's picture of the web UI (needs chromium)
web-screenshot:
	$(GO) test -count=1 -run '^TestBrowserScreenshotForDocs$$' ./web -screenshot $(CURDIR)/docs/web-ui.png
