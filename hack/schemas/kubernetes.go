package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// kubernetesFile is the embedded data of one Kubernetes version; package
// internal/schema reads the same JSON.
type kubernetesFile struct {
	// KubernetesVersion is the server's gitVersion, "v1.37.2".
	KubernetesVersion string `json:"kubernetesVersion"`
	// Kinds are the kinds that can be created, sorted by group, version and
	// kind.
	Kinds []kind `json:"kinds"`
	// Definitions are the normalized schemas by OpenAPI name; "$ref" values
	// are "#/definitions/NAME".
	Definitions map[string]map[string]any `json:"definitions"`
}

// kind is one creatable kind of a group version.
type kind struct {
	Group      string `json:"group"`
	Version    string `json:"version"`
	Kind       string `json:"kind"`
	Namespaced bool   `json:"namespaced"`
	// Definition names the kind's schema in Definitions.
	Definition string `json:"definition"`
}

// Names of the definitions that need more than a mechanical rewrite.
const (
	intOrStringDef = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	quantityDef    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	refPrefix      = "#/components/schemas/"
)

// openAPIDoc is the part of an OpenAPI v3 document that the generator reads.
type openAPIDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

// operation is the part of an OpenAPI operation that names its kind.
type operation struct {
	Action string `json:"x-kubernetes-action"`
	GVK    *struct {
		Group   string `json:"group"`
		Version string `json:"version"`
		Kind    string `json:"kind"`
	} `json:"x-kubernetes-group-version-kind"`
}

// buildKubernetesFile turns the OpenAPI v3 documents of one server, keyed
// "api/v1" or "apis/GROUP/VERSION", into a kubernetesFile.
func buildKubernetesFile(version string, docs map[string][]byte) (*kubernetesFile, error) {
	out := &kubernetesFile{KubernetesVersion: version, Definitions: map[string]map[string]any{}}
	paths := make([]string, 0, len(docs))
	for p := range docs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		var doc openAPIDoc
		if err := json.Unmarshal(docs[p], &doc); err != nil {
			return nil, fmt.Errorf("decoding the OpenAPI document of %s: %w", p, err)
		}
		group, ver := groupVersionOf(p)
		kinds, err := creatableKinds(&doc, group, ver)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out.Kinds = append(out.Kinds, kinds...)
		for name, s := range doc.Components.Schemas {
			n := normalizeDefinition(name, s)
			if prev, ok := out.Definitions[name]; ok && !reflect.DeepEqual(prev, n) {
				return nil, fmt.Errorf("definition %s differs between group versions (second seen in %s)", name, p)
			}
			out.Definitions[name] = n
		}
	}
	sort.Slice(out.Kinds, func(i, j int) bool {
		a, b := out.Kinds[i], out.Kinds[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Kind < b.Kind
	})
	if err := checkRefs(out); err != nil {
		return nil, err
	}
	pruneUnreferenced(out)
	return out, nil
}

// groupVersionOf splits an index key: "api/v1" is the core group.
func groupVersionOf(p string) (group, version string) {
	parts := strings.Split(p, "/")
	if parts[0] == "api" {
		return "", parts[1]
	}
	return parts[1], parts[2]
}

// creatableKinds returns the kinds of group/version that some operation of
// doc creates or replaces (x-kubernetes-action post or put), which leaves
// out list kinds, connect options and read-only kinds. A kind is namespaced when such an operation's
// path has a {namespace} segment.
func creatableKinds(doc *openAPIDoc, group, version string) ([]kind, error) {
	found := map[string]*kind{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method != "post" && method != "put" {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("decoding %s %s: %w", method, path, err)
			}
			if (op.Action != "post" && op.Action != "put") || op.GVK == nil || op.GVK.Group != group || op.GVK.Version != version {
				continue
			}
			k := found[op.GVK.Kind]
			if k == nil {
				k = &kind{Group: group, Version: version, Kind: op.GVK.Kind}
				found[op.GVK.Kind] = k
			}
			// A kind that is also a subresource (Binding, Scale) counts as
			// namespaced when any of its paths is.
			if strings.Contains(path, "/namespaces/{namespace}/") {
				k.Namespaced = true
			}
		}
	}
	var kinds []kind
	for _, k := range found {
		def, err := definitionOf(doc, k)
		if err != nil {
			return nil, err
		}
		k.Definition = def
		kinds = append(kinds, *k)
	}
	return kinds, nil
}

