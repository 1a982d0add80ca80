#!/usr/bin/env bash
# Builds the kubectl that the krew test runs the plugin through
# (integration/krew_test.go: kubectl krew install, kubectl gitops version,
# kubectl __complete gitops) into a cache folder outside the repository, once
# per version.
#
#   hack/kubectl/build.sh            build it when missing, print its path
#   hack/kubectl/build.sh --force    rebuild even if the binary exists
#
# The version is the one the wrapper module beside this script pins
# (hack/kubectl/go.mod: k8s.io/kubernetes with its staging modules replaced by
# the matching v0.x versions, as hack/cluster/kube-apiserver does). The binary
# goes to ${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}/bin
# as kubectl-VERSION, with a kubectl symlink to it. Progress goes to stderr;
# stdout gets the binary's path. About 4 minutes on 2 cores the first time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}"
bin="$cache/bin"
force=0

log() { echo "kubectl/build.sh: $*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --force) force=1 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) log "unknown argument $1"; exit 2 ;;
  esac
  shift
done

command -v go >/dev/null || { log "go is not on PATH"; exit 2; }
version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3; exit } $1 == "k8s.io/kubernetes" && $3 != "=>" { print $2; exit }' "$here/go.mod")"
[[ "$version" =~ ^v1\.([0-9]+)\. ]] || { log "could not read the k8s.io/kubernetes version from $here/go.mod"; exit 2; }
minor="${BASH_REMATCH[1]}"

out="$bin/kubectl-$version"
if [[ $force -eq 1 || ! -x "$out" ]]; then
  log "building kubectl $version"
  mkdir -p "$bin"
  start=$SECONDS tmp="$out.tmp.$$"
  # shellcheck disable=SC2064 # expand $tmp now
  trap "rm -f $(printf %q "$tmp")" EXIT
  # What Kubernetes' own build stamps, so `kubectl version --client` tells the truth.
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  (cd "$here" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$tmp" k8s.io/kubernetes/cmd/kubectl)
  mv -f "$tmp" "$out"
  trap - EXIT
  log "built $out in $((SECONDS - start))s"
fi
ln -sfn "kubectl-$version" "$bin/kubectl"
echo "$out"
