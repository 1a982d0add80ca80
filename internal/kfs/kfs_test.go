package kfs

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

func TestIsRemote(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		want bool
	}{
		{"../../base", false},
		{"base", false},
		{"./deployment.yaml", false},
		{"github.com/org/repo//deploy?ref=v1", true},
		{"GitHub.com:org/repo", true},
		{"https://github.com/org/repo//deploy?ref=v1", true},
		{"https://example.com/manifest.yaml", true},
		{"http://example.com/manifest.yaml", true},
		{"ssh://git@example.com/org/repo.git", true},
		{"git@gitlab.com:org/repo.git//base", true},
		{"git::https://example.com/org/repo", true},
		{"file:///srv/repo", true},
		{"my-app@v2/base", true}, // kustomize reads user@host:path, so this goes to the network too
		{"2fa@x", false},         // a user name starts with a letter
		{"dir-with@/x", true},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			if got := IsRemote(tc.ref); got != tc.want {
				t.Errorf("IsRemote(%q) = %v, want %v", tc.ref, got, tc.want)
			}
		})
	}
}

func TestFindRemote(t *testing.T) {
	data := []byte("resources:\n  - ../base\ncomponents:\n  - ../c\n  - github.com/org/repo//components/x?ref=v1\n")
	ref, line, ok := FindRemote(data)
	if !ok || line != 5 || ref != "github.com/org/repo//components/x?ref=v1" {
		t.Errorf("FindRemote = %q, %d, %v", ref, line, ok)
	}
	if _, _, ok := FindRemote([]byte("resources: [a, b]\n")); ok {
		t.Error("found a remote reference in a local kustomization")
	}
	// What kustomize downloads when its loader is given a URL for a file.
	for _, tt := range []struct {
		data, ref string
		line      int
	}{
		{"configMapGenerator:\n- name: dash\n  files:\n  - local.json\n  - dash.json=https://raw.githubusercontent.com/org/repo/v1/dash.json\n", "https://raw.githubusercontent.com/org/repo/v1/dash.json", 5},
		{"secretGenerator:\n- name: s\n  envs:\n  - http://example.com/s.env\n", "http://example.com/s.env", 4},
		{"secretGenerator:\n- name: s\n  env: HTTPS://example.com/s.env\n", "HTTPS://example.com/s.env", 3},
		{"crds:\n- https://example.com/crd.json\n", "https://example.com/crd.json", 2},
		{"configurations:\n- https://example.com/c.yaml\n", "https://example.com/c.yaml", 2},
		{"configMapGenerator:\n- name: c\n  files:\n  - url=notes.txt\n  literals:\n  - url=https://example.com\n", "", 0},
	} {
		ref, line, ok := FindRemote([]byte(tt.data))
		if ref != tt.ref || line != tt.line || ok != (tt.ref != "") {
			t.Errorf("FindRemote(%q) = %q, %d, %v, want %q, %d", tt.data, ref, line, ok, tt.ref, tt.line)
		}
	}
}

func newFS(t *testing.T, files map[string][]byte) (*FS, string) {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "init", files)
	r, err := repo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.Tree("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	return New(tree, r.Root, false), r.Root
}

func TestReadRefusesRemoteKustomization(t *testing.T) {
	f, root := newFS(t, map[string][]byte{
		"app/kustomization.yaml": []byte("resources:\n- https://github.com/org/repo//base?ref=v1\n"),
	})
	_, err := f.ReadFile(filepath.Join(root, "app/kustomization.yaml"))
	d, ok := diag.As(err)
	if !ok || d.File != "app/kustomization.yaml" || d.Line != 2 {
		t.Fatalf("err = %v, want a located refusal at app/kustomization.yaml:2", err)
	}
	if f.Refused() == nil {
		t.Error("the refusal was not kept")
	}
}

func TestOutsideTheRepository(t *testing.T) {
	f, root := newFS(t, map[string][]byte{"a.yaml": []byte("a: 1\n")})
	if f.Exists(filepath.Join(root, "..")) || f.Exists("/etc/hostname") {
		t.Error("a path outside the repository exists")
	}
	if _, err := f.ReadFile(filepath.Join(root, "../x")); !errors.Is(err, repo.ErrOutside) {
		t.Errorf("ReadFile outside = %v", err)
	}
	if err := f.WriteFile(filepath.Join(root, "a.yaml"), nil); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("WriteFile = %v, want a permission error", err)
	}
}

func TestGlobWalkAndOverlay(t *testing.T) {
	f, root := newFS(t, map[string][]byte{
		"d/a.yaml":     []byte("a"),
		"d/b.yml":      []byte("b"),
		"d/sub/c.yaml": []byte("c"),
		"d/notes.txt":  []byte("n"),
	})
	f.SetFile("d/kustomization.yaml", []byte("resources: []\n"))
	got, err := f.Glob(filepath.Join(root, "d", "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, "d/a.yaml"), filepath.Join(root, "d/b.yml"), filepath.Join(root, "d/kustomization.yaml")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Glob (-want +got):\n%s", diff)
	}
	var walked []string
	err = f.Walk(filepath.Join(root, "d"), func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if info.IsDir() {
			rel += "/"
		}
		walked = append(walked, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantWalk := []string{"d/", "d/a.yaml", "d/b.yml", "d/kustomization.yaml", "d/notes.txt", "d/sub/", "d/sub/c.yaml"}
	if diff := cmp.Diff(wantWalk, walked); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func TestRecorderObservationsHold(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "init", map[string][]byte{"d/a.yaml": []byte("a"), "d/b.yaml": []byte("b")})
	r, err := repo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := r.Tree("")
	f := New(wt, r.Root, false)
	if _, err := f.ReadFile(filepath.Join(r.Root, "d/a.yaml")); err != nil {
		t.Fatal(err)
	}
	f.Exists(filepath.Join(r.Root, "d/kustomization.yaml"))
	if _, err := f.ReadDir(filepath.Join(r.Root, "d")); err != nil {
		t.Fatal(err)
	}
	obs := f.Recorder().Observations()
	if len(obs) != 3 {
		t.Fatalf("observations = %+v", obs)
	}
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		holds bool
	}{
		{name: "nothing changed", holds: true},
		{name: "unread file changed", files: map[string][]byte{"d/b.yaml": []byte("B")}, holds: true},
		{name: "read file changed", files: map[string][]byte{"d/a.yaml": []byte("A")}},
		{name: "probed file appeared", files: map[string][]byte{"d/kustomization.yaml": []byte("resources: []")}},
		{name: "listed directory gained a file", files: map[string][]byte{"d/c.yaml": []byte("c")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := gittest.Init(t, t.TempDir())
			g.Write(t, map[string][]byte{"d/a.yaml": []byte("a"), "d/b.yaml": []byte("b")})
			g.Write(t, tc.files)
			if got := Holds(repo.NewWorkTree(g.Dir), obs); got != tc.holds {
				t.Errorf("Holds = %v, want %v", got, tc.holds)
			}
		})
	}
}

// FuzzFindRemote: any kustomization file is parsed without a panic, and a
// reference reported as remote is one IsRemote calls remote, on a line of
// the file.
func FuzzFindRemote(f *testing.F) {
	f.Add([]byte("resources:\n- ../base\n- https://example.com/x.yaml\n"))
	f.Add([]byte("components: [git@github.com:org/repo]\n"))
	f.Add([]byte("resources: {a: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ref, line, ok := FindRemote(data)
		if !ok {
			return
		}
		if !IsRemote(ref) || line < 1 || line > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("FindRemote = %q at %d", ref, line)
		}
	})
}
