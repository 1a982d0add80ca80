package imagepolicy

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fuzzSpec builds a spec from fuzzer input: kind picks the policy kind, arg
// is its range or order, and the filter and exclusion list are set when not
// empty (exclusions are newline-separated).
func fuzzSpec(kind uint8, arg, pattern, extract, exclusions string) Spec {
	var spec Spec
	switch kind % 3 {
	case 0:
		spec.Policy.Semver = &SemverPolicy{Range: arg}
	case 1:
		spec.Policy.Alphabetical = &AlphabeticalPolicy{Order: arg}
	default:
		spec.Policy.Numerical = &NumericalPolicy{Order: arg}
	}
	if pattern != "" || extract != "" {
		spec.FilterTags = &FilterTags{Pattern: pattern, Extract: extract}
	}
	if exclusions != "" {
		spec.ExclusionList = strings.Split(exclusions, "\n")
	}
	return spec
}

// FuzzSelect checks that Select never panics, gives the same answer twice
// and whatever the order of the tags, and that a selected tag is one of the
// tags, not excluded, and matched by the filter.
func FuzzSelect(f *testing.F) {
	f.Add(uint8(2), "asc", `^main-[a-fA-F0-9]+-(?P<buildnumber>.*)`, "$buildnumber", "", "main-1f49071-24\nmain-d480788-3\nmain-d480788-10\nlatest")
	f.Add(uint8(0), ">=1.0.0-0", "", "", "", "1.0.0\nv1.0.0\n1.1.0-alpha\n1.1.0.sig")
	f.Add(uint8(0), "1.0.x", `^test-(.*)$`, "$1", `^.*\-alpha$`, "test-1.0.0\ntest-1.0.1\n1.0.2-alpha")
	f.Add(uint8(1), "desc", "", "", "[a]\n[d]", "a\nb\nc\nd")
	f.Add(uint8(2), "", `^(\d+)`, "$1", "", "1\n1.0\n01\nNaN\nInf")
	f.Add(uint8(2), "DESC", "", "", ".", "x")
	f.Fuzz(func(t *testing.T, kind uint8, arg, pattern, extract, exclusions, tagList string) {
		spec := fuzzSpec(kind, arg, pattern, extract, exclusions)
		tags := strings.Split(tagList, "\n")
		got, err := Select(spec, tags)

		again, errAgain := Select(spec, tags)
		if again != got || errString(errAgain) != errString(err) {
			t.Fatalf("Select gave %+v, %v, then %+v, %v", got, err, again, errAgain)
		}
		shuffled := slices.Clone(tags)
		slices.Reverse(shuffled)
		if len(shuffled) > 2 {
			shuffled = append(shuffled[len(shuffled)/2:], shuffled[:len(shuffled)/2]...)
		}
		other, errOther := Select(spec, shuffled)
		if other != got || errString(errOther) != errString(err) {
			t.Fatalf("Select over reordered tags gave %+v, %v; want %+v, %v", other, errOther, got, err)
		}

		if err != nil {
			known := []error{ErrInvalidSpec, ErrNoTags, ErrNoMatch, ErrNotNumeric}
			if !slices.ContainsFunc(known, func(e error) bool { return errors.Is(err, e) }) {
				t.Fatalf("Select error %v wraps none of the package's errors", err)
			}
			return
		}
		checkSelected(t, spec, tags, got)
	})
}

// checkSelected fails when result could not have come from tags under spec.
func checkSelected(t *testing.T, spec Spec, tags []string, result Result) {
	t.Helper()
	if !slices.Contains(tags, result.Tag) {
		t.Fatalf("selected %q is not one of the tags", result.Tag)
	}
	exclusions := spec.ExclusionList
	if len(exclusions) == 0 {
		exclusions = []string{DefaultExclusionPattern}
	}
	for _, p := range exclusions {
		if regexp.MustCompile(p).MatchString(result.Tag) {
			t.Fatalf("selected %q is excluded by %q", result.Tag, p)
		}
	}
	if spec.FilterTags != nil && !regexp.MustCompile(spec.FilterTags.Pattern).MatchString(result.Tag) {
		t.Fatalf("selected %q does not match the filter %q", result.Tag, spec.FilterTags.Pattern)
	}
	if (spec.FilterTags == nil || spec.FilterTags.Extract == "") && result.Value != result.Tag {
		t.Fatalf("value %q differs from tag %q without extract", result.Value, result.Tag)
	}
}
