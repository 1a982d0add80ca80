package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv/apiserver"
)

// gotkComponents holds the Flux CRDs installed in the API server, so that
// its OpenAPI document describes the Flux kinds too.
const gotkComponents = "testdata/examples/sock-shop/flux-repo/clusters/dev-cluster/flux-system/gotk-components.yaml"

// schemasVersion changes when the conversion below does.
const schemasVersion = "1"

// kubeconformSchemas returns a folder of kubeconform's strict standalone
// JSON schemas, one file per kind ({kind}-{group prefix}-{version}.json),
// made from the /openapi/v2 document of the kube-apiserver that
// hack/cluster/build.sh builds, with Flux's CRDs installed. They are made
// once and kept beside the tools.
func kubeconformSchemas(ctx context.Context) (string, error) {
	binDir := apiserver.DefaultBinDir(os.Getenv)
	if missing := apiserver.MissingBinaries(binDir); len(missing) > 0 {
		return "", fmt.Errorf("%s missing in %s: run hack/cluster/build.sh", strings.Join(missing, " and "), binDir)
	}
	key, err := schemasKey(binDir)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(filepath.Dir(binDir), "kubeconform-schemas", key)
	if _, err := os.Stat(filepath.Join(dir, "deployment-apps-v1.json")); err == nil {
		return dir, nil
	}
	doc, err := openAPIv2(ctx, binDir)
	if err != nil {
		return "", err
	}
	files, err := convertSchemas(doc)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(binDir), "kubeconform-schemas-")
	if err != nil {
		return "", err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		return "", err
	}
	return dir, nil
}

// schemasKey names what the schemas are made from: the API server binary,
// the Flux CRDs and this conversion.
func schemasKey(binDir string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, schemasVersion)
	for _, f := range []string{filepath.Join(binDir, apiserver.APIServerBinary), gotkComponents} {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// openAPIv2 starts the API server, installs the Flux CRDs, waits until
// their kinds are published and returns /openapi/v2.
func openAPIv2(ctx context.Context, binDir string) (map[string]any, error) {
	dir, err := os.MkdirTemp("", "bench-apiserver-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	s, err := apiserver.New(ctx, apiserver.Options{BinDir: binDir, Dir: dir})
	if err != nil {
		return nil, err
	}
	defer s.Stop()
	dyn, err := dynamic.NewForConfig(s.RESTConfig())
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(gotkComponents)
	if err != nil {
		return nil, err
	}
	crdResource := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	var kinds []string
	for _, d := range manifest.Split(data) {
		o, err := manifest.Decode(gotkComponents, d)
		if err != nil || o.Kind != "CustomResourceDefinition" {
			continue
		}
		var obj map[string]any
		if err := o.Node().Decode(&obj); err != nil {
			return nil, err
		}
		if _, err := dyn.Resource(crdResource).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating CRD %s: %w", o.Name, err)
		}
		kinds = append(kinds, manifest.Scalar(manifest.Path(o.Node(), "spec", "names"), "kind"))
	}
	cs, err := kubernetes.NewForConfig(s.RESTConfig())
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/openapi/v2").SetHeader("Accept", "application/json").DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("GET /openapi/v2: %w", err)
		}
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, fmt.Errorf("/openapi/v2: %w", err)
		}
		if published(doc, kinds) {
			return doc, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the Flux kinds were not published in /openapi/v2 within a minute")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// published tells whether the document describes every kind.
func published(doc map[string]any, kinds []string) bool {
	have := map[string]bool{}
	defs, _ := doc["definitions"].(map[string]any)
	for _, d := range defs {
		for _, gvk := range gvksOf(d) {
			have[gvk.Kind] = true
		}
	}
	for _, k := range kinds {
		if !have[k] {
			return false
		}
	}
	return true
}

func gvksOf(def any) []schema.GroupVersionKind {
	m, _ := def.(map[string]any)
	list, _ := m["x-kubernetes-group-version-kind"].([]any)
	var out []schema.GroupVersionKind
	for _, x := range list {
		g, _ := x.(map[string]any)
		group, _ := g["group"].(string)
		version, _ := g["version"].(string)
		kind, _ := g["kind"].(string)
		out = append(out, schema.GroupVersionKind{Group: group, Version: version, Kind: kind})
	}
	return out
}

// convertSchemas makes kubeconform's schema files from an OpenAPI v2
// document, as openapi2jsonschema does for yannh/kubernetes-json-schema's
// "-standalone-strict" folders: references inlined, every object that
// lists its properties closed to others, int-or-string and quantities
// taking either type.
func convertSchemas(doc map[string]any) (map[string][]byte, error) {
	defs, _ := doc["definitions"].(map[string]any)
	files := map[string][]byte{}
	for name, def := range defs {
		for _, gvk := range gvksOf(def) {
			file := kubeconformFile(gvk)
			if _, ok := files[file]; ok {
				continue
			}
			data, err := json.Marshal(expand(def, defs, []string{name}))
			if err != nil {
				return nil, err
			}
			files[file] = data
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("/openapi/v2 describes no kinds")
	}
	return files, nil
}

// kubeconformFile is the file kubeconform looks for: the kind, the first
// part of the group and the version, lowercase.
func kubeconformFile(gvk schema.GroupVersionKind) string {
	suffix := "-" + strings.ToLower(gvk.Version)
	if gvk.Group != "" {
		suffix = "-" + strings.ToLower(strings.Split(gvk.Group, ".")[0]) + suffix
	}
	return strings.ToLower(gvk.Kind) + suffix + ".json"
}

// expand inlines the references of a schema; a reference back into the
// definitions being expanded (a recursive type) becomes "anything".
func expand(s any, defs map[string]any, stack []string) any {
	switch v := s.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/definitions/")
			for _, seen := range stack {
				if seen == name {
					return map[string]any{}
				}
			}
			if strings.HasSuffix(name, ".api.resource.Quantity") {
				return eitherType("string", "number")
			}
			return expand(defs[name], defs, append(stack, name))
		}
		if v["format"] == "int-or-string" {
			return eitherType("string", "integer")
		}
		out := make(map[string]any, len(v)+1)
		for k, x := range v {
			switch k {
			case "properties":
				props := map[string]any{}
				for p, ps := range x.(map[string]any) {
					props[p] = expand(ps, defs, stack)
				}
				out[k] = props
			case "items", "additionalProperties", "not":
				out[k] = expand(x, defs, stack)
			case "allOf", "anyOf", "oneOf":
				list := x.([]any)
				exp := make([]any, len(list))
				for i, y := range list {
					exp[i] = expand(y, defs, stack)
				}
				out[k] = exp
			default:
				out[k] = x
			}
		}
		_, open := out["additionalProperties"]
		preserve, _ := out["x-kubernetes-preserve-unknown-fields"].(bool)
		if _, ok := out["properties"]; ok && !open && !preserve {
			out["additionalProperties"] = false
		}
		return out
	default:
		return s
	}
}

func eitherType(a, b string) map[string]any {
	return map[string]any{"oneOf": []any{map[string]any{"type": a}, map[string]any{"type": b}}}
}
