package render

import (
	"bytes"
	"path"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
)

// resourceSet is what the steps after a build need of a root's objects:
// kustomize's ResMap, or a folder's objects passed through (folderObjects).
type resourceSet interface {
	Resources() []*resource.Resource
	Size() int
	// Append adds an object, refusing one whose id another holds.
	Append(*resource.Resource) error
	// Replace puts an object back at its id, refusing an id two hold.
	Replace(*resource.Resource) (int, error)
}

// folderObjects are the objects of a folder passed through. kustomize's
// ResMap checks an object's id against every other's, so it is made only
// when a later step adds or replaces an object (ResourceSets, post-build
// substitution), whose checks are then kustomize-controller's own.
type folderObjects struct {
	list []*resource.Resource
	m    resmap.ResMap
}

func (f *folderObjects) resMap() resmap.ResMap {
	if f.m == nil {
		f.m = resmap.New()
		for _, res := range f.list {
			// The ids were found distinct when the folder was read.
			_ = f.m.Append(res)
		}
		f.list = nil
	}
	return f.m
}

func (f *folderObjects) Resources() []*resource.Resource {
	if f.m != nil {
		return f.m.Resources()
	}
	return slices.Clone(f.list)
}

func (f *folderObjects) Size() int {
	if f.m != nil {
		return f.m.Size()
	}
	return len(f.list)
}

func (f *folderObjects) Append(res *resource.Resource) error { return f.resMap().Append(res) }

func (f *folderObjects) Replace(res *resource.Resource) (int, error) {
	return f.resMap().Replace(res)
}

// passThrough builds, as kustomize does, a Flux root whose kustomization
// (generated, or the file as kustomize-controller rewrites it) lists only
// files, when those hold only Flux objects and Namespaces, none annotated
// for kustomize: kustomize then reads the files, checks no two objects
// share an id and keeps them in the listed order, changing none (it has
// no transformer to run, and no field of its configuration names those
// kinds). It does it in time linear in the objects, where kustomize's
// accumulator compares each object with every other one read before it:
// a cluster folder of a thousand Kustomizations took seconds. ok is false
// for any other root, and for any error, which kustomize then reports as
// it does. TestPassThroughAsKustomize holds the result to kustomize's.
func passThrough(fsys *kfs.FS, dir string, kus *kustypes.Kustomization) (*folderObjects, bool) {
	if !onlyResources(kus) {
		return nil, false
	}
	// kustomize reads the kustomization under each name it knows: the
	// reads of the names absent are what a cached build is checked by.
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		_, _ = fsys.ReadFile(fsys.Abs(path.Join(dir, name)))
	}
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	var list []*resource.Resource
	seen := map[resid.ResId]bool{}
	var texts [][]byte
	for _, r := range kus.Resources {
		if kfs.IsRemote(r) {
			return nil, false
		}
		data, err := fsys.ReadFile(fsys.Abs(path.Join(dir, r)))
		if err != nil {
			return nil, false // a folder of its own, or a file kustomize reports
		}
		texts = append(texts, data)
	}
	// Parsing is most of the work: on every core.
	read := make([][]*resource.Resource, len(texts))
	errs := make([]error, len(texts))
	onCores(len(texts), 8, func(i int) { read[i], errs[i] = readObjects(rf, texts[i]) })
	for i, rs := range read {
		if errs[i] != nil {
			return nil, false
		}
		for _, res := range rs {
			id := res.CurId()
			if !carried(id.Gvk) || configured(res) {
				return nil, false
			}
			// Equal as kustomize compares ids: "" and "default" are one
			// namespace, and none for a cluster-scoped kind.
			key := resid.ResId{Gvk: resid.Gvk{Group: id.Group, Version: id.Version, Kind: id.Kind}, Name: id.Name, Namespace: id.EffectiveNamespace()}
			if seen[key] {
				return nil, false
			}
			seen[key] = true
		}
		list = append(list, rs...)
	}
	// kustomize checks every object's metadata as it drops local-config
	// ones (there are none here).
	nodes := make([]*kyaml.RNode, len(list))
	for i, res := range list {
		nodes[i] = &res.RNode
	}
	if kept, err := rf.DropLocalNodes(nodes); err != nil || len(kept) != len(list) {
		return nil, false
	}
	return &folderObjects{list: list}, true
}

// onlyResources tells whether a kustomization lists resources and sets
// nothing else: kustomize then runs no transformer of its own.
func onlyResources(kus *kustypes.Kustomization) bool {
	rest := *kus
	rest.TypeMeta, rest.Resources = kustypes.TypeMeta{}, nil
	return len(kus.Resources) > 0 && reflect.ValueOf(rest).IsZero()
}

// readObjects reads a file's objects as kustomize's resource factory does
// (SliceFromBytes), without the step that resolves anchors, aliases and
// merge keys when the file has none: that step copies every mapping of
// every object, two fifths of reading a folder of Flux objects. Any
// object the factory would change, expand (a List) or refuse, it leaves
// to the factory. FuzzReadObjects holds it to the factory.
func readObjects(rf *resource.Factory, data []byte) (res []*resource.Resource, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = decodeSafely(rf, data)
		}
	}()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(data), OmitReaderAnnotations: true}).Read()
	if err != nil || slices.ContainsFunc(nodes, factoryOnly) {
		return decodeSafely(rf, data)
	}
	res, err = rf.ResourcesFromRNodes(nodes)
	if err != nil || len(res) != len(nodes) {
		return decodeSafely(rf, data) // a local configuration it drops
	}
	return res, nil
}

