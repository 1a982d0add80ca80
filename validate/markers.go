package validate

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/imagepolicy"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// policyIndex holds the ImagePolicies markers may name: those this
// repository's roots render and those of the configured Flux repositories,
// by namespace/name, and on a first miss those of files no root applies.
type policyIndex struct {
	byID   map[string]*kyaml.RNode
	byName map[string][]string // name -> the namespaces it is defined in
	// loose are the ImagePolicies written without a namespace in files no
	// root of this repository applies, by name: another repository applies
	// them, in the namespace it chooses (as d2-fleet applies d2-apps'
	// update policies), so a marker of any namespace may name one.
	// nil until the files are read.
	loose map[string]*kyaml.RNode
}

// lookup returns the ImagePolicy a marker names, reading the files no root
// applies the first time the rendered ones lack it.
func (idx *policyIndex) lookup(c *checker, p markers.Policy) (*kyaml.RNode, bool) {
	if n, ok := idx.byID[p.Namespace+"/"+p.Name]; ok {
		return n, true
	}
	idx.addUnapplied(c)
	if n, ok := idx.byID[p.Namespace+"/"+p.Name]; ok {
		return n, true
	}
	n, ok := idx.loose[p.Name]
	return n, ok
}

// addUnapplied adds, once, the ImagePolicies of the files no root applies.
func (idx *policyIndex) addUnapplied(c *checker) {
	if idx.loose != nil {
		return
	}
	idx.loose = map[string]*kyaml.RNode{}
	for _, nodes := range render.FileObjects(c.in.Tree, c.unreadFiles(), "ImagePolicy", imageGroup) {
		for _, n := range nodes {
			switch {
			case !isImagePolicy(n):
			case n.GetNamespace() == "":
				if _, ok := idx.loose[n.GetName()]; !ok {
					idx.loose[n.GetName()] = n
				}
			default:
				idx.add(n)
			}
		}
	}
}

func (idx *policyIndex) add(n *kyaml.RNode) {
	ns := n.GetNamespace()
	idx.byID[ns+"/"+n.GetName()] = n
	idx.byName[n.GetName()] = append(idx.byName[n.GetName()], ns)
}

// empty tells whether no ImagePolicy is known at all.
func (idx *policyIndex) empty(c *checker) bool {
	if len(idx.byID) > 0 {
		return false
	}
	idx.addUnapplied(c)
	return len(idx.byID) == 0 && len(idx.loose) == 0
}

// imageGroup is the API group of Flux's image automation.
const imageGroup = "image.toolkit.fluxcd.io"

func isImagePolicy(n *kyaml.RNode) bool {
	return n.GetKind() == "ImagePolicy" && strings.HasPrefix(n.GetApiVersion(), imageGroup+"/")
}

func (c *checker) policies() (policyIndex, error) {
	idx := policyIndex{byID: map[string]*kyaml.RNode{}, byName: map[string][]string{}}
	for _, res := range append(append([]*render.Result(nil), c.in.Results...), c.in.Foreign...) {
		if res.Err != nil {
			continue
		}
		objs, err := c.fluxOf(res)
		if err != nil {
			return idx, err
		}
		for _, o := range objs {
			if isImagePolicy(o.node) {
				idx.add(o.node)
			}
		}
	}
	return idx, nil
}

