// Package hooks is the pre-commit side of kubectl gitops: which checks each
// hook of .pre-commit-hooks.yaml runs, and which render roots a set of
// staged files affects, so a commit validates only what it touches. A
// program runs a hook through the gitops package (Repository.Hook).
package hooks

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// Hook is one entry of .pre-commit-hooks.yaml.
type Hook struct {
	ID          string
	Name        string
	Description string
	// Rules are the validate rules the hook runs; nil runs them all.
	Rules []string
}

// All lists the hooks, in the order .pre-commit-hooks.yaml lists them.
func All() []Hook {
	return []Hook{
		{ID: "gitops-validate", Name: "kubectl gitops validate", Description: "Check the render roots the staged files affect, and the files themselves, with every validate rule"},
		{ID: "gitops-render", Name: "kubectl gitops render", Description: "Check that the render roots the staged files affect still build", Rules: []string{"syntax", "build", "helm-release", "not-rendered"}},
		{ID: "gitops-markers", Name: "kubectl gitops image markers", Description: "Check $imagepolicy markers and the ImagePolicies they name", Rules: []string{"imagepolicy-marker", "imagepolicy-pattern", "flux-reference"}},
		{ID: "gitops-secrets", Name: "kubectl gitops secrets", Description: "Refuse Secrets committed in the clear", Rules: []string{"plain-secret"}},
	}
}

// Lookup returns the hook with id.
func Lookup(id string) (Hook, error) {
	var ids []string
	for _, h := range All() {
		if h.ID == id {
			return h, nil
		}
		ids = append(ids, h.ID)
	}
	return Hook{}, fmt.Errorf("unknown hook %q (hooks: %s)", id, strings.Join(ids, ", "))
}

// Affected returns the roots whose render depended on one of files: it
// read one, probed one's existence, or listed the directory one is in (a
// file added where a kustomization is generated from a directory's
// contents). Files are repository-relative.
func Affected(results []*render.Result, files []string) []render.Root {
	changed := map[string]bool{}
	dirs := map[string]bool{}
	for _, f := range files {
		changed[f] = true
		dirs[parent(f)] = true
	}
	var out []render.Root
	for _, res := range results {
		if touches(res, changed, dirs) {
			out = append(out, res.Root)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func touches(res *render.Result, changed, dirs map[string]bool) bool {
	if k := res.Root.Kustomization; k != nil && changed[k.Object.File] {
		return true
	}
	if res.Err != nil {
		// A root that does not build recorded nothing: it is affected by
		// the files in its directory.
		for f := range changed {
			if strings.HasPrefix(f, res.Root.Path+"/") || res.Root.Path == "." {
				return true
			}
		}
		return false
	}
	return slices.ContainsFunc(res.Observations, func(o kfs.Observation) bool {
		return (o.Op == kfs.OpList && dirs[o.Path]) || (o.Op != kfs.OpList && changed[o.Path])
	})
}

func parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}
