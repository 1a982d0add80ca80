// Package markers finds Flux image-automation markers in YAML files, the
// comments such as
//
//	image: ghcr.io/org/app:v1.2.3 # {"$imagepolicy": "apps:app"}
//	newTag: v1.2.3 # {"$imagepolicy": "apps:app:tag"}
//
// that tell Flux's image-automation-controller which scalar to rewrite with
// the image an ImagePolicy selected. It recognizes exactly what the
// controller's Setters strategy recognizes (image-automation-controller
// v1.2.4 internal/update: filereader.go, setters.go and filter.go, on kyaml
// v0.21 fieldmeta), so that a marker reported here is one Flux would rewrite, and
// it reports comments that look like markers but that Flux ignores.
//
// What the controller does, and Find with it:
//
//   - It reads only files named *.yaml, *.yml or Kustomization (Skip), in
//     every folder below the update path, hidden ones included.
//   - It parses a file only when its bytes contain Token, "$imagepolicy" with
//     its double quotes; other files are never opened as YAML.
//   - It turns CRLF line endings into LF, splits the stream at lines
//     starting with "---" (a separator followed by anything but a comment
//     makes the file unreadable), and decodes the first YAML document of each
//     part. A file with a part that does not parse, with a document whose top
//     is not a mapping, or whose metadata it cannot annotate is skipped as a
//     whole: none of its markers is applied. Find returns an error wrapping
//     ErrUnreadable for such a file.
//   - In each document it visits the values of mappings (for a key written
//     twice, only the first value) and the items of sequences, never keys,
//     aliases or the collections themselves. For a scalar it reads the line
//     comment, or the head comment when there is no line comment: the
//     comment text without its leading '#'s must be a JSON object of strings
//     whose "$imagepolicy" member names the setter "<namespace>:<name>",
//     optionally followed by ":tag", ":name" or ":digest" (kyaml also reads
//     the long form {"$ref": "#/definitions/io.k8s.cli.setters.<setter>"}).
//     Before that, kyaml drops an empty metadata.annotations field and an
//     empty metadata field, whose values are then not visited.
//   - A single-document file whose kind is List or ResourceList is unwrapped:
//     its items are processed as separate objects and written back to new
//     files. Markers in such a file are reported as Malformed.
package markers

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// Token is what the controller looks for in a file's bytes before it parses
// the file at all.
const Token = `"$imagepolicy"`

// ErrUnreadable is wrapped by Find's error for a file that the controller
// skips as a whole because it cannot read it as a package of objects.
var ErrUnreadable = errors.New("the file is skipped by Flux's image automation")

// Policy names an ImagePolicy.
type Policy struct {
	Namespace string
	Name      string
}

// String returns the policy as a marker names it: "namespace:name".
func (p Policy) String() string { return p.Namespace + ":" + p.Name }

// Field says which part of the selected image a marker stands for.
type Field string

// The fields a marker can name, by the suffix of its setter.
const (
	// FieldImage (no suffix) is the whole reference: name:tag, with
	// "@digest" appended when the policy reflects a digest.
	FieldImage Field = ""
	// FieldTag (":tag") is the tag alone.
	FieldTag Field = "tag"
	// FieldName (":name") is the image name without tag or digest.
	FieldName Field = "name"
	// FieldDigest (":digest") is the digest, such as "sha256:...".
	FieldDigest Field = "digest"
)

// Style is how a scalar is written.
type Style = yamlscalar.Style

// The styles of a YAML scalar.
const (
	Plain        = yamlscalar.Plain
	SingleQuoted = yamlscalar.SingleQuoted
	DoubleQuoted = yamlscalar.DoubleQuoted
	Literal      = yamlscalar.Literal
	Folded       = yamlscalar.Folded
)

// Marker is a scalar that Flux's image automation would rewrite.
type Marker struct {
	// File is the name Find was given.
	File string
	// Line and Column locate the scalar's value (after any anchor or tag),
	// counting from 1; Line counts "\n" line ends, Column counts
	// characters.
	Line   int
	Column int
	// Policy is the ImagePolicy the marker names.
	Policy Policy
	// Field is the part of the image the scalar holds.
	Field Field
	// Value is the scalar's current value.
	Value string
	// Raw is the comment's JSON, as written after the '#'.
	Raw string
	// Style is how the scalar is written.
	Style Style
	// Flow is true when the scalar is inside a flow collection ([...] or
	// {...}).
	Flow bool
	// Start and End delimit the scalar's text in the data Find was given:
	// quotes included, anchor and tag excluded; for a block scalar, from
	// its '|' or '>' indicator to the end of its last line of content. End
	// is -1 when the text could not be delimited.
	Start int
	End   int
}

// Setter returns the setter the marker names, as the controller spells it:
// "namespace:name" with ":tag", ":name" or ":digest" for a field.
func (m Marker) Setter() string {
	if m.Field == FieldImage {
		return m.Policy.String()
	}
	return m.Policy.String() + ":" + string(m.Field)
}

// Malformed is a comment that looks like a marker but that Flux ignores.
type Malformed struct {
	File   string
	Line   int
	Column int
	// Raw is the comment's text after the '#'.
	Raw string
	// Reason says why Flux ignores it and what to write instead.
	Reason string
}

// Error formats the finding as "file:line:column: reason".
func (m Malformed) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", m.File, m.Line, m.Column, m.Reason)
}

// Findings are the markers of a file and the comments that look like
// markers but are not.
type Findings struct {
	Markers   []Marker
	Malformed []Malformed
}

// Skip reports whether the controller leaves the file at p out of its walk.
// It reads *.yaml, *.yml (extensions compared case-sensitively) and files
// named Kustomization; it walks every folder, hidden ones included, and does
// not follow symlinks to folders (a symlink to a file is read, and written
// through).
func Skip(p string) bool {
	base := path.Base(strings.ReplaceAll(p, "\\", "/"))
	if base == "Kustomization" {
		return false
	}
	ext := path.Ext(base)
	return ext != ".yaml" && ext != ".yml"
}

// Screen reports whether the controller parses a file with this content: it
// parses only files holding Token.
func Screen(data []byte) bool {
	return bytes.Contains(data, []byte(Token))
}

// Find returns the markers of one file in the order they appear. file is
// used in the markers and errors only. The error, when the controller would
// skip the whole file, is a *diag.Error wrapping ErrUnreadable.
func Find(file string, data []byte) ([]Marker, error) {
	f, err := Scan(file, data)
	return f.Markers, err
}

// Scan returns the markers of one file and the comments in it that look
// like markers but that Flux ignores. A file without Token yields neither
// (the controller never parses it) unless it mentions $imagepolicy, in which
// case the comments that do are reported as Malformed. The error, when the
// controller would skip the whole file, is a *diag.Error wrapping
// ErrUnreadable; the findings are then empty.
func Scan(file string, data []byte) (Findings, error) {
	if !Screen(data) {
		if !mentionsMarker(string(data)) {
			return Findings{}, nil
		}
		return scanUnscreened(file, data), nil
	}
	return scan(file, data)
}