// checkMarkers checks every $imagepolicy marker in the files in scope: it is
// written as Flux reads it, names an ImagePolicy that exists, sits on a
// field its suffix fits, and holds a value the policy could select.
func checkMarkers(c *checker) error {
	// The ImagePolicies are gathered at the first marker: most files in a
	// hook's scope hold none.
	var idx *policyIndex
	index := func() (*policyIndex, error) {
		if idx == nil {
			i, err := c.policies()
			if err != nil {
				return nil, err
			}
			idx = &i
		}
		return idx, nil
	}
	for _, p := range c.in.MissingFluxRepositories {
		c.add("imagepolicy-marker", Finding{File: ConfigFile, Severity: Warning, Message: fmt.Sprintf(
			"fluxRepositories: %s is not there: markers are not checked against the ImagePolicies it defines (check it out beside this repository)", p)})
	}
	warned := false
	resources := c.resourceFiles()
	for _, f := range c.in.Repository.Files {
		if markers.Skip(f) || !c.inScope(f) {
			continue
		}
		if isYAMLFile(f) {
			facts, err := c.fileFactsOf(f, resources[f])
			if err != nil || !facts.Markers { // unreadable: the syntax rule reports it
				continue
			}
		}
		scan, err := c.markersOf(f)
		if err != nil {
			return err
		}
		for _, m := range scan.Malformed {
			c.add("imagepolicy-marker", Finding{File: f, Line: m.Line, Column: m.Column, Message: m.Message})
		}
		for _, m := range scan.Markers {
			idx, err := index()
			if err != nil {
				return err
			}
			if m.Mismatch != "" {
				c.add("imagepolicy-marker", Finding{File: f, Line: m.Line, Column: m.Column, Message: m.Mismatch})
			}
			if idx.empty(c) {
				if !warned {
					warned = true
					c.add("imagepolicy-marker", Finding{File: f, Line: m.Line, Column: m.Column, Severity: Warning, Message: fmt.Sprintf(
						"marker names ImagePolicy %s/%s, but no ImagePolicy is defined in this repository: list the repository that defines them under fluxRepositories in %s to check markers against them",
						m.Policy.Namespace, m.Policy.Name, ConfigFile)})
				}
				continue
			}
			policy, ok := idx.lookup(c, m.Policy)
			if !ok {
				if !c.unrenderedPolicy(m.Policy.Name) {
					c.add("imagepolicy-marker", Finding{File: f, Line: m.Line, Column: m.Column, Message: missingPolicy(m.Policy, *idx)})
				}
				continue
			}
			if msg, placeholder := unselectable(m.Field, m.Value, m.Policy, policy); msg != "" {
				x := rawFinding{Finding: Finding{Rule: "imagepolicy-marker", File: f, Line: m.Line, Column: m.Column, Message: msg}}
				if placeholder {
					x.Default = Warning
				}
				c.addRaw(x)
			}
		}
	}
	return nil
}

// unrenderedPolicy tells whether a root that does not render, or a
// Kustomization a failed root would apply, may define an ImagePolicy
// named name: whether the policy a marker names exists is then not known,
// and the root's own finding says why.
func (c *checker) unrenderedPolicy(name string) bool {
	r := c.in.Repository
	if r.FailedMaker(c.in.Results, name) != nil {
		return true
	}
	for _, s := range r.Skipped {
		if s.Blocked && r.MayProduce(render.Root{Path: s.Kustomization.Path(), Kustomization: s.Kustomization}, []string{name}) {
			return true
		}
	}
	return false
}

// markerScan is what a file's markers say, whatever the ImagePolicies:
// kept in the memo under the file's blob.
type markerScan struct {
	Malformed []Finding    `json:"malformed,omitempty"`
	Markers   []markerFact `json:"markers,omitempty"`
}

type markerFact struct {
	Line     int            `json:"line"`
	Column   int            `json:"column"`
	Policy   markers.Policy `json:"policy"`
	Field    markers.Field  `json:"field"`
	Value    string         `json:"value"`
	Mismatch string         `json:"mismatch,omitempty"`
}

// errUnreadable is a file that cannot be read.
var errUnreadable = errors.New("unreadable")

// markersOf scans a file's markers, reading it only when its blob was not
// scanned before. A file Flux cannot read has none (the syntax rule
// reports it).
func (c *checker) markersOf(file string) (markerScan, error) {
	blob, err := c.in.Tree.Blob(file)
	if err != nil {
		return markerScan{}, nil // unreadable: the syntax rule reports it
	}
	scan, err := cached(c, "markers/"+blob, func() (markerScan, error) {
		var out markerScan
		data, err := c.in.Tree.ReadFile(file)
		if err != nil {
			return out, errUnreadable // not kept: the blob may be read later
		}
		found, err := markers.Scan(file, data)
		if err != nil {
			return out, nil
		}
		for _, m := range found.Malformed {
			out.Malformed = append(out.Malformed, Finding{Line: m.Line, Column: m.Column, Message: m.Reason})
		}
		for _, m := range found.Markers {
			out.Markers = append(out.Markers, markerFact{Line: m.Line, Column: m.Column, Policy: m.Policy, Field: m.Field, Value: m.Value,
				Mismatch: fieldMismatch(m, keyOf(data, m))})
		}
		return out, nil
	})
	if errors.Is(err, errUnreadable) {
		return markerScan{}, nil
	}
	return scan, err
}

// missingPolicy explains a marker naming an ImagePolicy that does not
// exist, pointing at one of the same name elsewhere.
func missingPolicy(p markers.Policy, idx policyIndex) string {
	msg := fmt.Sprintf("marker names ImagePolicy %s/%s, which is not defined", p.Namespace, p.Name)
	nss := idx.byName[p.Name]
	sort.Strings(nss)
	switch {
	case len(nss) == 0:
	case nss[0] == "":
		msg += fmt.Sprintf(": an ImagePolicy %s is defined without a namespace (give it namespace: %s)", p.Name, p.Namespace)
	default:
		msg += fmt.Sprintf(": ImagePolicy %s is defined in namespace %s", p.Name, strings.Join(nss, ", "))
	}
	return msg
}

