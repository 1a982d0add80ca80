package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/cacherepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// repoOptions are the flags of every command that renders a repository.
type repoOptions struct {
	Chdir       string
	Root        string
	NoCache     bool
	Jobs        int
	AllowRemote bool
	Offline     bool
	CacheRepo   string
	Limits      limitFlags

	repo *repo.Repo
	// cwd is the working directory relative to the repository root.
	cwd string
	// shared is what the run's engines share, set up by complete.
	shared *engineShared
}

// engineShared is what every engine of a run shares: one handle on the
// cache, and one discovery memo per repository, read once.
type engineShared struct {
	mu     sync.Mutex
	cache  *cache.Cache
	memos  map[string]*render.Memo // by repository root
	charts *helm.Fetcher
	// remote is the registry behind the cache (--cache-repo), or nil.
	remote *cacherepo.Repo
	errOut io.Writer
	// progress, when set, counts the engines' renders.
	progress *progress
}

// showProgress shows on w, when it is a terminal and the run is long, how
// many roots and HelmReleases the run's engines rendered; the function it
// returns clears the line.
func (o *repoOptions) showProgress(w io.Writer, what string) func() {
	p := startProgress(w, what)
	o.shared.mu.Lock()
	o.shared.progress = p
	o.shared.mu.Unlock()
	return p.end
}

func (o *repoOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Chdir, "chdir", "C", "", "run as if started in this directory")
	fs.StringVar(&o.Root, "root", "", "treat this folder as the repository's root, as a source whose artifact is a folder of a repository (default: the top of the Git working tree)")
	fs.BoolVar(&o.NoCache, "no-cache", false, "render every root again instead of reusing results whose inputs did not change")
	fs.IntVar(&o.Jobs, "jobs", runtime.NumCPU(), "roots rendered at once")
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "let kustomizations fetch remote bases and resources (refused by default)")
	fs.BoolVar(&o.Offline, "offline", false, "render HelmReleases only from charts in the cache, naming each chart it lacks, and touch no network")
	fs.StringVar(&o.CacheRepo, "cache-repo", os.Getenv("GITOPS_CACHE_REPO"), "an OCI repository (REGISTRY/PATH/NAME) that shares the render cache between machines: entries missing here are pulled from it, new ones pushed (default $GITOPS_CACHE_REPO)")
	o.Limits.addFlags(fs)
}

// complete opens the repository the command runs in; errOut is where
// the run's warnings go.
func (o *repoOptions) complete(errOut io.Writer) error {
	dir := o.Chdir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		dir = wd
	}
	var r *repo.Repo
	var err error
	if o.Root != "" {
		r, err = repo.OpenAt(o.Root)
	} else {
		r, err = repo.Open(dir)
	}
	if err != nil {
		return err
	}
	if o.Root != "" && o.Chdir == "" {
		dir = r.Root
	}
	cwd, err := r.Rel(dir)
	if err != nil {
		return err
	}
	o.repo, o.cwd = r, cwd
	o.shared = &engineShared{memos: map[string]*render.Memo{}, errOut: errOut}
	return nil
}

// finish waits for what the run sends to the shared cache.
func (o *repoOptions) finish() {
	if o.shared == nil {
		return
	}
	o.shared.mu.Lock()
	r := o.shared.remote
	o.shared.mu.Unlock()
	if r != nil {
		r.Flush()
	}
}

func (o *repoOptions) validate() error {
	if o.Jobs < 1 {
		return fmt.Errorf("--jobs must be at least 1, got %d", o.Jobs)
	}
	if o.CacheRepo != "" {
		if err := cacherepo.Check(o.CacheRepo); err != nil {
			return err
		}
	}
	return o.Limits.validate()
}

// relPath maps a path given on the command line, relative to where the
// command runs, to a path relative to the repository root.
func (o *repoOptions) relPath(p string) (string, error) {
	if filepath.IsAbs(p) {
		return o.repo.Rel(p)
	}
	rel := path.Join(o.cwd, filepath.ToSlash(p))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s is outside the repository %s", p, o.repo.Root)
	}
	return rel, nil
}

