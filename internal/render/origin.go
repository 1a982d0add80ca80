package render

import (
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	kustypes "sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Origin says where a rendered object comes from, so a finding about it can
// point at the file to edit.
type Origin struct {
	// File is the repository-relative file the object was read from, or
	// the kustomization file whose generator made it. Empty when unknown
	// (an object from a remote base).
	File string `json:"file,omitempty"`
	// Kind and Name are the object's kind and name as rendered; Locate
	// finds the object in File allowing for the prefixes, suffixes, hashes
	// and namespace names kustomize applied.
	Kind string `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
	// Generator is set for a generated object: the generator's kind, such
	// as ConfigMapGenerator, whose entry named Name made it.
	Generator string `json:"generator,omitempty"`
	// Release is set for an object a HelmRelease installs: the
	// HelmRelease's namespace/name. File is then the HelmRelease's file,
	// and Kind and Name are the object's.
	Release string `json:"helmRelease,omitempty"`
	// ResourceSet is set for an object a Flux Operator ResourceSet
	// generates, as Release is.
	ResourceSet string `json:"resourceSet,omitempty"`
}

// trackOrigins makes kustomize record where each object of the root at dir
// comes from, by adding originAnnotations to the root kustomization's
// buildMetadata. It tells whether it added it, in which case the
// annotations are removed again once read, so the output does not change.
func trackOrigins(fsys *kfs.FS, dir string) bool {
	kfile, ok := kustomizationFileIn(fsys, dir)
	if !ok {
		return false
	}
	data, err := fsys.ReadFile(fsys.Abs(kfile))
	if err != nil {
		return false
	}
	node, err := kyaml.Parse(string(data))
	if err != nil || node.YNode().Kind != kyaml.MappingNode {
		return false // kustomize reports it
	}
	field, err := node.Pipe(kyaml.LookupCreate(kyaml.SequenceNode, "buildMetadata"))
	if err != nil {
		return false
	}
	for _, v := range field.Content() {
		if v.Value == kustypes.OriginAnnotations {
			return false
		}
	}
	if err := field.PipeE(kyaml.Append(&kyaml.Node{Kind: kyaml.ScalarNode, Value: kustypes.OriginAnnotations})); err != nil {
		return false
	}
	out, err := node.String()
	if err != nil {
		return false
	}
	fsys.SetFile(kfile, []byte(out))
	return true
}

// origins reads where each object of m comes from, relative to the
// repository, and removes the annotations kustomize recorded it in when
// trackOrigins added them.
func origins(m resourceSet, dir string, injected bool) ([]Origin, error) {
	out := make([]Origin, 0, m.Size())
	for _, res := range m.Resources() {
		o, err := res.GetOrigin()
		if err != nil {
			return nil, err
		}
		var or Origin
		switch {
		case o == nil || o.Repo != "":
		case o.ConfiguredIn != "":
			or = Origin{File: path.Join(dir, o.ConfiguredIn), Kind: res.GetKind(), Name: res.GetName(), Generator: o.ConfiguredBy.Kind}
		case o.Path != "":
			or = Origin{File: path.Join(dir, o.Path), Kind: res.GetKind(), Name: res.GetName()}
		}
		out = append(out, or)
		if injected {
			if err := res.SetOrigin(nil); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Locate finds the object in its file: the mapping node it is written as
// (line numbers counted from the start of the file) — for a generated
// object, its generator's entry in the kustomization file. It returns nil
// when the file cannot be read or holds no such object. An object a
// HelmRelease installs is located at the HelmRelease, one a ResourceSet
// generates at the ResourceSet.
func (o Origin) Locate(tree repo.Tree) *yaml.Node {
	if o.File == "" {
		return nil
	}
	if o.Release != "" {
		_, name, _ := strings.Cut(o.Release, "/")
		return Origin{File: o.File, Kind: "HelmRelease", Name: name}.Locate(tree)
	}
	if o.ResourceSet != "" {
		_, name, _ := strings.Cut(o.ResourceSet, "/")
		return Origin{File: o.File, Kind: "ResourceSet", Name: name}.Locate(tree)
	}
	data, err := tree.ReadFile(o.File)
	if err != nil {
		return nil
	}
	var candidates []*yaml.Node
	var names []string
	if o.Generator != "" {
		field := map[string]string{"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}[o.Generator]
		var doc yaml.Node
		if field == "" || yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			return nil
		}
		if list := manifest.Lookup(doc.Content[0], field); list != nil {
			for _, g := range list.Content {
				candidates = append(candidates, g)
				names = append(names, manifest.Scalar(g, "name"))
			}
		}
	} else {
		for _, d := range manifest.Split(data) {
			obj, err := manifest.Decode(o.File, d)
			if err != nil || obj.Kind != o.Kind {
				continue
			}
			candidates = append(candidates, obj.Node())
			names = append(names, obj.Name)
		}
	}
	return bestMatch(o.Name, candidates, names)
}

// bestMatch picks the candidate whose name is the rendered name, or else
// the longest name the rendered one contains (a prefix, suffix or hash was
// added), or else the only candidate.
func bestMatch(name string, candidates []*yaml.Node, names []string) *yaml.Node {
	var best *yaml.Node
	bestLen := -1
	for i, n := range names {
		switch {
		case n == name:
			return candidates[i]
		case n != "" && strings.Contains(name, n) && len(n) > bestLen:
			best, bestLen = candidates[i], len(n)
		}
	}
	if best == nil && len(candidates) == 1 {
		return candidates[0]
	}
	return best
}

// inferOrigins finds where each object comes from without kustomize's
// origin tracking, which after every transformer rewrites an annotation on
// every object: a third of a build. It follows the kustomization files of
// the root at dir as kustomize did, collects the resource files they list
// and the generators they declare, and matches each object to one by kind
// and name, allowing for the prefixes, suffixes and hashes kustomize adds,
// as Locate does. It reads only files the build read.
//
// The objects are as kustomize built them (builtObjects), before a Flux
// Kustomization's post-build substitution: a name written as ${APP} is
// matched as written, and the origin names the object as kustomize's
// tracking would.
func inferOrigins(built []declared, fsys *kfs.FS, dir string) []Origin {
	src := originSources{fsys: fsys, seen: map[string]bool{}}
	src.walk(dir)
	out := make([]Origin, 0, len(built))
	for _, b := range built {
		out = append(out, src.match(b.apiVersion, b.kind, b.namespace, b.name))
	}
	return out
}

// builtObjects returns the identity of each object of m, in order.
func builtObjects(m resourceSet) []declared {
	out := make([]declared, 0, m.Size())
	for _, res := range m.Resources() {
		out = append(out, declared{apiVersion: res.GetApiVersion(), kind: res.GetKind(), namespace: res.GetNamespace(), name: res.GetName()})
	}
	return out
}

// originSources are the objects and generators a root's kustomization
// files declare.
type originSources struct {
	fsys    *kfs.FS
	seen    map[string]bool
	objects []declared
	gens    []declared
}

// declared is an object as written in a resource file, or a generator's
// entry in a kustomization file.
type declared struct {
	file, generator, apiVersion, kind, namespace, name string
	used                                               bool
}

func (s *originSources) walk(dir string) {
	if s.seen[dir] {
		return
	}
	s.seen[dir] = true
	kfile, ok := kustomizationFileIn(s.fsys, dir)
	if !ok {
		return
	}
	data, err := s.fsys.ReadFile(s.fsys.Abs(kfile))
	if err != nil {
		return
	}
	var k kustypes.Kustomization
	if sigsyaml.Unmarshal(data, &k) != nil {
		return
	}
	k.FixKustomization()
	for _, r := range k.Resources {
		if kfs.IsRemote(r) {
			continue
		}
		p := path.Join(dir, r)
		if s.fsys.IsDir(s.fsys.Abs(p)) {
			s.walk(p)
		} else {
			s.readObjects(p)
		}
	}
	for _, c := range k.Components {
		if !kfs.IsRemote(c) {
			s.walk(path.Join(dir, c))
		}
	}
	for _, g := range k.ConfigMapGenerator {
		s.gens = append(s.gens, declared{file: kfile, generator: "ConfigMapGenerator", kind: "ConfigMap", namespace: g.Namespace, name: g.Name})
	}
	for _, g := range k.SecretGenerator {
		s.gens = append(s.gens, declared{file: kfile, generator: "SecretGenerator", kind: "Secret", namespace: g.Namespace, name: g.Name})
	}
}

func (s *originSources) readObjects(file string) {
	data, err := s.fsys.ReadFile(s.fsys.Abs(file))
	if err != nil {
		return
	}
	for _, d := range manifest.Split(data) {
		// Most documents read as block YAML in a fraction of the parser's
		// time, as discovery reads them (FuzzScanDoc holds that reader to
		// the parser).
		if t, ok := scanDoc(d); ok {
			s.objects = append(s.objects, declared{file: file, apiVersion: t.APIVersion, kind: t.Kind, namespace: t.Namespace, name: t.Name})
		} else if o, err := manifest.Decode(file, d); err == nil {
			s.objects = append(s.objects, declared{file: file, apiVersion: o.APIVersion, kind: o.Kind, namespace: o.Namespace, name: o.Name})
		}
	}
}

// match finds the declaration of a rendered object: an object of its kind
// written under its name, else a generator of its kind whose name it holds,
// else the object of its kind with the longest name it holds (a prefix or
// suffix was added). Ties go to the declaration not matched yet, then to
// the same API version, then to the same namespace.
func (s *originSources) match(apiVersion, kind, namespace, name string) Origin {
	var best *declared
	bestScore := 0
	consider := func(d *declared, score int) {
		score <<= 3
		if !d.used {
			score += 4
		}
		if d.apiVersion == apiVersion {
			score += 2
		}
		if d.namespace == namespace {
			score++
		}
		if score > bestScore {
			best, bestScore = d, score
		}
	}
	for i := range s.objects {
		d := &s.objects[i]
		switch {
		case d.kind != kind || d.name == "":
		case d.name == name:
			consider(d, 3<<20)
		case strings.Contains(name, d.name):
			consider(d, len(d.name)<<1)
		}
	}
	for i := range s.gens {
		d := &s.gens[i]
		if d.kind == kind && d.name != "" && strings.Contains(name, d.name) {
			d.apiVersion = apiVersion // a generator makes v1 objects
			consider(d, 1<<20+len(d.name)<<1)
		}
	}
	if best == nil {
		return Origin{}
	}
	best.used = true
	return Origin{File: best.file, Kind: kind, Name: name, Generator: best.generator}
}
