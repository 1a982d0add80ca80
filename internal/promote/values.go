package promote

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// valuesImage is an image that Helm values set in an overlay file: a
// HelmRelease's spec.values, or a values file the overlay's
// configMapGenerator makes into the ConfigMap of a valuesFrom. It is found
// as Renovate's helm-values manager finds one: a mapping with a tag or a
// digest whose key names an image (image, or a key ending in image or
// Image) or that has a repository, or a whole reference at an image: key.
// Its owner and the path of the values tell one image from another, so a
// staging overlay's values.image.tag goes to prod's values.image.tag.
type valuesImage struct {
	file  string
	line  int
	owner valuesOwner
	// path is the path of the mapping, or of the whole reference, in its
	// file ("spec.values.image").
	path string
	// repo is registry/repository (or repository) of a mapping, the name
	// of a whole reference; it may be empty.
	repo        string
	tag, digest *scalar
	whole       *scalar
}

// valuesOwner is what holds the values: a HelmRelease, or a generated
// ConfigMap and the key of its values file.
type valuesOwner struct {
	kind, name, namespace, key string
}

// same tells whether two owners are one: same kind, name and key, and the
// same namespace when both are written (an overlay's namespace
// transformer often sets it).
func (o valuesOwner) same(p valuesOwner) bool {
	return o.kind == p.kind && o.name == p.name && o.key == p.key && (o.namespace == "" || p.namespace == "" || o.namespace == p.namespace)
}

func (o valuesOwner) String() string {
	s := o.kind + " " + o.name
	if o.namespace != "" {
		s = o.kind + " " + o.namespace + "/" + o.name
	}
	if o.key != "" {
		s += " " + o.key
	}
	return s
}

// release names where the image is set, for messages.
func (v *valuesImage) release() string { return v.owner.String() }

// image names the image in changes and skips: its repository, else its
// HelmRelease and path.
func (v *valuesImage) image() string {
	if v.repo != "" {
		return v.repo
	}
	return v.release() + " " + v.path
}

// sameRelease tells whether two images are set by the same owner at the
// same path.
func (v *valuesImage) sameRelease(o *valuesImage) bool {
	return v.owner.same(o.owner) && v.path == o.path
}

// version returns the tag and digest the image is set to.
func (v *valuesImage) version() (tag, digest string) {
	if v.whole != nil {
		_, tag, digest = splitRef(v.whole.value())
		return tag, digest
	}
	if v.tag != nil {
		tag = v.tag.value()
	}
	if v.digest != nil {
		digest = v.digest.value()
	}
	return tag, digest
}

// marked tells whether a field of the image carries a $imagepolicy
// marker: those are carried by policy.
func (v *valuesImage) marked() bool {
	for _, s := range []*scalar{v.tag, v.digest, v.whole} {
		if s != nil && s.mark != nil {
			return true
		}
	}
	return false
}

// findValues adds to y the images the HelmReleases of its documents roots
// set in their values, and their tag, digest and whole-reference scalars
// to its candidate scalars.
func findValues(y *yamlFile, roots []*yaml.Node) {
	byNode := map[*yaml.Node]*scalar{}
	for _, s := range y.scalars {
		byNode[s.node] = s
	}
	for doc, r := range roots {
		root := r
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode || scalarAt(root, "kind") != "HelmRelease" ||
			!strings.HasPrefix(scalarAt(root, "apiVersion"), "helm.toolkit.fluxcd.io/") {
			continue
		}
		meta := manifest.Lookup(root, "metadata")
		spec := manifest.Lookup(root, "spec")
		values := manifest.Lookup(spec, "values")
		if meta == nil || values == nil {
			continue
		}
		f := valuesFinder{y: y, byNode: byNode, doc: doc,
			owner: valuesOwner{kind: "HelmRelease", name: scalarAt(meta, "name"), namespace: scalarAt(meta, "namespace")}}
		flow := root.Style&yaml.FlowStyle != 0 || spec.Style&yaml.FlowStyle != 0
		f.walk(values, "spec.values", "values", flow)
	}
}

