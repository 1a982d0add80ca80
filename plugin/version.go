package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
)

// VersionOptions are the options of `kubectl gitops version`.
type VersionOptions struct {
	genericiooptions.IOStreams
	Output string
}

// NewCmdVersion returns the version command.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version and the kustomize, Kubernetes and Flux libraries built in",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "text", "output format: text or json")
	return cmd
}

// Validate checks the flags.
func (o *VersionOptions) Validate() error {
	if o.Output != "text" && o.Output != "json" {
		return withCode(ExitFailure, fmt.Errorf("--output must be text or json, got %q", o.Output))
	}
	return nil
}

// Run prints the version.
func (o *VersionOptions) Run(context.Context) error {
	info := version.Get()
	if o.Output == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	commit := info.Commit
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(o.Out, "kubectl-gitops %s (commit %s, %s)\n", info.Version, commit, info.GoVersion)
	fmt.Fprintf(o.Out, "kustomize/api %s\n", info.Kustomize)
	fmt.Fprintf(o.Out, "k8s.io/client-go %s\n", info.Kubernetes)
	fmt.Fprintf(o.Out, "kustomize-controller/api %s\n", info.Flux)
	return nil
}
