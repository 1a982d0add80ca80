package repo

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
)

// gitCmd runs the git command line in dir.
func gitCmd(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// goGitIndex decodes an index with go-git, the reference.
func goGitIndex(t testing.TB, data []byte) *index.Index {
	t.Helper()
	idx := &index.Index{}
	if err := index.NewDecoder(bytes.NewReader(data)).Decode(idx); err != nil {
		t.Fatalf("go-git cannot read the index: %v", err)
	}
	return idx
}

// indexRepo writes a repository whose index holds every kind of entry a
// GitOps repository's may: nested and long paths, an executable, a symlink,
// a file staged on top of a commit, one only marked to be added, one
// skipped in the worktree, and a merge conflict's three stages.
func indexRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitCmd(t, dir, "init", "-q", "-b", "main")
	long := strings.Repeat("d", 60) + "/" + strings.Repeat("e", 200) + ".yaml"
	write("apps/base/kustomization.yaml", "resources: [deploy.yaml]\n")
	write("apps/base/deploy.yaml", "kind: Deployment\n")
	write(long, "x: 1\n")
	write("conflict.yaml", "replicas: 1\n")
	write("skip.yaml", "s: 1\n")
	write("run.sh", "#!/bin/sh\n")
	// Names that sort between a directory and its files ('-' and '.'
	// before '/'), and one it is a prefix of.
	write("apps-list.yaml", "a: 1\n")
	write("apps.d/more.yaml", "b: 1\n")
	write("apps/base-2/kustomization.yaml", "resources: []\n")
	write("appsx/y.yaml", "c: 1\n")
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("apps/base", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, dir, "add", "-A")
	gitCmd(t, dir, "commit", "-q", "-m", "init")
	gitCmd(t, dir, "checkout", "-q", "-b", "other")
	write("conflict.yaml", "replicas: 2\n")
	gitCmd(t, dir, "commit", "-q", "-am", "two")
	gitCmd(t, dir, "checkout", "-q", "main")
	write("conflict.yaml", "replicas: 3\n")
	gitCmd(t, dir, "commit", "-q", "-am", "three")
	cmd := exec.Command("git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "merge", "-q", "other")
	if err := cmd.Run(); err == nil {
		t.Fatal("the merge did not conflict")
	}
	write("apps/base/deploy.yaml", "kind: Deployment\nspec: {}\n")
	gitCmd(t, dir, "add", "apps/base/deploy.yaml")
	write("later.yaml", "l: 1\n")
	gitCmd(t, dir, "add", "-N", "later.yaml")
	gitCmd(t, dir, "update-index", "--skip-worktree", "skip.yaml")
	return dir
}

func TestIndexEntries(t *testing.T) {
	dir := indexRepo(t)
	read := func() []byte {
		data, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, version := range []string{"3", "4", "2"} {
		t.Run("version "+version, func(t *testing.T) {
			if version == "2" {
				// Version 2 has no room for the extended flags.
				gitCmd(t, dir, "update-index", "--no-skip-worktree", "skip.yaml")
				gitCmd(t, dir, "rm", "-q", "--cached", "later.yaml")
			}
			gitCmd(t, dir, "update-index", "--index-version", version)
			data := read()
			got, err := indexEntries(data)
			if err != nil {
				t.Fatal(err)
			}
			want := goGitIndex(t, data)
			if got.Version != want.Version || got.Version != uint32(version[0]-'0') {
				t.Errorf("version %d, go-git %d, want %s", got.Version, want.Version, version)
			}
			if diff := cmp.Diff(want.Entries, got.Entries); diff != "" {
				t.Errorf("entries (-go-git +ours):\n%s", diff)
			}
			stages, flagged := 0, 0
			for _, e := range got.Entries {
				if e.Stage != 0 { // go-git names stage 0 nothing, and 1 Merged
					stages++
				}
				if e.IntentToAdd || e.SkipWorktree {
					flagged++
				}
			}
			if wantFlagged := map[string]int{"2": 0, "3": 2, "4": 2}[version]; stages != 3 || flagged != wantFlagged {
				t.Errorf("%d conflict stages and %d flagged entries, want 3 and %d", stages, flagged, wantFlagged)
			}
		})
	}
}

// TestIndexRefused checks that what the reader does not read goes to
// go-git: a split index, a damaged checksum.
func TestIndexRefused(t *testing.T) {
	dir := indexRepo(t)
	gitCmd(t, dir, "update-index", "--split-index")
	data, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := indexEntries(data); !errors.Is(err, errIndexFormat) {
		t.Errorf("split index: %v, want errIndexFormat", err)
	}
	gitCmd(t, dir, "update-index", "--no-split-index")
	data, err = os.ReadFile(filepath.Join(dir, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if _, err := indexEntries(data); !errors.Is(err, errIndexFormat) {
		t.Errorf("damaged checksum: %v, want errIndexFormat", err)
	}
}

// FuzzIndexEntries reads damaged indexes, their checksum made to match so
// that the entries are read: never a panic, and what is read is what
// go-git reads.
func FuzzIndexEntries(f *testing.F) {
	dir := f.TempDir()
	gitCmd(f, dir, "init", "-q")
	for _, name := range []string{"a.yaml", "dir/b.yaml", "dir/sub/c.yaml"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	gitCmd(f, dir, "add", "-A")
	gitCmd(f, dir, "add", "-N", ".")
	for _, version := range []string{"3", "4"} {
		gitCmd(f, dir, "update-index", "--index-version", version)
		data, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:len(data)-indexHashSize])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sum := sha1.Sum(body)
		data := append(body[:len(body):len(body)], sum[:]...)
		got, err := indexEntries(data)
		if err != nil {
			return
		}
		want := &index.Index{}
		if err := index.NewDecoder(bytes.NewReader(data)).Decode(want); err != nil {
			return // go-git refuses some extensions it does not know
		}
		if diff := cmp.Diff(want.Entries, got.Entries, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%q: entries (-go-git +ours):\n%s", data, diff)
		}
	})
}

// TestFilesTree rebuilds a commit's tree from its files: every directory
// lists, and every file reads and names its blob, as in the commit.
func TestFilesTree(t *testing.T) {
	dir := indexRepo(t)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.CommitTree(h)
	if err != nil {
		t.Fatal(err)
	}
	files, err := r.CommitFiles(h)
	if err != nil {
		t.Fatal(err)
	}
	got := r.FilesTree(h.String(), files)
	if got.Revision() != want.Revision() {
		t.Errorf("revision %q, want %q", got.Revision(), want.Revision())
	}
	var walk func(dir string)
	seen := 0
	walk = func(dir string) {
		we, werr := want.ReadDir(dir)
		ge, gerr := got.ReadDir(dir)
		if diff := cmp.Diff(we, ge); diff != "" || (werr == nil) != (gerr == nil) {
			t.Errorf("%s: listing (-commit +files), errors %v and %v:\n%s", dir, werr, gerr, diff)
		}
		for _, e := range we {
			p := join(dir, e.Name)
			seen++
			if e.Kind == Dir {
				if !e.Link {
					walk(p)
				}
				continue
			}
			wb, _ := want.Blob(p)
			gb, _ := got.Blob(p)
			wd, _ := want.ReadFile(p)
			gd, _ := got.ReadFile(p)
			if wb != gb || !bytes.Equal(wd, gd) {
				t.Errorf("%s: blob %s and %d bytes, want %s and %d bytes", p, gb, len(gd), wb, len(wd))
			}
		}
	}
	walk(".")
	if seen < 8 {
		t.Errorf("walked %d entries, want the example's", seen)
	}
	if _, err := got.Stat("link/deploy.yaml"); err != nil {
		t.Errorf("a file through the symlink: %v", err)
	}
	for _, p := range []string{"apps", "apps/bas", "apps/base", "apps/base/deploy", "apps/base-2", "apps.d", "app", "appsx/y.yaml/z", "link", "run.sh", "nothing"} {
		wk, werr := want.Stat(p)
		gk, gerr := got.Stat(p)
		if wk != gk || (werr == nil) != (gerr == nil) || (gerr != nil && !errors.Is(gerr, fs.ErrNotExist)) {
			t.Errorf("Stat(%s): %v, %v; want %v, %v", p, gk, gerr, wk, werr)
		}
	}
}

// TestContentBlob checks that the blob a working tree gives a file from
// content read is the one Blob gives it, Git's, for a committed file, an
// edited one, an untracked one, and one read through a symlink; and that
// a commit's tree gives its own.
func TestContentBlob(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	head := g.CommitFiles(t, "init", map[string][]byte{"app/a.yaml": []byte("a: 1\n"), "app/b.yaml": []byte("b: 1\n")})
	if err := os.WriteFile(filepath.Join(g.Dir, "app", "b.yaml"), []byte("b: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(g.Dir, "app", "c.yaml"), []byte("c: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("app", filepath.Join(g.Dir, "link")); err != nil {
		t.Fatal(err)
	}
	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	work, err := r.Tree("")
	if err != nil {
		t.Fatal(err)
	}
	commit, err := r.CommitTree(head)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tree Tree
		path string
	}{{work, "app/a.yaml"}, {work, "app/b.yaml"}, {work, "app/c.yaml"}, {work, "link/a.yaml"}, {commit, "app/a.yaml"}, {commit, "app/b.yaml"}} {
		data, err := tc.tree.ReadFile(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ContentBlob(tc.tree, tc.path, data)
		if err != nil {
			t.Fatal(err)
		}
		if want := hashObject(t, string(data)); got != want {
			t.Errorf("%s: blob %s, git hash-object gives %s", tc.path, got, want)
		}
		// Blob on a tree that has not hashed it: from Git's index for
		// the committed file.
		other := commit
		if tc.tree == work {
			if other, err = r.Tree(""); err != nil {
				t.Fatal(err)
			}
		}
		if again, err := other.Blob(tc.path); err != nil || again != got {
			t.Errorf("%s: Blob gives %s, %v; ContentBlob gave %s", tc.path, again, err, got)
		}
	}
}
