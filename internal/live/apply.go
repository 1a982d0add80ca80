package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"

	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	ssanormalize "github.com/fluxcd/pkg/ssa/normalize"
	ssautils "github.com/fluxcd/pkg/ssa/utils"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
)

// The stages of the dry runs, in kustomize-controller's order: cluster
// definitions first, then everything else.
const (
	stageDefinitions = iota
	stageResources
)

// fluxGroup prefixes the labels and annotations kustomize-controller reads.
const fluxGroup = "kustomize.toolkit.fluxcd.io"

// Selectors kustomize-controller applies with: objects matching exclusions
// are never applied nor pruned, ifNotPresent ones only created, and force
// ones recreated when an immutable field changes.
func exclusions() map[string]string {
	return map[string]string{fluxGroup + "/reconcile": "disabled", fluxGroup + "/ssa": "ignore"}
}

func ifNotPresent() map[string]string { return map[string]string{fluxGroup + "/ssa": "ifnotpresent"} }

func forceSelector() map[string]string { return map[string]string{fluxGroup + "/force": "enabled"} }

// pruneExclusions are the selectors that keep kustomize-controller from
// deleting a stale object.
func pruneExclusions() map[string]string {
	m := exclusions()
	m[fluxGroup+"/prune"] = "disabled"
	return m
}

// newObject copies a rendered object into JSON types and normalizes it as
// kustomize-controller does before applying.
func newObject(m map[string]any) (*object, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("cannot read the object: %w", err)
	}
	var copied map[string]any
	if err := utiljson.Unmarshal(data, &copied); err != nil {
		return nil, fmt.Errorf("cannot read the object: %w", err)
	}
	u := &unstructured.Unstructured{Object: copied}
	if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
		return nil, errors.New("the object lacks an apiVersion, a kind or a name")
	}
	if _, err := schema.ParseGroupVersion(u.GetAPIVersion()); err != nil {
		return nil, fmt.Errorf("apiVersion %q: %w", u.GetAPIVersion(), err)
	}
	o := &object{u: u, id: diff.ID(u.Object), stage: stageResources, sops: isSOPS(u)}
	if ssautils.IsClusterDefinition(u) {
		o.stage = stageDefinitions
	}
	// What kustomize-controller does to an object before applying it:
	// no status (but for CRDs) nor creationTimestamp, the defaults the
	// API server would fill in that show as diffs (TCP ports), a Secret's
	// stringData merged into its data.
	if typed, err := scheme.Scheme.New(u.GroupVersionKind()); err == nil {
		if _, ok := typed.(metav1.Object); !ok {
			// A kind client-go's scheme, the normalizer's, knows that is
			// no object (a List): the normalizer would take it for one.
			return nil, fmt.Errorf("%s %s is not an object the cluster stores", u.GetAPIVersion(), u.GetKind())
		}
	}
	if err := ssanormalize.Unstructured(u); err != nil {
		return nil, fmt.Errorf("cannot read the object: %w", err)
	}
	return o, nil
}

// isSOPS tells a Secret still encrypted with SOPS: kustomize-controller
// decrypts it in the cluster, so only its keys can be compared.
func isSOPS(u *unstructured.Unstructured) bool {
	if !ssautils.IsSecret(u) {
		return false
	}
	if _, ok := u.Object["sops"]; ok {
		return true
	}
	for _, field := range []string{"data", "stringData"} {
		m, _ := u.Object[field].(map[string]any)
		for _, v := range m {
			if s, ok := v.(string); ok && strings.HasPrefix(s, "ENC[") {
				return true
			}
		}
	}
	return false
}

// crdGroupKind is the group and kind a CustomResourceDefinition serves.
func crdGroupKind(u *unstructured.Unstructured) (schema.GroupKind, bool) {
	group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
	return schema.GroupKind{Group: group, Kind: kind}, group != "" && kind != ""
}

