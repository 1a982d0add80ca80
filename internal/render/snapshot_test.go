package render

import (
	"context"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// TestCommitTree renders a commit read from the object store, then
// rebuilt from the cache's list of its files: the same roots, the same
// output.
func TestCommitTree(t *testing.T) {
	g := exampleRepo(t, "microservices-repo")
	r, err := repo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	render := func(tree repo.Tree) map[string]string {
		disc, err := Discover(tree, Checkout{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := New(tree, r.Root, Options{}).Render(context.Background(), disc, disc.Roots)
		if err != nil {
			t.Fatal(err)
		}
		mustRender(t, res)
		out := map[string]string{}
		for _, x := range res {
			data, err := x.YAML()
			if err != nil {
				t.Fatal(err)
			}
			out[x.Root.String()] = string(data)
		}
		return out
	}
	direct, err := r.CommitTree(h)
	if err != nil {
		t.Fatal(err)
	}
	want := render(direct)
	for run := range 2 { // the first lists the commit, the second reads the list
		tree, err := CommitTree(c, "test", r, h)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, render(tree)); diff != "" || len(want) == 0 {
			t.Errorf("run %d: renders (-object store +cached list):\n%s", run, diff)
		}
	}
	if _, ok := c.Get(cache.Key(snapshotHeader, "test", r.Root, h.String())); !ok {
		t.Error("the commit's files were not kept")
	}
}

// FuzzSnapshot reads damaged lists of a commit's files: rejected or read,
// never a panic, and what is read encodes back to itself.
func FuzzSnapshot(f *testing.F) {
	w := cache.NewWriter(snapshotHeader, 0)
	encodeSnapshot(w, []repo.TreeFile{
		{Path: "a/kustomization.yaml", Mode: filemode.Regular, Hash: plumbing.NewHash("8ab686eafeb1f44702738c8b0f24f2567c36da6d")},
		{Path: "link", Mode: filemode.Symlink, Hash: plumbing.NewHash("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")},
	})
	good, err := w.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(snapshotHeader + "\x001\x00a\x00100644\x00zz\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := decodeSnapshot(string(data))
		if err != nil {
			return
		}
		w := cache.NewWriter(snapshotHeader, 0)
		encodeSnapshot(w, files)
		again, err := w.Bytes()
		if err != nil {
			t.Fatalf("decoded %q, cannot encode it again: %v", data, err)
		}
		back, err := decodeSnapshot(string(again))
		if err != nil {
			t.Fatalf("%q does not decode again: %v", data, err)
		}
		if diff := cmp.Diff(files, back); diff != "" {
			t.Fatalf("%q does not round-trip (-first +second):\n%s", data, diff)
		}
	})
}
