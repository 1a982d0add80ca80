package helm

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/helmtest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sources answers a release's lookups from maps.
type sources struct {
	specs map[string]string
	data  map[string]map[string]string
	sops  map[string]bool
	tree  repo.Tree
}

func (s sources) Spec(kind, ns, name string) (json.RawMessage, bool) {
	v, ok := s.specs[kind+"/"+ns+"/"+name]
	if !ok {
		return nil, false
	}
	j, err := yaml.YAMLToJSON([]byte(v))
	return j, err == nil
}

func (s sources) Data(kind, ns, name string) (map[string]string, bool, bool) {
	id := kind + "/" + ns + "/" + name
	d, ok := s.data[id]
	return d, s.sops[id], ok
}

func (s sources) Tree(ns, name string) (repo.Tree, string) {
	if s.tree == nil {
		return nil, "GitRepository " + ns + "/" + name + " is another repository"
	}
	return s.tree, ""
}

// release reads a HelmRelease written as YAML.
func release(t *testing.T, doc string) *helmv2.HelmRelease {
	t.Helper()
	hr := &helmv2.HelmRelease{}
	if err := yaml.UnmarshalStrict([]byte(doc), hr); err != nil {
		t.Fatal(err)
	}
	return hr
}

func TestValues(t *testing.T) {
	src := sources{
		data: map[string]map[string]string{
			"ConfigMap/apps/base":  {"values.yaml": "a: {x: 1, z: 2}\nlist: [1, 2]\nb: base\n", "other": "b: other\n"},
			"Secret/apps/creds":    {"values.yaml": "a: {z: 20}\n", "token": "s3cr3t,with=commas"},
			"Secret/apps/sealed":   {"values.yaml": "SOPS-ENCRYPTED"},
			"ConfigMap/apps/quote": {"v": `"007"`},
		},
		sops: map[string]bool{"Secret/apps/sealed": true},
	}
	cases := []struct {
		name, spec string
		want       string
		err        string
		unchecked  bool
	}{
		{name: "order", spec: `
valuesFrom:
  - {kind: ConfigMap, name: base}
  - {kind: Secret, name: creds}
values: {b: inline}`, want: `{"a":{"x":1,"z":20},"b":"inline","list":[1,2]}`},
		{name: "valuesKey", spec: `
valuesFrom: [{kind: ConfigMap, name: base, valuesKey: other}]`, want: `{"b":"other"}`},
		// A targetPath wins over spec.values.
		{name: "targetPath", spec: `
valuesFrom: [{kind: Secret, name: creds, valuesKey: token, targetPath: auth.token, literal: true}]
values: {auth: {token: inline, user: me}}`, want: `{"auth":{"token":"s3cr3t,with=commas","user":"me"}}`},
		{name: "quoted targetPath", spec: `
valuesFrom: [{kind: ConfigMap, name: quote, valuesKey: v, targetPath: code}]`, want: `{"code":"007"}`},
		{name: "optional", spec: `
valuesFrom:
  - {kind: ConfigMap, name: absent, optional: true}
  - {kind: ConfigMap, name: base, valuesKey: absent, optional: true}`, want: `{}`},
		{name: "missing key", spec: `
valuesFrom: [{kind: ConfigMap, name: base, valuesKey: absent}]`, err: `has no key "absent"`},
		{name: "made in the cluster", spec: `
valuesFrom: [{kind: Secret, name: external}]`, unchecked: true, err: "not rendered by this repository"},
		{name: "sops", spec: `
valuesFrom: [{kind: Secret, name: sealed}]`, unchecked: true, err: "encrypted with SOPS"},
		{name: "not YAML", spec: `
valuesFrom: [{kind: Secret, name: creds, valuesKey: token}]`, err: "is not YAML values"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hr := release(t, "metadata: {name: app, namespace: apps}\nspec:"+strings.ReplaceAll("\n"+strings.TrimPrefix(tc.spec, "\n"), "\n", "\n  "))
			got, err := Values(hr, src)
			var u *Unchecked
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				if isU := errorsAs(err, &u); isU != tc.unchecked {
					t.Errorf("unchecked %v, want %v", isU, tc.unchecked)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("a Secret value shows: %v", err)
				}
			case err != nil:
				t.Fatal(err)
			default:
				j, _ := json.Marshal(got)
				if string(j) != tc.want {
					t.Errorf("values %s, want %s", j, tc.want)
				}
			}
		})
	}
}

