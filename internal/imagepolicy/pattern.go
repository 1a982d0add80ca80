package imagepolicy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CompilePattern checks a filterTags pattern and extract template for a
// validator. It reports a pattern that is not a valid Go regular expression
// (the controller rejects it) and an extract template the controller would
// accept but that cannot be what its author meant: one naming a group the
// pattern does not have ($buildnumber without (?P<buildnumber>...), or $3
// with two groups), which expands to an empty string, and one naming no
// group at all, which gives every tag the same value. An empty extract is
// valid: the tag itself is compared.
func CompilePattern(pattern, extract string) error {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return fmt.Errorf("filterTags.pattern %q is not a valid regular expression: %w", pattern, err)
	}
	if extract == "" {
		return nil
	}
	refs := templateRefs(extract)
	if len(refs) == 0 {
		return fmt.Errorf("filterTags.extract %q names no group of filterTags.pattern, so every tag would give the same value; use $1, $name or ${name}", extract)
	}
	for _, r := range refs {
		if err := checkRef(re, r); err != nil {
			return fmt.Errorf("filterTags.extract %q: %w", extract, err)
		}
	}
	return nil
}

// checkRef reports a reference to a group re does not have.
func checkRef(re *regexp.Regexp, r templateRef) error {
	if r.num >= 0 {
		if r.num <= re.NumSubexp() {
			return nil
		}
		return fmt.Errorf("$%d refers to group %d but filterTags.pattern has %d %s",
			r.num, r.num, re.NumSubexp(), plural(re.NumSubexp(), "group", "groups"))
	}
	names := re.SubexpNames()
	if slices.Contains(names, r.name) {
		return nil
	}
	msg := fmt.Sprintf("$%s refers to a group named %q, which filterTags.pattern does not define", r.name, r.name)
	var defined []string
	for _, n := range names {
		if n != "" {
			defined = append(defined, "(?P<"+n+">...)")
		}
	}
	if len(defined) == 0 {
		msg += " (it has no named group)"
	} else {
		msg += " (it defines " + strings.Join(defined, ", ") + ")"
	}
	// $name takes the longest run of letters, digits and underscores, so
	// "$build_x" names "build_x"; braces end the name where meant.
	for _, n := range names {
		if n != "" && strings.HasPrefix(r.name, n) {
			msg += fmt.Sprintf("; did you mean ${%s}%s?", n, r.name[len(n):])
			break
		}
	}
	return errors.New(msg)
}

// plural picks the singular or plural noun for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// templateRef is one group reference in an extract template: a group number
// (num >= 0) or a group name (num == -1).
type templateRef struct {
	name string
	num  int
}

// templateRefs returns the group references in template, read by the rules
// of regexp.Regexp.Expand: "$$" is a literal dollar; "$" is followed by a
// name, the longest run of letters, digits and underscores, optionally in
// braces; a name of decimal digits without a leading zero is a group number;
// a "$" not followed by a well-formed name is literal text.
func templateRefs(template string) []templateRef {
	var refs []templateRef
	for {
		_, after, found := strings.Cut(template, "$")
		if !found {
			return refs
		}
		template = after
		if strings.HasPrefix(template, "$") {
			template = template[1:]
			continue
		}
		name, rest, ok := refName(template)
		if !ok {
			continue
		}
		template = rest
		refs = append(refs, templateRef{name: name, num: refNumber(name)})
	}
}

// refName reads the name after a "$": it returns the name, the rest of the
// template and whether the name is well formed.
func refName(s string) (name, rest string, ok bool) {
	brace := strings.HasPrefix(s, "{")
	if brace {
		s = s[1:]
	}
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		i += size
	}
	if i == 0 {
		return "", "", false
	}
	name, rest = s[:i], s[i:]
	if brace {
		if !strings.HasPrefix(rest, "}") {
			return "", "", false
		}
		rest = rest[1:]
	}
	return name, rest, true
}

// refNumber returns the group number a name stands for, or -1 when it is a
// name: it must be ASCII decimal digits, with no leading zero, below 1e8.
func refNumber(name string) int {
	if len(name) > 1 && name[0] == '0' {
		return -1
	}
	n := 0
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' || n >= 1e8 {
			return -1
		}
		n = n*10 + int(name[i]-'0')
	}
	return n
}
