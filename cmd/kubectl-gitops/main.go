// Command kubectl-gitops is the kubectl gitops plugin.
package main

import (
	"context"
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/plugin"
)

func main() {
	// Pushes retry as the forges' API calls do; go-git only takes its
	// HTTP client process-wide.
	gitwrite.RetryHTTP(forge.DefaultRetry())
	cmd := plugin.NewCmdGitops(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	code, msg := plugin.ExitCode(plugin.RunInterruptible(context.Background(), cmd.ExecuteContext))
	if msg != "" {
		fmt.Fprintln(os.Stderr, "error:", msg)
	}
	os.Exit(code)
}
