package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/ci"
	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// CIOptions are the options of `kubectl gitops ci`.
type CIOptions struct {
	genericiooptions.IOStreams
	repoOptions
	shardOptions

	PR         int
	Repo       string
	Server     string
	Provider   string
	Base       string
	DryRun     bool
	Output     string
	MaxComment int
	// From are the analyses of a CI matrix's shards to report on, instead
	// of analysing the pull request here.
	From []string
	// OutFile is where `ci analyze` writes, instead of standard output.
	OutFile string

	check       bool
	analyzeOnly bool
	job         ci.Job
	getenv      func(string) string
}

// NewCmdCI returns the ci command: the pull-request bot.
func NewCmdCI(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ci",
		Short: "The pull-request bot: comment the rendered diff and validation, set a check",
		Long: `Run in a CI job on a pull request (GitHub Actions, Gitea Actions or GitLab CI;
--pr and --repo override what the environment says). Both commands render and
validate the roots the pull request affects, between its merge-base with the
target branch and its head, reading the pull request's files only: kustomize
plugins, exec functions and remote bases never run, so a pull request from a
fork cannot run code in CI.`,
	}
	cmd.AddCommand(newCISub(streams, false), newCISub(streams, true), newCIAnalyze(streams))
	return cmd
}

// newCIAnalyze returns `ci analyze`: one job of a CI matrix.
func newCIAnalyze(streams genericiooptions.IOStreams) *cobra.Command {
	o := &CIOptions{IOStreams: streams, analyzeOnly: true, DryRun: true, MaxComment: diff.MarkdownLimit, getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Analyse the pull request, or one shard of its roots, as JSON for ci comment/check --from",
		Long: `Render and validate what the pull request affects, as ci comment and ci check
do, and print the analysis as JSON instead of reporting it. With --shard i/n
each job of a CI matrix takes one part of the roots; a last job passes every
part to ci comment --from and ci check --from, which post one comment, set
one status and print one SARIF log for the whole. Posts nothing: it needs no
forge token. Exit status 0 whatever it finds, 2 when it cannot run.`,
		Example: examples(`  # Three jobs of a matrix, then one that reports
  %[1]s ci analyze --shard 2/3 > analysis-2.json
  %[1]s ci comment --from analyses/
  %[1]s ci check --from analyses/ -o sarif > results.sarif`),
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	f := cmd.Flags()
	f.StringVarP(&o.Open.Dir, "chdir", "C", "", "run as if started in this directory")
	f.StringVar(&o.Base, "base", "", "the revision the pull request merges into (default origin/<its target branch>)")
	f.BoolVar(&o.Open.NoCache, "no-cache", false, "render every root again")
	f.IntVar(&o.Open.Jobs, "jobs", 2, "roots rendered at once")
	f.StringVar(&o.OutFile, "out", "", "write the analysis to this file instead of standard output")
	o.addShardFlag(f)
	return cmd
}

func newCISub(streams genericiooptions.IOStreams, check bool) *cobra.Command {
	o := &CIOptions{IOStreams: streams, check: check, getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "comment",
		Short: "Post (or update) one comment with the validation summary and the rendered diff",
		Long: `Post one comment on the pull request with the validation summary and the
rendered diff. Running again edits that comment (found by a hidden marker),
never posts a second; a diff longer than the forge's comment limit is split
into numbered comments, edited and deleted as the diff grows and shrinks.
--dry-run prints the comment instead, and exits 1 when it reports
validation errors or roots that do not render, as validate does.`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	if check {
		cmd.Use = "check"
		cmd.Short = "Set a commit status from the validation, and annotate the findings' lines"
		cmd.Long = `Validate the roots the pull request affects, set a commit status (success or
failure) on its head, and print the findings (-o github: workflow
annotations on their lines). Exit status as validate's: 0 no error, 1
findings of error severity, 2 could not run.`
		cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: text, json, sarif or github (default github in GitHub and Gitea Actions, else text)")
	}
	o.ciFlags(cmd)
	return cmd
}

func (o *CIOptions) ciFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.Open.Dir, "chdir", "C", "", "run as if started in this directory")
	f.IntVar(&o.PR, "pr", 0, "the pull request's number (default from the CI environment)")
	f.StringVar(&o.Repo, "repo", "", "the repository as owner/name (default from the CI environment)")
	f.StringVar(&o.Server, "server", "", "the forge's URL (default from the CI environment)")
	f.StringVar(&o.Provider, "provider", "", "the forge: github, gitlab or gitea (default from the CI environment)")
	f.StringVar(&o.Base, "base", "", "the revision the pull request merges into (default origin/<its target branch>)")
	f.BoolVar(&o.DryRun, "dry-run", false, "print what would be posted, and post nothing")
	f.IntVar(&o.MaxComment, "max-comment", diff.MarkdownLimit, "the forge's comment limit in characters")
	f.BoolVar(&o.Open.NoCache, "no-cache", false, "render every root again")
	f.IntVar(&o.Open.Jobs, "jobs", 2, "roots rendered at once")
	f.StringSliceVar(&o.From, "from", nil, "report the analyses `ci analyze --shard` wrote, files or folders of them (repeatable), instead of analysing here")
}

