package validate

import (
	"strings"

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

// Lookups returns what checking results and files alone looks up.
func Lookups(results []*render.Result, tree repo.Tree, files []string) (Lookup, error) {
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
		objs, err := res.Objects()
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
