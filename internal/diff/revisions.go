package diff

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// Side is one side of a comparison: a tree's engine and what it found.
type Side struct {
	Engine     *render.Engine
	Repository *render.Repository
}

// RootDiff is what a change does to one render root.
type RootDiff struct {
	Path          string `json:"path"`
	Kustomization string `json:"kustomization,omitempty"`
	// Cluster tells apart the roots of a repository with several
	// clusters.
	Cluster string `json:"cluster,omitempty"`
	// Status says the root exists on one side only: "added" or "removed".
	Status  string   `json:"status,omitempty"`
	Changes []Change `json:"changes"`
	// MovedFrom is the root's folder on the base side, when its
	// Kustomization's spec.path changed.
	MovedFrom string `json:"movedFrom,omitempty"`
	// BaseError is why the root did not render on the base side; its
	// objects then all show as added.
	BaseError string `json:"baseError,omitempty"`
	// Charts are the root's HelmReleases whose chart version changed.
	Charts []ChartChange `json:"charts,omitempty"`
	// Unrendered are the root's HelmReleases whose objects the diff
	// cannot show, and leaves out on both sides.
	Unrendered []Unrendered `json:"unrendered,omitempty"`
}

// Unrendered is a HelmRelease not rendered on a side of a diff: its chart
// out of reach or offline, a wrong chart or values, a suspended release.
type Unrendered struct {
	// HelmRelease is its namespace/name.
	HelmRelease string `json:"helmRelease"`
	// Side is where it is not rendered: "head", "base" or "both".
	Side string `json:"side"`
	// Reason is why, on the head side when it is not rendered there.
	Reason string `json:"reason"`
}

// unrenderedReleases finds the HelmReleases of head that do not render
// on a side, and which of them render on the other: those objects are
// left out, so that a chart the head cannot fetch (a version that does
// not exist, a registry out of reach) does not show as every object of
// the release removed, nor one the base could not as all added.
func unrenderedReleases(base, head *render.Result) (left map[string]bool, out []Unrendered) {
	before := map[string]*render.Release{}
	if base != nil && base.Err == nil {
		for _, r := range base.Releases {
			before[r.ID()] = r
		}
	}
	left = map[string]bool{}
	for _, r := range head.Releases {
		b, both := before[r.ID()]
		switch {
		case !r.Rendered() && both && !b.Rendered():
			out = append(out, Unrendered{HelmRelease: r.ID(), Side: "both", Reason: notRendered(r)})
		case !r.Rendered():
			out = append(out, Unrendered{HelmRelease: r.ID(), Side: "head", Reason: notRendered(r)})
			if both {
				left[r.ID()] = true
			}
		case both && !b.Rendered():
			out = append(out, Unrendered{HelmRelease: r.ID(), Side: "base", Reason: notRendered(b)})
			left[r.ID()] = true
		}
	}
	return left, out
}

// notRendered is why a release has no objects.
func notRendered(r *render.Release) string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return r.Unchecked
}

// oneSided counts the HelmReleases that render on one side only.
func oneSided(us []Unrendered) int {
	n := 0
	for _, u := range us {
		if u.Side != "both" {
			n++
		}
	}
	return n
}

