package live

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// The Secret values of the secret case: none may appear in any output.
const (
	canaryOld   = "canary-old-7f3a9c1e"
	canaryNew   = "canary-new-b52d80aa"
	canaryAdded = "canary-added-3e1f6d0b"
)

// kustomizationCRD returns the kustomizations.kustomize.toolkit.fluxcd.io
// CustomResourceDefinition of the sock-shop example's Flux install.
func kustomizationCRD(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../testdata/examples/sock-shop/flux-repo/clusters/dev-cluster/flux-system/gotk-components.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range manifest.Split(data) {
		if strings.Contains(string(doc.Text), "name: kustomizations.kustomize.toolkit.fluxcd.io") {
			return string(doc.Text)
		}
	}
	t.Fatal("no kustomizations CRD in gotk-components.yaml")
	return ""
}

// liveCase is one comparison against the shared API server.
type liveCase struct {
	name string
	// setup is applied to the cluster first (YAML documents; a status is
	// applied through the status subresource), as kustomize-controller
	// would have applied them.
	setup func(t *testing.T) []string
	roots []Root
	// viewer runs Diff as the user with no rights.
	viewer bool
	check  func(t *testing.T, diffs []diff.RootDiff, notes []Note)
}

func TestDiff(t *testing.T) {
	srv := sharedServer(t)
	admin := srv.RESTConfig()
	tests := []liveCase{
		{
			name:  "object created",
			setup: docs(ns("t-created")),
			roots: []Root{{Path: "apps/created", Objects: objs(t, configMap("t-created", "settings", "", "color: blue"))}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				c := onlyChange(t, diffs, "v1/ConfigMap/t-created/settings")
				wantAction(t, c, diff.Added)
				wantLines(t, c.Diff, "+  color: blue")
				wantNotes(t, notes)
			},
		},
		{
			name: "field changed",
			setup: docs(ns("t-changed"),
				configMap("t-changed", "settings", "", "color: blue\n  size: L"),
				configMap("t-changed", "same", "", "color: green"),
				deployment("t-changed", "web", "nginx:1.27")),
			roots: []Root{{Path: "apps/changed", Objects: objs(t,
				configMap("t-changed", "settings", "", "color: red\n  size: L"),
				configMap("t-changed", "same", "", "color: green"),
				deployment("t-changed", "web", "nginx:1.27"))}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				c := onlyChange(t, diffs, "v1/ConfigMap/t-changed/settings")
				wantAction(t, c, diff.Changed)
				wantLines(t, c.Diff, "-  color: blue", "+  color: red")
				if strings.Contains(c.Diff, "+  size") || strings.Contains(c.Diff, "-  size") {
					t.Errorf("unchanged field shows as changed:\n%s", c.Diff)
				}
				wantNotes(t, notes)
			},
		},
		{
			name: "object pruned",
			setup: func(t *testing.T) []string {
				return []string{
					kustomizationCRD(t),
					ns("t-pruned"),
					configMap("t-pruned", "keep", "app", "color: blue"),
					configMap("t-pruned", "gone", "app", "color: stale"),
					configMap("t-pruned", "optout", "app", "color: kept"),
					configMap("t-pruned", "unowned", "", "color: foreign"),
					configMap("t-pruned", "gone-noprune", "noprune", "color: stays"),
					`
apiVersion: v1
kind: ConfigMap
metadata:
  name: optout
  namespace: t-pruned
  annotations:
    kustomize.toolkit.fluxcd.io/prune: disabled
`,
					kustomization("t-pruned", "app", true,
						"t-pruned_keep__ConfigMap", "t-pruned_gone__ConfigMap", "t-pruned_optout__ConfigMap",
						"t-pruned_unowned__ConfigMap", "t-pruned_deleted-already__ConfigMap"),
					kustomization("t-pruned", "noprune", false, "t-pruned_gone-noprune__ConfigMap"),
				}
			},
			roots: []Root{
				{Path: "apps/pruned", Kustomization: "t-pruned/app", Objects: objs(t, configMap("t-pruned", "keep", "app", "color: blue"))},
				{Path: "apps/noprune", Kustomization: "t-pruned/noprune"},
			},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				c := onlyChange(t, diffs, "v1/ConfigMap/t-pruned/gone")
				wantAction(t, c, diff.Removed)
				wantLines(t, c.Diff, "-  color: stale")
				if diffs[0].Kustomization != "t-pruned/app" {
					t.Errorf("Kustomization = %q, want t-pruned/app", diffs[0].Kustomization)
				}
				wantNotes(t, notes, Note{Root: "apps/noprune", Reason: ReasonPruneDisabled,
					Message: "the Kustomization t-pruned/noprune does not prune (spec.prune: false): 1 object(s) it no longer renders stay in the cluster"})
			},
		},
		{
			name: "object pruned by ownership labels",
			setup: docs(ns("t-labels"),
				configMap("t-labels", "keep", "labelled", "color: blue"),
				configMap("t-labels", "gone", "labelled", "color: stale"),
				configMap("t-labels", "other", "someone-else", "color: theirs")),
			roots: []Root{{Path: "apps/labels", Kustomization: "t-labels/labelled",
				Objects: objs(t, configMap("t-labels", "keep", "labelled", "color: blue"))}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				c := onlyChange(t, diffs, "v1/ConfigMap/t-labels/gone")
				wantAction(t, c, diff.Removed)
				wantNotes(t, notes)
			},
		},
		{
			name: "CRD-backed object",
			setup: docs(ns("t-crd"),
				crd("widgets", "Widget", "t-crd.example.com"),
				widget("Widget", "t-crd.example.com", "t-crd", "w1", 1)),
			roots: []Root{{Path: "apps/crd", Objects: objs(t,
				widget("Widget", "t-crd.example.com", "t-crd", "w1", 2),
				crd("gadgets", "Gadget", "t-crd.example.com"),
				widget("Gadget", "t-crd.example.com", "t-crd", "g1", 3),
				widget("Doohickey", "nowhere.example.com", "t-crd", "d1", 4))}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				got := changesByObject(diffs)
				want := map[string]diff.Action{
					"apiextensions.k8s.io/v1/CustomResourceDefinition/gadgets.t-crd.example.com": diff.Added,
					"t-crd.example.com/v1/Gadget/t-crd/g1":                                       diff.Added,
					"t-crd.example.com/v1/Widget/t-crd/w1":                                       diff.Changed,
				}
				if d := cmp.Diff(want, actions(got)); d != "" {
					t.Fatalf("changes (-want +got):\n%s", d)
				}
				wantLines(t, got["t-crd.example.com/v1/Widget/t-crd/w1"].Diff, "-  size: 1", "+  size: 2")
				wantLines(t, got["t-crd.example.com/v1/Gadget/t-crd/g1"].Diff, "+  size: 3")
				wantNotes(t, notes, Note{Root: "apps/crd", Object: "nowhere.example.com/v1/Doohickey/t-crd/d1", Reason: ReasonKindNotFound,
					Message: "the cluster does not serve nowhere.example.com/v1 Doohickey and no root renders its CustomResourceDefinition: Flux cannot apply it"})
			},
		},
		{
			name: "namespace missing",
			roots: []Root{{Path: "apps/ns", Objects: objs(t,
				configMap("t-ghost", "orphan", "", "color: grey"),
				ns("t-fresh"),
				configMap("t-fresh", "settings", "", "color: new"))}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				got := changesByObject(diffs)
				want := map[string]diff.Action{
					"v1/ConfigMap/t-fresh/settings": diff.Added,
					"v1/ConfigMap/t-ghost/orphan":   diff.Added,
					"v1/Namespace/t-fresh":          diff.Added,
				}
				if d := cmp.Diff(want, actions(got)); d != "" {
					t.Fatalf("changes (-want +got):\n%s", d)
				}
				wantLines(t, got["v1/ConfigMap/t-ghost/orphan"].Diff, "+  color: grey")
				wantNotes(t, notes, Note{Root: "apps/ns", Namespace: "t-ghost", Reason: ReasonNamespaceNotFound,
					Message: "does not exist and no root creates it: Flux cannot apply the objects in it until it does"})
			},
		},
		{
			name: "secret changed",
			setup: docs(ns("t-secret"), `
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: t-secret
data:
  token: `+b64(canaryOld)+`
  user: `+b64("admin-user")+`
`),
			roots: []Root{{Path: "apps/secret", Objects: objs(t, `
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: t-secret
stringData:
  token: `+canaryNew+`
  user: admin-user
`, `
apiVersion: v1
kind: Secret
metadata:
  name: fresh
  namespace: t-secret
data:
  key: `+b64(canaryAdded)+`
`)}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				got := changesByObject(diffs)
				want := map[string]diff.Action{
					"v1/Secret/t-secret/creds": diff.Changed,
					"v1/Secret/t-secret/fresh": diff.Added,
				}
				if d := cmp.Diff(want, actions(got)); d != "" {
					t.Fatalf("changes (-want +got):\n%s", d)
				}
				wantLines(t, got["v1/Secret/t-secret/creds"].Diff, "-  token: '*** (before)'", "+  token: '*** (after)'")
				if strings.Contains(got["v1/Secret/t-secret/creds"].Diff, "user") && strings.Contains(got["v1/Secret/t-secret/creds"].Diff, "+  user") {
					t.Errorf("unchanged key shows as changed:\n%s", got["v1/Secret/t-secret/creds"].Diff)
				}
				wantNotes(t, notes)
			},
		},
		{
			name: "SOPS secret compared by keys",
			setup: docs(ns("t-sops"), `
apiVersion: v1
kind: Secret
metadata:
  name: enc
  namespace: t-sops
data:
  a: `+b64(canaryOld)+`
  b: `+b64("bbbb-value")+`
`),
			roots: []Root{{Path: "apps/sops", Objects: objs(t, `
apiVersion: v1
kind: Secret
metadata:
  name: enc
  namespace: t-sops
data:
  a: ENC[AES256_GCM,data:Zm9v,iv:aXY=,tag:dGFn,type:str]
  c: ENC[AES256_GCM,data:YmFy,iv:aXY=,tag:dGFn,type:str]
sops:
  version: 3.9.0
`)}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				c := onlyChange(t, diffs, "v1/Secret/t-sops/enc")
				wantAction(t, c, diff.Changed)
				wantLines(t, c.Diff, "   a: '***'", "-  b: '***'", "+  c: '***'")
				wantNotes(t, notes)
			},
		},
		{
			name: "Flux annotations: force, ssa, reconcile",
			setup: docs(ns("t-flux"),
				deploymentWith("t-flux", "forced", "web", ""),
				deploymentWith("t-flux", "strict", "web", ""),
				configMap("t-flux", "ignored", "", "color: blue"),
				configMap("t-flux", "once", "", "color: blue")),
			roots: []Root{{Path: "apps/flux", Objects: objs(t,
				deploymentWith("t-flux", "forced", "web2", "kustomize.toolkit.fluxcd.io/force: enabled"),
				deploymentWith("t-flux", "strict", "web2", ""),
				`
apiVersion: v1
kind: ConfigMap
metadata:
  name: ignored
  namespace: t-flux
  annotations:
    kustomize.toolkit.fluxcd.io/reconcile: disabled
data:
  color: red
`, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: once
  namespace: t-flux
  labels:
    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent
data:
  color: red
`)}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				c := onlyChange(t, diffs, "apps/v1/Deployment/t-flux/forced")
				wantAction(t, c, diff.Changed)
				wantLines(t, c.Diff, "-      app: web", "+      app: web2")
				if len(notes) != 4 {
					t.Fatalf("notes = %v, want 4", notes)
				}
				want := []struct {
					object string
					reason Reason
					text   string
				}{
					{"apps/v1/Deployment/t-flux/forced", ReasonRecreate, "Flux deletes and recreates it"},
					{"apps/v1/Deployment/t-flux/strict", ReasonDryRunFailed, "field is immutable"},
					{"v1/ConfigMap/t-flux/ignored", ReasonSkipped, "kustomize.toolkit.fluxcd.io/reconcile: disabled"},
					{"v1/ConfigMap/t-flux/once", ReasonSkipped, "kustomize.toolkit.fluxcd.io/ssa: IfNotPresent and it exists"},
				}
				for i, w := range want {
					n := notes[i]
					if n.Object != w.object || n.Reason != w.reason || !strings.Contains(n.Message, w.text) {
						t.Errorf("note %d = %+v, want %s %s containing %q", i, n, w.object, w.reason, w.text)
					}
				}
			},
		},
		{
			name:  "server warning",
			setup: docs(ns("t-warn")),
			roots: []Root{{Path: "apps/warn", Objects: objs(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: spread
  namespace: t-warn
spec:
  selector:
    matchLabels: {app: spread}
  template:
    metadata:
      labels: {app: spread}
    spec:
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}
      containers:
      - {name: main, image: nginx:1.27}
`)}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				onlyChange(t, diffs, "apps/v1/Deployment/t-warn/spread")
				wantNotes(t, notes, Note{Root: "apps/warn", Object: "apps/v1/Deployment/t-warn/spread", Reason: ReasonWarning,
					Message: "spec.template.spec.topologySpreadConstraints[0].labelSelector: a null labelSelector results in matching no pod"})
			},
		},
		{
			name:   "forbidden namespace",
			setup:  docs(ns("t-forbidden")),
			viewer: true,
			roots: []Root{{Path: "apps/forbidden", Objects: objs(t,
				configMap("t-forbidden", "settings", "", "color: blue"))}},
			check: func(t *testing.T, diffs []diff.RootDiff, notes []Note) {
				if len(diffs) != 0 {
					t.Errorf("diffs = %+v, want none", diffs)
				}
				wantNotes(t, notes, Note{Root: "apps/forbidden", Namespace: "t-forbidden", Reason: ReasonForbidden,
					Message: "forbidden: the user cannot read it; its objects are left out"})
				if got := notes[0].String(); got != "apps/forbidden: namespace t-forbidden: forbidden: the user cannot read it; its objects are left out" {
					t.Errorf("String() = %q", got)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tc.setup != nil {
				applyDocs(t, admin, tc.setup(t))
			}
			cfg := admin
			if tc.viewer {
				cfg = srv.ViewerRESTConfig()
			}
			began := time.Now()
			diffs, notes, err := Diff(ctx, cfg, tc.roots, Options{})
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			var text strings.Builder
			if err := diff.WriteText(&text, diffs, false); err != nil {
				t.Fatal(err)
			}
			t.Logf("Diff took %s:\n%s%v", time.Since(began).Round(time.Millisecond), text.String(), notes)
			tc.check(t, diffs, notes)
			assertNoCanary(t, diffs, notes, nil)

			// The same answer one request at a time: the order of the
			// output does not depend on the order of the answers.
			again, againNotes, err := Diff(ctx, cfg, tc.roots, Options{Concurrency: 1})
			if err != nil {
				t.Fatalf("Diff (Concurrency 1): %v", err)
			}
			if d := cmp.Diff(diffs, again); d != "" {
				t.Errorf("diffs differ with Concurrency 1 (-default +1):\n%s", d)
			}
			if d := cmp.Diff(notes, againNotes); d != "" {
				t.Errorf("notes differ with Concurrency 1 (-default +1):\n%s", d)
			}
		})
	}
}

func TestDiffUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more
	const token = "token-never-printed-5d2c"
	cfg := &rest.Config{Host: "https://" + addr, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	roots := []Root{{Path: "apps/x", Objects: objs(t, configMap("default", "settings", "", "color: blue"))}}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	diffs, notes, err := Diff(ctx, cfg, roots, Options{})
	if err == nil {
		t.Fatalf("Diff = %v, %v, nil; want an error", diffs, notes)
	}
	want := "cannot reach the cluster at https://" + addr + ": connection refused"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	var unreachable *UnreachableError
	if !errors.As(err, &unreachable) || unreachable.Server != "https://"+addr {
		t.Errorf("error %#v is not an *UnreachableError for https://%s", err, addr)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error shows the token: %v", err)
	}
}

func TestDiffBadCredentials(t *testing.T) {
	srv := sharedServer(t)
	cfg := srv.RESTConfig()
	cfg.BearerToken = "wrong-token-never-printed"
	_, _, err := Diff(context.Background(), cfg, nil, Options{})
	want := "cannot reach the cluster at " + srv.URL + ": the server refused the credentials (401 Unauthorized)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestDiffBadIgnore(t *testing.T) {
	_, _, err := Diff(context.Background(), &rest.Config{Host: "https://127.0.0.1:1"}, nil, Options{Ignore: []string{"spec..replicas"}})
	if err == nil || !strings.Contains(err.Error(), "empty path element") {
		t.Errorf("error = %v, want the bad --ignore path named", err)
	}
}

