// Package workspace is what every command of kubectl gitops does before
// its own work: open the repository a run starts in, open the render cache
// (and the shared cache behind it), build render engines over the working
// tree or any revision, and find the repository's roots and clusters. Check
// then renders what a set of paths or files needs and runs the rules over
// it, for validate, the pre-commit hooks and the pull-request bot alike.
//
// A Workspace is one run's: engines built from it share its cache handle,
// its chart fetcher and its discovery memo.
package workspace

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/cacherepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// Options say where a run starts and how it renders.
type Options struct {
	// Dir is where the run starts; the working directory when empty.
	Dir string
	// Root, when set, is the repository's root: a folder of a repository,
	// as a source whose artifact is that folder. Dir defaults to it.
	Root string
	// NoCache renders every root again.
	NoCache bool
	// Jobs is how many roots render at once; at least 1.
	Jobs int
	// AllowRemote lets kustomizations fetch remote bases.
	AllowRemote bool
	// Offline renders HelmReleases only from cached charts and touches no
	// network.
	Offline bool
	// FluxVersion is the Flux release the clusters run where the
	// repository does not say it; empty takes .gitops.yaml's fluxVersion.
	FluxVersion string
	// CacheRepo is an OCI repository sharing the render cache between
	// machines; none when empty.
	CacheRepo string
	// Limits bound what one render reads; zero fields take the defaults.
	Limits kfs.Limits
	// Warnings receives what the run warns of; discarded when nil.
	Warnings io.Writer
}

// Workspace is a repository opened for one run.
type Workspace struct {
	// Repo is the repository.
	Repo *repo.Repo
	// Cwd is where the run started, relative to Repo.Root.
	Cwd string

	opts   Options
	shared *shared
}

// shared is what every engine of a run shares, and the workspaces of the
// other repositories a run renders (RenderForeign).
type shared struct {
	mu    sync.Mutex
	cache *cache.Cache
	memos map[string]*render.Memo // by repository root
	// filters are the source filters of the run's engines, flights their
	// renders under way.
	filters render.Filters
	// releases are the cached HelmRelease renders the engines share.
	releases render.Releases
	flights  render.Flights
	charts   *helm.Fetcher
	// remote is the registry behind the cache (CacheRepo), or nil.
	remote *cacherepo.Repo
	// rendered, when set, counts the engines' renders.
	rendered *atomic.Int64
}

// Open opens the repository opts.Dir (or opts.Root) is in.
func Open(opts Options) (*Workspace, error) {
	if opts.Jobs < 1 {
		return nil, fmt.Errorf("jobs must be at least 1, got %d", opts.Jobs)
	}
	if opts.Warnings == nil {
		opts.Warnings = io.Discard
	}
	opts.Limits = opts.Limits.WithDefaults()
	// Every command that opens a workspace builds with kustomize.
	render.Warm()
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		dir = wd
	}
	var r *repo.Repo
	var err error
	if opts.Root != "" {
		r, err = repo.OpenAt(opts.Root)
	} else {
		r, err = repo.Open(dir)
	}
	if err != nil {
		return nil, err
	}
	if opts.Root != "" && opts.Dir == "" {
		dir = r.Root
	}
	cwd, err := r.Rel(dir)
	if err != nil {
		return nil, err
	}
	return &Workspace{Repo: r, Cwd: cwd, opts: opts, shared: &shared{memos: map[string]*render.Memo{}}}, nil
}

// Close waits for what the run sends to the shared cache.
func (w *Workspace) Close() {
	w.shared.mu.Lock()
	r := w.shared.remote
	w.shared.mu.Unlock()
	if r != nil {
		r.Flush()
	}
}

// CountRenders makes the engines built from now on add each root and
// HelmRelease they render to n; nil stops counting.
func (w *Workspace) CountRenders(n *atomic.Int64) {
	w.shared.mu.Lock()
	w.shared.rendered = n
	w.shared.mu.Unlock()
}

// RelPath maps a path, relative to where the run started or absolute, to
// a path relative to the repository's root.
func (w *Workspace) RelPath(p string) (string, error) {
	if filepath.IsAbs(p) {
		return w.Repo.Rel(p)
	}
	rel := path.Join(w.Cwd, filepath.ToSlash(p))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s is outside the repository %s", p, w.Repo.Root)
	}
	return rel, nil
}

