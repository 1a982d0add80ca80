// Package deprecation knows which API versions are deprecated or removed: the
// Kubernetes built-in APIs, judged against a Kubernetes minor release, and
// the Flux APIs (*.toolkit.fluxcd.io), judged against the Flux release whose
// components this project bundles. It backs the `deprecated-api` rule of
// `kubectl gitops validate`.
//
// The Kubernetes facts are generated from the lifecycle data of the
// Kubernetes API modules (see gen/), plus a hand-written supplement for the
// APIs those modules no longer carry. The Flux facts are hand-written from
// the CRDs and changelogs of each Flux release; each carries its source.
package deprecation

//go:generate go run ./gen -o zz_generated.kubernetes.go

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Project names who owns an API.
type Project string

// The projects whose APIs this package knows.
const (
	Kubernetes Project = "Kubernetes"
	Flux       Project = "Flux"
)

// BundledFluxVersion is the Flux release of the bundled gotk-components
// (testdata/examples/sock-shop/flux-repo/clusters/dev-cluster/flux-system):
// Flux APIs are judged by what it serves.
const BundledFluxVersion = "v2.9.4"

// BundledFlux returns BundledFluxVersion as a minor release.
func BundledFlux() Release {
	r, _ := parseRelease(BundledFluxVersion)
	return r
}

// AssumedFlux says that a cluster whose repository names no Flux release
// is taken to run the bundled one, and how to name another: what a finding
// that depends on it adds.
func AssumedFlux() string {
	b := BundledFlux()
	return fmt.Sprintf("the repository names no Flux release for this cluster, so v%d.%d is assumed: pass --flux-version or set fluxVersion in .gitops.yaml if it runs an older one", b.Major, b.Minor)
}

// UnnamedFlux says what a Flux API removed in the release removed means
// where the repository names no Flux release for the cluster: an error
// on that release and later ones, and how to name the one it runs.
func UnnamedFlux(removed Release) string {
	return fmt.Sprintf("the repository names no Flux release for this cluster: an error on Flux %s and later; pass --flux-version or set fluxVersion in .gitops.yaml to check it against the release it runs", removed)
}

// Release is a minor release: Kubernetes v1.25, Flux v2.7. The zero Release
// means "none" or "not established".
type Release struct {
	Major, Minor int
}

// IsZero reports whether r is the zero Release.
func (r Release) IsZero() bool { return r == Release{} }

// Before reports whether r is an earlier release than o.
func (r Release) Before(o Release) bool {
	if r.Major != o.Major {
		return r.Major < o.Major
	}
	return r.Minor < o.Minor
}

// String returns "v1.25".
func (r Release) String() string { return fmt.Sprintf("v%d.%d", r.Major, r.Minor) }

// reached reports whether a non-zero release r has happened by target.
func (r Release) reached(target Release) bool { return !r.IsZero() && !target.Before(r) }

var kubernetesVersionRE = regexp.MustCompile(`^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$`)

// errNotRelease says a version is not of the form vMAJOR.MINOR[.PATCH].
var errNotRelease = errors.New("not a release")

// parseRelease reads "v1.30", "1.30", "v1.30.4" or "v1.30.4-eks-1234" as
// its minor release.
func parseRelease(s string) (Release, error) {
	m := kubernetesVersionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Release{}, errNotRelease
	}
	major, err := strconv.Atoi(m[1])
	if err != nil {
		return Release{}, err
	}
	minor, err := strconv.Atoi(m[2])
	if err != nil {
		return Release{}, err
	}
	return Release{Major: major, Minor: minor}, nil
}

// fluxRelease reads a Flux version, "v2.7" or "v2.7.5", or a release of
// Flux 0.x ("v0.31"): the bundled release when it is empty, unreadable or
// newer than the bundled one.
func fluxRelease(s string) Release {
	r, err := parseRelease(s)
	if err != nil || (r.Major != 2 && r.Major != 0) || r.IsZero() || BundledFlux().Before(r) {
		return BundledFlux()
	}
	return r
}

// ParseKubernetesVersion reads a Kubernetes version as `--kubernetes-version`
// takes it: "v1.30", "1.30", "v1.30.4" or "v1.30.4-eks-1234"; only the
// minor release counts.
func ParseKubernetesVersion(s string) (Release, error) {
	r, err := parseRelease(s)
	switch {
	case errors.Is(err, errNotRelease):
		return Release{}, fmt.Errorf("kubernetes version %q: want vMAJOR.MINOR, e.g. v1.30", s)
	case err != nil:
		return Release{}, fmt.Errorf("kubernetes version %q: %w", s, err)
	case r.Major != 1:
		return Release{}, fmt.Errorf("kubernetes version %q: only v1.x exists", s)
	}
	return r, nil
}

