package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

const example = "../../testdata/examples/sock-shop"

// exampleRepo copies one of the bundled example's repositories into a new
// Git repository and commits it.
func exampleRepo(t testing.TB, name string) *gittest.Repo {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import "+name, gittest.CopyTree(t, filepath.Join(example, name)))
	return g
}

func openTree(t testing.TB, dir, rev string) (*repo.Repo, repo.Tree) {
	t.Helper()
	r, err := repo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.Tree(rev)
	if err != nil {
		t.Fatal(err)
	}
	return r, tree
}

// renderAll discovers and renders every root of the tree at rev.
func renderAll(t testing.TB, dir, rev string, opts Options) (*Repository, []*Result) {
	t.Helper()
	r, tree := openTree(t, dir, rev)
	disc, err := Discover(tree, Checkout{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := New(tree, r.Root, opts).Render(context.Background(), disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	return disc, res
}

func mustRender(t testing.TB, results []*Result) {
	t.Helper()
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Root, r.Err)
		}
	}
}

func rootNames(roots []Root) []string {
	var out []string
	for _, r := range roots {
		out = append(out, r.String())
	}
	return out
}

func TestExampleRoots(t *testing.T) {
	for _, tc := range []struct {
		repo    string
		roots   []string
		skipped []string
	}{
		{
			repo:  "microservices-repo",
			roots: []string{"deploy/kubernetes/overlays/development", "deploy/kubernetes/overlays/prod", "deploy/kubernetes/overlays/test"},
		},
		{
			repo: "flux-repo",
			roots: []string{
				"apps/overlays/development (Kustomization flux-system/apps)",
				"clusters/dev-cluster (Kustomization flux-system/flux-system)",
			},
			skipped: []string{"sock-shop/sock-shop: its source GitRepository/sock-shop/sock-shop is another repository (https://git-codecommit.us-west-2.amazonaws.com/v1/repos/microservices-repo)"},
		},
	} {
		t.Run(tc.repo, func(t *testing.T) {
			g := exampleRepo(t, tc.repo)
			_, tree := openTree(t, g.Dir, "")
			disc, err := Discover(tree, Checkout{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.roots, rootNames(disc.Roots)); diff != "" {
				t.Errorf("roots (-want +got):\n%s", diff)
			}
			var skipped []string
			for _, s := range disc.Skipped {
				skipped = append(skipped, s.Kustomization.ID()+": "+s.Reason)
			}
			if diff := cmp.Diff(tc.skipped, skipped); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocalSourceByRemoteURL(t *testing.T) {
	g := exampleRepo(t, "flux-repo")
	_, tree := openTree(t, g.Dir, "")
	// Seen from a clone of the microservices repository, the tenant's
	// GitRepository is this repository.
	disc, err := Discover(tree, Checkout{Remotes: []string{"codecommit::us-west-2://microservices-repo"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"apps/overlays/development (Kustomization flux-system/apps)",
		"clusters/dev-cluster (Kustomization flux-system/flux-system)",
		"deploy/kubernetes/overlays/development (Kustomization sock-shop/sock-shop)",
	}
	if diff := cmp.Diff(want, rootNames(disc.Roots)); diff != "" {
		t.Errorf("roots (-want +got):\n%s", diff)
	}
}

func TestNormalizeGitURL(t *testing.T) {
	want := "git-codecommit.us-west-2.amazonaws.com/v1/repos/flux-repo"
	for _, u := range []string{
		"https://git-codecommit.us-west-2.amazonaws.com/v1/repos/flux-repo",
		"ssh://APKAEIBAERJR2EXAMPLE@git-codecommit.us-west-2.amazonaws.com/v1/repos/flux-repo",
		"codecommit::us-west-2://flux-repo",
		"codecommit::us-west-2://profile@flux-repo",
		"https://Git-CodeCommit.us-west-2.amazonaws.com/v1/repos/flux-repo.git/",
	} {
		if got := NormalizeGitURL(u); got != want {
			t.Errorf("NormalizeGitURL(%q) = %q, want %q", u, got, want)
		}
	}
	if a, b := NormalizeGitURL("git@github.com:org/fleet.git"), NormalizeGitURL("https://github.com/org/fleet"); a != b {
		t.Errorf("scp and https forms differ: %q vs %q", a, b)
	}
	if a, b := NormalizeGitURL("https://github.com/Truxnell/home-cluster"), NormalizeGitURL("https://github.com/truxnell/home-cluster.git"); a != b {
		t.Errorf("GitHub names in two cases differ: %q vs %q", a, b)
	}
	if a, b := NormalizeGitURL("https://git.example.com/Org/fleet"), NormalizeGitURL("https://git.example.com/org/fleet"); a == b {
		t.Errorf("a self-hosted server's names in two cases are one: %q", a)
	}
}

// kustomizeBuild is the reference: kustomize's own build of a directory on
// disk, with the options of `kustomize build` (plain) or of
// kustomize-controller (flux).
func kustomizeBuild(t testing.TB, dir string, flux bool) []byte {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified
	if flux {
		opts.Reorder = ""
		opts.LoadRestrictions = kustypes.LoadRestrictionsNone
	}
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPlainRootsMatchKustomizeBuild: a leaf overlay renders byte for byte
// as `kustomize build` prints it.
func TestPlainRootsMatchKustomizeBuild(t *testing.T) {
	corpus := t.TempDir()
	demo, err := os.ReadFile(filepath.Join(example, "microservices-repo/deploy/kubernetes/base/complete-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := benchgen.Write(corpus, demo, benchgen.Options{Copies: 3}); err != nil {
		t.Fatal(err)
	}
	ms := exampleRepo(t, "microservices-repo")
	cases := map[string][]string{ms.Dir: {"deploy/kubernetes/overlays/development", "deploy/kubernetes/overlays/test", "deploy/kubernetes/overlays/prod", "deploy/kubernetes/base"}}
	for i := 0; i < 3; i++ {
		for _, env := range benchgen.Envs() {
			cases[corpus] = append(cases[corpus], filepath.ToSlash(filepath.Join("apps", "app-00"+string(rune('0'+i)), "overlays", env)))
		}
	}
	for dir, paths := range cases {
		tree := repo.NewWorkTree(dir)
		disc, err := Discover(tree, Checkout{})
		if err != nil {
			t.Fatal(err)
		}
		var roots []Root
		for _, p := range paths {
			roots = append(roots, Root{Path: p})
		}
		results, err := New(tree, dir, Options{}).Render(context.Background(), disc, roots)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range results {
			t.Run(res.Root.Path, func(t *testing.T) {
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				want := kustomizeBuild(t, filepath.Join(dir, res.Root.Path), false)
				if diff := cmp.Diff(string(want), string(output(t, res))); diff != "" {
					t.Errorf("render differs from kustomize build (-kustomize +render):\n%s", diff)
				}
			})
		}
	}
}

// objectSet reads a YAML stream into objects keyed by kind, namespace and
// name, for comparisons that do not depend on order.
func objectSet(t testing.TB, data []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var m map[string]any
		if err := sigsyaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		if m == nil {
			continue
		}
		md, _ := m["metadata"].(map[string]any)
		key := m["apiVersion"].(string) + "/" + m["kind"].(string) + "/" + str(md["namespace"]) + "/" + str(md["name"])
		if _, dup := out[key]; dup {
			t.Fatalf("duplicate object %s", key)
		}
		out[key] = m
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

// withOwner adds the labels kustomize-controller puts on what it applies.
func withOwner(objs map[string]map[string]any, ns, name string) {
	for _, o := range objs {
		md := o["metadata"].(map[string]any)
		labels, _ := md["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
		}
		labels[OwnerNameLabel] = name
		labels[OwnerNamespaceLabel] = ns
		md["labels"] = labels
	}
}

// TestFluxRootsMatchKustomize: a Flux root renders the objects kustomize
// builds from its path, with kustomize-controller's ownership labels. For a
// path without a kustomization file the reference builds one written by
// hand, listing what Flux would list.
func TestFluxRootsMatchKustomize(t *testing.T) {
	flux := exampleRepo(t, "flux-repo")
	corpus := gittest.Init(t, t.TempDir())
	demo, err := os.ReadFile(filepath.Join(example, "microservices-repo/deploy/kubernetes/base/complete-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := benchgen.Write(corpus.Dir, demo, benchgen.Options{Copies: 2}); err != nil {
		t.Fatal(err)
	}
	corpus.Commit(t, "corpus")
	for _, g := range []*gittest.Repo{flux, corpus} {
		disc, results := renderAll(t, g.Dir, "", Options{})
		mustRender(t, results)
		if len(results) == 0 || len(results) != len(disc.Roots) {
			t.Fatalf("rendered %d of %d roots", len(results), len(disc.Roots))
		}
		for _, res := range results {
			t.Run(res.Root.String(), func(t *testing.T) {
				k := res.Root.Kustomization
				if k == nil {
					t.Fatal("not a Flux root")
				}
				dir := filepath.Join(g.Dir, res.Root.Path)
				if g == corpus && strings.HasPrefix(res.Root.Path, "clusters/") {
					t.Skip("a cluster's sync: its Kustomizations, which the Flux CLI test holds to flux build")
				}
				if res.Root.Path == "clusters/dev-cluster" {
					ref := t.TempDir()
					if err := os.CopyFS(ref, os.DirFS(g.Dir)); err != nil {
						t.Fatal(err)
					}
					dir = filepath.Join(ref, res.Root.Path)
					gen := "resources:\n- ./apps.yaml\n- ./flux-system\n"
					if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(gen), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want := objectSet(t, kustomizeBuild(t, dir, true))
				withOwner(want, k.Namespace(), k.Object.Name)
				if diff := cmp.Diff(want, objectSet(t, output(t, res))); diff != "" {
					t.Errorf("objects differ (-kustomize +render):\n%s", diff)
				}
			})
		}
	}
}

// TestRevisionEqualsCheckout renders a revision straight from the object
// store and a checkout of the same revision: the output must be the same
// bytes.
func TestRevisionEqualsCheckout(t *testing.T) {
	g := exampleRepo(t, "microservices-repo")
	old := g.CommitFiles(t, "bump test", map[string][]byte{
		"deploy/kubernetes/overlays/test/kustomization.yaml": []byte("resources:\n- ../../base\nimages:\n- name: weaveworksdemos/front-end\n  newTag: main-1f49071-24\n"),
	})
	g.CommitFiles(t, "drop prod", map[string][]byte{"deploy/kubernetes/overlays/prod": nil})

	_, atRev := renderAll(t, g.Dir, old.String(), Options{})
	mustRender(t, atRev)
	checkout := gittest.Init(t, t.TempDir())
	checkout.CommitFiles(t, "checkout", treeFiles(t, g.Dir, old.String()))
	_, fromCheckout := renderAll(t, checkout.Dir, "", Options{})
	mustRender(t, fromCheckout)
	if len(atRev) != 3 {
		t.Fatalf("rendered %d roots at %s, want 3", len(atRev), old)
	}
	for i := range atRev {
		if !bytes.Equal(output(t, atRev[i]), output(t, fromCheckout[i])) || atRev[i].Root.Path != fromCheckout[i].Root.Path {
			t.Errorf("%s: render at revision differs from checkout", atRev[i].Root)
		}
		if diff := cmp.Diff(atRev[i].Inputs, fromCheckout[i].Inputs); diff != "" {
			t.Errorf("%s: inputs differ (-revision +checkout):\n%s", atRev[i].Root, diff)
		}
	}
	_, head := renderAll(t, g.Dir, "HEAD", Options{})
	if len(head) != 2 {
		t.Errorf("HEAD has %d roots, want 2 (prod removed)", len(head))
	}
}

// treeFiles reads every file of a revision.
func treeFiles(t testing.TB, dir, rev string) map[string][]byte {
	t.Helper()
	_, tree := openTree(t, dir, rev)
	files := map[string][]byte{}
	var walk func(string)
	walk = func(d string) {
		es, err := tree.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			p := join(d, e.Name)
			if e.Kind == repo.Dir {
				walk(p)
				continue
			}
			data, err := tree.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[p] = data
		}
	}
	walk(".")
	return files
}

// cachedOptions are engine options with a cache of the test's own.
func cachedOptions(t *testing.T) Options {
	t.Helper()
	c, err := cache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Cache: c, Salt: "test"}
}

func TestCache(t *testing.T) {
	g := exampleRepo(t, "microservices-repo")
	opts := cachedOptions(t)
	c := opts.Cache
	_, first := renderAll(t, g.Dir, "", opts)
	mustRender(t, first)
	_, second := renderAll(t, g.Dir, "", opts)
	for i, res := range second {
		if !res.Cached || !bytes.Equal(output(t, res), output(t, first[i])) {
			t.Errorf("%s: cached=%v, same output=%v", res.Root, res.Cached, bytes.Equal(output(t, res), output(t, first[i])))
		}
		if diff := cmp.Diff(first[i].Inputs, res.Inputs); diff != "" {
			t.Errorf("%s: inputs (-fresh +cached):\n%s", res.Root, diff)
		}
	}
	// A cached output damaged after the lookup: the root renders again.
	_, again := renderAll(t, g.Dir, "", opts)
	if err := c.Put(again[0].Digest, []byte("kind: Damaged\n")); err != nil {
		t.Fatal(err)
	}
	if !again[0].Cached || !bytes.Equal(output(t, again[0]), output(t, first[0])) {
		t.Errorf("%s: a damaged cache entry was not rendered again", again[0].Root)
	}
	g.Write(t, map[string][]byte{"deploy/kubernetes/overlays/prod/kustomization.yaml": []byte("resources:\n- ../../base\nnamePrefix: p-\n")})
	_, third := renderAll(t, g.Dir, "", opts)
	mustRender(t, third)
	cached := map[string]bool{}
	for _, res := range third {
		cached[res.Root.Path] = res.Cached
	}
	want := map[string]bool{"deploy/kubernetes/overlays/development": true, "deploy/kubernetes/overlays/test": true, "deploy/kubernetes/overlays/prod": false}
	if diff := cmp.Diff(want, cached); diff != "" {
		t.Errorf("cached after editing prod (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(output(t, third[1])), "name: p-front-end") {
		t.Error("prod did not pick up its new namePrefix")
	}
	// The earlier revision's entry is still there: back to it, no render.
	g.Write(t, map[string][]byte{"deploy/kubernetes/overlays/prod/kustomization.yaml": gittest.CopyTree(t, filepath.Join(example, "microservices-repo"))["deploy/kubernetes/overlays/prod/kustomization.yaml"]})
	_, fourth := renderAll(t, g.Dir, "", opts)
	for _, res := range fourth {
		if !res.Cached {
			t.Errorf("%s rendered again after its inputs went back", res.Root)
		}
	}
}

// TestUnchanged tells, from the cache alone, which roots render the same at
// a revision and in the working tree: the roots an edit did not touch.
func TestUnchanged(t *testing.T) {
	g := exampleRepo(t, "microservices-repo")
	opts := cachedOptions(t)
	g.Write(t, map[string][]byte{"deploy/kubernetes/overlays/prod/kustomization.yaml": []byte("resources:\n- ../../base\nnamePrefix: p-\n")})
	r, head := openTree(t, g.Dir, "")
	_, base := openTree(t, g.Dir, "HEAD")
	disc, err := Discover(head, Checkout{})
	if err != nil {
		t.Fatal(err)
	}
	headEngine, baseEngine := New(head, r.Root, opts), New(base, r.Root, opts)
	for i, same := range headEngine.Unchanged(baseEngine, disc, disc.Roots) {
		if same {
			t.Errorf("%s: unchanged before anything was cached", disc.Roots[i])
		}
	}
	if _, err := headEngine.Render(context.Background(), disc, disc.Roots); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"deploy/kubernetes/overlays/development": true, "deploy/kubernetes/overlays/test": true, "deploy/kubernetes/overlays/prod": false}
	for i, got := range headEngine.Unchanged(baseEngine, disc, disc.Roots) {
		if root := disc.Roots[i]; got != want[root.Path] {
			t.Errorf("%s: unchanged %v, want %v", root, got, want[root.Path])
		}
	}
}

// TestObjectsOf picks the image automation objects out of fresh and cached
// renders of the bundled Flux repository: both give exactly what filtering
// every object would.
func TestObjectsOf(t *testing.T) {
	g := exampleRepo(t, "flux-repo")
	opts := cachedOptions(t)
	_, fresh := renderAll(t, g.Dir, "", opts)
	mustRender(t, fresh)
	_, cached := renderAll(t, g.Dir, "", opts)
	found := 0
	for i, res := range cached {
		all, err := fresh[i].Objects()
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, n := range all {
			if strings.HasPrefix(n.GetApiVersion(), "image.toolkit.fluxcd.io/") {
				want = append(want, n.MustString())
			}
		}
		for _, r := range []*Result{fresh[i], res} {
			objs, err := r.ObjectsOf("image.toolkit.fluxcd.io")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range objs {
				got = append(got, n.MustString())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (cached %v): ObjectsOf (-want +got):\n%s", r.Root, r.Cached, diff)
			}
		}
		found += len(want)
	}
	if found != 3 {
		t.Errorf("found %d image automation objects in the example, want 3", found)
	}
}

// TestCacheConcurrentRuns renders the same repository from several engines
// at once into one cache: every run must get complete, identical output.
func TestCacheConcurrentRuns(t *testing.T) {
	g := exampleRepo(t, "microservices-repo")
	dir := t.TempDir()
	_, want := renderAll(t, g.Dir, "", Options{})
	errs := make(chan error, 6)
	outs := make(chan []*Result, 6)
	for range 6 {
		go func() {
			c, err := cache.Open(dir, 0)
			if err != nil {
				errs <- err
				return
			}
			r, tree := openTree(t, g.Dir, "")
			disc, err := Discover(tree, Checkout{})
			if err != nil {
				errs <- err
				return
			}
			res, err := New(tree, r.Root, Options{Cache: c, Salt: "x"}).Render(context.Background(), disc, disc.Roots)
			errs <- err
			outs <- res
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		res := <-outs
		for i := range res {
			if res[i].Err != nil || !bytes.Equal(output(t, res[i]), output(t, want[i])) {
				t.Errorf("%s: concurrent run got a different result (err %v)", res[i].Root, res[i].Err)
			}
		}
	}
}

// TestOrigins: with origins recorded, each object points at the file (and
// the object in it) it came from, and the output is unchanged.
func TestOrigins(t *testing.T) {
	corpus := gittest.Init(t, t.TempDir())
	demo, err := os.ReadFile(filepath.Join(example, "microservices-repo/deploy/kubernetes/base/complete-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := benchgen.Write(corpus.Dir, demo, benchgen.Options{Copies: 1}); err != nil {
		t.Fatal(err)
	}
	corpus.Commit(t, "corpus")
	_, plain := renderAll(t, corpus.Dir, "", Options{})
	_, traced := renderAll(t, corpus.Dir, "", Options{Origins: true})
	mustRender(t, traced)
	for i, res := range traced {
		if !bytes.Equal(output(t, res), output(t, plain[i])) {
			t.Errorf("%s: recording origins changed the output", res.Root)
		}
		if strings.HasPrefix(res.Root.Path, "clusters/") {
			continue // a cluster's sync, made of Flux Kustomizations only
		}
		objs, err := res.Objects()
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Origins) != len(objs) {
			t.Fatalf("%s: %d origins for %d objects", res.Root, len(res.Origins), len(objs))
		}
		_, tree := openTree(t, corpus.Dir, "")
		located := map[string]int{}
		for j, o := range objs {
			origin := res.Origins[j]
			if origin.File == "" {
				t.Errorf("%s: %s/%s has no origin", res.Root, o.GetKind(), o.GetName())
				continue
			}
			node := origin.Locate(tree)
			if node == nil {
				t.Errorf("%s: cannot locate %+v", res.Root, origin)
				continue
			}
			located[origin.File+":"+o.GetKind()] = node.Line
		}
		// The generated ConfigMap comes from the generator's entry, the line
		// after configMapGenerator:.
		k, err := os.ReadFile(filepath.Join(corpus.Dir, res.Root.Path, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		generator := bytes.Count(k[:bytes.Index(k, []byte("configMapGenerator:"))], []byte("\n")) + 2
		want := map[string]int{
			"apps/app-000/base/complete-demo.yaml:Namespace":  2,
			"apps/app-000/base/complete-demo.yaml:Deployment": 7,
			res.Root.Path + "/kustomization.yaml:ConfigMap":   generator,
		}
		for k, line := range want {
			if _, ok := located[k]; !ok {
				t.Errorf("%s: nothing located in %s", res.Root, k)
				continue
			}
			if k != "apps/app-000/base/complete-demo.yaml:Deployment" && located[k] != line {
				t.Errorf("%s: %s at line %d, want %d", res.Root, k, located[k], line)
			}
		}
	}
}

// TestInferredOrigins checks the origins the engine infers against the ones
// kustomize's own tracking records, for every object of every root of the
// bundled examples and of a generated corpus.
func TestInferredOrigins(t *testing.T) {
	corpus := gittest.Init(t, t.TempDir())
	demo, err := os.ReadFile(filepath.Join(example, "microservices-repo/deploy/kubernetes/base/complete-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := benchgen.Write(corpus.Dir, demo, benchgen.Options{Copies: 2}); err != nil {
		t.Fatal(err)
	}
	corpus.Commit(t, "corpus")
	dirs := map[string]string{"corpus": corpus.Dir}
	for _, name := range []string{"microservices-repo", "flux-repo"} {
		dirs[name] = exampleRepo(t, name).Dir
		g := gittest.Init(t, t.TempDir())
		g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join(example+"-walkthrough-mistakes", name)))
		dirs["mistakes/"+name] = g.Dir
	}
	compared := 0
	for name, dir := range dirs {
		r, tree := openTree(t, dir, "")
		disc, err := Discover(tree, Checkout{})
		if err != nil {
			t.Fatal(err)
		}
		compared += compareOrigins(t, name, tree, r.Root, disc, disc.Roots)
	}
	// A Flux tree whose objects are named by post-build variables
	// (name: ${APP}): matched by the names kustomize built, before
	// substitution, and located at the object as written.
	eng, disc := discoverTree(t, fluxFixture(t, "homelab", "https://github.com/example/home-lab.git", nil).Dir)
	compared += compareOrigins(t, "homelab", eng.tree, eng.abs, disc, disc.Roots)
	if compared < 400 {
		t.Errorf("compared the origins of %d objects, want at least 400", compared)
	}
	results, err := New(eng.tree, eng.abs, Options{Origins: true}).Render(context.Background(), disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if res.Root.Path != "kubernetes/apps/network/echo/app" {
			continue
		}
		objs, err := res.Objects()
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range objs {
			node := res.Origins[i].Locate(eng.tree)
			if node == nil {
				t.Errorf("%s/%s: cannot locate %+v", o.GetKind(), o.GetName(), res.Origins[i])
				continue
			}
			if name := manifest.Scalar(manifest.Lookup(node, "metadata"), "name"); name != "${APP}" {
				t.Errorf("%s/%s is located at an object named %q, want ${APP}", o.GetKind(), o.GetName(), name)
			}
		}
		return
	}
	t.Error("the home-lab fixture has no echo root")
}

// compareOrigins renders roots with inferred origins and with kustomize's
// tracking, reports any difference, and returns how many objects had an
// origin.
func compareOrigins(t *testing.T, name string, tree repo.Tree, abs string, disc *Repository, roots []Root) int {
	t.Helper()
	inferred, err := New(tree, abs, Options{Origins: true}).Render(context.Background(), disc, roots)
	if err != nil {
		t.Fatal(err)
	}
	exact := New(tree, abs, Options{Origins: true})
	exact.kustomizeOrigins = true
	tracked, err := exact.Render(context.Background(), disc, roots)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, res := range inferred {
		if res.Err != nil || tracked[i].Err != nil {
			if (res.Err == nil) != (tracked[i].Err == nil) {
				t.Errorf("%s: %s: inferring: %v; tracking: %v", name, res.Root, res.Err, tracked[i].Err)
			}
			continue
		}
		if !bytes.Equal(output(t, res), output(t, tracked[i])) {
			t.Errorf("%s: %s: the outputs differ", name, res.Root)
		}
		if diff := cmp.Diff(tracked[i].Origins, res.Origins); diff != "" {
			t.Errorf("%s: %s: origins (-kustomize +inferred):\n%s", name, res.Root, diff)
		}
		for _, o := range res.Origins {
			if o.File != "" {
				n++
			}
		}
	}
	return n
}

func TestEntriesRoundTrip(t *testing.T) {
	in := []entry{
		{
			Observations: []kfs.Observation{{Op: "read", Path: "a/b.yaml", Value: "abc"}, {Op: "stat", Path: "odd\tname\nwith\\slash", Value: "none"}},
			Output:       "d1",
			Produced:     []Produced{{Kind: "Secret", Namespace: "ns", Name: "s", Data: map[string]string{"k": "v", "a": ""}, SOPS: true}, {Kind: "ConfigMap", Name: "c"}},
			Origins: []Origin{
				{File: "base/app.yaml", Kind: "Deployment", Name: "front-end"},
				{File: "overlays/prod/kustomization.yaml", Kind: "ConfigMap", Name: "settings", Generator: "ConfigMapGenerator"},
			},
		},
		{Output: "d2", Observations: []kfs.Observation{}},
	}
	data, err := encodeEntries(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeEntries(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("(-in +out):\n%s", diff)
	}
	// A path with a NUL cannot be stored; a damaged entry is not read.
	if _, err := encodeEntries([]entry{{Observations: []kfs.Observation{{Op: "read", Path: "a\x00b"}}}}); err == nil {
		t.Error("encoded a path holding a NUL")
	}
	if _, err := encodeEntries([]entry{{Produced: []Produced{{Kind: "ConfigMap", Data: map[string]string{"k": "a\x00b"}}}}}); err == nil {
		t.Error("encoded a ConfigMap value holding a NUL")
	}
	for _, bad := range [][]byte{nil, data[:len(data)-1], data[:len(data)/2], append(append([]byte{}, data...), "x\x00"...)} {
		if _, err := decodeEntries(string(bad)); err == nil {
			t.Errorf("decoded a damaged entry %q", bad)
		}
	}
}

// output is a result's YAML, read from the cache if it came from there.
func output(t *testing.T, res *Result) []byte {
	t.Helper()
	data, err := res.YAML()
	if err != nil {
		t.Fatalf("%s: %v", res.Root, err)
	}
	return data
}

// TestAsYAML prints every root of both examples as kustomize's own
// ResMap.AsYaml does, byte for byte.
func TestAsYAML(t *testing.T) {
	for _, name := range []string{"microservices-repo", "flux-repo"} {
		g := exampleRepo(t, name)
		r, tree := openTree(t, g.Dir, "")
		disc, err := Discover(tree, Checkout{})
		if err != nil {
			t.Fatal(err)
		}
		e := New(tree, r.Root, Options{})
		e.noPassThrough = true
		for _, root := range disc.Roots {
			built, _, err := e.kustomize(root, kfs.New(tree, r.Root, false), false)
			if err != nil {
				t.Fatalf("%s: %v", root, err)
			}
			m := built.(resmap.ResMap)
			want, err := m.AsYaml()
			if err != nil {
				t.Fatal(err)
			}
			got, err := asYAML(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) || len(got) == 0 {
				t.Errorf("%s: %d bytes, kustomize prints %d:\n%s", root, len(got), len(want), cmp.Diff(string(want), string(got)))
			}
		}
	}
}

// TestMainLineFromDefaultBranch: a clone whose bootstrap sync is not
// written yet (the multi-tenancy example as any clone has it) takes the
// remote's default branch for its main line, so a tenant's GitRepository
// on another branch of the same URL is not the working tree; a clone that
// recorded no default branch keeps taking every branch as its own.
func TestMainLineFromDefaultBranch(t *testing.T) {
	const url = "https://github.com/example/fleet.git"
	ks := func(name, source, path string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n  namespace: apps\nspec:\n  interval: 5m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: " + source + "\n" + path
	}
	git := func(name, branch string) string {
		return "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: " + name + "\n  namespace: apps\nspec:\n  interval: 1m\n  url: " + url + "\n  ref:\n    branch: " + branch + "\n"
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "fleet", map[string][]byte{
		"tenants/team/sync.yaml":  []byte(git("team", "team") + "---\n" + ks("team", "team", "")),
		"clusters/apps.yaml":      []byte(git("fleet", "main") + "---\n" + ks("apps", "fleet", "  path: ./apps\n")),
		"apps/kustomization.yaml": []byte("resources:\n- cm.yaml\n"),
		"apps/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: apps\n"),
	})
	_, tree := openTree(t, g.Dir, "")
	for _, tc := range []struct {
		defaults []string
		roots    []string
		skipped  []string
	}{
		{defaults: []string{"main"},
			roots:   []string{"apps (Kustomization apps/apps)"},
			skipped: []string{"apps/team: its source GitRepository/apps/team is this repository's branch team, not the revision being rendered"}},
		{defaults: nil,
			roots: []string{". (Kustomization apps/team)", "apps (Kustomization apps/apps)"}},
	} {
		disc, err := Discover(tree, Checkout{Remotes: []string{url}, Branch: "main", DefaultBranches: tc.defaults})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.roots, rootNames(disc.Roots)); diff != "" {
			t.Errorf("default branches %q: roots (-want +got):\n%s", tc.defaults, diff)
		}
		var skipped []string
		for _, s := range disc.Skipped {
			skipped = append(skipped, s.Kustomization.ID()+": "+s.Reason)
		}
		if diff := cmp.Diff(tc.skipped, skipped); diff != "" {
			t.Errorf("default branches %q: skipped (-want +got):\n%s", tc.defaults, diff)
		}
	}
}
