#!/usr/bin/env bash
# Builds the Flux CLI the tests use as the oracle of Flux Kustomization
# builds (`flux build kustomization`), from its module source on the Go
# module proxy, into a cache folder outside the repository, once per
# version.
#
#   hack/flux/build.sh            build it when missing, print its path
#   hack/flux/build.sh --force    rebuild even if the binary exists
#
# `go install github.com/fluxcd/flux2/v2/cmd/flux@VERSION` is refused (its
# go.mod has a replace directive) and the module has no manifests/ folder
# (flux2's Makefile generates it for `flux install`, which the tests never
# run), so the module's source is copied to a temporary folder, given an
# empty manifests/ placeholder, and built there as its own main module, with
# its own go.sum. The binary goes to
# ${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}/bin
# as flux-VERSION, with a flux symlink to it. About 3 minutes on 2 cores the
# first time.
set -euo pipefail

version=v2.7.5
cache="${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}"
bin="$cache/bin"
out="$bin/flux-$version"
force=0
[[ "${1:-}" == "--force" ]] && force=1

log() { echo "flux/build.sh: $*" >&2; }

if [[ $force -eq 1 || ! -x "$out" ]]; then
  command -v go >/dev/null || { log "go is not on PATH"; exit 2; }
  log "building flux $version"
  start=$SECONDS
  tmp="$(mktemp -d)"
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
  src="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "github.com/fluxcd/flux2/v2@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src" ]] || { log "could not download github.com/fluxcd/flux2/v2@$version"; exit 2; }
  cp -R "$src" "$tmp/flux2"
  chmod -R u+w "$tmp/flux2"
  mkdir -p "$tmp/flux2/cmd/flux/manifests"
  echo "# flux install is not built into this binary" > "$tmp/flux2/cmd/flux/manifests/placeholder.yaml"
  mkdir -p "$bin"
  (cd "$tmp/flux2" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X main.VERSION=${version#v}" -o "$out.tmp" ./cmd/flux)
  mv "$out.tmp" "$out"
  log "built $out in $((SECONDS - start))s"
fi
ln -sfn "$(basename "$out")" "$bin/flux"
echo "$out"
