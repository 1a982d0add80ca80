package schema

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

func TestVersions(t *testing.T) {
	versions := Versions()
	if len(versions) == 0 {
		t.Fatal("no embedded Kubernetes versions")
	}
	found := false
	for _, v := range versions {
		if v == Default() {
			found = true
		}
	}
	if !found {
		t.Errorf("Default() = %s is not one of Versions() = %v", Default(), versions)
	}
	if FluxVersion() == "" {
		t.Error("no embedded Flux version")
	}
}

// TestDefaultMatchesClientGo keeps Default in step with the client library
// in go.mod: k8s.io/client-go v0.MINOR.x is Kubernetes v1.MINOR.
func TestDefaultMatchesClientGo(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/client-go v0\.(\d+)\.`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod does not require k8s.io/client-go")
	}
	if want := "v1." + string(m[1]); Default() != want {
		t.Errorf("Default() = %s, want %s (k8s.io/client-go v0.%s)", Default(), want, m[1])
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		version string
		want    string // full version, or "" for an error
		errHas  string
	}{
		{name: "minor with v", version: "v1.37", want: "v1.37.2"},
		{name: "minor without v", version: "1.37", want: "v1.37.2"},
		{name: "full version", version: "v1.37.2", want: "v1.37.2"},
		{name: "other patch of an embedded minor", version: "v1.37.0", want: "v1.37.2"},
		{name: "unknown minor", version: "v1.12", errHas: "available versions are " + strings.Join(Versions(), ", ")},
		{name: "not a version", version: "latest", errHas: `no schemas for Kubernetes version "latest"`},
		{name: "empty", version: "", errHas: "available versions are"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.version)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("New(%q) error = %v, want one containing %q", tc.version, err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := v.KubernetesVersion(); got != tc.want {
				t.Errorf("KubernetesVersion() = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestGoodObjects validates the hand-written objects and the bundled
// example, which are real and must be clean, against every version.
func TestGoodObjects(t *testing.T) {
	var objs []object
	for _, f := range []string{"testdata/good/builtin.yaml", "testdata/good/flux.yaml", completeDemo, gotkComponents} {
		objs = append(objs, readObjects(t, f)...)
	}
	for _, f := range yamlFiles(t, exampleDir+"/flux-repo") {
		if f != gotkComponents {
			objs = append(objs, readObjects(t, f)...)
		}
	}
	for _, version := range Versions() {
		v := newValidator(t, version)
		for _, o := range objs {
			t.Run(version+"/"+o.name(), func(t *testing.T) {
				before := runtime.DeepCopyJSON(o.obj)
				vs, status := v.Validate(o.obj)
				if o.obj["apiVersion"] == "kustomize.config.k8s.io/v1beta1" {
					// A kustomization file, not an object of the cluster.
					if status != NoSchema {
						t.Errorf("status = %s, want NoSchema", status)
					}
					return
				}
				if status != Validated {
					t.Fatalf("status = %s, want Validated (%s)", status, o.file)
				}
				if len(vs) > 0 {
					t.Errorf("%s: want no violations, got:\n%s", o.file, render(vs))
				}
				if diff := cmp.Diff(before, o.obj); diff != "" {
					t.Errorf("Validate changed the object (-before +after):\n%s", diff)
				}
				assertFastAgrees(t, v, o.obj)
			})
		}
	}
}

// TestSecretData: a Secret's data is base64 as encoding/json decodes it
// into []byte, line breaks ignored (kustomize's secretGenerator breaks it
// every 70 characters); anything else is a format violation.
func TestSecretData(t *testing.T) {
	v := newValidator(t, Default())
	for _, tc := range []struct {
		name, value string
		want        []Reason
	}{
		{"one line", "aGVsbG8gd29ybGQ=", nil},
		{"broken into lines, as kustomize prints it", "aGVsbG8g\nd29ybGQ=\n", nil},
		{"broken by a carriage return", "aGVsbG8g\r\nd29ybGQ=", nil},
		{"a space inside", "aGVsbG8g d29ybGQ=", []Reason{ReasonFormat}},
		{"not base64", "hello world!", []Reason{ReasonFormat}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"},
				"data": map[string]any{"key": tc.value}}
			vs, status := v.Validate(obj)
			if status != Validated {
				t.Fatalf("status = %s", status)
			}
			var got []Reason
			for _, x := range vs {
				got = append(got, x.Reason)
			}
			if strings.Join(reasons(got), ",") != strings.Join(reasons(tc.want), ",") {
				t.Errorf("reasons = %v, want %v; violations:\n%s", got, tc.want, render(vs))
			}
			assertFastAgrees(t, v, obj)
		})
	}
}

// TestEveryKind checks, for every built-in kind of every embedded version
// and every Flux kind, that a good object is clean and that bad ones give
// the expected violation: an unknown field, a wrong type, a missing
// required field and a bad enum value where the kind has them.
func TestEveryKind(t *testing.T) {
	var handWritten []object
	for _, f := range []string{"testdata/good/builtin.yaml", "testdata/good/flux.yaml"} {
		handWritten = append(handWritten, readObjects(t, f)...)
	}
	goodByKind := map[schema.GroupVersionKind]map[string]any{}
	for _, o := range handWritten {
		goodByKind[gvkOf(o.obj)] = o.obj
	}
	for _, version := range Versions() {
		v := newValidator(t, version)
		for _, gvk := range allKinds(v) {
			gvk := gvk
			t.Run(version+"/"+gvkName(gvk), func(t *testing.T) {
				c, err := v.lookupKind(gvk)
				if err != nil || c == nil {
					t.Fatalf("lookupKind(%s) = %v, %v", gvk, c, err)
				}
				s, err := c.schema()
				if err != nil {
					t.Fatal(err)
				}
				good := goodByKind[gvk]
				if good == nil {
					good = generateObject(v, gvk, s)
				}
				for _, tc := range badCases(good, s) {
					t.Run(tc.name, func(t *testing.T) {
						vs, status := v.Validate(tc.obj)
						if status != Validated {
							t.Fatalf("status = %s, want Validated", status)
						}
						tc.check(t, vs)
						assertFastAgrees(t, v, tc.obj)
					})
				}
			})
		}
	}
}

// allKinds lists the built-in kinds and the Flux kinds v knows.
func allKinds(v *Validator) []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for gvk := range v.builtins {
		out = append(out, gvk)
	}
	for gk, info := range v.crds {
		for _, ver := range info.crd.Spec.Versions {
			if ver.Served {
				out = append(out, gk.WithVersion(ver.Name))
			}
		}
	}
	sortGVKs(out)
	return out
}

// gvkName names a kind in test names: "apps/v1/Deployment", "core/v1/Pod".
func gvkName(gvk schema.GroupVersionKind) string {
	group := gvk.Group
	if group == "" {
		group = "core"
	}
	return group + "/" + gvk.Version + "/" + gvk.Kind
}

func sortGVKs(gvks []schema.GroupVersionKind) {
	less := func(a, b schema.GroupVersionKind) bool { return gvkName(a) < gvkName(b) }
	for i := 1; i < len(gvks); i++ {
		for j := i; j > 0 && less(gvks[j], gvks[j-1]); j-- {
			gvks[j], gvks[j-1] = gvks[j-1], gvks[j]
		}
	}
}

// badCase is a variant of a good object and what Validate must say of it.
type badCase struct {
	name  string
	obj   map[string]any
	check func(t *testing.T, vs []Violation)
}

// expectClean wants no violation.
func expectClean(t *testing.T, vs []Violation) {
	t.Helper()
	if len(vs) > 0 {
		t.Errorf("want no violations, got:\n%s", render(vs))
	}
}

// expect wants a violation with the reason at the path.
func expect(reason Reason, path Path) func(t *testing.T, vs []Violation) {
	return func(t *testing.T, vs []Violation) {
		t.Helper()
		if !hasViolation(vs, reason, path) {
			t.Errorf("want a %s violation at %s, got:\n%s", reason, path, render(vs))
		}
	}
}

// badCases derives the test objects of one kind from a good object and the
// kind's schema.
func badCases(good map[string]any, s *spec.Schema) []badCase {
	variant := func(edit func(obj map[string]any)) map[string]any {
		obj := runtime.DeepCopyJSON(good)
		edit(obj)
		return obj
	}
	cases := []badCase{
		{name: "good", obj: good, check: expectClean},
		{
			name:  "unknown field at the root",
			obj:   variant(func(o map[string]any) { o["notAField"] = "x" }),
			check: expect(ReasonUnknownField, Path{Key("notAField")}),
		},
		{
			name:  "unknown field in metadata",
			obj:   variant(func(o map[string]any) { o["metadata"].(map[string]any)["notAField"] = "x" }),
			check: expect(ReasonUnknownField, Path{Key("metadata"), Key("notAField")}),
		},
		{
			name:  "wrong type in metadata",
			obj:   variant(func(o map[string]any) { o["metadata"].(map[string]any)["name"] = 5.0 }),
			check: expect(ReasonType, Path{Key("metadata"), Key("name")}),
		},
	}
	if spec, ok := good["spec"].(map[string]any); ok && len(spec) > 0 {
		if ss, ok := s.Properties["spec"]; ok && len(ss.Properties) > 0 && !preserves(&ss) {
			cases = append(cases, badCase{
				name:  "unknown field in spec",
				obj:   variant(func(o map[string]any) { o["spec"].(map[string]any)["notAField"] = "x" }),
				check: expect(ReasonUnknownField, Path{Key("spec"), Key("notAField")}),
			})
		}
	}
	if p, bad, ok := findScalar(s, nil, 0); ok {
		cases = append(cases, badCase{
			name:  "wrong type at " + p.String(),
			obj:   variant(func(o map[string]any) { setPath(o, p, bad) }),
			check: expect(ReasonType, p),
		})
	}
	if p, ok := findRequired(s, good, nil); ok {
		cases = append(cases, badCase{
			name:  "missing " + p.String(),
			obj:   variant(func(o map[string]any) { deletePath(o, p) }),
			check: expect(ReasonRequired, p),
		})
	}
	if p, ok := findEnum(s, nil, 0); ok {
		cases = append(cases, badCase{
			name:  "bad enum value at " + p.String(),
			obj:   variant(func(o map[string]any) { setPath(o, p, "NotAnAllowedValue") }),
			check: expect(ReasonEnum, p),
		})
	}
	return cases
}

func preserves(s *spec.Schema) bool {
	b, _ := s.Extensions.GetBool("x-kubernetes-preserve-unknown-fields")
	return b
}

// skipped are the top-level fields the searches leave alone: set by the
// server (status), or checked by other cases.
func skipped(path Path, name string) bool {
	return len(path) == 0 && (name == "status" || name == "metadata" || name == "apiVersion" || name == "kind")
}

// findScalar finds, depth first in property order, a field of one scalar
// type with no enum, format or pattern, and a value of another type.
func findScalar(s *spec.Schema, path Path, depth int) (Path, any, bool) {
	if depth > 6 {
		return nil, nil, false
	}
	for _, name := range sortedProps(s) {
		if skipped(path, name) {
			continue
		}
		p := s.Properties[name]
		here := path.append(Key(name))
		if len(p.Type) == 1 && len(p.Enum) == 0 && p.Format == "" && p.Pattern == "" && len(p.AnyOf) == 0 && len(p.OneOf) == 0 {
			switch p.Type[0] {
			case "string":
				return here, 12345.0, true
			case "integer", "number":
				return here, "not-a-number", true
			case "boolean":
				return here, "not-a-bool", true
			}
		}
		if found, bad, ok := findScalar(&p, here, depth+1); ok {
			return found, bad, true
		}
	}
	return nil, nil, false
}

// findEnum finds, breadth first in property order, a string field with an
// enum, through objects and lists.
func findEnum(s *spec.Schema, path Path, depth int) (Path, bool) {
	type item struct {
		s    *spec.Schema
		path Path
	}
	queue := []item{{s, path}}
	for len(queue) > 0 && depth < 2000 {
		it := queue[0]
		queue = queue[1:]
		depth++
		for _, name := range sortedProps(it.s) {
			if skipped(it.path, name) {
				continue
			}
			p := it.s.Properties[name]
			here := it.path.append(Key(name))
			if len(p.Enum) > 0 && len(p.Type) == 1 && p.Type[0] == "string" {
				return here, true
			}
			if len(p.Properties) > 0 {
				queue = append(queue, item{&p, here})
			}
			if p.Items != nil && p.Items.Schema != nil && len(p.Items.Schema.Properties) > 0 {
				queue = append(queue, item{p.Items.Schema, here.append(Index(0))})
			}
		}
	}
	return nil, false
}

// findRequired finds, breadth first, a required field that the good object
// has.
func findRequired(s *spec.Schema, value any, path Path) (Path, bool) {
	m, ok := value.(map[string]any)
	if !ok {
		return nil, false
	}
	for _, r := range s.Required {
		if _, present := m[r]; present && !skipped(path, r) {
			return path.append(Key(r)), true
		}
	}
	for _, name := range sortedProps(s) {
		if skipped(path, name) {
			continue
		}
		p := s.Properties[name]
		switch child := m[name].(type) {
		case map[string]any:
			if found, ok := findRequired(&p, child, path.append(Key(name))); ok {
				return found, true
			}
		case []any:
			if len(child) > 0 && p.Items != nil && p.Items.Schema != nil {
				if found, ok := findRequired(p.Items.Schema, child[0], path.append(Key(name), Index(0))); ok {
					return found, true
				}
			}
		}
	}
	return nil, false
}

// generateObject makes a minimal valid object of a kind from its schema:
// the required fields, filled with values their schemas accept.
func generateObject(v *Validator, gvk schema.GroupVersionKind, s *spec.Schema) map[string]any {
	obj, _ := generate(s, 0).(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	obj["apiVersion"] = gvk.GroupVersion().String()
	obj["kind"] = gvk.Kind
	meta := map[string]any{"name": "generated"}
	if namespaced, _ := v.Namespaced(gvk); namespaced {
		meta["namespace"] = "default"
	}
	obj["metadata"] = meta
	return obj
}

func generate(s *spec.Schema, depth int) any {
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if depth > 20 {
		return nil
	}
	types := s.Type
	switch {
	case types.Contains("integer") && types.Contains("string"): // int-or-string
		return 1.0
	case types.Contains("string") && types.Contains("number"): // quantity
		return "1"
	case types.Contains("object") || (len(types) == 0 && len(s.Properties) > 0):
		m := map[string]any{}
		for _, r := range s.Required {
			p := s.Properties[r]
			m[r] = generate(&p, depth+1)
		}
		return m
	case types.Contains("array"):
		n := 0
		if s.MinItems != nil {
			n = int(*s.MinItems)
		}
		l := make([]any, 0, n)
		for i := 0; i < n && s.Items != nil && s.Items.Schema != nil; i++ {
			l = append(l, generate(s.Items.Schema, depth+1))
		}
		return l
	case types.Contains("string"):
		return generateString(s)
	case types.Contains("integer"), types.Contains("number"):
		n := 1.0
		if s.Minimum != nil {
			n = math.Ceil(*s.Minimum)
			if s.ExclusiveMinimum {
				n++
			}
		}
		return n
	case types.Contains("boolean"):
		return false
	}
	return map[string]any{}
}

func generateString(s *spec.Schema) string {
	switch s.Format {
	case "date-time":
		return "2025-01-01T00:00:00Z"
	case "byte":
		return "aGVsbG8="
	}
	out := "generated"
	if s.MinLength != nil && int64(len(out)) < *s.MinLength {
		out = strings.Repeat("x", int(*s.MinLength))
	}
	return out
}

// TestCEL checks that each Flux kind's x-kubernetes-validations rules run,
// as the API server runs them.
func TestCEL(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		path    Path
		message string
	}{
		{
			name: "ImagePolicy Always without interval",
			doc: `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: p, namespace: flux-system}
