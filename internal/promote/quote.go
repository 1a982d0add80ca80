package promote

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// checkValue says why v cannot be written as a one-line scalar, or "".
func checkValue(v string) string {
	if !utf8.ValidString(v) {
		return "it is not valid UTF-8"
	}
	for _, r := range v {
		if r != ' ' && !unicode.IsPrint(r) {
			return fmt.Sprintf("%q holds a control character", v)
		}
	}
	return ""
}

// encode returns the text of a scalar holding v written in style (the style
// of the scalar it replaces): single and double quotes are kept, and a plain
// scalar stays plain when v reads back as the same string, or becomes
// double-quoted otherwise (as Flux's image automation does).
func encode(v string, style yaml.Style, flow bool) string {
	switch {
	case style&yaml.SingleQuotedStyle != 0:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case style&yaml.DoubleQuotedStyle != 0:
		return doubleQuote(v)
	case plainOK(v, flow):
		return v
	}
	return doubleQuote(v)
}

func doubleQuote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// plainOK tells whether v written as a plain scalar reads back as the
// string v, in YAML 1.2 (kustomize, kyaml) and in YAML 1.1 (the API server,
// sigs.k8s.io/yaml): "1.10", "true", "yes", "0x1F", "~" and "" do not.
func plainOK(v string, flow bool) bool {
	if v == "" || v != strings.TrimSpace(v) || checkValue(v) != "" {
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
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(v), &n); err != nil || len(n.Content) != 1 {
		return false
	}
	if s := n.Content[0]; s.Kind != yaml.ScalarNode || s.Tag != "!!str" || s.Value != v {
		return false
	}
	var x any
	if err := yaml2.Unmarshal([]byte(v), &x); err != nil {
		return false
	}
	return reflect.TypeOf(x) == reflect.TypeFor[string]()
}