func errorsAs(err error, u **Unchecked) bool {
	e, ok := err.(*Unchecked)
	if ok {
		*u = e
	}
	return ok
}

func TestName(t *testing.T) {
	cases := []struct{ spec, want string }{
		{`metadata: {name: app, namespace: apps}`, "app"},
		{`{metadata: {name: app, namespace: apps}, spec: {targetNamespace: web}}`, "web-app"},
		{`{metadata: {name: app, namespace: apps}, spec: {releaseName: mine, targetNamespace: web}}`, "mine"},
		// Past 53 characters: the first 40, a dash and 12 hex digits of
		// the name's SHA-256 (helm-controller's release.ShortenName).
		{`{metadata: {name: a-very-long-helm-release-name-for-a-component, namespace: apps}, spec: {targetNamespace: also-a-long-namespace}}`,
			"also-a-long-namespace-a-very-long-helm-r-29ade8411482"},
	}
	for _, tc := range cases {
		if got := Name(release(t, tc.spec)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.spec, got, tc.want)
		}
	}
}

// Render against a golden file: CRDs first with the origin labels, the
// post-renderers' patch and image, commonMetadata under the origin labels,
// the release namespace on namespaced objects, the hook kept and the test
// hook left out, capabilities from KubeVersion and APIVersions.
func TestRender(t *testing.T) {
	chart := testChart(t, helmtest.Chart("app", "0.1.0"))
	hr := release(t, `
metadata: {name: app, namespace: flux-system}
spec:
  targetNamespace: web
  commonMetadata:
    labels: {team: web, helm.toolkit.fluxcd.io/name: not-this}
    annotations: {owner: web-team}
  postRenderers:
    - kustomize:
        patches:
          - target: {kind: Deployment}
            patch: |
              - op: add
                path: /spec/template/spec/priorityClassName
                value: high
        images:
          - name: ghcr.io/example/app
            newTag: 2.0.0
`)
	values := map[string]any{"replicaCount": 2, "serviceMonitor": true}
	out, err := Render(context.Background(), Release{HelmRelease: hr, Chart: chart, Values: values, KubeVersion: "v1.33.2", APIVersions: []string{"monitoring.coreos.com/v1"}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "render.golden", printed(t, out))

	hr.Spec.Install = &helmv2.Install{CRDs: helmv2.Skip}
	hr.Spec.Test = &helmv2.Test{Enable: true}
	objs, err := Render(context.Background(), Release{HelmRelease: hr, Chart: chart, Values: values})
	if err != nil {
		t.Fatal(err)
	}
	out2 := printed(t, objs)
	if bytes.Contains(out2, []byte("CustomResourceDefinition")) || !bytes.Contains(out2, []byte("name: web-app-test")) {
		t.Errorf("install.crds Skip and test.enable: the CRD is there or the test hook is not:\n%s", out2)
	}
	if bytes.Contains(out2, []byte("ServiceMonitor")) {
		t.Error("a ServiceMonitor without monitoring.coreos.com/v1 among the API versions")
	}
	if !bytes.Contains(out2, []byte("name: web-app-migrate")) {
		t.Errorf("the pre-install hook Job is missing:\n%s", out2)
	}

	// No hook runs, so none of their objects is made; the tests still
	// run.
	hr.Spec.Install.DisableHooks = true
	objs, err = Render(context.Background(), Release{HelmRelease: hr, Chart: chart, Values: values})
	if err != nil {
		t.Fatal(err)
	}
	out3 := printed(t, objs)
	if bytes.Contains(out3, []byte("name: web-app-migrate")) || !bytes.Contains(out3, []byte("name: web-app-test")) {
		t.Errorf("install.disableHooks: the hook Job is there or the test hook is not:\n%s", out3)
	}
}

// Values that fail the chart's values.schema.json, and a template that
// fails, are errors naming the chart.
func TestRenderErrors(t *testing.T) {
	files := helmtest.Chart("app", "0.1.0")
	files["templates/required.yaml"] = `{{ if .Values.needHost }}{{ required "host is required" .Values.host }}{{ end }}`
	chart := testChart(t, files)
	hr := release(t, `metadata: {name: app, namespace: apps}`)
	for _, tc := range []struct {
		values map[string]any
		want   string
	}{
		{map[string]any{"replicaCount": "two"}, "/replicaCount"},
		{map[string]any{"needHost": true}, "host is required"},
	} {
		_, err := Render(context.Background(), Release{HelmRelease: hr, Chart: chart, Values: tc.values})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "chart app 0.1.0 from test") {
			t.Errorf("values %v: error %v, want one naming the chart with %q", tc.values, err, tc.want)
		}
	}
}

