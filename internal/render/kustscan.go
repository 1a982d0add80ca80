package render

import (
	"slices"
	"strings"
)

// scanKustomization learns what kustomizationFacts learns from a
// kustomization file without building YAML nodes, for the block YAML
// kustomization files are written in: block mappings and sequences,
// plain scalars, quoted scalars on one line, literal and folded block
// scalars. ok is false for anything else (flow collections, anchors,
// aliases, tags, several documents, multi-line plain scalars, tabs,
// text that is not ASCII, ...) and for anything it is unsure of: the
// YAML parser reads those. FuzzScanKustomization holds it to the parser.
//
// A cold discovery reads every kustomization file of the repository;
// building the parser's nodes of each was a tenth of a cold diff.
func scanKustomization(data []byte) (k *kustFacts, ok bool) {
	for _, c := range data {
		if c >= 0x7f || (c < 0x20 && c != '\n') {
			return nil, false
		}
	}
	s := &kustScanner{lines: strings.Split(string(data), "\n"), k: &kustFacts{}, seen: map[string]bool{}, top: map[string]bool{}}
	for ; s.i < len(s.lines); s.i++ {
		if t := strings.TrimLeft(s.lines[s.i], " "); t != "" && t[0] != '#' {
			if strings.TrimRight(s.lines[s.i], " ") == "---" {
				s.i++ // an opening document marker
			}
			break
		}
	}
	ind, _, more := s.peek()
	switch {
	case s.bad:
		return nil, false
	case !more:
		return s.k, true
	case ind != 0:
		return nil, false
	}
	if !s.mapping(0, true) || s.bad {
		return nil, false
	}
	if _, _, more := s.peek(); more || s.bad {
		return nil, false
	}
	s.k.Refs = slices.Concat(s.refs[:]...)
	return s.k, true
}

// refFields are the fields whose items are references, in the order
// kustomizationFacts lists them.
var refFields = [...]string{"resources", "bases", "components"}

// kustScanner reads a kustomization file line by line.
type kustScanner struct {
	lines []string
	i     int // the next line to read
	k     *kustFacts
	seen  map[string]bool // the paths added
	top   map[string]bool // the top-level keys read
	refs  [len(refFields)][]Ref
	bad   bool // a line it does not read: the parser must
}

// peek returns the indentation and text of the next line that is neither
// blank nor a comment, and false at the end. A document marker sets bad.
func (s *kustScanner) peek() (indent int, text string, ok bool) {
	for ; s.i < len(s.lines); s.i++ {
		l := s.lines[s.i]
		t := strings.TrimLeft(l, " ")
		if t == "" || t[0] == '#' {
			continue
		}
		if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "...") || l[0] == '%' {
			s.bad = true
			return 0, "", false
		}
		return len(l) - len(t), t, true
	}
	return 0, "", false
}

// mapping reads the pairs of a block mapping whose keys are at indent,
// from the next line on.
func (s *kustScanner) mapping(indent int, top bool) bool {
	for {
		ind, text, more := s.peek()
		switch {
		case !more || ind < indent:
			return !s.bad
		case ind > indent || isItem(text):
			return false
		}
		s.i++
		if !s.pair(indent, text, top) {
			return false
		}
	}
}

// pair reads one pair of a mapping whose keys are at indent, the key's
// line (text, without indentation) read already.
func (s *kustScanner) pair(indent int, text string, top bool) bool {
	key, rest, ok := splitKey(text)
	if !ok {
		return false
	}
	field := ""
	if top {
		if s.top[key] {
			return false // which of two the tools take is the parser's to say
		}
		s.top[key] = true
		field = key
		switch key {
		case "namePrefix", "nameSuffix":
			s.k.Renames = true
		case "helmCharts", "helmGlobals":
			s.k.Inflates = true
		}
	}
	v, ok := s.value(indent, rest, field)
	if ok && field == "kind" {
		s.k.Component = v == "Component"
	}
	return ok
}

// value reads the value of a pair whose key is at indent and whose line
// goes on with rest; field is the key of a top-level pair. It returns the
// value when it is a scalar of one line.
func (s *kustScanner) value(indent int, rest, field string) (string, bool) {
	rest = strings.TrimLeft(rest, " ")
	switch {
	case rest == "" || rest[0] == '#':
		ind, text, more := s.peek()
		switch {
		case s.bad:
			return "", false
		case more && ind > indent && isItem(text):
			return "", s.sequence(ind, field)
		case more && ind > indent:
			return "", s.mapping(ind, false)
		case more && ind == indent && isItem(text):
			// A sequence may sit at its key's indentation.
			return "", s.sequence(ind, field)
		}
		return "", true // null
	case rest[0] == '|' || rest[0] == '>':
		return s.block(indent, rest)
	}
	v, ok := plainOrQuoted(rest)
	if ok {
		s.add(v)
	}
	return v, ok
}

