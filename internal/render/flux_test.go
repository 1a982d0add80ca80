package render

import (
	"bytes"
	"errors"
	"maps"
	"path"

	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
)

// fluxRepo is a small repository: an app with a Deployment and a
// ConfigMap, the flux-system GitRepository, and the Kustomization under
// test (spec given as YAML lines indented under spec:).
func fluxRepo(t *testing.T, spec string, extra map[string]string) *gittest.Repo {
	t.Helper()
	files := map[string]string{
		"app/kustomization.yaml": "resources:\n- deploy.yaml\n- config.yaml\n",
		"app/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.0
        env:
        - name: CLUSTER
          value: ${CLUSTER}
        - name: REGION
          value: ${REGION:=eu-west-1}
`,
		"app/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  raw: ${KEEP}\n",
		"clusters/prod/sync.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: https://example.com/fleet.git
`,
		"clusters/prod/app.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n" + spec,
	}
	for k, v := range extra {
		files[k] = v
	}
	g := gittest.Init(t, t.TempDir())
	raw := map[string][]byte{}
	for k, v := range files {
		if target, ok := strings.CutPrefix(v, "symlink:"); ok {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(g.Dir, k)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(g.Dir, k)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		raw[k] = []byte(v)
	}
	g.CommitFiles(t, "init", raw)
	return g
}

// rootResult renders the root at path, at rev.
func rootResult(t *testing.T, g *gittest.Repo, rev, path string) *Result {
	t.Helper()
	r, tree := openTree(t, g.Dir, rev)
	disc, err := Discover(tree, Checkout{})
	if err != nil {
		t.Fatal(err)
	}
	roots, err := disc.Select([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	results, err := New(tree, r.Root, Options{}).Render(context.Background(), disc, roots)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 {
		t.Fatalf("%d roots at %s, want 1", len(results), path)
	}
	compareOrigins(t, path, tree, r.Root, disc, roots)
	return results[0]
}

func TestFluxKustomizationSpec(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  string
		extra map[string]string
		path  string
		check func(t *testing.T, out string)
	}{
		{
			name: "target namespace, prefix and suffix",
			spec: "  path: ./app\n  targetNamespace: shop\n  namePrefix: pre-\n  nameSuffix: -suf\n",
			check: func(t *testing.T, out string) {
				mustContain(t, out, "name: pre-web-suf", "namespace: shop")
			},
		},
		{
			name:  "images merge into the kustomization's own entry",
			spec:  "  path: ./app\n  images:\n  - name: nginx\n    newTag: \"1.27\"\n",
			extra: map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- config.yaml\nimages:\n- name: nginx\n  newName: registry.example.com/nginx\n  newTag: \"1.1\"\n"},
			check: func(t *testing.T, out string) {
				mustContain(t, out, "image: registry.example.com/nginx:1.27")
			},
		},
		{
			name: "patches with a target",
			spec: "  path: ./app\n  patches:\n  - target:\n      kind: Deployment\n    patch: |\n      - op: add\n        path: /spec/replicas\n        value: 3\n",
			check: func(t *testing.T, out string) {
				mustContain(t, out, "replicas: 3")
			},
		},
		{
			name:  "components, a missing one ignored",
			spec:  "  path: ./app\n  components:\n  - ../components/ha\n  - ../components/missing\n  ignoreMissingComponents: true\n",
			extra: map[string]string{"components/ha/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- target:\n    kind: Deployment\n  patch: |\n    - op: add\n      path: /spec/replicas\n      value: 2\n"},
			check: func(t *testing.T, out string) {
				mustContain(t, out, "replicas: 2")
			},
		},
		{
			name: "common metadata and ownership labels",
			spec: "  path: ./app\n  commonMetadata:\n    labels:\n      team: shop\n    annotations:\n      owner: sre\n",
			check: func(t *testing.T, out string) {
				mustContain(t, out, "team: shop", "owner: sre", "kustomize.toolkit.fluxcd.io/name: app", "kustomize.toolkit.fluxcd.io/namespace: flux-system")
			},
		},
		{
			name: "inline substitution, defaults, and a resource opting out",
			spec: "  path: ./app\n  postBuild:\n    substitute:\n      CLUSTER: prod\n      KEEP: changed\n",
			check: func(t *testing.T, out string) {
				mustContain(t, out, "value: prod", "value: eu-west-1", "raw: ${KEEP}")
			},
		},
		{
			name: "substituteFrom a ConfigMap another root renders",
			spec: "  path: ./app\n  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: cluster-vars\n    - kind: Secret\n      name: cluster-secrets\n      optional: true\n",
			extra: map[string]string{
				"clusters/prod/vars/kustomization.yaml": "namespace: flux-system\nconfigMapGenerator:\n- name: cluster-vars\n  literals:\n  - CLUSTER=prod-eu\n  - REGION=eu-central-1\ngeneratorOptions:\n  disableNameSuffixHash: true\n",
			},
			check: func(t *testing.T, out string) {
				mustContain(t, out, "value: prod-eu", "value: eu-central-1")
			},
		},
		{
			name: "a variable from a SOPS-encrypted Secret stays hidden",
			spec: "  path: ./app\n  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: cluster-secrets\n",
			extra: map[string]string{
				"clusters/prod/secrets/kustomization.yaml": "resources:\n- secret.yaml\n",
				"clusters/prod/secrets/secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: flux-system\nstringData:\n  CLUSTER: ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]\nsops:\n  version: 3.9.0\n",
			},
			check: func(t *testing.T, out string) {
				mustContain(t, out, "value: SOPS-ENCRYPTED-CLUSTER")
			},
		},
		{
			name: "substituteFrom a Secret a ClusterExternalSecret makes in namespaces it selects by label",
			spec: "  path: ./app\n  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: cluster-id\n",
			extra: map[string]string{
				"clusters/prod/secrets/kustomization.yaml": "resources:\n- cluster-id.yaml\n",
				"clusters/prod/secrets/cluster-id.yaml":    "apiVersion: external-secrets.io/v1\nkind: ClusterExternalSecret\nmetadata:\n  name: cluster-id\nspec:\n  namespaceSelectors:\n  - matchLabels: {cluster-id: wanted}\n  externalSecretSpec:\n    secretStoreRef: {kind: ClusterSecretStore, name: vault}\n    target:\n      template:\n        data: {CLUSTER: \"{{ .id }}\"}\n    dataFrom:\n    - extract: {key: cluster}\n",
			},
			check: func(t *testing.T, out string) {
				mustContain(t, out, "value: ${CLUSTER}", "value: eu-west-1")
			},
		},
		{
			name: "objects named after two SOPS-encrypted values stay two objects",
			spec: "  path: ./twins\n  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: cluster-secrets\n",
			path: "twins",
			extra: map[string]string{
				"clusters/prod/secrets/kustomization.yaml": "resources:\n- secret.yaml\n",
				"clusters/prod/secrets/secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: flux-system\nstringData:\n  DOMAIN: ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]\n  WORK_DOMAIN: ENC[AES256_GCM,data:def=,iv:x,tag:y,type:str]\nsops:\n  version: 3.9.0\n",
				"twins/kustomization.yaml":                 "resources:\n- certificates.yaml\n",
				"twins/certificates.yaml":                  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${DOMAIN/./-}-wildcard\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${WORK_DOMAIN/./-}-wildcard\n",
			},
			check: func(t *testing.T, out string) {
				mustContain(t, out, "name: SOPS-ENCRYPTED-DOMAIN-wildcard", "name: SOPS-ENCRYPTED-WORK_DOMAIN-wildcard")
			},
		},
		{
			name: "a path without a kustomization file lists its manifests, as Flux does",
			spec: "  path: ./plain\n",
			path: "plain",
			extra: map[string]string{
				"plain/a.yaml":                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
				"plain/notes.txt":                 "not a manifest\n",
				"plain/skipped.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: skipped\n",
				"plain/nested/kustomization.yaml": "resources:\n- b.yaml\n",
				"plain/nested/b.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
				"plain/nested/c.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: not-listed-by-nested\n",
				".sourceignore":                   "skipped.yaml\n",
			},
			check: func(t *testing.T, out string) {
				mustContain(t, out, "name: a\n", "name: b\n")
				mustNotContain(t, out, "skipped", "not-listed-by-nested")
			},
		},
		{
			name: "without an ignore pattern of the repository's own, source-controller's defaults leave CI files out",
			spec: "  path: ./plain\n",
			path: "plain",
			extra: map[string]string{
				"plain/a.yaml":                   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
				"plain/.github/workflows/ci.yml": "on: push\n",
			},
			check: func(t *testing.T, out string) {
				mustContain(t, out, "name: a\n")
				mustNotContain(t, out, "on: push")
			},
		},
		{
			// source-controller applies its defaults (images, archives, CI
			// files) only to a source that gives no ignore pattern.
			name: "a .sourceignore of the repository's own replaces source-controller's defaults",
			spec: "  path: ./icons\n",
			path: "icons",
			extra: map[string]string{
				"icons/kustomization.yaml": "configMapGenerator:\n- name: icons\n  files:\n  - logo.png\n  - .github/notes.yml\n",
				"icons/logo.png":           "PNG",
				"icons/.github/notes.yml":  "kept",
				".sourceignore":            "docs/\n",
			},
			check: func(t *testing.T, out string) {
				mustContain(t, out, "logo.png: PNG", "notes.yml: kept")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := fluxRepo(t, tc.spec, tc.extra)
			path := tc.path
			if path == "" {
				path = "app"
			}
			res := rootResult(t, g, "HEAD", path)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			tc.check(t, string(output(t, res)))
		})
	}
}

func mustContain(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func mustNotContain(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(out, s) {
			t.Errorf("output has %q:\n%s", s, out)
		}
	}
}

// TestBuildErrors: bad input is an error naming the file and line to edit
// and what is wrong, never a crash.
func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  string // the Flux Kustomization's spec; empty for plain roots
		files map[string]string
		root  string
		want  string
	}{
		{
			name:  "missing base, with the likely name",
			files: map[string]string{"base/kustomization.yaml": "resources: []\n", "overlays/dev/kustomization.yaml": "resources:\n- ../../bse\n"},
			root:  "overlays/dev",
			want:  `overlays/dev/kustomization.yaml:2: resource "../../bse" not found (did you mean "../../base"?)`,
		},
		{
			name:  "cycle",
			files: map[string]string{"a/kustomization.yaml": "resources:\n- ../b\n", "b/kustomization.yaml": "resources:\n- ../a\n"},
			root:  "a",
			want:  `b/kustomization.yaml:2: cycle: ../a refers back to a (a -> b -> a)`,
		},
		{
			name:  "malformed kustomization",
			files: map[string]string{"a/kustomization.yaml": "resources:\n- x.yaml\n  bad: [\n"},
			root:  "a",
			want:  `a/kustomization.yaml:3: malformed YAML`,
		},
		{
			name:  "unknown field",
			files: map[string]string{"a/kustomization.yaml": "resource:\n- x.yaml\n"},
			root:  "a",
			want:  `a/kustomization.yaml:1:1: unknown field "resource" (did you mean "resources"?) in kustomization file`,
		},
		{
			name:  "unknown nested field",
			files: map[string]string{"a/kustomization.yaml": "images:\n- name: x\n  newTagg: v1\n"},
			root:  "a",
			want:  `a/kustomization.yaml:3:3: unknown field "newTagg" (did you mean "newTag"?) in kustomization file`,
		},
		{
			name:  "remote base refused",
			files: map[string]string{"a/kustomization.yaml": "resources:\n- ./local.yaml\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0\n", "a/local.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"},
			root:  "a",
			want:  `a/kustomization.yaml:3: remote reference "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0" refused`,
		},
		{
			name:  "symlink out of the repository",
			files: map[string]string{"a/kustomization.yaml": "resources:\n- passwd.yaml\n", "a/passwd.yaml": "symlink:/etc/passwd"},
			root:  "a",
			want:  `leaves the repository`,
		},
		{
			name:  "plain root reading a file outside its directory",
			files: map[string]string{"a/kustomization.yaml": "configMapGenerator:\n- name: x\n  envs:\n  - ../shared.env\n", "shared.env": "A=1\n"},
			root:  "a",
			want:  `a/kustomization.yaml:4: "../shared.env" is outside a: kustomize build reads files only from inside the kustomization's directory`,
		},
		{
			name:  "malformed resource file",
			files: map[string]string{"a/kustomization.yaml": "resources:\n- cm.yaml\n", "a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n---\nmetadata:\n  name: [x\n"},
			root:  "a",
			want:  `a/cm.yaml:5: malformed YAML: did not find expected ',' or ']'`,
		},
		{
			name:  "directory without a kustomization",
			files: map[string]string{"a/kustomization.yaml": "resources:\n- ../b\n", "b/x.yaml": "a: 1\n"},
			root:  "a",
			want:  `a/kustomization.yaml:2: "../b": directory b has no kustomization file`,
		},
		{
			name: "Flux path that does not exist",
			spec: "  path: ./nope\n",
			root: "nope",
			want: `clusters/prod/app.yaml:12: Kustomization flux-system/app: spec.path "./nope" is not a directory of this repository`,
		},
		{
			name:  "Flux path of a folder kept to be a repository of its own",
			spec:  "  path: ./nope\n",
			files: map[string]string{"clusters/nope/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"},
			root:  "nope",
			want:  `clusters/prod/app.yaml:12: Kustomization flux-system/app: spec.path "./nope" is not a directory of this repository; clusters/nope is: if clusters is the root of the repository its source fetches (a folder copied into a repository of its own), pass --root clusters`,
		},
		{
			name:  "Flux path its source's ignore rules leave out",
			spec:  "  path: ./app\n",
			files: map[string]string{".sourceignore": "/app/\n"},
			root:  "app",
			want:  `clusters/prod/app.yaml:12: Kustomization flux-system/app: spec.path "./app" is not in the artifact of its source GitRepository flux-system/flux-system: its ignore rules leave it out`,
		},
		{
			name: "Flux component that is remote",
			spec: "  path: ./app\n  components:\n  - github.com/org/repo//c\n",
			root: "app",
			want: `clusters/prod/app.yaml:1: Kustomization flux-system/app: component path "github.com/org/repo//c" must be local and relative`,
		},
		{
			name: "Flux substitution of an unset variable",
			spec: "  path: ./app\n  postBuild:\n    substitute:\n      REGION: x\n",
			root: "app",
			want: `variable not set (strict mode): "CLUSTER"`,
		},
		{
			name:  "Flux build of a file its source's artifact leaves out",
			spec:  "  path: ./icons\n",
			files: map[string]string{"icons/kustomization.yaml": "configMapGenerator:\n- name: icons\n  files:\n  - logo.png\n", "icons/logo.png": "\x89PNG\n"},
			root:  "icons",
			want:  `logo.png: not in the Flux source's artifact: its ignore rules leave it out (without a .sourceignore or spec.ignore of its own, source-controller leaves out images and archives`,
		},
		{
			name:  "Flux build of an image beside a .sourceignore of comments only, which gives no pattern",
			spec:  "  path: ./icons\n",
			files: map[string]string{"icons/kustomization.yaml": "configMapGenerator:\n- name: icons\n  files:\n  - logo.png\n", "icons/logo.png": "\x89PNG\n", ".sourceignore": "# nothing to leave out\n\n"},
			root:  "icons",
			want:  `logo.png: not in the Flux source's artifact`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g *gittest.Repo
			if tc.spec != "" {
				g = fluxRepo(t, tc.spec, tc.files)
			} else {
				g = gittest.Init(t, t.TempDir())
				raw := map[string][]byte{}
				for k, v := range tc.files {
					if target, ok := strings.CutPrefix(v, "symlink:"); ok {
						p := filepath.Join(g.Dir, k)
						if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.Symlink(target, p); err != nil {
							t.Fatal(err)
						}
						continue
					}
					raw[k] = []byte(v)
				}
				g.CommitFiles(t, "init", raw)
			}
			for _, rev := range []string{"", "HEAD"} {
				res := rootResult(t, g, rev, tc.root)
				if res.Err == nil {
					t.Fatalf("rendered without error:\n%s", output(t, res))
				}
				if _, ok := diag.As(res.Err); !ok {
					t.Errorf("error is not located: %v", res.Err)
				}
				if !strings.Contains(res.Err.Error(), tc.want) {
					t.Errorf("error = %q\nwant it to contain %q", res.Err, tc.want)
				}
			}
		})
	}
}

