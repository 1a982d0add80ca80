package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// fluxFixture copies a fixture of testdata/flux into a new repository
// whose origin is url; each branch of branches (fixture folder -> branch
// name) is committed beside the main line.
func fluxFixture(t *testing.T, dir, url string, branches map[string]string) *gittest.Repo {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "flux", dir)))
	if url != "" {
		g.Origin(t, url)
	}
	for folder, branch := range branches {
		g.Branch(t, branch, gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "flux", folder)))
	}
	return g
}

// discoverTree discovers and walks the repository at dir as the commands
// do.
func discoverTree(t *testing.T, dir string) (*Engine, *Repository) {
	t.Helper()
	return discoverTreeWith(t, dir, Options{})
}

// discoverTreeWith is discoverTree with an engine of opts.
func discoverTreeWith(t *testing.T, dir string, opts Options) (*Engine, *Repository) {
	t.Helper()
	r, tree := openTree(t, dir, "")
	head, _ := r.Git.Head()
	c := Checkout{Remotes: r.RemoteURLs(), Branch: head.Name().Short(), Revision: func(ref repo.GitRef) (repo.Tree, string, error) {
		h, what, err := r.ResolveFlux(ref)
		if err != nil {
			return nil, "", err
		}
		tree, err := r.CommitTree(h)
		return tree, what, err
	}}
	eng := New(tree, r.Root, opts)
	disc, err := eng.Discover(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return eng, disc
}

// renderTree discovers and walks the repository at dir, which must leave
// no Kustomization unrendered, and renders every root it found.
func renderTree(t *testing.T, dir string) (*Repository, []*Result) {
	t.Helper()
	eng, disc := discoverTree(t, dir)
	if len(disc.Skipped) != 0 {
		t.Fatalf("skipped: %+v", disc.Skipped)
	}
	results, err := eng.Render(context.Background(), disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	mustRender(t, results)
	return disc, results
}

// homeLabRoots are the roots of the home-lab fixture's cluster.
var homeLabRoots = []string{
	"kubernetes/apps (Kustomization flux-system/cluster-apps)",
	"kubernetes/apps/flux-system/flux-instance/app (Kustomization flux-system/flux-instance)",
	"kubernetes/apps/media/player/app (Kustomization media/player)",
	"kubernetes/apps/network/echo/app (Kustomization network/echo)",
	"kubernetes/apps/network/gateway/app (Kustomization network/gateway)",
	"kubernetes/flux/cluster (Kustomization flux-system/flux-system)",
}

// TestTreeHomeLab walks the Flux Operator home-lab fixture: its cluster
// starts at the flux-instance chart's sync, and each application's
// Kustomization is rendered as cluster-apps applies it.
func TestTreeHomeLab(t *testing.T) {
	g := fluxFixture(t, "homelab", "https://github.com/example/home-lab.git", nil)
	disc, results := renderTree(t, g.Dir)
	if diff := cmp.Diff(homeLabRoots, rootNames(disc.Roots)); diff != "" {
		t.Fatalf("roots (-want +got):\n%s", diff)
	}
	byRoot := map[string]*Result{}
	for _, res := range results {
		byRoot[res.Root.Path] = res
	}

	echo := byRoot["kubernetes/apps/network/echo/app"].Root.Kustomization
	// Written without a namespace, in a file under the network overlay;
	// its path and variables substituted by cluster-apps from the
	// cluster's settings; cluster-apps's patch laid over it.
	if echo.Object.File != "kubernetes/apps/network/echo/ks.yaml" || echo.Parent == nil || echo.Parent.ID() != "flux-system/cluster-apps" {
		t.Errorf("echo is written at %s:%d, parent %v", echo.Object.File, echo.Object.Line, echo.Parent)
	}
	if got := echo.Spec.PostBuild.Substitute["HOSTNAME"]; got != "echo.lab.example.net" {
		t.Errorf("echo's HOSTNAME is %q, want it substituted by its parent", got)
	}
	if echo.Spec.Decryption == nil || echo.Spec.Decryption.Provider != "sops" || len(echo.Spec.Patches) != 1 {
		t.Errorf("cluster-apps's patch is not laid over echo: %+v", echo.Spec)
	}

	objs := objectsByID(t, byRoot["kubernetes/apps/network/echo/app"])
	ingress := objs["networking.k8s.io/v1/Ingress/network/echo"]
	if ingress == nil {
		t.Fatalf("echo renders %v", keys(objs))
	}
	if host, _ := ingress.GetString("spec.rules[0].host"); host != "echo.lab.example.net" {
		t.Errorf("the Ingress host is %q", host)
	}
	if l := ingress.GetLabels(); l[OwnerNameLabel] != "echo" || l[OwnerNamespaceLabel] != "network" {
		t.Errorf("ownership labels %v, want echo in network", l)
	}
	// The Kustomization objects cluster-apps applies carry its labels.
	parentObjs := objectsByID(t, byRoot["kubernetes/apps"])
	if k := parentObjs[FluxGroup+"/v1/Kustomization/network/echo"]; k == nil || k.GetLabels()[OwnerNameLabel] != "cluster-apps" {
		t.Errorf("cluster-apps renders %v", keys(parentObjs))
	}
}

// TestTreeFleet walks the Flux Operator fleet fixture: the tenants
// ResourceSet makes a Kustomization per tenant, which the walk follows
// into each tenant's apps with the variables the ResourceSet gives; the
// previews ResourceSet, whose inputs only the cluster has, is named. A
// warm run gives the same from the cache.
func TestTreeFleet(t *testing.T) {
	g := fluxFixture(t, "fleet", "https://github.com/example/fleet.git", nil)
	opts := cachedOptions(t)
	for _, warm := range []bool{false, true} {
		eng, disc := discoverTreeWith(t, g.Dir, opts)
		if len(disc.Skipped) != 0 || len(disc.Broken) != 0 {
			t.Fatalf("skipped %+v, broken %v", disc.Skipped, disc.Broken)
		}
		if diff := cmp.Diff([]string{
			"apps/shared (Kustomization flux-system/shared-apps)",
			"apps/team-a (Kustomization flux-system/team-a-apps)",
			"apps/team-b (Kustomization flux-system/team-b-apps)",
			"clusters/prod (Kustomization flux-system/flux-system)",
			"tenants (Kustomization flux-system/tenants)",
		}, rootNames(disc.Roots)); diff != "" {
			t.Fatalf("warm %v: roots (-want +got):\n%s", warm, diff)
		}
		results, err := eng.Render(context.Background(), disc, disc.Roots)
		if err != nil {
			t.Fatal(err)
		}
		mustRender(t, results)
		byRoot := map[string]*Result{}
		for _, res := range results {
			byRoot[res.Root.Path] = res
			if res.Cached != warm {
				t.Errorf("%s: cached %v, want %v", res.Root, res.Cached, warm)
			}
		}
		tenants := byRoot["tenants"]
		if diff := cmp.Diff([]Unrendered{{Kind: "ResourceSet", Namespace: "flux-system", Name: "previews", File: "tenants/previews.yaml", Line: 1,
			Reason: "the inputs of its GitHubPullRequest provider flux-system/pull-requests are known only in the cluster"}}, tenants.Unrendered); diff != "" {
			t.Errorf("warm %v: unrendered (-want +got):\n%s", warm, diff)
		}
		var made []string
		for _, c := range tenants.Children {
			if c.Kind == "Kustomization" {
				made = append(made, fmt.Sprintf("%s at %s:%d", c.Name, c.File, c.Line))
			}
		}
		if diff := cmp.Diff([]string{"team-a-apps at tenants/tenants.yaml:1", "team-b-apps at tenants/tenants.yaml:1", "shared-apps at tenants/tenants.yaml:1"}, made); diff != "" {
			t.Errorf("warm %v: the ResourceSet's Kustomizations (-want +got):\n%s", warm, diff)
		}
		// What the ResourceSet makes carries its owner labels and its
		// commonMetadata, as the parent substituted it; not Flux's.
		ns := objectsByID(t, tenants)["v1/Namespace/team-b"]
		if ns == nil {
			t.Fatalf("tenants renders %v", keys(objectsByID(t, tenants)))
		}
		want := map[string]string{"fleet.example.com/cluster": "prod", "fleet.example.com/team": "team-b",
			"resourceset.fluxcd.controlplane.io/name": "tenants", "resourceset.fluxcd.controlplane.io/namespace": "flux-system"}
		if diff := cmp.Diff(want, ns.GetLabels()); diff != "" {
			t.Errorf("the Namespace's labels (-want +got):\n%s", diff)
		}
		web := objectsByID(t, byRoot["apps/team-b"])["apps/v1/Deployment/team-b/web"]
		if web == nil {
			t.Fatalf("team-b renders %v", keys(objectsByID(t, byRoot["apps/team-b"])))
		}
		if replicas, err := web.Pipe(kyaml.Lookup("spec", "replicas")); err != nil || replicas == nil || replicas.YNode().Value != "3" || replicas.YNode().Tag != kyaml.NodeTagInt {
			t.Errorf("team-b's replicas are %v, want the ResourceSet's 3, an integer", replicas)
		}
	}
}

// TestTreeGitless walks the fleet fixture synced as the Flux Operator's
// "Gitless GitOps" has it: the FluxInstance syncs an OCIRepository that
// CI pushes from the repository's root, and the FluxInstance lies in the
// path it syncs, so the artifact is this repository at any tag. A
// FluxInstance outside that path says nothing of where the artifact comes
// from: its Kustomizations are another source's. Pushed from a folder
// (flux push artifact --path=./deploy), the FluxInstance lies under the
// folder's copy of the path it syncs, and every path is the folder's.
func TestTreeGitless(t *testing.T) {
	files := gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "flux", "fleet"))
	for p, data := range files {
		text := strings.ReplaceAll(string(data), "kind: GitRepository", "kind: OCIRepository")
		text = strings.Replace(text, "url: https://github.com/example/fleet.git", "url: oci://ghcr.io/example/fleet", 1)
		files[p] = []byte(strings.Replace(text, "ref: refs/heads/main", "ref: latest-stable", 1))
	}
	for _, tt := range []struct {
		name     string
		instance string // where the FluxInstance is written
		folder   string // where the whole fixture is, when not at the root
		want     []string
		skipped  int
	}{
		{name: "pushed from a folder", folder: "deploy", instance: "clusters/prod/flux-system/flux-instance.yaml", want: []string{
			"deploy/apps/shared (Kustomization flux-system/shared-apps)",
			"deploy/apps/team-a (Kustomization flux-system/team-a-apps)",
			"deploy/apps/team-b (Kustomization flux-system/team-b-apps)",
			"deploy/clusters/prod (Kustomization flux-system/flux-system)",
			"deploy/tenants (Kustomization flux-system/tenants)",
		}},
		{name: "in the path it syncs", instance: "clusters/prod/flux-system/flux-instance.yaml", want: []string{
			"apps/shared (Kustomization flux-system/shared-apps)",
			"apps/team-a (Kustomization flux-system/team-a-apps)",
			"apps/team-b (Kustomization flux-system/team-b-apps)",
			"clusters/prod (Kustomization flux-system/flux-system)",
			"tenants (Kustomization flux-system/tenants)",
		}},
		{name: "elsewhere", instance: "bootstrap/flux-instance.yaml", want: []string{
			"apps/shared", "apps/team-a", "apps/team-b", "clusters/prod", "tenants",
		}, skipped: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := maps.Clone(files)
			text := fs["clusters/prod/flux-system/flux-instance.yaml"]
			delete(fs, "clusters/prod/flux-system/flux-instance.yaml")
			fs[tt.instance] = text
			if tt.folder != "" {
				moved := map[string][]byte{}
				for p, data := range fs {
					moved[path.Join(tt.folder, p)] = data
				}
				fs = moved
			}
			g := gittest.Init(t, t.TempDir())
			g.CommitFiles(t, "import", fs)
			g.Origin(t, "https://github.com/example/fleet.git")
			_, disc := discoverTree(t, g.Dir)
			if diff := cmp.Diff(tt.want, rootNames(disc.Roots)); diff != "" {
				t.Errorf("roots (-want +got):\n%s", diff)
			}
			if len(disc.Skipped) != tt.skipped {
				t.Errorf("skipped %+v, want %d", disc.Skipped, tt.skipped)
			}
			for _, s := range disc.Skipped {
				if !strings.Contains(s.Reason, "OCIRepository/flux-system/flux-system") {
					t.Errorf("skipped %s: %s", s.Kustomization.ID(), s.Reason)
				}
			}
		})
	}
}

