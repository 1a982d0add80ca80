#!/usr/bin/env bash
# Installs a released kubectl-gitops for the GitHub Actions runner it runs
# on: the archive of the runner's platform, checked against the release's
# checksums.txt before anything in it runs, kept in the runner's tool cache
# (a second job on the same runner downloads nothing) and put on PATH.
#
#   VERSION=v0.3.0 hack/action/install.sh
#
# VERSION is a release tag, or "latest". KUBECTL_GITOPS_RELEASES is where
# the releases are (default: the project's GitHub releases; tests point it
# at a local server). RUNNER_TOOL_CACHE, RUNNER_OS, RUNNER_ARCH and
# GITHUB_PATH are the runner's; outside a runner, uname and a temporary
# folder stand in and the binary's folder is printed instead.
set -euo pipefail

log() { echo "install.sh: $*" >&2; }
fail() { log "$*"; exit 1; }

releases="${KUBECTL_GITOPS_RELEASES:-https://github.com/kubectl-gitops/kubectl-gitops/releases}"
version="${VERSION:-latest}"
if [[ "$version" == latest ]]; then
  base="$releases/latest/download"
else
  [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || fail "VERSION must be a release tag such as v0.3.0, or latest; got '$version'"
  base="$releases/download/$version"
fi

os="${RUNNER_OS:-$(uname -s)}"
case "$os" in
  Linux|linux) os=linux ;;
  macOS|Darwin) os=darwin ;;
  Windows|MINGW*|MSYS*) os=windows ;;
  *) fail "no release for the operating system '$os'" ;;
esac
arch="${RUNNER_ARCH:-$(uname -m)}"
case "$arch" in
  X64|x86_64|amd64) arch=amd64 ;;
  ARM64|aarch64|arm64) arch=arm64 ;;
  *) fail "no release for the architecture '$arch'" ;;
esac
ext=tar.gz exe=kubectl-gitops
[[ "$os" == windows ]] && ext=zip exe=kubectl-gitops.exe
archive="kubectl-gitops_${os}_${arch}.$ext"

download() { # URL FILE
  if command -v curl >/dev/null; then
    curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"
  else
    wget --quiet --tries=3 --output-document="$2" "$1"
  fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
download "$base/checksums.txt" "$work/checksums.txt" || fail "cannot download $base/checksums.txt"
want="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$work/checksums.txt")"
[[ "$want" =~ ^[0-9a-f]{64}$ ]] || fail "checksums.txt of $version lists no $archive"

cache="${RUNNER_TOOL_CACHE:-${TMPDIR:-/tmp}}/kubectl-gitops/$want"
if [[ ! -x "$cache/$exe" ]]; then
  download "$base/$archive" "$work/$archive" || fail "cannot download $base/$archive"
  if command -v sha256sum >/dev/null; then
    got="$(sha256sum "$work/$archive" | awk '{print $1}')"
  else
    got="$(shasum -a 256 "$work/$archive" | awk '{print $1}')"
  fi
  [[ "$got" == "$want" ]] || fail "$archive does not match checksums.txt (sha256 $got, want $want): not installed"
  mkdir -p "$work/x"
  if [[ "$ext" == zip ]]; then
    unzip -q "$work/$archive" -d "$work/x"
  else
    tar -xzf "$work/$archive" -C "$work/x"
  fi
  [[ -f "$work/x/$exe" ]] || fail "$archive holds no $exe"
  mkdir -p "$(dirname "$cache")"
  rm -rf "$cache.tmp" && mv "$work/x" "$cache.tmp" && rm -rf "$cache" && mv "$cache.tmp" "$cache"
  log "installed $archive ($version) into $cache"
else
  log "$archive ($version) already in $cache"
fi
if [[ -n "${GITHUB_PATH:-}" ]]; then
  echo "$cache" >> "$GITHUB_PATH"
else
  echo "$cache"
fi
