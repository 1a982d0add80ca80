// Package yamlscalar edits YAML scalars in place, byte for byte, the one
// editor behind image automation's setters (internal/markers and
// internal/setters) and promote: it finds the text of a scalar that
// go.yaml.in/yaml/v3 parsed, and writes a new value in the style of the
// old one, so that the comments, layout and quoting around it are kept.
//
// Positions follow yaml.v3: lines break at CRLF, CR, LF, NEL, LS and PS.
// A value is written only when both YAML 1.2 (yaml.v3, kustomize) and
// YAML 1.1 (sigs.k8s.io/yaml, the API server) read it back as the same
// string.
package yamlscalar

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// Style is how a scalar is written.
type Style uint8

// The styles of a YAML scalar.
const (
	Plain Style = iota
	SingleQuoted
	DoubleQuoted
	Literal
	Folded
)

// StyleOf returns how a scalar node is written.
func StyleOf(n *yaml.Node) Style {
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return DoubleQuoted
	case n.Style&yaml.SingleQuotedStyle != 0:
		return SingleQuoted
	case n.Style&yaml.LiteralStyle != 0:
		return Literal
	case n.Style&yaml.FoldedStyle != 0:
		return Folded
	}
	return Plain
}

// BreakLen returns the length of the line break at t[i:], or 0.
func BreakLen(t string, i int) int {
	if i >= len(t) {
		return 0
	}
	switch t[i] {
	case '\r':
		if i+1 < len(t) && t[i+1] == '\n' {
			return 2
		}
		return 1
	case '\n':
		return 1
	case 0xC2: // NEL
		if i+1 < len(t) && t[i+1] == 0x85 {
			return 2
		}
	case 0xE2: // LS, PS
		if i+2 < len(t) && t[i+1] == 0x80 && (t[i+2] == 0xA8 || t[i+2] == 0xA9) {
			return 3
		}
	}
	return 0
}