spec:
  imageRepositoryRef: {name: r}
  policy: {semver: {range: 1.x}}
  digestReflectionPolicy: Always`,
			path:    Path{Key("spec")},
			message: "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
		},
		{
			name: "ImagePolicy interval without Always",
			doc: `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: p, namespace: flux-system}
spec:
  imageRepositoryRef: {name: r}
  policy: {semver: {range: 1.x}}
  interval: 5m`,
			path:    Path{Key("spec")},
			message: "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
		},
		{
			name: "HelmRelease without chart or chartRef",
			doc: `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: r, namespace: default}
spec: {interval: 5m}`,
			path:    Path{Key("spec")},
			message: "either chart or chartRef must be set",
		},
		{
			name: "HelmRelease upgrade retryInterval with the wrong strategy",
			doc: `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: r, namespace: default}
spec:
  interval: 5m
  chartRef: {kind: OCIRepository, name: podinfo}
  upgrade: {strategy: {name: RemediateOnFailure, retryInterval: 1m}}`,
			path:    Path{Key("spec"), Key("upgrade"), Key("strategy")},
			message: ".retryInterval can only be set when .name is 'RetryOnFailure'",
		},
		{
			name: "Kustomization kubeConfig with neither reference",
			doc: `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: k, namespace: flux-system}
