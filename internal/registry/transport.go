package registry

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// retryTransport sends each request with a timeout and retries it, with
// exponential backoff, when the registry answers 429 or a 5xx status or the
// network fails. It honours Retry-After up to maxBackoff.
type retryTransport struct {
	next       http.RoundTripper
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
	timeout    time.Duration
	sleep      func(ctx context.Context, d time.Duration) error
}

// retryable tells whether an HTTP status asks to try again later.
func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusRequestTimeout,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RoundTrip sends req, retrying it as the transport is configured.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	st := statsFrom(parent)
	for attempt := 0; ; attempt++ {
		r, cancel, err := t.prepare(req, attempt)
		if err != nil {
			return nil, err
		}
		if st != nil {
			st.attempts.Store(int32(attempt + 1))
		}
		resp, err := t.next.RoundTrip(r)
		if err == nil && !retryable(resp.StatusCode) {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		if err != nil && r.Context().Err() == context.DeadlineExceeded && parent.Err() == nil && st != nil {
			st.timedOut.Store(true)
		}
		last := attempt >= t.retries || parent.Err() != nil || (err != nil && permanent(err)) ||
			(req.Body != nil && req.GetBody == nil)
		wait := t.wait(attempt, resp)
		if !last && wait > t.maxBackoff {
			last = true // the registry asks for longer than we wait
		}
		if last {
			if err != nil {
				cancel()
				return nil, err
			}
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		cancel()
		if err := t.sleep(parent, wait); err != nil {
			return nil, err
		}
	}
}

// prepare returns the request for one attempt, with its own timeout.
func (t *retryTransport) prepare(req *http.Request, attempt int) (*http.Request, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	r := req.Clone(ctx)
	if attempt > 0 && req.Body != nil {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, nil, err
		}
		r.Body = body
	}
	return r, cancel, nil
}

// wait returns how long to wait before the attempt after attempt: what
// Retry-After asks for, or the exponential backoff with some jitter.
func (t *retryTransport) wait(attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return d
		}
	}
	d := t.backoff << min(attempt, 20)
	if d <= 0 || d > t.maxBackoff {
		d = t.maxBackoff
	}
	// Up to 20% less, so that clients rate-limited together do not retry
	// together.
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// cancelBody releases a request's timeout once its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and releases the request's timeout.
func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
