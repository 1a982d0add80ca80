package cache

import "sync"

// Memo keeps what a program learned between its runs, by key, in one
// record: a warm run opens one file, not one per thing it knows. Keys name
// what a value depends on (a blob id, a digest), so a value is never stale,
// only unused; an entry no save used in the last MemoKeep saves is dropped.
// A nil *Memo keeps nothing. Its methods are safe for concurrent use.
type Memo[V any] struct {
	cache  *Cache
	key    string
	header string
	encode func(*Writer, V)
	decode func(*Reader) V
	read   sync.Once // the record, read on first use

	mu      sync.Mutex
	gen     int // saves so far
	entries map[string]*memoEntry[V]
	added   bool // since the last save
}

type memoEntry[V any] struct {
	value V
	gen   int // the last save that used it
	used  bool
}

// MemoKeep is how many saves an unused entry outlives.
const MemoKeep = 8

// OpenMemo returns the memo stored under key, a record with header whose
// values encode and decode write and read; a nil cache gives a memo never
// saved, and a damaged record an empty one. The record is read on first
// use, so that a command can open its memos before the work that waits for
// none of them starts.
func OpenMemo[V any](c *Cache, key, header string, encode func(*Writer, V), decode func(*Reader) V) *Memo[V] {
	return &Memo[V]{cache: c, key: key, header: header, encode: encode, decode: decode, entries: map[string]*memoEntry[V]{}}
}

// load reads the record, once; m.mu is not held.
func (m *Memo[V]) load() {
	m.read.Do(func() {
		if m.cache == nil {
			return
		}
		data, ok := m.cache.GetString(m.key)
		if !ok {
			return
		}
		if gen, entries, err := decodeMemo(data, m.header, m.decode); err == nil {
			m.mu.Lock()
			m.gen, m.entries = gen, entries
			m.mu.Unlock()
		}
	})
}

// Get returns the value under key, marking it used.
func (m *Memo[V]) Get(key string) (V, bool) {
	var zero V
	if m == nil {
		return zero, false
	}
	m.load()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return zero, false
	}
	e.used = true
	return e.value, true
}

// Put keeps v under key.
func (m *Memo[V]) Put(key string, v V) {
	if m == nil {
		return
	}
	m.load()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[key] = &memoEntry[V]{value: v, used: true}
	m.added = true
}

// Save writes the memo back when something was put since the last save,
// stamping what was used and dropping what was not for MemoKeep saves.
func (m *Memo[V]) Save() {
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
	for k, e := range m.entries {
		switch {
		case e.used:
			e.gen = m.gen
		case e.gen <= m.gen-MemoKeep:
			delete(m.entries, k)
		}
	}
	_ = m.cache.PutRecord(m.key, m.header, func(w *Writer) { encodeMemo(w, m.gen, m.entries, m.encode) })
}

// Len is how many entries the memo holds: none for a nil one.
func (m *Memo[V]) Len() int {
	if m == nil {
		return 0
	}
	m.load()
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// The record: the memo's generation and its number of entries, then per
// entry its key, generation and value.
func encodeMemo[V any](w *Writer, gen int, entries map[string]*memoEntry[V], encode func(*Writer, V)) {
	w.Int(gen)
	w.Int(len(entries))
	for k, e := range entries {
		w.String(k)
		w.Int(e.gen)
		encode(w, e.value)
	}
}

func decodeMemo[V any](data, header string, decode func(*Reader) V) (int, map[string]*memoEntry[V], error) {
	r := NewReader(header, data)
	gen := r.Int()
	n := r.Count(3)
	entries := make(map[string]*memoEntry[V], n)
	for i := 0; i < n && r.More(); i++ {
		k := r.Field()
		g := r.Int()
		entries[k] = &memoEntry[V]{value: decode(r), gen: g}
	}
	if err := r.Err(); err != nil {
		return 0, nil, err
	}
	return gen, entries, nil
}
