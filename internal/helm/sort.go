package helm

import (
	"fmt"
	"iter"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// parsed is a rendered document's objects as `helm template` prints
// them, under their "# Source:" comment, or why it does not read as
// objects.
type parsed struct {
	objects []*kyaml.RNode
	err     error
}

// sortManifests is Helm's releaseutil.SortManifests with install order
// that also returns each manifest's objects, parsed once: Helm decodes
// every document through sigs.k8s.io/yaml (YAML 1.1, then JSON) for its
// kind, name and annotations, then kyaml parses it again for the
// objects, a fifth of a chart's render between the two.
//
// Here the head is read off kyaml's parse when the document says the
// same to both YAML versions (headOf), and through sigs.k8s.io/yaml as
// Helm does otherwise; FuzzSortManifests holds the hooks, the manifests,
// their order and the errors to Helm's. Unlike Helm, a document with an
// unknown hook event is skipped without a log line.
func sortManifests(files map[string]string) (hooks []*releasev1.Hook, manifests []releaseutil.Manifest, objects []parsed, err error) {
	for file, doc := range documents(files) {
		p, head, ok := parseDoc(file, doc)
		if !ok {
			head = releaseutil.SimpleHead{}
			if err := sigsyaml.Unmarshal([]byte(doc), &head); err != nil {
				return nil, nil, nil, fmt.Errorf("YAML parse error on %s: %w", file, err)
			}
		}
		var annotations map[string]string
		if head.Metadata != nil {
			annotations = head.Metadata.Annotations
		}
		events, isHook := annotations[releasev1.HookAnnotation]
		if !isHook {
			manifests = append(manifests, releaseutil.Manifest{Name: file, Content: doc, Head: &head})
			objects = append(objects, p)
			continue
		}
		if h := hook(head, file, doc, events); h != nil {
			hooks = append(hooks, h)
		}
	}
	order := make(map[string]int, len(releaseutil.InstallOrder))
	for i, k := range releaseutil.InstallOrder {
		order[k] = i
	}
	less := func(a, b string) bool {
		i, aok := order[a]
		j, bok := order[b]
		switch {
		case !aok && !bok:
			return a < b
		case !aok || !bok:
			return aok
		}
		return i < j
	}
	sort.SliceStable(hooks, func(i, j int) bool { return less(hooks[i].Kind, hooks[j].Kind) })
	if len(manifests) == 0 {
		return hooks, nil, nil, nil
	}
	perm := make([]int, len(manifests))
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(i, j int) bool { return less(manifests[perm[i]].Head.Kind, manifests[perm[j]].Head.Kind) })
	sortedManifests := make([]releaseutil.Manifest, len(perm))
	sortedObjects := make([]parsed, len(perm))
	for i, p := range perm {
		sortedManifests[i], sortedObjects[i] = manifests[p], objects[p]
	}
	return hooks, sortedManifests, sortedObjects, nil
}

// documents yields a chart's rendered documents with their template
// files, in the order Helm's install reads them: files by name, partials
// and empty files left out, then each file's documents in turn.
func documents(files map[string]string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, file := range slices.Sorted(maps.Keys(files)) {
			content := files[file]
			if strings.HasPrefix(path.Base(file), "_") || strings.TrimSpace(content) == "" {
				continue
			}
			split := releaseutil.SplitManifests(content)
			keys := slices.Collect(maps.Keys(split))
			sort.Sort(releaseutil.BySplitManifestsOrder(keys))
			for _, k := range keys {
				if !yield(file, split[k]) {
					return
				}
			}
		}
	}
}

// hook is the Hook Helm makes of a document annotated with events, or
// nil when one of them is not an event Helm knows.
func hook(head releaseutil.SimpleHead, file, doc, events string) *releasev1.Hook {
	a := head.Metadata.Annotations
	weight, err := strconv.Atoi(a[releasev1.HookWeightAnnotation])
	if err != nil {
		weight = 0
	}
	h := &releasev1.Hook{
		Name:              head.Metadata.Name,
		Kind:              head.Kind,
		Path:              file,
		Manifest:          doc,
		Events:            []releasev1.HookEvent{},
		Weight:            weight,
		DeletePolicies:    []releasev1.HookDeletePolicy{},
		OutputLogPolicies: []releasev1.HookOutputLogPolicy{},
	}
	for e := range strings.SplitSeq(events, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "test-success" { // Helm 2's name of the test hook
			e = releasev1.HookTest.String()
		}
		if !slices.ContainsFunc(hookEvents, func(k releasev1.HookEvent) bool { return k.String() == e }) {
			return nil
		}
		h.Events = append(h.Events, releasev1.HookEvent(e))
	}
	values := func(annotation string) []string {
		v, ok := a[annotation]
		if !ok {
			return nil
		}
		var out []string
		for p := range strings.SplitSeq(v, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(p)))
		}
		return out
	}
	for _, p := range values(releasev1.HookDeleteAnnotation) {
		h.DeletePolicies = append(h.DeletePolicies, releasev1.HookDeletePolicy(p))
	}
	for _, p := range values(releasev1.HookOutputLogAnnotation) {
		h.OutputLogPolicies = append(h.OutputLogPolicies, releasev1.HookOutputLogPolicy(p))
	}
	return h
}

