package repo

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
)

// gitOut runs the git command line in dir and returns its output, trimmed.
func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// writeFile writes a file of the working tree at dir, with its folders.
func writeFile(t *testing.T, dir, name, data string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// TestCommitFilesFromIndex holds the listing of a commit from Git's index
// to Git: the tree the index's files hash to is the one `git write-tree`
// writes, on names whose index order and tree order differ ("a.b", "a/",
// "a0"), an executable and a symlink; and a commit listed from the index
// is listed as its tree objects list it. An index that is not the
// commit's (a staged edit, a file added) lists the commit from its trees.
func TestCommitFilesFromIndex(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) { writeFile(t, dir, name, data, mode) }
	gitCmd(t, dir, "init", "-q", "-b", "main")
	for _, name := range []string{"a.b", "a/b.yaml", "a/c/d.yaml", "a-b/x.yaml", "a0", "a", "b/a.b/c", "b/a/c", "b/a0/c", "é/ü.yaml", "with space/k.yaml"} {
		if name == "a" {
			continue // a folder already
		}
		write(name, name+"\n", 0o644)
	}
	write("deploy.sh", "#!/bin/sh\n", 0o755)
	if err := os.Symlink("a/b.yaml", filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, dir, "add", "-A")
	gitCmd(t, dir, "commit", "-q", "-m", "first")

	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, _, err := readIndex(r.Git)
	if err != nil {
		t.Fatal(err)
	}
	var files []TreeFile
	for _, e := range idx.Entries {
		files = append(files, TreeFile{Path: e.Name, Mode: e.Mode, Hash: e.Hash})
	}
	got, err := treeHash(files)
	if err != nil {
		t.Fatal(err)
	}
	if want := gitOut(t, dir, "write-tree"); got.String() != want {
		t.Fatalf("tree of the index = %s, git write-tree = %s", got, want)
	}

	head := plumbing.NewHash(gitOut(t, dir, "rev-parse", "HEAD"))
	fromTrees := wantIndexListing(t, r, head, "the index of a fresh commit")

	// Staged changes: the index is no longer the commit's tree.
	for _, change := range []func(){
		func() { write("a/b.yaml", "changed\n", 0o644) },
		func() { write("a/new.yaml", "new\n", 0o644) },
	} {
		change()
		gitCmd(t, dir, "add", "-A")
		if _, ok := r.indexFiles(head); ok {
			t.Errorf("an index with staged changes was taken for commit %s", head)
		}
		files, err := r.CommitFiles(head)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(files, byPath)
		if diff := cmp.Diff(fromTrees, files); diff != "" {
			t.Errorf("CommitFiles with staged changes differs from the commit's trees (-trees +got):\n%s", diff)
		}
		gitCmd(t, dir, "reset", "-q", "--hard")
	}
}

// TestCommitFilesAcrossCommits lists an older commit (a pull request's
// base) from an index that holds HEAD's tree: HEAD changed a file, its
// mode, added and removed files, turned a folder into a file and a file
// into a folder. The listing is the one the commit's tree objects give.
func TestCommitFilesAcrossCommits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) { writeFile(t, dir, name, data, mode) }
	remove := func(name string) {
		if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	gitCmd(t, dir, "init", "-q", "-b", "main")
	for _, name := range []string{"apps/base/deploy.yaml", "apps/base/kustomization.yaml", "apps/prod/kustomization.yaml", "gone/a.yaml", "gone/deep/b.yaml", "was-dir/x.yaml", "was-file", "run.sh", "same/kept.yaml"} {
		write(name, name+"\n", 0o644)
	}
	gitCmd(t, dir, "add", "-A")
	gitCmd(t, dir, "commit", "-q", "-m", "base")
	base := plumbing.NewHash(gitOut(t, dir, "rev-parse", "HEAD"))

	write("apps/prod/kustomization.yaml", "changed\n", 0o644)
	write("apps/prod/new.yaml", "new\n", 0o644)
	write("added/deep/c.yaml", "c\n", 0o644)
	write("run.sh", "run.sh\n", 0o755)
	remove("gone")
	remove("was-dir")
	write("was-dir", "a file now\n", 0o644)
	remove("was-file")
	write("was-file/y.yaml", "a folder now\n", 0o644)
	gitCmd(t, dir, "add", "-A")
	gitCmd(t, dir, "commit", "-q", "-m", "head")

	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantIndexListing(t, r, base, "the base of an index holding HEAD's tree")
	// A staged change: the index is neither commit's tree.
	write("same/kept.yaml", "staged\n", 0o644)
	gitCmd(t, dir, "add", "-A")
	if _, ok := r.indexFiles(base); ok {
		t.Error("an index with a staged change was taken for HEAD's tree")
	}
}

// wantIndexListing holds indexFiles to listing commit, what names, as its
// tree objects list it, and returns that listing, sorted by path.
func wantIndexListing(t *testing.T, r *Repo, commit plumbing.Hash, what string) []TreeFile {
	t.Helper()
	got, ok := r.indexFiles(commit)
	if !ok {
		t.Fatalf("%s was not listed from the index", what)
	}
	want := commitFilesFromTrees(t, r, commit)
	slices.SortFunc(want, byPath)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: its files from the index differ from its trees' (-trees +index):\n%s", what, diff)
	}
	return want
}

// commitFilesFromTrees lists a commit's files from its tree objects, as
// CommitFiles does when the index is not the commit's.
func commitFilesFromTrees(t *testing.T, r *Repo, hash plumbing.Hash) []TreeFile {
	t.Helper()
	// A repository without an index is read from its trees.
	gitDir := filepath.Join(r.Root, ".git")
	if err := os.Rename(filepath.Join(gitDir, "index"), filepath.Join(gitDir, "index.aside")); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.Rename(filepath.Join(gitDir, "index.aside"), filepath.Join(gitDir, "index")); err != nil {
			t.Fatal(err)
		}
	}()
	files, err := r.CommitFiles(hash)
	if err != nil {
		t.Fatal(err)
	}
	return files
}
