// Package render is the render engine every command stands on: it finds
// the render roots of a repository (Flux Kustomizations whose source is this
// repository, and leaf kustomize overlays), builds each one exactly as
// kustomize-controller or `kustomize build` would, from the working tree or
// from any Git revision, records every file each root read, and keeps the
// results in a content-addressed cache so a root whose inputs did not change
// is not built again.
package render

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unique"

	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Options tune an Engine.
type Options struct {
	// Jobs bounds how many roots render at once; 0 means the number of
	// CPUs.
	Jobs int
	// AllowRemote lets kustomizations load remote bases and resources.
	AllowRemote bool
	// NonStrict turns off strict post-build substitution, under which an
	// unset variable without a default is an error. Without it, a root is
	// substituted strictly unless its cluster is known to run a Flux
	// release before strict substitution became the default (strict).
	NonStrict bool
	// Cache, when set, keeps results between runs.
	Cache *cache.Cache
	// Salt separates cache entries of different builds of this program.
	Salt string
	// Origins records where each rendered object comes from
	// (Result.Origins), for findings that point at files.
	Origins bool
	// Limits bound what one root reads (kfs.Limits); zero fields take the
	// defaults.
	Limits kfs.Limits
	// Memo is discovery's memo, shared with the other engines of this
	// repository in the run (OpenMemo); nil has the engine read its own
	// from the cache.
	Memo *Memo
	// Rendered, when set, counts every root and HelmRelease the engine
	// renders (from the cache or not), for a caller showing progress.
	Rendered *atomic.Int64
	// Charts fetches the charts of the HelmReleases roots render; nil
	// leaves HelmReleases as they are written.
	Charts *helm.Fetcher
	// KubeVersion and APIVersions are the capabilities Helm templates
	// see: the cluster's version ("v1.34.0"; empty is Helm's default) and
	// the API versions besides Helm's defaults.
	KubeVersion string
	APIVersions []string
	// LazyParents is for a command that renders only the roots it asks
	// for (a diff): a cluster's walk then reads the children of a parent
	// whose build passes plain files through from discovery's facts
	// (plainChildren), and builds the parent only when asked for it.
	LazyParents bool
	// Filters, when set, shares the source filters (and what they
	// answered) with the other engines of this repository in the run.
	Filters *Filters
	// Flights, when set, has the engines of the run that share it and
	// the cache render each root once at a time (Flights).
	Flights *Flights
	// Releases, when set, shares the cached renders of HelmReleases with
	// the other engines of this repository in the run.
	Releases *Releases
}

// Engine renders the roots of one tree.
type Engine struct {
	tree   repo.Tree
	abs    string
	opts   Options
	checks *kfs.Checks

	ignoreMu sync.Mutex
	ignores  map[string]*sourceFilter // by source ID
	memoOnce sync.Once
	memo     *Memo
	// roots is the roots memo (rootsMemo).
	rootsOnce sync.Once
	roots     *cache.Memo[string]
	// prebuilt are the builds Prebuild started, by directory, each
	// taken by the render of the root there when it is its build.
	prebuiltMu       sync.Mutex
	prebuilt         map[string]*prebuild
	prebuildsStarted int
	stored           atomic.Bool // something was added to the cache
	// releaseMemos are the cached HelmRelease renders, when no
	// Options.Releases shares them.
	releaseMemos Releases
	// results keeps this run's renders, by root and spec: the walk of a
	// cluster's tree renders roots the command renders again.
	results sync.Map
	subsMu  sync.Mutex
	subs    map[string]*Engine // other revisions, by commit
	// artifacts are the OCIRepository artifacts fetched this run, by
	// digest.
	artifacts sync.Map

	// kustomizeOrigins takes origins from kustomize's own tracking instead
	// of inferring them: slower, and the tests' reference for the inference.
	kustomizeOrigins bool
	// noPassThrough builds every root with kustomize: the tests' reference
	// for passThrough.
	noPassThrough bool
}

// New returns an Engine over tree, presenting it to kustomize at abs, the
// repository's absolute path, so that renders of the working tree and of a
// revision are identical.
func New(tree repo.Tree, abs string, opts Options) *Engine {
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	return &Engine{tree: tree, abs: abs, opts: opts, checks: kfs.NewChecks(opts.Limits), ignores: map[string]*sourceFilter{}}
}

// Tree is the tree the engine reads.
func (e *Engine) Tree() repo.Tree { return e.tree }

// Cache is the engine's cache, or nil.
func (e *Engine) Cache() *cache.Cache { return e.opts.Cache }

