package render

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"golang.org/x/sync/errgroup"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// HelmGroup is the API group of Flux's HelmRelease.
const HelmGroup = "helm.toolkit.fluxcd.io"

// Release is a HelmRelease a root renders, rendered as helm-controller
// would install it: its objects are objects of the root.
type Release struct {
	Namespace string
	Name      string
	// File and Line are where the HelmRelease is written, when known.
	File string
	Line int
	// Chart names the chart it installs, "podinfo 6.5.0 from
	// oci://ghcr.io/stefanprodan/charts", once resolved.
	Chart string
	// ChartName and Version are the chart's name and version, once
	// resolved.
	ChartName string
	Version   string
	// Err is why the HelmRelease does not render: the chart, its values
	// or its templates are wrong, as helm-controller would find them.
	Err error
	// Unchecked is why it was not rendered when nothing is known to be
	// wrong with it: a suspended release, a source another repository
	// defines, a registry out of reach, a chart not cached offline.
	Unchecked string
	// Digest is the SHA-256 of its output, when the engine has a cache.
	Digest string
	// Origins name each of its objects, in order.
	Origins []Origin

	output []byte
}

// ID is the HelmRelease's namespace/name.
func (r *Release) ID() string { return r.Namespace + "/" + r.Name }

// Rendered tells whether the release has objects.
func (r *Release) Rendered() bool { return r.Err == nil && r.Unchecked == "" }

// YAML returns the release's objects.
func (r *Release) YAML() ([]byte, error) { return r.output, nil }

// isRelease tells a HelmRelease among a render's children.
func (c Child) isRelease() bool {
	group, _, _ := strings.Cut(c.APIVersion, "/")
	return group == HelmGroup && c.Kind == "HelmRelease"
}

// hasReleases tells whether a result renders HelmReleases.
func (r *Result) hasReleases() bool {
	return r.Err == nil && slices.ContainsFunc(r.Children, Child.isRelease)
}

// releases renders the HelmReleases among the results' objects, each from
// its chart with its values, and returns the results with their objects
// added: a result without HelmReleases is returned as it is.
func (e *Engine) releases(ctx context.Context, r *Repository, results []*Result) ([]*Result, error) {
	if e.opts.Charts == nil || !slices.ContainsFunc(results, (*Result).hasReleases) {
		return results, nil
	}
	idx := e.sourceIndex(results)
	if !idx.covers(results) {
		// A source or values defined by a root not rendered yet.
		if _, err := e.renderRoots(ctx, r, r.Roots); err != nil {
			return nil, err
		}
		idx = e.sourceIndex(results)
	}
	type job struct {
		res, child int
	}
	var jobs []job
	rels := make([][]*Release, len(results))
	for i, res := range results {
		if !res.hasReleases() {
			continue
		}
		for j, c := range res.Children {
			if c.isRelease() {
				jobs = append(jobs, job{i, j})
			}
		}
		rels[i] = make([]*Release, len(res.Children))
	}
	apis := e.helmAPIs(r)
	// Each root's cached renders are one memo, read once and written
	// once, after its releases.
	memos := make([]*cache.Memo[releaseEntry], len(results))
	for i, res := range results {
		if rels[i] != nil {
			memos[i] = e.releaseMemo(res.Root.Path)
		}
	}
	defer func() {
		for _, m := range memos {
			m.Save()
		}
	}()
	// A job waiting on its chart's download holds no core: jobs run
	// fetchJobs at a time, renders Jobs at a time.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(e.opts.Jobs, fetchJobs))
	cores := make(chan struct{}, e.opts.Jobs)
	for _, jb := range jobs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			res := results[jb.res]
			eng := e
			if res.Root.At != nil {
				eng = e.at(res.Root.At.Tree)
			}
			src := &releaseSources{index: idx, cluster: res.Root.ClusterName(), near: cmp.Or(res.Children[jb.child].File, res.Root.Path+"/"), r: r, tree: eng.tree}
			rels[jb.res][jb.child] = e.release(ctx, res.Children[jb.child], src, apis, cores, releaseStore{keep: memos[jb.res]})
			if e.opts.Rendered != nil {
				e.opts.Rendered.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]*Result, len(results))
	for i, res := range results {
		if rels[i] == nil {
			out[i] = res
			continue
		}
		out[i] = withReleases(res, slices.DeleteFunc(rels[i], func(r *Release) bool { return r == nil }))
	}
	return out, nil
}

