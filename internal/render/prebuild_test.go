package render

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// TestPrebuild holds a render that takes a build Prebuild started to the
// same render without it, root by root: a plain overlay (taken), the
// path of a Flux Kustomization that sets a name prefix (a plain build
// there is not its build), and a plain root that reaches out of
// its directory under a Flux Kustomization's path (kustomize-controller's
// reach: the plain build fails, the render builds it again), a plain root
// out of its directory with no such reach, and an overlay kustomize warns
// about.
func TestPrebuild(t *testing.T) {
	cm := func(name string) []byte {
		return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  k: v\n")
	}
	fluxKs := func(name, p string) []byte {
		return []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name +
			"\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  path: " + p +
			"\n  targetNamespace: shop\n  namePrefix: flux-\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "init", map[string][]byte{
		"base/kustomization.yaml":          []byte("resources:\n  - web.yaml\n"),
		"legacy/kustomization.yaml":        []byte("resources:\n  - ../base\ncommonLabels:\n  old: style\n"),
		"base/web.yaml":                    cm("web"),
		"overlays/prod/kustomization.yaml": []byte("resources:\n  - ../../base\nnamePrefix: prod-\n"),
		"app/kustomization.yaml":           []byte("resources:\n  - app.yaml\n"),
		"app/app.yaml":                     cm("app"),
		"stack/kustomization.yaml":         []byte("resources:\n  - shared.yaml\n"),
		"stack/shared.yaml":                cm("shared"),
		"stack/reach/kustomization.yaml":   []byte("resources:\n  - ../shared.yaml\n"),
		"loose/shared.yaml":                cm("loose"),
		"loose/reach/kustomization.yaml":   []byte("resources:\n  - ../shared.yaml\n"),
		"clusters/prod/app.yaml":           fluxKs("app", "./app"),
		"clusters/prod/stack.yaml":         fluxKs("stack", "./stack"),
		"clusters/prod/gotk-sync.yaml":     []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://example.com/fleet.git\n"),
		"clusters/prod/kustomization.yaml": []byte("resources:\n  - gotk-sync.yaml\n  - app.yaml\n  - stack.yaml\n"),
	})
	r, tree := openTree(t, g.Dir, "HEAD")
	disc, err := Discover(tree, Checkout{})
	if err != nil {
		t.Fatal(err)
	}
	var edited []string // with no roots memo, their folders are prebuilt
	for _, f := range disc.Files {
		if kfs.IsKustomizationFile(f) {
			edited = append(edited, f)
		}
	}
	ctx := context.Background()
	want, err := New(tree, r.Root, Options{}).Render(ctx, disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	eng := New(tree, r.Root, Options{Jobs: len(edited) + 1}) // jobs to start them all
	eng.Prebuild(ctx, edited)
	// A build kustomize would print a deprecation warning in stops
	// before it does: were it not taken, the render would print it again.
	p := eng.prebuilt["legacy"]
	<-p.done
	if !errors.Is(p.fsys.Refused(), kfs.ErrWouldWarn) {
		t.Errorf("legacy's build: %v, want it refused for its deprecated field", p.err)
	}
	got, err := eng.Render(ctx, disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	sameRenders(t, want, got)
	for _, dir := range []string{"overlays/prod"} {
		if _, left := eng.prebuilt[dir]; left {
			t.Errorf("the build of %s was not taken", dir)
		}
	}
}

// TestPrebuildBound: an engine starts builds ahead for no more
// directories than its jobs less the one discovery runs on (at least
// one), and for none past that.
func TestPrebuildBound(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "init", map[string][]byte{"a/kustomization.yaml": []byte("resources: []\n")})
	r, tree := openTree(t, g.Dir, "HEAD")
	for _, tc := range []struct {
		jobs, dirs, started int
	}{
		{jobs: 1, dirs: 1, started: 1},
		{jobs: 1, dirs: 2},
		{jobs: 2, dirs: 1, started: 1},
		{jobs: 2, dirs: 2},
		{jobs: 4, dirs: 3, started: 3},
		{jobs: 4, dirs: 4},
	} {
		files := make([]string, tc.dirs)
		for i := range files {
			files[i] = fmt.Sprintf("d%d/kustomization.yaml", i)
		}
		eng := New(tree, r.Root, Options{Jobs: tc.jobs})
		eng.Prebuild(context.Background(), files)
		for _, p := range eng.prebuilt {
			<-p.done
		}
		if len(eng.prebuilt) != tc.started {
			t.Errorf("jobs %d, %d directories: %d builds started, want %d", tc.jobs, tc.dirs, len(eng.prebuilt), tc.started)
		}
	}
}

