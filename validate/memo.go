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
	Gen   int             `json:"g"`
	Value json.RawMessage `json:"v"`
}

type memoFile struct {
	Gen     int                   `json:"gen"`
	Entries map[string]*memoEntry `json:"entries"`
}

const memoKeep = 8

func memoKey(opts Options) string { return cache.Key("validate-memo/1", opts.Salt, opts.RepoKey) }

// loadMemo reads the memo; a nil cache gives an empty memo never saved.
func loadMemo(cc *cache.Cache, key string) *memo {
	m := &memo{cache: cc, key: key, entries: map[string]*memoEntry{}, used: map[string]bool{}}
	if cc == nil {
		return m
	}
	if data, ok := cc.Get(key); ok {
		var f memoFile
		if json.Unmarshal(data, &f) == nil && f.Entries != nil {
			m.gen, m.entries = f.Gen, f.Entries
		}
	}
	return m
}

// get decodes the value under key into v and tells whether there was one.
func (m *memo) get(key string, v any) bool {
	m.mu.Lock()
	e, ok := m.entries[key]
	if ok {
		m.used[key] = true
	}
	m.mu.Unlock()
	return ok && json.Unmarshal(e.Value, v) == nil
}

// put keeps v under key.
func (m *memo) put(key string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	m.mu.Lock()
	m.entries[key] = &memoEntry{Value: data}
	m.used[key] = true
	m.added = true
	m.mu.Unlock()
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
	if data, err := json.Marshal(memoFile{Gen: m.gen, Entries: m.entries}); err == nil {
		_ = m.cache.Put(m.key, data)
	}
}
