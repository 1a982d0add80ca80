package live

import (
	"context"
	"fmt"
	"sort"
	"strings"

	clobject "github.com/fluxcd/cli-utils/pkg/object"
	ssautils "github.com/fluxcd/pkg/ssa/utils"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
)

// The labels kustomize-controller sets on every object it applies, naming
// the Kustomization.
const (
	ownerNameLabel      = fluxGroup + "/name"
	ownerNamespaceLabel = fluxGroup + "/namespace"
)

// owner is the Flux Kustomization that applies a root, as the cluster has
// it.
type owner struct {
	name, namespace string
	// found is set when the Kustomization was read from the cluster; prune
	// and force are then its spec's.
	found bool
	prune bool
	force bool
	// inventory is status.inventory.entries; hasInventory tells that the
	// status has an inventory at all.
	inventory    []inventoryEntry
	hasInventory bool
}

// labels are the ownership labels of the objects o applied.
func (o *owner) labels() map[string]string {
	return map[string]string{ownerNameLabel: o.name, ownerNamespaceLabel: o.namespace}
}

// inventoryEntry is one status.inventory entry of a Kustomization.
type inventoryEntry struct {
	namespace, name string
	gk              schema.GroupKind
	version         string
}

// id names the entry as apiVersion/Kind/namespace/name.
func (e inventoryEntry) id() string {
	gv := schema.GroupVersion{Group: e.gk.Group, Version: e.version}
	return diff.ID(map[string]any{
		"apiVersion": gv.String(),
		"kind":       e.gk.Kind,
		"metadata":   map[string]any{"namespace": e.namespace, "name": e.name},
	})
}

// parseInventoryID reads an inventory entry's id,
// "<namespace>_<name>_<group>_<kind>", with kustomize-controller's own
// parser (fluxcd/cli-utils' ParseObjMetadata), refusing what no object is
// named: an empty name or kind.
func parseInventoryID(id string) (inventoryEntry, error) {
	m, err := clobject.ParseObjMetadata(id)
	if err != nil || m.Name == "" || m.GroupKind.Kind == "" || strings.Contains(m.Name, "_") {
		return inventoryEntry{}, fmt.Errorf("inventory entry %q is not <namespace>_<name>_<group>_<kind>", id)
	}
	return inventoryEntry{namespace: m.Namespace, name: m.Name, gk: m.GroupKind}, nil
}

// readOwner reads the root's Kustomization: named by the root, or failing
// that by the ownership labels all its objects carry.
func (r *run) readOwner(ctx context.Context, rs *rootState) error {
	var ow *owner
	if rs.Kustomization != "" {
		ns, name, ok := strings.Cut(rs.Kustomization, "/")
		if !ok {
			ns, name = "default", rs.Kustomization
		}
		ow = &owner{name: name, namespace: ns}
	} else {
		ow = ownerFromLabels(rs.objects)
	}
	if ow == nil {
		return nil
	}
	ow.prune = true
	rs.owner = ow
	id := fmt.Sprintf("%s/v1/Kustomization/%s/%s", fluxGroup, ow.namespace, ow.name)
	ctx = withRequest(ctx, rs.Path, id)
	m, err := r.c.anyMapping(ctx, schema.GroupKind{Group: fluxGroup, Kind: "Kustomization"}, "v1")
	if meta.IsNoMatchError(err) {
		return nil // Flux is not installed: judge by labels
	}
	if err != nil {
		return r.ownerError(rs, id, err)
	}
	ks, err := r.c.resource(m, ow.namespace).Get(ctx, ow.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return r.ownerError(rs, id, err)
	}
	ow.found = true
	if kc, found, _ := unstructured.NestedFieldNoCopy(ks.Object, "spec", "kubeConfig"); found && kc != nil {
		rs.skipped = true
		r.note(Note{Root: rs.Path, Object: id, Reason: ReasonRemoteCluster,
			Message: "the Kustomization applies to another cluster (spec.kubeConfig): the root is not compared"})
		return nil
	}
	ow.prune, _, _ = unstructured.NestedBool(ks.Object, "spec", "prune")
	ow.force, _, _ = unstructured.NestedBool(ks.Object, "spec", "force")
	entries, found, _ := unstructured.NestedSlice(ks.Object, "status", "inventory", "entries")
	if !found {
		_, found, _ = unstructured.NestedMap(ks.Object, "status", "inventory")
	}
	ow.hasInventory = found
	for _, e := range entries {
		em, _ := e.(map[string]any)
		idStr, _ := em["id"].(string)
		entry, err := parseInventoryID(idStr)
		if err != nil {
			r.note(Note{Root: rs.Path, Object: id, Reason: ReasonInvalid, Message: err.Error()})
			continue
		}
		entry.version, _ = em["v"].(string)
		ow.inventory = append(ow.inventory, entry)
	}
	return nil
}

