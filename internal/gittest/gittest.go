// Package gittest builds real Git repositories with history for tests,
// in process with go-git: files written to a working tree, staged and
// committed with a fixed author and clock so hashes are the same every run.
package gittest

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a repository on disk with a working tree.
type Repo struct {
	Dir  string
	Git  *git.Repository
	tick int
}

// Init creates a repository in dir with main as its initial branch.
func Init(t testing.TB, dir string) *Repo {
	t.Helper()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Repo{Dir: dir, Git: r}
}

// Origin names url the repository's origin remote, as a clone of it has.
func (r *Repo) Origin(t testing.TB, url string) {
	t.Helper()
	if _, err := r.Git.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		t.Fatal(err)
	}
}

// Write writes files (slash paths relative to the root; a nil value
// deletes) into the working tree without committing.
func (r *Repo) Write(t testing.TB, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if data == nil {
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Commit stages everything in the working tree and commits it.
func (r *Repo) Commit(t testing.TB, msg string) plumbing.Hash {
	t.Helper()
	wt, err := r.Git.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	r.tick++
	when := time.Date(2026, 1, 1, 0, 0, r.tick, 0, time.UTC)
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: when}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// CommitFiles writes files and commits them.
func (r *Repo) CommitFiles(t testing.TB, msg string, files map[string][]byte) plumbing.Hash {
	t.Helper()
	r.Write(t, files)
	return r.Commit(t, msg)
}

// CopyTree copies the files under src into the map Write takes, with
// paths relative to src.
func CopyTree(t testing.TB, src string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		files[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Branch commits files, and only them, as the one commit of a new branch
// name, written straight into the object store: the working tree and HEAD
// stay as they are. It is how a repository holds a tenant's branch beside
// its main line.
func (r *Repo) Branch(t testing.TB, name string, files map[string][]byte) plumbing.Hash {
	t.Helper()
	tree, err := r.writeTree(files)
	if err != nil {
		t.Fatal(err)
	}
	r.tick++
	when := time.Date(2026, 1, 1, 0, 0, r.tick, 0, time.UTC)
	sig := object.Signature{Name: "Test", Email: "test@example.com", When: when}
	c := &object.Commit{Author: sig, Committer: sig, Message: "branch " + name, TreeHash: tree}
	obj := r.Git.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		t.Fatal(err)
	}
	h, err := r.Git.Storer.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Git.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(name), h)); err != nil {
		t.Fatal(err)
	}
	return h
}

// writeTree stores files as blobs and trees, and returns the root tree.
func (r *Repo) writeTree(files map[string][]byte) (plumbing.Hash, error) {
	sub := map[string]map[string][]byte{}
	var entries []object.TreeEntry
	for p, data := range files {
		if dir, rest, ok := strings.Cut(p, "/"); ok {
			if sub[dir] == nil {
				sub[dir] = map[string][]byte{}
			}
			sub[dir][rest] = data
			continue
		}
		obj := r.Git.Storer.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, err := obj.Writer()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if _, err := w.Write(data); err != nil {
			return plumbing.ZeroHash, err
		}
		w.Close()
		h, err := r.Git.Storer.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: p, Mode: filemode.Regular, Hash: h})
	}
	for dir, files := range sub {
		h, err := r.writeTree(files)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: h})
	}
	// Git orders a tree's entries by name, a directory's as if it ended
	// with a slash.
	sort.Slice(entries, func(i, j int) bool { return treeName(entries[i]) < treeName(entries[j]) })
	tree := &object.Tree{Entries: entries}
	obj := r.Git.Storer.NewEncodedObject()
	if err := tree.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.Git.Storer.SetEncodedObject(obj)
}

func treeName(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

// FluxSync is the gotk-sync.yaml `flux bootstrap` writes for a cluster at
// path of the repository at url, on its main branch.
func FluxSync(url, path string) []byte {
	return []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m0s
  ref: {branch: main}
  url: ` + url + `
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 10m0s
  path: ./` + path + `
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
`)
}
