package repo

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
)

// TestChangedFiles holds ChangedFiles to go-git's DiffTree on every kind
// of change, and reads a name go-git's walker refuses.
func TestChangedFiles(t *testing.T) {
	dir := t.TempDir()
	gitCLI(t, dir, "init", "-q")
	commit := func(files map[string]string, remove ...string) plumbing.Hash {
		t.Helper()
		for _, name := range remove {
			if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
				t.Fatal(err)
			}
		}
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, p, content)
		}
		gitCLI(t, dir, "add", "-A")
		gitCLI(t, dir, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty", "-m", "c")
		g, err := git.PlainOpen(dir)
		if err != nil {
			t.Fatal(err)
		}
		head, err := g.Head()
		if err != nil {
			t.Fatal(err)
		}
		return head.Hash()
	}
	first := commit(map[string]string{"a.yaml": "a", "keep/b.yaml": "b", "gone/c.yaml": "c", "swap": "file", "deep/x/y/z.yaml": "z"})
	if err := os.Chmod(filepath.Join(dir, "keep/b.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	second := commit(map[string]string{"a.yaml": "a2", "new/d.yaml": "d", "swap/inner.yaml": "now a directory"}, "gone", "swap")

	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.ChangedFiles(first, second)
	if err != nil {
		t.Fatal(err)
	}
	want := goGitChanges(t, r, first, second)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ChangedFiles differs from go-git's DiffTree (-go-git +ours):\n%s", diff)
	}

	third := commit(map[string]string{"bad\nname/e.yaml": "e"})
	got, err = r.ChangedFiles(second, third)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"bad\nname/e.yaml"}, got); diff != "" {
		t.Errorf("a name with a newline (-want +got):\n%s", diff)
	}
}

func goGitChanges(t *testing.T, r *Repo, from, to plumbing.Hash) []string {
	t.Helper()
	var trees []*object.Tree
	for _, h := range []plumbing.Hash{from, to} {
		c, err := r.Git.CommitObject(h)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := c.Tree()
		if err != nil {
			t.Fatal(err)
		}
		trees = append(trees, tree)
	}
	changes, err := object.DiffTree(trees[0], trees[1])
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range changes {
		for _, n := range []string{c.From.Name, c.To.Name} {
			if n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}
