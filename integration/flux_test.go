package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

// fluxFixture commits a fixture of testdata/flux into a new repository
// whose origin is url, with each folder of branches as a branch of its own.
func fluxFixture(t *testing.T, dir, url string, branches map[string]string) string {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "testdata", "flux", dir)))
	g.Origin(t, url)
	for folder, branch := range branches {
		g.Branch(t, branch, gittest.CopyTree(t, filepath.Join("..", "testdata", "flux", folder)))
	}
	return g.Dir
}

// renderedRoots is render --all -o json.
type renderedRoots struct {
	Roots []struct {
		Path          string            `json:"path"`
		Kustomization string            `json:"kustomization"`
		Cluster       string            `json:"cluster"`
		Revision      string            `json:"revision"`
		Objects       []json.RawMessage `json:"objects"`
	} `json:"roots"`
	Skipped []json.RawMessage `json:"skipped"`
}

type kobj struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       map[string]any `json:"spec"`
	Data       map[string]any `json:"data"`
	StringData map[string]any `json:"stringData"`
}

func (o kobj) id() string {
	ns, _ := o.Metadata["namespace"].(string)
	name, _ := o.Metadata["name"].(string)
	return o.APIVersion + "/" + o.Kind + "/" + ns + "/" + name
}

// TestFluxFixturesMatchFluxBuild renders each Flux fixture and holds every
// Flux root to the Flux CLI: `flux build kustomization`, given the
// Kustomization as its parent renders it (the variables its
// substituteFrom reads inlined, as the cluster would give them), must build
// the same objects.
func TestFluxFixturesMatchFluxBuild(t *testing.T) {
	flux := testenv.Tool(t, "flux")
	for _, fx := range []struct {
		name     string
		dir, url string
		branches map[string]string
		roots    int
		// artifacts maps an artifact's name to the folder of the
		// repository it copies whole (the oracle builds the folder).
		artifacts map[string]string
	}{
		{name: "home-lab", dir: "homelab", url: "https://github.com/example/home-lab.git", roots: 6},
		{name: "fleet", dir: "fleet", url: "https://github.com/example/fleet.git", roots: 5},
		{name: "tenants", dir: "tenants/main", url: "https://github.com/example/fleet.git", branches: map[string]string{"tenants/team-a": "team-a"}, roots: 8},
		{name: "platform", dir: "platform", url: "https://github.com/example/platform.git", roots: 8,
			artifacts: map[string]string{"infrastructure": "infrastructure", "apps": "apps"}},
	} {
		t.Run(fx.name, func(t *testing.T) {
			repo := fluxFixture(t, fx.dir, fx.url, fx.branches)
			r := run(t, repo, nil, "render", "--all", "--offline", "-o", "json") // its charts are on the internet
			if r.code != 0 {
				t.Fatalf("render: exit %d\n%s", r.code, r.stderr)
			}
			var out renderedRoots
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatal(err)
			}
			if len(out.Roots) != fx.roots || len(out.Skipped) != 0 {
				t.Fatalf("%d roots, %d skipped; want %d roots, none skipped", len(out.Roots), len(out.Skipped), fx.roots)
			}
			// Every Kustomization and ConfigMap each cluster renders.
			kustomizations := map[string]map[string]any{}
			configMaps := map[string]kobj{}
			for _, root := range out.Roots {
				for _, raw := range root.Objects {
					var o kobj
					var whole map[string]any
					if json.Unmarshal(raw, &o) != nil || json.Unmarshal(raw, &whole) != nil {
						t.Fatal("an object does not decode")
					}
					switch {
					case o.Kind == "Kustomization" && strings.HasPrefix(o.APIVersion, "kustomize.toolkit.fluxcd.io/"):
						kustomizations[root.Cluster+"|"+o.id()] = whole
					case o.Kind == "ConfigMap" && o.APIVersion == "v1":
						configMaps[root.Cluster+"|"+o.id()] = o
					}
				}
			}
			for _, root := range out.Roots {
				if root.Kustomization == "" {
					continue
				}
				ns, name, _ := strings.Cut(root.Kustomization, "/")
				ks, ok := kustomizations[root.Cluster+"|kustomize.toolkit.fluxcd.io/v1/Kustomization/"+ns+"/"+name]
				if !ok {
					// An entry point the Flux Operator makes from a sync.
					ks = map[string]any{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
						"metadata": map[string]any{"name": name, "namespace": ns},
						"spec":     map[string]any{"path": root.Path, "prune": true, "interval": "10m", "sourceRef": map[string]any{"kind": "GitRepository", "name": name}}}
				}
				inlineSubstituteFrom(t, ks, ns, root.Cluster, configMaps)
				dir, path := repo, root.Path
				switch {
				case strings.HasPrefix(root.Revision, "artifact "):
					artifact, _, _ := strings.Cut(strings.TrimPrefix(root.Revision, "artifact "), " ")
					path = fx.artifacts[artifact] + "/" + root.Path
				case root.Revision != "":
					dir = worktree(t, repo, strings.TrimPrefix(root.Revision, "branch "))
				}
				want := fluxBuild(t, flux, dir, name, ns, path, ks)
				var got []kobj
				for _, raw := range root.Objects {
					var o kobj
					if err := json.Unmarshal(raw, &o); err != nil {
						t.Fatal(err)
					}
					if labels, _ := o.Metadata["labels"].(map[string]any); labels["resourceset.fluxcd.controlplane.io/name"] != nil {
						continue // the Flux Operator applies what a ResourceSet makes, not Flux
					}
					got = append(got, o)
				}
				if diff := cmp.Diff(canonical(t, want), canonical(t, got)); diff != "" {
					t.Errorf("%s (%s): kubectl gitops differs from flux build (-flux +gitops):\n%s", root.Path, root.Kustomization, diff)
				}
			}
		})
	}
}

