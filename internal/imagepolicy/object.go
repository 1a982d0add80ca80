package imagepolicy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Group is the API group of Flux's image reflection objects.
const Group = "image.toolkit.fluxcd.io"

// ErrInvalidObject is wrapped by the errors of FromObject and
// RepositoryFromObject: the object is not one the Kubernetes API server would
// accept, or not an ImagePolicy or ImageRepository at all.
var ErrInvalidObject = errors.New("invalid object")

// apiVersions returns the versions of Group this package reads, oldest
// first. image-reflector-controller v1.1 serves v1beta2 (deprecated) and v1,
// v1.2 serves only v1; manifests in Git may still say v1beta1.
func apiVersions() []string { return []string{"v1beta1", "v1beta2", "v1"} }

// durationPattern is the CRDs' pattern for spec.interval; timeoutPattern for
// the ImageRepository's spec.timeout, which does not allow hours.
var (
	durationPattern = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`)
	timeoutPattern  = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ms|s|m))+$`)
)

// orders returns the values the CRDs accept for policy orders.
func orders() []string { return []string{OrderAsc, OrderDesc} }

// digestReflectionPolicies returns the values the CRDs accept for
// spec.digestReflectionPolicy.
func digestReflectionPolicies() []string { return []string{"Always", "IfNotPresent", "Never"} }

// providers returns the values the CRDs accept for spec.provider.
func providers() []string { return []string{"generic", "aws", "azure", "gcp"} }

// maxExclusions is the CRDs' maxItems for spec.exclusionList (v1beta2, v1).
const maxExclusions = 25

// FromObject reads an ImagePolicy of image.toolkit.fluxcd.io/v1beta1, v1beta2
// or v1, as decoded from YAML or JSON, into a Spec. It applies the CRDs'
// defaults (order asc, digestReflectionPolicy Never) and, when
// spec.imageRepositoryRef.namespace is empty, takes the policy's own
// namespace. It reports, wrapping ErrInvalidObject, what the API server would
// reject: a missing or mistyped field, a field the version does not have, a
// value outside an enum, a bad interval. It does not check what only the
// controller checks; see Spec.Validate.
func FromObject(obj map[string]any) (Spec, error) {
	r := reader{}
	version, err := r.header(obj, "ImagePolicy")
	if err != nil {
		return Spec{}, err
	}
	namespace := r.str(r.object(obj, "metadata", false), "metadata", "namespace", false)
	spec := r.object(obj, "spec", true)
	known := []string{"imageRepositoryRef", "policy", "filterTags"}
	if version != "v1beta1" {
		known = append(known, "digestReflectionPolicy", "interval", "suspend")
	}
	r.known(spec, "spec", version, known...)

	var s Spec
	ref := r.object(spec, "spec.imageRepositoryRef", true)
	r.known(ref, "spec.imageRepositoryRef", version, "name", "namespace")
	s.ImageRepositoryRef = ObjectRef{
		Name:      r.str(ref, "spec.imageRepositoryRef", "name", true),
		Namespace: r.str(ref, "spec.imageRepositoryRef", "namespace", false),
	}
	if s.ImageRepositoryRef.Namespace == "" {
		s.ImageRepositoryRef.Namespace = namespace
	}
	s.Policy = r.policy(r.object(spec, "spec.policy", true), version)
	if f := r.object(spec, "spec.filterTags", false); f != nil {
		r.known(f, "spec.filterTags", version, "pattern", "extract")
		s.FilterTags = &FilterTags{
			Pattern: r.str(f, "spec.filterTags", "pattern", false),
			Extract: r.str(f, "spec.filterTags", "extract", false),
		}
	}
	s.DigestReflectionPolicy = r.enum(spec, "spec", "digestReflectionPolicy", digestReflectionPolicies(), "Never")
	s.Interval = r.duration(spec, "spec", "interval", durationPattern, false)
	s.Suspend = r.boolean(spec, "spec", "suspend")
	if r.err == nil {
		r.digestRules(spec, s.DigestReflectionPolicy)
	}
	if r.err != nil {
		return Spec{}, r.err
	}
	return s, nil
}

