package helm

import (
	"fmt"
	"sort"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/fluxcd/pkg/version"
)

// Candidate is one version a chart source offers: an entry of a
// repository's index, or a tag of an OCI repository.
type Candidate struct {
	Version string
	// Created orders index entries whose versions compare equal (they
	// differ only in build metadata); zero for tags.
	Created time.Time
}

// pickVersion chooses among candidates the version source-controller
// would: an exact match of want first; else, with want empty or "*", the
// newest stable version; else the newest version within the semver range
// want. Versions that are not three-part semver are never picked by a
// range, as in source-controller (fluxcd/pkg/version.ParseVersion).
func pickVersion(candidates []Candidate, want string) (Candidate, error) {
	if want != "" {
		for _, c := range candidates {
			if c.Version == want {
				return c, nil
			}
		}
	}
	constraint := "*"
	if want != "" {
		constraint = want
	}
	cons, err := semver.NewConstraint(constraint)
	if err != nil {
		return Candidate{}, fmt.Errorf("version %q is neither a version nor a semver range: %w", want, err)
	}
	type match struct {
		v *semver.Version
		c Candidate
	}
	var matches []match
	for _, c := range candidates {
		v, err := version.ParseVersion(c.Version)
		if err != nil || !cons.Check(v) {
			continue
		}
		matches = append(matches, match{v, c})
	}
	if len(matches) == 0 {
		if want == "" || want == "*" {
			return Candidate{}, fmt.Errorf("no stable version among %d", len(candidates))
		}
		return Candidate{}, fmt.Errorf("no version matches %q among %d", want, len(candidates))
	}
	sort.SliceStable(matches, func(i, j int) bool {
		a, b := matches[i], matches[j]
		if !a.v.Equal(b.v) {
			return b.v.LessThan(a.v)
		}
		return b.c.Created.Before(a.c.Created)
	})
	return matches[0].c, nil
}
