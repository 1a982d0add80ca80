// Package imagepolicy evaluates Flux image policies offline, the way Flux's
// image-reflector-controller does in the cluster: given an ImagePolicy's
// spec, the tags of an image repository and that ImageRepository's exclusion
// list, it selects the latest tag. It is a pure library: it reads no
// registry, no cluster and no environment.
//
// The evaluation follows the controller step by step:
//
//  1. The ImageRepository's exclusion list (or its default, ^.*\.sig$, when
//     the list is empty) removes every tag that any of its regular
//     expressions matches, as the controller's scan does before it stores the
//     tags.
//  2. When filterTags is set, tags its pattern does not match are dropped, and
//     with a non-empty extract the compared value is the extract template
//     expanded with the pattern's groups ($1, $name, ${name}).
//  3. The policy orders the values: semver picks the highest version within
//     the range, alphabetical and numerical pick the greatest value with order
//     asc (the default) and the least with order desc.
//
// The controller is not deterministic in one corner: with filterTags it reads
// the candidate values out of a Go map, so when two different values compare
// equal (semver "1.0.0" and "v1.0.0", numerical "1" and "1.0") the winner
// depends on map order. This package resolves those ties as the controller
// does when it is deterministic, by processing values in descending byte
// order, the order in which the controller's scan stores tags; its result
// never depends on the order of the tags it is given.
//
// Three levels of checks are offered to a validator: FromObject and
// RepositoryFromObject reject what the Kubernetes API server would reject
// (wrong types, enums, required fields, the CRDs' CEL rules); Spec.Validate
// rejects what makes the controller stall (no policy, a bad range, order or
// regular expression); CompilePattern also reports an extract template that
// names a group its pattern does not have, which the controller silently
// expands to an empty string.
package imagepolicy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/fluxcd/pkg/version"
)

// DefaultExclusionPattern is the exclusion list the controller applies when
// an ImageRepository's spec.exclusionList is absent or empty: it drops cosign
// signature tags.
const DefaultExclusionPattern = `^.*\.sig$`

// Orders accepted by the alphabetical and numerical policies. The CRDs accept
// only these lower-case spellings; the controller itself compares them case
// insensitively.
const (
	// OrderAsc selects the greatest value ("z", 9). It is the default.
	OrderAsc = "asc"
	// OrderDesc selects the least value ("a", 0).
	OrderDesc = "desc"
)

// Errors that Select and Spec.Validate wrap, to be told apart with errors.Is.
var (
	// ErrInvalidSpec means the policy cannot be evaluated at all: no policy
	// kind, a bad semver range or order, or a regular expression that does
	// not compile. The controller marks such an ImagePolicy Stalled (or fails
	// the ImageRepository scan for a bad exclusion list).
	ErrInvalidSpec = errors.New("invalid image policy")
	// ErrNoTags means no tag is left once the exclusion list has been
	// applied. The controller reports "no tags in database" and retries.
	ErrNoTags = errors.New("no tags")
	// ErrNoMatch means tags exist but the policy selects none of them: the
	// filter pattern matches no tag, or no tag is a version within the semver
	// range.
	ErrNoMatch = errors.New("no tag matched the policy")
	// ErrNotNumeric means a numerical policy met a value that is not a
	// number. Like the controller, the whole evaluation fails: the value is
	// not skipped.
	ErrNotNumeric = errors.New("not a numeric value")
)

