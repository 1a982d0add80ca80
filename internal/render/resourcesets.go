package render

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"

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
func (e *Engine) expandResourceSets(r *Repository, m resmap.ResMap, read map[string]bool) (madeBy, []Unrendered, error) {
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
	for _, res := range sets {
		at := Child{APIVersion: res.GetApiVersion(), Kind: res.GetKind(), Namespace: namespaceOr(res.GetNamespace()), Name: res.GetName()}
		written := r.writtenObject(at, read)
		if written != nil {
			at.File, at.Line = written.File, written.Line
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
			d.Line = lineOf(written, err, at.Line)
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
