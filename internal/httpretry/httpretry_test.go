package httpretry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sleeps records the waits of a Transport instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// What is sent again, how many times, after which waits, against a real
// HTTP server; the body goes whole with every attempt.
func TestTransport(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		ctx        func(context.Context) context.Context
		repeatable func(*http.Request) bool
		statuses   []int
		header     http.Header
		maxWait    time.Duration
		wantCalls  int
		wantWaits  []time.Duration
		wantCode   int
	}{
		{name: "GET 500 then 200", method: "GET", statuses: []int{500, 200}, wantCalls: 2, wantWaits: []time.Duration{10 * time.Millisecond}, wantCode: 200},
		{name: "GET gives up after the attempts", method: "GET", statuses: []int{503, 503, 503}, wantCalls: 3,
			wantWaits: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, wantCode: 503},
		{name: "408 is a failure of this time", method: "GET", statuses: []int{408, 200}, wantCalls: 2, wantWaits: []time.Duration{10 * time.Millisecond}, wantCode: 200},
		{name: "POST 500 is not repeated", method: "POST", statuses: []int{500}, wantCalls: 1, wantCode: 500},
		{name: "idempotent POST 500 is repeated", method: "POST", ctx: MarkIdempotent, statuses: []int{500, 201}, wantCalls: 2, wantWaits: []time.Duration{10 * time.Millisecond}, wantCode: 201},
		{name: "a client whose POSTs are all repeatable", method: "POST", repeatable: func(*http.Request) bool { return true },
			statuses: []int{502, 201}, wantCalls: 2, wantWaits: []time.Duration{10 * time.Millisecond}, wantCode: 201},
		{name: "POST 429 is repeated", method: "POST", statuses: []int{429, 201}, header: http.Header{"Retry-After": {"1"}}, wantCalls: 2, wantWaits: []time.Duration{time.Second}, wantCode: 201},
		{name: "Retry-After past MaxWait ends it", method: "GET", statuses: []int{429, 200}, header: http.Header{"Retry-After": {"3600"}}, maxWait: time.Minute, wantCalls: 1, wantCode: 429},
		{name: "GitHub's exhausted rate limit", method: "GET", statuses: []int{403, 200},
			header:    http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"0"}},
			wantCalls: 2, wantWaits: []time.Duration{0}, wantCode: 200},
		{name: "403 is not repeated", method: "GET", statuses: []int{403}, wantCalls: 1, wantCode: 403},
		{name: "422 is not repeated", method: "PATCH", statuses: []int{422}, wantCalls: 1, wantCode: 422},
		{name: "401 is not repeated", method: "GET", statuses: []int{401}, wantCalls: 1, wantCode: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				if body, _ := io.ReadAll(r.Body); string(body) != `{"a":1}` {
					t.Errorf("call %d: body %q, want it sent whole every time", n, body)
				}
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.statuses[min(n, len(tt.statuses)-1)])
			}))
			defer srv.Close()
			sl := &sleeps{}
			tr := &Transport{Policy: Policy{Attempts: 3, Backoff: 10 * time.Millisecond, MaxWait: tt.maxWait, Repeatable: tt.repeatable, Sleep: sl.sleep}}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			req, _ := http.NewRequestWithContext(ctx, tt.method, srv.URL, strings.NewReader(`{"a":1}`))
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || int(calls.Load()) != tt.wantCalls || Attempts(resp) != tt.wantCalls {
				t.Errorf("status %d after %d calls (Attempts %d), want %d after %d", resp.StatusCode, calls.Load(), Attempts(resp), tt.wantCode, tt.wantCalls)
			}
			if got := sl.all(); len(got) != len(tt.wantWaits) || (len(got) > 0 && got[0] > tt.wantWaits[0]+time.Second) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

// A body that cannot be read again goes once; a caller's Counter sees the
// attempts; an attempt past Timeout is retried and counted as timed out.
func TestTransportBodyCounterTimeout(t *testing.T) {
	var calls atomic.Int32
	slow := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 && r.URL.Path == "/slow" {
			<-slow
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	defer close(slow)
	tr := &Transport{Policy: Policy{Attempts: 3, Backoff: time.Millisecond, Timeout: 100 * time.Millisecond, Sleep: (&sleeps{}).sleep}}

	req, _ := http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader("once")))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if calls.Load() != 1 || Attempts(resp) != 1 {
		t.Errorf("a body without GetBody was sent %d times", calls.Load())
	}

	calls.Store(0)
	ctx, counter := WithCounter(context.Background())
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if counter.Attempts() != 3 || !counter.TimedOut() || calls.Load() != 3 {
		t.Errorf("attempts %d, timed out %v, calls %d; want 3, true, 3", counter.Attempts(), counter.TimedOut(), calls.Load())
	}
}

// A host that does not exist is not asked again.
func TestTransportPermanent(t *testing.T) {
	sl := &sleeps{}
	tr := &Transport{Policy: Policy{Attempts: 3, Backoff: time.Millisecond, Sleep: sl.sleep}}
	req, _ := http.NewRequest(http.MethodGet, "http://no-such-host.invalid/", nil)
	_, err := tr.RoundTrip(req)
	if err == nil || len(sl.all()) != 0 {
		t.Errorf("error %v after %d waits, want an error at once", err, len(sl.all()))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{name: "seconds", header: http.Header{"Retry-After": {"7"}}, want: 7 * time.Second, ok: true},
		{name: "date", header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, want: 90 * time.Second, ok: true},
		{name: "date in the past", header: http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, want: 0, ok: true},
		{name: "absent"},
		{name: "garbage", header: http.Header{"Retry-After": {"soon"}}},
		{name: "GitHub's reset when spent", header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1767323105"}}, want: 60 * time.Second, ok: true},
		{name: "GitLab's reset when spent", header: http.Header{"X-Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"1767323075"}}, want: 30 * time.Second, ok: true},
		{name: "a reset with calls left", header: http.Header{"X-Ratelimit-Remaining": {"12"}, "X-Ratelimit-Reset": {"1767323105"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(tt.header, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("RetryAfter(%v) = %v, %v; want %v, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}