// TestTreeInstanceValues walks the home-lab fixture with its flux-instance
// HelmRelease reading its values from a file, as a ConfigMap a generator
// makes (valuesFrom): the file's instance.sync is the entry point, as the
// HelmRelease's own values are.
func TestTreeInstanceValues(t *testing.T) {
	files := gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "flux", "homelab"))
	const app = "kubernetes/apps/flux-system/flux-instance/app/"
	hr := string(files[app+"helmrelease.yaml"])
	i := strings.Index(hr, "  values:\n")
	values := strings.ReplaceAll(hr[i+len("  values:\n"):], "\n    ", "\n")
	files[app+"helm/values.yaml"] = []byte("---\n# the chart's values\n" + strings.TrimPrefix(values, "    "))
	files[app+"helmrelease.yaml"] = []byte(hr[:i] + "  valuesFrom:\n    - kind: ConfigMap\n      name: flux-instance-values\n")
	files[app+"kustomization.yaml"] = append(files[app+"kustomization.yaml"], "configMapGenerator:\n  - name: flux-instance-values\n    files:\n      - values.yaml=./helm/values.yaml\n"...)
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", files)
	g.Origin(t, "https://github.com/example/home-lab.git")
	_, disc := discoverTree(t, g.Dir)
	if len(disc.Clusters) != 1 || disc.Clusters[0].Entry.Object.File != app+"helm/values.yaml" || disc.Clusters[0].Entry.Object.Line != 15 || disc.Clusters[0].Flux != "v2.7" {
		for _, c := range disc.Clusters {
			t.Errorf("cluster %s from %s:%d, Flux %q", c.Name, c.Entry.Object.File, c.Entry.Object.Line, c.Flux)
		}
		t.Fatalf("%d clusters, want the one of %shelm/values.yaml:15, Flux v2.7", len(disc.Clusters), app)
	}
	if diff := cmp.Diff(homeLabRoots, rootNames(disc.Roots)); diff != "" {
		t.Errorf("roots (-want +got):\n%s", diff)
	}
}

