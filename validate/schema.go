package validate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

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

// validator builds the schema validator once per run: the target
// Kubernetes version's schemas (the nearest embedded one when that version
// is not), then the repository's and the given CRDs.
func (c *checker) validator() (*schema.Validator, error) {
	if c.schema != nil {
		return c.schema, nil
	}
	want := c.kubernetesVersion()
	if want == "" {
		want = schema.Default()
	}
	v, err := schema.New(want)
	if err != nil {
		nearest, ok := nearestSchema(want)
		if !ok {
			return nil, err
		}
		if v, err = schema.New(nearest); err != nil {
			return nil, err
		}
		c.add("schema", Finding{File: ConfigFile, Severity: Warning, Message: fmt.Sprintf(
			"no schemas for Kubernetes %s are built in (built in: %s): objects are checked against %s's",
			want, strings.Join(schema.Versions(), ", "), nearest)})
	}
	crds := append([]map[string]any(nil), c.opts.CRDs...)
	digest := []string{"crds/1"}
	for _, crd := range c.opts.CRDs {
		data, _ := json.Marshal(crd)
		digest = append(digest, string(data))
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
				crds = append(crds, m)
				digest = append(digest, string(data))
			}
		}
	}
	c.crdDigest = cache.Key(digest...)
	for _, crd := range crds {
		if err := v.AddCRD(crd); err != nil {
			name, _ := crd["metadata"].(map[string]any)["name"].(string)
			c.add("schema", Finding{File: ConfigFile, Severity: Warning, Message: fmt.Sprintf("CustomResourceDefinition %s is not valid, its custom resources are not checked: %v", name, err)})
		}
	}
	c.schema = v
	return v, nil
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
