// Package startup tunes the Go runtime's memory for a command that runs a
// fraction of a second, before the packages linked into it initialize.
// Imported for its side effect by the command's main package, it runs
// before about half of them, the Kubernetes ones among them: Go
// initializes packages in import path order once their own imports are
// ready. main then sets the pacing of the run itself (plugin.TuneGC).
//
// Two things make such a run slow that a long one does not notice. The
// Kubernetes, CEL and AWS packages allocate ~6 MB in their init functions,
// almost none of it garbage, and the default pacing collects twice on the
// way: ~10% of a pre-commit hook. And the heap's memory arrives one 4 KB
// page fault at a time: package hugepages asks for 2 MB pages, earlier
// than this package can run.
package startup

import (
	"os"
	"runtime/debug"

	_ "github.com/kubectl-gitops/kubectl-gitops/internal/hugepages" // the heap on huge pages
)

func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
}

// Percent is the collector's target while packages initialize.
const Percent = 800
