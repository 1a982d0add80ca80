package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv/gitea"
)

const (
	devOverlay  = "deploy/kubernetes/overlays/development"
	testOverlay = "deploy/kubernetes/overlays/test"
)

// sockShop is the walkthrough's two repositories side by side, committed.
func sockShop(t *testing.T) (app, flux *gittest.Repo) {
	t.Helper()
	root := t.TempDir()
	flux = gittest.Init(t, filepath.Join(root, "flux-repo"))
	flux.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "sock-shop", "flux-repo")))
	app = gittest.Init(t, filepath.Join(root, "microservices-repo"))
	app.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "sock-shop", "microservices-repo")))
	return app, flux
}

func TestPromote(t *testing.T) {
	app, _ := sockShop(t)
	args := []string{"promote", "--from", devOverlay, "--to", testOverlay}
	r := run(t, app.Dir, nil, append(args, "--dry-run", "--color", "never")...)
	if r.code != 1 {
		t.Fatalf("--dry-run: exit %d\n%s", r.code, r.stderr)
	}
	golden(t, "promote/dry-run.txt.golden", r.stdout)
	before, _ := os.ReadFile(filepath.Join(app.Dir, testOverlay, "kustomization.yaml"))
	if r := run(t, app.Dir, nil, args...); r.code != 0 {
		t.Fatalf("promote: exit %d\n%s", r.code, r.stderr)
	}
	after, _ := os.ReadFile(filepath.Join(app.Dir, testOverlay, "kustomization.yaml"))
	if want := strings.Replace(string(before), "newTag: main-1f49071-20", "newTag: main-d480788-24", 1); string(after) != want {
		t.Errorf("the target changed beyond its tag:\n%s", after)
	}
	if r := run(t, app.Dir, nil, args...); r.code != 0 || !strings.Contains(r.stderr, "Nothing to promote") {
		t.Errorf("again: exit %d, %s", r.code, r.stderr)
	}
	if r := run(t, app.Dir, nil, append(args, "--commit")...); r.code != 2 || !strings.Contains(r.stderr, "uncommitted changes in "+testOverlay+"/kustomization.yaml") {
		t.Errorf("--commit over the uncommitted promotion: exit %d, %s", r.code, r.stderr)
	}
	if r := run(t, app.Dir, nil, "promote", "--from", devOverlay, "--to", testOverlay, "--image", "nginx"); r.code != 2 || !strings.Contains(r.stderr, "weaveworksdemos/front-end") {
		t.Errorf("--image nginx: exit %d, %s", r.code, r.stderr)
	}
}

// TestPromoteRefusedWhenItBreaksValidation: carrying a tag the target's
// marker policy could never select is refused, with the finding, and
// nothing is written.
func TestPromoteRefusedWhenItBreaksValidation(t *testing.T) {
	app, _ := sockShop(t)
	dev := filepath.Join(app.Dir, devOverlay, "kustomization.yaml")
	data, _ := os.ReadFile(dev)
	app.CommitFiles(t, "markers in test, a master tag in dev", map[string][]byte{
		devOverlay + "/kustomization.yaml":  []byte(strings.Replace(string(data), "main-d480788-24", "master-d480788-1", 1)),
		testOverlay + "/kustomization.yaml": data,
	})
	before, _ := os.ReadFile(filepath.Join(app.Dir, testOverlay, "kustomization.yaml"))
	r := run(t, app.Dir, nil, "promote", "--from", devOverlay, "--to", testOverlay)
	if r.code != 1 || !strings.Contains(r.stderr, "refused") || !strings.Contains(r.stderr, `could never select a tag like the current "master-d480788-1"`) {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(app.Dir, testOverlay, "kustomization.yaml")); string(after) != string(before) {
		t.Error("a refused promotion changed the target")
	}
}

// TestPromotePullRequest: --pr pushes a promote branch and opens its pull
// request on a real Gitea; running again updates it; the working tree is
// untouched.
func TestPromotePullRequest(t *testing.T) {
	app, _ := sockShop(t)
	forge := gitea.Start(t)
	cloneURL := forge.CreateRepo(t, forge.AdminUser, "microservices-repo")
	app.Origin(t, cloneURL)
	if err := app.Git.Push(&git.PushOptions{RemoteName: "origin", Auth: &githttp.BasicAuth{Username: forge.AdminUser, Password: forge.Token}}); err != nil {
		t.Fatal(err)
	}
	env := []string{"GITEA_TOKEN=" + forge.Token}
	for i := 0; i < 2; i++ {
		r := run(t, app.Dir, env, "promote", "--from", devOverlay, "--to", testOverlay, "--pr", "--provider", "gitea")
		if r.code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i+1, r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, forge.Token) {
			t.Error("the token is in the output")
		}
	}
	prs := forge.PullRequests(t, forge.AdminUser, "microservices-repo")
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	if pr := prs[0]; pr.Title != "Promote front-end to test" || !strings.HasPrefix(pr.Head, "gitops/promote/test/") ||
		!strings.Contains(pr.Body, "+    newTag: main-d480788-24") || !strings.Contains(pr.Body, "#### Validation") {
		t.Errorf("pull request = %+v", pr)
	}
	if data, _ := os.ReadFile(filepath.Join(app.Dir, testOverlay, "kustomization.yaml")); !strings.Contains(string(data), "main-1f49071-20") {
		t.Error("the working tree was changed")
	}
}

// TestPromoteHelmValues carries an image tag from staging's HelmRelease
// values (the values file its configMapGenerator makes into the
// valuesFrom ConfigMap, as in Flux's helm example) to production's, and
// shows what it renders to: the Deployment the chart makes gets the image.
func TestPromoteHelmValues(t *testing.T) {
	dir, back, _, g := helmPlatformRepo(t)
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	prod := read("apps/production/podinfo-values.yaml") + "image:\n  tag: 6.7.0 # the release the audit signed off\n"
	g.CommitFiles(t, "podinfo's image tags per environment", map[string][]byte{
		"apps/staging/podinfo-values.yaml":    []byte(read("apps/staging/podinfo-values.yaml") + "image:\n  tag: 6.7.1\n"),
		"apps/production/podinfo-values.yaml": []byte(prod),
	})
	env := []string{"XDG_CACHE_HOME=" + t.TempDir()}
	args := []string{"promote", "--from", "apps/staging", "--to", "apps/production"}
	r := run(t, dir, env, append(args, "--dry-run", "--color", "never")...)
	if r.code != 1 {
		t.Fatalf("--dry-run: exit %d\n%s", r.code, r.stderr)
	}
	golden(t, "promote/helm-values.txt.golden", back(r.stdout))
	if r := run(t, dir, env, args...); r.code != 0 {
		t.Fatalf("promote: exit %d\n%s", r.code, r.stderr)
	}
	if got, want := read("apps/production/podinfo-values.yaml"), strings.Replace(prod, "tag: 6.7.0", "tag: 6.7.1", 1); got != want {
		t.Errorf("production's values:\n%s\nwant:\n%s", got, want)
	}
}