// TestTreeInstanceSyncSubstituted walks the home-lab fixture with the
// flux-instance chart's sync path naming ${CLUSTER}, which the
// Kustomization applying the chart substitutes (deedee-ops/home-ops shares
// the chart between clusters this way): the entry point is the path as
// substituted. Without the substitution, the path is taken as written,
// and found missing.
func TestTreeInstanceSyncSubstituted(t *testing.T) {
	const app = "kubernetes/apps/flux-system/flux-instance/"
	for _, tt := range []struct {
		name, substitute string
		want             []string
	}{
		{name: "substituted", substitute: "  postBuild:\n    substitute:\n      CLUSTER: cluster\n", want: homeLabRoots},
		{name: "a default", substitute: "  postBuild:\n    substitute:\n      OTHER: x\n", want: homeLabRoots},
		{name: "from a ConfigMap a file writes", substitute: "  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: instance-settings\n", want: homeLabRoots},
		{name: "from a Secret", substitute: "  postBuild:\n    substituteFrom:\n      - kind: Secret\n        name: instance-secrets\n", want: nil},
		{name: "not substituted", want: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "flux", "homelab"))
			sync := "kubernetes/flux/${CLUSTER}"
			if tt.name == "a default" {
				sync = "kubernetes/flux/${CLUSTER:=cluster}"
			}
			files[app+"app/helmrelease.yaml"] = bytes.Replace(files[app+"app/helmrelease.yaml"], []byte("path: kubernetes/flux/cluster"), []byte("path: "+sync), 1)
			files[app+"ks.yaml"] = append(files[app+"ks.yaml"], tt.substitute...)
			files["kubernetes/flux/vars/instance-settings.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: instance-settings\n  namespace: flux-system\ndata:\n  CLUSTER: cluster\n")
			files["kubernetes/flux/vars/instance-secrets.yaml"] = []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: instance-secrets\n  namespace: flux-system\nstringData:\n  CLUSTER: cluster\n")
			g := gittest.Init(t, t.TempDir())
			g.CommitFiles(t, "import", files)
			g.Origin(t, "https://github.com/example/home-lab.git")
			_, disc := discoverTree(t, g.Dir)
			if tt.want == nil {
				if len(disc.Clusters) != 1 || disc.Clusters[0].Entry.Path() != "kubernetes/flux/${CLUSTER}" {
					t.Fatalf("clusters %v, want the one of the path as written", clusterPaths(disc))
				}
				return
			}
			if len(disc.Clusters) != 1 || disc.Clusters[0].Entry.Path() != "kubernetes/flux/cluster" {
				t.Fatalf("clusters %v, want kubernetes/flux/cluster", clusterPaths(disc))
			}
			if diff := cmp.Diff(tt.want, rootNames(disc.Roots)); diff != "" {
				t.Errorf("roots (-want +got):\n%s", diff)
			}
		})
	}
}

func clusterPaths(r *Repository) []string {
	var out []string
	for _, c := range r.Clusters {
		out = append(out, c.Entry.Path())
	}
	return out
}

