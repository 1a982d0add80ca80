package forge

import (
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
)

// Retry is the retry policy of forge calls. A POST that creates something
// (a pull request, a comment) is not sent again after a failure or a 5xx
// answer, as it may have been done; setting a status or adding labels is
// (httpretry.MarkIdempotent).
type Retry = httpretry.Policy

// DefaultRetry is the policy of the commands: 4 attempts, waits of 1s, 2s,
// 4s, none longer than a minute.
func DefaultRetry() Retry {
	return Retry{Attempts: 4, Backoff: time.Second, MaxWait: time.Minute}
}
