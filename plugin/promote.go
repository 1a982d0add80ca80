package plugin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/promote"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
	"github.com/kubectl-gitops/kubectl-gitops/internal/setters"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
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
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			defer o.finish()
			return o.Run(cmd.Context())
		},
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
	rev := ""
	if o.Commit {
		rev = "HEAD"
	}
	base, err := o.Repo.Tree(rev)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	from, err := promote.Read(base, o.from)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	to, err := promote.Read(base, o.to)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	plan, err := promote.Plan(from, to, o.Images)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(o.ErrOut, "note: %s:%d: %s: %s\n", safetext.Text(s.File), s.Line, safetext.Text(s.Image), safetext.Line(s.Reason))
	}
	if len(plan.Files) == 0 {
		fmt.Fprintln(o.ErrOut, "Nothing to promote: the target has the source's versions.")
		return nil
	}
	rendered, report, err := o.Change(ctx, base, plan.Files)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	fileDiffs := o.fileDiffs(base, plan)
	if o.DryRun {
		for _, d := range fileDiffs {
			fmt.Fprint(o.Out, d)
		}
		fmt.Fprintln(o.Out)
		color := o.Color == "always" || (o.Color == "auto" && isTerminal(o.Out))
		if err := diff.WriteText(o.Out, rendered, color); err != nil {
			return withCode(ExitFailure, err)
		}
		if report.Failed() {
			fmt.Fprintln(o.ErrOut, "The promotion would break validation:")
			_ = validate.Write(o.ErrOut, report, validate.FormatText, validate.WriteOptions{Version: version.Get().Version})
		}
		return withCode(ExitFindings, nil)
	}
	if report.Failed() {
		_ = validate.Write(o.ErrOut, report, validate.FormatText, validate.WriteOptions{Color: isTerminal(o.ErrOut), Version: version.Get().Version})
		return withCode(ExitFindings, fmt.Errorf("refused: promoting %s to %s breaks validation (findings above)", o.from, o.to))
	}
	if !o.Commit {
		return o.write(base, plan)
	}
	title := fmt.Sprintf("Promote %s to %s", strings.Join(promotedImages(plan), ", "), filepath.Base(o.to))
	var msg strings.Builder
	fmt.Fprintf(&msg, "%s\n\nFrom %s to %s:\n", title, o.from, o.to)
	for _, c := range plan.Changes {
		fmt.Fprintf(&msg, "- %s %s: %s -> %s\n", c.Image, c.Field, orNone(c.Old), orNone(c.New))
	}
	spec := publish.Change{
		Changes: plan.Files,
		Branch:  gitwrite.PromoteBranch(o.to, plan.Files),
		Message: msg.String(),
		Title:   title,
	}
	if o.PR {
		spec.Body = publish.Body(fmt.Sprintf("Promotes the image versions of `%s` to `%s`.", o.from, o.to), fileDiffs, rendered, report)
	}
	if err := o.publish(ctx, &o.repoOptions, o.ErrOut, spec); err != nil {
		return withCode(ExitFailure, err)
	}
	return nil
}

func (o *PromoteOptions) fileDiffs(base repo.Tree, plan promote.Result) []string {
	files := make([]string, 0, len(plan.Files))
	for f := range plan.Files {
		files = append(files, f)
	}
	sort.Strings(files)
	var out []string
	for _, f := range files {
		old, _ := base.ReadFile(f)
		out = append(out, fileDiff(f, old, plan.Files[f]))
	}
	return out
}

// write applies the promotion to the working tree, atomically, refusing a
// file that changed since it was read.
func (o *PromoteOptions) write(base repo.Tree, plan promote.Result) error {
	for f, data := range plan.Files {
		old, err := base.ReadFile(f)
		if err != nil {
			return withCode(ExitFailure, err)
		}
		abs := filepath.Join(o.Repo.Root, filepath.FromSlash(f))
		info, err := os.Stat(abs)
		if err != nil {
			return withCode(ExitFailure, err)
		}
		if err := setters.WriteAtomic(abs, old, data, info.Mode()); err != nil {
			return withCode(ExitFailure, fmt.Errorf("%s: %w", f, err))
		}
	}
	for _, c := range plan.Changes {
		fmt.Fprintf(o.ErrOut, "%s:%d: %s %s: %s -> %s\n", safetext.Text(c.File), c.Line, safetext.Text(c.Image), c.Field, safetext.Text(orNone(c.Old)), safetext.Text(orNone(c.New)))
	}
	return nil
}

func promotedImages(plan promote.Result) []string {
	var out []string
	for _, c := range plan.Changes {
		name := c.Image[strings.LastIndexByte(c.Image, '/')+1:]
		if !contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
