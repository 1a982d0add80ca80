package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv/apiserver"
)

// canary is a Secret value that must appear in no output.
const canary = "canary-s3cr3t-4f9a"

// diffRepo is the microservices example with one more commit on a branch:
// the development overlay's front-end image bumped, a Secret whose value
// changes, and the prod overlay's replicas changed.
func diffRepo(t *testing.T) *gittest.Repo {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	files := gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "sock-shop", "microservices-repo"))
	files["deploy/kubernetes/overlays/test/secret.yaml"] = secret("old-" + canary)
	files["deploy/kubernetes/overlays/test/kustomization.yaml"] = []byte(strings.Replace(string(files["deploy/kubernetes/overlays/test/kustomization.yaml"]),
		"resources:\n  - ../../base\n", "resources:\n  - ../../base\n  - secret.yaml\n", 1))
	g.CommitFiles(t, "import", files)
	g.Write(t, map[string][]byte{
		"deploy/kubernetes/overlays/development/kustomization.yaml": []byte(strings.Replace(string(files["deploy/kubernetes/overlays/development/kustomization.yaml"]), "main-d480788-24", "main-1f49071-25", 1)),
		"deploy/kubernetes/overlays/test/secret.yaml":               secret(canary + "-new"),
	})
	return g
}

func secret(value string) []byte {
	return []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: sock-shop\ndata:\n  password: " + base64.StdEncoding.EncodeToString([]byte(value)) + "\n")
}

