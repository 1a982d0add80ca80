package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

func TestRenderExample(t *testing.T) {
	ms := example(t, "microservices-repo")
	flux := example(t, "flux-repo")
	for _, tc := range []struct {
		name   string
		dir    string
		args   []string
		golden string
		stderr string
	}{
		{name: "microservices repo, every root", dir: ms, args: []string{"render", "--all"}, golden: "render/microservices-repo.yaml.golden"},
		{name: "microservices repo as JSON", dir: ms, args: []string{"render", "--all", "-o", "json"}, golden: "render/microservices-repo.json.golden"},
		{name: "one overlay from a subdirectory", dir: filepath.Join(ms, "deploy/kubernetes"), args: []string{"render", "overlays/prod"}, golden: "render/microservices-repo-prod.yaml.golden"},
		{name: "flux repo apps", dir: flux, args: []string{"render", "apps"}, golden: "render/flux-repo-apps.yaml.golden",
			// The tenant's Kustomization renders from the application
			// repository, and is named.
			stderr: "note: Kustomization sock-shop/sock-shop (apps/base/sock-shop/tenant.yaml:50) is not rendered: its source GitRepository/sock-shop/sock-shop is another repository (https://git-codecommit.us-west-2.amazonaws.com/v1/repos/microservices-repo)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.dir, nil, tc.args...)
			if r.code != 0 || r.stderr != tc.stderr {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			golden(t, tc.golden, r.stdout)
			// The same from the cache, and from the commit.
			cache := []string{"GITOPS_CACHE_DIR=" + t.TempDir()}
			run(t, tc.dir, cache, tc.args...)
			if again := run(t, tc.dir, cache, tc.args...); again.stdout != r.stdout {
				t.Error("a render from the cache differs")
			}
			if atHead := run(t, tc.dir, nil, append(tc.args, "--ref", "HEAD")...); atHead.stdout != r.stdout {
				t.Error("render --ref HEAD differs from the working tree")
			}
		})
	}
}

// TestRenderMatchesKustomizeCLI: every leaf overlay renders exactly as the
// kustomize CLI builds it.
func TestRenderMatchesKustomizeCLI(t *testing.T) {
	kustomize := testenv.Tool(t, "kustomize")
	ms := example(t, "microservices-repo")
	corpus := gittest.Init(t, t.TempDir())
	demo, err := os.ReadFile("../testdata/examples/sock-shop/microservices-repo/deploy/kubernetes/base/complete-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := benchgen.Write(corpus.Dir, demo, benchgen.Options{Copies: 2}); err != nil {
		t.Fatal(err)
	}
	// Without their Flux Kustomizations the overlays are leaf roots, built
	// as kustomize build builds them.
	corpus.Write(t, map[string][]byte{"clusters": nil})
	corpus.Commit(t, "corpus")
	dirs := map[string][]string{ms: {"deploy/kubernetes/overlays/development", "deploy/kubernetes/overlays/test", "deploy/kubernetes/overlays/prod"}}
	for _, app := range []string{"app-000", "app-001"} {
		for _, env := range benchgen.Envs() {
			dirs[corpus.Dir] = append(dirs[corpus.Dir], "apps/"+app+"/overlays/"+env)
		}
	}
	for repoDir, roots := range dirs {
		for _, root := range roots {
			t.Run(root, func(t *testing.T) {
				want, err := exec.Command(kustomize, "build", filepath.Join(repoDir, root)).Output()
				if err != nil {
					t.Fatal(err)
				}
				r := run(t, repoDir, nil, "render", root)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				got := strings.TrimPrefix(r.stdout, "---\n# Source: "+root+"\n")
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("render differs from kustomize build (-kustomize +render):\n%s", diff)
				}
			})
		}
	}
}

