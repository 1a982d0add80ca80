package validate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/deprecation"
	"github.com/kubectl-gitops/kubectl-gitops/internal/schema"
)

// pathKeys turns a violation's path into the keys and indices lineOf
// follows.
func pathKeys(p schema.Path) []string {
	out := make([]string, 0, len(p))
	for _, s := range p {
		if s.IsIndex {
			out = append(out, strconv.Itoa(s.Index))
		} else {
			out = append(out, s.Key)
		}
	}
	return out
}

// schemaSet is what the schema rule checks objects against: the built-in
// schemas of one Kubernetes version and the CRDs of the repository and the
// options. Settling it is cheap; the validator is built only when some
// root's findings are not in the memo.
type schemaSet struct {
	version string // the embedded version, "v1.37.2"
	crds    []map[string]any
	key     string // names the version and the CRDs

	prepared  *Schemas
	once      sync.Once
	validator *schema.Validator
	err       error
}

// schemas settles the schema set once per run: the target Kubernetes
// version's schemas (the nearest embedded one when that version is not),
// then the repository's and the given CRDs. A CRD that is not valid is
// reported, from the memo when the set did not change.
func (c *checker) schemas() (*schemaSet, error) {
	if c.schemaSet != nil {
		return c.schemaSet, nil
	}
	want := c.kubernetesVersion()
	version, nearest, err := resolveSchemas(want)
	if err != nil {
		return nil, err
	}
	if nearest != "" {
		c.add("schema", Finding{File: ConfigFile, Severity: Warning, Message: fmt.Sprintf(
			"no schemas for Kubernetes %s are built in (built in: %s): objects are checked against %s's",
			want, strings.Join(schema.Versions(), ", "), nearest)})
	}
	set := &schemaSet{version: version, crds: append([]map[string]any(nil), c.opts.CRDs...), prepared: c.opts.Schemas}
	key := []string{"schemas/1", version}
	for _, crd := range c.opts.CRDs {
		data, _ := json.Marshal(crd)
		key = append(key, string(data))
	}
	for _, res := range c.in.Results {
		if res.Err != nil {
			continue
		}
		f, err := c.facts(res)
		if err != nil {
			return nil, err
		}
		for _, data := range f.CRDs {
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				set.crds = append(set.crds, m)
				key = append(key, string(data))
			}
		}
	}
	set.key = cache.Key(key...)
	invalid, err := cached(c, "crds/"+set.key, func() ([]Finding, error) {
		_, invalid, err := set.build()
		return invalid, err
	})
	if err != nil {
		return nil, err
	}
	for _, f := range invalid {
		c.add("schema", f)
	}
	c.schemaSet = set
	return set, nil
}

// resolveSchemas returns the embedded schema version a run checks against
// for want ("" for the default), and the nearest version it fell back to
// when want has none.
func resolveSchemas(want string) (version, nearest string, err error) {
	if want == "" {
		want = schema.Default()
	}
	if version, err = schema.Resolve(want); err == nil {
		return version, "", nil
	}
	nearest, ok := nearestSchema(want)
	if !ok {
		return "", "", err
	}
	version, err = schema.Resolve(nearest)
	return version, nearest, err
}

// Schemas is a schema validator built in the background while the caller
// does other work, rendering the roots; Run takes it through
// Options.Schemas instead of building its own, and adds the repository's
// CRDs to it, so one Run uses it.
type Schemas struct {
	version string
	get     func() (*schema.Validator, error)
}

// PrepareSchemas starts building the validator a Run for kubernetesVersion
// ("" for the default) would build: a few milliseconds the run then does
// not wait for, when a root must be checked afresh.
func PrepareSchemas(kubernetesVersion string) *Schemas {
	version, _, err := resolveSchemas(kubernetesVersion)
	if err != nil {
		return nil // Run reports it
	}
	get := sync.OnceValues(func() (*schema.Validator, error) { return schema.New(version) })
	go get()
	return &Schemas{version: version, get: get}
}

// build makes the validator, once; invalid are the CRDs it had to leave out.
func (s *schemaSet) build() (v *schema.Validator, invalid []Finding, err error) {
	s.once.Do(func() {
		if p := s.prepared; p != nil && p.version == s.version {
			s.validator, s.err = p.get()
		} else {
			s.validator, s.err = schema.New(s.version)
		}
		if s.err != nil {
			return
		}
		for _, crd := range s.crds {
			if err := s.validator.AddCRD(crd); err != nil {
				name, _ := crd["metadata"].(map[string]any)["name"].(string)
				invalid = append(invalid, Finding{File: ConfigFile, Severity: Warning, Message: fmt.Sprintf(
					"CustomResourceDefinition %s is not valid, its custom resources are not checked: %v", name, err)})
			}
		}
	})
	return s.validator, invalid, s.err
}

// nearestSchema picks the embedded version closest to want, a Kubernetes
// version the schemas do not cover.
func nearestSchema(want string) (string, bool) {
	w, err := deprecation.ParseKubernetesVersion(want)
	if err != nil {
		return "", false
	}
	best, bestDist := "", -1
	for _, v := range schema.Versions() {
		r, err := deprecation.ParseKubernetesVersion(v)
		if err != nil {
			continue
		}
		d := r.Minor - w.Minor
		if d < 0 {
			d = -d
		}
		if r.Major == w.Major && (bestDist < 0 || d < bestDist) {
			best, bestDist = v, d
		}
	}
	return best, best != ""
}