// TestSubstituteFromTheCluster: a Kustomization substitutes from a
// ConfigMap no root renders, and no root that fails to render may make:
// it is the cluster's (made by hand, or at bootstrap), so the root renders
// with the variables it would give left as written, and names it. An
// optional one the repository lacks is left out, as Flux leaves it out
// when the cluster lacks it too, and not named.
func TestSubstituteFromTheCluster(t *testing.T) {
	for _, tc := range []struct {
		name, refs string
		outside    []string
		want       string
	}{
		{"required", "    - kind: ConfigMap\n      name: vars\n", []string{"ConfigMap/flux-system/vars"}, "value: ${CLUSTER}"},
		{"required and optional", "    - kind: Secret\n      name: extra\n      optional: true\n    - kind: ConfigMap\n      name: vars\n", []string{"ConfigMap/flux-system/vars"}, "value: ${CLUSTER}"},
		// No variables at all: Flux substitutes nothing.
		{"optional", "    - kind: ConfigMap\n      name: vars\n      optional: true\n", nil, "value: ${CLUSTER}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := fluxRepo(t, "  path: ./app\n  postBuild:\n    substituteFrom:\n"+tc.refs, nil)
			res := rootResult(t, g, "", "app")
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if !slices.Equal(res.Outside, tc.outside) {
				t.Errorf("outside = %q, want %q", res.Outside, tc.outside)
			}
			if out := string(output(t, res)); !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestVariablePath checks a Kustomization whose spec.path holds a variable:
// left out, and said why, when a Kustomization with post-build
// substitution applies the file it is written in; taken as written, and
// failing to build, when none does.
func TestVariablePath(t *testing.T) {
	parent := func(path, postBuild string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cluster\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: " + path +
			"\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n" + postBuild
	}
	for _, tt := range []struct {
		name    string
		parent  string
		skipped string // the parent named in the reason; "" when the root is kept
	}{
		{"substituted by the parent", parent("./clusters/prod", "  postBuild:\n    substitute:\n      ENV: app\n"), "flux-system/cluster"},
		{"substituted from a ConfigMap", parent("./clusters", "  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: vars\n"), "flux-system/cluster"},
		{"parent without substitution", parent("./clusters/prod", ""), ""},
		{"substituting Kustomization elsewhere", parent("./app", "  postBuild:\n    substitute:\n      ENV: app\n"), ""},
		{"no parent", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			extra := map[string]string{}
			if tt.parent != "" {
				extra["clusters/prod/cluster.yaml"] = tt.parent
			}
			g := fluxRepo(t, "  path: ./${ENV}\n", extra)
			_, tree := openTree(t, g.Dir, "")
			disc, err := Discover(tree, Checkout{})
			if err != nil {
				t.Fatal(err)
			}
			var root *Root
			for i, r := range disc.Roots {
				if r.KustomizationID() == "flux-system/app" {
					root = &disc.Roots[i]
				}
			}
			var skip *Skipped
			for i, s := range disc.Skipped {
				if s.Kustomization.ID() == "flux-system/app" {
					skip = &disc.Skipped[i]
				}
			}
			if tt.skipped == "" {
				if root == nil || skip != nil {
					t.Fatalf("root %v, skipped %v: want the root kept as written", root, skip)
				}
				if root.Path != "${ENV}" {
					t.Errorf("root path %q", root.Path)
				}
				return
			}
			if root != nil || skip == nil {
				t.Fatalf("root %v, skipped %v: want it left out", root, skip)
			}
			if !skip.Unsupported || !strings.Contains(skip.Reason, `spec.path "./${ENV}"`) || !strings.Contains(skip.Reason, "Kustomization "+tt.skipped+" substitutes") {
				t.Errorf("skipped: %+v", skip)
			}
			for _, tc := range []struct {
				dirs []string
				want int
			}{{[]string{"."}, 1}, {[]string{"clusters"}, 1}, {[]string{"clusters/prod/app.yaml"}, 1}, {[]string{"app", "clusters/dev"}, 0}} {
				if got := disc.Unsupported(tc.dirs); len(got) != tc.want {
					t.Errorf("Unsupported(%q): %d Kustomizations, want %d", tc.dirs, len(got), tc.want)
				}
			}
		})
	}
}

// TestGeneratedKustomizationDecodeError builds a directory without a
// kustomization file, one of whose YAML files is not Kubernetes objects:
// the error is kustomize-controller's generator's, at that file, though
// the generator no longer decodes every file before kustomize does.
func TestGeneratedKustomizationDecodeError(t *testing.T) {
	g := fluxRepo(t, "  path: ./plain\n", map[string]string{
		"plain/ok.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
		"plain/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [not, a, map]\n",
	})
	res := rootResult(t, g, "", "plain")
	if res.Err == nil {
		t.Fatal("a file that is not Kubernetes objects built")
	}
	d, ok := diag.As(res.Err)
	if !ok || d.File != "plain/bad.yaml" || !strings.Contains(d.Msg, "failed to decode Kubernetes YAML") {
		t.Errorf("error = %v, want kustomize-controller's decode error at plain/bad.yaml", res.Err)
	}
}

// TestGeneratedKustomizationNestedError builds a directory without a
// kustomization file whose sub-directory's kustomization names a file that
// is not there: the error is kustomize's, at that kustomization, and not
// the generated kustomization file read back as an object.
func TestGeneratedKustomizationNestedError(t *testing.T) {
	g := fluxRepo(t, "  path: ./apps\n", map[string]string{
		"apps/web/kustomization.yaml": "resources:\n- cm.yaml\n- ./missing/ks.yaml\n",
		"apps/web/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
	})
	res := rootResult(t, g, "", "apps")
	d, ok := diag.As(res.Err)
	if !ok || d.File != "apps/web/kustomization.yaml" || d.Line != 3 || !strings.Contains(d.Msg, "missing/ks.yaml") {
		t.Errorf("error = %v, want kustomize's at apps/web/kustomization.yaml:3", res.Err)
	}
}

// TestSelfSubstitutionBuildError: a Kustomization substituting from a
// ConfigMap it applies itself, whose build fails (a remote resource
// refused), fails for that reason, not for a ConfigMap nothing renders.
func TestSelfSubstitutionBuildError(t *testing.T) {
	g := fluxRepo(t, "  path: ./app\n  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: vars\n", map[string]string{
		"app/kustomization.yaml": "resources:\n- deploy.yaml\n- vars.yaml\n- https://example.com/crds.yaml\n",
		"app/vars.yaml":          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n  namespace: flux-system\ndata:\n  CLUSTER: prod\n",
	})
	res := rootResult(t, g, "", "app")
	if !errors.Is(res.Err, kfs.ErrRemoteRefused) {
		t.Errorf("error = %v, want the refused remote resource", res.Err)
	}
}

// TestFluxBuildsPlainRoot: an overlay under the path of a Flux
// Kustomization of the repository, even one not rendered (its source is
// defined by an install script), is built as kustomize-controller builds
// it, reading a file outside its directory; one no Flux Kustomization
// covers keeps kustomize's own restriction.
func TestFluxBuildsPlainRoot(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	ks := "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: home\n  namespace: kube-system\nspec:\n  interval: 10m\n  path: ./clusters/home\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: infrastructure\n"
	overlay := []byte("resources:\n- ../../../apps/budget.yaml\n")
	g.CommitFiles(t, "import", map[string][]byte{
		"clusters/home/cluster.yaml":            []byte(ks),
		"clusters/home/apps/kustomization.yaml": overlay,
		"plain/x/apps/kustomization.yaml":       overlay,
		"apps/budget.yaml":                      []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: budget\n"),
	})
	if res := rootResult(t, g, "", "clusters/home/apps"); res.Err != nil {
		t.Errorf("the overlay Flux builds: %v", res.Err)
	}
	if res := rootResult(t, g, "", "plain/x/apps"); res.Err == nil || !strings.Contains(res.Err.Error(), "is outside") {
		t.Errorf("the plain overlay: %v, want kustomize's load restriction", res.Err)
	}
}

// TestSubstituteFromBootstrap: a Kustomization substitutes from a
// ConfigMap and a Secret no root renders but the repository writes, for a
// bootstrap script to apply (one as a manifest no Kustomization applies,
// one as a template `op inject` or makejinja fills): the ConfigMap's
// values are substituted, the Secret's are the cluster's (its variable is
// left for it, as for a Secret an ExternalSecret makes), and neither is an
// error.
func TestSubstituteFromBootstrap(t *testing.T) {
	for template, value := range map[string]string{
		"bootstrap/secrets.yaml.tpl":    "op://vault/tunnel/region",
		"bootstrap/resources.yaml.j2":   `"{{ cloudflare.region }}"`,
		"bootstrap/resources.yml.jinja": `"{{ cloudflare.region }}"`,
	} {
		t.Run(path.Base(template), func(t *testing.T) {
			g := fluxRepo(t, "  path: ./app\n  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: settings\n    - kind: Secret\n      name: tunnel\n", map[string]string{
				"bootstrap/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: flux-system\ndata:\n  CLUSTER: prod\n",
				template:                  "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tunnel\n  namespace: flux-system\nstringData:\n  REGION: " + value + "\n",
			})
			res := rootResult(t, g, "", "app")
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			out, err := res.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(out, []byte("value: prod")) || !bytes.Contains(out, []byte("value: ${REGION}")) {
				t.Errorf("render:\n%s", out)
			}
		})
	}
}

// TestSubstituteFromAFailedRoot: the Secret a Kustomization substitutes
// from is made by an ExternalSecret of a root that reads a remote
// resource, which a render refuses. Its failure is the Kustomization's:
// the error names that root and is a refused remote read, not a Secret
// defined nowhere.
func TestSubstituteFromAFailedRoot(t *testing.T) {
	g := fluxRepo(t, "  path: ./app\n  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: vars\n", map[string]string{
		"operator/kustomization.yaml": "resources:\n- https://example.com/crds.yaml\n- vars.yaml\n",
		"operator/vars.yaml":          "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: vars, namespace: flux-system}\nspec:\n  dataFrom:\n  - extract: {key: vars}\n",
	})
	res := rootResult(t, g, "", "app")
	want := "clusters/prod/app.yaml:1: Kustomization flux-system/app: postBuild.substituteFrom: Secret flux-system/vars is not known: operator, which may make it, does not render"
	if res.Err == nil || res.Err.Error() != want || !errors.Is(res.Err, kfs.ErrRemoteRefused) {
		t.Errorf("error %v, want %q, a refused remote read", res.Err, want)
	}
}

// TestSubstituteFromNearest: two folders no cluster reaches each write a
// ConfigMap flux-system/cluster-settings and a Kustomization substituting
// from it. Each app takes the settings written nearest it, run after run;
// the first folder's were taken for both.
func TestSubstituteFromNearest(t *testing.T) {
	files := map[string][]byte{
		"flux/sync.yaml": []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec:\n  interval: 1m\n  url: https://example.com/fleet.git\n"),
	}
	for _, team := range []string{"team-a", "team-b"} {
		files[team+"/settings/kustomization.yaml"] = []byte("resources: [settings.yaml]\n")
		files[team+"/settings/settings.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster-settings, namespace: flux-system}\ndata:\n  TEAM: " + team + "\n")
		files[team+"/ks.yaml"] = []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: " + team + ", namespace: flux-system}\nspec:\n  interval: 10m\n  prune: true\n  path: ./" + team + "/app\n" +
			"  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: cluster-settings\n")
		files[team+"/app/kustomization.yaml"] = []byte("resources: [web.yaml]\n")
		files[team+"/app/web.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata:\n  team: ${TEAM}\n")
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", files)
	for run := range 3 {
		_, results := renderTree(t, g.Dir)
		got := map[string]string{}
		for _, res := range results {
			if team, ok := strings.CutSuffix(res.Root.Path, "/app"); ok {
				_, rest, _ := strings.Cut(string(output(t, res)), "  team: ")
				got[team], _, _ = strings.Cut(rest, "\n")
			}
		}
		if want := map[string]string{"team-a": "team-a", "team-b": "team-b"}; !maps.Equal(got, want) {
			t.Errorf("run %d: the apps substitute %v, want %v", run, got, want)
		}
	}
}

// TestSubstitutionWebhook: a repository that deploys xunholy's
// kustomize-mutating-webhook (rwlove/home-ops) has the cluster add
// variables to every Kustomization as it is admitted: a variable no
// manifest sets stays as it is written, where it would fail strict
// substitution without the webhook.
func TestSubstitutionWebhook(t *testing.T) {
	spec := "  path: ./app\n  postBuild:\n    substitute:\n      KEEP: kept\n"
	webhook := map[string]string{"clusters/prod/webhook.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: kustomize-mutating-webhook\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: oci://ghcr.io/xunholy/charts/kustomize-mutating-webhook\n  ref:\n    tag: 0.12.0\n"}
	res := rootResult(t, fluxRepo(t, spec, nil), "HEAD", "app")
	if res.Err == nil || !strings.Contains(res.Err.Error(), `variable not set (strict mode): "CLUSTER"`) {
		t.Errorf("without the webhook: %v, want CLUSTER unset in strict mode", res.Err)
	}
	res = rootResult(t, fluxRepo(t, spec, webhook), "HEAD", "app")
	if res.Err != nil {
		t.Fatalf("with the webhook: %v", res.Err)
	}
	mustContain(t, string(output(t, res)), "value: ${CLUSTER}\n")
}

// TestErrorInWrittenKustomization: Flux's generator writes a
// Kustomization's kustomization file back with its own fields (here the
// targetNamespace), in its own order; an error in it is located at the
// line of the file as written, and one in what only the generator wrote
// (a component of spec.components that is not there) at the Flux
// Kustomization.
func TestErrorInWrittenKustomization(t *testing.T) {
	for _, tc := range []struct {
		name, spec, kust string
		file             string
		line             int
	}{
		{"a resource not found", "  path: ./app\n  targetNamespace: shop\n", "# the app\n\nresources:\n  - deploy.yaml\n  - \"missing.yaml\" # gone\n", "app/kustomization.yaml", 5},
		{"a resource not found, in flow style", "  path: ./app\n  targetNamespace: shop\n", "resources: [deploy.yaml, missing.yaml]\n", "app/kustomization.yaml", 1},
		{"a component not found", "  path: ./app\n  targetNamespace: shop\n  components:\n  - ../components/missing\n", "resources:\n- deploy.yaml\n", "clusters/prod/app.yaml", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := rootResult(t, fluxRepo(t, tc.spec, map[string]string{"app/kustomization.yaml": tc.kust}), "HEAD", "app")
			d, ok := diag.As(res.Err)
			if !ok || d.File != tc.file || d.Line != tc.line {
				t.Errorf("error %v, want it at %s:%d", res.Err, tc.file, tc.line)
			}
		})
	}
}
