package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/config"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// TestFluxVersionSetting: a repository that does not say which Flux
// release its cluster runs (Flux installed by Terraform: no
// gotk-components.yaml) names it in .gitops.yaml, and the findings follow
// it: an API that release still serves is deprecated, not removed; a
// variable nothing sets is left empty, as Flux before v2.9 does: a
// warning, not a failed build.
func TestFluxVersionSetting(t *testing.T) {
	g := fleetRepo(t, map[string][]byte{
		"clusters/prod/apps.yaml": []byte(`apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substitute: {CLUSTER: prod}
`),
		"apps/kustomization.yaml": []byte("resources: [settings.yaml]\n"),
		"apps/settings.yaml":      []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata:\n  cluster: ${CLUSTER}\n  region: ${REGION}\n"),
	})
	findings := func() []string {
		var out []string
		for _, f := range checkScope(t, g.Dir, Scope{All: true}).Findings {
			if f.Rule == "deprecated-api" || f.Rule == "build" {
				out = append(out, string(f.Severity)+" "+f.Rule+" "+f.File+" "+f.Message)
			}
		}
		return out
	}
	// The bundled release: v1beta2 is gone, and substitution is strict.
	if got := strings.Join(findings(), "\n"); !strings.Contains(got, "error deprecated-api clusters/prod/apps.yaml kustomize.toolkit.fluxcd.io/v1beta2 Kustomization was removed") || !strings.Contains(got, "error build apps/settings.yaml") {
		t.Errorf("with the bundled Flux release:\n%s", got)
	}
	config := filepath.Join(g.Dir, validate.ConfigFile)
	if err := os.WriteFile(config, []byte("fluxVersion: v2.6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "warning build apps/settings.yaml Kustomization flux-system/apps: variable REGION is not set and has no default: Flux v2.6 substitutes an empty string (from Flux v2.9 on, strict substitution makes it an error)\n" +
		"warning deprecated-api clusters/prod/apps.yaml kustomize.toolkit.fluxcd.io/v1beta2 Kustomization is deprecated since Flux v2.0: use kustomize.toolkit.fluxcd.io/v1"
	if got := strings.Join(findings(), "\n"); got != want {
		t.Errorf("with fluxVersion v2.6:\n%s", got)
	}

	for _, bad := range []string{"latest", "v3.0", "v2.99"} {
		if err := os.WriteFile(config, []byte("rules: {}\nfluxVersion: "+bad+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := Open(Options{Dir: g.Dir, Jobs: 1, NoCache: true, Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		tree, err := w.Repo.Tree("")
		if err != nil {
			t.Fatal(err)
		}
		_, err = validate.LoadConfig(tree)
		var d *diag.Error
		if !errors.As(err, &d) || d.File != validate.ConfigFile || d.Line != 2 || !strings.Contains(d.Msg, "fluxVersion") {
			t.Errorf("fluxVersion %s: %v, want an error at .gitops.yaml:2", bad, err)
		}
	}
}

// fleetRepo commits files to a repository cloned from
// github.com/example/fleet, beside the sync `flux bootstrap` writes for
// its cluster clusters/prod.
func fleetRepo(t *testing.T, files map[string][]byte) *gittest.Repo {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	files["clusters/prod/flux-system/gotk-sync.yaml"] = gittest.FluxSync("https://github.com/example/fleet", "clusters/prod")
	g.CommitFiles(t, "import", files)
	if _, err := g.Git.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{"https://github.com/example/fleet.git"}}); err != nil {
		t.Fatal(err)
	}
	return g
}