// LatestKubernetes returns the newest Kubernetes release the table knows:
// the one the Kubernetes API modules it was generated from were cut from.
func LatestKubernetes() Release { return generatedKubernetesRelease() }

// Info is what is known about one deprecated or removed group/version/kind.
// Releases are Kubernetes releases for Kubernetes APIs and Flux releases for
// Flux APIs; a zero release is one that did not happen or is not established.
type Info struct {
	schema.GroupVersionKind
	Project Project
	// Introduced is the release that first served it (Kubernetes only).
	Introduced Release
	// Deprecated is the release that marked it deprecated.
	Deprecated Release
	// Removed is the first release that no longer serves it.
	Removed Release
	// Replacement is what to use instead; empty when there is none.
	Replacement schema.GroupVersionKind
	// Note says what the fields above cannot. For a Kubernetes API with no
	// replacement it is the advice that ends its message ("use Pod Security
	// Admission ..."); for a Flux API it explains a release that is not
	// established ("removed before Flux v2.0").
	Note string
}

// APIVersion returns the apiVersion field of objects of this kind.
func (i Info) APIVersion() string { return i.GroupVersion().String() }

// Severity is how serious a Finding is, spelled as `validate -o json` does.
type Severity string

// The severities of findings.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding says that an apiVersion/kind is deprecated or removed in the
// release it was judged against.
type Finding struct {
	Info Info
	// Against is the release it was judged against: the target Kubernetes
	// release, or the cluster's Flux release.
	Against Release
	// Removed is true when Against no longer serves it, false when it is
	// only deprecated.
	Removed bool
	// Severity is error when removed, warning when deprecated.
	Severity Severity
	// Message is ready to show, e.g. "policy/v1beta1 PodDisruptionBudget was
	// removed in Kubernetes v1.25: use policy/v1".
	Message string
}

type table struct {
	byGVK map[schema.GroupVersionKind]Info
	// fluxServed is what the bundled Flux release serves.
	fluxServed map[schema.GroupVersionKind]bool
}

// theTable is built once, on first use, and never changed.
var theTable = sync.OnceValue(func() *table {
	t := &table{
		byGVK:      map[schema.GroupVersionKind]Info{},
		fluxServed: map[schema.GroupVersionKind]bool{},
	}
	for _, list := range [][]Info{generatedKubernetesAPIs(), kubernetesSupplement(), fluxAPIs()} {
		for _, i := range list {
			if _, dup := t.byGVK[i.GroupVersionKind]; !dup {
				t.byGVK[i.GroupVersionKind] = i
			}
		}
	}
	for _, g := range fluxServedAPIs() {
		t.fluxServed[g] = true
	}
	return t
})

// All returns every entry, Kubernetes and Flux, sorted by group, version
// and kind.
func All() []Info {
	t := theTable()
	out := make([]Info, 0, len(t.byGVK))
	for _, i := range t.byGVK {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a].GroupVersionKind, out[b].GroupVersionKind
		if x.Group != y.Group {
			return x.Group < y.Group
		}
		if x.Version != y.Version {
			return x.Version < y.Version
		}
		return x.Kind < y.Kind
	})
	return out
}

// Lookup returns what is known about apiVersion/kind ("apps/v1beta1",
// "Deployment"), and false when it was never deprecated nor removed.
func Lookup(apiVersion, kind string) (Info, bool) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return Info{}, false
	}
	i, ok := theTable().byGVK[gv.WithKind(kind)]
	return i, ok
}

// Check judges apiVersion/kind: Kubernetes APIs against kubernetesVersion
// (as ParseKubernetesVersion reads it; empty or unreadable means
// LatestKubernetes, so validate user input with ParseKubernetesVersion
// first), Flux APIs against fluxVersion, the Flux release the cluster runs
// ("v2.7", "v2.7.5", "v0.31"; empty or unreadable means the bundled
// release). It returns false when the API is neither deprecated nor
// removed there.
func Check(apiVersion, kind, kubernetesVersion, fluxVersion string) (Finding, bool) {
	target, err := ParseKubernetesVersion(kubernetesVersion)
	if err != nil {
		target = LatestKubernetes()
	}
	info, ok := Lookup(apiVersion, kind)
	if !ok {
		return Finding{}, false
	}
	if info.Project == Flux {
		return checkFlux(info, fluxRelease(fluxVersion))
	}
	return checkKubernetes(info, target)
}

