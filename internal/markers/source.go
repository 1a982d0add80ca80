package markers

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// source is a file as the controller reads it: CRLF turned into LF and cut
// into parts at document separators. It maps positions in the parts back to
// byte offsets in the original data.
type source struct {
	data []byte
	// norm is data with every "\r\n" replaced by "\n".
	norm string
	// dropped holds, in increasing order, the offsets in norm of the "\n"
	// whose "\r" was dropped.
	dropped []int
	parts   []part
	// newlines holds the offsets of the "\n" bytes of data.
	newlines []int
}

// part is one piece of norm between separators.
type part struct {
	// start is the offset of the part in norm.
	start int
	// text is what the controller decodes: the piece, plus a "\n" for
	// every piece but the last.
	text string
	// lines holds the offset in text of each line's start, as YAML counts
	// lines (it also breaks lines at a lone "\r", NEL, LS and PS).
	lines yamlscalar.Lines
	// sepLine is the 1-based line (in data) of the separator before the
	// part, 0 for the first part.
	sepLine int
}

// separator is the controller's document separator (kyaml's splitDocuments).
var separator = regexp.MustCompile(`\n---.*\n`)

// badSeparator is a separator line the controller rejects, with its offset
// in norm.
type badSeparator struct {
	at   int
	text string
}

func newSource(data []byte) (*source, *badSeparator) {
	s := &source{data: data}
	for i, c := range data {
		if c == '\n' {
			s.newlines = append(s.newlines, i)
		}
	}
	var b strings.Builder
	b.Grow(len(data))
	for i := 0; i < len(data); i++ {
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			s.dropped = append(s.dropped, b.Len())
			continue
		}
		b.WriteByte(data[i])
	}
	s.norm = b.String()
	if len(s.norm) == 0 {
		return s, nil
	}
	prev := 0
	locs := separator.FindAllStringIndex(s.norm, -1)
	for _, loc := range locs {
		sep := s.norm[loc[0]:loc[1]]
		if rest := strings.TrimSpace(sep[4:]); rest != "" && rest[0] != '#' {
			return s, &badSeparator{at: loc[0] + 1, text: strings.TrimSpace(sep)}
		}
		s.addPart(prev, loc[0], true)
		prev = loc[1]
	}
	s.addPart(prev, len(s.norm), false)
	// Separator lines: the line of the "---" before each part but the first.
	for i := 1; i < len(s.parts); i++ {
		s.parts[i].sepLine = s.lineAt(s.orig(locs[i-1][0] + 1))
	}
	return s, nil
}

func (s *source) addPart(start, end int, more bool) {
	text := s.norm[start:end]
	if more {
		text += "\n"
	}
	s.parts = append(s.parts, part{start: start, text: text, lines: yamlscalar.NewLines(text)})
}

// offset returns the offset in the part's text of a YAML position (1-based
// line and column, the column counting characters), or -1.
func (p *part) offset(line, col int) int { return p.lines.Offset(p.text, line, col) }

// orig maps an offset in norm to the offset in data.
func (s *source) orig(n int) int {
	return n + sort.SearchInts(s.dropped, n)
}

// lineAt returns the 1-based line of data holding the byte at offset o,
// counting "\n" line ends.
func (s *source) lineAt(o int) int {
	return sort.SearchInts(s.newlines, o) + 1
}

// columnAt returns the 1-based column, in characters, of offset o in data.
func (s *source) columnAt(o int) int {
	if o > len(s.data) {
		o = len(s.data)
	}
	start := 0
	if l := s.lineAt(o); l > 1 {
		start = s.newlines[l-2] + 1
	}
	return utf8.RuneCount(s.data[start:o]) + 1
}

// firstLine returns the 1-based line of data a part starts on.
func (s *source) firstLine(p *part) int {
	return s.lineAt(s.orig(p.start))
}