// generated is a values file a kustomization's configMapGenerator makes
// into a ConfigMap: files: [KEY=]PATH.
type generated struct {
	owner valuesOwner
	// path is the file's path, joined to the kustomization's directory.
	path string
}

// generatedFiles lists the files k's configMapGenerator reads.
func generatedFiles(k *kustomization) []generated {
	gens := manifest.Lookup(k.root, "configMapGenerator")
	if gens == nil || gens.Kind != yaml.SequenceNode {
		return nil
	}
	dir := path.Dir(k.file)
	var out []generated
	for _, g := range gens.Content {
		list := manifest.Lookup(g, "files")
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for _, f := range list.Content {
			if !isScalar(f) {
				continue
			}
			key, file, ok := strings.Cut(f.Value, "=")
			if !ok {
				key, file = path.Base(f.Value), f.Value
			}
			out = append(out, generated{
				owner: valuesOwner{kind: "ConfigMap", name: scalarAt(g, "name"), namespace: scalarAt(g, "namespace"), key: key},
				path:  path.Join(dir, file),
			})
		}
	}
	return out
}

// findGenerated adds the images of the values files that k's
// configMapGenerator makes into ConfigMaps, among files, as findValues
// does for HelmReleases.
func findGenerated(k *kustomization, files []*yamlFile) {
	byPath := map[string]*yamlFile{}
	for _, y := range files {
		byPath[y.path] = y
	}
	for _, g := range generatedFiles(k) {
		y := byPath[g.path]
		if y == nil || len(y.roots) != 1 || len(y.values) > 0 {
			continue
		}
		root := y.roots[0]
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode || manifest.Lookup(root, "apiVersion") != nil {
			continue
		}
		byNode := map[*yaml.Node]*scalar{}
		for _, s := range y.scalars {
			byNode[s.node] = s
		}
		vf := valuesFinder{y: y, byNode: byNode, owner: g.owner}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if kn := root.Content[i]; kn.Kind == yaml.ScalarNode {
				vf.walk(root.Content[i+1], kn.Value, kn.Value, root.Style&yaml.FlowStyle != 0)
			}
		}
	}
}

type valuesFinder struct {
	y      *yamlFile
	byNode map[*yaml.Node]*scalar
	doc    int
	owner  valuesOwner
}