// TestTreeNestedEntries: a Kustomization written in its own path that
// another entry point's tree applies belongs to that one's cluster; it is
// not a cluster of its own.
func TestTreeNestedEntries(t *testing.T) {
	ks := func(name, p string) []byte {
		return []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: " + p + "\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
	}
	source := []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://github.com/example/cluster\n  ref:\n    branch: main\n---\n")
	with := func(a, b map[string][]byte) map[string][]byte {
		out := maps.Clone(a)
		maps.Copy(out, b)
		return out
	}
	volsync := map[string][]byte{
		"volsync/kustomization.yaml": []byte("resources:\n- ks.yaml\n- cm.yaml\n"),
		"volsync/ks.yaml":            ks("volsync", "./volsync"),
		"volsync/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: volsync\n  namespace: default\n"),
	}
	for _, tt := range []struct {
		name  string
		files map[string][]byte
		want  []string
	}{
		{
			// wrmilling/k3s-gitops: flux-system syncs the whole repository.
			name: "under a flux-system of the whole repository",
			files: with(volsync, map[string][]byte{
				"flux-system/kustomization.yaml": []byte("resources:\n- gotk-sync.yaml\n"),
				"flux-system/gotk-sync.yaml":     gittest.FluxSync("https://github.com/example/cluster", ""),
			}),
			want: []string{". in .", "volsync in ."},
		},
		{
			name: "under a flux-system of the whole repository that does not render",
			files: with(volsync, map[string][]byte{
				"flux-system/kustomization.yaml": []byte("resources:\n- gotk-sync.yaml\n"),
				"flux-system/gotk-sync.yaml":     gittest.FluxSync("https://github.com/example/cluster", ""),
				"remote/kustomization.yaml":      []byte("resources:\n- https://example.com/crds.yaml\n"),
			}),
			want: []string{". in ."},
		},
		{
			// truxnell/home-cluster: the cluster's own entry point is such a
			// Kustomization too, and applies the other from elsewhere.
			name: "applied by an entry point of the same kind",
			files: with(volsync, map[string][]byte{
				"cluster/flux/sync.yaml":          append(source, ks("cluster", "./cluster/flux")...),
				"cluster/flux/kustomization.yaml": []byte("resources:\n- sync.yaml\n- ../../volsync/ks.yaml\n"),
			}),
			want: []string{"cluster/flux in cluster/flux", "volsync in cluster/flux"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := gittest.Init(t, t.TempDir())
			g.CommitFiles(t, "import", tt.files)
			g.Origin(t, "https://github.com/example/cluster.git")
			_, disc := discoverTree(t, g.Dir)
			var got []string
			for _, root := range disc.Roots {
				if root.Kustomization != nil {
					got = append(got, root.Path+" in "+root.ClusterName())
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || len(disc.Clusters) != 1 {
				t.Errorf("%d clusters; roots (-want +got):\n%s", len(disc.Clusters), diff)
			}
		})
	}
}

// TestTreeClusterSources: two clusters each write their own flux-system
// GitRepository, each with the spec.ignore that keeps its own folder: each
// cluster's roots build from its own (samip5/k8s-cluster), and so does a
// Kustomization written in a cluster's folder that its list leaves out.
func TestTreeClusterSources(t *testing.T) {
	sync := func(dir string) []byte {
		return bytes.Replace(gittest.FluxSync("https://github.com/example/fleet", dir), []byte("  url: "), []byte("  ignore: |\n    /*\n    !/"+dir+"\n  url: "), 1)
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", map[string][]byte{
		"media/kustomization.yaml": []byte("resources:\n- sync.yaml\n- cm.yaml\n"),
		"media/sync.yaml":          sync("media"),
		"media/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: media\n  namespace: default\n"),
		"media/extra/ks.yaml": []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: extra\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./media/extra/app\n  prune: true\n" +
			"  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"),
		"media/extra/app/kustomization.yaml": []byte("resources:\n- cm.yaml\n"),
		"media/extra/app/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: default\n"),
		"nebula/sync.yaml":                   sync("nebula"),
		"nebula/cm.yaml":                     []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nebula\n  namespace: default\n"),
	})
	g.Origin(t, "https://github.com/example/fleet.git")
	eng, disc := discoverTree(t, g.Dir)
	results, err := eng.Render(context.Background(), disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("%d roots, want each cluster's and the one left out", len(results))
	}
	mustRender(t, results)
}

// TestTreeTemplateCopy: the k8s-at-home template keeps, beside the
// cluster it configured, the templates its script fills in (tmpl/), whose
// copy of the cluster's GitRepository has a placeholder for its URL. That
// copy does not stand for the source, in either order of the files: the
// cluster is walked from its entry point, its app rendered as applied.
func TestTreeTemplateCopy(t *testing.T) {
	source := func(url string) string {
		return "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: home-kubernetes\n  namespace: flux-system\nspec:\n  interval: 30m\n  ref:\n    branch: main\n  url: " + url + "\n"
	}
	ks := func(name, path string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n  namespace: flux-system\nspec:\n  interval: 30m\n  path: " + path +
			"\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: home-kubernetes\n"
	}
	for _, template := range []string{"tmpl/kubernetes/flux/cluster.yaml", "a-tmpl/kubernetes/flux/cluster.yaml"} {
		g := gittest.Init(t, t.TempDir())
		g.CommitFiles(t, "import", map[string][]byte{
			"kubernetes/flux/cluster.yaml":           []byte(source("https://github.com/example/home") + "---\n" + ks("cluster", "./kubernetes/flux")),
			"kubernetes/flux/apps.yaml":              []byte(ks("cluster-apps", "./kubernetes/apps")),
			"kubernetes/apps/web/kustomization.yaml": []byte("resources:\n- cm.yaml\n"),
			"kubernetes/apps/web/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: default\n"),
			template:                                 []byte(source(`"${BOOTSTRAP_GIT_REPOSITORY}"`) + "---\n" + ks("cluster", "./kubernetes/flux")),
		})
		g.Origin(t, "https://github.com/example/home.git")
		_, disc := discoverTree(t, g.Dir)
		var roots []string
		for _, root := range disc.Roots {
			if root.Cluster != nil {
				roots = append(roots, root.String())
			}
		}
		want := []string{"kubernetes/apps (Kustomization flux-system/cluster-apps)", "kubernetes/flux (Kustomization flux-system/cluster)"}
		if diff := cmp.Diff(want, roots); diff != "" {
			t.Errorf("template at %s: the cluster's roots (-want +got):\n%s\nskipped: %+v", template, diff, disc.Skipped)
		}
	}
}

