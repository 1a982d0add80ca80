package render

import (
	"context"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/helmtest"
)

// TestReleasesCached: a root's HelmRelease renders are kept in one record
// of the cache. A second run renders none of them again and gives the same
// output; after a change of one release's values, it renders that one
// alone.
func TestReleasesCached(t *testing.T) {
	srv := helmtest.Serve(t, helmtest.Package(t, helmtest.Chart("app", "0.1.0")))
	release := func(name string, replicas string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: " + name + ", namespace: flux-system}\nspec:\n  chart:\n    spec:\n      chart: app\n      version: 0.1.0\n" +
			"      sourceRef: {kind: HelmRepository, name: charts}\n  values:\n    replicaCount: " + replicas + "\n"
	}
	files := map[string][]byte{
		"apps/kustomization.yaml": []byte("resources: [source.yaml, a.yaml, b.yaml, c.yaml]\n"),
		"apps/source.yaml":        []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: flux-system}\nspec:\n  url: " + srv.RepoURL + "\n"),
		"apps/a.yaml":             []byte(release("a", "1")),
		"apps/b.yaml":             []byte(release("b", "2")),
		"apps/c.yaml":             []byte(release("c", "3")),
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", files)
	cacheDir := t.TempDir()
	render := func() (string, int) {
		t.Helper()
		c, charts, tree, r := chartRepo(t, g.Dir, cacheDir)
		// One job: no release is rendered ahead, which may race the
		// root's render of it.
		e := New(tree, g.Dir, Options{Charts: charts, Cache: c, Jobs: 1})
		results, err := e.Render(context.Background(), r, r.Roots)
		if err != nil {
			t.Fatal(err)
		}
		mustRender(t, results)
		var out strings.Builder
		for _, res := range results {
			out.Write(output(t, res))
		}
		return out.String(), int(e.releaseMemos.made.Load())
	}
	cold, fresh := render()
	if fresh != 3 {
		t.Fatalf("a cold run rendered %d releases, want 3", fresh)
	}
	warm, fresh := render()
	if fresh != 0 || warm != cold {
		t.Errorf("a warm run rendered %d releases, want none; same output: %v", fresh, warm == cold)
	}
	g.CommitFiles(t, "values", map[string][]byte{"apps/b.yaml": []byte(release("b", "5"))})
	changed, fresh := render()
	if fresh != 1 || !strings.Contains(changed, "replicas: 5") || strings.Count(changed, "kind: Deployment") != 3 {
		t.Errorf("after b's values changed, the run rendered %d releases, want 1:\n%s", fresh, changed)
	}
}
