package render

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// FuzzRenderKustomization renders a root whose kustomization file is
// arbitrary: kustomize may refuse it, but the render never panics, and a
// failure is an error that names a file.
func FuzzRenderKustomization(f *testing.F) {
	f.Add([]byte("resources:\n- cm.yaml\n"))
	f.Add([]byte("resources:\n- ../a\n"))
	f.Add([]byte("resource:\n- cm.yaml\n"))
	f.Add([]byte("images:\n- name: x\n  newtag: 1\n"))
	f.Add([]byte("patches:\n- path: nope.yaml\n"))
	f.Add([]byte("configMapGenerator:\n- name: c\n  literals: [a=b]\n"))
	f.Add([]byte("resources: [https://example.com/x.yaml]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		files := map[string][]byte{
			"a/kustomization.yaml": data,
			"a/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"),
		}
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tree := repo.NewWorkTree(dir)
		disc, err := Discover(tree, Checkout{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := New(tree, dir, Options{Jobs: 1}).Render(context.Background(), disc, []Root{{Path: "a"}})
		if err != nil {
			t.Fatal(err)
		}
		if e := res[0].Err; e != nil {
			d, ok := diag.As(e)
			if !ok || d.File == "" {
				t.Fatalf("error without a file: %v", e)
			}
		}
	})
}

// FuzzCacheEntry reads damaged and hostile cache entries: a warm run must
// reject them without panicking, and what it accepts must encode back to the
// same bytes.
func FuzzCacheEntry(f *testing.F) {
	good, err := encodeEntries([]entry{{
		Observations: []kfs.Observation{{Op: "read", Path: "a/k.yaml", Value: "abc"}},
		Output:       "d",
		Produced:     []Produced{{Kind: "ConfigMap", Name: "c", Data: map[string]string{"a": "b"}}},
		Origins:      []Origin{{File: "a/x.yaml", Kind: "Deployment", Name: "web"}},
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(entriesHeader + "\x001\x00d\x000\x000\x000\x00"))
	f.Add([]byte(entriesHeader + "\x0099999999999999999\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := decodeEntries(string(data))
		if err != nil {
			return
		}
		again, err := encodeEntries(entries)
		if err != nil {
			t.Fatalf("decoded %q, cannot encode it again: %v", data, err)
		}
		back, err := decodeEntries(string(again))
		if err != nil {
			t.Fatalf("%q does not decode again: %v", data, err)
		}
		if diff := cmp.Diff(entries, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%q does not round-trip (-first +second):\n%s", data, diff)
		}
	})
}