// Result is one rendered root.
type Result struct {
	Root Root
	// Inputs are the files the render read.
	Inputs []kfs.Input
	// Observations are every answer the render depended on.
	Observations []kfs.Observation
	// Produced are the ConfigMaps and Secrets among the objects.
	Produced []Produced
	// Origins says where each object comes from, in the objects' order,
	// when the engine records origins.
	Origins []Origin
	// Children are the Flux Kustomizations and sources among the objects,
	// which the walk of a cluster's tree follows.
	Children []Child
	// Cached tells that the result came from the cache.
	Cached bool
	// Digest is the SHA-256 of the output, in hex, when the engine has a
	// cache: two results with the same digest print the same.
	Digest string
	// Err is why the root did not render; the other fields are then empty.
	Err error
	// Releases are the HelmReleases among the objects, rendered: their
	// objects follow the root's own in the output.
	Releases []*Release
	// Unrendered are the ResourceSets among the objects whose objects
	// only a cluster can tell; those of the others are among the root's.
	Unrendered []Unrendered
	// Unset are the variables the root's lenient substitution made empty
	// (its cluster runs a Flux release before strict substitution).
	Unset []Unset
	// Outside are the objects, as Kind/namespace/name, the Kustomization
	// substitutes from that no root of the repository renders: they must
	// be the cluster's, and the variables they give stay as written.
	Outside []string
	// Absent are the optional sources, as "Kind namespace/name", the
	// Kustomization substitutes from that no root of the repository
	// renders: Flux leaves them out when the cluster lacks them too, but
	// one made in the cluster (by an operator, by hand) would set
	// variables.
	Absent []string

	// base is the result without its releases' objects.
	base *Result

	// output is the rendered YAML; a result from the cache reads it only
	// when asked for it (a warm validate never is).
	output   []byte
	loadOnce sync.Once
	load     func() ([]byte, error)
	loadErr  error
}

// Own returns the objects the root renders itself, without those of its
// HelmReleases.
func (r *Result) Own() ([]byte, error) {
	if r.base != nil {
		return r.base.YAML()
	}
	return r.YAML()
}

// OwnDigest is the digest of Own's output, when the engine has a cache.
func (r *Result) OwnDigest() string {
	if r.base != nil {
		return r.base.Digest
	}
	return r.Digest
}

// YAML returns the rendered objects as kustomize prints them, then those of
// each HelmRelease rendered.
func (r *Result) YAML() ([]byte, error) {
	if r.load != nil {
		r.loadOnce.Do(func() { r.output, r.loadErr = r.load() })
	}
	return r.output, r.loadErr
}

// Objects returns the rendered objects.
func (r *Result) Objects() ([]*kyaml.RNode, error) {
	data, err := r.YAML()
	if err != nil {
		return nil, err
	}
	return parseOutput(data)
}

// ObjectsOf returns the rendered objects of one API group. Only the
// documents that name the group are parsed, so picking the few image
// automation objects out of a large output stays cheap.
func (r *Result) ObjectsOf(group string) ([]*kyaml.RNode, error) {
	data, err := r.YAML()
	if err != nil {
		return nil, err
	}
	var docs bytes.Buffer
	for _, doc := range manifest.Split(data) {
		if bytes.Contains(doc.Text, []byte(group+"/")) {
			docs.WriteString("---\n")
			docs.Write(doc.Text)
			docs.WriteByte('\n')
		}
	}
	nodes, err := parseOutput(docs.Bytes())
	if err != nil {
		return nil, err
	}
	out := nodes[:0]
	for _, n := range nodes {
		if g, _, ok := strings.Cut(n.GetApiVersion(), "/"); ok && g == group {
			out = append(out, n)
		}
	}
	return out, nil
}

// Render renders roots, at most Jobs at a time, and returns their results in
// the same order, each with the objects of the HelmReleases it renders. A
// root that fails has its Err set; the error returned is only for the
// context ending. The charts of the HelmReleases written in the roots are
// fetched while the roots render, and on cores they leave idle, the
// HelmReleases rendered as written (prefetch).
func (e *Engine) Render(ctx context.Context, r *Repository, roots []Root) ([]*Result, error) {
	ahead := e.prefetch(ctx, r, roots)
	defer func() {
		ahead.stop()
		ahead.wait()
	}()
	results, err := e.renderRoots(ctx, r, roots)
	if err != nil {
		return nil, err
	}
	ahead.stop()
	return e.releases(ctx, r, results)
}

