# orbd — the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
# Real protocol peers the tests start on loopback (docs: shared test-peers).
PEERS := snmpd snmp snmpsim openssh-server netconfd netconfd-module-ietf-system tinyproxy squid systemd buildah podman runc ca-certificates
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build demo test test-short peers bench vet fmt image clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/orbd ./cmd/orbd

# The built-in simulated lab → local Diode receiver + dry-run files.
demo:
	$(GO) run ./cmd/orbd demo

# Installs the peers if missing, then the whole suite with the race detector.
# ORBD_REQUIRE_PEERS=1 turns "peer missing" skips into failures.
test: peers
	ORBD_REQUIRE_PEERS=1 $(GO) test -race -count=1 -timeout 40m ./...

# Without peers or root: peer tests skip with the package to install.
test-short:
	$(GO) test -count=1 ./...

peers:
	@missing=""; for p in $(PEERS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing test peers:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

# Needs a Docker engine (or: buildah bud --storage-driver vfs -t orbd .).
image:
	docker build --build-arg VERSION=$(VERSION) -t orbd:$(VERSION) .

clean:
	rm -rf bin orbd-demo-output
