package kfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// Limits bound the work one render does, whatever its input: kustomize's
// parser expands YAML aliases without limit, and its resource map and
// mapping merges take time quadratic in a file's documents and in a
// mapping's entries. Each is checked on the bytes of a file before
// kustomize sees them, so a hostile or broken file is a finding at its line,
// not a run that never ends. Zero fields take the defaults.
type Limits struct {
	// FileBytes bounds one file.
	FileBytes int64
	// RootBytes bounds the files one root reads, together.
	RootBytes int64
	// Documents bounds the YAML documents of the files one root reads,
	// together (and so of each file).
	Documents int
	// MapEntries bounds the entries of one YAML mapping.
	MapEntries int
	// AliasNodes bounds the nodes a file's YAML aliases expand to.
	AliasNodes int
}

// The defaults are far above what real repositories hold (the Flux
// components file is ~50 documents and 1 MB; a large CRD bundle a few
// thousand documents) and low enough that the quadratic parts of kustomize
// finish in seconds at the limit.
const (
	DefaultFileBytes  = 16 << 20
	DefaultRootBytes  = 64 << 20
	DefaultDocuments  = 5000
	DefaultMapEntries = 10000
	DefaultAliasNodes = 1000000
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.FileBytes <= 0 {
		l.FileBytes = DefaultFileBytes
	}
	if l.RootBytes <= 0 {
		l.RootBytes = DefaultRootBytes
	}
	if l.Documents <= 0 {
		l.Documents = DefaultDocuments
	}
	if l.MapEntries <= 0 {
		l.MapEntries = DefaultMapEntries
	}
	if l.AliasNodes <= 0 {
		l.AliasNodes = DefaultAliasNodes
	}
	return l
}

// String names the limits, for cache keys: a render that passed under
// raised limits must not be served under lower ones.
func (l Limits) String() string {
	return fmt.Sprintf("%d/%d/%d/%d/%d", l.FileBytes, l.RootBytes, l.Documents, l.MapEntries, l.AliasNodes)
}

// ErrLimit is wrapped by every error a limit gives.
var ErrLimit = errors.New("over a limit")

// limitError is a limit a file goes over, at the line where it does.
func limitError(file string, line int, format string, args ...any) *diag.Error {
	d := diag.Errorf(file, line, format, args...)
	d.Err = ErrLimit
	return d
}

// Shape is what the limits measure of one file's content.
type Shape struct {
	Documents int
	// DocLines are the lines each document starts at.
	DocLines []int
}

// CheckFile measures data, the content of file, against the limits that
// bound one file: its size, its documents, its largest mapping and what its
// aliases expand to. It returns the file's documents, for the limits that
// bound a root.
func (l Limits) CheckFile(file string, data []byte) (Shape, error) {
	if int64(len(data)) > l.FileBytes {
		return Shape{}, limitError(file, 0, "file of %s is over the limit of %s per file (raise it with --max-file-size)", byteSize(int64(len(data))), byteSize(l.FileBytes))
	}
	s := scanShape(data, l.MapEntries)
	if s.documents > l.Documents {
		return Shape{}, limitError(file, s.docLines[l.Documents], "more than %d YAML documents in one file (raise the limit with --max-documents)", l.Documents)
	}
	shape := Shape{Documents: s.documents, DocLines: s.docLines}
	if !s.mayExceed && !(bytes.IndexByte(data, '&') >= 0 && bytes.IndexByte(data, '*') >= 0) {
		return shape, nil
	}
	return shape, l.checkNodes(file, data)
}

// checkNodes parses data and measures its mappings and aliases exactly. It
// runs only for the few files the scan could not clear: the parse builds
// nodes without expanding aliases, so it is linear in the file's size.
func (l Limits) checkNodes(file string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // kustomize reports the malformed file itself
		}
		m := &measure{limits: l, sizes: map[*yaml.Node]int{}}
		m.size(&doc)
		if m.over != nil {
			if m.wide {
				return limitError(file, m.over.Line, "a mapping of %d entries is over the limit of %d (raise it with --max-map-entries)", len(m.over.Content)/2, l.MapEntries)
			}
			return limitError(file, m.over.Line, "YAML aliases expand to more than %d nodes (an alias bomb?); raise the limit with --max-alias-nodes", l.AliasNodes)
		}
	}
}

// measure computes how many nodes a document holds once its aliases are
// expanded, each anchored node counted once however many aliases name it,
// and stops at the first node over a limit.
type measure struct {
	limits Limits
	sizes  map[*yaml.Node]int // expanded size of anchored nodes (yaml.v3 refuses an anchor whose value holds an alias to it)
	over   *yaml.Node
	wide   bool // over is a mapping with too many entries
}