// diffObject reads one object from the cluster and dry-runs its apply.
func (r *run) diffObject(ctx context.Context, rs *rootState, o *object) error {
	gvk := o.u.GroupVersionKind()
	ctx = withRequest(ctx, rs.Path, o.id)
	m, err := r.c.mapping(ctx, gvk.GroupKind(), gvk.Version)
	if err != nil {
		if !meta.IsNoMatchError(err) {
			return r.objectError(rs, o, "", "read", err)
		}
		if r.crds[gvk.GroupKind()] {
			// Its CustomResourceDefinition comes with the render.
			o.head = o.u.Object
			return nil
		}
		r.note(Note{Root: rs.Path, Object: o.id, Reason: ReasonKindNotFound,
			Message: fmt.Sprintf("the cluster does not serve %s %s and no root renders its CustomResourceDefinition: Flux cannot apply it", gvk.GroupVersion(), gvk.Kind)})
		return nil
	}
	o.mapping = m
	ns := o.u.GetNamespace()
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if ns == "" {
			ns = "default"
			o.u.SetNamespace(ns)
		}
	} else if ns != "" {
		ns = ""
		o.u.SetNamespace("")
	}
	o.id = diff.ID(o.u.Object)
	ctx = withRequest(ctx, rs.Path, o.id)
	client := r.c.resource(m, ns)

	live, err := client.Get(ctx, o.u.GetName(), metav1.GetOptions{})
	switch {
	case err == nil:
		o.live = live.Object
		r.redact.addSecret(o.live, false)
	case apierrors.IsNotFound(err):
		live = nil
	default:
		return r.objectError(rs, o, ns, "read", err)
	}
	if why := skipReason(o.u, live); why != "" {
		o.live = nil
		r.note(Note{Root: rs.Path, Object: o.id, Reason: ReasonSkipped, Message: why})
		return nil
	}
	if o.sops {
		o.head = sopsHead(o.live, o.u.Object)
		return nil
	}

	out, err := client.Apply(ctx, o.u.GetName(), o.u, metav1.ApplyOptions{
		DryRun:       []string{metav1.DryRunAll},
		Force:        true,
		FieldManager: r.opts.FieldManager,
	})
	switch {
	case err == nil:
		o.head = out.Object
	case ns != "" && namespaceMissing(err, ns):
		// Shown as rendered; a Namespace in some root creates it.
		o.head = o.u.Object
		if !r.namespaces[ns] {
			r.note(Note{Root: rs.Path, Namespace: ns, Reason: ReasonNamespaceNotFound,
				Message: "does not exist and no root creates it: Flux cannot apply the objects in it until it does"})
		}
	case live != nil && ssaerrors.IsImmutableError(err) && r.force(rs, o.u, live):
		msg := "an immutable field changes and force is on: Flux deletes and recreates it"
		o.head, err = r.dryRunCreate(ctx, client, o.u)
		if err != nil {
			if f := r.c.fatal(err); f != nil {
				return f
			}
			o.head = o.u.Object
			msg += " (shown as rendered)"
		}
		r.note(Note{Root: rs.Path, Object: o.id, Reason: ReasonRecreate, Message: msg})
	default:
		return r.objectError(rs, o, ns, "apply", err)
	}
	return nil
}

// dryRunCreate returns what creating u anew would make, server defaults
// included: the object Flux recreates when force is on. The dry run asks
// for a generated name, since u's is taken, and the name is put back.
func (r *run) dryRunCreate(ctx context.Context, client dynamic.ResourceInterface, u *unstructured.Unstructured) (map[string]any, error) {
	c := u.DeepCopy()
	c.SetName("")
	c.SetGenerateName(u.GetName() + "-")
	out, err := client.Create(ctx, c, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: r.opts.FieldManager})
	if err != nil {
		return nil, err
	}
	out.SetName(u.GetName())
	out.SetGenerateName(u.GetGenerateName())
	return out.Object, nil
}

