package schema

import (
	"strings"
	"testing"
)

// widgetCRD exercises what CRDs say beyond types: CEL rules (one with
// oldSelf, which needs an update and is skipped), int-or-string, preserved
// unknown fields, an embedded resource, defaults and a list map.
const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            x-kubernetes-validations:
            - rule: "self.minReplicas <= self.maxReplicas"
              message: minReplicas must not exceed maxReplicas
            - rule: "self.size == oldSelf.size"
              message: size is immutable
            properties:
              size:
                type: string
                enum: [small, large]
              minReplicas: {type: integer, default: 1}
              maxReplicas: {type: integer, default: 3}
              port:
                x-kubernetes-int-or-string: true
                anyOf: [{type: integer}, {type: string}]
              name:
                type: string
                maxLength: 8
                pattern: '^[a-z]+$'
              blob: {type: string, format: byte}
              values:
                type: object
                x-kubernetes-preserve-unknown-fields: true
              template:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    number: {type: integer}
  - name: v1alpha1
    served: false
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

func TestAddCRD(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		want   []Reason // one per violation, in order; nil for none
		status Status
		errHas string
	}{
		{name: "valid", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: default}
spec:
  size: small
  port: http
  name: abc
  values: {anything: {goes: [1, 2]}}
  template: {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: b}}
  ports: [{name: a, number: 1}, {name: b}]`, status: Validated},
		{name: "defaults satisfy the rule", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: large, maxReplicas: 2}`, status: Validated},
		{name: "CEL rule", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: large, minReplicas: 5}`, status: Validated, want: []Reason{ReasonCEL}},
		{name: "pattern", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: small, name: ABC}`, status: Validated, want: []Reason{ReasonPattern}},
		{name: "enum and length, which hides the pattern", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: medium, name: ABCDEFGHIJ}`, status: Validated, want: []Reason{ReasonMax, ReasonEnum}},
		{name: "int-or-string takes neither a bool nor an object", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: small, port: true}`, status: Validated, want: []Reason{ReasonInvalid, ReasonType, ReasonType}},
		{name: "unknown fields, not below preserved ones", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, labelz: {}}
spec: {size: small, colour: red, values: {free: form}}
extra: 1`, status: Validated, want: []Reason{ReasonUnknownField, ReasonUnknownField, ReasonUnknownField}},
		{name: "duplicate list map keys", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: small, ports: [{name: a}, {name: a}]}`, status: Validated, want: []Reason{ReasonUnique}},
		{name: "embedded resource without kind", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: small, template: {apiVersion: v1, metadata: {name: c}}}`, status: Validated, want: []Reason{ReasonInvalid}},
		{name: "byte as one line of base64", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: small, blob: "aGVsbG8gd29ybGQ="}`, status: Validated},
		// The CRD handler checks format: byte with kube-openapi's own
		// pattern, which takes no line break (unlike a Secret's data).
		{name: "byte broken into lines", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec:
  size: small
  blob: |
    aGVsbG8g
    d29ybGQ=`, status: Validated, want: []Reason{ReasonFormat}},
		{name: "version not served", doc: `
apiVersion: example.com/v1alpha1
kind: Widget
metadata: {name: w}`, status: NoSchema},
	}
	v := newValidator(t, Default())
	if err := v.AddCRD(mustDecode(t, widgetCRD)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, status := v.Validate(mustDecode(t, tc.doc))
			if status != tc.status {
				t.Fatalf("status = %s, want %s", status, tc.status)
			}
			var got []Reason
			for _, x := range vs {
				got = append(got, x.Reason)
			}
			if strings.Join(reasons(got), ",") != strings.Join(reasons(tc.want), ",") {
				t.Errorf("reasons = %v, want %v; violations:\n%s", got, tc.want, render(vs))
			}
		})
	}
}

func reasons(rs []Reason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r))
	}
	return out
}

func TestAddCRDErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(crd string) string
		errHas string
	}{
		{
			name:   "not a CRD",
			edit:   func(string) string { return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}" },
			errHas: "not an apiextensions.k8s.io/v1 CustomResourceDefinition",
		},
		{
			name: "name does not match the names",
			edit: func(c string) string {
				return strings.Replace(c, "name: widgets.example.com", "name: gadgets.example.com", 1)
			},
			errHas: "invalid CRD gadgets.example.com",
		},
		{
			name: "rule that does not compile",
			edit: func(c string) string {
				return strings.Replace(c, "self.minReplicas <= self.maxReplicas", "self.nope <=", 1)
			},
			errHas: "compilation failed",
		},
		{
			name: "schema that is not structural",
			edit: func(c string) string {
				return strings.Replace(c, "minReplicas: {type: integer, default: 1}", "minReplicas: {default: 1}", 1)
			},
			errHas: "must not be empty for specified object fields",
		},
		{
			name:   "no storage version",
			edit:   func(c string) string { return strings.Replace(c, "storage: true", "storage: false", 1) },
			errHas: "must have exactly one version marked as storage version",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, Default())
			err := v.AddCRD(mustDecode(t, tc.edit(widgetCRD)))
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("AddCRD error = %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}

// TestAddCRDReplaces checks that a later CRD for the same group and kind
// wins, including over a preloaded Flux CRD, and that what was compiled
// for the earlier one is forgotten.
func TestAddCRDReplaces(t *testing.T) {
	v := newValidator(t, Default())
	obj := mustDecode(t, `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: small, colour: red}`)
	if err := v.AddCRD(mustDecode(t, widgetCRD)); err != nil {
		t.Fatal(err)
	}
	if vs, _ := v.Validate(obj); !hasViolation(vs, ReasonUnknownField, Path{Key("spec"), Key("colour")}) {
		t.Fatalf("first CRD: want spec.colour unknown, got:\n%s", render(vs))
	}
	open := strings.Replace(widgetCRD, "            required: [size]\n", "            required: [size]\n            x-kubernetes-preserve-unknown-fields: true\n", 1)
	if err := v.AddCRD(mustDecode(t, open)); err != nil {
		t.Fatal(err)
	}
	if vs, _ := v.Validate(obj); len(vs) > 0 {
		t.Fatalf("second CRD: want no violations, got:\n%s", render(vs))
	}

	// A repository's own copy of a Flux CRD replaces the preloaded one.
	policy := mustDecode(t, `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: p, namespace: flux-system}
