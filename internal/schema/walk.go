package schema

import (
	"sort"
	"strings"
)

// walker goes through an object along a node tree before the schema
// validation proper: it reports unknown fields as the API server's pruning
// would, notices nulls the server would drop, and collects the values that
// are checked against a definition on their own.
type walker struct {
	v     *Validator
	path  Path // where the walk is; copied when kept
	buf   [12]Step
	out   []Violation
	nulls bool
	subs  []subCheck
}

// subCheck is a value to validate against a definition on its own.
type subCheck struct {
	def   string
	value any
	path  Path
}

// here returns a copy of the current path with s added.
func (w *walker) here(s ...Step) Path { return w.path.append(s...) }

func (w *walker) walk(n *node, x any) {
	if n == nil {
		// No schema at all: every field of a map is unknown.
		switch x := x.(type) {
		case map[string]any:
			for k := range x {
				w.out = append(w.out, unknownField(w.here(Key(k))))
			}
		case []any:
			for i, e := range x {
				w.path = append(w.path, Index(i))
				w.walk(nil, e)
				w.path = w.path[:len(w.path)-1]
			}
		}
		return
	}
	if n.ref != "" {
		w.subs = append(w.subs, subCheck{def: n.ref, value: x, path: w.here()})
		return
	}
	n.children()
	switch x := x.(type) {
	case map[string]any:
		for k, val := range x {
			if n.embedded {
				switch k {
				case "apiVersion", "kind":
					continue
				case "metadata":
					if _, ok := w.v.defs[objectMetaDef]; ok && val != nil {
						w.subs = append(w.subs, subCheck{def: objectMetaDef, value: val, path: w.here(Key(k))})
					}
					continue
				}
			}
			child, ok := n.props[k]
			if !ok {
				child = n.additional
			}
			switch {
			case child != nil:
				if val == nil {
					if !child.nullable {
						w.nulls = true
					}
					continue
				}
				if child.leaf {
					continue
				}
				w.path = append(w.path, Key(k))
				w.walk(child, val)
				w.path = w.path[:len(w.path)-1]
			case n.closed:
				w.out = append(w.out, unknownField(w.here(Key(k))))
			}
		}
	case []any:
		for i, e := range x {
			w.path = append(w.path, Index(i))
			w.walk(n.items, e)
			w.path = w.path[:len(w.path)-1]
		}
	}
}

// pruneNulls drops, in place, the null fields that n does not declare
// nullable, as decoding into the Go types of a built-in kind ignores them.
func pruneNulls(n *node, x any) {
	if n == nil || n.ref != "" {
		return
	}
	n.children()
	switch x := x.(type) {
	case map[string]any:
		for k, val := range x {
			child, ok := n.props[k]
			if !ok {
				child = n.additional
			}
			if child == nil {
				continue
			}
			if val == nil {
				if !child.nullable {
					delete(x, k)
				}
				continue
			}
			pruneNulls(child, val)
		}
	case []any:
		for _, e := range x {
			pruneNulls(n.items, e)
		}
	}
}

// sortViolations orders violations by path, then reason and message, so
// that output does not depend on map order.
func sortViolations(vs []Violation) {
	if len(vs) < 2 {
		return
	}
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if c := comparePaths(a.Path, b.Path); c != 0 {
			return c < 0
		}
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Message < b.Message
	})
}

// comparePaths orders paths step by step, indices numerically.
func comparePaths(a, b Path) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x.IsIndex && y.IsIndex:
			if x.Index != y.Index {
				if x.Index < y.Index {
					return -1
				}
				return 1
			}
		case x.IsIndex != y.IsIndex:
			if x.IsIndex {
				return -1
			}
			return 1
		default:
			if c := strings.Compare(x.Key, y.Key); c != 0 {
				return c
			}
		}
	}
	return len(a) - len(b)
}
