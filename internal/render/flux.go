package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// FluxGroup is the API group of Flux Kustomizations.
const FluxGroup = "kustomize.toolkit.fluxcd.io"

// SourceGroup is the API group of Flux's sources.
const SourceGroup = "source.toolkit.fluxcd.io"

// Kustomization is a Flux Kustomization object found in the repository.
type Kustomization struct {
	// Object is where it is written.
	Object *manifest.Object
	// Spec is its spec, read with kustomize-controller's v1 types: every
	// served version shares these fields, and fields only an older version
	// had are dropped by the API server, as they are here.
	Spec kustomizev1.KustomizationSpec
	// SpecJSON is the spec in canonical JSON, for cache keys: as written,
	// or as the parent renders it.
	SpecJSON []byte
	// Parent is the Kustomization that applies it, when it was reached by
	// walking a cluster's tree; its spec, name and namespace are then the
	// parent's render of it. Nil for one read as it is written.
	Parent *Kustomization
	// Cluster is the cluster whose walk reached it, or whose entry point it
	// is.
	Cluster *Cluster

	name, namespace string // as rendered, when not as written
	// base is the folder of the repository its source's artifact holds,
	// when that is not the root: spec.path is relative to it.
	base string
}

// ID names the Kustomization as namespace/name.
func (k *Kustomization) ID() string { return k.Namespace() + "/" + k.Name() }

// Name is the Kustomization's name.
func (k *Kustomization) Name() string {
	if k.name != "" {
		return k.name
	}
	return k.Object.Name
}

// Namespace is the Kustomization's namespace, "default" when unset.
func (k *Kustomization) Namespace() string {
	if k.namespace != "" {
		return k.namespace
	}
	return namespaceOr(k.Object.Namespace)
}

// Path is spec.path cleaned and relative to the repository root, as
// kustomize-controller joins it to the artifact's root (securejoin): an
// absolute path starts at the root, and ".." never climbs above it, so
// "../../apps" is "apps". For an artifact pushed from a folder of the
// repository, the root is that folder.
func (k *Kustomization) Path() string {
	c := strings.TrimPrefix(path.Clean("/"+k.Spec.Path), "/")
	if k.base != "" {
		return path.Join(k.base, c)
	}
	if c == "" {
		return "."
	}
	return c
}

// LeavesSource tells whether spec.path climbs above the source's root,
// which Flux clamps to the root (Path) but is likely a mistake.
func (k *Kustomization) LeavesSource() bool {
	c := path.Clean(strings.TrimPrefix(k.Spec.Path, "/"))
	return c == ".." || strings.HasPrefix(c, "../")
}

// SourceID is the sourceRef as Kind/namespace/name, the namespace defaulting
// to the Kustomization's own.
func (k *Kustomization) SourceID() string {
	ns := k.Spec.SourceRef.Namespace
	if ns == "" {
		ns = k.Namespace()
	}
	return k.Spec.SourceRef.Kind + "/" + ns + "/" + k.Spec.SourceRef.Name
}

// decodeKustomization reads a Flux Kustomization object from its spec as
// JSON.
func decodeKustomization(o *manifest.Object, spec json.RawMessage) (*Kustomization, *diag.Error) {
	if spec == nil {
		return nil, diag.Errorf(o.File, o.Line, "Kustomization %s has no spec", o.ID())
	}
	k := &Kustomization{Object: o, SpecJSON: spec}
	if err := json.Unmarshal(spec, &k.Spec); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			line := o.LineOf(append([]string{"spec"}, strings.Split(te.Field, ".")...)...)
			return nil, diag.Errorf(o.File, line, "Kustomization %s: spec.%s: a %s where Flux wants %s: Flux refuses the object, and nothing it would apply is rendered",
				o.ID(), te.Field, te.Value, jsonKind(te.Type))
		}
		return nil, diag.Errorf(o.File, o.Line, "Kustomization %s: spec: %v: Flux refuses the object, and nothing it would apply is rendered", o.ID(), err)
	}
	return k, nil
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "a mapping"
	}
	return t.String()
}

// writeFluxKustomization places in fsys, in front of the tree, the
// kustomization file kustomize-controller builds for k at dir: the one
// already there (or one generated from the directory's YAML files), with the
// Kustomization's targetNamespace, namePrefix, nameSuffix, patches,
// components, images and buildMetadata applied. It returns the file, and
// whether it was generated.
func writeFluxKustomization(fsys *kfs.FS, k *Kustomization, dir string) (kus *kustypes.Kustomization, generated bool, err error) {
	kus, kfile, existing, err := findOrGenerateKustomization(fsys, dir)
	if err != nil {
		return nil, false, err
	}
	return kus, !existing, writeFlux(fsys, k, dir, kus, kfile, existing)
}

func writeFlux(fsys *kfs.FS, k *Kustomization, dir string, kus *kustypes.Kustomization, kfile string, existing bool) error {
	if err := applyFluxSpec(fsys, k, dir, kus, existing); err != nil {
		return err
	}
	out, err := sigsyaml.Marshal(kus)
	if err != nil {
		return err
	}
	fsys.SetFile(kfile, out)
	return nil
}