// sequence reads the items of a block sequence whose dashes are at
// indent; field is the top-level key it is the value of, whose scalar
// items are references.
func (s *kustScanner) sequence(indent int, field string) bool {
	for {
		ind, text, more := s.peek()
		switch {
		case !more || ind < indent:
			return !s.bad
		case ind > indent:
			return false
		case !isItem(text):
			return true // the next key of the mapping it is a value of
		}
		line := s.i + 1
		s.i++
		rest := strings.TrimLeft(text[1:], " ")
		col := ind + len(text) - len(rest)
		switch {
		case rest == "" || rest[0] == '#' || rest[0] == '|' || rest[0] == '>' || isItem(rest):
			return false
		case rest[0] != '\'' && rest[0] != '"' && hasKey(rest):
			// A mapping, its first key on the dash's line.
			if !s.pair(col, rest, false) || !s.mapping(col, false) {
				return false
			}
		default:
			v, ok := plainOrQuoted(rest)
			if !ok {
				return false
			}
			s.add(v)
			if i := slices.Index(refFields[:], field); i >= 0 {
				s.refs[i] = append(s.refs[i], Ref{Field: field, Value: v, Line: line})
			}
		}
	}
}

// block reads a literal or folded block scalar whose header is header,
// the value of a key at indent, and returns its value.
func (s *kustScanner) block(indent int, header string) (string, bool) {
	chomp := byte(0)
	h := header[1:]
	if h != "" && (h[0] == '-' || h[0] == '+') {
		chomp, h = h[0], h[1:]
	}
	if t := strings.TrimLeft(h, " "); chomp == '+' || t != "" && (t[0] != '#' || len(t) == len(h)) {
		return "", false // kept line breaks, an indentation indicator, or text
	}
	at := -1
	var text []string // the lines, from the first with text to the last
	empty := 0        // empty lines since the last with text
	j := s.i
loop:
	for ; j < len(s.lines); j++ {
		l := s.lines[j]
		t := strings.TrimLeft(l, " ")
		ind := len(l) - len(t)
		switch {
		case t == "" && at < 0:
			return "", false // leading empty lines: the parser's rules
		case t == "" && ind <= at:
			empty++
			continue
		case t == "":
			// Spaces past the indentation: text.
		case at < 0:
			if ind <= indent {
				break loop
			}
			at = ind
		case ind < at:
			break loop
		}
		for ; empty > 0; empty-- {
			text = append(text, "")
		}
		text = append(text, l[at:])
		if j == len(s.lines)-1 {
			return "", false // no line break at the end of the file to keep
		}
	}
	s.i = j
	if header[0] == '>' && len(text) > 1 {
		return "", false // folded
	}
	v := strings.Join(text, "\n")
	if chomp == 0 && len(text) > 0 {
		v += "\n"
	}
	s.add(v)
	return v, true
}

// add records v, and what follows the "=" of a key=path value, as a path
// the file may name when it is one line (scalarPaths).
func (s *kustScanner) add(v string) {
	for _, p := range [2]string{v, afterEquals(v)} {
		if p != "" && !s.seen[p] && !strings.Contains(p, "\n") {
			s.seen[p] = true
			s.k.Paths = append(s.k.Paths, p)
		}
	}
}

func afterEquals(v string) string {
	_, after, _ := strings.Cut(v, "=")
	return after
}

// isItem tells whether text, a line without its indentation, starts a
// sequence item.
func isItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// hasKey tells whether text, a line without its indentation, holds a
// key: a ": " or a final ":" before any comment.
func hasKey(text string) bool {
	_, _, ok := splitKey(text)
	return ok || keyAt(text) >= 0
}

// keyAt is the index of the colon that ends text's key, or -1.
func keyAt(text string) int {
	for i := 0; i < len(text); i++ {
		switch {
		case text[i] == '#' && i > 0 && text[i-1] == ' ':
			return -1
		case text[i] == ':' && (i+1 == len(text) || text[i+1] == ' '):
			return i
		}
	}
	return -1
}

// splitKey splits a line of a mapping into its plain key and the rest,
// false when the key is not a plain one this scanner reads.
func splitKey(text string) (key, rest string, ok bool) {
	i := keyAt(text)
	if i <= 0 || i > 512 {
		return "", "", false // YAML allows a key of at most 1024 characters
	}
	key = strings.TrimRight(text[:i], " ")
	if key == "<<" || !plainFirst(key) {
		return "", "", false
	}
	return key, text[i+1:], true
}

// plainOrQuoted reads the scalar text, the rest of a line: plain, or
// single- or double-quoted without escapes, with a comment after it.
func plainOrQuoted(text string) (string, bool) {
	switch text[0] {
	case '\'':
		var b strings.Builder
		for i := 1; i < len(text); i++ {
			if text[i] != '\'' {
				b.WriteByte(text[i])
				continue
			}
			if i+1 < len(text) && text[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), onlyComment(text[i+1:])
		}
		return "", false
	case '"':
		end := strings.IndexByte(text[1:], '"')
		if end < 0 || strings.IndexByte(text[1:end+1], '\\') >= 0 {
			return "", false
		}
		return text[1 : end+1], onlyComment(text[end+2:])
	}
	if i := strings.Index(text, " #"); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimRight(text, " ")
	if !plainFirst(text) || strings.Contains(text, ": ") || strings.HasSuffix(text, ":") {
		return "", false
	}
	return text, true
}

// onlyComment tells whether what follows a quoted scalar on its line is
// nothing, or a comment.
func onlyComment(rest string) bool {
	t := strings.TrimLeft(rest, " ")
	return t == "" || (t[0] == '#' && len(t) < len(rest))
}

// plainFirst tells whether a plain scalar may start as s does in block
// YAML, leaving out the indicators this scanner does not read.
func plainFirst(s string) bool {
	if s == "" || strings.ContainsRune("[]{}#&*!|>'\"%@`,?:", rune(s[0])) {
		return false
	}
	return !isItem(s)
}
