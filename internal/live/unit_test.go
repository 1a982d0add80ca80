package live

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

func TestParseInventoryID(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		want    inventoryEntry
		wantErr bool
	}{
		{
			name: "namespaced core object",
			id:   "shop_front-end__Service",
			want: inventoryEntry{namespace: "shop", name: "front-end", gk: schema.GroupKind{Kind: "Service"}},
		},
		{
			name: "grouped object",
			id:   "shop_front-end_apps_Deployment",
			want: inventoryEntry{namespace: "shop", name: "front-end", gk: schema.GroupKind{Group: "apps", Kind: "Deployment"}},
		},
		{
			name: "cluster-scoped object",
			id:   "_shop__Namespace",
			want: inventoryEntry{name: "shop", gk: schema.GroupKind{Kind: "Namespace"}},
		},
		{
			name: "RBAC name with colons",
			id:   "_system__controller__flux_rbac.authorization.k8s.io_ClusterRole",
			want: inventoryEntry{name: "system:controller:flux", gk: schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}},
		},
		{name: "too few fields", id: "shop_front-end", wantErr: true},
		{name: "no separator", id: "garbage", wantErr: true},
		{name: "extra field", id: "shop_a_b_apps_Deployment", wantErr: true},
		{name: "empty name", id: "shop__apps_Deployment", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseInventoryID(tc.id)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseInventoryID(%q) error = %v, wantErr %v", tc.id, err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("parseInventoryID(%q) = %+v, want %+v", tc.id, got, tc.want)
			}
		})
	}
}

func TestNewObject(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // the normalized object, YAML
		first   bool   // applied with the cluster definitions
		sops    bool
		wantErr string
	}{
		{
			name: "deployment ports get TCP, status goes",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, creationTimestamp: null}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: main
        ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]
status: {replicas: 2}
`,
			want: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: main
        ports: [{containerPort: 80, protocol: TCP}, {containerPort: 53, protocol: UDP}]
`,
		},
		{
			name: "cronjob ports",
			in: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: c, ports: [{containerPort: 8080}]}]
`,
			want: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: c, ports: [{containerPort: 8080, protocol: TCP}]}]
`,
		},
		{
			name: "service ports",
			in:   "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n",
			want: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, protocol: TCP}]}\n",
		},
		{
			name: "secret stringData merged into data",
			in:   "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YQ==, b: b2xk}\nstringData: {b: new}\n",
			want: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YQ==, b: bmV3}\n",
		},
		{
			name:  "CRD keeps its status and goes first",
			in:    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b.c}\nstatus: {storedVersions: [v1]}\n",
			want:  "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b.c}\nstatus: {storedVersions: [v1]}\n",
			first: true,
		},
		{
			name:  "namespace goes first",
			in:    "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
			want:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
			first: true,
		},
		{
			name: "SOPS secret",
			in:   "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: 'ENC[AES256_GCM,data:x]'}\n",
			want: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: 'ENC[AES256_GCM,data:x]'}\n",
			sops: true,
		},
		{name: "no name", in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", wantErr: "lacks an apiVersion, a kind or a name"},
		{name: "bad apiVersion", in: "apiVersion: a/b/c\nkind: X\nmetadata: {name: x}\n", wantErr: "apiVersion"},
		{name: "a List", in: "apiVersion: v1\nkind: List\nmetadata: {name: x}\nitems: []\n", wantErr: "v1 List is not an object the cluster stores"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := newObject(objs(t, tc.in)[0])
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// fluxcd/pkg/ssa's normalizer goes through the typed object,
			// which adds empty fields the API server ignores: compare
			// without them.
			want := objs(t, tc.want)[0]
			if d := cmp.Diff(withoutEmpty(jsonRoundTrip(t, want)), withoutEmpty(o.u.Object)); d != "" {
				t.Errorf("normalized (-want +got):\n%s", d)
			}
			if first := o.stage == stageDefinitions; first != tc.first || o.sops != tc.sops {
				t.Errorf("first, sops = %v, %v; want %v, %v", first, o.sops, tc.first, tc.sops)
			}
		})
	}
}

func TestNewObjectLeavesInputAlone(t *testing.T) {
	in := objs(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b}\nstatus: {}\n")[0]
	if _, err := newObject(in); err != nil {
		t.Fatal(err)
	}
	if _, ok := in["stringData"]; !ok {
		t.Error("newObject modified the rendered object")
	}
}

