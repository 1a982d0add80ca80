#!/usr/bin/env bash
# Builds the peer tools the tests and benchmarks run beside kubectl gitops,
# from the Go module proxy, into a cache folder outside the repository, once
# per version.
#
#   hack/tools.sh                 build every tool that is missing
#   hack/tools.sh kustomize ...   build these
#   hack/tools.sh --path NAME     print where NAME is (building it if missing)
#
# Binaries go to ${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}/bin
# as NAME-VERSION, with a NAME symlink to the current one.
set -euo pipefail

cache="${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}"
bin="$cache/bin"

# name  package@version  toolchain (local: the machine's Go)
tools() {
  cat <<'LIST'
kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.8.2 local
kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0 local
flate github.com/home-operations/flate/cmd/flate@v0.6.5 go1.27.3
helm helm.sh/helm/v4/cmd/helm@v4.3.2 local
krew sigs.k8s.io/krew/cmd/krew@v0.4.3 local
validate-krew-manifest sigs.k8s.io/krew/cmd/validate-krew-manifest@v0.4.3 local
cyclonedx-gomod github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0 local
LIST
}

log() { echo "tools.sh: $*" >&2; }

build() {
  local name="$1" line pkg toolchain version out tmp
  line="$(tools | awk -v n="$name" '$1 == n')"
  [[ -n "$line" ]] || { log "unknown tool $name"; exit 2; }
  read -r _ pkg toolchain <<<"$line"
  version="${pkg##*@}"
  out="$bin/$name-$version"
  if [[ ! -x "$out" ]]; then
    log "building $name $version"
    mkdir -p "$bin"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    (
      cd "$tmp"
      export GOBIN="$tmp/bin" GOFLAGS=-mod=mod CGO_ENABLED=0
      if [[ "$toolchain" != local ]]; then export GOTOOLCHAIN="$toolchain"; fi
      go install -trimpath "$pkg"
    )
    # go install names a binary after its package's last element that is
    # not a major version suffix (…/kustomize/v5 -> kustomize).
    local path="${pkg%@*}"
    [[ "$(basename "$path")" =~ ^v[0-9]+$ ]] && path="$(dirname "$path")"
    mv "$tmp/bin/$(basename "$path")" "$out"
  fi
  ln -sfn "$(basename "$out")" "$bin/$name"
  echo "$out"
}

if [[ "${1:-}" == "--path" ]]; then
  build "${2:?--path needs a tool name}"
  exit 0
fi
if [[ $# -eq 0 ]]; then
  set -- $(tools | awk '{print $1}')
fi
for name in "$@"; do
  build "$name"
done
