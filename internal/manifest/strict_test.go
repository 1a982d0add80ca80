package manifest

import "testing"

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"base", "base", 0},
		{"bsae", "base", 1},
		{"bse", "base", 1},
		{"bases", "base", 1},
		{"resource", "resources", 1},
		{"newtag", "newTag", 1},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
	} {
		if got := Levenshtein(tc.a, tc.b); got != tc.want {
			t.Errorf("Levenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNearest(t *testing.T) {
	for _, tc := range []struct {
		s    string
		cand []string
		want string
	}{
		{"bsae", []string{"base", "overlays"}, "base"},
		{"resource", []string{"resources", "components"}, "resources"},
		{"NewTag", []string{"newTag", "newName"}, "newTag"},
		{"foo", []string{"resources"}, ""},
		{"ab", []string{"xy"}, ""},
	} {
		if got := Nearest(tc.s, tc.cand); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
