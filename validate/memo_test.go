package validate

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
)

func TestMemoRoundTrip(t *testing.T) {
	c, err := cache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	type facts struct {
		N    int
		Keys []string
	}
	key := cache.Key("test")
	m := loadMemo(c, key)
	m.put("root-a", facts{N: 2, Keys: []string{"v1/ConfigMap/x", "quote\"and\x00nul"}})
	m.put("root-b", []string{})
	m.save()

	again := loadMemo(c, key)
	var got facts
	if !again.get("root-a", &got) {
		t.Fatal("root-a not in the memo read back")
	}
	if diff := cmp.Diff(facts{N: 2, Keys: []string{"v1/ConfigMap/x", "quote\"and\x00nul"}}, got); diff != "" {
		t.Errorf("root-a (-want +got):\n%s", diff)
	}
	if again.gen != 1 || len(again.entries) != 2 {
		t.Errorf("gen %d, %d entries; want 1 and 2", again.gen, len(again.entries))
	}
	// Unused entries fall out after memoKeep saves.
	for i := 0; i < memoKeep; i++ {
		m := loadMemo(c, key)
		m.get("root-a", &got)
		m.put("new", i)
		m.save()
	}
	if last := loadMemo(c, key); last.entries["root-b"] != nil || last.entries["root-a"] == nil {
		t.Errorf("after %d saves: root-a kept %v, root-b kept %v; want true, false", memoKeep, last.entries["root-a"] != nil, last.entries["root-b"] != nil)
	}
}

// FuzzMemo reads damaged memo files: they are rejected or read, never a
// panic, and what is read encodes back to itself.
func FuzzMemo(f *testing.F) {
	f.Add(memoBytes(3, map[string]*memoEntry{"a": {Gen: 3, Value: `{"n":1}`}}))
	f.Add([]byte(memoHeader + "\x001\x000\x00"))
	f.Add([]byte(memoHeader + "\x001\x001\x00k\x00x\x002\x00{}\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		gen, entries, ok := decodeMemo(string(data))
		if !ok {
			return
		}
		gen2, entries2, ok := decodeMemo(string(memoBytes(gen, entries)))
		if !ok || gen2 != gen {
			t.Fatalf("%q: read back %v, gen %d; want gen %d", data, ok, gen2, gen)
		}
		if diff := cmp.Diff(entries, entries2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%q does not round-trip (-first +second):\n%s", data, diff)
		}
	})
}

// FuzzFacts reads damaged facts records: rejected or read, never a panic,
// and what is read encodes back to itself.
func FuzzFacts(f *testing.F) {
	good, err := (&rootFacts{
		Objects: 3,
		Flux:    []indexedObject{{Index: 1, Object: json.RawMessage(`{"kind":"ImagePolicy"}`)}},
		CRDs:    []json.RawMessage{json.RawMessage(`{"kind":"CustomResourceDefinition"}`)},
		Keys:    []objectFact{{Index: 0, Key: "apps/Deployment/ns/web", ID: "apps/v1/Deployment/ns/web"}},
	}).encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(factsHeader + "\x000\x000\x000\x000\x00"))
	f.Add([]byte(factsHeader + "\x001\x00999\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, err := decodeFacts(string(data))
		if err != nil {
			return
		}
		again, err := facts.encode()
		if err != nil {
			t.Fatalf("decoded %q, cannot encode it again: %v", data, err)
		}
		back, err := decodeFacts(string(again))
		if err != nil {
			t.Fatalf("%q does not decode again: %v", data, err)
		}
		if diff := cmp.Diff(facts, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%q does not round-trip (-first +second):\n%s", data, diff)
		}
	})
}

// memoBytes is the memo record as PutRecord writes it.
func memoBytes(gen int, entries map[string]*memoEntry) []byte {
	w := cache.NewWriter(memoHeader, 0)
	encodeMemo(w, gen, entries)
	data, err := w.Bytes()
	if err != nil {
		panic(err)
	}
	return data
}
