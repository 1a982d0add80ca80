package promote

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// text indexes a file's bytes by line the way yaml.v3 counts lines and
// columns, so that a node's Line and Column turn into a byte offset.
type text struct {
	data []byte
	// s is data as a string, for yamlscalar.
	s     string
	lines yamlscalar.Lines
}

func newText(data []byte) *text {
	s := string(data)
	return &text{data: data, s: s, lines: yamlscalar.NewLines(s)}
}

// breakLen returns the length of the line break at data[i:], or 0.
func (t *text) breakLen(i int) int { return yamlscalar.BreakLen(t.s, i) }

// offset returns the byte offset of a 1-based line and column (counted in
// characters, as yaml.v3 does), or -1 when it is outside the file.
func (t *text) offset(line, col int) int { return t.lines.Offset(t.s, line, col) }

// nodeOffset returns the offset of a node's position.
func (t *text) nodeOffset(n *yaml.Node) int { return t.offset(n.Line, n.Column) }

// lineIndex returns the 0-based index of the line holding offset o.
func (t *text) lineIndex(o int) int { return t.lines.Index(o) }

// lineNo returns the 1-based line holding offset o.
func (t *text) lineNo(o int) int { return max(t.lineIndex(o), 0) + 1 }

// lineStart returns the offset of the start of the line holding o.
func (t *text) lineStart(o int) int { return t.lines[max(t.lineIndex(o), 0)] }

// lineEnd returns the offset of the line break ending the line holding o,
// or the end of the file.
func (t *text) lineEnd(o int) int { return yamlscalar.LineEnd(t.s, o) }

// lineNext returns the offset of the start of the line after the one
// holding o, or the end of the file.
func (t *text) lineNext(o int) int {
	e := t.lineEnd(o)
	return e + t.breakLen(e)
}

// eol returns the line break the file uses: the first one in it, LF when
// it has none.
func (t *text) eol() string {
	for i := range t.data {
		if n := t.breakLen(i); n > 0 {
			if s := string(t.data[i : i+n]); s == "\r\n" || s == "\r" {
				return s
			}
			return "\n"
		}
	}
	return "\n"
}

// indentOf returns the text between the start of o's line and o when it is
// only spaces, and false otherwise.
func (t *text) indentOf(o int) (string, bool) {
	s := string(t.data[t.lineStart(o):o])
	return s, strings.Trim(s, " ") == ""
}

// span delimits a scalar's text: quotes included, anchor and tag excluded.
type span struct{ start, end int }

// scalarSpan returns where the text of scalar n is, or a reason why it
// cannot be rewritten in place. A null scalar written as nothing has an
// empty span at its position. flow tells whether n is inside a flow
// collection.
func (t *text) scalarSpan(n *yaml.Node, flow bool) (span, string) {
	if n.Kind == yaml.AliasNode {
		return span{}, "it is an alias (*" + n.Value + ")"
	}
	if n.Anchor != "" {
		return span{}, "it is anchored (&" + n.Anchor + "), and aliases of it would change too"
	}
	return t.textSpan(n, flow)
}

// textSpan returns where the text of scalar n is, or a reason it cannot be
// delimited: only quoted and one-line plain scalars are rewritten here.
func (t *text) textSpan(n *yaml.Node, flow bool) (span, string) {
	if n.Kind != yaml.ScalarNode {
		return span{}, "it is not a scalar"
	}
	o := t.nodeOffset(n)
	if o < 0 {
		return span{}, "its place in the file is unknown"
	}
	style := yamlscalar.StyleOf(n)
	switch {
	case style == yamlscalar.Literal || style == yamlscalar.Folded:
		return span{}, "it is a block scalar (| or >): write the value on one line"
	case style == yamlscalar.Plain && n.Value == "" && n.Tag == "!!null":
		start := yamlscalar.ValueStart(t.s, o, n)
		return span{start, start}, ""
	}
	start, end := yamlscalar.Span(t.s, o, n, 0, flow)
	if style == yamlscalar.Plain && (end < 0 || t.s[start:end] != n.Value) {
		return span{}, "it is written over several lines: write the value on one line"
	}
	if end < 0 {
		return span{}, "its end could not be found"
	}
	return span{start, end}, ""
}

// valueStart returns the offset of the text of scalar n, after its anchor
// and tag, or -1.
func (t *text) valueStart(n *yaml.Node) int {
	o := t.nodeOffset(n)
	if o < 0 {
		return -1
	}
	return yamlscalar.ValueStart(t.s, o, n)
}

// nodeEnd returns the offset after the last text of node n (its last
// scalar, or the closing bracket of a flow collection), or a reason it
// cannot be found.
func (t *text) nodeEnd(n *yaml.Node, flow bool) (int, string) {
	switch n.Kind {
	case yaml.ScalarNode, yaml.AliasNode:
		if n.Kind == yaml.AliasNode {
			o := t.nodeOffset(n)
			if o < 0 {
				return -1, "its place in the file is unknown"
			}
			return yamlscalar.PlainLineEnd(t.s, o, flow), ""
		}
		sp, why := t.textSpan(n, flow)
		if why != "" {
			return -1, why
		}
		return sp.end, ""
	case yaml.MappingNode, yaml.SequenceNode:
		inFlow := flow || n.Style&yaml.FlowStyle != 0
		from := t.nodeOffset(n)
		if from < 0 {
			return -1, "its place in the file is unknown"
		}
		if len(n.Content) > 0 {
			e, why := t.nodeEnd(n.Content[len(n.Content)-1], inFlow)
			if why != "" {
				return -1, why
			}
			from = e
		}
		if n.Style&yaml.FlowStyle == 0 {
			return from, ""
		}
		return t.closing(from, n.Kind == yaml.MappingNode)
	}
	return -1, "it is not a scalar or a collection"
}

// closing returns the offset after the bracket closing a flow collection,
// looking from offset i past blanks, line breaks, commas, comments and the
// collection's opening bracket.
func (t *text) closing(i int, mapping bool) (int, string) {
	want := byte(']')
	if mapping {
		want = '}'
	}
	for i < len(t.data) {
		switch c := t.data[i]; {
		case c == want:
			return i + 1, ""
		case c == ' ' || c == '\t' || c == ',' || c == '{' || c == '[' || c == '\r' || c == '\n':
			i++
		case c == '#':
			i = t.lineEnd(i)
		default:
			return -1, "the end of a flow collection could not be found"
		}
	}
	return -1, "the end of a flow collection could not be found"
}