// LineEnd returns the offset of the line break ending the line holding i,
// or len(t).
func LineEnd(t string, i int) int {
	for ; i < len(t); i++ {
		if BreakLen(t, i) > 0 {
			return i
		}
	}
	return len(t)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// ValueStart returns the offset of the text of scalar n, given o, the
// offset of the position yaml.v3 gives the node: past its anchor and tag,
// and past the blanks, line breaks and comments after them when the
// scalar has a value (an empty one is right after its properties).
func ValueStart(t string, o int, n *yaml.Node) int {
	for o < len(t) && (t[o] == '&' || t[o] == '!') {
		for o < len(t) && !isBlank(t[o]) && BreakLen(t, o) == 0 {
			o++
		}
		for o < len(t) && isBlank(t[o]) {
			o++
		}
		if n.Value == "" {
			continue
		}
	space:
		for o < len(t) {
			switch {
			case isBlank(t[o]):
				o++
			case BreakLen(t, o) > 0:
				o += BreakLen(t, o)
			case t[o] == '#':
				o = LineEnd(t, o)
			default:
				break space
			}
		}
	}
	return o
}

// Span returns the start and end of the text of scalar n in t, quotes and
// block header included, anchor and tag excluded, given o, the offset of
// the node's position, the indentation of the collection holding it, and
// whether it is in a flow collection. end is -1 when the text cannot be
// delimited: a plain scalar whose lines do not fold into its value.
func Span(t string, o int, n *yaml.Node, parentIndent int, flow bool) (start, end int) {
	start = ValueStart(t, o, n)
	if start >= len(t) {
		return start, -1
	}
	switch StyleOf(n) {
	case DoubleQuoted:
		return start, quotedEnd(t, start, '"')
	case SingleQuoted:
		return start, quotedEnd(t, start, '\'')
	case Literal, Folded:
		return start, blockEnd(t, start, parentIndent)
	}
	return start, plainEnd(t, start, n.Value, flow)
}

// quotedEnd returns the offset after the closing quote of the scalar quoted
// with q that starts at i, or -1.
func quotedEnd(t string, i int, q byte) int {
	if t[i] != q {
		return -1
	}
	for i++; i < len(t); i++ {
		switch {
		case q == '"' && t[i] == '\\':
			i++
		case q == '\'' && t[i] == q && i+1 < len(t) && t[i+1] == q:
			i++
		case t[i] == q:
			return i + 1
		}
	}
	return -1
}

// blockEnd returns the end of the last line of content of the block scalar
// whose indicator is at i, or the end of its header line when it has no
// content. parentIndent is the indentation of the collection holding the
// scalar: content lines are indented more.
func blockEnd(t string, i, parentIndent int) int {
	if t[i] != '|' && t[i] != '>' {
		return -1
	}
	h := i + 1
	indent := -1
	for h < len(t) && strings.IndexByte("+-0123456789", t[h]) >= 0 {
		if t[h] >= '1' && t[h] <= '9' {
			indent = parentIndent + int(t[h]-'0')
		}
		h++
	}
	end := LineEnd(t, h)
	for l := end; l < len(t); {
		l += BreakLen(t, l)
		e := LineEnd(t, l)
		line := t[l:e]
		trimmed := strings.TrimLeft(line, " ")
		if strings.TrimLeft(trimmed, "\t") == "" {
			l = e
			continue
		}
		ind := len(line) - len(trimmed)
		if indent < 0 {
			if ind <= parentIndent {
				break
			}
			indent = ind
		}
		if ind < indent {
			break
		}
		end = e
		l = e
	}
	return end
}

// plainEnd returns the end of the plain scalar starting at i whose value is
// value, following YAML's folding of multi-line plain scalars, or -1.
func plainEnd(t string, i int, value string, flow bool) int {
	var folded strings.Builder
	empties := 0
	for first := true; i < len(t); first = false {
		if !first {
			// Continuation lines start after their indentation.
			for i < len(t) && isBlank(t[i]) {
				i++
			}
		}
		e := LineEnd(t, i)
		seg, cut, comment := plainSegment(t[i:e], flow)
		if !first {
			if comment {
				return -1 // a comment line ends the scalar
			}
			if seg == "" {
				empties++
				i = e + BreakLen(t, e)
				continue
			}
			if empties > 0 {
				folded.WriteString(strings.Repeat("\n", empties))
			} else {
				folded.WriteByte(' ')
			}
			empties = 0
		}
		folded.WriteString(seg)
		got := folded.String()
		if got == value {
			return i + len(seg)
		}
		if cut || !strings.HasPrefix(value, got) {
			return -1
		}
		i = e + BreakLen(t, e)
	}
	return -1
}

// PlainLineEnd returns the end of the text at i read as a plain scalar on
// one line: the end of the line, a comment or a ": ", or in a flow
// collection a flow indicator, trailing blanks left out. It is where an
// alias (*name) ends, too.
func PlainLineEnd(t string, i int, flow bool) int {
	seg, _, _ := plainSegment(t[i:LineEnd(t, i)], flow)
	return i + len(seg)
}

// plainSegment returns the part of one line that belongs to a plain scalar,
// without trailing space; cut is true when something other than the line's
// end (a comment, a flow indicator) ends it, and comment when the whole line
// is a comment.
func plainSegment(line string, flow bool) (seg string, cut, comment bool) {
	if strings.HasPrefix(line, "#") {
		return "", true, true
	}
	end := len(line)
	for j := 0; j < len(line) && end == len(line); j++ {
		c := line[j]
		switch {
		case c == '#' && j > 0 && isBlank(line[j-1]):
			end = j
		case c == ':' && (j+1 == len(line) || isBlank(line[j+1]) || (flow && strings.IndexByte(",[]{}", line[j+1]) >= 0)):
			end = j
		case flow && strings.IndexByte(",[]{}", c) >= 0:
			end = j
		}
	}
	return strings.TrimRight(line[:end], " \t"), end < len(line), false
}

// Check says why v cannot be written as a scalar on one line, or "": it is
// not UTF-8, or it holds a character that is not printable (a space
// aside). The reason names v, quoted.
func Check(v string) string {
	if !utf8.ValidString(v) {
		return fmt.Sprintf("%q is not valid UTF-8", v)
	}
	for _, r := range v {
		if r != ' ' && !unicode.IsPrint(r) {
			return fmt.Sprintf("%q holds a control character", v)
		}
	}
	return ""
}

// Encode returns the text of a scalar on one line holding v, written in
// style (the style of the scalar it replaces): single and double quotes
// are kept, and a plain scalar stays plain when v reads back as the same
// string, or becomes double-quoted otherwise (as Flux's image automation
// writes it). A block style is written double-quoted: the caller that
// keeps blocks rewrites them itself. v must pass Check.
func Encode(v string, style Style, flow bool) string {
	switch {
	case style == SingleQuoted:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case style == Plain && PlainOK(v, flow):
		return v
	}
	return DoubleQuote(v)
}

// DoubleQuote writes v double-quoted. v must pass Check.
func DoubleQuote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// PlainOK tells whether v written as a plain scalar reads back as the
// string v, both in YAML 1.2 (yaml.v3, kustomize) and in YAML 1.1 (the API
// server, sigs.k8s.io/yaml, and kyaml's check before it sets a value):
// "1.10", "true", "yes", "0x1F", "~" and "" do not.
func PlainOK(v string, flow bool) bool {
	if v == "" || v != strings.TrimSpace(v) || Check(v) != "" {
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

// Lines are the offsets at which YAML starts each line of a text, as
// yaml.v3 counts lines: Lines[0] is line 1, past a leading byte order
// mark, which yaml.v3 does not count as a column.
type Lines []int

// NewLines indexes the lines of text.
func NewLines(text string) Lines {
	l := Lines{0}
	if strings.HasPrefix(text, "\ufeff") {
		l[0] = len("\ufeff")
	}
	for i := l[0]; i < len(text); {
		if n := BreakLen(text, i); n > 0 {
			i += n
			l = append(l, i)
			continue
		}
		i++
	}
	return l
}

// Offset returns the byte offset in text, whose lines l are, of a 1-based
// line and column (counted in characters, as yaml.v3 counts them), or -1
// when the position is outside the text or past the end of its line.
func (l Lines) Offset(text string, line, col int) int {
	if line < 1 || line > len(l) || col < 1 {
		return -1
	}
	o := l[line-1]
	for k := 1; k < col; k++ {
		if o >= len(text) || BreakLen(text, o) > 0 {
			return -1
		}
		_, w := utf8.DecodeRuneInString(text[o:])
		o += w
	}
	return o
}

// Index returns the 0-based index of the line holding offset o, -1 before
// the first.
func (l Lines) Index(o int) int {
	return sort.Search(len(l), func(i int) bool { return l[i] > o }) - 1
}
