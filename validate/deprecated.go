package validate

import (
	"github.com/kubectl-gitops/kubectl-gitops/internal/deprecation"
)

// checkDeprecated reports objects whose API version the target Kubernetes
// release, or the Flux release of the bundled components, deprecates or no
// longer serves. A removed version is an error unless configured otherwise.
func checkDeprecated(c *checker) error {
	_, configured := c.opts.Config.Rules["deprecated-api"]
	return c.eachObject(func(o *object) {
		f, ok := deprecation.Check(o.node.GetApiVersion(), o.node.GetKind(), c.kubernetesVersion())
		if !ok {
			return
		}
		if _, set := o.overrides["deprecated-api"]; !set && !configured && f.Removed {
			o = withOverride(o, "deprecated-api", Error)
		}
		c.addObject("deprecated-api", o, []string{"apiVersion"}, f.Message)
	})
}

// withOverride returns a copy of o with rule id's severity set.
func withOverride(o *object, id string, s Severity) *object {
	c := *o
	c.overrides = map[string]Severity{id: s}
	for k, v := range o.overrides {
		c.overrides[k] = v
	}
	return &c
}

// kubernetesVersion is the Kubernetes release checks judge against: the
// option, else the configuration's, else the newest known.
func (c *checker) kubernetesVersion() string {
	if v := c.opts.KubernetesVersion; v != "" {
		return v
	}
	return c.opts.Config.KubernetesVersion
}
