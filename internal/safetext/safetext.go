// Package safetext prints text that comes from a repository (file paths,
// object names, messages that quote them) in each output format without
// letting it change the output's structure: a newline in a file name must
// not start a YAML document, a GitHub workflow command or a markdown
// heading, and an escape sequence must not reach the terminal.
//
// Text that holds only printable characters is printed as it is, so
// ordinary paths read as they always did; anything else is quoted or
// escaped the way Go quotes strings, as Git quotes unusual paths.
package safetext

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable tells whether s is valid UTF-8 made only of printable
// characters and ASCII spaces: no control characters, line or paragraph
// separators, or invisible formatting (bidirectional overrides).
func Printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return printableFrom(s[i:])
		}
	}
	return true
}

func printableFrom(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !unicode.IsPrint(r) {
			return false
		}
		i += size
	}
	return true
}

// BreaksLines tells whether s holds what can break a line of text in
// some output: a control character (a newline, an escape), a line or
// paragraph separator, or bytes that are not UTF-8. Other characters that
// are not Printable (a bidirectional mark, a zero-width space) are
// invisible but inert.
func BreaksLines(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unicode.In(r, unicode.Cc, unicode.Zl, unicode.Zp) {
			return true
		}
		i += size
	}
	return false
}

// Text returns s for one line of text (plain output, standard error, a
// YAML comment): s itself when Printable, else s quoted as a Go string.
func Text(s string) string {
	if Printable(s) {
		return s
	}
	return strconv.Quote(s)
}

// Line returns a message for one line of text: every character that is
// not printable is replaced by its Go escape (\n, \x1b, \u202e), the rest
// kept as it is. A message that quotes a path already quoted stays
// readable.
func Line(s string) string {
	if Printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// HTML returns s for HTML text (a comment's <summary>): Text, then every
// character HTML gives a meaning escaped.
func HTML(s string) string { return html.EscapeString(Text(s)) }

// Markdown returns a message for markdown text on one line (a list item, a
// table cell): Line, then every character markdown or HTML give a meaning
// escaped, so it can neither open a code span, a link or a heading nor
// close an HTML block.
func Markdown(s string) string { return markdownEscaper.Replace(Line(s)) }

var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"|", `\|`, "#", `\#`, "~", `\~`, "<", "&lt;", ">", "&gt;", "&", "&amp;",
)

// Fence returns the fence of a markdown code block holding text: three
// backticks, or more than the longest run of backticks in text, so no line
// of it can close the block.
func Fence(text string) string {
	return strings.Repeat("`", max(3, longestRun(text, '`')+1))
}

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// CodeSpan returns s as a markdown code span, safe in a table cell: the
// Text of s between backtick fences longer than any run of backticks in
// it, with its pipes escaped (GitHub splits table cells before it reads
// code spans).
func CodeSpan(s string) string {
	if s == "" {
		return "` `"
	}
	t := strings.ReplaceAll(Text(s), "|", `\|`)
	fence := strings.Repeat("`", longestRun(t, '`')+1)
	if strings.HasPrefix(t, "`") || strings.HasSuffix(t, "`") {
		t = " " + t + " "
	}
	return fence + t + fence
}
