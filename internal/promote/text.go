package promote

import (
	"bytes"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// bom is the UTF-8 byte order mark; yaml.v3 skips it without counting it
// as a column.
var bom = []byte("\ufeff")

// text indexes a file's bytes by line the way yaml.v3 counts lines and
// columns, so that a node's Line and Column turn into a byte offset.
type text struct {
	data []byte
	// lines holds the offset of the start of each line; lines[0] is line 1.
	lines []int
}

func newText(data []byte) *text {
	t := &text{data: data, lines: []int{0}}
	if bytes.HasPrefix(data, bom) {
		t.lines[0] = len(bom)
	}
	for i := t.lines[0]; i < len(data); {
		if n := breakLen(data, i); n > 0 {
			i += n
			t.lines = append(t.lines, i)
			continue
		}
		i++
	}
	return t
}

// breakLen returns the length of the line break at data[i:], or 0. YAML
// breaks lines at CRLF, CR, LF, NEL, LS and PS, as yaml.v3 does.
func breakLen(data []byte, i int) int {
	if i >= len(data) {
		return 0
	}
	switch data[i] {
	case '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return 2
		}
		return 1
	case '\n':
		return 1
	case 0xC2:
		if i+1 < len(data) && data[i+1] == 0x85 {
			return 2
		}
	case 0xE2:
		if i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9) {
			return 3
		}
	}
	return 0
}

// offset returns the byte offset of a 1-based line and column (counted in
// characters, as yaml.v3 does), or -1 when it is outside the file.
func (t *text) offset(line, col int) int {
	if line < 1 || line > len(t.lines) || col < 1 {
		return -1
	}
	o := t.lines[line-1]
	for k := 1; k < col; k++ {
		if o >= len(t.data) || breakLen(t.data, o) > 0 {
			return -1
		}
		_, w := utf8.DecodeRune(t.data[o:])
		o += w
	}
	return o
}

// nodeOffset returns the offset of a node's position.
func (t *text) nodeOffset(n *yaml.Node) int { return t.offset(n.Line, n.Column) }

// lineIndex returns the 0-based index of the line holding offset o.
func (t *text) lineIndex(o int) int {
	return sort.Search(len(t.lines), func(i int) bool { return t.lines[i] > o }) - 1
}

// lineNo returns the 1-based line holding offset o.
func (t *text) lineNo(o int) int { return max(t.lineIndex(o), 0) + 1 }

// lineStart returns the offset of the start of the line holding o.
func (t *text) lineStart(o int) int { return t.lines[max(t.lineIndex(o), 0)] }

// lineEnd returns the offset of the line break ending the line holding o,
// or the end of the file.
func (t *text) lineEnd(o int) int {
	for ; o < len(t.data); o++ {
		if breakLen(t.data, o) > 0 {
			return o
		}
	}
	return len(t.data)
}

// lineNext returns the offset of the start of the line after the one
// holding o, or the end of the file.
func (t *text) lineNext(o int) int {
	e := t.lineEnd(o)
	return e + breakLen(t.data, e)
}

// eol returns the line break the file uses: the first one in it, LF when
// it has none.
func (t *text) eol() string {
	for i := range t.data {
		if n := breakLen(t.data, i); n > 0 {
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
// delimited.
func (t *text) textSpan(n *yaml.Node, flow bool) (span, string) {
	if n.Kind != yaml.ScalarNode {
		return span{}, "it is not a scalar"
	}
	start := t.valueStart(n)
	if start < 0 {
		return span{}, "its place in the file is unknown"
	}
	var end int
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		end = quotedEnd(t.data, start, '"')
	case n.Style&yaml.SingleQuotedStyle != 0:
		end = quotedEnd(t.data, start, '\'')
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return span{}, "it is a block scalar (| or >): write the value on one line"
	default:
		if n.Value == "" && n.Tag == "!!null" {
			return span{start, start}, ""
		}
		end = t.plainEnd(start, flow)
		if end < 0 || string(t.data[start:end]) != n.Value {
			return span{}, "it is written over several lines: write the value on one line"
		}
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
	blank := func(c byte) bool { return c == ' ' || c == '\t' }
	for o < len(t.data) && (t.data[o] == '&' || t.data[o] == '!') {
		for o < len(t.data) && !blank(t.data[o]) && breakLen(t.data, o) == 0 {
			o++
		}
		for o < len(t.data) && blank(t.data[o]) {
			o++
		}
		if n.Value == "" {
			continue
		}
	skip:
		for o < len(t.data) {
			switch {
			case blank(t.data[o]):
				o++
			case breakLen(t.data, o) > 0:
				o += breakLen(t.data, o)
			case t.data[o] == '#':
				o = t.lineEnd(o)
			default:
				break skip
			}
		}
	}
	return o
}

// quotedEnd returns the offset after the closing quote of the scalar
// quoted with q that starts at i, or -1.
func quotedEnd(data []byte, i int, q byte) int {
	if i >= len(data) || data[i] != q {
		return -1
	}
	for i++; i < len(data); i++ {
		switch {
		case q == '"' && data[i] == '\\':
			i++
		case q == '\'' && data[i] == q && i+1 < len(data) && data[i+1] == q:
			i++
		case data[i] == q:
			return i + 1
		}
	}
	return -1
}

// plainEnd returns the end of the one-line plain scalar starting at i: the
// end of the line, a comment, or (in a flow collection) a flow indicator,
// without trailing blanks.
func (t *text) plainEnd(i int, flow bool) int {
	end := i
	for j := i; j < len(t.data) && breakLen(t.data, j) == 0; j++ {
		c := t.data[j]
		if c == '#' && j > i && (t.data[j-1] == ' ' || t.data[j-1] == '\t') {
			break
		}
		if c == ':' && (j+1 >= len(t.data) || t.data[j+1] == ' ' || t.data[j+1] == '\t' || breakLen(t.data, j+1) > 0 ||
			(flow && strings.IndexByte(",[]{}", t.data[j+1]) >= 0)) {
			break
		}
		if flow && strings.IndexByte(",[]{}", c) >= 0 {
			break
		}
		if c != ' ' && c != '\t' {
			end = j + 1
		}
	}
	return end
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
			return t.plainEnd(o, flow), ""
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
