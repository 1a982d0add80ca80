package plugin

import (
	"errors"
	"fmt"

	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// Exit codes, as kubectl diff, flux diff and dyff use them.
const (
	// ExitFindings means the command ran and has something to report:
	// findings, differences or available updates.
	ExitFindings = 1
	// ExitError means the command could not do its job.
	ExitFailure = 2
)

// ExitError carries the exit code a command ends with. Err, when set, is
// printed by main; a nil Err means the command already said everything.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode returns an error that ends the command with code; err is printed
// unless nil.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// ExitCode maps an error returned by a command to the process's exit code
// and the message to print (empty when there is none), kept to one line.
func ExitCode(err error) (int, string) {
	code, msg := exitCode(err)
	return code, safetext.Line(msg)
}

func exitCode(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var stopped Interrupted
	if errors.As(err, &stopped) {
		return stopped.code(), stopped.Error()
	}
	var e *exitError
	if errors.As(err, &e) {
		if e.err == nil {
			return e.code, ""
		}
		return e.code, e.err.Error()
	}
	return ExitFailure, err.Error()
}

// withCodeIf is withCode for an error that may be nil.
func withCodeIf(code int, err error) error {
	if err == nil {
		return nil
	}
	return withCode(code, err)
}
