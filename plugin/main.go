package plugin

import (
	"context"
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
)

// Main runs kubectl gitops on the process's arguments and standard
// streams, as the plugin's binary does, and returns the exit code.
func Main() int {
	// Pushes retry as the forges' API calls do; go-git only takes its
	// HTTP client process-wide.
	gitwrite.RetryHTTP(forge.DefaultRetry())
	cmd := NewCmdGitops(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	code, msg := ExitCode(RunInterruptible(context.Background(), cmd.ExecuteContext))
	if msg != "" {
		fmt.Fprintln(os.Stderr, "error:", msg)
	}
	return code
}
