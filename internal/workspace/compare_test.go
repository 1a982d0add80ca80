package workspace

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// TestAnalyzeAndChange commits the sock-shop repository, then a change to
// the prod overlay (a replica count) and a broken kustomization in a new
// overlay. What the pull-request bot reports between the two commits
// (Analyze) names the changed Deployment, the broken root and the error
// finding; the same edit made as file contents on top of the base (Change,
// as images update and promote do) gives the same diff.
func TestAnalyzeAndChange(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	base := g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "examples", "sock-shop", "microservices-repo")))
	const file = "deploy/kubernetes/overlays/prod/kustomization.yaml"
	data, err := os.ReadFile(filepath.Join(g.Dir, filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "name: carts\n    count: 2", "name: carts\n    count: 3", 1)
	if edited == string(data) {
		t.Fatal("the fixture changed: nothing edited")
	}
	g.CommitFiles(t, "scale carts", map[string][]byte{
		file: []byte(edited),
		"deploy/kubernetes/overlays/broken/kustomization.yaml": []byte("resources: [missing.yaml]\n"),
	})
	w, err := Open(Options{Dir: g.Dir, Jobs: 2, NoCache: true, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	a, err := w.Analyze(ctx, base.String(), render.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Base != base.String() || len(a.Diffs) != 1 || a.Diffs[0].Path != "deploy/kubernetes/overlays/prod" {
		t.Fatalf("Analyze: base %s, diffs %+v; want one diff of the prod overlay", a.Base, a.Diffs)
	}
	if c := a.Diffs[0].Changes; len(c) != 1 || c[0].Object != "apps/v1/Deployment/sock-shop/carts" || !strings.Contains(c[0].Diff, "+  replicas: 3") {
		t.Errorf("the prod overlay's changes are %+v, want carts scaled to 3", c)
	}
	if len(a.Broken) != 1 || a.Broken[0].Root != "deploy/kubernetes/overlays/broken" {
		t.Errorf("broken roots %+v, want the new broken overlay", a.Broken)
	}
	if !a.Report.Failed() {
		t.Errorf("the check of a change adding a broken overlay passed: %+v", a.Report.Findings)
	}

	baseTree, err := w.CommitTree(base)
	if err != nil {
		t.Fatal(err)
	}
	diffs, report, err := w.Change(ctx, baseTree, map[string][]byte{file: []byte(edited)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(diffs)
	want, _ := json.Marshal(a.Diffs)
	if string(got) != string(want) {
		t.Errorf("Change's diff\n%s\ndiffers from Analyze's\n%s", got, want)
	}
	if report.Failed() {
		t.Errorf("the replica change alone fails its check: %+v", report.Findings)
	}
	if _, _, err := w.Change(ctx, baseTree, map[string][]byte{file: []byte("resources: [gone.yaml]\n")}); err == nil || !strings.Contains(err.Error(), "the change breaks deploy/kubernetes/overlays/prod") {
		t.Errorf("a change breaking the prod overlay gives %v", err)
	}
}

// TestAppTakenOutOfItsList: the change takes an app out of the list its
// namespace's kustomization applies. Flux prunes its Kustomization, whose
// objects go with it: the diff shows the app's root removed. Its
// Kustomization, still written and now read as written (no tree applies
// it), is not a root added. Putting it back adds it, and removes nothing.
func TestAppTakenOutOfItsList(t *testing.T) {
	w, full := openAtHead(t, fleetRepo(t, twoApps()).Dir)
	summary := func(base repo.Tree, list string) string {
		t.Helper()
		diffs, _, err := w.Change(context.Background(), base, map[string][]byte{"apps/kustomization.yaml": []byte(list)})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range diffs {
			line := d.Path + " " + d.Status
			for _, c := range d.Changes {
				line += " " + string(c.Action) + ":" + c.Object
			}
			out = append(out, line)
		}
		return strings.Join(out, "\n")
	}
	if got, want := summary(full, "resources: [db/ks.yaml]\n"),
		"apps  removed:kustomize.toolkit.fluxcd.io/v1/Kustomization/flux-system/web\napps/web/app removed removed:v1/ConfigMap/default/web"; got != want {
		t.Errorf("taken out:\n%s\nwant:\n%s", got, want)
	}
	without := repo.Overlay(full, map[string][]byte{"apps/kustomization.yaml": []byte("resources: [db/ks.yaml]\n")})
	if got, want := summary(without, "resources: [web/ks.yaml, db/ks.yaml]\n"),
		"apps  added:kustomize.toolkit.fluxcd.io/v1/Kustomization/flux-system/web\napps/web/app added added:v1/ConfigMap/default/web"; got != want {
		t.Errorf("put back:\n%s\nwant:\n%s", got, want)
	}
}

// TestAnalyzeBrokenBefore: an overlay that did not render before the pull
// request, and still does not for the same reason, is not one the pull
// request breaks.
func TestAnalyzeBrokenBefore(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	files := gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "examples", "sock-shop", "microservices-repo"))
	files["deploy/kubernetes/overlays/broken/kustomization.yaml"] = []byte("resources: [missing.yaml]\n")
	base := g.CommitFiles(t, "import", files)
	g.CommitFiles(t, "a note", map[string][]byte{"deploy/kubernetes/overlays/broken/kustomization.yaml": []byte("resources: [missing.yaml]\n# to be fixed\n")})
	w, err := Open(Options{Dir: g.Dir, Jobs: 2, NoCache: true, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.Analyze(context.Background(), base.String(), render.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Broken) != 0 {
		t.Errorf("broken roots %+v, want none: the overlay did not render before either", a.Broken)
	}
	g.CommitFiles(t, "another resource missing", map[string][]byte{"deploy/kubernetes/overlays/broken/kustomization.yaml": []byte("resources: [gone.yaml]\n")})
	if a, err = w.Analyze(context.Background(), base.String(), render.Shard{}); err != nil {
		t.Fatal(err)
	}
	if len(a.Broken) != 1 {
		t.Errorf("broken roots %+v, want the overlay: it breaks otherwise now", a.Broken)
	}
}

// TestFluxUpgradeDiff: the change upgrades the cluster's Flux from v2.6
// to v2.9, whose strict substitution makes a variable nothing sets an
// error. The app's files do not change, yet what it renders does: the
// diff renders it on both sides and fails it on the head.
func TestFluxUpgradeDiff(t *testing.T) {
	components := func(release string) []byte {
		return []byte("# Flux Version: " + release + "\napiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n")
	}
	g := fleetRepo(t, map[string][]byte{
		"clusters/prod/flux-system/gotk-components.yaml": components("v2.6.0"),
		"clusters/prod/flux-system/kustomization.yaml":   []byte("resources: [gotk-components.yaml, gotk-sync.yaml]\n"),
		"clusters/prod/apps.yaml":                        append(fluxKustomization("apps", "./apps"), "  postBuild:\n    substitute: {ENV: prod}\n"...),
		"apps/settings.yaml":                             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\ndata:\n  region: \"${REGION}\"\n"),
	})
	w, base := openAtHead(t, g.Dir)
	_, _, err := w.Change(context.Background(), base, map[string][]byte{"clusters/prod/flux-system/gotk-components.yaml": components("v2.9.4")})
	if err == nil || !strings.Contains(err.Error(), "the change breaks apps") || !strings.Contains(err.Error(), "REGION") {
		t.Errorf("upgrading to Flux v2.9 gives %v, want the apps root broken for REGION", err)
	}
}

// twoApps is a cluster applying two apps, web and db, each a Flux
// Kustomization of its folder's app/ listed by apps/kustomization.yaml.
func twoApps() map[string][]byte {
	files := map[string][]byte{
		"clusters/prod/apps.yaml": fluxKustomization("apps", "./apps"),
		"apps/kustomization.yaml": []byte("resources: [web/ks.yaml, db/ks.yaml]\n"),
	}
	for _, name := range []string{"web", "db"} {
		files["apps/"+name+"/ks.yaml"] = fluxKustomization(name, "./apps/"+name+"/app")
		files["apps/"+name+"/app/settings.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: default}\ndata:\n  replicas: \"3\"\n")
	}
	return files
}

// TestAppMoved: the change moves web's folder and points its Kustomization
// at the new one. It is the same Kustomization, applying the same objects:
// the diff shows its spec.path changed in its parent, and nothing removed
// and added; an object changed in the move shows as changed, under the
// new folder, moved from the old.
func TestAppMoved(t *testing.T) {
	g := fleetRepo(t, twoApps())
	base, err := g.Git.Head()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(g.Dir, "apps", "web"), filepath.Join(g.Dir, "apps", "frontend")); err != nil {
		t.Fatal(err)
	}
	g.CommitFiles(t, "web is the frontend", map[string][]byte{
		"apps/kustomization.yaml":   []byte("resources: [frontend/ks.yaml, db/ks.yaml]\n"),
		"apps/frontend/ks.yaml":     fluxKustomization("web", "./apps/frontend/app"),
		"apps/frontend/app/ui.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ui, namespace: default}\n"),
	})
	w, err := Open(Options{Dir: g.Dir, Jobs: 2, NoCache: true, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.Analyze(context.Background(), base.Hash().String(), render.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range a.Diffs {
		line := d.Path + " " + d.Status + " from:" + d.MovedFrom
		for _, c := range d.Changes {
			line += " " + string(c.Action) + ":" + c.Object
		}
		got = append(got, line)
	}
	want := "apps  from: changed:kustomize.toolkit.fluxcd.io/v1/Kustomization/flux-system/web\n" +
		"apps/frontend/app  from:apps/web/app added:v1/ConfigMap/default/ui"
	if strings.Join(got, "\n") != want {
		t.Errorf("diffs:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// openAtHead opens the repository at dir offline and without a cache, and
// returns its HEAD commit's tree, the base of a Change.
func openAtHead(t *testing.T, dir string) (*Workspace, repo.Tree) {
	t.Helper()
	w, err := Open(Options{Dir: dir, Jobs: 2, NoCache: true, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	head, err := w.Repo.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	tree, err := w.CommitTree(head)
	if err != nil {
		t.Fatal(err)
	}
	return w, tree
}
