package workspace

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// TestOtherRefIsDeployed: a Kustomization whose source is this repository
// at a release tag the clone does not hold is named as not rendered, and
// the files under its path, which no kustomization.yaml lists (Flux
// builds the folder), are deployed from that tag: none is reported as a
// file nothing deploys. A file no Kustomization builds still is.
func TestOtherRefIsDeployed(t *testing.T) {
	g := fleetRepo(t, map[string][]byte{
		"clusters/prod/apps.yaml": []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: releases, namespace: flux-system}
spec:
  interval: 10m
  url: https://github.com/example/fleet
  ref: {tag: production}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: releases}
`),
		"apps/web/settings.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\n"),
		"stray/settings.yaml":    []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray, namespace: default}\n"),
	})
	if got, want := ruleFiles(t, g.Dir, Scope{All: true}), "not-rendered clusters/prod/apps.yaml\nunapplied stray/settings.yaml"; got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
}

// TestUnreachedReference: a Kustomization left in a folder no cluster's
// tree applies (an archive) names a source defined nowhere: a warning,
// since nothing deploys it; the same reference in the cluster's tree is
// an error.
func TestUnreachedReference(t *testing.T) {
	ks := func(name string) []byte {
		return []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: " + name + ", namespace: flux-system}\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef: {kind: GitRepository, name: gone}\n")
	}
	g := fleetRepo(t, map[string][]byte{
		"clusters/prod/live.yaml":        ks("live"),
		"retired/old/kustomization.yaml": []byte("resources: [ks.yaml]\n"),
		"retired/old/ks.yaml":            ks("old"),
	})
	var got []string
	for _, f := range checkScope(t, g.Dir, Scope{All: true}).Findings {
		if f.Rule == "flux-reference" {
			got = append(got, string(f.Severity)+" "+f.File+": "+f.Message)
		}
	}
	want := "error clusters/prod/live.yaml: Kustomization flux-system/live refers to GitRepository flux-system/gone, which is not defined in this repository\n" +
		"warning retired/old/ks.yaml: Kustomization flux-system/old refers to GitRepository flux-system/gone, which is not defined in this repository; no cluster's tree applies it"
	if strings.Join(got, "\n") != want {
		t.Errorf("findings:\n%s", strings.Join(got, "\n"))
	}
}

// TestOrphanCluster: an app's ks.yaml applies its own folder, and the
// cluster's list leaves it out (commented out, as one disables an app).
// It is walked, but nothing deploys it: its failure is a warning. The
// same app listed is an error, and so is a second cluster's, whose entry
// point is a Kustomization of another name applying its own folder, away
// from the first cluster's tree.
func TestOrphanCluster(t *testing.T) {
	app := func(name string) map[string][]byte {
		return map[string][]byte{
			"apps/" + name + "/ks.yaml":       []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: " + name + ", namespace: flux-system}\nspec:\n  interval: 10m\n  path: ./apps/" + name + "\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substitute: {APP: " + name + "}\n"),
			"apps/" + name + "/settings.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: default}\ndata:\n  url: ${URL}\n"),
		}
	}
	files := map[string][]byte{"clusters/prod/apps.yaml": fluxKustomization("apps", "./apps"),
		"apps/kustomization.yaml": []byte("resources:\n- on/ks.yaml\n# - off/ks.yaml\n")}
	maps.Copy(files, app("on"))
	maps.Copy(files, app("off"))
	files["clusters/edge/sync.yaml"] = []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: edge-deploy, namespace: flux-system}\nspec:\n  interval: 10m\n  path: ./clusters/edge\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substitute: {APP: edge}\n")
	files["clusters/edge/settings.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: edge, namespace: default}\ndata:\n  url: ${URL}\n")
	g := fleetRepo(t, files)
	var got []string
	for _, f := range checkScope(t, g.Dir, Scope{All: true}).Findings {
		if f.Rule == "build" {
			got = append(got, string(f.Severity)+" "+f.File)
		}
	}
	if want := "warning apps/off/settings.yaml\nerror apps/on/settings.yaml\nerror clusters/edge/settings.yaml"; strings.Join(got, "\n") != want {
		t.Errorf("build findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// TestUnreachedRequiredFields: a Flux Kustomization left in a folder no
// cluster's tree applies is checked without the fields Flux
// trees leave to their parents' patches (interval, prune, sourceRef): its
// parent is not known. What it writes is still checked, and so is any
// other object's required field.
func TestUnreachedRequiredFields(t *testing.T) {
	g := fleetRepo(t, map[string][]byte{
		"old/kustomization.yaml": []byte("resources: [ks.yaml, deploy.yaml]\n"),
		"old/ks.yaml":            []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: old, namespace: flux-system}\nspec:\n  path: ./apps\n  suspend: \"no\"\n"),
		"old/deploy.yaml":        []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: old, namespace: default}\nspec:\n  template: {}\n"),
		"apps/settings.yaml":     []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\n"),
	})
	var got []string
	for _, f := range checkScope(t, g.Dir, Scope{All: true}).Findings {
		if f.Rule == "schema" {
			got = append(got, string(f.Severity)+" "+f.File+" "+f.Message)
		}
	}
	want := "warning old/deploy.yaml spec.selector: Required value\nwarning old/ks.yaml spec.suspend: Invalid value: \"string\": spec.suspend in body must be of type boolean: \"string\""
	if strings.Join(got, "\n") != want {
		t.Errorf("schema findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// TestHiddenFoldersSetAside: in a repository whose clusters are walked,
// what no tree reaches in a hidden folder (an archive of old apps, a task
// runner's templates, malformed YAML among them) or in an archive
// .gitops.yaml names, and a
// kustomization that inflates Helm charts (a bootstrap's), are neither
// rendered nor checked, unless the folder is named; what a tree reaches
// there is. A repository without clusters checks its hidden folders as
// any other.
func TestHiddenFoldersSetAside(t *testing.T) {
	files := map[string][]byte{
		"clusters/prod/apps.yaml":     fluxKustomization("apps", "./.deploy"),
		".deploy/settings.yaml":       []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata:\n  replicas: 3\n"),
		".archive/kustomization.yaml": []byte("resources: [ks.yaml, deploy.yaml]\n"),
		".archive/ks.yaml":            []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: old, namespace: flux-system}\nspec:\n  path: ./gone\n  dependsOn: [{name: nowhere}]\n"),
		".archive/deploy.yaml":        []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: old, namespace: default}\nspec:\n  template: {}\n"),
		".archive/stray.yaml":         []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray, namespace: default}\ndata:\n  replicas: 3\n"),
		".archive/broken.yaml":        []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n"),
		".taskfiles/job.yaml":         []byte("apiVersion: batch/v1\nkind: Job\nmetadata: {name: task}\nspec:\n  template: {}\n"),
		// A bootstrap kustomization, built with --enable-helm before Flux,
		// and one that lists it.
		"bootstrap/cilium/kustomization.yaml": []byte("helmCharts:\n- name: cilium\n  repo: https://helm.cilium.io\n  version: 1.18.0\n"),
		"bootstrap/kustomization.yaml":        []byte("resources: [cilium, ns.yaml]\n"),
		"bootstrap/ns.yaml":                   []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n"),
		// An archive by its name.
		"apps/archive/old/ks.yaml": fluxKustomization("older", "./gone"),
		// An archive .gitops.yaml names.
		".gitops.yaml":           []byte("archives: [retired/]\n"),
		"retired/web/stray.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\ndata:\n  replicas: 3\n"),
	}
	findings := func(dir string, scope Scope) string { return ruleFiles(t, dir, scope) }
	g := fleetRepo(t, maps.Clone(files))
	if got, want := findings(g.Dir, Scope{All: true}), "schema .deploy/settings.yaml"; got != want {
		t.Errorf("whole repository:\n%s\nwant:\n%s", got, want)
	}
	if got, want := findings(g.Dir, Scope{Paths: []string{".archive"}}), "syntax .archive/broken.yaml\nschema .archive/deploy.yaml\nflux-reference .archive/ks.yaml\nunapplied .archive/stray.yaml\nschema .archive/stray.yaml"; got != want {
		t.Errorf("the archive named:\n%s\nwant:\n%s", got, want)
	}
	if got, want := findings(g.Dir, Scope{Paths: []string{"retired/web"}}), "unapplied retired/web/stray.yaml\nschema retired/web/stray.yaml"; got != want {
		t.Errorf("a folder of the archive named:\n%s\nwant:\n%s", got, want)
	}
	if got, want := findings(g.Dir, Scope{Paths: []string{"bootstrap"}}), "build bootstrap/cilium/kustomization.yaml"; got != want {
		t.Errorf("the bootstrap named:\n%s\nwant:\n%s", got, want)
	}
	plain := gittest.Init(t, t.TempDir())
	delete(files, "clusters/prod/apps.yaml")
	plain.CommitFiles(t, "import", files)
	if got := findings(plain.Dir, Scope{All: true}); !strings.Contains(got, "schema .archive/deploy.yaml") {
		t.Errorf("a repository without clusters leaves out its archive:\n%s", got)
	}
}

// TestFailedParentComponents: the apps root does not build (one app's
// ks.yaml is missing), so the Kustomizations it would apply are not
// rendered. The components they name are what they would build, not files
// nothing deploys.
func TestFailedParentComponents(t *testing.T) {
	g := fleetRepo(t, map[string][]byte{
		"clusters/prod/apps.yaml":              fluxKustomization("apps", "./apps"),
		"apps/kustomization.yaml":              []byte("resources: [web/ks.yaml, gone/ks.yaml]\n"),
		"apps/web/ks.yaml":                     []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: web, namespace: flux-system}\nspec:\n  interval: 10m\n  path: ./apps/web/app\n  components: [../../../components/backup]\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n"),
		"apps/web/app/settings.yaml":           []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\n"),
		"components/backup/kustomization.yaml": []byte("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [pvc.yaml]\n"),
		"components/backup/pvc.yaml":           []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: backup, namespace: default}\n"),
	})
	if got, want := ruleFiles(t, g.Dir, Scope{All: true}), "build apps/kustomization.yaml"; got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
}

// TestBootstrapToCome: an example made to be forked and bootstrapped
// (stefanprodan/gitops-istio) writes its Kustomizations with the
// flux-system source `flux bootstrap` will write, and no sync yet. The
// folder that holds them is a cluster's path, walked from the sync
// bootstrap will write there: the files beside them are applied, and each
// such folder is a cluster of its own (staging and production apply the
// same apps without a duplicate).
func TestBootstrapToCome(t *testing.T) {
	files := map[string][]byte{
		"clusters/my-cluster/apps.yaml":    fluxKustomization("apps", "./apps"),
		"clusters/my-cluster/version.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: version, namespace: flux-system}\ndata:\n  version: \"1.2\"\n"),
		"apps/namespace.yaml":              []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n"),
		"apps/web/kustomization.yaml":      []byte("resources: [settings.yaml]\n"),
		"apps/web/settings.yaml":           []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: apps}\ndata:\n  replicas: 3\n"),
	}
	files["clusters/staging/apps.yaml"] = files["clusters/my-cluster/apps.yaml"]
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", maps.Clone(files))
	if got, want := ruleFiles(t, g.Dir, Scope{All: true}), "schema apps/web/settings.yaml"; got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
	var roots []string
	for _, r := range discoverDir(t, g.Dir).Roots {
		roots = append(roots, r.String())
	}
	if want := "apps (Kustomization flux-system/apps, cluster clusters/my-cluster)\napps (Kustomization flux-system/apps, cluster clusters/staging)\n" +
		"clusters/my-cluster (Kustomization flux-system/flux-system, cluster clusters/my-cluster)\nclusters/staging (Kustomization flux-system/flux-system, cluster clusters/staging)"; strings.Join(roots, "\n") != want {
		t.Errorf("roots:\n%s\nwant:\n%s", strings.Join(roots, "\n"), want)
	}

}

// TestBootstrapToComeArtifacts: the official helm example as its
// repository has it, each cluster's gotk-sync.yaml a placeholder flux
// bootstrap fills in, its Kustomizations building from ExternalArtifacts
// an ArtifactGenerator makes of the flux-system GitRepository. Each
// cluster is walked from the sync bootstrap will write, as with the sync
// written: the same roots, none skipped (they were skipped, for want of
// the GitRepository).
func TestBootstrapToComeArtifacts(t *testing.T) {
	files := gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "flux", "platform"))
	roots := func(files map[string][]byte) (string, int) {
		t.Helper()
		g := gittest.Init(t, t.TempDir())
		g.CommitFiles(t, "import", files)
		g.Origin(t, "https://github.com/example/platform.git")
		disc := discoverDir(t, g.Dir)
		var out []string
		for _, r := range disc.Roots {
			out = append(out, r.String())
		}
		return strings.Join(out, "\n"), len(disc.Skipped)
	}
	want, _ := roots(maps.Clone(files))
	for name := range files {
		if path.Base(name) == "gotk-sync.yaml" {
			files[name] = []byte("# This file will be generated automatically by flux bootstrap.\n")
		}
	}
	got, skipped := roots(files)
	if got != want || skipped != 0 {
		t.Errorf("roots, %d skipped:\n%s\nwant, as with the sync written:\n%s", skipped, got, want)
	}
}

// ruleFiles checks the repository at dir and lists its findings as "rule
// file" lines.
func ruleFiles(t *testing.T, dir string, scope Scope) string {
	t.Helper()
	var got []string
	for _, f := range checkScope(t, dir, scope).Findings {
		got = append(got, f.Rule+" "+f.File)
	}
	return strings.Join(got, "\n")
}

// fluxKustomization is a Flux Kustomization of flux-system applying path
// of the flux-system source, as most of these repositories write them.
func fluxKustomization(name, path string) []byte {
	return []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: " + name + ", namespace: flux-system}\nspec:\n  interval: 10m\n  path: " + path +
		"\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n")
}

// discoverDir discovers the working tree of the repository at dir,
// offline and without a cache.
func discoverDir(t *testing.T, dir string) *render.Repository {
	t.Helper()
	_, _, disc := openDiscovered(t, dir)
	return disc
}

// openDiscovered opens the repository at dir offline and without a cache,
// and discovers its working tree.
func openDiscovered(t *testing.T, dir string) (*Workspace, repo.Tree, *render.Repository) {
	t.Helper()
	w, err := Open(Options{Dir: dir, Jobs: 2, NoCache: true, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := w.Repo.Tree("")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := w.Engine(tree)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := w.Discover(t.Context(), eng)
	if err != nil {
		t.Fatal(err)
	}
	return w, tree, disc
}

// TestTenantBranchRelease: a HelmRelease a tenant's branch holds, which
// the check cannot render (offline, its chart not cached), is named at its
// file in that branch, as the branch's other findings are.
func TestTenantBranchRelease(t *testing.T) {
	g := fleetRepo(t, map[string][]byte{
		"clusters/prod/tenant.yaml": []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: team-a, namespace: apps}
spec:
  interval: 1m
  url: https://github.com/example/fleet
  ref: {branch: team-a}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: team-a, namespace: apps}
spec:
  interval: 10m
  path: ./
  prune: true
  sourceRef: {kind: GitRepository, name: team-a}
`),
	})
	g.Branch(t, "team-a", map[string][]byte{
		"repository.yaml": []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: apps}\nspec:\n  interval: 1h\n  url: https://charts.example.com\n"),
		"release.yaml":    []byte("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web, namespace: apps}\nspec:\n  interval: 1h\n  chart:\n    spec:\n      chart: web\n      version: 1.0.0\n      sourceRef: {kind: HelmRepository, name: charts}\n"),
	})
	var got []string
	for _, f := range checkScope(t, g.Dir, Scope{All: true}).Findings {
		if f.Rule == "not-rendered" {
			got = append(got, fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Message))
		}
	}
	if want := "release.yaml:1 in branch team-a: HelmRelease apps/web is not rendered nor checked"; len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("not-rendered findings:\n%s\nwant one starting %q", strings.Join(got, "\n"), want)
	}
}