// Repository is what this tool needs of an ImageRepository: where to list
// tags and which to exclude.
type Repository struct {
	// Image is spec.image as written, such as "ghcr.io/org/app" or
	// "alpine": a repository without tag or digest.
	Image string
	// Interval is the time between scans.
	Interval time.Duration
	// Timeout bounds one scan: spec.timeout, else Interval, and never less
	// than a second, as the controller computes it.
	Timeout time.Duration
	// SecretRef names a docker-registry Secret with credentials; empty when
	// unset.
	SecretRef string
	// CertSecretRef names a Secret with TLS client or CA certificates.
	CertSecretRef string
	// ProxySecretRef names a Secret with the proxy to use (v1beta2, v1).
	ProxySecretRef string
	// ServiceAccountName names a ServiceAccount whose pull secrets or
	// identity authenticate the scan.
	ServiceAccountName string
	// ExclusionList is spec.exclusionList as written, nil when absent; pass
	// it to Spec.ExclusionList, where empty means DefaultExclusionPattern.
	ExclusionList []string
	// Provider is generic, aws, azure or gcp; generic when unset.
	Provider string
	// Insecure allows plain-HTTP registries.
	Insecure bool
	// Suspend stops the controller from scanning.
	Suspend bool
}

// RepositoryFromObject reads an ImageRepository of image.toolkit.fluxcd.io
// v1beta1, v1beta2 or v1, as decoded from YAML or JSON. Besides what the API
// server would reject, it reports, wrapping ErrInvalidObject, an image the
// controller cannot parse (one with a URL scheme, a tag or a digest) and an
// exclusion pattern that is not a valid regular expression, on which the
// controller's scans fail.
func RepositoryFromObject(obj map[string]any) (Repository, error) {
	r := reader{}
	version, err := r.header(obj, "ImageRepository")
	if err != nil {
		return Repository{}, err
	}
	spec := r.object(obj, "spec", true)
	known := []string{"image", "interval", "timeout", "secretRef", "serviceAccountName",
		"certSecretRef", "suspend", "accessFrom", "exclusionList"}
	if version != "v1beta1" {
		known = append(known, "proxySecretRef", "provider", "insecure")
	}
	r.known(spec, "spec", version, known...)

	var repo Repository
	repo.Image = r.str(spec, "spec", "image", true)
	repo.Interval = r.duration(spec, "spec", "interval", durationPattern, true)
	repo.Timeout = r.duration(spec, "spec", "timeout", timeoutPattern, false)
	if repo.Timeout == 0 {
		repo.Timeout = repo.Interval
	}
	repo.Timeout = max(repo.Timeout, time.Second)
	repo.SecretRef = r.localRef(spec, "secretRef", version)
	repo.CertSecretRef = r.localRef(spec, "certSecretRef", version)
	repo.ProxySecretRef = r.localRef(spec, "proxySecretRef", version)
	repo.ServiceAccountName = r.str(spec, "spec", "serviceAccountName", false)
	repo.ExclusionList = r.exclusionList(spec, version)
	repo.Provider = r.enum(spec, "spec", "provider", providers(), "generic")
	repo.Insecure = r.boolean(spec, "spec", "insecure")
	repo.Suspend = r.boolean(spec, "spec", "suspend")
	r.object(spec, "spec.accessFrom", false)
	if r.err == nil {
		r.err = checkImage(repo.Image)
	}
	if r.err != nil {
		return Repository{}, r.err
	}
	return repo, nil
}