// helmAPIs is what Helm's templates see of the cluster's APIs besides
// Helm's defaults: the repository's CRDs and those the caller adds.
func (e *Engine) helmAPIs(r *Repository) []string {
	return slices.Compact(slices.Sorted(slices.Values(append(r.APIVersions(), e.opts.APIVersions...))))
}

// withReleases is res with the objects of rels after its own.
func withReleases(res *Result, rels []*Release) *Result {
	out := &Result{Root: res.Root, Inputs: res.Inputs, Observations: res.Observations, Produced: res.Produced,
		Children: res.Children, Unrendered: res.Unrendered, Unset: res.Unset, Outside: res.Outside, Absent: res.Absent, Cached: res.Cached, Releases: rels, base: res}
	if res.Origins != nil {
		out.Origins = slices.Clone(res.Origins)
		for _, rel := range rels {
			out.Origins = append(out.Origins, rel.Origins...)
		}
	}
	if res.Digest != "" {
		parts := []string{res.Digest}
		for _, rel := range rels {
			parts = append(parts, rel.Digest)
		}
		out.Digest = cache.Key(parts...)
	}
	out.load = func() ([]byte, error) { return out.yamlWithout(nil) }
	return out
}

// YAMLWithout returns the rendered objects but those of the HelmReleases
// left, by namespace/name: what a comparison keeps of a root whose
// release renders on one side only.
func (r *Result) YAMLWithout(left map[string]bool) ([]byte, error) {
	if r.base == nil || len(left) == 0 {
		return r.YAML()
	}
	return r.yamlWithout(left)
}

// yamlWithout joins the root's own objects and those of its rendered
// releases, but the ones left.
func (r *Result) yamlWithout(left map[string]bool) ([]byte, error) {
	data, err := r.base.YAML()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(data)
	for _, rel := range r.Releases {
		if !rel.Rendered() || left[rel.ID()] {
			continue
		}
		more, err := rel.YAML()
		if err != nil {
			return nil, err
		}
		if len(more) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		b.Write(more)
	}
	return b.Bytes(), nil
}

