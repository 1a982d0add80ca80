package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// fluxFile is the embedded data of one Flux release; package
// internal/schema reads the same JSON.
type fluxFile struct {
	// FluxVersion is the release the CRDs come from, "v2.9.4".
	FluxVersion string `json:"fluxVersion"`
	// CRDs are the release's CustomResourceDefinitions, sorted by name,
	// with descriptions, status and metadata other than the name dropped.
	CRDs []map[string]any `json:"crds"`
}

// fluxVersionLine is the header that `flux install --export` writes.
var fluxVersionLine = regexp.MustCompile(`(?m)^# Flux Version: (v\S+)\s*$`)

// fluxData reads the CRDs out of a gotk-components.yaml.
func fluxData(path string) (*fluxFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading Flux components: %w", err)
	}
	m := fluxVersionLine.FindSubmatch(raw)
	if m == nil {
		return nil, fmt.Errorf("%s: no %q header line", path, "# Flux Version: vX.Y.Z")
	}
	out := &fluxFile{FluxVersion: string(m[1])}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if obj["kind"] != "CustomResourceDefinition" || obj["apiVersion"] != "apiextensions.k8s.io/v1" {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		crd := map[string]any{
			"apiVersion": obj["apiVersion"],
			"kind":       obj["kind"],
			"metadata":   map[string]any{"name": meta["name"]},
			"spec":       stripDescriptions(obj["spec"]),
		}
		out.CRDs = append(out.CRDs, crd)
	}
	if len(out.CRDs) == 0 {
		return nil, fmt.Errorf("%s: no apiextensions.k8s.io/v1 CustomResourceDefinition", path)
	}
	sort.Slice(out.CRDs, func(i, j int) bool {
		return crdName(out.CRDs[i]) < crdName(out.CRDs[j])
	})
	return out, nil
}

func crdName(crd map[string]any) string {
	name, _ := crd["metadata"].(map[string]any)["name"].(string)
	return name
}

// stripDescriptions returns v without "description" keys in schemas. A
// property named "description" stays: it sits in a "properties" map, whose
// keys are field names.
func stripDescriptions(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if k == "description" {
				if _, isText := val.(string); isText {
					continue
				}
			}
			if k == "properties" {
				props, _ := val.(map[string]any)
				kept := make(map[string]any, len(props))
				for name, p := range props {
					kept[name] = stripDescriptions(p)
				}
				out[k] = kept
				continue
			}
			out[k] = stripDescriptions(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = stripDescriptions(val)
		}
		return out
	}
	return v
}
