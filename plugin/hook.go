package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/hooks"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// HookOptions are the options of `kubectl gitops hook`.
type HookOptions struct {
	genericiooptions.IOStreams
	repoOptions

	Hook  hooks.Hook
	Files []string
	Color string

	files []string // repository-relative
}

// NewCmdHook returns the hook command, the entry point of the pre-commit
// hooks in .pre-commit-hooks.yaml.
func NewCmdHook(streams genericiooptions.IOStreams) *cobra.Command {
	o := &HookOptions{IOStreams: streams}
	var list string
	for _, h := range hooks.All() {
		list += fmt.Sprintf("  %-16s %s\n", h.ID, h.Description)
	}
	cmd := &cobra.Command{
		Use:   "hook NAME [FILE...]",
		Short: "Run a pre-commit hook on the staged files",
		Long: `Run one of the pre-commit hooks this repository ships in .pre-commit-hooks.yaml.
pre-commit passes the staged files; the hook checks the render roots that
read one of them, and the files themselves, as the commit will hold them:
from Git's index, so an unstaged edit or a file never added counts for
nothing.

Hooks:
` + list,
		Example: examples(`  # .pre-commit-config.yaml of a GitOps repository
  #   repos:
  #   - repo: https://github.com/kubectl-gitops/kubectl-gitops
  #     rev: v0.1.0
  #     hooks:
  #     - id: gitops-validate

  # Run a hook by hand on some files
  %[1]s hook gitops-validate deploy/kubernetes/overlays/development/kustomization.yaml`),
		Args: cobra.MinimumNArgs(1),
		RunE: runE(o),
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.Color, "color", "auto", "colour the output: auto, always or never")
	return cmd
}

// Complete finds the hook and the repository, and resolves the files.
func (o *HookOptions) Complete(_ *cobra.Command, args []string) error {
	h, err := hooks.Lookup(args[0])
	if err != nil {
		return withCode(ExitFailure, err)
	}
	o.Hook, o.Files = h, args[1:]
	// A commit never waits on the network: a chart not in the cache is a
	// warning naming it.
	o.Open.Offline = true
	if err := o.complete(o.ErrOut); err != nil {
		return withCode(ExitFailure, err)
	}
	o.files, err = o.RelPaths(o.Files)
	return withCodeIf(ExitFailure, err)
}

// Validate checks the flags.
func (o *HookOptions) Validate() error {
	if o.Color != "auto" && o.Color != "always" && o.Color != "never" {
		return withCode(ExitFailure, fmt.Errorf("--color must be auto, always or never, got %q", o.Color))
	}
	return nil
}

// Run checks and prints the findings; a commit with error findings fails.
func (o *HookOptions) Run(ctx context.Context) error {
	if len(o.files) == 0 {
		return nil
	}
	report, err := o.CheckStaged(ctx, o.files, o.Hook.Rules)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	color := o.Color == "always" || (o.Color == "auto" && isTerminal(o.Out))
	if len(report.Findings) > 0 || report.Failed() {
		if err := validate.Write(o.Out, report, validate.FormatText, validate.WriteOptions{Color: color, Version: version.Get().Version}); err != nil {
			return withCode(ExitFailure, err)
		}
	}
	if report.Failed() {
		return withCode(ExitFindings, nil)
	}
	return nil
}
