package render

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/kustomize/api/resmap"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// OperatorGroup is the API group of the Flux Operator's FluxInstance and
// ResourceSet.
const OperatorGroup = "fluxcd.controlplane.io"

// Cluster is one cluster the repository describes: the Kustomization Flux
// reconciles it from, and every Kustomization reached from there, each as
// its parent renders it.
type Cluster struct {
	// Name tells the clusters of a repository apart: the directory the
	// entry point syncs (clusters/production), or the name .gitops.yaml
	// gives.
	Name string
	// Entry is the Kustomization the cluster starts from: the one `flux
	// bootstrap` writes, the one a FluxInstance's spec.sync makes, or one
	// .gitops.yaml declares.
	Entry *Kustomization
	// Named is set when the repository describes several clusters, so
	// roots name theirs.
	Named bool
}

// Child is a Flux object a root renders: a Kustomization it applies, or a
// source one may refer to. It is what the walk from a cluster's entry
// point needs of a render, kept with the render in the cache.
type Child struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Spec is the object's spec as rendered, as JSON.
	Spec json.RawMessage
	// File and Line are where the object is written, when known.
	File string
	Line int
}

// isChild tells the kinds the walk reads from renders.
func isChild(group, kind string) bool {
	switch group {
	case FluxGroup:
		return kind == "Kustomization"
	case GeneratorGroup:
		return kind == "ArtifactGenerator"
	case SourceGroup:
		return isSource(kind) || kind == "HelmRepository" || kind == "HelmChart"
	case HelmGroup:
		return kind == "HelmRelease"
	}
	return false
}

// isSource tells the kinds of source a Kustomization may read.
func isSource(kind string) bool {
	return kind == "GitRepository" || kind == "OCIRepository" || kind == "Bucket" || kind == "ExternalArtifact"
}

// children picks out of a render the Flux objects the walk follows, each
// located in the file it is written in when one of the files the root read
// holds it.
func (r *Repository) children(m resmap.ResMap, read map[string]bool) []Child {
	var out []Child
	for _, res := range m.Resources() {
		group, _, _ := strings.Cut(res.GetApiVersion(), "/")
		if !isChild(group, res.GetKind()) {
			continue
		}
		c := Child{APIVersion: res.GetApiVersion(), Kind: res.GetKind(), Namespace: res.GetNamespace(), Name: res.GetName()}
		if obj, err := res.Map(); err == nil {
			c.Spec, _ = json.Marshal(obj["spec"])
		}
		if o := r.writtenObject(c, read); o != nil {
			c.File, c.Line = o.File, o.Line
		}
		out = append(out, c)
	}
	return out
}

// writtenObject finds where a rendered Flux object is written: among the
// objects discovery found in the files the render read, the one of its
// kind whose written name is its name, or is within it (a namePrefix or
// nameSuffix); a whole object before a patch laid over it, then one of the
// same name, then one in the same namespace.
func (r *Repository) writtenObject(c Child, read map[string]bool) *manifest.Object {
	var best *manifest.Object
	score := 0
	for _, o := range r.fluxObjects {
		if o.Kind != c.Kind || !read[o.File] || !strings.Contains(c.Name, o.Name) {
			continue
		}
		s := 1
		if !r.patches[o] {
			s += 4
		}
		if o.Name == c.Name {
			s += 2
		}
		if o.Namespace == c.Namespace {
			s++
		}
		if s > score {
			best, score = o, s
		}
	}
	return best
}

// kustomizationOf reads a rendered child Kustomization: its spec as the
// parent renders it, its name and namespace as the cluster gets them, and
// where it is written (the parent's file when not known).
func kustomizationOf(c Child, parent *Kustomization, cluster *Cluster, r *Repository) (*Kustomization, error) {
	obj := r.objectAt(c)
	if obj == nil {
		obj = parent.Object
	}
	// A namespaced object without a namespace fails to apply; "default" is
	// what the API server would give it under kubectl.
	k := &Kustomization{Object: obj, SpecJSON: c.Spec, name: c.Name, namespace: namespaceOr(c.Namespace), Parent: parent, Cluster: cluster}
	if err := json.Unmarshal(c.Spec, &k.Spec); err != nil {
		return nil, fmt.Errorf("Kustomization %s as %s renders it: spec: %w", k.ID(), parent.ID(), err)
	}
	return k, nil
}

// object names a rendered child as rendered, where it is written.
func (c Child) object() *manifest.Object {
	return &manifest.Object{File: c.File, Line: c.Line, APIVersion: c.APIVersion, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name}
}