spec: {anything: goes}`)
	if vs, _ := v.Validate(policy); len(vs) == 0 {
		t.Fatal("preloaded ImagePolicy CRD: want violations")
	}
	loose := `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: imagepolicies.image.toolkit.fluxcd.io}
spec:
  group: image.toolkit.fluxcd.io
  scope: Namespaced
  names: {kind: ImagePolicy, plural: imagepolicies}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}`
	if err := v.AddCRD(mustDecode(t, loose)); err != nil {
		t.Fatal(err)
	}
	if vs, _ := v.Validate(policy); len(vs) > 0 {
		t.Fatalf("replaced ImagePolicy CRD: want no violations, got:\n%s", render(vs))
	}
}

// TestFluxCRDsAreValid runs the API server's CRD validation over the
// embedded Flux CRDs, which New loads without it.
func TestFluxCRDsAreValid(t *testing.T) {
	ff, err := readFlux()
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, Default())
	for _, raw := range ff.CRDs {
		info, err := decodeCRD(raw, "", true)
		if err != nil {
			t.Error(err)
			continue
		}
		// New knows it by its group and kind, without decoding it.
		if _, ok := v.flux[info.groupKind]; !ok {
			t.Errorf("New does not know the Flux CRD of %v", info.groupKind)
		}
	}
	if len(ff.CRDs) < 10 || len(v.flux) != len(ff.CRDs) {
		t.Errorf("New knows %d of the %d embedded Flux CRDs", len(v.flux), len(ff.CRDs))
	}
}

func TestNamespaced(t *testing.T) {
	v := newValidator(t, Default())
	if err := v.AddCRD(mustDecode(t, widgetCRD)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		apiVersion, kind string
		namespaced       bool
		known            bool
	}{
		{name: "built-in namespaced", apiVersion: "apps/v1", kind: "Deployment", namespaced: true, known: true},
		{name: "built-in cluster", apiVersion: "v1", kind: "Namespace", known: true},
		{name: "Flux", apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", namespaced: true, known: true},
		{name: "added CRD", apiVersion: "example.com/v1", kind: "Widget", namespaced: true, known: true},
		{name: "unknown", apiVersion: "example.com/v2", kind: "Widget"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns, known := v.Namespaced(gvkOf(map[string]any{"apiVersion": tc.apiVersion, "kind": tc.kind}))
			if ns != tc.namespaced || known != tc.known {
				t.Errorf("Namespaced = %v, %v, want %v, %v", ns, known, tc.namespaced, tc.known)
			}
		})
	}
}