// renderRoots renders roots with kustomize, HelmReleases as written.
func (e *Engine) renderRoots(ctx context.Context, r *Repository, roots []Root) ([]*Result, error) {
	results := make([]*Result, len(roots))
	var pending []int
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.Jobs)
	for i, root := range roots {
		if needsObjects(root) {
			pending = append(pending, i)
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			results[i] = e.renderOnce(ctx, r, root, nil)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(pending) == 0 {
		return results, nil
	}
	var names []string
	for _, i := range pending {
		for _, ref := range roots[i].Kustomization.Spec.PostBuild.SubstituteFrom {
			names = append(names, ref.Name)
		}
	}
	objects, err := e.producedObjects(ctx, r, roots, results, names)
	if err != nil {
		return nil, err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(e.opts.Jobs)
	for _, i := range pending {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			results[i] = e.renderOnce(ctx, r, roots[i], objects)
			return nil
		})
	}
	return results, g.Wait()
}

// renderParents renders the parents of a level of the clusters' walks:
// with LazyParents, those plainChildren reads are not built.
func (e *Engine) renderParents(ctx context.Context, r *Repository, parents []Root) ([]*Result, error) {
	if !e.opts.LazyParents {
		return e.renderRoots(ctx, r, parents)
	}
	results := make([]*Result, len(parents))
	onCores(len(parents), 1, func(i int) { results[i], _ = e.plainChildren(r, parents[i]) })
	var rest []Root
	var at []int
	for i, res := range results {
		if res == nil {
			rest = append(rest, parents[i])
			at = append(at, i)
		}
	}
	rendered, err := e.renderRoots(ctx, r, rest)
	if err != nil {
		return nil, err
	}
	for j, i := range at {
		results[i] = rendered[j]
	}
	return results, nil
}

// WithRendered returns results followed by every other root this engine
// rendered in its run (the parents of a cluster's walk, the roots a
// substitution read objects from), each once.
func (e *Engine) WithRendered(results []*Result) []*Result {
	seen := map[string]bool{}
	for _, res := range results {
		seen[rootKeyID(res.Root)] = true
	}
	var more []*Result
	e.results.Range(func(_, v any) bool {
		res := v.(*Result)
		if id := rootKeyID(res.Root); !seen[id] {
			seen[id] = true
			more = append(more, res)
		}
		return true
	})
	slices.SortFunc(more, func(a, b *Result) int { return strings.Compare(rootKeyID(a.Root), rootKeyID(b.Root)) })
	return append(slices.Clip(results), more...)
}

// Load reads the outputs of results from the cache, at most Jobs at a
// time, for a caller that prints them all; the first error is returned.
func (e *Engine) Load(ctx context.Context, results []*Result) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.Jobs)
	for _, res := range results {
		if res.Err != nil {
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			_, err := res.YAML()
			return err
		})
	}
	return g.Wait()
}

// needsObjects tells whether a root's substitution reads objects other
// roots render.
func needsObjects(root Root) bool {
	k := root.Kustomization
	return k != nil && k.Spec.PostBuild != nil && len(k.Spec.PostBuild.SubstituteFrom) > 0
}

