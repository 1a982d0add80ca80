package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// readCounter counts the files read through a tree.
type readCounter struct {
	repo.Tree
	reads atomic.Int32
}

func (c *readCounter) ReadFile(p string) ([]byte, error) {
	c.reads.Add(1)
	return c.Tree.ReadFile(p)
}

// TestMemoSharedBySides discovers a revision and a working tree that
// differ in one Flux Kustomization, as diff does, again and again: once
// warm, neither side reads a file. When a save kept only what its own
// discovery had used, the two sides dropped each other's version of that
// file, and every run read it again.
func TestMemoSharedBySides(t *testing.T) {
	g := exampleRepo(t, "flux-repo")
	apps := filepath.Join(g.Dir, "clusters", "dev-cluster", "apps.yaml")
	data, err := os.ReadFile(apps)
	if err != nil {
		t.Fatal(err)
	}
	g.Write(t, map[string][]byte{"clusters/dev-cluster/apps.yaml": bytes.Replace(data, []byte("interval: 10m0s"), []byte("interval: 5m0s"), 1)})
	opts := cachedOptions(t)

	discoverBoth := func() (base, head *readCounter) {
		r, err := repo.Open(g.Dir)
		if err != nil {
			t.Fatal(err)
		}
		baseTree, err := r.Tree("HEAD")
		if err != nil {
			t.Fatal(err)
		}
		headTree, err := r.Tree("")
		if err != nil {
			t.Fatal(err)
		}
		base, head = &readCounter{Tree: baseTree}, &readCounter{Tree: headTree}
		o := opts
		o.Memo = OpenMemo(opts.Cache, opts.Salt, r.Root)
		var found [2]*Repository
		for i, tree := range []repo.Tree{base, head} {
			disc, err := New(tree, r.Root, o).Discover(context.Background(), Checkout{})
			if err != nil {
				t.Fatal(err)
			}
			found[i] = disc
		}
		if got := found[1].Flux[0].Spec.Interval.Duration.String(); got != "5m0s" {
			t.Errorf("head's Kustomization interval %s, want 5m0s", got)
		}
		return base, head
	}
	if base, head := discoverBoth(); base.reads.Load() == 0 || head.reads.Load() == 0 {
		t.Fatalf("a cold discovery read %d and %d files; want some each", base.reads.Load(), head.reads.Load())
	}
	for run := range 3 {
		if base, head := discoverBoth(); base.reads.Load() != 0 || head.reads.Load() != 0 {
			t.Errorf("warm run %d read %d files of the revision and %d of the working tree; want none", run, base.reads.Load(), head.reads.Load())
		}
	}
}

// FuzzDiscoveryFacts reads damaged facts of a file as discovery's memo
// keeps them: rejected or read, never a panic, and what is read encodes
// back to itself.
func FuzzDiscoveryFacts(f *testing.F) {
	ignore := "*.md"
	for _, facts := range []fileFacts{
		{Kust: &kustFacts{Component: true, Refs: []Ref{{Field: "resources", Value: "../base", Line: 3}}, Paths: []string{"../base", "app.env"}, Renames: true}},
		{Docs: []docText{{Line: 1, Text: "kind: GitRepository\n", APIVersion: "source.toolkit.fluxcd.io/v1", Kind: "GitRepository", Name: "a", URL: "ssh://x", Ignore: &ignore}}, Flux: true},
		{},
	} {
		good, err := factsBytes(facts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(good)
	}
	f.Add([]byte(memoHeader + "\x00d\x001\x00"))
	f.Add([]byte(memoHeader + "\x00x\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := cache.NewReader(memoHeader, string(data))
		facts := decodeFacts(r)
		if r.Err() != nil {
			return
		}
		again, err := factsBytes(facts)
		if err != nil {
			t.Fatalf("decoded %q, cannot encode it again: %v", data, err)
		}
		r = cache.NewReader(memoHeader, string(again))
		back := decodeFacts(r)
		if err := r.Err(); err != nil {
			t.Fatalf("%q does not decode again: %v", data, err)
		}
		if diff := cmp.Diff(facts, back, cmpopts.EquateEmpty(), cmp.AllowUnexported(fileFacts{}, kustFacts{}, docText{})); diff != "" {
			t.Fatalf("%q does not round-trip (-first +second):\n%s", data, diff)
		}
	})
}

// factsBytes is a file's facts as a record of their own.
func factsBytes(f fileFacts) ([]byte, error) {
	w := cache.NewWriter(memoHeader, 0)
	encodeFacts(w, f)
	return w.Bytes()
}

// TestMemoKeysFactsByRole discovers, cold and then warm, a repository
// holding an empty manifest and an empty kustomization file, and a
// gotk-components.yaml whose header another file repeats: each time the
// empty kustomization's folder is a kustomization (its build then says
// what is wrong with it) and the header names the Flux release, neither
// taken from the other file's facts kept under the same blob.
func TestMemoKeysFactsByRole(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", map[string][]byte{
		"a/empty.yaml":           {},
		"b/kustomization.yaml":   {},
		"c/gotk-components.yaml": []byte("# Flux Version: v2.6.2\n"),
		"d/notes.yaml":           []byte("# Flux Version: v2.6.2\n"),
	})
	opts := cachedOptions(t)
	for _, run := range []string{"cold", "warm"} {
		r, err := repo.Open(g.Dir)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := r.Tree("")
		if err != nil {
			t.Fatal(err)
		}
		disc, err := New(tree, r.Root, opts).Discover(context.Background(), Checkout{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := disc.Kustomizations["b"]; !ok {
			t.Errorf("%s: b/kustomization.yaml is not a kustomization file", run)
		}
		if _, ok := disc.Kustomizations["a"]; ok {
			t.Errorf("%s: a/empty.yaml is taken for a kustomization file", run)
		}
		if got := disc.components["c/gotk-components.yaml"]; got != "v2.6.2" {
			t.Errorf("%s: the Flux release of c/gotk-components.yaml is %q, want v2.6.2", run, got)
		}
		if got, ok := disc.components["d/notes.yaml"]; ok {
			t.Errorf("%s: d/notes.yaml is read as a gotk-components.yaml of Flux %s", run, got)
		}
	}
}
