package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry/registrytest"
)

// TestOCIRepositorySource renders a Kustomization whose source is an
// OCIRepository from the artifact its registry serves, fetched once; offline
// with an empty cache, it is named as not rendered.
func TestOCIRepositorySource(t *testing.T) {
	hits := &registrytest.Counter{}
	reg := registrytest.New(hits.Wrap)
	defer reg.Close()
	pushArtifact(t, reg.DirectHost()+"/manifests/infra:v1.2.0", map[string]string{
		"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [config.yaml]\n",
		"config.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-artifact\ndata:\n  version: v1.2.0\n",
	})
	pushArtifact(t, reg.DirectHost()+"/manifests/infra:v1.1.0", map[string]string{
		"config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: older\n",
	})
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", map[string][]byte{
		"clusters/prod/flux-system/gotk-sync.yaml": gittest.FluxSync("https://example.com/fleet.git", "clusters/prod"),
		"clusters/prod/infra.yaml": []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: infra, namespace: flux-system}
spec:
  interval: 10m
  url: oci://` + reg.Host() + `/manifests/infra
  ref: {semver: ">=1.0.0"}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infra, namespace: flux-system}
spec:
  interval: 10m
  path: ./
  prune: true
  targetNamespace: infra
  sourceRef: {kind: OCIRepository, name: infra}
`),
	})
	cache := "XDG_CACHE_HOME=" + t.TempDir()
	r := run(t, g.Dir, []string{cache}, "render", "--all", "-o", "json")
	if r.code != 0 {
		t.Fatalf("render: exit %d\n%s", r.code, r.stderr)
	}
	var out struct {
		Roots []struct {
			Kustomization, Revision string
			Objects                 []map[string]any
		}
		Skipped []struct{ Kustomization, Reason string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, root := range out.Roots {
		if root.Kustomization != "flux-system/infra" {
			continue
		}
		found = true
		if !strings.HasPrefix(root.Revision, "OCI artifact "+reg.Host()+"/manifests/infra:v1.2.0@sha256:") {
			t.Errorf("revision %q", root.Revision)
		}
		if len(root.Objects) != 1 || root.Objects[0]["metadata"].(map[string]any)["name"] != "from-artifact" || root.Objects[0]["metadata"].(map[string]any)["namespace"] != "infra" {
			t.Errorf("objects %v, want the artifact's ConfigMap in namespace infra", root.Objects)
		}
	}
	if !found || len(out.Skipped) != 0 {
		t.Fatalf("roots %+v, skipped %+v", out.Roots, out.Skipped)
	}
	// Within the source's interval, a warm render asks the registry
	// nothing.
	before := hits.Total()
	if again := run(t, g.Dir, []string{cache}, "render", "--all"); again.code != 0 || hits.Total() != before {
		t.Errorf("a warm render sent %d requests (exit %d)", hits.Total()-before, again.code)
	}
	off := run(t, g.Dir, nil, "render", "--all", "--offline")
	if off.code != 0 || !strings.Contains(off.stderr, "Kustomization flux-system/infra") || !strings.Contains(off.stderr, "not in the cache") {
		t.Errorf("offline, empty cache: exit %d\n%s", off.code, off.stderr)
	}

	// Without an entry point, the Kustomization is read as it is written,
	// and renders from the artifact all the same.
	if err := os.RemoveAll(filepath.Join(g.Dir, "clusters", "prod", "flux-system")); err != nil {
		t.Fatal(err)
	}
	plain := run(t, g.Dir, []string{cache}, "render", "--all")
	if plain.code != 0 || !strings.Contains(plain.stdout, "name: from-artifact") || !strings.Contains(plain.stdout, "namespace: infra") {
		t.Errorf("no entry point: exit %d\n%s%s", plain.code, plain.stdout, plain.stderr)
	}
}

// pushArtifact pushes files as a Flux OCI artifact to ref.
func pushArtifact(t *testing.T, ref string, files map[string]string) {
	t.Helper()
	if err := registrytest.PushArtifact(ref, files); err != nil {
		t.Fatal(err)
	}
}
