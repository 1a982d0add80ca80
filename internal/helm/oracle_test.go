package helm

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

// TestValuesAgainstChartutil holds Values to helm-controller's own merge,
// fluxcd/pkg/chartutil.ChartValuesFromReferences, run by the
// chartutil-oracle that hack/chartutil/build.sh builds: the same values,
// or an error on both sides.
func TestValuesAgainstChartutil(t *testing.T) {
	oracle := testenv.Tool(t, "chartutil-oracle")
	configMaps := map[string]map[string]string{
		"base":   {"values.yaml": "a: {x: 1, z: 2}\nlist: [1, 2]\nb: base\nnested: {deep: {k: v}}\n", "other": "b: other\nlist: [3]\n"},
		"quote":  {"v": `"007"`, "single": `'x'`, "num": "42", "list": "{a,b}", "csv": "a,b"},
		"scalar": {"values.yaml": "just a string"},
	}
	secrets := map[string]map[string]string{
		"creds": {"values.yaml": "a: {z: 20}\nnested: {deep: null}\n", "token": "s3cr3t,with=commas[0]"},
	}
	ref := func(kind, name, key, path string, optional, literal bool) meta.ValuesReference {
		return meta.ValuesReference{Kind: kind, Name: name, ValuesKey: key, TargetPath: path, Optional: optional, Literal: literal}
	}
	cases := []struct {
		name   string
		values map[string]any
		refs   []meta.ValuesReference
	}{
		{"in order, then values", map[string]any{"b": "inline", "a": map[string]any{"w": true}},
			[]meta.ValuesReference{ref("ConfigMap", "base", "", "", false, false), ref("Secret", "creds", "", "", false, false)}},
		{"another key", nil, []meta.ValuesReference{ref("ConfigMap", "base", "other", "", false, false)}},
		{"a target path over values", map[string]any{"auth": map[string]any{"token": "inline", "user": "me"}},
			[]meta.ValuesReference{ref("Secret", "creds", "token", "auth.token", false, true)}},
		{"a target path, not literal", nil, []meta.ValuesReference{ref("ConfigMap", "quote", "num", "replicas", false, false), ref("ConfigMap", "quote", "csv", "pair", false, false)}},
		{"quoted target values", nil, []meta.ValuesReference{ref("ConfigMap", "quote", "v", "code", false, false), ref("ConfigMap", "quote", "single", "s", false, false)}},
		{"an escaped path", nil, []meta.ValuesReference{ref("ConfigMap", "quote", "num", `annotations.example\.com/n`, false, false)}},
		{"a list index path", map[string]any{"items": []any{map[string]any{"name": "a"}}}, []meta.ValuesReference{ref("ConfigMap", "quote", "num", "items[0].size", false, false)}},
		{"optional and missing", nil, []meta.ValuesReference{ref("ConfigMap", "absent", "", "", true, false), ref("ConfigMap", "base", "absent", "", true, false)}},
		{"missing object", nil, []meta.ValuesReference{ref("ConfigMap", "absent", "", "", false, false)}},
		{"missing key", nil, []meta.ValuesReference{ref("ConfigMap", "base", "absent", "", false, false)}},
		{"not a mapping", nil, []meta.ValuesReference{ref("ConfigMap", "scalar", "", "", false, false)}},
		{"a wrong kind", nil, []meta.ValuesReference{ref("Deployment", "base", "", "", false, false)}},
	}
	src := sources{data: map[string]map[string]string{}}
	for n, d := range configMaps {
		src.data["ConfigMap/apps/"+n] = d
	}
	for n, d := range secrets {
		src.data["Secret/apps/"+n] = d
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := json.Marshal(map[string]any{"namespace": "apps", "values": tc.values, "valuesFrom": tc.refs, "configMaps": configMaps, "secrets": secrets})
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(oracle)
			cmd.Stdin = bytes.NewReader(in)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("oracle: %v", err)
			}
			var want map[string]any
			if err := json.Unmarshal(out, &want); err != nil {
				t.Fatal(err)
			}
			hr := &helmv2.HelmRelease{}
			hr.Name, hr.Namespace = "app", "apps"
			hr.Spec.ValuesFrom = tc.refs
			if tc.values != nil {
				raw, _ := json.Marshal(tc.values)
				hr.Spec.Values = &apiextensionsv1.JSON{Raw: raw}
			}
			got, err := Values(hr, src)
			if wantErr, failed := want["error"]; failed && len(want) == 1 {
				if err == nil {
					t.Errorf("merged %v, where helm-controller fails: %v", got, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v, where helm-controller merges %v", err, want)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if !bytes.Equal(g, w) {
				t.Errorf("values %s, helm-controller's %s", g, w)
			}
		})
	}
}
