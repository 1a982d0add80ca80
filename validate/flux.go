package validate

import (
	"fmt"
	"path"
	"sort"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/imagepolicy"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// fluxIndex holds the Flux objects the repository's roots render, by
// cluster, then Kind/namespace/name: two clusters may each define an
// object of the same name, differently.
type fluxIndex struct {
	objects  map[string]*object // cluster + "\x00" + Kind/namespace/name
	anywhere map[string]*object // Kind/namespace/name, in any cluster
}

// sorted returns the objects, one per cluster and name, in key order.
func (x fluxIndex) sorted() []*object {
	var out []*object
	for _, key := range sortedKeys(x.objects) {
		out = append(out, x.objects[key])
	}
	return out
}

// lookup finds what from refers to: an object of its cluster, or of a
// root no cluster applies; for an object of such a root, one of any
// cluster.
func (x fluxIndex) lookup(from *object, kind, namespace, name string) (*object, bool) {
	key := kind + "/" + namespace + "/" + name
	cluster := from.root.Root.ClusterName()
	if o, ok := x.objects[cluster+"\x00"+key]; ok {
		return o, true
	}
	if o, ok := x.objects["\x00"+key]; ok {
		return o, true
	}
	if cluster == "" {
		o, ok := x.anywhere[key]
		return o, ok
	}
	return nil, false
}

// fluxObjects indexes the Flux objects of every rendered root, from the
// roots' cached facts, once per Run.
func (c *checker) fluxObjects() (fluxIndex, error) {
	c.flux.once.Do(func() { c.flux.idx, c.flux.err = c.indexFlux() })
	return c.flux.idx, c.flux.err
}

func (c *checker) indexFlux() (fluxIndex, error) {
	idx := fluxIndex{objects: map[string]*object{}, anywhere: map[string]*object{}}
	for _, res := range c.in.Results {
		if res.Err != nil {
			continue
		}
		objs, err := c.fluxOf(res)
		if err != nil {
			return fluxIndex{}, err
		}
		for _, o := range objs {
			key := o.node.GetKind() + "/" + namespace(o.node) + "/" + o.node.GetName()
			idx.objects[res.Root.ClusterName()+"\x00"+key] = o
			idx.anywhere[key] = o
		}
	}
	return idx, nil
}

func group(apiVersion string) string {
	if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

func namespace(n *kyaml.RNode) string {
	if ns := n.GetNamespace(); ns != "" {
		return ns
	}
	return "default"
}

// field reads the scalar at path (mapping keys, and sequence indices as
// numbers), or "".
func field(n *kyaml.RNode, path ...string) string {
	y := manifest.Path(n.YNode(), path...)
	if y == nil || y.Kind != kyaml.ScalarNode {
		return ""
	}
	return y.Value
}

// checkPatterns compiles every ImagePolicy's filterTags pattern and checks
// its extract, as image-reflector-controller would.
func checkPatterns(c *checker) error {
	idx, err := c.fluxObjects()
	if err != nil {
		return err
	}
	for _, o := range idx.sorted() {
		if o.node.GetKind() != "ImagePolicy" {
			continue
		}
		pattern, extract := field(o.node, "spec", "filterTags", "pattern"), field(o.node, "spec", "filterTags", "extract")
		if err := imagepolicy.CompilePattern(pattern, extract); err != nil {
			at := "pattern"
			if pattern != "" && strings.Contains(err.Error(), "extract") {
				at = "extract"
			}
			c.addObject("imagepolicy-pattern", o, []string{"spec", "filterTags", at}, fmt.Sprintf("ImagePolicy %s/%s: %v", namespace(o.node), o.node.GetName(), err))
		}
	}
	return nil
}

// checkReferences checks that what Flux objects refer to is defined: the
// sources of Kustomizations and image automations, the Kustomizations they
// depend on, the ImageRepository of each ImagePolicy, and paths in this
// repository.
func checkReferences(c *checker) error {
	idx, err := c.fluxObjects()
	if err != nil {
		return err
	}
	for _, o := range idx.sorted() {
		ns := namespace(o.node)
		switch o.node.GetKind() {
		case "Kustomization":
			if k := selfCopy(o); k != nil {
				c.addReference(o, nil, fmt.Sprintf("Kustomization %s applies a copy of itself, %s/%s: its spec.path holds the file it is written in, and its targetNamespace moves the copy, which Flux reconciles on its own, looking for its source and dependencies in %s%s",
					k.ID(), ns, o.node.GetName(), ns, selfApplyFix(c.in.Repository, k)))
				continue
			}
			c.refer(idx, o, []string{"spec", "sourceRef"}, ns)
			deps, _ := o.node.Pipe(kyaml.Lookup("spec", "dependsOn"))
			for i := range elements(deps) {
				p := []string{"spec", "dependsOn", fmt.Sprint(i)}
				name, depNS := field(o.node, append(p, "name")...), field(o.node, append(p, "namespace")...)
				if depNS == "" {
					depNS = ns
				}
				if _, ok := idx.lookup(o, "Kustomization", depNS, name); !ok {
					c.addReference(o, p, fmt.Sprintf("Kustomization %s/%s depends on Kustomization %s/%s, %s", ns, o.node.GetName(), depNS, name, c.undefined(depNS, name)))
				}
			}
		case "ImagePolicy":
			name := field(o.node, "spec", "imageRepositoryRef", "name")
			refNS := field(o.node, "spec", "imageRepositoryRef", "namespace")
			if refNS == "" {
				refNS = ns
			}
			if _, ok := idx.lookup(o, "ImageRepository", refNS, name); !ok {
				c.addReference(o, []string{"spec", "imageRepositoryRef", "name"},
					fmt.Sprintf("ImagePolicy %s/%s refers to ImageRepository %s/%s, which is not defined in this repository", ns, o.node.GetName(), refNS, name))
			}
		case "ImageUpdateAutomation":
			src := c.refer(idx, o, []string{"spec", "sourceRef"}, ns)
			c.checkUpdatePath(o, src)
		}
	}
	return nil
}

// undefined says why a Kustomization a dependency names is not among
// those of its cluster: written where the cluster's tree does not reach
// (an app left out of its parent's list, which Flux would wait for as
// not found), or not written at all.
func (c *checker) undefined(ns, name string) string {
	for _, k := range c.in.Repository.Flux {
		if k.Namespace() == ns && k.Name() == name {
			return fmt.Sprintf("which %s writes but this cluster's tree does not apply", k.Object.File)
		}
	}
	return "which is not defined in this repository"
}

// selfCopy returns the Kustomization whose root renders o, when o is that
// Kustomization's own file moved into another namespace: a ks.yaml whose
// spec.path is its own folder, with a targetNamespace
// (brettinternet/homeops' rook-ceph-tools). Nil otherwise.
func selfCopy(o *object) *render.Kustomization {
	k := o.root.Root.Kustomization
	if k == nil || o.node.GetName() != k.Name() || namespace(o.node) == k.Namespace() || o.origin.File != k.Object.File {
		return nil
	}
	return k
}

// addReference reports a flux-reference finding about o: an error, or a
// warning when no cluster's tree applies o's root, as a build failure
// there is: nothing deploys the object, so what it names fails nothing
// yet (a Kustomization left in an archive folder).
func (c *checker) addReference(o *object, path []string, msg string) {
	if !c.reportable(o) {
		return
	}
	f := rawFinding{Finding: c.objectFinding("flux-reference", o, path, msg)}
	if c.in.Repository.Unreached(o.root.Root) {
		f.Default = Warning
		f.Message += "; no cluster's tree applies it"
	}
	c.addRaw(f)
}

// refer checks the object reference at path and returns what it names.
func (c *checker) refer(idx fluxIndex, o *object, at []string, ns string) *object {
	kind, name, refNS := field(o.node, append(at, "kind")...), field(o.node, append(at, "name")...), field(o.node, append(at, "namespace")...)
	if refNS == "" {
		refNS = ns
	}
	if kind == "" || name == "" {
		return nil // the schema rule reports a missing required field
	}
	target, ok := idx.lookup(o, kind, refNS, name)
	if _, known := c.in.Repository.Sources[kind+"/"+refNS+"/"+name]; !ok && known {
		return nil // written in a file no root renders, or made by a FluxInstance's sync
	}
	if !ok && kind == "ExternalArtifact" && c.in.Repository.MakesArtifact(refNS, name) {
		return nil // an ArtifactGenerator makes it
	}
	if !ok {
		c.addReference(o, at, fmt.Sprintf("%s %s/%s refers to %s %s/%s, which is not defined in this repository",
			o.node.GetKind(), ns, o.node.GetName(), kind, refNS, name))
	}
	return target
}

// checkUpdatePath checks an ImageUpdateAutomation's update.path exists when
// its GitRepository is this repository.
func (c *checker) checkUpdatePath(o *object, src *object) {
	p := field(o.node, "spec", "update", "path")
	if src == nil || p == "" || !c.isLocalSource(src) {
		return
	}
	rel := path.Clean(strings.TrimPrefix(p, "./"))
	if _, err := c.in.Tree.Stat(rel); err != nil {
		c.addReference(o, []string{"spec", "update", "path"},
			fmt.Sprintf("ImageUpdateAutomation %s/%s updates %s, which is not a path of this repository", namespace(o.node), o.node.GetName(), p))
	}
}

// isLocalSource tells whether a rendered source object is this repository.
func (c *checker) isLocalSource(src *object) bool {
	s, ok := c.in.Repository.Sources[src.node.GetKind()+"/"+namespace(src.node)+"/"+src.node.GetName()]
	return ok && c.in.Repository.IsLocal(s)
}

func elements(n *kyaml.RNode) []*kyaml.Node {
	if n == nil || n.YNode().Kind != kyaml.SequenceNode {
		return nil
	}
	return n.YNode().Content
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
