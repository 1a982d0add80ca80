package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	"github.com/kubectl-gitops/kubectl-gitops/internal/workspace"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// PromoteOptions are the options of `kubectl gitops promote`.
type PromoteOptions struct {
	genericiooptions.IOStreams
	repoOptions
	publishOptions

	From   string
	To     string
	Images []string
	DryRun bool
	Color  string

	from, to string // repository-relative
}

// NewCmdPromote returns the promote command.
func NewCmdPromote(streams genericiooptions.IOStreams) *cobra.Command {
	o := &PromoteOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "promote --from DIR --to DIR",
		Short: "Carry image versions from one environment's overlay to the next",
		Long: `Carry the image versions (tags and digests) of the --from overlay's images:
entries, $imagepolicy-marked fields and Helm values images into the --to
overlay: all images, or the ones named with --image. The target keeps its
own registry mapping, comments and layout; only the changed values move, and
an image the target does not have yet is added to its images: list.

Helm values images are those a HelmRelease patch's spec.values, or a values
file the overlay's configMapGenerator makes for a valuesFrom, set: an image
mapping's tag and digest (image.tag, controller.image.digest, ...) or a
whole reference at an image: key. They go to the target's values of the
same HelmRelease (or ConfigMap) at the same path.

The target is rendered and validated first: a promotion that breaks
validation is refused, with the findings. --dry-run prints the change to
the files and what it renders to, and changes nothing (exit 1 when there
is something to promote). --commit, --push and --pr publish it on a
gitops/promote/<env>/<hash> branch, never touching the working tree.`,
		Example: examples(`  # What would promoting development to test change?
  %[1]s promote --from deploy/kubernetes/overlays/development --to deploy/kubernetes/overlays/test --dry-run

  # Carry the images of the Helm values from staging to production
  %[1]s promote --from apps/staging --to apps/production --dry-run

  # Open the pull request for it
  %[1]s promote --from deploy/kubernetes/overlays/development --to deploy/kubernetes/overlays/test --pr`),
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	o.repoOptions.addFlags(cmd.Flags())
	o.publishOptions.addFlags(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "the overlay to take the versions from")
	f.StringVar(&o.To, "to", "", "the overlay to carry them into")
	f.StringSliceVar(&o.Images, "image", nil, "promote only this image (kustomize image name, repository, policy namespace:name, or the HelmRelease or generated ConfigMap whose values set it; repeatable)")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the change and change nothing")
	f.StringVar(&o.Color, "color", "auto", "colour the output: auto, always or never")
	return cmd
}

// Complete opens the repository and resolves the overlays.
func (o *PromoteOptions) Complete(_ *cobra.Command, _ []string) error {
	if err := o.repoOptions.complete(o.ErrOut); err != nil {
		return withCode(ExitFailure, err)
	}
	for _, p := range []struct {
		flag string
		in   string
		out  *string
	}{{"--from", o.From, &o.from}, {"--to", o.To, &o.to}} {
		if p.in == "" {
			return withCode(ExitFailure, fmt.Errorf("%s is required", p.flag))
		}
		rel, err := o.RelPath(p.in)
		if err != nil {
			return withCode(ExitFailure, err)
		}
		*p.out = rel
	}
	o.publishOptions.complete()
	return nil
}

// Validate checks the flags.
func (o *PromoteOptions) Validate() error {
	if o.from == o.to {
		return withCode(ExitFailure, fmt.Errorf("--from and --to are the same overlay"))
	}
	if o.DryRun && o.Commit {
		return withCode(ExitFailure, fmt.Errorf("--dry-run changes nothing: it cannot --commit, --push or --pr"))
	}
	if o.Color != "auto" && o.Color != "always" && o.Color != "never" {
		return withCode(ExitFailure, fmt.Errorf("--color must be auto, always or never, got %q", o.Color))
	}
	return nil
}

// Run plans the promotion, checks it, and prints, writes or publishes it.
func (o *PromoteOptions) Run(ctx context.Context) error {
	// A commit is made on top of HEAD; otherwise the promotion applies to
	// the working tree as it is.
	q := workspace.PromoteQuery{From: o.from, To: o.to, Images: o.Images}
	if o.Commit {
		q.Rev = "HEAD"
	}
	p, err := o.Promote(ctx, q)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	for _, s := range p.Plan.Skipped {
		fmt.Fprintf(o.ErrOut, "note: %s:%d: %s: %s\n", safetext.Text(s.File), s.Line, safetext.Text(s.Image), safetext.Line(s.Reason))
	}
	if len(p.Files) == 0 {
		fmt.Fprintln(o.ErrOut, "Nothing to promote: the target has the source's versions.")
		return nil
	}
	if o.DryRun {
		for _, d := range p.FileDiffs() {
			fmt.Fprint(o.Out, d)
		}
		fmt.Fprintln(o.Out)
		color := o.Color == "always" || (o.Color == "auto" && isTerminal(o.Out))
		if err := diff.WriteText(o.Out, p.Rendered, color); err != nil {
			return withCode(ExitFailure, err)
		}
		if p.Report.Failed() {
			fmt.Fprintln(o.ErrOut, "The promotion would break validation:")
			_ = validate.Write(o.ErrOut, p.Report, validate.FormatText, validate.WriteOptions{Version: version.Get().Version})
		}
		return withCode(ExitFindings, nil)
	}
	if p.Report.Failed() {
		_ = validate.Write(o.ErrOut, p.Report, validate.FormatText, validate.WriteOptions{Color: isTerminal(o.ErrOut), Version: version.Get().Version})
		return withCode(ExitFindings, fmt.Errorf("refused: promoting %s to %s breaks validation (findings above)", o.from, o.to))
	}
	if o.Commit {
		return withCodeIf(ExitFailure, o.publish(ctx, &o.repoOptions, o.ErrOut, p.Commit(o.PR)))
	}
	if err := publish.Write(o.Repo.Root, p.Files); err != nil {
		return withCode(ExitFailure, err)
	}
	for _, c := range p.Plan.Changes {
		fmt.Fprintf(o.ErrOut, "%s:%d: %s %s: %s -> %s\n", safetext.Text(c.File), c.Line, safetext.Text(c.Image), c.Field, safetext.Text(workspace.OrNone(c.Old)), safetext.Text(workspace.OrNone(c.New)))
	}
	return nil
}
