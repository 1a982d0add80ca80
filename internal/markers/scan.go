package markers

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// Reasons for comments that read as markers but sit where Flux does not look.
const (
	reasonKeyLine = "Flux ignores a marker after a key whose value is not a scalar on the same line: " +
		"write it at the end of the value's line, `field: value # {...}`"
	reasonKeyHead = "Flux ignores a marker on the line above a field: " +
		"write it at the end of the field's line, `field: value # {...}`"
	reasonCollection = "Flux reads markers only on scalar values, not on a list or a mapping"
	reasonShadowed   = "Flux ignores this marker above the value because it reads the comment at the end " +
		"of the value's line instead: move the marker there"
	reasonMultiHead = "Flux ignores a marker in a block of several comment lines above a value: " +
		"write it at the end of the value's line"
	reasonLoose = "Flux ignores a marker that is not attached to a value: " +
		"write it at the end of the value's line, `field: value # {...}`"
	reasonDuplicate = "Flux ignores this value: its key is written twice in the mapping and Flux reads only the first"
	reasonAlias     = "Flux does not set an alias: put the marker on the anchored value"
	reasonRemoved   = "Flux drops this empty field before it reads markers"
	reasonList      = "Flux unwraps a single-document List and writes its items to new files instead of this one: " +
		"split the list into YAML documents separated by ---"
	reasonUnscreened = "Flux does not read this file at all: it parses only files that contain " + Token +
		" with its double quotes"
)

// doc is one decoded document of a screened file.
type doc struct {
	part *part
	// top is the document node, root its content.
	top  *yaml.Node
	root *yaml.Node
	// removed holds the nodes the controller drops before it visits the
	// document (empty metadata and annotations fields).
	removed map[*yaml.Node]bool
	// odd is set when kyaml annotates the document inconsistently (see
	// checkMetadata).
	odd *yaml.Node
}

// reasonInconsistent explains a document kyaml annotates inconsistently.
const reasonInconsistent = "an empty metadata field followed by a null one makes Flux's image automation fail " +
	"for the whole update as soon as it reads another object " +
	"(\"the annotation formatting in the input resources is not consistent\"): remove the empty fields"

// inconsistent reports documents kyaml annotates inconsistently: an error
// when the file holds other objects, which makes the whole update fail, a
// Malformed otherwise.
func (s *scanner) inconsistent(docs []doc) error {
	for _, d := range docs {
		if d.odd == nil {
			continue
		}
		line := s.nodeLine(d.part, d.odd)
		if len(docs) > 1 {
			return &diag.Error{File: s.file, Line: line, Msg: reasonInconsistent, Err: ErrUnreadable}
		}
		s.f.Malformed = append(s.f.Malformed, Malformed{File: s.file, Line: line, Column: 1, Reason: reasonInconsistent})
	}
	return nil
}

// scanner gathers the findings of one file.
type scanner struct {
	file string
	src  *source
	f    Findings
	// used holds the comments (node and which comment) already turned into
	// a Marker or a Malformed.
	used map[commentRef]bool
	// visited holds the scalars the controller visits.
	visited map[*yaml.Node]bool
}

type commentKind uint8

const (
	headComment commentKind = iota
	lineComment
	footComment
)

type commentRef struct {
	n    *yaml.Node
	kind commentKind
}

func scan(file string, data []byte) (Findings, error) {
	src, bad := newSource(data)
	if bad != nil {
		return Findings{}, unreadable(file, src.lineAt(src.orig(bad.at)), "invalid document separator %q", bad.text)
	}
	s := &scanner{file: file, src: src, used: map[commentRef]bool{}, visited: map[*yaml.Node]bool{}}
	docs, err := s.read()
	if err != nil {
		return Findings{}, err
	}
	if err := s.inconsistent(docs); err != nil {
		return Findings{}, err
	}
	for _, d := range docs {
		s.visit(d, d.top, d.root, false)
	}
	for _, d := range docs {
		s.looseComments(d, &placed{node: d.top, role: roleValue}, false)
	}
	if len(src.parts) == 1 && len(docs) == 1 && isList(docs[0].root) {
		for _, m := range s.f.Markers {
			s.f.Malformed = append(s.f.Malformed, Malformed{File: file, Line: m.Line, Column: m.Column, Raw: m.Raw, Reason: reasonList})
		}
		s.f.Markers = nil
	}
	s.sort()
	return s.f, nil
}