// objectError turns an error about one object into a note, or returns it
// when the run cannot go on. verb is "read" or "apply".
func (r *run) objectError(rs *rootState, o *object, ns, verb string, err error) error {
	if f := r.c.fatal(err); f != nil {
		return f
	}
	o.head, o.live = nil, nil
	switch {
	case apierrors.IsForbidden(err):
		what := "forbidden: the user cannot read it"
		if verb == "apply" {
			what = "forbidden: the user cannot apply to it, even as a dry run"
		}
		if ns != "" {
			r.note(Note{Root: rs.Path, Namespace: ns, Reason: ReasonForbidden, Message: what + "; its objects are left out"})
		} else {
			r.note(Note{Root: rs.Path, Object: o.id, Reason: ReasonForbidden, Message: what + "; it is left out"})
		}
	case verb == "apply" && (apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsConflict(err)):
		r.note(Note{Root: rs.Path, Object: o.id, Reason: ReasonDryRunFailed, Message: "the server rejects it: " + statusMessage(err)})
	default:
		r.note(Note{Root: rs.Path, Object: o.id, Reason: ReasonError, Message: fmt.Sprintf("cannot %s it: %s", verb, statusMessage(err))})
	}
	return nil
}

// statusMessage is the server's message, or the error's.
func statusMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message != "" {
		return status.Status().Message
	}
	return err.Error()
}

// namespaceMissing tells the error of an apply into a namespace that does
// not exist.
func namespaceMissing(err error, ns string) bool {
	if !apierrors.IsNotFound(err) {
		return false
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if d := status.Status().Details; d != nil && d.Kind == "namespaces" {
			return d.Name == ns
		}
	}
	return strings.Contains(err.Error(), fmt.Sprintf("namespaces %q not found", ns))
}

// force tells whether Flux recreates the object when an immutable field
// changes.
func (r *run) force(rs *rootState, desired, live *unstructured.Unstructured) bool {
	if rs.owner != nil && rs.owner.force {
		return true
	}
	return ssautils.AnyInMetadata(desired, forceSelector()) || (live != nil && ssautils.AnyInMetadata(live, forceSelector()))
}

// skipReason says why kustomize-controller would not apply the object, or
// "".
func skipReason(desired, live *unstructured.Unstructured) string {
	for _, u := range []*unstructured.Unstructured{desired, live} {
		if k, v := matchMetadata(u, exclusions()); k != "" {
			return fmt.Sprintf("skipped: %s: %s, Flux leaves it alone", k, v)
		}
	}
	if live != nil {
		if k, v := matchMetadata(desired, ifNotPresent()); k != "" {
			return fmt.Sprintf("skipped: %s: %s and it exists, Flux leaves it alone", k, v)
		}
	}
	return ""
}

// matchMetadata returns the first key of sel, in key order, that u's
// labels or annotations hold with its value.
func matchMetadata(u *unstructured.Unstructured, sel map[string]string) (string, string) {
	if u == nil {
		return "", ""
	}
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	labels, annotations := u.GetLabels(), u.GetAnnotations()
	for _, k := range keys {
		for _, m := range []map[string]string{labels, annotations} {
			if v := m[k]; v != "" && strings.EqualFold(v, sel[k]) {
				return k, v
			}
		}
	}
	return "", ""
}

// sopsHead is what the comparison shows for a SOPS-encrypted Secret that
// exists: the live Secret with the rendered keys, so that only keys added
// or removed show, as flux diff compares such Secrets by keys.
func sopsHead(live, rendered map[string]any) map[string]any {
	if live == nil {
		return rendered
	}
	head := runtimeCopy(live)
	liveData, _ := live["data"].(map[string]any)
	data := map[string]any{}
	for _, field := range []string{"data", "stringData"} {
		m, _ := rendered[field].(map[string]any)
		for k := range m {
			if v, ok := liveData[k]; ok {
				data[k] = v
			} else {
				data[k] = diff.MaskedSOPS
			}
		}
	}
	head["data"] = data
	delete(head, "stringData")
	return head
}

// runtimeCopy deep-copies a JSON object.
func runtimeCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}
