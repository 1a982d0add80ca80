// Package live compares rendered objects with the objects a cluster holds,
// as `kubectl gitops diff --live` shows them.
//
// Each rendered object goes through a server-side apply dry run with the
// field manager kustomize-controller uses and forced ownership, and the
// server's answer is compared with the live object, as `flux diff
// kustomization` does. Objects the root's Flux Kustomization applied before
// (its status.inventory, or failing that its ownership labels) and that the
// render no longer has show as removed, since Flux prunes them. Problems
// that leave part of the picture unknown but need not stop the comparison
// (a namespace the user cannot read, a missing namespace or CRD, an object
// the server rejects) come back as notes; only an unreachable cluster or a
// cancelled context is an error. Secret values never leave the package:
// they are masked in every diff, note and error.
package live

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	ssautils "github.com/fluxcd/pkg/ssa/utils"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// DefaultFieldManager is the field manager kustomize-controller applies
// with.
const DefaultFieldManager = "kustomize-controller"

// DefaultConcurrency is how many requests are in flight at once when
// Options.Concurrency is not set.
const DefaultConcurrency = 8

// Root is one render root's objects, to compare with the cluster.
type Root struct {
	// Path is the root's directory, relative to the repository root.
	Path string
	// Kustomization is the Flux Kustomization that applies the root, as
	// namespace/name, or "" for a plain kustomize root.
	Kustomization string
	// Objects are the rendered objects. They are not modified.
	Objects []map[string]any
}

// Options tune Diff.
type Options struct {
	// FieldManager is the field manager of the dry-run applies;
	// DefaultFieldManager when empty.
	FieldManager string
	// Ignore lists field paths left out of the comparison, as
	// diff.Options.Ignore reads them.
	Ignore []string
	// Preset names fields left out besides, as diff.Options.Preset does.
	Preset string
	// Secrets are further values to mask wherever they appear (values a
	// Kustomization substituted from Secrets).
	Secrets []string
	// Concurrency bounds the requests in flight; DefaultConcurrency when
	// zero or less.
	Concurrency int
}

// Reason classifies a Note.
type Reason string

// The reasons of notes.
const (
	// ReasonForbidden: the user may not read (or dry-run apply) objects in
	// a namespace, or a cluster-scoped object; those objects are left out.
	ReasonForbidden Reason = "Forbidden"
	// ReasonNamespaceNotFound: an object's namespace exists neither in the
	// cluster nor in any root; the object shows as added as rendered, but
	// Flux cannot apply it until the namespace exists.
	ReasonNamespaceNotFound Reason = "NamespaceNotFound"
	// ReasonKindNotFound: the cluster does not serve the object's kind and
	// no root renders its CustomResourceDefinition; the object is left out.
	ReasonKindNotFound Reason = "KindNotFound"
	// ReasonDryRunFailed: the server rejected the object's dry-run apply
	// (Flux would fail on it too); the object is left out.
	ReasonDryRunFailed Reason = "DryRunFailed"
	// ReasonRecreate: the object changes immutable fields and force is on,
	// so Flux deletes and recreates it; it shows as changed, as rendered.
	ReasonRecreate Reason = "Recreate"
	// ReasonSkipped: Flux leaves the object alone (reconcile disabled, ssa
	// ignore, or ssa ifnotpresent on an existing object).
	ReasonSkipped Reason = "Skipped"
	// ReasonPruneDisabled: the Kustomization does not prune, so objects it
	// no longer renders stay in the cluster; they are not shown as removed.
	ReasonPruneDisabled Reason = "PruneDisabled"
	// ReasonRemoteCluster: the Kustomization applies to another cluster
	// (spec.kubeConfig); the root is not compared.
	ReasonRemoteCluster Reason = "RemoteCluster"
	// ReasonInvalid: a rendered object or an inventory entry cannot be
	// read; it is left out.
	ReasonInvalid Reason = "Invalid"
	// ReasonError: any other error the server answered for one object.
	ReasonError Reason = "Error"
	// ReasonWarning: a warning the API server sent with an answer.
	ReasonWarning Reason = "Warning"
)

