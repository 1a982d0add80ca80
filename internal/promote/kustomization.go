package promote

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
)

// The keys of a kustomize images entry (kustomize api types.Image).
const (
	keyName      = "name"
	keyNewName   = "newName"
	keyTagSuffix = "tagSuffix"
	keyNewTag    = "newTag"
	keyDigest    = "digest"
)

// entryKeys are the keys of an images entry in the order kustomize
// declares them, the order new keys and entries are written in when the
// target shows none.
var entryKeys = []string{keyName, keyNewName, keyTagSuffix, keyNewTag, keyDigest}

// versionKeys are the keys that select an image's version. They are set as
// one unit: a promoted entry holds exactly the version keys of its source.
var versionKeys = []string{keyTagSuffix, keyNewTag, keyDigest}

func isEntryKey(k string) bool {
	for _, e := range entryKeys {
		if e == k {
			return true
		}
	}
	return false
}

func rank(k string) int {
	for i, e := range entryKeys {
		if e == k {
			return i
		}
	}
	return len(entryKeys)
}

// field is one key of an images entry.
type field struct {
	key, value *yaml.Node
}

// str returns the field's value, "" when it is null.
func (f *field) str() string {
	if f == nil || f.value.Tag == "!!null" {
		return ""
	}
	return f.value.Value
}

// set tells whether the field selects something: kustomize ignores an
// empty or null value.
func (f *field) set() bool { return f.str() != "" }

// entry is one item of a kustomization's images list.
type entry struct {
	index int
	node  *yaml.Node
	// flow is set when the entry is a flow mapping or an item of a flow
	// sequence.
	flow   bool
	name   string
	fields map[string]*field
	// order lists the entry's keys in the order they are written.
	order []string
}

// version returns the entry's version keys that are set, with their values.
func (e *entry) version() map[string]string {
	v := map[string]string{}
	for _, k := range versionKeys {
		if f := e.fields[k]; f.set() {
			v[k] = f.str()
		}
	}
	return v
}

// kustomization is a parsed kustomization file.
type kustomization struct {
	file string
	t    *text
	// root is the top mapping, nil when the file holds no document.
	root      *yaml.Node
	imagesKey *yaml.Node
	// images is the value of images:, nil when the field is absent.
	images  *yaml.Node
	entries []*entry
	// marks holds the file's markers by the offset of their scalar.
	marks map[int]markers.Marker
}

// readKustomization parses a kustomization file, its first document. Its
// problems are *diag.Errors naming the file and line; a key written twice
// is one.
func readKustomization(f File) (*kustomization, error) {
	k := &kustomization{file: f.Path, t: newText(f.Data), marks: markMap(f.Path, f.Data)}
	var v any
	if err := yaml.NewDecoder(bytes.NewReader(f.Data)).Decode(&v); err != nil && !errors.Is(err, io.EOF) {
		return nil, manifest.SyntaxError(f.Path, 1, err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(f.Data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return k, nil
		}
		return nil, manifest.SyntaxError(f.Path, 1, err)
	}
	if len(doc.Content) == 0 {
		return k, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return k, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, diag.Errorf(f.Path, root.Line, "not a kustomization: the file holds %s, not a mapping of fields", kindName(root))
	}
	k.root = root
	k.imagesKey, k.images = manifest.KeyNode(root, "images"), manifest.Lookup(root, "images")
	if k.images == nil {
		return k, nil
	}
	switch {
	case k.images.Kind == yaml.ScalarNode && k.images.Tag == "!!null":
		return k, nil
	case k.images.Kind != yaml.SequenceNode:
		return nil, diag.Errorf(f.Path, k.images.Line,
			"images must be a list of entries (- name: <image> with newName, newTag or digest), not %s", kindName(k.images))
	}
	flow := k.images.Style&yaml.FlowStyle != 0
	for i, item := range k.images.Content {
		e, err := k.readEntry(i, item, flow)
		if err != nil {
			return nil, err
		}
		k.entries = append(k.entries, e)
	}
	return k, nil
}

func (k *kustomization) readEntry(i int, item *yaml.Node, flow bool) (*entry, error) {
	if item.Kind != yaml.MappingNode {
		return nil, diag.Errorf(k.file, item.Line,
			"images entry %d is %s, not a mapping: write `- name: <image>` followed by newName, newTag or digest", i+1, kindName(item))
	}
	e := &entry{index: i, node: item, flow: flow || item.Style&yaml.FlowStyle != 0, fields: map[string]*field{}}
	for j := 0; j+1 < len(item.Content); j += 2 {
		key, value := item.Content[j], item.Content[j+1]
		if key.Kind != yaml.ScalarNode || !isEntryKey(key.Value) {
			continue
		}
		if value.Kind != yaml.ScalarNode {
			return nil, diag.Errorf(k.file, value.Line, "images entry %d: %s must be a string, not %s", i+1, key.Value, kindName(value))
		}
		e.fields[key.Value] = &field{key: key, value: value}
		e.order = append(e.order, key.Value)
	}
	e.name = e.fields[keyName].str()
	if e.name == "" {
		return nil, diag.Errorf(k.file, item.Line,
			"images entry %d has no name: add `name: <image>`, the image name the resources use", i+1)
	}
	return e, nil
}

// marker returns the marker on scalar n of the file, if any.
func (k *kustomization) marker(n *yaml.Node, flow bool) (markers.Marker, bool) {
	sp, why := k.t.scalarSpan(n, flow)
	if why != "" {
		return markers.Marker{}, false
	}
	m, ok := k.marks[sp.start]
	return m, ok
}

// markMap returns the markers of a file by the offset of their scalar; a
// file Flux cannot read has none.
func markMap(file string, data []byte) map[int]markers.Marker {
	ms, err := markers.Find(file, data)
	if err != nil {
		return nil
	}
	marks := make(map[int]markers.Marker, len(ms))
	for _, m := range ms {
		marks[m.Start] = m
	}
	return marks
}

// kindName names a node's kind for a message.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("the scalar %q", n.Value)
	}
	return "nothing"
}
