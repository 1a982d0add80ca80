#!/usr/bin/env bash
# Writes cmd/kubectl-gitops/default.pgo, the CPU profile go build optimizes
# the plugin with (profile-guided optimization): the merged profiles of
# kubectl gitops's runs on the bench's generated repository (validate and
# render from a fresh cache and warm, -o json, the pre-commit hook on one
# staged overlay, diffs of a working-tree edit, warm and from a fresh
# cache), on the bundled examples (hack/example.sh) and on the Flux
# fixtures (Flux Operator, HelmReleases, several clusters). Run it again
# when what the plugin spends its time on changes.
#
#   hack/pgo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bin="$work/kubectl-gitops"
CGO_ENABLED=0 go build -o "$bin" ./hack/pgo
export GITOPS_PGO_PROFILES="$work/profiles"
mkdir "$GITOPS_PGO_PROFILES"
fresh() { export GITOPS_CACHE_DIR="$work/cache-$1"; }

# The bench's 303-root repository; -only= writes it and times nothing.
corpus="$(go run ./bench -keep -only= -gitops "$bin" | sed -n 's/^kept //p')"
trap 'rm -rf "$work" "$corpus"' EXIT
repo="$corpus/repo"
(
	cd "$repo"
	fresh corpus-cold
	"$bin" validate --all >/dev/null
	fresh corpus-json
	"$bin" render --all -o json >/dev/null
	fresh corpus
	"$bin" render --all >/dev/null
	"$bin" validate --all >/dev/null
	# What a developer runs most: the hook on each commit, a diff of an
	# edit. Each run sees another value, as each commit would.
	staged=apps/app-000/overlays/prod/kustomization.yaml
	edited=apps/app-007/overlays/prod/kustomization.yaml
	for i in $(seq 1 20); do
		sed -i "0,/^    count: .*/s//    count: $((40 + i))/" "$staged"
		git add "$staged"
		"$bin" hook gitops-validate "$staged" >/dev/null
		sed -i "0,/^    count: .*/s//    count: $((40 + i))/" "$edited"
		"$bin" diff --base HEAD >/dev/null || [[ $? == 1 ]]
	done
	fresh corpus-diff-cold
	"$bin" diff --base HEAD >/dev/null || [[ $? == 1 ]]
	git checkout -q HEAD -- "$staged" "$edited"
)

fresh examples
hack/example.sh "$bin" >/dev/null

# The Flux fixtures, each a repository whose origin its sources name.
for fx in homelab:home-lab fleet:fleet platform:platform; do
	dir="$work/fixture-${fx%%:*}"
	cp -r "testdata/flux/${fx%%:*}" "$dir"
	git -C "$dir" init -q
	git -C "$dir" remote add origin "https://github.com/example/${fx##*:}.git"
	git -C "$dir" add -A
	git -C "$dir" -c user.name=pgo -c user.email=pgo@example.com commit -qm fixture
	fresh "fixture-${fx%%:*}"
	"$bin" validate --all --offline --root "$dir" >/dev/null # healthy: no error finding
	"$bin" render --all --offline --root "$dir" >/dev/null
done

go tool pprof -proto "$GITOPS_PGO_PROFILES"/*.pprof >cmd/kubectl-gitops/default.pgo
echo "wrote cmd/kubectl-gitops/default.pgo from $(ls "$GITOPS_PGO_PROFILES" | wc -l) runs"
