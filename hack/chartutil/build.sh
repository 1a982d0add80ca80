#!/usr/bin/env bash
# Builds chartutil-oracle (oracle.go), which merges a HelmRelease's values
# with helm-controller's own code (fluxcd/pkg/chartutil), into the tools
# cache, once per version. That module needs Go 1.27: the Go command takes
# the approved go1.27.3 toolchain from the module proxy for this build only.
#
#   hack/chartutil/build.sh           build it when missing, print its path
set -euo pipefail

version=v1.36.0
cache="${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}"
bin="$cache/bin"
out="$bin/chartutil-oracle-$version"
here="$(cd "$(dirname "$0")" && pwd)"

log() { echo "chartutil/build.sh: $*" >&2; }

if [[ ! -x "$out" ]]; then
  command -v go >/dev/null || { log "go is not on PATH"; exit 2; }
  log "building chartutil-oracle with fluxcd/pkg/chartutil $version"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$bin"
  cp "$here/oracle.go" "$tmp/main.go"
  sed -i '/^\/\/go:build ignore$/d' "$tmp/main.go"
  (
    cd "$tmp"
    export GOTOOLCHAIN=go1.27.3 GOFLAGS=-mod=mod CGO_ENABLED=0
    go mod init chartutil-oracle >/dev/null 2>&1
    go get "github.com/fluxcd/pkg/chartutil@$version" >/dev/null 2>&1
    go mod tidy >/dev/null 2>&1
    go build -trimpath -o "$out.tmp" .
  )
  mv "$out.tmp" "$out"
fi
ln -sfn "$(basename "$out")" "$bin/chartutil-oracle"
echo "$out"
