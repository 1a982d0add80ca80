package cache

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func openStrings(c *Cache, key string) *Memo[string] {
	return OpenMemo(c, key, "test-memo/1", (*Writer).Blob, (*Reader).Blob)
}

// TestMemo saves a memo and reads it back, and drops an entry once it went
// unused for MemoKeep saves, while one used meanwhile stays.
func TestMemo(t *testing.T) {
	c, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	key := Key("test")
	m := openStrings(c, key)
	m.Put("root-a", "a\x00with a NUL")
	m.Put("root-b", "")
	m.Save()

	again := openStrings(c, key)
	if got, ok := again.Get("root-a"); !ok || got != "a\x00with a NUL" {
		t.Fatalf("root-a read back as %q (%v)", got, ok)
	}
	if again.gen != 1 || again.Len() != 2 {
		t.Errorf("gen %d, %d entries; want 1 and 2", again.gen, again.Len())
	}
	// Unused entries fall out after MemoKeep saves.
	for i := range MemoKeep {
		m := openStrings(c, key)
		m.Get("root-a")
		m.Put("new", string(rune('a'+i)))
		m.Save()
	}
	last := openStrings(c, key)
	_, hasA := last.Get("root-a")
	_, hasB := last.Get("root-b")
	if hasB || !hasA {
		t.Errorf("after %d saves: root-a kept %v, root-b kept %v; want true, false", MemoKeep, hasA, hasB)
	}
	// Nothing new, nothing written.
	before, _ := c.Get(key)
	last.Save()
	if after, _ := c.Get(key); string(after) != string(before) {
		t.Error("a save with nothing put rewrote the memo")
	}
	var none *Memo[string]
	none.Put("k", "v")
	if _, ok := none.Get("k"); ok {
		t.Error("a nil memo kept a value")
	}
	none.Save()
}

// FuzzMemo reads damaged memo records: they are rejected or read, never a
// panic, and what is read encodes back to itself.
func FuzzMemo(f *testing.F) {
	good := NewWriter("test-memo/1", 0)
	encodeMemo(good, 3, map[string]*memoEntry[string]{"a": {gen: 3, value: `{"n":1}`}}, (*Writer).Blob)
	data, err := good.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("test-memo/1\x001\x000\x00"))
	f.Add([]byte("test-memo/1\x001\x001\x00k\x00x\x002\x00{}\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		gen, entries, err := decodeMemo(string(data), "test-memo/1", (*Reader).Blob)
		if err != nil {
			return
		}
		w := NewWriter("test-memo/1", 0)
		encodeMemo(w, gen, entries, (*Writer).Blob)
		again, err := w.Bytes()
		if err != nil {
			t.Fatalf("decoded %q, cannot encode it again: %v", data, err)
		}
		gen2, back, err := decodeMemo(string(again), "test-memo/1", (*Reader).Blob)
		if err != nil || gen2 != gen {
			t.Fatalf("%q: read back gen %d, %v; want gen %d", data, gen2, err, gen)
		}
		if diff := cmp.Diff(entries, back, cmpopts.EquateEmpty(), cmp.AllowUnexported(memoEntry[string]{})); diff != "" {
			t.Fatalf("%q does not round-trip (-first +second):\n%s", data, diff)
		}
	})
}
