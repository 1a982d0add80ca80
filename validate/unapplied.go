package validate

import (
	"fmt"
	"path"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// unappliedFiles finds the YAML files in scope that hold Kubernetes
// objects no render root reads: nothing the repository describes deploys
// them (a file left out of its kustomization's resources, most often).
// Each is reported by the unapplied rule and checked on its own, as a root
// of its own, by the root rules. Files under a root that does not render,
// or under what its ResourceSets' Kustomizations would build, are left
// alone, and all of them when a cluster's entry point does not: what
// those would read is not known.
func (c *checker) unappliedFiles() []*render.Result {
	if !c.enabled("unapplied") {
		return nil
	}
	read := map[string]bool{}
	var failed []string
	for _, res := range c.in.Results {
		if res.Err != nil {
			if cl := res.Root.Cluster; cl != nil && cl.Entry == res.Root.Kustomization {
				return nil // what the cluster applies is not known
			}
			failed = append(failed, c.in.Repository.Reaches(res.Root.Path)...)
			failed = append(failed, c.in.Repository.Templated(res.Root)...)
			continue
		}
		for _, in := range res.Inputs {
			p := in.Path
			if orig, ok := res.Root.At.Original(p); ok {
				p = orig // an artifact's copy of this revision's file
			} else if res.Root.At != nil {
				continue // another revision's file
			}
			read[p] = true
		}
	}
	// Without an entry point, the Flux Kustomizations are read as they are
	// written: the files that write them are where the repository starts.
	legacy := len(c.in.Repository.Clusters) == 0
	var out []*render.Result
	for _, f := range c.in.Repository.Files {
		if legacy && c.in.Repository.WritesFlux(f) {
			continue
		}
		if read[f] || !isYAMLFile(f) || !c.inScope(f) || kfs.IsKustomizationFile(f) || c.in.Repository.IsChartTemplate(f) || f == ConfigFile || under(f, failed) {
			continue
		}
		data, err := c.in.Tree.ReadFile(f)
		if err != nil {
			continue // the syntax rule reports it
		}
		res := render.FileResult(f, data)
		if len(res.Origins) == 0 {
			continue // no Kubernetes object in it
		}
		first := firstObjectLine(f, data)
		c.add("unapplied", Finding{File: f, Line: first, Message: fmt.Sprintf(
			"no render root applies %s: no kustomization lists it and no Flux Kustomization builds its folder, so nothing deploys it; its objects are checked on their own", path.Base(f))})
		out = append(out, res)
	}
	return out
}

// under tells whether f lies in one of dirs.
func under(f string, dirs []string) bool {
	for _, d := range dirs {
		if d == "." || len(f) > len(d) && f[:len(d)+1] == d+"/" {
			return true
		}
	}
	return false
}

// firstObjectLine is the line of a file's first object.
func firstObjectLine(file string, data []byte) int {
	for _, doc := range manifest.Split(data) {
		if o, err := manifest.Decode(file, doc); err == nil && o.Kind != "" {
			return o.Line
		}
	}
	return 1
}
