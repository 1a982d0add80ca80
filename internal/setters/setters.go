// Package setters rewrites the scalars that Flux image-automation markers
// point at, the way the image-automation-controller's Setters strategy sets
// them, but byte for byte: only the text of each changed scalar is replaced,
// and every other byte of the file (comments, key order, indentation, blank
// lines, CRLF line ends, document separators) stays as it was.
//
// The value written for a marker depends on its field, as in the controller
// (internal/update/setters.go), from the policy's status.latestRef:
//
//   - no suffix: the whole reference, name:tag, followed by "@digest" when the
//     policy reflects a digest (Latest.Ref);
//   - ":tag": the tag; ":name": the name;
//   - ":digest": the digest, which is empty when the policy reflects none (the
//     controller then writes an empty string).
//
// A scalar keeps its quoting style. A plain scalar whose new value would not
// read back as that same string (YAML 1.1 reads "1.10" as a number and "yes"
// as a boolean, as kyaml's setter check does) is double-quoted, as the
// controller does. A block scalar (| or >) gets the strip indicator so that it
// holds the value without a final line break, as in the controller's output.
// Where the controller writes YAML that does not read back (a tagged !!int or
// null scalar set to a string), this package writes the plain or quoted
// string instead.
package setters

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// Latest is what an ImagePolicy selected: its status.latestRef.
type Latest struct {
	// Name is the image name as the ImageRepository spells it
	// (spec.image), without tag or digest.
	Name string
	// Tag is the selected tag.
	Tag string
	// Digest is the digest of the selected tag, "sha256:...", or empty when
	// the policy does not reflect digests.
	Digest string
}

// Ref returns the whole reference the controller writes at a marker without
// suffix: name:tag, and "@digest" when there is a digest.
func (l Latest) Ref() string {
	ref := l.Name + ":" + l.Tag
	if l.Digest != "" {
		ref += "@" + l.Digest
	}
	return ref
}

// Value returns what a marker of field f is set to.
func (l Latest) Value(f markers.Field) string {
	switch f {
	case markers.FieldTag:
		return l.Tag
	case markers.FieldName:
		return l.Name
	case markers.FieldDigest:
		return l.Digest
	}
	return l.Ref()
}

// Validate checks the reference the way the controller does before it sets
// anything (a weakly validated image reference): the controller stops the
// whole update when the reference of any one policy is not valid, so callers
// check every policy before they call Apply.
func (l Latest) Validate() error {
	if _, err := name.ParseReference(l.Ref(), name.WeakValidation); err != nil {
		return fmt.Errorf("invalid image reference %q: %w", l.Ref(), err)
	}
	return nil
}

// Change is one scalar Apply rewrote.
type Change struct {
	File   string
	Line   int
	Policy markers.Policy
	Field  markers.Field
	Old    string
	New    string
}

// Setter returns the setter of the change as the controller names it in its
// commit template (.Changed.Changes[].Setter).
func (c Change) Setter() string {
	return markers.Marker{Policy: c.Policy, Field: c.Field}.Setter()
}

// ErrCannotRewrite is wrapped by Apply's errors for a marked scalar whose
// text it cannot rewrite in place.
var ErrCannotRewrite = errors.New("cannot rewrite the marked value")

// Apply sets the scalars of markers (found by markers.Find in data) to the
// values of their policies and returns the new content and the changes, in
// file order. It does not validate the references (see Latest.Validate); it
// refuses a value that cannot be written on one line. Markers whose policy is not in values are left alone, as are
// scalars that already hold their value. Only the bytes of changed scalars
// differ between data and the result. The result is checked by finding its
// markers again: each must hold its new value, or Apply fails and returns
// data unchanged.
func Apply(data []byte, ms []markers.Marker, values map[markers.Policy]Latest) ([]byte, []Change, error) {
	var (
		out     bytes.Buffer
		changes []Change
		want    = make([]string, len(ms))
		last    = 0
	)
	for i, m := range ms {
		want[i] = m.Value
		latest, ok := values[m.Policy]
		if !ok {
			continue
		}
		newValue := latest.Value(m.Field)
		if newValue == m.Value {
			continue
		}
		if m.Start < last || m.End < m.Start || m.End > len(data) {
			return data, nil, rewriteError(m, "its place in the file is unknown")
		}
		text, err := encode(data, m, newValue)
		if err != nil {
			return data, nil, err
		}
		out.Write(data[last:m.Start])
		out.WriteString(text)
		last = m.End
		want[i] = newValue
		changes = append(changes, Change{File: m.File, Line: m.Line, Policy: m.Policy, Field: m.Field, Old: m.Value, New: newValue})
	}
	if len(changes) == 0 {
		return data, nil, nil
	}
	out.Write(data[last:])
	result := out.Bytes()
	if err := verify(result, ms, want); err != nil {
		return data, nil, err
	}
	return result, changes, nil
}

