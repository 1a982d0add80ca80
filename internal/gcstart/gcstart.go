// Package gcstart paces the garbage collector while the program's packages
// initialize. The Kubernetes, CEL and AWS packages linked in allocate ~6 MB
// in their init functions, almost none of it garbage, and the default
// pacing collects twice on the way: ~10% of a short run such as a
// pre-commit hook. Imported for its side effect by the command's main
// package, it runs before those packages, which Go initializes in import
// path order once their own imports are ready; main then sets the pacing
// of the run itself (plugin.TuneGC).
package gcstart

import (
	"os"
	"runtime/debug"
)

func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
}

// Percent is the collector's target while packages initialize.
const Percent = 800
