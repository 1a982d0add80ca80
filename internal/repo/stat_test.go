package repo

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
)

// TestCleanBlobTrustsOnlyUnchangedFiles stages a file with the git CLI and
// changes it in the ways that keep its size and modification time: the
// blob id the index records is trusted only while Git itself would trust
// it, and the file is read otherwise.
func TestCleanBlobTrustsOnlyUnchangedFiles(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	const (
		staged = "k: AAAA\n"
		edited = "k: BBBB\n" // the same size
	)
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	tests := []struct {
		name   string
		change func(t *testing.T, p string)
		// trusted tells that the index's blob id stands for the file.
		trusted bool
	}{
		{name: "untouched", change: func(*testing.T, string) {}, trusted: true},
		{name: "rewritten in place, mtime put back (cp -p)", change: func(t *testing.T, p string) {
			write(t, p, edited)
			if err := os.Chtimes(p, past, past); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "replaced by a new file, mtime put back", change: func(t *testing.T, p string) {
			tmp := p + ".new"
			write(t, tmp, edited)
			if err := os.Chtimes(tmp, past, past); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "checked out with CRLF line ends (core.autocrlf)", change: func(t *testing.T, p string) {
			dir := filepath.Dir(p)
			gitCLI(t, dir, "config", "core.autocrlf", "true")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			gitCLI(t, dir, "checkout", "--", "a.yaml")
			time.Sleep(20 * time.Millisecond) // the index written after the file: not racy
			gitCLI(t, dir, "update-index", "--really-refresh")
		}, trusted: true},
		{name: "mode changed", change: func(t *testing.T, p string) {
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "a.yaml")
			gitCLI(t, dir, "init", "-q")
			write(t, p, staged)
			if err := os.Chtimes(p, past, past); err != nil {
				t.Fatal(err)
			}
			gitCLI(t, dir, "add", "a.yaml")
			tt.change(t, p)

			g, err := git.PlainOpen(dir)
			if err != nil {
				t.Fatal(err)
			}
			blob, ok := newIgnoreRules(dir, g).cleanBlob(p, "a.yaml")
			if ok != tt.trusted {
				t.Fatalf("index trusted = %v, want %v", ok, tt.trusted)
			}
			if ok && blob != hashObject(t, staged) {
				t.Errorf("blob %s, want the staged content's %s", blob, hashObject(t, staged))
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := NewWorkTree(dir).Blob("a.yaml")
			if err != nil || got != hashObject(t, string(data)) {
				t.Errorf("work tree blob %s, %v; want the content's %s", got, err, hashObject(t, string(data)))
			}
			// Read first, the blob id comes from the read's status data,
			// under the same rules: what Blob says without reading.
			tree := newGitWorkTree(dir, g)
			read, err := tree.ReadFile("a.yaml")
			if err != nil {
				t.Fatal(err)
			}
			fromRead, err := ContentBlob(tree, "a.yaml", read)
			if err != nil {
				t.Fatal(err)
			}
			want := hashObject(t, string(data))
			if tt.trusted {
				want = hashObject(t, staged)
			}
			if fromRead != want {
				t.Errorf("blob after a read %s, want %s", fromRead, want)
			}
			if unread, err := newGitWorkTree(dir, g).Blob("a.yaml"); err != nil || unread != fromRead {
				t.Errorf("blob without a read %s, %v; after one %s", unread, err, fromRead)
			}
		})
	}
}

func write(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gitCLI runs git in dir, without the user's or the system's settings,
// and returns its output.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}