// ownerError notes why the Kustomization could not be read, or returns
// the error when the run cannot go on.
func (r *run) ownerError(rs *rootState, id string, err error) error {
	if f := r.c.fatal(err); f != nil {
		return f
	}
	msg := "cannot read the Kustomization: " + statusMessage(err)
	reason := ReasonError
	if apierrors.IsForbidden(err) {
		msg, reason = "forbidden: the user cannot read the Kustomization", ReasonForbidden
	}
	r.note(Note{Root: rs.Path, Object: id, Reason: reason,
		Message: msg + "; what it prunes is judged from its ownership labels"})
	return nil
}

// ownerFromLabels is the Kustomization the ownership labels of every
// object name, or nil when they do not all name the same one.
func ownerFromLabels(objects []*object) *owner {
	var name, ns string
	for i, o := range objects {
		l := o.u.GetLabels()
		if l[ownerNameLabel] == "" || l[ownerNamespaceLabel] == "" {
			return nil
		}
		if i > 0 && (l[ownerNameLabel] != name || l[ownerNamespaceLabel] != ns) {
			return nil
		}
		name, ns = l[ownerNameLabel], l[ownerNamespaceLabel]
	}
	if name == "" {
		return nil
	}
	return &owner{name: name, namespace: ns}
}

// objectKey identifies an object regardless of its version.
func objectKey(gk schema.GroupKind, ns, name string) string {
	return gk.Group + "/" + gk.Kind + "/" + ns + "/" + name
}

// findPruned finds the live objects the root's Kustomization applied
// before and no longer renders: those of its inventory, or without one,
// those carrying its ownership labels, of the kinds the root renders. As
// kustomize-controller, it leaves alone objects that lost the labels or
// opt out of pruning.
func (r *run) findPruned(ctx context.Context, rs *rootState) error {
	ow := rs.owner
	if ow == nil {
		return nil
	}
	rendered := map[string]bool{}
	for _, o := range rs.objects {
		rendered[objectKey(o.u.GroupVersionKind().GroupKind(), o.u.GetNamespace(), o.u.GetName())] = true
	}
	var stale []map[string]any
	var err error
	if ow.hasInventory {
		stale, err = r.staleFromInventory(ctx, rs, rendered)
	} else {
		stale, err = r.staleFromLabels(ctx, rs, rendered)
	}
	if err != nil || len(stale) == 0 {
		return err
	}
	if ow.found && !ow.prune {
		r.note(Note{Root: rs.Path, Reason: ReasonPruneDisabled, Message: fmt.Sprintf(
			"the Kustomization %s/%s does not prune (spec.prune: false): %d object(s) it no longer renders stay in the cluster",
			ow.namespace, ow.name, len(stale))})
		return nil
	}
	sort.Slice(stale, func(i, j int) bool { return diff.ID(stale[i]) < diff.ID(stale[j]) })
	rs.pruned = stale
	return nil
}

// prunable tells whether kustomize-controller would delete the live object.
func prunable(live *unstructured.Unstructured, ow *owner) bool {
	sel := labels.SelectorFromSet(ow.labels())
	return sel.Matches(labels.Set(live.GetLabels())) && !ssautils.AnyInMetadata(live, pruneExclusions())
}

