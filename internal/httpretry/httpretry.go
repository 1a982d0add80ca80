// Package httpretry is the HTTP transport every client of the tool sends
// its requests through when a server may ask it to come back later: the
// forges' APIs, container registries and chart repositories, the shared
// render cache. It repeats a request, with exponential backoff, when the
// server says it is busy (429 Too Many Requests, GitHub's exhausted rate
// limit) and, for a request that is safe to repeat, when it fails (408,
// 500, 502, 503, 504, a network error that may pass), honouring
// Retry-After and the forges' rate-limit reset headers. How many times a
// request was sent is kept where the caller's errors can say it:
// Attempts(resp), or a Counter put in the request's context.
package httpretry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Policy says how often and how long a Transport retries.
type Policy struct {
	// Attempts is the most times one request is sent; less than 1 is 1.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles after
	// each, up to MaxWait.
	Backoff time.Duration
	// MaxWait caps each wait; a server asking to wait longer (Retry-After,
	// a rate-limit reset) gets its answer back at once. 0 is no cap.
	MaxWait time.Duration
	// Jitter takes up to this fraction off each backoff wait (never off a
	// wait the server asked for), so that clients limited together do not
	// come back together: 0.2 is up to 20% less.
	Jitter float64
	// Timeout bounds each attempt, from sending the request to reading
	// the body of its answer; 0 is none.
	Timeout time.Duration
	// Repeatable tells whether a request may be sent again after a
	// failure or a 5xx answer, which may have left its work done; nil is
	// Idempotent. A request whose body cannot be read again (no GetBody)
	// is never sent twice.
	Repeatable func(*http.Request) bool
	// Sleep waits d or until ctx ends; nil sleeps on a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Transport sends requests through Base with the retries of Policy.
type Transport struct {
	// Base sends each attempt; nil is http.DefaultTransport.
	Base http.RoundTripper
	Policy
}

type idempotentKey struct{}

// MarkIdempotent marks the POST requests of ctx as safe to repeat (setting
// a status, adding a label): sending them twice changes nothing.
func MarkIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// Idempotent tells whether req is safe to repeat: any method but POST, or
// a POST whose context is marked with MarkIdempotent.
func Idempotent(req *http.Request) bool {
	return req.Method != http.MethodPost || req.Context().Value(idempotentKey{}) != nil
}

// Counter records how the requests of one operation went: how many times
// the latest was sent, and whether an attempt ran out of its Timeout.
type Counter struct {
	attempts atomic.Int32
	timedOut atomic.Bool
}

type counterKey struct{}

// WithCounter returns ctx with a new Counter that the Transport updates
// for the requests sent with it.
func WithCounter(ctx context.Context) (context.Context, *Counter) {
	c := &Counter{}
	return context.WithValue(ctx, counterKey{}, c), c
}

// Attempts is how many times the latest request was sent.
func (c *Counter) Attempts() int { return int(c.attempts.Load()) }

// TimedOut tells whether an attempt ran past the Transport's Timeout.
func (c *Counter) TimedOut() bool { return c.timedOut.Load() }

func counterOf(ctx context.Context) *Counter {
	c, _ := ctx.Value(counterKey{}).(*Counter)
	return c
}

// Attempts returns how many times the request resp answers was sent, or 0
// when resp did not come through a Transport.
func Attempts(resp *http.Response) int {
	if resp == nil || resp.Request == nil {
		return 0
	}
	if c := counterOf(resp.Request.Context()); c != nil {
		return c.Attempts()
	}
	return 0
}

// RoundTrip sends req, again as the policy allows.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	sleep := t.Sleep
	if sleep == nil {
		sleep = sleepTimer
	}
	repeatable := t.Repeatable
	if repeatable == nil {
		repeatable = Idempotent
	}
	parent := req.Context()
	counter := counterOf(parent)
	if counter == nil {
		// One the caller can read from the answer: Attempts(resp).
		var ctx context.Context
		ctx, counter = WithCounter(parent)
		req = req.WithContext(ctx)
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	safe := repeatable(req) && replayable
	backoff := t.Backoff
	for attempt := 1; ; attempt++ {
		r, cancel, err := t.prepare(req, attempt)
		if err != nil {
			return nil, err
		}
		counter.attempts.Store(int32(attempt))
		resp, err := base.RoundTrip(r)
		if err != nil && r.Context().Err() == context.DeadlineExceeded && parent.Err() == nil {
			counter.timedOut.Store(true)
		}
		last := attempt >= t.Attempts || parent.Err() != nil
		var wait time.Duration
		if err != nil {
			if last || !safe || permanent(err) {
				cancel()
				return nil, err
			}
			wait = t.jittered(backoff)
		} else {
			d, again := t.again(resp, safe, t.jittered(backoff))
			if !again || last || !replayable {
				resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
				return resp, nil
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
			wait = d
		}
		cancel()
		if err := sleep(parent, wait); err != nil {
			return nil, err
		}
		backoff *= 2
		if t.MaxWait > 0 && backoff > t.MaxWait {
			backoff = t.MaxWait
		}
	}
}

// prepare returns the request for one attempt: its own timeout, and its
// body again after the first.
func (t *Transport) prepare(req *http.Request, attempt int) (*http.Request, context.CancelFunc, error) {
	ctx, cancel := req.Context(), context.CancelFunc(func() {})
	if t.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
	}
	r := req.Clone(ctx)
	if attempt > 1 && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, nil, err
		}
		r.Body = body
	}
	return r, cancel, nil
}

// again tells whether resp is worth another attempt, and after how long:
// what the server asks for, else backoff.
func (t *Transport) again(resp *http.Response, safe bool, backoff time.Duration) (time.Duration, bool) {
	limited := resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0")
	switch {
	case limited:
	case safe && retryable(resp.StatusCode):
	default:
		return 0, false
	}
	d, asked := RetryAfter(resp.Header, time.Now())
	if !asked {
		return backoff, true
	}
	if t.MaxWait > 0 && d > t.MaxWait {
		return 0, false
	}
	return d, true
}

// retryable tells whether a status says the server failed this time.
func retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (t *Transport) jittered(d time.Duration) time.Duration {
	if t.Jitter <= 0 || d <= 0 {
		return d
	}
	return d - time.Duration(rand.Int64N(int64(float64(d)*t.Jitter)+1))
}

// RetryAfter reads how long a server asks to wait: Retry-After (seconds or
// an HTTP date), or, when the rate limit is spent, GitHub's
// X-RateLimit-Reset and GitLab's RateLimit-Reset time.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
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

// permanent tells whether a transport error will not pass by trying
// again: an unknown host, a TLS or certificate failure (among them the
// HTTPS probe of a plain-HTTP server).
func permanent(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return true
	}
	var rec tls.RecordHeaderError
	var cert *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	return errors.As(err, &rec) || errors.As(err, &cert) || errors.As(err, &unknown) || errors.As(err, &host) ||
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cancelBody releases an attempt's timeout once its answer is read.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and releases the attempt's timeout.
func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