func TestRenderErrors(t *testing.T) {
	ms := example(t, "microservices-repo")
	broken := gittest.Init(t, t.TempDir())
	broken.CommitFiles(t, "broken", map[string][]byte{
		"base/kustomization.yaml":         []byte("resources:\n- cm.yaml\n"),
		"base/cm.yaml":                    []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"),
		"overlays/dev/kustomization.yaml": []byte("resources:\n- ../../bsae\n"),
		"overlays/ok/kustomization.yaml":  []byte("resources:\n- ../../base\n"),
		"remote/kustomization.yaml":       []byte("resources:\n- github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v3.3.1\n"),
	})
	fleet := gittest.Init(t, t.TempDir())
	fleetFiles := gittest.CopyTree(t, filepath.Join("..", "testdata", "flux", "fleet"))
	fleetFiles["tenants/tenants.yaml"] = []byte(strings.Replace(string(fleetFiles["tenants/tenants.yaml"]), "path: ./apps/<< inputs.tenant >>", "path: ./apps/<< inputs.tenat >>", 1))
	fleet.CommitFiles(t, "a typo in a ResourceSet's template", fleetFiles)
	fleet.Origin(t, "https://github.com/example/fleet.git")
	rset := gittest.Init(t, t.TempDir())
	rset.CommitFiles(t, "a ResourceSet whose template names an input no set has", map[string][]byte{
		"rs/kustomization.yaml": []byte("resources:\n- rs.yaml\n"),
		"rs/rs.yaml": []byte("apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: apps\n  namespace: apps\nspec:\n  inputs:\n  - app: web\n" +
			"  resourcesTemplate: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: << inputs.ap >>\n"),
	})
	dup := gittest.Init(t, t.TempDir())
	dup.CommitFiles(t, "a ResourceSet making an object its root already renders", map[string][]byte{
		"rs/kustomization.yaml": []byte("resources:\n- cm.yaml\n- rs.yaml\n"),
		"rs/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: apps\n"),
		"rs/rs.yaml": []byte("apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: apps\n  namespace: apps\nspec:\n  inputs:\n  - app: web\n" +
			"  resources:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: << inputs.app >>\n      namespace: apps\n"),
	})
	for _, tc := range []struct {
		name   string
		dir    string
		args   []string
		stderr string
		// stdout is what the roots that did render print, whole.
		stdout string
	}{
		{
			name: "a ResourceSet's resource template that fails, at the resource",
			dir:  fleet.Dir, args: []string{"render", "tenants"},
			stderr: "error: tenants (Kustomization flux-system/tenants): tenants/tenants.yaml:33: ResourceSet flux-system/tenants: failed to build resources[2]: " +
				"failed to execute template: template: resourceset:8:18: executing \"resourceset\" at <inputs>: map has no entry for key \"tenat\"\n" +
				"error: 1 of 1 roots did not render\n",
		},
		{
			name: "a ResourceSet's multi-document template that fails, at its line",
			dir:  rset.Dir, args: []string{"render", "rs"},
			stderr: "error: rs: rs/rs.yaml:13: ResourceSet apps/apps: failed to build resources: failed to execute multi-doc YAML template: " +
				"template: resourceset:4:11: executing \"resourceset\" at <inputs>: map has no entry for key \"ap\"\n" +
				"error: 1 of 1 roots did not render\n",
		},
		{
			name: "a ResourceSet making an object its root already renders",
			dir:  dup.Dir, args: []string{"render", "rs"},
			stderr: "error: rs: rs/rs.yaml:1: ResourceSet apps/apps: it generates ConfigMap apps/web, which this root renders already\n" +
				"error: 1 of 1 roots did not render\n",
		},
		{name: "unknown output", dir: ms, args: []string{"render", "-o", "xml"}, stderr: "error: --output must be yaml or json, got \"xml\"\n"},
		{name: "no root there", dir: ms, args: []string{"render", "deploy/nothing"}, stderr: "error: deploy/nothing: no render root here (no Flux Kustomization of this repository points at it, and it has no kustomization file)\n"},
		{name: "unknown revision", dir: ms, args: []string{"render", "--all", "--ref", "no-such-branch"}, stderr: "error: revision \"no-such-branch\": no branch, tag or commit of that name in $REPO\n"},
		{name: "outside the repository", dir: ms, args: []string{"render", "../.."}, stderr: "is outside the repository"},
		{name: "bad jobs", dir: ms, args: []string{"render", "--jobs", "0"}, stderr: "error: --jobs must be at least 1, got 0\n"},
		{name: "bad flux version", dir: ms, args: []string{"validate", "--all", "--flux-version", "v2.99"}, stderr: "error: --flux-version: v2.99 is newer than the newest Flux release this kubectl gitops knows, v2.9.4\n"},
		{name: "shard past the last", dir: ms, args: []string{"render", "--all", "--shard", "3/2"}, stderr: "error: --shard \"3/2\": the part must be from 1 to 2\n"},
		{name: "shard zero", dir: ms, args: []string{"validate", "--all", "--shard", "0/4"}, stderr: "error: --shard \"0/4\": the part must be from 1 to 4\n"},
		{name: "shard not i/n", dir: ms, args: []string{"diff", "--shard", "2"}, stderr: "error: --shard must be i/n, as 2/4, got \"2\"\n"},
		{
			name: "a broken overlay fails the render and leaves the others' output whole",
			dir:  broken.Dir, args: []string{"render", "--all"},
			stdout: "---\n# Source: overlays/ok\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
			stderr: "error: overlays/dev: overlays/dev/kustomization.yaml:2: resource \"../../bsae\" not found (did you mean \"../../base\"?)\n" +
				"error: remote: remote/kustomization.yaml:2: remote reference \"github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v3.3.1\" refused: a render reads only this repository (pass --allow-remote to fetch it)\n" +
				"error: 2 of 3 roots did not render\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.dir, nil, tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			if r.stdout != tc.stdout {
				t.Errorf("stdout is\n%s\nwant\n%s", r.stdout, tc.stdout)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace:\n%s", r.stderr)
			}
			if strings.HasSuffix(tc.stderr, "\n") {
				if diff := cmp.Diff(tc.stderr, scrub(r.stderr, tc.dir)); diff != "" {
					t.Errorf("stderr (-want +got):\n%s", diff)
				}
			} else if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tc.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := run(t, t.TempDir(), nil, "version")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"kubectl-gitops ", "kustomize/api v0.21.2", "k8s.io/client-go v0.37.2", "kustomize-controller/api v1.9.6"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestRenderJSONFailedRoot: in JSON, a root that fails is listed with its
// error and no objects, beside the roots that rendered, and the run fails.
func TestRenderJSONFailedRoot(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "one broken overlay", map[string][]byte{
		"base/kustomization.yaml":         []byte("resources:\n- cm.yaml\n"),
		"base/cm.yaml":                    []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"),
		"overlays/dev/kustomization.yaml": []byte("resources:\n- ../../bsae\n"),
		"overlays/ok/kustomization.yaml":  []byte("resources:\n- ../../base\n"),
	})
	r := run(t, g.Dir, nil, "render", "--all", "-o", "json")
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	var out struct {
		Roots []struct {
			Path    string
			Error   string
			Objects []map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	got := map[string]string{}
	for _, root := range out.Roots {
		got[root.Path] = fmt.Sprintf("%d objects, error %q", len(root.Objects), root.Error)
	}
	want := map[string]string{
		"overlays/dev": `0 objects, error "overlays/dev/kustomization.yaml:2: resource \"../../bsae\" not found (did you mean \"../../base\"?)"`,
		"overlays/ok":  `1 objects, error ""`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("roots (-want +got):\n%s", diff)
	}
}