// release renders one HelmRelease; with cores, it holds one of them from
// the moment its chart is fetched.
func (e *Engine) release(ctx context.Context, c Child, src helm.Sources, apis []string, cores chan struct{}, store releaseStore) *Release {
	rel := &Release{Namespace: namespaceOr(c.Namespace), Name: c.Name, File: c.File, Line: c.Line}
	hr := &helmv2.HelmRelease{}
	hr.Name, hr.Namespace = rel.Name, rel.Namespace
	if err := json.Unmarshal(c.Spec, &hr.Spec); err != nil {
		rel.Err = rel.errorf("spec does not decode: %v", err)
		return rel
	}
	if hr.Spec.Suspend {
		rel.Unchecked = "spec.suspend is set: helm-controller does not reconcile it"
		return rel
	}
	fail := func(err error) *Release {
		var u *helm.Unchecked
		if errors.As(err, &u) {
			rel.Unchecked = u.Reason
		} else {
			rel.Err = rel.errorf("%v", err)
		}
		return rel
	}
	chart, err := helm.Resolve(ctx, e.opts.Charts, hr, src)
	if err != nil {
		return fail(err)
	}
	if cores != nil {
		select {
		case cores <- struct{}{}:
			defer func() { <-cores }()
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	// An OCIRepository's chart is named once it is read.
	defer func() {
		if rel.ChartName == "" {
			rel.Chart, rel.ChartName, rel.Version = chart.String(), chart.Name, chart.Version
		}
	}()
	values, err := helm.Values(hr, src)
	if err != nil {
		return fail(err)
	}
	valuesJSON, err := json.Marshal(values)
	if err != nil {
		return fail(err)
	}
	key := cache.Key("helm/1", e.opts.Salt, chart.Digest, rel.ID(), string(c.Spec), string(valuesJSON), e.opts.KubeVersion, strings.Join(apis, ","))
	if e.lookupRelease(store, key, rel) {
		return rel
	}
	objects, err := helm.Render(ctx, helm.Release{HelmRelease: hr, Chart: chart, Values: values, KubeVersion: e.opts.KubeVersion, APIVersions: apis})
	if err != nil && bytes.Contains(valuesJSON, []byte(SOPSValue)) {
		// A value only the cluster knows stands in its place: the chart
		// may well refuse the stand-in and not the value.
		rel.Unchecked = fmt.Sprintf("its values hold values of a SOPS-encrypted Secret, which only the cluster knows, and with stand-ins the chart does not render: %v", err)
		return rel
	}
	if err != nil {
		return fail(err)
	}
	// Printed as Helm prints them (in their templates' order of fields,
	// without the "# Source:" comments), not through kustomize's JSON
	// round trip: a fifth of the work otherwise.
	var out bytes.Buffer
	for i, o := range objects {
		o.YNode().HeadComment = ""
		data, err := o.String()
		if err != nil {
			return fail(err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.WriteString(data)
		rel.Origins = append(rel.Origins, Origin{File: rel.File, Kind: o.GetKind(), Name: o.GetName(), Release: rel.ID()})
	}
	rel.output = out.Bytes()
	e.storeRelease(store, key, rel, chart)
	return rel
}

func (r *Release) errorf(format string, args ...any) error {
	msg := fmt.Sprintf("HelmRelease %s: "+format, append([]any{r.ID()}, args...)...)
	if r.File == "" {
		return errors.New(msg)
	}
	return diag.Errorf(r.File, r.Line, "%s", msg)
}

// releaseEntry is a HelmRelease's cached render.
type releaseEntry struct {
	digest, chartName, version, chart string
	objects                           []string // each object's kind and name, in turn
	output                            string
}

// releasesHeader names the record of a root's cached HelmRelease renders,
// a memo: per render's key, its output's digest, its chart's name,
// version and description, each object's kind and name, then its output.
// One record per root, not one per release: a cold run of a hundred
// releases spent an eighth of its time creating their files.
const releasesHeader = "helm-releases/4"

func encodeRelease(w *cache.Writer, en releaseEntry) {
	w.String(en.digest)
	w.String(en.chartName)
	w.String(en.version)
	w.String(en.chart)
	w.Int(len(en.objects) / 2)
	for _, s := range en.objects {
		w.String(s)
	}
	w.Blob(en.output)
}

func decodeRelease(r *cache.Reader) releaseEntry {
	en := releaseEntry{digest: r.Field(), chartName: r.Field(), version: r.Field(), chart: r.Field()}
	for n := r.Count(2); n > 0; n-- {
		en.objects = append(en.objects, r.Field(), r.Field())
	}
	en.output = r.Blob()
	return en
}

// Releases shares the memos of cached HelmRelease renders, one per root,
// between the engines of a run (Options.Releases), and the renders made
// in the run, by key: one rendered ahead of its root (prefetch) is kept
// in the memo of the root that asks for it.
type Releases struct {
	memos sync.Map // by root folder
	fresh sync.Map // releaseEntry by render key
	made  atomic.Int64
}

// sharedReleases returns the engine's Releases.
func (e *Engine) sharedReleases() *Releases {
	if e.opts.Releases != nil {
		return e.opts.Releases
	}
	return &e.releaseMemos
}

// releaseMemo returns the memo of the HelmRelease renders of the root at
// root; nil without a cache.
func (e *Engine) releaseMemo(root string) *cache.Memo[releaseEntry] {
	c := e.opts.Cache
	if c == nil {
		return nil
	}
	shared := e.sharedReleases()
	if m, ok := shared.memos.Load(root); ok {
		return m.(*cache.Memo[releaseEntry])
	}
	m := cache.OpenMemo(c, cache.Key(releasesHeader, e.opts.Salt, e.abs, root), releasesHeader, encodeRelease, decodeRelease)
	v, _ := shared.memos.LoadOrStore(root, m)
	return v.(*cache.Memo[releaseEntry])
}

// releaseStore is where a HelmRelease's render is looked up and kept:
// the memo of the root that renders it, or, for one rendered ahead of the
// roots (prefetch), the memos of those that may.
type releaseStore struct {
	keep *cache.Memo[releaseEntry]   // nil for a render ahead
	look []*cache.Memo[releaseEntry] // besides keep
}

// lookupRelease finds the render keyed key among the run's, else in the
// store's memos; it keeps what it finds in the store's keep.
func (e *Engine) lookupRelease(store releaseStore, key string, rel *Release) bool {
	shared := e.sharedReleases()
	var en releaseEntry
	if v, ok := shared.fresh.Load(key); ok {
		en = v.(releaseEntry)
		e.keepRelease(store, key, en)
	} else if en, ok = store.keep.Get(key); !ok {
		if en, ok = store.get(key); !ok {
			return false
		}
		// Found in the cache, it needs no render: the render of the
		// root that asks for it finds it here.
		shared.fresh.Store(key, en)
	}
	rel.Origins = make([]Origin, 0, len(en.objects)/2)
	for i := 0; i+1 < len(en.objects); i += 2 {
		rel.Origins = append(rel.Origins, Origin{File: rel.File, Kind: en.objects[i], Name: en.objects[i+1], Release: rel.ID()})
	}
	rel.ChartName, rel.Version, rel.Chart = en.chartName, en.version, en.chart
	rel.output, rel.Digest = []byte(en.output), en.digest
	return true
}

// get finds the render keyed key in the store's other memos.
func (s releaseStore) get(key string) (releaseEntry, bool) {
	for _, m := range s.look {
		if en, ok := m.Get(key); ok {
			return en, true
		}
	}
	return releaseEntry{}, false
}

// keepRelease puts a render in the store's keep, when it has one.
func (e *Engine) keepRelease(store releaseStore, key string, en releaseEntry) {
	if store.keep != nil {
		store.keep.Put(key, en)
		e.stored.Store(true)
	}
}

func (e *Engine) storeRelease(store releaseStore, key string, rel *Release, chart *helm.Chart) {
	rel.Digest = cache.Digest(rel.output)
	e.sharedReleases().made.Add(1)
	if e.opts.Cache == nil {
		return
	}
	en := releaseEntry{digest: rel.Digest, chartName: chart.Name, version: chart.Version, chart: chart.String(), output: string(rel.output)}
	for _, o := range rel.Origins {
		en.objects = append(en.objects, o.Kind, o.Name)
	}
	e.sharedReleases().fresh.Store(key, en)
	e.keepRelease(store, key, en)
}

// sourceIndex is what HelmReleases look up: the Flux sources and the
// ConfigMaps and Secrets the repository renders, by cluster, since the
// clusters of a repository define objects of the same name apart.
type sourceIndex struct {
	specs    map[string]map[string][]indexed[Child]    // by cluster, then kind/namespace/name
	produced map[string]map[string][]indexed[Produced] // by cluster, then kind/namespace/name
}

// indexed is an object of the index, with the file it is written in or
// the folder of the root that renders it.
type indexed[T any] struct {
	v  T
	at string
}

// sourceIndex indexes the objects of results and of every render of this
// run.
func (e *Engine) sourceIndex(results []*Result) *sourceIndex {
	idx := &sourceIndex{specs: map[string]map[string][]indexed[Child]{}, produced: map[string]map[string][]indexed[Produced]{}}
	add := func(res *Result) {
		if res.Err != nil {
			return
		}
		cluster := res.Root.ClusterName()
		if idx.specs[cluster] == nil {
			idx.specs[cluster], idx.produced[cluster] = map[string][]indexed[Child]{}, map[string][]indexed[Produced]{}
		}
		for _, c := range res.Children {
			if !c.isRelease() && c.Kind != "Kustomization" {
				id := c.Kind + "/" + namespaceOr(c.Namespace) + "/" + c.Name
				idx.specs[cluster][id] = append(idx.specs[cluster][id], indexed[Child]{c, cmp.Or(c.File, res.Root.Path)})
			}
		}
		for _, p := range res.Produced {
			id := p.Kind + "/" + p.Namespace + "/" + p.Name
			idx.produced[cluster][id] = append(idx.produced[cluster][id], indexed[Produced]{p, res.Root.Path})
		}
	}
	for _, res := range results {
		add(res)
	}
	e.results.Range(func(_, v any) bool {
		add(v.(*Result))
		return true
	})
	return idx
}

// lookup finds id among what cluster renders, else among what roots of no
// cluster render, else in any cluster (in name order); and then, for a
// Kind/namespace/name id, the object of that name made in any namespace.
// Of several alike, it takes the one written nearest near (the release
// asking): roots no cluster reaches share one index, and two clusters'
// apps may each write their own (samip5/k8s-cluster's k8s-gateway
// OCIRepository, a tag in each cluster's folder).
func lookup[T any](by map[string]map[string][]indexed[T], cluster, id, near string) (T, bool) {
	ids := []string{id}
	if kind, _, name, ok := splitID(id); ok {
		ids = append(ids, kind+"/"+anyNamespace+"/"+name)
	}
	for _, id := range ids {
		if c, ok := by[cluster][id]; ok {
			return nearest(c, near), true
		}
		if c, ok := by[""][id]; ok {
			return nearest(c, near), true
		}
		for _, cl := range slices.Sorted(maps.Keys(by)) {
			if c, ok := by[cl][id]; ok {
				return nearest(c, near), true
			}
		}
	}
	var zero T
	return zero, false
}

// nearest is the candidate written in the folders nearest near, the first
// in path order among those as near.
func nearest[T any](candidates []indexed[T], near string) T {
	best, shared := candidates[0], sharedDirs(candidates[0].at, near)
	for _, c := range candidates[1:] {
		if n := sharedDirs(c.at, near); n > shared || n == shared && c.at < best.at {
			best, shared = c, n
		}
	}
	return best.v
}

// covers tells whether every source and values object the results'
// HelmReleases name is in the index.
func (idx *sourceIndex) covers(results []*Result) bool {
	for _, res := range results {
		if !res.hasReleases() {
			continue
		}
		for _, c := range res.Children {
			if !c.isRelease() {
				continue
			}
			var spec helmv2.HelmReleaseSpec
			if json.Unmarshal(c.Spec, &spec) != nil {
				continue
			}
			ns := namespaceOr(c.Namespace)
			for _, ref := range refsOf(spec, ns) {
				_, spec := lookup(idx.specs, res.Root.ClusterName(), ref, c.File)
				_, data := lookup(idx.produced, res.Root.ClusterName(), ref, c.File)
				if !spec && !data {
					return false
				}
			}
		}
	}
	return true
}

// refsOf lists the kind/namespace/name of the objects a HelmRelease spec
// reads besides its chart's.
func refsOf(spec helmv2.HelmReleaseSpec, ns string) []string {
	var out []string
	or := func(n string) string {
		if n == "" {
			return ns
		}
		return n
	}
	if c := spec.Chart; c != nil {
		out = append(out, c.Spec.SourceRef.Kind+"/"+or(c.Spec.SourceRef.Namespace)+"/"+c.Spec.SourceRef.Name)
	}
	if c := spec.ChartRef; c != nil {
		out = append(out, c.Kind+"/"+or(c.Namespace)+"/"+c.Name)
	}
	for _, v := range spec.ValuesFrom {
		if !v.Optional {
			out = append(out, v.Kind+"/"+ns+"/"+v.Name)
		}
	}
	return out
}

// releaseSources answers a HelmRelease's lookups (helm.Sources) from the
// index, the repository's sources and the tree of the root rendering it.
type releaseSources struct {
	index   *sourceIndex
	cluster string
	// near is where the release is written, or its root's folder.
	near string
	r    *Repository
	tree repo.Tree
}

func (s *releaseSources) Spec(kind, namespace, name string) (json.RawMessage, bool) {
	c, ok := lookup(s.index.specs, s.cluster, kind+"/"+namespace+"/"+name, s.near)
	return c.Spec, ok
}

func (s *releaseSources) Data(kind, namespace, name string) (map[string]string, bool, bool) {
	p, ok := lookup(s.index.produced, s.cluster, kind+"/"+namespace+"/"+name, s.near)
	if p.Made != "" {
		// Values only the cluster knows; Helm charts are not rendered
		// with stand-ins for them.
		return nil, false, false
	}
	return p.Data, p.SOPS, ok
}

func (s *releaseSources) Tree(namespace, name string) (repo.Tree, string) {
	id := "GitRepository/" + namespace + "/" + name
	var src *Source
	if c, ok := lookup(s.index.specs, s.cluster, id, s.near); ok {
		src = sourceOf(c, s.r)
	} else if known, ok := s.r.Sources[id]; ok {
		src = known
	} else {
		return nil, fmt.Sprintf("GitRepository %s/%s is not defined in this repository", namespace, name)
	}
	if s.r.IsLocal(src) {
		return s.tree, ""
	}
	if at, ok := s.r.otherRevision(src); ok {
		return at.Tree, ""
	}
	return nil, s.r.notLocal(nil, src).Reason
}
