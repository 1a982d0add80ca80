package plugin

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/live"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
	"github.com/kubectl-gitops/kubectl-gitops/internal/workspace"
)

// DiffOptions are the options of `kubectl gitops diff`.
type DiffOptions struct {
	genericiooptions.IOStreams
	repoOptions
	shardOptions

	Dirs   []string
	Base   string
	Head   string
	Live   bool
	Output string
	Ignore []string
	// IgnorePreset names fields left out besides Ignore (diff.Options.Preset).
	IgnorePreset string
	Color        string

	config *genericclioptions.ConfigFlags
	dirs   []string
	getenv func(string) string
}

// NewCmdDiff returns the diff command.
func NewCmdDiff(streams genericiooptions.IOStreams, config *genericclioptions.ConfigFlags) *cobra.Command {
	o := &DiffOptions{IOStreams: streams, config: config, getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "diff [DIR...]",
		Short: "Show what a change does to the rendered objects, between revisions or against the cluster",
		Long: `Render the roots at or under each DIR (every root by default) on two sides and
show, object by object, what is added, changed or removed.

Between revisions, the base is --base (default HEAD; in a CI job on a pull
request, the target branch) and the head is --head (default the working
tree); --base REV compares with the merge-base of REV and the head, as a
pull request does. Both sides are read from Git without a checkout, and a
root whose rendered output is the same on both sides costs nothing.

Secret values are never shown: a changed value appears as *** (before) and
*** (after), SOPS-encrypted values as **SOPS**, and values a Kustomization
substitutes from a Secret are masked wherever they land.

Exit status: 0 no differences, 1 differences, 2 an error.`,
		Example: examples(`  # What does my working tree change?
  %[1]s diff

  # What does this branch change, as its pull request to main would?
  %[1]s diff --base origin/main --head HEAD

  # As a pull-request comment
  %[1]s diff --base origin/main -o markdown`),
		RunE: runE(o),
	}
	o.addFlags(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.Base, "base", "", "the revision to compare with (default HEAD, or the pull request's target branch in CI); its merge-base with the head is used")
	f.StringVar(&o.Head, "head", "", "the revision to compare (default the working tree)")
	f.BoolVar(&o.Live, "live", false, "compare with the objects in the cluster instead of a revision")
	f.StringVarP(&o.Output, "output", "o", "text", "output format: text, markdown or json")
	f.StringSliceVar(&o.Ignore, "ignore", nil, "a field to leave out of the comparison, as spec.replicas or /spec/replicas (repeatable)")
	f.StringVar(&o.IgnorePreset, "ignore-preset", diff.PresetHelm, "fields left out besides --ignore: helm (the helm.sh/chart and app.kubernetes.io/version labels and checksum/* annotations a chart bump changes on every object) or none")
	f.StringVar(&o.Color, "color", "auto", "colour the text output: auto, always or never")
	o.addShardFlag(f)
	config.AddFlags(f)
	return cmd
}

// Complete opens the repository, resolves the directories and picks the
// base.
func (o *DiffOptions) Complete(_ *cobra.Command, args []string) error {
	if err := o.complete(o.ErrOut); err != nil {
		return withCode(ExitFailure, err)
	}
	dirs, err := o.RelPaths(args, ".")
	if err != nil {
		return withCode(ExitFailure, err)
	}
	o.dirs = dirs
	if o.Base == "" && !o.Live {
		o.Base = ciTargetBranch(o.getenv)
	}
	return nil
}

// ciTargetBranch is the pull request's target branch in a CI job (GitHub
// Actions, Gitea Actions, GitLab CI), as a remote-tracking branch; else
// HEAD.
func ciTargetBranch(getenv func(string) string) string {
	for _, v := range []string{"GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"} {
		if b := getenv(v); b != "" {
			return "origin/" + b
		}
	}
	return "HEAD"
}

// Validate checks the flags.
func (o *DiffOptions) Validate() error {
	switch o.Output {
	case "text", "markdown", "json":
	default:
		return withCode(ExitFailure, fmt.Errorf("--output must be text, markdown or json, got %q", o.Output))
	}
	if o.Color != "auto" && o.Color != "always" && o.Color != "never" {
		return withCode(ExitFailure, fmt.Errorf("--color must be auto, always or never, got %q", o.Color))
	}
	if o.IgnorePreset != diff.PresetHelm && o.IgnorePreset != diff.PresetNone {
		return withCode(ExitFailure, fmt.Errorf("--ignore-preset must be %s or %s, got %q", diff.PresetHelm, diff.PresetNone, o.IgnorePreset))
	}
	if err := o.parseShard(); err != nil {
		return withCode(ExitFailure, err)
	}
	if o.Live && o.Base != "" {
		return withCode(ExitFailure, fmt.Errorf("--live compares the working tree (or --head) with the cluster: --base does not apply"))
	}
	if o.Repo.Git == nil && !o.Live {
		return withCode(ExitFailure, fmt.Errorf("%s is not a Git repository: diff needs a base revision", o.Repo.Root))
	}
	return nil
}

