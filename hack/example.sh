#!/usr/bin/env bash
# Runs the main job on the bundled examples: render and validate every root
# of the sock-shop walkthrough, then of helm-platform, whose charts
# hack/chartserve serves on loopback for the run (127.0.0.1:38079 and
# 127.0.0.1:38080, the addresses the example's sources name).
#
#   hack/example.sh BIN
set -euo pipefail

bin="${1:?usage: hack/example.sh BIN}"
sock=testdata/examples/sock-shop
helm=testdata/examples/helm-platform

"$bin" render --all --root "$sock/microservices-repo"
"$bin" render --all --root "$sock/flux-repo"
"$bin" validate --all --root "$sock/microservices-repo"
"$bin" validate --all --root "$sock/flux-repo"

server="$(mktemp -d)/chartserve"
go build -o "$server" ./hack/chartserve
coproc charts { exec "$server" testdata/charts; }
trap 'kill "$charts_PID" 2>/dev/null || true; rm -rf "$(dirname "$server")"' EXIT
read -r ready <&"${charts[0]}"
[[ "$ready" == ready ]] || { echo "example.sh: chartserve did not start" >&2; exit 1; }

"$bin" render --all --root "$helm"
"$bin" validate --all --root "$helm"
