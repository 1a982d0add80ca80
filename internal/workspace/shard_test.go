package workspace

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// TestShardsMakeTheWhole splits the checks of the bundled examples, the
// Flux fixtures and a generated repository into 2 and 3 shards: every
// root falls in exactly one shard, the shards' findings merged are the
// findings of the whole, and the shards' diffs of a change together are
// the diff of the whole.
func TestShardsMakeTheWhole(t *testing.T) {
	demo, err := os.ReadFile("../../testdata/examples/sock-shop/microservices-repo/deploy/kubernetes/base/complete-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	corpora := map[string]func(dir string){}
	for _, c := range []string{
		"examples/sock-shop/flux-repo",
		"examples/sock-shop-walkthrough-mistakes/microservices-repo",
		"examples/helm-platform",
		"flux/homelab",
		"flux/fleet",
		"flux/platform",
		"validate/every-rule",
	} {
		corpora[c] = func(dir string) {
			gittest.Init(t, dir).CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "..", "testdata", filepath.FromSlash(c))))
		}
	}
	corpora["generated"] = func(dir string) {
		if err := benchgen.Write(dir, demo, benchgen.Options{Copies: 6}); err != nil {
			t.Fatal(err)
		}
		g := gittest.Init(t, dir)
		g.CommitFiles(t, "import", gittest.CopyTree(t, dir))
	}
	for name, setup := range corpora {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			setup(dir)
			w, tree, disc := openDiscovered(t, dir)
			check := func(s Scope) *validate.Report {
				t.Helper()
				r, err := w.Check(context.Background(), tree, s, Settings{})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			findings := func(r *validate.Report) string {
				data, _ := json.MarshalIndent(r.Findings, "", " ")
				return string(data)
			}
			// Files changed: a few of the repository's, as a pull request's.
			var changed []string
			for i, f := range disc.Files {
				if i%7 == 3 {
					changed = append(changed, f)
				}
			}
			whole := check(Scope{All: true})
			wholeChange := check(Scope{Files: changed})
			for _, n := range []int{2, 3} {
				taken := map[string]int{}
				var parts, changeParts []*validate.Report
				for i := 1; i <= n; i++ {
					s := render.Shard{I: i, N: n}
					for key := range s.Take(disc.Weights(disc.Roots)) {
						taken[key]++
					}
					parts = append(parts, check(Scope{All: true, Shard: s}))
					changeParts = append(changeParts, check(Scope{Files: changed, Shard: s}))
				}
				for _, r := range disc.Roots {
					if taken[r.Key()] != 1 {
						t.Errorf("%d shards: %s is taken %d times", n, r, taken[r.Key()])
					}
				}
				merged := validate.Merge(parts...)
				if got, want := findings(merged), findings(whole); got != want {
					t.Errorf("%d shards of --all find\n%s\nthe whole finds\n%s", n, got, want)
				}
				if merged.Summary.Roots != len(disc.Roots) || merged.Summary.Objects != whole.Summary.Objects {
					t.Errorf("%d shards count %+v, the whole %+v", n, merged.Summary, whole.Summary)
				}
				if got, want := findings(validate.Merge(changeParts...)), findings(wholeChange); got != want {
					t.Errorf("%d shards of a change find\n%s\nthe whole finds\n%s", n, got, want)
				}
			}
		})
	}
}