// TestTreeTenants walks the multi-cluster fixture: each cluster from its
// bootstrap sync, the tenant's Kustomization once per cluster with the
// cluster's patch, rendered from the tenant's branch.
func TestTreeTenants(t *testing.T) {
	g := fluxFixture(t, "tenants/main", "https://github.com/example/fleet.git", map[string]string{"tenants/team-a": "team-a"})
	disc, results := renderTree(t, g.Dir)
	if diff := cmp.Diff([]string{
		"clusters/production (Kustomization flux-system/flux-system, cluster clusters/production)",
		"clusters/staging (Kustomization flux-system/flux-system, cluster clusters/staging)",
		"infrastructure/policies (Kustomization flux-system/infrastructure, cluster clusters/production)",
		"infrastructure/policies (Kustomization flux-system/infrastructure, cluster clusters/staging)",
		"production (Kustomization team-a/team-a, cluster clusters/production, from branch team-a)",
		"staging (Kustomization team-a/team-a, cluster clusters/staging, from branch team-a)",
		"tenants/production (Kustomization flux-system/tenants, cluster clusters/production)",
		"tenants/staging (Kustomization flux-system/tenants, cluster clusters/staging)",
	}, rootNames(disc.Roots)); diff != "" {
		t.Fatalf("roots (-want +got):\n%s", diff)
	}
	replicas := map[string]string{}
	for _, res := range results {
		if res.Root.At == nil {
			continue
		}
		web := objectsByID(t, res)["apps/v1/Deployment/team-a/web"]
		if web == nil {
			t.Fatalf("%s renders no web Deployment", res.Root)
		}
		n, err := web.Pipe(kyaml.Lookup("spec", "replicas"))
		if err != nil || n == nil {
			t.Fatalf("%s: no replicas", res.Root)
		}
		replicas[res.Root.ClusterName()] = n.YNode().Value
	}
	if diff := cmp.Diff(map[string]string{"clusters/production": "3", "clusters/staging": "1"}, replicas); diff != "" {
		t.Errorf("the tenant's replicas per cluster (-want +got):\n%s", diff)
	}
}

// TestTreeSourcesOnOtherRefs: a GitRepository of this repository's URL
// on another ref is this repository only at that ref.
func TestTreeSourcesOnOtherRefs(t *testing.T) {
	g := fluxFixture(t, "tenants/main", "https://github.com/example/fleet.git", nil)
	_, disc := discoverTree(t, g.Dir)
	var reasons []string
	for _, s := range disc.Skipped {
		reasons = append(reasons, s.Kustomization.ID()+": "+s.Reason)
	}
	// Without the branch in the local objects, the tenant is named, once.
	if diff := cmp.Diff([]string{
		"team-a/team-a: its source GitRepository/team-a/team-a is this repository's branch team-a, not the revision being rendered",
		"team-a/team-a: its source GitRepository/team-a/team-a is this repository's branch team-a, not the revision being rendered",
	}, reasons); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if got := len(disc.SkippedUnder([]string{"."})); got != 1 {
		t.Errorf("SkippedUnder names %d, want the tenant once", got)
	}
}

func objectsByID(t *testing.T, res *Result) map[string]*kyaml.RNode {
	t.Helper()
	objs, err := res.Objects()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*kyaml.RNode{}
	for _, o := range objs {
		id := o.GetApiVersion() + "/" + o.GetKind() + "/"
		if ns := o.GetNamespace(); ns != "" {
			id += ns + "/"
		}
		out[id+o.GetName()] = o
	}
	return out
}

func keys(m map[string]*kyaml.RNode) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(out, ", ")
}

