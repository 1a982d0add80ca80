package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// repoFiles builds a repository from files; a value "symlink:T" makes a
// symlink to T.
func repoFiles(t testing.TB, files map[string]string) *gittest.Repo {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	raw := map[string][]byte{}
	for k, v := range files {
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
	return g
}

// check renders every root of dir and validates it.
func check(t testing.TB, dir string, opts Options) *Report {
	t.Helper()
	r, err := repo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.Tree("")
	if err != nil {
		t.Fatal(err)
	}
	e := render.New(tree, r.Root, render.Options{Origins: true})
	disc, err := e.Discover(context.Background(), render.Checkout{})
	if err != nil {
		t.Fatal(err)
	}
	results, err := e.Render(context.Background(), disc, disc.Roots)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(tree)
	if err != nil {
		t.Fatal(err)
	}
	opts.Config = cfg
	report, err := Run(context.Background(), Input{Tree: tree, Repository: disc, Results: results}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// want is a finding a case expects: its rule, where, and a part of its
// message.
type want struct {
	rule     string
	file     string
	line     int
	severity Severity
	message  string // found in the finding's; "...$" ends it
}

func (w want) matches(f Finding) bool {
	sev := w.severity
	if sev == "" {
		sev = Error
	}
	msg := strings.Contains(f.Message, w.message)
	if whole, ok := strings.CutSuffix(w.message, "$"); ok {
		msg = strings.HasSuffix(f.Message, whole) // the message ends there
	}
	return f.Rule == w.rule && f.File == w.file && (w.line == 0 || f.Line == w.line) && f.Severity == sev && msg
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
`

// fluxSync is the flux-system GitRepository, so Kustomizations whose source
// it is are this repository's roots.
const fluxSync = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: https://example.com/fleet.git
`

const imageRepository = `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: web
  namespace: shop
spec:
  image: registry.example.com/web
  interval: 5m
`

const imagePolicy = `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: web
  namespace: shop
spec:
  imageRepositoryRef:
    name: web
  policy:
    semver:
      range: 1.x
---
` + imageRepository

func ks(name, path string, extra string) string {
	return `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ` + name + `
  namespace: flux-system
spec:
  interval: 10m
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ` + path + "\n" + extra
}

// TestBadInputs: each bad input gives its finding, at its place, and never
// a crash.
func TestBadInputs(t *testing.T) {
	app := map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n", "app/deploy.yaml": deployment}
	with := func(base map[string]string, more map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	// clusterVars is the app applied by a Kustomization web that
	// substitutes from cluster-vars, a Secret an ExternalSecret of the
	// given spec (after its secretStoreRef) makes in the cluster; deploy is
	// app/deploy.yaml.
	clusterVars := func(spec, deploy string) map[string]string {
		return with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
			"clusters/prod/cluster.yaml": ks("cluster", "./clusters/prod", ""),
			"clusters/prod/vars.yaml": "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\nspec:\n" +
				"  secretStoreRef: {kind: ClusterSecretStore, name: vault}\n" + spec,
			"clusters/prod/web.yaml": ks("web", "./app", "  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: cluster-vars\n"),
			"app/deploy.yaml":        deploy})
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []want
	}{
		{
			name:  "malformed YAML",
			files: with(app, map[string]string{"app/deploy.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n"}),
			want: []want{
				{rule: "syntax", file: "app/deploy.yaml", line: 4, message: "malformed YAML: did not find expected ',' or ']'"},
				{rule: "build", file: "app/deploy.yaml", line: 4, message: "malformed YAML"},
			},
		},
		{
			// deedee-ops/home-ops: an operator makes the Secret from a
			// custom resource; the repository cannot know its keys.
			name: "a variable an optional Secret no root makes may set",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/web.yaml": ks("web", "./app", "  postBuild:\n    substitute:\n      APP: web\n    substituteFrom:\n    - kind: Secret\n      name: web-oidc\n      optional: true\n"),
				"app/deploy.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  client: ${OAUTH_CLIENT_ID}\n"}),
			want: []want{{rule: "build", file: "app/deploy.yaml", line: 6, severity: Warning,
				message: `; it may come from Secret flux-system/web-oidc, optional in substituteFrom, which no root of this repository makes: one made in the cluster would set it$`}},
		},
		{
			name: "a variable an optional ConfigMap of the repository does not set",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/web.yaml": ks("web", "./app", "  postBuild:\n    substitute:\n      APP: web\n    substituteFrom:\n    - kind: ConfigMap\n      name: web-oidc\n      optional: true\n"),
				"app/kustomization.yaml": "resources:\n- deploy.yaml\n- secret.yaml\n",
				"app/secret.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-oidc\n  namespace: flux-system\ndata:\n  OTHER: x\n",
				"app/deploy.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  client: ${OAUTH_CLIENT_ID}\n"}),
			want: []want{{rule: "build", file: "app/deploy.yaml", line: 6, message: `variable not set (strict mode): "OAUTH_CLIENT_ID"`}},
		},
		{
			// GizmoTickler/home-ops: a CLI's bootstrap templates.
			name:  "a template of another tool that no root reads",
			files: with(app, map[string]string{"cli/templates/node.yaml": "machine:\n  certSANs:\n    - 127.0.0.1\n{{ ENV.EXTRA_SANS }}\n  features: {}\n"}),
			want: []want{{rule: "syntax", file: "cli/templates/node.yaml", line: 4, severity: Warning,
				message: "malformed YAML: could not find expected ':' (a template of another tool: it holds {{ }} and nothing Flux builds reads it)"}},
		},
		{
			name:  "malformed YAML no root reads, without template markers",
			files: with(app, map[string]string{"cli/node.yaml": "machine:\n  certSANs:\n    - 127.0.0.1\nEXTRA\n  features: {}\n"}),
			want:  []want{{rule: "syntax", file: "cli/node.yaml", line: 4, message: "malformed YAML: could not find expected ':'"}},
		},
		{
			name:  "a template a kustomization lists",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- node.yaml\n", "app/node.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n\ndata:\n{{ ENV.DATA }}\n  a: b\n"}),
			want: []want{
				{rule: "syntax", file: "app/node.yaml", line: 6, message: "malformed YAML: could not find expected ':'"},
				{rule: "build", file: "app/node.yaml", line: 6, message: "malformed YAML"},
			},
		},
		{
			name:  "duplicate key",
			files: with(app, map[string]string{"app/deploy.yaml": strings.Replace(deployment, "  name: web\n", "  name: web\n  name: api\n", 1)}),
			want: []want{
				{rule: "syntax", file: "app/deploy.yaml", line: 5, message: `duplicate key "name" (first at line 4): only the last value is kept`},
				{rule: "build", file: "app/deploy.yaml", line: 5, message: `mapping key "name" already defined at line 4`},
			},
		},
		{
			name:  "tab indentation",
			files: with(app, map[string]string{"app/deploy.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n"}),
			want: []want{
				{rule: "syntax", file: "app/deploy.yaml", line: 4, message: "a tab character indents this line; YAML indents with spaces"},
				{rule: "build", file: "app/deploy.yaml", line: 4, message: "a tab character indents this line"},
			},
		},
		{
			name:  "UTF-16",
			files: with(app, map[string]string{"extra.yaml": "\xff\xfea\x00:\x00 \x001\x00"}),
			want:  []want{{rule: "syntax", file: "extra.yaml", line: 1, severity: Warning, message: "file is UTF-16: kustomize and Flux read it"}},
		},
		{
			name:  "invalid UTF-8",
			files: with(app, map[string]string{"extra.yaml": "a: 1\nb: \xc3\x28\n"}),
			want:  []want{{rule: "syntax", file: "extra.yaml", line: 2, message: "not valid UTF-8"}},
		},
		{
			name:  "binary file",
			files: with(app, map[string]string{"image.yaml": "\x89PNG\r\n\x1a\n\x00\x00"}),
			want:  []want{{rule: "syntax", file: "image.yaml", line: 1, message: "binary content"}},
		},
		{
			name:  "huge file",
			files: with(app, map[string]string{"huge.yaml": "a: " + strings.Repeat("x", maxFileSize) + "\n"}),
			want:  []want{{rule: "syntax", file: "huge.yaml", severity: Warning, message: "too large to check"}},
		},
		{
			name:  "resource that is not an object",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- values.yaml\n", "app/values.yaml": "replicas: 3\n"}),
			want: []want{
				{rule: "syntax", file: "app/values.yaml", line: 1, message: "not a Kubernetes object: no apiVersion, kind, metadata.name"},
				{rule: "build", file: "app/values.yaml", line: 1, message: "not a Kubernetes object"},
			},
		},
		{
			// An app taken out of its cluster's list, its kustomization
			// broken (sulibot/home-ops): nothing builds it, as its build
			// warning says.
			name: "resource that is not an object, in a folder no cluster builds",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync + "---\n" + ks("flux-system", "./clusters/prod", ""), "clusters/prod/apps.yaml": ks("apps", "./apps", ""),
				"apps/kustomization.yaml":     "resources:\n- ../app\n",
				"apps/old/kustomization.yaml": "resources:\n- values.yaml\n", "apps/old/values.yaml": "replicas: 3\n"}),
			want: []want{
				{rule: "syntax", file: "apps/old/values.yaml", line: 1, severity: Warning, message: "not a Kubernetes object: no apiVersion, kind, metadata.name (only kustomizations no cluster's tree builds list it)"},
				{rule: "build", file: "apps/old/values.yaml", line: 1, severity: Warning, message: "apps/old, which no cluster's tree builds: not a Kubernetes object"},
			},
		},
		{
			// wahooli/gitops-repo renames a shared Kustomization per
			// cluster with a patch file that holds its new name only.
			name: "a patch renaming a Flux Kustomization",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n- ../../shared\npatches:\n- path: rename.yaml\n  target:\n    kind: Kustomization\n    name: base-app\n  options:\n    allowNameChange: true\n",
				"clusters/prod/rename.yaml":        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n",
				"shared/kustomization.yaml":        "resources:\n- app.yaml\n",
				"shared/app.yaml":                  ks("base-app", "./app", "")}),
		},
		{
			name: "a Flux Kustomization without a spec, applied",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n- app.yaml\n",
				"clusters/prod/app.yaml":           "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n"}),
			want: []want{{rule: "build", file: "clusters/prod/app.yaml", line: 1, message: "Kustomization flux-system/app has no spec$"}},
		},
		{
			// An Argo CD repository (dc-tec/k8s-gitops): Argo builds it
			// with --enable-helm, no Flux Kustomization builds it.
			name:  "helmCharts in a folder no Flux Kustomization builds",
			files: map[string]string{"infra/kustomization.yaml": "helmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n  version: 6.7.0\n"},
			want: []want{{rule: "build", file: "infra/kustomization.yaml", line: 1, severity: Warning,
				message: "helmCharts: inflating Helm charts needs `kustomize build --enable-helm`, which kubectl gitops never runs (nor does Flux's kustomize-controller): deploy the chart with a Flux HelmRelease, or render it into the repository; no Flux Kustomization builds this folder, so it is not rendered nor checked$"}},
		},
		{
			name: "helmCharts in a folder a Flux Kustomization builds",
			files: map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/infra.yaml": ks("infra", "./infra", ""),
				"infra/kustomization.yaml": "helmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n  version: 6.7.0\n"},
			want: []want{{rule: "build", file: "infra/kustomization.yaml", line: 1, message: "helmCharts: Flux's kustomize-controller does not inflate Helm charts"}},
		},
		{
			name:  "missing base",
			files: map[string]string{"base/kustomization.yaml": "resources: []\n", "dev/kustomization.yaml": "resources:\n- ../bsae\n"},
			want:  []want{{rule: "build", file: "dev/kustomization.yaml", line: 2, message: `resource "../bsae" not found (did you mean "../base"?)`}},
		},
		{
			name:  "cycle",
			files: map[string]string{"a/kustomization.yaml": "resources:\n- ../b\n", "b/kustomization.yaml": "resources:\n- ../a\n", "c/kustomization.yaml": "resources:\n- ../a\n"},
			want:  []want{{rule: "build", file: "b/kustomization.yaml", line: 2, message: "cycle"}},
		},
		{
			name:  "symlink out of the repository",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- passwd.yaml\n", "app/passwd.yaml": "symlink:/etc/passwd"}),
			want:  []want{{rule: "build", file: "app/kustomization.yaml", line: 3, message: `resources entry "passwd.yaml" leaves the repository`}},
		},
		{
			name: "remote base of a folder a Flux Kustomization builds",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/apps.yaml": ks("apps", "./apps", ""),
				"apps/kustomization.yaml":         "resources:\n- ./kyverno\n",
				"apps/kyverno/kustomization.yaml": "resources:\n  # a comment\n  - github.com/kyverno/kyverno//config/crds?ref=v1\n  - ns.yaml\n",
				"apps/kyverno/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kyverno\n"}),
			want: []want{{rule: "build", file: "apps/kyverno/kustomization.yaml", line: 3, severity: Warning, message: "remote reference"}},
		},
		{
			name:  "a Secret whose values are empty",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- secret.yaml\n", "app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\nstringData:\n  config: |\n  token: \"\"\n"}),
		},
		{
			name:  "remote base",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- https://github.com/org/repo//base?ref=v1\n"}),
			want:  []want{{rule: "build", file: "app/kustomization.yaml", line: 3, severity: Warning, message: "remote reference"}},
		},
		{
			name:  "unknown kustomization field",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nimages:\n- name: nginx\n  newTagg: \"1.28\"\n"}),
			want:  []want{{rule: "build", file: "app/kustomization.yaml", line: 5, message: `unknown field "newTagg" (did you mean "newTag"?)`}},
		},
		{
			name: "field names in another case, which kustomize decodes as encoding/json does",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nimages:\n- name: nginx\n  newtag: \"1.28\"\n" +
				"vars:\n- name: WEB\n  objref:\n    kind: Deployment\n    name: web\n    apiVersion: apps/v1\n  fieldref:\n    fieldpath: metadata.name\n"}),
		},
		{
			name:  "a manifest no root applies, checked on its own",
			files: with(app, map[string]string{"app/forgotten.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forgotten\ndata:\n  replicas: 3\n"}),
			want: []want{
				{rule: "unapplied", file: "app/forgotten.yaml", line: 1, severity: Warning, message: "no render root applies forgotten.yaml: no kustomization lists it"},
				{rule: "schema", file: "app/forgotten.yaml", line: 6, severity: Warning, message: "data.replicas"},
			},
		},
		{
			name: "a Helm chart kept in the repository",
			files: with(app, map[string]string{
				"charts/web/Chart.yaml":                 "apiVersion: v2\nname: web\nversion: 1.0.0\n",
				"charts/web/values.yaml":                "replicas: 2\n",
				"charts/web/templates/deployment.yaml":  "{{- if .Values.enabled }}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n{{- end }}\n",
				"charts/web/charts/db/templates/s.yaml": "{{ include \"db.secret\" . }}\n",
			}),
		},
		{
			name: "one line of a component every overlay includes",
			files: map[string]string{
				"components/bad/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- cm.yaml\n",
				"components/bad/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: 3\n",
				"a/kustomization.yaml":              "namespace: a\ncomponents:\n- ../components/bad\n",
				"b/kustomization.yaml":              "namespace: b\ncomponents:\n- ../components/bad\n",
				"c/kustomization.yaml":              "namespace: c\ncomponents:\n- ../components/bad\n",
			},
			want: []want{{rule: "schema", file: "components/bad/cm.yaml", line: 6, message: "(reported once for the 3 objects rendered from this line)"}},
		},
		{
			// Its user is named after the application: the name is no
			// secret, and stays in the messages; the password is hidden.
			name: "plain Secret holding the name of its Kustomization",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/cluster.yaml": ks("cluster", "./clusters/prod", ""),
				"clusters/prod/authelia.yaml": ks("authelia", "./app", ""),
				"app/kustomization.yaml":      "resources:\n- deploy.yaml\n- secret.yaml\n",
				"app/secret.yaml":             "apiVersion: v1\nkind: Secret\nmetadata:\n  name: authelia-users\n  namespace: shop\nstringData:\n  user: authelia\n  password: hunter2x\n"}),
			want: []want{{rule: "plain-secret", file: "app/secret.yaml", line: 6, message: "Secret shop/authelia-users holds values in the clear (password)"}},
		},
		{
			name:  "plain Secret in a file",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- secret.yaml\n", "app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\nstringData:\n  password: hunter2\n"}),
			want:  []want{{rule: "plain-secret", file: "app/secret.yaml", line: 6, message: "Secret shop/db holds values in the clear"}},
		},
		{
			name:  "plain Secret from a generator",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nsecretGenerator:\n- name: api-key\n  literals:\n  - key=s3cr3t\n"}),
			want:  []want{{rule: "plain-secret", file: "app/kustomization.yaml", line: 4, message: "holds values in the clear"}},
		},
		{
			name: "a secretGenerator reading a SOPS-encrypted file",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nsecretGenerator:\n- name: values\n  files:\n  - values.yaml=values.enc.yaml\n",
				"app/values.enc.yaml": "apiKey: ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]\nsops:\n  lastmodified: \"2025-12-22T01:21:04Z\"\n  mac: ENC[AES256_GCM,data:m=,iv:x,tag:y,type:str]\n  version: 3.11.0\n"}),
		},
		{
			name: "a secretGenerator reading a SOPS-encrypted env file",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nsecretGenerator:\n- name: db\n  envs:\n  - db.sops.env\n",
				"app/db.sops.env": "PASSWORD=ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]\nsops_version=3.9.0\nsops_mac=ENC[AES256_GCM,data:m=,iv:x,tag:y,type:str]\n"}),
		},
		{
			name:  "a secretGenerator reading a plain file",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nsecretGenerator:\n- name: values\n  files:\n  - values.yaml\n", "app/values.yaml": "apiKey: hunter2\n"}),
			want:  []want{{rule: "plain-secret", file: "app/kustomization.yaml", line: 4, message: "holds values in the clear"}},
		},
		{
			name: "SOPS Secret is fine",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- secret.yaml\n",
				"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ndata:\n  password: ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]\nsops:\n  version: 3.9.0\n"}),
		},
		{
			name: "a ResourceSet makes a namespaced object without a namespace",
			files: map[string]string{"rs/kustomization.yaml": "resources:\n- rs.yaml\n",
				"rs/rs.yaml": "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: apps\n  namespace: apps\nspec:\n  inputs:\n  - app: web\n  resources:\n" +
					"  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: << inputs.app >>\n" +
					"  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: << inputs.app >>-ok\n      namespace: apps\n" +
					"  - apiVersion: v1\n    kind: Namespace\n    metadata:\n      name: << inputs.app >>\n"},
			want: []want{
				{rule: "schema", file: "rs/rs.yaml", line: 1, message: "metadata.namespace: Required value: ResourceSet apps/apps makes this namespaced ConfigMap without a namespace"},
				{rule: "no-schema", file: "rs/rs.yaml", line: 2, severity: Warning, message: "ResourceSet"},
			},
		},
		{
			name: "same object in two API versions",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- hpa1.yaml\n- hpa2.yaml\n",
				"app/hpa1.yaml": "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  maxReplicas: 3\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web\n",
				"app/hpa2.yaml": "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  maxReplicas: 3\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web\n"}),
			want: []want{{rule: "duplicate-object", file: "app/hpa2.yaml", line: 1, message: "is rendered twice by app (also as autoscaling/v1 at app/hpa1.yaml:1)"}},
		},
		{
			name: "two Kustomizations apply the same object",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/a.yaml": ks("a", "./app", ""), "clusters/prod/b.yaml": ks("b", "./app", "")}),
			want: []want{{rule: "duplicate-object", file: "app/deploy.yaml", line: 1, severity: Warning, message: "is applied by Kustomization flux-system/b and also by Kustomization flux-system/a, alike but for labels and annotations"}},
		},
		{
			// A hub applies the same tenants to each spoke through its
			// kubeConfig: one object in each cluster, no duplicate.
			name: "two Kustomizations apply the same object to two clusters",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/a.yaml": ks("a", "./app", "  kubeConfig:\n    secretRef:\n      name: staging-kubeconfig\n"),
				"clusters/prod/b.yaml": ks("b", "./app", "  kubeConfig:\n    secretRef:\n      name: production-kubeconfig\n"),
				"clusters/prod/c.yaml": ks("c", "./app", "  kubeConfig:\n    secretRef:\n      name: production-kubeconfig\n")}),
			want: []want{{rule: "duplicate-object", file: "app/deploy.yaml", line: 1, severity: Warning, message: "is applied by Kustomization flux-system/c and also by Kustomization flux-system/b, alike"}},
		},
		{
			name: "two Kustomizations apply the same object differently",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/a.yaml": ks("a", "./app", ""),
				"clusters/prod/b.yaml": ks("b", "./app", "  patches:\n    - target: {kind: Deployment}\n      patch: |\n        - op: add\n          path: /spec/replicas\n          value: 5\n")}),
			want: []want{{rule: "duplicate-object", file: "app/deploy.yaml", line: 1, message: "is applied by Kustomization flux-system/b and also by Kustomization flux-system/a, which render it differently: they would fight over it"}},
		},
		{
			name: "two Kustomizations apply a Flux source, its interval spelt two ways",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/a.yaml":     ks("a", "./repos", ""),
				"clusters/prod/b.yaml":     ks("b", "./repos", "  patches:\n    - target: {kind: HelmRepository}\n      patch: |\n        - op: replace\n          path: /spec/interval\n          value: 1h0m0s\n"),
				"repos/kustomization.yaml": "resources:\n- charts.yaml\n",
				"repos/charts.yaml":        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: https://charts.example.com\n"}),
			want: []want{{rule: "duplicate-object", file: "repos/charts.yaml", line: 1, severity: Warning, message: "is applied by Kustomization flux-system/b and also by Kustomization flux-system/a, alike but for labels and annotations"}},
		},
		{
			// Made by hand or at bootstrap: only the cluster can tell.
			name: "substituteFrom a Secret no root renders",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/cluster.yaml": ks("cluster", "./clusters/prod", ""),
				"clusters/prod/web.yaml": ks("web", "./app", "  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: cluster-secrets\n"),
				"app/deploy.yaml":        strings.Replace(deployment, "nginx:1.27", "nginx:${TAG}", 1)}),
			want: []want{{rule: "build", file: "clusters/prod/web.yaml", line: 1, severity: Warning,
				message: "Kustomization flux-system/web: postBuild.substituteFrom: Secret flux-system/cluster-secrets is not rendered by any root of this repository, so it must be the cluster's (made by hand or at bootstrap; mark it optional if it may be missing): the variables it gives are left as written$"}},
		},
		{
			// brettinternet/homeops' rook-ceph-tools: one finding, not
			// those of the copy's references.
			name: "Kustomization whose path holds its own file, moved by targetNamespace",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/cluster.yaml": ks("cluster", "./clusters/prod", ""),
				"clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n- cluster.yaml\n- ../../tools\n",
				"tools/kustomization.yaml":         "resources:\n- ks.yaml\n",
				"tools/ks.yaml":                    ks("tools", "./tools", "  targetNamespace: rook-ceph\n  dependsOn:\n  - name: cluster\n")}),
			want: []want{{rule: "flux-reference", file: "tools/ks.yaml", line: 1,
				message: "Kustomization flux-system/tools applies a copy of itself, rook-ceph/tools: its spec.path holds the file it is written in, and its targetNamespace moves the copy, which Flux reconciles on its own, looking for its source and dependencies in rook-ceph; leave ks.yaml out of tools/kustomization.yaml:2$"}},
		},
		{
			// rcdailey/home-ops' imagemaid: its kustomization lists its own
			// ks.yaml, and its parent patches what it applies.
			name: "Kustomization whose path holds its own file, patched by its parent",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/cluster.yaml": ks("cluster", "./clusters/prod", ""),
				"clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n- cluster.yaml\n- ../../tools/ks.yaml\npatches:\n- target: {kind: Kustomization, name: tools}\n  patch: |\n    - op: add\n      path: /spec/timeout\n      value: 5m\n",
				"tools/kustomization.yaml":         "resources:\n- ks.yaml\n",
				"tools/ks.yaml":                    ks("tools", "./tools", "")}),
			want: []want{{rule: "duplicate-object", file: "tools/ks.yaml", line: 1,
				message: "Kustomization/flux-system/tools is applied by Kustomization flux-system/tools and also by Kustomization flux-system/cluster (its spec.path holds the file it is written in: it applies itself; leave ks.yaml out of tools/kustomization.yaml:2), which render it differently: they would fight over it$"}},
		},
		{
			// damacus/home-ops' cluster: the folder that lists its file is
			// the bootstrap's too, so no entry is named to leave out.
			name: "Kustomization whose path holds the folder that lists its own file",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/cluster.yaml": ks("cluster", "./clusters/prod", ""),
				"clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n- cluster.yaml\n- ../../flux/config\n",
				"flux/config/kustomization.yaml":   "resources:\n- infra.yaml\n",
				"flux/config/infra.yaml":           ks("infra", "./flux", "")}),
			want: []want{{rule: "duplicate-object", file: "flux/config/infra.yaml", line: 1, severity: Warning,
				message: "(its spec.path holds the file it is written in: it applies itself), alike but for labels and annotations"}},
		},
		{
			// Aviator-Coding/home-ops' cloudflare-dns: no kustomization
			// file, so Flux's generated one takes ks.yaml in too.
			name: "Kustomization whose path holds its own file, in a folder without a kustomization file",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/cluster.yaml": ks("cluster", "./clusters/prod", ""),
				"clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n- cluster.yaml\n- ../../tools/ks.yaml\n",
				"tools/ks.yaml":                    ks("tools", "./tools", ""),
				"tools/app/kustomization.yaml":     "resources:\n- config.yaml\n",
				"tools/app/config.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tools\n  namespace: default\ndata:\n  a: b\n"}),
			want: []want{{rule: "duplicate-object", file: "tools/ks.yaml", line: 1, severity: Warning,
				message: "(its spec.path holds the file it is written in: it applies itself; tools has no kustomization file, so Flux applies every YAML file in it: point spec.path at ./tools/app, or write one that leaves ks.yaml out), alike but for labels and annotations"}},
		},
		{
			// abaas-madscience/home-k8s-gitops-flux: a child applies the
			// bootstrap's sync, which applies it. Flux reconciles that.
			name: "a child applying the bootstrap Kustomization",
			files: with(app, map[string]string{"clusters/prod/flux-system/sync.yaml": fluxSync + "---\n" + ks("flux-system", "./clusters/prod", ""),
				"clusters/prod/flux-system/kustomization.yaml": "resources:\n- sync.yaml\n",
				"clusters/prod/kustomization.yaml":             "resources:\n- infra.yaml\n- app.yaml\n",
				"clusters/prod/infra.yaml":                     ks("infra", "./clusters/prod/flux-system", ""),
				"clusters/prod/app.yaml":                       ks("app", "./app", "")}),
			want: []want{{rule: "build", file: "clusters/prod/flux-system/sync.yaml", line: 10, severity: Warning,
				message: "cycle: Kustomization flux-system/infra applies flux-system/flux-system, which applies it (flux-system/flux-system -> flux-system/infra -> flux-system/flux-system): Flux reconciles both, but taking one out of the repository has its pruning delete the others and what they apply$"}},
		},
		{
			// One finding, at the last, naming the others.
			name: "three Kustomizations apply the same object",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/a.yaml": ks("a", "./app", ""), "clusters/prod/b.yaml": ks("b", "./app", ""), "clusters/prod/c.yaml": ks("c", "./app", "")}),
			want: []want{{rule: "duplicate-object", file: "app/deploy.yaml", line: 1, severity: Warning,
				message: "is applied by Kustomization flux-system/c and also by Kustomizations flux-system/a and flux-system/b, alike but for labels and annotations: each reconcile takes it from the others, and pruning by any of them deletes it until another applies it again$"}},
		},
		{
			name: "three Kustomizations apply the same object, one differently",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/a.yaml": ks("a", "./app", "  patches:\n    - target: {kind: Deployment}\n      patch: |\n        - op: add\n          path: /spec/replicas\n          value: 5\n"),
				"clusters/prod/b.yaml": ks("b", "./app", ""), "clusters/prod/c.yaml": ks("c", "./app", "")}),
			want: []want{{rule: "duplicate-object", file: "app/deploy.yaml", line: 1,
				message: "is applied by Kustomization flux-system/c and also by Kustomizations flux-system/a and flux-system/b, which render it differently: they would fight over it$"}},
		},
		{
			name:  "Kustomization source not defined",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n- apps.yaml\n", "clusters/prod/apps.yaml": strings.Replace(ks("apps", "./app", ""), "name: flux-system\n  path", "name: fleet\n  path", 1)}),
			want:  []want{{rule: "flux-reference", file: "clusters/prod/apps.yaml", line: 9, message: "refers to GitRepository flux-system/fleet, which is not defined in this repository"}},
		},
		{
			name: "a label that is not a string, in a plain root",
			files: map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n",
				"app/deploy.yaml": strings.Replace(deployment, "  namespace: shop\n", "  namespace: shop\n  labels:\n    monitored: true\n", 1)},
			want: []want{{rule: "schema", file: "app/deploy.yaml", line: 7, message: `metadata.labels.monitored: Invalid value: "boolean"`}},
		},
		{
			name: "a label that is not a string, applied by a Flux Kustomization",
			files: map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n",
				"app/deploy.yaml":         strings.Replace(deployment, "  namespace: shop\n", "  namespace: shop\n  labels:\n    monitored: true\n", 1),
				"clusters/prod/sync.yaml": fluxSync, "clusters/prod/app.yaml": ks("app", "./app", "")},
			want: []want{{rule: "schema", file: "app/deploy.yaml", line: 7, severity: Warning,
				message: "metadata.labels.monitored is not a string: kustomize-controller then reads none of this object's labels, and applies it with its ownership labels only; quote the value"}},
		},
		{
			name: "Kustomization source written in a bootstrap template",
			files: with(app, map[string]string{"clusters/prod/kustomization.yaml": "resources:\n- apps.yaml\n",
				"clusters/prod/apps.yaml":        strings.Replace(ks("apps", "./app", ""), "name: flux-system\n  path", "name: fleet\n  path", 1),
				"setup/GitRepoSync.yaml.templ":   strings.Replace(fluxSync, "name: flux-system\n", "name: fleet\n  labels: {cluster: \"{{CLUSTER}}\"}\n", 1),
				"setup/SealedSecrets.yaml.templ": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: sealed, namespace: flux-system}\nspec: {path: ./{{CLUSTER}}, sourceRef: {kind: GitRepository, name: nowhere}}\n"}),
			// Defined, by the template a script applies (its Kustomization
			// is not the repository's); a clone of another URL.
			want: []want{{rule: "not-rendered", file: "clusters/prod/apps.yaml", line: 10, severity: Warning, message: "its source GitRepository/flux-system/fleet is another repository (https://example.com/fleet.git)"}},
		},
		{
			name: "a bootstrap template's source never stands in for a manifest's",
			files: with(app, map[string]string{"clusters/prod/kustomization.yaml": "resources:\n- apps.yaml\n- fleet.yaml\n",
				"clusters/prod/apps.yaml":  strings.Replace(ks("apps", "./app", ""), "name: flux-system\n  path", "name: fleet\n  path", 1),
				"clusters/prod/fleet.yaml": strings.Replace(fluxSync, "name: flux-system\n", "name: fleet\n", 1),
				"a/GitRepoSync.yaml.tmpl":  strings.Replace(strings.Replace(fluxSync, "name: flux-system\n", "name: fleet\n", 1), "example.com/fleet.git", "example.com/placeholder.git", 1)}),
			want: []want{{rule: "not-rendered", file: "clusters/prod/apps.yaml", line: 10, severity: Warning, message: "its source GitRepository/flux-system/fleet is another repository (https://example.com/fleet.git)"}},
		},
		{
			// The walk reads the child as its parent applies it.
			name: "spec.path with a variable its parent substitutes",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/cluster.yaml": ks("cluster", "./clusters/prod", "  postBuild:\n    substitute:\n      ENV: app\n"),
				"clusters/prod/apps.yaml":    ks("apps", "./${ENV}", "")}),
		},
		{
			name: "an object of a Flux component named by a variable its Kustomization substitutes",
			files: map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/web.yaml":               ks("web", "./apps/web", "  targetNamespace: shop\n  components:\n  - ../../components/backup\n  postBuild:\n    substitute:\n      APP: web\n"),
				"apps/web/kustomization.yaml":          "resources:\n- cm.yaml\n",
				"apps/web/cm.yaml":                     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\n",
				"components/backup/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- pvc.yaml\n",
				"components/backup/pvc.yaml":           "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${APP}\nspec:\n  accessMode: ReadWriteOnce\n"},
			want: []want{{rule: "schema", file: "components/backup/pvc.yaml", line: 6, message: `unknown field "spec.accessMode"`}},
		},
		{
			name: "a kustomization a Flux component includes is not a root of its own",
			files: map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/web.yaml":                   ks("web", "./apps/web", "  components:\n  - ../../components/backup\n  postBuild:\n    substitute:\n      APP: web\n"),
				"apps/web/kustomization.yaml":              "namespace: shop\nresources:\n- cm.yaml\n",
				"apps/web/cm.yaml":                         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\n",
				"components/backup/kustomization.yaml":     "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- pvc\n",
				"components/backup/pvc/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- pvc.yaml\n",
				"components/backup/pvc/pvc.yaml":           "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${APP}\nspec:\n  accessModes: [\"${MODE:=ReadWriteOnce}\"]\n  resources:\n    requests:\n      storage: 1Gi\n"},
			// Built only through web, which substitutes it.
		},
		{
			name:  "a file no root applies, with Flux variables",
			files: with(app, map[string]string{"components/backup/pvc.yaml": "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${APP}\nspec:\n  accessModes: [\"${ACCESS_MODE:=ReadWriteOnce}\"]\n  volumeMode: Sideways\n  resources:\n    requests:\n      storage: ${CAPACITY:=5Gi}\n"}),
			// The variables are whatever applies the file elsewhere makes
			// them; a value written in full is still checked.
			want: []want{
				{rule: "unapplied", file: "components/backup/pvc.yaml", line: 1, severity: Warning, message: "no render root applies pvc.yaml"},
				{rule: "schema", file: "components/backup/pvc.yaml", line: 7, severity: Warning, message: `spec.volumeMode: Unsupported value: "Sideways"`},
			},
		},
		{
			name:  "an invisible mark in a file name",
			files: with(app, map[string]string{".editor.yaml\u200e": "a: b\n"}),
			want:  []want{{rule: "syntax", file: ".editor.yaml\u200e", severity: Warning, message: `the name ".editor.yaml\u200e" holds a character no output prints as it is`}},
		},
		{
			name: "substituteFrom a Secret an ExternalSecret makes in the cluster",
			files: clusterVars("  target:\n    template:\n      data:\n        POLICY: \"{{ .policy }}\"\n        REPLICAS: \"2\"\n  dataFrom:\n  - extract: {key: cluster-vars}\n",
				strings.Replace(strings.Replace(deployment, "  selector:\n", "  replicas: ${REPLICAS}\n  selector:\n", 1),
					"        image: nginx:1.27\n", "        image: nginx:1.27\n        imagePullPolicy: ${POLICY}\n", 1)),
			// REPLICAS is the template's own value, substituted and checked;
			// POLICY only the cluster knows: left as written, neither a
			// strict substitution error nor a schema one.
			want: []want{{rule: "no-schema", file: "clusters/prod/vars.yaml", line: 2, severity: Warning, message: "ExternalSecret"}},
		},
		{
			name: "substituteFrom a Secret an ExternalSecret makes, with keys only the cluster knows",
			files: clusterVars("  dataFrom:\n  - extract: {key: cluster-vars}\n",
				strings.Replace(deployment, "        image: nginx:1.27\n", "        image: nginx:1.27\n        imagePullPolicy: ${POLICY}\n        workingDir: ${WORKDIR}\n", 1)),
			want: []want{{rule: "no-schema", file: "clusters/prod/vars.yaml", line: 2, severity: Warning, message: "ExternalSecret"}},
		},
		{
			name: "substituteFrom a Secret an ExternalSecret makes, with a key its template lacks",
			files: clusterVars("  target:\n    template:\n      data:\n        POLICY: \"{{ .policy }}\"\n  dataFrom:\n  - extract: {key: cluster-vars}\n",
				strings.Replace(deployment, "        image: nginx:1.27\n", "        image: nginx:1.27\n        workingDir: ${WORKDIR}\n", 1)),
			// The template replaces what dataFrom reads: the Secret holds
			// POLICY only, and strict substitution fails on WORKDIR.
			want: []want{
				{rule: "no-schema", file: "clusters/prod/vars.yaml", line: 2, severity: Warning, message: "ExternalSecret"},
				{rule: "build", file: "app/deploy.yaml", line: 18, message: `variable not set (strict mode): "WORKDIR"`},
			},
		},
		{
			name: "a cluster Kustomization substituting from a ConfigMap it applies, installing Flux 2.5 from its manifests artifact",
			files: map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/cluster.yaml":            ks("cluster", "./clusters/prod", "  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: cluster-settings\n"),
				"clusters/prod/vars/kustomization.yaml": "resources:\n- settings.yaml\n",
				"clusters/prod/vars/settings.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-settings\n  namespace: flux-system\ndata:\n  CLUSTER_NAME: prod\n",
				"clusters/prod/flux.yaml":               "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: flux-manifests\n  namespace: flux-system\nspec:\n  interval: 10m\n  url: oci://ghcr.io/fluxcd/flux-manifests\n  ref:\n    tag: v2.5.1\n",
				"clusters/prod/charts.yaml":             "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: https://charts.example.com/${CLUSTER_NAME}\n",
				"clusters/prod/note.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: note\n  namespace: flux-system\ndata:\n  unset: \"${UNSET}\"\n",
				"old/ks.yaml":                           ks("old", "./old/app", ""),
				"old/app/charts.yaml":                   "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: HelmRepository\nmetadata:\n  name: old\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: https://charts.example.com/old\n"},
			// The cluster has cluster-settings from its last reconcile; it
			// runs Flux 2.5, which serves v1beta2 sources, deprecated (so
			// does the one cluster for a Kustomization its tree leaves
			// out), and substitutes an unset variable with nothing, named.
			want: []want{
				{rule: "deprecated-api", file: "clusters/prod/charts.yaml", line: 1, severity: Warning, message: "source.toolkit.fluxcd.io/v1beta2 HelmRepository is deprecated"},
				{rule: "deprecated-api", file: "old/app/charts.yaml", line: 1, severity: Warning, message: "source.toolkit.fluxcd.io/v1beta2 HelmRepository is deprecated"},
				{rule: "unapplied", file: "old/ks.yaml", line: 1, severity: Warning, message: "no render root applies ks.yaml"},
				{rule: "build", file: "clusters/prod/note.yaml", line: 7, severity: Warning, message: "variable UNSET is not set and has no default: Flux v2.5 substitutes an empty string"},
			},
		},
		{
			name: "a variable in an overlay a Flux Kustomization substitutes, whose source an install script makes",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/storage.yaml": strings.Replace(ks("storage", "./storage", "  postBuild:\n    substitute:\n      CLUSTER: prod\n"), "name: flux-system\n  path", "name: infrastructure\n  path", 1),
				"storage/kustomization.yaml": "resources:\n- pv.yaml\n", "storage/pv.yaml": "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: data\nspec:\n  capacity:\n    storage: ${VOLUME_CAPACITY}\n  accessModes: [ReadWriteOnce]\n  hostPath:\n    path: /data\n"}),
			// That Kustomization substitutes it; the overlay built on its
			// own leaves it to that one.
		},
		{
			name:  "a variable in an overlay where nothing substitutes",
			files: with(app, map[string]string{"storage/kustomization.yaml": "resources:\n- pv.yaml\n", "storage/pv.yaml": "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: data\nspec:\n  capacity:\n    storage: ${VOLUME_CAPACITY}\n  accessModes: [ReadWriteOnce]\n  hostPath:\n    path: /data\n"}),
			want:  []want{{rule: "schema", file: "storage/pv.yaml", line: 7, message: `spec.capacity.storage: Invalid value: "${VOLUME_CAPACITY}"`}},
		},
		{
			name: "a cluster installing Flux 0.31 from a GitRepository of Flux's own repository",
			files: map[string]string{"clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/cluster.yaml": strings.Replace(ks("cluster", "./clusters/prod", "  postBuild:\n    substitute:\n      CLUSTER: prod\n"), "kustomize.toolkit.fluxcd.io/v1\n", "kustomize.toolkit.fluxcd.io/v1beta2\n", 1),
				"clusters/prod/flux.yaml": "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata:\n  name: flux-installation\n  namespace: flux-system\nspec:\n  interval: 10m\n  url: https://github.com/fluxcd/flux2\n  ref:\n    tag: v0.31.4\n---\n" +
					strings.Replace(strings.Replace(ks("flux-installation", "./manifests/install", ""), "kustomize.toolkit.fluxcd.io/v1\n", "kustomize.toolkit.fluxcd.io/v1beta2\n", 1), "name: flux-system\n  path", "name: flux-installation\n  path", 1),
				"clusters/prod/charts.yaml": "apiVersion: source.toolkit.fluxcd.io/v1beta1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: https://charts.example.com/${UNSET}\n"},
			// Flux 0.31 serves the betas, and substitutes an unset variable
			// with nothing. Their schemas are not bundled.
			want: []want{
				{rule: "no-schema", file: "clusters/prod/charts.yaml", line: 2, severity: Warning, message: "source.toolkit.fluxcd.io/v1beta1 HelmRepository"},
				{rule: "no-schema", file: "clusters/prod/cluster.yaml", line: 2, severity: Warning, message: "kustomize.toolkit.fluxcd.io/v1beta2 Kustomization"},
				{rule: "no-schema", file: "clusters/prod/flux.yaml", line: 2, severity: Warning, message: "source.toolkit.fluxcd.io/v1beta2 GitRepository"},
				{rule: "not-rendered", file: "clusters/prod/flux.yaml", line: 21, severity: Warning, message: "its source GitRepository/flux-system/flux-installation is another repository"},
				{rule: "build", file: "clusters/prod/charts.yaml", line: 8, severity: Warning, message: "variable UNSET is not set and has no default: Flux v0.31 substitutes an empty string"},
			},
		},
		{
			name:  "spec.path above the source's root is clamped to it, as Flux does",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/apps.yaml": ks("apps", "../../app", "")}),
			want: []want{{rule: "flux-reference", file: "clusters/prod/apps.yaml", line: 12, severity: Warning,
				message: `spec.path "../../app" climbs above the root of its source: Flux stops at the root and reads "app"`}},
		},
		{
			name:  "a Kustomization whose spec does not decode",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/apps.yaml": strings.Replace(ks("apps", "./app", ""), "prune: true", `prune: "yes"`, 1)}),
			want: []want{{rule: "build", file: "clusters/prod/apps.yaml", line: 8,
				message: "Kustomization flux-system/apps: spec.prune: a string where Flux wants a boolean: Flux refuses the object"}},
		},
		{
			name:  "spec.path with a variable nothing substitutes",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/apps.yaml": ks("apps", "./${ENV}", "")}),
			want:  []want{{rule: "build", file: "clusters/prod/apps.yaml", line: 12, message: `spec.path "./${ENV}" is not a directory of this repository`}},
		},
		{
			name:  "dependsOn a Kustomization not defined",
			files: with(app, map[string]string{"clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n- apps.yaml\n", "clusters/prod/sync.yaml": fluxSync, "clusters/prod/apps.yaml": ks("apps", "./app", "  dependsOn:\n  - name: infra\n")}),
			want:  []want{{rule: "flux-reference", file: "clusters/prod/apps.yaml", line: 14, message: "depends on Kustomization flux-system/infra, which is not defined"}},
		},
		{
			name: "dependsOn a Kustomization the cluster's tree leaves out",
			files: with(app, map[string]string{"clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n- apps.yaml\n", "clusters/prod/sync.yaml": fluxSync,
				"clusters/prod/apps.yaml": ks("apps", "./app", "  dependsOn:\n  - name: infra\n"), "infra/ks.yaml": ks("infra", "./app", "")}),
			want: []want{{rule: "flux-reference", file: "clusters/prod/apps.yaml", line: 14, message: "depends on Kustomization flux-system/infra, which infra/ks.yaml writes but this cluster's tree does not apply"}},
		},
		{
			name: "ImagePolicy without its ImageRepository",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- policy.yaml\n",
				"app/policy.yaml": "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  imageRepositoryRef:\n    name: web\n  policy:\n    semver:\n      range: 1.x\n"}),
			want: []want{{rule: "flux-reference", file: "app/policy.yaml", line: 8, message: "refers to ImageRepository shop/web, which is not defined"}},
		},
		{
			name: "ImagePolicy pattern that does not compile",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- policy.yaml\n",
				"app/policy.yaml": "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  imageRepositoryRef:\n    name: web\n  filterTags:\n    pattern: '^main-(?P<build'\n  policy:\n    numerical: {}\n---\n" + imageRepository}),
			want: []want{{rule: "imagepolicy-pattern", file: "app/policy.yaml", line: 10, message: "ImagePolicy shop/web"}},
		},
		{
			name: "ImagePolicy extract naming a missing group",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- policy.yaml\n",
				"app/policy.yaml": "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  imageRepositoryRef:\n    name: web\n  filterTags:\n    pattern: '^main-[a-f0-9]+-(?P<build>[0-9]+)'\n    extract: '$buildnumber'\n  policy:\n    numerical: {}\n---\n" + imageRepository}),
			want: []want{{rule: "imagepolicy-pattern", file: "app/policy.yaml", line: 11, message: "buildnumber"}},
		},
		{
			name: "API removed in the target Kubernetes",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- pdb.yaml\n",
				"app/pdb.yaml": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: web\n"}),
			want: []want{{rule: "deprecated-api", file: "app/pdb.yaml", line: 1, message: "policy/v1beta1 PodDisruptionBudget was removed in Kubernetes v1.25: use policy/v1"}},
		},
		{
			name: "API deprecated, not removed, in the target Kubernetes",
			files: with(app, map[string]string{".gitops.yaml": "kubernetesVersion: v1.24\n", "app/kustomization.yaml": "resources:\n- deploy.yaml\n- pdb.yaml\n",
				"app/pdb.yaml": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: web\n"}),
			want: []want{
				{rule: "deprecated-api", file: "app/pdb.yaml", line: 1, severity: Warning, message: "policy/v1beta1 PodDisruptionBudget is deprecated since Kubernetes v1.21 and will be removed in v1.25: use policy/v1"},
				{rule: "schema", file: ".gitops.yaml", severity: Warning, message: "no schemas for Kubernetes v1.24 are built in (built in: v1.34, v1.35, v1.36, v1.37): objects are checked against v1.34's"},
				{rule: "no-schema", file: "app/pdb.yaml", line: 2, severity: Warning, message: "no schema is known for policy/v1beta1 PodDisruptionBudget"},
			},
		},
		{
			name: "Flux API the bundled Flux no longer serves",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- repo.yaml\n",
				"app/repo.yaml": "apiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImageRepository\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  image: registry.example.com/web\n  interval: 5m\n"}),
			// Applied, so the cluster runs an older Flux: a warning.
			want: []want{{rule: "deprecated-api", file: "app/repo.yaml", line: 1, severity: Warning, message: "image.toolkit.fluxcd.io/v1beta1 ImageRepository was removed in Flux v2.7 (never marked deprecated; superseded by v1beta2 in Flux v0.40): use image.toolkit.fluxcd.io/v1; the repository names no Flux release for this cluster: an error on Flux v2.7 and later; pass --flux-version or set fluxVersion in .gitops.yaml to check it against the release it runs"}},
		},
		{
			name: "Flux API the Flux release named no longer serves",
			files: with(app, map[string]string{"clusters/prod/sync.yaml": fluxSync, "clusters/prod/cluster.yaml": ks("cluster", "./clusters/prod", ""), "clusters/prod/apps.yaml": ks("apps", "./app", ""),
				"clusters/prod/flux.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: flux-manifests\n  namespace: flux-system\nspec:\n  interval: 10m\n  url: oci://ghcr.io/fluxcd/flux-manifests\n  ref:\n    tag: v2.8.0\n",
				"app/kustomization.yaml":  "resources:\n- deploy.yaml\n- repo.yaml\n",
				"app/repo.yaml":           "apiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImageRepository\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  image: registry.example.com/web\n  interval: 5m\n"}),
			want: []want{{rule: "deprecated-api", file: "app/repo.yaml", line: 1, message: "image.toolkit.fluxcd.io/v1beta1 ImageRepository was removed in Flux v2.7 (never marked deprecated; superseded by v1beta2 in Flux v0.40): use image.toolkit.fluxcd.io/v1$"}},
		},
		{
			name:  "unknown field",
			files: with(app, map[string]string{"app/deploy.yaml": strings.Replace(deployment, "  selector:\n", "  replica: 3\n  selector:\n", 1)}),
			want:  []want{{rule: "schema", file: "app/deploy.yaml", line: 7, message: `unknown field "spec.replica"`}},
		},
		{
			name:  "wrong type",
			files: with(app, map[string]string{"app/deploy.yaml": strings.Replace(deployment, "  selector:\n", "  replicas: three\n  selector:\n", 1)}),
			want:  []want{{rule: "schema", file: "app/deploy.yaml", line: 7, message: `spec.replicas in body must be of type integer`}},
		},
		{
			name:  "missing required field",
			files: with(app, map[string]string{"app/deploy.yaml": strings.Replace(deployment, "      - name: web\n        image: nginx:1.27\n", "      - image: nginx:1.27\n", 1)}),
			want:  []want{{rule: "schema", file: "app/deploy.yaml", line: 16, message: `spec.template.spec.containers[0].name: Required value`}},
		},
		{
			name:  "bad enum value",
			files: with(app, map[string]string{"app/deploy.yaml": strings.Replace(deployment, "        image: nginx:1.27\n", "        image: nginx:1.27\n        imagePullPolicy: Sometimes\n", 1)}),
			want:  []want{{rule: "schema", file: "app/deploy.yaml", line: 18, message: `Unsupported value: "Sometimes"`}},
		},
		{
			name: "custom resource against its CRD, CEL rule included",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- policy.yaml\n",
				"app/policy.yaml": "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  imageRepositoryRef:\n    name: web\n  digestReflectionPolicy: Always\n  policy:\n    semver:\n      range: 1.x\n---\n" + imageRepository}),
			want: []want{{rule: "schema", file: "app/policy.yaml", line: 6, message: "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'"}},
		},
		{
			name: "custom resource against a CRD the repository renders",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- crd.yaml\n- widget.yaml\n",
				"app/crd.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
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
              size: {type: integer, maximum: 10}
            x-kubernetes-validations:
            - rule: self.size % 2 == 0
              message: size must be even
`,
				"app/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: shop\nspec:\n  size: 3\n"}),
			want: []want{{rule: "schema", file: "app/widget.yaml", line: 6, message: "size must be even"}},
		},
		{
			name: "custom resource with no CRD",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- cert.yaml\n",
				"app/cert.yaml": "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  secretName: web-tls\n"}),
			want: []want{{rule: "no-schema", file: "app/cert.yaml", line: 2, severity: Warning, message: "no schema is known for cert-manager.io/v1 Certificate"}},
		},
		{
			name:  "marker naming an ImagePolicy, none defined",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nimages:\n- name: nginx\n  newTag: \"1.27\" # {\"$imagepolicy\": \"shop:nowhere:tag\"}\n"}),
			// No ImagePolicy at all: they may live in the Flux repository.
			want: []want{{rule: "imagepolicy-marker", file: "app/kustomization.yaml", line: 5, severity: Warning, message: "marker names ImagePolicy shop/nowhere, but no ImagePolicy is defined in this repository: list the repository that defines them under fluxRepositories"}},
		},
		{
			name: "marker naming an ImagePolicy of a root that does not build",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nimages:\n- name: nginx\n  newTag: \"1.27.0\" # {\"$imagepolicy\": \"shop:web:tag\"}\n",
				"policies/kustomization.yaml": "resources:\n- web.yaml\n- missing.yaml\n", "policies/web.yaml": imagePolicy,
				"other/kustomization.yaml": "resources:\n- api.yaml\n", "other/api.yaml": strings.ReplaceAll(imagePolicy, "web", "api")}),
			// Whether it exists is not known: the root's error says why.
			want: []want{{rule: "build", file: "policies/kustomization.yaml", line: 3, message: "missing.yaml"}},
		},
		{
			name: "marker naming an ImagePolicy of a file no root applies",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nimages:\n- name: nginx\n  newTag: \"1.27.0\" # {\"$imagepolicy\": \"shop:web:tag\"}\n",
				"update-policies/web.yaml": strings.Replace(imagePolicy, "  namespace: shop\n", "", 1)}),
			// Written without a namespace, for another repository to apply
			// where it chooses: the marker is checked against it.
			want: []want{{rule: "unapplied", file: "update-policies/web.yaml", line: 1, severity: Warning, message: "no render root applies web.yaml"}},
		},
		{
			name: "marker naming an ImagePolicy of a file no root applies, which could never select its tag",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nimages:\n- name: nginx\n  newTag: \"0.9.0\" # {\"$imagepolicy\": \"shop:web:tag\"}\n",
				"update-policies/web.yaml": strings.Replace(imagePolicy, "  namespace: shop\n", "", 1)}),
			want: []want{
				{rule: "unapplied", file: "update-policies/web.yaml", line: 1, severity: Warning, message: "no render root applies web.yaml"},
				{rule: "imagepolicy-marker", file: "app/kustomization.yaml", line: 5, message: `ImagePolicy shop/web could never select a tag like the current "0.9.0"`},
			},
		},
		{
			// wahooli/gitops-repo's llama.cpp server: the overlay holds the
			// rolling tag until the automation's first update.
			name: "marker whose current tag is a placeholder the policy never selects",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nimages:\n- name: nginx\n  newTag: stable # {\"$imagepolicy\": \"shop:web:tag\"}\n",
				"update-policies/web.yaml": strings.Replace(imagePolicy, "  namespace: shop\n", "", 1)}),
			want: []want{
				{rule: "unapplied", file: "update-policies/web.yaml", line: 1, severity: Warning, message: "no render root applies web.yaml"},
				{rule: "imagepolicy-marker", file: "app/kustomization.yaml", line: 5, severity: Warning, message: `could never select a tag like the current "stable": no tag matched the policy: none of the 1 values ("stable") is a semantic version within range "1.x" (the controller reports "unable to determine latest version from provided list"); "stable" names no version, a placeholder the image automation replaces with the policy's pick on its first update$`},
			},
		},
		{
			name:  "marker without a namespace",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- policy.yaml\nimages:\n- name: nginx\n  newTag: \"1.27\" # {\"$imagepolicy\": \"web:tag\"}\n", "app/policy.yaml": imagePolicy}),
			want: []want{
				{rule: "imagepolicy-marker", file: "app/kustomization.yaml", line: 6, message: "marker names ImagePolicy web/tag, which is not defined"},
				{rule: "imagepolicy-marker", file: "app/kustomization.yaml", line: 6, message: `writes a whole image reference (name:tag), but it sits on newTag: use "web:tag:tag" there`},
			},
		},
		{
			name:  "tag marker on a field holding the whole image reference",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- policy.yaml\n", "app/policy.yaml": imagePolicy, "app/deploy.yaml": strings.Replace(deployment, "image: nginx:1.27", "image: nginx:1.27 # {\"$imagepolicy\": \"shop:web:tag\"}", 1)}),
			want: []want{
				{rule: "imagepolicy-marker", file: "app/deploy.yaml", line: 17, message: `marker "shop:web:tag" writes a tag, but image holds "nginx:1.27": use "shop:web" for a whole image reference`},
				{rule: "imagepolicy-marker", file: "app/deploy.yaml", line: 17, message: `ImagePolicy shop/web could never select a tag like the current "nginx:1.27"`},
			},
		},
		{
			name: "ImageUpdateAutomation updating a path not in the repository",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- automation.yaml\n",
				"clusters/prod/sync.yaml": fluxSync, "clusters/prod/kustomization.yaml": "resources:\n- sync.yaml\n",
				"app/automation.yaml": "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  interval: 30m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n  git:\n    commit:\n      author:\n        name: fluxcdbot\n        email: fluxcdbot@example.com\n  update:\n    path: ./nowhere\n    strategy: Setters\n"}),
			want: []want{{rule: "flux-reference", file: "app/automation.yaml", message: "nowhere"}},
		},
		{
			name:  "a resource file holding a list, not an object",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\n- list.yaml\n", "app/list.yaml": "- a\n- b\n"}),
			want:  []want{{rule: "syntax", file: "app/list.yaml", line: 1}, {rule: "build", file: "app/list.yaml"}},
		},
		{
			// Each cluster substitutes the shared web Kustomization with
			// its own ENV: only staging's path is missing.
			name: "a Kustomization two clusters apply fails in one",
			files: map[string]string{"flux/sync.yaml": fluxSync,
				"clusters/prod/kustomization.yaml":    "resources:\n- cluster.yaml\n- ../../apps\n",
				"clusters/prod/cluster.yaml":          ks("prod", "./clusters/prod", "  postBuild:\n    substitute: {ENV: prod}\n"),
				"clusters/staging/kustomization.yaml": "resources:\n- cluster.yaml\n- ../../apps\n",
				"clusters/staging/cluster.yaml":       ks("staging", "./clusters/staging", "  postBuild:\n    substitute: {ENV: staging}\n"),
				"apps/kustomization.yaml":             "resources:\n- web.yaml\n",
				"apps/web.yaml":                       ks("web", "./app-${ENV}", ""),
				"app-prod/kustomization.yaml":         "resources:\n- deploy.yaml\n",
				"app-prod/deploy.yaml":                deployment},
			want: []want{
				{rule: "build", file: "apps/web.yaml", line: 12, message: `spec.path "./app-staging" is not a directory of this repository (in cluster clusters/staging)$`},
				{rule: "unapplied", file: "flux/sync.yaml", line: 1, severity: Warning},
			},
		},
		{
			name:  "a YAML file of comments only is fine",
			files: with(app, map[string]string{"app/notes.yaml": "# nothing here yet\n"}),
		},
		{
			name: "rule turned off in .gitops.yaml",
			files: with(app, map[string]string{".gitops.yaml": "rules:\n  plain-secret: off\n", "app/kustomization.yaml": "resources:\n- deploy.yaml\n- secret.yaml\n",
				"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n"}),
		},
		{
			name:  "rule made a warning on one object",
			files: with(app, map[string]string{"app/kustomization.yaml": "resources:\n- deploy.yaml\nsecretGenerator:\n- name: api-key\n  literals:\n  - key=s3cr3t\n  options:\n    annotations:\n      gitops.kubectl.io/rules: plain-secret=warning\n"}),
			want:  []want{{rule: "plain-secret", file: "app/kustomization.yaml", line: 4, severity: Warning, message: "holds values in the clear"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := repoFiles(t, tc.files)
			report := check(t, g.Dir, Options{})
			for _, w := range tc.want {
				found := false
				for _, f := range report.Findings {
					found = found || w.matches(f)
				}
				if !found {
					t.Errorf("no finding %+v", w)
				}
			}
			if t.Failed() || len(report.Findings) != len(tc.want) {
				t.Errorf("%d findings, want %d:", len(report.Findings), len(tc.want))
				for _, f := range report.Findings {
					t.Logf("  %s:%d %s %s %s", f.File, f.Line, f.Severity, f.Rule, f.Message)
				}
			}
			for _, f := range report.Findings {
				for _, secret := range []string{"hunter2", "s3cr3t"} {
					if strings.Contains(f.Message, secret) {
						t.Errorf("a finding shows a secret value: %s", f.Message)
					}
				}
			}
		})
	}
}