// assertNoCanary fails when a canary Secret value, raw or base64-encoded,
// appears in any output.
func assertNoCanary(t *testing.T, diffs []diff.RootDiff, notes []Note, err error) {
	t.Helper()
	data, jerr := json.Marshal(struct {
		Diffs []diff.RootDiff
		Notes []Note
	}{diffs, notes})
	if jerr != nil {
		t.Fatal(jerr)
	}
	out := string(data)
	for _, n := range notes {
		out += "\n" + n.String()
	}
	for _, d := range diffs {
		for _, c := range d.Changes {
			out += "\n" + c.Diff
		}
	}
	if err != nil {
		out += "\n" + err.Error()
	}
	for _, v := range []string{canaryOld, canaryNew, canaryAdded} {
		for _, form := range []string{v, b64(v)} {
			if strings.Contains(out, form) {
				t.Errorf("output shows the Secret value %q", form)
			}
		}
	}
}

func onlyChange(t *testing.T, diffs []diff.RootDiff, object string) diff.Change {
	t.Helper()
	got := changesByObject(diffs)
	if _, ok := got[object]; !ok || len(got) != 1 {
		t.Fatalf("changes = %v, want only %s", actions(got), object)
	}
	return got[object]
}

func changesByObject(diffs []diff.RootDiff) map[string]diff.Change {
	out := map[string]diff.Change{}
	for _, d := range diffs {
		for _, c := range d.Changes {
			out[c.Object] = c
		}
	}
	return out
}

