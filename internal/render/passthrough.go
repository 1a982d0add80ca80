package render

import (
	"path"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
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
	rest := *kus
	rest.TypeMeta, rest.Resources = kustypes.TypeMeta{}, nil
	if len(kus.Resources) == 0 || !reflect.ValueOf(rest).IsZero() {
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
	for _, r := range kus.Resources {
		if kfs.IsRemote(r) {
			return nil, false
		}
		data, err := fsys.ReadFile(fsys.Abs(path.Join(dir, r)))
		if err != nil {
			return nil, false // a folder of its own, or a file kustomize reports
		}
		rs, err := decodeSafely(rf, data)
		if err != nil {
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

// configured tells whether an object carries an annotation of kustomize's
// or of the KRM functions' configuration domains (local-config, origin,
// the build's own): kustomize acts on those.
func configured(res *resource.Resource) bool {
	for key := range res.GetAnnotations() {
		if strings.Contains(key, "config.kubernetes.io/") || strings.HasPrefix(key, "kustomize.config.k8s.io/") {
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
