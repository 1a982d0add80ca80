package workspace

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// TestRenderTouched edits the bundled examples and the Flux fixtures at
// random, one file at a time, and checks the change as the hooks and the
// pull-request bot do: rendering only the roots the change may touch and
// those the rules look up must give the findings rendering every root
// gives.
func TestRenderTouched(t *testing.T) {
	corpora := []string{
		"examples/sock-shop/flux-repo",
		"examples/sock-shop/microservices-repo",
		"examples/sock-shop-walkthrough-mistakes/flux-repo",
		"examples/sock-shop-walkthrough-mistakes/microservices-repo",
		"examples/helm-platform",
		"flux/homelab",
		"flux/fleet",
		"flux/platform",
		"validate/every-rule",
	}
	rng := rand.New(rand.NewPCG(5, 8))
	scalar := regexp.MustCompile(`^\s*[A-Za-z_][\w.-]*: [^\s{[|>&*!#"'].*$`)
	edits := 0
	for _, c := range corpora {
		t.Run(c, func(t *testing.T) {
			g := gittest.Init(t, t.TempDir())
			g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "..", "testdata", filepath.FromSlash(c))))
			var files []string
			for f := range gittest.CopyTree(t, g.Dir) {
				if (strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".env")) && !strings.HasPrefix(f, ".git/") {
					files = append(files, filepath.ToSlash(f))
				}
			}
			slices.Sort(files)
			for i := 0; i < 6; i++ {
				f := files[rng.IntN(len(files))]
				p := filepath.Join(g.Dir, filepath.FromSlash(f))
				orig, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(string(orig), "\n")
				var cands []int
				for j, l := range lines {
					if scalar.MatchString(l) {
						cands = append(cands, j)
					}
				}
				if len(cands) == 0 {
					continue
				}
				j := cands[rng.IntN(len(cands))]
				lines[j] += "x"
				if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
					t.Fatal(err)
				}
				scoped, all := findingsOf(t, g.Dir, f, false), findingsOf(t, g.Dir, f, true)
				if scoped != all {
					t.Errorf("editing %s line %d: the change's own render finds\n%s\nrendering every root finds\n%s", f, j+1, scoped, all)
				}
				edits++
				if err := os.WriteFile(p, orig, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if edits == 0 {
		t.Fatal("no edit made: the test checks nothing")
	}
}

// TestClustersDefineAlike: two clusters each apply a Kustomization of the
// same name; only staging's refers to a source that does not exist. The
// finding is staging's alone, whether the change's roots or every root
// render: one cluster's objects never answer for another's.
func TestClustersDefineAlike(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "flux", "platform")))
	f := "clusters/staging/infrastructure.yaml"
	p := filepath.Join(g.Dir, filepath.FromSlash(f))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "kind: ExternalArtifact\n    name: infrastructure\n  path: ./configs", "kind: ExternalArtifactx\n    name: infrastructure\n  path: ./configs", 1)
	if edited == string(data) {
		t.Fatal("the fixture changed: nothing edited")
	}
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, all := range []bool{false, true} {
		var findings []validate.Finding
		if err := json.Unmarshal([]byte(findingsOf(t, g.Dir, f, all)), &findings); err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, x := range findings {
			if x.Rule == "flux-reference" {
				refs = append(refs, fmt.Sprintf("%s:%d %s", x.File, x.Line, x.Message))
			}
		}
		want := "clusters/staging/infrastructure.yaml:24 Kustomization flux-system/infra-configs refers to ExternalArtifactx flux-system/infrastructure, which is not defined in this repository"
		if len(refs) != 1 || refs[0] != want {
			t.Errorf("rendering every root %v: flux-reference findings %q, want %q", all, refs, want)
		}
	}
}

// checkScope checks scope of the working tree at dir, with no cache and no
// network.
func checkScope(t *testing.T, dir string, scope Scope) *validate.Report {
	t.Helper()
	return checkScopeWith(t, Options{Dir: dir}, scope)
}

