package plugin

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cacherepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/workspace"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// repoOptions are the flags of every command that renders a repository,
// and the workspace they open.
type repoOptions struct {
	// Open holds the flags that say how the workspace opens; complete
	// adds the limits and where warnings go.
	Open   workspace.Options
	Limits limitFlags

	// Workspace is the repository opened by complete.
	*workspace.Workspace
}

// showProgress shows on w, when it is a terminal and the run is long, how
// many roots and HelmReleases the run's engines rendered; the function it
// returns clears the line.
func (o *repoOptions) showProgress(w io.Writer, what string) func() {
	p := startProgress(w, what)
	o.CountRenders(p.counter())
	return p.end
}

func (o *repoOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Open.Dir, "chdir", "C", "", "run as if started in this directory")
	fs.StringVar(&o.Open.Root, "root", "", "treat this folder as the repository's root, as a source whose artifact is a folder of a repository (default: the top of the Git working tree)")
	fs.BoolVar(&o.Open.NoCache, "no-cache", false, "render every root again instead of reusing results whose inputs did not change")
	fs.IntVar(&o.Open.Jobs, "jobs", runtime.NumCPU(), "roots rendered at once")
	fs.BoolVar(&o.Open.AllowRemote, "allow-remote", false, "let kustomizations fetch remote bases and resources (refused by default)")
	fs.BoolVar(&o.Open.Offline, "offline", false, "render HelmReleases only from charts in the cache, naming each chart it lacks, and touch no network")
	fs.StringVar(&o.Open.FluxVersion, "flux-version", "", "the Flux release the clusters run where the repository does not say it (no gotk-components.yaml header, FluxInstance or .gitops.yaml cluster setting): which Flux APIs are served, whether substitution is strict (default .gitops.yaml's fluxVersion)")
	fs.StringVar(&o.Open.CacheRepo, "cache-repo", os.Getenv("GITOPS_CACHE_REPO"), "an OCI repository (REGISTRY/PATH/NAME) that shares the render cache between machines: entries missing here are pulled from it, new ones pushed (default $GITOPS_CACHE_REPO)")
	o.Limits.addFlags(fs)
}

// complete checks the flags and opens the repository the command runs
// in; errOut is where the run's warnings go.
func (o *repoOptions) complete(errOut io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	opts := o.Open
	opts.Limits, opts.Warnings = o.Limits.limits(), errOut
	ws, err := workspace.Open(opts)
	if err != nil {
		return err
	}
	o.Workspace = ws
	return nil
}

// finish waits for what the run sends to the shared cache.
func (o *repoOptions) finish() {
	if o.Workspace != nil {
		o.Close()
	}
}

func (o *repoOptions) validate() error {
	if o.Open.Jobs < 1 {
		return fmt.Errorf("--jobs must be at least 1, got %d", o.Open.Jobs)
	}
	if o.Open.CacheRepo != "" {
		if err := cacherepo.Check(o.Open.CacheRepo); err != nil {
			return err
		}
	}
	if o.Open.FluxVersion != "" {
		if err := validate.CheckFluxVersion(o.Open.FluxVersion); err != nil {
			return fmt.Errorf("--flux-version: %w", err)
		}
	}
	return o.Limits.validate()
}