func checkKubernetes(info Info, target Release) (Finding, bool) {
	f := Finding{Info: info, Against: target}
	switch {
	case info.Removed.reached(target):
		f.Removed, f.Severity = true, SeverityError
		f.Message = fmt.Sprintf("%s %s was removed in Kubernetes %s", info.APIVersion(), info.Kind, info.Removed)
	case info.Deprecated.reached(target):
		f.Severity = SeverityWarning
		f.Message = fmt.Sprintf("%s %s is deprecated since Kubernetes %s", info.APIVersion(), info.Kind, info.Deprecated)
		if !info.Removed.IsZero() {
			f.Message += fmt.Sprintf(" and will be removed in %s", info.Removed)
		}
	default:
		return Finding{}, false
	}
	r, note := resolve(info, target)
	f.Message += use(info, r, note)
	return f, true
}

func checkFlux(info Info, target Release) (Finding, bool) {
	t := theTable()
	f := Finding{Info: info, Against: target}
	served := t.fluxServed[info.GroupVersionKind]
	switch {
	case info.Removed.reached(target):
		f.Removed, f.Severity = true, SeverityError
		f.Message = fmt.Sprintf("%s %s was removed in Flux %s", info.APIVersion(), info.Kind, info.Removed)
		switch {
		case !info.Deprecated.IsZero():
			f.Message += fmt.Sprintf(" (deprecated in %s)", info.Deprecated)
		case info.Note != "":
			f.Message += " (" + info.Note + ")"
		}
	case !served && info.Removed.IsZero() && target.Major >= 2:
		// Gone before any release the table knows (before Flux v2.0);
		// what a release of Flux 0.x served, the table does not say.
		f.Removed, f.Severity = true, SeverityError
		label := target.String()
		if target == BundledFlux() {
			label = BundledFluxVersion
		}
		f.Message = fmt.Sprintf("%s %s is not served by Flux %s", info.APIVersion(), info.Kind, label)
		if info.Note != "" {
			f.Message += " (" + info.Note + ")"
		}
	case info.Deprecated.reached(target):
		f.Severity = SeverityWarning
		f.Message = fmt.Sprintf("%s %s is deprecated since Flux %s", info.APIVersion(), info.Kind, info.Deprecated)
	default:
		return Finding{}, false
	}
	f.Message += use(info, info.Replacement, "")
	return f, true
}

// resolve follows the replacement of info while the replacement is itself
// deprecated or removed at target, so that the advice is the API to move to,
// not the next stop of a migration that already ended (flowcontrol v1beta1
// -> v1beta2 -> v1beta3 -> v1). It stops at the first replacement that is
// current at target. When the chain ends at an API that target no longer
// serves and that has no replacement of its own (extensions/v1beta1
// PodSecurityPolicy -> policy/v1beta1 PodSecurityPolicy, gone in v1.25),
// there is nothing to move to: it returns no replacement and that API's
// note.
func resolve(info Info, target Release) (schema.GroupVersionKind, string) {
	t := theTable()
	r, note := info.Replacement, info.Note
	seen := map[schema.GroupVersionKind]bool{info.GroupVersionKind: true}
	for !r.Empty() && !seen[r] {
		seen[r] = true
		next, ok := t.byGVK[r]
		if !ok || (!next.Deprecated.reached(target) && !next.Removed.reached(target)) {
			break // current at target
		}
		if next.Replacement.Empty() {
			if next.Removed.reached(target) {
				return schema.GroupVersionKind{}, next.Note
			}
			break
		}
		r = next.Replacement
	}
	return r, note
}

// use returns ": use apps/v1", naming the kind when it changes (": use
// discovery.k8s.io/v1 EndpointSlice"); with no replacement, ": " and the
// note, if any.
func use(info Info, r schema.GroupVersionKind, note string) string {
	switch {
	case r.Empty() && note != "":
		return ": " + note
	case r.Empty():
		return ""
	case r.Kind == info.Kind:
		return ": use " + r.GroupVersion().String()
	default:
		return ": use " + r.GroupVersion().String() + " " + r.Kind
	}
}

// gvk spells a GroupVersionKind briefly in the tables.
func gvk(group, version, kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: group, Version: version, Kind: kind}
}
