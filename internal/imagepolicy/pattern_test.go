package imagepolicy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCompilePattern(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		extract string
		// errHas is empty for a valid pair, else substrings of the error.
		errHas []string
	}{
		{name: "the front-end policy", pattern: `^main-[a-fA-F0-9]+-(?P<buildnumber>.*)`, extract: "$buildnumber"},
		{name: "braced name", pattern: `^main-(?P<n>\d+)$`, extract: "${n}"},
		{name: "numbered group", pattern: `^ver(\d+)$`, extract: "$1"},
		{name: "numbered named group", pattern: `^ver(?P<v>\d+)$`, extract: "$1"},
		{name: "whole match", pattern: `^\d+$`, extract: "$0"},
		{name: "no extract", pattern: `^main-`},
		{name: "empty pattern", pattern: ""},
		{name: "literal text around a group", pattern: `^v(\d+)$`, extract: "build-${1}-x"},
		{name: "two groups", pattern: `^(\d+)\.(\d+)$`, extract: "$1$2"},
		{
			name:    "invalid regexp",
			pattern: "^test-(.*",
			extract: "$1",
			errHas:  []string{`filterTags.pattern "^test-(.*"`, "missing closing )"},
		},
		{
			name:    "missing named group",
			pattern: `^main-[a-fA-F0-9]+-(.*)`,
			extract: "$buildnumber",
			errHas:  []string{`"buildnumber"`, "has no named group"},
		},
		{
			name:    "misspelt named group",
			pattern: `^main-(?P<build>\d+)$`,
			extract: "$buildnumber",
			errHas:  []string{`"buildnumber"`, "(?P<build>...)", "did you mean ${build}number?"},
		},
		{
			name:    "name runs into following text",
			pattern: `^main-(?P<n>\d+)$`,
			extract: "$n_suffix",
			errHas:  []string{`"n_suffix"`, "did you mean ${n}_suffix?"},
		},
		{
			name:    "group number too high",
			pattern: `^(\d+)\.(\d+)$`,
			extract: "$3",
			errHas:  []string{"$3 refers to group 3", "has 2 groups"},
		},
		{
			name:    "leading zero makes a name",
			pattern: `^(\d+)$`,
			extract: "$01",
			errHas:  []string{`"01"`},
		},
		{
			name:    "no group referenced",
			pattern: `^v(\d+)$`,
			extract: "latest",
			errHas:  []string{"names no group"},
		},
		{
			name:    "escaped dollar is no reference",
			pattern: `^v(\d+)$`,
			extract: "$$1",
			errHas:  []string{"names no group"},
		},
		{
			name:    "unclosed brace is literal text",
			pattern: `^v(?P<n>\d+)$`,
			extract: "${n",
			errHas:  []string{"names no group"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CompilePattern(tc.pattern, tc.extract)
			if len(tc.errHas) == 0 {
				if err != nil {
					t.Fatalf("CompilePattern() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CompilePattern() = nil, want an error containing %q", tc.errHas)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("CompilePattern() = %q, want it to contain %q", err, s)
				}
			}
		})
	}
}

