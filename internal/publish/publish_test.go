package publish

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// TestPublishCommits commits a change on its branch from HEAD without
// touching the working tree or the current branch; the author is the
// option's, else the change's, else a default; a file with uncommitted
// edits is refused before anything is written. Pushing and the pull
// request are tested against a real Gitea in integration.
func TestPublishCommits(t *testing.T) {
	const file = "apps/web.yaml"
	old, new := []byte("image: web:1.0.0\n"), []byte("image: web:1.2.0\n")
	clock := func() time.Time { return time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC) }
	// git's user, read from the global configuration, is this machine's
	// business: none here.
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, tc := range []struct {
		name       string
		change     *object.Signature
		flag       string
		wantAuthor string
		wantErr    string
	}{
		{name: "the change's author", change: &object.Signature{Name: "fluxbot", Email: "flux@example.com"}, wantAuthor: "fluxbot <flux@example.com>"},
		{name: "the option wins", change: &object.Signature{Name: "fluxbot", Email: "flux@example.com"}, flag: " Ada Lovelace <ada@example.com> ", wantAuthor: "Ada Lovelace <ada@example.com>"},
		{name: "a default", wantAuthor: "kubectl-gitops <kubectl-gitops@users.noreply.localhost>"},
		{name: "an author that is not Name <email>", flag: "ada@example.com", wantErr: `the author must be "Name <email>"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := gittest.Init(t, t.TempDir())
			start := g.CommitFiles(t, "import", map[string][]byte{file: old})
			r, err := repo.Open(g.Dir)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			err = Publish(context.Background(), r, Change{Changes: map[string][]byte{file: new}, Branch: "gitops/images/x", Author: tc.change, Message: "Update images\n"},
				Options{Author: tc.flag, Now: clock, Log: &log})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Publish = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ref, err := r.Git.Reference(plumbing.NewBranchReferenceName("gitops/images/x"), true)
			if err != nil {
				t.Fatal(err)
			}
			c, err := r.Git.CommitObject(ref.Hash())
			if err != nil {
				t.Fatal(err)
			}
			want := tc.wantAuthor
			if cfg, err := r.Git.ConfigScoped(config.SystemScope); tc.flag == "" && tc.change == nil && err == nil && cfg.User.Name != "" {
				want = cfg.User.Name + " <" + cfg.User.Email + ">" // /etc/gitconfig names a user
			}
			if got := c.Author.Name + " <" + c.Author.Email + ">"; got != want {
				t.Errorf("author %q, want %q", got, want)
			}
			if len(c.ParentHashes) != 1 || c.ParentHashes[0] != start || !c.Author.When.Equal(clock()) || c.Message != "Update images\n" {
				t.Errorf("commit %s: parents %v (want %s), date %s, message %q", c.Hash, c.ParentHashes, start, c.Author.When, c.Message)
			}
			f, err := c.File(file)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := f.Contents(); got != string(new) {
				t.Errorf("the branch holds %q, want %q", got, new)
			}
			head, _ := r.Git.Head()
			disk, _ := os.ReadFile(filepath.Join(g.Dir, file))
			if head.Hash() != start || !bytes.Equal(disk, old) {
				t.Errorf("HEAD moved to %s or the working tree changed: %q", head.Hash(), disk)
			}
			if !strings.Contains(log.String(), "on branch gitops/images/x") {
				t.Errorf("the log says %q", log.String())
			}
		})
	}

	t.Run("uncommitted edits are refused", func(t *testing.T) {
		g := gittest.Init(t, t.TempDir())
		g.CommitFiles(t, "import", map[string][]byte{file: old})
		g.Write(t, map[string][]byte{file: []byte("image: web:1.1.0\n")})
		r, err := repo.Open(g.Dir)
		if err != nil {
			t.Fatal(err)
		}
		err = Publish(context.Background(), r, Change{Changes: map[string][]byte{file: new}, Branch: "gitops/images/x"}, Options{Now: clock})
		if err == nil || !strings.Contains(err.Error(), "uncommitted changes in apps/web.yaml") {
			t.Fatalf("Publish = %v, want the uncommitted file named", err)
		}
		if _, err := r.Git.Reference(plumbing.NewBranchReferenceName("gitops/images/x"), true); err == nil {
			t.Error("the branch was made anyway")
		}
	})
}

// TestBody: a pull request's body holds the files' diff in a fence longer
// than any backtick run inside, and the validation's findings.
func TestBody(t *testing.T) {
	b := Body("Promotes.", []string{"--- a/x\n+++ b/x\n+a: ```\n"}, nil, nil)
	if !strings.HasPrefix(b, "Promotes.\n\n#### Files\n\n````diff\n") || !strings.Contains(b, "+a: ```\n````") {
		t.Errorf("body:\n%s", b)
	}
}

// TestWrite writes new contents in place, keeping each file's mode, and
// refuses a file edited since it was read, leaving it as the editor did.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	write := func(p, data string, mode os.FileMode) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("a/one.yaml", "tag: 1.0.0 # keep me\n", 0o600)
	write("b/two.yaml", "tag: 1.0.0\n", 0o644)
	files := []File{
		{Path: "a/one.yaml", Old: []byte("tag: 1.0.0 # keep me\n"), New: []byte("tag: 1.1.0 # keep me\n")},
		{Path: "b/two.yaml", Old: []byte("tag: 1.0.0\n"), New: []byte("tag: 1.1.0\n")},
	}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil || !bytes.Equal(data, f.New) {
			t.Errorf("%s: %q, %v; want %q", f.Path, data, err, f.New)
		}
	}
	if info, _ := os.Stat(filepath.Join(dir, "a", "one.yaml")); info.Mode().Perm() != 0o600 {
		t.Errorf("a/one.yaml has mode %v, want 0600", info.Mode().Perm())
	}

	write("b/two.yaml", "tag: 2.0.0 # edited meanwhile\n", 0o644)
	err := Write(dir, []File{{Path: "b/two.yaml", Old: []byte("tag: 1.1.0\n"), New: []byte("tag: 1.2.0\n")}})
	if err == nil || !strings.Contains(err.Error(), "b/two.yaml") {
		t.Errorf("writing over an edit: %v, want a refusal naming the file", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "b", "two.yaml")); string(data) != "tag: 2.0.0 # edited meanwhile\n" {
		t.Errorf("the edited file became %q", data)
	}
	if d := FileDiff(files[1]); !strings.HasPrefix(d, "--- a/b/two.yaml\n+++ b/b/two.yaml\n") || !strings.Contains(d, "+tag: 1.1.0") {
		t.Errorf("FileDiff:\n%s", d)
	}
}
