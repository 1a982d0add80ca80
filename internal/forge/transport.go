package forge

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry is the retry policy of forge calls.
type Retry struct {
	// Attempts is the most times one call is sent; at least 1.
	Attempts int
	// Backoff is the first wait; it doubles after each attempt.
	Backoff time.Duration
	// MaxWait caps one wait, Retry-After included: a forge asking to wait
	// longer gets the error at once.
	MaxWait time.Duration
	// Sleep waits d or until ctx ends; nil sleeps on a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry is the policy of the commands: 4 attempts, waits of 1s, 2s,
// 4s, none longer than a minute.
func DefaultRetry() Retry {
	return Retry{Attempts: 4, Backoff: time.Second, MaxWait: time.Minute}
}

// idempotentKey marks a request context whose POST may be repeated.
type idempotentKey struct{}

// idempotent marks ctx's POST requests as safe to repeat (setting a status,
// adding a label): repeating them changes nothing.
func idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// attemptsHeader is set on the response by the transport, so errors can tell
// how many times a call was sent.
const attemptsHeader = "X-Kubectl-Gitops-Attempts"

// retryTransport repeats a request on 429 always and on 500, 502, 503 and
// 504 when it is safe to repeat: a GET, HEAD, PUT, PATCH or DELETE, or a POST
// marked idempotent. A POST that creates something (a pull request, a
// comment) is not repeated on a 5xx: it may have been done.
type retryTransport struct {
	base  http.RoundTripper
	retry Retry
}

func newRetryTransport(base http.RoundTripper, r Retry) *retryTransport {
	if base == nil {
		base = http.DefaultTransport
	}
	if r.Attempts < 1 {
		r.Attempts = 1
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	return &retryTransport{base: base, retry: r}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	safe := req.Method != http.MethodPost || ctx.Value(idempotentKey{}) != nil
	// Keep the body to send it again.
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	wait := t.retry.Backoff
	for attempt := 1; ; attempt++ {
		r := req.Clone(ctx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.ContentLength = int64(len(body))
		}
		resp, err := t.base.RoundTrip(r)
		last := attempt >= t.retry.Attempts
		if err != nil {
			if last || !safe || ctx.Err() != nil {
				return nil, err
			}
		} else {
			d, retry := t.shouldRetry(resp, safe, wait)
			if !retry || last {
				resp.Header.Set(attemptsHeader, strconv.Itoa(attempt))
				return resp, nil
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			wait = d
		}
		if err := t.retry.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait *= 2
	}
}

// shouldRetry tells whether resp is worth another attempt, and after how
// long.
func (t *retryTransport) shouldRetry(resp *http.Response, safe bool, wait time.Duration) (time.Duration, bool) {
	limited := resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0")
	switch {
	case limited:
	case safe && (resp.StatusCode == 500 || resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504):
	default:
		return 0, false
	}
	if d, ok := retryAfter(resp.Header, time.Now()); ok {
		wait = d
	}
	if t.retry.MaxWait > 0 && wait > t.retry.MaxWait {
		return 0, false
	}
	return wait, true
}

// retryAfter reads Retry-After (seconds or an HTTP date), or GitHub's and
// GitLab's rate-limit reset time.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(now), 0), true
		}
	}
	for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		if v := h.Get(k); v != "" && h.Get("X-RateLimit-Remaining") == "0" {
			if s, err := strconv.ParseInt(v, 10, 64); err == nil {
				return max(time.Unix(s, 0).Sub(now), 0), true
			}
		}
	}
	return 0, false
}

// attempts reads how many times the transport sent the call of resp.
func attempts(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	n, _ := strconv.Atoi(resp.Header.Get(attemptsHeader))
	return n
}