var hookEvents = []releasev1.HookEvent{
	releasev1.HookPreInstall, releasev1.HookPostInstall,
	releasev1.HookPreDelete, releasev1.HookPostDelete,
	releasev1.HookPreUpgrade, releasev1.HookPostUpgrade,
	releasev1.HookPreRollback, releasev1.HookPostRollback,
	releasev1.HookTest,
}

// parseDoc parses a rendered document as `helm template` prints it, and
// reads its head off the parse; ok is false when the head must come
// from sigs.k8s.io/yaml instead.
func parseDoc(file, doc string) (p parsed, head releaseutil.SimpleHead, ok bool) {
	text := "# Source: " + file + "\n" + doc
	// Without unwrapping, a List's items are not taken for the
	// document; a List is parsed again as Helm's objects are.
	nodes, err := (&kio.ByteReader{Reader: strings.NewReader(text), OmitReaderAnnotations: true, DisableUnwrapping: true}).Read()
	if err == nil {
		nodes = slices.DeleteFunc(nodes, func(n *kyaml.RNode) bool { return n.IsNilOrEmpty() })
	}
	if err != nil || len(nodes) != 1 {
		p.objects, p.err = parseObjects(text)
		return p, head, false
	}
	if n := nodes[0].YNode(); n.Kind != yaml.MappingNode || slices.Contains([]string{"List", kio.ResourceListKind}, nodes[0].GetKind()) {
		p.objects, p.err = parseObjects(text)
		return p, head, false
	}
	p.objects = nodes
	head, ok = headOf(nodes[0].YNode())
	return p, head, ok
}

// headOf reads the head Helm decodes from a document's top node, when
// sigs.k8s.io/yaml would read the same: no alias, anchor, tag or key
// that is not a string, no number JSON cannot hold, and head fields that
// are strings to both YAML 1.1 and 1.2, under their exact names, once.
func headOf(n *yaml.Node) (head releaseutil.SimpleHead, ok bool) {
	if n.Kind != yaml.MappingNode || !jsonable(n) {
		return head, false
	}
	top, ok := headFields(n, "apiVersion", "kind", "metadata")
	if !ok {
		return head, false
	}
	var versionOK, kindOK bool
	head.Version, versionOK = optionalString(top[0])
	head.Kind, kindOK = optionalString(top[1])
	md := top[2]
	switch {
	case !versionOK || !kindOK:
		return head, false
	case md == nil:
		return head, true
	case md.Kind != yaml.MappingNode:
		return head, false
	}
	fields, ok := headFields(md, "name", "annotations")
	if !ok {
		return head, false
	}
	head.Metadata = &struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	}{}
	if head.Metadata.Name, ok = optionalString(fields[0]); !ok {
		return head, false
	}
	a := fields[1]
	if a == nil {
		return head, true
	}
	if a.Kind != yaml.MappingNode {
		return head, false
	}
	head.Metadata.Annotations = make(map[string]string, len(a.Content)/2)
	for i := 0; i+1 < len(a.Content); i += 2 {
		k, ok := plainString(a.Content[i])
		if !ok {
			return head, false
		}
		v, ok := plainString(a.Content[i+1])
		if !ok {
			return head, false
		}
		if _, dup := head.Metadata.Annotations[k]; dup {
			return head, false
		}
		head.Metadata.Annotations[k] = v
	}
	return head, true
}

// headFields returns the values of a mapping's keys named, nil when
// absent; ok is false when a key is there twice, or in another case,
// which encoding/json would match too.
func headFields(n *yaml.Node, names ...string) (values []*yaml.Node, ok bool) {
	values = make([]*yaml.Node, len(names))
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		for j, name := range names {
			if !strings.EqualFold(key, name) {
				continue
			}
			if key != name || values[j] != nil {
				return nil, false
			}
			values[j] = n.Content[i+1]
		}
	}
	return values, true
}

// optionalString is plainString of a field that may be absent (nil).
func optionalString(n *yaml.Node) (string, bool) {
	if n == nil {
		return "", true
	}
	return plainString(n)
}

// plainString returns a scalar's string when YAML 1.1 and 1.2 both read
// it as that string: quoted or block scalars, and plain ones that YAML
// 1.1 cannot take for a boolean, a null or a number.
func plainString(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || n.Anchor != "" || n.Style&yaml.TaggedStyle != 0 {
		return "", false
	}
	if n.Style != 0 {
		return n.Value, true
	}
	v := n.Value
	if v == "" || strings.IndexByte("+-.0123456789<~", v[0]) >= 0 {
		return "", false
	}
	switch v {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF":
		return "", false
	}
	return v, true
}

// jsonable tells whether sigs.k8s.io/yaml turns a document into JSON
// without an error that yaml.v3's parse did not give: it refuses keys
// that are not scalars, and numbers JSON has no form for.
func jsonable(n *yaml.Node) bool {
	if n.Anchor != "" || n.Style&yaml.TaggedStyle != 0 {
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || !jsonable(k) || !jsonable(n.Content[i+1]) {
				return false
			}
		}
		return true
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			if !jsonable(c) {
				return false
			}
		}
		return true
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str", "!!int", "!!bool", "!!null", "!!float", "!!timestamp":
		default:
			return false
		}
		// Plain, these are the numbers YAML 1.1 reads that JSON
		// cannot write.
		switch n.Value {
		case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
			return n.Style != 0
		}
		return true
	}
	return false
}
