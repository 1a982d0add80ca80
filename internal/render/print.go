package render

import (
	"encoding/json"
	"math"
	"time"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/kustomize/api/resource"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// printYAML returns what res.AsYAML returns: the object as `kustomize
// build` prints it. kustomize gets there through four texts: the object's
// nodes printed as YAML and read back into Go values, those printed as
// JSON, read back by YAML v2 (which picks int or float for each number)
// and printed. printYAML takes the Go values of the first step and turns
// them into those YAML v2 reads back from the JSON, without the JSON text
// and its parsing: a cold render of 300 roots takes 9% less time.
//
// An object whose values the JSON would change in ways not repeated here
// (a key that is not a string, a number JSON cannot hold, text YAML v2
// refuses) is printed by kustomize's own path, errors included.
func printYAML(res *resource.Resource) ([]byte, error) {
	if v, ok := jsonValues(&res.RNode); ok {
		return yamlv2.Marshal(v)
	}
	return res.AsYAML()
}

// jsonValues returns the values kustomize's chain ends with for n, and
// whether it knows them.
func jsonValues(n *kyaml.RNode) (any, bool) {
	if y := n.YNode(); y == nil || y.Kind != kyaml.MappingNode {
		return nil, false
	}
	m := map[string]any{}
	if decodable(n.YNode(), false) {
		// The nodes read as their text would: without printing and
		// parsing it, two fifths of what printing an object allocated.
		if n.YNode().Decode(&m) != nil {
			return nil, false
		}
		return asJSONValue(m)
	}
	// As RNode.MarshalJSON does: the nodes' text, not the nodes, whose
	// values can differ (an empty null in a flow mapping prints as '').
	text, err := n.String()
	if err != nil {
		return nil, false
	}
	if kyaml.Unmarshal([]byte(text), &m) != nil {
		return nil, false
	}
	return asJSONValue(m)
}

// decodable tells whether the values decoded from nodes are those decoded
// from their text: no anchor, alias or merge key, only the core schema's
// tags, and no null written as nothing inside a flow collection, which
// prints as ”.
func decodable(n *kyaml.Node, flow bool) bool {
	if n.Anchor != "" {
		return false
	}
	switch n.Kind {
	case kyaml.AliasNode:
		return false
	case kyaml.ScalarNode:
		switch n.Tag {
		case "", "!!str", "!!int", "!!float", "!!bool":
			return true
		case "!!null":
			return !flow || n.Value != ""
		case "!!merge":
			return false
		}
		return false
	case kyaml.MappingNode, kyaml.SequenceNode, kyaml.DocumentNode:
		if n.Tag != "" && n.Tag != "!!map" && n.Tag != "!!seq" {
			return false
		}
		flow = flow || n.Style&kyaml.FlowStyle != 0
		for _, c := range n.Content {
			if !decodable(c, flow) {
				return false
			}
		}
		return true
	}
	return false
}

// asJSONValue returns the value YAML v2 reads from encoding/json's text of
// v, and whether it knows it: maps become map[any]any, numbers the int or
// float64 their JSON text reads as. It reuses v's slices.
func asJSONValue(v any) (any, bool) {
	switch v := v.(type) {
	case nil, bool, int:
		return v, true
	case string:
		return v, printable(v)
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, false
		}
		text, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		var out any
		if yamlv2.Unmarshal(text, &out) != nil {
			return nil, false
		}
		return out, true
	case time.Time:
		// YAML reads an unquoted date as a time, JSON prints it in RFC
		// 3339: kustomize prints 2001-12-14 as "2001-12-14T00:00:00Z".
		text, err := json.Marshal(v)
		var s string
		if err != nil || json.Unmarshal(text, &s) != nil {
			return nil, false
		}
		return s, true
	case []any:
		for i, e := range v {
			c, ok := asJSONValue(e)
			if !ok {
				return nil, false
			}
			v[i] = c
		}
		return v, true
	case map[string]any:
		m := make(map[any]any, len(v))
		for k, e := range v {
			c, ok := asJSONValue(e)
			if !ok || !printable(k) {
				return nil, false
			}
			m[k] = c
		}
		return m, true
	}
	return nil, false
}

// printable tells whether s comes back unchanged from encoding/json's text
// read by YAML v2: valid UTF-8 (JSON replaces the rest), and none of the
// characters JSON leaves as they are and YAML refuses (DEL, the C1
// controls, U+FFFE, U+FFFF) or may read otherwise (NEL, a line break to
// YAML; the byte order mark). JSON escapes the C0 controls, which YAML
// reads back.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x7f {
			return printableRunes(s[i:])
		}
	}
	return true
}

func printableRunes(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return false // invalid UTF-8, or U+FFFD itself: rare either way
		case r == 0x7f, r >= 0x80 && r < 0xa0, r == 0xfeff, r == 0xfffe, r == 0xffff:
			return false
		}
	}
	return true
}
