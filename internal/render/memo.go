package render

import (
	"sync"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
)

// Memo remembers, by blob id, what discovery learnt from each file, so a
// file seen before is neither read nor parsed again: with a working tree
// whose unchanged files' blob ids come from Git's index, a warm discovery
// reads only the files that changed. The engines of one repository in one
// run (the two sides of a diff) share a Memo through Options.Memo, so it is
// read once and neither side's save drops what the other used. An entry no
// save used in the last memoKeep saves is dropped.
type Memo struct {
	cache *cache.Cache
	key   string

	mu    sync.Mutex
	gen   int
	facts map[string]*memoFacts
	added bool
}

type memoFacts struct {
	fileFacts
	gen  int
	used bool
}

const memoKeep = 8

// OpenMemo reads the discovery memo of the repository at abs, the absolute
// path engines present it at, from c; a nil cache gives a memo never saved.
func OpenMemo(c *cache.Cache, salt, abs string) *Memo {
	m := &Memo{cache: c, key: cache.Key("discovery/3", salt, abs), facts: map[string]*memoFacts{}}
	if c == nil {
		return m
	}
	if data, ok := c.GetString(m.key); ok {
		if gen, facts, err := decodeMemo(data); err == nil {
			m.gen, m.facts = gen, facts
		}
	}
	return m
}

func (m *Memo) get(blob string) (fileFacts, bool) {
	if m == nil {
		return fileFacts{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.facts[blob]
	if !ok {
		return fileFacts{}, false
	}
	f.used = true
	return f.fileFacts, true
}

func (m *Memo) put(blob string, f fileFacts) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.facts[blob] = &memoFacts{fileFacts: f, used: true}
	m.added = true
}

// save writes the memo back when a discovery added to it since the last
// save.
func (m *Memo) save() {
	if m == nil || m.cache == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.added {
		return
	}
	m.added = false
	m.gen++
	for blob, f := range m.facts {
		switch {
		case f.used:
			f.gen = m.gen
		case f.gen <= m.gen-memoKeep:
			delete(m.facts, blob)
		}
	}
	_ = m.cache.PutRecord(m.key, memoHeader, func(w *cache.Writer) { encodeMemo(w, m.gen, m.facts) })
}

// Discover finds the roots of the engine's tree, remembering in the cache
// what it read.
func (e *Engine) Discover(remotes []string) (*Repository, error) {
	m := e.opts.Memo
	if m == nil && e.opts.Cache != nil {
		e.memoOnce.Do(func() { e.memo = OpenMemo(e.opts.Cache, e.opts.Salt, e.abs) })
		m = e.memo
	}
	r, err := discover(e.tree, remotes, m)
	if err != nil {
		return nil, err
	}
	m.save()
	return r, nil
}

// The memo is a cache record (see internal/cache): its generation, then per
// file its blob id, generation and facts.
const memoHeader = "discovery/3"

func encodeMemo(w *cache.Writer, gen int, facts map[string]*memoFacts) {
	w.Int(gen)
	w.Int(len(facts))
	for blob, f := range facts {
		w.String(blob)
		w.Int(f.gen)
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
			}
		default:
			w.String("")
		}
	}
}

func decodeMemo(data string) (int, map[string]*memoFacts, error) {
	r := cache.NewReader(memoHeader, data)
	gen := r.Int()
	n := r.Count(3)
	facts := make(map[string]*memoFacts, n)
	for i := 0; i < n && r.More(); i++ {
		blob := r.Field()
		f := &memoFacts{gen: r.Int()}
		switch r.Field() {
		case "k":
			k := &kustFacts{Component: r.Bool(), Problem: r.Field(), Line: r.Int()}
			if n := r.Count(3); n > 0 {
				k.Refs = make([]Ref, n)
				for j := range k.Refs {
					k.Refs[j] = Ref{Field: r.Field(), Value: r.Field(), Line: r.Int()}
				}
			}
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
			}
		case "":
		default:
			return 0, nil, cache.ErrRecord
		}
		facts[blob] = f
	}
	if err := r.Err(); err != nil {
		return 0, nil, err
	}
	return gen, facts, nil
}
