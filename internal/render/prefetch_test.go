package render

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/chartserve"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/helmtest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry/registrytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// The charts fetched ahead of a render are those of the HelmReleases and
// sources written in the rendered roots as the render will most likely
// see them: nothing a Flux variable or credentials may change, a
// HelmRelease without a namespace with the sources written without one,
// nothing offline or without a cache to keep it in.
func TestPrefetch(t *testing.T) {
	srv := helmtest.Serve(t, helmtest.Package(t, helmtest.Chart("app", "0.1.0")))
	source := func(extra string) string {
		return "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: flux-system}\nspec:\n  url: " + srv.RepoURL + "\n" + extra
	}
	release := func(meta, spec string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app" + meta + "}\nspec:\n  chart:\n    spec:\n      chart: app\n      version: 0.1.0\n      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}\n" + spec
	}
	oci := "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: app, namespace: flux-system}\nspec:\n  url: oci://" + srv.Registry + "/charts/app\n  insecure: true\n  ref: {tag: 0.1.0}\n" +
		"---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app, namespace: flux-system}\nspec:\n  chartRef: {kind: OCIRepository, name: app}\n"
	cases := []struct {
		name       string
		files      map[string]string
		offline    bool
		noCache    bool
		other      string // a root other than apps is rendered
		wantIndex  bool
		wantCached bool
	}{
		{name: "helm repository", files: map[string]string{"apps/hr.yaml": release(", namespace: flux-system", "")}, wantIndex: true, wantCached: true},
		{name: "oci chartRef", files: map[string]string{"apps/hr.yaml": oci}, wantCached: true},
		{name: "another root's release", files: map[string]string{"apps/hr.yaml": release(", namespace: flux-system", ""), "other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}, other: "other"},
		// Without namespaces, as a parent's kustomization gives both the
		// same one.
		{name: "no namespace", files: map[string]string{"apps/hr.yaml": strings.ReplaceAll(release("", ""), ", namespace: flux-system", ""), "apps/source.yaml": strings.Replace(source(""), ", namespace: flux-system", "", 1)}, wantIndex: true, wantCached: true},
		{name: "no namespace, the source in another", files: map[string]string{"apps/hr.yaml": strings.ReplaceAll(release("", ""), ", namespace: flux-system", "")}},
		{name: "flux variable", files: map[string]string{"apps/hr.yaml": release(", namespace: flux-system", "  values: {env: ${ENV}}\n")}},
		{name: "suspended", files: map[string]string{"apps/hr.yaml": release(", namespace: flux-system", "  suspend: true\n")}},
		{name: "source with credentials", files: map[string]string{"apps/hr.yaml": release(", namespace: flux-system", ""), "apps/source.yaml": source("  secretRef: {name: creds}\n")}},
		{name: "source with a cloud provider", files: map[string]string{"apps/hr.yaml": strings.Replace(oci, "insecure: true", "provider: aws", 1)}},
		{name: "offline", files: map[string]string{"apps/hr.yaml": release(", namespace: flux-system", "")}, offline: true},
		{name: "no cache", files: map[string]string{"apps/hr.yaml": release(", namespace: flux-system", "")}, noCache: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{"apps/source.yaml": []byte(source(""))}
			for name, data := range tc.files {
				files[name] = []byte(data)
			}
			for name := range maps.Clone(files) {
				k := path.Join(path.Dir(name), "kustomization.yaml")
				if files[k] == nil {
					files[k] = []byte("resources:\n")
				}
				files[k] = append(files[k], "- "+path.Base(name)+"\n"...)
			}
			g := gittest.Init(t, t.TempDir())
			g.CommitFiles(t, "import", files)
			cacheDir := t.TempDir()
			var c *cache.Cache
			if !tc.noCache {
				var err error
				if c, err = cache.Open(cacheDir, 0); err != nil {
					t.Fatal(err)
				}
			}
			charts := helm.NewFetcher(helm.FetcherOptions{Cache: c, Offline: tc.offline, Registry: registry.New(registry.Options{Retries: -1})})
			_, tree := openTree(t, g.Dir, "")
			r, err := Discover(tree, Checkout{})
			if err != nil {
				t.Fatal(err)
			}
			roots, err := r.Select([]string{cmp.Or(tc.other, "apps")})
			if err != nil {
				t.Fatal(err)
			}
			before := srv.Requests("/index.yaml")
			New(tree, g.Dir, Options{Charts: charts}).prefetch(context.Background(), r, roots).wait()
			if got := srv.Requests("/index.yaml") > before; got != tc.wantIndex {
				t.Errorf("the repository's index asked for: %v, want %v", got, tc.wantIndex)
			}
			if got := cachedFiles(t, cacheDir) > 0; got != tc.wantCached {
				t.Errorf("a chart in the cache: %v, want %v", got, tc.wantCached)
			}
		})
	}
}

