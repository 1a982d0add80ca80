package imagepolicy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// selectCase is one evaluation: a spec over tags, and either the tag (and
// compared value, when it differs from the tag) or the kind of error.
type selectCase struct {
	name      string
	spec      Spec
	tags      []string
	wantTag   string
	wantValue string // empty: the same as wantTag
	wantErr   error
	// errHas are substrings the error message must contain.
	errHas []string
}

// runSelectCases runs each case with the tags as given and reversed, which
// must not change the outcome.
func runSelectCases(t *testing.T, cases []selectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(tc.spec, tc.tags)
			checkSelect(t, tc, got, err)
			reversed := slices.Clone(tc.tags)
			slices.Reverse(reversed)
			again, errAgain := Select(tc.spec, reversed)
			if again != got || errString(errAgain) != errString(err) {
				t.Errorf("reversed tags gave %+v, %v; want %+v, %v", again, errAgain, got, err)
			}
		})
	}
}

// checkSelect compares one outcome with the case's expectations.
func checkSelect(t *testing.T, tc selectCase, got Result, err error) {
	t.Helper()
	if tc.wantErr != nil {
		if !errors.Is(err, tc.wantErr) {
			t.Fatalf("Select() error = %v, want %v (result %+v)", err, tc.wantErr, got)
		}
		for _, s := range tc.errHas {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("Select() error %q does not contain %q", err, s)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("Select() error = %v, want tag %q", err, tc.wantTag)
	}
	want := Result{Tag: tc.wantTag, Value: tc.wantValue}
	if want.Value == "" {
		want.Value = tc.wantTag
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Select() mismatch (-want +got):\n%s", diff)
	}
}

// errString is err's message, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func semverSpec(r string) Spec { return Spec{Policy: Policy{Semver: &SemverPolicy{Range: r}}} }

func alphabeticalSpec(order string) Spec {
	return Spec{Policy: Policy{Alphabetical: &AlphabeticalPolicy{Order: order}}}
}

func numericalSpec(order string) Spec {
	return Spec{Policy: Policy{Numerical: &NumericalPolicy{Order: order}}}
}

// withFilter returns spec with filterTags set.
func withFilter(spec Spec, pattern, extract string) Spec {
	spec.FilterTags = &FilterTags{Pattern: pattern, Extract: extract}
	return spec
}

// withExclusions returns spec with an exclusion list.
func withExclusions(spec Spec, patterns ...string) Spec {
	spec.ExclusionList = patterns
	return spec
}

// The facts of upstream internal/policy/semver_test.go (TestSemVer_Latest),
// and of how pkg/version.ParseVersion and Masterminds/semver read tags.
func TestSelectSemver(t *testing.T) {
	runSelectCases(t, []selectCase{
		{
			name:    "highest within range, invalid versions skipped",
			spec:    semverSpec("1.0.x"),
			tags:    []string{"1.0.0", "1.0.0.1", "1.0.0p", "1.0.1", "1.2.0", "0.1.0"},
			wantTag: "1.0.1",
		},
		{
			name:    "v prefix kept in the result",
			spec:    semverSpec("1.0.x"),
			tags:    []string{"v1.2.3", "v1.0.0", "v0.1.0"},
			wantTag: "v1.0.0",
		},
		{
			name:    "other prefixes are not versions",
			spec:    semverSpec("1.0.x"),
			tags:    []string{"b1.2.3", "b1.0.0", "b0.1.0"},
			wantErr: ErrNoMatch,
			errHas:  []string{`within range "1.0.x"`, "unable to determine latest version from provided list"},
		},
		{
			name:    "no tags",
			spec:    semverSpec("1.0.x"),
			tags:    []string{},
			wantErr: ErrNoTags,
		},
		{
			name:    "no version within range",
			spec:    semverSpec("1.0.x"),
			tags:    []string{"1.2.0"},
			wantErr: ErrNoMatch,
		},
		{
			name:    "pre-release skipped by a range without one",
			spec:    semverSpec("1.0.x"),
			tags:    []string{"0.1.0", "0.1.1", "0.2.0", "1.0.0", "1.0.1", "1.0.2", "1.1.0-alpha"},
			wantTag: "1.0.2",
		},
		{
			name:    "pre-release excluded by >=",
			spec:    semverSpec(">=1.0.0"),
			tags:    []string{"1.0.0", "1.1.0-alpha"},
			wantTag: "1.0.0",
		},
		{
			name:    "pre-release included by a range with one",
			spec:    semverSpec(">=1.0.0-0"),
			tags:    []string{"1.0.0", "1.1.0-alpha"},
			wantTag: "1.1.0-alpha",
		},
		{
			name:    "pre-release ordering",
			spec:    semverSpec(">=1.0.0-0"),
			tags:    []string{"1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-beta.10"},
			wantTag: "1.0.0-rc.2",
		},
		{
			name:    "release above its pre-releases",
			spec:    semverSpec(">=1.0.0-0"),
			tags:    []string{"1.0.0-rc.1", "1.0.0"},
			wantTag: "1.0.0",
		},
		{
			name:    "two-part tags are not versions",
			spec:    semverSpec(">=1.0.0"),
			tags:    []string{"1.2", "v1.3", "1.1.0"},
			wantTag: "1.1.0",
		},
		{
			name:    "two dots anywhere make a version",
			spec:    semverSpec(">=1.0.0-0"),
			tags:    []string{"1.2-rc.1", "1.1.0"},
			wantTag: "1.2-rc.1",
		},
		{
			name:    "leading zeros accepted",
			spec:    semverSpec(">=2025.0.0"),
			tags:    []string{"v2025.07.03", "v2025.06.30"},
			wantTag: "v2025.07.03",
		},
		{
			name:    "four parts are not a version",
			spec:    semverSpec("*"),
			tags:    []string{"1.2.3.4", "1.2.2"},
			wantTag: "1.2.2",
		},
		{
			name:    "upper-case V is not a prefix",
			spec:    semverSpec("*"),
			tags:    []string{"V2.0.0", "1.0.0"},
			wantTag: "1.0.0",
		},
		{
			name:    "build metadata is not compared",
			spec:    semverSpec("*"),
			tags:    []string{"1.0.0+build.1", "0.9.0"},
			wantTag: "1.0.0+build.1",
		},
		{
			name:    "v range over plain tags",
			spec:    semverSpec("v1.0.x"),
			tags:    []string{"1.0.0", "2.0.0", "1.0.1", "1.2.0"},
			wantTag: "1.0.1",
		},
		{
			name:    "plain range over v tags",
			spec:    semverSpec("1.0.x"),
			tags:    []string{"v1.0.0", "v2.0.0", "v1.0.1", "v1.2.0"},
			wantTag: "v1.0.1",
		},
		{
			name:    "v range over v tags",
			spec:    semverSpec("v1.0.x"),
			tags:    []string{"v1.0.0", "v2.0.0", "v1.0.1", "v1.2.0"},
			wantTag: "v1.0.1",
		},
		{
			name:    "no filter: every tag is tried",
			spec:    semverSpec("1.0.x"),
			tags:    []string{"1.0.0", "2.0.0", "1.0.1", "1.2.0", "latest"},
			wantTag: "1.0.1",
		},
		{
			name:    "invalid range",
			spec:    semverSpec("*-*"),
			tags:    []string{"1.0.0"},
			wantErr: ErrInvalidSpec,
			errHas:  []string{"policy.semver.range"},
		},
	})
}

// The facts of upstream internal/policy/alphabetical_test.go.
func TestSelectAlphabetical(t *testing.T) {
	calver := []string{"16.04", "16.04.1", "16.10", "20.04", "20.10"}
	names := []string{"xenial", "yakkety", "zesty", "artful", "bionic"}
	stamps := []string{"1606234201", "1606364286", "1606334092", "1606334284", "1606334201"}
	rfc3339 := []string{"2021-01-08T21-18-21Z", "2020-05-08T21-18-21Z", "2021-01-08T19-20-00Z", "1990-01-08T00-20-00Z", "2023-05-08T00-20-00Z"}
	runSelectCases(t, []selectCase{
		{name: "CalVer, default order", spec: alphabeticalSpec(""), tags: calver, wantTag: "20.10"},
		{name: "CalVer desc", spec: alphabeticalSpec(OrderDesc), tags: calver, wantTag: "16.04"},
		{name: "code names asc", spec: alphabeticalSpec(OrderAsc), tags: names, wantTag: "zesty"},
		{name: "code names desc", spec: alphabeticalSpec(OrderDesc), tags: names, wantTag: "artful"},
		{name: "timestamps", spec: alphabeticalSpec(""), tags: stamps, wantTag: "1606364286"},
		{name: "timestamps desc", spec: alphabeticalSpec(OrderDesc), tags: stamps, wantTag: "1606234201"},
		{
			name:    "timestamps with prefix",
			spec:    alphabeticalSpec(""),
			tags:    []string{"rel-1606234201", "rel-1606364286", "rel-1606334092", "rel-1606334284", "rel-1606334201"},
			wantTag: "rel-1606364286",
		},
		{name: "RFC 3339", spec: alphabeticalSpec(""), tags: rfc3339, wantTag: "2023-05-08T00-20-00Z"},
		{name: "RFC 3339 desc", spec: alphabeticalSpec(OrderDesc), tags: rfc3339, wantTag: "1990-01-08T00-20-00Z"},
		{name: "no tags", spec: alphabeticalSpec(""), tags: nil, wantErr: ErrNoTags, errHas: []string{"no tags in database"}},
		{name: "byte order: upper case before lower", spec: alphabeticalSpec(""), tags: []string{"Zeta", "alpha"}, wantTag: "alpha"},
		{name: "byte order: 10 before 9", spec: alphabeticalSpec(""), tags: []string{"9", "10"}, wantTag: "9"},
		{name: "order compared case-insensitively", spec: alphabeticalSpec("DESC"), tags: names, wantTag: "artful"},
		{name: "invalid order", spec: alphabeticalSpec("invalid"), tags: names, wantErr: ErrInvalidSpec, errHas: []string{"policy.alphabetical.order"}},
	})
}

// The facts of upstream internal/policy/numerical_test.go.
func TestSelectNumerical(t *testing.T) {
	runSelectCases(t, []selectCase{
		{
			name:    "integers asc",
			spec:    numericalSpec(""),
			tags:    []string{"-62", "-88", "73", "72", "15", "16", "15", "29", "-33", "-91"},
			wantTag: "73",
		},
		{
			name:    "integers desc",
			spec:    numericalSpec(OrderDesc),
			tags:    []string{"5", "-8", "-78", "25", "70", "-4", "80", "92", "-20", "-24"},
			wantTag: "-78",
		},
		{
			name:    "floats asc",
			spec:    numericalSpec(OrderAsc),
			tags:    []string{"47.40896403322944", "-27.8520927455902", "-27.930666514224427", "-31.352485948094568", "-50.41072694704882", "-21.962849842263736", "24.71884721436865", "-39.99177354004344", "53.47333823144817", "3.2008658570411086"},
			wantTag: "53.47333823144817",
		},
		{
			name:    "floats desc",
			spec:    numericalSpec(OrderDesc),
			tags:    []string{"-65.27202780220686", "57.82948329142309", "22.40184684363291", "-86.36934305697784", "-90.29082099756083", "-12.041712603564264", "77.70488240399305", "-38.98425003883552", "16.06867070412028", "53.735674335181216"},
			wantTag: "-90.29082099756083",
		},
		{
			name:    "timestamps asc",
			spec:    numericalSpec(""),
			tags:    []string{"1606234201", "1606364286", "1606334092", "1606334284", "1606334201"},
			wantTag: "1606364286",
		},
		{
			name:    "timestamps desc",
			spec:    numericalSpec(OrderDesc),
			tags:    []string{"1606234201", "1606364286", "1606334092", "1606334284", "1606334201"},
			wantTag: "1606234201",
		},
		{name: "single value asc", spec: numericalSpec(""), tags: []string{"1"}, wantTag: "1"},
		{name: "single value desc", spec: numericalSpec(OrderDesc), tags: []string{"1"}, wantTag: "1"},
		{
			name:    "a non-numeric value fails the whole evaluation",
			spec:    numericalSpec(""),
			tags:    []string{"0", "1a", "b"},
			wantErr: ErrNotNumeric,
			errHas:  []string{`"b"`, "failed to parse invalid numeric value 'b'"},
		},
		{
			name:    "without a filter, a latest tag fails it too",
			spec:    numericalSpec(""),
			tags:    []string{"1", "2", "latest"},
			wantErr: ErrNotNumeric,
			errHas:  []string{`"latest"`},
		},
		{name: "no tags", spec: numericalSpec(""), tags: []string{}, wantErr: ErrNoTags},
		{name: "numbers, not strings: 10 above 9", spec: numericalSpec(""), tags: []string{"9", "10"}, wantTag: "10"},
		{name: "exponent notation is a number", spec: numericalSpec(""), tags: []string{"999", "1e3"}, wantTag: "1e3"},
		{name: "hexadecimal float is a number", spec: numericalSpec(""), tags: []string{"15", "0x1p4"}, wantTag: "0x1p4"},
		{name: "Inf is a number", spec: numericalSpec(""), tags: []string{"5", "Inf"}, wantTag: "Inf"},
		{name: "out of range fails", spec: numericalSpec(""), tags: []string{"5", "1e400"}, wantErr: ErrNotNumeric},
		{name: "leading space is not a number", spec: numericalSpec(""), tags: []string{"5", " 6"}, wantErr: ErrNotNumeric},
		{name: "order compared case-insensitively", spec: numericalSpec("Desc"), tags: []string{"1", "2"}, wantTag: "1"},
		{name: "invalid order", spec: numericalSpec("up"), tags: []string{"1"}, wantErr: ErrInvalidSpec},
	})
}

// Ties, which the controller resolves by the descending byte order of its
// stored tags, or, behind filterTags, by Go map order; Select always uses
// descending byte order.
func TestSelectTies(t *testing.T) {
	runSelectCases(t, []selectCase{
		{
			name:    "semver: equal versions, the greatest string wins",
			spec:    semverSpec("1.0.x"),
			tags:    []string{"1.0.0", "v1.0.0"},
			wantTag: "v1.0.0",
		},
		{
			name:    "semver: build metadata ties",
			spec:    semverSpec("*"),
			tags:    []string{"1.0.0+a", "1.0.0+b"},
			wantTag: "1.0.0+b",
		},
		{
			name:    "numerical asc: equal numbers, the least string wins",
			spec:    numericalSpec(""),
			tags:    []string{"1", "1.0", "01"},
			wantTag: "01",
		},
		{
			name:    "numerical desc: equal numbers, the least string wins",
			spec:    numericalSpec(OrderDesc),
			tags:    []string{"1.0", "01", "1", "2"},
			wantTag: "01",
		},
		{
			name:    "numerical: NaN replaces and is replaced",
			spec:    numericalSpec(""),
			tags:    []string{"1", "2", "NaN"},
			wantTag: "2",
		},
		{
			name:    "numerical: any value after NaN replaces it",
			spec:    numericalSpec(""),
			tags:    []string{"NaN", "-5"},
			wantTag: "-5",
		},
		{
			name:      "filter: tags giving the same value, the least tag wins",
			spec:      withFilter(numericalSpec(""), `^main-[a-f0-9]+-(?P<n>\d+)$`, "$n"),
			tags:      []string{"main-bbb-24", "main-aaa-24", "main-ccc-3"},
			wantTag:   "main-aaa-24",
			wantValue: "24",
		},
		{
			name:      "filter: semver values that compare equal",
			spec:      withFilter(semverSpec("*"), `^(?:app-)?(.*)$`, "$1"),
			tags:      []string{"app-1.0.0", "v1.0.0"},
			wantTag:   "v1.0.0",
			wantValue: "v1.0.0",
		},
		{
			name:    "duplicate tags are one tag",
			spec:    alphabeticalSpec(OrderDesc),
			tags:    []string{"b", "a", "a"},
			wantTag: "a",
		},
	})
}

// The facts of upstream internal/policy/filter_test.go and
// internal/controller/policy_test.go and imagepolicy_controller_test.go
// (applyPolicy).
func TestSelectFilter(t *testing.T) {
	rcTags := []string{"1.0.0", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-rc.3", "1.0.1-rc.2"}
	testTags := []string{"test-0.1.0", "test-0.1.1", "dev-0.2.0", "1.0.0", "1.0.1", "1.0.2", "1.1.0-alpha"}
	runSelectCases(t, []selectCase{
		{
			name:      "extract a capture group for semver",
			spec:      withFilter(semverSpec(">=0.x"), "^test-(.*)$", "$1"),
			tags:      testTags,
			wantTag:   "test-0.1.1",
			wantValue: "0.1.1",
		},
		{
			name:    "invalid pattern",
			spec:    withFilter(semverSpec(">=0.x"), "^test-(.*", "$1"),
			tags:    testTags,
			wantErr: ErrInvalidSpec,
			errHas:  []string{"filterTags.pattern"},
		},
		{
			name:    "invalid pattern [=",
			spec:    withFilter(semverSpec("1.0.x"), "[=", ""),
			tags:    []string{"1.0.0", "1.0.1"},
			wantErr: ErrInvalidSpec,
		},
		{
			name:      "named group for numerical, unanchored pattern",
			spec:      withFilter(numericalSpec(OrderAsc), `1.0.0-rc\.(?P<num>[0-9]+)`, "$num"),
			tags:      rcTags,
			wantTag:   "1.0.0-rc.3",
			wantValue: "3",
		},
		{
			name:      "named group for alphabetical",
			spec:      withFilter(alphabeticalSpec(OrderAsc), "foo-(?P<word>[a-z]+)", "$word"),
			tags:      []string{"foo-aaa", "bar-bbb", "foo-zzz", "baz-nnn", "foo-ooo"},
			wantTag:   "foo-zzz",
			wantValue: "zzz",
		},
		{
			name:      "braced group name",
			spec:      withFilter(numericalSpec(""), `^build-(?P<n>\d+)$`, "${n}"),
			tags:      []string{"build-7", "build-12"},
			wantTag:   "build-12",
			wantValue: "12",
		},
		{
			name:    "pattern without extract compares the tags",
			spec:    withFilter(alphabeticalSpec(""), "^ver", ""),
			tags:    []string{"ver1", "ver2", "ver3", "rel1"},
			wantTag: "ver3",
		},
		{
			name:    "empty pattern keeps every tag",
			spec:    withFilter(alphabeticalSpec(""), "", ""),
			tags:    []string{"a", "b"},
			wantTag: "b",
		},
		{
			name:    "a filter drops tags a numerical policy could not read",
			spec:    withFilter(numericalSpec(""), `^\d+$`, ""),
			tags:    []string{"1", "2", "latest"},
			wantTag: "2",
		},
		{
			name:    "an extracted value that is not a number fails",
			spec:    withFilter(numericalSpec(""), `^v(.*)$`, "$1"),
			tags:    []string{"v1", "v2", "vx"},
			wantErr: ErrNotNumeric,
		},
		{
			name:    "a group the pattern lacks expands to an empty value",
			spec:    withFilter(numericalSpec(""), `^v(\d+)$`, "$build"),
			tags:    []string{"v1", "v2"},
			wantErr: ErrNotNumeric,
			errHas:  []string{`""`, `extracted from tag "v1" by filterTags.extract "$build"`},
		},
		{
			name:    "pattern matching nothing",
			spec:    withFilter(semverSpec("*"), "^release-", ""),
			tags:    []string{"1.0.0", "main-abc"},
			wantErr: ErrNoMatch,
			errHas:  []string{`filterTags.pattern "^release-"`, "version list argument cannot be empty"},
		},
	})
}

// The project's own cases: the sock-shop front-end policy of DESIGN.md.
func TestSelectScenarios(t *testing.T) {
	frontEnd := withFilter(numericalSpec(OrderAsc), `^main-[a-fA-F0-9]+-(?P<buildnumber>.*)`, "$buildnumber")
	runSelectCases(t, []selectCase{
		{
			name:      "build numbers compared as numbers",
			spec:      frontEnd,
			tags:      []string{"main-1f49071-24", "main-d480788-3", "main-d480788-10", "latest"},
			wantTag:   "main-1f49071-24",
			wantValue: "24",
		},
		{
			name:    "master tags under a main pattern match nothing",
			spec:    frontEnd,
			tags:    []string{"master-d480788-1", "master-d480788-2", "master-1f49071-3", "latest"},
			wantErr: ErrNoMatch,
			errHas:  []string{"none of the 4 tags", `"master-d480788-2"`, "^main-"},
		},
		{
			name:    "signature tags are excluded before the filter",
			spec:    withFilter(alphabeticalSpec(""), "^main-", ""),
			tags:    []string{"main-1", "main-2", "main-2.sig"},
			wantTag: "main-2",
		},
	})
}

// The facts of upstream internal/controller/imagerepository_controller_test.go
// (TestFilterOutTags), scan_test.go and imagepolicy_controller_test.go.
func TestSelectExclusion(t *testing.T) {
	runSelectCases(t, []selectCase{
		{
			name:    "default excludes signatures",
			spec:    alphabeticalSpec(""),
			tags:    []string{"1.0.0", "1.0.0.sig"},
			wantTag: "1.0.0",
		},
		{
			name:    "a list replaces the default",
			spec:    withExclusions(alphabeticalSpec(""), `^.*\-alpha$`),
			tags:    []string{"1.0.0", "1.0.0.sig", "1.1.0-alpha"},
			wantTag: "1.0.0.sig",
		},
		{
			name:    "several patterns",
			spec:    withExclusions(alphabeticalSpec(""), "[a]", "[d]"),
			tags:    []string{"a", "b", "c", "d"},
			wantTag: "c",
		},
		{
			name:    "excluded before the policy",
			spec:    withExclusions(withFilter(semverSpec("6.7.x"), `^6\.7\.\d+$`, ""), `^6\.7\.1$`),
			tags:    []string{"6.7.0", "6.7.1"},
			wantTag: "6.7.0",
		},
		{
			name:    "same without the exclusion",
			spec:    withFilter(semverSpec("6.7.x"), `^6\.7\.\d+$`, ""),
			tags:    []string{"6.7.0", "6.7.1"},
			wantTag: "6.7.1",
		},
		{
			name:    "everything excluded",
			spec:    withExclusions(alphabeticalSpec(""), "."),
			tags:    []string{"a", "b"},
			wantErr: ErrNoTags,
			errHas:  []string{`exclusion list ["."] excludes all 2 tags ("b", "a")`},
		},
		{
			name:    "invalid exclusion pattern",
			spec:    withExclusions(alphabeticalSpec(""), "[="),
			tags:    []string{"a"},
			wantErr: ErrInvalidSpec,
			errHas:  []string{"exclusionList[0]"},
		},
	})
}

// The facts of upstream TestFilterOutTags and scan_test.go, on the
// exclusion step alone.
func TestExclude(t *testing.T) {
	cases := []struct {
		name     string
		tags     []string
		patterns []string
		want     []string
	}{
		{name: "no list: default", tags: []string{"a", "b.sig"}, want: []string{"a"}},
		{name: "single pattern", tags: []string{"a", "b", "c", "d"}, patterns: []string{"[abc]"}, want: []string{"d"}},
		{name: "multiple patterns", tags: []string{"a", "b", "c", "d"}, patterns: []string{"[a]", "[d]"}, want: []string{"c", "b"}},
		{
			name:     "version tags",
			tags:     []string{"0.1.0", "0.2.0", "0.2.-alpha", "0.3.0", "0.4.0", "0.4.0.sig"},
			patterns: []string{`^.*\-alpha$`, `^.*\.sig$`},
			want:     []string{"0.4.0", "0.3.0", "0.2.0", "0.1.0"},
		},
		{name: "alternation", tags: []string{"aaa", "bbb", "ccc", "ddd"}, patterns: []string{"aaa|ccc"}, want: []string{"ddd", "bbb"}},
		{
			name: "scan: default drops .sig",
			tags: []string{"0.1.0", "0.1.1", "0.1.1.sig", "1.0.0-alpha", "1.0.0", "1.0.0.sig"},
			want: []string{"1.0.0-alpha", "1.0.0", "0.1.1", "0.1.0"},
		},
		{
			name:     "scan: a list keeps .sig",
			tags:     []string{"0.1.0", "0.1.1-alpha", "0.1.1", "0.1.1.sig", "1.0.0-alpha", "1.0.0"},
			patterns: []string{`^.*\-alpha$`},
			want:     []string{"1.0.0", "0.1.1.sig", "0.1.1", "0.1.0"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := compile(withExclusions(alphabeticalSpec(""), tc.patterns...))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ev.exclude(canonicalOrder(tc.tags))); diff != "" {
				t.Errorf("exclude() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The facts of upstream internal/policy/filter_test.go (TestRegexFilter) on
// the filter step alone: the values it yields and the tags they come from.
func TestFilterValues(t *testing.T) {
	complexTags := []string{"123-123.123.abcd123-debug", "123-123.123.abcd123", "123-123.123.abcd456-debug", "123-123.123.abcd456"}
	cases := []struct {
		name         string
		tags         []string
		pattern      string
		extract      string
		want         []string
		wantOriginal map[string]string
	}{
		{name: "empty pattern", tags: []string{"a"}, want: []string{"a"}},
		{name: "prefix", tags: []string{"ver1", "ver2", "ver3", "rel1"}, pattern: "^ver", want: []string{"ver3", "ver2", "ver1"}},
		{
			name:         "capture group",
			tags:         []string{"ver1", "ver2", "ver3", "rel1"},
			pattern:      `ver(\d+)`,
			extract:      "$1",
			want:         []string{"3", "2", "1"},
			wantOriginal: map[string]string{"1": "ver1", "2": "ver2", "3": "ver3"},
		},
		{
			name:    "complex regex 1",
			tags:    complexTags,
			pattern: `^(123-[0-9]+\.[0-9]+\.[a-z0-9]+-debug)`,
			want:    []string{"123-123.123.abcd456-debug", "123-123.123.abcd123-debug"},
		},
		{
			name:         "complex regex 2",
			tags:         complexTags,
			pattern:      `^(?P<tag>123-[0-9]+\.[0-9]+\.[a-z0-9]+[^-debug])`,
			extract:      "$tag",
			want:         []string{"123-123.123.abcd456", "123-123.123.abcd123"},
			wantOriginal: map[string]string{"123-123.123.abcd123": "123-123.123.abcd123", "123-123.123.abcd456": "123-123.123.abcd456"},
		},
		{
			name:    "complex regex 3",
			tags:    complexTags,
			pattern: `^(?P<tag>123-[0-9]+\.[0-9]+\.[a-z0-9]+$)`,
			extract: "$tag",
			want:    []string{"123-123.123.abcd456", "123-123.123.abcd123"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := compile(withFilter(alphabeticalSpec(""), tc.pattern, tc.extract))
			if err != nil {
				t.Fatal(err)
			}
			values, original := ev.filter(canonicalOrder(tc.tags))
			if diff := cmp.Diff(tc.want, values); diff != "" {
				t.Errorf("filter() values mismatch (-want +got):\n%s", diff)
			}
			if tc.wantOriginal != nil {
				if diff := cmp.Diff(tc.wantOriginal, original); diff != "" {
					t.Errorf("filter() originals mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// The facts of upstream TestNewSemVer, TestNewAlphabetical, TestNewNumerical
// and TestFactory_PolicerFromSpec.
func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		spec    Spec
		wantErr bool
	}{
		{name: "no policy", spec: Spec{}, wantErr: true},
		{name: "semver 1.0.x", spec: semverSpec("1.0.x")},
		{name: "semver ^1.0", spec: semverSpec("^1.0")},
		{name: "semver =1.0.0", spec: semverSpec("=1.0.0")},
		{name: "semver ~1.0", spec: semverSpec("~1.0")},
		{name: "semver >=1.0", spec: semverSpec(">=1.0")},
		{name: "semver >0,<2.0", spec: semverSpec(">0,<2.0")},
		{name: "semver 1.0.0p", spec: semverSpec("1.0.0p"), wantErr: true},
		{name: "semver 1x", spec: semverSpec("1x"), wantErr: true},
		{name: "semver x1", spec: semverSpec("x1"), wantErr: true},
		{name: "semver -1", spec: semverSpec("-1"), wantErr: true},
		{name: "semver a", spec: semverSpec("a"), wantErr: true},
		{name: "semver empty", spec: semverSpec(""), wantErr: true},
		{name: "semver *-*", spec: semverSpec("*-*"), wantErr: true},
		{name: "alphabetical empty order", spec: alphabeticalSpec("")},
		{name: "alphabetical asc", spec: alphabeticalSpec("asc")},
		{name: "alphabetical DESC", spec: alphabeticalSpec("DESC")},
		{name: "alphabetical invalid", spec: alphabeticalSpec("invalid"), wantErr: true},
		{name: "numerical empty order", spec: numericalSpec("")},
		{name: "numerical ASC", spec: numericalSpec("ASC")},
		{name: "numerical desc", spec: numericalSpec("desc")},
		{name: "numerical invalid", spec: numericalSpec("invalid"), wantErr: true},
		{
			name: "semver wins over the others",
			spec: Spec{Policy: Policy{Semver: &SemverPolicy{Range: "*-*"}, Alphabetical: &AlphabeticalPolicy{}}},
			// The controller's factory looks at semver first.
			wantErr: true,
		},
		{name: "bad filter pattern", spec: withFilter(alphabeticalSpec(""), "(", ""), wantErr: true},
		{name: "bad exclusion", spec: withExclusions(alphabeticalSpec(""), "("), wantErr: true},
		{name: "extract naming a missing group is accepted", spec: withFilter(numericalSpec(""), "^(a)$", "$b")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate() error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("Validate() error %v does not wrap ErrInvalidSpec", err)
			}
		})
	}
}

// Several policy kinds set: the controller's precedence is semver,
// alphabetical, numerical.
func TestSelectPrecedence(t *testing.T) {
	tags := []string{"1.0.0", "2.0.0", "10"}
	runSelectCases(t, []selectCase{
		{
			name:    "semver before alphabetical",
			spec:    Spec{Policy: Policy{Semver: &SemverPolicy{Range: "<2.0.0"}, Alphabetical: &AlphabeticalPolicy{}}},
			tags:    tags,
			wantTag: "1.0.0",
		},
		{
			name:    "alphabetical before numerical",
			spec:    Spec{Policy: Policy{Alphabetical: &AlphabeticalPolicy{Order: OrderDesc}, Numerical: &NumericalPolicy{}}},
			tags:    tags,
			wantTag: "1.0.0",
		},
	})
}
