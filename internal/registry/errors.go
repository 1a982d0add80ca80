package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// Kind classifies what went wrong with a repository.
type Kind uint8

// The kinds of Error.
const (
	KindOther Kind = iota
	// KindInvalid is a repository or reference that does not parse.
	KindInvalid
	// KindUnauthorized is an HTTP 401: no credentials, or wrong ones.
	KindUnauthorized
	// KindForbidden is an HTTP 403: credentials without access.
	KindForbidden
	// KindNotFound is an HTTP 404: no such repository, or tag.
	KindNotFound
	// KindRateLimited is an HTTP 429 that outlasted the retries.
	KindRateLimited
	// KindUnavailable is a 5xx answer or a network failure that outlasted
	// the retries.
	KindUnavailable
	// KindTimeout is a request that took longer than Options.Timeout.
	KindTimeout
	// KindCanceled is a context the caller canceled.
	KindCanceled
)

// Sentinel errors an *Error matches with errors.Is, one per kind.
var (
	ErrInvalid      = errors.New("invalid reference")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("denied")
	ErrNotFound     = errors.New("not found")
	ErrRateLimited  = errors.New("rate limited")
	ErrUnavailable  = errors.New("registry unavailable")
	ErrTimeout      = errors.New("timed out")
	ErrCanceled     = errors.New("canceled")
)

var sentinels = map[Kind]error{
	KindInvalid:      ErrInvalid,
	KindUnauthorized: ErrUnauthorized,
	KindForbidden:    ErrForbidden,
	KindNotFound:     ErrNotFound,
	KindRateLimited:  ErrRateLimited,
	KindUnavailable:  ErrUnavailable,
	KindTimeout:      ErrTimeout,
	KindCanceled:     ErrCanceled,
}

// Error is why one repository or reference could not be read. Its message
// names the repository and says what to check; it never holds credentials.
type Error struct {
	// Repository is the repository or reference as the caller gave it.
	Repository string
	Kind       Kind
	// Status is the last HTTP status the registry answered, 0 if none.
	Status int
	// Attempts is how many times the last HTTP request was sent.
	Attempts int
	// Timeout is the per-request timeout, for KindTimeout.
	Timeout time.Duration
	// Err is the underlying error.
	Err error
	// tag is set when Repository is a tag reference being resolved.
	tag bool
	// http is set when Repository is a URL read over plain HTTP, a Helm
	// chart repository's.
	http bool
}

// Error returns "<repository>: <what went wrong and what to check>".
func (e *Error) Error() string {
	return e.Repository + ": " + e.message()
}

func (e *Error) message() string {
	if e.http {
		switch e.Kind {
		case KindUnauthorized, KindForbidden:
			return fmt.Sprintf("HTTP %d %s: the repository refuses these credentials (the HelmRepository's secretRef)", e.Status, http.StatusText(e.Status))
		case KindNotFound:
			return "HTTP 404 Not Found"
		case KindUnavailable:
			if e.Status == 0 {
				return fmt.Sprintf("cannot reach the chart repository after %s: %s", attempts(e.Attempts), scrub(e.Err.Error()))
			}
		}
	}
	switch e.Kind {
	case KindInvalid:
		return "invalid name: " + scrub(e.Err.Error())
	case KindUnauthorized:
		return "unauthorized: authentication required (check docker login / credential helper)"
	case KindForbidden:
		return "denied: the credentials may not read this repository (check docker login / credential helper and the repository's access policy)"
	case KindNotFound:
		if e.tag {
			return "not found: no such tag or repository (check the image name and tag)"
		}
		return "not found: no such repository (check the image name)"
	case KindRateLimited:
		return fmt.Sprintf("rate limited: the registry still answered 429 Too Many Requests after %s", attempts(e.Attempts))
	case KindUnavailable:
		if e.Status != 0 {
			return fmt.Sprintf("registry error: HTTP %d %s after %s", e.Status, http.StatusText(e.Status), attempts(e.Attempts))
		}
		return fmt.Sprintf("cannot reach the registry after %s: %s", attempts(e.Attempts), scrub(e.Err.Error()))
	case KindTimeout:
		return fmt.Sprintf("timed out: no answer within %s", e.Timeout)
	case KindCanceled:
		return "canceled"
	}
	if e.Status != 0 {
		return fmt.Sprintf("HTTP %d %s: %s", e.Status, http.StatusText(e.Status), scrub(e.Err.Error()))
	}
	return scrub(e.Err.Error())
}

// Unreached says why a request that got no answer (KindUnavailable
// without a status, KindTimeout) did not reach its host, apart from the
// request: the network's error without the request's URL, with the
// attempts made. Every request to a host that is down reads alike.
func (e *Error) Unreached() string {
	if e.Kind == KindTimeout {
		return fmt.Sprintf("no answer within %s", e.Timeout)
	}
	cause := e.Err
	if ue := (*url.Error)(nil); errors.As(cause, &ue) {
		cause = ue.Err
	}
	return fmt.Sprintf("%s (after %s)", scrub(cause.Error()), attempts(e.Attempts))
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of the error's kind.
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Kind]
	return ok && s == target
}

// scrub removes what could be a credential from a message.
func scrub(s string) string { return (*redact.Redactor)(nil).String(s) }

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// statusOf returns the HTTP status of a registry error.
func statusOf(err error) (int, bool) {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode, true
	}
	return 0, false
}

// classify turns the error of reading repo into an *Error.
func classify(ctx context.Context, repo string, err error, st *httpretry.Counter, timeout time.Duration) *Error {
	e := &Error{Repository: repo, Err: err, Attempts: st.Attempts(), Timeout: timeout}
	if status, ok := statusOf(err); ok {
		e.Status = status
		switch {
		case status == http.StatusUnauthorized:
			e.Kind = KindUnauthorized
		case status == http.StatusForbidden:
			e.Kind = KindForbidden
		case status == http.StatusNotFound:
			e.Kind = KindNotFound
		case status == http.StatusTooManyRequests:
			e.Kind = KindRateLimited
		case status >= 500:
			e.Kind = KindUnavailable
		}
		return e
	}
	switch {
	case ctx.Err() != nil:
		e.Kind = KindCanceled
	case st.TimedOut() || errors.Is(err, context.DeadlineExceeded):
		e.Kind = KindTimeout
	case isNetwork(err):
		e.Kind = KindUnavailable
	}
	return e
}

func isNetwork(err error) bool {
	var nerr net.Error
	return errors.As(err, &nerr)
}
