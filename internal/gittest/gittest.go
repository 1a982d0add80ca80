// Package gittest builds real Git repositories with history for tests,
// in process with go-git: files written to a working tree, staged and
// committed with a fixed author and clock so hashes are the same every run.
package gittest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
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