// applyFluxSpec edits the kustomization of a Flux Kustomization's folder
// as kustomize-controller does before it builds: with the spec's
// targetNamespace, name prefix and suffix, patches, components, images
// and build metadata.
func applyFluxSpec(fsys *kfs.FS, k *Kustomization, dir string, kus *kustypes.Kustomization, existing bool) error {
	if existing && len(kus.Resources) == 0 {
		// kustomize-controller does this so an empty resource list builds.
		kus.BuildMetadata = []string{kustypes.OriginAnnotations}
	}
	s := k.Spec
	if s.TargetNamespace != "" {
		kus.Namespace = s.TargetNamespace
	}
	if s.NamePrefix != "" {
		kus.NamePrefix = s.NamePrefix
	}
	if s.NameSuffix != "" {
		kus.NameSuffix = s.NameSuffix
	}
	for _, p := range s.Patches {
		patch := kustypes.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			patch.Target = &kustypes.Selector{
				ResId:              resid.ResId{Gvk: resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind}, Name: t.Name, Namespace: t.Namespace},
				LabelSelector:      t.LabelSelector,
				AnnotationSelector: t.AnnotationSelector,
			}
		}
		kus.Patches = append(kus.Patches, patch)
	}
	for _, c := range s.Components {
		if kfs.IsRemote(c) || filepath.IsAbs(c) {
			return diag.Errorf(k.Object.File, k.Object.Line, "Kustomization %s: component path %q must be local and relative", k.ID(), c)
		}
		if s.IgnoreMissingComponents && !fsys.Exists(fsys.Abs(path.Join(dir, c))) {
			continue
		}
		kus.Components = append(kus.Components, c)
	}
	for _, img := range s.Images {
		mergeImage(kus, img.Name, img.NewName, img.NewTag, img.Digest)
	}
	if len(s.BuildMetadata) > 0 {
		kus.BuildMetadata = kus.BuildMetadata[:0]
		for _, b := range s.BuildMetadata {
			kus.BuildMetadata = append(kus.BuildMetadata, string(b))
		}
	}
	return nil
}

// mergeImage applies one Flux images entry: an entry for the same image is
// updated field by field (a new tag or digest replaces both), a new image is
// appended.
func mergeImage(kus *kustypes.Kustomization, name, newName, newTag, digest string) {
	i := slices.IndexFunc(kus.Images, func(x kustypes.Image) bool { return x.Name == name })
	if i < 0 {
		kus.Images = append(kus.Images, kustypes.Image{Name: name, NewName: newName, NewTag: newTag, Digest: digest})
		return
	}
	if newName != "" {
		kus.Images[i].NewName = newName
	}
	if newTag != "" || digest != "" {
		kus.Images[i].NewTag, kus.Images[i].Digest = newTag, digest
	}
}

// findOrGenerateKustomization returns the kustomization file at dir, or, when
// there is none, one listing the directory's YAML files and the
// sub-directories that hold a kustomization file, as Flux generates it.
// existing tells which; kfile is the file's repository-relative path.
func findOrGenerateKustomization(fsys *kfs.FS, dir string) (kus *kustypes.Kustomization, kfile string, existing bool, err error) {
	kus = &kustypes.Kustomization{TypeMeta: kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind}}
	if kfile, ok := kustomizationFileIn(fsys, dir); ok {
		data, err := fsys.ReadFile(fsys.Abs(kfile))
		if err != nil {
			return nil, "", false, err
		}
		if err := sigsyaml.Unmarshal(data, kus); err != nil {
			if d, ok := manifest.SyntaxErrorOf(kfile, data); ok {
				return nil, "", false, d
			}
			return nil, "", false, diag.Errorf(kfile, 0, "%v", err)
		}
		return kus, kfile, true, nil
	}
	files, err := scanManifests(fsys, dir, false)
	if err != nil {
		return nil, "", false, err
	}
	if len(files) == 0 {
		// Flux's way to keep an empty directory buildable.
		kus.Namespace = "_placeholder"
	}
	kus.Resources = files
	return kus, path.Join(dir, konfig.DefaultKustomizationFileName()), false, nil
}

// kustomizationFileIn returns the kustomization file in dir, trying the
// names kustomize recognizes in its order.
func kustomizationFileIn(fsys *kfs.FS, dir string) (string, bool) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, name)
		abs := fsys.Abs(p)
		if fsys.Exists(abs) && !fsys.IsDir(abs) {
			return p, true
		}
	}
	return "", false
}

// scanManifests lists, relative to dir and in walk order, the YAML files
// under dir and the sub-directories that hold a kustomization file (those
// are not descended into). With decode, a file that does not decode as
// Kubernetes objects is an error, as kustomize-controller's generator
// reports it; without, kustomize finds it when it builds (and
// Engine.kustomize scans again for the controller's message).
func scanManifests(fsys *kfs.FS, dir string, decode bool) ([]string, error) {
	base := fsys.Abs(dir)
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	var paths []string
	err := fsys.Walk(base, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == base {
			return nil
		}
		rel := "./" + filepath.ToSlash(strings.TrimPrefix(p, base+string(filepath.Separator)))
		if info.IsDir() {
			for _, name := range konfig.RecognizedKustomizationFileNames() {
				kp := filepath.Join(p, name)
				if fsys.Exists(kp) && !fsys.IsDir(kp) {
					paths = append(paths, rel)
					return filepath.SkipDir
				}
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if filepath.Dir(p) == base && slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(p)) {
			return nil // the one generated: a directory with its own is not scanned
		}
		if !decode {
			paths = append(paths, rel)
			return nil
		}
		data, err := fsys.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := decodeSafely(rf, data); err != nil {
			relFile, _ := strings.CutPrefix(rel, "./")
			return diag.Errorf(path.Join(dir, relFile), 0, "failed to decode Kubernetes YAML: %v", err)
		}
		paths = append(paths, rel)
		return nil
	})
	return paths, err
}

// decodeSafely parses YAML into kustomize resources; kustomize's parser can
// panic on odd input, which is turned into an error.
func decodeSafely(rf *resource.Factory, data []byte) (res []*resource.Resource, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize panicked parsing the file: %v", r)
		}
	}()
	return rf.SliceFromBytes(data)
}
