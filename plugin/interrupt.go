package plugin

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// stopGrace is how long a command has to return once interrupted before
// RunInterruptible gives up on it: enough to finish writing a cache entry,
// short enough that Ctrl-C and a CI job's SIGTERM end the run within a
// second even inside a library call that never looks at the context.
const stopGrace = 500 * time.Millisecond

// Interrupted is the error of a run that SIGINT or SIGTERM ended; it exits
// with 128 plus the signal's number, as a shell reports a process the
// signal killed (130, 143).
type Interrupted struct{ Signal os.Signal }

func (e Interrupted) Error() string { return fmt.Sprintf("interrupted (%v)", e.Signal) }

func (e Interrupted) code() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return ExitFailure
}

// RunInterruptible runs run with a context that SIGINT and SIGTERM cancel.
// Once a signal arrives, run has stopGrace to return; the result is then
// Interrupted whatever run returned, and the caller exits at once. Cache
// entries are written to a temporary file and renamed, so stopping half-way
// through a write leaves no partial entry.
func RunInterruptible(parent context.Context, run func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	done := make(chan error, 1) // buffered: run may finish after we stopped waiting
	go func() { done <- run(ctx) }()
	select {
	case err := <-done:
		return err
	case sig := <-signals:
		stopped := Interrupted{Signal: sig}
		cancel(stopped)
		select {
		case <-done:
		case <-time.After(stopGrace):
		case <-signals: // a second signal: stop waiting
		}
		return stopped
	}
}