// Run compares and prints.
func (o *DiffOptions) Run(ctx context.Context) error {
	stop := o.showProgress(o.ErrOut, "rendering")
	defer stop()
	if o.Live {
		return o.runLive(ctx)
	}
	diffs, broken, err := o.revisions(ctx)
	stop()
	if err != nil {
		return withCode(ExitFailure, err)
	}
	// A root that did not render before the change either is warned of;
	// one the change breaks fails the run, after what the other roots do
	// is printed (always with -o json).
	var breaks []*diff.HeadError
	for _, b := range broken {
		if !b.Before {
			breaks = append(breaks, b)
		}
	}
	if len(breaks) == 0 || len(diffs) > 0 || o.Output == "json" {
		if err := o.print(diffs); err != nil {
			return withCode(ExitFailure, err)
		}
	}
	for _, b := range broken {
		if b.Before {
			fmt.Fprintf(o.ErrOut, "warning: %s (on the base side too: what the change does to it is not known)\n", safetext.Line(b.Error()))
		} else {
			fmt.Fprintf(o.ErrOut, "error: %s\n", safetext.Line(b.Error()))
		}
	}
	if len(breaks) > 0 {
		return withCode(ExitFailure, fmt.Errorf("%d roots do not render on the head side", len(breaks)))
	}
	if len(diffs) > 0 {
		return withCode(ExitFindings, nil)
	}
	return nil
}

func (o *DiffOptions) print(diffs []diff.RootDiff) error {
	switch o.Output {
	case "json":
		return diff.WriteJSON(o.Out, diffs)
	case "markdown":
		for i, part := range diff.Markdown(diffs, "kubectl gitops diff", diff.MarkdownLimit) {
			if i > 0 {
				fmt.Fprintln(o.Out, "<!-- next part -->")
			}
			if _, err := fmt.Fprint(o.Out, part); err != nil {
				return err
			}
		}
		return nil
	}
	color := o.Color == "always" || (o.Color == "auto" && isTerminal(o.Out))
	return diff.WriteText(o.Out, diffs, color)
}

// revisions renders both sides and compares them.
func (o *DiffOptions) revisions(ctx context.Context) ([]diff.RootDiff, []*diff.HeadError, error) {
	headTree, headCommit, err := o.TreeAt(o.Head)
	if err != nil {
		return nil, nil, err
	}
	baseHash, err := o.MergeBase(o.Base, headCommit)
	if err != nil {
		return nil, nil, err
	}
	c, err := o.Compare(ctx, workspace.Rev{Commit: baseHash}, headTree, o.dirs, diff.Options{Ignore: o.Ignore, Preset: o.IgnorePreset, Shard: o.shard})
	if err != nil {
		return nil, nil, err
	}
	warnUnsupported(o.ErrOut, c.Head, o.dirs)
	return c.Diffs, c.Broken, nil
}

// runLive renders the roots and compares them with the cluster.
func (o *DiffOptions) runLive(ctx context.Context) error {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return withCode(ExitFailure, fmt.Errorf("loading the kubeconfig: %w", err))
	}
	side, err := o.Render(ctx, o.Head, o.dirs, o.shard)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	results := side.Results
	if err := reportFailures(o.ErrOut, results); err != nil {
		return withCode(ExitFailure, err)
	}
	var liveRoots []live.Root
	for _, res := range results {
		r, err := live.FromResult(res)
		if err != nil {
			return withCode(ExitFailure, fmt.Errorf("%s: %w", res.Root, err))
		}
		liveRoots = append(liveRoots, r)
	}
	diffs, notes, err := live.Diff(ctx, cfg, liveRoots, live.Options{Ignore: o.Ignore, Preset: o.IgnorePreset, Secrets: render.SecretValues(results)})
	side.Engine.Trim()
	if err != nil {
		return withCode(ExitFailure, err)
	}
	for _, n := range notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	if err := o.print(diffs); err != nil {
		return withCode(ExitFailure, err)
	}
	if len(diffs) > 0 {
		return withCode(ExitFindings, nil)
	}
	return nil
}