// objectAt returns the object discovery found where c is written.
func (r *Repository) objectAt(c Child) *manifest.Object {
	if c.File == "" {
		return nil
	}
	for _, o := range r.fluxObjects {
		if o.File == c.File && o.Line == c.Line {
			return o
		}
	}
	return nil
}

// sourceOf reads a rendered child source.
func sourceOf(c Child, r *Repository) *Source {
	var spec struct {
		URL    string       `json:"url"`
		Ignore *string      `json:"ignore"`
		Ref    *repo.GitRef `json:"ref"`
	}
	_ = json.Unmarshal(c.Spec, &spec)
	s := &Source{Object: c.object(), URL: spec.URL, Ignore: spec.Ignore, Spec: c.Spec}
	if spec.Ref != nil {
		s.Ref = *spec.Ref
	}
	return s
}

// Expand walks every cluster's tree from its entry point, as the
// controllers reconcile it: each Kustomization a root renders is rendered
// in turn, with its spec, name and namespace as the parent renders them
// (after the parent's namespace, patches, substitution and
// commonMetadata), not as its file reads. The roots become the roots the
// walks reached, the Flux Kustomizations no walk reached read as written,
// and the leaf overlays no root covers. A repository without an entry
// point keeps the roots discovery found.
func (e *Engine) Expand(ctx context.Context, r *Repository) error {
	if len(r.Clusters) == 0 {
		if e.opts.Charts != nil {
			e.artifactRoots(ctx, r)
		}
		return nil
	}
	if e.opts.Charts != nil {
		r.artifact = func(s *Source) (*Revision, string) { return e.ociArtifact(ctx, s) }
	}
	reached := map[*manifest.Object]bool{}
	tree, failed, err := e.walk(ctx, r, reached)
	if err != nil {
		return err
	}
	covered := map[string]bool{}
	for _, root := range tree {
		p, ok := root.Path, root.At == nil
		if !ok {
			// An artifact's directory is a directory of this repository.
			p, ok = root.At.originalDir(root.Path)
		}
		if !ok {
			continue
		}
		covered[p] = true
		if _, ok := r.Kustomizations[p]; !ok {
			r.coverGenerated(p, covered)
		}
	}
	// A Kustomization written under a root that does not render is what
	// that root would apply: it is named, not rendered as written.
	// An entry point that does not render applies nothing of its source.
	blocker := func(k *Kustomization) (Root, bool) {
		for _, f := range failed {
			entry := f.Cluster != nil && f.Cluster.Entry == f.Kustomization
			if f.Kustomization != k && (f.Path == "." || under(k.Object.File, f.Path) || (entry && k.SourceID() == f.Kustomization.SourceID())) {
				return f, true
			}
		}
		return Root{}, false
	}
	kept := tree
	for _, root := range r.Roots {
		k := root.Kustomization
		switch {
		case k != nil && reached[k.Object]:
		case root.Kustomization == nil && covered[root.Path]:
		case k != nil:
			if f, ok := blocker(k); ok {
				r.Skipped = append(r.Skipped, blocked(k, f))
				reached[k.Object] = true // its other skip reasons no longer hold
				continue
			}
			kept = append(kept, root)
		default:
			kept = append(kept, root)
		}
	}
	for i, s := range r.Skipped {
		if k := s.Kustomization; k.Parent == nil && !s.Blocked && !reached[k.Object] {
			if f, ok := blocker(k); ok {
				r.Skipped[i] = blocked(k, f)
			}
		}
	}
	r.Skipped = slices.DeleteFunc(r.Skipped, func(s Skipped) bool {
		return s.Kustomization.Parent == nil && !s.Blocked && reached[s.Kustomization.Object]
	})
	sortRoots(kept)
	r.Roots = kept
	return nil
}

// blocked says that k is not rendered because failed, the root that
// applies it, does not render.
func blocked(k *Kustomization, failed Root) Skipped {
	return Skipped{Kustomization: k, Blocked: true, Reason: fmt.Sprintf("Kustomization %s, which applies it, does not render", failed.Kustomization.ID())}
}

// clusterWalk is where the walk of one cluster's tree stands.
type clusterWalk struct {
	c    *Cluster
	seen map[string]bool // the Kustomizations met, by ID
	// generators are the cluster's ArtifactGenerators: those its roots
	// render, else those the repository holds.
	generators map[string]*generator
	level      []Root
}