func (f *valuesFinder) walk(n *yaml.Node, path, key string, flow bool) {
	flow = flow || n.Style&yaml.FlowStyle != 0
	switch n.Kind {
	case yaml.MappingNode:
		if tag, digest := manifest.Lookup(n, "tag"), manifest.Lookup(n, "digest"); (isScalar(tag) || isScalar(digest)) &&
			(namesImage(key) || isScalar(manifest.Lookup(n, "repository"))) {
			v := f.image(n.Line, path)
			v.repo = scalarAt(n, "repository")
			if reg := scalarAt(n, "registry"); reg != "" && v.repo != "" {
				v.repo = reg + "/" + v.repo
			}
			if isScalar(tag) {
				v.tag = f.scalar(tag, path+".tag", "tag", flow)
			}
			if isScalar(digest) {
				v.digest = f.scalar(digest, path+".digest", "digest", flow)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode {
				f.walk(n.Content[i+1], path+"."+k.Value, k.Value, flow)
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			f.walk(c, path+"["+strconv.Itoa(i)+"]", "", flow)
		}
	case yaml.ScalarNode:
		if key == "image" && n.Tag != "!!null" && n.Value != "" {
			v := f.image(n.Line, path)
			v.whole = f.scalar(n, path, key, flow)
			v.repo, _, _ = splitRef(n.Value)
		}
	}
}

func (f *valuesFinder) image(line int, path string) *valuesImage {
	v := &valuesImage{file: f.y.path, line: line, owner: f.owner, path: path}
	f.y.values = append(f.y.values, v)
	return v
}

// scalar returns the candidate scalar of node n, adding it to the file's.
func (f *valuesFinder) scalar(n *yaml.Node, path, key string, flow bool) *scalar {
	if s, ok := f.byNode[n]; ok {
		return s
	}
	s := &scalar{file: f.y.path, doc: f.doc, path: path, key: key, node: n, flow: flow}
	f.byNode[n] = s
	f.y.scalars = append(f.y.scalars, s)
	return s
}

// namesImage tells whether a values key names an image.
func namesImage(key string) bool {
	return key == "image" || strings.HasSuffix(key, "image") || strings.HasSuffix(key, "Image")
}

func isScalar(n *yaml.Node) bool { return n != nil && n.Kind == yaml.ScalarNode }

func scalarAt(n *yaml.Node, key string) string {
	if c := manifest.Lookup(n, key); isScalar(c) && c.Tag != "!!null" {
		return c.Value
	}
	return ""
}

// readValues collects the source's HelmRelease value images, leaving out
// those carried by policy.
func (s *source) readValues(ys []*yamlFile) error {
	for _, y := range ys {
		for _, v := range y.values {
			if v.marked() {
				continue
			}
			tag, digest := v.version()
			for _, part := range []string{tag, digest} {
				if why := yamlscalar.Check(part); why != "" {
					return diag.Errorf(v.file, v.line, "%s %s cannot be promoted: %s", v.release(), v.path, why)
				}
			}
			s.values = append(s.values, v)
		}
	}
	return nil
}

// planValues carries the version of a source HelmRelease values image to
// the target's image of the same HelmRelease and path: a whole reference
// keeps its name and gets the version; a mapping's tag gets the tag and
// its digest the digest (empty when the source sets none, as Flux writes a
// digest marker, so that an old digest does not pin the old image).
func (p *planner) planValues(u *valuesImage) error {
	tag, digest := u.version()
	if tag == "" && digest == "" {
		p.skips = append(p.skips, Skip{File: u.file, Line: u.line, Image: u.image(),
			Reason: fmt.Sprintf("%s %s sets no tag or digest, so it has no version to promote", u.release(), u.path)})
		return nil
	}
	from := fmt.Sprintf("%s:%d", u.file, u.line)
	found := false
	for _, y := range p.allFiles() {
		for _, t := range y.values {
			if !t.sameRelease(u) {
				continue
			}
			found = true
			if err := p.wantValues(u, t, tag, digest, from); err != nil {
				return err
			}
		}
	}
	if !found {
		p.skips = append(p.skips, Skip{File: u.file, Line: u.line, Image: u.image(),
			Reason: fmt.Sprintf("the target overlay does not set %s of %s, so it keeps what its bases set: set it there to promote it", u.path, u.release())})
	}
	return nil
}

func (p *planner) wantValues(u, t *valuesImage, tag, digest, from string) error {
	if t.whole != nil {
		repo, _, _ := splitRef(t.whole.value())
		return p.wantScalar(t.whole, joinRef(repo, tag, digest), u.image(), from)
	}
	if tag != "" {
		if t.tag == nil {
			p.skips = append(p.skips, Skip{File: t.file, Line: t.line, Image: u.image(),
				Reason: fmt.Sprintf("%s %s in the target sets no tag, so the tag %s is not promoted: add it", t.release(), t.path, tag)})
		} else if err := p.wantScalar(t.tag, tag, u.image(), from); err != nil {
			return err
		}
	}
	switch {
	case t.digest != nil:
		return p.wantScalar(t.digest, digest, u.image(), from)
	case digest != "":
		p.skips = append(p.skips, Skip{File: t.file, Line: t.line, Image: u.image(),
			Reason: fmt.Sprintf("%s %s in the target sets no digest, so the digest %s is not promoted: add it", t.release(), t.path, digest)})
	}
	return nil
}
