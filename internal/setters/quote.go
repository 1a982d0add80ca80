package setters

import (
	"reflect"
	"strings"

	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// plainOK tells whether v can be written as a plain scalar and read back as
// the string v, both by YAML 1.2 (go.yaml.in/yaml/v3, kustomize) and by YAML
// 1.1 (the Kubernetes API server, and kyaml's check before it sets a value).
func plainOK(v string, flow bool) bool {
	if v == "" || v != strings.TrimSpace(v) || strings.ContainsAny(v, "\t\n\r") {
		return false
	}
	if strings.IndexByte("-?:,[]{}#&*!|>'\"%@`", v[0]) >= 0 {
		return false
	}
	if strings.Contains(v, ": ") || strings.Contains(v, " #") || strings.HasSuffix(v, ":") {
		return false
	}
	if flow && strings.ContainsAny(v, ",[]{}") {
		return false
	}
	if nonString11(v) {
		return false
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(v), &n); err != nil || len(n.Content) != 1 {
		return false
	}
	s := n.Content[0]
	return s.Kind == yaml.ScalarNode && s.Tag == "!!str" && s.Value == v
}

// nonString11 tells whether YAML 1.1 reads the plain scalar v as something
// other than a string, as kyaml's IsValueNonString does.
func nonString11(v string) bool {
	var x any
	if err := yaml2.Unmarshal([]byte(v), &x); err != nil {
		return false
	}
	return reflect.TypeOf(x) != reflect.TypeOf("")
}