// Spec is what the evaluation of an image policy depends on: the
// ImagePolicy's spec, in a shape common to image.toolkit.fluxcd.io/v1beta1,
// v1beta2 and v1, plus the exclusion list of the ImageRepository it refers
// to.
type Spec struct {
	// ImageRepositoryRef names the ImageRepository whose tags are evaluated.
	ImageRepositoryRef ObjectRef
	// Policy is the ordering rule.
	Policy Policy
	// FilterTags, when not nil, restricts and transforms the tags before the
	// policy compares them.
	FilterTags *FilterTags
	// DigestReflectionPolicy is Always, IfNotPresent or Never (v1beta2 and
	// v1); it decides whether the controller records the digest of the
	// selected tag and does not change the selection.
	DigestReflectionPolicy string
	// Interval is how often the digest is refreshed with
	// DigestReflectionPolicy Always; zero when unset.
	Interval time.Duration
	// Suspend stops the controller from reconciling the policy.
	Suspend bool
	// ExclusionList is the referenced ImageRepository's spec.exclusionList
	// (see Repository.ExclusionList). When empty, DefaultExclusionPattern
	// applies, as in the controller.
	ExclusionList []string
}

// ObjectRef names a Kubernetes object.
type ObjectRef struct {
	// Name of the object.
	Name string
	// Namespace of the object; empty when neither the reference nor the
	// referring object name one.
	Namespace string
}

// Policy is the union of the policy kinds. Exactly one should be set; when
// several are, the controller uses the first of Semver, Alphabetical and
// Numerical, and so does Select.
type Policy struct {
	// Semver selects the highest semantic version within a range.
	Semver *SemverPolicy
	// Alphabetical selects by byte-wise string order.
	Alphabetical *AlphabeticalPolicy
	// Numerical selects by the values' floating-point number.
	Numerical *NumericalPolicy
}

// SemverPolicy selects the highest tag that is a semantic version within
// Range.
type SemverPolicy struct {
	// Range is a Masterminds/semver constraint, such as ">=1.0.0 <2.0.0",
	// "1.2.x" or "^1.0".
	Range string
}

// AlphabeticalPolicy selects the last (asc) or first (desc) value in
// byte-wise order.
type AlphabeticalPolicy struct {
	// Order is OrderAsc, OrderDesc, or empty for OrderAsc.
	Order string
}

// NumericalPolicy selects the greatest (asc) or least (desc) value read as a
// floating-point number.
type NumericalPolicy struct {
	// Order is OrderAsc, OrderDesc, or empty for OrderAsc.
	Order string
}

// FilterTags keeps only the tags Pattern matches and, when Extract is not
// empty, compares the expansion of Extract instead of the tag.
type FilterTags struct {
	// Pattern is a Go regular expression (RE2 syntax), unanchored unless it
	// says ^ or $. An empty pattern matches every tag.
	Pattern string
	// Extract is a template in the syntax of regexp.Regexp.Expand: $1,
	// $name and ${name} stand for the pattern's groups.
	Extract string
}

// Result is the tag a policy selected.
type Result struct {
	// Tag is the selected tag, as the registry lists it.
	Tag string
	// Value is what the policy compared: the expansion of the extract
	// template, or the tag itself without one.
	Value string
}

// Select evaluates spec over the tags of its image repository and returns the
// latest tag. The order of tags does not matter. Errors wrap ErrInvalidSpec,
// ErrNoTags, ErrNoMatch or ErrNotNumeric.
func Select(spec Spec, tags []string) (Result, error) {
	ev, err := compile(spec)
	if err != nil {
		return Result{}, err
	}
	if len(tags) == 0 {
		return Result{}, fmt.Errorf("%w: the image repository has no tags (the controller reports %q)",
			ErrNoTags, "no tags in database")
	}
	sorted := canonicalOrder(tags)
	kept := ev.exclude(sorted)
	if len(kept) == 0 {
		return Result{}, fmt.Errorf("%w: the exclusion list %q excludes all %d tags (%s)",
			ErrNoTags, ev.exclusionSources(), len(sorted), sample(sorted))
	}
	values, original := ev.filter(kept)
	if len(values) == 0 {
		return Result{}, fmt.Errorf("%w: none of the %d tags (%s) matches filterTags.pattern %q (the controller reports %q)",
			ErrNoMatch, len(kept), sample(kept), spec.FilterTags.Pattern, "version list argument cannot be empty")
	}
	value, err := ev.latest(values, original)
	if err != nil {
		return Result{}, err
	}
	return Result{Tag: original[value], Value: value}, nil
}