// walk renders every cluster's tree level by level, from its entry point,
// and returns the roots reached and those of them that do not render.
// The clusters go in step: each level renders the parents of every
// cluster at once.
func (e *Engine) walk(ctx context.Context, r *Repository, reached map[*manifest.Object]bool) ([]Root, []Root, error) {
	var walks []*clusterWalk
	for _, c := range r.Clusters {
		walks = append(walks, &clusterWalk{c: c, seen: map[string]bool{c.Entry.ID(): true}, generators: maps.Clone(r.generators),
			level: []Root{{Path: c.Entry.Path(), Kustomization: c.Entry, Cluster: c}}})
		reached[c.Entry.Object] = true
	}
	var out, failed []Root
	for {
		// Only a root that may apply Flux objects has children to
		// follow, and only an entry point or a root with Flux objects
		// written under it blocks others when it fails: the rest render
		// when the command asks for them.
		var parents []Root
		var of []*clusterWalk // the walk of each parent
		for _, w := range walks {
			out = append(out, w.level...)
			for _, root := range w.level {
				if root.Kustomization == w.c.Entry || r.Inputs(root).Flux || r.fluxUnder(root.Path) {
					parents = append(parents, root)
					of = append(of, w)
				}
			}
		}
		if len(parents) == 0 {
			return out, failed, nil
		}
		results, err := e.renderRoots(ctx, r, parents)
		if err != nil {
			return nil, nil, err
		}
		mine := map[*clusterWalk][]*Result{}
		for i, res := range results {
			mine[of[i]] = append(mine[of[i]], res)
		}
		for _, w := range walks {
			failed = append(failed, w.next(r, mine[w], reached)...)
		}
	}
}

// next follows the children of the level's rendered parents to the next
// level, and returns the parents that do not render.
func (w *clusterWalk) next(r *Repository, results []*Result, reached map[*manifest.Object]bool) []Root {
	var next, failed []Root
	for _, res := range results {
		if res.Err != nil {
			failed = append(failed, res.Root)
			continue
		}
		sources := map[string]*Source{}
		for _, ch := range res.Children {
			switch {
			case ch.Kind == "ArtifactGenerator":
				if g, ok := generatorOf(ch.object(), namespaceOr(ch.Namespace), ch.Spec); ok {
					w.generators[g.ID()] = g
					if _, known := r.generators[g.ID()]; !known {
						r.generators[g.ID()] = g
					}
				}
			case isSource(ch.Kind):
				s := sourceOf(ch, r)
				sources[s.ID()] = s
			}
		}
		for _, ch := range res.Children {
			if ch.Kind != "Kustomization" {
				continue
			}
			k, err := kustomizationOf(ch, res.Root.Kustomization, w.c, r)
			if err != nil {
				r.Broken = append(r.Broken, childError(ch, res.Root, err))
				continue
			}
			if w.seen[k.ID()] {
				if d := cycle(k, res.Root.Kustomization); d != nil {
					r.Broken = append(r.Broken, d)
				}
				continue // the entry point applying itself, or a Kustomization met twice
			}
			w.seen[k.ID()] = true
			reached[k.Object] = true
			if root, ok := r.treeRoot(k, sources, w.generators); ok {
				next = append(next, root)
			}
		}
	}
	sortRoots(next)
	w.level = next
	return failed
}

// cycle reports a Kustomization that applies one of the Kustomizations
// that apply it: each would take the other's objects in turn. A
// Kustomization applying itself is the usual bootstrap, not a cycle.
func cycle(k, parent *Kustomization) *diag.Error {
	chain := []string{k.ID()}
	for a := parent; a != nil; a = a.Parent {
		if a.ID() == k.ID() {
			if a == parent {
				return nil
			}
			slices.Reverse(chain)
			return diag.Errorf(k.Object.File, k.Object.Line, "cycle: Kustomization %s applies %s, which applies it (%s)", parent.ID(), k.ID(), strings.Join(append([]string{k.ID()}, chain...), " -> "))
		}
		chain = append(chain, a.ID())
	}
	return nil
}

// artifactRoots makes roots, in a repository without an entry point, of
// the Kustomizations discovery left out because their source is an
// OCIRepository: each renders from its source's artifact, or stays left
// out with the reason the artifact could not be had.
func (e *Engine) artifactRoots(ctx context.Context, r *Repository) {
	kept := r.Skipped[:0]
	added := false
	for _, s := range r.Skipped {
		src, ok := r.Sources[s.Kustomization.SourceID()]
		if !ok || src.Kind() != "OCIRepository" || s.Unsupported || s.Blocked || s.Undefined {
			kept = append(kept, s)
			continue
		}
		at, reason := e.ociArtifact(ctx, src)
		if at == nil {
			s.Reason = reason
			kept = append(kept, s)
			continue
		}
		r.Roots = append(r.Roots, Root{Path: s.Kustomization.Path(), Kustomization: s.Kustomization, At: at})
		added = true
	}
	r.Skipped = kept
	if added {
		sortRoots(r.Roots)
	}
}

