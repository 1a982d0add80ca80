// Package schema checks Kubernetes objects against the schemas the API
// server of a given version would check them against, offline.
//
// Built-in kinds are checked against the OpenAPI v3 schemas of the
// kube-apiserver of that version, and Flux kinds against the CRDs of the
// Flux release: both are embedded in the binary (hack/schemas generates
// them). Custom resources are checked against CRDs given with AddCRD,
// including their x-kubernetes-validations CEL rules.
//
// The checks are strict, like `kubectl apply --validate=strict`: unknown
// fields, wrong types, missing required fields, values outside an enum,
// malformed formats, patterns, bounds and CEL rules are violations.
// Defaulting is applied, as the API server applies it, to a copy: the
// objects given are never changed. Validation reuses the API server's own
// code (k8s.io/apiextensions-apiserver and k8s.io/kube-openapi), so
// messages read as the server's.
package schema

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
)

// Versions returns the Kubernetes versions whose schemas are embedded, as
// "v1.MINOR" (oldest first). New accepts each of them.
func Versions() []string {
	var out []string
	for _, v := range embeddedVersions() {
		out = append(out, minorOf(v))
	}
	return out
}

// Default returns the Kubernetes version used when none is given: the one
// of the client library kubectl-gitops is built with (k8s.io/client-go
// v0.37 is Kubernetes v1.37), as "v1.MINOR".
func Default() string { return defaultVersion }

// defaultVersion matches the k8s.io/client-go minor version in go.mod; a
// test keeps them in step.
const defaultVersion = "v1.37"

// FluxVersion returns the Flux release whose CRDs are preloaded, "v2.9.4".
func FluxVersion() string {
	v, err := embeddedFluxVersion()
	if err != nil {
		return ""
	}
	return v
}

// minorOf turns "v1.37.2" into "v1.37".
func minorOf(full string) string {
	major, minor, _, _ := parseVersion(full)
	return fmt.Sprintf("v%d.%d", major, minor)
}

// Status says whether Validate found a schema for an object.
type Status int

const (
	// Validated means the object was checked against its kind's schema.
	Validated Status = iota + 1
	// NoSchema means no schema is known for the object's apiVersion and
	// kind: neither a built-in kind of the Kubernetes version, nor a Flux
	// kind, nor a CRD given with AddCRD. Callers report it once per kind.
	NoSchema
)

// String returns "Validated" or "NoSchema".
func (s Status) String() string {
	switch s {
	case Validated:
		return "Validated"
	case NoSchema:
		return "NoSchema"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Validator checks objects against the schemas of one Kubernetes version,
// the Flux CRDs and the CRDs added with AddCRD. It is safe for concurrent
// use; compiled schemas are cached per kind.
type Validator struct {
	version  string // the full embedded version, "v1.37.2"
	builtins map[schema.GroupVersionKind]kindEntry
	defs     map[string]json.RawMessage
	// formats are the built-in kinds' string formats, crdFormats the
	// custom resources'.
	formats    strfmt.Registry
	crdFormats strfmt.Registry

	mu       sync.RWMutex
	crds     map[schema.GroupKind]*crdInfo            // by group and kind
	kinds    map[schema.GroupVersionKind]*compileOnce // compiled kinds
	compDefs map[string]*compileOnce                  // compiled definitions, for sub-validation
	parsed   map[string]*spec.Schema                  // parsed definitions
	// flux decodes each embedded Flux CRD that no CRD of crds replaced:
	// a run needs few of them, and decoding them all was most of New.
	flux map[schema.GroupKind]func() (*crdInfo, error)
}

// compileOnce compiles one schema the first time it is needed.
type compileOnce struct {
	once  sync.Once
	build func() (*compiled, error)
	c     *compiled
	err   error
}

// get compiles on the first call and returns the result to every call.
func (o *compileOnce) get() (*compiled, error) {
	o.once.Do(func() { o.c, o.err = o.build() })
	return o.c, o.err
}

// New returns a Validator for a Kubernetes version given as "v1.37",
// "1.37" or "v1.37.2" (the patch is ignored: the embedded patch release of
// that minor serves), with the embedded Flux CRDs loaded. The error lists
// the embedded versions when the version is not one of them.
func New(kubernetesVersion string) (*Validator, error) {
	full, err := resolveVersion(kubernetesVersion)
	if err != nil {
		return nil, err
	}
	kf, err := readKubernetes(full)
	if err != nil {
		return nil, err
	}
	v := &Validator{
		version:    kf.KubernetesVersion,
		builtins:   make(map[schema.GroupVersionKind]kindEntry, len(kf.Kinds)),
		defs:       kf.Definitions,
		formats:    newFormats(),
		crdFormats: newCRDFormats(),
		crds:       map[schema.GroupKind]*crdInfo{},
		flux:       map[schema.GroupKind]func() (*crdInfo, error){},
		kinds:      map[schema.GroupVersionKind]*compileOnce{},
		compDefs:   map[string]*compileOnce{},
		parsed:     map[string]*spec.Schema{},
	}
	for _, k := range kf.Kinds {
		v.builtins[schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}] = k
	}
	ff, err := readFlux()
	if err != nil {
		return nil, err
	}
	for _, raw := range ff.CRDs {
		var head struct {
			Metadata struct{ Name string }
			Spec     struct {
				Group string
				Names struct{ Kind string }
			}
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.Spec.Group == "" || head.Spec.Names.Kind == "" {
			return nil, fmt.Errorf("embedded Flux %s CRD %q without a group and kind: %v", ff.FluxVersion, head.Metadata.Name, err)
		}
		// The embedded CRDs were checked when they were generated and are
		// checked again by the tests; skipping the check here keeps New cheap.
		gk := schema.GroupKind{Group: head.Spec.Group, Kind: head.Spec.Names.Kind}
		v.flux[gk] = sync.OnceValues(func() (*crdInfo, error) { return decodeCRD(raw, head.Metadata.Name, false) })
	}
	return v, nil
}

// Resolve maps a Kubernetes version given as New takes it to the full
// embedded version New would check against, without loading any schema.
func Resolve(kubernetesVersion string) (string, error) { return resolveVersion(kubernetesVersion) }

// resolveVersion maps a user's version to the full embedded one.
func resolveVersion(in string) (string, error) {
	major, minor, _, ok := parseVersion(strings.TrimSpace(in))
	if ok {
		for _, full := range embeddedVersions() {
			fm, fn, _, _ := parseVersion(full)
			if fm == major && fn == minor {
				return full, nil
			}
		}
	}
	return "", fmt.Errorf("no schemas for Kubernetes version %q: available versions are %s", in, strings.Join(Versions(), ", "))
}

// KubernetesVersion returns the full Kubernetes version whose built-in
// schemas v checks against, "v1.37.2".
func (v *Validator) KubernetesVersion() string { return v.version }

// Namespaced reports whether objects of the kind are namespaced, and
// whether v knows the kind at all.
func (v *Validator) Namespaced(gvk schema.GroupVersionKind) (namespaced, known bool) {
	if k, ok := v.builtins[gvk]; ok {
		return k.Namespaced, true
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if info, ok := v.crd(gvk.GroupKind()); ok && info.served(gvk.Version) {
		return info.namespaced, true
	}
	return false, false
}