// factoryOnly tells whether the resource factory does more with n than
// take it as it is: an empty document it drops, a List it expands, an
// object it refuses, or one whose anchors, aliases, merge keys or
// repeated keys it resolves.
func factoryOnly(n *kyaml.RNode) bool {
	if n.IsNilOrEmpty() || strings.HasSuffix(n.GetKind(), "List") {
		return true
	}
	if _, err := n.GetValidatedMetadata(); err != nil {
		return true
	}
	if nilEntry, _ := n.HasNilEntryInList(); nilEntry {
		return true
	}
	return !unanchored(n.YNode())
}

// unanchored tells whether n and the nodes under it hold no anchor,
// alias or merge key, and no mapping repeats a key or has one that is
// not a string.
func unanchored(n *kyaml.Node) bool {
	if n.Anchor != "" || n.Kind == kyaml.AliasNode || n.Tag == "!!merge" {
		return false
	}
	if n.Kind == kyaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if k := n.Content[i]; !stringKey(k) || k.Value == "<<" {
				return false
			}
		}
		if !distinctKeys(n) {
			return false
		}
	}
	for _, c := range n.Content {
		if !unanchored(c) {
			return false
		}
	}
	return true
}

// distinctKeys tells whether no key of the mapping n repeats another:
// compared pairwise in a small mapping, through a set in a large one.
func distinctKeys(n *kyaml.Node) bool {
	if len(n.Content) <= 64 {
		for i := 2; i < len(n.Content); i += 2 {
			for j := 0; j < i; j += 2 {
				if n.Content[j].Value == n.Content[i].Value {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i < len(n.Content); i += 2 {
		if seen[n.Content[i].Value] {
			return false
		}
		seen[n.Content[i].Value] = true
	}
	return true
}

// The annotation domains of the KRM functions' configuration and of
// kustomize's own, which kustomize acts on.
const (
	configDomain    = "config.kubernetes.io/"
	kustomizeDomain = "kustomize.config.k8s.io/"
)

// configured tells whether an object carries an annotation of kustomize's
// or of the KRM functions' configuration domains (local-config, origin,
// the build's own): kustomize acts on those.
func configured(res *resource.Resource) bool {
	for key := range res.GetAnnotations() {
		if strings.Contains(key, configDomain) || strings.HasPrefix(key, kustomizeDomain) {
			return true
		}
	}
	return false
}

// carried tells whether kustomize, running no transformer, leaves objects
// of kind gvk as it read them: its name-reference configuration, the one
// step it runs on every build, names none of Flux's kinds, nor
// Namespaces.
func carried(gvk resid.Gvk) bool {
	if gvk.Group == "" {
		return gvk.Kind == "Namespace"
	}
	return strings.HasSuffix(gvk.Group, ".fluxcd.io") || gvk.Group == "fluxcd.controlplane.io"
}

// plainChildren reads the children of a parent of a cluster's walk
// without building it, when its build passes files through (passThrough)
// that discovery found plain: every object in them a Flux Kustomization
// or GitRepository, built as it is written. Its children are then those
// objects as written, which is all the walk needs of the parent; its
// objects render when the command asks for them. ok is false for any
// other root, which renders, and for a root whose render this run or the
// cache already holds, which costs less than the files.
func (e *Engine) plainChildren(r *Repository, root Root) (*Result, bool) {
	k := root.Kustomization
	if k == nil || root.At != nil || k.Spec.PostBuild != nil || len(r.plain) == 0 || e.kustomizeOrigins || e.noPassThrough {
		return nil, false
	}
	if _, ok := e.results.Load(onceKey(root)); ok {
		return nil, false
	}
	filter := e.sourceFilter(r, root)
	if _, ok := e.lookup(e.cacheKey(r, root, nil, filter), root); ok {
		return nil, false
	}
	fsys := kfs.New(e.tree, e.abs, e.opts.AllowRemote)
	if filter != nil {
		fsys.SetHidden(filter.hidden)
	}
	if e.checkFluxPath(root, filter) != nil {
		return nil, false
	}
	kus, _, existing, err := findOrGenerateKustomization(fsys, root.Path)
	if err != nil || applyFluxSpec(fsys, k, root.Path, kus, existing) != nil {
		return nil, false
	}
	if !onlyResources(kus) {
		return nil, false
	}
	read := map[string]bool{}
	seen := map[[4]string]bool{}
	var children []Child
	for _, res := range kus.Resources {
		f := path.Join(root.Path, res)
		objs, plain := r.plain[f]
		if kfs.IsRemote(res) || !plain || len(objs) == 0 {
			return nil, false
		}
		// Found as the build finds it: a file the source leaves out is
		// not there.
		if abs := fsys.Abs(f); !fsys.Exists(abs) || fsys.IsDir(abs) {
			return nil, false
		}
		read[f] = true
		for _, c := range objs {
			// kustomize's id, where an object without a namespace is in
			// "default"; Flux refuses an object without a name.
			id := [4]string{c.APIVersion, c.Kind, namespaceOr(c.Namespace), c.Name}
			if c.Name == "" || seen[id] {
				return nil, false
			}
			seen[id] = true
			children = append(children, c)
		}
	}
	if lintKustomizations(fsys) != nil {
		return nil, false
	}
	written := r.writtenIn(read)
	for i := range children {
		if o := written.find(children[i]); o != nil {
			children[i].File, children[i].Line = o.File, o.Line
		}
	}
	return &Result{Root: root, Children: children}, true
}
