package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kubectl-gitops/kubectl-gitops/internal/registry/registrytest"
)

// testRegistry is go-containerregistry's in-process registry behind the
// handler a test puts before it.
type testRegistry struct{ *registrytest.Registry }

func newTestRegistry(t testing.TB, front func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	r := registrytest.New(front)
	t.Cleanup(r.Close)
	return &testRegistry{r}
}

func (r *testRegistry) host() string { return r.Host() }

// push pushes a real random image to repo with the tags and returns it.
func (r *testRegistry) push(t testing.TB, repo string, tags ...string) v1.Image {
	t.Helper()
	img, err := r.Push(repo, tags...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// tag points more tags at an image already pushed.
func (r *testRegistry) tag(t testing.TB, repo string, img v1.Image, tags ...string) {
	t.Helper()
	if err := r.Tag(repo, img, tags...); err != nil {
		t.Fatal(err)
	}
}

// counter is a transport that counts requests, by method and path.
type counter struct {
	mu    sync.Mutex
	total int
	paths map[string]int
	next  http.RoundTripper
}

func newCounter() *counter { return &counter{paths: map[string]int{}, next: remote.DefaultTransport} }

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.total++
	c.paths[req.Method+" "+req.URL.Path]++
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

func (c *counter) count(method, path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths[method+" "+path]
}

// sleeps records the waits of a client instead of waiting.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// testClient returns a client for tests: anonymous unless a keychain is
// given, fast backoff, waits recorded instead of slept.
func testClient(opts Options) (*Client, *sleeps) {
	if opts.Keychain == nil {
		opts.Keychain = authn.NewMultiKeychain()
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	c := New(opts)
	s := &sleeps{}
	c.sleep = s.sleep
	return c, s
}

// staticKeychain hands out fixed credentials per registry.
type staticKeychain map[string]authn.AuthConfig

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if c, ok := k[r.RegistryStr()]; ok {
		return authn.FromConfig(c), nil
	}
	return authn.Anonymous, nil
}

// basicAuth lets through the requests that carry user:pass.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// bearerAuth is a registry with a token service, as Docker Hub, GHCR and
// ECR have: /token trades user:pass for a token the registry requires.
func bearerAuth(user, pass string) func(http.Handler) http.Handler {
	const token = "t0ken-for-tests"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				_ = json.NewEncoder(w).Encode(map[string]string{"token": token})
				return
			}
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, r.Host))
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// failing answers status to the requests match selects, times times (forever
// when times is negative), with the headers given, and passes the others on.
func failing(match func(*http.Request) bool, status, times int, header http.Header) func(http.Handler) http.Handler {
	var n atomic.Int32
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if match(r) && (times < 0 || int(n.Add(1)) <= times) {
				for k, v := range header {
					w.Header()[k] = v
				}
				w.WriteHeader(status)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func tagsOf(repo string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.URL.Path == "/v2/"+repo+"/tags/list" }
}
