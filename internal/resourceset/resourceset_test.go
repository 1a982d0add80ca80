package resourceset

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ssautil "github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

// readCase reads a test file: a ResourceSet, then its providers.
func readCase(t *testing.T, file string) (*ResourceSet, []*Provider, [][]byte) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(data, []byte("\n---\n"))
	rsJSON, err := yaml.YAMLToJSON(docs[0])
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Decode(rsJSON, "default")
	if err != nil {
		t.Fatal(err)
	}
	var providers []*Provider
	for _, d := range docs[1:] {
		j, err := yaml.YAMLToJSON(d)
		if err != nil {
			t.Fatal(err)
		}
		p, err := DecodeProvider(j, rs.Metadata.Namespace)
		if err != nil {
			t.Fatal(err)
		}
		providers = append(providers, p)
	}
	return rs, providers, docs
}

func asJSON(t *testing.T, objects []*unstructured.Unstructured) []string {
	t.Helper()
	var out []string
	for _, o := range objects {
		b, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// operator runs `flux-operator build resourceset` on a test file: its
// objects, or its error.
func operator(t *testing.T, bin, file string, docs [][]byte) ([]*unstructured.Unstructured, string) {
	t.Helper()
	dir := t.TempDir()
	rsFile := filepath.Join(dir, "rset.yaml")
	if err := os.WriteFile(rsFile, docs[0], 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "resourceset", "-f", rsFile}
	if len(docs) > 1 {
		pFile := filepath.Join(dir, "providers.yaml")
		if err := os.WriteFile(pFile, bytes.Join(docs[1:], []byte("\n---\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--inputs-from-provider", pFile)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(dir, "none"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimPrefix(msg, "✗ ")
		return nil, strings.TrimPrefix(msg, "error combining inputs: ")
	}
	objects, err := ssautil.ReadObjects(&stdout)
	if err != nil {
		t.Fatalf("%s: reading the operator's output: %v\n%s", file, err, stdout.String())
	}
	return objects, ""
}

// TestAgainstOperator holds the builder to the Flux Operator's CLI, built
// from the module proxy by hack/flux-operator/build.sh: the same objects
// in the same order for every case of testdata, the same error for every
// case of testdata/errors.
func TestAgainstOperator(t *testing.T) {
	bin := testenv.Tool(t, "flux-operator")
	files, _ := filepath.Glob("testdata/*.yaml")
	errFiles, _ := filepath.Glob("testdata/errors/*.yaml")
	if len(files) == 0 || len(errFiles) == 0 {
		t.Fatal("no test cases")
	}
	for _, file := range append(files, errFiles...) {
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			rs, providers, docs := readCase(t, file)
			got, err := rs.Objects(providers, Limits{})
			want, wantErr := operator(t, bin, file, docs)
			if strings.Contains(file, "errors") {
				if err == nil || wantErr == "" {
					t.Fatalf("want an error from both; ours: %v, the operator's: %q", err, wantErr)
				}
				if err.Error() != wantErr {
					t.Errorf("error\n ours:     %s\n operator: %s", err, wantErr)
				}
				return
			}
			if err != nil || wantErr != "" {
				t.Fatalf("ours: %v, the operator's: %s", err, wantErr)
			}
			g, w := asJSON(t, got), asJSON(t, want)
			if len(g) != len(w) {
				t.Fatalf("%d objects, the operator %d:\n%s\n---\n%s", len(g), len(w), strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
			for i := range g {
				if g[i] != w[i] {
					t.Errorf("object %d\n ours:     %s\n operator: %s", i, g[i], w[i])
				}
			}
		})
	}
}

// TestNotRendered: what only a cluster knows is named, not made up.
func TestNotRendered(t *testing.T) {
	rs, providers, _ := readCase(t, "testdata/flatten-providers.yaml")
	tests := []struct {
		name   string
		change func(rs *ResourceSet, ps []*Provider) []*Provider
		want   string
	}{
		{"dynamic provider", func(rs *ResourceSet, ps []*Provider) []*Provider {
			ps[0].Spec.Type = "GitHubPullRequest"
			return ps
		}, "the inputs of its GitHubPullRequest provider apps/zeta are known only in the cluster"},
		{"provider elsewhere", func(rs *ResourceSet, ps []*Provider) []*Provider {
			return ps[1:]
		}, "its input provider apps/zeta is not among the objects this root renders"},
		{"provider of another namespace", func(rs *ResourceSet, ps []*Provider) []*Provider {
			ps[0].Metadata.Namespace = "other"
			return ps
		}, "its input provider apps/zeta is not among the objects this root renders"},
		{"disabled", func(rs *ResourceSet, ps []*Provider) []*Provider {
			rs.Metadata.Annotations = map[string]string{"fluxcd.controlplane.io/reconcile": "Disabled"}
			return ps
		}, "its reconciliation is disabled (fluxcd.controlplane.io/reconcile: disabled)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, ps := *rs, make([]*Provider, len(providers))
			for i, p := range providers {
				c := *p
				ps[i] = &c
			}
			_, err := rs.Objects(tt.change(&rs, ps), Limits{})
			var nr *NotRendered
			if !errors.As(err, &nr) || nr.Reason != tt.want {
				t.Errorf("got %v, want not rendered: %s", err, tt.want)
			}
		})
	}
}

func TestNormalizeKey(t *testing.T) {
	for in, want := range map[string]string{
		"regions":        "regions",
		"Cluster.Apps":   "cluster_apps",
		"tier-frontend":  "tier_frontend",
		"  A  b--C  ":    "a_b_c",
		"ünïcode-ok":     "ncode_ok",
		"---":            "",
		"preview_env_42": "preview_env_42",
	} {
		if got := normalizeKey(in); got != want {
			t.Errorf("normalizeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPermuteOrder: the last provider turns fastest, every combination
// once, and no combination when a provider has none, if asked.
func TestPermuteOrder(t *testing.T) {
	sets := func(n int) []map[string]any {
		var out []map[string]any
		for i := range n {
			out = append(out, map[string]any{"i": i})
		}
		return out
	}
	got, err := permute([]source{{name: "a", sets: sets(2)}, {name: "b", sets: sets(3)}, {name: "empty"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, p := range got {
		b, _ := json.Marshal([]any{p["a"].(map[string]any)["i"], p["b"].(map[string]any)["i"]})
		order = append(order, string(b))
	}
	if want := "[0,0] [0,1] [0,2] [1,0] [1,1] [1,2]"; strings.Join(order, " ") != want {
		t.Errorf("order %s, want %s", strings.Join(order, " "), want)
	}
	if got, _ := permute([]source{{name: "a", sets: sets(2)}, {name: "empty"}}, true); len(got) != 0 {
		t.Errorf("with an empty provider included: %d sets, want 0", len(got))
	}
	if _, err := permute([]source{{kind: Kind, name: "a", sets: sets(200)}, {kind: ProviderKind, name: "b", sets: sets(51)}}, false); err == nil || !strings.Contains(err.Error(), "maximum allowed permutations. max: 10000, got: 10200") {
		t.Errorf("past the limit: %v", err)
	}
}

// FuzzObjects: any spec and template either builds or fails with an
// error, never a panic.
func FuzzObjects(f *testing.F) {
	for _, file := range []string{"testdata/tenants.yaml", "testdata/template.yaml", "testdata/steps.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return
		}
		rs, err := Decode(j, "default")
		if err != nil {
			return
		}
		// Templates may loop; keep the inputs small so a case ends.
		if len(data) > 4096 {
			return
		}
		_, _ = rs.Objects(nil, Limits{Bytes: 1 << 20})
	})
}

// TestHostileTemplates: a template that would take all the memory or all
// the time of a CI job is an error, quickly (the operator's CLI takes
// 6 GB and does not end on the first).
func TestHostileTemplates(t *testing.T) {
	tests := []struct{ name, template, want string }{
		{"huge range", `<< range until 100000000 >>x<< end >>`, "a list of 100000000 items is past the limit of 100000"},
		{"huge step range", `<< range untilStep 0 1000000000 2 >>x<< end >>`, "a list of 500000000 items is past the limit of 100000"},
		{"huge seq", `<< seq 1 100000000 >>`, "a list of 99999999 items is past the limit of 100000"},
		{"huge repeat", `<< repeat 100000000 "xx" >>`, "repeat: 100000000 times 2 bytes is past the limit of 1048576 bytes"},
		{"output past the limit", `<< range until 99999 >><< repeat 100 "x" >><< end >>`, "the output is past the limit"},
		{"exponential recursion", `<< define "a" >><< if lt . 60 >><< template "a" (add . 1) >><< template "a" (add . 1) >><< end >><< end >><< template "a" 0 >>`, "did not finish in 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := &ResourceSet{Metadata: meta{Name: "x", Namespace: "x"}, Spec: Spec{ResourcesTemplate: tt.template}}
			_, err := rs.Objects(nil, Limits{Bytes: 1 << 20, Time: time.Second})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