// keyOf returns the mapping key the marked scalar is the value of, read
// from its line ("newTag" in "  newTag: v1 # {...}"), or "".
func keyOf(data []byte, m markers.Marker) string {
	if m.Start < 0 || m.Start > len(data) {
		return ""
	}
	lineStart := strings.LastIndexByte(string(data[:m.Start]), '\n') + 1
	before := strings.TrimSpace(string(data[lineStart:m.Start]))
	before = strings.TrimPrefix(before, "- ")
	key, ok := strings.CutSuffix(before, ":")
	if !ok {
		return ""
	}
	return strings.Trim(strings.TrimSpace(key), `"'`)
}

var (
	digestValue = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	// A tag is at most 128 characters; the length is checked apart, as a
	// counted repetition would make the expression slow to compile.
	tagValue = regexp.MustCompile(`^[\w][\w.-]*$`)
)

func isTag(s string) bool { return len(s) <= 128 && tagValue.MatchString(s) }

// fieldMismatch says why a marker's suffix does not fit the field it sits
// on, judging by the field's name and value, or "".
func fieldMismatch(m markers.Marker, key string) string {
	k := strings.ToLower(key)
	switch m.Field {
	case markers.FieldTag:
		if k == "image" || k == "newname" || (m.Value != "" && !isTag(m.Value)) {
			return fmt.Sprintf("marker %q writes a tag, but %s holds %q: use %q for a whole image reference, or put the marker on the tag field", m.Setter(), keyName(key), m.Value, m.Policy.String())
		}
	case markers.FieldName:
		if k == "newtag" || k == "tag" || k == "digest" || strings.Contains(m.Value, "@") || lastPartHasTag(m.Value) {
			return fmt.Sprintf("marker %q writes an image name, but %s holds %q: put it on the field that holds the name without a tag", m.Setter(), keyName(key), m.Value)
		}
	case markers.FieldDigest:
		if k == "newtag" || k == "tag" || k == "newname" || (m.Value != "" && !digestValue.MatchString(m.Value)) {
			return fmt.Sprintf("marker %q writes a digest (sha256:...), but %s holds %q", m.Setter(), keyName(key), m.Value)
		}
	case markers.FieldImage:
		if k == "newtag" || k == "tag" || k == "newname" || k == "digest" {
			return fmt.Sprintf("marker %q writes a whole image reference (name:tag), but it sits on %s: use %q there", m.Setter(), keyName(key), m.Policy.String()+":"+suffixFor(k))
		}
	}
	return ""
}

func keyName(key string) string {
	if key == "" {
		return "the field"
	}
	return key
}

func suffixFor(key string) string {
	switch key {
	case "newname":
		return "name"
	case "digest":
		return "digest"
	}
	return "tag"
}

// lastPartHasTag tells whether an image reference's last path part
// carries a tag ("repo:v1"; "registry:5000/repo" has none).
func lastPartHasTag(ref string) bool {
	return strings.Contains(ref[strings.LastIndexByte(ref, '/')+1:], ":")
}

// unselectable says why the policy could never select a tag like the
// marker's current one (the walkthrough's policy filters main-<sha>-<n>
// while its overlay holds master-<sha>-<n>), or "". A tag without a
// digit ("latest", "server") names no version: it is a placeholder the
// automation replaces on its first update, a warning (placeholder).
func unselectable(field markers.Field, value string, p markers.Policy, policy *kyaml.RNode) (msg string, placeholder bool) {
	tag := value
	switch field {
	case markers.FieldTag:
	case markers.FieldImage:
		ref := strings.SplitN(tag, "@", 2)[0]
		if !lastPartHasTag(ref) {
			return "", false
		}
		tag = ref[strings.LastIndexByte(ref, ':')+1:]
	default:
		return "", false
	}
	if tag == "" {
		return "", false
	}
	obj, err := policy.Map()
	if err != nil {
		return "", false
	}
	spec, err := imagepolicy.FromObject(obj)
	if err != nil {
		return "", false // the schema and imagepolicy-pattern rules report a bad policy
	}
	if _, err := imagepolicy.Select(spec, []string{tag}); err != nil {
		msg := fmt.Sprintf("ImagePolicy %s/%s could never select a tag like the current %q: %v", p.Namespace, p.Name, tag, err)
		if !strings.ContainsAny(tag, "0123456789") {
			return msg + fmt.Sprintf("; %q names no version, a placeholder the image automation replaces with the policy's pick on its first update", tag), true
		}
		return msg, false
	}
	return "", false
}
