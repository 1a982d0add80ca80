package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv/apiserver"
)

// TestSchemaAgainstAPIServer holds validate's schema check to the real
// kube-apiserver: every object the examples, every-rule and schema-cases
// render goes through `validate -o json` and through a server-side dry-run
// create with strict field validation, the CRDs they define installed.
//
//   - An object validate calls invalid, the server must refuse, at the
//     field validate names: a false alarm fails the test.
//   - A custom resource the server refuses, validate must have called
//     invalid at that field: its validation is the CRD's schema and rules.
//   - A built-in object the server refuses while decoding (an unknown
//     field, a value of the wrong type: 400) validate must have called
//     invalid too. The server's Go validation of built-in kinds (422: a
//     selector that does not match, a name too long) is beyond schemas
//     and not asked of validate.
func TestSchemaAgainstAPIServer(t *testing.T) {
	srv := apiserver.Start(t)
	helmDir, _, _ := helmPlatform(t)
	app, flux := sockShop(t)
	cases := gittest.Init(t, t.TempDir())
	cases.CommitFiles(t, "schema cases", gittest.CopyTree(t, filepath.Join("..", "testdata", "validate", "schema-cases")))
	rule := gittest.Init(t, t.TempDir())
	rule.CommitFiles(t, "every rule", gittest.CopyTree(t, filepath.Join("..", "testdata", "validate", "every-rule")))

	s := newServerCheck(t, srv)
	flagged, refused := 0, 0
	for _, repo := range []struct{ name, dir string }{
		{"flux-repo", flux.Dir}, {"microservices-repo", app.Dir}, {"helm-platform", helmDir},
		{"every-rule", rule.Dir}, {"schema-cases", cases.Dir},
	} {
		objects := renderedObjects(t, repo.dir)
		ours := schemaFindings(t, repo.dir)
		s.install(objects)
		for _, id := range sortedKeys(objects) {
			verdict, checked := s.dryRun(objects[id])
			if !checked {
				continue
			}
			mine := ours[id]
			if len(mine) > 0 {
				flagged++
			}
			if verdict != nil {
				refused++
			}
			where := repo.name + " " + id
			switch {
			case len(mine) > 0 && verdict == nil:
				t.Errorf("%s: validate says %q, the API server takes it", where, mine)
			case len(mine) > 0:
				if fields := serverFields(verdict); len(fields) > 0 && !namesOneOf(mine, fields) {
					t.Errorf("%s: validate says %q, the API server names %q (%v)", where, mine, fields, verdict)
				}
			case verdict != nil && (isCustom(objects[id]) || apierrors.IsBadRequest(verdict)):
				t.Errorf("%s: the API server refuses it (%v), validate does not", where, verdict)
			}
		}
	}
	t.Logf("%d objects checked, %d refused by the API server, %d flagged by validate", s.checked, refused, flagged)
	if refused < 15 || flagged < 15 {
		t.Errorf("only %d refused and %d flagged: the schema cases did not run", refused, flagged)
	}
}