// producedObjects indexes the ConfigMaps and Secrets the repository
// renders, by cluster, then Kind/namespace/name (the clusters of a
// repository define objects of the same name apart), rendering the roots
// not rendered yet that may give one of names (Repository.MayProduce).
func (e *Engine) producedObjects(ctx context.Context, r *Repository, roots []Root, done []*Result, names []string) (*producedIndex, error) {
	seen := map[string]bool{}
	var all []*Result
	for i, res := range done {
		if res != nil {
			all = append(all, res)
			seen[rootKeyID(roots[i])] = true
		}
	}
	var rest []Root
	for _, root := range r.Roots {
		if !seen[rootKeyID(root)] && !needsObjects(root) && r.MayProduce(root, names) {
			rest = append(rest, root)
		}
	}
	if len(rest) > 0 {
		more, err := e.renderRoots(ctx, r, rest)
		if err != nil {
			return nil, err
		}
		all = append(all, more...)
	}
	// And what this run rendered otherwise: the roots a cluster's walk
	// reached, which are not among the roots discovery found.
	e.results.Range(func(_, v any) bool {
		all = append(all, v.(*Result))
		return true
	})
	// A Kustomization may substitute from a ConfigMap or Secret it applies
	// itself, which the cluster has from its last reconcile (the
	// k8s-at-home template's cluster Kustomization and its
	// cluster-settings): those come from a render without substitution,
	// after every other root's.
	var self []*Result
	selfFailed := map[string]error{}
	for i, root := range roots {
		if done[i] == nil && needsObjects(root) && r.MayProduce(root, names) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			self = append(self, e.renderRoot(ctx, r, unsubstituted(root), nil))
			if err := self[len(self)-1].Err; err != nil {
				selfFailed[rootKeyID(root)] = err
			}
		}
	}
	// In one order whatever order the renders ended in: of two roots of
	// one folder giving an object alike, the first is taken.
	keys := make(map[*Result]string, len(all))
	for _, res := range all {
		keys[res] = onceKey(res.Root)
	}
	slices.SortStableFunc(all, func(a, b *Result) int { return strings.Compare(keys[a], keys[b]) })
	var failed []*Result
	for _, res := range all {
		if res.Err != nil {
			failed = append(failed, res)
		}
	}
	// Of several objects of one name in a cluster, one written in the
	// repository wins over one an operator makes, and both over what a
	// render without substitution gives; of those alike, the lookup
	// takes the one nearest the root asking.
	objects := map[string]map[string][]indexed[Produced]{}
	best := map[string]int{} // by cluster and ID, the rank kept
	for i, res := range slices.Concat(all, self) {
		cluster := res.Root.ClusterName()
		if objects[cluster] == nil {
			objects[cluster] = map[string][]indexed[Produced]{}
		}
		for _, p := range res.Produced {
			id := p.Kind + "/" + p.Namespace + "/" + p.Name
			rank := 0
			switch {
			case i >= len(all):
				rank = 2
			case p.Made != "":
				rank = 1
			}
			had, ok := best[cluster+"\x00"+id]
			switch {
			case !ok || rank < had:
				best[cluster+"\x00"+id] = rank
				objects[cluster][id] = []indexed[Produced]{{p, res.Root.Path}}
			case rank == had:
				objects[cluster][id] = append(objects[cluster][id], indexed[Produced]{p, res.Root.Path})
			}
		}
	}
	return &producedIndex{objects: objects, selfFailed: selfFailed, failed: failed}, nil
}

// producedIndex is what a substitution may read: the ConfigMaps and Secrets the
// repository renders, by cluster then Kind/namespace/name, and why the
// render without substitution of a root that substitutes from what it
// applies itself failed, by root (rootKeyID).
type producedIndex struct {
	objects    map[string]map[string][]indexed[Produced]
	selfFailed map[string]error
	// failed are the roots that do not render, whose objects are unknown.
	failed []*Result
}

// failedMaker returns a root that does not render and may make the object
// named name, or nil.
func (x *producedIndex) failedMaker(r *Repository, name string) *Result {
	if x == nil {
		return nil
	}
	return r.FailedMaker(x.failed, name)
}

// FailedMaker returns the first of results that did not render and may
// make an object named name (MayProduce), or nil: whether that object
// exists is then not known.
func (r *Repository) FailedMaker(results []*Result, name string) *Result {
	for _, res := range results {
		if res.Err != nil && r.MayProduce(res.Root, []string{name}) {
			return res
		}
	}
	return nil
}

// unsubstituted is root with its Kustomization's post-build substitution
// left out.
func unsubstituted(root Root) Root {
	k := *root.Kustomization
	k.Spec.PostBuild = nil
	k.SpecJSON = append([]byte("unsubstituted\x00"), k.SpecJSON...) // apart from the root's in the cache
	root.Kustomization = &k
	return root
}

func rootKeyID(r Root) string {
	id := r.Key()
	if r.At != nil {
		id += "\x00" + r.At.Tree.Revision()
	}
	return id
}

// onceKey names a root and its spec among the engine's renders, and where
// the Kustomization is written: one object written twice (an error of
// their parent) renders twice, each failing at its own file and line, not
// at whichever rendered first.
func onceKey(root Root) string {
	key := rootKeyID(root)
	if k := root.Kustomization; k != nil {
		key += "\x00" + string(k.SpecJSON) + "\x00" + k.Object.File + ":" + strconv.Itoa(k.Object.Line)
	}
	return key
}

// renderedOnce tells whether the engine rendered root already (a parent
// of a cluster's walk).
func (e *Engine) renderedOnce(root Root) bool {
	_, ok := e.results.Load(onceKey(root))
	return ok
}

// renderOnce renders a root once in the engine's life: a second call for
// the same root and spec returns the first result.
func (e *Engine) renderOnce(ctx context.Context, r *Repository, root Root, objects *producedIndex) *Result {
	key := onceKey(root)
	if v, ok := e.results.Load(key); ok {
		return v.(*Result)
	}
	eng := e
	if root.At != nil {
		eng = e.at(root.At.Tree)
	}
	v, loaded := e.results.LoadOrStore(key, eng.renderRoot(ctx, r, root, objects))
	if !loaded && e.opts.Rendered != nil {
		e.opts.Rendered.Add(1)
	}
	return v.(*Result)
}