// ChartChange is a HelmRelease whose chart version changed.
type ChartChange struct {
	// HelmRelease is its namespace/name.
	HelmRelease string `json:"helmRelease"`
	// Cluster is the cluster of the root that applies it, when the
	// repository has several.
	Cluster string `json:"cluster,omitempty"`
	Chart   string `json:"chart"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// chartChanges lists the HelmReleases both results render whose chart
// version differs, in the head's order.
func chartChanges(base, head *render.Result) []ChartChange {
	if base == nil {
		return nil
	}
	before := map[string]*render.Release{}
	for _, r := range base.Releases {
		before[r.ID()] = r
	}
	var out []ChartChange
	for _, r := range head.Releases {
		b, ok := before[r.ID()]
		if ok && b.Version != "" && r.Version != "" && (b.Version != r.Version || b.ChartName != r.ChartName) {
			out = append(out, ChartChange{HelmRelease: r.ID(), Cluster: clusterOf(head.Root), Chart: r.ChartName, From: b.Version, To: r.Version})
		}
	}
	return out
}

// ChartChanges lists every root's chart changes.
func ChartChanges(diffs []RootDiff) []ChartChange {
	var out []ChartChange
	for _, d := range diffs {
		out = append(out, d.Charts...)
	}
	return out
}

// Name is how the root is named for people.
func (d RootDiff) Name() string {
	if d.Kustomization == "" {
		return safetext.Text(d.Path)
	}
	s := safetext.Text(d.Path) + " (Kustomization " + safetext.Text(d.Kustomization)
	if d.Cluster != "" {
		s += ", cluster " + safetext.Text(d.Cluster)
	}
	return s + ")"
}

// clusterOf names a root's cluster when the repository has several.
func clusterOf(r render.Root) string {
	if r.Cluster == nil || !r.Cluster.Named {
		return ""
	}
	return r.Cluster.Name
}

// Count returns the number of changes of each action.
func (d RootDiff) Count() (added, changed, removed int) {
	for _, c := range d.Changes {
		switch c.Action {
		case Added:
			added++
		case Changed:
			changed++
		case Removed:
			removed++
		}
	}
	return
}

// HeadError is a root that does not render on the head side: the change
// breaks it, unless Before.
type HeadError struct {
	Root render.Root
	Err  error
	// Before is set when the root does not render on the base side either,
	// for the same reason: the change does not break it, and what the
	// change does to it is not known.
	Before bool
}

func (e *HeadError) Error() string { return fmt.Sprintf("%s: %v", e.Root, e.Err) }

// Revisions compares the roots at or under dirs ("." for all) between two
// sides. A root whose rendered output is the same bytes on both sides is not
// parsed. Roots that differ come back in path order; roots that render the
// same are left out.
func Revisions(ctx context.Context, base, head Side, dirs []string, opts Options) ([]RootDiff, []*HeadError, error) {
	baseRoots, err := selectRoots(base.Repository, dirs)
	if err != nil {
		return nil, nil, err
	}
	headRoots, err := selectRoots(head.Repository, dirs)
	if err != nil {
		return nil, nil, err
	}
	baseRoots, headRoots = leaveUnapplied(base.Repository, baseRoots, head.Repository, headRoots)
	// What the change cannot touch is told from the files first, then
	// from what earlier renders in the cache observed; the rest renders
	// on both sides at once.
	candidates := sameSpec(baseRoots, headRoots)
	alike, dependent := head.Engine.Scope(base.Engine, base.Repository, head.Repository, candidates)
	skip := func(r render.Root) bool {
		id := rootID(r)
		return alike[id] || dependent[id]
	}
	// What another shard's roots give this shard's is not rendered here:
	// when one of those may have changed, the dependents render anyway.
	elsewhere := false
	if !opts.Shard.Whole() {
		weights := base.Repository.Weights(baseRoots)
		maps.Copy(weights, head.Repository.Weights(headRoots))
		mine := opts.Shard.Take(weights)
		other := func(r render.Root) bool { return !mine[rootID(r)] }
		elsewhere = slices.ContainsFunc(headRoots, func(r render.Root) bool { return other(r) && !skip(r) }) ||
			slices.ContainsFunc(baseRoots, func(r render.Root) bool { return other(r) && !skip(r) })
		headRoots = slices.DeleteFunc(headRoots, other)
		baseRoots = slices.DeleteFunc(baseRoots, other)
		candidates = slices.DeleteFunc(candidates, other)
		maps.DeleteFunc(dependent, func(id string, _ bool) bool { return !mine[id] })
	}
	candidates = slices.DeleteFunc(candidates, skip)
	same := unchanged(base, head, candidates)
	skip = func(r render.Root) bool {
		id := rootID(r)
		return alike[id] || dependent[id] || same[id]
	}
	headRoots = slices.DeleteFunc(headRoots, skip)
	baseRoots = slices.DeleteFunc(baseRoots, skip)
	var headRes, baseRes []*render.Result
	var g errgroup.Group
	g.Go(func() (err error) {
		headRes, err = head.Engine.Render(ctx, head.Repository, headRoots)
		return err
	})
	g.Go(func() (err error) {
		baseRes, err = base.Engine.Render(ctx, base.Repository, baseRoots)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	if len(dependent) > 0 && (elsewhere || exportsDiffer(baseRes, headRes)) {
		// What the rendered roots give the others changed: the roots
		// reading it render on both sides too.
		deps := func(side Side) ([]*render.Result, error) {
			var roots []render.Root
			for _, r := range side.Repository.Roots {
				if dependent[rootID(r)] {
					roots = append(roots, r)
				}
			}
			return side.Engine.Render(ctx, side.Repository, roots)
		}
		more, err := deps(head)
		if err != nil {
			return nil, nil, err
		}
		headRes = append(headRes, more...)
		if more, err = deps(base); err != nil {
			return nil, nil, err
		}
		baseRes = append(baseRes, more...)
	}
	opts.Secrets = append(opts.Secrets, render.SecretValues(baseRes)...)
	opts.Secrets = append(opts.Secrets, render.SecretValues(headRes)...)

	byID := map[string]*render.Result{}
	byFlux := map[string]*render.Result{}
	for _, r := range baseRes {
		byID[rootID(r.Root)] = r
		if id := fluxID(r.Root); id != "" {
			byFlux[id] = r
		}
	}
	var out []RootDiff
	var broken []*HeadError
	for _, h := range headRes {
		b, ok := byID[rootID(h.Root)]
		moved := ""
		if id := fluxID(h.Root); !ok && id != "" {
			// The same Kustomization with another spec.path: Flux applies
			// the new folder's objects in place of the old one's, so they
			// are compared, not all removed and added.
			if m := byFlux[id]; m != nil {
				if _, unmatched := byID[rootID(m.Root)]; unmatched {
					b, moved = m, m.Root.Path
				}
			}
		}
		if b != nil {
			delete(byID, rootID(b.Root))
		}
		if h.Err != nil {
			broken = append(broken, &HeadError{Root: h.Root, Err: h.Err, Before: b != nil && b.Err != nil && b.Err.Error() == h.Err.Error()})
			continue
		}
		d := RootDiff{Path: h.Root.Path, Kustomization: h.Root.KustomizationID(), Cluster: clusterOf(h.Root), MovedFrom: moved}
		if b != nil && b.Err == nil && b.Digest != "" && b.Digest == h.Digest {
			continue // printed alike, without reading either
		}
		left, unrendered := unrenderedReleases(b, h)
		after, err := h.YAMLWithout(left)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", h.Root, err)
		}
		var before []byte
		switch {
		case b == nil:
			d.Status = "added"
		case b.Err != nil:
			d.BaseError = b.Err.Error()
		default:
			if before, err = b.YAMLWithout(left); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", b.Root, err)
			}
			if bytes.Equal(before, after) && oneSided(unrendered) == 0 {
				continue
			}
		}
		if err := d.compare(before, after, opts); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", h.Root, err)
		}
		d.Charts = chartChanges(b, h)
		if len(d.Changes) > 0 || d.Status != "" || len(d.Charts) > 0 || oneSided(unrendered) > 0 {
			d.Unrendered = unrendered
			out = append(out, d)
		}
	}
	for _, b := range baseRes {
		if _, gone := byID[rootID(b.Root)]; !gone || b.Err != nil {
			continue
		}
		d := RootDiff{Path: b.Root.Path, Kustomization: b.Root.KustomizationID(), Cluster: clusterOf(b.Root), Status: "removed"}
		before, err := b.YAML()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", b.Root, err)
		}
		if err := d.compare(before, nil, opts); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", b.Root, err)
		}
		out = append(out, d)
	}
	SortRoots(out)
	return out, broken, nil
}

// sameSpec returns the roots of head that base defines alike: the same
// root, with the same Kustomization spec.
func sameSpec(baseRoots, headRoots []render.Root) []render.Root {
	baseSpec := map[string]string{}
	for _, r := range baseRoots {
		baseSpec[rootID(r)] = specOf(r)
	}
	var out []render.Root
	for _, r := range headRoots {
		if spec, ok := baseSpec[rootID(r)]; ok && spec == specOf(r) {
			out = append(out, r)
		}
	}
	return out
}

// unchanged names, by rootID, the candidates whose cached render tells
// that they render alike on both sides: neither side needs to render
// them.
func unchanged(base, head Side, candidates []render.Root) map[string]bool {
	same := map[string]bool{}
	for i, s := range head.Engine.Unchanged(base.Engine, head.Repository, candidates) {
		if s {
			same[rootID(candidates[i])] = true
		}
	}
	return same
}

// exportsDiffer tells whether the rendered roots give other roots
// something else on the two sides (render.Result.Exports): a root on one
// side only counts when it exports anything.
func exportsDiffer(base, head []*render.Result) bool {
	exports := map[string]string{}
	for _, r := range base {
		exports[rootID(r.Root)] = r.Exports()
	}
	for _, r := range head {
		id := rootID(r.Root)
		if exports[id] != r.Exports() {
			return true
		}
		delete(exports, id)
	}
	for _, e := range exports {
		if e != "" {
			return true
		}
	}
	return false
}

func specOf(r render.Root) string {
	if r.Kustomization == nil {
		return ""
	}
	return string(r.Kustomization.SpecJSON)
}

func (d *RootDiff) compare(before, after []byte, opts Options) error {
	bd, ad := withoutCommon(manifest.Split(before), manifest.Split(after))
	b, err := parseObjects(bd)
	if err != nil {
		return err
	}
	a, err := parseObjects(ad)
	if err != nil {
		return err
	}
	d.Changes, err = Objects(b, a, opts)
	if d.Changes == nil {
		d.Changes = []Change{}
	}
	return err
}

// withoutCommon leaves out the documents both sides print alike: they are
// the same objects, unchanged, and most of a changed root.
func withoutCommon(before, after []manifest.Doc) ([]manifest.Doc, []manifest.Doc) {
	count := make(map[string]int, len(before))
	for _, doc := range before {
		count[string(doc.Text)]++
	}
	common := map[string]int{}
	for _, doc := range after {
		if t := string(doc.Text); count[t] > common[t] {
			common[t]++
		}
	}
	if len(common) == 0 {
		return before, after
	}
	keep := func(docs []manifest.Doc) []manifest.Doc {
		left := maps.Clone(common)
		var out []manifest.Doc
		for _, doc := range docs {
			if t := string(doc.Text); left[t] > 0 {
				left[t]--
				continue
			}
			out = append(out, doc)
		}
		return out
	}
	return keep(before), keep(after)
}

// parseObjects reads rendered documents into objects.
func parseObjects(docs []manifest.Doc) ([]Object, error) {
	var out []Object
	for _, doc := range docs {
		var o Object
		if err := sigsyaml.Unmarshal(doc.Text, &o); err != nil {
			return nil, err
		}
		if o != nil {
			out = append(out, o)
		}
	}
	return out, nil
}

// selectRoots returns the roots at or under dirs; a directory may exist on
// one side only.
func selectRoots(r *render.Repository, dirs []string) ([]render.Root, error) {
	seen := map[string]bool{}
	var out []render.Root
	for _, d := range dirs {
		roots, err := r.Select([]string{d})
		if err != nil {
			continue
		}
		for _, root := range roots {
			if id := rootID(root); !seen[id] {
				seen[id] = true
				out = append(out, root)
			}
		}
	}
	return out, nil
}

func rootID(r render.Root) string { return r.Key() }

// fluxID names the Kustomization a root renders, in its cluster: the same
// object whatever folder its spec.path names. "" for a root that is a
// folder only.
func fluxID(r render.Root) string {
	if r.Kustomization == nil {
		return ""
	}
	return r.KustomizationID() + "\x00" + r.ClusterName()
}

// leaveUnapplied leaves out, of each side, the roots no tree of theirs
// applies (read as written: an app taken out of its parent's list) that a
// tree of the other side does apply: the change removes (or adds) that
// app, which the other side's root says; its copy read as written is
// deployed by nothing, and would show as a root added (or removed).
func leaveUnapplied(b *render.Repository, baseRoots []render.Root, h *render.Repository, headRoots []render.Root) ([]render.Root, []render.Root) {
	applied := func(r *render.Repository, roots []render.Root) map[string]bool {
		out := map[string]bool{}
		for _, root := range roots {
			if !r.Unreached(root) {
				out[appOf(root)] = true
			}
		}
		return out
	}
	inBase, inHead := applied(b, baseRoots), applied(h, headRoots)
	baseRoots = slices.DeleteFunc(baseRoots, func(root render.Root) bool { return b.Unreached(root) && inHead[appOf(root)] })
	headRoots = slices.DeleteFunc(headRoots, func(root render.Root) bool { return h.Unreached(root) && inBase[appOf(root)] })
	return baseRoots, headRoots
}

// appOf names what a root deploys whoever applies it: its path and its
// Kustomization's name (its namespace may be its parent's).
func appOf(r render.Root) string {
	if r.Kustomization == nil {
		return r.Path
	}
	return r.Path + "\x00" + r.Kustomization.Name()
}

// SortRoots orders diffs by path, then Kustomization: the order Revisions
// gives.
func SortRoots(ds []RootDiff) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Path != ds[j].Path {
			return ds[i].Path < ds[j].Path
		}
		return ds[i].Kustomization < ds[j].Kustomization
	})
}
