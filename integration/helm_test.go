package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/chartserve"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/helmtest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

// The example's chart addresses, as make example serves them.
const (
	exampleRepo     = "127.0.0.1:38079"
	exampleRegistry = "127.0.0.1:38080"
)

// helmPlatform serves the example's charts on loopback and copies the
// example into a Git repository whose sources point at them. It returns
// the repository and a function putting the example's addresses back in
// output.
func helmPlatform(t *testing.T) (string, func(string) string, *chartserve.Server) {
	dir, back, srv, _ := helmPlatformRepo(t)
	return dir, back, srv
}

func helmPlatformRepo(t *testing.T) (string, func(string) string, *chartserve.Server, *gittest.Repo) {
	t.Helper()
	srv := helmtest.ServeDir(t, filepath.Join("..", "testdata", "charts"))
	repoHost := strings.TrimPrefix(srv.RepoURL, "http://")
	files := gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "helm-platform"))
	for name, data := range files {
		data = bytes.ReplaceAll(data, []byte(exampleRepo), []byte(repoHost))
		files[name] = bytes.ReplaceAll(data, []byte(exampleRegistry), []byte(srv.Registry))
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", files)
	back := func(s string) string {
		s = strings.ReplaceAll(s, repoHost, exampleRepo)
		return scrub(strings.ReplaceAll(s, srv.Registry, exampleRegistry), g.Dir)
	}
	return g.Dir, back, srv, g
}

// TestHelmDiff bumps a chart and changes values, and diffs: the objects
// the HelmReleases render change, the comment names the chart bump at the
// top, and the labels a bump changes on every object show only with
// --ignore-preset none.
func TestHelmDiff(t *testing.T) {
	dir, back, _, g := helmPlatformRepo(t)
	data, err := os.ReadFile(filepath.Join(dir, "apps", "base", "podinfo", "repository.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	g.CommitFiles(t, "podinfo 6.8 in staging, a new message", map[string][]byte{
		"apps/base/podinfo/repository.yaml": bytes.Replace(data, []byte(`semver: "6.7.x"`), []byte(`semver: "6.8.x"`), 1),
		"apps/staging/podinfo-values.yaml":  []byte("ingress:\n  host: podinfo.staging.example.com\nui:\n  message: staging, on 6.8\n"),
	})
	cache := "XDG_CACHE_HOME=" + t.TempDir()
	md := run(t, dir, []string{cache}, "diff", "--base", "HEAD~1", "--head", "HEAD", "-o", "markdown")
	if md.code != 1 {
		t.Fatalf("diff: exit %d, want 1\n%s", md.code, md.stderr)
	}
	golden(t, "helm/diff.md.golden", back(md.stdout))
	all := run(t, dir, []string{cache}, "diff", "--base", "HEAD~1", "--head", "HEAD", "--ignore-preset", "none", "--color", "never")
	if !strings.Contains(all.stdout, "-    helm.sh/chart: podinfo-lite-6.7.1") || !strings.Contains(all.stdout, "+    helm.sh/chart: podinfo-lite-6.8.0") {
		t.Errorf("--ignore-preset none does not show the chart label change:\n%s", all.stdout)
	}
	if strings.Contains(md.stdout, "helm.sh/chart") {
		t.Error("the default preset shows the chart label change")
	}
}

