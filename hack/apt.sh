#!/usr/bin/env bash
# Installs the Debian packages the tests run for real, when missing:
# pre-commit (3.x) for the hook end-to-end tests, and a static busybox the
# container image test builds its base image from (a shell, as in a GitLab
# CI job).
#
#   hack/apt.sh
set -euo pipefail

missing=()
command -v pre-commit >/dev/null || missing+=(pre-commit)
[[ -x /bin/busybox ]] || missing+=(busybox-static)
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
[[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
echo "apt.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2 || {
  "${sudo[@]}" apt-get update >&2
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2
}