// cachedFiles counts the entries of a cache directory.
func cachedFiles(t *testing.T, dir string) int {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRenderAhead: on a core the roots leave idle, the HelmReleases
// written in them are rendered as written, for the run, while the roots
// render. The root's render of one finds it there when the root applies it
// as written, and renders its own when the root changes it (a patch of its
// values): either way, the output is the one rendered without renders
// ahead (one job, no idle core).
func TestRenderAhead(t *testing.T) {
	srv := helmtest.Serve(t, helmtest.Package(t, helmtest.Chart("app", "0.1.0")))
	files := map[string][]byte{
		"apps/source.yaml": []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: flux-system}\nspec:\n  url: " + srv.RepoURL + "\n"),
		"apps/hr.yaml": []byte("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app, namespace: flux-system}\nspec:\n  chart:\n    spec:\n      chart: app\n      version: 0.1.0\n" +
			"      sourceRef: {kind: HelmRepository, name: charts}\n  values:\n    replicaCount: 2\n"),
	}
	for _, patched := range []bool{false, true} {
		kust := "resources:\n- source.yaml\n- hr.yaml\n"
		want := "replicas: 2\n"
		if patched {
			kust += "patches:\n- target: {kind: HelmRelease}\n  patch: |\n    - op: replace\n      path: /spec/values/replicaCount\n      value: 5\n"
			want = "replicas: 5\n"
		}
		files["apps/kustomization.yaml"] = []byte(kust)
		g := gittest.Init(t, t.TempDir())
		g.CommitFiles(t, "import", files)
		outputs, ahead := map[int]string{}, map[int]int{}
		for _, jobs := range []int{1, 2} {
			dir := t.TempDir()
			c, charts, tree, r := chartRepo(t, g.Dir, dir)
			roots, err := r.Select([]string{"apps"})
			if err != nil {
				t.Fatal(err)
			}
			e := New(tree, g.Dir, Options{Charts: charts, Cache: c, Jobs: jobs})
			e.prefetch(context.Background(), r, roots).wait()
			ahead[jobs] = int(e.releaseMemos.made.Load())
			results, err := e.Render(context.Background(), r, roots)
			if err != nil {
				t.Fatal(err)
			}
			mustRender(t, results)
			outputs[jobs] = string(output(t, results[0]))
		}
		if ahead[1] != 0 || ahead[2] != 1 {
			t.Errorf("patched %v: %d releases rendered ahead with an idle core, %d without: want 1 and 0", patched, ahead[2], ahead[1])
		}
		if outputs[2] != outputs[1] || !strings.Contains(outputs[2], want) {
			t.Errorf("patched %v: rendered ahead:\n%s\nwithout:\n%s\nwant %q in both", patched, outputs[2], outputs[1], want)
		}
	}
}

