package forge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testToken is the token the hand-written exchanges are made with; no
// answer and no error may show it.
const testToken = "tok_5ecret_abcdef_0123456789"

// exchange is one call written by hand from the forge's API reference (no
// GitHub, GitLab, Bitbucket Server or CodeCommit runs here; Gitea does, and
// its tests talk to the real server): what the client must send and what
// the forge answers.
type exchange struct {
	method string
	// path is the request path; query lists parameters it must carry.
	path  string
	query map[string]string
	// reqHeader lists headers the request must carry.
	reqHeader map[string]string
	// body checks the JSON body sent.
	body func(t *testing.T, got any)
	// status and reply are the answer (200 and "{}" by default).
	status int
	header map[string]string
	reply  string
}

// forgeServer answers the exchanges in order, checking each request.
type forgeServer struct {
	t    *testing.T
	mu   sync.Mutex
	ex   []exchange
	next int
	// auth checks the request's credentials header.
	auth func(h http.Header) bool
	srv  *httptest.Server
}

func newForgeServer(t *testing.T, auth func(h http.Header) bool, ex ...exchange) *forgeServer {
	t.Helper()
	s := &forgeServer{t: t, ex: ex, auth: auth}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.next != len(s.ex) {
			t.Errorf("%d of %d exchanges were not made; next: %s %s", len(s.ex)-s.next, len(s.ex), s.ex[s.next].method, s.ex[s.next].path)
		}
	})
	return s
}

func (s *forgeServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.t
	data, _ := io.ReadAll(r.Body)
	if s.next >= len(s.ex) {
		t.Errorf("unexpected call %s %s", r.Method, r.URL)
		http.Error(w, `{"message":"unexpected"}`, http.StatusTeapot)
		return
	}
	e := s.ex[s.next]
	s.next++
	if r.Method != e.method || r.URL.Path != e.path {
		t.Errorf("call %d: got %s %s, want %s %s", s.next, r.Method, r.URL.Path, e.method, e.path)
	}
	for k, v := range e.query {
		if got := r.URL.Query().Get(k); got != v {
			t.Errorf("call %d %s %s: query %s = %q, want %q", s.next, e.method, e.path, k, got, v)
		}
	}
	for k, v := range e.reqHeader {
		if got := r.Header.Get(k); got != v {
			t.Errorf("call %d %s %s: header %s = %q, want %q", s.next, e.method, e.path, k, got, v)
		}
	}
	if s.auth != nil && !s.auth(r.Header) {
		t.Errorf("call %d %s %s: missing or wrong credentials", s.next, e.method, e.path)
	}
	if strings.Contains(r.URL.String(), testToken) || strings.Contains(string(data), testToken) {
		t.Errorf("call %d: the token is in the URL or the body", s.next)
	}
	if e.body != nil {
		var got any
		if err := json.Unmarshal(data, &got); err != nil {
			t.Errorf("call %d %s %s: body %q is not JSON: %v", s.next, e.method, e.path, data, err)
		} else {
			e.body(t, got)
		}
	}
	for k, v := range e.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	status := e.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	reply := e.reply
	if reply == "" {
		reply = "{}"
	}
	io.WriteString(w, reply)
}

// fields checks that a JSON object has these values (compared as JSON).
func fields(want map[string]any) func(t *testing.T, got any) {
	return func(t *testing.T, got any) {
		t.Helper()
		obj, ok := got.(map[string]any)
		if !ok {
			t.Errorf("body = %v, want an object", got)
			return
		}
		for k, v := range want {
			a, _ := json.Marshal(v)
			b, _ := json.Marshal(obj[k])
			if string(a) != string(b) {
				t.Errorf("body %s = %s, want %s", k, b, a)
			}
		}
	}
}

// jsonEq checks the whole body.
func jsonEq(want any) func(t *testing.T, got any) {
	return func(t *testing.T, got any) {
		t.Helper()
		a, _ := json.Marshal(want)
		b, _ := json.Marshal(got)
		if string(a) != string(b) {
			t.Errorf("body = %s, want %s", b, a)
		}
	}
}

// sleeps records the waits of the retry policy instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) retry() Retry {
	return Retry{Attempts: 3, Backoff: 10 * time.Millisecond, MaxWait: 5 * time.Second, Sleep: func(_ context.Context, d time.Duration) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.d = append(s.d, d)
		return nil
	}}
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// noSecret fails when err's text shows the token.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Errorf("error shows the token: %v", err)
	}
}

func tokenEnv(name string) func(string) string {
	return func(k string) string {
		if k == name {
			return testToken
		}
		return ""
	}
}
