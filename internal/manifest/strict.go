package manifest

import (
	"encoding"
	"encoding/json"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
)

// UnknownFields returns, for a YAML node decoded into a value of type t, a
// located error for every mapping key t has no field for, at any depth,
// with the nearest known field as a suggestion. Keys match fields as
// encoding/json matches them, which is how kustomize and kustomize-controller
// decode their files: exactly, else ignoring case (`newtag` sets newTag).
// Types that decode themselves (json.Unmarshaler) and interfaces accept
// anything.
func UnknownFields(file string, n *yaml.Node, t reflect.Type) []*diag.Error {
	var out []*diag.Error
	unknownFields(file, n, t, &out)
	return out
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func unknownFields(file string, n *yaml.Node, t reflect.Type, out *[]*diag.Error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || decodesItself(t) {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := jsonFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fieldFor(fields, k.Value)
			if !ok {
				msg := "unknown field \"" + k.Value + "\""
				if s := Nearest(k.Value, keys(fields)); s != "" {
					msg += " (did you mean \"" + s + "\"?)"
				}
				*out = append(*out, &diag.Error{File: file, Line: k.Line, Column: k.Column, Msg: msg})
				continue
			}
			unknownFields(file, v, ft, out)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for _, c := range n.Content {
			unknownFields(file, c, t.Elem(), out)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 1; i < len(n.Content); i += 2 {
			unknownFields(file, n.Content[i], t.Elem(), out)
		}
	}
}

// fieldFor finds the field a key decodes into, as encoding/json does.
func fieldFor(fields map[string]reflect.Type, key string) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	for name, t := range fields {
		if strings.EqualFold(name, key) {
			return t, true
		}
	}
	return nil, false
}

func decodesItself(t reflect.Type) bool {
	if t.Kind() == reflect.Interface {
		return true
	}
	p := reflect.PointerTo(t)
	return t.Implements(jsonUnmarshaler) || p.Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || p.Implements(textUnmarshaler)
}

// jsonFields maps a struct's JSON field names to their types, embedded and
// inline structs merged in.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) && ft.Kind() == reflect.Struct {
			for k, v := range jsonFields(ft) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

func keys(m map[string]reflect.Type) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Nearest returns the candidate closest to s when it is close enough to be
// a likely typo (same letters ignoring case, or at most two edits apart for
// longer names), else "".
func Nearest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if strings.EqualFold(c, s) {
			return c
		}
		d := Levenshtein(strings.ToLower(s), strings.ToLower(c))
		limit := 2
		if len(s) <= 4 {
			limit = 1
		}
		if d <= limit && d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Levenshtein is the edit distance between a and b, a swap of two
// neighbouring letters counting as one edit (the optimal string alignment
// distance): "bsae" is one edit from "base".
func Levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