// relPaths maps the paths given on the command line with relPath; with
// none, it returns def.
func (o *repoOptions) relPaths(args []string, def ...string) ([]string, error) {
	if len(args) == 0 {
		return def, nil
	}
	paths := make([]string, 0, len(args))
	for _, a := range args {
		p, err := o.relPath(a)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// engine returns a render engine over tree.
func (o *repoOptions) engine(tree repo.Tree) (*render.Engine, error) {
	return o.engineWith(tree, nil)
}

// engineWith returns a render engine over tree with its options adjusted
// by tune.
func (o *repoOptions) engineWith(tree repo.Tree, tune func(*render.Options)) (*render.Engine, error) {
	opts := render.Options{Jobs: o.Jobs, AllowRemote: o.AllowRemote, Salt: version.CacheSalt(), Limits: o.Limits.limits()}
	// Helm's templates see the cluster's version .gitops.yaml gives, for
	// every command alike; validate's --kubernetes-version overrides it.
	if cfg, err := validate.LoadConfig(tree); err == nil {
		opts.KubeVersion = cfg.KubernetesVersion
	}
	if tune != nil {
		tune(&opts)
	}
	c, err := o.cache()
	if err != nil {
		return nil, err
	}
	s := o.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.charts == nil {
		s.charts = helm.NewFetcher(helm.FetcherOptions{
			Cache: c,
			// Two retries: a chart source that is down is named, and the
			// run goes on without it.
			Registry: registry.New(registry.Options{Keychain: authn.DefaultKeychain, Retries: 2, UserAgent: "kubectl-gitops/" + version.Get().Version}),
			Offline:  o.Offline,
		})
	}
	opts.Charts = s.charts
	opts.Rendered = s.progress.counter()
	if c != nil {
		opts.Cache = c
		if s.memos[o.repo.Root] == nil {
			s.memos[o.repo.Root] = render.OpenMemo(c, opts.Salt, o.repo.Root)
		}
		opts.Memo = s.memos[o.repo.Root]
	}
	return render.New(tree, o.repo.Root, opts), nil
}

// cache returns the run's cache, opened on first use; nil with --no-cache.
func (o *repoOptions) cache() (*cache.Cache, error) {
	if o.NoCache {
		return nil, nil
	}
	s := o.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		c, err := openCache()
		if err != nil {
			return nil, err
		}
		// The hook and --offline touch no network.
		if o.CacheRepo != "" && !o.Offline {
			client := registry.New(registry.Options{Keychain: authn.DefaultKeychain, Retries: 1, Timeout: cacheRepoTimeout,
				UserAgent: "kubectl-gitops/" + version.Get().Version})
			r, err := cacherepo.New(context.Background(), o.CacheRepo, client, func(msg string) {
				fmt.Fprintf(s.errOut, "warning: %s\n", msg)
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

// tree returns the working tree for an empty rev, else the tree of the
// commit rev names, as commitTree reads it.
func (o *repoOptions) tree(rev string) (repo.Tree, error) {
	if rev == "" || o.repo.Git == nil {
		return o.repo.Tree(rev)
	}
	h, err := o.repo.Resolve(rev)
	if err != nil {
		return nil, err
	}
	return o.commitTree(h)
}

// commitTree returns the tree of a commit of the repository, rebuilt from
// the cache's list of its files when a run read it before.
func (o *repoOptions) commitTree(hash plumbing.Hash) (repo.Tree, error) {
	c, err := o.cache()
	if err != nil {
		return nil, err
	}
	return render.CommitTree(c, version.CacheSalt(), o.repo, hash)
}

// discover finds the roots of the engine's tree and walks each cluster's
// tree, knowing which Flux sources are this repository at that revision.
func (o *repoOptions) discover(ctx context.Context, eng *render.Engine) (*render.Repository, error) {
	c, err := o.checkout(eng.Tree())
	if err != nil {
		return nil, err
	}
	return eng.Discover(ctx, c)
}

// checkout says what tree is: the repository's remotes, the branch it is,
// and the clusters its .gitops.yaml declares.
func (o *repoOptions) checkout(tree repo.Tree) (render.Checkout, error) {
	cfg, err := validate.LoadConfig(tree)
	if err != nil {
		return render.Checkout{}, err
	}
	c := render.Checkout{Remotes: o.repo.RemoteURLs(), DefaultBranches: o.repo.DefaultBranches(), Branch: o.branchOf(tree.Revision()), Revision: o.fluxRevision}
	for _, cl := range cfg.Clusters {
		c.Clusters = append(c.Clusters, render.ClusterConfig{Name: cl.Name, Path: cl.Path, URL: cl.Source.URL, Ref: cl.Source.Ref,
			Object: &manifest.Object{File: validate.ConfigFile, Line: cl.Line}})
	}
	return c, nil
}

// fluxRevision finds the revision a GitRepository of this repository on
// another ref reads, among the repository's own branches and tags.
func (o *repoOptions) fluxRevision(ref repo.GitRef) (repo.Tree, string, error) {
	if o.repo.Git == nil {
		return nil, "", fmt.Errorf("not a Git repository")
	}
	h, what, err := o.repo.ResolveFlux(ref)
	if err != nil {
		return nil, "", err
	}
	tree, err := o.commitTree(h)
	return tree, what, err
}

// branchOf names the branch a revision is: HEAD's branch for the working
// tree (""), else a local branch whose tip is the commit, or HEAD's branch
// when HEAD is it; "" for none.
func (o *repoOptions) branchOf(commit string) string {
	g := o.repo.Git
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
