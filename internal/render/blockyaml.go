package render

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// The files discovery reads are mostly written in the block YAML people
// write by hand: block mappings and sequences, plain scalars, quoted
// scalars on one line, literal blocks. readBlock reads that much of YAML
// line by line into a small tree, and gives up on anything else (flow
// collections, anchors, aliases, tags, several documents, multi-line
// plain scalars, a key repeated or not a string, tabs, text that is not
// ASCII, ...) and on anything it is unsure of: the YAML parser reads
// those. A cold discovery reads every kustomization file and every Flux
// object of the repository; building the parser's nodes of each was most
// of its time. FuzzScanKustomization and FuzzScanDoc hold both uses to
// the parser.

// bnode is a node readBlock reads: a mapping, a sequence or a scalar.
type bnode struct {
	kind  bkind
	line  int      // of its first token, from 1
	keys  []string // a mapping's keys, in order
	items []*bnode // a mapping's values, a sequence's items
	text  string   // a scalar's value
	plain bool     // a scalar written plain: YAML may take it for a number, a boolean or null
}

type bkind uint8

const (
	bscalar bkind = iota
	bmapping
	bsequence
)

// get returns the value of key in a mapping, nil for another node.
func (n *bnode) get(key string) *bnode {
	if n == nil || n.kind != bmapping {
		return nil
	}
	if i := slices.Index(n.keys, key); i >= 0 {
		return n.items[i]
	}
	return nil
}

// scalar is manifest.Scalar: the text of key's value when it is a scalar.
func (n *bnode) scalar(key string) string {
	if v := n.get(key); v != nil && v.kind == bscalar {
		return v.text
	}
	return ""
}

// value is the node as YAML decodes it into an interface value: false
// when a plain scalar does not read as one.
func (n *bnode) value() (any, bool) {
	switch n.kind {
	case bmapping:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			v, ok := n.items[i].value()
			if !ok {
				return nil, false
			}
			m[k] = v
		}
		return m, true
	case bsequence:
		l := make([]any, len(n.items))
		for i, it := range n.items {
			v, ok := it.value()
			if !ok {
				return nil, false
			}
			l[i] = v
		}
		return l, true
	}
	if !n.plain {
		return n.text, true
	}
	return resolvePlain(n.text)
}

// resolvePlain is the value YAML decodes the plain scalar s into: the
// common forms told here, the rest asked of the parser.
func resolvePlain(s string) (any, bool) {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil, true
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	if !resolvable(s) || isDigit(s[0]) && unitWord(s) || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") {
		return s, true // a word, a duration or quantity (10m, 512Mi), a path
	}
	if n, err := strconv.Atoi(s); err == nil && len(s) < 16 && (s == "0" || s[0] >= '1' && s[0] <= '9') {
		return n, true
	}
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return nil, false
	}
	return v, true
}

// resolvable tells whether YAML may read the plain scalar s as something
// else than the string s: a number, a boolean, null, a timestamp.
func resolvable(s string) bool {
	if s == "" {
		return true
	}
	if c := s[0]; !isLetter(c) && c != '_' && c != '/' && c != '$' {
		return true
	}
	return yamlWord(s)
}

// readBlock reads data, one YAML document, as block YAML: its top-level
// mapping, or nil for a document of comments.
func readBlock(data []byte) (top *bnode, ok bool) {
	for _, c := range data {
		if c >= 0x7f || (c < 0x20 && c != '\n') {
			return nil, false
		}
	}
	r := &blockReader{lines: strings.Split(string(data), "\n")}
	for ; r.i < len(r.lines); r.i++ {
		if t := strings.TrimLeft(r.lines[r.i], " "); t != "" && t[0] != '#' {
			if strings.TrimRight(r.lines[r.i], " ") == "---" {
				r.i++ // an opening document marker
			}
			break
		}
	}
	ind, _, more := r.peek()
	switch {
	case r.bad:
		return nil, false
	case !more:
		return nil, true
	case ind != 0:
		return nil, false
	}
	if top, ok = r.mapping(0); !ok || r.bad {
		return nil, false
	}
	if _, _, more := r.peek(); more || r.bad {
		return nil, false
	}
	return top, true
}

// blockReader reads block YAML line by line.
type blockReader struct {
	lines []string
	i     int  // the next line to read
	bad   bool // a line it does not read: the parser must
}

