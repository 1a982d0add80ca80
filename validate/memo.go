package validate

import (
	"encoding/json"
	"sync"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
)

// memo keeps what the rules learned of each root and file between runs of
// one repository, in a single cache entry: a warm run opens one file, not
// one per root. Entries are keyed by what they depend on, so one is never
// stale, only unused; an entry no run used in the last memoKeep runs that
// saved is dropped.
type memo struct {
	cache *cache.Cache
	key   string

	mu      sync.Mutex
	gen     int
	entries map[string]*memoEntry
	used    map[string]bool
	added   bool
}

type memoEntry struct {
	Gen   int
	Value string // decoded only when a run asks for it
}

const memoKeep = 8

func memoKey(opts Options) string { return cache.Key("validate-memo/2", opts.Salt, opts.RepoKey) }

// The memo is a cache record (see internal/cache): the generation, then a
// key, generation and value per entry. A warm run reads the file without
// parsing the values it does not need.
const memoHeader = "validate-memo/4"

func encodeMemo(w *cache.Writer, gen int, entries map[string]*memoEntry) {
	w.Int(gen)
	w.Int(len(entries))
	for k, e := range entries {
		w.String(k)
		w.Int(e.Gen)
		w.Blob(e.Value)
	}
}

func decodeMemo(data string) (int, map[string]*memoEntry, bool) {
	r := cache.NewReader(memoHeader, data)
	gen := r.Int()
	n := r.Count(3)
	entries := make(map[string]*memoEntry, n)
	for range n {
		k := r.Field()
		g := r.Int()
		entries[k] = &memoEntry{Gen: g, Value: r.Blob()}
	}
	if r.Err() != nil {
		return 0, nil, false
	}
	return gen, entries, true
}

// loadMemo reads the memo; a nil cache gives an empty memo never saved.
func loadMemo(cc *cache.Cache, key string) *memo {
	m := &memo{cache: cc, key: key, entries: map[string]*memoEntry{}, used: map[string]bool{}}
	if cc == nil {
		return m
	}
	if data, ok := cc.GetString(key); ok {
		if gen, entries, ok := decodeMemo(data); ok {
			m.gen, m.entries = gen, entries
		}
	}
	return m
}

// get decodes the JSON value under key into v and tells whether there was
// one.
func (m *memo) get(key string, v any) bool {
	data, ok := m.getRaw(key)
	return ok && json.Unmarshal([]byte(data), v) == nil
}

// put keeps v under key, as JSON.
func (m *memo) put(key string, v any) {
	if data, err := json.Marshal(v); err == nil {
		m.putRaw(key, string(data))
	}
}

// getRaw returns the value under key as it was kept.
func (m *memo) getRaw(key string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return "", false
	}
	m.used[key] = true
	return e.Value, true
}

// putRaw keeps data under key.
func (m *memo) putRaw(key string, data string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[key] = &memoEntry{Value: data}
	m.used[key] = true
	m.added = true
}

// save writes the memo back when this run added to it, stamping what it
// used and dropping what was not used for memoKeep saves.
func (m *memo) save() {
	if m.cache == nil || !m.added {
		return
	}
	m.gen++
	for k, e := range m.entries {
		switch {
		case m.used[k]:
			e.Gen = m.gen
		case e.Gen <= m.gen-memoKeep:
			delete(m.entries, k)
		}
	}
	_ = m.cache.PutRecord(m.key, memoHeader, func(w *cache.Writer) { encodeMemo(w, m.gen, m.entries) })
}