func actions(changes map[string]diff.Change) map[string]diff.Action {
	out := map[string]diff.Action{}
	for k, c := range changes {
		out[k] = c.Action
	}
	return out
}

func wantAction(t *testing.T, c diff.Change, want diff.Action) {
	t.Helper()
	if c.Action != want {
		t.Errorf("%s: action = %s, want %s\n%s", c.Object, c.Action, want, c.Diff)
	}
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("diff lacks the line %q:\n%s", l, text)
		}
	}
}

func wantNotes(t *testing.T, got []Note, want ...Note) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if len(got) == 0 {
		got = nil
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func docs(d ...string) func(*testing.T) []string {
	return func(*testing.T) []string { return d }
}

func ns(name string) string {
	return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n"
}

// configMap is a ConfigMap with the data lines given; owner, when set,
// names the Kustomization in its namespace whose ownership labels it has.
func configMap(namespace, name, owner, data string) string {
	labels := ""
	if owner != "" {
		labels = "\n  labels:\n    kustomize.toolkit.fluxcd.io/name: " + owner + "\n    kustomize.toolkit.fluxcd.io/namespace: " + namespace
	}
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: " + namespace + labels + "\ndata:\n  " + data + "\n"
}

func deployment(namespace, name, image string) string {
	return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: ` + namespace + `
spec:
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      containers:
      - name: main
        image: ` + image + `
        ports:
        - containerPort: 80
`
}

// deploymentWith is a Deployment selecting app: app, with one annotation
// ("key: value") when set.
func deploymentWith(namespace, name, app, annotation string) string {
	ann := ""
	if annotation != "" {
		ann = "\n  annotations:\n    " + annotation
	}
	return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: ` + namespace + ann + `
spec:
  selector:
    matchLabels: {app: ` + app + `}
  template:
    metadata:
      labels: {app: ` + app + `}
    spec:
      containers:
      - name: main
        image: nginx:1.27
`
}

func kustomization(namespace, name string, prune bool, inventory ...string) string {
	var entries strings.Builder
	for _, id := range inventory {
		entries.WriteString("    - id: " + id + "\n      v: v1\n")
	}
	p := "false"
	if prune {
		p = "true"
	}
	return `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ` + name + `
  namespace: ` + namespace + `
spec:
  interval: 10m
  path: ./apps
  prune: ` + p + `
  sourceRef:
    kind: GitRepository
    name: flux-system
status:
  inventory:
    entries:
` + entries.String()
}

func crd(plural, kind, group string) string {
	return `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ` + plural + `.` + group + `
spec:
  group: ` + group + `
  names:
    kind: ` + kind + `
    listKind: ` + kind + `List
    plural: ` + plural + `
    singular: ` + strings.ToLower(kind) + `
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
              size:
                type: integer
`
}

func widget(kind, group, namespace, name string, size int) string {
	return "apiVersion: " + group + "/v1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n  namespace: " + namespace +
		"\nspec:\n  size: " + strconv.Itoa(size) + "\n"
}

// objs parses YAML documents into rendered objects.
func objs(t *testing.T, docs ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range docs {
		var m map[string]any
		if err := sigsyaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("parsing %s: %v", d, err)
		}
		out = append(out, m)
	}
	return out
}