// TestTreeDeclaredClusters walks clusters .gitops.yaml declares, for a
// layout with no bootstrap sync: the ref as a branch name or a full ref
// name, each cluster's Kustomizations reached from its path.
func TestTreeDeclaredClusters(t *testing.T) {
	for _, ref := range []string{"main", "refs/heads/main"} {
		t.Run(ref, func(t *testing.T) {
			g := gittest.Init(t, t.TempDir())
			files := gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "flux", "tenants", "main"))
			for p := range files {
				if strings.Contains(p, "/flux-system/") {
					delete(files, p) // no bootstrap sync
				}
			}
			g.CommitFiles(t, "import", files)
			g.Origin(t, "https://github.com/example/fleet.git")
			r, tree := openTree(t, g.Dir, "")
			c := Checkout{Remotes: []string{"https://github.com/example/fleet.git"}, Branch: "main", Clusters: []ClusterConfig{
				{Name: "prod", Path: "clusters/production", URL: "https://github.com/example/fleet", Ref: ref, Object: &manifest.Object{File: ".gitops.yaml", Line: 2}},
			}}
			disc, err := New(tree, r.Root, Options{}).Discover(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, root := range disc.Roots {
				if root.Cluster != nil {
					names = append(names, root.String())
				}
			}
			if diff := cmp.Diff([]string{
				"clusters/production (Kustomization flux-system/flux-system)",
				"infrastructure/policies (Kustomization flux-system/infrastructure)",
				"tenants/production (Kustomization flux-system/tenants)",
			}, names); diff != "" {
				t.Errorf("the declared cluster's roots (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderedCount: an engine counts each render once (the walk's, of
// the entry points and parents too), for the progress a long run shows;
// asking again renders nothing.
func TestRenderedCount(t *testing.T) {
	g := fluxFixture(t, "homelab", "https://github.com/example/home-lab.git", nil)
	r, tree := openTree(t, g.Dir, "")
	var n atomic.Int64
	eng := New(tree, r.Root, Options{Rendered: &n})
	head, _ := r.Git.Head()
	disc, err := eng.Discover(context.Background(), Checkout{Remotes: r.RemoteURLs(), Branch: head.Name().Short()})
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() == 0 {
		t.Fatal("the walk's renders are not counted")
	}
	for range 2 {
		if _, err := eng.Render(context.Background(), disc, disc.Roots); err != nil {
			t.Fatal(err)
		}
	}
	renders := 0
	eng.results.Range(func(_, _ any) bool { renders++; return true })
	if n.Load() != int64(renders) {
		t.Errorf("%d renders counted, %d made", n.Load(), renders)
	}
}

// TestInstanceSources: the source a FluxInstance's sync makes is the one
// the operator applies: a GitRepository at the full ref, an OCIRepository
// at the ref as a tag, so the artifact is pulled as the cluster pulls it.
func TestInstanceSources(t *testing.T) {
	decl := &manifest.Object{File: "clusters/staging/flux-instance.yaml", Line: 1, APIVersion: OperatorGroup + "/v1", Kind: "FluxInstance", Namespace: "flux-system", Name: "flux"}
	oci := &instance{Object: decl}
	oci.Sync.Kind, oci.Sync.URL, oci.Sync.Ref, oci.Sync.Path = "OCIRepository", "oci://ghcr.io/example/fleet", "latest-stable", "clusters/staging"
	s := oci.source()
	if got := string(s.Spec); got != `{"ref":{"tag":"latest-stable"},"url":"oci://ghcr.io/example/fleet"}` {
		t.Errorf("the OCIRepository's spec is %s", got)
	}
	git := &instance{Object: decl}
	git.Sync.Kind, git.Sync.URL, git.Sync.Ref, git.Sync.Path = "GitRepository", "https://github.com/example/fleet.git", "refs/heads/main", "clusters/staging"
	if s := git.source(); s.Ref.Name != "refs/heads/main" || s.URL != "https://github.com/example/fleet.git" || s.ID() != "GitRepository/flux-system/flux-system" {
		t.Errorf("the GitRepository is %+v", s)
	}
}

// TestFluxMinor: the Flux release a FluxInstance's distribution.version
// allows, as the minor release its APIs are judged by.
func TestFluxMinor(t *testing.T) {
	for in, want := range map[string]string{
		"2.7.x":       "v2.7",
		"2.x":         "v2.9",
		"*":           "v2.9",
		"v2.6.4":      "v2.6",
		"~2.5.3":      "v2.5",
		">=2.5 <2.8":  "v2.7",
		"v0.31.4":     "v0.31", // a tag of Flux's manifests
		"0.x":         "",      // a FluxInstance installs Flux 2 only
		"2.12.x":      "",      // newer than the APIs known: the bundled release judges
		"3.x":         "",
		"not a range": "",
		"":            "",
	} {
		if got := FluxMinor(in); got != want {
			t.Errorf("FluxMinor(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestClusterFluxRelease: the fleet's FluxInstance installs Flux 2.7.x,
// and a bootstrap cluster's release is its gotk-components.yaml's header.
func TestClusterFluxRelease(t *testing.T) {
	g := fluxFixture(t, "fleet", "https://github.com/example/fleet.git", nil)
	_, disc := discoverTree(t, g.Dir)
	if len(disc.Clusters) != 1 || disc.Clusters[0].Flux != "v2.7" {
		t.Errorf("clusters %+v, want one running Flux v2.7", disc.Clusters)
	}
	ex := exampleRepo(t, "flux-repo")
	_, disc = discoverTree(t, ex.Dir)
	for _, c := range disc.Clusters {
		if c.Flux != "v2.9" {
			t.Errorf("cluster %s runs Flux %q, want v2.9 from its gotk-components.yaml", c.Name, c.Flux)
		}
	}
	if len(disc.Clusters) == 0 {
		t.Error("the flux-repo example has no cluster")
	}
}

// TestRepositoryFluxRelease: a cluster whose folder names no Flux release
// runs the one the rest of the repository names, when it names one: a
// bootstrap kustomization installing Flux from the flux2 repository at a
// tag (angelnu/k8s-gitops), or a flux-manifests source its tree applies
// from another folder (mcfio/home-ops). Two releases named are no answer.
func TestRepositoryFluxRelease(t *testing.T) {
	const url = "https://github.com/example/home.git"
	oci := func(tag string) []byte {
		return []byte("apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata: {name: flux-manifests, namespace: flux-system}\nspec:\n  interval: 1h\n  url: oci://ghcr.io/fluxcd/flux-manifests\n  ref: {tag: " + tag + "}\n")
	}
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"bootstrap kustomization", map[string][]byte{
			"bootstrap/flux/kustomization.yaml": []byte("resources:\n- github.com/fluxcd/flux2/manifests/install?ref=v2.3.0\n"),
		}, "v2.3"},
		{"flux-manifests source elsewhere", map[string][]byte{
			"kubernetes/system/flux/repository.yaml": oci("v2.4.0"),
		}, "v2.4"},
		{"both, agreeing", map[string][]byte{
			"bootstrap/flux/kustomization.yaml":      []byte("resources:\n- https://github.com/fluxcd/flux2/releases/download/v2.4.0/install.yaml\n"),
			"kubernetes/system/flux/repository.yaml": oci("v2.4.0"),
		}, "v2.4"},
		{"two releases", map[string][]byte{
			"bootstrap/flux/kustomization.yaml":      []byte("resources:\n- github.com/fluxcd/flux2/manifests/install?ref=v2.3.0\n"),
			"kubernetes/system/flux/repository.yaml": oci("v2.4.0"),
		}, ""},
		{"none", map[string][]byte{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := gittest.Init(t, t.TempDir())
			tc.files["kubernetes/flux/flux-system/gotk-sync.yaml"] = gittest.FluxSync(url, "kubernetes/flux")
			g.CommitFiles(t, "import", tc.files)
			g.Origin(t, url)
			_, disc := discoverTree(t, g.Dir)
			if len(disc.Clusters) != 1 || disc.Clusters[0].Flux != tc.want {
				t.Errorf("clusters %+v, want one running Flux %q", disc.Clusters, tc.want)
			}
		})
	}
}

// TestFluxInstallTag: the forms a kustomization names Flux's install
// manifests in, and others.
func TestFluxInstallTag(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/fluxcd/flux2/manifests/install?ref=v2.3.0":                      "v2.3.0",
		"https://github.com/fluxcd/flux2/manifests/install?ref=v2.9.4":              "v2.9.4",
		"https://github.com/fluxcd/flux2.git//manifests/install?ref=v2.5.1":         "v2.5.1",
		"github.com/fluxcd/flux2/manifests/install?version=v2.6.0":                  "v2.6.0",
		"https://github.com/fluxcd/flux2/releases/download/v2.4.0/install.yaml":     "v2.4.0",
		"https://github.com/fluxcd/flux2/releases/download/v2.4.0/manifests.tar.gz": "",
		"github.com/fluxcd/flux2/manifests/install":                                 "",
		"github.com/fluxcd/flux2/manifests/bases/helm-controller?ref=v2.3.0":        "",
		"github.com/example/flux2/manifests/install?ref=v2.3.0":                     "",
		"gitlab.com/fluxcd/flux2/manifests/install?ref=v2.3.0":                      "",
		"../flux/install": "",
	} {
		if got := fluxInstallTag(in); got != want {
			t.Errorf("fluxInstallTag(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTreeClusterVariables: two clusters define the same ConfigMap of
// variables with their own values; each cluster's Kustomization
// substitutes its own, as on joryirving/home-ops, whose three clusters
// each say CLUSTER in flux-system/cluster-info.
func TestTreeClusterVariables(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	files := map[string][]byte{"apps/where.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: where\n  namespace: default\ndata:\n  cluster: ${CLUSTER}\n")}
	for _, cluster := range []string{"production", "staging"} {
		dir := "clusters/" + cluster
		files[dir+"/flux-system/gotk-sync.yaml"] = gittest.FluxSync("https://github.com/example/vars", dir)
		files[dir+"/vars.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-info\n  namespace: flux-system\ndata:\n  CLUSTER: " + cluster + "\n")
		files[dir+"/apps.yaml"] = []byte(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 1h
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substituteFrom:
    - {kind: ConfigMap, name: cluster-info}
`)
	}
	g.CommitFiles(t, "import", files)
	g.Origin(t, "https://github.com/example/vars.git")
	_, results := renderTree(t, g.Dir)
	got := map[string]string{}
	for _, res := range results {
		if res.Root.Path != "apps" {
			continue
		}
		v, _ := objectsByID(t, res)["v1/ConfigMap/default/where"].GetString("data.cluster")
		got[res.Root.ClusterName()] = v
	}
	if diff := cmp.Diff(map[string]string{"clusters/production": "production", "clusters/staging": "staging"}, got); diff != "" {
		t.Errorf("the variable per cluster (-want +got):\n%s", diff)
	}
}

// TestTreeChildWrittenWithVariables locates a child written with a name
// its parent's substitution gives, ${APP}, in a component several apps
// share and patch: at the component's object, not the patch, and not
// nowhere.
func TestTreeChildWrittenWithVariables(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	release := "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ${APP}-server\nspec:\n  interval: 1h\n"
	g.CommitFiles(t, "import", map[string][]byte{
		"clusters/lab/flux-system/gotk-sync.yaml": gittest.FluxSync("https://github.com/example/vars", "clusters/lab"),
		"clusters/lab/web.yaml": []byte(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  interval: 1h
  path: ./apps/web
  prune: true
  targetNamespace: web
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substitute: {APP: web}
`),
		"apps/web/kustomization.yaml":          []byte("components: [../../components/app]\npatches:\n- path: release.patch.yaml\n"),
		"apps/web/release.patch.yaml":          []byte(release + "  values: {replicas: 2}\n"),
		"components/app/kustomization.yaml":    []byte("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [release.yaml]\n"),
		"components/app/release.yaml":          []byte("# the app's server\n" + release + "  chart:\n    spec: {chart: server, sourceRef: {kind: HelmRepository, name: charts}}\n"),
		"components/app/unrelated-secret.yaml": []byte("not: listed\n"),
	})
	g.Origin(t, "https://github.com/example/vars.git")
	_, results := renderTree(t, g.Dir)
	var got []string
	for _, res := range results {
		for _, c := range res.Children {
			if c.Kind == "HelmRelease" {
				got = append(got, fmt.Sprintf("%s/%s at %s:%d", c.Namespace, c.Name, c.File, c.Line))
			}
		}
	}
	if diff := cmp.Diff([]string{"web/web-server at components/app/release.yaml:2"}, got); diff != "" {
		t.Errorf("HelmReleases (-want +got):\n%s", diff)
	}
}

func TestHoldsWritten(t *testing.T) {
	for _, tc := range []struct {
		rendered, written string
		want              bool
	}{
		{"web", "web", true},
		{"prod-web", "web", true},
		{"web", "api", false},
		{"web-server", "${APP}-server", true},
		{"web-server", "${APP:=api}-server", true},
		{"web-client", "${APP}-server", false},
		{"a-web-b", "a-${APP}-b", true},
		{"b-web-a", "a-${APP}-b", false},
		{"anything", "${APP}", true},
	} {
		if got := holdsWritten(tc.rendered, tc.written); got != tc.want {
			t.Errorf("holdsWritten(%q, %q) = %v, want %v", tc.rendered, tc.written, got, tc.want)
		}
	}
}

// TestInstanceRelease: a FluxInstance (or the flux-instance chart's
// values) installs the newest Flux its version allows, but no newer than
// the Flux Operator manifests its artifact pins carry; a FluxInstance
// without an artifact, no newer than those of the operator the repository
// installs, when it says which.
func TestInstanceRelease(t *testing.T) {
	const manifests = "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:"
	for _, tc := range []struct {
		version, artifact, operator, kind, want string
	}{
		{version: "2.x", operator: "0.33.0", kind: "FluxInstance", want: "v2.7"},
		{version: "2.x", operator: "0.58.1", kind: "FluxInstance", want: "v2.9"},
		{version: "2.6.x", operator: "0.33.0", kind: "FluxInstance", want: "v2.6"},
		{version: "2.x", operator: "0.33.0", kind: InstanceValues, want: "v2.9"},
		{version: "2.x", artifact: manifests + "v0.42.1", operator: "0.33.0", kind: "FluxInstance", want: "v2.8"},
		{version: "2.x", operator: "not-a-release", kind: "FluxInstance", want: "v2.9"},
	} {
		in := &instance{Object: &manifest.Object{Kind: tc.kind}}
		in.Distribution.Version, in.Distribution.Artifact = tc.version, tc.artifact
		if got := in.release(tc.operator); got != tc.want {
			t.Errorf("%s version %q, artifact %q, operator %q: %q, want %q", tc.kind, tc.version, tc.artifact, tc.operator, got, tc.want)
		}
	}
	for _, tc := range []struct{ version, artifact, want string }{
		{"2.x", "", "v2.9"},
		{"", "", ""},
		{"", manifests + "v0.46.0", "v2.8"},
		{"2.x", manifests + "v0.42.0", "v2.7"},
		{"2.x", manifests + "v0.42.1", "v2.8"},
		{"2.x", manifests + "v0.58.1", "v2.9"},
		{"2.6.x", manifests + "v0.58.1", "v2.6"},
		{"2.x", manifests + "v0.10.0", "v2.4"},
		{"2.x", manifests + "latest", "v2.9"},
		{"2.x", "oci://registry.example.com/flux-manifests:v0.46.0", "v2.9"},
	} {
		in := &instance{}
		in.Distribution.Version, in.Distribution.Artifact = tc.version, tc.artifact
		if got := in.release(""); got != tc.want {
			t.Errorf("version %q, artifact %q: %q, want %q", tc.version, tc.artifact, got, tc.want)
		}
	}
}

// TestObjectWrittenTwiceRendersApart: one Kustomization written in two
// files, and twice in one (its parent's duplicate error), renders once for
// each place it is written, each failing at its own file and line, on every
// run; the first render to finish used to stand for all of them.
func TestObjectWrittenTwiceRendersApart(t *testing.T) {
	app := "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: app, namespace: flux-system}\nspec:\n  interval: 1m\n  path: ./missing\n  sourceRef: {kind: GitRepository, name: flux-system}\n"
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", map[string][]byte{
		"clusters/prod/flux-system/gotk-sync.yaml":     gittest.FluxSync("https://example.com/fleet.git", "clusters/prod"),
		"clusters/prod/flux-system/kustomization.yaml": []byte("resources: [gotk-sync.yaml]\n"),
		"clusters/prod/a.yaml":                         []byte(app),
		"clusters/prod/b.yaml":                         []byte(app + "---\n" + app),
	})
	want := []string{"clusters/prod/a.yaml:6", "clusters/prod/b.yaml:14", "clusters/prod/b.yaml:6"} // sorted as strings
	for range 5 {
		_, results := renderAll(t, g.Dir, "", Options{})
		var got []string
		for _, res := range results {
			var d *diag.Error
			if res.Root.Path == "missing" && errors.As(res.Err, &d) {
				got = append(got, fmt.Sprintf("%s:%d", d.File, d.Line))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("the app fails at %v, want %v", got, want)
		}
	}
}

// TestTreeOrphanEntryBlocksOnlyItsPath: a Kustomization written in its
// own path that its parent's list leaves out (an orphan entry point) and
// that does not render keeps from rendering only what lies under its
// path; another Kustomization left out of the list is unreached, not
// blocked by it.
func TestTreeOrphanEntryBlocksOnlyItsPath(t *testing.T) {
	ks := func(name, path string) []byte {
		return []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: " + name + ", namespace: flux-system}\nspec:\n  interval: 1h\n  path: " + path + "\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n")
	}
	cm := func(name string) []byte {
		return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: default}\n")
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", map[string][]byte{
		"clusters/prod/kustomization.yaml":         []byte("resources:\n- flux-system/gotk-sync.yaml\n- apps.yaml\n"),
		"clusters/prod/flux-system/gotk-sync.yaml": gittest.FluxSync("https://github.com/example/fleet", "clusters/prod"),
		"clusters/prod/apps.yaml":                  ks("apps", "./apps"),
		// The list leaves broken and off out, as a repository disables them.
		"apps/kustomization.yaml":              []byte("resources:\n- web/ks.yaml\n# - broken/ks.yaml\n# - off/ks.yaml\n"),
		"apps/web/ks.yaml":                     ks("web", "./apps/web/app"),
		"apps/web/app/kustomization.yaml":      []byte("resources:\n- cm.yaml\n"),
		"apps/web/app/cm.yaml":                 cm("web"),
		"apps/broken/ks.yaml":                  ks("broken", "./apps/broken"),
		"apps/broken/kustomization.yaml":       []byte("resources:\n- ks.yaml\n- missing.yaml\n- inner.yaml\n"),
		"apps/broken/inner.yaml":               ks("inner", "./apps/broken/inner"),
		"apps/broken/inner/kustomization.yaml": []byte("resources:\n- cm.yaml\n"),
		"apps/broken/inner/cm.yaml":            cm("inner"),
		"apps/off/ks.yaml":                     ks("off", "./apps/off/app"),
		"apps/off/app/kustomization.yaml":      []byte("resources:\n- cm.yaml\n"),
		"apps/off/app/cm.yaml":                 cm("off"),
	})
	g.Origin(t, "https://github.com/example/fleet.git")
	_, disc := discoverTree(t, g.Dir)
	reasons := map[string]string{}
	for _, s := range disc.Skipped {
		reasons[s.Kustomization.ID()] = s.Reason
	}
	if got := reasons["flux-system/inner"]; got != "Kustomization flux-system/broken, which applies it, does not render" {
		t.Errorf("inner, under the broken entry's path: %q", got)
	}
	if got, ok := reasons["flux-system/off"]; ok {
		t.Errorf("off, elsewhere, is skipped: %q", got)
	}
	// It renders as written, as one no cluster applies.
	i := slices.IndexFunc(disc.Roots, func(r Root) bool { return r.Kustomization != nil && r.Kustomization.ID() == "flux-system/off" })
	if i < 0 || !disc.Unreached(disc.Roots[i]) {
		t.Errorf("off is not an unreached root of %v", disc.Roots)
	}
}
