package validate

import (
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Lookups says what the rules look up outside results when they check
// results and files alone (a hook's or a pull request's change): the
// names of the objects their Flux objects refer to (sources, image
// repositories, dependencies, values) and the $imagepolicy markers of
// files name, whether files hold markers (checked against every
// ImagePolicy), and whether some of their objects are custom resources
// (checked against the definitions the repository renders). The roots
// that may render one of those must be checked with them, or a reference
// would read as dangling and a kind as unknown.
func Lookups(results []*render.Result, tree repo.Tree, files []string) (names []string, marked, customKinds bool, err error) {
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, res := range results {
		if res.Err != nil {
			continue
		}
		objs, err := res.Objects()
		if err != nil {
			return nil, false, false, err
		}
		for _, o := range objs {
			g := group(o.GetApiVersion())
			if strings.HasSuffix(g, ".fluxcd.io") {
				if spec := o.Field("spec"); spec != nil {
					refNames(spec.Value, add)
				}
			}
			if !builtinGroup(g) {
				customKinds = true
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
			marked = true
		}
	}
	return names, marked, customKinds, nil
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

// Applied names the objects the Flux Kustomizations among results apply:
// what another Kustomization of the same cluster must not apply too (the
// duplicate-object rule), so a check of some roots also renders the roots
// that may (render.Repository.MayApply).
func Applied(results []*render.Result) ([]render.ObjectName, error) {
	var out []render.ObjectName
	seen := map[render.ObjectName]bool{}
	for _, res := range results {
		if res.Root.Kustomization == nil || res.Err != nil {
			continue
		}
		objs, err := res.Objects()
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			n := render.ObjectName{Namespace: o.GetNamespace(), Name: o.GetName()}
			if n.Name != "" && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}
