package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/kustomize/api/provider"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// comparePassThrough renders every root of the tree with and without
// passThrough and fails on any difference: the output byte for byte, the
// files read and everything observed (what a cached render is checked by),
// the children, origins and errors. It returns how many roots were passed
// through, and the results.
func comparePassThrough(t *testing.T, name string, tree repo.Tree, abs string) (int, []*Result) {
	t.Helper()
	render := func(e *Engine) (*Repository, []*Result) {
		disc, err := Discover(tree, Checkout{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := e.Render(context.Background(), disc, disc.Roots)
		if err != nil {
			t.Fatal(err)
		}
		return disc, res
	}
	opts := Options{Origins: true}
	passing := New(tree, abs, opts)
	_, fast := render(passing)
	exact := New(tree, abs, opts)
	exact.noPassThrough = true
	render(exact)
	// Every root each engine rendered, those its walk reached included.
	compared := 0
	passing.results.Range(func(key, v any) bool {
		res := v.(*Result)
		w, ok := exact.results.Load(key)
		if !ok {
			t.Errorf("%s: %s: rendered only when passing through", name, res.Root)
			return true
		}
		want := w.(*Result)
		compared++
		if (res.Err == nil) != (want.Err == nil) || res.Err != nil && res.Err.Error() != want.Err.Error() {
			t.Errorf("%s: %s: passed through: %v; kustomize: %v", name, res.Root, res.Err, want.Err)
			return true
		}
		if res.Err != nil {
			return true
		}
		if got, want := output(t, res), output(t, want); !bytes.Equal(got, want) {
			t.Errorf("%s: %s: output (-kustomize +passed through):\n%s", name, res.Root, cmp.Diff(string(want), string(got)))
		}
		if diff := cmp.Diff(facts(want), facts(res), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: %s: result (-kustomize +passed through):\n%s", name, res.Root, diff)
		}
		return true
	})
	if n := countMap(&exact.results); compared != n || n == 0 {
		t.Errorf("%s: %d renders compared, kustomize made %d", name, compared, n)
	}
	n := 0
	passing.results.Range(func(_, v any) bool {
		root := v.(*Result).Root
		if root.Kustomization == nil {
			return true
		}
		tree := tree
		if root.At != nil {
			tree = root.At.Tree
		}
		m, _, err := passing.kustomize(root, kfs.New(tree, abs, false), true)
		if _, ok := m.(*folderObjects); ok && err == nil {
			n++
		}
		return true
	})
	return n, fast
}

// comparePlainChildren holds plainChildren to the render of every root
// the tree's walks and roots render: where it reads a root's children,
// the root renders, with the same children. It returns how many roots it
// read.
func comparePlainChildren(t *testing.T, name string, tree repo.Tree, abs string) int {
	t.Helper()
	disc, err := Discover(tree, Checkout{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	exact := New(tree, abs, Options{})
	if _, err := exact.Render(context.Background(), disc, disc.Roots); err != nil {
		t.Fatal(err)
	}
	lazy := New(tree, abs, Options{LazyParents: true})
	read := 0
	exact.results.Range(func(_, v any) bool {
		want := v.(*Result)
		got, ok := lazy.plainChildren(disc, want.Root)
		if !ok {
			return true
		}
		read++
		if want.Err != nil {
			t.Errorf("%s: %s: children read from its files, but it does not render: %v", name, want.Root, want.Err)
			return true
		}
		if diff := cmp.Diff(walked(want.Children), walked(got.Children), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: %s: children (-rendered +read from its files):\n%s", name, want.Root, diff)
		}
		return true
	})
	return read
}

// walked is what the walk reads of children: a source's spec only as
// sourceOf reads it.
func walked(children []Child) []any {
	var out []any
	for _, c := range children {
		if !isSource(c.Kind) {
			out = append(out, c)
			continue
		}
		s := sourceOf(c, nil)
		c.Spec = nil
		out = append(out, c, s.URL, s.Ignore, s.Ref)
	}
	return out
}

func countMap(m *sync.Map) int {
	n := 0
	m.Range(func(_, _ any) bool { n++; return true })
	return n
}

// facts are what a Result says besides its output.
func facts(r *Result) []any {
	return []any{r.Inputs, r.Observations, r.Produced, r.Origins, r.Children, r.Unrendered, r.Unset, r.Outside, r.Absent, len(r.Releases)}
}

// TestPassThroughAsKustomize holds passThrough to kustomize on every root
// of the examples, the Flux fixtures and a generated fleet, where cluster
// folders of Flux objects pass through and everything else does not.
func TestPassThroughAsKustomize(t *testing.T) {
	total := 0
	for _, name := range []string{"microservices-repo", "flux-repo"} {
		g := exampleRepo(t, name)
		r, tree := openTree(t, g.Dir, "")
		n, _ := comparePassThrough(t, name, tree, r.Root)
		total += n
	}
	for _, name := range []string{"fleet", "homelab", "platform", "tenants"} {
		g := fluxFixture(t, name, "", nil)
		r, tree := openTree(t, g.Dir, "")
		n, _ := comparePassThrough(t, name, tree, r.Root)
		total += n
	}
	r, tree := openTree(t, generated(t, 5), "")
	fleet, _ := comparePassThrough(t, "generated", tree, r.Root)
	if fleet != len(benchgen.Envs()) {
		t.Errorf("generated: %d roots passed through, want its %d cluster folders", fleet, len(benchgen.Envs()))
	}
	t.Logf("%d roots of the examples and fixtures passed through", total)
}

// TestPlainChildrenAsRender holds plainChildren to the render on every
// root of the examples, the Flux fixtures and a generated fleet, whose
// cluster folders it reads.
func TestPlainChildrenAsRender(t *testing.T) {
	for _, name := range []string{"microservices-repo", "flux-repo"} {
		g := exampleRepo(t, name)
		r, tree := openTree(t, g.Dir, "")
		comparePlainChildren(t, name, tree, r.Root)
	}
	for _, name := range []string{"fleet", "homelab", "platform", "tenants"} {
		g := fluxFixture(t, name, "", nil)
		r, tree := openTree(t, g.Dir, "")
		comparePlainChildren(t, name, tree, r.Root)
	}
	r, tree := openTree(t, generated(t, 5), "")
	if n := comparePlainChildren(t, "generated", tree, r.Root); n != len(benchgen.Envs()) {
		t.Errorf("generated: the children of %d roots read from their files, want its %d cluster folders", n, len(benchgen.Envs()))
	}
}

// clusterSync is the cluster's sync, written in the folder it applies, with
// what the folder's files substitute.
var clusterSync = string(gittest.FluxSync("https://example.com/fleet.git", "clusters/prod")) + "  postBuild:\n    substitute: {CLUSTER: prod}\n"

// appsResourceSet generates a Kustomization for each app.
func appsResourceSet(apps ...string) string {
	var inputs strings.Builder
	for _, app := range apps {
		inputs.WriteString("  - {app: " + app + "}\n")
	}
	return "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  inputs:\n" + inputs.String() +
		"  resources:\n  - apiVersion: kustomize.toolkit.fluxcd.io/v1\n    kind: Kustomization\n    metadata: {name: \"<< inputs.app >>\", namespace: flux-system}\n    spec: {interval: 1m, path: \"./apps/<< inputs.app >>\", sourceRef: {kind: GitRepository, name: flux-system}}\n"
}

func ks(name, ns, extra string) string {
	return fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: %s
spec:
  interval: 10m
  path: ./apps/%s
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
%s`, name, ns, name, extra)
}

// TestPassThroughFolders writes cluster folders of the shapes that could
// trip a pass-through and holds each render to kustomize's: passThrough
// takes the folder, or leaves it to kustomize, and the result is the same.
func TestPassThroughFolders(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		passed bool
		err    string // in the cluster folder's error, both ways
		// plain: plainChildren reads the folder's children, when the
		// sync that applies it substitutes nothing.
		plain bool
	}{{
		name: "comments, quotes, empty documents, a namespace",
		files: map[string]string{
			"a.yaml": "# apps\n---\n" + ks("a", "flux-system", "  # the default\n  timeout: \"5m\"\n") + "---\n---\n",
			"b.yml":  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: 'apps' # quoted\n---\n" + ks("b", "flux-system", "  wait: true\n"),
		},
		passed: true,
	}, {
		name: "variables the sync substitutes",
		files: map[string]string{
			"a.yaml": ks("a", "flux-system", "  postBuild:\n    substitute:\n      CLUSTER: ${CLUSTER}\n"),
		},
		passed: true,
		plain:  true,
	}, {
		name: "a List of Kustomizations, expanded after the file's other objects",
		files: map[string]string{
			"list.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: kustomize.toolkit.fluxcd.io/v1\n  kind: Kustomization\n  metadata: {name: x, namespace: flux-system}\n  spec: {interval: 1m, path: ./x, sourceRef: {kind: GitRepository, name: flux-system}}\n---\n" + ks("y", "flux-system", ""),
		},
		passed: true,
	}, {
		name: "local-config objects, left to kustomize",
		files: map[string]string{
			"a.yaml": ks("a", "flux-system", "") + "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: local\n  namespace: flux-system\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\nspec: {interval: 1m, path: ./l, sourceRef: {kind: GitRepository, name: flux-system}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: kept\n  namespace: flux-system\n  annotations:\n    config.kubernetes.io/local-config: \"false\"\nspec: {interval: 1m, path: ./k, sourceRef: {kind: GitRepository, name: flux-system}}\n",
		},
		passed: false,
	}, {
		name: "kustomize's own annotations, left to kustomize",
		files: map[string]string{
			"a.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\n  namespace: flux-system\n  annotations:\n    kustomize.config.k8s.io/behavior: merge\n    config.kubernetes.io/origin: |\n      path: x.yaml\n    alpha.config.kubernetes.io/transformations: |\n      - kind: x\n    team: core\nspec: {interval: 1m, path: ./a, sourceRef: {kind: GitRepository, name: flux-system}}\n",
			"b.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: b\n  namespace: flux-system\n  annotations:\n    internal.config.kubernetes.io/previousNames: x\n    internal.config.kubernetes.io/needsHashSuffix: enabled\nspec: {interval: 1m, path: ./b, sourceRef: {kind: GitRepository, name: flux-system}}\n",
		},
		passed: false,
		err:    "kustomize panicked: number of previous names",
	}, {
		name: "anchors and aliases",
		files: map[string]string{
			"a.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a, namespace: flux-system, labels: &l {team: core}}\nspec:\n  interval: &i 10m\n  retryInterval: *i\n  path: ./a\n  sourceRef: {kind: GitRepository, name: flux-system}\n  commonMetadata: {labels: *l}\n",
		},
		passed: true,
		plain:  true,
	}, {
		name: "the same object in two files",
		files: map[string]string{
			"a.yaml": ks("a", "flux-system", ""),
			"b.yaml": ks("a", "flux-system", ""),
		},
		err: "may not add resource with an already registered id: Kustomization.v1.kustomize.toolkit.fluxcd.io/a.flux-system",
	}, {
		name: "the same object in one file",
		files: map[string]string{
			"a.yaml": ks("a", "flux-system", "") + "---\n" + ks("a", "flux-system", ""),
		},
		err: "accumulating resources from './a.yaml': may not add resource with an already registered id",
	}, {
		name: "the default namespace written and not",
		files: map[string]string{
			"a.yaml": ks("a", "default", ""),
			"b.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec: {interval: 1m, path: ./a, sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}}\n",
		},
		err: "already registered id: Kustomization.v1.kustomize.toolkit.fluxcd.io/a.[noNs]",
	}, {
		name: "one name in two namespaces",
		files: map[string]string{
			"a.yaml": ks("a", "flux-system", ""),
			"b.yaml": ks("a", "apps", ""),
		},
		passed: true,
		plain:  true,
	}, {
		name: "a Namespace twice, one with a namespace set",
		files: map[string]string{
			"a.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
			"b.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps, namespace: x}\n",
		},
		err: "already registered id: Namespace.v1.[noGrp]/apps.x",
	}, {
		name: "objects kustomize's configuration names",
		files: map[string]string{
			"a.yaml": ks("a", "flux-system", ""),
			"b.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: apps}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb, namespace: apps}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects:\n- {kind: ServiceAccount, name: \"sa\", namespace: apps}\n",
		},
	}, {
		name: "a file that is not YAML",
		files: map[string]string{
			"a.yaml": ks("a", "flux-system", ""),
			"b.yaml": "kind: [unclosed\n",
		},
		err: "clusters/prod/b.yaml: failed to decode Kubernetes YAML",
	}, {
		name: "an object without a name",
		files: map[string]string{
			"a.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {namespace: flux-system}\nspec: {interval: 1m, path: ./a, sourceRef: {kind: GitRepository, name: flux-system}}\n",
		},
		err: "missing metadata.name",
	}, {
		name: "a folder below without a kustomization file",
		files: map[string]string{
			"a.yaml":       ks("a", "flux-system", ""),
			"more/b.yaml":  ks("b", "flux-system", ""),
			"more/c.txt":   "not read",
			"more/d/e.yml": ks("e", "flux-system", ""),
		},
		passed: true,
		plain:  true,
	}, {
		name: "a folder below with a kustomization file",
		files: map[string]string{
			"a.yaml":                  ks("a", "flux-system", ""),
			"more/kustomization.yaml": "resources: [b.yaml]\n",
			"more/b.yaml":             ks("b", "flux-system", ""),
			"more/not-listed/c.yaml":  ks("c", "flux-system", ""),
			"other/kustomization.yml": "resources: [d.yaml]\n",
			"other/d.yaml":            ks("d", "flux-system", ""),
		},
	}, {
		name: "a ResourceSet generating Kustomizations",
		files: map[string]string{
			"rs.yaml": appsResourceSet("one", "two"),
		},
		passed: true,
	}, {
		name: "a ResourceSet generating an object the folder holds",
		files: map[string]string{
			"a.yaml":  ks("one", "flux-system", ""),
			"rs.yaml": appsResourceSet("one"),
		},
		passed: true,
		err:    "it generates Kustomization flux-system/one, which this root renders already",
	}, {
		name: "substitution that makes two objects one",
		files: map[string]string{
			"a.yaml": ks("app-prod", "flux-system", ""),
			"b.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app-${CLUSTER}\n  namespace: flux-system\nspec: {interval: 1m, path: ./a, sourceRef: {kind: GitRepository, name: flux-system}}\n",
		},
		passed: true,
		err:    "in Replace: id matched 2 resources",
		plain:  true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"clusters/prod/sync.yaml": clusterSync}
			for name, data := range tt.files {
				files["clusters/prod/"+name] = data
			}
			for name, data := range files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			passed, results := comparePassThrough(t, tt.name, repo.NewWorkTree(dir), dir)
			if (passed > 0) != tt.passed {
				t.Errorf("%d roots passed through, want passed %v", passed, tt.passed)
			}
			// Applied by a sync that substitutes nothing, the folder's
			// children are read from its files where they are plain.
			sync := filepath.Join(dir, "clusters/prod/sync.yaml")
			if err := os.WriteFile(sync, gittest.FluxSync("https://example.com/fleet.git", "clusters/prod"), 0o644); err != nil {
				t.Fatal(err)
			}
			if read := comparePlainChildren(t, tt.name, repo.NewWorkTree(dir), dir); (read > 0) != tt.plain {
				t.Errorf("the children of %d roots read from their files, want read %v", read, tt.plain)
			}
			for _, res := range results {
				if res.Root.Path != "clusters/prod" {
					continue
				}
				if res.Err == nil && tt.err != "" || res.Err != nil && (tt.err == "" || !strings.Contains(res.Err.Error(), tt.err)) {
					t.Errorf("the cluster's render fails with %v, want %q", res.Err, tt.err)
				}
			}
		})
	}
}

// FuzzReadObjects holds readObjects to kustomize's resource factory: the
// same error, and the same objects, node for node.
func FuzzReadObjects(f *testing.F) {
	for _, tt := range printCases {
		f.Add([]byte(tt.data))
	}
	f.Add([]byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations: {config.kubernetes.io/local-config: \"true\"}\n---\n---\nkind: x\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: [a, ~, b]\n"))
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 || bytes.Count(data, []byte("*")) > 8 {
			return // aliases of aliases grow exponentially
		}
		want, wantErr := decodeSafely(rf, data)
		got, gotErr := readObjects(rf, data)
		if (wantErr != nil) != (gotErr != nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Fatalf("error %v, the factory's %v", gotErr, wantErr)
		}
		if len(got) != len(want) {
			t.Fatalf("%d objects, the factory reads %d", len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i].YNode(), want[i].YNode()) {
				t.Fatalf("object %d read as\n%s\nthe factory reads\n%s", i, got[i].String(), want[i].String())
			}
		}
	})
}

// TestFlightsRenderOnce has two engines of a run render the same roots at
// once, as the two sides of a diff walk their clusters: each root is
// built by one, the other taking its render from the cache.
func TestFlightsRenderOnce(t *testing.T) {
	r, tree := openTree(t, generated(t, 5), "")
	c, err := cache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Cache: c, Flights: &Flights{}}
	var results [2][]*Result
	var wg sync.WaitGroup
	for i := range results {
		disc, err := Discover(tree, Checkout{})
		if err != nil {
			t.Fatal(err)
		}
		e := New(tree, r.Root, opts)
		wg.Go(func() {
			res, err := e.Render(context.Background(), disc, disc.Roots)
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	if len(results[0]) == 0 || len(results[0]) != len(results[1]) {
		t.Fatalf("%d and %d roots rendered", len(results[0]), len(results[1]))
	}
	for i, a := range results[0] {
		b := results[1][i]
		if a.Err != nil || b.Err != nil {
			t.Fatalf("%s: %v, %v", a.Root, a.Err, b.Err)
		}
		if !a.Cached && !b.Cached {
			t.Errorf("%s: built by both engines", a.Root)
		}
		if a.Digest != b.Digest && a.Digest != "" && b.Digest != "" {
			t.Errorf("%s: renders differ", a.Root)
		}
	}
}