func TestTemplateRefs(t *testing.T) {
	cases := []struct {
		name     string
		template string
		want     []templateRef
	}{
		{name: "none", template: "abc"},
		{name: "number", template: "$1", want: []templateRef{{name: "1", num: 1}}},
		{name: "name", template: "x$name-y", want: []templateRef{{name: "name", num: -1}}},
		{name: "braces", template: "${a}b", want: []templateRef{{name: "a", num: -1}}},
		{name: "greedy name", template: "$1x", want: []templateRef{{name: "1x", num: -1}}},
		{name: "escaped", template: "$$a"},
		{name: "lone dollar", template: "a$"},
		{name: "dollar then space", template: "$ a"},
		{name: "unclosed brace", template: "${a"},
		{name: "empty braces", template: "${}"},
		{name: "unicode name", template: "$é", want: []templateRef{{name: "é", num: -1}}},
		{name: "leading zero", template: "$01", want: []templateRef{{name: "01", num: -1}}},
		{name: "zero", template: "$0", want: []templateRef{{name: "0", num: 0}}},
		{name: "huge number", template: "$1234567890", want: []templateRef{{name: "1234567890", num: -1}}},
		{name: "two", template: "$a.${2}", want: []templateRef{{name: "a", num: -1}, {name: "2", num: 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := templateRefs(tc.template)
			if !slices.Equal(got, tc.want) {
				t.Errorf("templateRefs(%q) = %v, want %v", tc.template, got, tc.want)
			}
			checkExpansion(t, `^(?P<a>x)(?P<é>y)?(z)?$`, tc.template, "xz")
		})
	}
}

// checkExpansion fails when expanding template through templateRefs' reading
// differs from regexp.Regexp.ExpandString, which the controller uses.
func checkExpansion(t *testing.T, pattern, template, s string) {
	t.Helper()
	re, err := regexp.Compile(pattern)
	if err != nil {
		return
	}
	match := re.FindStringSubmatchIndex(s)
	if match == nil {
		return
	}
	want := string(re.ExpandString(nil, template, s, match))
	if got := expandTemplate(re, template, s, match); got != want {
		t.Errorf("template %q over %q with %q: templateRefs reads %q, regexp expands %q", template, s, pattern, got, want)
	}
}

// expandTemplate expands template for one match of re in s with the reading
// of refName and refNumber, to check it against regexp.Regexp.ExpandString.
func expandTemplate(re *regexp.Regexp, template, s string, match []int) string {
	var b strings.Builder
	for {
		before, after, found := strings.Cut(template, "$")
		b.WriteString(before)
		if !found {
			return b.String()
		}
		template = after
		if strings.HasPrefix(template, "$") {
			b.WriteByte('$')
			template = template[1:]
			continue
		}
		name, rest, ok := refName(template)
		if !ok {
			b.WriteByte('$')
			continue
		}
		template = rest
		groups := []int{refNumber(name)}
		if groups[0] < 0 {
			// A name may be given to several groups: the first that took
			// part in the match counts.
			groups = groups[:0]
			for i, n := range re.SubexpNames() {
				if n == name {
					groups = append(groups, i)
				}
			}
		}
		for _, g := range groups {
			if 2*g < len(match) && match[2*g] >= 0 {
				b.WriteString(s[match[2*g]:match[2*g+1]])
				break
			}
		}
	}
}

// FuzzCompilePattern checks that CompilePattern never panics, agrees with
// regexp on which patterns compile, and reads extract templates exactly as
// regexp.Regexp.Expand does.
func FuzzCompilePattern(f *testing.F) {
	f.Add(`^main-[a-fA-F0-9]+-(?P<buildnumber>.*)`, "$buildnumber", "main-1f49071-24")
	f.Add(`^v(\d+)\.(\d+)$`, "${2}.$1", "v1.2")
	f.Add(`(`, "$1", "x")
	f.Add(`^(?P<a>.)(?P<b>.)?`, "$a$$b${b}$", "ab")
	f.Add(`.*`, "$é$01${0}", "é")
	f.Add(`(?P<a>x)|(?P<a>y)`, "[$a]", "y")
	f.Fuzz(func(t *testing.T, pattern, extract, tag string) {
		err := CompilePattern(pattern, extract)
		re, reErr := regexp.Compile(pattern)
		if reErr != nil {
			if err == nil {
				t.Fatalf("CompilePattern(%q, %q) = nil, but regexp rejects the pattern: %v", pattern, extract, reErr)
			}
			return
		}
		if err == nil && extract != "" && len(templateRefs(extract)) == 0 {
			t.Fatalf("CompilePattern(%q, %q) = nil for a template without references", pattern, extract)
		}
		if err2 := CompilePattern(pattern, extract); errString(err2) != errString(err) {
			t.Fatalf("CompilePattern(%q, %q) gave %v, then %v", pattern, extract, err, err2)
		}
		checkExpansion(t, re.String(), extract, tag)
	})
}