// at returns the engine of another revision of the repository, made once,
// sharing this one's cache.
func (e *Engine) at(tree repo.Tree) *Engine {
	e.subsMu.Lock()
	defer e.subsMu.Unlock()
	if sub, ok := e.subs[tree.Revision()]; ok {
		return sub
	}
	opts := e.opts
	opts.Memo = nil
	sub := New(tree, e.abs, opts)
	if e.subs == nil {
		e.subs = map[string]*Engine{}
	}
	e.subs[tree.Revision()] = sub
	return sub
}

// renderRoot renders one root: from the cache when every observation of an
// earlier render still holds, else with kustomize.
func (e *Engine) renderRoot(ctx context.Context, r *Repository, root Root, objects *producedIndex) *Result {
	vars, outside, absent, err := e.variables(r, root, objects)
	if err != nil {
		return &Result{Root: root, Err: err}
	}
	res := e.renderVars(ctx, r, root, vars)
	res.Outside, res.Absent = outside, absent
	return res
}

// variables resolves the post-build variables of root's Kustomization
// from the objects the repository renders. A source neither the
// repository renders nor a root that does not render may make is the
// cluster's alone (made by hand, or by a script at bootstrap): its
// variables stay as written, and it is returned in outside. An optional
// source no root renders is left out, and returned in absent.
func (e *Engine) variables(r *Repository, root Root, objects *producedIndex) (vars map[string]string, outside, absent []string, err error) {
	k := root.Kustomization
	if k == nil || k.Spec.PostBuild == nil {
		return nil, nil, nil, nil
	}
	var known map[string]map[string][]indexed[Produced]
	var selfFailed error
	if objects != nil {
		known, selfFailed = objects.objects, objects.selfFailed[rootKeyID(root)]
	}
	for {
		var missing string
		vars, absent, err = resolveVars(k, func(id string) (Produced, bool) {
			if p, ok := lookup(known, root.ClusterName(), id, root.Path+"/"); ok {
				return p, true
			}
			if slices.Contains(outside, id) {
				kind, ns, name, _ := splitID(id)
				return Produced{Kind: kind, Namespace: ns, Name: name, Open: true, Made: id + " of the cluster"}, true
			}
			p, ok := r.writtenOutside(id)
			if !ok {
				missing = id
			}
			return p, ok
		})
		if err == nil {
			break
		}
		var maker *Result
		if _, _, name, ok := splitID(missing); ok && name != "" {
			maker = objects.failedMaker(r, name)
		}
		d, located := diag.As(err)
		switch {
		case selfFailed != nil:
			// What it would substitute from is unknown because it does
			// not build: that is why it fails.
			return nil, nil, nil, selfFailed
		case maker != nil && located:
			// What would make it is unknown: that root's failure (a
			// remote resource refused, most often) is this one's.
			return nil, nil, nil, &diag.Error{File: d.File, Line: d.Line, Err: maker.Err, Msg: fmt.Sprintf(
				"Kustomization %s: postBuild.substituteFrom: %s is not known: %s, which may make it, does not render", k.ID(), strings.Replace(missing, "/", " ", 1), maker.Root)}
		case missing == "" || slices.Contains(outside, missing):
			return nil, nil, nil, err
		}
		outside = append(outside, missing)
	}
	switch {
	case r.unparented(root):
		// Read as it is written, it lacks what its parent may set (a
		// disabled app whose parent patches substituteFrom into every
		// child): a variable it does not set stays as it is written.
		vars[openVars] = "parent"
	case r.substitutionWebhook != "":
		// The webhook adds the cluster's variables to every
		// Kustomization as the API server admits it: only the cluster
		// knows them.
		vars[openVars] = r.substitutionWebhook
	}
	return vars, outside, absent, nil
}

// renderVars renders root substituted with vars: from the cache when
// every observation of an earlier render still holds, else with
// kustomize.
func (e *Engine) renderVars(ctx context.Context, r *Repository, root Root, vars map[string]string) *Result {
	filter := e.sourceFilter(r, root)
	key := e.cacheKey(r, root, vars, filter)
	if res, ok := e.cached(ctx, r, root, vars, filter, key); ok {
		return res
	}
	if f := e.opts.Flights; f != nil && key != "" {
		if done := f.begin(key); done != nil {
			// Another engine of the run renders it: its render is
			// this one's when their trees give the build the same
			// answers.
			select {
			case <-done:
			case <-ctx.Done():
				return &Result{Root: root, Err: ctx.Err()}
			}
			if res, ok := e.cached(ctx, r, root, vars, filter, key); ok {
				return res
			}
			return e.renderFresh(ctx, r, root, vars, filter, key)
		}
		defer f.end(key)
	}
	return e.renderFresh(ctx, r, root, vars, filter, key)
}

