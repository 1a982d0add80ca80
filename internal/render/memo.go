package render

import (
	"encoding/json"
	"sync"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
)

// Memo remembers, by blob id, what discovery learnt from each file, so a
// file seen before is neither read nor parsed again: with a working tree
// whose unchanged files' blob ids come from Git's index, a warm discovery
// reads only the files that changed.
type Memo struct {
	mu    sync.Mutex
	facts map[string]fileFacts
	used  map[string]bool
	added bool
}

func (m *Memo) get(blob string) (fileFacts, bool) {
	if m == nil {
		return fileFacts{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.facts[blob]
	if ok {
		m.used[blob] = true
	}
	return f, ok
}

func (m *Memo) put(blob string, f fileFacts) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.facts[blob] = f
	m.used[blob] = true
	m.added = true
}

// memoKey names the engine's memo: one per repository and build.
func (e *Engine) memoKey() string {
	return cache.Key("discovery/2", e.opts.Salt, e.abs)
}

// Discover finds the roots of the engine's tree, remembering in the cache
// what it read.
func (e *Engine) Discover(remotes []string) (*Repository, error) {
	e.memoOnce.Do(e.loadMemo)
	r, err := discover(e.tree, remotes, e.memo)
	if err != nil {
		return nil, err
	}
	e.saveMemo()
	return r, nil
}

func (e *Engine) loadMemo() {
	e.memo = &Memo{facts: map[string]fileFacts{}, used: map[string]bool{}}
	c := e.opts.Cache
	if c == nil {
		return
	}
	if data, ok := c.Get(e.memoKey()); ok {
		_ = json.Unmarshal(data, &e.memo.facts)
	}
}

// saveMemo keeps the facts of the files this engine's discoveries used,
// when there is something new: files no longer in the tree drop out.
func (e *Engine) saveMemo() {
	m, c := e.memo, e.opts.Cache
	if c == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.added {
		return
	}
	kept := make(map[string]fileFacts, len(m.used))
	for blob := range m.used {
		kept[blob] = m.facts[blob]
	}
	if data, err := json.Marshal(kept); err == nil {
		_ = c.Put(e.memoKey(), data)
	}
	m.added = false
}
