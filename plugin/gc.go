package plugin

import (
	"os"
	"runtime/debug"
	"time"
)

// TuneGC paces the collector for the run's size. A short run (a hook, a
// warm diff) is fastest with the default pacing: its heap stays small and
// warm in cache. A long one (a cold render of hundreds of roots) allocates
// many short-lived YAML nodes, and the default pacing spends a third of it
// collecting them; after longRun the collector runs four times less often.
// A soft limit keeps the heap well under 500 MB on any repository. GOGC
// and GOMEMLIMIT set by the user win.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(100) // from startup's, for packages' init
		time.AfterFunc(longRun, func() { debug.SetGCPercent(400) })
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(400 << 20)
	}
}

// longRun is when a run counts as long.
const longRun = 300 * time.Millisecond
