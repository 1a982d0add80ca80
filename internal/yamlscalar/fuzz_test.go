package yamlscalar

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzSpan checks, on every scalar of any document yaml.v3 reads, that the
// span Span finds holds the scalar: a quoted one reads back as its value,
// a plain one on one line is its value; and that it never panics.
func FuzzSpan(f *testing.F) {
	for _, s := range []string{
		"a: v1 # c\n",
		"a: {b: 'it''s', c: \"x\\\"y\"}\n",
		"a: &x !!str v1\nb: *x\n",
		"a: one\n  two\r\nb: |2\n   x\n",
		"- [a, b: c]\n- ? k\n  : v\n",
		"\ufeffa: b\u0085c: d\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var root yaml.Node
		if yaml.Unmarshal([]byte(doc), &root) != nil {
			return
		}
		lines := NewLines(doc)
		var walk func(n *yaml.Node, parentIndent int, flow bool)
		walk = func(n *yaml.Node, parentIndent int, flow bool) {
			switch n.Kind {
			case yaml.DocumentNode:
				for _, c := range n.Content {
					walk(c, 0, false)
				}
			case yaml.MappingNode, yaml.SequenceNode:
				in := flow || n.Style&yaml.FlowStyle != 0
				for _, c := range n.Content {
					walk(c, n.Column-1, in)
				}
			case yaml.ScalarNode:
				o := lines.Offset(doc, n.Line, n.Column)
				if o < 0 {
					return
				}
				start, end := Span(doc, o, n, parentIndent, flow)
				if end < 0 || end < start || end > len(doc) {
					return
				}
				text := doc[start:end]
				switch StyleOf(n) {
				case SingleQuoted, DoubleQuoted:
					if hasBreak(text) {
						return // folded across lines: not rewritten on one line
					}
					var back yaml.Node
					if err := yaml.Unmarshal([]byte("["+text+"]"), &back); err != nil {
						t.Fatalf("span %q of %q does not read back: %v", text, n.Value, err)
					}
					if got := back.Content[0].Content[0].Value; got != n.Value {
						t.Fatalf("span %q reads back as %q, want %q", text, got, n.Value)
					}
				case Plain:
					if !hasBreak(text) && text != n.Value {
						t.Fatalf("plain span %q, value %q", text, n.Value)
					}
				}
			}
		}
		walk(&root, 0, false)
	})
}

// hasBreak tells whether text holds a YAML line break.
func hasBreak(text string) bool {
	for i := range len(text) {
		if BreakLen(text, i) > 0 {
			return true
		}
	}
	return false
}
