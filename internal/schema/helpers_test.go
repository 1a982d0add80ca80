package schema

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/validate"
	"sigs.k8s.io/yaml"
)

// Files of the bundled example that must validate clean.
const (
	exampleDir     = "../../testdata/examples/sock-shop"
	completeDemo   = exampleDir + "/microservices-repo/deploy/kubernetes/base/complete-demo.yaml"
	gotkComponents = exampleDir + "/flux-repo/clusters/dev-cluster/flux-system/gotk-components.yaml"
)

// object is one decoded document and where it came from.
type object struct {
	file string
	obj  map[string]any
}

// name identifies o in test names: "apps/v1/Deployment/cart".
func (o object) name() string {
	meta, _ := o.obj["metadata"].(map[string]any)
	n, _ := meta["name"].(string)
	return o.obj["apiVersion"].(string) + "/" + o.obj["kind"].(string) + "/" + n
}

// readObjects decodes every document of a multi-document YAML file, as the
// callers of Validate do (numbers become float64).
func readObjects(t testing.TB, path string) []object {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, path, raw)
}

func decodeObjects(t testing.TB, file string, raw []byte) []object {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var out []object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if obj != nil {
			out = append(out, object{file: file, obj: obj})
		}
	}
}

// mustDecode decodes one YAML document.
func mustDecode(t testing.TB, doc string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
		t.Fatalf("decoding test object: %v", err)
	}
	return obj
}

// yamlFiles lists the .yaml files under dir.
func yamlFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func newValidator(t testing.TB, version string) *Validator {
	t.Helper()
	v, err := New(version)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// render writes violations one a line, for comparisons and failure output.
func render(vs []Violation) string {
	var b strings.Builder
	for _, x := range vs {
		b.WriteString(x.Path.String() + " [" + string(x.Reason) + "] " + x.Message + "\n")
	}
	return b.String()
}

// hasViolation reports whether vs holds one with the reason at the path.
func hasViolation(vs []Violation, reason Reason, path Path) bool {
	for _, x := range vs {
		if x.Reason == reason && comparePaths(x.Path, path) == 0 {
			return true
		}
	}
	return false
}

// assertFastAgrees checks the promise of the quick check: when it passes
// an object, kube-openapi finds nothing either.
func assertFastAgrees(t *testing.T, v *Validator, obj map[string]any) {
	t.Helper()
	c := compiledFor(t, v, obj)
	if c == nil {
		return
	}
	data := runtime.DeepCopyJSON(obj)
	w := walker{v: v}
	w.walk(c.root, data)
	if c.crd != nil {
		prepareCRDData(c.crd, data)
	} else {
		pruneNulls(c.root, data)
	}
	if !c.fast.valid(data) {
		return
	}
	s, err := c.schema()
	if err != nil {
		t.Fatal(err)
	}
	res := validate.NewSchemaValidator(s, nil, "", c.formats).Validate(data)
	if !res.IsValid() {
		t.Errorf("quick check passed an object that kube-openapi fails: %v", res.Errors)
	}
}

// compiledFor returns the compiled schema of obj's kind, or nil.
func compiledFor(t *testing.T, v *Validator, obj map[string]any) *compiled {
	t.Helper()
	gvk := gvkOf(obj)
	c, err := v.lookupKind(gvk)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setPath sets the value at p in obj, making the maps and one-element lists
// on the way.
func setPath(obj map[string]any, p Path, value any) {
	var cur any = obj
	for i, s := range p {
		last := i == len(p)-1
		next := func() any {
			if p[i+1].IsIndex {
				return []any{}
			}
			return map[string]any{}
		}
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[s.Key] = value
				return
			}
			if _, ok := c[s.Key]; !ok {
				c[s.Key] = next()
			}
			if p[i+1].IsIndex {
				if l, _ := c[s.Key].([]any); len(l) == 0 {
					c[s.Key] = []any{map[string]any{}}
				}
			}
			cur = c[s.Key]
		case []any:
			if last {
				c[s.Index] = value
				return
			}
			cur = c[s.Index]
		}
	}
}

// deletePath removes the map key at the end of p.
func deletePath(obj map[string]any, p Path) {
	var cur any = obj
	for i, s := range p {
		switch c := cur.(type) {
		case map[string]any:
			if i == len(p)-1 {
				delete(c, s.Key)
				return
			}
			cur = c[s.Key]
		case []any:
			cur = c[s.Index]
		}
	}
}

// sortedProps returns the property names of s in order.
func sortedProps(s *spec.Schema) []string {
	names := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
