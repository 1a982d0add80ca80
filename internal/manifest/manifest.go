// Package manifest reads Kubernetes objects out of the YAML files of a
// repository, keeping the file and line each one starts at, so that every
// later message can point at the place a user has to edit.
package manifest

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
)

// Doc is one document of a YAML stream.
type Doc struct {
	// Line is the 1-based line of the file the document's text starts on.
	Line int
	Text []byte
}

// Split cuts a YAML stream into its documents at "---" separator lines,
// without parsing it. Documents holding only comments and blank space are
// left out.
func Split(data []byte) []Doc {
	var docs []Doc
	start, startLine, line := 0, 1, 1
	flush := func(end int) {
		if text := data[start:end]; !blank(text) {
			docs = append(docs, Doc{Line: startLine, Text: text})
		}
	}
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if j >= 0 {
			next = i + j + 1
		}
		switch {
		case IsSeparator(data[i:next]) && directives(data[start:i]):
			// The directives (%YAML 1.1) of the document this marker
			// starts: one document with it.
		case IsSeparator(data[i:next]) || isDocumentEnd(data[i:next]):
			flush(i)
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	flush(len(data))
	return docs
}

// IsSeparator tells whether a line starts a new YAML document: "---" alone
// or followed by blank space (a comment, or the document's first node).
func IsSeparator(l []byte) bool { return isMarker(l, "---") }

// isDocumentEnd tells whether a line is YAML's document end marker, "...",
// alone or followed by blank space: what follows it is the next document
// (Ansible writes "---" then "..." for an empty file).
func isDocumentEnd(l []byte) bool { return isMarker(l, "...") }

// isMarker tells whether a line is the marker m, alone or followed by
// blank space.
func isMarker(l []byte, m string) bool {
	rest, ok := bytes.CutPrefix(l, []byte(m))
	return ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n')
}

// directives tells whether text holds YAML directives (lines starting
// with %) and nothing else but whitespace and comments.
func directives(text []byte) bool {
	found := false
	for _, l := range bytes.Split(text, []byte("\n")) {
		l = bytes.TrimSpace(l)
		switch {
		case len(l) == 0 || l[0] == '#':
		case l[0] == '%':
			found = true
		default:
			return false
		}
	}
	return found
}

// blank tells whether text holds nothing but whitespace and comments.
func blank(text []byte) bool {
	for _, l := range bytes.Split(text, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return false
		}
	}
	return true
}

// Object is a Kubernetes object as written in a file.
type Object struct {
	File       string
	Line       int
	APIVersion string
	Kind       string
	Namespace  string
	Name       string

	doc  Doc
	once sync.Once
	node *yaml.Node
}

// Node returns the document's root mapping, with line numbers counted from
// the start of the file. An object made by Summary is parsed on first use.
func (o *Object) Node() *yaml.Node {
	o.once.Do(func() {
		if o.node != nil {
			return
		}
		if d, err := Decode(o.File, o.doc); err == nil {
			o.node = d.node
		} else {
			o.node = &yaml.Node{Kind: yaml.MappingNode, Line: o.Line}
		}
	})
	return o.node
}

// LineOf is the line of the object's field at keys (spec, path), or the
// object's own line when it has no such field: where a finding about the
// field points.
func (o *Object) LineOf(keys ...string) int {
	if n := Path(o.Node(), keys...); n != nil {
		return n.Line
	}
	return o.Line
}

// Summary makes an Object from what is known of it without parsing the
// document; Node parses it when asked.
func Summary(file string, d Doc, line int, apiVersion, kind, namespace, name string) *Object {
	return &Object{File: file, Line: line, APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name, doc: d}
}

// Group returns the API group of the object's apiVersion.
func (o *Object) Group() string { return Group(o.APIVersion) }