// definitionOf finds the schema whose x-kubernetes-group-version-kind names
// k and only k's group version (DeleteOptions and friends name many).
func definitionOf(doc *openAPIDoc, k *kind) (string, error) {
	var names []string
	for name, s := range doc.Components.Schemas {
		gvks, _ := s["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			m, _ := g.(map[string]any)
			if m["group"] == k.Group && m["version"] == k.Version && m["kind"] == k.Kind && len(gvks) == 1 {
				names = append(names, name)
			}
		}
	}
	if len(names) != 1 {
		return "", fmt.Errorf("kind %s/%s %s: want one schema, found %v", k.Group, k.Version, k.Kind, names)
	}
	return names[0], nil
}

// normalizeDefinition rewrites one OpenAPI schema into the embedded form:
// no descriptions, defaults or merge-strategy hints; "allOf: [$ref]" as a
// plain "$ref"; IntOrString and Quantity as the types the API server's
// decoder accepts.
func normalizeDefinition(name string, s map[string]any) map[string]any {
	switch name {
	case intOrStringDef:
		// What a CRD says with x-kubernetes-int-or-string.
		return map[string]any{"type": []any{"integer", "string"}, "x-kubernetes-int-or-string": true}
	case quantityDef:
		// The decoder takes a JSON number as well as a string; "quantity" is
		// a format that package schema checks with resource.ParseQuantity.
		return map[string]any{"type": []any{"string", "number"}, "format": "quantity"}
	}
	return normalize(s)
}

// dropped reports whether a schema key says nothing about validity.
func dropped(key string) bool {
	switch key {
	case "description", "default", "example", "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key",
		"x-kubernetes-unions", "x-kubernetes-group-version-kind", "x-kubernetes-map-type":
		return true
	}
	return false
}

func normalize(s map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range s {
		if dropped(k) {
			continue
		}
		switch k {
		case "$ref":
			out[k] = "#/definitions/" + strings.TrimPrefix(v.(string), refPrefix)
		case "properties":
			props := map[string]any{}
			for name, p := range v.(map[string]any) {
				props[name] = normalize(p.(map[string]any))
			}
			out[k] = props
		case "items", "additionalProperties", "not":
			if m, ok := v.(map[string]any); ok {
				out[k] = normalize(m)
			} else {
				out[k] = v
			}
		case "allOf", "oneOf", "anyOf":
			var list []any
			for _, x := range v.([]any) {
				list = append(list, normalize(x.(map[string]any)))
			}
			out[k] = list
		default:
			out[k] = v
		}
	}
	// A reference wrapped to carry a default or a description.
	if all, ok := out["allOf"].([]any); ok && len(all) == 1 {
		if inner, ok := all[0].(map[string]any); ok && len(inner) == 1 && inner["$ref"] != nil {
			delete(out, "allOf")
			for k, v := range inner {
				out[k] = v
			}
		}
	}
	return out
}

// checkRefs makes sure every reference names a definition.
func checkRefs(f *kubernetesFile) error {
	var missing []string
	for name, s := range f.Definitions {
		walkRefs(s, func(ref string) {
			if _, ok := f.Definitions[ref]; !ok {
				missing = append(missing, name+" -> "+ref)
			}
		})
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("dangling references: %s", strings.Join(missing, ", "))
	}
	return nil
}

// pruneUnreferenced drops the definitions that no kind reaches.
func pruneUnreferenced(f *kubernetesFile) {
	keep := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if keep[name] {
			return
		}
		keep[name] = true
		walkRefs(f.Definitions[name], visit)
	}
	for _, k := range f.Kinds {
		visit(k.Definition)
	}
	// ObjectMeta checks the metadata of custom resources.
	visit("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
	for name := range f.Definitions {
		if !keep[name] {
			delete(f.Definitions, name)
		}
	}
}

// walkRefs calls fn with the definition name of every reference in s. A
// property named "$ref" (JSONSchemaProps has one) is a schema, not a
// reference.
func walkRefs(s any, fn func(string)) {
	switch v := s.(type) {
	case map[string]any:
		for k, x := range v {
			if ref, ok := x.(string); ok && k == "$ref" {
				fn(strings.TrimPrefix(ref, "#/definitions/"))
				continue
			}
			walkRefs(x, fn)
		}
	case []any:
		for _, x := range v {
			walkRefs(x, fn)
		}
	}
}