// read decodes the documents of the file as the controller's reader does,
// and fails where it fails.
func (s *scanner) read() ([]doc, error) {
	var docs []doc
	for i := range s.src.parts {
		p := &s.src.parts[i]
		var n yaml.Node
		err := yaml.NewDecoder(strings.NewReader(p.text)).Decode(&n)
		if errors.Is(err, io.EOF) {
			continue
		}
		if err != nil {
			d := manifest.SyntaxError(s.file, s.src.firstLine(p), err)
			return nil, unreadable(s.file, d.Line, "%s", d.Msg)
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) == 0 || n.Content[0].Tag == "!!null" {
			continue
		}
		root := n.Content[0]
		if root.Kind != yaml.MappingNode {
			return nil, unreadable(s.file, s.nodeLine(p, root), "the document is not a mapping")
		}
		removed, odd, at, problem := checkMetadata(root)
		if problem != "" {
			return nil, unreadable(s.file, s.nodeLine(p, at), "%s", problem)
		}
		docs = append(docs, doc{part: p, top: &n, root: root, removed: removed, odd: odd})
	}
	return docs, nil
}

// unreadable returns the error for a file the controller skips.
func unreadable(file string, line int, format string, args ...any) error {
	return &diag.Error{
		File: file,
		Line: line,
		Msg:  fmt.Sprintf(format, args...) + "; Flux's image automation skips this file, so none of its markers is applied",
		Err:  ErrUnreadable,
	}
}

// firstPair returns the index in a mapping's content of the first key whose
// value is key, or -1. kyaml compares keys by their value, whatever their
// kind.
func firstPair(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// annotator replays what the controller's reader does to each document
// before the setters see it: for each annotation it records (a path, an
// index, ...) kyaml clears the first empty metadata.annotations field of the
// first metadata, then the first empty metadata field, then looks up
// metadata.annotations, creating what is missing, and fails on a node that
// is not a mapping. Cleared nodes are not visited afterwards.
type annotator struct {
	removed map[*yaml.Node]bool
	// added counts the entries kyaml added to a mapping.
	added map[*yaml.Node]int
	// done is set once metadata.annotations is a mapping kyaml created or
	// filled, after which further annotations change nothing that matters.
	done bool
	// skipped is the null metadata or annotations at which kyaml last
	// stopped without recording an annotation.
	skipped *yaml.Node
}

// annotationsSet is how many annotations the controller's reader records on
// each object (index, legacy index and path).
const annotationsSet = 3

// checkMetadata returns the nodes the controller clears from a document, or
// the node that makes it skip the file and why. odd is the null metadata or
// annotations field at which kyaml failed to record the first annotation of
// the object while it recorded later ones, nil when all went well.
func checkMetadata(root *yaml.Node) (removed map[*yaml.Node]bool, odd, at *yaml.Node, problem string) {
	a := &annotator{removed: map[*yaml.Node]bool{}, added: map[*yaml.Node]int{}}
	for i := 0; i < annotationsSet && !a.done; i++ {
		if at, problem := a.annotate(root); problem != "" {
			return nil, nil, at, problem
		}
	}
	if a.done {
		odd = a.skipped
	}
	return a.removed, odd, nil, ""
}

// live returns the first value of key in mapping m that kyaml has not
// cleared, or nil.
func (a *annotator) live(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if v := m.Content[i+1]; m.Content[i].Value == key && !a.removed[v] {
			return v
		}
	}
	return nil
}

// size is the length of a node's content as kyaml sees it now.
func (a *annotator) size(n *yaml.Node) int {
	size := len(n.Content) + 2*a.added[n]
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if a.removed[n.Content[i+1]] {
			size -= 2
		}
	}
	return size
}

// clearEmpty clears the first value of key in m that is empty.
func (a *annotator) clearEmpty(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if v := m.Content[i+1]; m.Content[i].Value == key && !a.removed[v] && a.size(v) == 0 {
			a.removed[v] = true
			return
		}
	}
}