func rewriteError(m markers.Marker, why string) error {
	return &diag.Error{File: m.File, Line: m.Line, Column: m.Column,
		Msg: fmt.Sprintf("cannot rewrite the value marked %s: %s; edit it by hand", m.Setter(), why),
		Err: ErrCannotRewrite}
}

// verify finds the markers of the rewritten content and checks that they are
// the markers of the original, holding the values wanted.
func verify(result []byte, ms []markers.Marker, want []string) error {
	file := ""
	if len(ms) > 0 {
		file = ms[0].File
	}
	got, err := markers.Find(file, result)
	if err != nil {
		return fmt.Errorf("%s: the rewritten file no longer reads: %w (%w)", file, err, ErrCannotRewrite)
	}
	if len(got) != len(ms) {
		return fmt.Errorf("%s: the rewritten file holds %d markers instead of %d (%w)", file, len(got), len(ms), ErrCannotRewrite)
	}
	for i, g := range got {
		m := ms[i]
		if g.Policy != m.Policy || g.Field != m.Field || g.Value != want[i] {
			return rewriteError(m, fmt.Sprintf("the rewritten value reads %q instead of %q", g.Value, want[i]))
		}
	}
	return nil
}

// encode returns the text that replaces the text of marker m's scalar in
// data for it to hold v: in its style, or for a block scalar on one line
// of its content.
func encode(data []byte, m markers.Marker, v string) (string, error) {
	if why := yamlscalar.Check(v); why != "" {
		return "", rewriteError(m, "the new value "+why)
	}
	if m.Style == markers.Literal || m.Style == markers.Folded {
		return encodeBlock(data, m, v)
	}
	return yamlscalar.Encode(v, m.Style, m.Flow), nil
}

// encodeBlock rewrites a block scalar: its header gets the strip chomping
// indicator and its content becomes the value, on one line at the
// indentation of its first line of text. The header's comment (the marker)
// stays; leading blank lines go, as the value starts with no line break. A
// block with no content gets one, indented two spaces more than the key or
// list item that holds it.
func encodeBlock(data []byte, m markers.Marker, v string) (string, error) {
	if v == "" || v[0] == ' ' || v[0] == '\t' || strings.TrimRight(v, " \t") != v {
		return "", rewriteError(m, fmt.Sprintf("a block scalar (| or >) cannot hold %q on one line", v))
	}
	old := string(data[m.Start:m.End])
	h := 1
	for h < len(old) && strings.IndexByte("+-0123456789", old[h]) >= 0 {
		h++
	}
	indicator := strings.Trim(old[1:h], "+-")
	eol := strings.IndexAny(old, "\r\n")
	if eol < 0 {
		// No content: add a line after the header.
		if indicator != "" {
			return "", rewriteError(m, "the block scalar has no content")
		}
		return old[:1] + "-" + old[h:] + lineBreak(data) + strings.Repeat(" ", blockIndent(data, m.Start, m.End)) + v, nil
	}
	brk := old[eol : eol+1]
	if strings.HasPrefix(old[eol:], "\r\n") {
		brk = "\r\n"
	}
	for l := eol; l < len(old); {
		for l < len(old) && (old[l] == '\r' || old[l] == '\n') {
			l++
		}
		e := strings.IndexAny(old[l:], "\r\n")
		if e < 0 {
			e = len(old)
		} else {
			e += l
		}
		if line := old[l:e]; strings.TrimSpace(line) != "" {
			indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
			return old[:1] + indicator + "-" + old[h:eol] + brk + indent + v, nil
		}
		l = e
	}
	return "", rewriteError(m, "the block scalar has no content")
}

// lineBreak returns the line break data uses: CRLF when its first line ends
// with one, LF otherwise.
func lineBreak(data []byte) string {
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// blockIndent returns the indentation for the content of a block scalar
// whose indicator is at start and whose header ends at end: two more than
// the column of the key holding it, or of the dash of the list item holding
// it, and no less than the spaces of the blank lines after the header (which
// would otherwise become content).
func blockIndent(data []byte, start, end int) int {
	line := bytes.LastIndexByte(data[:start], '\n') + 1
	col, dash := 0, -1
	indent := -1
	for i := line; i < start && indent < 0; {
		switch {
		case data[i] == ' ':
			i++
			col++
		case data[i] == '-' && i+1 < start && data[i+1] == ' ':
			dash = col
			i += 2
			col += 2
		default:
			indent = col + 2
		}
	}
	if indent < 0 {
		indent = dash + 2
	}
	for _, l := range bytes.SplitAfter(data[end:], []byte("\n"))[1:] {
		blank := bytes.TrimRight(l, "\r\n")
		if len(bytes.TrimLeft(blank, " ")) != 0 {
			break
		}
		indent = max(indent, len(blank))
	}
	return indent
}
