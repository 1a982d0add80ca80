package plugin

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progressDelay is how long a run goes before it shows its progress: a
// warm run ends well before.
const progressDelay = 2 * time.Second

// progress shows on w, when it is a terminal, how many roots and
// HelmReleases the run rendered, once the run passes progressDelay, every
// quarter of a second, on one line that stop clears.
type progress struct {
	count atomic.Int64
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// startProgress starts showing the progress of a run on w; nil when w is
// not a terminal.
func startProgress(w io.Writer, what string) *progress {
	if !isTerminal(w) {
		return nil
	}
	p := &progress{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		start := time.Now()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		shown := false
		for {
			select {
			case <-p.stop:
				if shown {
					fmt.Fprint(w, "\r\x1b[K")
				}
				return
			case <-tick.C:
				if time.Since(start) >= progressDelay {
					fmt.Fprintf(w, "\r%s: %d rendered", what, p.count.Load())
					shown = true
				}
			}
		}
	}()
	return p
}

// counter is what an engine counts its renders with; nil without
// progress.
func (p *progress) counter() *atomic.Int64 {
	if p == nil {
		return nil
	}
	return &p.count
}

// end clears the progress line; later calls do nothing.
func (p *progress) end() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		<-p.done
	})
}