// TestHelmDiffChartMissing: the change asks for a chart version the
// registry does not have. helm-controller then fails the HelmRelease and
// leaves what it installed: the diff names each release not rendered on
// the head side and why, and shows none of their objects as removed (it
// showed every one of them removed, and said nothing).
func TestHelmDiffChartMissing(t *testing.T) {
	dir, back, _, g := helmPlatformRepo(t)
	data, err := os.ReadFile(filepath.Join(dir, "apps", "base", "podinfo", "repository.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	g.CommitFiles(t, "podinfo 9, which does not exist", map[string][]byte{
		"apps/base/podinfo/repository.yaml": bytes.Replace(data, []byte(`semver: "6.7.x"`), []byte(`semver: "9.x"`), 1),
	})
	cache := "XDG_CACHE_HOME=" + t.TempDir()
	text := run(t, dir, []string{cache}, "diff", "--base", "HEAD~1", "--head", "HEAD", "--color", "never")
	if text.code != 1 {
		t.Fatalf("diff: exit %d, want 1\n%s", text.code, text.stderr)
	}
	golden(t, "helm/diff-chart-missing.golden", back(text.stdout))
	js := run(t, dir, []string{cache}, "diff", "--base", "HEAD~1", "--head", "HEAD", "-o", "json")
	var out struct {
		Roots []struct {
			Changes    []struct{ Action string }
			Unrendered []struct{ HelmRelease, Side, Reason string }
		}
	}
	if err := json.Unmarshal([]byte(js.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, js.stdout)
	}
	unrendered := 0
	for _, r := range out.Roots {
		for _, c := range r.Changes {
			if c.Action != "changed" {
				t.Errorf("an object %s, want only the source changed", c.Action)
			}
		}
		for _, u := range r.Unrendered {
			unrendered++
			if u.Side != "head" || !strings.Contains(u.Reason, `no version matches "9.x"`) {
				t.Errorf("unrendered %+v, want on the head side for want of 9.x", u)
			}
		}
	}
	if unrendered == 0 {
		t.Errorf("no HelmRelease named as not rendered:\n%s", js.stdout)
	}
}

// TestHelmPlatform renders and validates the helm-platform example: every
// HelmRelease's objects, per cluster, against golden files; each chart is
// fetched once and a second run fetches nothing; offline with an empty
// cache, each HelmRelease is named as not rendered and nothing fails.
func TestHelmPlatform(t *testing.T) {
	dir, back, srv := helmPlatform(t)
	cache := "XDG_CACHE_HOME=" + t.TempDir()
	r := run(t, dir, []string{cache}, "render", "--all")
	if r.code != 0 {
		t.Fatalf("render: exit %d\n%s", r.code, r.stderr)
	}
	golden(t, "helm/render.golden", back(r.stdout))
	archives := srv.Requests("/edge-proxy-1.1.0.tgz")
	if archives != 1 || srv.Requests("/index.yaml") != 1 {
		t.Errorf("a cold render fetched the index %d times and the chart %d times, want 1 and 1", srv.Requests("/index.yaml"), archives)
	}
	v := run(t, dir, []string{cache}, "validate", "--all")
	golden(t, "helm/validate.golden", fmt.Sprintf("exit %d\n%s%s", v.code, back(v.stdout), back(v.stderr)))
	if srv.Requests("/index.yaml") != 1 || srv.Requests("/edge-proxy-1.1.0.tgz") != 1 {
		t.Error("a warm validate fetched again")
	}

	off := run(t, dir, nil, "render", "--all", "--offline")
	golden(t, "helm/offline.golden", fmt.Sprintf("exit %d\n%s", off.code, back(off.stderr)))
	offv := run(t, dir, nil, "validate", "--all", "--offline")
	if offv.code != 0 || !strings.Contains(offv.stdout, "not in the cache, and --offline keeps from fetching it (not-rendered)") {
		t.Errorf("offline validate: exit %d\n%s", offv.code, offv.stdout)
	}
}

