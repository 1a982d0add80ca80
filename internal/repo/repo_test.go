package repo

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
)

// newRepo builds a repository exercising what makes a working tree differ
// from a commit: symlinks in and out of the repository, ignored files, and a
// tracked file and a directory of tracked files that ignore patterns match.
func newRepo(t *testing.T) *gittest.Repo {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	g.Write(t, map[string][]byte{
		"a/b.yaml":            []byte("b: 1\n"),
		"a/c/d.yaml":          []byte("d: 2\n"),
		"tracked-ignored.log": []byte("tracked before it was ignored\n"),
		"vendor/kept.yaml":    []byte("k: 1\n"),
	})
	g.Commit(t, "files")
	g.Write(t, map[string][]byte{
		".gitignore":      []byte("*.log\nbuild/\nvendor/\n"),
		"vendor/new.yaml": []byte("untracked in an ignored directory\n"),
		"ignored.log":     []byte("local only\n"),
		"build/out.yaml":  []byte("generated\n"),
		"zz-untracked.md": nil,
	})
	for link, target := range map[string]string{
		"link-file": "a/b.yaml",
		"link-dir":  "a/c",
		"link-out":  "../../../etc/hostname",
		"a/up":      "../a/c/d.yaml",
	} {
		if err := os.Symlink(target, filepath.Join(g.Dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	g.Commit(t, "links")
	return g
}

func openBoth(t *testing.T, g *gittest.Repo) (Tree, Tree) {
	t.Helper()
	r, err := Open(filepath.Join(g.Dir, "a", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Root != mustEval(t, g.Dir) {
		t.Fatalf("root = %s, want %s", r.Root, g.Dir)
	}
	wt, err := r.Tree("")
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.Tree("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	return wt, head
}

func mustEval(t *testing.T, p string) string {
	t.Helper()
	e, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestWorkTreeEqualsCommit reads the same paths from the working tree and
// from the commit: every answer must be the same.
func TestWorkTreeEqualsCommit(t *testing.T) {
	g := newRepo(t)
	wt, head := openBoth(t, g)
	type answer struct {
		Kind    Kind
		Content string
		Blob    string
		Entries []Entry
		Err     string
	}
	ask := func(tr Tree, p string) answer {
		var a answer
		k, err := tr.Stat(p)
		if err != nil {
			a.Err = classify(err)
			return a
		}
		a.Kind = k
		if k == Dir {
			a.Entries, err = tr.ReadDir(p)
		} else {
			var b []byte
			b, err = tr.ReadFile(p)
			a.Content = string(b)
			if err == nil {
				a.Blob, err = tr.Blob(p)
			}
		}
		if err != nil {
			a.Err = classify(err)
		}
		return a
	}
	for _, p := range []string{".", "a", "a/b.yaml", "a/c", "a/c/d.yaml", "link-file", "link-dir", "link-dir/d.yaml",
		"link-out", "a/up", "ignored.log", "build", "build/out.yaml", "tracked-ignored.log", ".git", ".git/HEAD", "missing", "a/b.yaml/x",
		"vendor", "vendor/kept.yaml", "vendor/new.yaml"} {
		t.Run(p, func(t *testing.T) {
			if diff := cmp.Diff(ask(head, p), ask(wt, p)); diff != "" {
				t.Errorf("working tree differs from HEAD (-HEAD +worktree):\n%s", diff)
			}
		})
	}
}

func classify(err error) string {
	switch {
	case IsOutside(err):
		return "outside"
	case errors.Is(err, fs.ErrNotExist):
		return "not exist"
	}
	return err.Error()
}

func TestListingHidesWhatACommitWouldNotHold(t *testing.T) {
	g := newRepo(t)
	wt, _ := openBoth(t, g)
	es, err := wt.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name)
	}
	want := []string{".gitignore", "a", "link-dir", "link-file", "tracked-ignored.log", "vendor"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
}

func TestPathsLeavingTheRepository(t *testing.T) {
	g := newRepo(t)
	wt, head := openBoth(t, g)
	for _, tr := range []Tree{wt, head} {
		for _, p := range []string{"../x", "/etc/hostname", "link-out", "a/../../x"} {
			if _, _, err := tr.Resolve(p); !IsOutside(err) {
				t.Errorf("%T Resolve(%q) = %v, want an error saying it leaves the repository", tr, p, err)
			}
		}
	}
}

func TestResolveRevisions(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	first := g.CommitFiles(t, "one", map[string][]byte{"f": []byte("1")})
	g.CommitFiles(t, "two", map[string][]byte{"f": []byte("2")})
	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, rev, want string
	}{
		{name: "parent", rev: "HEAD~1", want: "1"},
		{name: "branch", rev: "main", want: "2"},
		{name: "commit", rev: first.String(), want: "1"},
		{name: "short commit", rev: first.String()[:7], want: "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := r.Tree(tc.rev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tr.ReadFile("f")
			if err != nil || string(got) != tc.want {
				t.Errorf("f at %s = %q, %v; want %q", tc.rev, got, err, tc.want)
			}
		})
	}
	if _, err := r.Tree("no-such-branch"); err == nil {
		t.Error("an unknown revision resolved")
	}
}

// TestIndexTree reads what the next commit would hold: staged content, not
// the working tree's; no untracked file, nor one only marked to be added.
func TestIndexTree(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "init", map[string][]byte{"app/a.yaml": []byte("a: 1\n"), "app/b.yaml": []byte("b: 1\n")})
	g.Write(t, map[string][]byte{"app/a.yaml": []byte("a: 2\n")})
	wt, err := g.Git.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add("app/a.yaml"); err != nil {
		t.Fatal(err)
	}
	g.Write(t, map[string][]byte{"app/a.yaml": []byte("a: 3, unstaged\n"), "app/untracked.yaml": []byte("u: 1\n"), "app/later.yaml": []byte("l: 1\n")})
	if out, err := exec.Command("git", "-C", g.Dir, "add", "-N", "app/later.yaml").CombinedOutput(); err != nil {
		t.Fatalf("git add -N: %v\n%s", err, out)
	}

	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.IndexTree()
	if err != nil {
		t.Fatal(err)
	}
	if data, err := tree.ReadFile("app/a.yaml"); err != nil || string(data) != "a: 2\n" {
		t.Errorf("app/a.yaml: %q, %v; want the staged content", data, err)
	}
	if blob, err := tree.Blob("app/a.yaml"); err != nil || blob != hashObject(t, "a: 2\n") {
		t.Errorf("app/a.yaml blob %s, %v; want the staged blob", blob, err)
	}
	entries, err := tree.ReadDir("app")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	if diff := cmp.Diff([]string{"a.yaml", "b.yaml"}, names); diff != "" {
		t.Errorf("app (-want +got):\n%s", diff)
	}
	for _, p := range []string{"app/untracked.yaml", "app/later.yaml"} {
		if _, err := tree.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want it absent", p, err)
		}
	}
}

// hashObject is the Git blob id of content.
func hashObject(t *testing.T, content string) string {
	t.Helper()
	h := plumbing.ComputeHash(plumbing.BlobObject, []byte(content))
	return h.String()
}

// TestDefaultBranches reads the branch a clone's origin/HEAD names, and
// nothing when the clone recorded none.
func TestDefaultBranches(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "init", map[string][]byte{"a.yaml": []byte("a: 1\n")})
	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.DefaultBranches(); len(got) != 0 {
		t.Errorf("without a remote HEAD: %q", got)
	}
	g.Origin(t, "https://example.com/fleet.git")
	head := plumbing.NewSymbolicReference(plumbing.NewRemoteReferenceName("origin", "HEAD"), plumbing.NewRemoteReferenceName("origin", "trunk"))
	if err := g.Git.Storer.SetReference(head); err != nil {
		t.Fatal(err)
	}
	if got := r.DefaultBranches(); len(got) != 1 || got[0] != "trunk" {
		t.Errorf("DefaultBranches() = %q, want [trunk]", got)
	}
}

// TestMergeBase: the best common ancestor of two lines of history, the
// commit itself for one commit, and none for unrelated histories; read
// while Preload reads the store, it waits for it (-race tells).
func TestMergeBase(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "a", map[string][]byte{"a.yaml": []byte("a: 1\n")})
	b := g.CommitFiles(t, "b", map[string][]byte{"a.yaml": []byte("a: 2\n")})
	c := g.CommitFiles(t, "c", map[string][]byte{"a.yaml": []byte("a: 3\n")})
	gitCLI(t, g.Dir, "checkout", "-q", "-b", "feature", b.String())
	gitCLI(t, g.Dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "d")
	d := plumbing.NewHash(strings.TrimSpace(gitCLI(t, g.Dir, "rev-parse", "HEAD")))
	orphan := g.Branch(t, "orphan", map[string][]byte{"x.yaml": []byte("x: 1\n")})
	gitCLI(t, g.Dir, "repack", "-a", "-d", "-q")
	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	r.Preload()
	for _, tc := range []struct {
		name   string
		a, b   plumbing.Hash
		want   plumbing.Hash
		wantOK bool
	}{
		{"two lines", c, d, b, true},
		{"one commit", c, c, c, true},
		{"an ancestor", c, b, b, true},
		{"unrelated histories", c, orphan, plumbing.ZeroHash, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := r.MergeBase(tc.a, tc.b)
			if err != nil || ok != tc.wantOK || got != tc.want {
				t.Errorf("MergeBase = %s, %v, %v; want %s, %v", got, ok, err, tc.want, tc.wantOK)
			}
		})
	}
}