// Group returns the API group of an apiVersion, "" for the core group.
func Group(apiVersion string) string {
	if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// Version returns the version part of the object's apiVersion.
func (o *Object) Version() string {
	return o.APIVersion[strings.IndexByte(o.APIVersion, '/')+1:]
}

// ID names the object as namespace/name, or name when it has no namespace.
func (o *Object) ID() string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// Decode parses one document of file into an Object. Line numbers in the
// returned node count from the start of the file.
func Decode(file string, d Doc) (*Object, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(d.Text, &root); err != nil {
		return nil, SyntaxError(file, d.Line, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, diag.Errorf(file, d.Line, "not a Kubernetes object: the document is not a mapping")
	}
	node := root.Content[0]
	shiftLines(node, d.Line-1)
	o := &Object{File: file, Line: node.Line, node: node, doc: d}
	o.APIVersion = Scalar(node, "apiVersion")
	o.Kind = Scalar(node, "kind")
	if md := Lookup(node, "metadata"); md != nil {
		o.Name = Scalar(md, "name")
		o.Namespace = Scalar(md, "namespace")
	}
	return o, nil
}

// yamlLinePrefix starts the position yaml.v3 puts in its messages.
const yamlLinePrefix = "yaml: line "

// SyntaxError turns a yaml.v3 error for a document starting at line into a
// located error, its line counted from the start of the file.
func SyntaxError(file string, line int, err error) *diag.Error {
	msg := err.Error()
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = "yaml: " + te.Errors[0]
	}
	at := line
	if rest, ok := strings.CutPrefix(msg, yamlLinePrefix); ok {
		if n, tail, ok := strings.Cut(rest, ":"); ok {
			if k, err := strconv.Atoi(n); err == nil {
				at, msg = line+k-1, strings.TrimSpace(tail)
				// yaml.v3 counts lines from 0 in its parser's errors (its
				// scanner's count from 1); they all begin this way.
				if strings.HasPrefix(msg, "did not find expected") {
					at++
				}
			}
		}
	} else if rest, ok := strings.CutPrefix(msg, "yaml: "); ok {
		msg = rest
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok { // type errors: "line N: cannot unmarshal ..."
		if n, tail, ok := strings.Cut(rest, ":"); ok {
			if k, err := strconv.Atoi(n); err == nil {
				at, msg = line+k-1, strings.TrimSpace(tail)
			}
		}
	}
	return &diag.Error{File: file, Line: at, Msg: "malformed YAML: " + msg, Err: err}
}

func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// Lookup returns the value of key in a mapping node, or nil.
func Lookup(n *yaml.Node, key string) *yaml.Node {
	n = dealias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return dealias(n.Content[i+1])
		}
	}
	return nil
}

// dealias is the node an alias (*name) stands for, as YAML reads it; any
// other node itself.
func dealias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// KeyNode returns the key node of key in a mapping node, or nil.
func KeyNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// Path follows keys down from n: mapping keys, and indices of sequences.
func Path(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n != nil && n.Kind == yaml.SequenceNode {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
			continue
		}
		if n = Lookup(n, k); n == nil {
			return nil
		}
	}
	return n
}

// Scalar returns the scalar value of key in a mapping node, or "".
func Scalar(n *yaml.Node, key string) string {
	v := Lookup(n, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// SyntaxErrorOf parses a whole YAML stream and returns its first syntax
// error, located, if it has one.
func SyntaxErrorOf(file string, data []byte) (*diag.Error, bool) {
	for _, d := range Split(data) {
		var n yaml.Node
		if err := yaml.Unmarshal(d.Text, &n); err != nil {
			se := SyntaxError(file, d.Line, err)
			ExplainTab(data, se)
			return se, true
		}
	}
	return nil, false
}

// NotAnObject says why a document kustomize is to read as a resource is
// not a Kubernetes object, or "" when it is one.
func NotAnObject(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return "not a Kubernetes object: a resource file must hold mappings with apiVersion, kind and metadata.name"
	}
	var missing []string
	if Scalar(n, "apiVersion") == "" {
		missing = append(missing, "apiVersion")
	}
	kind := Scalar(n, "kind")
	if kind == "" {
		missing = append(missing, "kind")
	}
	if !strings.HasSuffix(kind, "List") {
		md := Lookup(n, "metadata")
		if Scalar(md, "name") == "" && Scalar(md, "generateName") == "" {
			missing = append(missing, "metadata.name")
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "not a Kubernetes object: no " + strings.Join(missing, ", ")
}

// DecodeErrorOf decodes every document of a YAML stream as a value and
// returns the first error, located: besides syntax errors, a key defined
// twice in one mapping, which decoding into a node does not catch.
func DecodeErrorOf(file string, data []byte) (*diag.Error, bool) {
	for _, d := range Split(data) {
		var v any
		if err := yaml.Unmarshal(d.Text, &v); err != nil {
			se := SyntaxError(file, d.Line, err)
			ExplainTab(data, se)
			return se, true
		}
	}
	return nil, false
}

// ExplainTab improves yaml's message for a line indented with a tab, which
// YAML does not allow, and points it at that line: yaml.v3 reports "found a
// tab character that violates indentation" at the line before the tab.
func ExplainTab(data []byte, d *diag.Error) {
	lines := bytes.Split(data, []byte("\n"))
	last := d.Line
	if strings.Contains(d.Msg, "tab character") {
		last++
	}
	for n := d.Line; n >= 1 && n <= last && n <= len(lines); n++ {
		l := lines[n-1]
		indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			d.Line, d.Msg = n, "malformed YAML: a tab character indents this line; YAML indents with spaces"
			return
		}
	}
}
