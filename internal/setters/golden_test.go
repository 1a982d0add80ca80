package setters

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// readPolicies reads a case's policy set: ImagePolicy objects with their
// status.latestRef.
func readPolicies(t *testing.T, file string) map[markers.Policy]Latest {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	values := map[markers.Policy]Latest{}
	dec := yaml.NewDecoder(f)
	for {
		var p struct {
			Metadata struct{ Name, Namespace string }
			Status   struct {
				LatestRef struct{ Name, Tag, Digest string } `yaml:"latestRef"`
			}
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return values
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		ref := p.Status.LatestRef
		values[markers.Policy{Namespace: p.Metadata.Namespace, Name: p.Metadata.Name}] = Latest{Name: ref.Name, Tag: ref.Tag, Digest: ref.Digest}
	}
}

// readTree returns the files under dir by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// updateTree does what the controller's Setters strategy does to a tree,
// with this package: every file it reads, every marker, every policy.
func updateTree(t *testing.T, in map[string][]byte, values map[markers.Policy]Latest) (map[string][]byte, []Change) {
	t.Helper()
	out := map[string][]byte{}
	var all []Change
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := in[name]
		out[name] = data
		if markers.Skip(name) {
			continue
		}
		ms, err := markers.Find(name, data)
		if errors.Is(err, markers.ErrUnreadable) {
			continue // Flux skips the file
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		result, changes, err := Apply(data, ms, values)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = result
		all = append(all, changes...)
	}
	return out, all
}

func formatChanges(changes []Change) string {
	var b strings.Builder
	for _, c := range changes {
		fmt.Fprintf(&b, "%s:%d: %s %q -> %q\n", c.File, c.Line, c.Setter(), c.Old, c.New)
	}
	return b.String()
}

// TestGolden runs each case of testdata the way the image-automation
// controller's own setters test does: an input tree, a policy set, and the
// tree expected once the markers are set (every file, changed or not), plus
// the list of changes.
func TestGolden(t *testing.T) {
	cases, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", c.Name())
			values := readPolicies(t, filepath.Join(dir, "policies.yaml"))
			got, changes := updateTree(t, readTree(t, filepath.Join(dir, "input")), values)
			if *update {
				writeTree(t, filepath.Join(dir, "expected"), got)
				if err := os.WriteFile(filepath.Join(dir, "changes.txt"), []byte(formatChanges(changes)), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := readTree(t, filepath.Join(dir, "expected"))
			if diff := cmp.Diff(stringTree(want), stringTree(got)); diff != "" {
				t.Errorf("output tree (-want +got):\n%s", diff)
			}
			wantChanges, err := os.ReadFile(filepath.Join(dir, "changes.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(wantChanges), formatChanges(changes)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func stringTree(files map[string][]byte) map[string]string {
	s := map[string]string{}
	for k, v := range files {
		s[k] = string(v)
	}
	return s
}

func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGoldenUnchangedWhenCurrent checks that applying the same policies to
// the expected tree changes nothing: setting a value twice is a no-op.
func TestGoldenUnchangedWhenCurrent(t *testing.T) {
	cases, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", c.Name())
			values := readPolicies(t, filepath.Join(dir, "policies.yaml"))
			want := readTree(t, filepath.Join(dir, "expected"))
			got, changes := updateTree(t, want, values)
			if len(changes) != 0 {
				t.Errorf("changes on the expected tree:\n%s", formatChanges(changes))
			}
			for name := range want {
				if !bytes.Equal(want[name], got[name]) {
					t.Errorf("%s changed", name)
				}
			}
		})
	}
}
