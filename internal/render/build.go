package render

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
)

// Labels kustomize-controller sets on every object it applies, naming the
// Kustomization that owns it.
const (
	OwnerNameLabel      = FluxGroup + "/name"
	OwnerNamespaceLabel = FluxGroup + "/namespace"
)

// openapiMu guards kustomize's OpenAPI schema, a global of the process:
// the engines of a diff build at once.
var openapiMu sync.RWMutex

// Warm starts, once per process, an empty kustomize build in memory on
// another goroutine. A process's first kustomize build parses kustomize's
// built-in transformer configuration (the fields namespaces, images,
// replicas and name references reach), some 5 ms of one core and a
// megabyte of fresh memory that the first root built would otherwise wait
// for. A command calls it when it knows it will build, before it reads the
// repository, so that the second core, idle then, does it.
var Warm = sync.OnceFunc(func() { go warmKustomize() })

func warmKustomize() {
	openapiMu.RLock()
	defer openapiMu.RUnlock()
	fsys := filesys.MakeFsInMemory()
	if err := fsys.WriteFile("/kustomization.yaml", []byte("resources: []\n")); err == nil {
		_, _ = krusty.MakeKustomizer(&krusty.Options{PluginConfig: kustypes.DisabledPluginConfig()}).Run(fsys, "/")
	}
}

// build runs kustomize for one root, in a file system of its own that
// records what it reads; the root's build Prebuild started is taken.
func (e *Engine) build(ctx context.Context, r *Repository, root Root, filter *sourceFilter) (fsys *kfs.FS, m resourceSet, injected bool, err error) {
	if p := e.takePrebuilt(ctx, root, filter); p != nil {
		return p.fsys, p.m, false, nil
	}
	fsys = e.newFS(ctx)
	if filter != nil {
		fsys.SetHidden(filter.hidden)
	}
	m, injected, err = e.kustomize(root, fsys, r.FluxBuilds(root))
	return fsys, m, injected, err
}

func (e *Engine) newFS(ctx context.Context) *kfs.FS {
	fsys := kfs.New(e.tree, e.abs, e.opts.AllowRemote)
	fsys.Guard(ctx, e.checks)
	return fsys
}

// kustomize runs kustomize for one root. A plain root is built as
// `kustomize build` builds it (files only from inside the kustomization's
// directory, resources sorted in kustomize's legacy order); a Flux root as
// kustomize-controller builds it (its kustomization file generated or edited
// from the Kustomization's spec, files from anywhere in the repository,
// resources in the order the kustomization lists them). Plugins, exec
// functions and Helm are never run.
// A kustomization listing only files of Flux objects is passed through
// (passThrough). It tells whether it added origin tracking to the root's
// kustomization.
func (e *Engine) kustomize(root Root, fsys *kfs.FS, fluxBuilds bool) (m resourceSet, injected bool, err error) {
	opts := &krusty.Options{PluginConfig: kustypes.DisabledPluginConfig()}
	var kus *kustypes.Kustomization
	generated := false
	if k := root.Kustomization; k != nil {
		if kus, generated, err = writeFluxKustomization(fsys, k, root.Path); err != nil {
			return nil, false, err
		}
		opts.LoadRestrictions = kustypes.LoadRestrictionsNone
	} else {
		opts.LoadRestrictions = kustypes.LoadRestrictionsRootOnly
		if fluxBuilds {
			// What kustomize-controller builds reads where it likes.
			opts.LoadRestrictions = kustypes.LoadRestrictionsNone
		}
		opts.Reorder = krusty.ReorderOptionUnspecified
	}
	if e.kustomizeOrigins {
		injected = trackOrigins(fsys, root.Path)
	}
	// kustomize keeps the OpenAPI schema in a global: a root that brings its
	// own schema is built alone, in every engine, and the global is reset
	// after it.
	if e.customOpenAPI(fsys, root.Path) {
		openapiMu.Lock()
		defer func() {
			openapi.ResetOpenAPI()
			openapiMu.Unlock()
		}()
	} else {
		openapiMu.RLock()
		defer openapiMu.RUnlock()
	}
	if kus != nil && !e.kustomizeOrigins && !e.noPassThrough {
		if objs, ok := passThrough(fsys, root.Path, kus); ok {
			return objs, false, nil
		}
	}
	m, err = runKrusty(opts, fsys, fsys.Abs(root.Path))
	if err != nil && generated {
		// A file that does not decode fails as kustomize-controller's
		// generator reports it.
		if _, derr := scanManifests(fsys, root.Path, true); derr != nil {
			err = derr
		}
	}
	return m, injected, err
}

