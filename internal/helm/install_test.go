package helm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"

	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/helmtest"
)

// TestInstallAsHelmAction holds install to Helm's own install action in
// client-only dry-run mode, what `helm template` runs: for each chart,
// values and options, the same manifests in the same order with the same
// source comments, the same hooks, or an error on both sides.
func TestInstallAsHelmAction(t *testing.T) {
	base := helmtest.Chart("app", "0.1.0")
	with := func(extra map[string]string) map[string]string {
		files := maps.Clone(base)
		maps.Copy(files, extra)
		return files
	}
	withSub := with(map[string]string{
		"Chart.yaml":                      "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: sub\n    version: 0.2.0\n    condition: sub.enabled\n  - name: other\n    version: 0.3.0\n    alias: renamed\n    tags: [extras]\n",
		"templates/NOTES.txt":             "Installed {{ .Release.Name }}.\n",
		"charts/sub/Chart.yaml":           "apiVersion: v2\nname: sub\nversion: 0.2.0\n",
		"charts/sub/values.yaml":          "enabled: false\nport: 9090\n",
		"charts/sub/templates/svc.yaml":   "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-sub\nspec:\n  ports:\n    - port: {{ .Values.port }}\n",
		"charts/sub/templates/NOTES.txt":  "sub notes\n",
		"charts/other/Chart.yaml":         "apiVersion: v2\nname: other\nversion: 0.3.0\n",
		"charts/other/templates/sa.yaml":  "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\n",
		"charts/other/templates/two.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
	})
	// A post-renderer may add objects, which have no template file.
	addObject := func(b *bytes.Buffer) (*bytes.Buffer, error) {
		b.WriteString("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: added\n")
		return b, nil
	}
	manyDocs := with(map[string]string{"templates/many.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\n  annotations: {install: {{ .Release.IsInstall | quote }}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c3\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c4\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c5\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c6\n"})
	patches := func(strategy helmv2.PostRenderStrategy, patch string) *helmv2.HelmRelease {
		hr := release(t, `
metadata: {name: app, namespace: apps}
spec:
  postRenderers:
    - kustomize:
        patches:
`+indent("- "+indent(patch, 2)[2:], 10))
		hr.Spec.PostRenderStrategy = strategy
		return hr
	}
	// Every object, the hooks included, gets an annotation.
	annotateAll := "target: {name: \".*\"}\npatch: |\n  {apiVersion: v1, kind: Any, metadata: {name: any, annotations: {patched: \"yes\"}}}\n"
	// A patch of the hook Job.
	annotateJobs := "patch: |\n" + indent("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: app-migrate\n  annotations: {patched: \"yes\"}\n", 2)
	deleteService := "patch: |\n" + indent("$patch: delete\napiVersion: v1\nkind: Service\nmetadata:\n  name: app\n  namespace: apps\n", 2)
	plain := release(t, `metadata: {name: app, namespace: apps}`)
	cases := []struct {
		name   string
		files  map[string]string
		values map[string]any
		hr     *helmv2.HelmRelease
		kube   string
		apis   []string
		post   func(*bytes.Buffer) (*bytes.Buffer, error)
		fails  bool
	}{
		{name: "defaults", files: base, hr: plain},
		{name: "values and capabilities", files: base, hr: plain, values: map[string]any{"replicaCount": 3, "serviceMonitor": true}, kube: "v1.31.4", apis: []string{"monitoring.coreos.com/v1"}},
		{name: "subcharts off", files: withSub, hr: plain},
		{name: "subcharts on", files: withSub, hr: plain, values: map[string]any{"sub": map[string]any{"enabled": true}, "tags": map[string]any{"extras": true}}},
		{name: "combined post-render", files: manyDocs, hr: patches("", annotateAll)},
		{name: "a post-renderer adds an object", files: manyDocs, hr: plain, post: addObject},
		{name: "a separate post-renderer adds an object", files: manyDocs, hr: release(t, "metadata: {name: app, namespace: apps}\nspec: {postRenderStrategy: separate}"), post: addObject},
		{name: "combined post-render of a hook", files: base, hr: patches(helmv2.PostRenderStrategyCombined, annotateJobs)},
		{name: "separate post-render", files: manyDocs, hr: patches(helmv2.PostRenderStrategySeparate, annotateAll)},
		// Helm v4 runs the patch on the manifests alone too, where no
		// Job is.
		{name: "separate post-render of a hook", files: base, hr: patches(helmv2.PostRenderStrategySeparate, annotateJobs), fails: true},
		{name: "nohooks post-render", files: base, hr: patches(helmv2.PostRenderStrategyNoHooks, annotateAll)},
		{name: "a post-render deletes", files: base, hr: patches(helmv2.PostRenderStrategyCombined, deleteService)},
		{name: "values against the schema", files: base, hr: plain, values: map[string]any{"replicaCount": "two"}, fails: true},
		{name: "schema validation off", files: base, hr: release(t, "metadata: {name: app, namespace: apps}\nspec: {install: {disableSchemaValidation: true}}"), values: map[string]any{"replicaCount": "two"}},
		{name: "kubeVersion constraint", files: with(map[string]string{"Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\nkubeVersion: '>=1.40.0-0'\n"}), hr: plain, fails: true},
		{name: "a failing template", files: with(map[string]string{"templates/fail.yaml": `{{ fail "no" }}`}), hr: plain, fails: true},
		{name: "output that is not YAML", files: with(map[string]string{"templates/bad.yaml": "kind: [\n"}), hr: plain, fails: true},
		{name: "a release name Helm refuses", files: base, hr: release(t, "metadata: {name: App_1, namespace: apps}"), fails: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chart := testChart(t, tc.files)
			rel := Release{HelmRelease: tc.hr, Chart: chart, Values: tc.values, KubeVersion: tc.kube, APIVersions: tc.apis}
			var patch func(*bytes.Buffer) (*bytes.Buffer, error)
			if len(tc.hr.Spec.PostRenderers) > 0 {
				patch = func(b *bytes.Buffer) (*bytes.Buffer, error) { return kustomizePatches(tc.hr, b) }
			}
			if tc.post != nil {
				patch = tc.post
			}
			got, _, gotErr := template(context.Background(), rel, patch)
			want, wantErr := helmAction(t, rel, patch)
			if (gotErr != nil) != tc.fails || (wantErr != nil) != tc.fails {
				t.Fatalf("error %v, Helm's action: %v; want an error on both: %v", gotErr, wantErr, tc.fails)
			}
			if gotErr != nil {
				return
			}
			if m := manifest(got); m != want.Manifest {
				t.Errorf("manifest differs from Helm's action:\n%s\nHelm's:\n%s", m, want.Manifest)
			}
			if !reflect.DeepEqual(got.Hooks, want.Hooks) {
				t.Errorf("hooks differ from Helm's action:\n%v\nHelm's:\n%v", got.Hooks, want.Hooks)
			}
		})
	}
}