func TestDiffRevisions(t *testing.T) {
	g := diffRepo(t)
	for _, tc := range []struct {
		name   string
		args   []string
		golden string
	}{
		{name: "text", args: []string{"diff", "--color", "never"}, golden: "diff/worktree.txt.golden"},
		{name: "markdown", args: []string{"diff", "-o", "markdown"}, golden: "diff/worktree.md.golden"},
		{name: "json", args: []string{"diff", "-o", "json"}, golden: "diff/worktree.json.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, g.Dir, nil, tc.args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1 (differences); stderr:\n%s", r.code, r.stderr)
			}
			golden(t, tc.golden, r.stdout)
			for _, out := range []string{r.stdout, r.stderr} {
				for _, leak := range []string{canary, base64.StdEncoding.EncodeToString([]byte("old-" + canary)), base64.StdEncoding.EncodeToString([]byte(canary + "-new"))} {
					if strings.Contains(out, leak) {
						t.Errorf("output shows the Secret's value %q", leak)
					}
				}
			}
		})
	}
	t.Run("nothing changed", func(t *testing.T) {
		g.Commit(t, "bump")
		r := run(t, g.Dir, nil, "diff")
		if r.code != 0 || !strings.Contains(r.stdout, "No differences.") {
			t.Errorf("exit %d, stdout %q", r.code, r.stdout)
		}
	})
	t.Run("between revisions, as a pull request", func(t *testing.T) {
		r := run(t, g.Dir, nil, "diff", "--base", "HEAD~1", "--head", "HEAD", "-o", "json")
		if r.code != 1 || !strings.Contains(r.stdout, `"object": "apps/v1/Deployment/sock-shop/front-end"`) {
			t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
		}
	})
	t.Run("in CI the base is the target branch", func(t *testing.T) {
		r := run(t, g.Dir, []string{"GITHUB_BASE_REF=no-such-branch"}, "diff")
		if r.code != 2 || !strings.Contains(r.stderr, `origin/no-such-branch`) {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestDiffErrors(t *testing.T) {
	g := diffRepo(t)
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "bad output", args: []string{"diff", "-o", "yaml"}, stderr: "--output must be text, markdown or json"},
		{name: "bad ignore path", args: []string{"diff", "--ignore", "spec..replicas"}, stderr: "empty path element"},
		{name: "unknown base", args: []string{"diff", "--base", "nope"}, stderr: `--base: revision "nope"`},
		{name: "base with live", args: []string{"diff", "--live", "--base", "HEAD"}, stderr: "--base does not apply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, g.Dir, nil, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.stderr) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", r.code, r.stdout, r.stderr, tc.stderr)
			}
		})
	}
	t.Run("a broken head", func(t *testing.T) {
		g.Write(t, map[string][]byte{"deploy/kubernetes/overlays/prod/kustomization.yaml": []byte("resources:\n- ../../bsae\n")})
		r := run(t, g.Dir, nil, "diff")
		if r.code != 2 || !strings.Contains(r.stderr, `resource "../../bsae" not found`) {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		// Another root the change touches is printed all the same.
		data, err := os.ReadFile(filepath.Join(g.Dir, "deploy", "kubernetes", "overlays", "test", "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		g.Write(t, map[string][]byte{"deploy/kubernetes/overlays/test/kustomization.yaml": bytes.Replace(data, []byte("count: 2"), []byte("count: 4"), 1)})
		r = run(t, g.Dir, nil, "diff", "--color", "never")
		if r.code != 2 || !strings.Contains(r.stderr, `resource "../../bsae" not found`) || !strings.Contains(r.stdout, "+  replicas: 4") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 2, the test overlay's diff and the prod overlay's error", r.code, r.stdout, r.stderr)
		}
	})
}

// TestDiffBrokenBefore: a root the change touches that did not render
// before it either (here, a resource missing on both sides) is not one
// the change breaks: a warning saying so, the other roots' diff, and exit
// 1 for their differences, not 2 (brettinternet/homeops: a remote CRD
// refused in a root substituting from the cluster-settings a change
// edits).
func TestDiffBrokenBefore(t *testing.T) {
	g := diffRepo(t)
	g.CommitFiles(t, "a broken overlay", map[string][]byte{"deploy/kubernetes/overlays/broken/kustomization.yaml": []byte("resources: [missing.yaml]\n")})
	data, err := os.ReadFile(filepath.Join(g.Dir, "deploy", "kubernetes", "overlays", "test", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	g.Write(t, map[string][]byte{
		"deploy/kubernetes/overlays/broken/kustomization.yaml": []byte("resources: [missing.yaml]\n# to be fixed\n"),
		"deploy/kubernetes/overlays/test/kustomization.yaml":   bytes.Replace(data, []byte("count: 2"), []byte("count: 4"), 1),
	})
	r := run(t, g.Dir, nil, "diff", "--color", "never")
	if r.code != 1 || !strings.Contains(r.stderr, "warning: deploy/kubernetes/overlays/broken: ") || !strings.Contains(r.stderr, "on the base side too") ||
		strings.Contains(r.stderr, "error:") || !strings.Contains(r.stdout, "+  replicas: 4") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1, the test overlay's diff and a warning for the broken one", r.code, r.stdout, r.stderr)
	}
	// Breaking it another way is the change's doing.
	g.Write(t, map[string][]byte{"deploy/kubernetes/overlays/broken/kustomization.yaml": []byte("resources: [gone.yaml]\n")})
	if r := run(t, g.Dir, nil, "diff"); r.code != 2 || !strings.Contains(r.stderr, `error: deploy/kubernetes/overlays/broken`) {
		t.Errorf("exit %d, stderr %q; want 2 and the broken overlay's error", r.code, r.stderr)
	}
}

// TestDiffLive runs diff --live against a real kube-apiserver: the
// development overlay applied, then changed in the working tree.
func TestDiffLive(t *testing.T) {
	srv := apiserver.Start(t)
	kubeconfig := srv.Kubeconfig(t)
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "app", map[string][]byte{
		"app/kustomization.yaml": []byte("namespace: live\nresources:\n- ns.yaml\n- cm.yaml\n- secret.yaml\n"),
		"app/ns.yaml":            []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: live\n"),
		"app/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: blue\n"),
		"app/secret.yaml":        secret(canary),
	})
	env := []string{"KUBECONFIG=" + kubeconfig}
	r := run(t, g.Dir, env, "diff", "--live", "-o", "json")
	if r.code != 1 || strings.Count(r.stdout, `"action": "added"`) != 3 {
		t.Fatalf("before anything is applied: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	applyRendered(t, srv, g.Dir, "app")
	if r := run(t, g.Dir, env, "diff", "--live"); r.code != 0 {
		t.Fatalf("after applying: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	g.Write(t, map[string][]byte{
		"app/cm.yaml":     []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: green\n"),
		"app/secret.yaml": secret(canary + "-2"),
	})
	r = run(t, g.Dir, env, "diff", "--live", "--color", "never")
	if r.code != 1 || !strings.Contains(r.stdout, "-  mode: blue\n+  mode: green\n") || !strings.Contains(r.stdout, "*** (after)") {
		t.Errorf("after a change: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, canary) || strings.Contains(r.stdout+r.stderr, base64.StdEncoding.EncodeToString([]byte(canary))) {
		t.Error("the Secret's value is in the output")
	}
	t.Run("unreachable cluster", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "kubeconfig")
		cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: sekrit-token\n"
		if err := os.WriteFile(bad, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, g.Dir, []string{"KUBECONFIG=" + bad}, "diff", "--live")
		if r.code != 2 || !strings.Contains(r.stderr, "cannot reach the cluster at https://127.0.0.1:1") || strings.Contains(r.stderr, "sekrit-token") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// applyRendered applies what kubectl gitops renders for dir to the cluster,
// as kustomize-controller would: server-side, with its field manager.
func applyRendered(t *testing.T, srv *apiserver.Server, repoDir, dir string) {
	t.Helper()
	r := run(t, repoDir, nil, "render", dir, "-o", "json")
	if r.code != 0 {
		t.Fatalf("render: %s", r.stderr)
	}
	var out struct {
		Roots []struct {
			Objects []map[string]any `json:"objects"`
		} `json:"roots"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	dc, err := dynamic.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, root := range out.Roots {
		for _, o := range root.Objects {
			u := &unstructured.Unstructured{Object: o}
			gvk := u.GroupVersionKind()
			plural := strings.ToLower(gvk.Kind) + "s"
			res := dc.Resource(gvk.GroupVersion().WithResource(plural))
			var ri dynamic.ResourceInterface = res
			if ns := u.GetNamespace(); ns != "" {
				ri = res.Namespace(ns)
			}
			if _, err := ri.Apply(context.Background(), u.GetName(), u, metav1.ApplyOptions{FieldManager: "kustomize-controller", Force: true}); err != nil {
				t.Fatalf("applying %s %s: %v", gvk.Kind, u.GetName(), err)
			}
		}
	}
}