// RelPaths maps each of paths with RelPath; with none, it returns def.
func (w *Workspace) RelPaths(paths []string, def ...string) ([]string, error) {
	if len(paths) == 0 {
		return def, nil
	}
	out := make([]string, 0, len(paths))
	for _, a := range paths {
		p, err := w.RelPath(a)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Engine returns a render engine over tree.
func (w *Workspace) Engine(tree repo.Tree) (*render.Engine, error) {
	return w.EngineWith(tree, nil)
}

// EngineWith returns a render engine over tree with its options adjusted
// by tune.
func (w *Workspace) EngineWith(tree repo.Tree, tune func(*render.Options)) (*render.Engine, error) {
	opts := render.Options{Jobs: w.opts.Jobs, AllowRemote: w.opts.AllowRemote, Salt: version.CacheSalt(), Limits: w.opts.Limits}
	// Helm's templates see the cluster's version .gitops.yaml gives, for
	// every command alike; validate's --kubernetes-version overrides it.
	if cfg, err := validate.LoadConfig(tree); err == nil {
		opts.KubeVersion = cfg.KubernetesVersion
	}
	if tune != nil {
		tune(&opts)
	}
	c, err := w.Cache()
	if err != nil {
		return nil, err
	}
	s := w.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.charts == nil {
		s.charts = helm.NewFetcher(helm.FetcherOptions{
			Cache: c,
			// Two retries: a chart source that is down is named, and the
			// run goes on without it.
			Registry: registry.New(registry.Options{Keychain: authn.DefaultKeychain, Retries: 2, UserAgent: userAgent()}),
			Offline:  w.opts.Offline,
		})
	}
	opts.Charts = s.charts
	opts.Rendered = s.rendered
	opts.Filters = &s.filters
	opts.Releases = &s.releases
	if c != nil {
		opts.Cache, opts.Flights = c, &s.flights
		opts.Memo = w.memoLocked(c)
	}
	return render.New(tree, w.Repo.Root, opts), nil
}

// memoLocked returns the discovery memo of the repository, read from c
// on first use; w.shared.mu is held.
func (w *Workspace) memoLocked(c *cache.Cache) *render.Memo {
	s := w.shared
	if s.memos[w.Repo.Root] == nil {
		s.memos[w.Repo.Root] = render.OpenMemo(c, version.CacheSalt(), w.Repo.Root)
	}
	return s.memos[w.Repo.Root]
}

// memoWarm tells whether the discovery memo knows facts of files: an
// earlier run used the cache.
func (w *Workspace) memoWarm() bool {
	c, err := w.Cache()
	if err != nil || c == nil {
		return false
	}
	w.shared.mu.Lock()
	defer w.shared.mu.Unlock()
	return w.memoLocked(c).Len() > 0
}

func userAgent() string { return "kubectl-gitops/" + version.Get().Version }

// Cache returns the run's cache, opened on first use; nil with NoCache.
func (w *Workspace) Cache() (*cache.Cache, error) {
	if w.opts.NoCache {
		return nil, nil
	}
	s := w.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		c, err := openCache()
		if err != nil {
			return nil, err
		}
		// The hook and an offline run touch no network.
		if w.opts.CacheRepo != "" && !w.opts.Offline {
			client := registry.New(registry.Options{Keychain: authn.DefaultKeychain, Retries: 1, Timeout: cacheRepoTimeout, UserAgent: userAgent()})
			warnings := w.opts.Warnings
			r, err := cacherepo.New(context.Background(), w.opts.CacheRepo, client, func(msg string) {
				fmt.Fprintf(warnings, "warning: %s\n", msg)
			})
			if err != nil {
				return nil, err
			}
			c.SetRemote(r)
			s.remote = r
		}
		s.cache = c
	}
	return s.cache, nil
}

// cacheRepoTimeout bounds each request to the shared cache: a slow
// registry costs a run little more than an absent one.
const cacheRepoTimeout = 10 * time.Second

// Tree returns the working tree for an empty rev, else the tree of the
// commit rev names, as CommitTree reads it.
func (w *Workspace) Tree(rev string) (repo.Tree, error) {
	if rev == "" || w.Repo.Git == nil {
		return w.Repo.Tree(rev)
	}
	h, err := w.Repo.Resolve(rev)
	if err != nil {
		return nil, err
	}
	return w.CommitTree(h)
}

// CommitTree returns the tree of a commit of the repository, rebuilt from
// the cache's list of its files when a run read it before.
func (w *Workspace) CommitTree(hash plumbing.Hash) (repo.Tree, error) {
	c, err := w.Cache()
	if err != nil {
		return nil, err
	}
	return render.CommitTree(c, version.CacheSalt(), w.Repo, hash)
}

// Discover finds the roots of the engine's tree and walks each cluster's
// tree, knowing which Flux sources are this repository at that revision.
func (w *Workspace) Discover(ctx context.Context, eng *render.Engine) (*render.Repository, error) {
	c, err := w.checkout(eng.Tree())
	if err != nil {
		return nil, err
	}
	return eng.Discover(ctx, c)
}

// checkout says what tree is: the repository's remotes, the branch it is,
// and the clusters and Flux release its .gitops.yaml declares.
func (w *Workspace) checkout(tree repo.Tree) (render.Checkout, error) {
	cfg, err := validate.LoadConfig(tree)
	if err != nil {
		return render.Checkout{}, err
	}
	c := render.Checkout{Remotes: w.Repo.RemoteURLs(), DefaultBranches: w.Repo.DefaultBranches(), Branch: w.branchOf(tree.Revision()), Revision: w.fluxRevision,
		FluxVersion: cmp.Or(w.opts.FluxVersion, cfg.FluxVersion), Archives: cfg.Archives}
	for _, cl := range cfg.Clusters {
		c.Clusters = append(c.Clusters, render.ClusterConfig{Name: cl.Name, Path: cl.Path, URL: cl.Source.URL, Ref: cl.Source.Ref, FluxVersion: cl.FluxVersion,
			Object: &manifest.Object{File: validate.ConfigFile, Line: cl.Line}})
	}
	return c, nil
}

// fluxRevision finds the revision a GitRepository of this repository on
// another ref reads, among the repository's own branches and tags.
func (w *Workspace) fluxRevision(ref repo.GitRef) (repo.Tree, string, error) {
	if w.Repo.Git == nil {
		return nil, "", fmt.Errorf("not a Git repository")
	}
	h, what, err := w.Repo.ResolveFlux(ref)
	if err != nil {
		return nil, "", err
	}
	tree, err := w.CommitTree(h)
	return tree, what, err
}

// branchOf names the branch a revision is: HEAD's branch for the working
// tree (""), else a local branch whose tip is the commit, or HEAD's branch
// when HEAD is it; "" for none.
func (w *Workspace) branchOf(commit string) string {
	g := w.Repo.Git
	if g == nil {
		return ""
	}
	head, err := g.Head()
	if err != nil {
		return ""
	}
	if commit == "" || head.Hash().String() == commit {
		if head.Name().IsBranch() {
			return head.Name().Short()
		}
		if commit == "" {
			return ""
		}
	}
	branches, err := g.Branches()
	if err != nil {
		return ""
	}
	defer branches.Close()
	name := ""
	_ = branches.ForEach(func(ref *plumbing.Reference) error {
		if ref.Hash().String() == commit && name == "" {
			name = ref.Name().Short()
		}
		return nil
	})
	return name
}

// openCache opens the render cache: $GITOPS_CACHE_DIR, or kubectl-gitops
// under the user's cache directory.
func openCache() (*cache.Cache, error) {
	dir := os.Getenv("GITOPS_CACHE_DIR")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("finding the cache directory (set GITOPS_CACHE_DIR or pass --no-cache): %w", err)
		}
		dir = filepath.Join(base, "kubectl-gitops", "render")
	}
	return cache.Open(dir, 0)
}

// Rendering is what Render rendered.
type Rendering struct {
	Engine     *render.Engine
	Repository *render.Repository
	// Results are the roots', each failed root's error in its Err. A
	// result from the cache reads its objects when asked for them
	// (Engine.Load reads them all at once).
	Results []*render.Result
}

// Render renders the roots at or under dirs (repository-relative; "." for
// all) of the tree rev names (the working tree when empty), the part of
// them shard takes.
func (w *Workspace) Render(ctx context.Context, rev string, dirs []string, shard render.Shard) (*Rendering, error) {
	tree, err := w.Tree(rev)
	if err != nil {
		return nil, err
	}
	side, err := w.side(ctx, tree)
	if err != nil {
		return nil, err
	}
	roots, err := side.Repository.Select(dirs)
	if err != nil {
		return nil, err
	}
	results, err := side.Engine.Render(ctx, side.Repository, side.Repository.ShardOf(roots, shard))
	if err != nil {
		return nil, err
	}
	return &Rendering{Engine: side.Engine, Repository: side.Repository, Results: results}, nil
}
