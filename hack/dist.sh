#!/usr/bin/env bash
# Builds the release archives of kubectl gitops and the krew manifest that
# installs them.
#
#   hack/dist.sh                     every platform into dist/
#   hack/dist.sh -o DIR              into DIR
#   hack/dist.sh --host              only the platform this machine runs (tests)
#   hack/dist.sh --platforms "linux/amd64 darwin/arm64"
#   hack/dist.sh --uri-base URL      where the manifest says the archives are
#                                    (default: the GitHub release of VERSION)
#
# VERSION and COMMIT come from the environment, else from git as the Makefile
# computes them; they are stamped into the binary with the Makefile's ldflags.
# Each archive, kubectl-gitops_<os>_<arch>.tar.gz (.zip on windows), holds
# kubectl-gitops (.exe on windows), kubectl_complete-gitops (.cmd on windows:
# kubectl 1.26+ runs it for "kubectl gitops <TAB>") and LICENSE; beside it,
# kubectl-gitops_<os>_<arch>.sbom.cdx.json is the binary's software bill of
# materials (CycloneDX 1.6: every module linked, at the version built, and
# Go's standard library), read from the build information Go embeds in it by
# cyclonedx-gomod (hack/tools.sh). DIR also gets checksums.txt (archives and
# SBOMs) and gitops.yaml, krew/gitops.yaml filled with the version, the URIs
# and the sha256 of each archive built. Everything is reproducible: same
# sources, version and SOURCE_DATE_EPOCH (default: the last commit's time),
# same bytes. Progress goes to stderr; stdout gets the files written, one a line.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
all_platforms="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"
out="dist"
platforms="$all_platforms"
uri_base=""

usage() { sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }
log() { echo "dist.sh: $*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    -o|--output) out="${2:?$1 needs a directory}"; shift ;;
    --host) platforms="$(go env GOHOSTOS)/$(go env GOHOSTARCH)" ;;
    --platforms) platforms="${2:?--platforms needs a list such as \"linux/amd64 darwin/arm64\"}"; shift ;;
    --uri-base) uri_base="${2:?--uri-base needs a URL}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) log "unknown argument $1"; usage; exit 2 ;;
  esac
  shift
done

cd "$root"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
COMMIT="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
uri_base="${uri_base:-https://github.com/kubectl-gitops/kubectl-gitops/releases/download/$VERSION}"
uri_base="${uri_base%/}"
pkg=github.com/kubectl-gitops/kubectl-gitops/internal/version
ldflags="-s -w -X $pkg.version=$VERSION -X $pkg.commit=$COMMIT"

# krew wants a semantic version with a leading v; a build between tags
# (git describe gives 0108a54-dirty) is published as v0.0.0-dev+<describe>.
semver_re='^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
manifest_version="$VERSION"
if [[ ! "$manifest_version" =~ $semver_re ]]; then
  manifest_version="v0.0.0-dev+$(tr -c '0-9A-Za-z.\n-' '-' <<<"$VERSION")"
fi

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | awk '{print $1}'
  else shasum -a 256 "$1" | awk '{print $1}'; fi
}

# archive FORMAT DEST DIR FILE... packs FILEs of DIR into DEST with fixed
# owners, order and times, so the bytes depend only on the contents.
archive() {
  local format="$1" dest="$2" dir="$3"
  shift 3
  local f
  for f in "$@"; do touch -d "@$SOURCE_DATE_EPOCH" "$dir/$f" 2>/dev/null || touch -t "$(date -u -r "$SOURCE_DATE_EPOCH" +%Y%m%d%H%M.%S)" "$dir/$f"; done
  case "$format" in
    tar.gz)
      local gnu=()
      tar --version 2>/dev/null | grep -q GNU && gnu=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" --format=ustar)
      tar -C "$dir" "${gnu[@]}" -cf - "$@" | gzip -9n >"$dest"
      ;;
    zip)
      command -v zip >/dev/null || { log "zip is not installed (apt-get install zip)"; exit 2; }
      rm -f "$dest"
      (cd "$dir" && TZ=UTC zip -X -q "$dest" "$@")
      ;;
  esac
}

mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -f "$out"/kubectl-gitops_*.tar.gz "$out"/kubectl-gitops_*.zip "$out"/kubectl-gitops_*.sbom.cdx.json "$out/checksums.txt" "$out/gitops.yaml"
sbom_tool="$(hack/tools.sh --path cyclonedx-gomod)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

log "version $VERSION (krew $manifest_version), commit ${COMMIT:-unknown}"
sed_args=(-e "s|{{VERSION}}|$manifest_version|g" -e "s|{{URI_BASE}}|$uri_base|g")
written=()
for platform in $platforms; do
  goos="${platform%/*}" goarch="${platform#*/}"
  [[ " $all_platforms " == *" $platform "* ]] || { log "unsupported platform $platform (one of: $all_platforms)"; exit 2; }
  dir="$stage/${goos}_${goarch}"
  mkdir -p "$dir"
  if [[ "$goos" == windows ]]; then
    exe=kubectl-gitops.exe complete=kubectl_complete-gitops.cmd format=zip
    printf '@echo off\r\nkubectl-gitops.exe __complete %%*\r\n' >"$dir/$complete"
  else
    exe=kubectl-gitops complete=kubectl_complete-gitops format=tar.gz
    printf '#!/bin/sh\n# kubectl (1.26+) runs this to complete "kubectl gitops": keep it on PATH.\nexec kubectl-gitops __complete "$@"\n' >"$dir/$complete"
  fi
  log "building $goos/$goarch"
  start=$SECONDS
  CGO_ENABLED=0 GOOS="$goos" GOARCH="$goarch" go build -trimpath -ldflags "$ldflags" -o "$dir/$exe" ./cmd/kubectl-gitops
  cp LICENSE "$dir/LICENSE"
  chmod 0755 "$dir/$exe" "$dir/$complete"
  chmod 0644 "$dir/LICENSE"
  name="kubectl-gitops_${goos}_${goarch}.$format"
  archive "$format" "$out/$name" "$dir" "$exe" "$complete" LICENSE
  sum="$(sha256 "$out/$name")"
  echo "$sum  $name" >>"$out/checksums.txt"
  sed_args+=(-e "s|{{SHA256_${goos}_${goarch}}}|$sum|g")
  written+=("$out/$name")
  sbom="kubectl-gitops_${goos}_${goarch}.sbom.cdx.json"
  "$sbom_tool" bin -json -std -noserial -notimestamp -version "$manifest_version" -output "$out/$sbom" "$dir/$exe"
  echo "$(sha256 "$out/$sbom")  $sbom" >>"$out/checksums.txt"
  written+=("$out/$sbom")
  log "built $name and $sbom in $((SECONDS - start))s"
done

# Fill the manifest: drop the template's leading comment, then every platform
# (from its "- selector:" line to the next) whose sha256 was not filled.
{
  echo "# krew plugin manifest of kubectl gitops $manifest_version, written by hack/dist.sh from krew/gitops.yaml."
  sed -e '/^#/d' "${sed_args[@]}" krew/gitops.yaml | awk '
    /^  - selector:/ { if (n) flush(); n = 0 }
    /^  - selector:/ || n { block[++n] = $0; next }
    { print }
    END { flush() }
    function flush(  i, keep) {
      keep = 1
      for (i = 1; i <= n; i++) if (block[i] ~ /\{\{SHA256_/) keep = 0
      if (keep) for (i = 1; i <= n; i++) print block[i]
      n = 0
    }'
} >"$out/gitops.yaml"
if grep -n '{{' "$out/gitops.yaml" >&2; then
  log "krew/gitops.yaml has a placeholder dist.sh does not fill"
  exit 2
fi
written+=("$out/checksums.txt" "$out/gitops.yaml")
printf '%s\n' "${written[@]}"
