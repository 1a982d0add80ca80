package integration

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cacherepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry/registrytest"
)

// TestCacheRepo shares the render cache through a registry, as CI runners
// do: a runner with an empty cache and a warm registry renders nothing and
// pushes nothing, prints what the first runner printed; entries damaged
// in the registry are rebuilt and replaced; a registry that cannot be
// reached costs one warning.
func TestCacheRepo(t *testing.T) {
	hits := &registrytest.Counter{}
	reg := registrytest.New(hits.Wrap)
	defer reg.Close()
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "sock-shop", "flux-repo")))
	repoRef := reg.Host() + "/team/render-cache"
	runner := func(args ...string) result {
		t.Helper()
		// Every runner starts with an empty cache.
		r := run(t, g.Dir, []string{"GITOPS_CACHE_DIR=" + t.TempDir(), "GITOPS_CACHE_REPO=" + repoRef}, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		return r
	}
	first := runner("validate", "--all", "-o", "json")
	if countManifestPuts(hits) == 0 {
		t.Fatal("the first runner pushed nothing")
	}
	before := countManifestPuts(hits)
	second := runner("validate", "--all", "-o", "json")
	if second.stdout != first.stdout {
		t.Errorf("the second runner printed otherwise:\n%s\nthen\n%s", first.stdout, second.stdout)
	}
	if n := countManifestPuts(hits) - before; n != 0 {
		t.Errorf("the second runner pushed %d entries: it rendered what the registry held", n)
	}
	if strings.Contains(second.stderr, "warning") {
		t.Errorf("warnings: %s", second.stderr)
	}

	// Damage every entry the registry holds: each is rebuilt, and replaced.
	repo, err := name.NewRepository(reg.DirectHost()+"/team/render-cache", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), static.NewLayer([]byte("\x00damaged"), cacherepo.MediaType))
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(repo.Tag(tag), img); err != nil {
			t.Fatal(err)
		}
	}
	before = countManifestPuts(hits)
	third := runner("validate", "--all", "-o", "json")
	if third.stdout != first.stdout {
		t.Errorf("with damaged entries, the output changed:\n%s\nthen\n%s", first.stdout, third.stdout)
	}
	if countManifestPuts(hits) == before {
		t.Error("the damaged entries were not replaced")
	}

	// Unreachable: the local cache only, one warning.
	r := run(t, g.Dir, []string{"GITOPS_CACHE_DIR=" + t.TempDir()}, "validate", "--all", "-o", "json", "--cache-repo", "127.0.0.1:1/team/cache")
	if r.code != 0 || r.stdout != first.stdout {
		t.Errorf("an unreachable cache registry changed the run: exit %d\n%s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "warning: the shared cache"); n != 1 {
		t.Errorf("%d warnings about the unreachable registry, want 1:\n%s", n, r.stderr)
	}

	// A reference that names no repository is a usage error.
	if r := run(t, g.Dir, nil, "render", "--all", "--cache-repo", "Not A Repo"); r.code != 2 || !strings.Contains(r.stderr, "REGISTRY/PATH/NAME") {
		t.Errorf("a bad --cache-repo: exit %d\n%s", r.code, r.stderr)
	}
}

// TestCacheRepoPushedBeforeExit: a registry slow to accept uploads still
// gets every entry of a run, as the command waits for its pushes before it
// exits; a second runner with an empty cache then pushes nothing.
func TestCacheRepoPushedBeforeExit(t *testing.T) {
	hits := &registrytest.Counter{}
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				time.Sleep(300 * time.Millisecond)
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := registrytest.New(func(h http.Handler) http.Handler { return hits.Wrap(slow(h)) })
	defer reg.Close()
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "sock-shop", "flux-repo")))
	env := func() []string {
		return []string{"GITOPS_CACHE_DIR=" + t.TempDir(), "GITOPS_CACHE_REPO=" + reg.Host() + "/team/render-cache"}
	}
	if r := run(t, g.Dir, env(), "render", "--all"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	pushed := countManifestPuts(hits)
	if pushed == 0 {
		t.Fatal("the run pushed nothing")
	}
	if r := run(t, g.Dir, env(), "render", "--all"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if n := countManifestPuts(hits) - pushed; n != 0 {
		t.Errorf("the second runner pushed %d: the first exited before its pushes ended", n)
	}
}

// countManifestPuts is how many PUT requests (manifests and blobs
// pushed) the registry served.
func countManifestPuts(hits *registrytest.Counter) int {
	return hits.Count("PUT", "*")
}