// applyDocs applies each document with server-side apply as
// kustomize-controller does, then its status through the status
// subresource, and waits for a CRD to be served.
func applyDocs(t *testing.T, cfg *rest.Config, docs []string) {
	t.Helper()
	ctx := context.Background()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	opts := metav1.ApplyOptions{FieldManager: DefaultFieldManager, Force: true}
	for _, m := range objs(t, docs...) {
		u := &unstructured.Unstructured{Object: m}
		status, hasStatus := m["status"]
		delete(m, "status")
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("mapping %s: %v", gvk, err)
		}
		var res dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			res = dyn.Resource(mapping.Resource).Namespace(u.GetNamespace())
		}
		if _, err := res.Apply(ctx, u.GetName(), u, opts); err != nil {
			t.Fatalf("applying %s %s: %v", gvk.Kind, u.GetName(), err)
		}
		if hasStatus {
			u.Object["status"] = status
			if _, err := res.ApplyStatus(ctx, u.GetName(), u, opts); err != nil {
				t.Fatalf("applying the status of %s %s: %v", gvk.Kind, u.GetName(), err)
			}
		}
		if u.GetKind() == "CustomResourceDefinition" {
			waitServed(t, dc, u)
			mapper.Reset()
		}
	}
}

// waitServed waits until discovery lists the CRD's kind.
func waitServed(t *testing.T, dc discovery.DiscoveryInterface, crd *unstructured.Unstructured) {
	t.Helper()
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	version, _ := versions[0].(map[string]any)["name"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := dc.ServerResourcesForGroupVersion(group + "/" + version)
		if err == nil {
			for _, r := range list.APIResources {
				if r.Kind == kind {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s %s not served after 30s (last error: %v)", group, version, kind, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