// renderedObjects returns the objects `render --all -o json` gives in dir,
// those of HelmReleases included, by validate's object id.
func renderedObjects(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	r := run(t, dir, nil, "render", "--all", "-o", "json")
	var out struct {
		Roots []struct {
			Objects  []map[string]any
			Releases []struct{ Objects []map[string]any }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("render in %s: exit %d, %v\n%s", dir, r.code, err, r.stderr)
	}
	objects := map[string]map[string]any{}
	add := func(o map[string]any) {
		u := unstructured.Unstructured{Object: o}
		id := u.GetAPIVersion() + "/" + u.GetKind() + "/"
		if ns := u.GetNamespace(); ns != "" {
			id += ns + "/"
		}
		objects[id+u.GetName()] = o
	}
	for _, root := range out.Roots {
		for _, o := range root.Objects {
			add(o)
		}
		for _, rel := range root.Releases {
			for _, o := range rel.Objects {
				add(o)
			}
		}
	}
	return objects
}

// schemaFindings returns the messages of validate's schema findings in
// dir, by object id.
func schemaFindings(t *testing.T, dir string) map[string][]string {
	t.Helper()
	r := run(t, dir, nil, "validate", "--all", "-o", "json", "--kubernetes-version", "v1.37.2")
	var out struct {
		Findings []struct{ Rule, Object, Message string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("validate in %s: exit %d, %v\n%s", dir, r.code, err, r.stderr)
	}
	found := map[string][]string{}
	for _, f := range out.Findings {
		if f.Rule == "schema" {
			found[f.Object] = append(found[f.Object], f.Message)
		}
	}
	return found
}

// unknownFields matches the field of a strict decoding error, goFields
// that of a value that does not decode into its Go type.
var (
	unknownFields = regexp.MustCompile(`unknown field "([^"]+)"`)
	goFields      = regexp.MustCompile(`Go struct field \w+\.(\S+) of type`)
	listIndex     = regexp.MustCompile(`\[[^\]]*\]`)
)

// serverFields returns the fields a refusal names: the causes of a 422,
// the unknown fields of a strict decoding error, the Go field a value did
// not decode into; none when it names none (a quantity that does not
// parse).
func serverFields(err error) []string {
	var fields []string
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Details != nil {
		for _, c := range status.Status().Details.Causes {
			if c.Field != "" && c.Field != "<nil>" {
				fields = append(fields, c.Field)
			}
		}
	}
	for _, re := range []*regexp.Regexp{unknownFields, goFields} {
		for _, m := range re.FindAllStringSubmatch(err.Error(), -1) {
			fields = append(fields, m[1])
		}
	}
	return fields
}

// namesOneOf tells whether one of the findings names one of the fields,
// a field within it, or the field holding it (the server names a map, not
// its key, when a value does not decode); or the object's root, for a rule
// on the whole object.
func namesOneOf(findings, fields []string) bool {
	within := func(a, b string) bool {
		// Go field paths name no list index: compare without them.
		a, b = listIndex.ReplaceAllString(a, ""), listIndex.ReplaceAllString(b, "")
		return a == b || strings.HasPrefix(a, b+".")
	}
	for _, f := range findings {
		p := findingPath(f)
		for _, field := range fields {
			if p == "" || within(field, p) || within(p, field) {
				return true
			}
		}
	}
	return false
}

// findingPaths matches the field a schema finding names: `unknown field
// "P"`, or `P: ...`.
var findingPaths = regexp.MustCompile(`^(?:unknown field "([^"]+)"|([A-Za-z0-9_.\[\]-]+): )`)

// findingPath returns the field of a schema finding, "" for the object's
// root or its spec (a rule on the whole object).
func findingPath(msg string) string {
	m := findingPaths.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	if p := m[1] + m[2]; p != "spec" {
		return p
	}
	return ""
}

func isCustom(o map[string]any) bool {
	group, _, found := strings.Cut(fmt.Sprint(o["apiVersion"]), "/")
	return found && strings.Contains(group, ".") && !strings.HasSuffix(group, ".k8s.io")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// serverCheck dry-runs objects on a real API server.
type serverCheck struct {
	t       *testing.T
	dyn     dynamic.Interface
	disc    discovery.CachedDiscoveryInterface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	checked int
}

func newServerCheck(t *testing.T, srv *apiserver.Server) *serverCheck {
	cfg := srv.RESTConfig()
	cfg.WarningHandler = rest.NoWarnings{}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc := memory.NewMemCacheClient(dc)
	return &serverCheck{t: t, dyn: dyn, disc: disc, mapper: restmapper.NewDeferredDiscoveryRESTMapper(disc)}
}

// install creates, for real, the namespaces and the CRDs among objects and
// the namespaces the others name, and waits for the CRDs to be served.
func (s *serverCheck) install(objects map[string]map[string]any) {
	ctx := context.Background()
	namespaces := map[string]bool{}
	var crds []*unstructured.Unstructured
	for _, o := range objects {
		u := &unstructured.Unstructured{Object: o}
		if ns := u.GetNamespace(); ns != "" {
			namespaces[ns] = true
		}
		if u.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, u)
		}
	}
	nsRes := s.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	for ns := range namespaces {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
		if _, err := nsRes.Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			s.t.Fatalf("namespace %s: %v", ns, err)
		}
	}
	crdRes := s.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, c := range crds {
		if _, err := crdRes.Create(ctx, c.DeepCopy(), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			s.t.Fatalf("CRD %s: %v", c.GetName(), err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range crds {
		for {
			got, err := crdRes.Get(ctx, c.GetName(), metav1.GetOptions{})
			if err == nil && established(got) {
				break
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("CRD %s is not established: %v", c.GetName(), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	s.disc.Invalidate()
	s.mapper.Reset()
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// dryRun creates o on the server in dry-run mode with strict field
// validation, and returns the server's refusal, if any. checked is false
// for a kind the server does not serve (no CRD) and for an object the
// server refuses for another reason than its content.
func (s *serverCheck) dryRun(o map[string]any) (verdict error, checked bool) {
	u := &unstructured.Unstructured{Object: o}
	gvk := u.GroupVersionKind()
	if u.GetKind() == "Namespace" || u.GetKind() == "CustomResourceDefinition" {
		return nil, false // created for real by install
	}
	m, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		var noMatch *meta.NoKindMatchError
		if errors.As(err, &noMatch) || meta.IsNoMatchError(err) {
			return nil, false
		}
		s.t.Fatalf("mapping %s: %v", gvk, err)
	}
	var ri dynamic.ResourceInterface = s.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := u.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		ri = s.dyn.Resource(m.Resource).Namespace(ns)
	}
	_, err = ri.Create(context.Background(), u.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	switch {
	case err == nil:
		s.checked++
		return nil, true
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		s.checked++
		return err, true
	}
	s.t.Logf("not compared: %s %s/%s: %v", gvk, u.GetNamespace(), u.GetName(), err)
	return nil, false
}
