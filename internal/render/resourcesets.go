package render

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/resourceset"
)

// Unrendered is an object of a render whose own objects cannot be known
// from the repository, though nothing is wrong with it: a ResourceSet
// whose inputs only the cluster has.
type Unrendered struct {
	Kind      string
	Namespace string
	Name      string
	// File and Line are where the object is written, when known.
	File   string
	Line   int
	Reason string
}

// ID is the object's namespace/name.
func (u Unrendered) ID() string { return u.Namespace + "/" + u.Name }

// madeBy are the objects a root's ResourceSets add to its render, each
// with the ResourceSet that makes it.
type madeBy map[*resource.Resource]Child

// expandResourceSets adds to m, after the root's own, the objects each
// Flux Operator ResourceSet among them generates, as the operator applies
// them: the walk then follows the Kustomizations and HelmReleases they
// hold, and every command sees their objects as the root's. A ResourceSet
// whose inputs only a cluster has is returned as unrendered; one that
// fails to build is the root's error, at its file and line.
func (e *Engine) expandResourceSets(r *Repository, m resourceSet, read map[string]bool) (madeBy, []Unrendered, error) {
	var sets []*resource.Resource
	var providers []*resourceset.Provider
	for _, res := range m.Resources() {
		if res.GetGvk().Group != resourceset.Group {
			continue
		}
		switch res.GetKind() {
		case resourceset.Kind:
			sets = append(sets, res)
		case resourceset.ProviderKind:
			data, err := res.MarshalJSON()
			if err != nil {
				return nil, nil, err
			}
			p, err := resourceset.DecodeProvider(data, namespaceOr(res.GetNamespace()))
			if err != nil {
				return nil, nil, err
			}
			providers = append(providers, p)
		}
	}
	if len(sets) == 0 {
		return nil, nil, nil
	}
	rf := resource.NewFactory(nil)
	gen := madeBy{}
	var unrendered []Unrendered
	written := r.writtenIn(read)
	for _, res := range sets {
		at := Child{APIVersion: res.GetApiVersion(), Kind: res.GetKind(), Namespace: namespaceOr(res.GetNamespace()), Name: res.GetName()}
		file := written.find(at)
		if file != nil {
			at.File, at.Line = file.File, file.Line
		}
		fail := func(format string, args ...any) *diag.Error {
			return diag.Errorf(at.File, at.Line, "ResourceSet %s/%s: %s", at.Namespace, at.Name, fmt.Sprintf(format, args...))
		}
		data, err := res.MarshalJSON()
		if err != nil {
			return nil, nil, fail("%v", err)
		}
		rs, err := resourceset.Decode(data, at.Namespace)
		if err != nil {
			return nil, nil, fail("%v", err)
		}
		objects, err := rs.Objects(providers, resourceset.Limits{Bytes: e.checks.Limits().WithDefaults().RootBytes})
		var nr *resourceset.NotRendered
		switch {
		case errors.As(err, &nr):
			unrendered = append(unrendered, Unrendered{Kind: at.Kind, Namespace: at.Namespace, Name: at.Name, File: at.File, Line: at.Line, Reason: nr.Reason})
			continue
		case err != nil:
			d := fail("%v", err)
			d.Line = lineOf(file, err, at.Line)
			return nil, nil, d
		}
		for _, o := range objects {
			made, err := rf.FromMap(o.Object)
			if err != nil {
				return nil, nil, fail("%v", err)
			}
			if err := m.Append(made); err != nil {
				return nil, nil, fail("it generates %s %s, which this root renders already", made.GetKind(), objectName(made.GetNamespace(), made.GetName()))
			}
			gen[made] = at
		}
	}
	return gen, unrendered, nil
}

// origin says an object comes from the ResourceSet at.
func (at Child) origin(res *resource.Resource) Origin {
	return Origin{File: at.File, Kind: res.GetKind(), Name: res.GetName(), ResourceSet: at.Namespace + "/" + at.Name}
}

// lineOf finds the line of a ResourceSet's build error in the file it is
// written in: the resource that fails, or the line of the template; else
// the object's own line.
func lineOf(written *manifest.Object, err error, line int) int {
	var be *resourceset.Error
	if written == nil || !errors.As(err, &be) {
		return line
	}
	n := manifest.Path(written.Node(), be.Path...)
	if n == nil {
		return line
	}
	if be.Line > 0 && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Line + be.Line // a block's text starts below its indicator
	}
	return n.Line
}

// objectName is namespace/name, or name for a cluster-wide object.
func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// templateAction matches a ResourceSet template's actions and a
// Kustomization's ${VAR} substitutions: what stands for a part of a path
// only a render knows.
var templateAction = regexp.MustCompile(`<<.*?>>|\$\{[^}]*\}`)

// templateHole stands for a template action while a template is read.
const templateHole = "__template__"

// Templated returns the directories that the Kustomizations the
// ResourceSets among root's inputs would generate build, and what those
// reach. When root does not render, that is what it would have applied by
// way of them: its overlays are not built, nor their files checked, on
// their own, where their ${VARS} would give consequential errors.
func (r *Repository) Templated(root Root) []string {
	patterns := r.templatedPaths(root)
	if len(patterns) == 0 {
		return nil
	}
	dirs := map[string]bool{}
	for _, f := range r.Files {
		dirs[path.Dir(f)] = true
	}
	out := map[string]bool{}
	for d := range dirs {
		if slices.ContainsFunc(patterns, func(p string) bool { ok, _ := path.Match(p, d); return ok }) {
			for _, reached := range r.Reaches(d) {
				out[reached] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(out))
}

// templatedPaths returns, as path.Match patterns, the spec.path of every
// Kustomization that the ResourceSets among root's inputs would generate,
// each template action standing for one path element.
func (r *Repository) templatedPaths(root Root) []string {
	r.fluxOnce.Do(r.sortFlux)
	var out []string
	for _, p := range r.Inputs(root).Paths {
		for _, f := range filesAt(r.setSorted, p) {
			data, err := r.tree.ReadFile(f)
			if err != nil {
				continue
			}
			for _, doc := range manifest.Split(templateAction.ReplaceAll(data, []byte(templateHole))) {
				var rs struct {
					Kind string `json:"kind"`
					Spec struct {
						Resources         []map[string]any `json:"resources"`
						ResourcesTemplate string           `json:"resourcesTemplate"`
					} `json:"spec"`
				}
				if sigsyaml.Unmarshal(doc.Text, &rs) != nil || rs.Kind != resourceset.Kind {
					continue
				}
				objects := rs.Spec.Resources
				for _, d := range manifest.Split([]byte(rs.Spec.ResourcesTemplate)) {
					var o map[string]any
					if sigsyaml.Unmarshal(d.Text, &o) == nil {
						objects = append(objects, o)
					}
				}
				for _, o := range objects {
					spec, _ := o["spec"].(map[string]any)
					p, _ := spec["path"].(string)
					if o["kind"] == "Kustomization" && strings.HasPrefix(fmt.Sprint(o["apiVersion"]), "kustomize.toolkit.fluxcd.io/") && p != "" {
						out = append(out, path.Clean(strings.TrimPrefix(strings.ReplaceAll(p, templateHole, "*"), "/")))
					}
				}
			}
		}
	}
	return out
}