// TestReleaseSourceNearest: two folders no cluster reaches each write an
// OCIRepository flux-system/app, at another tag, and a HelmRelease of it
// (samip5/k8s-cluster's two clusters, each app read as written). Each
// release installs the chart of the source written beside it, whatever
// order the roots render in; it took one or the other at random.
func TestReleaseSourceNearest(t *testing.T) {
	srv := helmtest.Serve(t, helmtest.Package(t, helmtest.Chart("app", "0.1.0")), helmtest.Package(t, helmtest.Chart("app", "0.2.0")))
	files := map[string][]byte{}
	for team, tag := range map[string]string{"team-a": "0.1.0", "team-b": "0.2.0"} {
		files[team+"/kustomization.yaml"] = []byte("resources: [source.yaml, hr.yaml]\n")
		files[team+"/source.yaml"] = []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: app, namespace: flux-system}\nspec:\n  url: oci://" + srv.Registry + "/charts/app\n  insecure: true\n  ref: {tag: " + tag + "}\n")
		files[team+"/hr.yaml"] = []byte("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: " + team + ", namespace: flux-system}\nspec:\n  chartRef: {kind: OCIRepository, name: app}\n")
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", files)
	for run := range 4 {
		c, charts, tree, r := chartRepo(t, g.Dir, t.TempDir())
		results, err := New(tree, g.Dir, Options{Charts: charts, Cache: c, Jobs: 2}).Render(context.Background(), r, r.Roots)
		if err != nil {
			t.Fatal(err)
		}
		mustRender(t, results)
		got := map[string]string{}
		for _, res := range results {
			for _, rel := range res.Releases {
				got[rel.Name] = rel.Version
			}
		}
		if want := map[string]string{"team-a": "0.1.0", "team-b": "0.2.0"}; !maps.Equal(got, want) {
			t.Errorf("run %d: the releases install %v, want %v", run, got, want)
		}
	}
}

// chartRepo opens the working tree of the repository at dir and discovers
// it, with a cache in cacheDir and a chart fetcher keeping charts there.
func chartRepo(t *testing.T, dir, cacheDir string) (*cache.Cache, *helm.Fetcher, repo.Tree, *Repository) {
	t.Helper()
	c, err := cache.Open(cacheDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	charts := helm.NewFetcher(helm.FetcherOptions{Cache: c, Registry: registry.New(registry.Options{Retries: -1})})
	_, tree := openTree(t, dir, "")
	r, err := Discover(tree, Checkout{})
	if err != nil {
		t.Fatal(err)
	}
	return c, charts, tree, r
}

// TestChartsFetchedTogether: a chart's download waits on the registry, not
// on a core. With one job, the charts of three HelmReleases are still
// asked for at once, whether fetched ahead (with a cache) or while the
// releases render (without one).
func TestChartsFetchedTogether(t *testing.T) {
	const charts = 3
	reg := newGate(t, charts)
	files := map[string][]byte{"apps/kustomization.yaml": []byte("resources: [releases.yaml]\n")}
	var docs []string
	for i := range charts {
		name := fmt.Sprintf("app%d", i)
		if _, err := chartserve.Push(reg.DirectHost(), "charts", helmtest.Package(t, helmtest.Chart(name, "0.1.0"))); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: "+name+", namespace: flux-system}\nspec:\n  url: oci://"+reg.Host()+"/charts/"+name+"\n  insecure: true\n  ref: {tag: 0.1.0}\n",
			"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: "+name+", namespace: flux-system}\nspec:\n  chartRef: {kind: OCIRepository, name: "+name+"}\n")
	}
	files["apps/releases.yaml"] = []byte(strings.Join(docs, "---\n"))
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", files)
	for _, ahead := range []bool{true, false} {
		reg.reset()
		c, fetcher, tree, r := chartRepo(t, g.Dir, t.TempDir())
		opts := Options{Charts: fetcher, Jobs: 1}
		if ahead {
			opts.Cache = c
		} else {
			fetcher = helm.NewFetcher(helm.FetcherOptions{Registry: registry.New(registry.Options{Retries: -1})})
			opts.Charts = fetcher
		}
		results, err := New(tree, g.Dir, opts).Render(context.Background(), r, r.Roots)
		if err != nil {
			t.Fatal(err)
		}
		mustRender(t, results)
		if n := len(results[0].Releases); n != charts {
			t.Fatalf("ahead %v: %d releases rendered, want %d", ahead, n, charts)
		}
		if most := reg.most(); most != charts {
			t.Errorf("ahead %v: at most %d charts asked for at once, want %d", ahead, most, charts)
		}
	}
}