// withoutEmpty returns o without its null, zero, empty-string and
// empty-map fields, at every depth: the zero values a typed object writes.
func withoutEmpty(o map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range o {
		switch v := v.(type) {
		case nil:
			continue
		case string:
			if v == "" {
				continue
			}
		case int64:
			if v == 0 {
				continue
			}
		case map[string]any:
			v = withoutEmpty(v)
			if len(v) == 0 {
				continue
			}
			out[k] = v
			continue
		case []any:
			list := make([]any, len(v))
			for i, e := range v {
				if m, ok := e.(map[string]any); ok {
					list[i] = withoutEmpty(m)
				} else {
					list[i] = e
				}
			}
			out[k] = list
			continue
		}
		out[k] = v
	}
	return out
}

// jsonRoundTrip gives o the number types newObject gives objects.
func jsonRoundTrip(t *testing.T, o map[string]any) map[string]any {
	t.Helper()
	obj, err := newObject(map[string]any{"apiVersion": "test.example/v1", "kind": "Wrapper", "metadata": map[string]any{"name": "x"}, "o": o})
	if err != nil {
		t.Fatal(err)
	}
	return obj.u.Object["o"].(map[string]any)
}

func TestNoteString(t *testing.T) {
	tests := []struct {
		name string
		note Note
		want string
	}{
		{
			name: "namespace",
			note: Note{Root: "apps/shop", Namespace: "shop", Reason: ReasonForbidden, Message: "forbidden: the user cannot read it"},
			want: "apps/shop: namespace shop: forbidden: the user cannot read it",
		},
		{
			name: "object",
			note: Note{Root: "apps/shop", Object: "v1/ConfigMap/shop/x", Reason: ReasonDryRunFailed, Message: "the server rejects it: bad"},
			want: "apps/shop: v1/ConfigMap/shop/x: the server rejects it: bad",
		},
		{
			name: "run",
			note: Note{Reason: ReasonWarning, Message: "policy/v1beta1 is deprecated"},
			want: "policy/v1beta1 is deprecated",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.note.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor([]string{"substituted-value", "abc"})
	r.addSecret(objs(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: "+b64("decoded-value")+"}\nstringData: {b: plain-value}\n")[0], true)
	r.addSecret(objs(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: l}\ndata: {a: "+b64("live-value")+"}\n")[0], false)
	r.addSecret(objs(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: not-a-secret}\n")[0], true)
	msg := "x substituted-value " + b64("decoded-value") + " decoded-value plain-value " + b64("plain-value") + " live-value abc not-a-secret"
	got := r.text(msg)
	want := "x *** *** *** *** *** *** abc not-a-secret"
	if got != want {
		t.Errorf("text() = %q, want %q", got, want)
	}
	err := r.err(errors.New(msg))
	if err.Error() != want {
		t.Errorf("err() = %q, want %q", err, want)
	}
	wantDiffs := []string{b64("decoded-value"), "substituted-value", b64("plain-value"), "decoded-value", "plain-value"}
	if got := r.diffValues(); !slices.Equal(got, wantDiffs) {
		t.Errorf("diffValues() = %q, want the rendered and given values, longest first, and not the live one: %q", got, wantDiffs)
	}
}

func TestServerURL(t *testing.T) {
	tests := []struct{ name, host, want string }{
		{name: "plain", host: "https://127.0.0.1:6443", want: "https://127.0.0.1:6443"},
		{name: "user info dropped", host: "https://user:pass@example.com:6443/k8s", want: "https://example.com:6443/k8s"},
		{name: "bare host kept", host: "127.0.0.1:6443", want: "127.0.0.1:6443"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := serverURL(tc.host); got != tc.want {
				t.Errorf("serverURL(%q) = %q, want %q", tc.host, got, tc.want)
			}
		})
	}
}

func TestFromResult(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"apps/shop/kustomization.yaml": "resources: [cm.yaml, ns.yaml]\n",
		"apps/shop/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  n: \"1\"\n",
		"apps/shop/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree := repo.NewWorkTree(dir)
	disc, err := render.Discover(tree, render.Checkout{})
	if err != nil {
		t.Fatal(err)
	}
	results, err := render.New(tree, dir, render.Options{}).Render(context.Background(), disc, disc.Roots)
	if err != nil || len(results) != 1 || results[0].Err != nil {
		t.Fatalf("render: %v %+v", err, results)
	}
	res := results[0]
	root, err := FromResult(res)
	if err != nil {
		t.Fatal(err)
	}
	if root.Path != "apps/shop" || root.Kustomization != "" || len(root.Objects) != 2 {
		t.Fatalf("FromResult = %+v", root)
	}
	// kustomize puts Namespaces first.
	if root.Objects[0]["kind"] != "Namespace" || root.Objects[1]["kind"] != "ConfigMap" {
		t.Errorf("objects = %v", root.Objects)
	}
	if _, err := FromResult(&render.Result{Root: render.Root{Path: "apps/broken"}, Err: errors.New("boom")}); err == nil || !strings.Contains(err.Error(), "apps/broken: boom") {
		t.Errorf("FromResult of a failed render: error = %v", err)
	}
}
