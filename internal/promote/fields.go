package promote

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
)

// scalar is a field of an overlay file that can hold an image version: a
// scalar with a $imagepolicy marker, or the value of an image: key.
type scalar struct {
	file string
	// doc and path locate the scalar in its file, the same before and
	// after the file is rewritten: the document's index and the keys and
	// list indexes down to the scalar.
	doc  int
	path string
	key  string
	node *yaml.Node
	flow bool
	mark *markers.Marker
}

// id identifies a scalar within its file.
func (s *scalar) id() string { return strconv.Itoa(s.doc) + "/" + s.path }

// value returns the scalar's value, "" for null.
func (s *scalar) value() string {
	if s.node.Tag == "!!null" {
		return ""
	}
	return s.node.Value
}

// wholeRef tells whether the scalar holds a whole image reference.
func (s *scalar) wholeRef() bool {
	if s.mark != nil {
		return s.mark.Field == markers.FieldImage
	}
	return s.key == "image"
}

// yamlFile is a file of an overlay with its candidate scalars and the
// images its HelmReleases' values set.
type yamlFile struct {
	path    string
	t       *text
	scalars []*scalar
	values  []*valuesImage
	// roots are the file's documents.
	roots []*yaml.Node
}

// readYAMLFile parses every document of a file and collects its scalars.
func readYAMLFile(f File) (*yamlFile, error) {
	var roots []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(f.Data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, manifest.SyntaxError(f.Path, 1, err)
		}
		roots = append(roots, &doc)
	}
	return collect(f, roots, nil), nil
}

// collect walks the documents roots of file f, leaving out the subtree
// skip.
func collect(f File, roots []*yaml.Node, skip *yaml.Node) *yamlFile {
	y := &yamlFile{path: f.Path, t: newText(f.Data), roots: roots}
	marks := markMap(f.Path, f.Data)
	w := walker{y: y, marks: marks, skip: skip}
	for i, r := range roots {
		w.doc = i
		w.walk(r, "", "", false)
	}
	findValues(y, roots)
	return y
}

type walker struct {
	y     *yamlFile
	marks map[int]markers.Marker
	skip  *yaml.Node
	doc   int
}

func (w *walker) walk(n *yaml.Node, path, key string, flow bool) {
	if n == nil || n == w.skip {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			w.walk(c, path, key, flow)
		}
	case yaml.MappingNode:
		inFlow := flow || n.Style&yaml.FlowStyle != 0
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			w.walk(n.Content[i+1], p, k.Value, inFlow)
		}
	case yaml.SequenceNode:
		inFlow := flow || n.Style&yaml.FlowStyle != 0
		for i, c := range n.Content {
			w.walk(c, path+"["+strconv.Itoa(i)+"]", "", inFlow)
		}
	case yaml.ScalarNode:
		s := &scalar{file: w.y.path, doc: w.doc, path: path, key: key, node: n, flow: flow}
		if m, ok := w.marks[w.y.t.valueStart(n)]; ok {
			s.mark = &m
		}
		if s.mark != nil || key == "image" {
			w.y.scalars = append(w.y.scalars, s)
		}
	}
}

// splitRef splits an image reference into its name, tag and digest.
func splitRef(ref string) (repo, tag, digest string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

// joinRef writes a reference from its name, tag and digest.
func joinRef(repo, tag, digest string) string {
	if tag != "" {
		repo += ":" + tag
	}
	if digest != "" {
		repo += "@" + digest
	}
	return repo
}

// sameRepo tells whether two image names name the same repository, as
// Docker normalizes names.
func sameRepo(a, b string) bool {
	return a == b || normRepo(a) == normRepo(b)
}

func normRepo(s string) string {
	r, err := name.NewRepository(s, name.WeakValidation)
	if err != nil {
		return s
	}
	return r.Name()
}
