// Command pgo is kubectl-gitops writing a CPU profile of its run into
// the folder GITOPS_PGO_PROFILES names, one file a process: hack/pgo.sh
// runs it on representative repositories and merges the profiles into
// cmd/kubectl-gitops/default.pgo, which go build optimizes the plugin with.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/kubectl-gitops/kubectl-gitops/plugin"
)

func main() {
	dir := os.Getenv("GITOPS_PGO_PROFILES")
	if dir == "" {
		fmt.Fprintln(os.Stderr, "pgo: GITOPS_PGO_PROFILES names no folder")
		os.Exit(2)
	}
	f, err := os.CreateTemp(dir, "cpu-*.pprof")
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgo:", err)
		os.Exit(2)
	}
	code := plugin.Main()
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "pgo: %s: %v\n", filepath.Base(f.Name()), err)
		code = 2
	}
	os.Exit(code)
}
