package gitwrite

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
)

var (
	bot  = object.Signature{Name: "gitops bot", Email: "bot@example.com"}
	when = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
)

// snapshot is what the user sees of a repository: HEAD, the index file and
// every file of the working tree, byte for byte.
type snapshot struct {
	head  string
	index []byte
	files map[string][]byte
	dirty []string
}

func takeSnapshot(t *testing.T, r *gittest.Repo) snapshot {
	t.Helper()
	head, err := r.Git.Storer.Reference(plumbing.HEAD)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := os.ReadFile(filepath.Join(r.Dir, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err = filepath.WalkDir(r.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(r.Dir, p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Git.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	st, err := wt.Status()
	if err != nil {
		t.Fatal(err)
	}
	var dirty []string
	for p, s := range st {
		if s.Staging != git.Unmodified || s.Worktree != git.Unmodified {
			dirty = append(dirty, p+":"+string(s.Staging)+string(s.Worktree))
		}
	}
	sort.Strings(dirty)
	return snapshot{head: head.String(), index: idx, files: files, dirty: dirty}
}

func (s snapshot) diff(o snapshot) string {
	if s.head != o.head {
		return "HEAD moved: " + s.head + " -> " + o.head
	}
	if string(s.index) != string(o.index) {
		return "the index changed"
	}
	if d := cmp.Diff(s.files, o.files); d != "" {
		return "working tree changed:\n" + d
	}
	return cmp.Diff(s.dirty, o.dirty)
}

// treeFiles lists a commit's files as path -> mode:content.
func treeFiles(t *testing.T, repo *git.Repository, h plumbing.Hash) map[string]string {
	t.Helper()
	c, err := repo.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = tree.Files().ForEach(func(f *object.File) error {
		s, err := f.Contents()
		out[f.Name] = f.Mode.String() + ":" + s
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newRepo(t *testing.T) (*gittest.Repo, plumbing.Hash) {
	t.Helper()
	r := gittest.Init(t, t.TempDir())
	r.CommitFiles(t, "base", map[string][]byte{
		"apps/front-end/kustomization.yaml": []byte("images: []\n"),
		"apps/front-end/deploy.yaml":        []byte("kind: Deployment\n"),
		"apps/other/only.yaml":              []byte("kind: ConfigMap\n"),
		"hack/run.sh":                       []byte("#!/bin/sh\n"),
		"README.md":                         []byte("readme\n"),
	})
	// Make hack/run.sh executable in the commit.
	if err := os.Chmod(filepath.Join(r.Dir, "hack", "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := r.Commit(t, "exec")
	return r, base
}

func TestCommitWritesOnlyTheObjectStore(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string][]byte
		want    map[string]string // changed paths; "" means deleted
	}{
		{
			name:    "change a file",
			changes: map[string][]byte{"apps/front-end/kustomization.yaml": []byte("images: [x]\n")},
			want:    map[string]string{"apps/front-end/kustomization.yaml": "0100644:images: [x]\n"},
		},
		{
			name:    "keeps the executable mode",
			changes: map[string][]byte{"hack/run.sh": []byte("#!/bin/sh\nexit 0\n")},
			want:    map[string]string{"hack/run.sh": "0100755:#!/bin/sh\nexit 0\n"},
		},
		{
			name:    "new file in new directories",
			changes: map[string][]byte{"apps/new/deep/file.yaml": []byte("a: 1\n")},
			want:    map[string]string{"apps/new/deep/file.yaml": "0100644:a: 1\n"},
		},
		{
			name:    "deleting the last file drops its directory",
			changes: map[string][]byte{"apps/other/only.yaml": nil},
			want:    map[string]string{"apps/other/only.yaml": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, base := newRepo(t)
			// Uncommitted work of the user, staged and not.
			r.Write(t, map[string][]byte{"README.md": []byte("my edit\n"), "notes.txt": []byte("untracked\n")})
			wt, _ := r.Git.Worktree()
			if _, err := wt.Add("README.md"); err != nil {
				t.Fatal(err)
			}
			r.Write(t, map[string][]byte{"README.md": []byte("my second edit\n")})
			before := takeSnapshot(t, r)

			res, err := Commit(r.Git, base, tt.changes, CommitOptions{Branch: "gitops/images/x", Author: bot, Message: "update", When: when})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Created || res.Updated {
				t.Errorf("result = %+v, want created", res)
			}
			if d := before.diff(takeSnapshot(t, r)); d != "" {
				t.Errorf("the user's repository changed: %s", d)
			}
			want := treeFiles(t, r.Git, base)
			for p, v := range tt.want {
				if v == "" {
					delete(want, p)
				} else {
					want[p] = v
				}
			}
			if d := cmp.Diff(want, treeFiles(t, r.Git, res.Hash)); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
			c, _ := r.Git.CommitObject(res.Hash)
			if len(c.ParentHashes) != 1 || c.ParentHashes[0] != base || c.Message != "update" || c.Author.Email != bot.Email || !c.Committer.When.Equal(when) {
				t.Errorf("commit = %v", c)
			}
			if tt.name == "deleting the last file drops its directory" {
				tree, _ := c.Tree()
				if _, err := tree.Tree("apps/other"); err == nil {
					t.Error("empty directory apps/other kept")
				}
			}
			ref, err := r.Git.Reference(plumbing.NewBranchReferenceName("gitops/images/x"), false)
			if err != nil || ref.Hash() != res.Hash {
				t.Errorf("branch = %v, %v; want %s", ref, err, res.Hash)
			}
		})
	}
}

func TestCommitBranchRules(t *testing.T) {
	opts := func(update bool) CommitOptions {
		return CommitOptions{Branch: "gitops/promote/prod/abc", Author: bot, Message: "promote", When: when, Update: update}
	}
	change1 := map[string][]byte{"apps/front-end/kustomization.yaml": []byte("images: [v1]\n")}
	change2 := map[string][]byte{"apps/front-end/kustomization.yaml": []byte("images: [v2]\n")}
	tests := []struct {
		name  string
		check func(t *testing.T, r *gittest.Repo, base plumbing.Hash)
	}{
		{name: "same change again is a no-op", check: func(t *testing.T, r *gittest.Repo, base plumbing.Hash) {
			first := mustCommit(t, r, base, change1, opts(false))
			later := opts(false)
			later.When = when.Add(time.Hour)
			again, err := Commit(r.Git, base, change1, later)
			if err != nil || again.Created || again.Hash != first.Hash {
				t.Errorf("again = %+v, %v; want the same commit %s, not created", again, err, first.Hash)
			}
		}},
		{name: "other change refused without Update", check: func(t *testing.T, r *gittest.Repo, base plumbing.Hash) {
			first := mustCommit(t, r, base, change1, opts(false))
			_, err := Commit(r.Git, base, change2, opts(false))
			var be *BranchExistsError
			if !errors.As(err, &be) || be.Tip != first.Hash {
				t.Errorf("err = %v, want BranchExistsError at %s", err, first.Hash)
			}
		}},
		{name: "Update moves forward on top of our commit", check: func(t *testing.T, r *gittest.Repo, base plumbing.Hash) {
			first := mustCommit(t, r, base, change1, opts(false))
			second := mustCommit(t, r, base, change2, opts(true))
			c, _ := r.Git.CommitObject(second.Hash)
			if !second.Updated || len(c.ParentHashes) != 1 || c.ParentHashes[0] != first.Hash {
				t.Errorf("second = %+v parents %v, want one parent %s", second, c.ParentHashes, first.Hash)
			}
			if got := treeFiles(t, r.Git, second.Hash)["apps/front-end/kustomization.yaml"]; got != "0100644:images: [v2]\n" {
				t.Errorf("content = %q", got)
			}
		}},
		{name: "Update after the base moved merges the new base in", check: func(t *testing.T, r *gittest.Repo, base plumbing.Hash) {
			first := mustCommit(t, r, base, change1, opts(false))
			newBase := r.CommitFiles(t, "main moved", map[string][]byte{"README.md": []byte("new readme\n")})
			second := mustCommit(t, r, newBase, change1, opts(true))
			c, _ := r.Git.CommitObject(second.Hash)
			if d := cmp.Diff([]plumbing.Hash{first.Hash, newBase}, c.ParentHashes); d != "" {
				t.Errorf("parents (-want +got):\n%s", d)
			}
			if got := treeFiles(t, r.Git, second.Hash)["README.md"]; got != "0100644:new readme\n" {
				t.Errorf("README = %q, want the new base's", got)
			}
		}},
		{name: "someone else's commit on the branch is never rewritten", check: func(t *testing.T, r *gittest.Repo, base plumbing.Hash) {
			first := mustCommit(t, r, base, change1, opts(false))
			other := object.Signature{Name: "Alice", Email: "alice@example.com", When: when}
			theirs := opts(true)
			theirs.Author, theirs.Committer = other, &other
			// Alice adds a commit on top (Update lets her: the tip is hers to
			// move only because it was ours; emulate with a direct ref move).
			c := &object.Commit{Author: other, Committer: other, Message: "fix", ParentHashes: []plumbing.Hash{first.Hash}}
			fc, _ := r.Git.CommitObject(first.Hash)
			c.TreeHash = fc.TreeHash
			obj := r.Git.Storer.NewEncodedObject()
			if err := c.Encode(obj); err != nil {
				t.Fatal(err)
			}
			h, _ := r.Git.Storer.SetEncodedObject(obj)
			if err := r.Git.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(theirs.Branch), h)); err != nil {
				t.Fatal(err)
			}
			_, err := Commit(r.Git, base, change2, opts(true))
			var be *BranchExistsError
			if !errors.As(err, &be) || be.Tip != h {
				t.Errorf("err = %v, want BranchExistsError naming Alice's commit", err)
			}
		}},
		{name: "the checked-out branch is refused", check: func(t *testing.T, r *gittest.Repo, base plumbing.Hash) {
			o := opts(false)
			o.Branch = "main"
			if _, err := Commit(r.Git, base, change1, o); !errors.Is(err, ErrCheckedOut) {
				t.Errorf("err = %v, want ErrCheckedOut", err)
			}
		}},
		{name: "no change is an error", check: func(t *testing.T, r *gittest.Repo, base plumbing.Hash) {
			same := map[string][]byte{"README.md": []byte("readme\n"), "absent.yaml": nil}
			if _, err := Commit(r.Git, base, same, opts(false)); !errors.Is(err, ErrNoChanges) {
				t.Errorf("err = %v, want ErrNoChanges", err)
			}
		}},
		{name: "bad paths are refused", check: func(t *testing.T, r *gittest.Repo, base plumbing.Hash) {
			for _, p := range []string{"../x", "/abs", "a//b", ".git/config", "apps/front-end"} {
				if _, err := Commit(r.Git, base, map[string][]byte{p: []byte("x")}, opts(false)); err == nil {
					t.Errorf("path %q accepted", p)
				}
			}
		}},
		{name: "no time is an error", check: func(t *testing.T, r *gittest.Repo, base plumbing.Hash) {
			o := opts(false)
			o.When = time.Time{}
			if _, err := Commit(r.Git, base, change1, o); err == nil {
				t.Error("commit without a time accepted")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, base := newRepo(t)
			tt.check(t, r, base)
		})
	}
}

func mustCommit(t *testing.T, r *gittest.Repo, base plumbing.Hash, changes map[string][]byte, opts CommitOptions) CommitResult {
	t.Helper()
	res, err := Commit(r.Git, base, changes, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCommitRefusesSymlinks(t *testing.T) {
	r := gittest.Init(t, t.TempDir())
	r.Write(t, map[string][]byte{"real.yaml": []byte("a\n")})
	if err := os.Symlink("real.yaml", filepath.Join(r.Dir, "link.yaml")); err != nil {
		t.Skip("no symlinks:", err)
	}
	base := r.Commit(t, "base")
	tree := treeFiles(t, r.Git, base)
	if tree["link.yaml"] != filemode.Symlink.String()+":real.yaml" {
		t.Fatalf("fixture: link.yaml = %q", tree["link.yaml"])
	}
	_, err := Commit(r.Git, base, map[string][]byte{"link.yaml": []byte("b\n")}, CommitOptions{Branch: "b", Author: bot, Message: "m", When: when})
	if err == nil {
		t.Error("writing through a symlink accepted")
	}
}

func TestDirty(t *testing.T) {
	r, _ := newRepo(t)
	r.Write(t, map[string][]byte{
		"README.md":            []byte("changed, not staged\n"),
		"apps/other/only.yaml": []byte("staged\n"),
		"new.yaml":             []byte("untracked\n"),
	})
	wt, _ := r.Git.Worktree()
	if _, err := wt.Add("apps/other/only.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(r.Dir, "apps/front-end/deploy.yaml")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{name: "clean files", paths: []string{"apps/front-end/kustomization.yaml", "hack/run.sh"}, want: nil},
		{name: "modified in the working tree", paths: []string{"README.md"}, want: []string{"README.md"}},
		{name: "staged", paths: []string{"apps/other/only.yaml"}, want: []string{"apps/other/only.yaml"}},
		{name: "untracked", paths: []string{"new.yaml"}, want: []string{"new.yaml"}},
		{name: "deleted", paths: []string{"apps/front-end/deploy.yaml"}, want: []string{"apps/front-end/deploy.yaml"}},
		{name: "absent everywhere is clean", paths: []string{"nowhere.yaml"}, want: nil},
		{name: "mixed, sorted", paths: []string{"new.yaml", "hack/run.sh", "README.md"}, want: []string{"README.md", "new.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dirty(r.Git, tt.paths)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Dirty (-want +got):\n%s", d)
			}
		})
	}
}

func TestBranchNames(t *testing.T) {
	a := map[string][]byte{"x.yaml": []byte("1"), "y.yaml": nil}
	b := map[string][]byte{"y.yaml": nil, "x.yaml": []byte("1")}
	c := map[string][]byte{"x.yaml": []byte("2"), "y.yaml": nil}
	d := map[string][]byte{"x.yaml": []byte("1"), "y.yaml": []byte{}}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{name: "order does not matter", got: ShortHash(a), want: ShortHash(b)},
		{name: "promote branch", got: PromoteBranch("overlays/prod/", a), want: "gitops/promote/prod/" + ShortHash(a)},
		{name: "promote branch sanitised", got: PromoteBranch("pr od..x", a), want: "gitops/promote/pr-od-x/" + ShortHash(a)},
		{name: "images branch", got: ImagesBranch(a), want: "gitops/images/" + ShortHash(a)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
			if err := plumbing.NewBranchReferenceName(tt.got).Validate(); err != nil && tt.name != "order does not matter" {
				t.Errorf("%q is not a valid branch name: %v", tt.got, err)
			}
		})
	}
	if ShortHash(a) == ShortHash(c) || ShortHash(a) == ShortHash(d) || len(ShortHash(a)) != ShortHashLen {
		t.Errorf("hashes do not tell changes apart: %s %s %s", ShortHash(a), ShortHash(c), ShortHash(d))
	}
}
