package render

import (
	"context"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// inputsCorpora are repositories whose every root the static inputs are
// held to: the bundled examples, the Flux fixtures and the validation
// corpus.
var inputsCorpora = []string{
	"examples/sock-shop/microservices-repo",
	"examples/sock-shop/flux-repo",
	"examples/sock-shop-walkthrough-mistakes/microservices-repo",
	"examples/sock-shop-walkthrough-mistakes/flux-repo",
	"examples/helm-platform",
	"flux/homelab",
	"flux/platform",
	"flux/tenants",
	"validate/every-rule",
}

// TestInputsHoldObservations renders every root of the corpora, and of a
// generated repository, and checks that each path a build observed (read,
// listed, or stat'ed) is among the root's static inputs: a root whose
// inputs did not change cannot render otherwise.
func TestInputsHoldObservations(t *testing.T) {
	for _, c := range inputsCorpora {
		t.Run(c, func(t *testing.T) {
			g := gittest.Init(t, t.TempDir())
			g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "..", "testdata", filepath.FromSlash(c))))
			checkInputs(t, g.Dir)
		})
	}
	t.Run("generated", func(t *testing.T) {
		checkInputs(t, generated(t, 3))
	})
	t.Run("every field", func(t *testing.T) {
		// A kustomization naming files of other directories in each
		// field that reads one, and a directory through a symlink.
		g := gittest.Init(t, t.TempDir())
		g.CommitFiles(t, "import", map[string][]byte{
			"app/overlay/kustomization.yaml": []byte(`resources:
- ../base
- ../linked
patches:
- path: ../../shared/patch.yaml
configMapGenerator:
- name: settings
  envs: [../../shared/app.env]
  files: [config=../../shared/config.txt]
replacements:
- path: ../../shared/replacement.yaml
configurations:
- ../../shared/names.yaml
`),
			"app/base/kustomization.yaml":  []byte("resources: [deploy.yaml]\n"),
			"app/base/deploy.yaml":         []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n"),
			"elsewhere/kustomization.yaml": []byte("resources: [svc.yaml]\n"),
			"elsewhere/svc.yaml":           []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"),
			"shared/patch.yaml":            []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n"),
			"shared/app.env":               []byte("A=1\n"),
			"shared/config.txt":            []byte("hello\n"),
			"shared/replacement.yaml":      []byte("source: {kind: ConfigMap, name: settings, fieldPath: metadata.name}\ntargets:\n- select: {kind: Deployment}\n  fieldPaths: [metadata.annotations.settings]\n  options: {create: true}\n"),
			"shared/names.yaml":            []byte("nameReference:\n- kind: ConfigMap\n  fieldSpecs:\n  - kind: Deployment\n    path: metadata/annotations/settings\n"),
		})
		if err := os.Symlink("../elsewhere", filepath.Join(g.Dir, "app", "linked")); err != nil {
			t.Fatal(err)
		}
		if n := checkInputs(t, g.Dir); n != 1 {
			t.Errorf("%d roots checked, want 1", n)
		}
	})
}