type renderSummary struct {
	Err          string
	Output       string
	Inputs       any
	Observations any
}

func summary(t *testing.T, res *Result) renderSummary {
	t.Helper()
	if res.Err != nil {
		return renderSummary{Err: res.Err.Error()}
	}
	out, err := res.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return renderSummary{Output: string(out), Inputs: res.Inputs, Observations: res.Observations}
}

// TestPrebuildRemembered holds renders that take builds Prebuild started
// from the roots an earlier discovery found (the roots memo) to the same
// renders without them, in a cluster's tree: a Flux root with a name
// prefix (taken when an edit is in its folder, or in a file of it), one
// whose source hides a file of its folder (a build that read the file
// is not its build), a Flux root whose spec changed since (not taken),
// and a plain root.
func TestPrebuildRemembered(t *testing.T) {
	const url = "https://example.com/fleet.git"
	cm := func(name string) []byte {
		return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  k: v\n")
	}
	fluxKs := func(name, p, prefix string) string {
		return "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name +
			"\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  path: " + p +
			"\n  namePrefix: " + prefix + "\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
	}
	files := map[string][]byte{
		"clusters/prod/flux-system/gotk-sync.yaml": []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  ref:\n    branch: main\n  url: " + url +
			"\n  ignore: |\n    /hidden/secret.yaml\n" + fluxKs("flux-system", "./clusters/prod", "")),
		"clusters/prod/apps.yaml":   []byte(fluxKs("app", "./app", "a-") + fluxKs("hidden", "./hidden", "h-") + fluxKs("respec", "./respec", "r-")),
		"app/kustomization.yaml":    []byte("resources:\n  - app.yaml\n"),
		"app/app.yaml":              cm("app"),
		"hidden/public.yaml":        cm("public"), // no kustomization file: Flux generates one
		"hidden/secret.yaml":        cm("secret"),
		"respec/kustomization.yaml": []byte("resources:\n  - respec.yaml\n"),
		"respec/respec.yaml":        cm("respec"),
		"plain/kustomization.yaml":  []byte("resources:\n  - plain.yaml\n"),
		"plain/plain.yaml":          cm("plain"),
	}
	dir, before, tree, c := twoCommits(t, files, map[string][]byte{
		"clusters/prod/apps.yaml": []byte(fluxKs("app", "./app", "a-") + fluxKs("hidden", "./hidden", "h-") + fluxKs("respec", "./respec", "changed-")),
	})
	ctx := context.Background()
	checkout := Checkout{Remotes: []string{url}, Branch: "main"}
	opts := Options{Cache: c, Origins: true, Jobs: 5}
	if _, err := New(before, dir, opts).Discover(ctx, checkout); err != nil {
		t.Fatal(err)
	}

	plain := New(tree, dir, Options{Origins: true})
	disc, err := plain.Discover(ctx, checkout)
	if err != nil {
		t.Fatal(err)
	}
	want, err := plain.Render(ctx, disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	eng := New(tree, dir, opts)
	eng.Prebuild(ctx, []string{"app/app.yaml", "hidden/public.yaml", "respec/kustomization.yaml", "plain/kustomization.yaml"})
	started := map[string]*prebuild{}
	for dir, p := range eng.prebuilt {
		started[dir] = p
	}
	if disc, err = eng.Discover(ctx, checkout); err != nil {
		t.Fatal(err)
	}
	got, err := eng.Render(ctx, disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	sameRenders(t, want, got)
	taken := map[string]bool{}
	for dir, p := range started {
		taken[dir] = p.taken
	}
	if diff := cmp.Diff(map[string]bool{"app": true, "hidden": false, "respec": false, "plain": true}, taken); diff != "" {
		t.Errorf("builds started and taken (-want +got):\n%s", diff)
	}
	if k := started["app"].root.Kustomization; k == nil || k.Spec.NamePrefix != "a-" {
		t.Errorf("app was prebuilt as %+v, want as Flux Kustomization app", started["app"].root)
	}
}

// TestRootsAbove: the roots prebuilt for edited files are those the roots
// memo holds nearest above each, and without one the folders of edited
// kustomization files (how many start is TestPrebuildBound's).
func TestRootsAbove(t *testing.T) {
	const spec = `{"path":"./app","namePrefix":"a-"}`
	for _, tc := range []struct {
		memo  map[string]string // directory -> spec, "" plain
		files []string
		want  []string // directories, a Flux root's with its name prefix
	}{
		{files: []string{"overlays/prod/kustomization.yaml"}, want: []string{"overlays/prod"}},
		{files: []string{"kustomization.yml"}, want: []string{"."}},
		{files: []string{"base/Kustomization", "base/deploy.yaml", "README.md"}, want: []string{"base"}},
		{files: []string{"base/deploy.yaml", "overlays/prod/kustomization.yaml.orig"}},
		{memo: map[string]string{"app": spec}, files: []string{"app/app.yaml"}, want: []string{"app a-"}},
		{memo: map[string]string{"app": spec, ".": ""}, files: []string{"app/config/app.yaml", "app/kustomization.yaml"}, want: []string{"app a-"}},
		{memo: map[string]string{"app": spec, ".": ""}, files: []string{"README.md", "base/kustomization.yaml"}, want: []string{"."}},
		{memo: map[string]string{"overlays/prod": ""}, files: []string{"base/kustomization.yaml", "overlays/prod/patch.yaml"}, want: []string{"base", "overlays/prod"}},
		{memo: map[string]string{"app": "{not json"}, files: []string{"app/app.yaml"}},
	} {
		c, err := cache.Open(t.TempDir(), 0)
		if err != nil {
			t.Fatal(err)
		}
		eng := New(repo.NewWorkTree(t.TempDir()), "/repo", Options{Cache: c})
		for dir, spec := range tc.memo {
			eng.rootsMemo().Put(dir, spec)
		}
		var got []string
		for _, root := range eng.rootsAbove(tc.files) {
			s := root.Path
			if k := root.Kustomization; k != nil {
				s += " " + k.Spec.NamePrefix
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("memo %q, files %q: prebuilt %q, want %q", tc.memo, tc.files, got, tc.want)
		}
	}
}

// TestPrebuildUnknown: a discovery that finds a file its memo did not
// know (one edited since the last run) starts the build of the root
// above it, which the render takes; a discovery with an empty memo, to
// which every file is new, starts none.
func TestPrebuildUnknown(t *testing.T) {
	dir, before, tree, c := twoCommits(t, map[string][]byte{
		"app/kustomization.yaml":   []byte("resources:\n  - app.yaml\nnamePrefix: p-\n"),
		"app/app.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  k: v\n"),
		"other/kustomization.yaml": []byte("resources: []\n"),
	}, map[string][]byte{"app/app.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  k: edited\n")})
	ctx := context.Background()
	first := New(before, dir, Options{Cache: c, Jobs: 2})
	if _, err := first.Discover(ctx, Checkout{}); err != nil {
		t.Fatal(err)
	}
	if len(first.prebuilt) != 0 {
		t.Errorf("a discovery with an empty memo prebuilt %d roots", len(first.prebuilt))
	}

	eng := New(tree, dir, Options{Cache: c, Jobs: 2})
	disc, err := eng.Discover(ctx, Checkout{})
	if err != nil {
		t.Fatal(err)
	}
	p := eng.prebuilt["app"]
	if p == nil || len(eng.prebuilt) != 1 {
		t.Fatalf("prebuilt %v, want app's build alone", slices.Collect(maps.Keys(eng.prebuilt)))
	}
	got, err := eng.Render(ctx, disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	plain := New(tree, dir, Options{})
	want, err := plain.Render(ctx, disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	sameRenders(t, want, got)
	if !p.taken {
		t.Error("app's build was not taken")
	}
}

// twoCommits commits files, then files with edits, and returns the
// repository's folder, the two commits' trees and an empty cache.
func twoCommits(t *testing.T, files, edits map[string][]byte) (dir string, before, after repo.Tree, c *cache.Cache) {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "init", files)
	g.CommitFiles(t, "edit", edits)
	r, before := openTree(t, g.Dir, "HEAD~1")
	_, after = openTree(t, g.Dir, "HEAD")
	c, err := cache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return r.Root, before, after, c
}

// sameRenders fails t for each root whose render with builds started
// ahead (got) differs from its render without (want).
func sameRenders(t *testing.T, want, got []*Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d roots rendered, want %d", len(got), len(want))
	}
	for i := range want {
		if diff := cmp.Diff(summary(t, want[i]), summary(t, got[i])); diff != "" {
			t.Errorf("%s: prebuilt render differs (-without +with):\n%s", want[i].Root, diff)
		}
	}
}
