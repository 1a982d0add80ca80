//go:build unix

package repo

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
)

// TestTreesReadUnchangedFilesFromTheWorkingTree removes a committed blob
// from the object store: a commit's tree then reads the file only from the
// working tree, and only while the file there is that blob. An edited
// file, or a FIFO in its place, is never taken for it (and the FIFO never
// opened: the read fails at once instead of waiting on it).
func TestTreesReadUnchangedFilesFromTheWorkingTree(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	const content = "a: 1\n"
	head := g.CommitFiles(t, "init", map[string][]byte{"app/a.yaml": []byte(content), "app/b.yaml": []byte("b: 1\n")})
	blob := hashObject(t, content)
	loose := filepath.Join(g.Dir, ".git", "objects", blob[:2], blob[2:])
	if err := os.Remove(loose); err != nil {
		t.Fatalf("the blob is not a loose object: %v", err)
	}
	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	read := func() (string, error) {
		tree, err := r.CommitTree(head)
		if err != nil {
			t.Fatal(err)
		}
		data, err := tree.ReadFile("app/a.yaml")
		return string(data), err
	}
	if got, err := read(); err != nil || got != content {
		t.Fatalf("the unchanged file: %q, %v; want it read from the working tree", got, err)
	}
	p := filepath.Join(g.Dir, "app", "a.yaml")
	if err := os.WriteFile(p, []byte("a: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := read(); err == nil {
		t.Errorf("an edited file was taken for the commit's blob: %q", got)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	if got, err := read(); err == nil {
		t.Errorf("a FIFO was taken for the commit's blob: %q", got)
	}
}