// generated writes and commits the benchmarks' repository of n copies of
// the sock-shop.
func generated(t testing.TB, n int) string {
	demo, err := os.ReadFile(filepath.Join(example, "microservices-repo", "deploy", "kubernetes", "base", "complete-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := benchgen.Write(src, demo, benchgen.Options{Copies: n}); err != nil {
		t.Fatal(err)
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "generated", gittest.CopyTree(t, src))
	return g.Dir
}

// checkInputs renders every root of the working tree at dir and holds
// each rendered root's observations to its inputs; it returns the number
// of roots checked.
func checkInputs(t *testing.T, dir string) int {
	t.Helper()
	eng, disc := discoverTree(t, dir)
	results, err := eng.Render(context.Background(), disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	checked, produced := 0, 0
	for _, res := range results {
		if res.Err != nil || res.Root.At != nil {
			continue
		}
		checked++
		in := disc.Inputs(res.Root)
		for _, o := range res.Observations {
			if !in.Holds(o.Path) && !(o.Op == kfs.OpStat && aboveAny(o.Path, in.Paths)) {
				t.Errorf("%s: %s %s is not among its inputs %v", res.Root, o.Op, o.Path, in.Paths)
			}
		}
		if slices.ContainsFunc(res.Children, func(c Child) bool { return c.Kind == "Kustomization" }) && !in.Flux {
			t.Errorf("%s applies Flux Kustomizations, but its inputs are not marked Flux", res.Root)
		}
		if res.hasReleases() && !in.Releases {
			t.Errorf("%s applies HelmReleases, but its inputs are not marked Releases", res.Root)
		}
		for _, p := range res.Produced {
			if !disc.MayProduce(res.Root, []string{p.Name}) {
				t.Errorf("%s renders %s %s, which MayProduce says it cannot", res.Root, p.Kind, p.Name)
			}
			produced++
		}
		if res.Root.Kustomization != nil {
			objs, err := res.Objects()
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if n := (ObjectName{Namespace: o.GetNamespace(), Name: o.GetName()}); !disc.MayApply(res.Root, []ObjectName{n}) {
					t.Errorf("%s applies %s %s/%s, which MayApply says it cannot", res.Root, o.GetKind(), n.Namespace, n.Name)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no root rendered")
	}
	t.Logf("%d roots, %d ConfigMaps and Secrets", checked, produced)
	return checked
}

// aboveAny tells whether p is a directory above one of paths: whether it
// exists follows from theirs.
func aboveAny(p string, paths []string) bool {
	return slices.ContainsFunc(paths, func(q string) bool { return under(q, p) })
}

// TestInputsHolds is the lookup Inputs.Holds makes, on the orders that
// trip a binary search: a sibling whose name extends a directory's.
func TestInputsHolds(t *testing.T) {
	in := Inputs{Paths: []string{"a/b", "a/b-c", "a/b.yaml", "x/y.env"}}
	slices.Sort(in.Paths)
	for f, want := range map[string]bool{
		"a/b":          true,
		"a/b/c":        true,
		"a/b/c/d.yaml": true,
		"a/b-c/d":      true,
		"a/b.yaml":     true,
		"a/bc":         false,
		"a":            false,
		"x/y.env":      true,
		"x/y.env2":     false,
		"x/z":          false,
	} {
		if got := in.Holds(f); got != want {
			t.Errorf("Holds(%q) = %v, want %v", f, got, want)
		}
	}
	if !(Inputs{Paths: []string{"."}}).Holds("any/file") {
		t.Error(`"." does not hold every file`)
	}
	files := []string{"a/b", "a/b-c/x", "a/b.yaml", "a/b/c", "a/b/d/e", "a/bc"}
	if got := filesAt(files, "a/b"); !slices.Equal(got, []string{"a/b", "a/b/c", "a/b/d/e"}) {
		t.Errorf("filesAt(a/b) = %v", got)
	}
	if got := filesAt(files, "."); len(got) != len(files) {
		t.Errorf("filesAt(.) = %v", got)
	}
	for _, p := range []string{".", "a", "a/b", "a/b-c", "a/b/d", "a/b/d/e", "a/b/c/x", "a/bb", "a/b.yaml", "b", "a/"} {
		if got, want := hasFileAt(files, p), len(filesAt(files, p)) > 0; got != want {
			t.Errorf("hasFileAt(%q) = %v, filesAt finds %v", p, got, filesAt(files, p))
		}
	}
	if hasFileAt(nil, ".") {
		t.Error(`hasFileAt finds "." in no files`)
	}
}

// TestInputsRandomEdits edits a generated repository at random, file by
// file, and checks that every root whose render changed holds the edited
// file among its inputs: the static pass never misses a changed root.
func TestInputsRandomEdits(t *testing.T) {
	dir := generated(t, 4)
	r, tree := openTree(t, dir, "")
	before := renderedBy(t, r, tree)
	rng := rand.New(rand.NewPCG(1, 2))
	var files []string
	for f := range treeFiles(t, dir, "") {
		files = append(files, f)
	}
	slices.Sort(files)
	changed := 0
	for i := 0; i < 12; i++ {
		f := files[rng.IntN(len(files))]
		data, err := tree.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		edited := edit(rng, f, data)
		changes := map[string][]byte{f: edited}
		after := renderedBy(t, r, repo.Overlay(tree, changes))
		disc := after.disc
		for key, out := range after.outputs {
			if before.outputs[key] == out {
				continue
			}
			changed++
			root := after.roots[key]
			if !disc.Inputs(root).Holds(f) && !before.disc.Inputs(before.roots[key]).Holds(f) {
				t.Errorf("editing %s changes %s, whose inputs do not hold it", f, root)
			}
		}
	}
	if changed == 0 {
		t.Fatal("no edit changed a root: the test checks nothing")
	}
	t.Logf("%d root renders changed", changed)
}

type renders struct {
	disc    *Repository
	roots   map[string]Root
	outputs map[string]string
}

func renderedBy(t *testing.T, r *repo.Repo, tree repo.Tree) renders {
	t.Helper()
	eng := New(tree, r.Root, Options{})
	disc, err := eng.Discover(context.Background(), Checkout{Remotes: []string{"https://example.com/bench/fleet.git"}, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	results, err := eng.Render(context.Background(), disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	out := renders{disc: disc, roots: map[string]Root{}, outputs: map[string]string{}}
	for _, res := range results {
		out.roots[res.Root.Key()] = res.Root
		if res.Err != nil {
			out.outputs[res.Root.Key()] = "error: " + res.Err.Error()
			continue
		}
		y, err := res.YAML()
		if err != nil {
			t.Fatal(err)
		}
		out.outputs[res.Root.Key()] = string(y)
	}
	return out
}

// edit changes a file the way a pull request might: a replica count, an
// image tag, a line added or taken away.
func edit(rng *rand.Rand, f string, data []byte) []byte {
	lines := strings.Split(string(data), "\n")
	switch rng.IntN(3) {
	case 0:
		for i, l := range lines {
			if strings.Contains(l, "count:") || strings.Contains(l, "replicas:") || strings.Contains(l, "newTag:") {
				lines[i] = l + "9"
				return []byte(strings.Join(lines, "\n"))
			}
		}
		fallthrough
	case 1:
		if path.Ext(f) == ".env" {
			return append(data, "EDITED=1\n"...)
		}
		return append(data, "# edited\n"...)
	default:
		i := rng.IntN(len(lines))
		return []byte(strings.Join(slices.Delete(lines, i, i+1), "\n"))
	}
}

// TestMayApply: in the generated repository, an overlay may apply its own
// objects and not another copy's, whose objects have the same names in
// another namespace; a Kustomization whose targetNamespace differs cannot.
func TestMayApply(t *testing.T) {
	_, disc := discoverTree(t, generated(t, 3))
	root := func(p string) Root {
		for _, r := range disc.Roots {
			if r.Path == p {
				return r
			}
		}
		t.Fatalf("no root %s", p)
		return Root{}
	}
	own := []ObjectName{{Namespace: benchgen.Namespace(1), Name: "front-end"}}
	for _, tc := range []struct {
		root string
		objs []ObjectName
		want bool
	}{
		{"apps/app-001/overlays/prod", own, true},
		{"apps/app-002/overlays/prod", own, false},
		{"apps/app-002/overlays/prod", []ObjectName{{Name: "front-end"}}, true},
		{"apps/app-002/overlays/prod", []ObjectName{{Namespace: benchgen.Namespace(2), Name: "nothing-of-the-sort"}}, false},
		{"apps/app-002/overlays/prod", []ObjectName{{Name: benchgen.Namespace(1)}}, false}, // not "sock-shop"
		{"apps/app-001/overlays/prod", []ObjectName{{Namespace: benchgen.Namespace(1), Name: "settings-5b9dm7gk2h"}}, true},
		{"apps/app-001/overlays/prod", []ObjectName{{Namespace: benchgen.Namespace(1), Name: "settings-production"}}, false},
		{"clusters/prod", []ObjectName{{Namespace: "flux-system", Name: "app-001"}}, true},
		{"clusters/prod", own, false},
	} {
		if got := disc.MayApply(root(tc.root), tc.objs); got != tc.want {
			t.Errorf("MayApply(%s, %v) = %v, want %v", tc.root, tc.objs, got, tc.want)
		}
	}
	r := root("apps/app-001/overlays/prod")
	if r.Kustomization == nil {
		t.Fatal("the overlay has no Kustomization")
	}
	k := *r.Kustomization
	k.Spec.TargetNamespace = "elsewhere"
	r.Kustomization = &k
	if disc.MayApply(r, own) {
		t.Error("a Kustomization whose targetNamespace is elsewhere may apply an object in another namespace")
	}
}

// TestScope edits the generated repository one file at a time and checks
// which roots the static pass leaves to render: exactly those that read
// the file.
func TestScope(t *testing.T) {
	dir := generated(t, 3)
	r, tree := openTree(t, dir, "")
	side := func(tree repo.Tree) (*Engine, *Repository) {
		eng := New(tree, r.Root, Options{})
		disc, err := eng.Discover(context.Background(), Checkout{})
		if err != nil {
			t.Fatal(err)
		}
		return eng, disc
	}
	baseEng, baseRepo := side(tree)
	for _, tc := range []struct {
		file string
		want []string // the roots left to render, by path
	}{
		{"apps/app-001/overlays/prod/settings.env", []string{"apps/app-001/overlays/prod"}},
		{"apps/app-001/base/complete-demo.yaml", []string{"apps/app-001/overlays/development", "apps/app-001/overlays/prod", "apps/app-001/overlays/test"}},
		{"clusters/test/app-002.yaml", []string{"clusters/test"}},
		{"README.md", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := tree.ReadFile(tc.file)
			if err != nil {
				data = nil
			}
			headEng, headRepo := side(repo.Overlay(tree, map[string][]byte{tc.file: append(data, "# edited\n"...)}))
			alike, dependent := headEng.Scope(baseEng, baseRepo, headRepo, headRepo.Roots)
			if len(dependent) != 0 {
				t.Errorf("dependent roots in a repository without substitution or HelmReleases: %v", dependent)
			}
			var left []string
			for _, root := range headRepo.Roots {
				if !alike[root.Key()] {
					left = append(left, root.Path)
				}
			}
			slices.Sort(left)
			if !slices.Equal(left, tc.want) {
				t.Errorf("left to render %v, want %v", left, tc.want)
			}
		})
	}
}
