package markers

import (
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// styleOf returns how a scalar node is written.
func styleOf(n *yaml.Node) Style {
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

// isBreak returns the length of the line break at t[i:], or 0.
func isBreak(t string, i int) int {
	switch {
	case i >= len(t):
		return 0
	case t[i] == '\r' && i+1 < len(t) && t[i+1] == '\n':
		return 2
	case t[i] == '\n' || t[i] == '\r':
		return 1
	case strings.HasPrefix(t[i:], "\u0085"), strings.HasPrefix(t[i:], "\u2028"), strings.HasPrefix(t[i:], "\u2029"):
		_, n := utf8.DecodeRuneInString(t[i:])
		return n
	}
	return 0
}

// lineEnd returns the offset of the line break ending the line holding i, or
// len(t).
func lineEnd(t string, i int) int {
	for ; i < len(t); i++ {
		if isBreak(t, i) > 0 {
			return i
		}
	}
	return len(t)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// skipProperties skips a node's anchor and tag, and the space and comments
// after them, from o, the position YAML gives the node.
func skipProperties(t string, o int) int {
	for o < len(t) && (t[o] == '&' || t[o] == '!') {
		for o < len(t) && !isBlank(t[o]) && isBreak(t, o) == 0 {
			o++
		}
	space:
		for o < len(t) {
			switch {
			case isBlank(t[o]):
				o++
			case isBreak(t, o) > 0:
				o += isBreak(t, o)
			case t[o] == '#':
				o = lineEnd(t, o)
			default:
				break space
			}
		}
	}
	return o
}

// scalarSpan returns the start and end of the text of scalar n in t, given
// o, the offset of the node's position, and the indentation of the
// collection holding it. end is -1 when the text cannot be
// delimited.
func scalarSpan(t string, o int, n *yaml.Node, parentIndent int, flow bool) (int, int) {
	start := skipProperties(t, o)
	if start >= len(t) {
		return start, -1
	}
	switch styleOf(n) {
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
// with q that starts at i.
func quotedEnd(t string, i int, q byte) int {
	if t[i] != q {
		return -1
	}
	for i++; i < len(t); i++ {
		switch {
		case q == '"' && t[i] == '\\':
			i++
		case t[i] == q && q == '\'' && i+1 < len(t) && t[i+1] == '\'':
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
	end := lineEnd(t, h)
	for l := end; l < len(t); {
		l += isBreak(t, l)
		e := lineEnd(t, l)
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
// value, following YAML's folding of multi-line plain scalars.
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
		e := lineEnd(t, i)
		seg, cut, comment := plainSegment(t[i:e], flow)
		if !first {
			if comment {
				return -1 // a comment line ends the scalar
			}
			if seg == "" {
				empties++
				i = e + isBreak(t, e)
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
		i = e + isBreak(t, e)
	}
	return -1
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
