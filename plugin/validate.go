package plugin

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	"github.com/kubectl-gitops/kubectl-gitops/internal/workspace"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// ValidateOptions are the options of `kubectl gitops validate`.
type ValidateOptions struct {
	genericiooptions.IOStreams
	repoOptions
	shardOptions

	Paths             []string
	All               bool
	Ref               string
	Output            string
	KubernetesVersion string
	CRDs              []string
	Color             string
	Rules             []string

	paths []string // repository-relative
}

// NewCmdValidate returns the validate command.
func NewCmdValidate(streams genericiooptions.IOStreams) *cobra.Command {
	o := &ValidateOptions{IOStreams: streams}
	var ids []string
	for _, r := range validate.Rules() {
		ids = append(ids, fmt.Sprintf("  %-20s %-8s %s", r.ID, r.Severity, r.Description))
	}
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check overlays, Flux objects and image markers before they merge",
		Long: `Render the roots at or under each PATH (the current directory by default,
the whole repository with --all) and check what they render and the files
they read. Every finding names the file and line to fix.

Rules (set to off, warning or error in .gitops.yaml under "rules:", or on one
object with the annotation ` + validate.RulesAnnotation + `: "rule=off,rule=warning"):
` + strings.Join(ids, "\n") + `

Exit status: 0 no error, 1 findings of error severity, 2 could not run.`,
		Example: examples(`  # Check the whole repository
  %[1]s validate --all

  # Check one overlay against Kubernetes 1.33, with extra CRDs
  %[1]s validate deploy/kubernetes/overlays/prod --kubernetes-version v1.33 --crds ./crds

  # Annotate a pull request in GitHub Actions
  %[1]s validate --all -o github`),
		RunE: runE(o),
	}
	o.addFlags(cmd.Flags())
	f := cmd.Flags()
	f.BoolVar(&o.All, "all", false, "check every root and file of the repository, wherever the command runs")
	f.StringVar(&o.Ref, "ref", "", "check the repository at this Git revision instead of the working tree")
	f.StringVarP(&o.Output, "output", "o", validate.FormatText, "output format: "+strings.Join(validate.Formats(), ", "))
	f.StringVar(&o.KubernetesVersion, "kubernetes-version", "", "the cluster's Kubernetes version, for schemas and API removals (default: .gitops.yaml's, else the built-in schemas' newest)")
	f.StringSliceVar(&o.CRDs, "crds", nil, "a directory or file of CustomResourceDefinitions to validate custom resources against (repeatable)")
	f.StringVar(&o.Color, "color", "auto", "colour the text output: auto, always or never")
	f.StringSliceVar(&o.Rules, "rule", nil, "run only these rules (repeatable)")
	o.addShardFlag(f)
	return cmd
}

// Complete opens the repository and resolves the paths.
func (o *ValidateOptions) Complete(_ *cobra.Command, args []string) error {
	if err := o.complete(o.ErrOut); err != nil {
		return withCode(ExitFailure, err)
	}
	paths, err := o.RelPaths(args, o.Cwd)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	o.Paths, o.paths = args, paths
	if o.All {
		o.paths = []string{"."}
	}
	return nil
}

// Validate checks the flags.
func (o *ValidateOptions) Validate() error {
	if !slices.Contains(validate.Formats(), o.Output) {
		return withCode(ExitFailure, fmt.Errorf("--output must be one of %s, got %q", strings.Join(validate.Formats(), ", "), o.Output))
	}
	if o.Color != "auto" && o.Color != "always" && o.Color != "never" {
		return withCode(ExitFailure, fmt.Errorf("--color must be auto, always or never, got %q", o.Color))
	}
	known := map[string]bool{}
	for _, r := range validate.Rules() {
		known[r.ID] = true
	}
	for _, id := range o.Rules {
		if !known[id] {
			return withCode(ExitFailure, fmt.Errorf("--rule: unknown rule %q", id))
		}
	}
	if err := o.parseShard(); err != nil {
		return withCode(ExitFailure, err)
	}
	return nil
}

// Run renders, checks and prints.
func (o *ValidateOptions) Run(ctx context.Context) error {
	stop := o.showProgress(o.ErrOut, "validating")
	report, err := o.check(ctx)
	stop()
	if err != nil {
		return withCode(ExitFailure, err)
	}
	err = validate.Write(o.Out, report, o.Output, validate.WriteOptions{Color: o.useColor(), Version: version.Get().Version})
	if err != nil {
		return withCode(ExitFailure, err)
	}
	if report.Failed() {
		return withCode(ExitFindings, nil)
	}
	return nil
}

func (o *ValidateOptions) check(ctx context.Context) (*validate.Report, error) {
	tree, err := o.Tree(o.Ref)
	if err != nil {
		return nil, err
	}
	return o.Check(ctx, tree, workspace.Scope{Paths: o.paths, All: o.All, Shard: o.shard}, workspace.Settings{
		KubernetesVersion: o.KubernetesVersion,
		CRDPaths:          o.CRDs,
		Rules:             o.Rules,
	})
}

// useColor tells whether text output is coloured: on a terminal, unless
// NO_COLOR is set.
func (o *ValidateOptions) useColor() bool {
	switch o.Color {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(o.Out)
}

// isTerminal tells whether w is a terminal and colour is welcome there.
func isTerminal(w any) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