// Complete reads the CI environment and opens the repository.
func (o *CIOptions) Complete(_ *cobra.Command, _ []string) error {
	if err := o.complete(o.ErrOut); err != nil {
		return withCode(ExitFailure, err)
	}
	o.job, _ = ci.Detect(o.getenv, nil)
	if o.PR != 0 {
		o.job.PR = o.PR
	}
	if o.Repo != "" {
		o.job.Repo = o.Repo
	}
	if o.Server != "" {
		o.job.Server = strings.TrimSuffix(o.Server, "/")
	}
	if o.Provider != "" {
		o.job.Provider = o.Provider
	}
	if o.check && o.Output == "" {
		o.Output = validate.FormatText
		if o.getenv("GITHUB_ACTIONS") == "true" {
			o.Output = validate.FormatGitHub
		}
	}
	return nil
}

// Validate checks the flags and what the environment gave.
func (o *CIOptions) Validate() error {
	if err := o.parseShard(); err != nil {
		return withCode(ExitFailure, err)
	}
	if o.check && !slices.Contains(validate.Formats(), o.Output) {
		return withCode(ExitFailure, fmt.Errorf("--output must be one of %s", strings.Join(validate.Formats(), ", ")))
	}
	if o.Workspace.Repo.Git == nil {
		return withCode(ExitFailure, fmt.Errorf("%s is not a Git repository", o.Workspace.Repo.Root))
	}
	if !o.DryRun && (o.job.PR == 0 || o.job.Repo == "" || o.job.Server == "") {
		return withCode(ExitFailure, errors.New("no pull request to report on: run in a CI job on a pull request, or pass --pr, --repo and --server (or --dry-run)"))
	}
	if o.MaxComment < 4096 {
		return withCode(ExitFailure, fmt.Errorf("--max-comment must be at least 4096"))
	}
	return nil
}

// Run analyzes the pull request and reports.
func (o *CIOptions) Run(ctx context.Context) error {
	var f forge.Forge
	var pr forge.PR
	if !o.DryRun {
		var err error
		f, err = forge.Detect(o.job.Server+"/"+o.job.Repo+".git", o.job.Provider, o.getenv)
		if err != nil {
			return withCode(ExitFailure, err)
		}
		if pr, err = f.PullRequest(ctx, o.job.PR); err != nil {
			return withCode(ExitFailure, fmt.Errorf("reading pull request #%d: %w", o.job.PR, err))
		}
		if o.job.Base == "" {
			o.job.Base = pr.Base
		}
	}
	var a *ci.Analysis
	var err error
	if len(o.From) > 0 {
		var names []string
		var parts []*ci.Analysis
		if parts, names, err = ci.ReadAnalyses(o.From); err == nil {
			a, err = ci.Merge(parts, names)
		}
	} else {
		a, err = o.analyze(ctx)
	}
	if err != nil {
		return withCode(ExitFailure, err)
	}
	if o.analyzeOnly {
		data, err := json.MarshalIndent(a, "", " ")
		if err != nil {
			return withCode(ExitFailure, err)
		}
		data = append(data, '\n')
		if o.OutFile != "" {
			return withCodeIf(ExitFailure, ci.WriteFile(o.OutFile, data))
		}
		_, err = o.Out.Write(data)
		return withCodeIf(ExitFailure, err)
	}
	if o.check {
		return o.runCheck(ctx, f, pr, a)
	}
	return o.runComment(ctx, f, a)
}

// analyze renders and validates the roots the pull request affects,
// between its merge-base with the base and its head commit.
func (o *CIOptions) analyze(ctx context.Context) (*ci.Analysis, error) {
	base := o.Base
	if base == "" {
		base = "HEAD"
		if o.job.Base != "" {
			base = "origin/" + o.job.Base
		}
	}
	return o.Analyze(ctx, base, o.shard)
}

func (o *CIOptions) runComment(ctx context.Context, f forge.Forge, a *ci.Analysis) error {
	parts := ci.Comment(a, o.MaxComment)
	if o.DryRun {
		for i, p := range parts {
			if i > 0 {
				fmt.Fprintln(o.Out, "<!-- next comment -->")
			}
			fmt.Fprint(o.Out, p)
		}
		if a.Failed() {
			// As validate would: the comment it prints says the check fails.
			return withCode(ExitFindings, nil)
		}
		return nil
	}
	return withCodeIf(ExitFailure, ci.Post(ctx, f, o.job.PR, parts, func(act ci.Action) {
		fmt.Fprintf(o.ErrOut, "%sd a comment on #%d\n", strings.TrimSuffix(act.Op, "e"), o.job.PR)
	}))
}

func (o *CIOptions) runCheck(ctx context.Context, f forge.Forge, pr forge.PR, a *ci.Analysis) error {
	if err := validate.Write(o.Out, a.Report, o.Output, validate.WriteOptions{Color: isTerminal(o.Out), Version: version.Get().Version}); err != nil {
		return withCode(ExitFailure, err)
	}
	failed := a.Failed()
	for _, b := range a.Broken {
		fmt.Fprintf(o.ErrOut, "error: %s\n", safetext.Line(b.String()))
	}
	if !o.DryRun {
		st := ci.Status(a)
		sha := pr.HeadSHA
		if sha == "" {
			sha = a.Head
		}
		if err := f.SetStatus(ctx, sha, st); err != nil {
			if !errors.Is(err, forge.ErrUnsupported) {
				return withCode(ExitFailure, fmt.Errorf("setting the status of %s: %w", sha, err))
			}
			fmt.Fprintf(o.ErrOut, "warning: %v\n", err)
		}
	}
	if failed {
		return withCode(ExitFindings, nil)
	}
	return nil
}
