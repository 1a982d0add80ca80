package validate

import (
	"cmp"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-gitops/kubectl-gitops/internal/deprecation"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
	"github.com/kubectl-gitops/kubectl-gitops/internal/schema"
)

// reporter takes one finding of a root rule about an object.
type reporter func(id string, o *object, path []string, msg string, def Severity)

// rootRules are the rules that look at one root's objects at a time; their
// findings are cached with the root's render.
var rootRules = []string{"schema", "no-schema", "deprecated-api", "plain-secret", "duplicate-object"}

// checkRoots runs the root rules over every root in scope, from the memo
// where the root did not change and in parallel where it did. A kind with
// no schema is reported once in all.
func checkRoots(c *checker) error {
	any := false
	for _, id := range rootRules {
		any = any || c.enabled(id)
	}
	if !any {
		return nil
	}
	if _, err := c.schemas(); err != nil {
		return err
	}
	var roots []*render.Result
	for _, res := range c.scopedResults() {
		if res.Err == nil {
			roots = append(roots, res)
		}
	}
	roots = append(roots, c.unappliedFiles()...)
	found := make([][]rawFinding, len(roots))
	g, _ := errgroup.WithContext(c.ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, res := range roots {
		g.Go(func() error {
			f, err := c.facts(res)
			if err != nil {
				return err
			}
			raw, err := c.rootFindings(res)
			if err != nil {
				return fmt.Errorf("%s: %w", res.Root, err)
			}
			if res.Root.File || c.in.Repository.Unreached(res.Root) {
				// Nothing deploys these objects: what is wrong with
				// them fails nothing yet.
				raw = slices.Clone(raw)
				for j := range raw {
					raw[j].Default = Warning
				}
			}
			c.forgetObjects(res)
			c.mu.Lock()
			c.objectCount += f.Objects
			c.mu.Unlock()
			found[i] = raw
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// A kind with no schema is named at its first object in file order,
	// whichever roots were checked: the parts of a split check agree.
	noSchema := map[string]rawFinding{}
	for _, raw := range found {
		for _, r := range raw {
			if r.Rule != "no-schema" {
				c.addRaw(r)
				continue
			}
			if first, ok := noSchema[r.Message]; !ok || before(r.Finding, first.Finding) {
				noSchema[r.Message] = r
			}
		}
	}
	for _, msg := range slices.Sorted(maps.Keys(noSchema)) {
		c.addRaw(noSchema[msg])
	}
	return nil
}

// before orders findings by file, line and object.
func before(a, b Finding) bool {
	return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Object, b.Object)) < 0
}

// schemaOf validates objects against their schemas.
func schemaOf(c *checker, v *schema.Validator, objs []*object, report reporter) {
	results := validateAll(v, objs)
	noSchema := map[string]bool{}
	for i, o := range objs {
		if results[i].skipped {
			continue
		}
		violations, status := results[i].violations, results[i].status
		if status == schema.NoSchema {
			if f, ok := deprecation.Check(o.node.GetApiVersion(), o.node.GetKind(), c.kubernetesVersion(), c.in.Repository.FluxRelease(o.root.Root)); ok && (f.Removed || f.Info.Project == deprecation.Flux) {
				// deprecated-api says it is not served at all, or that
				// the cluster's older Flux serves it, deprecated, where
				// the bundled Flux schemas no longer have it.
				continue
			}
			gvk := o.node.GetApiVersion() + " " + o.node.GetKind()
			if !noSchema[gvk] {
				noSchema[gvk] = true
				report("no-schema", o, []string{"kind"}, fmt.Sprintf(
					"no schema is known for %s: add its CustomResourceDefinition to the repository or pass --crds, so its objects are checked", gvk), "")
			}
			continue
		}
		if o.origin.ResourceSet != "" && o.node.GetNamespace() == "" {
			if namespaced, known := v.Namespaced(k8sschema.FromAPIVersionAndKind(o.node.GetApiVersion(), o.node.GetKind())); namespaced && known {
				report("schema", o, []string{"metadata"}, fmt.Sprintf(
					"metadata.namespace: Required value: ResourceSet %s makes this namespaced %s without a namespace, and the Flux Operator applies it as made, so the API server refuses it: set metadata.namespace in the template",
					o.origin.ResourceSet, o.node.GetKind()), "")
			}
		}
		secret := o.node.GetApiVersion() == "v1" && o.node.GetKind() == "Secret"
		for _, vi := range violations {
			if c.operatorWidens(o, vi) || c.variableLeft(o, vi) || c.leftToParent(o, vi) {
				continue
			}
			if msg, ok := droppedLabels(o, vi); ok {
				report("schema", o, pathKeys(vi.Path), msg, Warning)
				continue
			}
			msg := vi.Message
			if secret && len(vi.Path) > 0 && (vi.Path[0].Key == "data" || vi.Path[0].Key == "stringData") {
				msg = secretViolation(vi)
			}
			report("schema", o, pathKeys(vi.Path), msg, "")
		}
	}
}

// validated is what the schema tells of one object; skipped is set for
// an encrypted object (SOPS: the controller decrypts it before the API
// server sees it) and for one that is not a mapping.
type validated struct {
	skipped    bool
	violations []schema.Violation
	status     schema.Status
}

// validateAll validates objs against their schemas on every core, as
// checkRoots checks roots: a change checked alone leaves one root, whose
// objects are the rest of the check's time, and the other cores idle.
func validateAll(v *schema.Validator, objs []*object) []validated {
	out := make([]validated, len(objs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, o := range objs {
		g.Go(func() error {
			if o.node.Field("sops") == nil {
				if obj, err := o.node.Map(); err == nil {
					out[i].violations, out[i].status = v.Validate(obj)
					return nil
				}
			}
			out[i].skipped = true
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// droppedLabels words a label that is not a string (`enabled: true`
// unquoted) on an object a Flux Kustomization applies. The API server
// would refuse it, but kustomize-controller never sends it: setting its
// ownership labels, it reads the object's labels as strings, gets none,
// and applies the object with its own two labels only. Nothing fails; the
// labels written are lost, which is worth a warning.
func droppedLabels(o *object, v schema.Violation) (string, bool) {
	if o.root.Root.Kustomization == nil || v.Reason != schema.ReasonType || len(v.Path) != 3 || v.Path[0].Key != "metadata" || v.Path[1].Key != "labels" {
		return "", false
	}
	return fmt.Sprintf("metadata.labels.%s is not a string: kustomize-controller then reads none of this object's labels, and applies it with its ownership labels only; quote the value",
		safetext.Text(v.Path[2].Key)), true
}

// variableLeft tells a violation at a value that still holds a Flux
// variable: in a file no root applies, whatever applies it substitutes
// it; in a Flux root, only the cluster knows it (a key of a Secret an
// ExternalSecret writes there); in a kustomize overlay that a Flux
// Kustomization of the repository substitutes in, that one does. Either
// way its value is not known here.
func (c *checker) variableLeft(o *object, v schema.Violation) bool {
	r := o.root.Root
	switch {
	case r.File:
	case r.Kustomization == nil:
		if !c.in.Repository.Substituted(r) {
			return false
		}
	case r.Kustomization.Spec.PostBuild == nil:
		return false
	}
	return strings.Contains(field(o.node, pathKeys(v.Path)...), "${")
}

// leftToParent tells a required field missing from a Flux object that no
// cluster's tree applies (in a file no root reads, or rendered by a Flux
// Kustomization read as written): the parent that would apply it is not
// known, and Flux trees leave such fields (interval, prune, sourceRef) to
// their parents' patches.
func (c *checker) leftToParent(o *object, v schema.Violation) bool {
	r := o.root.Root
	return v.Reason == schema.ReasonRequired && (r.File || c.in.Repository.Unreached(r)) &&
		strings.HasSuffix(group(o.node.GetApiVersion()), ".toolkit.fluxcd.io")
}

// operatorKinds are the Flux Operator's kinds, which it adds to the kinds
// Flux's Alerts and Receivers may name when it installs Flux.
var operatorKinds = []string{"FluxInstance", "FluxReport", "ResourceSet", "ResourceSetInputProvider"}

// operatorWidens tells a schema violation the cluster does not have: an
// Alert's event source or a Receiver's resource of a Flux Operator kind,
// in a repository the operator installs Flux for.
func (c *checker) operatorWidens(o *object, v schema.Violation) bool {
	if v.Reason != schema.ReasonEnum || !c.in.Repository.UsesOperator() || group(o.node.GetApiVersion()) != "notification.toolkit.fluxcd.io" {
		return false
	}
	keys := pathKeys(v.Path)
	if len(keys) != 4 || keys[0] != "spec" || (keys[1] != "eventSources" && keys[1] != "resources") || keys[3] != "kind" {
		return false
	}
	return slices.Contains(operatorKinds, field(o.node, keys...))
}

// secretViolation says what is wrong with a Secret's value without the
// value, which the API server's wording quotes.
func secretViolation(v schema.Violation) string {
	what := "invalid value"
	switch v.Reason {
	case schema.ReasonFormat:
		what = "not valid base64: a Secret's data holds base64-encoded values (put plain text under stringData)"
	case schema.ReasonType:
		what = "must be a string"
	case schema.ReasonUnknownField:
		return v.Message
	}
	return fmt.Sprintf("%s: %s (a Secret's value is never shown)", v.Path, what)
}

// deprecatedOf reports objects whose API version the target Kubernetes
// release, or the cluster's Flux release, deprecates (a warning) or no
// longer serves (an error). A Flux API removed from the bundled release,
// where the repository names none, is a warning: a repository whose
// cluster applies it runs an older Flux, and is told how to say which.
func deprecatedOf(c *checker, objs []*object, report reporter) {
	for _, o := range objs {
		release := c.in.Repository.FluxRelease(o.root.Root)
		f, ok := deprecation.Check(o.node.GetApiVersion(), o.node.GetKind(), c.kubernetesVersion(), release)
		if !ok {
			continue
		}
		def, msg := Warning, f.Message
		switch {
		case f.Removed && f.Info.Project == deprecation.Flux && release == "":
			msg += "; " + deprecation.UnnamedFlux(f.Info.Removed)
		case f.Removed:
			def = Error
		}
		report("deprecated-api", o, []string{"apiVersion"}, msg, def)
	}
}

// generatedSecretsOf reports Secrets a secretGenerator makes with values in
// the clear (those written in files are the file rule's).
func generatedSecretsOf(objs []*object, refs []string, report reporter) {
	for _, o := range objs {
		if o.origin.Generator == "" || o.node.GetKind() != "Secret" || o.node.GetApiVersion() != "v1" {
			continue
		}
		if field, key := plainSecretField(o.node.YNode(), refs); field != nil {
			report("plain-secret", o, nil, secretMessage(o.node.GetNamespace(), o.node.GetName(), key), "")
		}
	}
}

// duplicatesIn reports an object rendered twice by one root: kustomize
// only refuses the same apiVersion twice, but two versions of one kind are
// still one object in the cluster.
func duplicatesIn(c *checker, objs []*object, report reporter) {
	first := map[string]*object{}
	for _, o := range objs {
		key := objectKey(o)
		if other, ok := first[key]; ok {
			file, line := c.locate(other, nil)
			report("duplicate-object", o, nil, fmt.Sprintf("%s is rendered twice by %s (also as %s at %s:%d)",
				o.id, o.root.Root, other.node.GetApiVersion(), file, line), "")
			continue
		}
		first[key] = o
	}
}

// sortedResults orders results by root, for stable output.
func sortedResults(rs []*render.Result) []*render.Result {
	out := append([]*render.Result(nil), rs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Root.String() < out[j].Root.String() })
	return out
}