// treeRoot decides what becomes of a Kustomization the walk reached: a
// root when its source is this repository, else a Skipped entry saying
// why.
func (r *Repository) treeRoot(k *Kustomization, rendered map[string]*Source, generators map[string]*generator) (Root, bool) {
	if k.Spec.SourceRef.Kind == "ExternalArtifact" {
		at, reason := r.externalArtifact(k, generators, r.localTree)
		if at == nil {
			r.Skipped = append(r.Skipped, Skipped{Kustomization: k, Reason: reason})
			return Root{}, false
		}
		return Root{Path: k.Path(), Kustomization: k, Cluster: k.Cluster, At: at}, true
	}
	id := k.SourceID()
	src, ok := rendered[id]
	if !ok {
		src, ok = r.Sources[id]
	}
	switch {
	case !ok:
		r.Skipped = append(r.Skipped, undefinedSource(k))
		return Root{}, false
	case src.Kind() == "OCIRepository" && r.artifact != nil:
		at, reason := r.artifact(src)
		if at == nil {
			r.Skipped = append(r.Skipped, Skipped{Kustomization: k, Reason: reason})
			return Root{}, false
		}
		return Root{Path: k.Path(), Kustomization: k, Cluster: k.Cluster, At: at}, true
	case !r.IsLocal(src):
		if at, ok := r.otherRevision(src); ok {
			return Root{Path: k.Path(), Kustomization: k, Cluster: k.Cluster, At: at}, true
		}
		r.Skipped = append(r.Skipped, Skipped{Kustomization: k, Reason: r.notLocal(src)})
		return Root{}, false
	}
	return Root{Path: k.Path(), Kustomization: k, Cluster: k.Cluster}, true
}

// originalDir maps a directory of an artifact made of this revision's files
// to the directory its kustomization file, or its first file, was copied
// from.
func (v *Revision) originalDir(dir string) (string, bool) {
	entries, err := v.Tree.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if e.Kind == repo.File {
			if src, ok := v.Original(path.Join(dir, e.Name)); ok {
				return path.Dir(src), true
			}
		}
	}
	return "", false
}

// localTree gives the tree a source of this repository reads: the one
// being rendered, or another revision of it.
func (r *Repository) localTree(s *Source) (*Revision, repo.Tree, bool) {
	if r.IsLocal(s) {
		return nil, r.tree, true
	}
	if at, ok := r.otherRevision(s); ok {
		return at, at.Tree, true
	}
	return nil, nil, false
}

// otherRevision finds the revision a source of this repository on another
// ref reads, in the repository's own objects.
func (r *Repository) otherRevision(s *Source) (*Revision, bool) {
	if s.Kind() != "GitRepository" || !r.own[NormalizeGitURL(s.URL)] || r.revision == nil {
		return nil, false
	}
	tree, what, err := r.revision(s.Ref)
	if err != nil {
		return nil, false
	}
	return &Revision{Tree: tree, What: what}, true
}

// childError places an error about a rendered child at its file, or its
// parent's.
func childError(c Child, parent Root, err error) *diag.Error {
	file, line := c.File, c.Line
	if file == "" && parent.Kustomization != nil {
		file, line = parent.Kustomization.Object.File, parent.Kustomization.Object.Line
	}
	return diag.Errorf(file, line, "%v", err)
}