func (a *annotator) annotate(root *yaml.Node) (*yaml.Node, string) {
	if meta := a.live(root, "metadata"); meta != nil && meta.Tag != "!!null" {
		if meta.Kind != yaml.MappingNode {
			return meta, "metadata is not a mapping"
		}
		a.clearEmpty(meta, "annotations")
	}
	a.clearEmpty(root, "metadata")
	meta := a.live(root, "metadata")
	switch {
	case meta == nil:
		a.done = true // kyaml creates metadata.annotations
		return nil, ""
	case meta.Tag == "!!null":
		a.skipped = meta
		return nil, ""
	case meta.Kind != yaml.MappingNode:
		return meta, "metadata is not a mapping"
	}
	ann := a.live(meta, "annotations")
	switch {
	case ann == nil:
		a.added[meta]++
		a.done = true
	case ann.Tag == "!!null":
		a.skipped = ann
	case ann.Kind != yaml.MappingNode:
		return ann, "metadata.annotations is not a mapping"
	default:
		a.added[ann]++
		a.done = true
	}
	return nil, ""
}

// isList tells whether a document is a list the controller unwraps.
func isList(root *yaml.Node) bool {
	ki := firstPair(root, "kind")
	if ki < 0 {
		return false
	}
	kind := root.Content[ki+1].Value
	return (kind == "List" || kind == "ResourceList") &&
		(firstPair(root, "items") >= 0 || firstPair(root, "functionConfig") >= 0)
}

// visit walks a document the way the controller's setter filter does and
// records the markers of the scalars it reaches.
func (s *scanner) visit(d doc, parent, n *yaml.Node, flow bool) {
	if d.removed[n] {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		flow = flow || n.Style&yaml.FlowStyle != 0
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if seen[k] || d.removed[n.Content[i+1]] {
				continue
			}
			seen[k] = true
			s.visit(d, n, n.Content[i+1], flow)
		}
	case yaml.SequenceNode:
		flow = flow || n.Style&yaml.FlowStyle != 0
		for _, c := range n.Content {
			s.visit(d, n, c, flow)
		}
	case yaml.ScalarNode:
		s.visited[n] = true
		s.scalar(d, n, parent.Column-1, flow)
	}
}

// scalar records the marker, if any, of a scalar the controller visits.
func (s *scanner) scalar(d doc, n *yaml.Node, parentIndent int, flow bool) {
	c, kind := n.LineComment, lineComment
	if c == "" {
		c, kind = n.HeadComment, headComment
	}
	if c == "" {
		return
	}
	name, ok := setterName(c)
	if !ok {
		return
	}
	s.used[commentRef{n, kind}] = true
	raw := trimComment(c)
	policy, field, reason := parseSetter(name)
	if reason != "" {
		s.malformed(d.part, n, kind, c, reason)
		return
	}
	m := Marker{File: s.file, Policy: policy, Field: field, Value: n.Value, Raw: raw, Style: yamlscalar.StyleOf(n), Flow: flow, Start: -1, End: -1}
	p := d.part
	if o := p.offset(n.Line, n.Column); o >= 0 {
		start, end := yamlscalar.Span(p.text, o, n, parentIndent, flow)
		m.Start = s.src.orig(p.start + start)
		if end >= 0 {
			m.End = s.src.orig(p.start + end)
		}
	}
	if m.Start >= 0 {
		m.Line, m.Column = s.src.lineAt(m.Start), s.src.columnAt(m.Start)
	} else {
		m.Line, m.Column = s.src.firstLine(p)+n.Line-1, n.Column
	}
	s.f.Markers = append(s.f.Markers, m)
}

// nodeLine returns the line of data a node starts on.
func (s *scanner) nodeLine(p *part, n *yaml.Node) int {
	if o := p.offset(n.Line, n.Column); o >= 0 {
		return s.src.lineAt(s.src.orig(p.start + o))
	}
	return s.src.firstLine(p) + n.Line - 1
}

// malformed records a Malformed for one line of a comment of node n.
func (s *scanner) malformed(p *part, n *yaml.Node, kind commentKind, line, reason string) {
	near := 0
	if o := p.offset(n.Line, n.Column); o >= 0 {
		near = o
	}
	at := findComment(p.text, line, near, kind)
	m := Malformed{File: s.file, Raw: trimComment(line), Reason: reason}
	if at >= 0 {
		o := s.src.orig(p.start + at)
		m.Line, m.Column = s.src.lineAt(o), s.src.columnAt(o)
	} else {
		m.Line = s.nodeLine(p, n)
	}
	s.f.Malformed = append(s.f.Malformed, m)
}

