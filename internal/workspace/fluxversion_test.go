package workspace

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	findings := func(opts ...Options) []string {
		o := Options{Dir: g.Dir}
		if len(opts) > 0 {
			o = opts[0]
			o.Dir = g.Dir
		}
		var out []string
		for _, f := range checkScopeWith(t, o, Scope{All: true}).Findings {
			if f.Rule == "deprecated-api" || f.Rule == "build" {
				out = append(out, string(f.Severity)+" "+f.Rule+" "+f.File+" "+f.Message)
			}
		}
		return out
	}
	// The bundled release, assumed: substitution is strict, and v1beta2
	// is gone from it, a warning since the cluster applies it.
	if got := strings.Join(findings(), "\n"); !strings.Contains(got, "warning deprecated-api clusters/prod/apps.yaml kustomize.toolkit.fluxcd.io/v1beta2 Kustomization was removed in Flux v2.8 (deprecated in v2.0): use kustomize.toolkit.fluxcd.io/v1; the repository names no Flux release for this cluster: an error on Flux v2.8 and later") || !strings.Contains(got, "error build apps/settings.yaml") {
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
	// --flux-version says it where .gitops.yaml does not, or says
	// otherwise; a cluster .gitops.yaml declares says it for itself.
	if err := os.WriteFile(config, []byte("fluxVersion: v2.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(findings(Options{FluxVersion: "v2.6"}), "\n"); got != want {
		t.Errorf("with --flux-version v2.6 over fluxVersion v2.9:\n%s", got)
	}
	declared := "fluxVersion: v2.9\nclusters:\n  - name: prod\n    path: clusters/prod\n    fluxVersion: v2.6\n    source: {url: https://github.com/example/fleet.git}\n"
	if err := os.WriteFile(config, []byte(declared), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(findings(), "\n"); got != want {
		t.Errorf("with the cluster's fluxVersion v2.6:\n%s", got)
	}

	for i, bad := range []string{"latest", "v3.0", "v2.99"} {
		setting := "rules: {}\nfluxVersion: " + bad + "\n"
		if i == 2 {
			setting = "clusters:\n  - {name: prod, path: clusters/prod, fluxVersion: " + bad + "}\n"
		}
		if err := os.WriteFile(config, []byte(setting), 0o644); err != nil {
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
	g.Origin(t, "https://github.com/example/fleet.git")
	return g
}

// TestStrictSubstitutionGate: a cluster that sets kustomize-controller's
// StrictPostBuildSubstitutions feature gate, with a patch of its arguments
// in flux bootstrap's kustomization.yaml or in its FluxInstance, has its
// variables substituted as the gate says, whatever its Flux release's
// default: off leaves a variable nothing sets empty (a warning naming the
// gate), on makes it an error even on a release before v2.9.
func TestStrictSubstitutionGate(t *testing.T) {
	app := map[string][]byte{
		"apps/kustomization.yaml": []byte("resources: [settings.yaml]\n"),
		"apps/settings.yaml":      []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata:\n  region: ${REGION}\n"),
	}
	ks := func(path string) []byte {
		return []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 10m\n  path: " + path + "\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substitute: {CLUSTER: prod}\n")
	}
	gatePatch := func(value string) string {
		return `
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --feature-gates=CancelHealthCheckOnNewRevision=true,StrictPostBuildSubstitutions=` + value + `
    target:
      kind: Deployment
      name: kustomize-controller
`
	}
	bootstrap := func(value, release string) map[string][]byte {
		files := maps.Clone(app)
		files["clusters/prod/apps.yaml"] = ks("./apps")
		files["clusters/prod/flux-system/gotk-components.yaml"] = []byte("# Flux Version: " + release + "\napiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n")
		files["clusters/prod/flux-system/kustomization.yaml"] = []byte("resources: [gotk-components.yaml, gotk-sync.yaml]\npatches:\n  - patch: |" + gatePatch(value))
		return files
	}
	instance := func(value string) map[string][]byte {
		files := maps.Clone(app)
		files["kubernetes/flux/apps.yaml"] = ks("./apps")
		files["bootstrap/instance.yaml"] = []byte(`apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata: {name: flux, namespace: flux-system}
spec:
  distribution: {version: "2.x", registry: ghcr.io/fluxcd}
  sync:
    kind: GitRepository
    url: https://github.com/example/fleet.git
    ref: refs/heads/master
    path: kubernetes/flux
  kustomize:
    patches:
      - patch: |` + strings.ReplaceAll(gatePatch(value), "\n", "\n    "))
		return files
	}
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"bootstrap, off on v2.9", bootstrap("false", "v2.9.0"), "warning build apps/settings.yaml Kustomization flux-system/apps: variable REGION is not set and has no default: kustomize-controller, with its StrictPostBuildSubstitutions feature gate off, substitutes an empty string"},
		{"bootstrap, on on v2.6", bootstrap("true", "v2.6.1"), `error build apps/settings.yaml post build failed for 'ConfigMap.v1.[noGrp]/settings': envsubst error: variable substitution failed: variable not set (strict mode): "REGION" (set it in the substitute or substituteFrom of the Kustomization that applies this file, or give it a default: ${REGION:=value})`},
		// Neither: the bundled release's default, said to be assumed.
		{"no release nor gate named", func() map[string][]byte {
			files := maps.Clone(app)
			files["clusters/prod/apps.yaml"] = ks("./apps")
			return files
		}(), `error build apps/settings.yaml post build failed for 'ConfigMap.v1.[noGrp]/settings': envsubst error: variable substitution failed: variable not set (strict mode): "REGION" (set it in the substitute or substituteFrom of the Kustomization that applies this file, or give it a default: ${REGION:=value}); substitution is strict from Flux v2.9, and the repository names no Flux release for this cluster, so v2.9 is assumed: pass --flux-version or set fluxVersion in .gitops.yaml if it runs an older one`},
		{"bootstrap, another cluster's gate", func() map[string][]byte {
			files := bootstrap("true", "v2.6.1")
			files["clusters/staging/flux-system/kustomization.yaml"] = files["clusters/prod/flux-system/kustomization.yaml"]
			files["clusters/staging/flux-system/gotk-components.yaml"] = files["clusters/prod/flux-system/gotk-components.yaml"]
			files["clusters/staging/flux-system/gotk-sync.yaml"] = gittest.FluxSync("https://github.com/example/fleet", "clusters/staging")
			files["clusters/prod/flux-system/kustomization.yaml"] = []byte("resources: [gotk-components.yaml, gotk-sync.yaml]\n")
			return files
		}(), "warning build apps/settings.yaml Kustomization flux-system/apps: variable REGION is not set and has no default: Flux v2.6 substitutes an empty string (from Flux v2.9 on, strict substitution makes it an error)"},
		{"FluxInstance, off", instance("false"), "warning build apps/settings.yaml Kustomization flux-system/apps: variable REGION is not set and has no default: kustomize-controller, with its StrictPostBuildSubstitutions feature gate off, substitutes an empty string"},
		// No gate: without an artifact, the operator installs the Flux
		// its own manifests carry, v2.7 for v0.33.0.
		{"FluxInstance of an older operator", func() map[string][]byte {
			files := instance("false")
			files["bootstrap/instance.yaml"] = files["bootstrap/instance.yaml"][:bytes.Index(files["bootstrap/instance.yaml"], []byte("  kustomize:"))]
			files["bootstrap/operator.yaml"] = []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: flux-operator, namespace: flux-system}\nspec:\n  interval: 1h\n  url: oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator\n  ref: {tag: 0.33.0}\n")
			return files
		}(), "warning build apps/settings.yaml Kustomization flux-system/apps: variable REGION is not set and has no default: Flux v2.7 substitutes an empty string (from Flux v2.9 on, strict substitution makes it an error)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := fleetRepo(t, tc.files)
			var got []string
			for _, f := range checkScope(t, g.Dir, Scope{All: true}).Findings {
				if f.Rule == "build" {
					got = append(got, string(f.Severity)+" "+f.Rule+" "+f.File+" "+f.Message)
				}
			}
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("build findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), tc.want)
			}
		})
	}
}
