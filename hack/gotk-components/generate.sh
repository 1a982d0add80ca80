#!/usr/bin/env bash
# generate.sh rebuilds the Flux install manifest of the sock-shop example,
# testdata/examples/sock-shop/flux-repo/clusters/dev-cluster/flux-system/gotk-components.yaml,
# as `flux install --export --components-extra=image-reflector-controller,image-automation-controller`
# of the same Flux release prints it.
#
# It takes the flux2 CLI module and the six controller modules from the Go
# module proxy (`go mod download -json`, no other network, no kustomize
# binary) and runs hack/gotk-components (kustomize in process) on them. The
# controller versions are the ones flux2's manifests/bases name for the
# release, so the set is always one Flux distribution.
#
# Usage: hack/gotk-components/generate.sh [OUTPUT]
#   FLUX_VERSION  Flux release to rebuild (default v2.9.4)
set -euo pipefail

FLUX_VERSION="${FLUX_VERSION:-v2.9.4}"
COMPONENTS=(
  source-controller
  kustomize-controller
  helm-controller
  notification-controller
  image-reflector-controller
  image-automation-controller
)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/testdata/examples/sock-shop/flux-repo/clusters/dev-cluster/flux-system/gotk-components.yaml}"
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

# The module proxy only: never fall back to cloning repositories.
proxy="$(go env GOPROXY)"
proxy="${proxy%,direct}"
proxy="${proxy%|direct}"
export GOPROXY="$proxy" GOWORK=off

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# download MODULE@VERSION prints the module's directory in the module cache.
download() {
  local json
  if ! json="$(cd "$scratch" && go mod download -json "$1" 2>&1)"; then
    echo "generate.sh: $1 is not available from the module proxy:" >&2
    echo "$json" >&2
    return 1
  fi
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json"
}

flux_dir="$(download "github.com/fluxcd/flux2/v2@$FLUX_VERSION")"
echo "flux2 $FLUX_VERSION: $flux_dir" >&2

args=(-flux-dir "$flux_dir" -flux-version "$FLUX_VERSION" -o "$out.tmp")
for c in "${COMPONENTS[@]}"; do
  kfile="$flux_dir/manifests/bases/$c/kustomization.yaml"
  version="$(grep -o "releases/download/v[^/]*/$c\.crds\.yaml" "$kfile" | head -n1 | cut -d/ -f3)"
  if [[ -z "$version" ]]; then
    echo "generate.sh: $kfile names no release of $c" >&2
    exit 1
  fi
  if dir="$(download "github.com/fluxcd/$c@$version")"; then
    echo "$c $version: $dir" >&2
    args+=(-controller "$c@$version=$dir")
  else
    echo "generate.sh: leaving $c $version out" >&2
    args+=(-omit "$c@$version")
  fi
done

go -C "$here" run . "${args[@]}"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c <"$out") bytes)" >&2
