package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePath(t *testing.T) {
	obj := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app.kubernetes.io/name": "x", "app": "y"}},
		"spec": map[string]any{
			"containers": []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}},
			"data":       map[string]any{"a.b": map[string]any{"c": 1}, "a": map[string]any{"b.c": 2}, "x]y": 3},
		},
	}
	tests := []struct {
		name string
		in   string
		want Path
	}{
		{name: "plain", in: "spec.containers[1].name", want: Path{Key("spec"), Key("containers"), Index(1), Key("name")}},
		{name: "leading dot", in: ".spec", want: Path{Key("spec")}},
		{name: "dotted key", in: "metadata.labels.app.kubernetes.io/name", want: Path{Key("metadata"), Key("labels"), Key("app.kubernetes.io/name")}},
		{name: "longest key wins", in: "spec.data.a.b.c", want: Path{Key("spec"), Key("data"), Key("a.b"), Key("c")}},
		{name: "bracketed key", in: "metadata.labels[app.kubernetes.io/name]", want: Path{Key("metadata"), Key("labels"), Key("app.kubernetes.io/name")}},
		{name: "bracketed key with a bracket", in: "spec.data[x]y]", want: Path{Key("spec"), Key("data"), Key("x]y")}},
		{name: "missing field", in: "spec.containers[0].image", want: Path{Key("spec"), Key("containers"), Index(0), Key("image")}},
		{name: "missing below missing", in: "spec.template.spec", want: Path{Key("spec"), Key("template"), Key("spec")}},
		{name: "index past the end", in: "spec.containers[5].name", want: Path{Key("spec"), Key("containers"), Index(5), Key("name")}},
		{name: "empty", in: "", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, parsePath(obj, tc.in)); diff != "" {
				t.Errorf("parsePath(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestPathString(t *testing.T) {
	tests := []struct {
		name string
		path Path
		want string
	}{
		{name: "empty", path: nil, want: ""},
		{name: "fields and index", path: Path{Key("spec"), Key("containers"), Index(0), Key("image")}, want: "spec.containers[0].image"},
		{name: "key with dots", path: Path{Key("metadata"), Key("labels"), Key("app.kubernetes.io/name")}, want: "metadata.labels[app.kubernetes.io/name]"},
		{name: "root index", path: Path{Index(2)}, want: "[2]"},
		{name: "empty key", path: Path{Key("data"), Key("")}, want: "data[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.path.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNormalizedCopy checks that values from any YAML decoder reach the
// validators as the API server's JSON decoder would give them.
func TestNormalizedCopy(t *testing.T) {
	in := map[string]any{
		"int": 3, "int32": int32(4), "float": 2.0, "fraction": 2.5, "uint64": uint64(7),
		"map": map[any]any{"k": 1}, "list": []any{1, "a", nil, true},
	}
	want := map[string]any{
		"int": int64(3), "int32": int64(4), "float": int64(2), "fraction": 2.5, "uint64": int64(7),
		"map": map[string]any{"k": int64(1)}, "list": []any{int64(1), "a", nil, true},
	}
	if diff := cmp.Diff(want, normalizedCopy(in)); diff != "" {
		t.Errorf("normalizedCopy (-want +got):\n%s", diff)
	}
}

// TestForeignValueTypes checks that objects decoded by other YAML libraries
// (Go ints, int32) validate as if decoded from JSON, without panicking.
func TestForeignValueTypes(t *testing.T) {
	v := newValidator(t, Default())
	obj := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "d"},
		"spec": map[string]any{
			"replicas": 3,
			"selector": map[string]any{"matchLabels": map[string]any{"a": "b"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"a": "b"}},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": "c", "image": "i", "ports": []any{map[string]any{"containerPort": int32(80)}},
				}}},
			},
		},
	}
	if vs, _ := v.Validate(obj); len(vs) > 0 {
		t.Errorf("want no violations, got:\n%s", render(vs))
	}
	obj["spec"].(map[string]any)["replicas"] = "3"
	if vs, _ := v.Validate(obj); !hasViolation(vs, ReasonType, Path{Key("spec"), Key("replicas")}) {
		t.Errorf("want a type violation at spec.replicas, got:\n%s", render(vs))
	}
}
