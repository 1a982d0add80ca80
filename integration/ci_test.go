package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv/gitea"
)

// TestCIBot runs the pull-request bot against a real Gitea: one comment,
// edited on the next run, split into parts when the diff outgrows the
// comment limit and joined again when it shrinks; a commit status.
func TestCIBot(t *testing.T) {
	forge := gitea.Start(t)
	cloneURL := forge.CreateRepo(t, forge.AdminUser, "fleet")
	auth := &githttp.BasicAuth{Username: forge.AdminUser, Password: forge.Token}
	g := gittest.Init(t, t.TempDir())
	files := gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "sock-shop", "microservices-repo"))
	g.CommitFiles(t, "import", files)
	g.Origin(t, cloneURL)
	push := func(branch string) {
		t.Helper()
		spec := config.RefSpec(fmt.Sprintf("refs/heads/%s:refs/heads/%s", branch, branch))
		err := g.Git.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}, Auth: auth, Force: true})
		if err != nil && err != git.NoErrAlreadyUpToDate {
			t.Fatal(err)
		}
		head, _ := g.Git.Reference(plumbing.NewBranchReferenceName(branch), true)
		_ = g.Git.Storer.SetReference(plumbing.NewHashReference(plumbing.NewRemoteReferenceName("origin", branch), head.Hash()))
	}
	push("main")
	wt, err := g.Git.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("bump"), Create: true}); err != nil {
		t.Fatal(err)
	}
	overlay := "deploy/kubernetes/overlays/development/kustomization.yaml"
	g.CommitFiles(t, "bump front-end", map[string][]byte{overlay: []byte(strings.Replace(string(files[overlay]), "main-d480788-24", "main-1f49071-25", 1))})
	push("bump")
	var pr struct{ Number int }
	forge.API(t, forge.Token, "POST", "/api/v1/repos/"+forge.AdminUser+"/fleet/pulls", map[string]any{"head": "bump", "base": "main", "title": "Bump front-end"}, &pr)

	env := []string{"GITEA_TOKEN=" + forge.Token}
	bot := func(extra ...string) result {
		t.Helper()
		args := append([]string{"ci", "comment", "--pr", fmt.Sprint(pr.Number), "--repo", forge.AdminUser + "/fleet", "--server", forge.URL, "--provider", "gitea"}, extra...)
		r := run(t, g.Dir, env, args...)
		if r.code != 0 {
			t.Fatalf("ci comment: exit %d\n%s", r.code, r.stderr)
		}
		return r
	}
	ours := func() []string {
		var bodies []string
		for _, c := range forge.Comments(t, forge.AdminUser, "fleet", pr.Number) {
			if strings.HasPrefix(c.Body, "<!-- kubectl-gitops -->") {
				bodies = append(bodies, c.Body)
			}
		}
		return bodies
	}

	bot()
	first := ours()
	if len(first) != 1 || !strings.Contains(first[0], "+        image: ") || !strings.Contains(first[0], "front-end:main-1f49071-25") || !strings.Contains(first[0], "**Validation**: 0 errors") {
		t.Fatalf("first comment: %q", first)
	}
	bot()
	if again := ours(); len(again) != 1 || again[0] != first[0] {
		t.Errorf("second run: %d comments", len(again))
	}

	// A large change: every overlay gets many new objects.
	var big strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&big, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: filler-%02d\n  namespace: sock-shop\ndata:\n  text: %q\n", i, strings.Repeat("x", 200))
	}
	g.CommitFiles(t, "big", map[string][]byte{
		"deploy/kubernetes/base/filler.yaml":        []byte(big.String()),
		"deploy/kubernetes/base/kustomization.yaml": []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - complete-demo.yaml\n  - filler.yaml\n"),
	})
	push("bump")
	bot("--max-comment", "8000")
	split := ours()
	if len(split) < 3 {
		t.Fatalf("a large diff gave %d comments, want several parts", len(split))
	}
	for i, c := range split {
		if len(c) > 8000 || !strings.Contains(c, fmt.Sprintf("<!-- kubectl-gitops part %d -->", i+1)) {
			t.Errorf("part %d: %d characters", i+1, len(c))
		}
	}
	bot()
	if joined := ours(); len(joined) != 1 {
		t.Errorf("with the default limit again: %d comments, want 1", len(joined))
	}

	t.Run("shards", func(t *testing.T) {
		// Two jobs of a matrix analyse a part each; one comment from both
		// replaces the whole's, the same but for the count of roots.
		whole := ours()
		dir := t.TempDir()
		for i := 1; i <= 2; i++ {
			r := run(t, g.Dir, nil, "ci", "analyze", "--base", "origin/main", "--shard", fmt.Sprintf("%d/2", i), "--out", filepath.Join(dir, fmt.Sprintf("shard-%d", i), "analysis.json"))
			if r.code != 0 || r.stdout != "" {
				t.Fatalf("ci analyze: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
		}
		bot("--from", dir)
		merged := ours()
		validation := regexp.MustCompile(`(?m)^✅ \*\*Validation\*\*: .*$`)
		if len(merged) != 1 || len(whole) != 1 || validation.ReplaceAllString(merged[0], "") != validation.ReplaceAllString(whole[0], "") {
			t.Errorf("the shards' comment\n%s\nthe whole's\n%s", merged, whole)
		}
		r := run(t, g.Dir, env, "ci", "check", "--from", dir, "-o", "sarif", "--pr", fmt.Sprint(pr.Number), "--repo", forge.AdminUser+"/fleet", "--server", forge.URL, "--provider", "gitea")
		if r.code != 0 || !strings.Contains(r.stdout, `"version": "2.1.0"`) {
			t.Fatalf("ci check --from: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		os.Remove(filepath.Join(dir, "shard-2", "analysis.json"))
		if r := run(t, g.Dir, env, "ci", "comment", "--from", dir, "--dry-run"); r.code != 2 || !strings.Contains(r.stderr, "shard 2/2 is missing") {
			t.Errorf("a shard missing: exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("check", func(t *testing.T) {
		r := run(t, g.Dir, env, "ci", "check", "--pr", fmt.Sprint(pr.Number), "--repo", forge.AdminUser+"/fleet", "--server", forge.URL, "--provider", "gitea")
		if r.code != 0 {
			t.Fatalf("ci check: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		head, _ := g.Git.Head()
		var statuses []struct {
			Context string `json:"context"`
			Status  string `json:"status"`
		}
		forge.API(t, forge.Token, "GET", "/api/v1/repos/"+forge.AdminUser+"/fleet/commits/"+head.Hash().String()+"/statuses", nil, &statuses)
		if len(statuses) == 0 || statuses[0].Context != "kubectl-gitops" || statuses[0].Status != "success" {
			t.Errorf("statuses = %+v", statuses)
		}
	})
}
