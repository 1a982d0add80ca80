package promote

import (
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCase is a folder of testdata: the source overlay in from/, the
// target in to/, the target as the promotion leaves it in expected/, the
// changes and skips in changes.txt, and the images asked for, one a line,
// in the optional args.txt.
type goldenCase struct {
	name string
	dir  string
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for _, e := range entries {
		if e.IsDir() {
			cases = append(cases, goldenCase{name: e.Name(), dir: filepath.Join("testdata", e.Name())})
		}
	}
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	return cases
}

// overlay reads the overlay in folder name of a case through a repo.Tree,
// as the command does.
func (c goldenCase) overlay(t *testing.T, name string) Overlay {
	t.Helper()
	o, err := Read(repo.NewWorkTree(c.dir), name)
	if err != nil {
		t.Fatalf("Read %s: %v", name, err)
	}
	return o
}

func (c goldenCase) args(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, "args.txt"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// files returns an overlay's files by their name in its folder.
func files(o Overlay) map[string]string {
	m := map[string]string{path.Base(o.Kustomization.Path): string(o.Kustomization.Data)}
	for _, f := range o.Files {
		m[path.Base(f.Path)] = string(f.Data)
	}
	return m
}

// promoted returns the target's files once res is applied.
func promoted(to Overlay, res Result) map[string]string {
	m := files(to)
	for p, data := range res.Files {
		m[path.Base(p)] = string(data)
	}
	return m
}

func formatResult(res Result) string {
	var b strings.Builder
	for _, c := range res.Changes {
		fmt.Fprintf(&b, "%s:%d: %s %s %s", c.File, c.Line, c.Action, c.Image, c.Field)
		switch c.Action {
		case Set:
			fmt.Fprintf(&b, " %q -> %q", c.Old, c.New)
		case Add:
			fmt.Fprintf(&b, " %q", c.New)
		case Remove:
			fmt.Fprintf(&b, " %q", c.Old)
		}
		if c.Marker != "" {
			fmt.Fprintf(&b, " (marker %s)", c.Marker)
		}
		b.WriteString("\n")
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(&b, "skipped %s:%d: %s: %s\n", s.File, s.Line, s.Image, s.Reason)
	}
	return b.String()
}

// TestGolden promotes each case's source into its target and compares the
// target's files and the changes with the golden files.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			to := c.overlay(t, "to")
			res, err := Plan(c.overlay(t, "from"), to, c.args(t))
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			got := promoted(to, res)
			if *update {
				writeGolden(t, c, got, formatResult(res))
				return
			}
			want := files(c.overlay(t, "expected"))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("target files (-want +got):\n%s", diff)
			}
			changes, err := os.ReadFile(filepath.Join(c.dir, "changes.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(changes), formatResult(res)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			for p, data := range res.Files {
				if string(data) == files(to)[path.Base(p)] {
					t.Errorf("Files holds %s, which does not change", p)
				}
			}
			if (len(res.Changes) == 0) != (len(res.Files) == 0) {
				t.Errorf("%d changes but %d files", len(res.Changes), len(res.Files))
			}
		})
	}
}

func writeGolden(t *testing.T, c goldenCase, got map[string]string, changes string) {
	t.Helper()
	dir := filepath.Join(c.dir, "expected")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range got {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(c.dir, "changes.txt"), []byte(changes), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenRoundTrip checks two properties on every case: promoting an
// overlay to itself changes nothing, and promoting again into the promoted
// target changes nothing.
func TestGoldenRoundTrip(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			from, to, expected := c.overlay(t, "from"), c.overlay(t, "to"), c.overlay(t, "expected")
			for _, tt := range []struct {
				name     string
				from, to Overlay
			}{
				{name: "source to itself", from: from, to: from},
				{name: "target to itself", from: to, to: to},
				{name: "promoted target to itself", from: expected, to: expected},
				{name: "source to the promoted target", from: from, to: expected},
			} {
				res, err := Plan(tt.from, tt.to, c.args(t))
				if err != nil {
					t.Fatalf("%s: Plan: %v", tt.name, err)
				}
				if len(res.Files) != 0 || len(res.Changes) != 0 {
					t.Errorf("%s: changes:\n%s", tt.name, formatResult(res))
				}
			}
		})
	}
}
