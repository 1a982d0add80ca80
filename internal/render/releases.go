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
			rels[jb.res][jb.child] = e.release(ctx, res.Children[jb.child], src, apis, cores)
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
func (e *Engine) release(ctx context.Context, c Child, src helm.Sources, apis []string, cores chan struct{}) *Release {
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
	if e.lookupRelease(key, rel) {
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
	e.storeRelease(key, rel, chart)
	return rel
}

func (r *Release) errorf(format string, args ...any) error {
	msg := fmt.Sprintf("HelmRelease %s: "+format, append([]any{r.ID()}, args...)...)
	if r.File == "" {
		return errors.New(msg)
	}
	return diag.Errorf(r.File, r.Line, "%s", msg)
}

// releaseHeader names the record format of a cached release: its
// output's digest, its chart's name, version and description, each
// object's kind and name, then its output. One entry per release: a cold run writes a hundred of them.
const releaseHeader = "helm-release/3"

func (e *Engine) lookupRelease(key string, rel *Release) bool {
	c := e.opts.Cache
	if c == nil {
		return false
	}
	data, ok := c.GetString("h" + key)
	if !ok {
		return false
	}
	rd := cache.NewReader(releaseHeader, data)
	digest, name, version, chart := rd.Field(), rd.Field(), rd.Field(), rd.Field()
	var origins []Origin
	for n := rd.Count(2); n > 0; n-- {
		origins = append(origins, Origin{File: rel.File, Kind: rd.Field(), Name: rd.Field(), Release: rel.ID()})
	}
	output := rd.Blob()
	if rd.Err() != nil {
		return false
	}
	rel.Origins, rel.ChartName, rel.Version, rel.Chart = origins, name, version, chart
	rel.output, rel.Digest = []byte(output), digest
	return true
}

func (e *Engine) storeRelease(key string, rel *Release, chart *helm.Chart) {
	rel.Digest = cache.Digest(rel.output)
	c := e.opts.Cache
	if c == nil {
		return
	}
	w := cache.NewWriter(releaseHeader, len(rel.output)+64*len(rel.Origins))
	w.String(rel.Digest)
	w.String(chart.Name)
	w.String(chart.Version)
	w.String(chart.String())
	w.Int(len(rel.Origins))
	for _, o := range rel.Origins {
		w.String(o.Kind)
		w.String(o.Name)
	}
	w.Blob(string(rel.output))
	if data, err := w.Bytes(); err == nil && c.Put("h"+key, data) == nil {
		e.stored.Store(true)
	}
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
