// Command kubectl-gitops is the kubectl gitops plugin.
//
// go build optimizes it with default.pgo, a CPU profile of its runs that
// hack/pgo.sh writes.
package main

import (
	"os"

	"github.com/kubectl-gitops/kubectl-gitops/plugin"
)

func main() { os.Exit(plugin.Main()) }
