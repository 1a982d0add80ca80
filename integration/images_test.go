package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-git/go-git/v5"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv/gitea"
)

// The walkthrough's tags: its policy must select main-1f49071-24.
var walkthroughTags = []string{"main-1f49071-24", "main-d480788-3", "main-d480788-10", "latest"}

// registryWithAuth serves go-containerregistry's registry behind basic auth
// and counts the requests that reach it.
func registryWithAuth(t *testing.T, user, password string) (host string, requests *atomic.Int64) {
	t.Helper()
	reg := registry.New()
	requests = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), requests
}

// pushTags pushes one real image under each tag.
func pushTags(t *testing.T, repository string, auth authn.Authenticator, tags []string) {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		ref, err := name.ParseReference(repository+":"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, remote.WithAuth(auth)); err != nil {
			t.Fatal(err)
		}
	}
}

// imageRepos builds the walkthrough's two repositories side by side, the
// images in the loopback registry at host, and returns the application
// repository and a Docker config directory holding its credentials.
func imageRepos(t *testing.T, host string) (app *gittest.Repo, dockerConfig string) {
	t.Helper()
	root := t.TempDir()
	image := host + "/weaveworksdemos/front-end"
	flux := gittest.Init(t, filepath.Join(root, "flux-repo"))
	files := gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "sock-shop", "flux-repo"))
	files["apps/overlays/development/sock-shop/registry.yaml"] = []byte(strings.Replace(
		strings.Replace(string(files["apps/overlays/development/sock-shop/registry.yaml"]), "123456789012.dkr.ecr.us-west-2.amazonaws.com/weaveworksdemos/front-end", image, 1),
		"  provider: aws\n", "  insecure: true\n", 1))
	flux.CommitFiles(t, "import", files)
	app = gittest.Init(t, filepath.Join(root, "microservices-repo"))
	files = gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "sock-shop", "microservices-repo"))
	for f, data := range files {
		files[f] = []byte(strings.ReplaceAll(string(data), "123456789012.dkr.ecr.us-west-2.amazonaws.com/weaveworksdemos/front-end", image))
	}
	app.CommitFiles(t, "import", files)
	dockerConfig = t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("ci:registry-pass"))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return app, dockerConfig
}

func TestImages(t *testing.T) {
	host, requests := registryWithAuth(t, "ci", "registry-pass")
	pushTags(t, host+"/weaveworksdemos/front-end", &authn.Basic{Username: "ci", Password: "registry-pass"}, walkthroughTags)
	app, dockerConfig := imageRepos(t, host)
	env := []string{"DOCKER_CONFIG=" + dockerConfig}
	overlay := "deploy/kubernetes/overlays/development/kustomization.yaml"

	before := requests.Load()
	r := run(t, app.Dir, env, "images", "list", "-o", "json")
	if r.code != 0 {
		t.Fatalf("list: exit %d\n%s", r.code, r.stderr)
	}
	var listed struct {
		Markers []struct {
			File, Policy, Field, Current, Latest string
			Line                                 int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed.Markers) != 2 || listed.Markers[1].Field != "tag" || listed.Markers[1].Latest != "main-1f49071-24" ||
		listed.Markers[1].Current != "main-d480788-24" || listed.Markers[1].Line != 10 || listed.Markers[1].File != overlay {
		t.Errorf("listed markers:\n%s", r.stdout)
	}
	if n := requests.Load() - before; n > 4 {
		t.Errorf("%d registry requests for one repository, want one tag listing and its handshakes", n)
	}

	r = run(t, app.Dir, env, "images", "update", "--dry-run")
	if r.code != 1 || !strings.Contains(r.stdout, "-    newTag: main-d480788-24 # {\"$imagepolicy\"") || !strings.Contains(r.stdout, "+    newTag: main-1f49071-24 # {\"$imagepolicy\"") {
		t.Fatalf("update --dry-run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	old, err := os.ReadFile(filepath.Join(app.Dir, overlay))
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, app.Dir, env, "images", "update"); r.code != 0 {
		t.Fatalf("update: exit %d\n%s", r.code, r.stderr)
	}
	updated, err := os.ReadFile(filepath.Join(app.Dir, overlay))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(string(old), "main-d480788-24", "main-1f49071-24", 1); string(updated) != want {
		t.Errorf("the update changed more than the tag:\n%s", updated)
	}
	if r := run(t, app.Dir, env, "images", "update", "--dry-run"); r.code != 0 {
		t.Errorf("nothing left to update, yet exit %d:\n%s", r.code, r.stdout)
	}

	t.Run("wrong credentials", func(t *testing.T) {
		bad := t.TempDir()
		cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte("ci:wrong-pass")))
		if err := os.WriteFile(filepath.Join(bad, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, app.Dir, []string{"DOCKER_CONFIG=" + bad}, "images", "list")
		if r.code != 2 || !strings.Contains(r.stdout, "unauthorized") || strings.Contains(r.stdout+r.stderr, "wrong-pass") {
			t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
}

// TestImagesPullRequest opens the image update's pull request on a real
// Gitea, with the ImageUpdateAutomation's author and message, and a second
// run updates it instead of opening another.
func TestImagesPullRequest(t *testing.T) {
	host, _ := registryWithAuth(t, "ci", "registry-pass")
	pushTags(t, host+"/weaveworksdemos/front-end", &authn.Basic{Username: "ci", Password: "registry-pass"}, walkthroughTags)
	app, dockerConfig := imageRepos(t, host)
	forge := gitea.Start(t)
	cloneURL := forge.CreateRepo(t, forge.AdminUser, "microservices-repo")
	app.Origin(t, cloneURL)
	err := app.Git.Push(&git.PushOptions{RemoteName: "origin", Auth: &githttp.BasicAuth{Username: forge.AdminUser, Password: forge.Token}})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + dockerConfig, "GITEA_TOKEN=" + forge.Token}
	for i := 0; i < 2; i++ {
		r := run(t, app.Dir, env, "images", "update", "--pr", "--provider", "gitea", "--label", "images")
		if r.code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i+1, r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, forge.Token) {
			t.Error("the token is in the output")
		}
	}
	prs := forge.PullRequests(t, forge.AdminUser, "microservices-repo")
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1: %+v", len(prs), prs)
	}
	pr := prs[0]
	if pr.Title != "Update front-end image in development" || pr.Base != "main" || !strings.HasPrefix(pr.Head, "gitops/images/") {
		t.Errorf("pull request = %+v", pr)
	}
	for _, want := range []string{"+    newTag: main-1f49071-24", "#### Rendered diff", "front-end:main-1f49071-24", "#### Validation"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("the body lacks %q:\n%s", want, pr.Body)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(app.Dir, "deploy/kubernetes/overlays/development/kustomization.yaml")); !strings.Contains(string(data), "main-d480788-24") {
		t.Error("the working tree was changed")
	}
}