// sortRoots orders roots by path, then Kustomization, then cluster.
func sortRoots(roots []Root) {
	sort.SliceStable(roots, func(i, j int) bool {
		a, b := roots[i], roots[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.KustomizationID() != b.KustomizationID() {
			return a.KustomizationID() < b.KustomizationID()
		}
		return a.ClusterName() < b.ClusterName()
	})
}

// entryPoints finds the clusters the repository describes: every
// Kustomization that applies itself (its file lies under its own path, as
// `flux bootstrap` writes clusters/NAME/flux-system/gotk-sync.yaml), and
// every FluxInstance, or flux-instance chart's HelmRelease, whose
// spec.sync is this repository; .gitops.yaml's clusters come first.
func (r *Repository) entryPoints(declared []ClusterConfig) {
	byPath := map[string]bool{}
	add := func(name string, k *Kustomization) {
		p := k.Path()
		if byPath[p] {
			return
		}
		byPath[p] = true
		c := &Cluster{Name: name, Entry: k}
		k.Cluster = c
		r.Clusters = append(r.Clusters, c)
	}
	for _, d := range declared {
		k := syncKustomization(d.Object, "flux-system", "flux-system", "GitRepository", d.Path)
		src := &Source{Object: &manifest.Object{File: d.Object.File, Line: d.Object.Line, APIVersion: "source.toolkit.fluxcd.io/v1", Kind: "GitRepository", Namespace: "flux-system", Name: "flux-system"},
			URL: d.URL, Ref: refOf(d.Ref)}
		r.Sources[k.SourceID()] = src
		add(d.Name, k)
	}
	for _, in := range r.instances {
		k := in.entry()
		src := in.source()
		if _, defined := r.Sources[k.SourceID()]; !defined {
			r.Sources[k.SourceID()] = src
		}
		if r.IsLocal(src) {
			add(k.Path(), k)
		}
	}
	for _, k := range r.Flux {
		src, ok := r.Sources[k.SourceID()]
		if !ok || !r.IsLocal(src) || (k.Path() != "." && !under(k.Object.File, k.Path())) {
			continue
		}
		add(k.Path(), k)
	}
	named := len(r.Clusters) > 1
	for _, c := range r.Clusters {
		c.Named = named
	}
}

// WritesFlux tells whether file holds a Flux object discovery read (a
// Kustomization, a source, an entry point).
func (r *Repository) WritesFlux(file string) bool {
	for _, o := range r.fluxObjects {
		if o.File == file {
			return true
		}
	}
	return false
}

// MakesArtifact tells whether an ArtifactGenerator of the repository makes
// the ExternalArtifact namespace/name.
func (r *Repository) MakesArtifact(namespace, name string) bool {
	for _, g := range r.generators {
		for _, a := range g.Spec.Artifacts {
			if g.Namespace == namespace && a.Name == name {
				return true
			}
		}
	}
	return false
}

// UsesOperator tells whether the Flux Operator installs Flux for this
// repository: it holds a FluxInstance, or the flux-instance chart's
// HelmRelease.
func (r *Repository) UsesOperator() bool { return len(r.instances) > 0 }

// ClusterConfig is a cluster .gitops.yaml declares, for a layout neither
// `flux bootstrap` nor the Flux Operator describes.
type ClusterConfig struct {
	Name string
	Path string
	URL  string
	Ref  string
	// Object is where it is declared.
	Object *manifest.Object
}

// instance is the sync of a FluxInstance, or of the flux-instance chart's
// values (instance.sync), which the Flux Operator turns into a source and a
// Kustomization named after the instance's namespace.
type instance struct {
	Object *manifest.Object
	Sync   struct {
		Kind string `json:"kind"`
		URL  string `json:"url"`
		Ref  string `json:"ref"`
		Path string `json:"path"`
		Name string `json:"name"`
	}
}

func (in *instance) namespace() string {
	if in.Object.Namespace != "" {
		return in.Object.Namespace
	}
	return "flux-system"
}

func (in *instance) name() string {
	if in.Sync.Name != "" {
		return in.Sync.Name
	}
	return in.namespace()
}

// entry is the Kustomization the operator makes: prune, from the sync's
// source, at the sync's path; written where the sync's path is.
func (in *instance) entry() *Kustomization {
	k := syncKustomization(in.Object, in.namespace(), in.name(), in.Sync.Kind, in.Sync.Path)
	at := []string{"spec", "sync", "path"}
	if in.Object.Kind == "HelmRelease" {
		at = []string{"spec", "values", "instance", "sync", "path"}
	}
	k.Object.Line = in.Object.LineOf(at...)
	return k
}

// source is the source the operator makes: a GitRepository's ref is the
// full ref name the sync gives (refs/heads/main).
func (in *instance) source() *Source {
	o := &manifest.Object{File: in.Object.File, Line: in.Object.Line, APIVersion: "source.toolkit.fluxcd.io/v1", Kind: in.Sync.Kind, Namespace: in.namespace(), Name: in.name()}
	s := &Source{Object: o, URL: in.Sync.URL}
	if in.Sync.Kind == "GitRepository" {
		s.Ref = repo.GitRef{Name: in.Sync.Ref}
	}
	return s
}

// syncKustomization is a Kustomization a sync declares, written where
// decl is.
func syncKustomization(decl *manifest.Object, ns, name, kind, p string) *Kustomization {
	spec := kustomizev1.KustomizationSpec{Path: p, Prune: true, SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: kind, Name: name}}
	specJSON, _ := json.Marshal(spec)
	o := &manifest.Object{File: decl.File, Line: decl.Line, APIVersion: FluxGroup + "/v1", Kind: "Kustomization", Namespace: ns, Name: name}
	return &Kustomization{Object: o, Spec: spec, SpecJSON: specJSON, name: name, namespace: ns}
}
