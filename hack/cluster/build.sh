#!/usr/bin/env bash
# Builds the kube-apiserver and etcd that tests start (internal/testenv/apiserver)
# into a cache folder outside the repository, once per version.
#
#   hack/cluster/build.sh                  build what is missing, print the two paths
#   hack/cluster/build.sh --force          rebuild even if the binaries exist
#   hack/cluster/build.sh --set-kubernetes v1.37.2
#                                          repin the kube-apiserver wrapper module to
#                                          that k8s.io/kubernetes version, then build
#
# The versions are the ones the wrapper modules pin: hack/cluster/kube-apiserver/go.mod
# (k8s.io/kubernetes) and hack/cluster/etcd/go.mod (go.etcd.io/etcd/server/v3).
# Binaries go to ${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}/bin
# as NAME-VERSION, with a NAME symlink to the current one. Progress goes to stderr;
# stdout gets the two binary paths, one a line.
#
# Needs only Go (with the module proxy reachable). kube-apiserver takes several
# minutes to build on 2 cores; etcd under a minute.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}"
bin="$cache/bin"
force=0
set_kubernetes=""

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --force) force=1 ;;
    --set-kubernetes) set_kubernetes="${2:?--set-kubernetes needs a version such as v1.37.2}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; usage; exit 2 ;;
  esac
  shift
done

log() { echo "build.sh: $*" >&2; }

# module_version GOMOD MODULE prints the version GOMOD requires of MODULE.
module_version() {
  awk -v m="$2" '
    /=>/ { next }
    $1 == "require" && $2 == m { print $3; exit }
    $1 == m { print $2; exit }
  ' "$1"
}

# set_kubernetes_version VERSION rewrites the kube-apiserver wrapper go.mod to
# require k8s.io/kubernetes VERSION, with one replace for each staging module
# that version's go.mod replaces with ./staging/..., pinned to v0.MINOR.PATCH.
set_kubernetes_version() {
  local version="$1" dir="$here/kube-apiserver" gomod staging
  [[ "$version" =~ ^v1\.([0-9]+\.[0-9]+.*)$ ]] || { log "not a Kubernetes version: $version"; exit 2; }
  staging="v0.${BASH_REMATCH[1]}"
  gomod="$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$version" | awk -F'"' '$2 == "GoMod" { print $4 }')"
  [[ -f "$gomod" ]] || { log "could not download the go.mod of k8s.io/kubernetes@$version"; exit 2; }
  {
    sed -n '1,/^module /p' "$dir/go.mod"
    printf '\ngo %s\n\ntool k8s.io/kubernetes/cmd/kube-apiserver\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
      "$(awk '$1 == "go" { print $2; exit }' "$gomod")" "$version"
    awk -v v="$staging" '$2 == "=>" && $3 ~ /^\.\/staging\// { printf "\t%s => %s %s\n", $1, $1, v }' "$gomod"
    printf ')\n'
  } > "$dir/go.mod.new"
  mv "$dir/go.mod.new" "$dir/go.mod"
  rm -f "$dir/go.sum"
  log "repinned $dir/go.mod to k8s.io/kubernetes $version (staging modules $staging); running go mod tidy"
  (cd "$dir" && go mod tidy)
}

# build NAME DIR PACKAGE VERSION [LDFLAGS] builds PACKAGE in the wrapper module
# DIR to $bin/NAME-VERSION unless it is there, links $bin/NAME to it, and
# prints its path.
build() {
  local name="$1" dir="$2" pkg="$3" version="$4" ldflags="${5:-}"
  local out="$bin/$name-$version"
  if [[ $force -eq 1 || ! -x "$out" ]]; then
    log "building $name $version (from $pkg)"
    local start=$SECONDS tmp="$out.tmp.$$"
    # shellcheck disable=SC2064 # expand $tmp now: it is local
    trap "rm -f $(printf %q "$tmp")" EXIT
    (cd "$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg")
    mv -f "$tmp" "$out"
    trap - EXIT
    log "built $out in $((SECONDS - start))s"
  else
    log "$name $version already built: $out"
  fi
  ln -sfn "$name-$version" "$bin/$name"
  echo "$out"
}

command -v go >/dev/null || { log "go is not on PATH"; exit 2; }
[[ -n "$set_kubernetes" ]] && set_kubernetes_version "$set_kubernetes"

kube_version="$(module_version "$here/kube-apiserver/go.mod" k8s.io/kubernetes)"
etcd_version="$(module_version "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)"
[[ -n "$kube_version" && -n "$etcd_version" ]] || { log "could not read the pinned versions from the wrapper go.mod files"; exit 2; }

mkdir -p "$bin"

# What Kubernetes' own build stamps into the binary, so /version tells the truth.
kube_minor="${kube_version#v1.}"
kube_minor="${kube_minor%%.*}"
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor -X $pkg.gitTreeState=clean"
done

build etcd "$here/etcd" go.etcd.io/etcd/server/v3 "$etcd_version"
build kube-apiserver "$here/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$kube_version" "$kube_ldflags"