// Renders of one fetched chart share its load only when nothing a render
// does can change it: a template that changes its values with set and
// unset leaves them as they were for the next release, renders running at
// once included, and a chart whose dependency a condition prunes is loaded
// anew for each release, so one that enables it still gets it.
func TestRenderSharedChart(t *testing.T) {
	files := helmtest.Chart("app", "0.1.0")
	files["values.yaml"] += "config:\n  color: blue\n"
	files["templates/mutate.yaml"] = `{{- $_ := set .Values.config "release" .Release.Name }}
{{- $_ := unset .Values.config "color" }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-mutated
data:
  {{- toYaml .Values.config | nindent 2 }}
`
	chart := testChart(t, files)
	fresh := *chart
	fresh.loads = nil
	render := func(c *Chart, name string) string {
		out, err := Render(context.Background(), Release{HelmRelease: release(t, "metadata: {name: "+name+", namespace: apps}"), Chart: c})
		if err != nil {
			t.Error(err)
			return ""
		}
		return string(printed(t, out))
	}
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	got := make([]string, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { got[i] = render(chart, name) })
	}
	wg.Wait()
	for i, name := range names {
		if want := render(&fresh, name); got[i] != want {
			t.Errorf("release %s from the shared chart:\n%s\nwant, as loaded anew:\n%s", name, got[i], want)
		}
	}

	files = helmtest.Chart("app", "0.1.0")
	files["Chart.yaml"] += "dependencies:\n  - name: sub\n    version: 0.1.0\n    condition: sub.enabled\n"
	files["charts/sub/Chart.yaml"] = "apiVersion: v2\nname: sub\nversion: 0.1.0\n"
	files["charts/sub/templates/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-sub\n"
	chart = testChart(t, files)
	for _, enabled := range []bool{false, true, false} {
		out, err := Render(context.Background(), Release{HelmRelease: release(t, "metadata: {name: app, namespace: apps}"), Chart: chart, Values: map[string]any{"sub": map[string]any{"enabled": enabled}}})
		if err != nil {
			t.Fatal(err)
		}
		if has := bytes.Contains(printed(t, out), []byte("name: app-sub")); has != enabled {
			t.Errorf("sub.enabled %v: the subchart's ConfigMap rendered: %v", enabled, has)
		}
	}
}

// testChart packages a chart's files and reads the archive as a fetched
// chart is read.
func testChart(t *testing.T, files map[string]string) *Chart {
	c, err := NewFetcher(FetcherOptions{}).chart(resolution{Digest: "test"}, helmtest.Package(t, files), Chart{Name: "app", Version: "0.1.0", Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// printed is objects as YAML documents.
func printed(t *testing.T, objs []*kyaml.RNode) []byte {
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		s, err := o.String()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(s)
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s differs (run with -update to see):\n%s", name, got)
	}
}
