// Package diag carries a problem together with where it is: a file of the
// repository, a line and a column. Every engine reports user-facing problems
// as an *Error, so each command can print "file:line: message" and pick the
// exit code without parsing messages.
package diag

import (
	"errors"
	"fmt"

	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// Error is a problem at a place in a file. File is relative to the
// repository root in slash form; Line and Column count from 1 and are 0 when
// unknown.
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
	// Err is the underlying cause, if any; it is not printed, Msg says it.
	Err error
}

func (e *Error) Error() string {
	return e.Where() + e.Msg
}

// Where returns "file:line:col: " with the parts that are known.
func (e *Error) Where() string {
	file := safetext.Text(e.File) // a name with a newline stays on its line
	switch {
	case e.File == "":
		return ""
	case e.Line == 0:
		return file + ": "
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: ", file, e.Line)
	}
	return fmt.Sprintf("%s:%d:%d: ", file, e.Line, e.Column)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error at file:line.
func Errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var d *Error
	ok := errors.As(err, &d)
	return d, ok
}