func runKrusty(opts *krusty.Options, fsys *kfs.FS, dir string) (m resmap.ResMap, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("kustomize panicked: %v", r)
		}
	}()
	return krusty.MakeKustomizer(opts).Run(fsys, dir)
}

// customOpenAPI tells whether the root's kustomization file names an OpenAPI
// schema of its own.
func (e *Engine) customOpenAPI(fsys *kfs.FS, dir string) bool {
	kfile, ok := kustomizationFileIn(fsys, dir)
	if !ok {
		return false
	}
	data, err := fsys.ReadFile(fsys.Abs(kfile))
	return err == nil && (bytes.HasPrefix(data, []byte("openapi:")) || bytes.Contains(data, []byte("\nopenapi:")))
}

// finishFlux does to a Flux root's objects what kustomize-controller does
// after kustomize: it checks every object names its apiVersion, kind and
// name, runs post-build substitution, and sets commonMetadata and the
// ownership labels.
func finishFlux(m resourceSet, k *Kustomization, vars map[string]string, strict bool) (unset []string, err error) {
	for _, res := range m.Resources() {
		if res.GetName() == "" || res.GetKind() == "" || res.GetApiVersion() == "" {
			// Not the object itself, as Flux prints it: it may be a Secret.
			return nil, fmt.Errorf("failed to decode Kubernetes apiVersion, kind and name: an object has apiVersion %q, kind %q, name %q", res.GetApiVersion(), res.GetKind(), res.GetName())
		}
	}
	if k.Spec.PostBuild != nil {
		if unset, err = substitute(m, k, vars, strict); err != nil {
			return nil, err
		}
	}
	labels := map[string]string{OwnerNameLabel: k.Name(), OwnerNamespaceLabel: k.Namespace()}
	var annotations map[string]string
	if cm := k.Spec.CommonMetadata; cm != nil {
		for key, v := range cm.Labels {
			labels[key] = v
		}
		annotations = cm.Annotations
	}
	for _, res := range m.Resources() {
		if err := setAll(&res.RNode, labels, func(k, v string) kyaml.Filter { return kyaml.SetLabel(k, v) }); err != nil {
			return nil, err
		}
		if err := setAll(&res.RNode, annotations, func(k, v string) kyaml.Filter { return kyaml.SetAnnotation(k, v) }); err != nil {
			return nil, err
		}
	}
	return unset, nil
}

// setAll applies set for every key of kv, in key order.
func setAll(n *kyaml.RNode, kv map[string]string, set func(k, v string) kyaml.Filter) error {
	keys := make([]string, 0, len(kv))
	for key := range kv {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if err := n.PipeE(set(key, kv[key])); err != nil {
			return err
		}
	}
	return nil
}

// asYAML prints m exactly as kustomize's ResMap.AsYaml does, the resources
// on every core (printYAML).
func asYAML(m resourceSet) ([]byte, error) {
	rs := m.Resources()
	outs := make([][]byte, len(rs))
	errs := make([]error, len(rs))
	onCores(len(rs), 8, func(i int) { outs[i], errs[i] = printYAML(rs[i]) })
	size := 0
	for i, err := range errs {
		if err != nil {
			fields, _ := rs[i].Map()
			return nil, fmt.Errorf("%#v: %w", fields, err)
		}
		size += len(outs[i]) + len("---\n")
	}
	var b bytes.Buffer
	b.Grow(size)
	for i, out := range outs {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(out)
	}
	return b.Bytes(), nil
}
