// Package plugin is the cobra command tree of kubectl gitops: one file per
// verb, each an XOptions struct with Complete, Validate and Run. Commands
// parse flags, call the engines under internal/ and print; engines never
// print.
package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// displayName is how help and examples name the plugin.
const displayName = "kubectl gitops"

// NewCmdGitops returns the root command.
func NewCmdGitops(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubectl-gitops",
		Short: "Render, validate and diff Flux GitOps repositories before they merge",
		Long: `kubectl gitops renders every kustomize overlay and Flux Kustomization of a
repository as the cluster would, from the working tree or any Git revision,
and checks, diffs and promotes what it renders, before Flux pulls it.`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: displayName,
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	config := genericclioptions.NewConfigFlags(true)
	cmd.AddCommand(
		NewCmdRender(streams),
		NewCmdValidate(streams),
		NewCmdDiff(streams, config),
		NewCmdHook(streams),
		NewCmdImages(streams, config),
		NewCmdPromote(streams),
		NewCmdCI(streams),
		NewCmdVersion(streams),
		NewCmdCompletion(streams),
	)
	return cmd
}

// options is what each verb's XOptions do, in kubectl's order: Complete
// fills in what the flags leave, Validate checks them, Run runs.
type options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runE is the RunE of a verb whose options are o. Options that open the
// repository also finish, once the verb has run or failed: they wait for
// what the run sends to the shared cache.
func runE(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if f, ok := o.(interface{ finish() }); ok {
			defer f.finish()
		}
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}

// examples fills the plugin's name into a command's examples.
func examples(s string) string { return fmt.Sprintf(s, displayName) }
