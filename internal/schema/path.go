package schema

import (
	"strconv"
	"strings"
)

// Step is one step of a Path: a key of a map or, when IsIndex is set, an
// index of a list.
type Step struct {
	Key     string
	Index   int
	IsIndex bool
}

// Key returns the Step for a map key.
func Key(k string) Step { return Step{Key: k} }

// Index returns the Step for a list index.
func Index(i int) Step { return Step{Index: i, IsIndex: true} }

// Path locates a value inside an object, from its root: the steps a caller
// follows through the object, or through the YAML nodes it was read from,
// to reach the line to report.
type Path []Step

// String renders p the way the API server does,
// "spec.template.spec.containers[0].image"; keys that are not plain names
// (they hold a dot, a slash, a bracket or a space) are written in brackets,
// "metadata.labels[app.kubernetes.io/name]".
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.IsIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.Index))
			b.WriteByte(']')
		case plainKey(s.Key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Key)
		default:
			b.WriteByte('[')
			b.WriteString(s.Key)
			b.WriteByte(']')
		}
	}
	return b.String()
}

// plainKey reports whether k can be written after a dot without ambiguity.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	return !strings.ContainsAny(k, "./[] ")
}

// append returns p with s added, never sharing p's backing array.
func (p Path) append(s ...Step) Path {
	out := make(Path, 0, len(p)+len(s))
	return append(append(out, p...), s...)
}

// apiString renders p the way kube-openapi names paths in its messages:
// keys joined with dots whatever they hold, indices in brackets.
func (p Path) apiString() string {
	var b strings.Builder
	for i, s := range p {
		if s.IsIndex {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.Index))
			b.WriteByte(']')
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Key)
	}
	return b.String()
}

// parsePath turns a path as the API server's validators write it
// ("spec.containers[0].image", "metadata.labels.app.kubernetes.io/name",
// "spec.map[some.key]") into steps, using the value it points into to tell
// which dots belong to a key: at each map, the longest key of the map that
// the rest of the path starts with wins. What is left when the value runs
// out (a required field that is missing, say) is split on dots.
func parsePath(value any, s string) Path {
	var p Path
	s = strings.TrimPrefix(s, ".")
	for s != "" {
		if s[0] == '[' {
			end := strings.IndexByte(s, ']')
			if end < 0 {
				break
			}
			inner := s[1:end]
			if list, ok := value.([]any); ok {
				if i, err := strconv.Atoi(inner); err == nil {
					p = append(p, Index(i))
					if i >= 0 && i < len(list) {
						value = list[i]
					} else {
						value = nil
					}
					s = strings.TrimPrefix(s[end+1:], ".")
					continue
				}
			}
			// A map key in brackets; it may itself hold a ']'.
			if m, ok := value.(map[string]any); ok {
				if k, rest, found := longestKey(m, s[1:], "]"); found {
					p = append(p, Key(k))
					value = m[k]
					s = strings.TrimPrefix(rest, ".")
					continue
				}
			}
			p = append(p, Key(inner))
			value = nil
			s = strings.TrimPrefix(s[end+1:], ".")
			continue
		}
		if m, ok := value.(map[string]any); ok {
			if k, rest, found := longestKey(m, s, ""); found {
				p = append(p, Key(k))
				value = m[k]
				s = strings.TrimPrefix(rest, ".")
				continue
			}
		}
		// Not in the value: the next name runs to the next dot or bracket.
		end := strings.IndexAny(s, ".[")
		if end < 0 {
			end = len(s)
		}
		p = append(p, Key(s[:end]))
		value = nil
		s = strings.TrimPrefix(s[end:], ".")
	}
	return p
}

// longestKey finds the longest key k of m such that s starts with k+closer
// followed by the end, a dot or a bracket. It returns k and what follows
// k+closer.
func longestKey(m map[string]any, s, closer string) (key, rest string, found bool) {
	best := -1
	for k := range m {
		if len(k) <= best || !strings.HasPrefix(s, k+closer) {
			continue
		}
		after := s[len(k)+len(closer):]
		if after == "" || after[0] == '.' || after[0] == '[' {
			best, key, rest = len(k), k, after
		}
	}
	return key, rest, best >= 0
}

// valueAt returns what p points to in value; nil when nothing is there.
func valueAt(value any, p Path) any {
	for _, s := range p {
		switch v := value.(type) {
		case map[string]any:
			if s.IsIndex {
				return nil
			}
			value = v[s.Key]
		case []any:
			if !s.IsIndex || s.Index < 0 || s.Index >= len(v) {
				return nil
			}
			value = v[s.Index]
		default:
			return nil
		}
	}
	return value
}
