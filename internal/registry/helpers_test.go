package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is go-containerregistry's in-process registry, served twice:
// as is, for pushing, and behind front, the handler a test puts before it.
type testRegistry struct {
	inner http.Handler
	// direct serves inner as is.
	direct *httptest.Server
	// srv serves front(inner).
	srv *httptest.Server
}

func newTestRegistry(t testing.TB, front func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	r := &testRegistry{inner: inner, direct: httptest.NewServer(inner)}
	h := inner
	if front != nil {
		h = front(inner)
	}
	r.srv = httptest.NewServer(h)
	t.Cleanup(r.srv.Close)
	t.Cleanup(r.direct.Close)
	return r
}

// host is the registry's address behind the front.
func (r *testRegistry) host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// push pushes a real random image to repo with its first tag over HTTP, and
// returns it. The other tags point at the same manifest.
func (r *testRegistry) push(t testing.TB, repo string, tags ...string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(r.direct.URL, "http://")
	ref, err := name.ParseReference(host + "/" + repo + ":" + tags[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	r.tag(t, repo, img, tags[1:]...)
	return img
}

// tag points more tags at an image already pushed, by PUT requests handed
// straight to the registry (much faster than over loopback for thousands).
func (r *testRegistry) tag(t testing.TB, repo string, img v1.Image, tags ...string) {
	t.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		req := httptest.NewRequest(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, bytes.NewReader(raw))
		req.Header.Set("Content-Type", string(mt))
		rec := httptest.NewRecorder()
		r.inner.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("tagging %s:%s: %d %s", repo, tag, rec.Code, rec.Body)
		}
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

// paginate adds the Link header go-containerregistry's registry leaves out,
// as distribution does: when more tags follow the page, the header points at
// the next one.
func paginate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if !strings.HasSuffix(r.URL.Path, "/tags/list") || err != nil || n <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		// Ask for one more tag than the page holds, to know whether more
		// follow.
		q := r.URL.Query()
		q.Set("n", strconv.Itoa(n+1))
		inner := r.Clone(r.Context())
		inner.URL.RawQuery = q.Encode()
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, inner)
		var page struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		if len(page.Tags) > n {
			page.Tags = page.Tags[:n]
			link := url.Values{"n": {strconv.Itoa(n)}, "last": {page.Tags[n-1]}}
			w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, link.Encode()))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	})
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
