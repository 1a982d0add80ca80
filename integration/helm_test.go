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
