#!/usr/bin/env bash
# Builds the flux-operator CLI the tests use as the oracle of ResourceSet
# builds (`flux-operator build resourceset`), from its module source on the
# Go module proxy, into a cache folder outside the repository, once per
# version. Only its binary is used: no code of it is linked into
# kubectl-gitops (it is AGPL-3.0).
#
#   hack/flux-operator/build.sh            build it when missing, print its path
#   hack/flux-operator/build.sh --force    rebuild even if the binary exists
#
# v0.59 needs Go 1.27; v0.58.1 builds with the Go of this machine and has
# the same ResourceSet builder. The binary goes to
# ${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}/bin
# as flux-operator-VERSION, with a flux-operator symlink to it. About 5
# minutes on 2 cores the first time.
set -euo pipefail

version=v0.58.1
cache="${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}"
bin="$cache/bin"
out="$bin/flux-operator-$version"
force=0
[[ "${1:-}" == "--force" ]] && force=1

log() { echo "flux-operator/build.sh: $*" >&2; }

if [[ $force -eq 1 || ! -x "$out" ]]; then
  command -v go >/dev/null || { log "go is not on PATH"; exit 2; }
  log "building flux-operator $version"
  start=$SECONDS
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$bin"
  (cd "$tmp" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$tmp/bin" \
    go install -trimpath -ldflags "-s -w -X main.VERSION=${version#v}" \
    "github.com/controlplaneio-fluxcd/flux-operator/cmd/cli@$version")
  mv "$tmp/bin/cli" "$out"
  log "built $out in $((SECONDS - start))s"
fi
ln -sfn "$(basename "$out")" "$bin/flux-operator"
echo "$out"
