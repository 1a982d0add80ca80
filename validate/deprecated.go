package validate

// kubernetesVersion is the Kubernetes release checks judge against: the
// option, else the configuration's (empty: the newest known).
func (c *checker) kubernetesVersion() string {
	if v := c.opts.KubernetesVersion; v != "" {
		return v
	}
	return c.opts.Config.KubernetesVersion
}
