# kubectl gitops. `make example` renders the bundled example; `make test`
# runs every test, building what the tests need (peer tools, kube-apiserver
# and etcd) into a cache outside the repository on first use.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
export GOTOOLCHAIN := local

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X github.com/kubectl-gitops/kubectl-gitops/internal/version.version=$(VERSION) \
	-X github.com/kubectl-gitops/kubectl-gitops/internal/version.commit=$(COMMIT)
BIN := bin/kubectl-gitops
STATICCHECK := v0.8.2

.PHONY: build example tools test test-unit bench pgo lint dist image clean

# Without cgo, as the release (hack/dist.sh): a static binary that starts
# faster than a cgo build.
build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-gitops

# Render and validate every root of both repositories of the bundled
# walkthrough.
example: build
	hack/example.sh $(BIN)

# The peers and servers tests run against; cached, so cheap once built.
tools:
	hack/apt.sh
	hack/tools.sh >/dev/null
	hack/cluster/build.sh >/dev/null
	hack/gitea/build.sh >/dev/null
	hack/kubectl/build.sh >/dev/null
	hack/flux/build.sh >/dev/null
	hack/flux-operator/build.sh >/dev/null
	hack/chartutil/build.sh >/dev/null

# -count=1: the integration tests build the binary themselves, which go
# test's result cache cannot see, so a cached pass could be stale.
test: tools lint
	GITOPS_REQUIRE_TOOLS=1 go test -race -count=1 -timeout 20m ./...

# Tests that need nothing beyond Go: the rest skip when a tool is missing.
test-unit:
	go test ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: run gofmt -w on these'; exit 1; }
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) ./...

# Every speed target of the issues, each against its peer on the same
# generated repository in the same run: `make bench BENCH_FLAGS=-only=diff`.
bench:
	hack/tools.sh kustomize kubeconform flate >/dev/null
	hack/cluster/build.sh >/dev/null
	go run ./bench $(BENCH_FLAGS)

# cmd/kubectl-gitops/default.pgo, the CPU profile go build optimizes the
# plugin with, from runs on the bench's repository, the examples and the
# Flux fixtures.
pgo:
	hack/pgo.sh

# The release archives of every platform and the krew manifest that installs
# them, into dist/ (see hack/dist.sh and docs/install.md).
dist:
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' hack/dist.sh

# The container image of the release, for CI jobs that run in a container
# (GitLab): built from dist/ on IMAGE_BASE without a Docker engine and pushed
# with the docker config's credentials (see hack/image). The image records
# the digest IMAGE_BASE resolved to; set IMAGE_BASE to NAME@DIGEST (hack/image
# prints it) to release on exactly that base again.
IMAGE      ?= ghcr.io/kubectl-gitops/kubectl-gitops
IMAGE_BASE ?= alpine/git:latest
image: dist
	go run ./hack/image --base '$(IMAGE_BASE)' --dist dist --version '$(VERSION)' --tag '$(IMAGE):$(VERSION)'

clean:
	rm -rf bin dist