// Validate reports what would make the controller refuse to evaluate spec,
// whatever the tags: no policy kind, a semver range that does not parse, an
// order other than asc or desc, a filter pattern or exclusion pattern that
// does not compile. Errors wrap ErrInvalidSpec.
func (s Spec) Validate() error {
	_, err := compile(s)
	return err
}

// evaluator is a Spec with its ranges and regular expressions compiled.
type evaluator struct {
	exclusions []*regexp.Regexp
	pattern    *regexp.Regexp // nil without filterTags
	extract    string
	kind       policyKind
	constraint *semver.Constraints // semver only
	rng        string              // semver only, as written
	desc       bool                // alphabetical and numerical only
}

// policyKind is the policy kind Select applies.
type policyKind int

const (
	kindSemver policyKind = iota
	kindAlphabetical
	kindNumerical
)

// compile checks spec and prepares its evaluation, in the controller's order
// of precedence for the policy kinds.
func compile(spec Spec) (*evaluator, error) {
	ev := &evaluator{}
	if err := ev.compilePolicy(spec.Policy); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if f := spec.FilterTags; f != nil {
		re, err := regexp.Compile(f.Pattern)
		if err != nil {
			return nil, fmt.Errorf("%w: filterTags.pattern %q: %w", ErrInvalidSpec, f.Pattern, err)
		}
		ev.pattern, ev.extract = re, f.Extract
	}
	exclusions := spec.ExclusionList
	if len(exclusions) == 0 {
		exclusions = []string{DefaultExclusionPattern}
	}
	for i, p := range exclusions {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: exclusionList[%d] %q: %w", ErrInvalidSpec, i, p, err)
		}
		ev.exclusions = append(ev.exclusions, re)
	}
	return ev, nil
}

// compilePolicy picks the policy kind and parses its range or order.
func (ev *evaluator) compilePolicy(p Policy) error {
	switch {
	case p.Semver != nil:
		c, err := semver.NewConstraint(p.Semver.Range)
		if err != nil {
			return fmt.Errorf("policy.semver.range %q: %w", p.Semver.Range, err)
		}
		ev.kind, ev.constraint, ev.rng = kindSemver, c, p.Semver.Range
	case p.Alphabetical != nil:
		desc, err := parseOrder(p.Alphabetical.Order)
		if err != nil {
			return fmt.Errorf("policy.alphabetical.order: %w", err)
		}
		ev.kind, ev.desc = kindAlphabetical, desc
	case p.Numerical != nil:
		desc, err := parseOrder(p.Numerical.Order)
		if err != nil {
			return fmt.Errorf("policy.numerical.order: %w", err)
		}
		ev.kind, ev.desc = kindNumerical, desc
	default:
		return errors.New("policy: none of semver, alphabetical or numerical is set")
	}
	return nil
}

// parseOrder reads an order the way the controller does: case-insensitive,
// empty meaning ascending.
func parseOrder(order string) (desc bool, err error) {
	switch strings.ToUpper(order) {
	case "", "ASC":
		return false, nil
	case "DESC":
		return true, nil
	}
	return false, fmt.Errorf("%q is neither %s nor %s", order, OrderAsc, OrderDesc)
}

// canonicalOrder returns the distinct tags in descending byte order, the
// order in which the controller's scan stores them.
func canonicalOrder(tags []string) []string {
	sorted := slices.Clone(tags)
	slices.SortFunc(sorted, func(a, b string) int { return strings.Compare(b, a) })
	return slices.Compact(sorted)
}

// exclude drops the tags any exclusion pattern matches, keeping the order.
func (ev *evaluator) exclude(tags []string) []string {
	kept := make([]string, 0, len(tags))
	for _, tag := range tags {
		if !slices.ContainsFunc(ev.exclusions, func(re *regexp.Regexp) bool { return re.MatchString(tag) }) {
			kept = append(kept, tag)
		}
	}
	return kept
}

