package render

import (
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

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
func origins(m resmap.ResMap, dir string, injected bool) ([]Origin, error) {
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
	}
	if injected {
		if err := m.RemoveOriginAnnotations(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Locate finds the object in its file: the mapping node it is written as
// (line numbers counted from the start of the file) — for a generated
// object, its generator's entry in the kustomization file. It returns nil
// when the file cannot be read or holds no such object.
func (o Origin) Locate(tree repo.Tree) *yaml.Node {
	if o.File == "" {
		return nil
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
