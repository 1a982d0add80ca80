package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/live"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
	"github.com/kubectl-gitops/kubectl-gitops/internal/workspace"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// ImagesOptions are the options of `kubectl gitops images`.
type ImagesOptions struct {
	genericiooptions.IOStreams
	repoOptions
	publishOptions

	Path        string
	Output      string
	FromCluster bool
	Insecure    bool
	Concurrency int
	Timeout     time.Duration
	DryRun      bool

	config *genericclioptions.ConfigFlags
	path   string
	update bool
}

// NewCmdImages returns the images command and its list and update
// subcommands.
func NewCmdImages(streams genericiooptions.IOStreams, config *genericclioptions.ConfigFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Resolve $imagepolicy markers against the registries, as Flux's image automation would",
		Long: `Find the $imagepolicy markers of the repository, evaluate the ImagePolicies
they name against the tags in the registries with Flux's exact semantics,
and show or write the values Flux's image automation would commit.

The ImagePolicies and ImageRepositories are the ones the repository renders,
those of the repositories listed under fluxRepositories in .gitops.yaml, or,
with --from-cluster, the cluster's. Registry credentials come from the
docker config and its credential helpers (docker-credential-ecr-login for
ECR).`,
	}
	cmd.AddCommand(newImagesSub(streams, config, false), newImagesSub(streams, config, true))
	return cmd
}

func newImagesSub(streams genericiooptions.IOStreams, config *genericclioptions.ConfigFlags, update bool) *cobra.Command {
	o := &ImagesOptions{IOStreams: streams, config: config, update: update}
	cmd := &cobra.Command{
		Use:   "list [PATH]",
		Short: "Show every marker, its current value and the latest its policy selects",
		Example: examples(`  # What would Flux's image automation change?
  %[1]s images list

  # As JSON, policies read from the cluster
  %[1]s images list -o json --from-cluster`),
		Args: cobra.MaximumNArgs(1),
		RunE: runE(o),
	}
	if update {
		cmd.Use = "update [PATH]"
		cmd.Short = "Write the latest values into the marked fields, keeping every other byte"
		cmd.Long = `Write the values the policies select into the marked fields. Only the values'
bytes change: comments, quoting and layout stay. Writes are atomic, and a
file that changed since it was read is left alone.

With --commit the change is committed on a new branch instead (the working
tree is not touched), with the author and messageTemplate of the
ImageUpdateAutomation that covers the files; --push pushes it and --pr opens
or updates its pull request.

Exit status: 0 done (or nothing to do), 1 updates available (--dry-run),
2 an error.`
		cmd.Example = examples(`  # Show the change as a diff, exit 1 when there is one
  %[1]s images update --dry-run

  # Open a pull request with it
  %[1]s images update --pr`)
		cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print the change to the files and change nothing")
		o.publishOptions.addFlags(cmd.Flags())
	} else {
		cmd.Flags().StringVarP(&o.Output, "output", "o", "text", "output format: text or json")
	}
	o.repoOptions.addFlags(cmd.Flags())
	f := cmd.Flags()
	f.BoolVar(&o.FromCluster, "from-cluster", false, "read ImagePolicies and ImageRepositories from the cluster instead of the repository")
	f.BoolVar(&o.Insecure, "insecure", false, "allow plain-HTTP registries")
	f.IntVar(&o.Concurrency, "registry-concurrency", 8, "registries listed at once")
	f.DurationVar(&o.Timeout, "registry-timeout", 30*time.Second, "timeout of one registry request")
	config.AddFlags(f)
	return cmd
}

// Complete opens the repository and resolves the path.
func (o *ImagesOptions) Complete(_ *cobra.Command, args []string) error {
	if err := o.repoOptions.complete(o.ErrOut); err != nil {
		return withCode(ExitFailure, err)
	}
	o.path = "."
	if len(args) == 1 {
		p, err := o.RelPath(args[0])
		if err != nil {
			return withCode(ExitFailure, err)
		}
		o.path = p
	}
	o.publishOptions.complete()
	return nil
}

// Validate checks the flags.
func (o *ImagesOptions) Validate() error {
	if !o.update && o.Output != "text" && o.Output != "json" {
		return withCode(ExitFailure, fmt.Errorf("--output must be text or json, got %q", o.Output))
	}
	if o.DryRun && o.Commit {
		return withCode(ExitFailure, fmt.Errorf("--dry-run changes nothing: it cannot --commit, --push or --pr"))
	}
	if o.Concurrency < 1 {
		return withCode(ExitFailure, fmt.Errorf("--registry-concurrency must be at least 1"))
	}
	return nil
}

// Run lists or updates.
func (o *ImagesOptions) Run(ctx context.Context) error {
	r, err := o.resolve(ctx)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	for _, m := range r.Found.Malformed {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", m.Error())
	}
	for _, u := range r.Found.Unreadable {
		fmt.Fprintf(o.ErrOut, "warning: %v\n", u)
	}
	if !o.update {
		return o.list(r)
	}
	return o.apply(ctx, r)
}