// cached returns root's render from the cache, when one there still
// holds in this engine's tree.
func (e *Engine) cached(ctx context.Context, r *Repository, root Root, vars map[string]string, filter *sourceFilter, key string) (*Result, bool) {
	res, ok := e.lookup(key, root)
	if !ok {
		return nil, false
	}
	// Should the output be gone from the cache when it is read, the root
	// renders again.
	res.load = func() ([]byte, error) {
		if out, ok := e.opts.Cache.Get(res.Digest); ok && cache.Digest(out) == res.Digest {
			return out, nil
		}
		fresh := e.renderFresh(ctx, r, root, vars, filter, key)
		if fresh.Err != nil {
			return nil, fresh.Err
		}
		return fresh.output, nil
	}
	return res, true
}

// Flights has the engines of a run make each render once: one asking for
// a render another is making waits for it, then finds it in the cache
// (Options.Flights).
type Flights struct {
	mu sync.Mutex
	m  map[string]chan struct{} // by cache key, closed when the render ends
}

// begin returns, for the render keyed key, a channel closed when the one
// in flight ends; nil when none is, and the caller, rendering it, calls
// end.
func (f *Flights) begin(key string) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if done, ok := f.m[key]; ok {
		return done
	}
	if f.m == nil {
		f.m = map[string]chan struct{}{}
	}
	f.m[key] = make(chan struct{})
	return nil
}

func (f *Flights) end(key string) {
	f.mu.Lock()
	done := f.m[key]
	delete(f.m, key)
	f.mu.Unlock()
	close(done)
}

// renderFresh renders a root with kustomize and caches the result.
func (e *Engine) renderFresh(ctx context.Context, r *Repository, root Root, vars map[string]string, filter *sourceFilter, key string) *Result {
	if err := e.checkFluxPath(root, filter); err != nil {
		return &Result{Root: root, Err: err}
	}
	fsys, m, injected, err := e.build(ctx, r, root, filter)
	var origs []Origin
	var built []declared // the objects as kustomize built them, to infer origins from
	switch {
	case err != nil:
	case e.kustomizeOrigins:
		origs, err = origins(m, root.Path, injected)
	case e.opts.Origins:
		built = builtObjects(m)
	}
	var unset []Unset
	if err == nil && root.Kustomization != nil {
		var names []string
		names, err = finishFlux(m, root.Kustomization, vars, e.strict(r, root))
		if d := locateVariable(fsys, err, e.strictAssumed(r, root)); d != nil {
			return &Result{Root: root, Err: d}
		}
		unset = unsetVariables(fsys, root.Kustomization, names)
	}
	if err != nil {
		return &Result{Root: root, Err: e.locate(root, fsys, err)}
	}
	if err := lintKustomizations(fsys); err != nil {
		return &Result{Root: root, Err: err}
	}
	inputs := fsys.Recorder().Inputs()
	read := map[string]bool{}
	for _, in := range inputs {
		read[in.Path] = true
		if orig, ok := root.At.Original(in.Path); ok {
			read[orig] = true // an artifact's copy: its objects are written there
		}
	}
	own := m.Size()
	gen, unrendered, err := e.expandResourceSets(r, m, read)
	if err != nil {
		return &Result{Root: root, Err: err}
	}
	data, err := asYAML(m)
	if err != nil {
		return &Result{Root: root, Err: e.locate(root, fsys, err)}
	}
	res := &Result{
		Root:         root,
		output:       data,
		Observations: fsys.Recorder().Observations(),
		Inputs:       inputs,
		Produced:     produced(m),
		Origins:      origs,
		Unrendered:   unrendered,
		Unset:        unset,
	}
	res.Children = r.children(m, read, gen)
	if e.opts.Origins && !e.kustomizeOrigins {
		// After the observations are taken: it reads only files the build
		// read, but through the recording file system.
		res.Origins = inferOrigins(built, fsys, root.Path)
	}
	if res.Origins != nil {
		for _, made := range m.Resources()[own:] {
			res.Origins = append(res.Origins, gen[made].origin(made))
		}
	}
	if !fsys.UsedRemote() {
		e.store(key, res)
	}
	res.settle()
	return res
}