spec:
  interval: 5m
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  kubeConfig: {}`,
			path:    Path{Key("spec"), Key("kubeConfig")},
			message: "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified",
		},
		{
			name: "GitRepository serviceAccountName without provider",
			doc: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: g, namespace: flux-system}
spec: {interval: 5m, url: "https://example.com/x.git", serviceAccountName: sa}`,
			path:    Path{Key("spec")},
			message: "serviceAccountName can only be set when provider is 'azure' or 'aws'",
		},
		{
			name: "Bucket secretRef and serviceAccountName",
			doc: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {name: b, namespace: flux-system}
spec: {interval: 5m, provider: aws, bucketName: b, endpoint: s3.amazonaws.com, secretRef: {name: s}, serviceAccountName: sa}`,
			path:    Path{Key("spec")},
			message: "cannot set both .spec.secretRef and .spec.serviceAccountName",
		},
		{
			name: "HelmChart verify from a GitRepository",
			doc: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: c, namespace: flux-system}
spec:
  interval: 5m
  chart: ./charts/app
  sourceRef: {kind: GitRepository, name: repo}
  verify: {provider: cosign}`,
			path:    Path{Key("spec")},
			message: "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'",
		},
		{
			name: "Provider commitStatusExpr on slack",
			doc: `
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: p, namespace: flux-system}
spec: {type: slack, commitStatusExpr: "'x'"}`,
			path:    Path{Key("spec")},
			message: "spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types",
		},
		{
			name: "Receiver without secretRef",
			doc: `
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: r, namespace: flux-system}
spec:
  type: github
  resources: [{kind: GitRepository, name: flux-system}]`,
			path:    Path{Key("spec")},
			message: "secretRef is required when type is not generic-oidc",
		},
	}
	v := newValidator(t, Default())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, status := v.Validate(mustDecode(t, tc.doc))
			if status != Validated {
				t.Fatalf("status = %s", status)
			}
			for _, x := range vs {
				if x.Reason == ReasonCEL && comparePaths(x.Path, tc.path) == 0 && strings.Contains(x.Message, tc.message) {
					if len(vs) != 1 {
						t.Errorf("want only the CEL violation, got:\n%s", render(vs))
					}
					return
				}
			}
			t.Errorf("want a cel violation at %s saying %q, got:\n%s", tc.path, tc.message, render(vs))
		})
	}
}