// TestArtifactsFetchedTogether: the walk builds a cluster's Kustomizations
// from their OCIRepositories one after another; their artifacts are
// fetched ahead, together, with one job.
func TestArtifactsFetchedTogether(t *testing.T) {
	const artifacts = 3
	reg := newGate(t, artifacts)
	apps := []string{}
	for i := range artifacts {
		name := fmt.Sprintf("app%d", i)
		if err := registrytest.PushArtifact(reg.DirectHost()+"/manifests/"+name+":v1", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n"}); err != nil {
			t.Fatal(err)
		}
		apps = append(apps, "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: "+name+", namespace: flux-system}\nspec:\n  interval: 10m\n  url: oci://"+reg.Host()+"/manifests/"+name+"\n  insecure: true\n  ref: {tag: v1}\n",
			"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: "+name+", namespace: flux-system}\nspec:\n  interval: 10m\n  path: ./\n  prune: true\n  targetNamespace: "+name+"\n  sourceRef: {kind: OCIRepository, name: "+name+"}\n")
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", map[string][]byte{
		"clusters/prod/flux-system/gotk-sync.yaml": gittest.FluxSync("https://example.com/fleet.git", "clusters/prod"),
		"clusters/prod/apps.yaml":                  []byte(strings.Join(apps, "---\n")),
	})
	g.Origin(t, "https://example.com/fleet.git")
	c, fetcher, tree, _ := chartRepo(t, g.Dir, t.TempDir())
	disc, err := New(tree, g.Dir, Options{Charts: fetcher, Cache: c, Jobs: 1}).Discover(context.Background(), Checkout{})
	if err != nil {
		t.Fatal(err)
	}
	built := 0
	for _, root := range disc.Roots {
		if root.At != nil {
			built++
		}
	}
	if built != artifacts || len(disc.Skipped) != 0 {
		t.Fatalf("%d roots from artifacts, skipped %+v; want %d, none", built, disc.Skipped, artifacts)
	}
	if most := reg.most(); most != artifacts {
		t.Errorf("at most %d artifacts asked for at once, want %d", most, artifacts)
	}
}

// gate is a registry that holds each manifest request until want are in
// flight, or a second has passed, and tells how many were at most.
type gate struct {
	*registrytest.Registry
	want     int
	mu       sync.Mutex
	inFlight int
	top      int
	all      chan struct{}
	released bool
}

func newGate(t *testing.T, want int) *gate {
	g := &gate{want: want, all: make(chan struct{})}
	g.Registry = registrytest.New(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/manifests/") {
				g.mu.Lock()
				g.inFlight++
				all := g.all
				if g.top = max(g.top, g.inFlight); g.top == g.want && !g.released {
					close(g.all)
					g.released = true
				}
				g.mu.Unlock()
				select {
				case <-all:
				case <-time.After(time.Second):
				}
				defer func() { g.mu.Lock(); g.inFlight--; g.mu.Unlock() }()
			}
			next.ServeHTTP(w, req)
		})
	})
	t.Cleanup(g.Close)
	return g
}

// reset starts counting again.
func (g *gate) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.top, g.all, g.released = 0, make(chan struct{}), false
}

// most is how many manifest requests were in flight at most.
func (g *gate) most() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.top
}
