// Package gitops is the Go API of kubectl gitops: open a repository of
// kustomize overlays and Flux objects, render its roots as kustomize,
// kustomize-controller and helm-controller would, and check it with the
// rules `kubectl gitops validate`, the pre-commit hooks and the
// pull-request bot run.
//
// Every type a caller sees is defined here or in the validate and hooks
// packages; nothing internal leaks. A Repository is one run's: open it,
// render or check as often as needed (a warm cache makes each call cheap),
// then close it.
package gitops

import (
	"context"
	"io"
	"runtime"

	"github.com/kubectl-gitops/kubectl-gitops/hooks"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/workspace"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// Options say how a Repository renders. The zero value renders with the
// cache, one job per CPU, no remote bases, charts fetched when needed.
type Options struct {
	// Root, when set, is the repository's root: a folder of a repository,
	// as a Flux source whose artifact is that folder.
	Root string
	// NoCache renders every root again instead of reusing the render
	// cache ($GITOPS_CACHE_DIR, or kubectl-gitops under the user's cache
	// directory).
	NoCache bool
	// Jobs is how many roots render at once; one per CPU when 0.
	Jobs int
	// AllowRemote lets kustomizations fetch remote bases and resources.
	AllowRemote bool
	// Offline renders HelmReleases only from charts in the cache and
	// touches no network.
	Offline bool
	// CacheRepo is an OCI repository (REGISTRY/PATH/NAME) sharing the
	// render cache between machines.
	CacheRepo string
	// Warnings receives what a run warns of (an unreachable shared cache,
	// say); discarded when nil.
	Warnings io.Writer
}

// Repository is a repository opened for rendering and checking.
type Repository struct {
	ws *workspace.Workspace
}

// Open opens the repository dir is in: the top of its Git working tree,
// or opts.Root.
func Open(dir string, opts Options) (*Repository, error) {
	jobs := opts.Jobs
	if jobs == 0 {
		jobs = runtime.NumCPU()
	}
	ws, err := workspace.Open(workspace.Options{
		Dir: dir, Root: opts.Root, NoCache: opts.NoCache, Jobs: jobs, AllowRemote: opts.AllowRemote,
		Offline: opts.Offline, CacheRepo: opts.CacheRepo, Warnings: opts.Warnings,
	})
	if err != nil {
		return nil, err
	}
	return &Repository{ws: ws}, nil
}

// Close waits for what was sent to the shared cache, if any.
func (r *Repository) Close() { r.ws.Close() }

// Dir is the repository's root directory.
func (r *Repository) Dir() string { return r.ws.Repo.Root }

// Scope says which part of the repository, at which revision, a call
// looks at.
type Scope struct {
	// Paths are directories or files, absolute or relative to the
	// directory given to Open; the whole repository when empty.
	Paths []string
	// Ref is a Git revision (branch, tag, commit, HEAD~3); the working
	// tree when empty.
	Ref string
}

// Root is one rendered root: a kustomize directory, or a directory a Flux
// Kustomization applies.
type Root struct {
	// Path is the directory, relative to the repository's root.
	Path string
	// Kustomization is the namespace/name of the Flux Kustomization that
	// applies Path; empty for a plain kustomize root.
	Kustomization string
	// Cluster names the cluster whose tree reaches the root, if any.
	Cluster string
	// Err is why the root did not render; it then has no objects.
	Err error
	// YAML holds the objects the root renders itself, as `kubectl gitops
	// render` prints them.
	YAML []byte
	// Releases are the HelmReleases among the objects, each rendered.
	Releases []Release
}

// Release is a HelmRelease a root applies, rendered as helm-controller
// would install it.
type Release struct {
	// HelmRelease is its namespace/name; File and Line where it is
	// written.
	HelmRelease string
	File        string
	Line        int
	// Chart and Version name the chart it installs.
	Chart, Version string
	// Err is why it did not render; NotRendered why it was not tried (a
	// chart the cache lacks offline, say). Either leaves YAML empty.
	Err         error
	NotRendered string
	// YAML holds the objects the release installs.
	YAML []byte
}

// Render renders every root at or under the scope's paths.
func (r *Repository) Render(ctx context.Context, scope Scope) ([]Root, error) {
	dirs, err := r.ws.RelPaths(scope.Paths, ".")
	if err != nil {
		return nil, err
	}
	out, err := r.ws.Render(ctx, scope.Ref, dirs, render.Shard{})
	if err != nil {
		return nil, err
	}
	defer out.Engine.Trim()
	roots := make([]Root, 0, len(out.Results))
	for _, res := range out.Results {
		root := Root{Path: res.Root.Path, Kustomization: res.Root.KustomizationID(), Cluster: res.Root.ClusterName(), Err: res.Err}
		if res.Err == nil {
			if root.YAML, err = res.Own(); err != nil {
				return nil, err
			}
		}
		for _, rel := range res.Releases {
			release := Release{HelmRelease: rel.ID(), File: rel.File, Line: rel.Line, Chart: rel.Chart, Version: rel.Version, Err: rel.Err, NotRendered: rel.Unchecked}
			if rel.Rendered() {
				if release.YAML, err = rel.YAML(); err != nil {
					return nil, err
				}
			}
			root.Releases = append(root.Releases, release)
		}
		roots = append(roots, root)
	}
	return roots, nil
}

// Check is what Validate checks beyond its scope.
type Check struct {
	// KubernetesVersion is the cluster's ("v1.33"), for schemas and API
	// removals; .gitops.yaml's, else the newest built in, when empty.
	KubernetesVersion string
	// CRDs are files or directories on disk holding
	// CustomResourceDefinitions to check custom resources against, beyond
	// those the repository renders and .gitops.yaml names.
	CRDs []string
	// Rules, when set, are the only rules run (validate.Rules lists them).
	Rules []string
}

// Validate renders the roots at or under the scope's paths, and those
// reading a file there, and runs the rules over them and the files.
func (r *Repository) Validate(ctx context.Context, scope Scope, check Check) (*validate.Report, error) {
	paths, err := r.ws.RelPaths(scope.Paths, ".")
	if err != nil {
		return nil, err
	}
	tree, err := r.ws.Tree(scope.Ref)
	if err != nil {
		return nil, err
	}
	return r.ws.Check(ctx, tree, workspace.Scope{Paths: paths}, workspace.Settings{
		KubernetesVersion: check.KubernetesVersion,
		CRDPaths:          check.CRDs,
		Rules:             check.Rules,
	})
}

// Hook runs the pre-commit hook id (see hooks.All) on files (absolute or
// relative to the directory given to Open), as a commit
// of the staged files holds them: only the roots reading one of them are
// rendered.
func (r *Repository) Hook(ctx context.Context, id string, files []string) (*validate.Report, error) {
	h, err := hooks.Lookup(id)
	if err != nil {
		return nil, err
	}
	rel, err := r.ws.RelPaths(files)
	if err != nil {
		return nil, err
	}
	if len(rel) == 0 {
		return &validate.Report{Findings: []validate.Finding{}}, nil
	}
	return r.ws.CheckStaged(ctx, rel, h.Rules)
}

// Objects decodes the root's YAML: one map per object, as
// encoding/json would decode it.
func (r Root) Objects() ([]map[string]any, error) { return decode(r.YAML) }

// Objects decodes the release's YAML.
func (r Release) Objects() ([]map[string]any, error) { return decode(r.YAML) }

func decode(data []byte) ([]map[string]any, error) {
	nodes, err := render.ParseObjects(data)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(nodes))
	for _, n := range nodes {
		m, err := n.Map()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