// checkImage applies the controller's checks on an ImageRepository's image:
// no URL scheme, no tag (and, as a tag's colon or a digest's at sign would
// show, no digest). The registry is the first path element when it contains
// a dot or a colon or is "localhost", as go-containerregistry reads it; a
// colon there is a port. Whether the rest is a valid repository name is left
// to the registry client.
func checkImage(image string) error {
	if scheme, _, found := strings.Cut(image, "://"); found {
		return fmt.Errorf("%w: spec.image %q must not include a URL scheme; remove %q", ErrInvalidObject, image, scheme+"://")
	}
	path := image
	if first, rest, found := strings.Cut(image, "/"); found && (first == "localhost" || strings.ContainsAny(first, ".:")) {
		path = rest
	}
	if before, after, found := strings.Cut(path, "@"); found {
		return fmt.Errorf("%w: spec.image %q must not include a digest; remove %q", ErrInvalidObject, image, "@"+after)
	} else if _, tag, found := strings.Cut(before, ":"); found {
		return fmt.Errorf("%w: spec.image %q must not include a tag; remove %q", ErrInvalidObject, image, ":"+tag)
	}
	if path == "" || strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") || strings.Contains(path, "//") {
		return fmt.Errorf("%w: spec.image %q is not an image repository name", ErrInvalidObject, image)
	}
	return nil
}

// reader reads fields of a decoded object, keeping the first error so that a
// reading function can go on without checking after every field.
type reader struct {
	err error
}

// fail records the first problem.
func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidObject}, args...)...)
	}
}

// header checks apiVersion and kind and returns the version.
func (r *reader) header(obj map[string]any, kind string) (string, error) {
	if obj == nil {
		return "", fmt.Errorf("%w: no object", ErrInvalidObject)
	}
	apiVersion, _ := obj["apiVersion"].(string)
	gotKind, _ := obj["kind"].(string)
	if gotKind != kind {
		return "", fmt.Errorf("%w: kind is %q, want %s", ErrInvalidObject, gotKind, kind)
	}
	group, version, found := strings.Cut(apiVersion, "/")
	if !found || group != Group || !slices.Contains(apiVersions(), version) {
		return "", fmt.Errorf("%w: apiVersion %q of %s is not %s/ followed by one of %s",
			ErrInvalidObject, apiVersion, kind, Group, strings.Join(apiVersions(), ", "))
	}
	return version, nil
}

// value returns m[key]; required says a missing key is an error.
func (r *reader) value(m map[string]any, path, key string, required bool) (any, bool) {
	v, found := m[key]
	if !found || v == nil {
		if required {
			r.fail("%s is required", join(path, key))
		}
		return nil, false
	}
	return v, true
}

// object reads a nested object at a dotted path below m's parent; path is
// the full path of the field, whose last element is the key in m.
func (r *reader) object(m map[string]any, path string, required bool) map[string]any {
	parent, key := splitPath(path)
	v, ok := r.value(m, parent, key, required)
	if !ok {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		r.fail("%s must be an object, not %s", path, typeName(v))
		return nil
	}
	return obj
}

// join appends key to a dotted field path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// splitPath splits "a.b.c" into "a.b" and "c"; a single element is its own
// key below the object's root.
func splitPath(path string) (parent, key string) {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i], path[i+1:]
	}
	return "", path
}

// str reads a string field.
func (r *reader) str(m map[string]any, path, key string, required bool) string {
	v, ok := r.value(m, path, key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.fail("%s.%s must be a string, not %s", path, key, typeName(v))
		return ""
	}
	if required && s == "" {
		r.fail("%s.%s must not be empty", path, key)
	}
	return s
}

// boolean reads a bool field, false when absent.
func (r *reader) boolean(m map[string]any, path, key string) bool {
	v, ok := r.value(m, path, key, false)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.fail("%s.%s must be true or false, not %s", path, key, typeName(v))
	}
	return b
}

// enum reads a string field that must be one of allowed, def when absent.
func (r *reader) enum(m map[string]any, path, key string, allowed []string, def string) string {
	s := r.str(m, path, key, false)
	if _, present := m[key]; !present || m[key] == nil {
		return def
	}
	if r.err == nil && !slices.Contains(allowed, s) {
		r.fail("%s.%s is %q; it must be one of %s", path, key, s, strings.Join(allowed, ", "))
	}
	return s
}