// inlineSubstituteFrom gives the Kustomization the variables its
// substituteFrom ConfigMaps hold, as plain substitute entries: `flux build
// --dry-run` reads nothing from a cluster.
func inlineSubstituteFrom(t *testing.T, ks map[string]any, ns, cluster string, configMaps map[string]kobj) {
	t.Helper()
	spec, _ := ks["spec"].(map[string]any)
	pb, _ := spec["postBuild"].(map[string]any)
	if pb == nil {
		return
	}
	vars, _ := pb["substitute"].(map[string]any)
	if vars == nil {
		vars = map[string]any{}
	}
	from, _ := pb["substituteFrom"].([]any)
	for _, f := range from {
		ref := f.(map[string]any)
		cm, ok := configMaps[cluster+"|v1/ConfigMap/"+ns+"/"+ref["name"].(string)]
		if !ok {
			if ref["optional"] == true {
				continue
			}
			t.Fatalf("substituteFrom %v: not rendered", ref)
		}
		for k, v := range cm.Data {
			if _, set := vars[k]; !set {
				vars[k] = v
			}
		}
	}
	pb["substitute"] = vars
	delete(pb, "substituteFrom")
}

// worktree checks a branch of repo out beside it, once.
func worktree(t *testing.T, repo, branch string) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(repo), "worktree-"+branch)
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	if out, err := exec.Command("git", "-C", repo, "worktree", "add", "-q", dir, branch).CombinedOutput(); err != nil {
		t.Fatalf("git worktree add: %v\n%s", err, out)
	}
	return dir
}