// Note is a problem that leaves part of a root's comparison unknown or
// worth knowing about, without making it fail.
type Note struct {
	// Root is the root's path; "" for a note about the whole run.
	Root string `json:"root,omitempty"`
	// Namespace is set for a note about a whole namespace.
	Namespace string `json:"namespace,omitempty"`
	// Object names the object as apiVersion/Kind/namespace/name, for a
	// note about one object.
	Object  string `json:"object,omitempty"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
}

// String renders the note on one line: "apps/shop: namespace shop:
// forbidden: the user cannot read it".
func (n Note) String() string {
	var parts []string
	if n.Root != "" {
		parts = append(parts, n.Root)
	}
	switch {
	case n.Object != "":
		parts = append(parts, n.Object)
	case n.Namespace != "":
		parts = append(parts, "namespace "+n.Namespace)
	}
	return strings.Join(append(parts, n.Message), ": ")
}

// Diff compares each root's rendered objects with the cluster cfg points
// at. It returns the roots that differ, in path order, with their changes
// in object order; notes about what could not be compared, in a stable
// order; and an error only when the cluster cannot be reached, the
// credentials are refused, opts are invalid or ctx ends.
func Diff(ctx context.Context, cfg *rest.Config, roots []Root, opts Options) ([]diff.RootDiff, []Note, error) {
	if opts.FieldManager == "" {
		opts.FieldManager = DefaultFieldManager
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	// Check the ignore paths before any request.
	if _, err := diff.Objects(nil, nil, diff.Options{Ignore: opts.Ignore}); err != nil {
		return nil, nil, err
	}
	r := newRun(roots, opts)
	c, err := connect(ctx, cfg, r.warn)
	if err != nil {
		return nil, nil, r.redact.err(err)
	}
	r.c = c
	if err := r.do(ctx); err != nil {
		return nil, nil, r.redact.err(err)
	}
	diffs, err := r.results()
	if err != nil {
		return nil, nil, r.redact.err(err)
	}
	return diffs, r.sortedNotes(), nil
}

// run is one call of Diff.
type run struct {
	c      *cluster
	opts   Options
	roots  []*rootState
	redact *redactor
	// namespaces and crds are what the roots create: Namespace names and
	// the group/kinds of CustomResourceDefinitions.
	namespaces map[string]bool
	crds       map[schema.GroupKind]bool

	mu    sync.Mutex
	notes map[Note]bool
}

// rootState is one root's progress.
type rootState struct {
	Root
	objects []*object
	owner   *owner
	// skipped is set when the root is not compared at all.
	skipped bool
	// pruned are the live objects Flux would delete.
	pruned []map[string]any
}

// object is one rendered object's progress.
type object struct {
	u     *unstructured.Unstructured // normalized copy of the render
	id    string                     // diff.ID of the render, for notes
	stage int
	// sops marks a Secret still encrypted with SOPS.
	sops bool
	// mapping is the object's resource, nil when the cluster does not
	// serve its kind.
	mapping *meta.RESTMapping
	// live is the object in the cluster, nil when absent.
	live map[string]any
	// head is what the cluster would hold after the apply; nil leaves the
	// object out of the comparison.
	head map[string]any
}

func newRun(roots []Root, opts Options) *run {
	r := &run{
		opts:       opts,
		redact:     newRedactor(opts.Secrets),
		namespaces: map[string]bool{},
		crds:       map[schema.GroupKind]bool{},
		notes:      map[Note]bool{},
	}
	for _, root := range roots {
		rs := &rootState{Root: root}
		for _, m := range root.Objects {
			r.redact.addSecret(m, true)
			o, err := newObject(m)
			if err != nil {
				r.note(Note{Root: root.Path, Object: diff.ID(m), Reason: ReasonInvalid, Message: err.Error()})
				continue
			}
			switch {
			case ssautils.IsNamespace(o.u):
				r.namespaces[o.u.GetName()] = true
			case ssautils.IsCRD(o.u):
				if gk, ok := crdGroupKind(o.u); ok {
					r.crds[gk] = true
				}
			}
			rs.objects = append(rs.objects, o)
		}
		r.roots = append(r.roots, rs)
	}
	return r
}

// do runs the steps: read each root's Kustomization, dry-run the cluster
// definitions (CRDs, Namespaces, ClusterRoles) then everything else, as
// kustomize-controller stages its applies, then find what Flux would prune.
func (r *run) do(ctx context.Context) error {
	if err := r.each(ctx, func(ctx context.Context, rs *rootState) error {
		return r.readOwner(ctx, rs)
	}); err != nil {
		return err
	}
	for _, stage := range []int{stageDefinitions, stageResources} {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(r.opts.Concurrency)
		for _, rs := range r.roots {
			if rs.skipped {
				continue
			}
			for _, o := range rs.objects {
				if o.stage != stage {
					continue
				}
				g.Go(func() error { return r.diffObject(gctx, rs, o) })
			}
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return r.each(ctx, func(ctx context.Context, rs *rootState) error {
		return r.findPruned(ctx, rs)
	})
}

// each calls f for every root still compared, at most Concurrency at once.
func (r *run) each(ctx context.Context, f func(context.Context, *rootState) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, rs := range r.roots {
		if rs.skipped {
			continue
		}
		g.Go(func() error { return f(gctx, rs) })
	}
	return g.Wait()
}

// results compares each root's live objects with their dry-run results.
func (r *run) results() ([]diff.RootDiff, error) {
	var out []diff.RootDiff
	opts := diff.Options{Ignore: r.opts.Ignore, Preset: r.opts.Preset, Secrets: r.redact.diffValues()}
	for _, rs := range r.roots {
		if rs.skipped {
			continue
		}
		var base, head []diff.Object
		for _, o := range rs.objects {
			if o.head == nil {
				continue
			}
			head = append(head, o.head)
			if o.live != nil {
				base = append(base, o.live)
			}
		}
		base = append(base, rs.pruned...)
		changes, err := diff.Objects(base, head, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rs.Path, err)
		}
		if len(changes) == 0 {
			continue
		}
		out = append(out, diff.RootDiff{Path: rs.Path, Kustomization: rs.Kustomization, Changes: changes})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Kustomization < out[j].Kustomization
	})
	return out, nil
}

// note records n once.
func (r *run) note(n Note) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes[n] = true
}

// sortedNotes returns the notes in a stable order, their messages scrubbed
// of every Secret value met on the way.
func (r *run) sortedNotes() []Note {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[Note]bool{}
	out := make([]Note, 0, len(r.notes))
	for n := range r.notes {
		n.Message = r.redact.text(n.Message)
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		for _, p := range [][2]string{{a.Root, b.Root}, {a.Namespace, b.Namespace}, {a.Object, b.Object}, {string(a.Reason), string(b.Reason)}} {
			if p[0] != p[1] {
				return p[0] < p[1]
			}
		}
		return a.Message < b.Message
	})
	return out
}

// requestKey carries which root and object a request is for, so that the
// server's warnings land on the right note.
type requestKey struct{}

type requestInfo struct {
	root, object string
}

func withRequest(ctx context.Context, root, object string) context.Context {
	return context.WithValue(ctx, requestKey{}, requestInfo{root, object})
}

// warn records a warning the API server sent.
func (r *run) warn(ctx context.Context, text string) {
	info, _ := ctx.Value(requestKey{}).(requestInfo)
	r.note(Note{Root: info.root, Object: info.object, Reason: ReasonWarning, Message: text})
}

// FromResult returns a rendered root as a Root; a root that did not render
// is an error.
func FromResult(res *render.Result) (Root, error) {
	if res.Err != nil {
		return Root{}, fmt.Errorf("%s: %w", res.Root, res.Err)
	}
	nodes, err := res.Objects()
	if err != nil {
		return Root{}, fmt.Errorf("%s: %w", res.Root, err)
	}
	root := Root{Path: res.Root.Path, Kustomization: res.Root.KustomizationID()}
	for _, n := range nodes {
		m, err := n.Map()
		if err != nil {
			return Root{}, fmt.Errorf("%s: %w", res.Root, err)
		}
		root.Objects = append(root.Objects, m)
	}
	return root, nil
}