// staleFromInventory reads each inventory entry the render lacks.
func (r *run) staleFromInventory(ctx context.Context, rs *rootState, rendered map[string]bool) ([]map[string]any, error) {
	var out []map[string]any
	for _, e := range rs.owner.inventory {
		if rendered[objectKey(e.gk, e.namespace, e.name)] {
			continue
		}
		m, err := r.c.anyMapping(ctx, e.gk, e.version)
		if meta.IsNoMatchError(err) {
			continue // its kind is gone, so is the object
		}
		id := e.id()
		if err != nil {
			if f := r.c.fatal(err); f != nil {
				return nil, f
			}
			r.note(Note{Root: rs.Path, Object: id, Reason: ReasonError, Message: "cannot tell whether Flux prunes it: " + statusMessage(err)})
			continue
		}
		live, err := r.c.resource(m, e.namespace).Get(withRequest(ctx, rs.Path, id), e.name, metav1.GetOptions{})
		switch {
		case err == nil:
		case apierrors.IsNotFound(err):
			continue
		default:
			if f := r.c.fatal(err); f != nil {
				return nil, f
			}
			r.pruneReadNote(rs, e.namespace, id, err)
			continue
		}
		r.redact.addSecret(live.Object, false)
		if prunable(live, rs.owner) {
			out = append(out, live.Object)
		}
	}
	return out, nil
}

// staleFromLabels lists, for each kind the root renders, the objects
// carrying the Kustomization's labels that the render lacks: across all
// namespaces, or when that is forbidden, in each namespace the root
// renders objects of that kind in.
func (r *run) staleFromLabels(ctx context.Context, rs *rootState, rendered map[string]bool) ([]map[string]any, error) {
	type kindInfo struct {
		m          *meta.RESTMapping
		namespaces map[string]bool
	}
	kinds := map[schema.GroupKind]*kindInfo{}
	for _, o := range rs.objects {
		if o.mapping == nil {
			continue
		}
		gk := o.mapping.GroupVersionKind.GroupKind()
		k := kinds[gk]
		if k == nil {
			k = &kindInfo{m: o.mapping, namespaces: map[string]bool{}}
			kinds[gk] = k
		}
		k.namespaces[o.u.GetNamespace()] = true
	}
	gks := make([]schema.GroupKind, 0, len(kinds))
	for gk := range kinds {
		gks = append(gks, gk)
	}
	sort.Slice(gks, func(i, j int) bool { return gks[i].String() < gks[j].String() })
	selector := labels.SelectorFromSet(rs.owner.labels()).String()
	var out []map[string]any
	for _, gk := range gks {
		k := kinds[gk]
		namespaces := []string{metav1.NamespaceAll}
		list, err := r.c.dyn.Resource(k.m.Resource).List(withRequest(ctx, rs.Path, ""), metav1.ListOptions{LabelSelector: selector})
		if apierrors.IsForbidden(err) && k.m.Scope.Name() == meta.RESTScopeNameNamespace {
			namespaces = namespaces[:0]
			for ns := range k.namespaces {
				namespaces = append(namespaces, ns)
			}
			sort.Strings(namespaces)
		}
		for _, ns := range namespaces {
			if ns != metav1.NamespaceAll {
				list, err = r.c.dyn.Resource(k.m.Resource).Namespace(ns).List(withRequest(ctx, rs.Path, ""), metav1.ListOptions{LabelSelector: selector})
			}
			if err != nil {
				if f := r.c.fatal(err); f != nil {
					return nil, f
				}
				r.pruneReadNote(rs, ns, k.m.Resource.Resource, err)
				continue
			}
			for i := range list.Items {
				live := &list.Items[i]
				r.redact.addSecret(live.Object, false)
				if rendered[objectKey(gk, live.GetNamespace(), live.GetName())] || !prunable(live, rs.owner) {
					continue
				}
				if live.GetAPIVersion() == "" {
					live.SetGroupVersionKind(k.m.GroupVersionKind)
				}
				out = append(out, live.Object)
			}
		}
	}
	return out, nil
}

// pruneReadNote notes that objects Flux may prune could not be read.
func (r *run) pruneReadNote(rs *rootState, ns, what string, err error) {
	if apierrors.IsForbidden(err) {
		if ns != "" {
			r.note(Note{Root: rs.Path, Namespace: ns, Reason: ReasonForbidden, Message: "forbidden: the user cannot read it; its objects are left out"})
			return
		}
		r.note(Note{Root: rs.Path, Object: what, Reason: ReasonForbidden, Message: "forbidden: the user cannot read it; what Flux prunes of it is not shown"})
		return
	}
	r.note(Note{Root: rs.Path, Object: what, Reason: ReasonError, Message: "cannot tell whether Flux prunes it: " + statusMessage(err)})
}