// fluxBuild runs `flux build kustomization` for one root.
func fluxBuild(t *testing.T, flux, dir, name, ns, path string, ks map[string]any) []kobj {
	t.Helper()
	data, err := yaml.Marshal(ks)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ks.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(flux, "build", "kustomization", name, "-n", ns, "--path", "./"+path, "--kustomization-file", file, "--dry-run", "--strict-substitute")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("flux build kustomization %s/%s: %v\n%s", ns, name, err, stderrOf(err))
	}
	var objs []kobj
	for _, doc := range strings.Split(string(out), "\n---\n") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		var o kobj
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("flux build printed something that is not YAML: %v\n%s", err, doc)
		}
		objs = append(objs, o)
	}
	return objs
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// canonical prints objects in a stable order, as JSON, for comparing:
// Secret values are left out (flux build masks them).
func canonical(t *testing.T, objs []kobj) []string {
	t.Helper()
	var out []string
	for _, o := range objs {
		if o.Kind == "Secret" {
			for _, m := range []map[string]any{o.Data, o.StringData} {
				for k := range m {
					m[k] = "(a value)"
				}
			}
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// TestFluxFixturesFindings validates each Flux fixture as it is (no
// finding at all) and broken copies of it (exactly the findings the break
// causes, at the file and line to fix).
func TestFluxFixturesFindings(t *testing.T) {
	type want struct {
		rule, file string
		line       int
		message    string
	}
	homelab := func() map[string][]byte {
		return gittest.CopyTree(t, filepath.Join("..", "testdata", "flux", "homelab"))
	}
	tenants := func() map[string][]byte {
		return gittest.CopyTree(t, filepath.Join("..", "testdata", "flux", "tenants", "main"))
	}
	replace := func(files map[string][]byte, file, old, new string) map[string][]byte {
		if !strings.Contains(string(files[file]), old) {
			t.Fatalf("%s does not hold %q", file, old)
		}
		files[file] = []byte(strings.Replace(string(files[file]), old, new, 1))
		return files
	}
	operatorFleet := func() map[string][]byte {
		return gittest.CopyTree(t, filepath.Join("..", "testdata", "flux", "fleet"))
	}
	// A HelmRelease of an API Flux 2.8 removed, from a HelmRepository
	// another repository defines.
	withBeta := func(files map[string][]byte) map[string][]byte {
		files = replace(files, "apps/team-a/kustomization.yaml", "  - deployment.yaml\n", "  - deployment.yaml\n  - redis.yaml\n")
		files["apps/team-a/redis.yaml"] = []byte("apiVersion: helm.toolkit.fluxcd.io/v2beta2\nkind: HelmRelease\nmetadata:\n  name: redis\nspec:\n  interval: 10m\n" +
			"  chart:\n    spec:\n      chart: redis\n      sourceRef:\n        kind: HelmRepository\n        name: bitnami\n        namespace: flux-system\n")
		return files
	}
	betaRelease := want{"not-rendered", "apps/team-a/redis.yaml", 1, "HelmRelease team-a/redis is not rendered nor checked"}
	previews := want{"not-rendered", "tenants/previews.yaml", 1, "ResourceSet flux-system/previews is not rendered nor checked: the inputs of its GitHubPullRequest provider flux-system/pull-requests are known only in the cluster"}
	fleet := []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./clusters/production\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
	tests := []struct {
		name  string
		url   string
		files map[string][]byte
		team  bool // the tenant's branch is there
		want  []want
	}{
		{name: "home-lab", url: "https://github.com/example/home-lab.git", files: homelab()},
		{name: "tenants", url: "https://github.com/example/fleet.git", files: tenants(), team: true},
		{name: "platform", url: "https://github.com/example/platform.git", files: gittest.CopyTree(t, filepath.Join("..", "testdata", "flux", "platform"))},
		{name: "fleet", url: "https://github.com/example/fleet.git", files: operatorFleet(), want: []want{previews}},
		{
			name: "fleet, a tenant whose apps are not there", url: "https://github.com/example/fleet.git",
			files: replace(operatorFleet(), "tenants/tenants.yaml", "tenant: team-b", "tenant: team-c"),
			want: []want{previews, {"build", "tenants/tenants.yaml", 1, `Kustomization flux-system/team-c-apps: spec.path "./apps/team-c" is not a directory of this repository`},
				// Now no Kustomization applies it: built on its own, its
				// variables are not substituted.
				{"schema", "apps/team-b/deployment.yaml", 9, "spec.replicas in body must be of type integer"}},
		},
		{
			name: "fleet, a v2beta2 HelmRelease on the Flux 2.7 the FluxInstance installs", url: "https://github.com/example/fleet.git",
			files: withBeta(operatorFleet()),
			want: []want{previews, betaRelease,
				{"deprecated-api", "apps/team-a/redis.yaml", 1, "helm.toolkit.fluxcd.io/v2beta2 HelmRelease is deprecated since Flux v2.3: use helm.toolkit.fluxcd.io/v2"}},
		},
		{
			name: "fleet, a v2beta2 HelmRelease once the FluxInstance moves to Flux 2.8", url: "https://github.com/example/fleet.git",
			files: replace(withBeta(operatorFleet()), "clusters/prod/flux-system/flux-instance.yaml", `version: "2.7.x"`, `version: "2.8.x"`),
			want: []want{previews, betaRelease,
				{"deprecated-api", "apps/team-a/redis.yaml", 1, "helm.toolkit.fluxcd.io/v2beta2 HelmRelease was removed in Flux v2.8 (deprecated in v2.3): use helm.toolkit.fluxcd.io/v2"}},
		},
		{
			name: "home-lab, a variable no one sets in a child's spec", url: "https://github.com/example/home-lab.git",
			files: replace(homelab(), "kubernetes/apps/network/echo/ks.yaml", "echo.${CLUSTER_DOMAIN}", "echo.${CLUSTER_DOMAN}"),
			// Flux 2.7 substitutes an empty string: named, not an error.
			want: []want{{"build", "kubernetes/apps/network/echo/ks.yaml", 22, `variable CLUSTER_DOMAN is not set and has no default: Flux v2.7 substitutes an empty string`}},
		},
		{
			name: "home-lab on Flux 2.9, a variable no one sets in a child's spec", url: "https://github.com/example/home-lab.git",
			files: replace(replace(homelab(), "kubernetes/apps/network/echo/ks.yaml", "echo.${CLUSTER_DOMAIN}", "echo.${CLUSTER_DOMAN}"),
				"kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "version: 2.7.x", "version: 2.9.x"),
			want: []want{{"build", "kubernetes/apps/network/echo/ks.yaml", 22, `variable not set (strict mode): "CLUSTER_DOMAN"`}},
		},
		{
			name: "home-lab, a sync path that is not there", url: "https://github.com/example/home-lab.git",
			files: replace(homelab(), "kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "path: kubernetes/flux/cluster", "path: kubernetes/flux/clustr"),
			want:  []want{{"build", "kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", 24, `spec.path "kubernetes/flux/clustr" is not a directory of this repository`}},
		},
		{
			name: "tenants, the tenant's branch not fetched", url: "https://github.com/example/fleet.git", files: tenants(),
			want: []want{{"not-rendered", "tenants/base/team-a/sync.yaml", 21, "Kustomization team-a/team-a is not rendered nor checked: its source GitRepository/team-a/team-a is this repository's branch team-a"}},
		},
		{
			name: "tenants, a cycle of Kustomizations", url: "https://github.com/example/fleet.git", team: true,
			files: func() map[string][]byte {
				f := replace(tenants(), "infrastructure/policies/kustomization.yaml", "- quota.yaml\n", "- quota.yaml\n- fleet.yaml\n")
				f["infrastructure/policies/fleet.yaml"] = fleet
				return f
			}(),
			want: []want{
				{"build", "clusters/production/flux-system/gotk-sync.yaml", 16, "cycle: Kustomization flux-system/fleet applies flux-system/flux-system, which applies it (flux-system/flux-system -> flux-system/infrastructure -> flux-system/fleet -> flux-system/flux-system)"},
				{"build", "clusters/production/infrastructure.yaml", 2, "cycle: Kustomization flux-system/fleet applies flux-system/infrastructure"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := gittest.Init(t, t.TempDir())
			g.CommitFiles(t, "import", tt.files)
			g.Origin(t, tt.url)
			if tt.team {
				g.Branch(t, "team-a", gittest.CopyTree(t, filepath.Join("..", "testdata", "flux", "tenants", "team-a")))
			}
			// Offline: the fixtures' charts are on the internet, which a
			// test never reaches.
			r := run(t, g.Dir, nil, "validate", "--all", "--offline", "-o", "json")
			var report struct {
				Findings []struct {
					Rule, File, Message string
					Line                int
				}
			}
			if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
				t.Fatalf("exit %d: %v\n%s", r.code, err, r.stderr)
			}
			if len(tt.want) == 0 {
				// Healthy: nothing, but the kinds no schema is shipped for
				// (Flux 2.7's ArtifactGenerator), and the HelmReleases whose
				// charts are not cached, named.
				for _, f := range report.Findings {
					uncached := f.Rule == "not-rendered" && strings.HasPrefix(f.Message, "HelmRelease ") && strings.Contains(f.Message, "--offline")
					if !uncached && (f.Rule != "no-schema" || !strings.Contains(f.Message, "ArtifactGenerator")) {
						t.Errorf("a healthy fixture has a finding: %+v", f)
					}
				}
				if r.code != 0 {
					t.Fatalf("a healthy fixture: exit %d\n%s", r.code, r.stderr)
				}
			}
			for _, w := range tt.want {
				found := false
				for _, f := range report.Findings {
					found = found || (f.Rule == w.rule && f.File == w.file && f.Line == w.line && strings.Contains(f.Message, w.message))
				}
				if !found {
					t.Errorf("no %s finding at %s:%d holding %q; findings:\n%+v", w.rule, w.file, w.line, w.message, report.Findings)
				}
			}
			// Nothing else, but the duplicates a cycle makes and the
			// HelmReleases whose charts are not cached.
			for _, f := range report.Findings {
				uncached := f.Rule == "not-rendered" && strings.HasPrefix(f.Message, "HelmRelease ") && strings.Contains(f.Message, "--offline")
				if uncached || (f.Rule == "duplicate-object" && strings.Contains(tt.name, "cycle")) || len(tt.want) == 0 ||
					(f.Rule == "no-schema" && strings.Contains(f.Message, "fluxcd.controlplane.io/")) { // no Flux Operator schema is shipped
					continue
				}
				expected := false
				for _, w := range tt.want {
					expected = expected || (f.Rule == w.rule && f.File == w.file && f.Line == w.line)
				}
				if !expected {
					t.Errorf("an unexpected finding: %+v", f)
				}
			}
		})
	}
}

// TestFluxFixtureDiffPerCluster changes what two clusters share: the diff
// shows it once per cluster, each root matched with its own cluster's base.
func TestFluxFixtureDiffPerCluster(t *testing.T) {
	dir := fluxFixture(t, "tenants/main", "https://github.com/example/fleet.git", map[string]string{"tenants/team-a": "team-a"})
	quota := filepath.Join(dir, "infrastructure", "policies", "quota.yaml")
	data, err := os.ReadFile(quota)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(quota, []byte(strings.Replace(string(data), "memory: 4Gi", "memory: 8Gi", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, dir, nil, "diff", "--base", "HEAD", "-o", "json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (differences)\n%s", r.code, r.stderr)
	}
	var out struct {
		Roots []struct {
			Path, Kustomization, Cluster string
			Changes                      []struct{ Object, Action string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, root := range out.Roots {
		for _, c := range root.Changes {
			got = append(got, root.Path+" "+root.Cluster+": "+c.Action+" "+c.Object)
		}
	}
	want := []string{
		"infrastructure/policies clusters/production: changed v1/ConfigMap/flux-system/tenant-defaults",
		"infrastructure/policies clusters/staging: changed v1/ConfigMap/flux-system/tenant-defaults",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

// TestFleetResourceSets runs the commands on the Flux Operator fleet: an
// input of the tenants ResourceSet changed shows, in diff, as the
// Deployment it moves in the tenant's apps (and the Kustomization the
// ResourceSet makes); render -o json names the ResourceSet whose inputs
// only the cluster has.
func TestFleetResourceSets(t *testing.T) {
	dir := fluxFixture(t, "fleet", "https://github.com/example/fleet.git", nil)
	r := run(t, dir, nil, "render", "--all", "-o", "json")
	if r.code != 0 {
		t.Fatalf("render: exit %d\n%s", r.code, r.stderr)
	}
	var out struct {
		Roots []struct {
			Path        string
			NotRendered []struct{ Kind, Name, File, Reason string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, root := range out.Roots {
		for _, n := range root.NotRendered {
			named = append(named, root.Path+": "+n.Kind+" "+n.Name+" ("+n.File+"): "+n.Reason)
		}
	}
	want := []string{"tenants: ResourceSet flux-system/previews (tenants/previews.yaml): the inputs of its GitHubPullRequest provider flux-system/pull-requests are known only in the cluster"}
	if diff := cmp.Diff(want, named); diff != "" {
		t.Errorf("not rendered (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stderr, "note: ResourceSet flux-system/previews (tenants/previews.yaml:1) is not rendered") {
		t.Errorf("render does not name the ResourceSet on standard error:\n%s", r.stderr)
	}

	p := filepath.Join(dir, "tenants", "tenants.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), "replicas: 3", "replicas: 4", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	d := run(t, dir, nil, "diff", "--base", "HEAD")
	if d.code != 1 {
		t.Fatalf("diff: exit %d, want 1 (differences)\n%s", d.code, d.stderr)
	}
	for _, want := range []string{
		"apps/team-b (Kustomization flux-system/team-b-apps): 1 changed",
		"--- base/apps/v1/Deployment/team-b/web\n+++ head/apps/v1/Deployment/team-b/web\n",
		"-  replicas: 3\n+  replicas: 4\n",
		"--- base/kustomize.toolkit.fluxcd.io/v1/Kustomization/flux-system/team-b-apps\n",
		`-      REPLICAS: "3"` + "\n" + `+      REPLICAS: "4"` + "\n",
	} {
		if !strings.Contains(d.stdout, want) {
			t.Errorf("diff lacks %q:\n%s", want, d.stdout)
		}
	}
	if strings.Contains(d.stdout, "team-a/web") {
		t.Errorf("diff shows team-a, whose inputs did not change:\n%s", d.stdout)
	}

	// A typo in the template: the ResourceSet's error, and none of the
	// overlays its Kustomizations would build, whose ${VARS} only they
	// substitute, checked alone.
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), "inputs.tenant >>-apps", "inputs.tenat >>-apps", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	v := run(t, dir, nil, "validate", "--all", "-o", "json")
	var report struct {
		Findings []struct{ Rule, Severity, File, Message string }
	}
	if err := json.Unmarshal([]byte(v.stdout), &report); err != nil {
		t.Fatalf("validate: exit %d, %v\n%s", v.code, err, v.stderr)
	}
	var errs []string
	for _, f := range report.Findings {
		if f.Severity == "error" || f.Rule == "unapplied" {
			errs = append(errs, f.Rule+" "+f.File)
		}
	}
	if want := []string{"build tenants/tenants.yaml"}; v.code != 1 || !slices.Equal(errs, want) {
		t.Errorf("validate with a typo in the template: exit %d, findings %q, want %q", v.code, errs, want)
	}
}

// TestFleetResourceSetReleases: HelmReleases a ResourceSet makes render
// from their chart with the values each input set gives.
func TestFleetResourceSetReleases(t *testing.T) {
	files := gittest.CopyTree(t, filepath.Join("..", "testdata", "flux", "fleet"))
	for f, data := range gittest.CopyTree(t, filepath.Join("..", "testdata", "charts", "podinfo-lite")) {
		files["charts/podinfo-lite/"+f] = data
	}
	files["tenants/tenants.yaml"] = append(files["tenants/tenants.yaml"], []byte(`    - apiVersion: helm.toolkit.fluxcd.io/v2
      kind: HelmRelease
      metadata:
        name: << inputs.tenant >>-web
        namespace: flux-system
      spec:
        interval: 30m
        targetNamespace: << inputs.tenant >>
        chart:
          spec:
            chart: ./charts/podinfo-lite
            sourceRef:
              kind: GitRepository
              name: flux-system
        values:
          replicaCount: << inputs.replicas >>
`)...)
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "a ResourceSet that makes HelmReleases", files)
	g.Origin(t, "https://github.com/example/fleet.git")
	r := run(t, g.Dir, nil, "render", "tenants", "-o", "json")
	if r.code != 0 {
		t.Fatalf("render: exit %d\n%s", r.code, r.stderr)
	}
	var out struct {
		Roots []struct {
			Releases []struct {
				HelmRelease, File, Chart string
				Objects                  []kobj
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Roots) != 1 {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	got := map[string]string{}
	for _, rel := range out.Roots[0].Releases {
		for _, o := range rel.Objects {
			if o.Kind == "Deployment" {
				got[rel.HelmRelease] = fmt.Sprintf("%s in %v, %v replicas, from %s", rel.Chart, o.Metadata["namespace"], o.Spec["replicas"], rel.File)
			}
		}
	}
	chart := "podinfo-lite 6.8.0 from GitRepository flux-system/flux-system"
	want := map[string]string{
		"flux-system/team-a-web": chart + " in team-a, 2 replicas, from tenants/tenants.yaml",
		"flux-system/team-b-web": chart + " in team-b, 3 replicas, from tenants/tenants.yaml",
		"flux-system/shared-web": chart + " in shared, 1 replicas, from tenants/tenants.yaml",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("releases (-want +got):\n%s", diff)
	}
}
