package render

import (
	"context"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
)

// Memo remembers, by blob id, what discovery learnt from each file, so a
// file seen before is neither read nor parsed again: with a working tree
// whose unchanged files' blob ids come from Git's index, a warm discovery
// reads only the files that changed. The engines of one repository in one
// run (the two sides of a diff) share a Memo through Options.Memo, so it is
// read once; as every cache.Memo, a save keeps what other runs used.
type Memo = cache.Memo[fileFacts]

// OpenMemo reads the discovery memo of the repository at abs, the absolute
// path engines present it at, from c; a nil cache gives a memo never saved.
func OpenMemo(c *cache.Cache, salt, abs string) *Memo {
	return cache.OpenMemo(c, cache.Key(memoHeader, salt, abs), memoHeader, encodeFacts, decodeFacts)
}

// Discover finds the roots of the engine's tree, remembering in the cache
// what it read, and walks each cluster's tree from its entry point
// (Expand), rendering what the walk needs.
func (e *Engine) Discover(ctx context.Context, c Checkout) (*Repository, error) {
	r, err := e.DiscoverFiles(ctx, c, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Expand(ctx, r); err != nil {
		return nil, err
	}
	e.RememberRoots(r)
	return r, nil
}

// DiscoverFiles is Discover without the walks of the clusters' trees:
// what the files tell, remembered in the memo. Expand walks them. read,
// when set, is called once every file's facts are in the memo, before
// they are put together: an engine sharing the memo (the other side of a
// diff) can start its own discovery then, finding the unchanged files'
// facts there. A file the memo did not know has its root prebuilt
// (prebuildUnknown).
func (e *Engine) DiscoverFiles(ctx context.Context, c Checkout, read func()) (*Repository, error) {
	Warm()
	m := e.opts.Memo
	if m == nil && e.opts.Cache != nil {
		e.memoOnce.Do(func() { e.memo = OpenMemo(e.opts.Cache, e.opts.Salt, e.abs) })
		m = e.memo
	}
	r, err := discover(e.tree, c, m, read, func(f string) { e.prebuildUnknown(ctx, f) })
	if err != nil {
		return nil, err
	}
	m.Save()
	return r, nil
}

// memoHeader names the memo's record format: per file, its facts' kind
// ("k" a kustomization, "d" documents, "" nothing), then the facts, then
// the API versions its CRDs serve, then whether it names a Flux group and
// HelmRelease, then the Flux release a gotk-components.yaml names, then
// the StrictPostBuildSubstitutions gate it sets, then whether it is
// plain; keyed by factsKey.
const memoHeader = "discovery/18"

func encodeFacts(w *cache.Writer, f fileFacts) {
	switch {
	case f.Kust != nil:
		k := f.Kust
		w.String("k")
		w.Bool(k.Component)
		w.String(k.Problem)
		w.Int(k.Line)
		w.Int(len(k.Refs))
		for _, r := range k.Refs {
			w.String(r.Field)
			w.String(r.Value)
			w.Int(r.Line)
		}
		w.Int(len(k.Paths))
		for _, p := range k.Paths {
			w.String(p)
		}
		w.Bool(k.Renames)
		w.Bool(k.Inflates)
	case f.Docs != nil:
		w.String("d")
		w.Int(len(f.Docs))
		for _, d := range f.Docs {
			w.Int(d.Line)
			w.String(d.Text)
			w.Int(d.ObjLine)
			w.String(d.APIVersion)
			w.String(d.Kind)
			w.String(d.Namespace)
			w.String(d.Name)
			w.String(d.Problem)
			w.Raw(d.Spec)
			w.String(d.URL)
			w.Bool(d.Ignore != nil)
			if d.Ignore != nil {
				w.String(*d.Ignore)
			}
			w.Bool(d.Patch)
		}
	default:
		w.String("")
	}
	w.Int(len(f.APIs))
	for _, a := range f.APIs {
		w.String(a)
	}
	w.Bool(f.Flux)
	w.Bool(f.Releases)
	w.String(f.FluxRelease)
	w.String(f.StrictGate)
	w.Bool(f.Plain)
}

func decodeFacts(r *cache.Reader) fileFacts {
	var f fileFacts
	switch r.Field() {
	case "k":
		k := &kustFacts{Component: r.Bool(), Problem: r.Field(), Line: r.Int()}
		if n := r.Count(3); n > 0 {
			k.Refs = make([]Ref, n)
			for j := range k.Refs {
				k.Refs[j] = Ref{Field: r.Field(), Value: r.Field(), Line: r.Int()}
			}
		}
		if n := r.Count(1); n > 0 {
			k.Paths = make([]string, n)
			for j := range k.Paths {
				k.Paths[j] = r.Field()
			}
		}
		k.Renames = r.Bool()
		k.Inflates = r.Bool()
		f.Kust = k
	case "d":
		f.Docs = make([]docText, r.Count(12))
		for j := range f.Docs {
			d := &f.Docs[j]
			d.Line, d.Text, d.ObjLine = r.Int(), r.Field(), r.Int()
			d.APIVersion, d.Kind, d.Namespace, d.Name = r.Field(), r.Field(), r.Field(), r.Field()
			d.Problem = r.Field()
			if spec := r.Field(); spec != "" {
				d.Spec = []byte(spec)
			}
			d.URL = r.Field()
			if r.Bool() {
				ignore := r.Field()
				d.Ignore = &ignore
			}
			d.Patch = r.Bool()
		}
	case "":
	default:
		r.Fail()
	}
	if n := r.Count(1); n > 0 {
		f.APIs = make([]string, n)
		for i := range f.APIs {
			f.APIs[i] = r.Field()
		}
	}
	f.Flux, f.Releases = r.Bool(), r.Bool()
	f.FluxRelease = r.Field()
	f.StrictGate = r.Field()
	f.Plain = r.Bool()
	return f
}
