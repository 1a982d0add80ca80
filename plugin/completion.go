package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// completionShells are the shells `kubectl gitops completion` writes a script
// for, in the order help lists them.
func completionShells() []string { return []string{"bash", "zsh", "fish", "powershell"} }

// CompletionOptions are the options of `kubectl gitops completion`.
type CompletionOptions struct {
	genericiooptions.IOStreams
	Shell          string
	NoDescriptions bool

	root *cobra.Command
}

// NewCmdCompletion returns the completion command. Its scripts complete the
// plugin's binary, kubectl-gitops; completion of `kubectl gitops` goes
// through kubectl's own completion, which runs the kubectl_complete-gitops
// script shipped beside the binary.
func NewCmdCompletion(streams genericiooptions.IOStreams) *cobra.Command {
	o := &CompletionOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "completion " + strings.Join(completionShells(), "|"),
		Short: "Print the shell completion script for kubectl-gitops",
		Long: `Print the shell completion script for bash, zsh, fish or PowerShell.

The script completes the plugin's binary, kubectl-gitops, when it is run
directly. Through kubectl (1.26 or later), "kubectl gitops <TAB>" completes
with kubectl's own completion script loaded ("kubectl completion bash") and the
kubectl_complete-gitops script from the release archive on PATH: kubectl runs
it to ask the plugin for completions. krew installs only the plugin binary on
PATH, so copy the script next to it once (it calls kubectl-gitops from PATH,
so it outlives upgrades):

  cp "${KREW_ROOT:-$HOME/.krew}"/store/gitops/*/kubectl_complete-gitops "${KREW_ROOT:-$HOME/.krew}/bin/"`,
		Example: examples(`  # bash: load in the current shell, or install for every new one
  source <(%[1]s completion bash)
  %[1]s completion bash > /etc/bash_completion.d/kubectl-gitops

  # zsh (with compinit enabled)
  %[1]s completion zsh > "${fpath[1]}/_kubectl-gitops"

  # fish
  %[1]s completion fish > ~/.config/fish/completions/kubectl-gitops.fish

  # PowerShell
  %[1]s completion powershell | Out-String | Invoke-Expression`),
		ValidArgs:             completionShells(),
		Args:                  cobra.ExactArgs(1),
		DisableFlagsInUseLine: true,
		RunE:                  runE(o),
	}
	cmd.Flags().BoolVar(&o.NoDescriptions, "no-descriptions", false, "leave the commands' descriptions out of the completions")
	return cmd
}

// Complete takes the shell from the arguments and the command tree to write
// the script for from cmd.
func (o *CompletionOptions) Complete(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return withCode(ExitFailure, fmt.Errorf("completion needs one shell: %s", strings.Join(completionShells(), ", ")))
	}
	o.Shell, o.root = args[0], cmd.Root()
	return nil
}

// Validate checks the shell.
func (o *CompletionOptions) Validate() error {
	for _, s := range completionShells() {
		if o.Shell == s {
			return nil
		}
	}
	return withCode(ExitFailure, fmt.Errorf("unsupported shell %q: use one of %s", o.Shell, strings.Join(completionShells(), ", ")))
}

// Run writes the completion script to Out.
func (o *CompletionOptions) Run(context.Context) error {
	var err error
	desc := !o.NoDescriptions
	switch o.Shell {
	case "bash":
		err = o.root.GenBashCompletionV2(o.Out, desc)
	case "zsh":
		if desc {
			err = o.root.GenZshCompletion(o.Out)
		} else {
			err = o.root.GenZshCompletionNoDesc(o.Out)
		}
	case "fish":
		err = o.root.GenFishCompletion(o.Out, desc)
	case "powershell":
		if desc {
			err = o.root.GenPowerShellCompletionWithDesc(o.Out)
		} else {
			err = o.root.GenPowerShellCompletion(o.Out)
		}
	}
	if err != nil {
		return withCode(ExitFailure, fmt.Errorf("writing the %s completion script: %w", o.Shell, err))
	}
	return nil
}
