package promote

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// entryUnit is an images entry of the source.
type entryUnit struct {
	file  string
	entry *entry
	// version holds the entry's version keys that are set.
	version map[string]string
}

// observation is one value a source marker gives a part of a version.
type observation struct {
	value string
	file  string
	line  int
}

// policyUnit is the version the source's markers of one policy give.
type policyUnit struct {
	policy markers.Policy
	// repo is the image name, from a whole reference or a ":name" marker.
	repo string
	// tag and digest are set when some marker gives them.
	tag, digest *observation
	file        string
	line        int
}

// image names the unit for messages and for --image.
func (u *policyUnit) image() string {
	if u.repo != "" {
		return u.repo
	}
	return u.policy.String()
}

func (u *policyUnit) tagValue() string {
	if u.tag == nil {
		return ""
	}
	return u.tag.value
}

func (u *policyUnit) digestValue() string {
	if u.digest == nil {
		return ""
	}
	return u.digest.value
}

// version returns the unit's version as images entry keys.
func (u *policyUnit) version() map[string]string {
	v := map[string]string{}
	if t := u.tagValue(); t != "" {
		v[keyNewTag] = t
	}
	if d := u.digestValue(); d != "" {
		v[keyDigest] = d
	}
	return v
}

// matches tells whether the unit is the image name asked for.
func (u *policyUnit) matches(name string) bool {
	return name == u.policy.String() || (u.repo != "" && sameRepo(u.repo, name))
}

// source is what the source overlay has to promote.
type source struct {
	file     string
	entries  []*entryUnit
	policies []*policyUnit
	values   []*valuesImage
	skips    []Skip
}

// readSource collects the versions of the source overlay.
func readSource(k *kustomization, files []File) (*source, error) {
	s := &source{file: k.file}
	seen := map[string]*entry{}
	for _, e := range k.entries {
		if prev := seen[e.name]; prev != nil {
			return nil, diag.Errorf(k.file, e.node.Line,
				"images lists %s twice (first at line %d): keep one entry per image", e.name, prev.node.Line)
		}
		seen[e.name] = e
		u := &entryUnit{file: k.file, entry: e, version: e.version()}
		for _, key := range entryKeys {
			if f := e.fields[key]; f.set() {
				if why := yamlscalar.Check(f.str()); why != "" {
					return nil, diag.Errorf(k.file, f.value.Line, "images entry %s: %s cannot be promoted: %s", e.name, key, why)
				}
			}
		}
		s.entries = append(s.entries, u)
	}
	ys := []*yamlFile{k.scalars()}
	for _, f := range files {
		if f.Path == k.file {
			continue
		}
		y, err := readYAMLFile(f)
		if err != nil {
			d, _ := diag.As(err)
			s.skips = append(s.skips, Skip{File: f.Path, Line: d.Line,
				Reason: "the file is not YAML, so the markers in it are not promoted: " + d.Msg})
			continue
		}
		if markers.Screen(f.Data) {
			if _, err := markers.Find(f.Path, f.Data); err != nil {
				d, _ := diag.As(err)
				line := 0
				if d != nil {
					line = d.Line
				}
				s.skips = append(s.skips, Skip{File: f.Path, Line: line,
					Reason: "Flux's image automation skips this file, so its markers are not promoted: " + err.Error()})
			}
		}
		ys = append(ys, y)
	}
	findGenerated(k, ys[1:])
	if err := s.readPolicies(ys); err != nil {
		return nil, err
	}
	return s, s.readValues(ys)
}

// readPolicies groups the source's marked scalars by policy.
func (s *source) readPolicies(ys []*yamlFile) error {
	byPolicy := map[markers.Policy]*policyUnit{}
	for _, y := range ys {
		for _, sc := range y.scalars {
			m := sc.mark
			if m == nil {
				continue
			}
			u := byPolicy[m.Policy]
			if u == nil {
				u = &policyUnit{policy: m.Policy, file: sc.file, line: sc.node.Line}
				byPolicy[m.Policy] = u
				s.policies = append(s.policies, u)
			}
			v := sc.value()
			switch m.Field {
			case markers.FieldImage:
				repo, tag, digest := splitRef(v)
				if u.repo == "" {
					u.repo = repo
				}
				if err := observe(&u.tag, u, "tag", tag, sc); err != nil {
					return err
				}
				if err := observe(&u.digest, u, "digest", digest, sc); err != nil {
					return err
				}
			case markers.FieldName:
				if u.repo == "" {
					u.repo = v
				}
			case markers.FieldTag:
				if err := observe(&u.tag, u, "tag", v, sc); err != nil {
					return err
				}
			case markers.FieldDigest:
				if err := observe(&u.digest, u, "digest", v, sc); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// observe records a part of a policy's version, or fails when another
// marker of the policy gave it another value.
func observe(slot **observation, u *policyUnit, part, v string, sc *scalar) error {
	if why := yamlscalar.Check(v); why != "" {
		return diag.Errorf(sc.file, sc.node.Line, "the %s marked with %s cannot be promoted: %s", part, u.policy, why)
	}
	if *slot == nil {
		*slot = &observation{value: v, file: sc.file, line: sc.node.Line}
		return nil
	}
	if prev := *slot; prev.value != v {
		return diag.Errorf(sc.file, sc.node.Line,
			"the markers of policy %s disagree on the %s: %q here, %q at %s:%d; let Flux update them, or make them agree, before promoting",
			u.policy, part, v, prev.value, prev.file, prev.line)
	}
	return nil
}

// scalars returns the kustomization's candidate scalars outside its images
// list.
func (k *kustomization) scalars() *yamlFile {
	var roots []*yaml.Node
	if k.root != nil {
		roots = append(roots, k.root)
	}
	return collect(File{Path: k.file, Data: k.t.data}, roots, k.images)
}

// filter keeps the images named, or all of them when names is empty.
func (s *source) filter(names []string) error {
	if len(names) == 0 {
		return nil
	}
	keepEntry := map[*entryUnit]bool{}
	keepPolicy := map[*policyUnit]bool{}
	keepValues := map[*valuesImage]bool{}
	var unknown []string
	for _, n := range names {
		found := false
		for _, u := range s.entries {
			if u.entry.name == n {
				keepEntry[u], found = true, true
			}
		}
		for _, u := range s.policies {
			if u.matches(n) {
				keepPolicy[u], found = true, true
			}
		}
		for _, u := range s.values {
			if n == u.owner.name || (u.repo != "" && sameRepo(u.repo, n)) {
				keepValues[u], found = true, true
			}
		}
		if !found {
			unknown = append(unknown, fmt.Sprintf("%q", n))
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("%w: %s: %s %s", ErrUnknownImage, strings.Join(unknown, ", "), s.file, s.known())
	}
	var entries []*entryUnit
	for _, u := range s.entries {
		if keepEntry[u] {
			entries = append(entries, u)
		}
	}
	var policies []*policyUnit
	for _, u := range s.policies {
		if keepPolicy[u] {
			policies = append(policies, u)
		}
	}
	var values []*valuesImage
	for _, u := range s.values {
		if keepValues[u] {
			values = append(values, u)
		}
	}
	s.entries, s.policies, s.values = entries, policies, values
	return nil
}

// known says which images the source has.
func (s *source) known() string {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, u := range s.entries {
		add(u.entry.name)
	}
	for _, u := range s.policies {
		add(u.image())
	}
	for _, u := range s.values {
		add(u.image())
	}
	if len(names) == 0 {
		return "has no images to promote"
	}
	sort.Strings(names)
	return "has " + strings.Join(names, ", ")
}
