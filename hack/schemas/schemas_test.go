package main

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeDefinition(t *testing.T) {
	tests := []struct {
		name string
		def  string
		in   string
		want string
	}{
		{
			name: "wrapped reference",
			def:  "x.Spec",
			in:   `{"description":"d","type":"object","properties":{"meta":{"description":"m","default":{},"allOf":[{"$ref":"#/components/schemas/x.Meta"}]}},"x-kubernetes-patch-strategy":"merge"}`,
			want: `{"type":"object","properties":{"meta":{"$ref":"#/definitions/x.Meta"}}}`,
		},
		{
			name: "property named like a keyword",
			def:  "x.Props",
			in:   `{"type":"object","properties":{"$ref":{"type":"string"},"description":{"type":"string","description":"d"}}}`,
			want: `{"type":"object","properties":{"$ref":{"type":"string"},"description":{"type":"string"}}}`,
		},
		{
			name: "int or string",
			def:  intOrStringDef,
			in:   `{"format":"int-or-string","oneOf":[{"type":"integer"},{"type":"string"}]}`,
			want: `{"type":["integer","string"],"x-kubernetes-int-or-string":true}`,
		},
		{
			name: "quantity",
			def:  quantityDef,
			in:   `{"oneOf":[{"type":"string"},{"type":"number"}]}`,
			want: `{"type":["string","number"],"format":"quantity"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in, want map[string]any
			if err := json.Unmarshal([]byte(tc.in), &in); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			got := normalizeDefinition(tc.def, in)
			// Compare through JSON, as the file holds it.
			gotJSON, _ := json.Marshal(got)
			var gotBack map[string]any
			_ = json.Unmarshal(gotJSON, &gotBack)
			if diff := cmp.Diff(want, gotBack); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildKubernetesFile(t *testing.T) {
	doc := `{
  "paths": {
    "/apis/example.com/v1/namespaces/{namespace}/widgets": {
      "post": {"x-kubernetes-action": "post", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Widget"}},
      "get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "WidgetList"}}
    },
    "/apis/example.com/v1/gadgets/{name}": {
      "put": {"x-kubernetes-action": "put", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Gadget"}}
    },
    "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/exec": {
      "post": {"x-kubernetes-action": "connect", "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": "ExecOptions"}}
    }
  },
  "components": {"schemas": {
    "com.example.v1.Widget": {"type": "object", "properties": {"metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]}}, "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Widget"}]},
    "com.example.v1.Gadget": {"type": "object", "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Gadget"}]},
    "com.example.v1.Unused": {"type": "string"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object", "properties": {"name": {"type": "string"}}}
  }}
}`
	f, err := buildKubernetesFile("v1.99.0", map[string][]byte{"apis/example.com/v1": []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	wantKinds := []kind{
		{Group: "example.com", Version: "v1", Kind: "Gadget", Definition: "com.example.v1.Gadget"},
		{Group: "example.com", Version: "v1", Kind: "Widget", Namespaced: true, Definition: "com.example.v1.Widget"},
	}
	if diff := cmp.Diff(wantKinds, f.Kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	var names []string
	for n := range f.Definitions {
		names = append(names, n)
	}
	if len(names) != 3 || f.Definitions["com.example.v1.Unused"] != nil {
		t.Errorf("definitions = %v, want the two kinds and ObjectMeta", names)
	}
}

func TestStripDescriptions(t *testing.T) {
	in := map[string]any{
		"description": "the schema",
		"properties": map[string]any{
			"description": map[string]any{"type": "string", "description": "a field named description"},
		},
	}
	want := map[string]any{
		"properties": map[string]any{"description": map[string]any{"type": "string"}},
	}
	if diff := cmp.Diff(want, stripDescriptions(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
