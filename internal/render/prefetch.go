package render

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"

	"github.com/kubectl-gitops/kubectl-gitops/internal/helm"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// prefetch starts fetching, while the roots render, the charts of the
// HelmReleases written in the roots' folders, each read as it is written
// with its source as written: a HelmRelease is rendered only once the root
// that applies it has rendered, and its chart's download need not wait for
// that. What the render then makes of a HelmRelease is fetched as always;
// the same chart is then in the fetcher's cache. A HelmRelease or source
// that Flux variables or the cluster may still change (a ${VAR} in it, a
// source written twice, credentials) is left to the render. None is
// fetched offline or without a cache to keep the chart in.
//
// On the cores the roots leave idle (fewer roots to render than Jobs;
// a cluster's walk rendered its parents already), it then
// renders those HelmReleases as written into the cache, until stop is
// called: where the root renders one as it is written, its render finds
// it there (the cache key is the release's inputs), and the rest render
// as always.
func (e *Engine) prefetch(ctx context.Context, r *Repository, roots []Root) prefetching {
	f := e.opts.Charts
	if f == nil || !f.FetchesAhead() || len(r.releaseFiles) == 0 {
		return prefetching{}
	}
	r.fluxOnce.Do(r.sortFlux)
	var files []string
	var store releaseStore // the memos of the roots that write releases
	for _, root := range roots {
		if root.At != nil {
			continue
		}
		if written := filesAt(r.releaseSorted, root.Path); len(written) > 0 {
			files = append(files, written...)
			store.look = append(store.look, e.releaseMemo(root.Path))
		}
	}
	if len(files) == 0 {
		return prefetching{}
	}
	slices.Sort(files)
	files = slices.Compact(files)
	idle := 0
	if e.opts.Cache != nil {
		idle = e.opts.Jobs - len(slices.DeleteFunc(slices.Clone(roots), e.renderedOnce))
	}
	p := prefetching{stopped: &atomic.Bool{}, wg: &sync.WaitGroup{}}
	stopped := p.stopped
	p.wg.Go(func() {
		var g errgroup.Group
		g.SetLimit(fetchJobs)
		src := writtenSources{r}
		seen := map[string]bool{}
		written := writtenReleases(e.tree, files)
		for _, w := range written {
			if key := chartKey(w.hr); key != "" && !seen[key] {
				seen[key] = true
				g.Go(func() error {
					_, _ = helm.Resolve(ctx, f, w.hr, src)
					return nil
				})
			}
		}
		_ = g.Wait()
		if idle <= 0 {
			return
		}
		g.SetLimit(idle)
		apis := e.helmAPIs(r)
		for _, w := range written {
			if stopped.Load() || ctx.Err() != nil {
				break
			}
			g.Go(func() error {
				if !stopped.Load() {
					// Kept for the run: which root renders it is
					// not known yet.
					e.release(ctx, w.child, src, apis, nil, store)
				}
				return nil
			})
		}
		_ = g.Wait()
	})
	return p
}

// prefetching is a prefetch under way; the zero one has nothing under way.
type prefetching struct {
	stopped *atomic.Bool
	wg      *sync.WaitGroup
}

// stop ends its renders ahead.
func (p prefetching) stop() {
	if p.stopped != nil {
		p.stopped.Store(true)
	}
}

// wait waits for what is under way.
func (p prefetching) wait() {
	if p.wg != nil {
		p.wg.Wait()
	}
}

// fetchJobs is how many charts are fetched at once, whatever the cores: a
// fetch waits on the network (a handful of round trips to a registry
// each), not on a core.
const fetchJobs = 16

// writtenRelease is a HelmRelease as it is written: decoded, and as the
// child a render of it would give.
type writtenRelease struct {
	hr    *helmv2.HelmRelease
	child Child
}

// chartKey names the chart a HelmRelease asks for, "" for none.
func chartKey(hr *helmv2.HelmRelease) string {
	if ref := hr.Spec.ChartRef; ref != nil {
		return strings.Join([]string{ref.Kind, cmp.Or(ref.Namespace, hr.Namespace), ref.Name}, "/")
	}
	if c := hr.Spec.Chart; c != nil {
		t := c.Spec
		return strings.Join([]string{t.SourceRef.Kind, cmp.Or(t.SourceRef.Namespace, hr.Namespace), t.SourceRef.Name, t.Chart, t.Version}, "/")
	}
	return ""
}

// writtenReleases reads the HelmReleases of files as they are written,
// leaving out those a render may yet change where it matters here (with a
// Flux variable) and the suspended. One without a namespace, which a
// parent's kustomization most often gives it and the sources written
// beside it alike, is read in "default", as discovery reads those
// sources: it finds a source written without a namespace too.
func writtenReleases(tree repo.Tree, files []string) []writtenRelease {
	var out []writtenRelease
	for _, file := range files {
		data, err := tree.ReadFile(file)
		if err != nil {
			continue
		}
		for _, d := range manifest.Split(data) {
			if !bytes.Contains(d.Text, []byte("HelmRelease")) || bytes.Contains(d.Text, []byte("${")) {
				continue
			}
			o, err := manifest.Decode(file, d)
			if err != nil || o.Group() != HelmGroup || o.Kind != "HelmRelease" {
				continue
			}
			spec, ok := specJSON(o)
			if !ok {
				continue
			}
			hr := &helmv2.HelmRelease{}
			hr.Name, hr.Namespace = o.Name, namespaceOr(o.Namespace)
			if json.Unmarshal(spec, &hr.Spec) != nil || hr.Spec.Suspend {
				continue
			}
			out = append(out, writtenRelease{hr, Child{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Spec: spec, File: file, Line: o.Line}})
		}
	}
	return out
}

// specJSON is an object's spec as JSON.
func specJSON(o *manifest.Object) (json.RawMessage, bool) {
	return nodeJSON(manifest.Lookup(o.Node(), "spec"))
}

// nodeJSON is a YAML node's value as JSON; false for no node, or one JSON
// cannot hold.
func nodeJSON(n *yaml.Node) (json.RawMessage, bool) {
	if n == nil {
		return nil, false
	}
	var v any
	if n.Decode(&v) != nil {
		return nil, false
	}
	data, err := json.Marshal(v)
	return data, err == nil
}

// writtenSources are the Flux sources as the repository writes them, for
// a prefetch: one written once, without a Flux variable, whose
// credentials it does not name. No ConfigMap, Secret or tree is looked up.
type writtenSources struct{ r *Repository }

func (s writtenSources) Spec(kind, namespace, name string) (json.RawMessage, bool) {
	id := kind + "/" + namespace + "/" + name
	written := s.r.chartSources[id]
	for _, src := range s.r.written[id] {
		written = append(written, src.Object)
	}
	if len(written) != 1 {
		return nil, false
	}
	spec, ok := specJSON(written[0])
	if !ok || bytes.Contains(spec, []byte("${")) {
		return nil, false
	}
	var fields struct {
		SecretRef, CertSecretRef, ProxySecretRef any
		Provider                                 string
	}
	if json.Unmarshal(spec, &fields) != nil || fields.SecretRef != nil || fields.CertSecretRef != nil || fields.ProxySecretRef != nil || cmp.Or(fields.Provider, "generic") != "generic" {
		return nil, false
	}
	return spec, true
}

func (writtenSources) Data(kind, namespace, name string) (map[string]string, bool, bool) {
	return nil, false, false
}

func (writtenSources) Tree(namespace, name string) (repo.Tree, string) {
	return nil, "not fetched ahead"
}
