package validate

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
)

// TestMemoRoundTrip keeps JSON values in the memo and reads them back in
// the next run (the memo's own keeping is cache.Memo's, tested there).
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
	m.Save()

	again := loadMemo(c, key)
	var got facts
	if !again.get("root-a", &got) {
		t.Fatal("root-a not in the memo read back")
	}
	if diff := cmp.Diff(facts{N: 2, Keys: []string{"v1/ConfigMap/x", "quote\"and\x00nul"}}, got); diff != "" {
		t.Errorf("root-a (-want +got):\n%s", diff)
	}
	var b []string
	if !again.get("root-b", &b) || again.Len() != 2 {
		t.Errorf("root-b read back %v, %d entries; want it and 2", b, again.Len())
	}
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