// TestCELSkippedAfterBlockingErrors checks that, as in the API server, the
// rules do not run when a required field is missing or a type is wrong.
func TestCELSkippedAfterBlockingErrors(t *testing.T) {
	v := newValidator(t, Default())
	vs, _ := v.Validate(mustDecode(t, `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: p, namespace: flux-system}
spec:
  policy: {semver: {range: 1.x}}
  digestReflectionPolicy: Always`))
	want := "spec.imageRepositoryRef: Required value\n"
	var got strings.Builder
	for _, x := range vs {
		got.WriteString(x.Message + "\n")
	}
	if got.String() != want {
		t.Errorf("got:\n%swant:\n%s", got.String(), want)
	}
}

func TestNoSchema(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{name: "unknown group", doc: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}"},
		{name: "removed version", doc: "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: i}"},
		{name: "Flux version no longer served", doc: "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata: {name: p}"},
		{name: "kustomization file", doc: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]"},
	}
	v := newValidator(t, Default())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, status := v.Validate(mustDecode(t, tc.doc))
			if status != NoSchema || len(vs) != 0 {
				t.Errorf("got %s with %d violations, want NoSchema and none", status, len(vs))
			}
		})
	}
}

func TestMissingTypeMeta(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Path
	}{
		{name: "no kind", doc: "apiVersion: v1\nmetadata: {name: x}", want: Path{Key("kind")}},
		{name: "no apiVersion", doc: "kind: ConfigMap\nmetadata: {name: x}", want: Path{Key("apiVersion")}},
	}
	v := newValidator(t, Default())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, status := v.Validate(mustDecode(t, tc.doc))
			if status != Validated || !hasViolation(vs, ReasonRequired, tc.want) {
				t.Errorf("got %s:\n%s", status, render(vs))
			}
		})
	}
}

