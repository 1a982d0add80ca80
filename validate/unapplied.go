package validate

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// unappliedFiles finds the YAML files in scope that hold Kubernetes
// objects no render root reads: nothing the repository describes deploys
// them (a file left out of its kustomization's resources, most often).
// Each is reported by the unapplied rule and checked on its own, as a root
// of its own, by the root rules.
func (c *checker) unappliedFiles() []*render.Result {
	if !c.enabled("unapplied") {
		return nil
	}
	var out []*render.Result
	for _, f := range c.unreadFiles() {
		if !c.inScope(f) || c.aside(f) {
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

// aside tells whether f lies in an archive the repository sets aside
// (render.Repository.SetAside) that the scope does not name, and no
// rendered root reads it: old apps nothing deploys, neither rendered nor
// checked.
func (c *checker) aside(f string) bool {
	if !c.in.Repository.SetAside(f) || c.namedSetAside(f) {
		return false
	}
	return !c.readByRoot(f)
}

// readByRoot tells whether a rendered root of this repository read f.
func (c *checker) readByRoot(f string) bool {
	c.read.once.Do(func() {
		c.read.files = map[string]bool{}
		for _, res := range c.in.Results {
			if res.Root.At == nil {
				for _, in := range res.Inputs {
					c.read.files[in.Path] = true
				}
			}
		}
	})
	return c.read.files[f]
}

// namedSetAside tells whether the scope names f's hidden folder (or f):
// what the repository sets aside there is checked only then.
func (c *checker) namedSetAside(f string) bool {
	for _, s := range c.in.Files {
		if c.in.Repository.SetAside(s) && (f == s || strings.HasPrefix(f, s+"/")) {
			return true
		}
	}
	return false
}

// unreadFiles returns, once per check, the YAML files no render root
// reads (render.Repository.Unread), .gitops.yaml aside.
func (c *checker) unreadFiles() []string {
	c.unread.once.Do(func() {
		c.unread.files = slices.DeleteFunc(c.in.Repository.Unread(c.in.Results), func(f string) bool { return f == ConfigFile })
	})
	return c.unread.files
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
