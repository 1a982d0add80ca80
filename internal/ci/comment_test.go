package ci

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestComment holds the bot's comment to golden files: a clean change,
// and a failing one with a root that does not render, a warning, an error
// whose message would break the Markdown, more findings than a comment
// lists, and a diff longer than one comment holds, split in parts.
func TestComment(t *testing.T) {
	diffOf := func(root string, lines int) diff.RootDiff {
		var b strings.Builder
		b.WriteString("@@ -1,1 +1,1 @@\n")
		for i := range lines {
			fmt.Fprintf(&b, "-  replicas: %d\n+  replicas: %d\n", i, i+1)
		}
		return diff.RootDiff{Path: root, Changes: []diff.Change{{Object: "apps/v1/Deployment/sock-shop/front-end", Action: diff.Changed, Diff: b.String()}}}
	}
	clean := &Analysis{Report: &validate.Report{Summary: validate.Summary{Roots: 1, Objects: 12}}, Diffs: []diff.RootDiff{diffOf("overlays/prod", 1)}}
	failing := &Analysis{
		Broken: []Broken{{Root: "overlays/test", Error: "kustomize: accumulating resources: `../base` <missing>"}},
		Report: &validate.Report{Summary: validate.Summary{Roots: 3, Objects: 40, Errors: 52, Warnings: 1}},
		Diffs:  []diff.RootDiff{diffOf("overlays/dev", 40), diffOf("overlays/prod", 40)},
	}
	failing.Report.Findings = append(failing.Report.Findings,
		validate.Finding{Rule: "latest-tag", Severity: validate.Warning, File: "overlays/dev/kustomization.yaml", Line: 7, Message: "image front-end uses the tag latest"},
		validate.Finding{Rule: "schema", Severity: validate.Error, File: "overlays/dev/patch.yaml", Line: 3, Message: "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\" <!-- x --> | `y`"})
	for i := range 50 {
		failing.Report.Findings = append(failing.Report.Findings, validate.Finding{Rule: "schema", Severity: validate.Error, File: "base/deployment.yaml", Line: i + 1, Message: "an error"})
	}
	for _, tc := range []struct {
		name  string
		a     *Analysis
		limit int
		state forge.State
	}{
		{"clean", clean, 65536, forge.Success},
		{"failing", failing, 4096, forge.Failure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := Comment(tc.a, tc.limit)
			for i, p := range parts {
				if len(p) > tc.limit {
					t.Errorf("part %d is %d bytes, over the limit of %d", i, len(p), tc.limit)
				}
			}
			golden(t, "comment-"+tc.name+".golden", strings.Join(parts, "\n<!-- next comment -->\n"))
			if st := Status(tc.a); st.State != tc.state || st.Context != "kubectl-gitops" {
				t.Errorf("status %+v, want %s", st, tc.state)
			}
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update to see):\n%s", name, got)
	}
}