// helmAction renders rel with Helm's install action as `helm template`
// does.
func helmAction(t *testing.T, rel Release, patch func(*bytes.Buffer) (*bytes.Buffer, error)) (*releasev1.Release, error) {
	ch, err := rel.Chart.load()
	if err != nil {
		t.Fatal(err)
	}
	cfg := action.NewConfiguration()
	cfg.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)).Handler())
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = Name(rel.HelmRelease)
	install.Namespace = rel.HelmRelease.GetReleaseNamespace()
	install.SkipSchemaValidation = rel.HelmRelease.GetInstall().DisableSchemaValidation
	install.PostRenderStrategy = action.PostRenderStrategy(rel.HelmRelease.GetPostRenderStrategy())
	if rel.KubeVersion != "" {
		if install.KubeVersion, err = common.ParseKubeVersion(rel.KubeVersion); err != nil {
			t.Fatal(err)
		}
	}
	install.APIVersions = common.VersionSet(rel.APIVersions)
	if patch != nil {
		install.PostRenderer = postRendererFunc(patch)
	}
	out, err := install.RunWithContext(context.Background(), ch, rel.Values)
	if err != nil {
		return nil, err
	}
	return out.(*releasev1.Release), nil
}

type postRendererFunc func(*bytes.Buffer) (*bytes.Buffer, error)

func (f postRendererFunc) Run(b *bytes.Buffer) (*bytes.Buffer, error) { return f(b) }

// manifest joins the manifests as Helm's install writes a release's.
func manifest(r installed) string {
	var b strings.Builder
	for _, m := range r.Manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return b.String()
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pad) + "\n"
}