// peek returns the indentation and text of the next line that is neither
// blank nor a comment, and false at the end. A document marker sets bad.
func (r *blockReader) peek() (indent int, text string, ok bool) {
	for ; r.i < len(r.lines); r.i++ {
		l := r.lines[r.i]
		t := strings.TrimLeft(l, " ")
		if t == "" || t[0] == '#' {
			continue
		}
		if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "...") || l[0] == '%' {
			r.bad = true
			return 0, "", false
		}
		return len(l) - len(t), t, true
	}
	return 0, "", false
}

// mapping reads the pairs of a block mapping whose keys are at indent,
// from the next line on.
func (r *blockReader) mapping(indent int) (*bnode, bool) {
	m := &bnode{kind: bmapping}
	return m, r.pairs(m, indent)
}

// pairs reads pairs into m, whose keys are at indent, from the next line
// on.
func (r *blockReader) pairs(m *bnode, indent int) bool {
	for {
		ind, text, more := r.peek()
		switch {
		case !more || ind < indent:
			return !r.bad
		case ind > indent || isItem(text):
			return false
		}
		r.i++
		if !r.pair(m, indent, text) {
			return false
		}
	}
}

// pair reads one pair into m, whose keys are at indent, the key's line
// (text, without indentation) read already.
func (r *blockReader) pair(m *bnode, indent int, text string) bool {
	key, rest, ok := splitKey(text)
	if !ok || resolvable(key) || slices.Contains(m.keys, key) {
		return false // a key that is not a string, or which of two counts
	}
	if len(m.keys) == 0 {
		m.line = r.i // the key's line, read
	}
	v, ok := r.value(indent, rest)
	if !ok {
		return false
	}
	m.keys, m.items = append(m.keys, key), append(m.items, v)
	return true
}

// value reads the value of a pair whose key is at indent and whose line
// (the last read) goes on with rest.
func (r *blockReader) value(indent int, rest string) (*bnode, bool) {
	line := r.i
	rest = strings.TrimLeft(rest, " ")
	switch {
	case rest == "" || rest[0] == '#':
		ind, text, more := r.peek()
		switch {
		case r.bad:
			return nil, false
		case more && ind > indent && isItem(text):
			return r.sequence(ind)
		case more && ind > indent:
			return r.mapping(ind)
		case more && ind == indent && isItem(text):
			// A sequence may sit at its key's indentation.
			return r.sequence(ind)
		}
		return &bnode{line: line, plain: true}, true // null
	case rest[0] == '|' || rest[0] == '>':
		return r.block(indent, rest)
	}
	v, plain, ok := plainOrQuoted(rest)
	return &bnode{line: line, text: v, plain: plain}, ok
}

// sequence reads the items of a block sequence whose dashes are at
// indent.
func (r *blockReader) sequence(indent int) (*bnode, bool) {
	seq := &bnode{kind: bsequence, line: r.i + 1}
	for {
		ind, text, more := r.peek()
		switch {
		case !more || ind < indent:
			return seq, !r.bad
		case ind > indent:
			return nil, false
		case !isItem(text):
			return seq, true // the next key of the mapping it is a value of
		}
		r.i++
		line := r.i
		rest := strings.TrimLeft(text[1:], " ")
		col := ind + len(text) - len(rest)
		switch {
		case rest == "" || rest[0] == '#' || rest[0] == '|' || rest[0] == '>' || isItem(rest):
			return nil, false
		case rest[0] != '\'' && rest[0] != '"' && hasKey(rest):
			// A mapping, its first key on the dash's line.
			m := &bnode{kind: bmapping}
			if !r.pair(m, col, rest) || !r.pairs(m, col) {
				return nil, false
			}
			seq.items = append(seq.items, m)
		default:
			v, plain, ok := plainOrQuoted(rest)
			if !ok {
				return nil, false
			}
			seq.items = append(seq.items, &bnode{line: line, text: v, plain: plain})
		}
	}
}