// TestDoesNotChangeObjects checks that nulls are dropped and defaults are
// applied to copies only.
func TestDoesNotChangeObjects(t *testing.T) {
	docs := []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, creationTimestamp: null, labels: null}\ndata: {a: b}",
		`
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: k, namespace: flux-system, creationTimestamp: null}
spec: {interval: 5m, prune: true, sourceRef: {kind: GitRepository, name: repo}, timeout: null}`,
	}
	v := newValidator(t, Default())
	for i, doc := range docs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			obj := mustDecode(t, doc)
			before := runtime.DeepCopyJSON(obj)
			if vs, _ := v.Validate(obj); len(vs) > 0 {
				t.Errorf("want no violations, got:\n%s", render(vs))
			}
			if diff := cmp.Diff(before, obj); diff != "" {
				t.Errorf("Validate changed the object (-before +after):\n%s", diff)
			}
		})
	}
}

// TestConcurrent validates from many goroutines at once (run with -race),
// with kinds compiled for the first time concurrently, and AddCRD racing.
func TestConcurrent(t *testing.T) {
	v := newValidator(t, Default())
	var objs []object
	for _, f := range []string{"testdata/good/builtin.yaml", "testdata/good/flux.yaml"} {
		objs = append(objs, readObjects(t, f)...)
	}
	crd := mustDecode(t, widgetCRD)
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(objs))
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g == 0 {
				if err := v.AddCRD(crd); err != nil {
					errs <- err.Error()
				}
			}
			for _, o := range objs {
				if vs, _ := v.Validate(o.obj); len(vs) > 0 {
					errs <- o.name() + ": " + render(vs)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
