package validate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/deprecation"
	"github.com/kubectl-gitops/kubectl-gitops/internal/schema"
)

// checkSchema validates every object in scope against the schema of its
// kind: built-in kinds against the embedded OpenAPI schemas of the target
// Kubernetes version, custom resources against their CRDs (the bundled
// Flux CRDs, the CRDs the repository renders, and --crds), CEL rules
// included. A kind with no schema is reported once, by the no-schema rule.
func checkSchema(c *checker) error {
	v, err := c.validator()
	if err != nil {
		return err
	}
	noSchema := map[string]bool{}
	return c.eachObject(func(o *object) {
		if o.node.Field("sops") != nil {
			return // encrypted: kustomize-controller decrypts it before the API server sees it
		}
		obj, err := o.node.Map()
		if err != nil {
			return
		}
		violations, status := v.Validate(obj)
		if status == schema.NoSchema {
			if f, ok := deprecation.Check(o.node.GetApiVersion(), o.node.GetKind(), c.kubernetesVersion()); ok && f.Removed {
				return // deprecated-api says it is not served at all
			}
			gvk := o.node.GetApiVersion() + " " + o.node.GetKind()
			if !noSchema[gvk] && c.enabled("no-schema") {
				noSchema[gvk] = true
				c.addObject("no-schema", o, []string{"kind"}, fmt.Sprintf(
					"no schema is known for %s: add its CustomResourceDefinition to the repository or pass --crds, so its objects are checked", gvk))
			}
			return
		}
		for _, vi := range violations {
			c.addObject("schema", o, pathKeys(vi.Path), vi.Message)
		}
	})
}

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
	err = c.eachObjectOf(c.in.Results, func(o *object) {
		if o.node.GetKind() == "CustomResourceDefinition" && o.node.GetApiVersion() == "apiextensions.k8s.io/v1" {
			if m, err := o.node.Map(); err == nil {
				crds = append(crds, m)
			}
		}
	})
	if err != nil {
		return nil, err
	}
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