// TestHelmTemplateOracle holds every HelmRelease of the example to the
// Helm v4 CLI: `helm template` of the same chart and version, with the
// values helm-controller merges (each valuesFrom ConfigMap's values file,
// then spec.values, as -f files in that order), the release name and
// namespace it derives, must give the same objects, once the labels
// helm-controller adds and the namespace Helm's client fills in are left
// aside.
func TestHelmTemplateOracle(t *testing.T) {
	helmBin := testenv.Tool(t, "helm")
	dir, _, _ := helmPlatform(t)
	r := run(t, dir, nil, "render", "--all", "-o", "json")
	if r.code != 0 {
		t.Fatalf("render: exit %d\n%s", r.code, r.stderr)
	}
	var out struct {
		Roots []struct {
			Path, Cluster string
			Objects       []map[string]any
			Releases      []struct {
				HelmRelease, Chart, Version string
				Objects                     []map[string]any
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	configMaps := map[string]map[string]any{} // by cluster/namespace/name
	releases := map[string]map[string]any{}   // by cluster/namespace/name
	// The API versions the repository's CRDs serve, as a cluster that
	// applied them offers (helm template --api-versions).
	apis := map[string]bool{}
	for _, root := range out.Roots {
		for _, o := range root.Objects {
			meta := o["metadata"].(map[string]any)
			id := root.Cluster + "/" + str(meta["namespace"]) + "/" + str(meta["name"])
			switch o["kind"] {
			case "ConfigMap":
				configMaps[id] = o
			case "HelmRelease":
				releases[id] = o
			case "CustomResourceDefinition":
				spec := o["spec"].(map[string]any)
				for _, v := range list(spec["versions"]) {
					gv := str(spec["group"]) + "/" + str(v.(map[string]any)["name"])
					apis[gv], apis[gv+"/"+str(spec["names"].(map[string]any)["kind"])] = true, true
				}
			}
		}
	}
	home := t.TempDir()
	n := 0
	for _, root := range out.Roots {
		for _, rel := range root.Releases {
			n++
			t.Run(root.Cluster+"/"+rel.HelmRelease, func(t *testing.T) {
				hr := releases[root.Cluster+"/"+rel.HelmRelease]
				if hr == nil {
					t.Fatalf("no HelmRelease %s among the roots' objects", rel.HelmRelease)
				}
				meta, spec := hr["metadata"].(map[string]any), hr["spec"].(map[string]any)
				ns, name := str(meta["namespace"]), str(meta["name"])
				releaseName, releaseNS := name, ns
				if tn := str(spec["targetNamespace"]); tn != "" {
					releaseName, releaseNS = tn+"-"+name, tn
				}
				args := []string{"template", releaseName}
				args = append(args, chartArgs(t, dir, rel.Chart, rel.Version)...)
				args = append(args, "--namespace", releaseNS, "--include-crds", "--plain-http")
				for a := range apis {
					args = append(args, "--api-versions", a)
				}
				var files []string
				for i, ref := range list(spec["valuesFrom"]) {
					ref := ref.(map[string]any)
					cm := configMaps[root.Cluster+"/"+ns+"/"+str(ref["name"])]
					if cm == nil {
						t.Fatalf("valuesFrom %s: no such ConfigMap", ref["name"])
					}
					files = append(files, writeValues(t, fmt.Sprintf("from-%d.yaml", i), str(cm["data"].(map[string]any)["values.yaml"])))
				}
				if v, ok := spec["values"]; ok {
					data, _ := yaml.Marshal(v)
					files = append(files, writeValues(t, "values.yaml", string(data)))
				}
				for _, f := range files {
					args = append(args, "-f", f)
				}
				cmd := exec.Command(helmBin, args...)
				cmd.Env = []string{"HOME=" + home, "HELM_CACHE_HOME=" + filepath.Join(home, "cache"), "HELM_CONFIG_HOME=" + filepath.Join(home, "config"), "HELM_DATA_HOME=" + filepath.Join(home, "data"), "PATH=/usr/bin:/bin"}
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
				}
				want := normalize(t, splitDocs(t, stdout.Bytes()))
				got := normalize(t, rel.Objects)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("objects differ from helm template's (-helm +kubectl-gitops):\n%s", d)
				}
			})
		}
	}
	if n != 8 {
		t.Errorf("%d HelmReleases rendered, want the example's 8 (4 per cluster)", n)
	}
}

// chartArgs are helm template's arguments for a chart as the render names
// it: "NAME VERSION from URL" or "from GitRepository ns/name".
func chartArgs(t *testing.T, dir, chart, version string) []string {
	name, _, _ := strings.Cut(chart, " ")
	_, from, _ := strings.Cut(chart, " from ")
	switch {
	case strings.HasPrefix(from, "http://"):
		return []string{name, "--repo", from, "--version", version}
	case strings.HasPrefix(from, "oci://"):
		ref := from
		if !strings.HasSuffix(ref, "/"+name) {
			ref += "/" + name
		}
		return []string{ref, "--version", version}
	case strings.HasPrefix(from, "GitRepository "):
		return []string{filepath.Join(dir, "charts", name)}
	}
	t.Fatalf("chart %q: unknown source", chart)
	return nil
}

func writeValues(t *testing.T, name, data string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func splitDocs(t *testing.T, data []byte) []map[string]any {
	var out []map[string]any
	for _, doc := range strings.Split("\n"+string(data), "\n---") {
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("helm's output: %v\n%s", err, doc)
		}
		if len(o) > 0 {
			out = append(out, o)
		}
	}
	return out
}

// normalize sorts objects by kind and name, as JSON text, without the
// origin labels helm-controller adds and the namespace Helm's client fills
// in (both held to helm-controller by the helm package's own tests).
func normalize(t *testing.T, objs []map[string]any) []string {
	var out []string
	for _, o := range objs {
		meta := o["metadata"].(map[string]any)
		if labels, ok := meta["labels"].(map[string]any); ok {
			delete(labels, "helm.toolkit.fluxcd.io/name")
			delete(labels, "helm.toolkit.fluxcd.io/namespace")
			if len(labels) == 0 {
				delete(meta, "labels")
			}
		}
		delete(meta, "namespace")
		data, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	sort.Strings(out)
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestHelmBadInput: a chart that does not exist, a range nothing
// matches, values that fail the chart's schema, values that are not YAML
// are errors at the HelmRelease's file and line naming the chart; a
// repository that fails or refuses the credentials leaves its release
// unchecked. No stack trace, no file changed, no password printed.
func TestHelmBadInput(t *testing.T) {
	good := helmtest.Serve(t, helmtest.Package(t, helmtest.Chart("app", "1.0.0")))
	failing := helmtest.Serve(t, helmtest.Package(t, helmtest.Chart("app", "1.0.0")))
	failing.Fail.Store(500)
	refusing := helmtest.Serve(t, helmtest.Package(t, helmtest.Chart("app", "1.0.0")))
	refusing.Fail.Store(401)
	const password = "s3cr3t-chart-password"
	release := func(name, repo, version, extra string) string {
		return `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ` + name + `
  namespace: apps
spec:
  interval: 10m
  chart:
    spec:
      chart: app
      version: "` + version + `"
      sourceRef: {kind: HelmRepository, name: ` + repo + `}
` + extra
	}
	files := map[string][]byte{
		"apps/kustomization.yaml": []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [repos.yaml, missing.yaml, range.yaml, schema.yaml, notyaml.yaml, down.yaml, refused.yaml, sops.yaml]\n"),
		"apps/repos.yaml": []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: good, namespace: apps}
spec: {url: "` + good.RepoURL + `"}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: down, namespace: apps}
spec: {url: "` + failing.RepoURL + `"}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: private, namespace: apps}
spec:
  url: "` + refusing.RepoURL + `"
  secretRef: {name: chart-credentials}
---
apiVersion: v1
kind: Secret
metadata: {name: chart-credentials, namespace: apps}
stringData: {username: bot, password: ` + password + `}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: broken-values, namespace: apps}
data:
  values.yaml: "replicaCount: [unclosed"
`),
		"apps/missing.yaml": []byte(strings.Replace(release("missing", "good", "", ""), "chart: app", "chart: nope", 1)),
		"apps/range.yaml":   []byte(release("range", "good", ">=9.0.0", "")),
		"apps/schema.yaml":  []byte(release("schema", "good", "1.0.0", "  values:\n    replicaCount: two\n")),
		"apps/notyaml.yaml": []byte(release("notyaml", "good", "1.0.0", "  valuesFrom:\n    - {kind: ConfigMap, name: broken-values}\n")),
		"apps/down.yaml":    []byte(release("down", "down", "1.0.0", "")),
		"apps/refused.yaml": []byte(release("refused", "private", "1.0.0", "")),
		// A variable substituted from a SOPS-encrypted Secret: its
		// stand-in fails the chart's schema, the value may not.
		"apps/sops.yaml": []byte(release("sops", "good", "1.0.0", "  values:\n    replicaCount: SOPS-ENCRYPTED\n")),
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", files)
	before := snapshot(t, g.Dir)
	r := run(t, g.Dir, nil, "validate", "--all", "-o", "json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	var report struct {
		Findings []struct {
			Rule, File, Message string
			Line                int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range report.Findings {
		if f.Rule == "helm-release" || f.Rule == "not-rendered" {
			got[fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Rule)] = f.Message
		}
	}
	want := map[string]string{
		"apps/missing.yaml:1 helm-release": `no chart "nope"`,
		"apps/range.yaml:1 helm-release":   `no version matches ">=9.0.0"`,
		"apps/schema.yaml:1 helm-release":  "chart app 1.0.0 from " + good.RepoURL + ": values don't meet the specifications of the schema",
		"apps/notyaml.yaml:1 helm-release": `valuesFrom: ConfigMap apps/broken-values key "values.yaml" is not YAML values`,
		"apps/down.yaml:1 not-rendered":    "HTTP 500 Internal Server Error",
		"apps/refused.yaml:1 not-rendered": "HTTP 401 Unauthorized: the repository refuses these credentials",
		"apps/sops.yaml:1 not-rendered":    "values of a SOPS-encrypted Secret, which only the cluster knows",
	}
	for k, sub := range want {
		if !strings.Contains(got[k], sub) {
			t.Errorf("%s: %q, want it to say %q", k, got[k], sub)
		}
	}
	for _, out := range []string{r.stdout, r.stderr, run(t, g.Dir, nil, "render", "--all").stderr} {
		if strings.Contains(out, "goroutine") || strings.Contains(out, password) {
			t.Errorf("a stack trace or the password in the output:\n%s", out)
		}
	}
	if d := cmp.Diff(before, snapshot(t, g.Dir)); d != "" {
		t.Errorf("files changed:\n%s", d)
	}
}

// TestHelmKubeVersion: the cluster's version .gitops.yaml gives is the one
// Helm's templates and charts' kubeVersion constraints see, in render as
// in validate.
func TestHelmKubeVersion(t *testing.T) {
	dir, _, _, g := helmPlatformRepo(t)
	g.CommitFiles(t, "an old cluster", map[string][]byte{".gitops.yaml": []byte("kubernetesVersion: v1.27.4\n")})
	for _, args := range [][]string{{"render", "--all"}, {"validate", "--all"}} {
		r := run(t, dir, nil, args...)
		out := r.stdout + r.stderr
		if r.code == 0 || !strings.Contains(out, "cert-issuer") || !strings.Contains(out, "kubeVersion") || !strings.Contains(out, "v1.27.4") {
			t.Errorf("%s: exit %d, want cert-issuer's kubeVersion >=1.28 refused\n%s", args[0], r.code, out)
		}
	}
}

// TestHelmReleaseNoClusterApplies: a HelmRelease that does not render in
// a folder no cluster's tree builds (an app taken out of its cluster's
// list) is read as it is written, without what a parent would give it: a
// warning, as the folder's build failure would be. The same release
// applied by the cluster is an error.
func TestHelmReleaseNoClusterApplies(t *testing.T) {
	charts := helmtest.Serve(t, helmtest.Package(t, helmtest.Chart("app", "1.0.0")))
	release := func(name string) []byte {
		return []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: apps}\nspec: {url: \"" + charts.RepoURL + "\"}\n---\n" +
			"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: " + name + ", namespace: apps}\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: app\n      version: \">=9.0.0\"\n      sourceRef: {kind: HelmRepository, name: charts}\n")
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", map[string][]byte{
		"clusters/prod/flux-system/gotk-sync.yaml": gittest.FluxSync("https://example.com/fleet.git", "clusters/prod"),
		"clusters/prod/apps.yaml":                  []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 10m\n  prune: true\n  path: ./apps\n  sourceRef: {kind: GitRepository, name: flux-system}\n"),
		"apps/kustomization.yaml":                  []byte("resources: [release.yaml]\n"),
		"apps/release.yaml":                        release("web"),
		"old/kustomization.yaml":                   []byte("resources: [release.yaml]\n"),
		"old/release.yaml":                         release("legacy"),
	})
	g.Origin(t, "https://example.com/fleet.git")
	r := run(t, g.Dir, nil, "validate", "--all", "-o", "json")
	var report struct {
		Findings []struct{ Rule, Severity, File, Message string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("exit %d: %v\n%s", r.code, err, r.stderr)
	}
	got := map[string]string{}
	for _, f := range report.Findings {
		if f.Rule == "helm-release" {
			got[f.File] = f.Severity + " " + f.Message
		}
	}
	for file, want := range map[string]string{
		"apps/release.yaml": `error HelmRelease apps/web: chart app >=9.0.0 from ` + charts.RepoURL,
		"old/release.yaml":  `warning HelmRelease apps/legacy: chart app >=9.0.0 from ` + charts.RepoURL,
	} {
		if !strings.HasPrefix(got[file], want) {
			t.Errorf("%s: %q, want it to start %q", file, got[file], want)
		}
	}
	if !strings.HasSuffix(got["old/release.yaml"], "(no cluster's tree applies it: read as it is written)") {
		t.Errorf("old/release.yaml: %q does not say no cluster applies it", got["old/release.yaml"])
	}
}
