package helm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// writeTree writes files under a new directory and returns it as a tree.
func writeTree(t *testing.T, files map[string]string) repo.Tree {
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return repo.NewWorkTree(dir)
}

// A chart kept in Git: its .helmignore honoured, its dependencies rendered
// when its charts/ directory holds them, and the release left unchecked,
// not failed, when source-controller would have to download them.
func TestGitChart(t *testing.T) {
	files := map[string]string{
		"charts/web/Chart.yaml":               "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n  - name: cache\n    version: 0.1.0\n    repository: https://charts.example.com\n    condition: cache.enabled\n",
		"charts/web/values.yaml":              "cache:\n  enabled: true\n",
		"charts/web/.helmignore":              "notes/\n",
		"charts/web/notes/broken.yaml":        "{{ this is not a template",
		"charts/web/templates/cm.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
		"charts/web/charts/cache/Chart.yaml":  "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
		"charts/web/charts/cache/values.yaml": "size: 1\n",
		"charts/web/charts/cache/templates/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-cache\n" +
			"spec:\n  replicas: {{ .Values.size }}\n  selector: {matchLabels: {app: c}}\n  template: {metadata: {labels: {app: c}}, spec: {containers: [{name: c, image: redis}]}}\n",
	}
	hr := release(t, `
metadata: {name: web, namespace: apps}
spec:
  chart:
    spec:
      chart: ./charts/web
      reconcileStrategy: Revision
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  values:
    cache: {size: 3}`)
	ctx := context.Background()
	c, err := Resolve(ctx, NewFetcher(FetcherOptions{}), hr, sources{tree: writeTree(t, files)})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Render(ctx, Release{HelmRelease: hr, Chart: c, Values: map[string]any{"cache": map[string]any{"size": 3}}})
	if err != nil {
		t.Fatal(err)
	}
	out := string(printed(t, objs))
	if !strings.Contains(out, "name: web-cache") || !strings.Contains(out, "replicas: 3") {
		t.Errorf("the vendored dependency did not render with the parent's values:\n%s", out)
	}
	if c.String() != "web 1.0.0 from GitRepository flux-system/flux-system" {
		t.Errorf("chart %q", c)
	}

	for name := range files {
		if strings.HasPrefix(name, "charts/web/charts/") {
			delete(files, name)
		}
	}
	_, err = Resolve(ctx, NewFetcher(FetcherOptions{}), hr, sources{tree: writeTree(t, files)})
	var u *Unchecked
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "(cache): source-controller downloads them") {
		t.Errorf("dependencies not vendored: %v, want the release unchecked", err)
	}
	_, err = Resolve(ctx, NewFetcher(FetcherOptions{}), hr, sources{})
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "another repository") {
		t.Errorf("a GitRepository that is not this repository: %v", err)
	}
}
