package validate

import (
	"strings"
	"sync"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Lookup is what the rules look up outside some roots when they check
// those roots and files alone (a hook's or a pull request's change). The
// roots that may render one of those must be checked with them, or a
// reference would read as dangling, a kind as unknown, and an object
// another Kustomization applies too would go unnoticed.
type Lookup struct {
	// Names are the names of the objects their Flux objects refer to
	// (sources, image repositories, dependencies, values) and the
	// ImagePolicies the files' $imagepolicy markers name.
	Names []string
	// Marked tells that the files hold markers (checked against every
	// ImagePolicy).
	Marked bool
	// CustomKinds tells that some of their objects are custom resources
	// (checked against the definitions the repository renders).
	CustomKinds bool
	// Applied are the objects their Flux Kustomizations apply, which
	// another Kustomization of the same cluster must not apply too (the
	// duplicate-object rule; render.Repository.MayApply).
	Applied []render.ObjectName
}

// Parsed hands the objects of results one step of a check parsed to the
// next, which takes them rather than parse them again: Lookups parses a
// hook's changed roots, then Run's rules on roots read them. It keeps the
// objects of up to parsedKeep bytes of rendered YAML, so that a change
// touching every root does not hold them all. The zero value is ready; a
// nil one parses every time.
type Parsed struct {
	mu   sync.Mutex
	objs map[*render.Result][]*kyaml.RNode
	size int // of the outputs whose objects were kept, taken or not
}

// parsedKeep bounds what a Parsed keeps: parsed nodes take some ten times
// the bytes of their YAML.
const parsedKeep = 4 << 20

// objects parses res's objects and keeps them for take, within parsedKeep.
func (p *Parsed) objects(res *render.Result) ([]*kyaml.RNode, error) {
	data, err := res.YAML()
	if err != nil {
		return nil, err
	}
	objs, err := res.Objects()
	if err != nil || p == nil {
		return objs, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.size+len(data) > parsedKeep {
		return objs, nil
	}
	if p.objs == nil {
		p.objs = map[*render.Result][]*kyaml.RNode{}
	}
	p.objs[res] = objs
	p.size += len(data)
	return objs, nil
}

// take returns res's objects, parsed by objects and not taken yet, or
// parses them. The nodes must be read only until taken.
func (p *Parsed) take(res *render.Result) ([]*kyaml.RNode, error) {
	if p != nil {
		p.mu.Lock()
		objs, ok := p.objs[res]
		delete(p.objs, res)
		p.mu.Unlock()
		if ok {
			return objs, nil
		}
	}
	return res.Objects()
}

// Lookups returns what checking results and files alone looks up, keeping
// the objects it parses in parsed (which may be nil) for Input.Parsed.
func Lookups(results []*render.Result, tree repo.Tree, files []string, parsed *Parsed) (Lookup, error) {
	var l Lookup
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			l.Names = append(l.Names, n)
		}
	}
	applied := map[render.ObjectName]bool{}
	for _, res := range results {
		if res.Err != nil {
			continue
		}
		objs, err := parsed.objects(res)
		if err != nil {
			return Lookup{}, err
		}
		for _, o := range objs {
			g := group(o.GetApiVersion())
			if strings.HasSuffix(g, ".fluxcd.io") {
				if spec := o.Field("spec"); spec != nil {
					refNames(spec.Value, add)
				}
			}
			if !builtinGroup(g) {
				l.CustomKinds = true
			}
			if res.Root.Kustomization == nil {
				continue
			}
			if n := (render.ObjectName{Namespace: o.GetNamespace(), Name: o.GetName()}); n.Name != "" && !applied[n] {
				applied[n] = true
				l.Applied = append(l.Applied, n)
			}
		}
	}
	for _, f := range files {
		if markers.Skip(f) {
			continue
		}
		data, err := tree.ReadFile(f)
		if err != nil || !markers.Screen(data) {
			continue
		}
		ms, _ := markers.Find(f, data)
		for _, m := range ms {
			add(m.Policy.Name)
			l.Marked = true
		}
	}
	return l, nil
}

// refNames adds every "name" a spec holds, at any depth: sourceRef,
// chartRef, imageRepositoryRef, dependsOn, valuesFrom and their kin.
func refNames(n *kyaml.RNode, add func(string)) {
	switch n.YNode().Kind {
	case kyaml.MappingNode:
		_ = n.VisitFields(func(f *kyaml.MapNode) error {
			if f.Key.YNode().Value == "name" && f.Value.YNode().Kind == kyaml.ScalarNode {
				add(f.Value.YNode().Value)
			}
			refNames(f.Value, add)
			return nil
		})
	case kyaml.SequenceNode:
		for _, e := range n.Content() {
			refNames(kyaml.NewRNode(e), add)
		}
	}
}

// builtinGroup tells the API groups whose schemas ship with kubectl
// gitops: Kubernetes' own and Flux's.
func builtinGroup(g string) bool {
	return !strings.Contains(g, ".") || strings.HasSuffix(g, ".k8s.io") || strings.HasSuffix(g, ".fluxcd.io")
}
