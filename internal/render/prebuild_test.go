package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
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
	var dirs []string
	for _, f := range disc.Files {
		if kfs.IsKustomizationFile(f) {
			dirs = append(dirs, path.Dir(f))
		}
	}
	ctx := context.Background()
	want, err := New(tree, r.Root, Options{}).Render(ctx, disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	eng := New(tree, r.Root, Options{Jobs: len(dirs) + 1}) // jobs to start them all
	eng.Prebuild(ctx, dirs)
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
	for i := range want {
		w, g := summary(t, want[i]), summary(t, got[i])
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s: prebuilt render differs (-without +with):\n%s", want[i].Root, diff)
		}
	}
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
		dirs := make([]string, tc.dirs)
		for i := range dirs {
			dirs[i] = fmt.Sprintf("d%d", i)
		}
		eng := New(tree, r.Root, Options{Jobs: tc.jobs})
		eng.Prebuild(context.Background(), dirs)
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