func (m *measure) size(n *yaml.Node) int {
	if n == nil || m.over != nil {
		return 0
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
		if n == nil {
			return 1
		}
	}
	if s, ok := m.sizes[n]; ok {
		return s // an anchored node, measured before
	}
	if n.Kind == yaml.MappingNode && len(n.Content)/2 > m.limits.MapEntries {
		m.over, m.wide = n, true
		return 0
	}
	total := 1
	for _, c := range n.Content {
		total += m.size(c)
		if total > m.limits.AliasNodes && m.over == nil {
			m.over = n
		}
		if m.over != nil {
			return total
		}
	}
	if n.Anchor != "" {
		m.sizes[n] = total
	}
	return total
}

// shapeScan is what one pass over the lines of a file tells.
type shapeScan struct {
	documents int
	docLines  []int
	// mayExceed is set when the file may hold a mapping over the limit:
	// more lines at one indentation under one parent, or more commas
	// (flow mappings, JSON) than the limit of entries.
	mayExceed bool
}

// scanShape counts a file's documents and looks for signs of a mapping
// wider than maxEntries, in one pass over its lines. It over-counts (a
// block scalar's lines look like entries), never under-counts: a block
// mapping's entries each start a line at the same indentation (after the
// dashes of the sequence items they open), and a flow mapping's are
// separated by commas.
func scanShape(data []byte, maxEntries int) shapeScan {
	var s shapeScan
	s.mayExceed = bytes.Count(data, []byte{','}) >= maxEntries
	type run struct{ indent, n int }
	var stack []run
	entry := func(indent int) {
		for len(stack) > 0 && stack[len(stack)-1].indent > indent {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].indent == indent {
			stack[len(stack)-1].n++
			s.mayExceed = s.mayExceed || stack[len(stack)-1].n > maxEntries
			return
		}
		stack = append(stack, run{indent, 1})
	}
	content := false // the current document has content
	start := 1       // the line the current document starts at
	for line, rest := 1, data; len(rest) > 0; line++ {
		var text []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			text, rest = rest[:i], rest[i+1:]
		} else {
			text, rest = rest, nil
		}
		indent := 0
		if manifest.IsSeparator(text) {
			content, start, stack = false, line, stack[:0]
			indent = 3
		}
		for indent < len(text) && text[indent] == ' ' {
			indent++
		}
		body := bytes.TrimRight(text[indent:], " \t\r")
		if len(body) == 0 || body[0] == '#' {
			continue
		}
		if !content {
			content = true
			s.documents++
			s.docLines = append(s.docLines, start)
		}
		// Each "- " opens a sequence item whose content starts further in.
		for len(body) > 0 && body[0] == '-' && (len(body) == 1 || body[1] == ' ') {
			entry(indent)
			n := 1
			for n < len(body) && body[n] == ' ' {
				n++
			}
			indent, body = indent+n, body[n:]
		}
		if len(body) > 0 && body[0] != '#' {
			entry(indent)
		}
	}
	return s
}

// byteSize prints n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Checks keeps what CheckFile found of each file's content for the
// renders of one run, which read the same bases again and again. It is safe
// for concurrent use.
type Checks struct {
	limits Limits
	shapes sync.Map // path + "\x00" + blob -> checked
}

type checked struct {
	shape Shape
	err   error
}

// NewChecks returns the checks of one run under limits (zero fields take
// the defaults).
func NewChecks(limits Limits) *Checks { return &Checks{limits: limits.WithDefaults()} }

// Limits are the limits the checks apply.
func (c *Checks) Limits() Limits { return c.limits }

func (c *Checks) file(file, blob string, data []byte) (Shape, error) {
	if blob == "" { // a remote base's file, read once
		return c.limits.CheckFile(file, data)
	}
	key := file + "\x00" + blob
	if v, ok := c.shapes.Load(key); ok {
		r := v.(checked)
		return r.shape, r.err
	}
	shape, err := c.limits.CheckFile(file, data)
	c.shapes.Store(key, checked{shape, err})
	return shape, err
}

// rootBudget adds up what one root reads, for the limits on a root.
type rootBudget struct {
	mu        sync.Mutex
	seen      map[string]bool // files counted, by path
	bytes     int64
	documents int
}

// add counts a file read for the first time, and reports the limit the
// root goes over with it.
func (b *rootBudget) add(l Limits, file string, size int64, shape Shape) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	if b.seen[file] {
		return nil
	}
	b.seen[file] = true
	b.bytes += size
	if b.bytes > l.RootBytes {
		return limitError(file, 0, "the files this root reads are over the limit of %s together (raise it with --max-root-size)", byteSize(l.RootBytes))
	}
	if IsKustomizationFile(file) {
		return nil // not resources
	}
	before := b.documents
	b.documents += shape.Documents
	if b.documents > l.Documents {
		line := 0
		if i := l.Documents - before; i >= 0 && i < len(shape.DocLines) {
			line = shape.DocLines[i]
		}
		return limitError(file, line, "the files this root reads hold more than %d YAML documents together (raise the limit with --max-documents)", l.Documents)
	}
	return nil
}