// exclusionSources returns the exclusion patterns in force, for messages.
func (ev *evaluator) exclusionSources() []string {
	out := make([]string, len(ev.exclusions))
	for i, re := range ev.exclusions {
		out[i] = re.String()
	}
	return out
}

// filter applies filterTags to tags, which are in canonical order. It returns
// the distinct values to compare, in descending byte order, and the tag each
// value came from. When several tags give the same value, the last one in
// canonical order wins, as in the controller, which fills a map in the order
// of its stored tags.
func (ev *evaluator) filter(tags []string) ([]string, map[string]string) {
	original := make(map[string]string, len(tags))
	if ev.pattern == nil {
		for _, tag := range tags {
			original[tag] = tag
		}
		return tags, original
	}
	for _, tag := range tags {
		match := ev.pattern.FindStringSubmatchIndex(tag)
		if match == nil {
			continue
		}
		value := tag
		if ev.extract != "" {
			value = string(ev.pattern.ExpandString(nil, ev.extract, tag, match))
		}
		original[value] = tag
	}
	values := make([]string, 0, len(original))
	for v := range original {
		values = append(values, v)
	}
	return canonicalOrder(values), original
}

// latest applies the policy to the values, which are distinct and in
// descending byte order; original maps them to their tags, for messages.
func (ev *evaluator) latest(values []string, original map[string]string) (string, error) {
	switch ev.kind {
	case kindSemver:
		return ev.latestSemver(values)
	case kindNumerical:
		return ev.latestNumerical(values, original)
	default:
		return ev.latestAlphabetical(values), nil
	}
}

// latestSemver returns the first of the highest versions within the range.
// A value is a version when it has at least two dots and Masterminds/semver
// parses it (a leading "v" is allowed); other values are skipped.
func (ev *evaluator) latestSemver(values []string) (string, error) {
	var best *semver.Version
	for _, value := range values {
		// As Flux does (fluxcd/pkg/version): three dot-separated parts
		// before Masterminds/semver parses it leniently, so "1.2" is not a
		// version but "v1.2.3" and "1.2-rc.1" are.
		v, err := version.ParseVersion(value)
		if err != nil || !ev.constraint.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best = v
		}
	}
	if best == nil {
		return "", fmt.Errorf("%w: none of the %d values (%s) is a semantic version within range %q (the controller reports %q)",
			ErrNoMatch, len(values), sample(values), ev.rng, "unable to determine latest version from provided list")
	}
	return best.Original(), nil
}

// latestAlphabetical returns the greatest value in byte order, or the least
// with order desc.
func (ev *evaluator) latestAlphabetical(values []string) string {
	if ev.desc {
		return slices.Min(values)
	}
	return slices.Max(values)
}

// latestNumerical walks the values as the controller does: every value must
// parse with strconv.ParseFloat, and a value replaces the current one unless
// it is strictly less (asc) or strictly greater (desc). So of equal numbers
// the last one wins, and NaN, which compares with nothing, always replaces
// the current value and is replaced by the next.
func (ev *evaluator) latestNumerical(values []string, original map[string]string) (string, error) {
	var latest string
	var current float64
	for i, value := range values {
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			from := ""
			if tag := original[value]; tag != value {
				from = fmt.Sprintf(" extracted from tag %q by filterTags.extract %q", tag, ev.extract)
			}
			return "", fmt.Errorf("%w: %q%s (the controller reports %q)",
				ErrNotNumeric, value, from, "failed to parse invalid numeric value '"+value+"'")
		}
		if i > 0 && ((!ev.desc && n < current) || (ev.desc && n > current)) {
			continue
		}
		latest, current = value, n
	}
	return latest, nil
}

// sample lists the first few values for an error message.
func sample(values []string) string {
	const max = 3
	quoted := make([]string, 0, max+1)
	for i, v := range values {
		if i == max {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(values)-max))
			break
		}
		quoted = append(quoted, strconv.Quote(v))
	}
	return strings.Join(quoted, ", ")
}