func (o *ImagesOptions) resolve(ctx context.Context) (*workspace.Images, error) {
	q := workspace.ImageQuery{Path: o.path, Registry: registry.Options{
		Insecure:    o.Insecure,
		Concurrency: o.Concurrency,
		Timeout:     o.Timeout,
		Progress:    o.progress(),
	}}
	if o.FromCluster {
		objects, err := clusterImageObjects(ctx, o.config)
		if err != nil {
			return nil, err
		}
		q.Cluster = objects
	}
	r, err := o.Images(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, m := range r.MissingFluxRepositories {
		fmt.Fprintf(o.ErrOut, "warning: %s: fluxRepositories: %s is not there: its ImagePolicies are not known\n", validate.ConfigFile, m)
	}
	return r, nil
}

// progress draws "listing tags n/m" on stderr when it is a terminal.
func (o *ImagesOptions) progress() func(done, total int) {
	if !isTerminal(o.ErrOut) {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(o.ErrOut, "\rlisting tags %d/%d", done, total)
		if done == total {
			fmt.Fprint(o.ErrOut, "\r\x1b[K")
		}
	}
}

// markerJSON is one marker in `images list -o json`.
type markerJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Policy  string `json:"policy"`
	Field   string `json:"field"`
	Current string `json:"current"`
	Latest  string `json:"latest,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (o *ImagesOptions) list(r *workspace.Images) error {
	rows := make([]markerJSON, 0, len(r.Found.Markers))
	failed := 0
	for _, m := range r.Found.Markers {
		row := markerJSON{File: m.File, Line: m.Line, Policy: m.Policy.String(), Field: fieldName(m.Field), Current: m.Value}
		res := r.Resolution[m.Policy]
		if res.Err != nil {
			row.Error = res.Err.Error()
			failed++
		} else {
			row.Latest = res.Latest.Value(m.Field)
		}
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].File != rows[j].File {
			return rows[i].File < rows[j].File
		}
		return rows[i].Line < rows[j].Line
	})
	var err error
	if o.Output == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			Markers []markerJSON `json:"markers"`
		}{rows})
	} else {
		err = writeMarkerTable(o.Out, rows)
	}
	if err != nil {
		return withCode(ExitFailure, err)
	}
	if failed > 0 {
		return withCode(ExitFailure, fmt.Errorf("%d of %d markers could not be resolved", failed, len(rows)))
	}
	return nil
}

func fieldName(f markers.Field) string {
	if f == markers.FieldImage {
		return "image"
	}
	return string(f)
}

func writeMarkerTable(w io.Writer, rows []markerJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tLINE\tPOLICY\tFIELD\tCURRENT\tLATEST")
	for _, r := range rows {
		latest := r.Latest
		if r.Error != "" {
			latest = "error: " + r.Error
		} else if latest == r.Current {
			latest = "(current)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", safetext.Text(r.File), r.Line, safetext.Text(r.Policy), r.Field, safetext.Text(r.Current), safetext.Line(latest))
	}
	return tw.Flush()
}

// apply plans the rewrite and writes it, prints it, or publishes it.
func (o *ImagesOptions) apply(ctx context.Context, r *workspace.Images) error {
	for id, res := range r.Resolution {
		if res.Err != nil {
			fmt.Fprintf(o.ErrOut, "error: %s: %s\n", safetext.Text(id.String()), safetext.Line(res.Err.Error()))
		}
	}
	updates, err := r.Updates()
	if err != nil {
		return withCode(ExitFailure, err)
	}
	if len(updates) == 0 {
		fmt.Fprintln(o.ErrOut, "Nothing to update.")
		return o.resolutionErrors(r)
	}
	switch {
	case o.DryRun:
		for _, f := range workspace.Files(updates) {
			fmt.Fprint(o.Out, publish.FileDiff(f))
		}
		if err := o.resolutionErrors(r); err != nil {
			return err
		}
		return withCode(ExitFindings, nil)
	case o.Commit:
		spec, err := o.ImageCommit(ctx, r, updates, o.PR)
		if err != nil {
			return withCode(ExitFailure, err)
		}
		if err := o.publish(ctx, &o.repoOptions, o.ErrOut, spec); err != nil {
			return withCode(ExitFailure, err)
		}
	default:
		if err := publish.Write(o.Repo.Root, workspace.Files(updates)); err != nil {
			return withCode(ExitFailure, err)
		}
		for _, u := range updates {
			for _, c := range u.Changes {
				fmt.Fprintf(o.ErrOut, "%s:%d: %s -> %s\n", safetext.Text(c.File), c.Line, safetext.Text(c.Old), safetext.Text(c.New))
			}
		}
	}
	return o.resolutionErrors(r)
}

func (o *ImagesOptions) resolutionErrors(r *workspace.Images) error {
	for _, res := range r.Resolution {
		if res.Err != nil {
			return withCode(ExitFailure, fmt.Errorf("some policies could not be resolved"))
		}
	}
	return nil
}

// clusterImageObjects reads the cluster's ImagePolicies and
// ImageRepositories.
func clusterImageObjects(ctx context.Context, config *genericclioptions.ConfigFlags) ([]map[string]any, error) {
	cfg, err := config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	return live.ImageObjects(ctx, cfg)
}
