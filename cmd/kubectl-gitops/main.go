// Command kubectl-gitops is the kubectl gitops plugin.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	_ "github.com/kubectl-gitops/kubectl-gitops/internal/startup" // before the packages it tunes
	"github.com/kubectl-gitops/kubectl-gitops/plugin"
)

func main() {
	plugin.TuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, msg := plugin.ExitCode(plugin.NewCmdGitops(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}).ExecuteContext(ctx))
	stop()
	if msg != "" {
		fmt.Fprintln(os.Stderr, "error:", msg)
	}
	os.Exit(code)
}