// block reads a literal or folded block scalar whose header is header,
// the value of a key at indent.
func (r *blockReader) block(indent int, header string) (*bnode, bool) {
	line := r.i
	chomp := byte(0)
	h := header[1:]
	if h != "" && (h[0] == '-' || h[0] == '+') {
		chomp, h = h[0], h[1:]
	}
	if t := strings.TrimLeft(h, " "); chomp == '+' || t != "" && (t[0] != '#' || len(t) == len(h)) {
		return nil, false // kept line breaks, an indentation indicator, or text
	}
	at := -1
	var text []string // the lines, from the first with text to the last
	empty := 0        // empty lines since the last with text
	j := r.i
loop:
	for ; j < len(r.lines); j++ {
		l := r.lines[j]
		t := strings.TrimLeft(l, " ")
		ind := len(l) - len(t)
		switch {
		case t == "" && at < 0:
			return nil, false // leading empty lines: the parser's rules
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
		if j == len(r.lines)-1 {
			return nil, false // no line break at the end of the file to keep
		}
	}
	r.i = j
	if header[0] == '>' && len(text) > 1 {
		return nil, false // folded
	}
	v := strings.Join(text, "\n")
	if chomp == 0 && len(text) > 0 {
		v += "\n"
	}
	return &bnode{line: line, text: v}, true
}

// scanKustomization is kustomizationFacts of the files readBlock reads.
func scanKustomization(data []byte) (*kustFacts, bool) {
	top, ok := readBlock(data)
	if !ok {
		return nil, false
	}
	k := &kustFacts{}
	if top == nil {
		return k, true
	}
	// scalarPaths, of the tree.
	var paths pathList
	var visit func(n *bnode)
	visit = func(n *bnode) {
		if n.kind == bscalar {
			paths.addScalar(n.text)
		}
		for _, c := range n.items {
			visit(c)
		}
	}
	visit(top)
	k.Paths = paths.paths
	k.Renames = top.get("namePrefix") != nil || top.get("nameSuffix") != nil
	k.Inflates = top.get("helmCharts") != nil || top.get("helmGlobals") != nil
	k.Component = top.scalar("kind") == "Component"
	for _, field := range refFields {
		if list := top.get(field); list != nil && list.kind == bsequence {
			for _, it := range list.items {
				if it.kind == bscalar {
					k.Refs = append(k.Refs, Ref{Field: field, Value: it.text, Line: it.line})
				}
			}
		}
	}
	return k, true
}

// refFields are the fields whose items are references, in the order
// kustomizationFacts lists them.
var refFields = [...]string{"resources", "bases", "components"}

// scanDoc is docFacts of the documents readBlock reads, but a FluxInstance
// and a HelmRelease with spec.values.instance, which are the parser's.
func scanDoc(d manifest.Doc) (docText, bool) {
	top, ok := readBlock(d.Text)
	if !ok || top == nil {
		return docText{}, false
	}
	t := docText{Line: d.Line, Text: string(d.Text), ObjLine: d.Line + top.line - 1, APIVersion: top.scalar("apiVersion"), Kind: top.scalar("kind")}
	if md := top.get("metadata"); md != nil {
		t.Name, t.Namespace = md.scalar("name"), md.scalar("namespace")
	}
	group := manifest.Group(t.APIVersion)
	spec := top.get("spec")
	var keep *bnode
	switch {
	case group == FluxGroup && t.Kind == "Kustomization":
		keep = spec
	case group == SourceGroup:
		t.URL = spec.scalar("url")
		if ig := spec.get("ignore"); ig != nil && ig.kind == bscalar {
			t.Ignore = &ig.text
		}
		keep = spec.get("ref")
	case group == OperatorGroup && t.Kind == "FluxInstance":
		return docText{}, false
	case group == HelmGroup && t.Kind == "HelmRelease":
		if spec.get("values").get("instance") != nil {
			return docText{}, false
		}
		t.Patch = spec.get("chart") == nil && spec.get("chartRef") == nil
	case group == GeneratorGroup && t.Kind == "ArtifactGenerator":
		keep = spec
	}
	if keep != nil {
		v, ok := keep.value()
		if !ok {
			return docText{}, false
		}
		t.Spec, _ = json.Marshal(v)
	}
	return t, true
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
func plainOrQuoted(text string) (v string, plain, ok bool) {
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
			return b.String(), false, onlyComment(text[i+1:])
		}
		return "", false, false
	case '"':
		end := strings.IndexByte(text[1:], '"')
		if end < 0 || strings.IndexByte(text[1:end+1], '\\') >= 0 {
			return "", false, false
		}
		return text[1 : end+1], false, onlyComment(text[end+2:])
	}
	if i := strings.Index(text, " #"); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimRight(text, " ")
	if !plainFirst(text) || strings.Contains(text, ": ") || strings.HasSuffix(text, ":") {
		return "", false, false
	}
	return text, true, true
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
