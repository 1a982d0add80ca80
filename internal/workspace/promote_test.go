package workspace

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
)

// TestPromote carries an image version from one overlay to the next: from
// HEAD for a commit, from the working tree otherwise; the change renders
// and checks; the commit names the image and target; once written, there
// is nothing left to promote.
func TestPromote(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	overlay := func(tag string) []byte {
		return []byte("resources: [../../base]\nimages:\n  - name: ghcr.io/example/front-end\n    newTag: \"" + tag + "\" # the version this overlay runs\n")
	}
	g.CommitFiles(t, "import", map[string][]byte{
		"base/kustomization.yaml": []byte("resources: [deployment.yaml]\n"),
		"base/deployment.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: front-end}
spec:
  selector: {matchLabels: {app: front-end}}
  template:
    metadata: {labels: {app: front-end}}
    spec:
      containers:
        - name: front-end
          image: ghcr.io/example/front-end:0.1.0
`),
		"overlays/dev/kustomization.yaml":  overlay("1.2.0"),
		"overlays/prod/kustomization.yaml": overlay("1.0.0"),
	})
	// A newer version, not committed yet.
	if err := os.WriteFile(filepath.Join(g.Dir, "overlays", "dev", "kustomization.yaml"), overlay("1.3.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Open(Options{Dir: g.Dir, Jobs: 2, NoCache: true, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ rev, want string }{{"HEAD", "1.2.0"}, {"", "1.3.0"}} {
		p, err := w.Promote(ctx, PromoteQuery{From: "overlays/dev", To: "overlays/prod", Rev: tc.rev})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Files) != 1 || p.Files[0].Path != "overlays/prod/kustomization.yaml" || string(p.Files[0].New) != string(overlay(tc.want)) {
			t.Fatalf("rev %q: files %+v, want prod's overlay at %s", tc.rev, p.Files, tc.want)
		}
		if p.Report.Failed() || len(p.Rendered) != 1 || p.Rendered[0].Path != "overlays/prod" || !strings.Contains(p.Rendered[0].Changes[0].Diff, "front-end:"+tc.want) {
			t.Errorf("rev %q: rendered %+v, check %s", tc.rev, p.Rendered, p.Report.Summary)
		}
		spec := p.Commit(true)
		if spec.Title != "Promote front-end to prod" || !strings.Contains(spec.Message, "ghcr.io/example/front-end newTag: 1.0.0 -> "+tc.want) {
			t.Errorf("commit %q:\n%s", spec.Title, spec.Message)
		}
		for _, want := range []string{"Promotes the image versions of `overlays/dev` to `overlays/prod`.", "+++ b/overlays/prod/kustomization.yaml", "#### Validation"} {
			if !strings.Contains(spec.Body, want) {
				t.Errorf("the pull request body lacks %q:\n%s", want, spec.Body)
			}
		}
		if c := p.Commit(false); c.Body != "" || c.Branch != spec.Branch {
			t.Errorf("without a body: %+v", c)
		}
	}

	p, err := w.Promote(ctx, PromoteQuery{From: "overlays/dev", To: "overlays/prod"})
	if err != nil {
		t.Fatal(err)
	}
	if err := publish.Write(g.Dir, p.Files); err != nil {
		t.Fatal(err)
	}
	if p, err = w.Promote(ctx, PromoteQuery{From: "overlays/dev", To: "overlays/prod"}); err != nil || len(p.Files) != 0 || p.Report != nil {
		t.Errorf("promoting again: %v, %+v", err, p)
	}
}