// settle moves what a fresh result keeps for the rest of the run into
// memory of its own, its strings interned: made while kustomize built the
// root, it lay scattered among the build's garbage, and on a long run the
// collector went through those spans again on every cycle. Most of its
// strings (kinds, the paths and blobs of shared bases, names across a
// base's overlays) are the same across roots.
func (res *Result) settle() {
	in := func(s string) string { return unique.Make(s).Value() }
	res.Inputs = slices.Clone(res.Inputs)
	for i := range res.Inputs {
		x := &res.Inputs[i]
		x.Path, x.Blob = in(x.Path), in(x.Blob)
	}
	res.Observations = slices.Clone(res.Observations)
	for i := range res.Observations {
		o := &res.Observations[i]
		o.Path, o.Value = in(o.Path), in(o.Value)
	}
	res.Origins = slices.Clone(res.Origins)
	for i := range res.Origins {
		o := &res.Origins[i]
		o.File, o.Kind, o.Name = in(o.File), in(o.Kind), in(o.Name)
		o.Generator, o.Release, o.ResourceSet = in(o.Generator), in(o.Release), in(o.ResourceSet)
	}
}

// strictFrom is the Flux minor release from which kustomize-controller
// substitutes strictly by default: v1.9 turned its
// StrictPostBuildSubstitutions feature gate on.
const strictFrom = 9

// strict tells whether root's post-build substitution fails on a variable
// nothing sets: unless NonStrict, or its cluster sets kustomize-controller's
// StrictPostBuildSubstitutions feature gate off, or, where the gate is
// not set, the Flux release it runs under (Repository.FluxRelease) is older
// than strictFrom, where such a variable becomes empty. An unknown release
// is the bundled one.
func (e *Engine) strict(r *Repository, root Root) bool {
	if e.opts.NonStrict {
		return false
	}
	if gate := r.StrictGate(root); gate != "" {
		return gate == "true"
	}
	release := r.FluxRelease(root)
	if minor, ok := strings.CutPrefix(release, "v2."); ok {
		if n, err := strconv.Atoi(minor); err == nil {
			return n >= strictFrom
		}
	}
	return !strings.HasPrefix(release, "v0.")
}

// strictAssumed tells whether root substitutes strictly only because the
// repository names neither the feature gate nor the Flux release its
// cluster runs, so that the bundled release's default holds.
func (e *Engine) strictAssumed(r *Repository, root Root) bool {
	return !e.opts.NonStrict && r.StrictGate(root) == "" && r.FluxRelease(root) == ""
}