// duration reads a duration field that must match pattern.
func (r *reader) duration(m map[string]any, path, key string, pattern *regexp.Regexp, required bool) time.Duration {
	s := r.str(m, path, key, required)
	if s == "" || r.err != nil {
		return 0
	}
	if !pattern.MatchString(s) {
		r.fail("%s.%s is %q; it must be a duration such as 1m30s, matching %s", path, key, s, pattern)
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		r.fail("%s.%s is %q: %w", path, key, s, err)
	}
	return d
}

// known reports the first field of m that the version's schema lacks.
func (r *reader) known(m map[string]any, path, version string, fields ...string) {
	if m == nil || r.err != nil {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(fields, k) {
			r.fail("%s.%s is not a field of %s/%s (its fields: %s)", path, k, Group, version, strings.Join(fields, ", "))
			return
		}
	}
}

// policy reads spec.policy.
func (r *reader) policy(m map[string]any, version string) Policy {
	var p Policy
	if m == nil {
		return p
	}
	r.known(m, "spec.policy", version, "semver", "alphabetical", "numerical")
	if sv := r.object(m, "spec.policy.semver", false); sv != nil {
		r.known(sv, "spec.policy.semver", version, "range")
		p.Semver = &SemverPolicy{Range: r.str(sv, "spec.policy.semver", "range", true)}
	}
	if a := r.object(m, "spec.policy.alphabetical", false); a != nil {
		r.known(a, "spec.policy.alphabetical", version, "order")
		p.Alphabetical = &AlphabeticalPolicy{Order: r.enum(a, "spec.policy.alphabetical", "order", orders(), OrderAsc)}
	}
	if n := r.object(m, "spec.policy.numerical", false); n != nil {
		r.known(n, "spec.policy.numerical", version, "order")
		p.Numerical = &NumericalPolicy{Order: r.enum(n, "spec.policy.numerical", "order", orders(), OrderAsc)}
	}
	return p
}

// digestRules applies the CRDs' CEL rules tying spec.interval to
// digestReflectionPolicy Always; their messages are the API server's.
func (r *reader) digestRules(spec map[string]any, policy string) {
	_, hasInterval := spec["interval"]
	_, hasPolicy := spec["digestReflectionPolicy"]
	switch {
	case hasInterval && (!hasPolicy || policy != "Always"):
		r.fail("spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'")
	case !hasInterval && hasPolicy && policy == "Always":
		r.fail("spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'")
	}
}

// localRef reads a {name: ...} reference under spec.
func (r *reader) localRef(spec map[string]any, key, version string) string {
	ref := r.object(spec, "spec."+key, false)
	if ref == nil {
		return ""
	}
	r.known(ref, "spec."+key, version, "name")
	return r.str(ref, "spec."+key, "name", true)
}

// exclusionList reads spec.exclusionList and compiles each pattern.
func (r *reader) exclusionList(spec map[string]any, version string) []string {
	v, ok := r.value(spec, "spec", "exclusionList", false)
	if !ok {
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		r.fail("spec.exclusionList must be a list of strings, not %s", typeName(v))
		return nil
	}
	if version != "v1beta1" && len(items) > maxExclusions {
		r.fail("spec.exclusionList has %d items; at most %d are allowed", len(items), maxExclusions)
		return nil
	}
	list := make([]string, 0, len(items))
	for i, item := range items {
		s, ok := item.(string)
		if !ok {
			r.fail("spec.exclusionList[%d] must be a string, not %s", i, typeName(item))
			return nil
		}
		if _, err := regexp.Compile(s); err != nil {
			r.fail("spec.exclusionList[%d] %q is not a valid regular expression: %w", i, s, err)
			return nil
		}
		list = append(list, s)
	}
	return list
}

// typeName names the YAML type of a decoded value, for messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int32, int64, uint, uint32, uint64, float32, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
