package workspace

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/images"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry/registrytest"
)

// TestImages resolves the markers of a repository against the in-process
// registry: the policy the repository renders selects the highest semver
// tag, not a prerelease nor "latest"; a marker naming a policy nobody
// defines is an error of its own; the ImageUpdateAutomation whose
// update.path covers the file is the one an update commits as; and a
// cluster's policies, when given, replace the repository's.
func TestImages(t *testing.T) {
	reg := registrytest.New(nil)
	defer reg.Close()
	if _, err := reg.Push("team/web", "1.0.0", "1.2.0", "1.10.0-rc.1", "latest"); err != nil {
		t.Fatal(err)
	}
	image := reg.Host() + "/team/web"
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", map[string][]byte{
		"infra/kustomization.yaml": []byte("resources: [images.yaml]\n"),
		"infra/images.yaml": []byte(fmt.Sprintf(`apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: web, namespace: flux-system}
spec: {image: %s, interval: 5m, insecure: true}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: web, namespace: flux-system}
spec:
  imageRepositoryRef: {name: web}
  policy: {semver: {range: ">=1.0.0"}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  sourceRef: {kind: GitRepository, name: flux-system}
  git:
    commit:
      author: {name: fluxbot, email: flux@example.com}
      messageTemplate: "images: {{ .AutomationObject }}"
  update: {path: ./apps, strategy: Setters}
`, image)),
		"apps/kustomization.yaml": []byte("resources: [web.yaml]\n"),
		"apps/web.yaml": []byte(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: %[1]s:1.0.0 # {"$imagepolicy": "flux-system:web"}
      - name: sidecar
        image: %[1]s:1.0.0 # {"$imagepolicy": "flux-system:nobody"}
      - name: pinned
        image: %[1]s:1.0.0 # {"$imagepolicy": "apps:web"}
      - name: vendored
        image: %[1]s:1.0.0 # {"$imagepolicy": "flux-system:vendored"}
`, image)),
		// A root that does not render (a remote base refused) may define
		// the policy a marker names: whether it exists is not known.
		"vendor/kustomization.yaml": []byte("resources: [https://example.com/upstream.yaml, policy.yaml]\n"),
		"vendor/policy.yaml": []byte(`apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: vendored, namespace: flux-system}
spec:
  imageRepositoryRef: {name: web}
  policy: {semver: {range: ">=1.0.0"}}
`),
		// No root applies it: another repository does, in the namespace
		// it chooses. Markers place it in theirs.
		"update-policies/web.yaml": []byte(fmt.Sprintf(`apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: web}
spec: {image: %s, interval: 5m, insecure: true}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: web}
spec:
  imageRepositoryRef: {name: web}
  policy: {semver: {range: "<1.1.0"}}
`, image)),
	})
	w, err := Open(Options{Dir: g.Dir, Jobs: 2, NoCache: true, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	im, err := w.Images(context.Background(), ImageQuery{Path: "."})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Found.Markers) != 4 {
		t.Fatalf("found %d markers, want 4: %+v", len(im.Found.Markers), im.Found.Markers)
	}
	got := map[string]string{}
	for _, m := range im.Found.Markers {
		res := im.Resolution[m.Policy]
		if res.Err != nil {
			got[m.Policy.String()] = "error: " + res.Err.Error()
		} else {
			got[m.Policy.String()] = res.Latest.Value(m.Field)
		}
	}
	want := map[string]string{
		"flux-system:web":    image + ":1.2.0",
		"flux-system:nobody": "error: ImagePolicy flux-system/nobody is not defined",
		"apps:web":           image + ":1.0.0",
		"flux-system:vendored": "error: ImagePolicy flux-system/vendored is not known: vendor, which may define it, does not render: " +
			`vendor/kustomization.yaml:1: remote reference "https://example.com/upstream.yaml" refused: a render reads only this repository (pass --allow-remote to fetch it)`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s resolves to %q, want %q", k, got[k], v)
		}
	}

	auto := im.Automation([]images.FileUpdate{{File: "apps/web.yaml"}})
	if auto == nil || auto.GetName() != "apps" || Field(auto, "spec", "git", "commit", "author", "name") != "fluxbot" {
		t.Errorf("the automation covering apps/web.yaml is %v, want flux-system/apps", auto)
	}
	if auto := im.Automation([]images.FileUpdate{{File: "infra/images.yaml"}}); auto != nil {
		t.Errorf("an automation of ./apps covers infra/images.yaml: %s", auto.GetName())
	}

	// The update: the marker whose policy resolves is rewritten, the
	// commit is the automation's, and writing it leaves the comments.
	updates, err := im.Updates()
	if err != nil {
		t.Fatal(err)
	}
	if len(updates) != 1 || updates[0].File != "apps/web.yaml" || len(updates[0].Changes) != 1 {
		t.Fatalf("updates %+v, want the web marker of apps/web.yaml", updates)
	}
	spec, err := w.ImageCommit(context.Background(), im, updates, true)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Message != "images: flux-system/apps" || spec.Title != spec.Message || spec.Author == nil || spec.Author.Name != "fluxbot" || spec.Author.Email != "flux@example.com" {
		t.Errorf("commit %q (title %q) by %+v, want the automation's template and author", spec.Message, spec.Title, spec.Author)
	}
	if !strings.HasPrefix(spec.Branch, "gitops/images/") || string(spec.Changes["apps/web.yaml"]) != string(updates[0].New) {
		t.Errorf("branch %q, files %v", spec.Branch, slices.Collect(maps.Keys(spec.Changes)))
	}
	for _, want := range []string{"+++ b/apps/web.yaml", "+        image: " + image + ":1.2.0 # {\"$imagepolicy\": \"flux-system:web\"}", "`apps`", "#### Validation"} {
		if !strings.Contains(spec.Body, want) {
			t.Errorf("the pull request body lacks %q:\n%s", want, spec.Body)
		}
	}
	if err := publish.Write(g.Dir, Files(updates)); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(g.Dir, "apps", "web.yaml")); string(data) != string(updates[0].New) {
		t.Errorf("apps/web.yaml after the write:\n%s", data)
	}

	// Without the policies the repository renders, a cluster's answer.
	im, err = w.Images(context.Background(), ImageQuery{Path: "apps", Cluster: []map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Found.Markers {
		if im.Resolution[m.Policy].Err == nil {
			t.Errorf("%s resolved from a cluster that holds no ImagePolicy", m.Policy)
		}
	}
}