// checkScopeWith is checkScope with the workspace's options, offline and
// without a cache.
func checkScopeWith(t *testing.T, opts Options, scope Scope) *validate.Report {
	t.Helper()
	opts.Jobs, opts.NoCache, opts.Offline = 2, true, true
	w, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := w.Repo.Tree("")
	if err != nil {
		t.Fatal(err)
	}
	report, err := w.Check(context.Background(), tree, scope, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// findingsOf checks the working tree at dir as a change of file, and
// returns its findings as JSON.
func findingsOf(t *testing.T, dir, file string, renderAll bool) string {
	t.Helper()
	report := checkScope(t, dir, Scope{Files: []string{file}, RenderAll: renderAll})
	data, err := json.MarshalIndent(report.Findings, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestRenderTouchedLookups edits a repository whose rules look across
// roots: a marker names an ImagePolicy another root defines, a custom
// resource's definition is in another root, a Kustomization is written in
// its parent's folder. Each change checked alone finds what rendering
// every root finds.
func TestRenderTouchedLookups(t *testing.T) {
	files := map[string][]byte{
		"clusters/prod/flux-system/gotk-sync.yaml": gittest.FluxSync("https://example.com/fleet.git", "clusters/prod"),
		"clusters/prod/infra.yaml": []byte(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infra, namespace: flux-system}
spec: {interval: 10m, path: ./infra, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`),
		"clusters/prod/apps.yaml": []byte(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  dependsOn: [{name: infra}]
  sourceRef: {kind: GitRepository, name: flux-system}
`),
		"infra/kustomization.yaml": []byte("resources: [policy.yaml, crd.yaml]\n"),
		"infra/policy.yaml": []byte(`apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: web, namespace: apps}
spec: {image: ghcr.io/example/web, interval: 5m}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: web, namespace: apps}
spec:
  imageRepositoryRef: {name: web}
  policy: {semver: {range: ">=1.0.0"}}
`),
		"infra/crd.yaml": []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`),
		"apps/kustomization.yaml": []byte("namespace: apps\nresources: [web.yaml, widget.yaml]\n"),
		"apps/web.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ghcr.io/example/web:1.0.0 # {"$imagepolicy": "apps:web"}
`),
		"apps/widget.yaml": []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: small}\nspec: {size: 1}\n"),
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", files)
	for _, tc := range []struct{ file, from, to string }{
		{"apps/web.yaml", "1.0.0", "1.0.1"},
		{"apps/web.yaml", `"apps:web"`, `"apps:nope"`},
		{"apps/widget.yaml", "size: 1", "size: big"},
		{"clusters/prod/apps.yaml", "path: ./apps", "path: ./appz"},
		{"clusters/prod/apps.yaml", "name: infra}", "name: nope}"},
		{"infra/policy.yaml", "name: web, namespace: apps}\nspec:\n  imageRepositoryRef", "name: webb, namespace: apps}\nspec:\n  imageRepositoryRef"},
	} {
		t.Run(tc.file+" "+tc.to, func(t *testing.T) {
			p := filepath.Join(g.Dir, filepath.FromSlash(tc.file))
			orig := files[tc.file]
			edited := strings.Replace(string(orig), tc.from, tc.to, 1)
			if edited == string(orig) {
				t.Fatalf("%q is not in %s", tc.from, tc.file)
			}
			if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(p, orig, 0o644)
			scoped, all := findingsOf(t, g.Dir, tc.file, false), findingsOf(t, g.Dir, tc.file, true)
			if scoped != all {
				t.Errorf("the change's own render finds\n%s\nrendering every root finds\n%s", scoped, all)
			}
		})
	}
}

// TestUnreachedKustomization: a Flux Kustomization written in the
// repository that no cluster's tree applies (left out of its parent's
// list) renders as it is written, without the variables its parent would
// give it: those it leaves unset stay as they are written, not a
// finding, and its objects are checked, their faults warnings, but not
// against another such Kustomization's. The same Kustomization applied
// by the cluster fails strict substitution, an error.
func TestUnreachedKustomization(t *testing.T) {
	web := `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  interval: 1h
  path: ./apps/web
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substitute: {APP: web}
`
	for _, listed := range []bool{false, true} {
		g := gittest.Init(t, t.TempDir())
		// cfg, which applies Flux objects, substitutes from what other
		// roots make: the walk renders web as written, to see if it makes
		// it (its files name it), before knowing that no tree applies web.
		resources := "resources:\n- flux-system/gotk-sync.yaml\n- ../../apps/cfg.yaml\n"
		if listed {
			resources += "- ../../apps/web.yaml\n- ../../apps/api.yaml\n"
		}
		g.CommitFiles(t, "import", map[string][]byte{
			"clusters/prod/kustomization.yaml":         []byte(resources),
			"clusters/prod/flux-system/gotk-sync.yaml": gittest.FluxSync("https://github.com/example/apps", "clusters/prod"),
			"apps/web.yaml":                  []byte(web),
			"apps/web/kustomization.yaml":    []byte("# Its variables come from cluster-vars.\nresources:\n- cm.yaml\n- ../shared\n"),
			"apps/web/cm.yaml":               []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${APP}\n  namespace: default\ndata:\n  domain: ${DOMAIN}\n  port: 8080\n"),
			"apps/api.yaml":                  []byte(strings.NewReplacer("name: web", "name: api", "./apps/web", "./apps/api", "APP: web", "APP: api").Replace(web)),
			"apps/api/kustomization.yaml":    []byte("resources:\n- cm.yaml\n- ../shared\n"),
			"clusters/prod/vars.yaml":        []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\ndata:\n  REGION: eu\n"),
			"apps/cfg.yaml":                  []byte(strings.NewReplacer("name: web", "name: cfg", "./apps/web", "./apps/cfg", "substitute: {APP: web}", "substituteFrom: [{kind: ConfigMap, name: cluster-vars}]").Replace(web)),
			"apps/cfg/kustomization.yaml":    []byte("resources:\n- cm.yaml\n- child.yaml\n"),
			"apps/cfg/child.yaml":            []byte(strings.NewReplacer("name: web", "name: child", "./apps/web", "./apps/child").Replace(web)),
			"apps/child/kustomization.yaml":  []byte("resources:\n- cm.yaml\n"),
			"apps/child/cm.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${APP}-child\n  namespace: default\n"),
			"apps/cfg/cm.yaml":               []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: default\n"),
			"apps/shared/kustomization.yaml": []byte("resources:\n- cm.yaml\n"),
			"apps/shared/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\n"),
			"apps/api/cm.yaml":               []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${APP}\n  namespace: default\ndata:\n  replicas: 3\n"),
			// A kustomize root no cluster builds (applied by hand, or
			// kept for the record).
			"scratch/kustomization.yaml": []byte("resources:\n- cm.yaml\n"),
			"scratch/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scratch\n  namespace: default\ndata:\n  replicas: 3\n"),
		})
		g.Origin(t, "https://github.com/example/apps.git")
		findings := checkScope(t, g.Dir, Scope{Paths: []string{"."}, All: true}).Findings
		var build, schema []string
		for _, x := range findings {
			switch x.Rule {
			case "duplicate-object":
				// Both apply settings, but neither is deployed.
				t.Errorf("listed %v: %s:%d %s", listed, x.File, x.Line, x.Message)
			case "build":
				build = append(build, fmt.Sprintf("%s %s:%d %s", x.Severity, x.File, x.Line, x.Message))
			case "schema":
				schema = append(schema, fmt.Sprintf("%s %s:%d", x.Severity, x.File, x.Line))
			}
		}
		// What is wrong with an object nothing deploys fails nothing yet.
		wantSchema := []string{"warning apps/api/cm.yaml:7", "warning apps/web/cm.yaml:8", "warning scratch/cm.yaml:7"}
		if listed {
			wantSchema = []string{"error apps/api/cm.yaml:7", "warning scratch/cm.yaml:7"}
		}
		if !slices.Equal(schema, wantSchema) {
			t.Errorf("listed %v: schema findings %q, want %q", listed, schema, wantSchema)
		}
		if !listed {
			if len(build) != 0 {
				t.Errorf("listed %v: build findings %q, want none", listed, build)
			}
			continue
		}
		if want := `error apps/web/cm.yaml:7 post build failed`; len(build) != 1 || !strings.HasPrefix(build[0], want) {
			t.Errorf("listed %v: build findings %q, want one starting %q", listed, build, want)
		}
	}
}
