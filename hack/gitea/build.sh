#!/usr/bin/env bash
# Builds the Gitea server that tests start (internal/testenv/gitea) into a
# cache folder outside the repository, once per version.
#
#   hack/gitea/build.sh            build Gitea unless it is there, print its path
#   hack/gitea/build.sh --force    rebuild even if the binary exists
#
# Gitea is not a library: its module is fetched from the Go module proxy
# (go mod download), its source copied out of the read-only module cache to a
# temporary folder and built there as the main module, with the sqlite driver
# (cgo) and the templates, locales and static files embedded (bindata), so the
# binary needs nothing beside it. The binary goes to
# ${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}/bin
# as gitea-VERSION, with a gitea symlink to it. Progress goes to stderr; stdout
# gets the binary path.
#
# Needs Go (with the module proxy reachable) and a C compiler; Gitea needs git
# when it runs. With a cold Go build cache it takes about 10 CPU minutes: a
# few minutes on 2 idle cores, far longer on a busy machine. The machine's Go
# is used when it is at least the version Gitea's go.mod names; otherwise the
# build alone runs with GOTOOLCHAIN=${GITEA_GOTOOLCHAIN:-go<that version>}.
set -euo pipefail

# The Gitea release the tests run against.
gitea_version=v1.26.0
# Build tags as Gitea's release builds set them (less pam, which needs libpam).
gitea_tags="bindata sqlite sqlite_unlock_notify"

cache="${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools}"
bin="$cache/bin"
force=0

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --force) force=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; usage; exit 2 ;;
  esac
  shift
done

log() { echo "build.sh: $*" >&2; }

# version_at_least HAVE NEED succeeds when Go version HAVE (1.26.8) is NEED or newer.
version_at_least() {
  [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$2" ]]
}

out="$bin/gitea-$gitea_version"
if [[ $force -eq 0 && -x "$out" ]]; then
  log "gitea $gitea_version already built: $out"
  ln -sfn "gitea-$gitea_version" "$bin/gitea"
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { log "go is not on PATH"; exit 2; }
command -v "${CC:-gcc}" >/dev/null || { log "${CC:-gcc} is not on PATH: Gitea's sqlite driver needs a C compiler"; exit 2; }
command -v git >/dev/null || log "warning: git is not on PATH; Gitea needs it to run"

start=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/gitea-build.XXXXXX")"
tmp="$out.tmp.$$"
# shellcheck disable=SC2064 # expand the paths now
trap "rm -rf $(printf %q "$work") $(printf %q "$tmp")" EXIT

log "downloading code.gitea.io/gitea@$gitea_version from the module proxy"
# Run from an empty folder so no enclosing go.mod is consulted.
moddir="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "code.gitea.io/gitea@$gitea_version" |
  awk -F'"' '$2 == "Dir" { print $4 }')"
[[ -d "$moddir" ]] || { log "go mod download did not give the source folder of code.gitea.io/gitea@$gitea_version"; exit 2; }

mkdir -p "$bin"
src="$work/gitea"
cp -R "$moddir" "$src"
chmod -R u+w "$src"

need="$(awk '$1 == "go" { print $2; exit }' "$src/go.mod")"
have="$(go env GOVERSION)"
have="${have#go}"
toolchain=""
if ! version_at_least "$have" "$need"; then
  [[ "$need" =~ ^[0-9]+\.[0-9]+$ ]] && need="$need.0"
  toolchain="${GITEA_GOTOOLCHAIN:-go$need}"
  log "Gitea $gitea_version needs Go $need, this machine has $have: building with GOTOOLCHAIN=$toolchain"
fi

(
  cd "$src"
  export GOFLAGS=-mod=readonly
  if [[ -n "$toolchain" ]]; then export GOTOOLCHAIN="$toolchain"; fi
  log "embedding options, templates, public files and migration schemas (go generate)"
  # Only the bindata generators: the rest of go generate needs Node and the network.
  CGO_ENABLED=0 go generate -tags bindata ./modules/options ./modules/templates ./modules/public ./modules/migration >&2
  log "building gitea $gitea_version (tags: $gitea_tags; go $(go env GOVERSION))"
  CGO_ENABLED=1 go build -trimpath -buildvcs=false -tags "$gitea_tags" \
    -ldflags "-s -w -X 'main.Version=${gitea_version#v}' -X 'main.Tags=$gitea_tags'" \
    -o "$tmp" .
)
mv -f "$tmp" "$out"
ln -sfn "gitea-$gitea_version" "$bin/gitea"
log "built $out in $((SECONDS - start))s"
echo "$out"