// role is a node's place in its parent.
type role uint8

const (
	roleValue role = iota
	roleKey
	roleDuplicate
)

// placed is a node with its role.
type placed struct {
	node *yaml.Node
	role role
}

// looseComments reports the comments that mention a marker but that the
// controller does not read as one.
func (s *scanner) looseComments(d doc, x *placed, removed bool) {
	n := x.node
	removed = removed || d.removed[n]
	for _, k := range []commentKind{headComment, lineComment, footComment} {
		c := commentOf(n, k)
		if c == "" || s.used[commentRef{n, k}] {
			continue
		}
		lines := commentLines(c)
		for _, l := range lines {
			if !commentMentions(l) {
				continue
			}
			reason := textProblem(l)
			if reason == "" {
				reason = s.placeProblem(x, k, len(lines), removed)
			}
			s.malformed(d.part, n, k, l, reason)
		}
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			s.looseComments(d, &placed{node: c, role: roleValue}, removed)
		}
	case yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			r := roleValue
			if seen[k] {
				r = roleDuplicate
			}
			if !d.removed[n.Content[i+1]] {
				seen[k] = true
			}
			s.looseComments(d, &placed{node: n.Content[i], role: roleKey}, removed)
			s.looseComments(d, &placed{node: n.Content[i+1], role: r}, removed)
		}
	}
}

// placeProblem says why a well-formed marker in comment k of a node is not
// read.
func (s *scanner) placeProblem(x *placed, k commentKind, lines int, removed bool) string {
	n := x.node
	switch {
	case k == footComment || n.Kind == yaml.DocumentNode:
		return reasonLoose
	case removed:
		return reasonRemoved
	case x.role == roleKey && k == headComment:
		return reasonKeyHead
	case x.role == roleKey:
		return reasonKeyLine
	case x.role == roleDuplicate:
		return reasonDuplicate
	case n.Kind == yaml.AliasNode:
		return reasonAlias
	case n.Kind != yaml.ScalarNode:
		return reasonCollection
	case k == headComment && n.LineComment != "":
		return reasonShadowed
	case k == headComment && lines > 1:
		return reasonMultiHead
	case !s.visited[n]:
		return reasonDuplicate
	}
	return reasonLoose
}

func commentOf(n *yaml.Node, k commentKind) string {
	switch k {
	case headComment:
		return n.HeadComment
	case lineComment:
		return n.LineComment
	}
	return n.FootComment
}

// sort orders the findings by their place in the file.
func (s *scanner) sort() {
	sort.SliceStable(s.f.Markers, func(i, j int) bool {
		a, b := s.f.Markers[i], s.f.Markers[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	sort.SliceStable(s.f.Malformed, func(i, j int) bool {
		a, b := s.f.Malformed[i], s.f.Malformed[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// scanUnscreened reports the marker-like comments of a file the controller
// never parses because it does not contain Token.
func scanUnscreened(file string, data []byte) Findings {
	src, _ := newSource(data)
	s := &scanner{file: file, src: src, used: map[commentRef]bool{}, visited: map[*yaml.Node]bool{}}
	p := &part{start: 0, text: src.norm, lines: yamlscalar.NewLines(src.norm)}
	dec := yaml.NewDecoder(strings.NewReader(src.norm))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			break
		}
		s.unscreened(p, &n)
	}
	s.sort()
	return s.f
}

func (s *scanner) unscreened(p *part, n *yaml.Node) {
	for _, k := range []commentKind{headComment, lineComment, footComment} {
		for _, l := range commentLines(commentOf(n, k)) {
			if !commentMentions(l) {
				continue
			}
			reason := reasonUnscreened
			if problem := textProblem(l); problem != "" {
				reason = problem + "; besides, " + reasonUnscreened
			}
			s.malformed(p, n, k, l, reason)
		}
	}
	for _, c := range n.Content {
		s.unscreened(p, c)
	}
}