// cacheKey names what a root's render depends on besides the files it
// observes: this program, the root, the Kustomization's spec, the
// substitution variables and the source's ignore rules.
func (e *Engine) cacheKey(r *Repository, root Root, vars map[string]string, f *sourceFilter) string {
	if e.opts.Cache == nil {
		return ""
	}
	parts := []string{"render/4", e.opts.Salt, root.Path, root.KustomizationID(), boolString(e.opts.AllowRemote), boolString(!e.strict(r, root)), boolString(e.opts.Origins), e.checks.Limits().String(), boolString(r.FluxBuilds(root))}
	if k := root.Kustomization; k != nil {
		parts = append(parts, string(k.SpecJSON), varsDigest(vars))
	}
	if f != nil {
		parts = append(parts, f.digest)
	}
	return cache.Key(parts...)
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// maxEntries bounds the renders kept per root: enough for a branch, its
// base and a few revisions in between.
const maxEntries = 8

// cachedEntries returns the cached renders of the root whose cache key is
// key, newest first; none when there is no cache or the entry is damaged.
func (e *Engine) cachedEntries(key string) []entry {
	c := e.opts.Cache
	if c == nil {
		return nil
	}
	data, ok := c.GetString("m" + key)
	if !ok {
		return nil
	}
	entries, err := decodeEntries(data)
	if err != nil {
		return nil
	}
	return entries
}

func (e *Engine) lookup(key string, root Root) (*Result, bool) {
	for _, en := range e.cachedEntries(key) {
		if !kfs.Holds(e.tree, en.Observations) {
			continue
		}
		res := &Result{Root: root, Observations: en.Observations, Produced: en.Produced, Origins: en.Origins, Children: en.Children, Unrendered: en.Unrendered, Unset: en.Unset, Cached: true, Digest: en.Output}
		for _, o := range en.Observations {
			if o.Op == kfs.OpRead {
				res.Inputs = append(res.Inputs, kfs.Input{Path: o.Path, Blob: o.Value})
			}
		}
		return res, true
	}
	return nil, false
}

func (e *Engine) store(key string, res *Result) {
	c := e.opts.Cache
	if c == nil {
		return
	}
	digest := cache.Digest(res.output)
	res.Digest = digest
	if c.Put(digest, res.output) != nil {
		return
	}
	e.stored.Store(true)
	entries := e.cachedEntries(key)
	n := entry{Observations: res.Observations, Output: digest, Produced: res.Produced, Origins: res.Origins, Children: res.Children, Unrendered: res.Unrendered, Unset: res.Unset}
	entries = append([]entry{n}, entries...)
	if len(entries) > maxEntries {
		entries = entries[:maxEntries]
	}
	if data, err := encodeEntries(entries); err == nil {
		_ = c.Put("m"+key, data)
	}
}

// ParseObjects reads rendered YAML (Result.YAML, Release.YAML) into
// objects.
func ParseObjects(data []byte) ([]*kyaml.RNode, error) { return parseOutput(data) }

// parseOutput reads a render's output into objects. kustomize prints its
// output through JSON, so it never holds YAML anchors: resolving them, as
// kio.FromBytes does by copying every node, would be most of the work.
func parseOutput(data []byte) ([]*kyaml.RNode, error) {
	return (&kio.ByteReader{OmitReaderAnnotations: true, Reader: bytes.NewReader(data)}).Read()
}

// Trim keeps the cache within its size bound, after a run that added to
// it.
func (e *Engine) Trim() {
	if c := e.opts.Cache; c != nil && e.stored.Load() {
		_ = c.Trim()
	}
}

// Unchanged tells, for each of roots and without rendering, that it
// renders the same in this engine's tree as in base's: a cached render of
// it depended only on answers both trees give alike. False means it may
// differ (or that no render of it is cached, or that it substitutes
// variables other roots produce). Roots are looked at Jobs at a time.
func (e *Engine) Unchanged(base *Engine, r *Repository, roots []Root) []bool {
	out := make([]bool, len(roots))
	var g errgroup.Group
	g.SetLimit(e.opts.Jobs)
	for i, root := range roots {
		g.Go(func() error {
			out[i] = e.unchanged(base, r, root)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

func (e *Engine) unchanged(base *Engine, r *Repository, root Root) bool {
	if needsObjects(root) {
		return false
	}
	var vars map[string]string
	if k := root.Kustomization; k != nil && k.Spec.PostBuild != nil {
		v, _, err := resolveVars(k, func(string) (Produced, bool) { return Produced{}, false })
		if err != nil {
			return false
		}
		vars = v
	}
	for _, en := range e.cachedEntries(e.cacheKey(r, root, vars, e.sourceFilter(r, root))) {
		if slices.ContainsFunc(en.Children, Child.isRelease) {
			// Its HelmReleases read charts, values and sources the
			// observations do not cover.
			return false
		}
		if kfs.Holds(e.tree, en.Observations) && kfs.Holds(base.tree, en.Observations) {
			return true
		}
	}
	return false
}

// FileObjects returns the objects of group that each of files holds, as
// FileResult takes them, a list per file in files' order, for the files
// whose text holds needle: what the files no root applies define for
// another repository to apply (d2-apps' update policies). A file that
// cannot be read, or whose objects do not parse, is left out (validate's
// syntax rule reports it).
func FileObjects(tree repo.Tree, files []string, needle, group string) [][]*kyaml.RNode {
	var out [][]*kyaml.RNode
	for _, f := range files {
		data, err := tree.ReadFile(f)
		if err != nil || !bytes.Contains(data, []byte(needle)) {
			continue
		}
		if nodes, err := FileResult(f, data).ObjectsOf(group); err == nil && len(nodes) > 0 {
			out = append(out, nodes)
		}
	}
	return out
}

// FileResult is a file of objects checked on its own, as a root of its
// own: what validate makes of a manifest no root applies. Its output is
// the file's documents that are objects, and each object's origin is the
// file.
func FileResult(file string, data []byte) *Result {
	var out bytes.Buffer
	var origins []Origin
	for _, doc := range manifest.Split(data) {
		o, err := manifest.Decode(file, doc)
		if err != nil || o.APIVersion == "" || o.Kind == "" || o.Name == "" {
			continue
		}
		if out.Len() > 0 {
			out.WriteString("---\n")
		}
		out.Write(doc.Text)
		if !bytes.HasSuffix(doc.Text, []byte("\n")) {
			out.WriteByte('\n')
		}
		origins = append(origins, Origin{File: file, Kind: o.Kind, Name: o.Name})
	}
	res := &Result{Root: Root{Path: file, File: true}, output: out.Bytes(), Origins: origins, Digest: cache.Digest(out.Bytes())}
	res.Inputs = []kfs.Input{{Path: file}}
	return res
}
