package plugin

import (
	"os"
	"runtime/debug"
)

// TuneGC trades memory for speed: rendering allocates many short-lived
// YAML nodes, and the collector's default pacing spends a third of a cold
// render collecting them. A soft limit keeps the heap well under 500 MB on
// any repository. GOGC and GOMEMLIMIT set by the user win.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(400 << 20)
	}
}
